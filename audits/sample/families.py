"""Building the sample board family by family, the way a board's records accumulate.

Each family is registered when its first child enrols; parents are contact records, and a
parent is sometimes typed in again when a younger child enrols (a nickname, a typo, a new
phone or address): that second record is the duplicate the audit must find. Grandparents and
neighbours are Emergency contacts shared across families; some parents are board staff;
some parents already have CONNECT accounts from last year that cannot see a newer sibling.

The builder keeps records by internal position and, beside every contact record, the human
it belongs to: that is the ground truth for duplicate contacts and for families. Final IDs
are assigned once everything exists (see ``audits.sample.assemble``).
"""

from __future__ import annotations

import unicodedata

from audits.sample.contacts import ContactBuilder
from audits.sample.rates import (RATE_APARTMENT, RATE_BOTH_DUPLICATED, RATE_DUPLICATE,
                                 RATE_EXISTING_ACCOUNT, RATE_GRADUATE, RATE_IMMERSION,
                                 RATE_MISSING_CROSS, RATE_MISSING_DUPLICATE, RATE_MISSING_LINKS,
                                 RATE_MOVED_AWAY, RATE_NEWER_SIBLING, RATE_TRIPLE)
from audits.sample.records import Address, Parent, Rows, Style

GRADES = ("JK", "SK", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12")
LAST_ELEMENTARY_GRADE = 9  # index of grade 8 in GRADES
SCHOOL_YEAR = 2026


class BoardBuilder(ContactBuilder):
    """Adds families to :class:`Rows` until the board holds the requested number of students."""

    # ------------------------------------------------------------------ one family
    def family(self) -> None:
        """One family enrols: its home, its children, its parents (some typed twice), its
        other contacts, its sibling links and its parents' accounts from last year."""
        surname = self.pick(self.surnames)
        moved_away = self.chance(RATE_MOVED_AWAY)
        building, home = self.family_home()
        style = self.style()
        home_phone = self.phone(home.city) if self.rng.random() < 0.6 else None
        ages, graduate = self.child_ages()
        kids = self.enrol_children(ages, surname, home, style, moved_away)
        students = self.rows.students
        active = [k for k in kids if students[k][4] == "active"]
        kid_schools = {students[k][8] for k in kids}

        parents = self.parents(surname, home, style, home_phone, kid_schools,
                               plain=moved_away)
        # A parent typed in again when a younger child enrolled: records split the children.
        duplicated = self.duplicated_parents(parents, active, moved_away)
        records = self.parent_records(parents, duplicated, kids, kid_schools)
        for parent, group in records:
            for kid in group:
                self.link(kid, parent.contact, parent.relationship, parent.portal)
        self.emergency_contacts(kids, parents, home, building, surname)
        self.sibling_links(kids, duplicated=bool(duplicated), graduate=graduate or moved_away)
        for parent, group in records:
            self.existing_account(parent, group, moved_away)
        self.remember_parents(parents, building)

    def family_home(self) -> tuple[int | None, Address]:
        """Where the family lives: a flat in an apartment building (often one already on the
        board: neighbours), else a house; the building's position, or None."""
        rng = self.rng
        if self.chance(RATE_APARTMENT):
            if self.buildings and rng.random() < 0.7:
                building = self.between(max(0, len(self.buildings) - 40), len(self.buildings) - 1)
            else:
                self.buildings.append(self.address())
                building = len(self.buildings) - 1
            base = self.buildings[building]
            home = Address(base.number, base.street, base.street_type, base.city, base.postal,
                           unit=self.between(1, 20) * 100 + self.between(1, 12))
        else:
            building = None
            home = self.address()
        return building, home

    def child_ages(self) -> tuple[list[int], bool]:
        """The children's ages, oldest first (the order they enrolled in), and whether an
        older one has graduated; never more children than the board still needs."""
        count = self.weighted((1, 2, 3, 4), (45, 35, 15, 5))
        ages = [self.between(4, 17)]
        for _ in range(count - 1):
            younger = ages[-1] - self.between(1, 4)
            if younger >= 4:
                ages.append(younger)
        graduate = self.chance(RATE_GRADUATE)
        if graduate:
            ages.insert(0, self.between(18, 19))
        return ages[: self.target - len(self.rows.students)], graduate

    def enrol_children(self, ages: list[int], surname: str, home: Address, style: Style,
                       moved_away: bool) -> list[int]:
        """The children's student records, at the family's elementary or secondary school (now
        and then another elementary school: French immersion); their positions."""
        rng = self.rng
        rows = self.rows
        elementary = rng.choice(self.elementary)
        secondary = rng.choice(self.secondary)
        kid_names: list[str] = []
        kids: list[int] = []
        kid_last = surname
        for age in ages:
            grade = min(age - 4, len(GRADES) - 1)
            if grade <= LAST_ELEMENTARY_GRADE:
                school = rng.choice(self.elementary) if self.chance(RATE_IMMERSION) else elementary
            else:
                school = secondary
            first = self.pick(self.children)
            while first in kid_names:
                first = self.pick(self.children)
            kid_names.append(first)
            status = "inactive" if moved_away or age >= 18 else "active"
            dob = f"{SCHOOL_YEAR - age}-{self.between(1, 12):02d}-{self.between(1, 28):02d}"
            rows.students.append((first, kid_last, dob, GRADES[grade], status,
                                  *self.render_address(home, style), school))
            kids.append(len(rows.students) - 1)
        return kids

    def duplicated_parents(self, parents: list[Parent], active: list[int],
                           moved_away: bool) -> list[Parent]:
        """The parents typed in again when a younger child enrolled (none, one, or both)."""
        rng = self.rng
        duplicated: list[Parent] = []
        if (len(active) >= 2 and not moved_away and parents
                and self.chance(RATE_DUPLICATE)):
            portal_parents = [p for p in parents if p.portal] or parents
            duplicated.append(portal_parents[0] if rng.random() < 0.65 else rng.choice(parents))
            others = [p for p in parents if p is not duplicated[0]]
            if others and self.chance(RATE_BOTH_DUPLICATED):
                duplicated.append(others[0])
        return duplicated

    def parent_records(self, parents: list[Parent], duplicated: list[Parent], kids: list[int],
                       kid_schools: set[int]) -> list[tuple[Parent, list[int]]]:
        """Each parent record with the children it is linked to: a duplicated parent's records
        split the children (the older ones, then the younger in one or two groups)."""
        split = self.between(1, len(kids) - 1) if duplicated else len(kids)
        groups = [kids[:split], kids[split:]]
        if duplicated and len(kids) - split >= 2 and self.chance(RATE_TRIPLE):
            groups = [kids[:split], kids[split:split + 1], kids[split + 1:]]

        records: list[tuple[Parent, list[int]]] = []
        for parent in parents:
            if parent not in duplicated:
                records.append((parent, kids))
                continue
            records.append((parent, groups[0]))
            for group in groups[1:]:
                records.append((self.retyped(parent, kid_schools), group))
        return records

    def remember_parents(self, parents: list[Parent], building: int | None) -> None:
        """Keep the family's parents at hand as later families' neighbours."""
        for parent in parents:
            self.recent_parents.append(parent.contact)
            if building is not None:
                self.building_parents.setdefault(building, []).append(parent.contact)
        del self.recent_parents[:-200]

    def sibling_links(self, kids: list[int], *, duplicated: bool, graduate: bool) -> None:
        """The family's sibling links as the SIS holds them, some missing (most often across
        schools, and when a younger child was registered apart from the older one)."""
        if len(kids) < 2:
            return
        rng, students = self.rng, self.rows.students
        pairs = [(a, b) for i, a in enumerate(kids) for b in kids[i + 1:]]
        cross = len({students[k][8] for k in kids}) > 1
        if graduate:
            rate = 0.0  # families with an inactive child keep complete links
        elif duplicated:
            rate = RATE_MISSING_DUPLICATE
        else:
            rate = RATE_MISSING_CROSS if cross else RATE_MISSING_LINKS
        if rng.random() < rate:
            youngest = kids[-1]
            if cross and rng.random() < 0.6:
                pairs = [(a, b) for a, b in pairs if students[a][8] == students[b][8]]
            elif rng.random() < 0.7:
                pairs = [(a, b) for a, b in pairs if youngest not in (a, b)]
            else:
                pairs = []
        both = rng.random() < 0.4
        for a, b in pairs:
            if rng.random() < 0.5:
                a, b = b, a
            self.rows.siblings.append((a, b))
            if both:
                self.rows.siblings.append((b, a))

    def existing_account(self, parent: Parent, group: list[int], moved_away: bool) -> None:
        """A parent account generated last year (username = the email then), seeing the
        children it had portal access to; some cannot see a sibling who enrolled since."""
        rng, students = self.rng, self.rows.students
        if not parent.portal or not group:
            return
        email = parent.email.strip()
        if not _looks_usable(email):
            return
        late = self.rows.contact_late[parent.contact]
        if not self.chance(RATE_EXISTING_ACCOUNT * (0.3 if late else 1.0)):
            return
        status = "disabled" if moved_away and rng.random() < 0.6 else "active"
        active = [k for k in group if students[k][4] == "active"]
        school = students[(active or group)[0]][8]
        account = self.add_account(email, "parent", school, parent.contact, status)
        if account is None:
            return
        visible = list(active)
        if len(active) >= 2 and self.chance(RATE_NEWER_SIBLING):
            visible = active[:-1]
        visible += [k for k in group if students[k][4] != "active" and rng.random() < 0.5]
        for kid in visible:
            self.rows.account_students.append((account, kid))

    # ------------------------------------------------------------------ the whole board
    def build(self) -> Rows:
        while len(self.rows.students) < self.target:
            self.family()
        self.fill_staff()
        return self.rows


def _looks_usable(email: str) -> bool:
    """Only good addresses ever became usernames (generation fails on the others)."""
    text = unicodedata.normalize("NFC", email.strip())
    return (text.count("@") == 1 and " " not in text and text.split("@")[0] != ""
            and "." in text.split("@")[1])
