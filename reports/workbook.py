"""The Excel workbook analysts hand to principals: a Summary sheet, a By school sheet, one sheet
per check (one row per finding and school, so a filter on School ID picks one school), the
generation Preview and a Details sheet holding the long texts that the check sheets shorten.

openpyxl (write-only mode) writes the workbook: styles, the Summary sheet, the chart, links,
and each table's header, frozen row, filter and widths. The rows of the big sheets (one per
finding, one per previewed account) are then streamed into the saved file as the same XML
openpyxl writes for them, because openpyxl's per-cell objects cost ~10 µs a cell: 100,000
findings took over a minute that way, and now take seconds; memory stays flat either way.

Text that Excel would run as a formula is written as a text cell (an inline string, never a
formula element) with a quote prefix, so it shows, and stays, literal; invisible characters,
and those XML 1.0 forbids, are shown as ``⟨U+XXXX⟩`` (see :mod:`audits.io.cells`), sheet names
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
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

import numpy

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from audits.io.cells import formula_positions, looks_like_formula, visible, visible_texts
from audits.model.findings import Finding
from reports import wording
from audits.io.files import write_atomic

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
    ("Finding ID", 32), ("Severity", 9), ("School ID", 10), ("School", 24), ("Also in", 12),
    ("Title", 42), ("People (name and id)", 40), ("Pairs", 26), ("Username", 28),
    ("Evidence", 44), ("Fix action", 16), ("Fix steps", 60), ("Confidence", 11),
]
SUMMARY_SHEET, PREVIEW_SHEET = "Summary", "Preview"
BY_SCHOOL_SHEET, DETAILS_SHEET = "By school", "Details"
CHANGES_SHEET = "Changes since last run"
CHANGES_COLUMNS: list[tuple[str, float]] = [
    ("Status", 12), ("Finding ID", 26), ("Check", 24), ("Severity", 10), ("School ID", 12),
    ("Title", 70),
]


def write_workbook(report: "ReportInput", path: Path, *, school: str | None = None) -> Path:
    """Write ``audit.xlsx`` to ``path`` (atomically). With ``school`` (a school_id), only that
    school's rows: the workbook :func:`write_school_workbooks` hands its principal."""

    def write(temp: Path) -> None:
        book, streamed, links = _build(report, school)
        book.save(temp)
        if streamed:
            _append_rows(temp, streamed, links)

    return write_atomic(Path(path), write)


SCHOOL_WORKBOOKS = "school-workbooks"
"""The folder, beside ``audit.xlsx``, of ``--workbook-per-school``'s workbooks."""


def school_workbook_name(school_id: str, name: str) -> str:
    """``0002 Maple Grove Public School.xlsx``: a file name that sorts by school id and that a
    principal recognises, with only characters every file system takes."""
    label = f"{school_id} {name}".strip() if name else school_id
    label = re.sub(r"[^\w .,&()'-]+", "_", visible(label)).strip(" .") or "school"
    return label[:100] + ".xlsx"


def write_school_workbooks(report: "ReportInput", folder: Path) -> list[Path]:
    """One workbook per school into ``folder``, each holding only that school's rows (its
    findings, its Preview accounts, the Details of its findings): a file a principal can be
    handed without the other schools' families in it."""
    from reports import ReportInput

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    involved = {s for f in report.findings for s in f.school_ids}
    preview = report.preview
    by_school_preview: dict[str, Any] = {}
    if preview is not None and "school_id" in preview.columns:
        by_school_preview = {str(k): rows for k, rows in preview.groupby("school_id", sort=False)}
    written, used = [], set()
    for school_id in sorted(set(report.schools) | involved | set(by_school_preview)):
        findings = [f for f in report.findings if school_id in f.school_ids]
        rows = by_school_preview.get(school_id)
        if rows is None and preview is not None:
            rows = preview.iloc[0:0]
        name = report.schools.get(school_id, "")
        file_name = school_workbook_name(school_id, name)
        while file_name.lower() in used:
            file_name = file_name[:-5] + "~.xlsx"
        used.add(file_name.lower())
        part = ReportInput(
            findings, preview=None if rows is None else rows.reset_index(drop=True),
            schools=report.schools, checks=report.checks,
            board_name=" – ".join(p for p in (report.board_name, name or school_id) if p),
            generated_at=report.generated_at, input_path=report.input_path,
            fingerprint=report.fingerprint, redacted=report.redacted)
        written.append(write_workbook(part, folder / file_name, school=school_id))
    return written


