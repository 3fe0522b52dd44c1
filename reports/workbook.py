"""The Excel workbook analysts hand to principals: a Summary sheet, one sheet per check, and the
generation Preview.

openpyxl (write-only mode) writes the workbook: styles, the Summary sheet, the chart, links,
and each table's header, frozen row, filter and widths. The rows of the big sheets (one per
finding, one per previewed account) are then streamed into the saved file as the same XML
openpyxl writes for them, because openpyxl's per-cell objects cost ~10 µs a cell: 100,000
findings took over a minute that way, and now take seconds; memory stays flat either way.

Text that Excel would run as a formula is written as a text cell (an inline string, never a
formula element) with a quote prefix, so it shows, and stays, literal; invisible characters,
and those XML 1.0 forbids, are shown as ``⟨U+XXXX⟩`` (see :mod:`audits.cells`), sheet names
and headers included.
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import re
import shutil
import threading
import zipfile
from collections import Counter
from copy import copy
from pathlib import Path
from xml.etree import ElementTree
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from audits.cells import formula_positions, looks_like_formula, visible, visible_texts
from audits.findings import Finding
from reports import wording
from reports.files import write_atomically

if TYPE_CHECKING:
    import pandas as pd

    from reports import ReportInput

SEVERITY_FILLS = {
    "error": PatternFill("solid", fgColor="F8D7DA"),
    "warning": PatternFill("solid", fgColor="FFF3CD"),
    "info": PatternFill("solid", fgColor="D1ECF1"),
}
HEADER_FILL = PatternFill("solid", fgColor="1F3B57")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
LINK_FONT = Font(color="0563C1", underline="single")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
EXCEL_CELL_LIMIT = 32_767

# Widths in characters. Long text columns wrap (WRAPPED_COLUMNS) rather than run wide, so a
# printed page fitted to one page wide stays readable.
CHECK_COLUMNS: list[tuple[str, float]] = [
    ("Finding ID", 26), ("Severity", 9), ("School ID", 10), ("School", 24), ("Title", 42),
    ("People (name and id)", 40), ("Pairs", 26), ("Username", 28), ("Evidence", 40),
    ("Fix action", 16), ("Fix steps", 60), ("Confidence", 10),
]
SUMMARY_SHEET, PREVIEW_SHEET = "Summary", "Preview"
CHANGES_SHEET = "Changes since last run"
CHANGES_COLUMNS: list[tuple[str, float]] = [
    ("Status", 12), ("Finding ID", 26), ("Check", 24), ("Severity", 10), ("School ID", 12),
    ("Title", 70),
]


def write_workbook(report: "ReportInput", path: Path) -> Path:
    """Write ``audit.xlsx`` to ``path`` (atomically)."""

    def write(temp: Path) -> None:
        book, streamed = _build(report)
        book.save(temp)
        if streamed:
            _append_rows(temp, streamed)

    return write_atomically(Path(path), write)


def sheet_names(checks: Iterable[str]) -> dict[str, str]:
    """A valid, unique sheet name (31 characters, no ``[]:*?/\\``) for each check code."""
    taken = {SUMMARY_SHEET.lower(), PREVIEW_SHEET.lower(), CHANGES_SHEET.lower()}
    names: dict[str, str] = {}
    for code in checks:
        base = re.sub(r"[\[\]:*?/\\']", "_", visible(code))[:31] or "check"
        name, n = base, 2
        while name.lower() in taken:
            suffix = f"~{n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        names[code] = name
    return names


def _build(report: "ReportInput") -> tuple[Workbook, dict[str, Iterator[bytes]]]:
    """The workbook with every sheet's header, and the rows of the big sheets as XML to stream
    into the saved file (see :func:`_append_rows`)."""
    book = Workbook(write_only=True)
    codes = wording.ordered_checks(report.findings, report.checks)
    names = sheet_names(codes)
    by_check: dict[str, list[Finding]] = {code: [] for code in codes}
    for finding in report.findings:
        by_check[finding.check].append(finding)
    _summary_sheet(book, report, codes, names, by_check)
    streamed: dict[str, Iterator[bytes]] = {}
    for code in codes:
        streamed[names[code]] = _check_sheet(book, names[code], by_check[code], report)
    from reports.records_sheet import RECORDS_SHEET, records_sheet

    # Redacted values (initials, masks) would compare as "same": no Records sheet then.
    records_rows = None if getattr(report, "redacted", False) else \
        records_sheet(book, by_check.get("duplicate-contact", []))
    if records_rows is not None:
        streamed[RECORDS_SHEET] = records_rows
    if getattr(report, "changes", None) is not None:
        streamed[CHANGES_SHEET] = _changes_sheet(book, report.changes)
    preview_rows = _preview_sheet(book, report.preview)
    if preview_rows is not None:
        streamed[PREVIEW_SHEET] = preview_rows
    return book, streamed


# ------------------------------------------------------------------------------------ cells
def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = visible(value)
        if len(value) > EXCEL_CELL_LIMIT:
            value = value[: EXCEL_CELL_LIMIT - 1] + "…"
    return value


def _style_array(sheet, fill, font, alignment, quote: bool):
    """The StyleArray of a style combination, worked out once per workbook: setting fill or
    alignment on each cell hashes the style objects every time, which dominates big sheets."""
    book = sheet.parent
    cache = book.__dict__.setdefault("_report_styles", {})
    key = (id(fill), id(font), id(alignment), quote)
    if key not in cache:
        probe = WriteOnlyCell(sheet)
        if fill is not None:
            probe.fill = fill
        if font is not None:
            probe.font = font
        if alignment is not None:
            probe.alignment = alignment
        if quote:
            probe.quotePrefix = True
        cache[key] = probe._style
    return cache[key]


def _cell(sheet, value: Any, *, fill=None, font=None, alignment=None, link: str | None = None):
    """A value for ``sheet.append``: plain when it needs nothing, else a styled WriteOnlyCell.
    Formula-like text becomes a text cell with a quote prefix, so it displays literally and
    stays text even if someone edits the cell."""
    if value == "":
        return None  # an empty cell costs nothing to write; an empty string does
    value = _text(value)
    risky = looks_like_formula(value)
    if not (risky or fill or font or alignment or link):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if risky:
        cell.data_type = "s"
    cell._style = copy(_style_array(sheet, fill, font, alignment, risky))
    if link:
        cell.hyperlink = Hyperlink(ref="", location=link)
    return cell


def _header(sheet, titles: Sequence[str]) -> list:
    return [_cell(sheet, title, fill=HEADER_FILL, font=HEADER_FONT) for title in titles]


# Printing: the default page setup (portrait, 100%, no repeated header) printed 277 findings
# on 208 pages, each showing two or three columns.
LINE_HEIGHT = 15.0  # points per line of 11 pt Calibri (Excel's default row height)
MAX_ROW_HEIGHT = 409.0  # Excel's limit


def _print_setup(sheet, *, title_rows: str | None = "1:1", grid: bool = True) -> None:
    """Landscape, fitted to one page wide (as many tall as it takes), the header row repeated
    on every printed page, narrow margins and a page-numbered footer. Set before the first
    row is appended (write-only sheets write their properties then)."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_LETTER  # North American schools
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # 0: as many pages tall as the rows need
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.page_margins.header = sheet.page_margins.footer = 0.3
    sheet.print_options.gridLines = grid
    sheet.HeaderFooter.oddFooter.center.text = "&A, page &P of &N"
    if title_rows:
        sheet.print_title_rows = title_rows


