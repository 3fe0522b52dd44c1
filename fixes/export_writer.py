"""Read a board export as it is on disk and write a changed copy in the same form.

A fix must hand back an export the SIS import tools accept exactly as they accepted the
original, so the writer keeps what the loader throws away: each CSV file's encoding (and
byte-order mark), header spelling, column order, delimiter, quoting style, line endings and
final newline. A record nobody changed is written from its original text, so a changed file
differs from the original only in the records a fix touched. A workbook stays a workbook.

The tables keep the SIS's own values, headers included, exactly as exported, also where a
value or header would run as a spreadsheet formula or holds a right-to-left override: they
are re-imported, and a ``'`` or a visible escape would become part of a parent's name in the
SIS (:mod:`audits.io.cells` applies to the reports beside them, ``changes.csv`` and
``retired_contacts.csv``). A fix writes only values the export already holds (or flags and
statuses), so it adds no such text. In a workbook, a value a fix writes is a text cell with
Excel's quote prefix when it looks like a formula, so it stays text; its value is unchanged.

Header and file names are matched with the contract's normalisation (``audits.io.mapping``), so
a mapping file can name the contract columns of a board's own headers.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from audits.io.cells import looks_like_formula
from audits.model.errors import UserError
from audits.io.loading.sniffing import detect_encoding
from audits.io.mapping import HeaderMapping

# Files a fix writes next to the export; never read as tables and never copied forward.
ARTIFACTS = ("changes.csv", "retired_contacts.csv", ".connect-audit-undo")


@dataclass
class CsvFormat:
    encoding: str = "utf-8"
    newline: str = "\r\n"
    delimiter: str = ","
    quote_all: bool = False
    final_newline: bool = True


@dataclass
class RawTable:
    """One table as exported: original headers and every value as text, in file order."""

    name: str
    file: str
    """The file (``contacts.csv``) or sheet (``contacts``) the table lives in."""
    headers: list[str]
    columns: list[str]
    """The contract name of each header, in file order."""
    rows: list[list[str]]
    """Data rows; a blank line in a CSV file is kept as an empty list so rows keep their place."""
    raw: list[str] | None = None
    """The original text of each data row (CSV only), written back for untouched rows."""
    raw_header: str = ""
    format: CsvFormat | None = None

    def __post_init__(self) -> None:
        self.position = {}
        for index, column in enumerate(self.columns):
            self.position.setdefault(column, index)

    def has(self, column: str) -> bool:
        return column in self.position

    def value(self, row: int, column: str) -> str:
        index = self.position.get(column)
        values = self.rows[row]
        if index is None or index >= len(values):
            return ""
        return values[index]

    def file_row(self, row: int) -> int:
        """The row number a spreadsheet shows for data row ``row`` (the header is row 1)."""
        return row + 2


@dataclass
class RawExport:
    path: Path
    kind: str
    """``csv`` (a folder of CSV files) or ``xlsx`` (one workbook)."""
    tables: dict[str, RawTable] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    """Every file of a CSV folder, relative, in a stable order (what a copy must carry)."""


# ----------------------------------------------------------------------------- reading

def decode(data: bytes) -> tuple[str, str]:
    """The text of an export file and the encoding to write it back in, detected exactly as the
    loader detects it (a file the audit could not read is never fixed)."""
    encoding = detect_encoding(data)
    if encoding is None:
        raise UserError("A file of the export is not UTF-8 or Windows-1252 text; audit it first "
                        "(connect-audit audit) to see which one and why")
    return data.decode(encoding), encoding


def _split_records(text: str, newline: str) -> tuple[list[str], bool]:
    """Records of a CSV text (a quoted value may hold line breaks) and whether it ends in one."""
    if text == "":
        return [], False
    lines = text.split(newline)
    final = lines[-1] == ""
    if final:
        lines.pop()
    records: list[str] = []
    pending: list[str] = []
    quotes = 0
    for line in lines:
        count = line.count('"')
        if pending:
            pending.append(line)
            quotes += count
            if quotes % 2 == 0:
                records.append(newline.join(pending))
                pending = []
            continue
        if count % 2:
            pending = [line]
            quotes = count
        else:
            records.append(line)
    if pending:
        records.append(newline.join(pending))
    return records, final


def read_csv_table(path: Path, name: str, mapping: HeaderMapping) -> RawTable:
    text, encoding = decode(path.read_bytes())
    newline = "\r\n" if "\r\n" in text else ("\n" if "\n" in text else "\r" if "\r" in text
                                              else "\r\n")
    records, final = _split_records(text, newline)
    if not records:
        raise UserError(f"{path.name} is empty: the first row must be the header")
    header_text = records[0]
    delimiter = max((",", ";", "\t", "|"), key=header_text.count)
    if header_text.count(delimiter) == 0:
        delimiter = ","
    try:
        parsed = list(csv.reader(records, delimiter=delimiter))
        if len(parsed) != len(records):
            parsed = [next(csv.reader([record], delimiter=delimiter), []) for record in records]
    except csv.Error as error:
        # Mixed line endings or a stray quote: the fix could not write the file back as it was.
        raise UserError(f"{path.name} cannot be fixed in place ({error}); audit it first "
                        "(connect-audit audit) to see which row, or save it again with one kind "
                        "of line ending") from None
    headers = parsed[0]
    quote_all = bool(headers) and header_text == _format_row(headers, delimiter, True)
    columns = [mapping.column_for(name, header) for header in headers]
    fmt = CsvFormat(encoding, newline, delimiter, quote_all, final)
    return RawTable(name, path.name, headers, columns, parsed[1:], raw=records[1:],
                    raw_header=header_text, format=fmt)


def read_export(path: str | Path, mapping: HeaderMapping | None = None,
                limits: "InputLimits | None" = None) -> RawExport:
    """Every contract table of the export at ``path``, as exported, within the loader's size
    limits (``[input]``) and never through a link to a file outside the export."""
    from audits.model.config import InputLimits
    from audits.model.errors import ProblemCollector
    from audits.io.loading.sizes import MB
    from audits.io.loading.workbook import within_budget

    path = Path(path)
    mapping = mapping or HeaderMapping()
    limits = limits or InputLimits()
    from audits.io.formats import FORMAT_NAMES, detect

    kind = detect(path)
    if kind is not None:
        # An interchange export is the SIS's output, read again at every sync: a fixed copy of
        # it would change nothing in the SIS.
        raise UserError(f"{path.name} is a {FORMAT_NAMES[kind]} export: fix apply writes a "
                        "fixed copy of a contract export (a CSV folder or a workbook) only. "
                        "Make these fixes in the SIS by following the runbooks, then export "
                        "again and audit")
    if path.is_dir():
        export = RawExport(path, "csv")
        inside = path.resolve()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = file.relative_to(path)
            if relative.parts[0] in ARTIFACTS:
                continue
            if not file.resolve().is_relative_to(inside):
                # A fix writes a copy of every file: never of one from elsewhere.
                raise UserError(f"{relative.as_posix()} is a link to a file outside the export "
                                "folder; copy the file itself into the export folder")
            export.files.append(relative.as_posix())
            if len(relative.parts) != 1 or file.suffix.lower() != ".csv":
                continue
            table = mapping.table_for(file.name)
            if table and table not in export.tables:
                size = file.stat().st_size
                if size > limits.max_csv_mb * MB:
                    raise UserError(f"{file.name} is {size / MB:,.0f} MB, more than the "
                                    f"{limits.max_csv_mb:,.0f} MB a table may be ([input] "
                                    "max_csv_mb)")
                export.tables[table] = read_csv_table(file, table, mapping)
        return export
    if path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm"):
        problems = ProblemCollector()
        if not within_budget(path, limits, problems):
            problems.raise_if_any(f"{path.name} is too large to fix")
        return _read_workbook(path, mapping)
    if not path.exists():
        raise UserError(f"The board export {path} does not exist")
    raise UserError(f"{path} is neither a folder of CSV files nor an .xlsx workbook")


def _read_workbook(path: Path, mapping: HeaderMapping) -> RawExport:
    """The workbook's sheets as the audit read them: calamine, each sheet from A1, each cell
    as the loader's ``cell_text`` makes it (so a date reads as the audit saw it)."""
    import zipfile

    from python_calamine import CalamineWorkbook

    from audits.io.loading.workbook import ENTITIES_MESSAGE, cell_text, declares_entities

    export = RawExport(path, "xlsx", files=[path.name])
    try:
        with zipfile.ZipFile(path) as archive:
            if declares_entities(archive):
                raise UserError(f"{path.name} cannot be read as a workbook: {ENTITIES_MESSAGE}")
        book = CalamineWorkbook.from_path(str(path))
    except UserError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged file raises many types
        raise UserError(f"{path.name} cannot be read as a workbook: {error}") from None
    try:
        for title in book.sheet_names:
            table = mapping.table_for(title)
            if not table or table in export.tables:
                continue
            rows = [[cell_text(v) for v in row]
                    for row in book.get_sheet_by_name(title).to_python(skip_empty_area=False)]
            if not rows:
                continue
            headers = rows[0]
            while headers and headers[-1] == "":
                headers.pop()
            width = len(headers)
            data = [row[:width] + [""] * (width - len(row)) for row in rows[1:]]
            data = [row if any(row) else [] for row in data]
            columns = [mapping.column_for(table, header) for header in headers]
            export.tables[table] = RawTable(table, title, headers, columns, data)
    finally:
        book.close()
    return export


