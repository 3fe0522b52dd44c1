"""Scoring an export's headers against the contract's columns (by name and content) and its
files against the contract's tables, and assigning them so two never take one place; the two
steps repeat until they agree."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audits.model.board import ACCOUNT_PERSON_TABLE, TABLES
from audits.model.errors import InputProblem, UserError
from audits.io.mapping import normalize_header
from audits.io.suggest.profiles import ExportFile, Profile, read_export_sample


MIN_COLUMN_SCORE = 0.3
"""Below this a header is left unplaced rather than guessed."""


MIN_TABLE_FIT = 0.25


ROUNDS = 4


# Spellings exports use, per contract column; a table's own words (``parent``, ``guardian``)
# are added to its columns' names by TABLE_WORDS. Compared after _words().
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "student_id": ("student id", "student number", "stu id", "student no", "pupil id",
                   "pupil number", "oen", "student code", "student key", "learner id", "child id",
                   "person id student", "sis id", "student"),
    "school_id": ("school id", "school number", "school code", "school no", "building id",
                  "building code", "location id", "location code", "site id", "site code",
                  "org id", "school", "bsid", "mident", "school key", "home school"),
    "contact_id": ("contact id", "contact number", "contact code", "parent id", "guardian id",
                   "contact person id", "person id", "contact", "parent number", "guardian number",
                   "contact key"),
    "staff_id": ("staff id", "staff number", "employee id", "employee number", "teacher id",
                 "staff code", "emp id", "employee no", "staff key", "personnel number"),
    "account_id": ("account id", "account number", "account", "login id", "user account id",
                   "account key", "portal account id"),
    "sibling_id": ("sibling id", "sibling student id", "sibling number", "sibling",
                   "brother sister", "related student id", "sibling student number",
                   "other student id"),
    "person_id": ("person id", "person number", "linked person", "owner id", "holder id",
                  "record id", "linked record id", "person"),
    "school_name": ("school name", "school", "name", "building name", "location name",
                    "site name", "school title", "description"),
    "school_type": ("school type", "type", "panel", "level", "building type", "category"),
    "first_name": ("first name", "given name", "forename", "legal first name", "fname",
                   "first", "given names", "preferred first name", "christian name"),
    "last_name": ("last name", "surname", "family name", "legal last name", "lname", "last",
                  "legal surname"),
    "date_of_birth": ("date of birth", "birth date", "birthdate", "dob", "born", "birthday",
                      "birth"),
    "grade": ("grade", "grade level", "gr", "year", "year level", "form", "class level"),
    "status": ("status", "enrolment status", "enrollment status", "active", "state",
               "record status", "account status"),
    "street": ("street", "address", "street address", "address line 1", "address 1",
               "home address", "mailing address", "civic address"),
    "city": ("city", "town", "municipality", "city town"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "postal"),
    "email": ("email", "email address", "e mail", "mail", "primary email", "contact email"),
    "home_phone": ("home phone", "home telephone", "phone home", "home tel", "home",
                   "residence phone", "phone"),
    "cell_phone": ("cell phone", "cell", "mobile", "mobile phone", "cellular", "cell tel",
                   "mobile number", "sms"),
    "work_phone": ("work phone", "business phone", "work telephone", "work", "office phone",
                   "daytime phone", "work tel"),
    "relationship": ("relationship", "relation", "relationship to student", "role",
                     "contact type", "relationship type", "link type"),
    "portal_access": ("portal access", "portal", "connect access", "parent portal",
                      "web access", "online access", "access", "portal flag", "allow portal"),
    "username": ("username", "user name", "login", "login name", "user id", "logon",
                 "sign in name", "account name", "user"),
    "account_type": ("account type", "type", "user type", "role", "account role", "kind"),
}


TABLE_WORDS: dict[str, tuple[str, ...]] = {
    "schools": ("school", "building", "location", "site"),
    "students": ("student", "pupil", "stu", "learner", "child"),
    "contacts": ("contact", "parent", "guardian", "family", "adult"),
    "staff": ("staff", "employee", "teacher", "emp"),
    "accounts": ("account", "user", "login", "portal"),
}


TABLE_NAMES: dict[str, tuple[str, ...]] = {
    "schools": ("schools", "school list", "buildings", "locations", "sites", "organisations",
                "organizations", "orgs", "school directory"),
    "students": ("students", "student demographics", "student list", "pupils", "enrolment",
                 "enrollment", "learners", "student records", "student export", "demographics"),
    "contacts": ("contacts", "parents", "guardians", "contact records", "parent guardian",
                 "family contacts", "adults", "contact list", "emergency contacts"),
    "student_contacts": ("student contacts", "contact links", "relationships",
                         "student parent links", "student guardians", "guardian links",
                         "contact relationships", "student contact relationships"),
    "siblings": ("siblings", "sibling links", "family links", "brothers sisters",
                 "sibling relationships", "families"),
    "staff": ("staff", "employees", "teachers", "personnel", "staff list", "educators"),
    "accounts": ("accounts", "portal accounts", "connect accounts", "users", "logins",
                 "user accounts"),
    "account_students": ("account students", "account permissions", "permissions",
                          "portal permissions", "account links", "students per account",
                          "account access"),
}


_ABBREVIATIONS = {"no": "number", "num": "number", "nbr": "number", "nr": "number",
                  "#": "number", "tel": "phone", "telephone": "phone", "ph": "phone",
                  "id": "id", "dob": "dob", "email": "email", "surname": "surname"}


_WORD = re.compile(r"#|[^\W_]+")


def _words(text: str) -> str:
    """A name as lowercase words: ``E-mail`` -> ``email``, ``D.O.B.`` -> ``dob``,
    ``Stu_ID#`` -> ``stu id number``, ``studentID`` -> ``student id``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(text))  # camelCase
    text = re.sub(r"(?<=\b[A-Za-z])\.(?=[A-Za-z]\b)", "", text).replace(".", " ")
    text = re.sub(r"\be[\s\-]?mail\b", "email", text, flags=re.IGNORECASE)
    words = [_ABBREVIATIONS.get(w, w) for w in _WORD.findall(text.casefold())]
    return " ".join(words)


