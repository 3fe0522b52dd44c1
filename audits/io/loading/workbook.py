"""Reading an ``.xlsx`` workbook export with calamine, a sheet per table. Before calamine opens
it, the archive itself is checked: its unpacked size and compression ratio (:func:`within_budget`)
and entity declarations in its XML (:func:`declares_entities`); formulas with no saved result
are read from the sheet's part."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pandas as pd

from audits.model.board import TABLES, BoardSource, TableSource
from audits.model.config import InputLimits
from audits.model.errors import ProblemCollector
from audits.io.loading.sizes import MB, megabytes
from audits.io.loading.sniffing import sniff_content
from audits.io.loading.tables import (FIRST_DATA_ROW, Export, TableRead, read_tables,
                                      tables_by_name, tidy_table)
from audits.io.mapping import HeaderMapping

def read_workbook(path: Path, mapping: HeaderMapping, problems: ProblemCollector,
                  limits: InputLimits | None = None) -> Export | None:
    """The workbook's tables, read with calamine (a Rust reader, far faster than
    openpyxl on a large export). What calamine does not report is read from the archive itself:
    entity declarations (refused before calamine opens the file), formulas with no saved
    result, and the part of each sheet."""
    if not _may_open(path, limits or InputLimits(), problems):
        return None
    try:
        archive = zipfile.ZipFile(path)
    except Exception as error:  # noqa: BLE001 - a damaged archive raises many types
        problems.add("unreadable-workbook", _damaged_message(error), file=path.name)
        return None
    with archive:
        opened = _open_workbook(path, archive, problems)
        if opened is None:
            return None
        workbook, parts = opened
        try:
            return _read_sheets(path, archive, workbook, parts, mapping, problems)
        finally:
            workbook.close()


def _may_open(path: Path, limits: InputLimits, problems: ProblemCollector) -> bool:
    """False, after reporting it, when the file is empty, not an .xlsx archive, or would unpack
    past the limits."""
    if path.stat().st_size == 0:
        problems.add("empty-file", "the workbook is empty (0 bytes); export it again",
                     file=path.name)
        return False
    with open(path, "rb") as handle:
        head = handle.read(4096)
    content = sniff_content(head)
    if content != "xlsx":
        problems.add("unreadable-workbook", _not_a_workbook(path, content), file=path.name)
        return False
    return within_budget(path, limits, problems)


def _open_workbook(path: Path, archive: zipfile.ZipFile, problems: ProblemCollector
                   ) -> tuple | None:
    """The calamine workbook and each sheet's part in the archive, or ``None`` after reporting
    why the workbook cannot be opened."""
    from python_calamine import CalamineWorkbook

    try:
        if declares_entities(archive):
            problems.add("unreadable-workbook", ENTITIES_MESSAGE, file=path.name)
            return None
        parts = _sheet_parts(archive)
        return CalamineWorkbook.from_path(str(path)), parts
    except Exception as error:  # noqa: BLE001 - calamine raises many types for a damaged file
        problems.add("unreadable-workbook", _damaged_message(error), file=path.name)
        return None


def _read_sheets(path: Path, archive: zipfile.ZipFile, workbook, parts: dict[str, str],
                 mapping: HeaderMapping, problems: ProblemCollector) -> Export:
    from python_calamine import SheetVisibleEnum

    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, TableSource] = {}
    hidden = {sheet.name for sheet in workbook.sheets_metadata
              if sheet.visible != SheetVisibleEnum.Visible}
    found = tables_by_name(list(workbook.sheet_names), mapping, problems, quote=repr,
                           where=lambda title: path.name, noun="sheets ")

    def read(table: str, label: str) -> TableRead | None:
        title = found[table]
        if title in hidden:
            # A hidden sheet is often an old copy kept out of sight; auditing it could
            # audit the wrong data, so a person must say which sheet is the table.
            problems.add("hidden-sheet", f"the sheet {title!r} is hidden; unhide it "
                         "(right-click a sheet tab > Unhide) if it is the current "
                         f"{table} table, or delete it", file=path.name)
            return None
        try:
            done = _read_sheet(workbook.get_sheet_by_name(title), table, label, mapping, problems)
            part = parts.get(title)
            if done is not None and part is not None and _formula_problems(
                    archive, part, done[1].headers, label, problems):
                return None
            return done
        except Exception as error:  # noqa: BLE001 - a damaged sheet fails as it is read
            problems.add("unreadable-workbook", _damaged_message(error), file=label)
            return None

    def absent(table: str) -> TableSource:
        if not TABLES[table].optional:
            problems.add("missing-table", f"the workbook has no {table} sheet; add "
                         "it with the table's header row", file=path.name)
        return TableSource(file=f"{path.name}[{table}]", present=False)

    read_tables(TABLES, lambda table: f"{path.name}[{found[table]}]" if table in found else None,
                read, absent, frames, sources)
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


def declares_entities(archive: zipfile.ZipFile) -> bool:
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


def within_budget(path: Path, limits: InputLimits, problems: ProblemCollector) -> bool:
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
        problems.add("too-large", f"the workbook unpacks to {megabytes(total)}, more than the "
                     f"{megabytes(limits.max_workbook_mb * MB)} an export may be ([input] "
                     "max_workbook_mb in the --config file); it was not opened: export the "
                     "tables as CSV files, or raise the limit", file=path.name)
        return False
    for part in parts:
        if part.file_size > PACKED_PART_CHECKED and \
                part.file_size > limits.max_compression_ratio * max(part.compress_size, 1):
            ratio = part.file_size / max(part.compress_size, 1)
            problems.add("too-large", f"the workbook's part {part.filename} unpacks to "
                         f"{megabytes(part.file_size)} from {megabytes(part.compress_size)} "
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
                problems: ProblemCollector) -> TableRead | None:
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
    frame = tidy_table(body, tuple(headers), table, label, mapping, problems)
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
