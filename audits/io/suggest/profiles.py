"""Reading the files or sheets of an export for a mapping suggestion, and profiling each
column: what share of its first values look like emails, phone numbers, dates, postal codes,
yes/no flags, the contract's allowed values, ids."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from audits.model.board import FLAG_FALSE, FLAG_TRUE, TABLES
from audits.model.errors import InputProblem, ProblemCollector


SAMPLE_ROWS = 3000
"""Rows profiled per file: enough for every pattern; the id sets use the whole file."""


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
