"""The files of an interchange export, in a folder or a .zip, read as text tables.

A .zip is read in place (nothing is unpacked to disk): each member's size is checked against the
``[input]`` limits from the archive's directory before a byte of it is unpacked, and a member
that packs far tighter than CSV does (a zip bomb) is refused. Members are found by name at the
top of the archive or inside its one top folder (an export zipped with its folder).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path, PurePosixPath

import pandas as pd

from audits.model.board import TableSource
from audits.model.config import InputLimits
from audits.model.errors import ProblemCollector
from audits.io.loading.tables import FIRST_DATA_ROW, TableRead, read_tables

SIDE_TABLES = ("siblings", "accounts", "account_students")
"""Contract tables no interchange format carries, read from plain contract CSV files beside
the export (in its folder; for a .zip, in the folder holding it)."""


class ExportFiles:
    """A folder's files, or a zip archive's members, by (case-insensitive) file name."""

    def __init__(self, path: Path, names: dict[str, str], archive: zipfile.ZipFile | None):
        self.path = path
        self._names = names
        self._archive = archive

    @classmethod
    def open(cls, path: Path) -> "ExportFiles | None":
        try:
            if path.is_dir():
                names = {p.name.lower(): p.name for p in sorted(path.iterdir()) if p.is_file()}
                return cls(path, names, None)
            if path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
                archive = zipfile.ZipFile(path)
                members = [i.filename for i in archive.infolist() if not i.is_dir()]
                nested = [PurePosixPath(m).parts for m in members]
                tops = {parts[0] for parts in nested if len(parts) > 1}
                names: dict[str, str] = {}
                for member in members:
                    parts = PurePosixPath(member).parts
                    if len(parts) == 1 or (len(parts) == 2 and len(tops) == 1):
                        names.setdefault(parts[-1].lower(), member)
                return cls(path, names, archive)
        except (OSError, zipfile.BadZipFile):
            return None
        return None

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()

    @property
    def is_zip(self) -> bool:
        return self._archive is not None

    @property
    def beside(self) -> Path:
        """Where the plain contract CSV files of the export are: its folder, or the folder
        holding the .zip."""
        return self.path.parent if self.is_zip else self.path

    def has(self, name: str) -> bool:
        return name.lower() in self._names

    def label(self, name: str) -> str:
        """The file as the user knows it: ``users.csv``, or ``export.zip[users.csv]``."""
        actual = self._names.get(name.lower(), name)
        return f"{self.path.name}[{actual}]" if self.is_zip else actual

    def data(self, name: str, problems: ProblemCollector, limits: InputLimits) -> bytes | None:
        """The file's bytes, or ``None`` after reporting why not (too large, a zip bomb)."""
        from audits.io.loading.sizes import MB, megabytes

        label = self.label(name)
        actual = self._names[name.lower()]
        if self._archive is None:
            file = self.path / actual
            size = file.stat().st_size
            if size > limits.max_csv_mb * MB:
                problems.add("too-large", f"the file is {megabytes(size)}, more than the "
                             f"{megabytes(limits.max_csv_mb * MB)} a table may be ([input] "
                             "max_csv_mb in the --config file)", file=label)
                return None
            if not file.resolve().is_relative_to(self.path.resolve()):
                problems.add("outside-export", f"{actual} is a link to a file outside the "
                             "export folder; copy the file itself into the export folder",
                             file=label)
                return None
            return file.read_bytes()
        info = self._archive.getinfo(actual)
        if info.file_size > limits.max_csv_mb * MB:
            problems.add("too-large", f"the file unpacks to {megabytes(info.file_size)}, more "
                         f"than the {megabytes(limits.max_csv_mb * MB)} a table may be "
                         "([input] max_csv_mb in the --config file)", file=label)
            return None
        if info.file_size > MB and \
                info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
            problems.add("too-large", f"the file unpacks to {megabytes(info.file_size)} from "
                         f"{megabytes(info.compress_size)}, far tighter than CSV packs: a zip "
                         "bomb, or a file no SIS wrote; get the export again", file=label)
            return None
        try:
            return self._archive.read(actual)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as error:
            problems.add("unreadable-file", "the file cannot be unpacked from the archive "
                         f"({type(error).__name__}); get the export again", file=label)
            return None

    def header(self, name: str) -> list[str]:
        """The header row of a CSV file (for detection), or ``[]``."""
        if not self.has(name):
            return []
        actual = self._names[name.lower()]
        try:
            if self._archive is None:
                with open(self.path / actual, "rb") as handle:
                    head = handle.read(64 * 1024)
            else:
                with self._archive.open(actual) as handle:
                    head = handle.read(64 * 1024)
        except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError):
            return []
        text = head.decode("utf-8-sig", errors="replace").splitlines()
        return [cell.strip() for cell in next(csv.reader(text[:1]), [])]

    def manifest(self) -> dict[str, str] | None:
        """OneRoster's manifest.csv as ``{propertyName: value}``, or ``None`` without one."""
        if not self.has("manifest.csv"):
            return None
        problems = ProblemCollector()
        data = self.data("manifest.csv", problems, InputLimits())
        if data is None:
            return {}
        rows = list(csv.reader(data.decode("utf-8-sig", errors="replace").splitlines()))
        return {row[0].strip(): row[1].strip() for row in rows[1:] if len(row) >= 2}


