"""The board model: the contract's tables (data contract section 1) as typed pandas tables.

Every column is kept as text exactly as exported (IDs are strings: ``000123`` is not ``123``),
except the columns the contract gives a meaning to, which the loader normalises:
yes/no flags become booleans, status and type columns are lowercased with their default filled in.
The DataFrame index of every table is the row number in its file as a spreadsheet shows it
(the header is row 1), so any problem or finding can point back at the export.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Reference:
    """``table.column`` must name an existing ``target.target_column``."""

    column: str
    target: str
    target_column: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...] = ()
    """Columns whose values must be unique together (the record id)."""
    optional: bool = False
    """An optional table that is absent becomes an empty table."""
    flags: tuple[str, ...] = ()
    """Yes/no columns in any of the contract's spellings; blank means no."""
    dates: tuple[str, ...] = ()
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Allowed values (compared lowercased; blank is allowed and means the first value)."""
    references: tuple[Reference, ...] = ()


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "schools",
            ("school_id", "school_name", "school_type"),
            required=("school_id", "school_name"),
            key=("school_id",),
            allowed={"school_type": ("other", "elementary", "secondary", "central_office")},
        ),
        TableSpec(
            "students",
            (
                "student_id", "school_id", "first_name", "last_name", "date_of_birth", "grade",
                "status", "street", "city", "postal_code",
            ),
            required=("student_id", "school_id", "first_name", "last_name"),
            key=("student_id",),
            dates=("date_of_birth",),
            allowed={"status": ("active", "inactive")},
            references=(Reference("school_id", "schools", "school_id"),),
        ),
        TableSpec(
            "contacts",
            (
                "contact_id", "first_name", "last_name", "email", "home_phone", "cell_phone",
                "work_phone", "street", "city", "postal_code",
            ),
            required=("contact_id", "first_name", "last_name"),
            key=("contact_id",),
        ),
        TableSpec(
            "student_contacts",
            ("student_id", "contact_id", "relationship", "portal_access"),
            required=("student_id", "contact_id"),
            flags=("portal_access",),
            references=(
                Reference("student_id", "students", "student_id"),
                Reference("contact_id", "contacts", "contact_id"),
            ),
        ),
        TableSpec(
            "siblings",
            ("student_id", "sibling_id"),
            required=("student_id", "sibling_id"),
            references=(
                Reference("student_id", "students", "student_id"),
                Reference("sibling_id", "students", "student_id"),
            ),
        ),
        TableSpec(
            "staff",
            ("staff_id", "school_id", "first_name", "last_name", "email"),
            required=("staff_id", "school_id", "first_name", "last_name"),
            key=("staff_id",),
            references=(Reference("school_id", "schools", "school_id"),),
        ),
        TableSpec(
            "accounts",
            ("account_id", "username", "account_type", "school_id", "person_id", "status"),
            required=("account_id", "username", "account_type", "school_id", "person_id"),
            key=("account_id",),
            optional=True,
            allowed={
                "account_type": ("parent", "staff", "student"),
                "status": ("active", "disabled"),
            },
            references=(Reference("school_id", "schools", "school_id"),),
        ),
        TableSpec(
            "account_students",
            ("account_id", "student_id"),
            required=("account_id", "student_id"),
            optional=True,
            references=(
                Reference("account_id", "accounts", "account_id"),
                Reference("student_id", "students", "student_id"),
            ),
        ),
    )
}

# An account's person_id names a record in the table of its account type.
ACCOUNT_PERSON_TABLE = {"parent": ("contacts", "contact_id"), "staff": ("staff", "staff_id"),
                        "student": ("students", "student_id")}

FLAG_TRUE = frozenset({"y", "yes", "true", "1", "t"})
FLAG_FALSE = frozenset({"n", "no", "false", "0", "f", ""})


def cell_text(value: object) -> str:
    """One value as text, the way every table cell reads: ``None`` is empty, spaces around do
    not count."""
    return "" if value is None else str(value).strip()


def cell_flag(value: object) -> bool:
    """Whether one value is a yes flag (:data:`FLAG_TRUE`, any case); a bool is itself."""
    return value if isinstance(value, bool) else cell_text(value).lower() in FLAG_TRUE


@dataclass(frozen=True)
class TableSource:
    """Where one table came from, so problems and fixes can name and rewrite it."""

    file: str
    """File name as the user knows it: ``students.csv`` or ``board.xlsx[students]``."""
    encoding: str | None = None
    headers: tuple[str, ...] = ()
    """The header row as exported, before normalisation."""
    present: bool = True


@dataclass(frozen=True)
class BoardSource:
    path: str
    kind: str
    """``csv`` (a folder of CSV files) or ``xlsx`` (one workbook)."""
    tables: dict[str, TableSource] = field(default_factory=dict)


@dataclass
class Board:
    """A loaded board export: one DataFrame per contract table, keyed by table name."""

    tables: dict[str, pd.DataFrame]
    source: BoardSource

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def schools(self) -> pd.DataFrame:
        return self.tables["schools"]

    @property
    def students(self) -> pd.DataFrame:
        return self.tables["students"]

    @property
    def contacts(self) -> pd.DataFrame:
        return self.tables["contacts"]

    @property
    def student_contacts(self) -> pd.DataFrame:
        return self.tables["student_contacts"]

    @property
    def siblings(self) -> pd.DataFrame:
        return self.tables["siblings"]

    @property
    def staff(self) -> pd.DataFrame:
        return self.tables["staff"]

    @property
    def accounts(self) -> pd.DataFrame:
        return self.tables["accounts"]

    @property
    def account_students(self) -> pd.DataFrame:
        return self.tables["account_students"]

    def file_of(self, table: str) -> str:
        source = self.source.tables.get(table)
        return source.file if source else f"{table}.csv"

    def require_school(self, school_id: str | None) -> None:
        """Refuse an unknown ``--school``: a typo must not turn a health check green."""
        from audits.model.errors import UserError

        if school_id is None:
            return
        known = self.schools["school_id"].tolist()
        if school_id not in set(known):
            shown = ", ".join(sorted(known)[:12]) + (" ..." if len(known) > 12 else "")
            raise UserError(f"--school {school_id!r} is not a school_id in {self.file_of('schools')}"
                            f"; the board's schools are: {shown}")

    def row_counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables.items()}


def empty_table(name: str) -> pd.DataFrame:
    spec = TABLES[name]
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in spec.columns})
    for column in spec.flags:
        frame[column] = frame[column].astype(bool)
    return frame


def parse_flag(value: object) -> bool | None:
    """A yes/no flag in any of the contract's spellings; ``None`` when it is none of them."""
    text = str(value).strip().lower() if value is not None else ""
    if text in FLAG_TRUE:
        return True
    if text in FLAG_FALSE:
        return False
    return None


