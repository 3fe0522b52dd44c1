"""Reading a board export (data contract section 1) into a :class:`~audits.board.Board`.

An export is a folder of ``<table>.csv`` files or one ``.xlsx`` workbook with a sheet per
table. Every value is read as text, exactly as exported (``000123`` keeps its zeros), and
every problem with the export is collected before stopping, so the user sees the whole list
at once in one :class:`~audits.errors.UserError`.

Two entry points:

* :func:`load_board` -- what the CLI and the checks use: read, normalise, validate.
* :func:`read_export` -- the frames as read, before normalisation, with contract column
  names, plus the :class:`~audits.board.BoardSource` saying which file, encoding and header
  row each came from. The fixes rewrite exports in their own format and encoding from it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from audits.board import TABLES, Board, BoardSource, TableSource, board_from_frames
from audits.errors import InputProblem, ProblemCollector, UserError
from audits.mapping import HeaderMapping, read_mapping

FIRST_DATA_ROW = 2
"""The header is row 1 in the file, as a spreadsheet shows it."""

_LINE_IN_PARSER_ERROR = re.compile(r"line (\d+)")


@dataclass
class Export:
    """The tables of an export as read: contract column names, text values, index = file row."""

    frames: dict[str, pd.DataFrame]
    source: BoardSource


def load_board(path: str | Path, *, mapping: str | Path | None = None,
               validate: bool = True) -> Board:
    """The board export at ``path`` (a folder of CSV files or an ``.xlsx`` workbook).

    ``mapping`` is an optional TOML file renaming export headers and file names to the
    contract's. Raises :class:`UserError` listing every problem when the export cannot be
    read or, with ``validate``, breaks the contract's structure (blank IDs, duplicate IDs,
    unknown references, bad status or flag values, malformed dates).
    """
    export, problems = _read(path, mapping)
    if export is None:
        raise UserError(_failure_message(path, problems), problems)
    board = board_from_frames(export.frames, export.source)
    if validate:
        from audits.validation import validate_board

        # Tables that could not be read are left out, so the user still sees every
        # problem in the others on this run, without false unknown references.
        unread = {name for name, spec in TABLES.items() if name not in export.frames
                  and (not spec.optional or name in export.source.tables
                       and export.source.tables[name].present)}
        problems = [*problems, *validate_board(board, raw=export.frames, unread=unread)]
    if problems:
        raise UserError(_failure_message(path, problems), problems)
    return board


def read_export(path: str | Path, mapping: str | Path | None = None) -> Export:
    """The export's tables before normalisation, and where each came from.

    Frames hold every column as text (blank is ``""``), contract columns renamed, extra
    columns kept; each index is the row number in the file. Absent optional tables are left
    out of ``frames`` and recorded with ``present=False`` in the source.
    """
    export, problems = _read(path, mapping)
    if problems:
        raise UserError(_failure_message(path, problems), problems)
    return export


def _read(path: str | Path, mapping: str | Path | None
          ) -> tuple[Export | None, list[InputProblem]]:
    """The export (``None`` when there is no export at ``path`` at all) and every problem
    reading it."""
    problems = ProblemCollector()
    header_mapping, mapping_problems = read_mapping(mapping)
    problems.extend(mapping_problems)
    path = Path(path)
    export = None
    if not path.exists():
        problems.add("missing-path", f"{path} does not exist; give the folder of CSV files or "
                     "the .xlsx workbook the SIS exported", file=str(path))
    elif path.is_dir():
        export = _read_folder(path, header_mapping, problems)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        export = _read_workbook(path, header_mapping, problems)
    else:
        hint = {
            ".csv": "give the folder that holds it and the other tables' CSV files",
            ".xls": "open it in Excel and save it as an .xlsx workbook",
        }.get(path.suffix.lower(), "give a folder of CSV files or an .xlsx workbook")
        problems.add("not-an-export", f"{path.name} is not a board export; {hint}",
                     file=path.name)
    return export, problems.problems


def _failure_message(path: str | Path, problems: list[InputProblem] | tuple) -> str:
    count = len(problems)
    return (f"The board export {Path(path).name or path} cannot be audited: "
            f"{count} problem{'s' if count != 1 else ''} to fix in the export.")


# --- a folder of CSV files ---------------------------------------------------------------

def _read_folder(folder: Path, mapping: HeaderMapping, problems: ProblemCollector) -> Export:
    found: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        if not file.is_file() or file.suffix.lower() != ".csv":
            continue
        table = mapping.table_for(file.name)
        if table is None:
            continue
        if table in found:
            problems.add("duplicate-table", f"both {found[table].name} and {file.name} hold "
                         f"the {table} table; keep one", file=file.name)
            continue
        found[table] = file
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, TableSource] = {}
    for name, spec in TABLES.items():
        file = found.get(name)
        if file is None:
            sources[name] = TableSource(file=f"{name}.csv", present=False)
            if not spec.optional:
                problems.add("missing-table", f"the folder has no {name}.csv; export the "
                             f"{name} table into it", file=f"{name}.csv")
            continue
        read = _read_csv(file, name, mapping, problems)
        if read is None:
            sources[name] = TableSource(file=file.name)
        else:
            frames[name], sources[name] = read
    return Export(frames, BoardSource(path=str(folder), kind="csv", tables=sources))


def detect_encoding(data: bytes) -> str | None:
    """The encoding of an exported file: ``utf-8``, ``utf-8-sig`` or ``cp1252``; ``None`` when
    it is none of them (UTF-16 or binary files carry NUL bytes no text export has)."""
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return "cp1252"


def _read_csv(file: Path, table: str, mapping: HeaderMapping,
              problems: ProblemCollector) -> tuple[pd.DataFrame, TableSource] | None:
    name = file.name
    try:
        data = file.read_bytes()
    except OSError as error:
        problems.add("unreadable-file", f"cannot read the file: {error.strerror}", file=name)
        return None
    if not data.strip():
        problems.add("empty-file", "the file is empty; export the table again with its "
                     "header row", file=name)
        return None
    encoding = detect_encoding(data)
    if encoding is None:
        problems.add("undecodable-file", "the file is not UTF-8 or Windows-1252 text; save it "
                     "from Excel as 'CSV UTF-8'", file=name)
        return None
    try:
        # Rows as records, every field text; the header is the first record so its
        # original spelling survives (pandas would rename duplicate headers).
        raw = pd.read_csv(io.BytesIO(data), encoding=encoding, header=None, dtype=str,
                          keep_default_na=False, na_filter=False, skip_blank_lines=False,
                          engine="c")
    except pd.errors.EmptyDataError:
        problems.add("empty-file", "the file has no header row", file=name)
        return None
    except (pd.errors.ParserError, ValueError, csv.Error, UnicodeDecodeError) as error:
        line = _LINE_IN_PARSER_ERROR.search(str(error))
        problems.add("malformed-csv", "the file is not well-formed CSV (a row with more "
                     "fields than the header, or an unclosed quote); check the row",
                     file=name, row=int(line.group(1)) if line else None)
        return None
    headers = tuple("" if pd.isna(value) else str(value) for value in raw.iloc[0])
    body = raw.iloc[1:]
    body.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(body))
    frame = _tidy(body, headers, table, name, mapping, problems)
    if frame is None:
        return None
    return frame, TableSource(file=name, encoding=encoding, headers=headers)


# --- an .xlsx workbook ----------------------------------------------------------------------

def _read_workbook(path: Path, mapping: HeaderMapping, problems: ProblemCollector
                   ) -> Export | None:
    import zipfile

    import openpyxl

    sources: dict[str, TableSource] = {}
    frames: dict[str, pd.DataFrame] = {}
    if path.stat().st_size == 0:
        problems.add("empty-file", "the workbook is empty (0 bytes); export it again",
                     file=path.name)
        return None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, IndexError,
            AttributeError, openpyxl.utils.exceptions.InvalidFileException) as error:
        problems.add("unreadable-workbook", "Excel cannot have written this workbook "
                     f"({type(error).__name__}); open it in Excel and save it as .xlsx again",
                     file=path.name)
        return None
    try:
        found: dict[str, str] = {}
        for title in workbook.sheetnames:
            table = mapping.table_for(title)
            if table is None:
                continue
            if table in found:
                problems.add("duplicate-table", f"both sheets {found[table]!r} and {title!r} "
                             f"hold the {table} table; keep one", file=path.name)
                continue
            found[table] = title
        for name, spec in TABLES.items():
            title = found.get(name)
            if title is None:
                sources[name] = TableSource(file=f"{path.name}[{name}]", present=False)
                if not spec.optional:
                    problems.add("missing-table", f"the workbook has no {name} sheet; add it "
                                 "with the table's header row", file=path.name)
                continue
            label = f"{path.name}[{title}]"
            read = _read_sheet(workbook[title], name, label, mapping, problems)
            if read is None:
                sources[name] = TableSource(file=label)
            else:
                frames[name], sources[name] = read
    finally:
        workbook.close()
    return Export(frames, BoardSource(path=str(path), kind="xlsx", tables=sources))


def cell_text(value: object) -> str:
    """A workbook cell as the text an export would hold: whole numbers without ``.0``,
    dates as ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _read_sheet(sheet, table: str, label: str, mapping: HeaderMapping,
                problems: ProblemCollector) -> tuple[pd.DataFrame, TableSource] | None:
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if header_row is None or all(value is None for value in header_row):
        problems.add("empty-file", "the sheet is empty; it needs the table's header row",
                     file=label)
        return None
    headers = [cell_text(value) for value in header_row]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    records = []
    for row in rows:
        cells = [cell_text(value) for value in row[:width]]
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        records.append(cells)
    body = pd.DataFrame(records, columns=range(width), dtype=str) if records else \
        pd.DataFrame({i: pd.Series([], dtype=str) for i in range(width)})
    body.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(body))
    frame = _tidy(body, tuple(headers), table, label, mapping, problems)
    if frame is None:
        return None
    return frame, TableSource(file=label, encoding=None, headers=tuple(headers))