def read_table(files: ExportFiles, name: str, required: tuple[str, ...],
               problems: ProblemCollector, limits: InputLimits, optional: tuple[str, ...] = ()
               ) -> tuple[pd.DataFrame, TableSource] | None:
    """One CSV file of the export as text (blank is ``""``), headers as the specification spells
    them (matched case-insensitively), index = the row in the file (the header is row 1); or
    ``None`` after reporting why not. Wholly blank rows are dropped."""
    from audits.io.loading.csv import describe_csv_error
    from audits.io.loading.sniffing import decode_text

    label = files.label(name)
    if not files.has(name):
        problems.add("missing-table", f"the export has no {name}", file=label)
        return None
    data = files.data(name, problems, limits)
    if data is None:
        return None
    decoded = decode_text(data, label, problems)
    if decoded is None:
        return None
    encoding, text = decoded
    if not text.strip():
        problems.add("empty-file", "the file is empty; it needs its header row", file=label)
        return None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            na_filter=False, engine="c")
    except (pd.errors.ParserError, ValueError, csv.Error) as error:
        problems.add("malformed-csv", describe_csv_error(error), file=label)
        return None
    headers = tuple(str(column) for column in frame.columns)
    frame.columns = [header.strip() for header in headers]
    known = {column.lower(): column for column in (*required, *optional)}
    frame = frame.rename(columns={c: known[c.lower()] for c in frame.columns
                                  if c.lower() in known})
    missing = [column for column in required if column not in frame.columns]
    for column in missing:
        problems.add("missing-column", f"the required column {column} is missing from the "
                     "header row", file=label, row=1, column=column)
    if missing:
        return None
    frame.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame))
    if len(frame.columns):
        frame = frame[(frame != "").any(axis=1)]
    return frame, TableSource(file=label, encoding=encoding, headers=headers)


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of the file, trimmed; blank when the file does not have it (optional fields
    may be left out of the header)."""
    if name not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[name].astype(str).str.strip()


def schools_from_orgs(orgs: pd.DataFrame) -> pd.DataFrame:
    """The schools table of an orgs.csv (OneRoster and SDS name its fields alike): the
    district is the board's central office, every other org a school."""
    return pd.DataFrame({
        "school_id": column(orgs, "sourcedId"),
        "school_name": column(orgs, "name"),
        "school_type": column(orgs, "type").str.lower().map(
            lambda t: "central_office" if t == "district" else "other"),
    })


def id_list(value: str) -> list[str]:
    """A OneRoster/SDS list field (``"a,b,c"``, quoted in the CSV): its ids, trimmed."""
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _read_packed(files: ExportFiles, name: str, table: str, mapping, problems: ProblemCollector,
                 limits: InputLimits, lines: dict) -> TableRead | None:
    """A contract CSV packed in the export's .zip, read by the contract's CSV reader from its
    bytes (no copy on disk); its source is the member of the zip (hashed as the zip)."""
    from audits.io.loading.csv import read_csv_bytes

    data = files.data(name, problems, limits)
    if data is None:
        return None
    return read_csv_bytes(data, files.label(name), table, mapping, problems, lines)


def read_side_tables(files: ExportFiles, mapping, problems: ProblemCollector,
                     limits: InputLimits, frames: dict, sources: dict, lines: dict) -> None:
    """The contract tables no interchange format carries (siblings, CONNECT's accounts and
    their permissions), from plain contract CSV files beside the export, when there. An absent
    one is recorded ``present=False``: a check needing it is skipped and says why."""
    from audits.io.loading.csv import read_csv_file

    folder = files.beside
    present = {p.name.lower(): p for p in folder.iterdir() if p.is_file()} \
        if folder.is_dir() else {}

    def packed(table: str) -> bool:
        # Packed with the export, it belongs to it: read before anything beside the .zip
        # (a folder of downloads may hold another export's files).
        return files.is_zip and files.has(f"{table}.csv")

    def locate(table: str) -> str | None:
        if packed(table):
            return files.label(f"{table}.csv")
        file = present.get(f"{table}.csv")
        return None if file is None else file.name

    def read(table: str, label: str) -> TableRead | None:
        if packed(table):
            return _read_packed(files, f"{table}.csv", table, mapping, problems, limits, lines)
        return read_csv_file(present[f"{table}.csv"], table, mapping, problems, limits, lines)

    def absent(table: str) -> TableSource:
        if table == "siblings":
            frames[table] = pd.DataFrame({"student_id": pd.Series([], dtype=str),
                                          "sibling_id": pd.Series([], dtype=str)})
        return TableSource(file=f"{table}.csv", present=False)

    read_tables(SIDE_TABLES, locate, read, absent, frames, sources)