def normalize_table(name: str, frame: pd.DataFrame, *, as_read: bool = False) -> pd.DataFrame:
    """One contract table with contract column names, as the checks expect it.

    Missing optional columns are added blank, every value is text (blank, never NaN), IDs and
    required values are trimmed, flags become booleans (an unknown spelling stays ``False``;
    validation reports it), allowed-value columns are lowercased with their default filled in.
    Extra columns are kept as they are. ``frame`` itself is left as it is.

    ``as_read`` says the frame is the loader's: every value already a str, none missing, so
    the pass that makes every value text is skipped (looking for NaN alone takes a second at
    250,000 students).
    """
    spec = TABLES[name]
    # Copy-on-write (pandas 3): the columns replaced below never reach the caller's frame, so
    # the values need not be copied up front.
    frame = frame.copy(deep=False)
    for column in () if as_read else frame.columns:
        values = frame[column]
        if values.dtype == "str" and not values.hasnans:
            continue  # already text, as read from a CSV file: converting again costs seconds
        frame[column] = values.astype(object).where(values.notna(), "").astype(str)
    for column in spec.columns:
        if column not in frame.columns:
            frame[column] = ""
    # Every column is now str values only, so the C str methods are mapped straight over them
    # (the .str accessor calls a Python lambda per value: seconds at 250,000 students), and
    # the low-cardinality columns are worked out once per distinct value.
    for column in dict.fromkeys((*spec.required, *(ref.column for ref in spec.references))):
        values = frame[column].to_numpy()
        trimmed = list(map(str.strip, values))
        # str.strip returns the very same object when there is nothing to trim: a column of
        # trimmed IDs (the usual export) is left as it is, not rebuilt.
        if any(map(operator.is_not, trimmed, values)):
            frame[column] = _text_column(frame, trimmed)
    for column, values in spec.allowed.items():
        codes, distinct = pd.factorize(frame[column].to_numpy())
        # Blank means the first allowed value.
        lowered = np.array([text.strip().lower() or values[0] for text in distinct], dtype=object)
        frame[column] = _text_column(frame, lowered[codes])
    for column in spec.flags:
        codes, distinct = pd.factorize(frame[column].to_numpy())
        # parse_flag(v) is True, for each distinct spelling
        true = np.array([text.strip().lower() in FLAG_TRUE for text in distinct], dtype=bool)
        frame[column] = pd.Series(true[codes], index=frame.index)
    ordered = [*spec.columns, *(c for c in frame.columns if c not in spec.columns)]
    return frame[ordered]


def _text_column(frame: pd.DataFrame, values) -> pd.Series:
    return pd.Series(values, index=frame.index, dtype="str")


def board_from_frames(frames: dict[str, pd.DataFrame | list[dict]],
                      source: BoardSource | None = None, *, as_read: bool = False) -> Board:
    """A board from tables already in contract column names (tests, the sample generator, the
    loader after reading). Absent tables become empty; each index becomes the file row number.
    ``as_read``: the frames are the loader's, every value a str (see :func:`normalize_table`)."""
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        given = frames.get(name)
        if given is None:
            frame = empty_table(name)
        else:
            frame = pd.DataFrame(given) if not isinstance(given, pd.DataFrame) else given
            frame = normalize_table(name, frame, as_read=as_read) if len(frame.columns) \
                else normalize_table(name, empty_table(name))
        if source is None or not isinstance(given, pd.DataFrame):
            frame.index = pd.RangeIndex(2, 2 + len(frame))
        tables[name] = frame
    return Board(tables, source or BoardSource(path="<memory>", kind="memory"))
