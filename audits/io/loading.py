"""Reading a board export (data contract section 1) into a :class:`~audits.model.board.Board`.

An export is a folder of ``<table>.csv`` files or one ``.xlsx`` workbook with a sheet per
table. Every value is read as text, exactly as exported (``000123`` keeps its zeros), and
every problem with the export is collected before stopping, so the user sees the whole list
at once in one :class:`~audits.model.errors.UserError`.

Two entry points:

* :func:`load_board` -- what the CLI and the checks use: read, normalise, validate.
* :func:`read_export` -- the frames as read, before normalisation, with contract column
  names, plus the :class:`~audits.model.board.BoardSource` saying which file, encoding and header
  row each came from. The fixes rewrite exports in their own format and encoding from it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from audits.model.board import TABLES, Board, BoardSource, TableSource, board_from_frames
from audits.model.config import InputLimits
from audits.model.errors import InputProblem, ProblemCollector, UserError
from audits.io.mapping import HeaderMapping, read_mapping

FIRST_DATA_ROW = 2
"""The header is row 1 in the file, as a spreadsheet shows it."""

TABLES_THAT_NEED_ROWS = ("students",)
"""A header-only table is an export cut short only where the board cannot have no rows: a
board has students; it may have no siblings, staff or existing accounts (yet)."""

_LINE_IN_PARSER_ERROR = re.compile(r"line (\d+)")


@dataclass
class Export:
    """The tables of an export as read: contract column names, text values, index = file row."""

    frames: dict[str, pd.DataFrame]
    source: BoardSource
    lines: dict[str, np.ndarray] = field(default_factory=dict)
    """Per CSV file whose records span lines (a quoted value holds a line break): the line a
    text editor shows each row starting on, indexed by row."""


def load_board(path: str | Path, *, mapping: str | Path | None = None,
               validate: bool = True,
               after_read: Callable[[Board], object] | None = None,
               limits: InputLimits | None = None) -> Board:
    """The board export at ``path`` (a folder of CSV files or an ``.xlsx`` workbook).

    ``mapping`` is an optional TOML file renaming export headers and file names to the
    contract's. Raises :class:`UserError` listing every problem when the export cannot be
    read or, with ``validate``, breaks the contract's structure (blank IDs, duplicate IDs,
    unknown references, bad status or flag values, malformed dates).

    ``after_read`` is called with the board once it is read, before it is validated.
    ``limits`` bound the size of what is read (the config's ``[input]``; defaults without).
    """
    try:
        return _load_board(path, mapping, validate, after_read, limits)
    except MemoryError:
        # Past the size limits, a board can still be more than this computer holds: the user
        # can act on that (a larger machine, lower limits), so it is not an internal error.
        raise UserError(f"The board export {Path(path).name or path} is too large to audit in "
                        "the memory this computer has; audit it on a computer with more "
                        "memory") from None


def _load_board(path, mapping, validate, after_read, limits) -> Board:
    export, problems = _read(path, mapping, limits)
    if export is None:
        raise UserError(_failure_message(path, problems), problems)
    board = board_from_frames(export.frames, export.source, as_read=True)
    if after_read is not None and not problems:
        # Work that needs only the tables (the CLI starts contact matching on the second core)
        # begins here, while great-expectations validates; the caller drops it if this raises.
        after_read(board)
    if validate:
        from audits.validation import validate_board

        # Tables that could not be read are left out, so the user still sees every
        # problem in the others on this run, without false unknown references.
        unread = {name for name, spec in TABLES.items() if name not in export.frames
                  and (not spec.optional or name in export.source.tables
                       and export.source.tables[name].present)}
        problems = [*problems, *validate_board(board, raw=export.frames, unread=unread)]
    if problems:
        problems = _with_lines(problems, export.lines)
        raise UserError(_failure_message(path, problems), problems)
    return board


def _with_lines(problems: list[InputProblem], lines: dict[str, np.ndarray]
                ) -> list[InputProblem]:
    """Each problem in a file whose records span lines, with the line its row starts on: the
    row is the record (what a spreadsheet shows); a text editor counts lines."""
    if not lines:
        return problems
    out = []
    for problem in problems:
        starts = lines.get(problem.file or "")
        if starts is not None and problem.row is not None and 0 < problem.row < len(starts) \
                and starts[problem.row] != problem.row:
            problem = replace(problem, message=f"{problem.message} (in a text editor this row "
                              f"starts on line {int(starts[problem.row])})")
        out.append(problem)
    return out


def read_export(path: str | Path, mapping: str | Path | None = None,
                limits: InputLimits | None = None) -> Export:
    """The export's tables before normalisation, and where each came from.

    Frames hold every column as text (blank is ``""``), contract columns renamed, extra
    columns kept; each index is the row number in the file. Absent optional tables are left
    out of ``frames`` and recorded with ``present=False`` in the source.
    """
    export, problems = _read(path, mapping, limits)
    if problems:
        problems = _with_lines(problems, export.lines if export else {})
        raise UserError(_failure_message(path, problems), problems)
    return export


def _read(path: str | Path, mapping: str | Path | None, limits: InputLimits | None = None
          ) -> tuple[Export | None, list[InputProblem]]:
    """The export (``None`` when there is no export at ``path`` at all) and every problem
    reading it."""
    from audits.io import formats

    problems = ProblemCollector()
    header_mapping, mapping_problems = read_mapping(mapping)
    problems.extend(mapping_problems)
    path = Path(path)
    limits = limits or InputLimits()
    export = None
    if not path.exists():
        # The path is said once, in the message: the problem has no file to point at.
        problems.add("missing-path", f"{path} does not exist; give the folder of CSV files or "
                     "the .xlsx workbook the SIS exported")
    elif (kind := formats.detect(path)) is not None:  # OneRoster or SDS, a folder or .zip
        export = formats.read(path, kind, header_mapping, problems, limits)
    elif path.is_dir():
        export = _read_folder(path, header_mapping, problems, limits)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        export = _read_workbook(path, header_mapping, problems, limits)
    else:
        problems.add("not-an-export", _not_an_export(path), file=path.name)
    return export, problems.problems


ZIP_MAGIC = b"PK\x03\x04"
"""An .xlsx workbook is a zip archive: its first bytes say so whatever its name."""


def _not_an_export(path: Path) -> str:
    """Why a single file is not an export, and the one step that makes it one."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        head = b""
    suffix = path.suffix.lower()
    if head.startswith(ZIP_MAGIC):
        return (f"{path.name} is an Excel workbook (.xlsx) with a {suffix or 'missing'} "
                f"extension; rename it to {path.stem}.xlsx and give that path")
    if suffix == ".csv":
        return (f"{path.name} is one table of the export; give the folder that holds it and the "
                "other tables' CSV files")
    if suffix == ".xls":
        return (f"{path.name} is an old Excel 97-2003 workbook; open it in Excel and save it as "
                "an .xlsx workbook")
    return f"{path.name} is not a board export; give a folder of CSV files or an .xlsx workbook"


def _failure_message(path: str | Path, problems: list[InputProblem] | tuple) -> str:
    count = len(problems)
    # A path that does not exist is named by its problem; naming it here too repeats it.
    name = "" if any(p.kind == "missing-path" for p in problems) else \
        f" {Path(path).name or path}"
    headers = any(p.kind in ("missing-column", "missing-table") for p in problems)
    return (f"The board export{name} cannot be audited: "
            f"{count} problem{'s' if count != 1 else ''} to fix in the export."
            + (" If its tables or columns have other names, `connect-audit mapping suggest "
               "EXPORT --out mapping.toml` proposes a mapping to pass with --mapping."
               if headers else ""))


# --- a folder of CSV files ---------------------------------------------------------------

def _tables_by_name(names: list[str], mapping: HeaderMapping, problems: ProblemCollector, *,
                    quote, where, noun: str = "") -> dict[str, str]:
    """Which file (or sheet) holds each table: the first name that maps to it; a second one is a
    ``duplicate-table`` problem, since the tool cannot know which of the two the SIS exported."""
    found: dict[str, str] = {}
    for name in names:
        table = mapping.table_for(name)
        if table is None:
            continue
        if table in found:
            problems.add("duplicate-table", f"both {noun}{quote(found[table])} and {quote(name)} "
                         f"hold the {table} table; keep one", file=where(name))
            continue
        found[table] = name
    return found


def _read_folder(folder: Path, mapping: HeaderMapping, problems: ProblemCollector,
                 limits: InputLimits) -> Export | None:
    csv_files = [file.name for file in sorted(folder.iterdir())
                 if file.is_file() and file.suffix.lower() == ".csv"]
    found = {table: folder / name for table, name in _tables_by_name(
        csv_files, mapping, problems, quote=str, where=lambda name: name).items()}
    if not found:
        workbooks = sorted(f.name for f in folder.iterdir()
                           if f.suffix.lower() in (".xlsx", ".xlsm", ".xls"))
        report = any((folder / name).is_file() for name in REPORT_FILES)
        inside = _export_inside(folder, mapping)
        if report:
            problems.add("report-folder", f"{folder.name} is a connect-audit report folder, not "
                         "an export" + (f"; the export is in {inside}: give that path" if inside
                                        else "; give the folder the SIS exported into"),
                         file=folder.name)
            return None
        hint = (f"; it holds {workbooks[0]}: give that workbook's path instead" if workbooks
                else f"; the export seems to be in {inside}: give that path" if inside
                else "; is this the folder the SIS exported into?")
        problems.add("no-tables", f"the folder {folder.name} holds none of the export's "
                     "tables (files named " + ", ".join(f"{n}.csv" for n in TABLES) + ")"
                     + hint, file=folder.name)
        return None
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, TableSource] = {}
    lines: dict[str, np.ndarray] = {}
    inside = folder.resolve()
    for name, spec in TABLES.items():
        file = found.get(name)
        if file is None:
            sources[name] = TableSource(file=f"{name}.csv", present=False)
            if not spec.optional:
                problems.add("missing-table", f"the folder has no {name}.csv; export the "
                             f"{name} table into it", file=f"{name}.csv")
            continue
        target = file.resolve()
        if not target.is_relative_to(inside):
            # What a link points at can change between the audit and the fix, or be another
            # board's file: only the export's own files are audited.
            problems.add("outside-export", f"{file.name} is a link to {target}, a file outside "
                         "the export folder; copy the file itself into the export folder",
                         file=file.name)
            sources[name] = TableSource(file=file.name)
            continue
        read = _read_csv(file, name, mapping, problems, limits, lines)
        if read is None:
            sources[name] = TableSource(file=file.name)
        else:
            frames[name], sources[name] = read
    return Export(frames, BoardSource(path=str(folder), kind="csv", tables=sources), lines)