def text_lines(value: Any, width: float) -> int:
    """How many lines ``value`` wraps to in a column ``width`` characters wide: an estimate on
    the safe side (proportional text runs about 1.1 characters a width unit; word wrap loses
    part of a word at each line's end)."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(1, int(width * 1.1) - 3)
    return sum(max(1, -(-len(line) // per_line)) for line in value.split("\n"))


def row_height(lines: int) -> float | None:
    """The height, in points, of a row whose tallest cell has ``lines`` lines; None for one
    line, which keeps the default (and lets a spreadsheet size it itself)."""
    if lines <= 1:
        return None
    return min(MAX_ROW_HEIGHT, round(lines * LINE_HEIGHT + 2, 1))


def _table_sheet(book: Workbook, name: str, columns: Sequence[tuple[str, float]], rows: int):
    """A sheet with a frozen, filterable header row and set column widths; widths and
    filters must be set before the first row streams out."""
    sheet = book.create_sheet(name)
    _print_setup(sheet)
    for index, (_, width) in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{max(rows, 1) + 1}"
    sheet.append(_header(sheet, [title for title, _ in columns]))
    return sheet


# ---------------------------------------------------------------------------------- sheets
def _summary_sheet(book, report, codes, names, by_check) -> None:
    sheet = book.create_sheet(SUMMARY_SHEET)
    _print_setup(sheet, title_rows=None, grid=False)
    summary_width = 60
    for column, width in zip("ABCDEF", (28, summary_width, 10, 10, 10, 10)):
        sheet.column_dimensions[column].width = width
    title = "CONNECT audit" + (f": {report.board_name}" if report.board_name else "")
    sheet.append([_cell(sheet, title, font=TITLE_FONT)])
    # The stamp names the export's fingerprint too: it sits in the wide column, where it is
    # never cut short by the cell beside it.
    sheet.append([_cell(sheet, f"{len(report.findings)} findings"),
                  _cell(sheet, f"Generated {report.stamp}; click a check to open its sheet")])
    sheet.append([])
    sheet.append(_header(sheet, ["Check", "What it finds", "Error", "Warning", "Info", "Total"]))
    first_row = 5
    totals = Counter()
    for row, code in enumerate(codes, first_row):
        counts = Counter(f.severity.value for f in by_check[code])
        totals.update(counts)
        link = f"'{names[code]}'!A1"
        what = wording.check_text(report.checks.get(code), "summary")
        height = row_height(text_lines(what, summary_width))
        if height:  # write-only: a row's height must be set before the row is appended
            sheet.row_dimensions[row].height = height
        sheet.append([
            _cell(sheet, code, font=LINK_FONT, link=link, alignment=TOP),
            _cell(sheet, what, alignment=WRAP),
            counts.get("error", 0), counts.get("warning", 0), counts.get("info", 0),
            sum(counts.values()),
        ])
    last_row = first_row + len(codes) - 1
    bold = Font(bold=True)
    sheet.append([_cell(sheet, "All checks", font=bold), None,
                  *(totals.get(s, 0) for s in wording.SEVERITY_ORDER), sum(totals.values())])
    sheet.append([])
    sheet.append(_header(sheet, ["Severity", "Findings"]))
    for severity in wording.SEVERITY_ORDER:
        sheet.append([_cell(sheet, wording.SEVERITY_WORDS[severity],
                            fill=SEVERITY_FILLS[severity]), totals.get(severity, 0)])
    sheet.append([])
    sheet.append(_header(sheet, ["School ID", "School", "Findings"]))
    by_school = dict((report.summary or {}).get("by_school", {}))
    for school_id, count in sorted(by_school.items(), key=lambda kv: (-kv[1], kv[0])):
        sheet.append([_cell(sheet, school_id), _cell(sheet, report.schools.get(school_id, "")),
                      count])
    sheet.append([])
    sheet.append([_cell(sheet, PREVIEW_SHEET, font=LINK_FONT, link=f"'{PREVIEW_SHEET}'!A1"),
                  "Accounts generation would create, and each one's predicted outcome"])
    changes = getattr(report, "changes", None)
    if changes is not None:
        sheet.append([_cell(sheet, CHANGES_SHEET, font=LINK_FONT, link=f"'{CHANGES_SHEET}'!A1"),
                      f"Since the previous run: {len(changes.new)} new, "
                      f"{len(changes.resolved)} resolved, {len(changes.still_open)} still open"])
    suppressed = getattr(report, "suppressed", None)
    if suppressed is not None:
        sheet.append(["Suppressed", f"{suppressed.count} left out by recorded decisions; "
                      f"{len(suppressed.stale)} decision(s) no longer match anything"])
    if getattr(report, "redacted", False):
        sheet.append(["Redacted", "Names reduced to initials; emails, usernames and phones "
                      "masked; addresses withheld. Ids are real."])
    if codes:
        chart = BarChart()
        chart.type = "bar"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = "Findings by check and severity"
        chart.y_axis.title = "Findings"
        data = Reference(sheet, min_col=3, max_col=5, min_row=first_row - 1, max_row=last_row)
        categories = Reference(sheet, min_col=1, min_row=first_row, max_row=last_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(categories)
        chart.height = max(7.5, 1.2 * len(codes) + 3)
        chart.width = 18
        for series, colour in zip(chart.series, ("C0392B", "E0A800", "17A2B8")):
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        sheet.add_chart(chart, "H4")


def finding_values(finding: Finding, schools) -> list:
    """One check-sheet row: the values of :data:`CHECK_COLUMNS`, in order."""
    fix = finding.fix
    return [
        finding.id,
        finding.severity.value,
        ", ".join(finding.school_ids),
        "; ".join(schools.get(s, "") for s in finding.school_ids if schools.get(s)),
        finding.title,
        wording.people_text(finding),
        wording.pairs_text(finding),
        finding.username or "",
        wording.evidence_text(finding.evidence),
        wording.fix_action(fix),
        "\n".join(wording.fix_steps(fix)),
        round(float(finding.confidence), 4),
    ]


ROWS_PER_CHUNK = 2000
"""Rows in each piece of sheet XML streamed into the file: big enough that joining is cheap,
small enough that no sheet is ever one string."""

WRAPPED_COLUMNS = {"School", "Title", "People (name and id)", "Pairs", "Evidence", "Fix steps"}


def _check_sheet(book, name: str, findings: list[Finding], report) -> Iterator[bytes]:
    sheet = _table_sheet(book, name, CHECK_COLUMNS, len(findings))
    styles = book._cell_styles
    # Rows are as tall as their longest text: every cell aligns to the top, where reading starts.
    top = styles.add(_style_array(sheet, None, None, TOP, False))
    top_quote = styles.add(_style_array(sheet, None, None, TOP, True))
    wrap = styles.add(_style_array(sheet, None, None, WRAP, False))
    wrap_quote = styles.add(_style_array(sheet, None, None, WRAP, True))
    severity = {value: styles.add(_style_array(sheet, fill, None, TOP, False))
                for value, fill in SEVERITY_FILLS.items()}
    column_styles = []
    for title, _ in CHECK_COLUMNS:
        if title == "Severity":
            column_styles.append((severity, top_quote))
        elif title in WRAPPED_COLUMNS:
            column_styles.append((wrap, wrap_quote))
        else:
            column_styles.append((top, top_quote))
    schools = report.schools
    wrap_widths = [width if title in WRAPPED_COLUMNS else None for title, width in CHECK_COLUMNS]
    return _rows_xml((finding_values(f, schools) for f in findings), column_styles,
                     wrap_widths=wrap_widths, rows_per_chunk=ROWS_PER_CHUNK)


def _changes_sheet(book, changes) -> Iterator[bytes]:
    """New, resolved and still-open findings since the previous run, one row each."""
    frame = changes.frame()
    sheet = _table_sheet(book, CHANGES_SHEET, CHANGES_COLUMNS, len(frame))
    quote = book._cell_styles.add(_style_array(sheet, None, None, None, True))
    rows = frame[["status", "id", "check", "severity", "school_ids", "title"]].itertuples(
        index=False, name=None)
    return _rows_xml(rows, [(None, quote)] * len(CHANGES_COLUMNS),
                     rows_per_chunk=ROWS_PER_CHUNK)


def _preview_values(series) -> list:
    """A preview column as cell values: lists joined, missing values empty, text kept text."""
    if str(series.dtype) in ("str", "string") or series.dtype.kind in "iub":
        # No lists and no odd objects here: only missing values need replacing.
        missing = series.isna()
        values = series.tolist()
        if missing.any():
            for at in missing.to_numpy().nonzero()[0].tolist():
                values[at] = None
        return values
    values = series.tolist()
    if set(map(type, values)) <= _TEXT_OR_NONE:
        return values  # an object column holding text only: nothing to convert
    out = []
    for value in values:
        if isinstance(value, (list, tuple, set, frozenset)):
            value = ", ".join(str(v) for v in value)
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            value = None
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        out.append(value)
    return out


def _preview_sheet(book, preview: "pd.DataFrame | None") -> Iterator[bytes] | None:
    """The Preview sheet's header, through openpyxl; its rows come back as XML to stream into
    the saved file (:func:`_append_rows`): a 400,000-row preview through openpyxl's cell
    objects alone takes about a minute."""
    if preview is None:
        columns = [("Preview", 60)]
        sheet = _table_sheet(book, PREVIEW_SHEET, columns, 1)
        sheet.append(["No generation preview was given."])
        return None
    titles = [str(c) for c in preview.columns]
    widths = [min(60, max(12, len(t) + 4)) for t in titles]
    for index, title in enumerate(titles):
        if title in ("name", "reason", "student_ids"):
            widths[index] = 40
        elif title.startswith("username"):
            widths[index] = 30  # an email address
    sheet = _table_sheet(book, PREVIEW_SHEET, list(zip(titles, widths)), len(preview))
    quote_style = book._cell_styles.add(_style_array(sheet, None, None, None, True))
    columns = [_preview_values(preview[c]) for c in preview.columns]
    return _columns_xml(columns, [(None, quote_style)] * len(columns),
                        rows_per_chunk=ROWS_PER_CHUNK)


def _xml_text(value: str) -> str:
    """A text already :func:`~audits.cells.visible`, cut to a cell and escaped for XML."""
    if len(value) > EXCEL_CELL_LIMIT:
        value = value[: EXCEL_CELL_LIMIT - 1] + "…"
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rows_xml(rows: Iterable[Sequence], column_styles: Sequence[tuple[Any, int]],
              first_row: int = 2, wrap_widths: Sequence[float | None] = (),
              rows_per_chunk: int = 1) -> Iterator[bytes]:
    """``<row>`` elements, the way openpyxl writes them: text as inline strings (never
    formulas; formula-like text gets the quote-prefix style), numbers as numbers, missing
    values as no cell. ``column_styles[i]`` is ``(style, quote_style)``: the cell style id of
    column i (or a dict from the cell's text to a style id, or None), and the one to use when
    its text looks like a formula. ``wrap_widths[i]``, when given, is the width of a column
    whose text wraps: the row gets the height of its tallest wrapped cell (``ht`` with
    ``customHeight``), since neither openpyxl nor LibreOffice sizes streamed rows. Each
    piece of UTF-8 yielded holds ``rows_per_chunk`` rows."""
    rows = [list(row) for row in rows]
    width = len(column_styles)
    columns = [[row[i] if i < len(row) else None for row in rows] for i in range(width)]
    return _columns_xml(columns, column_styles, first_row, wrap_widths, rows_per_chunk)


def _escaped_texts(texts: list[str]) -> list[bytes]:
    """``_xml_text`` of every text (already visible, so none holds NUL), as UTF-8, done on
    the column joined into one string (a few C-speed passes instead of calls per cell)."""
    joined = "\0".join(texts)
    if (joined.count("\0") != len(texts) - 1
            or max(map(len, texts), default=0) > EXCEL_CELL_LIMIT):
        # Rare: huge cells.
        return [_xml_text(text).encode("utf-8") for text in texts]
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        if char in joined:
            joined = joined.replace(char, entity)
    return joined.encode("utf-8").split(b"\0")


class _Column:
    """One column's cells as the UTF-8 pieces of each ``<c>`` element: ``head``
    (``<c r="A``), the row number, ``mid`` (the rest of the start tag and the opening of the
    value), the value and ``tail``. Each piece is one for every row or a list with one per
    row; a row with no cell has b"" for every piece. Rows are made by filling a list of pieces
    slice by slice and joining it (:func:`_columns_xml`): nothing is built or encoded per
    cell in Python, and the markup around the values is encoded once."""

    __slots__ = ("head", "number", "mid", "text", "tail")

    def __init__(self, head, number, mid, text, tail) -> None:
        self.head, self.number, self.mid, self.text, self.tail = head, number, mid, text, tail


def _spread(size: int, at: list[int], values) -> list:
    """A list of ``size`` items: ``values`` (one per position, or one for all) at the
    positions ``at``, b"" elsewhere."""
    out = numpy.full(size, b"", dtype=object)
    if isinstance(values, bytes):
        out[at] = values
    else:
        spread = numpy.empty(len(values), dtype=object)
        spread[:] = values
        out[at] = spread
    return out.tolist()


_INLINE = ' t="inlineStr"><is><t xml:space="preserve">'
_TEXT_TAIL, _VALUE_TAIL = b"</t></is></c>", b"</v></c>"
_TEXT_OR_NONE = {str, type(None)}


def _text_pieces(texts: list[str], style, quote_style) -> tuple[Any, list[bytes]]:
    """The ``mid`` piece (one for all, or one per text) and the escaped value of text cells:
    formula-like text gets the quote-prefix style."""
    texts = visible_texts(texts)
    quoted = f'"{f" s={chr(34)}{quote_style}{chr(34)}" if quote_style else ""}{_INLINE}'.encode()
    if isinstance(style, dict):
        mids: Any = [quoted if looks_like_formula(text) else
                     (f'" s="{style.get(text)}"{_INLINE}' if style.get(text) else
                      f'"{_INLINE}').encode() for text in texts]
        return mids, _escaped_texts(texts)
    mids = f'"{f" s={chr(34)}{style}{chr(34)}" if style else ""}{_INLINE}'.encode()
    risky = formula_positions(texts)
    if risky:
        mids = [mids] * len(texts)
        for k in risky:
            mids[k] = quoted
    return mids, _escaped_texts(texts)


def _column_cells(letter: str, values: list, numbers: list[bytes], style,
                  quote_style) -> _Column:
    """One column's ``<c>`` elements, as :class:`_Column` pieces."""
    size = len(values)
    head = f'<c r="{letter}'.encode()
    if set(map(type, values)) <= _TEXT_OR_NONE:
        # The common case (text columns), without the per-value type dispatch below.
        present = numpy.fromiter(map(bool, values), dtype=bool, count=size)
        text_at = numpy.flatnonzero(present).tolist()
        if len(text_at) == size:
            return _Column(head, numbers, *_text_pieces(values, style, quote_style), _TEXT_TAIL)
        mids, escaped = _text_pieces([values[at] for at in text_at], style, quote_style)
        return _Column(_spread(size, text_at, head),
                       _spread(size, text_at, [numbers[at] for at in text_at]),
                       _spread(size, text_at, mids), _spread(size, text_at, escaped),
                       _spread(size, text_at, _TEXT_TAIL))
    heads, nums, mids, shown, tails = ([b""] * size for _ in range(5))
    text_at, texts = [], []
    for at, value in enumerate(values):
        if value is None or value == "":
            continue
        if isinstance(value, str):
            text_at.append(at)
            texts.append(value)
            continue
        if isinstance(value, bool):
            mids[at], shown[at] = b'" t="b"><v>', b"1" if value else b"0"
        elif isinstance(value, (int, float)) and math.isfinite(value):
            mids[at], shown[at] = b'" t="n"><v>', repr(value).encode()
        else:
            text_at.append(at)
            texts.append(str(value))
            continue
        heads[at], nums[at], tails[at] = head, numbers[at], _VALUE_TAIL
    if texts:
        text_mids, escaped = _text_pieces(texts, style, quote_style)
        for k, at in enumerate(text_at):
            heads[at], nums[at], tails[at] = head, numbers[at], _TEXT_TAIL
            mids[at] = text_mids if isinstance(text_mids, bytes) else text_mids[k]
            shown[at] = escaped[k]
    return _Column(heads, nums, mids, shown, tails)


def _text_lines_column(values: list, width: float) -> "numpy.ndarray":
    """:func:`text_lines` of every value of a column, counted on all of them at once."""
    per_line = max(1, int(width * 1.1) - 3)
    size = len(values)
    lines = numpy.ones(size, dtype=numpy.int64)
    at = [k for k, value in enumerate(values) if value.__class__ is str and value]
    if not at:
        return lines
    texts = [values[k] for k in at]
    # Each text's lines, one after another: the length of each, and whose it is.
    breaks = numpy.fromiter(map(str.count, texts, itertools.repeat("\n")), dtype=numpy.int64,
                            count=len(texts))
    lengths = numpy.fromiter(map(len, "\n".join(texts).split("\n")), dtype=numpy.int64)
    owner = numpy.repeat(numpy.arange(len(texts)), breaks + 1)
    wrapped = numpy.maximum(1, -(-lengths // per_line))
    lines[at] = numpy.bincount(owner, weights=wrapped, minlength=len(texts)).astype(numpy.int64)
    return lines


def _columns_xml(columns: Sequence[list], column_styles: Sequence[tuple[Any, int]],
                 first_row: int = 2, wrap_widths: Sequence[float | None] = (),
                 rows_per_chunk: int = 1) -> Iterator[bytes]:
    """:func:`_rows_xml` of rows given column by column, ``rows_per_chunk`` rows to each
    piece of UTF-8 it yields: each column's cells are worked out in one pass
    (:class:`_Column`), then a chunk of rows is one join over a list filled slice by slice."""
    count = min((len(c) for c in columns), default=0)
    numbers = "\0".join(map(str, range(first_row, first_row + count))).encode().split(b"\0") \
        if count else []
    letters = [get_column_letter(i) for i in range(1, len(column_styles) + 1)]
    cells = [_column_cells(letter, list(values)[:count], numbers, style, quote)
             for letter, (style, quote), values in zip(letters, column_styles, columns)]
    row_ends: Any = b'">'
    wrapped = [(columns[i], w) for i, w in enumerate(wrap_widths) if w and i < len(columns)]
    if wrapped and count:
        tallest = numpy.max([_text_lines_column(list(values)[:count], w)
                             for values, w in wrapped], axis=0)
        row_ends = [f'"{_height_attr(int(lines))}>'.encode() if lines > 1 else b'">'
                    for lines in tallest.tolist()]
    stride = 4 + 5 * len(cells)
    for start in range(0, count, rows_per_chunk):
        end = min(count, start + rows_per_chunk)
        size = end - start
        pieces = [b""] * (size * stride)
        pieces[0::stride] = [b'<row r="'] * size
        pieces[1::stride] = numbers[start:end]
        pieces[2::stride] = [row_ends] * size if isinstance(row_ends, bytes) \
            else row_ends[start:end]
        for k, column in enumerate(cells):
            for offset, piece in enumerate((column.head, column.number, column.mid,
                                            column.text, column.tail), 3 + 5 * k):
                pieces[offset::stride] = [piece] * size if isinstance(piece, bytes) \
                    else piece[start:end]
        pieces[stride - 1::stride] = [b"</row>"] * size
        yield b"".join(pieces)


def _height_attr(lines: int) -> str:
    height = row_height(lines)
    return f' ht="{height}" customHeight="1"' if height else ""


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str:
    """The zip member holding the named sheet, found the way Excel finds it (workbook.xml,
    then its relationships), not by guessing openpyxl's file names."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    wanted = next(sheet.get(rel_id) for sheet in workbook.iter(f"{main}sheet")
                  if sheet.get("name") == sheet_name)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(rel.get("Target") for rel in rels if rel.get("Id") == wanted)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _append_rows(path: Path, sheets: dict[str, Iterator[bytes]]) -> None:
    """Stream each sheet's rows into the saved workbook, before its ``</sheetData>``."""
    rebuilt = path.with_name(path.name + ".rows")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(
                rebuilt, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as target:
            parts = {_sheet_part(source, name): rows for name, rows in sheets.items()}
            for info in source.infolist():
                rows = parts.get(info.filename)
                if rows is None:
                    with source.open(info) as data, target.open(info.filename, "w") as out:
                        shutil.copyfileobj(data, out, 1 << 20)
                    continue
                xml = source.read(info).decode("utf-8")
                cut = xml.rindex("</sheetData>")
                with target.open(info.filename, "w", force_zip64=True) as out:
                    out.write(xml[:cut].encode("utf-8"))
                    _write_beside(out, rows)
                    out.write(xml[cut:].encode("utf-8"))
        os.replace(rebuilt, path)
    finally:
        rebuilt.unlink(missing_ok=True)


def _write_beside(out, chunks: Iterator[bytes]) -> None:
    """``out.write`` each chunk, on a second thread: compressing the sheet (zlib lets go of
    the interpreter while it works) then overlaps making the next rows, which at 250,000
    students saves about a second. At most a few chunks wait in between."""
    waiting: queue.Queue = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def drain() -> None:
        while (chunk := waiting.get()) is not None:
            if not failed:
                try:
                    out.write(chunk)
                except BaseException as error:  # handed to the caller below
                    failed.append(error)

    writer = threading.Thread(target=drain, name="xlsx-rows", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failed:
                break
            waiting.put(chunk)
    finally:
        waiting.put(None)
        writer.join()
    if failed:
        raise failed[0]
