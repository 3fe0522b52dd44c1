"""A header mapping suggested from an export whose file names and headers are not the
contract's (``connect-audit mapping suggest``).

Every file or sheet is read whole (the id columns are compared as sets), and its first
``SAMPLE_ROWS`` rows profiled: what share of each column's values look like emails, phone
numbers, dates, postal codes, yes/no flags, the contract's allowed values, ids. Each header is
scored against each contract column of a table from its name (synonyms, compared fuzzily) and
its content; the headers of one file are then assigned to a table's columns as an assignment
problem (scipy's ``linear_sum_assignment``), so two headers never take one column, and the
files to tables the same way. Which file holds which table and which columns are ids that
name another table's records feed each other, so the two steps repeat until they agree: a
column whose values are all student ids of the students file is a ``student_id``, and a file
with two such columns is the sibling links.

The result is written as the mapping TOML that :func:`audits.io.mapping.read_mapping` reads, each
line commented with its evidence and a confidence, for the analyst to check and edit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from audits.model.board import ACCOUNT_PERSON_TABLE, FLAG_FALSE, FLAG_TRUE, TABLES
from audits.model.errors import InputProblem, ProblemCollector, UserError
from audits.io.mapping import normalize_header

SAMPLE_ROWS = 3000
"""Rows profiled per file: enough for every pattern; the id sets use the whole file."""
MIN_COLUMN_SCORE = 0.3
"""Below this a header is left unplaced rather than guessed."""
MIN_TABLE_FIT = 0.25
ROUNDS = 4

# --- what header names mean ---------------------------------------------------------------

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


# --- what values look like ----------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?1?[\s.\-]?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]?\d{4}(\s*(x|ext\.?)\s*\d+)?$",
                    re.IGNORECASE)
_DATE = re.compile(r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/\-.]\d{1,2}[/\-.]\d{2,4}"
                   r"|\d{4}/\d{1,2}/\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_POSTAL = re.compile(r"^([A-Za-z]\d[A-Za-z][ \-]?\d[A-Za-z]\d|\d{5}(-\d{4})?)$")
_ID = re.compile(r"^[A-Za-z]{0,4}[\-_]?\d{1,12}[A-Za-z]?$")
_PERSON_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+){0,3}\.?$")
_STREET = re.compile(r"^\d+[A-Za-z]?\s+\S")
_SCHOOL_WORDS = re.compile(r"\b(?:school|elementary|secondary|academy|office|catholic|public|"
                           r"high|collegiate|college|centre|center|institute|board|middle|"
                           r"junior|senior|primary|ecole|école)\b", re.IGNORECASE)
_GRADES = frozenset({"jk", "sk", "k", "pk", "kg", "ps", "p"} | {str(n) for n in range(1, 13)}
                    | {f"{n:02d}" for n in range(1, 13)} | {f"gr{n}" for n in range(1, 13)})
_RELATIONSHIPS = re.compile(r"\b(?:mother|father|mom|dad|guardian|parent|step|grand|aunt|uncle|"
                            r"brother|sister|emergency|foster|neighbou?r|friend|relative|other|"
                            r"caregiver|self|spouse)", re.IGNORECASE)


@dataclass
class Profile:
    """What one column's sampled values look like: each share is of its non-blank values."""

    header: str
    position: int
    column: pd.Series = field(repr=False)
    """Every value of the column (not only the sample): a table's ids are compared whole."""
    sample: frozenset = frozenset()
    """The distinct non-blank values of the sample."""
    filled: float = 0.0
    unique: float = 0.0
    distinct: int = 0
    shares: dict[str, float] = field(default_factory=dict)
    whole: frozenset | None = field(default=None, repr=False)

    def share(self, pattern: str) -> float:
        return self.shares.get(pattern, 0.0)

    def ids(self) -> frozenset:
        """Every distinct non-blank value of the whole column."""
        if self.whole is None:
            values = self.column.str.strip()
            self.whole = frozenset(values[values != ""].unique())
        return self.whole


_GRADE_PREFIX = re.compile(r"^(?:grade|gr)\s*")
_PATTERNS: dict[str, object] = {
    "email": _EMAIL.match, "phone": _PHONE.match, "date": _DATE.match,
    "postal": _POSTAL.match, "id": _ID.match, "person_name": _PERSON_NAME.match,
    "street": _STREET.match, "school_name": _SCHOOL_WORDS.search,
    "relationship": _RELATIONSHIPS.search,
    "grade": lambda value: _GRADE_PREFIX.sub("", value.casefold()) in _GRADES,
    "status": lambda value: value.casefold() in {"active", "inactive", "disabled"},
    "account_type": lambda value: value.casefold() in {"parent", "staff", "student"},
    "school_type": lambda value: value.casefold() in TABLES["schools"].allowed["school_type"],
}
"""Each pattern a column's values may follow, as a test of one value."""