REPORT_FILES = ("findings.json", "audit.xlsx", "audit.html")
"""What `connect-audit audit --out` writes: a folder holding them is a report, not an export."""


def _export_inside(folder: Path, mapping: HeaderMapping) -> str | None:
    """A subfolder (or workbook in one) that holds the export's tables: where a report folder's
    board copy, or a zip unpacked one level too deep, keeps the export."""
    try:
        subfolders = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return None
    for sub in subfolders:
        try:
            files = sorted(p for p in sub.iterdir() if p.is_file())
        except OSError:
            continue
        if any(f.suffix.lower() == ".csv" and mapping.table_for(f.name) for f in files):
            return str(sub)
        workbooks = [f for f in files if f.suffix.lower() in (".xlsx", ".xlsm")]
        if workbooks:
            return str(workbooks[0])
    return None


def describe_json_error(error: Exception) -> str:
    """A JSON file's reading error in plain words (never the parser's own message)."""
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    message = str(getattr(error, "msg", "") or error)
    if "BOM" in message:
        return "it starts with a stray byte-order mark; save it again as UTF-8"
    line, column = getattr(error, "lineno", None), getattr(error, "colno", None)
    where = f" (line {line}, column {column})" if line else ""
    if "Expecting value" in message and line == 1 and column == 1:
        return "it is empty or not JSON"
    return f"it is not valid JSON{where}"


