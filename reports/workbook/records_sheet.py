"""The workbook's "Records" sheet: the side-by-side evidence of every duplicate-contact group
(:func:`reports.records.records_table`), a row per (group, field) and a column per contact
record, the kept one first. Each cell holds the value and its agreement in words, filled by
agreement, so a filter on Field and Agreement finds, say, every group whose emails differ.
A field no record of a group has gets no row (the sheet prints on fewer pages).

Its rows are streamed into the saved file like the check sheets' (see
:mod:`reports.workbook.xlsx`): thousands of groups make tens of thousands of rows.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from openpyxl.styles import Font, PatternFill

from audits.io.cells import formula_positions, visible_texts
from audits.model.findings import Finding
from reports.records import RecordsTables, cell_words
from reports.workbook.layout import ROWS_PER_CHUNK, WRAP, style_array, table_sheet
from reports.workbook.xlsx import escaped_texts, height_attr, text_lines

RECORDS_SHEET = "Records"
LEVEL_FILLS = {
    "same": PatternFill("solid", fgColor="E3F3E1"),
    "similar": PatternFill("solid", fgColor="FFF2C2"),
    "different": PatternFill("solid", fgColor="F9D9D6"),
    "missing": PatternFill("solid", fgColor="ECEEF0"),
}
RECORD_FILL = PatternFill("solid", fgColor="E4ECF5")
RECORD_WIDTH = 34
FIXED_COLUMNS = (("Finding ID", 26), ("Field", 14), ("Agreement", 11))
MOST_RECORDS = 12
"""Record columns at most; a larger group's further records are left to its finding's row."""


def records_sheet(book, findings: Sequence[Finding], tables: RecordsTables
                  ) -> Iterator[bytes] | None:
    """Add the Records sheet (its header) to ``book``; return its rows as XML to stream into
    the saved file, or None (and no sheet) when no finding has records to show."""
    shown = [(f.id, table) for f in findings if (table := tables.table(f)) is not None]
    if not shown:
        return None
    width = min(MOST_RECORDS, max(len(table["records"]) for _, table in shown))
    columns = list(FIXED_COLUMNS) + [("Kept record", RECORD_WIDTH)] + \
        [(f"Record {k}", RECORD_WIDTH) for k in range(2, width + 1)]
    rows = sum(len(table["rows"]) + 1 for _, table in shown)
    sheet = table_sheet(book, RECORDS_SHEET, columns, rows)
    styles = book._cell_styles

    def style(fill, font=None):
        return (styles.add(style_array(sheet, fill, font, WRAP, False)),
                styles.add(style_array(sheet, fill, font, WRAP, True)))

    plain, levels = style(None), {level: style(fill) for level, fill in LEVEL_FILLS.items()}
    heading = style(RECORD_FILL, Font(bold=True))
    return _rows(shown, width, plain, levels, heading)


_LETTERS = [chr(ord("A") + k) for k in range(len(FIXED_COLUMNS) + MOST_RECORDS)]
_PER_LINE = max(1, int(RECORD_WIDTH * 1.1) - 3)
"""Characters a line of a record column holds (as :func:`reports.text_lines`)."""


def _lines(text: str) -> int:
    if len(text) <= _PER_LINE:
        return text.count("\n") + 1
    return text_lines(text, RECORD_WIDTH)


class _Chunk:
    """The cells of a run of rows, made into XML together: the texts are shown, checked for
    formulas and escaped in one pass over all of them (a call per cell costs more than the
    rest of the sheet)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.refs: list[str] = []
        self.styles: list[tuple[int, int]] = []
        self.rows: list[tuple[int, int, int]] = []  # (row number, first cell, lines)

    def row(self, number: int, lines: int) -> None:
        self.rows.append((number, len(self.texts), lines))

    def cell(self, column: int, number: int, text: str, styles: tuple[int, int]) -> None:
        if text:
            self.texts.append(text)
            self.refs.append(f"{_LETTERS[column]}{number}")
            self.styles.append(styles)

    def xml(self) -> bytes:
        shown = visible_texts(self.texts)
        risky = set(formula_positions(shown))
        escaped = escaped_texts(shown) if shown else []
        out: list[bytes] = []
        ends = [start for _, start, _ in self.rows[1:]] + [len(shown)]
        for (number, start, lines), end in zip(self.rows, ends):
            out.append(f'<row r="{number}"{height_attr(lines)}>'.encode())
            for k in range(start, end):
                style = self.styles[k][1 if k in risky else 0]
                out += (b'<c r="', self.refs[k].encode(), b'" s="', str(style).encode(),
                        _INLINE, escaped[k], b"</t></is></c>")
            out.append(b"</row>")
        return b"".join(out)


_INLINE = b'" t="inlineStr"><is><t xml:space="preserve">'


def _rows(tables, width: int, plain, levels, heading) -> Iterator[bytes]:
    number = 2  # under the header row
    chunk = _Chunk()
    first_record = len(FIXED_COLUMNS)
    for finding_id, table in tables:
        records = table["records"][:width]
        chunk.row(number, 2)
        chunk.cell(0, number, finding_id, heading)
        chunk.cell(1, number, "Records", heading)
        for k, record in enumerate(records):
            role = "kept" if record["role"] == "kept" else "merged into the kept record"
            text = f"{record['id']} {record['name']}".strip() + f"\n{role}"
            chunk.cell(first_record + k, number, text, heading)
        number += 1
        for row in table["rows"]:
            if row["level"] == "missing":
                continue  # no record has the field: nothing to compare, a row less to print
            texts = []
            for cell in row["cells"][:width]:
                value = "\n".join(cell["lines"]) if cell.get("lines") else cell["text"]
                texts.append(f"{value} ({cell_words(cell)})" if value else cell_words(cell))
            chunk.row(number, max(map(_lines, texts), default=1))
            chunk.cell(0, number, finding_id, plain)
            chunk.cell(1, number, row["label"], plain)
            chunk.cell(2, number, row["level"], levels[row["level"]])
            for k, (cell, text) in enumerate(zip(row["cells"], texts)):
                chunk.cell(first_record + k, number, text, levels[cell["level"]])
            number += 1
        if len(chunk.rows) >= ROWS_PER_CHUNK:
            yield chunk.xml()
            chunk = _Chunk()
    if chunk.rows:
        yield chunk.xml()


__all__ = ["RECORDS_SHEET", "records_sheet"]