def _name_similarity(words: str, names: tuple[str, ...]) -> tuple[float, str]:
    """0..1 and the name it reads as: how well ``words`` reads as one of ``names``; a longer
    name that holds the words of a short one (``cell phone`` and ``phone``) scores below an
    exact one."""
    from rapidfuzz import fuzz

    best, like = 0.0, ""
    if not words:
        return best, like
    for name in names:
        score = 0.6 * fuzz.token_sort_ratio(words, name) + 0.4 * fuzz.token_set_ratio(words, name)
        if score > best:
            best, like = score, name
    return best / 100, like


KEYS = {name: spec.key[0] for name, spec in TABLES.items() if spec.key}
"""The record id of each table that has one: what other tables' ids point at."""


# Reference columns beyond the contract's declared ones: an account's person is a contact,
# a staff member or a student (by type).
REFERENCES: dict[tuple[str, str], tuple[str, ...]] = {
    (name, ref.column): (ref.target,) for name, spec in TABLES.items()
    for ref in spec.references}


REFERENCES[("accounts", "person_id")] = tuple(t for t, _ in ACCOUNT_PERSON_TABLE.values())


@dataclass
class Context:
    """What the current round knows: which file holds each table, and the id sets."""

    table_of: dict[str, str] = field(default_factory=dict)
    """File name -> contract table."""
    ids: dict[str, frozenset] = field(default_factory=dict)
    """Contract table -> the record ids its file holds."""
    id_column: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Contract table -> (file name, header) of its record id."""
    containment: dict[tuple[int, str], float] = field(default_factory=dict)
    """(column profile, contract table) -> share of the column's values that are its ids."""


def _containment(profile: Profile, table: str, context: Context) -> float:
    """The share of the column's sampled values that are record ids of ``table``."""
    key = (id(profile), table)
    if key not in context.containment:
        ids = context.ids.get(table, frozenset())
        context.containment[key] = (len(profile.sample & ids) / len(profile.sample)
                                    if profile.sample and ids else 0.0)
    return context.containment[key]


CONTENT_PATTERNS: dict[str, tuple[str, float]] = {
    "email": ("email", 1.0), "username": ("email", 0.8), "home_phone": ("phone", 0.85),
    "cell_phone": ("phone", 0.85), "work_phone": ("phone", 0.85),
    "date_of_birth": ("date", 1.0), "postal_code": ("postal", 1.0),
    "portal_access": ("flag", 0.9), "grade": ("grade", 0.9), "status": ("status", 1.0),
    "account_type": ("account_type", 1.0), "school_type": ("school_type", 1.0),
    "street": ("street", 0.8), "relationship": ("relationship", 0.8),
    "school_name": ("school_name", 0.8), "first_name": ("person_name", 0.4),
    "last_name": ("person_name", 0.4), "city": ("person_name", 0.3),
}
"""Contract column -> the value pattern that shows it, and how much that pattern alone says
(a name or a town looks like any other word: weak; an email is an email)."""


RECORD_NOUNS = {"schools": "school", "students": "student", "contacts": "contact",
                "staff": "staff", "accounts": "account"}


def _ids_of(targets: tuple[str, ...]) -> str:
    return "/".join(RECORD_NOUNS.get(target, target) for target in targets) + " ids"