def describe_csv_error(error: Exception) -> str:
    """A CSV reading error in plain words, with the row a spreadsheet shows."""
    message = str(error)
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if ragged:
        expected, line, saw = ragged.groups()
        return f"row {line} has {saw} values where the header has {expected}"
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text; save it as CSV UTF-8"
    if "unexpected end of data" in message or "EOF" in message:
        return "a quoted value opens and never closes"
    return "it is not well-formed CSV"


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
        return "utf-8-sig" if data.startswith(UTF8_BOM) else "utf-8"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return "cp1252"


UTF8_BOM = b"\xef\xbb\xbf"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""An OLE compound file: an Excel 97-2003 ``.xls``, or an ``.xlsx`` encrypted with a password."""
EXCEL_CELL_LIMIT = 32_767
"""No spreadsheet cell holds more characters; a longer field is a broken export (an unclosed
quote swallowing the rows after it, or a file that is not a table)."""

# A multi-byte UTF-8 sequence: in a file that is not valid UTF-8 as a whole, these mean part
# of it was written as UTF-8 and part in another encoding.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                            rb"|[\xf0-\xf4][\x80-\xbf]{3}")
# The same sequences found by substring search: each byte becomes its class (``A`` leads a
# two-byte sequence, ``B`` three, ``D`` four, ``C`` continues one, ``.`` anything else), and
# bytes.translate and ``in`` run at memory speed where the regex above takes seconds on a
# 40 MB Windows-1252 file.
_UTF8_CLASSES = bytes(
    ord("A") if 0xC2 <= byte <= 0xDF else ord("B") if 0xE0 <= byte <= 0xEF
    else ord("D") if 0xF0 <= byte <= 0xF4 else ord("C") if 0x80 <= byte <= 0xBF else ord(".")
    for byte in range(256))


def _has_utf8_sequence(data: bytes) -> bool:
    """Whether ``data`` holds a multi-byte UTF-8 sequence (``_UTF8_SEQUENCE``)."""
    classes = data.translate(_UTF8_CLASSES)
    return b"AC" in classes or b"BCC" in classes or b"DCCC" in classes

_OTHER_DELIMITERS = {";": "semicolons (';')", "\t": "tabs", "|": "vertical bars ('|')"}
_QUOTED = r'"(?:[^"]|"")*"'


def sniff_content(data: bytes) -> str | None:
    """What a file really is when its name lies: ``html``, ``xlsx`` (a zip), ``ole`` (old
    Excel or a password-protected workbook), or ``None`` for anything else."""
    head = data[:512].lstrip(UTF8_BOM).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or \
            (head.startswith(b"<") and b"<html" in head):
        return "html"
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        return "ole"
    return None


_UNDECODED = re.compile("[\udc80-\udcff]")
"""A byte ``surrogateescape`` could not decode."""


def _first_bad_row(data: bytes, encoding: str) -> int | None:
    """The spreadsheet row of the first record that does not decode as ``encoding``: the
    records before the first bad byte are counted (a quoted value may span lines)."""
    text = data.decode(encoding, errors="surrogateescape")
    bad = _UNDECODED.search(text)
    if bad is None:
        return None
    before = text[: bad.start() + 1]
    try:
        return sum(1 for _ in csv.reader(io.StringIO(before, newline="")))
    except csv.Error:
        return before.count("\n") + 1


def _decoded(data: bytes, name: str, problems: ProblemCollector) -> tuple[str, str] | None:
    """The file's encoding (what :func:`detect_encoding` says) and its text, decoded once; or
    ``None`` after reporting why it has none."""
    text = None
    if data.startswith(UTF8_BOM):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.add("invalid-utf8", "the file starts with a UTF-8 byte-order mark but is "
                         "not valid UTF-8 from this row on; save it from Excel as 'CSV UTF-8' "
                         "again", file=name, row=_first_bad_row(data, "utf-8"))
            return None
    encoding = None
    wide = _is_wide_text(data)
    if wide:
        pass  # UTF-16 or binary: reported just below
    elif text is not None:
        encoding, text = "utf-8-sig", text[1:]  # as the utf-8-sig codec reads it: no BOM
    else:
        try:
            encoding, text = "utf-8", data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                encoding, text = "cp1252", data.decode("cp1252")
            except UnicodeDecodeError:
                pass  # neither: encoding stays None, reported just below
    if encoding is None:
        problems.add("undecodable-file", "the file is not UTF-8 or Windows-1252 text; save it "
                     "from Excel as 'CSV UTF-8'", file=name,
                     row=None if wide else _first_bad_row(data, "cp1252"))
        return None
    if encoding == "cp1252" and _has_utf8_sequence(data):
        # Read as Windows-1252, the UTF-8 rows would turn "Zoë" into "ZoÃ«" without a word.
        problems.add("mixed-encoding", "the file mixes encodings: most of it is UTF-8 but this "
                     "row is not (rows pasted from another file?); retype the accented "
                     "letters in this row, or save the whole file from Excel as 'CSV UTF-8'",
                     file=name, row=_first_bad_row(data, "utf-8"))
        return None
    return encoding, text


def _is_wide_text(data: bytes) -> bool:
    """Whether the file is UTF-16 (or UTF-32, or binary): a byte-order mark of one, or NUL
    bytes in many places. A few NUL bytes in a text file are damage in those rows, each reported
    where it is (:func:`_nul_problems`)."""
    if b"\x00" not in data:
        return False
    return data.startswith((b"\xff\xfe", b"\xfe\xff")) or data.count(b"\x00") * 20 > len(data)


_NUL_STAND_IN = "\ue000"
"""What a NUL byte reads as while the file is parsed (a private-use character, never in an
export: checked before use), so its row and column can be named."""


def _nul_problems(raw: pd.DataFrame, headers: tuple[str, ...], name: str,
                  problems: ProblemCollector) -> None:
    """Every value holding a NUL byte (read as :data:`_NUL_STAND_IN`), by row and column."""
    for position in range(raw.shape[1]):
        values = raw.iloc[:, position]
        if _NUL_STAND_IN not in "".join(values.to_numpy()):
            continue
        header = headers[position] if position < len(headers) else f"column {position + 1}"
        for index in np.flatnonzero(values.str.contains(_NUL_STAND_IN, regex=False).to_numpy()):
            problems.add("nul-byte", "this value holds a NUL byte (a zero byte no text export "
                         "has: the file was damaged in copying, or written by a program with a "
                         "bug); retype the value or export the table again", file=name,
                         row=int(index) + 1, column=header)


def _record_lines(text: str, raw: pd.DataFrame) -> np.ndarray | None:
    """The line each row starts on (index = row; the header is row 1), or ``None`` when every
    record is one line. Line breaks are counted in C: the text's, then, only when they outnumber
    the records, the breaks inside each column's values."""
    breaks = text.count("\n") or text.count("\r")
    if breaks <= len(raw):
        return None
    inside = np.zeros(len(raw), dtype=np.int64)
    for position in range(raw.shape[1]):
        values = raw.iloc[:, position]
        joined = "".join(values.to_numpy())
        if "\n" in joined or "\r" in joined:
            inside += values.str.count(r"\r\n|\r|\n").to_numpy()
    if not inside.any():
        return None
    starts = np.empty(len(raw) + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = np.arange(1, len(raw) + 1) + np.concatenate(([0], np.cumsum(inside)[:-1]))
    return starts


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _swallowed_rows(raw: pd.DataFrame, headers: tuple[str, ...], starts: np.ndarray,
                    name: str, problems: ProblemCollector) -> bool:
    """True after reporting each value that swallowed whole records: a stray quote opened it and
    a later one closed it, so the lines between (each with a record's commas) read as part of
    one value. An address or note with a line break (valid CSV) has no such line."""
    width = len(headers)
    commas = max(width - 1, 2)
    found = False
    for position in range(raw.shape[1]):
        values = raw.iloc[:, position]
        joined = "".join(values.to_numpy())
        if "\n" not in joined and "\r" not in joined:
            continue
        spanning = np.flatnonzero(values.str.contains(r"[\r\n]", regex=True).to_numpy())
        for index in spanning:
            parts = _LINE_BREAK.split(values.iat[index])
            if not any(part.count(",") >= commas for part in parts):
                continue
            row = int(index) + 1
            earlier = sum(len(_LINE_BREAK.findall(raw.iat[index, p])) for p in range(position))
            first = int(starts[row]) + earlier
            last = first + len(parts) - 1
            header = headers[position] if position < len(headers) else f"column {position + 1}"
            problems.add("unclosed-quote", f"a quote opens in this value on line {first} and "
                         f"closes only on line {last}, so lines {first + 1}-{last} (rows of "
                         "the table) read as part of this one value; close the quote where the "
                         "value ends, or remove it", file=name, row=row, column=header)
            found = True
    return found


_SEP_LINE = re.compile(r"\s*sep=(.?)\s*", re.IGNORECASE)
"""Excel's delimiter hint, a first line ``sep=,`` written by some exports."""


def _header_line(text: str) -> str:
    end = len(text)
    for newline in ("\n", "\r"):
        at = text.find(newline)
        if at != -1:
            end = min(end, at)
    return text[:end]


def _ragged_rows(text: str, width: int) -> list[tuple[int, int]]:
    """``(row, fields)`` of every record whose field count differs from the header's ``width``
    (blank lines aside). Lines are counted vectorised; a quoted value holding a line break
    sends the file through the csv module instead."""
    lines = pd.Series(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), dtype=str)
    quoted = lines.str.contains('"', regex=False)
    if quoted.any() and (lines[quoted].str.count('"') % 2 == 1).any():
        bad = []
        for number, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if record and len(record) != width:
                bad.append((number, len(record)))
        return bad
    stripped = lines.where(~quoted, lines.str.replace(_QUOTED, "", regex=True))
    counts = stripped.str.count(",") + 1
    bad = (counts != width) & (lines != "")
    return [(int(i) + 1, int(counts[i])) for i in bad[bad].index]