def _profile(header: str, position: int, column: pd.Series) -> Profile:
    sample = column.iloc[:SAMPLE_ROWS].str.strip()
    present = sample[sample != ""]
    # Each distinct value is tested once and counted as often as it occurs.
    counts = present.value_counts()
    profile = Profile(header, position, column, frozenset(counts.index))
    if present.empty:
        return profile
    profile.filled = len(present) / len(sample)
    profile.distinct = len(counts)
    profile.unique = profile.distinct / len(present)
    values = list(counts.index)
    weights = counts.to_numpy() / len(present)
    for pattern, test in _PATTERNS.items():
        profile.shares[pattern] = float(sum(w for v, w in zip(values, weights) if test(v)))
    lowered = {value.casefold() for value in values}
    if len(lowered) <= 8:
        flags = FLAG_TRUE | FLAG_FALSE
        profile.shares["flag"] = float(sum(w for v, w in zip(values, weights)
                                           if v.casefold() in flags))
    return profile


# --- the export, as headers and values ----------------------------------------------------

@dataclass
class ExportFile:
    """One CSV file or sheet of the export: its name as the mapping names it, and its columns."""

    name: str
    label: str
    columns: list[Profile]
    rows: int


def read_export_sample(path: Path) -> tuple[list[ExportFile], list[InputProblem]]:
    """Every CSV file of a folder, or every visible sheet of a workbook, with its columns
    profiled; a file that cannot be read is a problem (the others are still read)."""
    problems = ProblemCollector()
    path = Path(path)
    if not path.exists():
        problems.add("missing-path", f"{path} does not exist; give the folder of CSV files or "
                     "the .xlsx workbook the SIS exported")
        return [], problems.problems
    if path.is_dir():
        files = [_read_csv_file(file, problems) for file in sorted(path.iterdir())
                 if file.is_file() and file.suffix.lower() == ".csv"]
        if not any(files) and not problems:
            problems.add("no-tables", f"the folder {path.name} holds no CSV files", file=path.name)
        return [f for f in files if f is not None], problems.problems
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_workbook_sheets(path, problems), problems.problems
    problems.add("not-an-export", f"{path.name} is not a board export; give a folder of CSV "
                 "files or an .xlsx workbook", file=path.name)
    return [], problems.problems


def _frame_file(name: str, label: str, raw: pd.DataFrame) -> ExportFile | None:
    """``raw``: every row as text, the header first."""
    if raw.empty:
        return None
    headers = ["" if pd.isna(h) else str(h) for h in raw.iloc[0]]
    while headers and not headers[-1].strip():
        headers.pop()
    body = raw.iloc[1:, : len(headers)].fillna("").astype(str)
    columns = [_profile(header, position, body.iloc[:, position])
               for position, header in enumerate(headers) if header.strip()]
    return ExportFile(name, label, columns, len(body))


def _read_csv_file(file: Path, problems: ProblemCollector) -> ExportFile | None:
    from audits.io.loading.sniffing import detect_encoding, sniff_content

    try:
        data = file.read_bytes()
    except OSError as error:
        problems.add("unreadable-file", f"cannot read the file: {error.strerror}", file=file.name)
        return None
    encoding = detect_encoding(data)
    if sniff_content(data) is not None or encoding is None:
        problems.add("not-csv", "the file is not CSV text (UTF-8 or Windows-1252); it was "
                     "left out of the suggestion", file=file.name)
        return None
    text = data.decode(encoding)
    if encoding == "utf-8-sig":
        text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        # The audit refuses another delimiter, and says so; the suggestion still reads it.
        try:
            delimiter = csv.Sniffer().sniff(first, delimiters=";\t|").delimiter
        except csv.Error:
            delimiter = ","
    if not text.strip():
        return None
    try:
        raw = pd.read_csv(io.StringIO(text), header=None, dtype=str, sep=delimiter,
                          keep_default_na=False, na_filter=False, engine="c")
    except (pd.errors.ParserError, ValueError, csv.Error):
        # A ragged or badly quoted file: the audit names its rows; here each row as it reads.
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        width = max(len(row) for row in rows)
        raw = pd.DataFrame([row + [""] * (width - len(row)) for row in rows], dtype=str)
    return _frame_file(file.name, file.name, raw)


