"""The sample board's records as they accumulate, and the small draws every builder step makes.

:class:`BoardRecords` holds the rows by internal position (IDs come later) and adds one record at
a time: schools, staff, CONNECT accounts, contact records and their links to students. Its
draws (names, phones, addresses, emails, how a clerk typed them) are the vocabulary the contact
builder (``audits.sample.contacts``) and the family builder (``audits.sample.families``) use.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

from unidecode import unidecode

from audits.sample import names
from audits.sample.names import NICKNAME_GROUPS
from audits.sample.rates import RATE_NEW_HIRE, STAFF_PER_STUDENT

PHONE_FORMATS = ("({a}) {e}-{l}", "{a}-{e}-{l}", "{a}{e}{l}", "{a}.{e}.{l}", "{a} {e} {l}")
PHONE_FORMAT_WEIGHTS = (35, 35, 18, 6, 6)
UNIT_FORMATS = ("Apt {u}, {base}", "{u}-{base}", "{base}, Unit {u}", "{base} #{u}")


def _cum(weighted: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [w[0] for w in weighted], list(accumulate(w[1] for w in weighted))


@lru_cache(maxsize=None)
def fold(text: str) -> str:
    """Lowercase ascii, as nickname groups and email local parts hold names."""
    return unidecode(text).lower()


_NICKNAMES: dict[str, list[str]] = {}
for _group in NICKNAME_GROUPS:
    for _name in _group:
        _NICKNAMES.setdefault(_name, [])
        _NICKNAMES[_name].extend(sorted(n for n in _group if n != _name and " " not in n))


@dataclass
class Address:
    number: int
    street: str
    street_type: int
    city: int
    postal: str
    """Canonical ``K1A 0B1``."""
    unit: int | None = None


@dataclass
class Style:
    """How one clerk wrote an address: long or short street type, unit format, postal case."""

    long_type: bool
    short_index: int
    unit_format: int
    postal: int  # 0: "K1A 0B1", 1: "K1A0B1", 2: "k1a 0b1"


@dataclass
class Rows:
    """The board's records by internal position; IDs come later."""

    schools: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    # first, last, dob, grade, status, street, city, postal, school
    students: list[tuple] = field(default_factory=list)
    # first, last, email, home, cell, work, street, city, postal
    contacts: list[tuple] = field(default_factory=list)
    contact_human: list[int] = field(default_factory=list)
    contact_late: list[bool] = field(default_factory=list)
    # student, contact, relationship, portal_access text
    links: list[tuple[int, int, str, str]] = field(default_factory=list)
    siblings: list[tuple[int, int]] = field(default_factory=list)
    staff: list[tuple] = field(default_factory=list)  # school, first, last, email
    staff_new_hire: list[bool] = field(default_factory=list)
    # username, type, school, person position, status (parent accounts: contact position)
    accounts: list[tuple] = field(default_factory=list)
    account_students: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Parent:
    contact: int
    relationship: str
    portal: bool
    first: str
    last: str
    sex: str
    email: str
    home: tuple[str, str, str]
    cell: tuple[str, str, str]
    address: Address
    staff: int | None = None