def _report_ragged(rows: list[tuple[int, int]], width: int, name: str,
                   problems: ProblemCollector) -> None:
    for row, fields in rows:
        what = ("more fields than the header (a comma in an unquoted value?)" if fields > width
                else "fewer fields than the header (a value missing, or the row cut off)")
        problems.add("ragged-row", f"the row has {fields} fields but the header has {width}: "
                     f"{what}; fix the row so every value sits under its header",
                     file=name, row=row)


def _read_csv(file: Path, table: str, mapping: HeaderMapping, problems: ProblemCollector,
              limits: InputLimits | None = None, lines: dict[str, np.ndarray] | None = None
              ) -> tuple[pd.DataFrame, TableSource] | None:
    """The table in ``file``, or ``None`` after reporting why not. The size on disk is checked
    before a byte is read (a sparse or runaway file is refused at once, not read into memory)."""
    limits = limits or InputLimits()
    name = file.name
    try:
        size = file.stat().st_size
    except OSError as error:
        problems.add("unreadable-file", f"cannot read the file: {error.strerror}", file=name)
        return None
    if size > limits.max_csv_mb * MB:
        problems.add("too-large", f"the file is {_megabytes(size)}, more than the "
                     f"{_megabytes(limits.max_csv_mb * MB)} a table may be ([input] max_csv_mb "
                     "in the --config file); check it is the table the SIS exported, or raise "
                     "the limit", file=name)
        return None
    try:
        return _read_csv_text(file, table, mapping, problems,
                              lines if lines is not None else {})
    except MemoryError:
        problems.add("too-large", f"the file ({_megabytes(size)}) is too large to read in the "
                     "memory this computer has; audit it on a computer with more memory, or "
                     "lower [input] max_csv_mb so such a file is refused at once", file=name)
        return None


