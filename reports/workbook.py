"""The Excel workbook analysts hand to principals: a Summary sheet, one sheet per check, and the
generation Preview.

openpyxl (write-only mode) writes the workbook: styles, the Summary sheet, the chart, links,
and each table's header, frozen row, filter and widths. The rows of the big sheets (one per
finding, one per previewed account) are then streamed into the saved file as the same XML
openpyxl writes for them, because openpyxl's per-cell objects cost ~10 µs a cell: 100,000
findings took over a minute that way, and now take seconds; memory stays flat either way.

Text that Excel would run as a formula is written as a text cell (an inline string, never a
formula element) with a quote prefix (see :mod:`reports.safety`), so it shows, and stays,
literal.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import zipfile
from collections import Counter
from copy import copy
from pathlib import Path
from xml.etree import ElementTree
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from audits.findings import Finding
from reports import wording
from reports.files import write_atomically
from reports.safety import FORMULA_STARTS, looks_like_formula

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
        base = re.sub(r"[\[\]:*?/\\']", "_", code)[:31] or "check"
        name, n = base, 2
        while name.lower() in taken:
            suffix = f"~{n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        names[code] = name
    return names


def _build(report: "ReportInput") -> tuple[Workbook, dict[str, Iterator[str]]]:
    """The workbook with every sheet's header, and the rows of the big sheets as XML to stream
    into the saved file (see :func:`_append_rows`)."""
    book = Workbook(write_only=True)
    codes = wording.ordered_checks(report.findings, report.checks)
    names = sheet_names(codes)
    by_check: dict[str, list[Finding]] = {code: [] for code in codes}
    for finding in report.findings:
        by_check[finding.check].append(finding)
    _summary_sheet(book, report, codes, names, by_check)
    streamed: dict[str, Iterator[str]] = {}
    for code in codes:
        streamed[names[code]] = _check_sheet(book, names[code], by_check[code], report)
    if getattr(report, "changes", None) is not None:
        streamed[CHANGES_SHEET] = _changes_sheet(book, report.changes)
    preview_rows = _preview_sheet(book, report.preview)
    if preview_rows is not None:
        streamed[PREVIEW_SHEET] = preview_rows
    return book, streamed


# ------------------------------------------------------------------------------------ cells
def _text(value: Any) -> Any:
    if isinstance(value, str):
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
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
    sheet.append([f"Generated {report.stamp}",
                  _cell(sheet, f"{len(report.findings)} findings; click a check to open its sheet")])
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


WRAPPED_COLUMNS = {"School", "Title", "People (name and id)", "Pairs", "Evidence", "Fix steps"}


def _check_sheet(book, name: str, findings: list[Finding], report) -> Iterator[str]:
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
                     wrap_widths=wrap_widths)


def _changes_sheet(book, changes) -> Iterator[str]:
    """New, resolved and still-open findings since the previous run, one row each."""
    frame = changes.frame()
    sheet = _table_sheet(book, CHANGES_SHEET, CHANGES_COLUMNS, len(frame))
    quote = book._cell_styles.add(_style_array(sheet, None, None, None, True))
    rows = frame[["status", "id", "check", "severity", "school_ids", "title"]].itertuples(
        index=False, name=None)
    return _rows_xml(rows, [(None, quote)] * len(CHANGES_COLUMNS))


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


def _preview_sheet(book, preview: "pd.DataFrame | None") -> Iterator[str] | None:
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
    return _columns_xml(columns, [(None, quote_style)] * len(columns))


def _xml_text(value: str) -> str:
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(value) > EXCEL_CELL_LIMIT:
        value = value[: EXCEL_CELL_LIMIT - 1] + "…"
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rows_xml(rows: Iterable[Sequence], column_styles: Sequence[tuple[Any, int]],
              first_row: int = 2, wrap_widths: Sequence[float | None] = ()) -> Iterator[str]:
    """``<row>`` elements, the way openpyxl writes them: text as inline strings (never
    formulas; formula-like text gets the quote-prefix style), numbers as numbers, missing
    values as no cell. ``column_styles[i]`` is ``(style, quote_style)``: the cell style id of
    column i (or a dict from the cell's text to a style id, or None), and the one to use when
    its text looks like a formula. ``wrap_widths[i]``, when given, is the width of a column
    whose text wraps: the row gets the height of its tallest wrapped cell (``ht`` with
    ``customHeight``), since neither openpyxl nor LibreOffice sizes streamed rows."""
    rows = [list(row) for row in rows]
    width = len(column_styles)
    columns = [[row[i] if i < len(row) else None for row in rows] for i in range(width)]
    return _columns_xml(columns, column_styles, first_row, wrap_widths)


# Illegal XML characters other than NUL, which joins a column's texts for bulk escaping.
_ILLEGAL_BUT_NUL_RE = re.compile(r"[\001-\010\013\014\016-\037]")


def _escaped_texts(texts: list[str]) -> list[str]:
    """``_xml_text`` of every text, done on the column joined into one string (a few C-speed
    passes instead of several calls per cell)."""
    joined = "\0".join(texts)
    if (joined.count("\0") != len(texts) - 1
            or max(map(len, texts), default=0) > EXCEL_CELL_LIMIT):
        return [_xml_text(text) for text in texts]  # rare: a NUL in the data, or huge cells
    if _ILLEGAL_BUT_NUL_RE.search(joined):
        joined = _ILLEGAL_BUT_NUL_RE.sub("", joined)
    joined = joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return joined.split("\0")


def _column_cells(letter: str, values: list, numbers: list[str], style, quote_style) -> list[str]:
    """Each row's ``<c>`` element of one column ("" for no cell)."""
    cells = [""] * len(values)
    if all(value.__class__ is str or value is None for value in values):
        # The common case (text columns), without the per-value type dispatch below.
        text_at = [at for at, value in enumerate(values) if value]
        texts = [values[at] for at in text_at]
        values = []
    else:
        text_at, texts = [], []
    for at, value in enumerate(values):
        if value is None or value == "":
            continue
        if isinstance(value, str):
            text_at.append(at)
            texts.append(value)
        elif isinstance(value, bool):
            cells[at] = f'<c r="{letter}{numbers[at]}" t="b"><v>{int(value)}</v></c>'
        elif isinstance(value, (int, float)) and math.isfinite(value):
            cells[at] = f'<c r="{letter}{numbers[at]}" t="n"><v>{value!r}</v></c>'
        else:
            text_at.append(at)
            texts.append(str(value))
    if not texts:
        return cells
    escaped = _escaped_texts(texts)
    quote_attr = f' s="{quote_style}"' if quote_style else ""
    if isinstance(style, dict):
        attrs = [quote_attr if text.startswith(FORMULA_STARTS) else
                 (f' s="{style.get(text)}"' if style.get(text) else "") for text in texts]
    else:
        plain_attr = f' s="{style}"' if style else ""
        attrs = [quote_attr if text.startswith(FORMULA_STARTS) else plain_attr
                 for text in texts]
    head = f'<c r="{letter}'
    for at, attr, text in zip(text_at, attrs, escaped):
        cells[at] = (f'{head}{numbers[at]}"{attr} t="inlineStr"><is>'
                     f'<t xml:space="preserve">{text}</t></is></c>')
    return cells


def _columns_xml(columns: Sequence[list], column_styles: Sequence[tuple[Any, int]],
                 first_row: int = 2, wrap_widths: Sequence[float | None] = ()
                 ) -> Iterator[str]:
    """:func:`_rows_xml` of rows given column by column: each column's cells are built in
    one pass, then each row is a join of its precomputed cells."""
    count = max((len(c) for c in columns), default=0)
    numbers = [str(n) for n in range(first_row, first_row + count)]
    letters = [get_column_letter(i) for i in range(1, len(column_styles) + 1)]
    cell_columns = [_column_cells(letter, list(values), numbers, style, quote)
                    for letter, (style, quote), values in zip(letters, column_styles, columns)]
    heights = [""] * count
    wrapped = [(columns[i], w) for i, w in enumerate(wrap_widths) if w and i < len(columns)]
    if wrapped:
        for at in range(count):
            height = row_height(max((text_lines(values[at], w) for values, w in wrapped),
                                    default=1))
            if height:
                heights[at] = f' ht="{height}" customHeight="1"'
    for number, size, cells in zip(numbers, heights, zip(*cell_columns)):
        yield f'<row r="{number}"{size}>{"".join(cells)}</row>'


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


def _append_rows(path: Path, sheets: dict[str, Iterator[str]], batch: int = 5000) -> None:
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
                    chunk: list[str] = []
                    for row in rows:
                        chunk.append(row)
                        if len(chunk) >= batch:
                            out.write("".join(chunk).encode("utf-8"))
                            chunk.clear()
                    out.write("".join(chunk).encode("utf-8"))
                    out.write(xml[cut:].encode("utf-8"))
        os.replace(rebuilt, path)
    finally:
        rebuilt.unlink(missing_ok=True)