# --- both -------------------------------------------------------------------------------------

def _tidy(body: pd.DataFrame, headers: tuple[str, ...], table: str, file: str,
          mapping: HeaderMapping, problems: ProblemCollector) -> pd.DataFrame | None:
    """Contract column names on the body, rows that are wholly blank dropped (their row
    numbers are kept by the others), and every required column present."""
    spec = TABLES[table]
    names: list[str] = []
    seen: set[str] = set()
    ok = True
    for position, header in enumerate(headers, start=1):
        name = mapping.column_for(table, header) if header.strip() else f"unnamed_{position}"
        if name in seen:
            if name in spec.columns:
                problems.add("duplicate-column", f"two columns read as {name}; remove or "
                             "rename one", file=file, row=1, column=header)
                ok = False
            suffix = 2
            while f"{name}_{suffix}" in seen:
                suffix += 1
            name = f"{name}_{suffix}"
        seen.add(name)
        names.append(name)
    for column in spec.required:
        if column not in seen:
            problems.add("missing-column", f"the required column {column} is missing from "
                         "the header row", file=file, row=1, column=column)
            ok = False
    if not ok:
        return None
    body = body.set_axis(names, axis=1)
    # Short rows leave missing fields as NaN; they are blank in the export.
    body = body.fillna("")
    blank = (body == "").all(axis=1) if len(body.columns) else pd.Series(True, index=body.index)
    if blank.any():
        body = body[~blank]
    return body