MB = 1_000_000


def _megabytes(size: float) -> str:
    if size >= 10 * MB:
        return f"{size / MB:,.0f} MB"
    return f"{size / MB:,.1f} MB" if size >= MB / 10 else f"{size / 1000:,.0f} KB"


def _read_csv_text(file: Path, table: str, mapping: HeaderMapping, problems: ProblemCollector,
                   lines: dict[str, np.ndarray]) -> tuple[pd.DataFrame, TableSource] | None:
    name = file.name
    try:
        data = file.read_bytes()
    except OSError as error:
        problems.add("unreadable-file", f"cannot read the file: {error.strerror}", file=name)
        return None
    if not data.strip():
        problems.add("empty-file", "the file is empty (0 bytes or only blank lines); export "
                     "the table again with its header row", file=name)
        return None
    content = sniff_content(data)
    if content is not None:
        problems.add("not-csv", {
            "html": "the file is a web page (HTML), not CSV: it was probably saved from a "
                    "browser or a login page; download the CSV export from the SIS again",
            "xlsx": "the file is an Excel workbook renamed to .csv; save it from Excel as "
                    "'CSV UTF-8', or give the .xlsx workbook instead of the folder",
            "ole": "the file is an old Excel (.xls) workbook renamed to .csv; save it from "
                   "Excel as 'CSV UTF-8'",
        }[content], file=name)
        return None
    decoded = _decoded(data, name, problems)
    if decoded is None:
        return None
    encoding, text = decoded
    del data  # the text is all that is read from here on
    header = _header_line(text)
    sep = _SEP_LINE.fullmatch(header)
    if sep:
        problems.add("sep-line", f"the first line is Excel's delimiter hint {header.strip()!r}, "
                     "not the header row; delete that line so the header is the first line"
                     + ("" if sep.group(1) == "," else ", and save the file comma-separated "
                        "(Save As 'CSV UTF-8 (Comma delimited)')"), file=name, row=1)
        return None
    nul_line = None
    if "\x00" in text:
        if _NUL_STAND_IN in text:
            problems.add("nul-byte", "the file holds NUL bytes (zero bytes no text export has); "
                         "export the table again", file=name,
                         row=text.count("\n", 0, text.index("\x00")) + 1)
            return None
        nul_line = text.count("\n", 0, text.index("\x00")) + 1
        text = text.replace("\x00", _NUL_STAND_IN)
        header = _header_line(text)
    if "," not in header:
        used = [d for d in _OTHER_DELIMITERS if d in header]
        if used:
            delimiter = max(used, key=header.count)
            problems.add("wrong-delimiter", f"this file uses {_OTHER_DELIMITERS[delimiter]} "
                         "as its delimiter, not commas; export it as comma-separated CSV (in "
                         "Excel: Save As 'CSV UTF-8 (Comma delimited)')", file=name, row=1)
            return None
    try:
        # Rows as records, every field text; the header is the first record so its
        # original spelling survives (pandas would rename duplicate headers).
        raw = pd.read_csv(io.StringIO(text), header=None, dtype=str,
                          keep_default_na=False, na_filter=False, skip_blank_lines=False,
                          engine="c")
    except pd.errors.EmptyDataError:
        problems.add("empty-file", "the file has no header row", file=name)
        return None
    except (pd.errors.ParserError, ValueError, csv.Error, UnicodeDecodeError) as error:
        message = str(error)
        if nul_line is not None:
            problems.add("nul-byte", "a value on this line holds a NUL byte (a zero byte no text "
                         "export has); retype the value or export the table again", file=name,
                         row=nul_line)
        unclosed = _UNCLOSED_QUOTE.search(message)
        if unclosed:
            problems.add("unclosed-quote", "a quoted value opens on this row and never closes, "
                         "so the rest of the file reads as one value; close the quote or "
                         "remove it", file=name, row=int(unclosed.group(1)) + 1)
            return None
        width = len(next(csv.reader([header]), []))
        ragged = _ragged_rows(text, width)
        if ragged:
            _report_ragged(ragged, width, name, problems)
            return None
        line = _LINE_IN_PARSER_ERROR.search(message)
        problems.add("malformed-csv", "the file is not well-formed CSV (a row with more "
                     "fields than the header, or an unclosed quote); check the row",
                     file=name, row=int(line.group(1)) if line else None)
        return None
    headers = tuple("" if pd.isna(value) else str(value) for value in raw.iloc[0])
    if nul_line is not None:
        # Reported by row and column; the rest of the file is still read for its problems.
        _nul_problems(raw, headers, name, problems)
    starts = _record_lines(text, raw)
    if starts is not None:
        lines[name] = starts
        if _swallowed_rows(raw, headers, starts, name, problems):
            return None
    body = raw.iloc[1:]
    width = len(headers)
    if width > 1 and len(body) and _may_be_ragged(text, raw, width):
        ragged = [(row, fields) for row, fields in _ragged_rows(text, width) if fields < width]
        if ragged:
            _report_ragged(ragged, width, name, problems)
            return None
    body.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(body))
    if not _fields_fit(body, headers, name, problems):
        return None
    frame = _tidy(body, headers, table, name, mapping, problems)
    if frame is None or nul_line is not None:
        return None
    return frame, TableSource(file=name, encoding=encoding, headers=headers)