def _content_score(table: str, column: str, profile: Profile, file: ExportFile,
                   context: Context) -> tuple[float, str]:
    """0..1 and the evidence in words: how well the column's values fit ``table.column``."""
    p = profile
    if p.filled == 0:
        return 0.0, "no values"
    targets = REFERENCES.get((table, column))
    if column == KEYS.get(table):
        own = context.id_column.get(table)
        if p.unique < 0.999 or p.filled < 0.999:
            return 0.0, "values repeat" if p.unique < 0.999 else "blank values"
        # An id another table points at: its record id, unless it points elsewhere itself.
        for other in context.ids:
            if other != table and (context.id_column.get(other) != (file.name, p.header)) \
                    and _containment(p, other, context) > 0.9 and KEYS.get(other) != column:
                return 0.1, f"values are {_ids_of((other,))}"
        score = 0.45 + 0.25 * p.share("id")
        if own == (file.name, p.header):
            score += 0.2
        return score, "unique ids"
    if targets:
        if any(target in context.ids for target in targets):
            # A person_id names a record of any of its tables: the shares add up.
            share = min(sum(_containment(p, target, context) for target in targets), 1.0)
            if share >= 0.6:
                return 0.5 + 0.5 * share, f"{share:.0%} are {_ids_of(targets)}"
            return 0.0, f"only {share:.0%} are {_ids_of(targets)}"
        return 0.35 * p.share("id"), "id-like values"
    pattern, weight = CONTENT_PATTERNS.get(column, (None, 0.0))
    if pattern is None:
        return 0.0, ""
    share = p.share(pattern)
    if column == "username" and share < 0.5 and p.unique > 0.9 and p.share("id") < 0.5:
        share, pattern = 0.6, "unique names"
    if column in ("first_name", "last_name", "city") and (p.share("id") > 0.5 or
                                                         p.share("email") > 0.2):
        share = 0.0
    if column == "city" and p.unique > 0.5:
        share *= 0.5
    if share < 0.5:
        return 0.0, ""
    label = {"person_name": "names", "school_name": "school names", "flag": "Y/N flags",
             "id": "ids"}.get(pattern, pattern.replace("_", " ") + " values")
    if pattern in ("email", "phone", "date", "postal"):
        label = {"email": "emails", "phone": "phone numbers", "date": "dates",
                 "postal": "postal codes"}[pattern]
    return weight * share, f"{share:.0%} {label}"


def _name_score(table: str, column: str, header: str) -> tuple[float, str]:
    words = _words(header)
    names = tuple(_words(name) for name in
                  COLUMN_NAMES.get(column, ()) + (column.replace("_", " "),))
    score, like = _name_similarity(words, names)
    # "Parent Email", "Guardian First Name": the table's own word before a column's name.
    for word in TABLE_WORDS.get(table, ()):
        score, like = max((score, like),
                          _name_similarity(words, tuple(f"{word} {n}" for n in names)))
    if normalize_header(header) == column:
        score, like = 1.0, column
    return (score, like) if score >= 0.6 else (0.0, "")


def _column_score(table: str, column: str, profile: Profile, file: ExportFile,
                  context: Context, names: dict) -> tuple[float, str]:
    key = (table, column, profile.header)
    if key not in names:
        names[key] = _name_score(table, column, profile.header)
    name, like = names[key]
    content, why = _content_score(table, column, profile, file, context)
    if why.startswith(("values repeat", "blank values", "only ", "values are")) and name:
        # The name says one thing, the values another: the values win, unless the name is
        # all but certain (a student_id column with a repeated id is still the student_id,
        # and the audit names the repeats).
        score = MIN_COLUMN_SCORE + 0.05 if name >= 0.9 else 0.2 * name
        return score, f"name reads as \"{like}\" ({name:.2f}) but {why}"
    score = 0.55 * name + 0.45 * content
    evidence = [f"name reads as \"{like}\" ({name:.2f})"] if name else []
    if why and content:
        evidence.append(why)
    return score, "; ".join(evidence) or "weak"


@dataclass
class Placement:
    header: str
    column: str
    score: float
    evidence: str


def _assign_columns(file: ExportFile, table: str, context: Context, names: dict
                    ) -> list[Placement]:
    """The best one-to-one assignment of the file's headers to the table's columns."""
    from scipy.optimize import linear_sum_assignment

    columns = TABLES[table].columns
    if not file.columns:
        return []
    scores = np.zeros((len(file.columns), len(columns)))
    evidence: dict[tuple[int, int], str] = {}
    for i, profile in enumerate(file.columns):
        for j, column in enumerate(columns):
            scores[i, j], evidence[i, j] = _column_score(table, column, profile, file, context,
                                                         names)
    rows, cols = linear_sum_assignment(-scores)
    return [Placement(file.columns[i].header, columns[j], float(scores[i, j]), evidence[i, j])
            for i, j in zip(rows, cols) if scores[i, j] >= MIN_COLUMN_SCORE]