class BoardRecords:
    """The board's records by internal position, and the draws that make one record at a time."""

    def __init__(self, students: int, seed: int) -> None:
        self.target = students
        self.rng = random.Random(seed)
        self._cum_cache: dict[tuple, list[float]] = {}
        self.rows = Rows()
        self.humans = 0
        self.used_emails: set[str] = set()
        # (username, school) of every existing account: CONNECT refuses repeats in a school.
        self.account_keys: set[tuple[str, int]] = set()
        self.surnames = _cum(names.SURNAMES)
        self.women = _cum(names.WOMEN)
        self.men = _cum(names.MEN)
        self.children = _cum(names.CHILDREN)
        self.domains = _cum(names.PERSONAL_DOMAINS)
        self.city_weights = list(accumulate(c[3] for c in names.CITIES))
        self.buildings: list[Address] = []
        self.building_parents: dict[int, list[int]] = {}
        self.grandparents: dict[str, list[int]] = {}  # by surname: cousins share them
        self.grandparent_word: dict[int, str] = {}
        self.recent_parents: list[int] = []
        self._make_schools()

    # ------------------------------------------------------------------ small draws
    def pick(self, table: tuple[list[str], list[int]]) -> str:
        return table[0][bisect_right(table[1], self.rng.random() * table[1][-1])]

    def between(self, low: int, high: int) -> int:
        """``random.randint`` without its overhead (the builder draws millions)."""
        return low + int(self.rng.random() * (high - low + 1))

    def weighted(self, values: tuple, weights: tuple) -> object:
        cum = self._cum_cache.get(weights)
        if cum is None:
            cum = self._cum_cache[weights] = list(accumulate(weights))
        return values[bisect_right(cum, self.rng.random() * cum[-1])]

    def chance(self, rate: float) -> bool:
        return self.rng.random() < rate

    def new_human(self) -> int:
        self.humans += 1
        return self.humans - 1

    def phone(self, city: int) -> tuple[str, str, str]:
        rng = self.rng
        area = rng.choice(names.CITIES[city][2])
        return area, str(self.between(200, 989)), f"{self.between(0, 9999):04d}"

    def render_phone(self, phone: tuple[str, str, str] | None, fmt: int | None = None) -> str:
        if phone is None:
            return ""
        if fmt is None:
            fmt = self.weighted(range(len(PHONE_FORMATS)), PHONE_FORMAT_WEIGHTS)
        a, e, l_ = phone
        return PHONE_FORMATS[fmt].format(a=a, e=e, l=l_)

    def postal(self, city: int) -> str:
        rng, letters = self.rng, names.POSTAL_LETTERS
        fsa = names.CITIES[city][1] + rng.choice(letters)
        return f"{fsa} {self.between(0, 9)}{rng.choice(letters)}{self.between(0, 9)}"

    def address(self) -> Address:
        rng = self.rng
        city = bisect_right(self.city_weights, rng.random() * self.city_weights[-1])
        return Address(self.between(1, 4999), rng.choice(names.STREET_NAMES),
                       self.between(0, len(names.STREET_TYPES) - 1), city, self.postal(city))

    def style(self) -> Style:
        rng = self.rng
        return Style(rng.random() < 0.4, self.between(0, 2), self.between(0, len(UNIT_FORMATS) - 1),
                     self.weighted((0, 1, 2), (75, 18, 7)))

    def render_address(self, address: Address, style: Style) -> tuple[str, str, str]:
        long_form, short_forms = names.STREET_TYPES[address.street_type]
        kind = long_form if style.long_type else short_forms[style.short_index % len(short_forms)]
        street = f"{address.number} {address.street} {kind}"
        if address.unit is not None:
            street = UNIT_FORMATS[style.unit_format].format(u=address.unit, base=street)
        postal = address.postal
        if style.postal == 1:
            postal = postal.replace(" ", "")
        elif style.postal == 2:
            postal = postal.lower()
        return street, names.CITIES[address.city][0], postal

    def email(self, first: str, last: str) -> str:
        """A personal email nobody else on the board has (people rarely share one by accident)."""
        rng = self.rng
        f = "".join(ch for ch in fold(first) if ch.isalnum())
        l_ = "".join(ch for ch in fold(last) if ch.isalnum())
        local = rng.choice((f"{f}.{l_}", f"{f}{l_}", f"{f[0]}{l_}", f"{f}_{l_}", f"{l_}.{f}"))
        domain = self.pick(self.domains)
        address = f"{local}@{domain}"
        while address in self.used_emails:
            address = f"{local}{self.between(1, 999)}@{domain}"
        self.used_emails.add(address)
        return self.typed_email(address)

    def typed_email(self, address: str) -> str:
        """How a clerk typed a good address: sometimes capitalised, sometimes with spaces."""
        roll = self.rng.random()
        if roll < 0.08:
            local, domain = address.split("@")
            local = ".".join(p[:1].upper() + p[1:] for p in local.split("."))
            return f"{local}@{domain.capitalize()}"
        if roll < 0.10:
            return f" {address} "
        return address

    def bad_email(self, first: str, last: str) -> str:
        local = f"{fold(first)}.{fold(last)}".replace(" ", "").replace("'", "")
        template = self.rng.choice(names.BAD_EMAILS)
        return template.format(local=local, spaced=f"{fold(first)} {fold(last)}")

    # ------------------------------------------------------------------ schools and staff
    def _make_schools(self) -> None:
        rng = self.rng
        rows = self.rows.schools
        rows.append(("Board Office", "central_office"))
        n_elem = max(2, self.target // 400)
        n_sec = max(1, self.target // 1200)
        patrons = list(names.SCHOOL_PATRONS)
        for i in range(n_elem):
            patron = patrons[i % len(patrons)]
            french = "-" in patron or "é" in patron
            suffix = f" {i // len(patrons) + 1}" if i >= len(patrons) else ""
            name = (f"École élémentaire {patron}{suffix}" if french and rng.random() < 0.7
                    else f"{patron}{suffix} Elementary School")
            rows.append((name, "elementary"))
        for i in range(n_sec):
            patron = patrons[(i * 7) % len(patrons)]
            suffix = f" {i // len(patrons) + 1}" if i >= len(patrons) else ""
            rows.append((f"{patron}{suffix} Catholic High School", "secondary"))
        self.elementary = list(range(1, 1 + n_elem))
        self.secondary = list(range(1 + n_elem, 1 + n_elem + n_sec))

    def add_staff(self, first: str, last: str, school: int, *, new_hire: bool = False) -> int:
        local = f"{fold(first)}.{fold(last)}".replace(" ", "").replace("'", "")
        email = f"{local}@{names.BOARD_DOMAIN}"
        n = 1
        while email in self.used_emails:
            n += 1
            email = f"{local}{n}@{names.BOARD_DOMAIN}"
        self.used_emails.add(email)
        self.rows.staff.append((school, first, last, email))
        self.rows.staff_new_hire.append(new_hire)
        return len(self.rows.staff) - 1

    def fill_staff(self) -> None:
        rng = self.rng
        wanted = max(5, round(self.target * STAFF_PER_STUDENT))
        schools = list(range(len(self.rows.schools)))
        while len(self.rows.staff) < wanted:
            first = self.pick(self.women if rng.random() < 0.7 else self.men)
            school = 0 if rng.random() < 0.05 else rng.choice(schools[1:])
            self.add_staff(first, self.pick(self.surnames), school,
                           new_hire=rng.random() < RATE_NEW_HIRE)
        for index, (school, _first, _last, email) in enumerate(self.rows.staff):
            if not self.rows.staff_new_hire[index]:
                self.add_account(email, "staff", school, index, "active")

    def add_account(self, username: str, kind: str, school: int, person: int,
                    status: str) -> int | None:
        """An existing CONNECT account, unless the school already has one with that username
        (CONNECT refuses a second one within a school)."""
        key = (username.strip().lower(), school)
        if key in self.account_keys:
            return None
        self.account_keys.add(key)
        self.rows.accounts.append((username.strip(), kind, school, person, status))
        return len(self.rows.accounts) - 1

    # ------------------------------------------------------------------ contact records
    def add_contact(self, first: str, last: str, email: str, home: str, cell: str, work: str,
                    place: tuple[str, str, str], human: int, *, late: bool = False) -> int:
        self.rows.contacts.append((first, last, email, home, cell, work, *place))
        self.rows.contact_human.append(human)
        self.rows.contact_late.append(late)
        return len(self.rows.contacts) - 1

    def link(self, student: int, contact: int, relationship: str, portal: bool) -> None:
        if portal:
            text = self.weighted(("Y", "Yes", "1", "true"), (85, 8, 4, 3))
        else:
            text = self.weighted(("N", "", "No", "0", "false"), (70, 20, 5, 3, 2))
        self.rows.links.append((student, contact, relationship, text))

    def variant_name(self, first: str, last: str) -> tuple[str, str]:
        """How a second clerk typed the same parent: nickname, typo, case or accents."""
        rng = self.rng
        options = ["typo-first", "typo-last", "case", "accents", "nickname", "nickname", "same"]
        choice = rng.choice(options)
        if choice == "nickname" and _NICKNAMES.get(fold(first)):
            return rng.choice(_NICKNAMES[fold(first)]).title(), last
        if choice == "case":
            return (first, last.upper()) if rng.random() < 0.6 else (first.lower(), last.lower())
        if choice == "accents" and unidecode(first + last) != first + last:
            return unidecode(first), unidecode(last)
        if choice in ("typo-first", "typo-last"):
            which = first if choice == "typo-first" or len(last) < 4 else last
            if len(which) >= 4:
                typed = _typo(which, rng)
                return (typed, last) if which is first else (first, typed)
        return first, last


def _typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(name) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]  # swapped letters
    if kind == 1:
        return name[:i] + name[i + 1:]  # a letter dropped
    return name[:i] + name[i] + name[i:]  # a letter doubled