def _may_be_ragged(text: str, raw: pd.DataFrame, width: int) -> bool:
    """Whether a record may have fewer fields than the header (or a blank line sits between
    records). The C parser pads a short row with blanks, so it cannot say; the commas can:
    every full record has ``width - 1`` delimiters, plus the commas inside its quoted values.
    Each column's values are joined and counted in one C call (the str accessor calls Python
    per value: seconds at 250,000 students); only a file that fails the count is scanned line
    by line."""
    # The parser pads a short record with "" (na_filter=False), and a blank line reads as
    # blanks: either leaves the last column blank. With no blank there every record is
    # whole, which the count below would only confirm.
    if not (raw.iloc[:, -1].to_numpy() == "").any():
        return False
    inside = 0
    if '"' in text:
        for column in raw.columns:
            # Read with na_filter=False, every value is a str: a short row's missing fields
            # are "", so join never meets a NaN.
            inside += "".join(raw[column].to_numpy()).count(",")
    return text.count(",") != (width - 1) * len(raw) + inside


_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _fields_fit(body: pd.DataFrame, headers: tuple[str, ...], name: str,
                problems: ProblemCollector) -> bool:
    """False, after reporting it, when a field is longer than any spreadsheet cell can be."""
    ok = True
    for position in range(body.shape[1]):
        # The longest value by a plain map over the strs (no Series of lengths): the lengths
        # are only needed, below, for the rare column that breaks the limit.
        if max(map(len, body.iloc[:, position].to_numpy()), default=0) <= EXCEL_CELL_LIMIT:
            continue
        lengths = body.iloc[:, position].str.len()
        if len(lengths) and lengths.max() > EXCEL_CELL_LIMIT:
            row = int(lengths.idxmax())
            header = headers[position] if position < len(headers) else f"column {position + 1}"
            problems.add("huge-field", f"this value is {int(lengths.max()):,} characters long, "
                         f"more than a spreadsheet cell holds ({EXCEL_CELL_LIMIT:,}): an "
                         "unclosed quote or a damaged export; check the row", file=name,
                         row=row, column=header)
            ok = False
    return ok


# --- an .xlsx workbook ----------------------------------------------------------------------

def _read_workbook(path: Path, mapping: HeaderMapping, problems: ProblemCollector,
                   limits: InputLimits | None = None) -> Export | None:
    """The workbook's tables, read with calamine (a Rust reader, some 30 times openpyxl's
    speed on a large export). What calamine does not report is read from the archive itself:
    entity declarations (refused before calamine opens the file), formulas with no saved
    result, and the part of each sheet."""
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    sources: dict[str, TableSource] = {}
    frames: dict[str, pd.DataFrame] = {}
    if path.stat().st_size == 0:
        problems.add("empty-file", "the workbook is empty (0 bytes); export it again",
                     file=path.name)
        return None
    with open(path, "rb") as handle:
        head = handle.read(4096)
    content = sniff_content(head)
    if content != "xlsx":
        problems.add("unreadable-workbook", _not_a_workbook(path, content), file=path.name)
        return None
    if not _within_budget(path, limits or InputLimits(), problems):
        return None
    try:
        archive = zipfile.ZipFile(path)
    except Exception as error:  # noqa: BLE001 - a damaged archive raises many types
        problems.add("unreadable-workbook", _damaged_message(error), file=path.name)
        return None
    with archive:
        try:
            if _declares_entities(archive):
                problems.add("unreadable-workbook", ENTITIES_MESSAGE, file=path.name)
                return None
            parts = _sheet_parts(archive)
            workbook = CalamineWorkbook.from_path(str(path))
        except Exception as error:  # noqa: BLE001 - calamine raises many types for a damaged file
            problems.add("unreadable-workbook", _damaged_message(error), file=path.name)
            return None
        try:
            hidden = {sheet.name for sheet in workbook.sheets_metadata
                      if sheet.visible != SheetVisibleEnum.Visible}
            found = _tables_by_name(list(workbook.sheet_names), mapping, problems, quote=repr,
                                    where=lambda title: path.name, noun="sheets ")
            for name, spec in TABLES.items():
                title = found.get(name)
                if title is None:
                    sources[name] = TableSource(file=f"{path.name}[{name}]", present=False)
                    if not spec.optional:
                        problems.add("missing-table", f"the workbook has no {name} sheet; add "
                                     "it with the table's header row", file=path.name)
                    continue
                label = f"{path.name}[{title}]"
                if title in hidden:
                    # A hidden sheet is often an old copy kept out of sight; auditing it could
                    # audit the wrong data, so a person must say which sheet is the table.
                    problems.add("hidden-sheet", f"the sheet {title!r} is hidden; unhide it "
                                 "(right-click a sheet tab > Unhide) if it is the current "
                                 f"{name} table, or delete it", file=path.name)
                    sources[name] = TableSource(file=label)
                    continue
                try:
                    read = _read_sheet(workbook.get_sheet_by_name(title), name, label, mapping,
                                       problems)
                    part = parts.get(title)
                    if read is not None and part is not None and _formula_problems(
                            archive, part, read[1].headers, label, problems):
                        read = None
                except Exception as error:  # noqa: BLE001 - a damaged sheet fails as it is read
                    problems.add("unreadable-workbook", _damaged_message(error), file=label)
                    read = None
                if read is None:
                    sources[name] = TableSource(file=label)
                else:
                    frames[name], sources[name] = read
        finally:
            workbook.close()
    return Export(frames, BoardSource(path=str(path), kind="xlsx", tables=sources))