def sheet_names(checks: Iterable[str]) -> dict[str, str]:
    """A valid, unique sheet name (31 characters, no ``[]:*?/\\``) for each check code."""
    taken = {SUMMARY_SHEET.lower(), PREVIEW_SHEET.lower(), CHANGES_SHEET.lower(),
             BY_SCHOOL_SHEET.lower(), DETAILS_SHEET.lower(), "records"}
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


def _build(report: "ReportInput", school: str | None = None
           ) -> tuple[Workbook, dict[str, Iterator[bytes]], dict[str, list[tuple[str, str]]]]:
    """The workbook with every sheet's header; the rows of the big sheets as XML to stream
    into the saved file (see :func:`_append_rows`); and each streamed sheet's links, as
    (cell, location) pairs. ``school``: only that school's rows."""
    book = Workbook(write_only=True)
    codes = wording.ordered_checks(report.findings, report.checks)
    names = sheet_names(codes)
    by_check: dict[str, list[Finding]] = {code: [] for code in codes}
    for finding in report.findings:
        by_check[finding.check].append(finding)
    _summary_sheet(book, report, codes, names, by_check, school)
    _by_school_sheet(book, report, codes, names, by_check, school)
    streamed: dict[str, Iterator[bytes]] = {}
    links: dict[str, list[tuple[str, str]]] = {}
    details = _Details()
    for code in codes:
        streamed[names[code]], links[names[code]] = _check_sheet(
            book, names[code], by_check[code], report, details, school)
    from reports.records_sheet import RECORDS_SHEET, records_sheet

    # Redacted values (initials, masks) would compare as "same": no Records sheet then.
    groups = [f for f in by_check.get("duplicate-contact", [])
              if school is None or school in f.school_ids]
    records_rows = None if getattr(report, "redacted", False) else records_sheet(book, groups)
    if records_rows is not None:
        streamed[RECORDS_SHEET] = records_rows
    if getattr(report, "changes", None) is not None:
        streamed[CHANGES_SHEET] = _changes_sheet(book, report.changes)
    preview_rows = _preview_sheet(book, report.preview, report.schools)
    if preview_rows is not None:
        streamed[PREVIEW_SHEET] = preview_rows
    details_rows = _details_sheet(book, details)
    if details_rows is not None:
        streamed[DETAILS_SHEET] = details_rows
    return book, streamed, links


# ------------------------------------------------------------------------------------ cells
def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = visible(value)
        if len(value) > EXCEL_CELL_LIMIT:
            value = value[: EXCEL_CELL_LIMIT - 1] + "…"
    return value