def _read_workbook_sheets(path: Path, problems: ProblemCollector) -> list[ExportFile]:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    from audits.model.config import InputLimits
    from audits.io.loading.sniffing import sniff_content
    from audits.io.loading.workbook import (ENTITIES_MESSAGE, cell_text, declares_entities,
                                            within_budget)

    with open(path, "rb") as handle:
        if sniff_content(handle.read(4096)) != "xlsx":
            problems.add("unreadable-workbook", f"{path.name} is not an .xlsx workbook",
                         file=path.name)
            return []
    if not within_budget(path, InputLimits(), problems):
        return []
    try:
        with zipfile.ZipFile(path) as archive:
            if declares_entities(archive):
                problems.add("unreadable-workbook", ENTITIES_MESSAGE, file=path.name)
                return []
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception:  # noqa: BLE001 - a damaged archive raises many types
        problems.add("unreadable-workbook", "the workbook is damaged or not an .xlsx workbook",
                     file=path.name)
        return []
    files = []
    try:
        for sheet in workbook.sheets_metadata:
            if sheet.visible != SheetVisibleEnum.Visible:
                continue
            rows = [[cell_text(value) for value in row]
                    for row in workbook.get_sheet_by_name(sheet.name).iter_rows()]
            read = _frame_file(sheet.name, f"{path.name}[{sheet.name}]",
                               pd.DataFrame(rows, dtype=str)) if rows else None
            if read is not None:
                files.append(read)
    finally:
        workbook.close()
    return files


# --- scoring ------------------------------------------------------------------------------

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


# --- the suggestion -----------------------------------------------------------------------

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


# --- writing it ---------------------------------------------------------------------------

def _toml_string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _confidence(score: float) -> float:
    return round(min(score / 0.8, 1.0), 2)


def mapping_toml(suggestion: Suggestion) -> str:
    """The suggestion as a mapping file :func:`audits.io.mapping.read_mapping` reads unchanged."""
    today = dt.date.today().isoformat()
    lines = [
        f"# Header mapping suggested by `connect-audit mapping suggest` for "
        f"{suggestion.export.name} ({today}).",
        "# Each line: the export's name = the contract's name, then the evidence and a confidence",
        "# (0-1). Check the low ones and the lines marked NOT PLACED, edit, then run:",
        f"#   connect-audit audit {suggestion.export.name} --mapping mapping.toml",
        "",
        "[tables]",
    ]
    for item in suggestion.tables:
        if item.table is None:
            lines.append(f"# {_toml_string(item.file.name)}: NOT PLACED (no table fits its "
                         "columns); give it a table name if it is one")
        else:
            lines.append(f"{_toml_string(item.file.name)} = {_toml_string(item.table)}"
                         f"   # {len(item.placements)} of {len(item.file.columns)} headers "
                         f"placed; confidence {min(round(item.fit, 2), 1.0)}")
    for missing in suggestion.missing_tables():
        lines.append(f"# NOT PLACED: no file holds the {missing} table")
    for item in suggestion.tables:
        if item.table is None:
            continue
        spec = TABLES[item.table]
        lines += ["", f"[{item.table}]   # {item.file.label}"]
        placed = {p.column: p for p in item.placements}
        written: set[str] = set()
        for placement in sorted(item.placements, key=lambda p: spec.columns.index(p.column)):
            written.add(placement.header)
            lines.append(f"{_toml_string(placement.header)} = {_toml_string(placement.column)}"
                         f"   # {placement.evidence}; confidence "
                         f"{_confidence(placement.score)}")
        for column in item.missing_required():
            lines.append(f"# NOT PLACED: required column {column}: no header fits; add "
                         f"\"<header>\" = \"{column}\"")
        for header in item.unplaced():
            as_is = normalize_header(header)
            if header in written:
                # The same header twice in the file (a TOML key once): the audit names it.
                lines.append(f"# {_toml_string(header)}: NOT PLACED: this header is in the file "
                             "twice")
                continue
            written.add(header)
            if as_is in spec.columns and placed.get(as_is) is None:
                continue  # read as its own name by the loader
            if as_is in spec.columns:
                # Read as its own name, it would clash with the header placed there.
                lines.append(f"{_toml_string(header)} = {_toml_string('unplaced_' + as_is)}"
                             "   # NOT PLACED: kept out of the way of the column above")
            elif header in item.guesses:
                lines.append(f"# {_toml_string(header)} = {_toml_string(item.guesses[header])}"
                             "   # NOT PLACED: a weak guess; uncomment if it is right")
            else:
                lines.append(f"# {_toml_string(header)} = \"?\"   # NOT PLACED: kept, not used")
    return "\n".join(lines) + "\n"


def unplaced_problems(suggestion: Suggestion) -> list[InputProblem]:
    """What stops the suggestion being used as it is: a required column of a present table that
    no header was placed in, and a required table no file holds."""
    problems = list(suggestion.problems)
    for item in suggestion.tables:
        unplaced = item.unplaced()
        for column in item.missing_required():
            problems.append(InputProblem(
                "unplaced-column", f"no header could be placed as the required column {column}"
                f" of the {item.table} table" + (
                    " (not placed: " + ", ".join(unplaced) + ")" if unplaced else "")
                + f"; add its line to [{item.table}] in the mapping", file=item.file.label,
                column=column))
    for table in suggestion.missing_tables():
        problems.append(InputProblem(
            "unplaced-table", f"no file could be placed as the {table} table; add its file to "
            "[tables] in the mapping", file=table))
    return problems