_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each sheet's name -> its XML part in the archive, from the workbook part and its
    relationships (defusedxml parses them: entities are refused)."""
    from defusedxml.ElementTree import fromstring

    names = set(archive.namelist())
    workbook_part = "xl/workbook.xml"
    if workbook_part not in names:
        return {}
    rels_part = "xl/_rels/workbook.xml.rels"
    targets = {}
    if rels_part in names:
        for rel in fromstring(archive.read(rels_part)).iter(f"{_RELATIONSHIPS}Relationship"):
            target = rel.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[rel.get("Id")] = target
    parts = {}
    for sheet in fromstring(archive.read(workbook_part)).iter():
        if sheet.tag.rsplit("}", 1)[-1] == "sheet":
            target = targets.get(sheet.get(f"{_OFFICE_RELATIONSHIPS}id"))
            if target in names:
                parts[sheet.get("name", "")] = target
    return parts


ENTITIES_MESSAGE = ("the workbook's XML declares entities (an XML bomb, or a file no spreadsheet "
                    "wrote); it was not opened; save the data from Excel as a new .xlsx")

_MARKUP_START = re.compile(rb"<(?![?!])")


def _declares_entities(archive: zipfile.ZipFile) -> bool:
    """Whether any XML part declares a document type (where entities are declared). A
    declaration can only come before the root element, so each part is read up to its first
    element: a few bytes per part, whatever the sheets hold."""
    for info in archive.infolist():
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        prolog = b""
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 12):
                prolog += chunk
                first = _MARKUP_START.search(prolog)
                if first is not None:
                    prolog = prolog[:first.start()]
                    break
                if len(prolog) > 1 << 20:  # a megabyte of prolog: no spreadsheet writes that
                    return True
        if b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper():
            return True
    return False


PACKED_PART_CHECKED = MB
"""Parts smaller than this unpacked are not held to the compression ratio: tiny XML parts
(a theme, the styles) may pack tighter than sheets without being worth a thought."""


def _within_budget(path: Path, limits: InputLimits, problems: ProblemCollector) -> bool:
    """False, after reporting it, when the workbook would unpack to more than the limits allow.
    The sizes are the archive's own directory, read without unpacking a byte; Python's zip
    reader never unpacks a part past the size its directory states."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except Exception:  # noqa: BLE001 - a damaged archive: the workbook reader reports it
        return True
    total = sum(part.file_size for part in parts)
    if total > limits.max_workbook_mb * MB:
        problems.add("too-large", f"the workbook unpacks to {_megabytes(total)}, more than the "
                     f"{_megabytes(limits.max_workbook_mb * MB)} an export may be ([input] "
                     "max_workbook_mb in the --config file); it was not opened: export the "
                     "tables as CSV files, or raise the limit", file=path.name)
        return False
    for part in parts:
        if part.file_size > PACKED_PART_CHECKED and \
                part.file_size > limits.max_compression_ratio * max(part.compress_size, 1):
            ratio = part.file_size / max(part.compress_size, 1)
            problems.add("too-large", f"the workbook's part {part.filename} unpacks to "
                         f"{_megabytes(part.file_size)} from {_megabytes(part.compress_size)} "
                         f"({ratio:,.0f} to 1, where a spreadsheet packs about 10 to 1): a zip "
                         "bomb, or a file no spreadsheet wrote; it was not opened: get the "
                         "export from the SIS again", file=path.name)
            return False
    return True


def _not_a_workbook(path: Path, content: str | None) -> str:
    if content == "ole":
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes()[:1_000_000]:
            return ("the workbook is password-protected (encrypted), so it cannot be read; "
                    "open it in Excel, remove the password (File > Info > Protect Workbook > "
                    "Encrypt with Password, clear it) and save it again")
        return ("the file is an old Excel 97-2003 workbook (.xls) with an .xlsx name; open "
                "it in Excel and save it as an Excel Workbook (.xlsx)")
    if content == "html":
        return ("the file is a web page (HTML) with an .xlsx name, not a workbook; open it "
                "in Excel and save it as an Excel Workbook (.xlsx), or export again")
    return ("the file is not an Excel workbook (an .xlsx file is a zip archive and this one "
            "is not); export it again or save it from Excel as .xlsx")