# ----------------------------------------------------------------------------- writing

def _format_row(values: list[str], delimiter: str, quote_all: bool) -> str:
    buffer = io.StringIO()
    # The writer quotes a value holding any character of its line terminator, so it must see
    # both line-break characters there; the terminator itself is dropped afterwards.
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(values)
    return buffer.getvalue()[:-2]


@dataclass
class TableEdits:
    """What a fix does to one table: values set on rows, rows removed, rows added."""

    updates: dict[int, dict[str, str]] = field(default_factory=dict)
    removed: set[int] = field(default_factory=set)
    added: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.updates or self.removed or self.added)


def render_csv(table: RawTable, edits: TableEdits) -> bytes:
    fmt = table.format or CsvFormat()
    out: list[str] = [table.raw_header]
    raw = table.raw or []
    for index, values in enumerate(table.rows):
        if index in edits.removed:
            continue
        if index in edits.updates:
            values = list(values) + [""] * (len(table.headers) - len(values))
            for column, value in edits.updates[index].items():
                values[table.position[column]] = value
            out.append(_format_row(values, fmt.delimiter, fmt.quote_all))
        else:
            out.append(raw[index])
    for added in edits.added:
        values = [added.get(column, "") if table.position.get(column) == i else ""
                  for i, column in enumerate(table.columns)]
        out.append(_format_row(values, fmt.delimiter, fmt.quote_all))
    text = fmt.newline.join(out)
    if fmt.final_newline or (edits.added and not table.rows):
        text += fmt.newline
    try:
        return text.encode(fmt.encoding)
    except UnicodeEncodeError as error:
        raise UserError(f"{table.file}: a new value cannot be written in the file's encoding "
                        f"({fmt.encoding}): {error.object[error.start:error.end]!r}") from None


