"""Reading one CSV table of an export: quoting, ragged rows, NUL bytes and the size limits,
each problem named by the row a spreadsheet shows."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from audits.model.board import TableSource
from audits.model.config import InputLimits
from audits.model.errors import ProblemCollector
from audits.io.loading.sizes import MB, megabytes
from audits.io.loading.sniffing import (decode_text, delimiter_problem, header_line,
                                        sep_line_problem, sniff_content)
from audits.io.loading.tables import FIRST_DATA_ROW, TableRead, tidy_table
from audits.io.mapping import HeaderMapping

EXCEL_CELL_LIMIT = 32_767
"""No spreadsheet cell holds more characters; a longer field is a broken export (an unclosed
quote swallowing the rows after it, or a file that is not a table)."""


_LINE_IN_PARSER_ERROR = re.compile(r"line (\d+)")


_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


_QUOTED = r'"(?:[^"]|"")*"'


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


def read_csv_file(file: Path, table: str, mapping: HeaderMapping, problems: ProblemCollector,
                  limits: InputLimits | None = None, lines: dict[str, np.ndarray] | None = None
                  ) -> TableRead | None:
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
        problems.add("too-large", f"the file is {megabytes(size)}, more than the "
                     f"{megabytes(limits.max_csv_mb * MB)} a table may be ([input] max_csv_mb "
                     "in the --config file); check it is the table the SIS exported, or raise "
                     "the limit", file=name)
        return None
    try:
        # Passed on, not kept: the bytes are freed once decoded (the reader holds no copy).
        return _read_csv_text(_file_bytes(file, problems), name, table, mapping, problems,
                              lines if lines is not None else {})
    except MemoryError:
        return _out_of_memory(size, name, problems)


def _out_of_memory(size: int, name: str, problems: ProblemCollector) -> None:
    problems.add("too-large", f"the file ({megabytes(size)}) is too large to read in the "
                 "memory this computer has; audit it on a computer with more memory, or "
                 "lower [input] max_csv_mb so such a file is refused at once", file=name)


def read_csv_bytes(data: bytes, name: str, table: str, mapping: HeaderMapping,
                   problems: ProblemCollector, lines: dict[str, np.ndarray] | None = None
                   ) -> TableRead | None:
    """The table in ``data``, the bytes of the file the user knows as ``name`` (a member of
    a zip, already read within its limits): read as :func:`read_csv_file` reads a file, with
    no copy on disk that a killed run could leave behind."""
    size = len(data)
    try:
        return _read_csv_text(data, name, table, mapping, problems,
                              lines if lines is not None else {})
    except MemoryError:
        return _out_of_memory(size, name, problems)


def _read_csv_text(data: bytes | None, name: str, table: str, mapping: HeaderMapping,
                   problems: ProblemCollector, lines: dict[str, np.ndarray]
                   ) -> TableRead | None:
    if data is None or not _is_csv_content(data, name, problems):
        return None
    decoded = decode_text(data, name, problems)
    if decoded is None:
        return None
    encoding, text = decoded
    del data  # the text is all that is read from here on
    if sep_line_problem(header_line(text), name, problems):
        return None
    text, nul_line = _with_nul_stand_ins(text, name, problems)
    if text is None:
        return None
    header = header_line(text)
    if delimiter_problem(header, name, problems):
        return None
    raw = _parse_records(text, header, nul_line, name, problems)
    if raw is None:
        return None
    headers = tuple("" if pd.isna(value) else str(value) for value in raw.iloc[0])
    body = _checked_body(raw, text, headers, nul_line is not None, name, problems, lines)
    if body is None:
        return None
    frame = tidy_table(body, headers, table, name, mapping, problems)
    if frame is None or nul_line is not None:
        return None
    return frame, TableSource(file=name, encoding=encoding, headers=headers)


_NOT_CSV = {
    "html": "the file is a web page (HTML), not CSV: it was probably saved from a "
            "browser or a login page; download the CSV export from the SIS again",
    "xlsx": "the file is an Excel workbook renamed to .csv; save it from Excel as "
            "'CSV UTF-8', or give the .xlsx workbook instead of the folder",
    "ole": "the file is an old Excel (.xls) workbook renamed to .csv; save it from "
           "Excel as 'CSV UTF-8'",
}
"""Why a file with a .csv name is not CSV, by what :func:`sniff_content` says it is."""


def _file_bytes(file: Path, problems: ProblemCollector) -> bytes | None:
    """The file's bytes, or ``None`` after reporting that it cannot be read."""
    try:
        return file.read_bytes()
    except OSError as error:
        problems.add("unreadable-file", f"cannot read the file: {error.strerror}",
                     file=file.name)
        return None