def _damaged_message(error: Exception) -> str:
    kind = type(error).__name__
    causes, cause = set(), error
    while cause is not None and len(causes) < 10:
        causes.add(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    if causes & {"EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden",
                 "NotSupportedError"}:
        return ENTITIES_MESSAGE
    if causes & {"PasswordError"}:
        return _not_a_workbook(Path(), "ole")
    return ("the workbook is damaged or incomplete (a download cut short?) and cannot be "
            f"read ({kind}); open it in Excel and save it as .xlsx again, or export again")


_FORMULA = re.compile(rb"<(?:[A-Za-z]\w*:)?f[\s>/]")
_CELL_COLUMN = re.compile(r"[A-Z]+")


def _has_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            window = tail + chunk
            # A substring search at memory speed first; the regex only where it may match.
            if (b"<f" in window or b":f" in window) and _FORMULA.search(window):
                return True
            tail = chunk[-16:]
    return False


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _formula_problems(archive: zipfile.ZipFile, part: str, headers: tuple[str, ...], label: str,
                      problems: ProblemCollector) -> bool:
    """True after reporting each formula cell with no saved result.

    A formula with a saved result reads as that result (what Excel shows). One never
    calculated (a workbook written by a script, not saved from Excel) has no value to read;
    reading it as blank would silently lose data."""
    if not _has_formulas(archive, part):
        return False
    from defusedxml.ElementTree import iterparse

    found = False
    with archive.open(part) as stream:
        for _, element in iterparse(stream):
            if not element.tag.endswith("}c") and element.tag != "c":
                continue
            children = {child.tag.rsplit("}", 1)[-1]: child for child in element}
            formula, value = children.get("f"), children.get("v")
            if formula is not None and (value is None or not (value.text or "")):
                reference = element.get("r", "")
                letters = _CELL_COLUMN.match(reference)
                position = _column_number(letters.group(0)) if letters else 0
                column = headers[position - 1] if 0 < position <= len(headers) else reference
                row = int(reference[len(letters.group(0)):]) if letters else None
                problems.add("uncalculated-formula", f"cell {reference} holds a formula "
                             f"(={formula.text or ''}) with no saved result; open the workbook "
                             "in Excel and save it (or paste the cells as values)",
                             file=label, row=row, column=column or reference)
                found = True
            element.clear()
    return found


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
    # From A1, blank rows and columns kept, so row numbers are the sheet's.
    rows = sheet.iter_rows() if sheet.start in (None, (0, 0)) else \
        iter(sheet.to_python(skip_empty_area=False))
    header_row = next(rows, None)
    if header_row is None or all(value in (None, "") for value in header_row):
        problems.add("empty-file", "the sheet is empty; it needs the table's header row",
                     file=label)
        return None
    headers = [cell_text(value) for value in header_row]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    # Only the header's columns: a sheet may hold cells far to the right of its table. Most
    # cells are text already; only the columns holding something else are converted.
    records = [row[:width] for row in rows]
    if any(len(row) < width for row in records):
        records = [row + [""] * (width - len(row)) for row in records]
    columns = []
    for values in zip(*records) if records else ():
        if pd.api.types.infer_dtype(values, skipna=False) != "string":
            values = [cell_text(value) for value in values]
        columns.append(values)
    body = pd.DataFrame(dict(enumerate(columns)), columns=range(width), dtype=str) \
        if records else pd.DataFrame({i: pd.Series([], dtype=str) for i in range(width)})
    body.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(body))
    merged = _merged_cells(sheet)
    in_header = [cells for cells in merged if _range_rows(cells)[0] == 1]
    if "" in headers and in_header:
        problems.add("merged-header", f"the header row has merged cells ({', '.join(in_header)}"
                     "); unmerge them so each column has its own header", file=label, row=1)
        return None
    in_body = [cells for cells in merged if _range_rows(cells)[1] > 1]
    for cells in in_body:
        # A merged range keeps its value in its first cell only: the rows below read blank.
        letters = _CELL_COLUMN.match(cells)
        position = _column_number(letters.group(0)) if letters else 0
        problems.add("merged-cells", f"cells {cells} are merged, so the value shows in the first "
                     "cell only and the others read as blank; unmerge them (Home > Merge & "
                     "Center) and fill the value into every row", file=label,
                     row=_range_rows(cells)[0],
                     column=headers[position - 1] if 0 < position <= width else cells)
    if in_body:
        return None
    frame = _tidy(body, tuple(headers), table, label, mapping, problems)
    if frame is None:
        return None
    return frame, TableSource(file=label, encoding=None, headers=tuple(headers))


_ROW_NUMBER = re.compile(r"\d+")


def _range_rows(cells: str) -> tuple[int, int]:
    """The first and last row of a range such as ``A5:B9``."""
    numbers = [int(n) for n in _ROW_NUMBER.findall(cells)] or [0]
    return numbers[0], numbers[-1]


def _merged_cells(sheet) -> list[str]:
    """The sheet's merged ranges, as a spreadsheet names them (``D2:D3``)."""
    found = []
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or ():
        first = f"{_column_letters(left + 1)}{top + 1}"
        last = f"{_column_letters(right + 1)}{bottom + 1}"
        found.append(first if first == last else f"{first}:{last}")
    return list(dict.fromkeys(found))


# --- both -------------------------------------------------------------------------------------

def _blank_rows(body: pd.DataFrame) -> np.ndarray:
    """Which rows are wholly blank. Only the rows blank so far are compared in the next column:
    the first column (a record id) is rarely blank, so this is one comparison per row."""
    blank = body.iloc[:, 0].to_numpy() == ""
    for position in range(1, body.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        blank[rows] = body.iloc[:, position].to_numpy()[rows] == ""
    return blank


def _without_repeated_headers(body: pd.DataFrame, headers: tuple[str, ...], table: str,
                              file: str, mapping: HeaderMapping, problems: ProblemCollector
                              ) -> pd.DataFrame:
    """The body without rows that are a header row again (two exports joined into one file),
    each reported: read as data, one would be a record named "first_name last_name". Only rows
    whose first value reads as the first column's header are compared further."""
    if not len(body.columns) or not len(body):
        return body
    names = list(body.columns)
    first = body.iloc[:, 0].to_numpy()
    candidates = np.flatnonzero((first == headers[0]) | (first == names[0]))
    repeated = []
    for index in candidates:
        values = [str(value) for value in body.iloc[index]]
        if all(value == header or bool(value.strip()) and mapping.column_for(table, value) == name
               for value, header, name in zip(values, headers, names)):
            repeated.append(index)
    for index in repeated:
        problems.add("repeated-header", "this row repeats the header row (two exports joined "
                     "into one file?); delete it, and check that the rows after it belong in "
                     "this table", file=file, row=int(body.index[index]))
    if not repeated:
        return body
    keep = np.ones(len(body), dtype=bool)
    keep[repeated] = False
    return body[keep]


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
    body = _without_repeated_headers(body, headers, table, file, mapping, problems)
    # Both readers give text only: the CSV parser (na_filter=False) pads a short row with "",
    # the workbook reader with cell_text. No NaN to fill, so the frame is not copied for it.
    if len(body.columns):
        blank = _blank_rows(body)
        if blank.any():
            body = body[~blank]
    elif len(body):
        body = body[~pd.Series(True, index=body.index)]
    if body.empty and table in TABLES_THAT_NEED_ROWS:
        problems.add("no-rows", f"the {table} table has a header but no rows; an export "
                     f"without {table} cannot be audited: export it again with its rows",
                     file=file)
        return None
    return body