def _table_fit(file: ExportFile, table: str, placements: list[Placement]) -> float:
    spec = TABLES[table]
    weights = {c: (2.0 if c in spec.required else 1.0) for c in spec.columns}
    got = {p.column: p.score for p in placements}
    covered = sum(weights[c] * min(got.get(c, 0.0) / 0.7, 1.0) for c in spec.columns) \
        / sum(weights.values())
    required = all(c in got for c in spec.required)
    used = len(placements) / max(len(file.columns), 1)
    name, _like = _name_similarity(
        _words(Path(file.name).stem if file.name.lower().endswith(".csv") else file.name),
        tuple(_words(name) for name in TABLE_NAMES[table] + (table.replace("_", " "),)))
    fit = 0.45 * covered + 0.3 * used + 0.25 * (name if name >= 0.6 else 0.0)
    return fit if required else fit * 0.4


@dataclass
class TableSuggestion:
    file: ExportFile
    table: str | None
    fit: float
    placements: list[Placement]
    guesses: dict[str, str] = field(default_factory=dict)
    """Unplaced header -> the free column it fits best, however weakly: the analyst's hint."""

    def unplaced(self) -> list[str]:
        placed = {p.header for p in self.placements}
        return [c.header for c in self.file.columns if c.header not in placed]

    def missing_required(self) -> list[str]:
        if self.table is None:
            return []
        placed = {p.column for p in self.placements}
        return [c for c in TABLES[self.table].required if c not in placed]


@dataclass
class Suggestion:
    export: Path
    tables: list[TableSuggestion]
    problems: list[InputProblem]

    def missing_tables(self) -> list[str]:
        present = {t.table for t in self.tables}
        return [name for name, spec in TABLES.items()
                if not spec.optional and name not in present]


def suggest_mapping(path: str | Path) -> Suggestion:
    """The mapping suggested for the export at ``path``: which table each file holds and which
    contract column each header is, with evidence. A file that cannot be read raises a
    :class:`UserError` naming it."""
    from scipy.optimize import linear_sum_assignment

    path = Path(path)
    files, problems = read_export_sample(path)
    if problems and not files:
        raise UserError(f"No mapping can be suggested for {path.name}: the export cannot be read.",
                        problems)
    names: dict = {}
    context = Context()
    tables = list(TABLES)
    result: dict[str, tuple[str | None, float, list[Placement]]] = {}
    for _round in range(ROUNDS):
        fits = np.zeros((len(files), len(tables)))
        placements: dict[tuple[int, int], list[Placement]] = {}
        for i, file in enumerate(files):
            for j, table in enumerate(tables):
                placements[i, j] = _assign_columns(file, table, context, names)
                fits[i, j] = _table_fit(file, table, placements[i, j])
        rows, cols = linear_sum_assignment(-fits)
        result = {file.name: (None, 0.0, []) for file in files}
        for i, j in zip(rows, cols):
            if fits[i, j] >= MIN_TABLE_FIT:
                result[files[i].name] = (tables[j], float(fits[i, j]), placements[i, j])
        new_context = _context(files, result)
        if new_context.table_of == context.table_of and \
                new_context.id_column == context.id_column:
            break
        context = new_context
    suggestions = [TableSuggestion(file, *result[file.name]) for file in files]
    for item in suggestions:
        if item.table is not None:
            item.guesses = _guesses(item, context, names)
    return Suggestion(path, suggestions, problems)


def _guesses(item: TableSuggestion, context: Context, names: dict) -> dict[str, str]:
    taken = {p.column for p in item.placements}
    free = [c for c in TABLES[item.table].columns if c not in taken]
    guesses = {}
    for profile in item.file.columns:
        if profile.header in {p.header for p in item.placements} or not free:
            continue
        scored = [(_column_score(item.table, c, profile, item.file, context, names)[0], c)
                  for c in free]
        score, column = max(scored)
        if score > 0:
            guesses[profile.header] = column
    return guesses


def _context(files: list[ExportFile], result: dict) -> Context:
    context = Context()
    by_name = {file.name: file for file in files}
    for name, (table, _fit, placements) in result.items():
        if table is None:
            continue
        context.table_of[name] = table
        key = KEYS.get(table)
        for placement in placements:
            if placement.column == key:
                profile = next(c for c in by_name[name].columns
                               if c.header == placement.header)
                context.ids[table] = profile.ids()
                context.id_column[table] = (name, placement.header)
    return context