def _style_array(sheet, fill, font, alignment, quote: bool, number_format: str | None = None):
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
MAX_CELL_LINES = 6
"""The most lines a row is made tall for (92 points): taller rows, up to Excel's 409-point
limit, printed as pages of wall text. Longer texts are shortened (:func:`short_cell`) and
shown whole on the Details sheet."""
MAX_ROW_HEIGHT = MAX_CELL_LINES * LINE_HEIGHT + 2


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
def _summary_sheet(book, report, codes, names, by_check, school: str | None = None) -> None:
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
        if school is not None and school_id != school:
            continue  # a school's own workbook names no other school's counts
        sheet.append([_cell(sheet, school_id), _cell(sheet, report.schools.get(school_id, "")),
                      count])
    sheet.append([])
    sheet.append([_cell(sheet, BY_SCHOOL_SHEET, font=LINK_FONT,
                        link=f"'{BY_SCHOOL_SHEET}'!A1"),
                  "Findings by school and check, with a chart"])
    sheet.append([_cell(sheet, PREVIEW_SHEET, font=LINK_FONT, link=f"'{PREVIEW_SHEET}'!A1"),
                  "Accounts generation would create, and each one's predicted outcome"])
    sheet.append([_cell(sheet, DETAILS_SHEET, font=LINK_FONT, link=f"'{DETAILS_SHEET}'!A1"),
                  "The whole text of every cell shortened on the check sheets"])
    changes = getattr(report, "changes", None)
    if changes is not None:
        sheet.append([_cell(sheet, CHANGES_SHEET, font=LINK_FONT, link=f"'{CHANGES_SHEET}'!A1"),
                      f"Since the previous run: {len(changes.new)} new, "
                      f"{len(changes.resolved)} resolved, {len(changes.still_open)} still open"])
    suppressed = getattr(report, "suppressed", None)
    if suppressed is not None:
        sheet.append(["Suppressed", f"{suppressed.count} left out by recorded decisions; "
                      f"{len(suppressed.stale)} decision(s) no longer match anything"])
    for code, reason in (getattr(report, "skipped", None) or {}).items():
        # A check that did not run shows no count of 0: it says why it did not run.
        sheet.append([_cell(sheet, f"Not run: {code}"), _cell(sheet, reason)])
    if getattr(report, "redacted", False):
        sheet.append(["Redacted", "Names reduced to initials; emails, usernames and phones "
                      "masked; addresses withheld. Ids are real."])
    if codes:
        chart = _stacked_bars(
            "Findings by check and severity",
            Reference(sheet, min_col=3, max_col=5, min_row=first_row - 1, max_row=last_row),
            Reference(sheet, min_col=1, min_row=first_row, max_row=last_row))
        chart.height = max(7.5, 1.2 * len(codes) + 3)
        chart.width = 18
        for series, colour in zip(chart.series, ("C0392B", "E0A800", "17A2B8")):
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        sheet.add_chart(chart, "H4")