def _is_csv_content(data: bytes, name: str, problems: ProblemCollector) -> bool:
    """False after reporting that the bytes are empty or not CSV."""
    if not data.strip():
        problems.add("empty-file", "the file is empty (0 bytes or only blank lines); export "
                     "the table again with its header row", file=name)
        return False
    content = sniff_content(data)
    if content is not None:
        problems.add("not-csv", _NOT_CSV[content], file=name)
        return False
    return True


def _with_nul_stand_ins(text: str, name: str, problems: ProblemCollector
                        ) -> tuple[str | None, int | None]:
    """The text with each NUL byte read as :data:`_NUL_STAND_IN`, and the line of the first
    (``None`` without any); ``(None, None)`` after reporting a file that already holds the
    stand-in, whose NUL bytes could not be told apart from it."""
    if "\x00" not in text:
        return text, None
    nul_line = text.count("\n", 0, text.index("\x00")) + 1
    if _NUL_STAND_IN in text:
        problems.add("nul-byte", "the file holds NUL bytes (zero bytes no text export has); "
                     "export the table again", file=name, row=nul_line)
        return None, None
    return text.replace("\x00", _NUL_STAND_IN), nul_line


def _parse_records(text: str, header: str, nul_line: int | None, name: str,
                   problems: ProblemCollector) -> pd.DataFrame | None:
    """Rows as records, every field text; the header is the first record so its original
    spelling survives (pandas would rename duplicate headers). ``None`` after reporting why the
    file does not parse."""
    try:
        return pd.read_csv(io.StringIO(text), header=None, dtype=str,
                           keep_default_na=False, na_filter=False, skip_blank_lines=False,
                           engine="c")
    except pd.errors.EmptyDataError:
        problems.add("empty-file", "the file has no header row", file=name)
    except (pd.errors.ParserError, ValueError, csv.Error, UnicodeDecodeError) as error:
        _report_parse_error(str(error), text, header, nul_line, name, problems)
    return None


def _report_parse_error(message: str, text: str, header: str, nul_line: int | None, name: str,
                        problems: ProblemCollector) -> None:
    """What made the parser fail, in the row a spreadsheet shows."""
    if nul_line is not None:
        problems.add("nul-byte", "a value on this line holds a NUL byte (a zero byte no text "
                     "export has); retype the value or export the table again", file=name,
                     row=nul_line)
    unclosed = _UNCLOSED_QUOTE.search(message)
    if unclosed:
        problems.add("unclosed-quote", "a quoted value opens on this row and never closes, "
                     "so the rest of the file reads as one value; close the quote or "
                     "remove it", file=name, row=int(unclosed.group(1)) + 1)
        return
    width = len(next(csv.reader([header]), []))
    ragged = _ragged_rows(text, width)
    if ragged:
        _report_ragged(ragged, width, name, problems)
        return
    line = _LINE_IN_PARSER_ERROR.search(message)
    problems.add("malformed-csv", "the file is not well-formed CSV (a row with more "
                 "fields than the header, or an unclosed quote); check the row",
                 file=name, row=int(line.group(1)) if line else None)


def _checked_body(raw: pd.DataFrame, text: str, headers: tuple[str, ...], has_nul: bool,
                  name: str, problems: ProblemCollector, lines: dict[str, np.ndarray]
                  ) -> pd.DataFrame | None:
    """The records after the header, indexed by spreadsheet row; ``None`` after reporting
    records swallowed by a stray quote, rows cut short, or a field no cell could hold. NUL
    bytes are reported by row and column; the rest of the file is still read for its
    problems."""
    if has_nul:
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
    return body


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


def _may_be_ragged(text: str, raw: pd.DataFrame, width: int) -> bool:
    """Whether a record may have fewer fields than the header (or a blank line sits between
    records). The C parser pads a short row with blanks, so it cannot say; the commas can:
    every full record has ``width - 1`` delimiters, plus the commas inside its quoted values.
    Each column's values are joined and counted in one C call (the str accessor calls Python
    per value, far slower on a large board); only a file that fails the count is scanned line
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
