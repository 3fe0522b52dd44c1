"""A family's contact records: its parents (some of them staff, some sharing a family email),
a parent typed in again for a younger child, and the grandparents, neighbours and relatives
entered as Emergency contacts.

:class:`ContactBuilder` adds these on top of :class:`audits.sample.records.BoardRecords`; the
family builder (``audits.sample.families``) decides when.
"""

from __future__ import annotations

from audits.sample.rates import (RATE_BAD_EMAIL, RATE_SHARED_EMAIL, RATE_STAFF_PARENT,
                                 RATE_WORK_EMAIL)
from audits.sample.records import Address, BoardRecords, Parent, Style, fold

Person = tuple[str, str, str, str, bool, Address]
"""A parent before its record exists: first, last, sex, relationship, portal access, address."""


class ContactBuilder(BoardRecords):
    """Adds a family's parents and other contacts as contact records linked to its children."""

    def parents(self, surname: str, home: Address, style: Style,
                home_phone: tuple[str, str, str] | None, kid_schools: set[int],
                *, plain: bool) -> list[Parent]:
        """The family's parent records. ``plain`` families (moved away) get no shared email,
        no staff parent and no duplicate, so their disabled accounts take part in nothing."""
        rng = self.rng
        people = self.parent_people(surname, home)
        family_email = None
        if len(people) >= 2 and not plain and self.chance(RATE_SHARED_EMAIL):
            first_names = "".join(ch for ch in fold(people[0][0]) if ch.isalnum())
            family_email = self.email(rng.choice((first_names, "the")), surname + "family")
        parents = []
        for first, last, sex, relationship, portal, address in people:
            human = self.new_human()
            staff = None if plain else self.staff_parent(first, last, sex, kid_schools)
            email = self.parent_email(first, last, relationship, staff, family_email)
            cell = self.phone(address.city)
            place = self.render_address(address, style if address is home else self.style())
            work = self.render_phone(self.phone(address.city)) if rng.random() < 0.3 else ""
            contact = self.add_contact(first, last, email,
                                       self.render_phone(home_phone if address is home else None),
                                       self.render_phone(cell), work, place, human)
            parents.append(Parent(contact, relationship, portal, first, last, sex, email,
                                  home_phone, cell, address, staff))
        return parents

    def parent_people(self, surname: str, home: Address) -> list[Person]:
        """Who the family's parents are: its shape (two parents, one, a step-parent with the
        father elsewhere, a guardian, two mothers or fathers, two Chrises) and their names."""
        rng = self.rng
        shape = self.weighted(("two", "mother", "father", "step", "guardian", "same-sex", "chris"),
                              (66, 12, 5, 7, 3, 3, 1.5))
        people: list[Person] = []
        mother_last = surname if rng.random() < 0.6 else self.pick(self.surnames)
        mom = lambda: self.weighted(("Mother", "Mère", "Parent", "mother", "MOTHER"),
                                    (70, 12, 8, 5, 5))
        dad = lambda: self.weighted(("Father", "Père", "Parent", "father", "FATHER"),
                                    (70, 12, 8, 5, 5))
        if shape in ("two", "mother", "step"):
            people.append((self.pick(self.women), mother_last, "F", mom(), True, home))
        if shape in ("two", "father"):
            people.append((self.pick(self.men), surname, "M", dad(), True, home))
        if shape == "step":
            people.append((self.pick(self.men), self.pick(self.surnames), "M",
                           rng.choice(("Step-parent", "Stepfather", "Step-Father", "Step Parent")),
                           rng.random() < 0.5, home))
            if rng.random() < 0.5:  # the father, living elsewhere, keeps portal access
                people.append((self.pick(self.men), surname, "M", dad(), True, self.address()))
        if shape == "guardian":
            people.append((self.pick(self.women if rng.random() < 0.7 else self.men),
                           self.pick(self.surnames), "X",
                           rng.choice(("Guardian", "Legal Guardian", "guardian")), True, home))
        if shape == "same-sex":
            table, sex, rel = ((self.women, "F", mom) if rng.random() < 0.5
                               else (self.men, "M", dad))
            people.append((self.pick(table), surname, sex, rel(), True, home))
            people.append((self.pick(table), self.pick(self.surnames), sex, rel(), True, home))
        if shape == "chris":
            # Christopher and Christine, both entered as "Chris": two people, one name.
            people.append(("Chris", surname, "F", mom(), True, home))
            people.append(("Chris", surname, "M", dad(), True, home))
        return people

    def staff_parent(self, first: str, last: str, sex: str, kid_schools: set[int]) -> int | None:
        """Now and then the parent is also board staff: their staff record, else None."""
        rng = self.rng
        if not self.chance(RATE_STAFF_PARENT):
            return None
        # At another school than the children's: CONNECT would have refused one
        # username twice within a school.
        school = 0
        while school in kid_schools or (school == 0 and rng.random() > 0.3):
            school = self.between(0, len(self.rows.schools) - 1)
        return self.add_staff(first if first != "Chris" else
                              ("Christine" if sex == "F" else "Christopher"), last, school)

    def parent_email(self, first: str, last: str, relationship: str, staff: int | None,
                     family_email: str | None) -> str:
        """The email on a parent's record: the work email of a staff parent, a badly typed one,
        the family email (not for a step-parent), else a personal one."""
        if staff is not None and self.chance(RATE_WORK_EMAIL):
            return self.rows.staff[staff][3]
        if self.rng.random() < RATE_BAD_EMAIL:
            return self.bad_email(first, last)
        if family_email is not None and "step" not in relationship.lower():
            return family_email
        return self.email(first, last)

    def retyped(self, parent: Parent, kid_schools: set[int]) -> Parent:
        """The same parent entered again for a younger child: same human, new record."""
        rng = self.rng
        first, last = self.variant_name(parent.first, parent.last)
        roll = rng.random()
        if roll < 0.55:
            email = parent.email.strip() if rng.random() < 0.7 else parent.email.strip().upper()
        elif roll < 0.75:
            email = self.email(first, last)  # a different address
        elif roll < 0.9:
            email = ""
        else:
            email = parent.email.strip().lower()
        cell = parent.cell if rng.random() < 0.75 else self.phone(parent.address.city)
        address = parent.address
        if rng.random() < 0.2:
            address = self.address()  # the family moved between the two enrolments
        place = self.render_address(address, self.style())
        home = self.render_phone(parent.home) if address is parent.address and parent.home else ""
        relationship = parent.relationship if rng.random() < 0.7 else parent.relationship.lower()
        human = self.rows.contact_human[parent.contact]
        contact = self.add_contact(first, last, email, home, self.render_phone(cell), "", place,
                                   human, late=True)
        return Parent(contact, relationship, parent.portal, first, last, parent.sex, email,
                      parent.home, cell, address, parent.staff)

    def emergency_contacts(self, kids: list[int], parents: list[Parent], home: Address,
                           building: int | None, surname: str) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            cousins = [g for last in sorted({p.last for p in parents} | {surname})
                       for g in self.grandparents.get(last, ())[-5:]]
            if cousins and rng.random() < 0.35:
                # The cousins' grandparent: one record on two unrelated families.
                grandparent = rng.choice(cousins)
            else:
                father = next((p for p in parents if p.sex == "M" and p.last == surname), None)
                if father is not None and rng.random() < 0.15:
                    first, last = father.first, father.last  # the grandfather has his name
                    word = "Grandfather"
                else:
                    woman = rng.random() < 0.6
                    first = self.pick(self.women if woman else self.men)
                    last = rng.choice([p.last for p in parents] or [surname])
                    word = rng.choice(("Grandmother", "Grand-mère")) if woman else "Grandfather"
                address = self.address()
                email = self.email(first, last) if rng.random() < 0.5 else ""
                grandparent = self.add_contact(
                    first, last, email, self.render_phone(self.phone(address.city)),
                    self.render_phone(self.phone(address.city)) if rng.random() < 0.5 else "", "",
                    self.render_address(address, self.style()), self.new_human())
                self.grandparents.setdefault(last, []).append(grandparent)
                self.grandparent_word[grandparent] = word
            relationship = rng.choice((self.grandparent_word[grandparent], "Grandparent",
                                       "Emergency"))
            for kid in kids:
                self.link(kid, grandparent, relationship, False)
        if rng.random() < 0.15:
            # A neighbour: often a parent of another family, here only an emergency contact.
            pool = self.building_parents.get(building, []) if building is not None else []
            pool = pool or self.recent_parents[-50:]
            if pool:
                neighbour = rng.choice(pool)
                relationship = rng.choice(("Emergency", "Neighbour", "Friend", "Emergency Contact"))
                for kid in kids:
                    self.link(kid, neighbour, relationship, False)
        if rng.random() < 0.35:
            first = self.pick(self.women if rng.random() < 0.5 else self.men)
            address = self.address()
            aunt = self.add_contact(first, rng.choice((surname, self.pick(self.surnames))), "", "",
                                    self.render_phone(self.phone(address.city)), "",
                                    self.render_address(address, self.style()), self.new_human())
            relationship = rng.choice(("Aunt", "Uncle", "Emergency", "Other"))
            for kid in kids:
                self.link(kid, aunt, relationship, False)