def _stacked_bars(title: str, data: Reference, categories: Reference, *,
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


SHORT_COLUMNS = ("Title", "People (name and id)", "Pairs", "Evidence", "Fix steps")
"""Check-sheet columns whose text is shortened to a few lines (:func:`short_cell`); the whole
text is on the Details sheet, where the row's Finding ID links to. The link is on the ID, not
on the shortened cell: LibreOffice shows a linked cell as one unwrapped line."""
SHORT_CELL_CHARS = 200
MORE = "(more in Details: click the Finding ID)"
ALSO_IN_LISTED = 5
"""Other schools named in a row's "Also in" cell; past that, "+N more"."""


def _cut(text: str, size: int) -> str:
    """``text`` in at most ``size`` characters, cut at a space when one is near, with "…"."""
    if len(text) <= size:
        return text
    cut = text[: max(1, size - 1)]
    space = cut.rfind(" ")
    if space > size * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ;,") + "…"


def short_cell(text: str, width: float) -> str | None:
    """``text`` shortened for a cell ``width`` characters wide: whole lines while they fit in
    about :data:`SHORT_CELL_CHARS` characters and :data:`MAX_CELL_LINES` wrapped lines, the
    next one cut, then :data:`MORE`. None when the text fits as it is."""
    per_line = max(1, int(width * 1.1) - 3)
    if not text:
        return None
    if len(text) <= SHORT_CELL_CHARS:
        # Each line wraps to at most 1 + its length / per_line lines: most texts are within
        # the limit by that bound alone, without counting their lines one by one.
        breaks = text.count("\n")
        if not breaks:
            if -(-len(text) // per_line) <= MAX_CELL_LINES:
                return None
        elif (breaks + 1 + len(text) // per_line <= MAX_CELL_LINES
              or text_lines(text, width) <= MAX_CELL_LINES):
            return None
    kept: list[str] = []
    lines_left, chars_left = MAX_CELL_LINES - 1, SHORT_CELL_CHARS - len(MORE) - 1
    for line in text.split("\n"):
        needs = text_lines(line, width)
        if needs <= lines_left and len(line) < chars_left:
            kept.append(line)
            lines_left, chars_left = lines_left - needs, chars_left - len(line) - 1
            continue
        room = min(chars_left, lines_left * per_line)
        if room >= 24 or not kept:
            kept.append(_cut(line, max(room, 8)))
        break
    return "\n".join(kept + [MORE])


def also_in(school_ids: Sequence[str], here: str) -> str:
    """The finding's other schools, for the row of school ``here``: "0004, 0007"."""
    others = [s for s in school_ids if s != here]
    if len(others) > ALSO_IN_LISTED:
        return ", ".join(others[:ALSO_IN_LISTED]) + f" +{len(others) - ALSO_IN_LISTED} more"
    return ", ".join(others)


def _by_school_sheet(book, report, codes, names, by_check, school: str | None = None) -> None:
    """School (id and name) × check: the findings that involve each school, with totals and
    a bar chart stacked by check. A finding of several schools counts in each of them."""
    sheet = book.create_sheet(BY_SCHOOL_SHEET)
    _print_setup(sheet, title_rows="4:4")
    widths = [10, 34, *(min(24, max(10, len(code) + 2)) for code in codes), 10]
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    counts: Counter = Counter()
    schools_seen: set[str] = set()
    for code in codes:
        for finding in by_check[code]:
            for school_id in finding.school_ids or ("",):
                if school is None or school_id == school:
                    counts[school_id, code] += 1
                    schools_seen.add(school_id)
    sheet.append([_cell(sheet, "Findings by school", font=TITLE_FONT)])
    sheet.append([_cell(sheet, "A finding that involves several schools counts once in each "
                               "school's row, so the rows add up to more than the last row, "
                               "which counts each finding once." if school is None else
                               "Findings that involve this school, by check (the check "
                               "sheets' Also in column names the other schools involved).")])
    sheet.append([])
    sheet.append(_header(sheet, ["School ID", "School", *codes, "All checks"]))
    first_row = 5
    ordered = sorted(schools_seen, key=lambda s: (s == "", s))
    for school_id in ordered:
        label = (report.schools.get(school_id) or school_id) if school_id else wording.NO_SCHOOL
        row = [counts[school_id, code] for code in codes]
        sheet.append([_cell(sheet, school_id), _cell(sheet, label), *row, sum(row)])
    last_row = first_row + len(ordered) - 1
    bold = Font(bold=True)
    if school is None:  # a school's own workbook has its one row
        each_once = [len(by_check[code]) for code in codes]
        sheet.append([_cell(sheet, "All schools", font=bold),
                      _cell(sheet, "each finding once", font=bold), *each_once,
                      sum(each_once)])
    if not ordered or not codes:
        return
    chart = _stacked_bars(
        "Findings by school and check",
        Reference(sheet, min_col=3, max_col=2 + len(codes), min_row=first_row - 1,
                  max_row=last_row),
        Reference(sheet, min_col=2, min_row=first_row, max_row=last_row), x_title="School")
    chart.height = max(7.5, 0.6 * len(ordered) + 4)
    chart.width = 22
    sheet.add_chart(chart, f"A{last_row + 3}")


def finding_texts(finding: Finding) -> list:
    """The columns of :data:`CHECK_COLUMNS` that are the same on every school's row of the
    finding: Title to Confidence (School ID, School and Also in are per row)."""
    fix = finding.fix
    return [
        finding.title,
        wording.people_text(finding),
        wording.pairs_text(finding),
        finding.username or "",
        wording.evidence_text(finding.evidence),
        wording.fix_action(fix),
        "\n".join(wording.fix_steps(fix)),
        round(float(finding.confidence), 4),
    ]


def finding_values(finding: Finding, schools, school: str | None = None) -> list[list]:
    """The finding's check-sheet rows, with the values of :data:`CHECK_COLUMNS` in order: one
    row per school it involves (one with no school when it has none), so a filter on School
    ID shows exactly one school's findings; "Also in" names the finding's other schools, so
    rows are not taken for separate findings. ``school``: only that school's row."""
    texts = finding_texts(finding)
    ids = list(finding.school_ids) or [""]
    return [[finding.id, finding.severity.value, sid,
             schools.get(sid, "") if sid else wording.NO_SCHOOL, also_in(finding.school_ids, sid),
             *texts] for sid in ids if school is None or sid == school]


ROWS_PER_CHUNK = 2000
"""Rows in each piece of sheet XML streamed into the file: big enough that joining is cheap,
small enough that no sheet is ever one string."""

WRAPPED_COLUMNS = {"School", "Title", "People (name and id)", "Pairs", "Evidence", "Fix steps"}


class _Details:
    """The long texts the check sheets shorten, for the Details sheet: a text's lines run over
    as many rows as they need, a few wrapped lines to a row, so no row is tall and the sheet
    prints densely."""

    WIDTH = 150
    COLUMNS: list[tuple[str, float]] = [("Finding ID", 32), ("Field", 14), ("Text", WIDTH)]
    ROW_LINES = 4
    ROW_CHARS = ROW_LINES * (int(WIDTH * 1.1) - 3)

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, finding: Finding, field: str, text: str) -> str:
        """Add ``text``; returns the location of its first row, for a link."""
        first = len(self.rows) + 2
        field = DETAIL_FIELDS.get(field, field)
        pieces: list[str] = []
        for line in text.split("\n"):
            while len(line) > self.ROW_CHARS:
                piece = _cut(line, self.ROW_CHARS)[:-1]
                pieces.append(piece + "…")
                line = "…" + line[len(piece):].lstrip()
            pieces.append(line)
        # Evidence fields are short: run on, they fill the wide column instead of a line each
        # (printed, the Details sheet is most of the workbook). Steps stay one to a line.
        run_on = field != "Fix steps"
        joiner = " · " if run_on else "\n"
        per_line = max(1, int(self.WIDTH * 1.1) - 3)
        row: list[str] = []
        size = 0  # the row's characters (run on) or wrapped lines (one piece to a line)
        for piece in pieces:
            grows = len(piece) + 3 if run_on else max(1, -(-len(piece) // per_line))
            lines = -(-(size + grows) // per_line) if run_on else size + grows
            if row and lines > self.ROW_LINES:
                self.rows.append((finding.id, field, joiner.join(row)))
                row, size = [], 0
                grows = len(piece) if run_on else grows
            row.append(piece)
            size += grows
        if row:
            self.rows.append((finding.id, field, joiner.join(row)))
        return f"'{DETAILS_SHEET}'!A{first}"


DETAIL_FIELDS = {"People (name and id)": "People"}


def _check_sheet(book, name: str, findings: list[Finding], report, details: "_Details",
                 school: str | None = None) -> tuple[Iterator[bytes], list[tuple[str, str]]]:
    """The check sheet's header; its rows as XML, and the links to the Details sheet (from the
    Finding ID of a row whose text was shortened) as (cell, location) pairs."""
    schools = report.schools
    titles = [title for title, _ in CHECK_COLUMNS]
    short = {titles.index(t): (t, dict(CHECK_COLUMNS)[t]) for t in SHORT_COLUMNS}
    rows: list[list] = []
    linked: set[str] = set()
    links: list[tuple[str, str]] = []
    for finding in findings:
        finding_rows = finding_values(finding, schools, school)
        if not finding_rows:
            continue
        first = finding_rows[0]
        target = None
        for at, (title, width) in short.items():
            value = first[at]
            shortened = short_cell(value, width) if isinstance(value, str) else None
            if shortened is not None:
                location = details.add(finding, title, value)
                target = target or location
                for row in finding_rows:
                    row[at] = shortened
        if target is not None:
            linked.add(finding.id)
        for row in finding_rows:
            if target is not None:
                links.append((f"A{len(rows) + 2}", target))
            rows.append(row)
    sheet = _table_sheet(book, name, CHECK_COLUMNS, len(rows))
    styles = book._cell_styles
    # Rows are as tall as their longest text: every cell aligns to the top, where reading starts.
    top = styles.add(_style_array(sheet, None, None, TOP, False))
    top_quote = styles.add(_style_array(sheet, None, None, TOP, True))
    wrap = styles.add(_style_array(sheet, None, None, WRAP, False))
    wrap_quote = styles.add(_style_array(sheet, None, None, WRAP, True))
    percent = styles.add(_style_array(sheet, None, None, TOP, False, CONFIDENCE_FORMAT))
    severity = {value: styles.add(_style_array(sheet, fill, None, TOP, False))
                for value, fill in SEVERITY_FILLS.items()}
    link = styles.add(_style_array(sheet, None, LINK_FONT, TOP, False))
    column_styles = []
    for title, _ in CHECK_COLUMNS:
        if title == "Finding ID":
            column_styles.append(({f.id: link if f.id in linked else top for f in findings},
                                  top_quote))
        elif title == "Severity":
            column_styles.append((severity, top_quote))
        elif title == "Confidence":
            column_styles.append((percent, top_quote))
        elif title in WRAPPED_COLUMNS:
            column_styles.append((wrap, wrap_quote))
        else:
            column_styles.append((top, top_quote))
    wrap_widths = [width if title in WRAPPED_COLUMNS else None for title, width in CHECK_COLUMNS]
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in CHECK_COLUMNS]
    return _columns_xml(columns, column_styles, wrap_widths=wrap_widths,
                        rows_per_chunk=ROWS_PER_CHUNK), links


CONFIDENCE_FORMAT = "0.0%"


def _details_sheet(book, details: "_Details") -> Iterator[bytes] | None:
    """The whole text of every shortened check-sheet cell, one line a row."""
    sheet = _table_sheet(book, DETAILS_SHEET, details.COLUMNS, len(details.rows))
    if not details.rows:
        sheet.append(["No text was shortened: every cell shows its whole text."])
        return None
    styles = book._cell_styles
    top = styles.add(_style_array(sheet, None, None, TOP, False))
    top_quote = styles.add(_style_array(sheet, None, None, TOP, True))
    wrap = styles.add(_style_array(sheet, None, None, WRAP, False))
    wrap_quote = styles.add(_style_array(sheet, None, None, WRAP, True))
    column_styles = [(top, top_quote)] * 2 + [(wrap, wrap_quote)]
    return _rows_xml(details.rows, column_styles, wrap_widths=[None, None, details.WIDTH],
                     rows_per_chunk=ROWS_PER_CHUNK)


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


PREVIEW_HEADERS = {
    "contact_id": "Contact", "name": "Name", "school_id": "School ID", "school": "School",
    "student_ids": "Students", "student_count": "Number of students", "username": "Username",
    "username_key": "Username as compared", "username_problem": "Username problem",
    "status": "SIS screen shows", "outcome": "Outcome", "reason": "Why",
    "related": "Related records",
}
"""The Preview sheet's headers: what each preview column (audits/preview.py) means."""
PREVIEW_WIDTHS = {"Name": 26, "School": 28, "Students": 24, "Username": 30,
                  "Username problem": 24, "Outcome": 36, "Why": 60, "Related records": 20}
PREVIEW_WRAPPED = ("Outcome", "Why")


def preview_for_people(preview: "pd.DataFrame", schools: Mapping[str, str]) -> "pd.DataFrame":
    """The preview as the Preview sheet shows it: human headers, outcomes in words, each
    school's name beside its id, and no column that says nothing (a status that is the same
    on every row, the username as compared when it is the username)."""
    from audits.preview import OUTCOME_WORDS

    frame = preview.copy(deep=False)
    if "status" in frame.columns and frame["status"].nunique(dropna=False) <= 1:
        # The SIS screen shows "Will be created" on every row, whatever then happens to it:
        # beside a refusal, that reads as a contradiction, and it says nothing row by row.
        frame = frame.drop(columns="status")
    if {"username", "username_key"} <= set(frame.columns) and (
            frame["username_key"].fillna("").astype(str)
            == frame["username"].fillna("").astype(str)).all():
        frame = frame.drop(columns="username_key")
    if "school_id" in frame.columns and schools and "school" not in frame.columns:
        at = list(frame.columns).index("school_id") + 1
        frame.insert(at, "school", frame["school_id"].map(dict(schools)))
    if "outcome" in frame.columns:
        frame["outcome"] = frame["outcome"].map(OUTCOME_WORDS).fillna(frame["outcome"])
    if "reason" in frame.columns:
        frame["reason"] = [r[:1].upper() + r[1:] if isinstance(r, str) else r
                           for r in frame["reason"].tolist()]
    return frame.rename(columns={c: PREVIEW_HEADERS.get(str(c), str(c).replace("_", " ")
                                                        .capitalize())
                                 for c in frame.columns})


def _preview_sheet(book, preview: "pd.DataFrame | None",
                   schools: Mapping[str, str] | None = None) -> Iterator[bytes] | None:
    """The Preview sheet's header, through openpyxl; its rows come back as XML to stream into
    the saved file (:func:`_append_rows`): a 400,000-row preview through openpyxl's cell
    objects alone takes about a minute."""
    if preview is None:
        columns = [("Preview", 60)]
        sheet = _table_sheet(book, PREVIEW_SHEET, columns, 1)
        sheet.append(["No generation preview was given."])
        return None
    shown = preview_for_people(preview, schools or {})
    titles = [str(c) for c in shown.columns]
    widths = [PREVIEW_WIDTHS.get(t, min(60, max(12, len(t) + 4))) for t in titles]
    sheet = _table_sheet(book, PREVIEW_SHEET, list(zip(titles, widths)), len(shown))
    styles = book._cell_styles
    quote_style = styles.add(_style_array(sheet, None, None, None, True))
    wrap = styles.add(_style_array(sheet, None, None, WRAP, False))
    wrap_quote = styles.add(_style_array(sheet, None, None, WRAP, True))
    columns = [_preview_values(shown[c]) for c in shown.columns]
    column_styles = [(wrap, wrap_quote) if t in PREVIEW_WRAPPED else (None, quote_style)
                     for t in titles]
    wrap_widths = [w if t in PREVIEW_WRAPPED else None for t, w in zip(titles, widths)]
    return _columns_xml(columns, column_styles, wrap_widths=wrap_widths,
                        rows_per_chunk=ROWS_PER_CHUNK)


def _xml_text(value: str) -> str:
    """A text already :func:`~audits.io.cells.visible`, cut to a cell and escaped for XML."""
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
    # Numbers take the column's style too (its number format: Confidence as a percentage).
    number_mid = (f'" s="{style}" t="n"><v>' if isinstance(style, int) and style
                  else '" t="n"><v>').encode()
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
            mids[at], shown[at] = number_mid, repr(value).encode()
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


def _hyperlinks_xml(links: Sequence[tuple[str, str]]) -> bytes:
    """A sheet's ``<hyperlinks>``: links within the workbook (``location``) need no
    relationship part, so they can be written beside streamed rows."""
    if not links:
        return b""
    return ("<hyperlinks>" + "".join(
        f'<hyperlink ref="{ref}" location="{_xml_text(location).replace(chr(34), "&quot;")}"/>'
        for ref, location in links) + "</hyperlinks>").encode("utf-8")


# The elements a worksheet may have after <hyperlinks>, in the schema's order: the links go
# before the first of them that the sheet has.
_AFTER_HYPERLINKS = ("<printOptions", "<pageMargins", "<pageSetup", "<headerFooter",
                     "<rowBreaks", "<colBreaks", "<customProperties", "<cellWatches",
                     "<ignoredErrors", "<smartTags", "<drawing", "<legacyDrawing", "<picture",
                     "<oleObjects", "<controls", "<webPublishItems", "<tableParts", "<extLst",
                     "</worksheet>")


def _append_rows(path: Path, sheets: dict[str, Iterator[bytes]],
                 links: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> None:
    """Stream each sheet's rows into the saved workbook, before its ``</sheetData>``, and its
    links (``links[sheet]``, (cell, location) pairs) where the schema puts them."""
    rebuilt = path.with_name(path.name + ".rows")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(
                rebuilt, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as target:
            parts = {_sheet_part(source, name): name for name in sheets}
            for info in source.infolist():
                name = parts.get(info.filename)
                if name is None:
                    with source.open(info) as data, target.open(info.filename, "w") as out:
                        shutil.copyfileobj(data, out, 1 << 20)
                    continue
                xml = source.read(info).decode("utf-8")
                cut = xml.rindex("</sheetData>")
                tail = xml[cut:]
                rows = sheets[name]
                hyperlinks = _hyperlinks_xml((links or {}).get(name, ()))
                with target.open(info.filename, "w", force_zip64=True) as out:
                    out.write(xml[:cut].encode("utf-8"))
                    _write_beside(out, rows)
                    if hyperlinks:
                        at = min(i for i in (tail.find(tag) for tag in _AFTER_HYPERLINKS)
                                 if i >= 0)
                        out.write(tail[:at].encode("utf-8"))
                        out.write(hyperlinks)
                        tail = tail[at:]
                    out.write(tail.encode("utf-8"))
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
