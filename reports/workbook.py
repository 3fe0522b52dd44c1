"""The Excel workbook analysts hand to principals: a Summary sheet, one sheet per check, and the
generation Preview.

Written in openpyxl's write-only mode (rows stream to disk), so 100,000 findings or a
400,000-row preview fit in memory. Text that Excel would run as a formula is written as a text
cell with a quote prefix (see :mod:`reports.safety`), so it shows, and stays, literal.
"""

from __future__ import annotations

import math
import re
from copy import copy
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from audits.findings import Finding
from reports import wording
from reports.files import write_atomically
from reports.safety import looks_like_formula

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
EXCEL_CELL_LIMIT = 32_767

CHECK_COLUMNS: list[tuple[str, float]] = [
    ("Finding ID", 26), ("Severity", 10), ("School ID", 12), ("School", 30), ("Title", 55),
    ("People (name and id)", 50), ("Pairs", 34), ("Username", 28), ("Evidence", 42),
    ("Fix action", 18), ("Fix steps", 70), ("Confidence", 11),
]
SUMMARY_SHEET, PREVIEW_SHEET = "Summary", "Preview"


def write_workbook(report: "ReportInput", path: Path) -> Path:
    """Write ``audit.xlsx`` to ``path`` (atomically)."""
    return write_atomically(Path(path), lambda temp: _build(report).save(temp))


def sheet_names(checks: Iterable[str]) -> dict[str, str]:
    """A valid, unique sheet name (31 characters, no ``[]:*?/\\``) for each check code."""
    taken = {SUMMARY_SHEET.lower(), PREVIEW_SHEET.lower()}
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


def _build(report: "ReportInput") -> Workbook:
    book = Workbook(write_only=True)
    codes = wording.ordered_checks(report.findings, report.checks)
    names = sheet_names(codes)
    by_check: dict[str, list[Finding]] = {code: [] for code in codes}
    for finding in report.findings:
        by_check[finding.check].append(finding)
    _summary_sheet(book, report, codes, names, by_check)
    for code in codes:
        _check_sheet(book, names[code], by_check[code], report)
    _preview_sheet(book, report.preview)
    return book


# ------------------------------------------------------------------------------------ cells
def _text(value: Any) -> Any:
    if isinstance(value, str):
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(value) > EXCEL_CELL_LIMIT:
            value = value[: EXCEL_CELL_LIMIT - 1] + "…"
    return value


_STYLE_CACHE: dict[tuple, Any] = {}


def _style_array(sheet, fill, font, alignment, quote: bool):
    """The StyleArray of a style combination, worked out once per workbook: setting fill or
    alignment on each cell hashes the style objects every time, which dominates big sheets."""
    book = sheet.parent
    key = (id(book), id(fill), id(font), id(alignment), quote)
    cached = _STYLE_CACHE.get(key)
    if cached is None or cached[0] is not book:
        probe = WriteOnlyCell(sheet)
        if fill is not None:
            probe.fill = fill
        if font is not None:
            probe.font = font
        if alignment is not None:
            probe.alignment = alignment
        if quote:
            probe.quotePrefix = True
        cached = _STYLE_CACHE[key] = (book, probe._style)
    return cached[1]


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


def _table_sheet(book: Workbook, name: str, columns: Sequence[tuple[str, float]], rows: int):
    """A sheet with a frozen, filterable header row and set column widths; widths and
    filters must be set before the first row streams out."""
    sheet = book.create_sheet(name)
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
    for column, width in zip("ABCDEF", (28, 60, 10, 10, 10, 10)):
        sheet.column_dimensions[column].width = width
    title = "CONNECT audit" + (f": {report.board_name}" if report.board_name else "")
    sheet.append([_cell(sheet, title, font=TITLE_FONT)])
    sheet.append([f"Generated {report.stamp}",
                  _cell(sheet, f"{len(report.findings)} findings; click a check to open its sheet")])
    sheet.append([])
    sheet.append(_header(sheet, ["Check", "What it finds", "Error", "Warning", "Info", "Total"]))
    first_row = 5
    totals = Counter()
    for code in codes:
        counts = Counter(f.severity.value for f in by_check[code])
        totals.update(counts)
        link = f"'{names[code]}'!A1"
        sheet.append([
            _cell(sheet, code, font=LINK_FONT, link=link),
            _cell(sheet, wording.check_text(report.checks.get(code), "summary"), alignment=WRAP),
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


def finding_row(sheet, finding: Finding, schools) -> list:
    fix = finding.fix
    severity = finding.severity.value
    return [
        _cell(sheet, finding.id),
        _cell(sheet, severity, fill=SEVERITY_FILLS.get(severity)),
        _cell(sheet, ", ".join(finding.school_ids)),
        _cell(sheet, "; ".join(schools.get(s, "") for s in finding.school_ids if schools.get(s))),
        _cell(sheet, finding.title),
        _cell(sheet, wording.people_text(finding), alignment=WRAP),
        _cell(sheet, wording.pairs_text(finding)),
        _cell(sheet, finding.username or ""),
        _cell(sheet, wording.evidence_text(finding.evidence), alignment=WRAP),
        _cell(sheet, wording.fix_action(fix)),
        _cell(sheet, "\n".join(wording.fix_steps(fix)), alignment=WRAP),
        round(float(finding.confidence), 4),
    ]


def _check_sheet(book, name: str, findings: list[Finding], report) -> None:
    sheet = _table_sheet(book, name, CHECK_COLUMNS, len(findings))
    schools = report.schools
    for finding in findings:
        sheet.append(finding_row(sheet, finding, schools))


def _preview_values(series) -> list:
    """A preview column as cell values: lists joined, missing values empty, text kept text."""
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


def _preview_sheet(book, preview: "pd.DataFrame | None") -> None:
    if preview is None:
        columns = [("Preview", 60)]
        sheet = _table_sheet(book, PREVIEW_SHEET, columns, 1)
        sheet.append(["No generation preview was given."])
        return
    titles = [str(c) for c in preview.columns]
    widths = [min(60, max(12, len(t) + 4)) for t in titles]
    for index, title in enumerate(titles):
        if title in ("name", "reason", "student_ids"):
            widths[index] = 40
    sheet = _table_sheet(book, PREVIEW_SHEET, list(zip(titles, widths)), len(preview))
    columns = [_preview_values(preview[c]) for c in preview.columns]
    cell = _cell
    for row in zip(*columns):
        sheet.append([cell(sheet, v) if isinstance(v, str) else v for v in row])