def write_export(export: RawExport, edits: dict[str, TableEdits], out: Path) -> list[str]:
    """A complete copy of ``export`` under the folder ``out`` with ``edits`` made.

    Untouched files are byte-for-byte copies. Returns the relative paths of changed files.
    """
    changed: list[str] = []
    if export.kind == "csv":
        by_file = {table.file: name for name, table in export.tables.items()}
        for relative in export.files:
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            name = by_file.get(relative)
            if name and edits.get(name):
                target.write_bytes(render_csv(export.tables[name], edits[name]))
                changed.append(relative)
            else:
                shutil.copyfile(export.path / relative, target)
        return changed
    target = out / export.path.name
    if not any(edits.values()):
        shutil.copyfile(export.path, target)
        return changed
    _write_workbook(export, edits, target)
    return [export.path.name]


def _set_text(cell, value: str) -> None:
    """Write an export value as text: openpyxl would turn text starting with ``=`` into a live
    formula, and a contact's name or email must never run in the SIS or in Excel."""
    cell.value = value
    if looks_like_formula(value):
        cell.data_type = "s"
        cell.quotePrefix = True


def _write_workbook(export: RawExport, edits: dict[str, TableEdits], target: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(export.path)
    for name, table_edits in edits.items():
        if not table_edits:
            continue
        table = export.tables[name]
        sheet = book[table.file]
        for index, updates in table_edits.updates.items():
            for column, value in updates.items():
                _set_text(sheet.cell(row=table.file_row(index),
                                     column=table.position[column] + 1), value)
        for index in sorted(table_edits.removed, reverse=True):
            sheet.delete_rows(table.file_row(index))
        next_row = 2 + len(table.rows) - len(table_edits.removed)
        for offset, added in enumerate(table_edits.added):
            for column, value in added.items():
                if column in table.position:
                    _set_text(sheet.cell(row=next_row + offset,
                                         column=table.position[column] + 1), value)
    book.save(target)
