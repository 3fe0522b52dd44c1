"""The workbook's look, through openpyxl: fills and fonts, styled cells, the print setup,
table sheets (frozen, filterable header, set widths) and the stacked bar charts."""

from __future__ import annotations

from copy import copy
from typing import Any, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from audits.io.cells import looks_like_formula, visible
from reports.workbook.xlsx import EXCEL_CELL_LIMIT


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


SUMMARY_SHEET, PREVIEW_SHEET = "Summary", "Preview"
BY_SCHOOL_SHEET, DETAILS_SHEET = "By school", "Details"
CHANGES_SHEET = "Changes since last run"


ROWS_PER_CHUNK = 2000
"""Rows in each piece of sheet XML streamed into the file: big enough that joining is cheap,
small enough that no sheet is ever one string."""


def cell_text(value: Any) -> Any:
    if isinstance(value, str):
        value = visible(value)
        if len(value) > EXCEL_CELL_LIMIT:
            value = value[: EXCEL_CELL_LIMIT - 1] + "…"
    return value


def style_array(sheet, fill, font, alignment, quote: bool, number_format: str | None = None):
    """The StyleArray of a style combination, worked out once per workbook: setting fill or
    alignment on each cell hashes the style objects every time, which dominates big sheets."""
    book = sheet.parent
    cache = book.__dict__.setdefault("_report_styles", {})
    key = (id(fill), id(font), id(alignment), quote, number_format)
    if key not in cache:
        probe = WriteOnlyCell(sheet)
        if number_format is not None:
            probe.number_format = number_format
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


def cell_value(sheet, value: Any, *, fill=None, font=None, alignment=None, link: str | None = None):
    """A value for ``sheet.append``: plain when it needs nothing, else a styled WriteOnlyCell.
    Formula-like text becomes a text cell with a quote prefix, so it displays literally and
    stays text even if someone edits the cell."""
    if value == "":
        return None  # an empty cell costs nothing to write; an empty string does
    value = cell_text(value)
    risky = looks_like_formula(value)
    if not (risky or fill or font or alignment or link):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if risky:
        cell.data_type = "s"
    cell._style = copy(style_array(sheet, fill, font, alignment, risky))
    if link:
        cell.hyperlink = Hyperlink(ref="", location=link)
    return cell


def header_row(sheet, titles: Sequence[str]) -> list:
    return [cell_value(sheet, title, fill=HEADER_FILL, font=HEADER_FONT) for title in titles]


def print_setup(sheet, *, title_rows: str | None = "1:1", grid: bool = True) -> None:
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


def table_sheet(book: Workbook, name: str, columns: Sequence[tuple[str, float]], rows: int):
    """A sheet with a frozen, filterable header row and set column widths; widths and
    filters must be set before the first row streams out."""
    sheet = book.create_sheet(name)
    print_setup(sheet)
    for index, (_, width) in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{max(rows, 1) + 1}"
    sheet.append(header_row(sheet, [title for title, _ in columns]))
    return sheet


def stacked_bars(title: str, data: Reference, categories: Reference, *,
                  x_title: str | None = None) -> BarChart:
    """A horizontal bar chart of ``data`` (one series per column, its header the series name)
    stacked by series, one bar per category."""
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = title
    if x_title:
        chart.x_axis.title = x_title
    chart.y_axis.title = "Findings"
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    return chart
