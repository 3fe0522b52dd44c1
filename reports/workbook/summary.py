"""The Summary sheet (counts by check and severity, links, chart) and the By school sheet
(school × check, with a chart)."""

from __future__ import annotations

from collections import Counter

from openpyxl.chart import Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reports import wording
from reports.workbook.layout import (BY_SCHOOL_SHEET, CHANGES_SHEET, DETAILS_SHEET, LINK_FONT,
                                     PREVIEW_SHEET, SEVERITY_FILLS, SUMMARY_SHEET, TITLE_FONT,
                                     TOP, WRAP, cell_value, header_row, print_setup,
                                     stacked_bars)
from reports.workbook.xlsx import row_height, text_lines


SUMMARY_WIDTH = 60
"""The width of the Summary sheet's wide column (what each check finds)."""


def summary_sheet(book, report, codes, names, by_check, school: str | None = None) -> None:
    """Counts by check and severity (each check linking to its sheet), the schools' counts,
    links to the other sheets, notes on the run, and a chart of the counts."""
    sheet = book.create_sheet(SUMMARY_SHEET)
    print_setup(sheet, title_rows=None, grid=False)
    for column, width in zip("ABCDEF", (28, SUMMARY_WIDTH, 10, 10, 10, 10)):
        sheet.column_dimensions[column].width = width
    title = "CONNECT audit" + (f": {report.board_name}" if report.board_name else "")
    sheet.append([cell_value(sheet, title, font=TITLE_FONT)])
    # The stamp names the export's fingerprint too: it sits in the wide column, where it is
    # never cut short by the cell beside it.
    sheet.append([cell_value(sheet, f"{len(report.findings)} findings"),
                  cell_value(sheet, f"Generated {report.stamp}; click a check to open its sheet")])
    sheet.append([])
    sheet.append(header_row(sheet, ["Check", "What it finds", "Error", "Warning", "Info", "Total"]))
    first_row = 5
    totals = _check_rows(sheet, report, codes, names, by_check, first_row)
    _severity_and_school_rows(sheet, report, totals, school)
    sheet.append([])
    _sheet_links(sheet)
    _run_notes(sheet, report)
    if codes:
        _summary_chart(sheet, first_row, first_row + len(codes) - 1, len(codes))


def _check_rows(sheet, report, codes, names, by_check, first_row: int) -> Counter:
    """A row per check, from ``first_row``, then the row of all checks; returns the totals
    by severity."""
    totals: Counter = Counter()
    for row, code in enumerate(codes, first_row):
        counts = Counter(f.severity.value for f in by_check[code])
        totals.update(counts)
        link = f"'{names[code]}'!A1"
        what = wording.check_text(report.checks.get(code), "summary")
        height = row_height(text_lines(what, SUMMARY_WIDTH))
        if height:  # write-only: a row's height must be set before the row is appended
            sheet.row_dimensions[row].height = height
        sheet.append([
            cell_value(sheet, code, font=LINK_FONT, link=link, alignment=TOP),
            cell_value(sheet, what, alignment=WRAP),
            counts.get("error", 0), counts.get("warning", 0), counts.get("info", 0),
            sum(counts.values()),
        ])
    bold = Font(bold=True)
    sheet.append([cell_value(sheet, "All checks", font=bold), None,
                  *(totals.get(s, 0) for s in wording.SEVERITY_ORDER), sum(totals.values())])
    return totals


def _severity_and_school_rows(sheet, report, totals: Counter, school: str | None) -> None:
    """The findings by severity, then by school (only ``school``'s row in its own workbook:
    it names no other school's counts)."""
    sheet.append([])
    sheet.append(header_row(sheet, ["Severity", "Findings"]))
    for severity in wording.SEVERITY_ORDER:
        sheet.append([cell_value(sheet, wording.SEVERITY_WORDS[severity],
                                 fill=SEVERITY_FILLS[severity]), totals.get(severity, 0)])
    sheet.append([])
    sheet.append(header_row(sheet, ["School ID", "School", "Findings"]))
    by_school = dict((report.summary or {}).get("by_school", {}))
    for school_id, count in sorted(by_school.items(), key=lambda kv: (-kv[1], kv[0])):
        if school is not None and school_id != school:
            continue
        sheet.append([cell_value(sheet, school_id),
                      cell_value(sheet, report.schools.get(school_id, "")), count])


def _sheet_links(sheet) -> None:
    for name, text in ((BY_SCHOOL_SHEET, "Findings by school and check, with a chart"),
                       (PREVIEW_SHEET,
                        "Accounts generation would create, and each one's predicted outcome"),
                       (DETAILS_SHEET,
                        "The whole text of every cell shortened on the check sheets")):
        sheet.append([cell_value(sheet, name, font=LINK_FONT, link=f"'{name}'!A1"), text])


def _run_notes(sheet, report) -> None:
    """What the run compared, left out, did not run or redacted."""
    changes = getattr(report, "changes", None)
    if changes is not None:
        sheet.append([cell_value(sheet, CHANGES_SHEET, font=LINK_FONT,
                                 link=f"'{CHANGES_SHEET}'!A1"),
                      f"Since the previous run: {len(changes.new)} new, "
                      f"{len(changes.resolved)} resolved, {len(changes.still_open)} still open"])
    suppressed = getattr(report, "suppressed", None)
    if suppressed is not None:
        sheet.append(["Suppressed", f"{suppressed.count} left out by recorded decisions; "
                      f"{len(suppressed.stale)} decision(s) no longer match anything"])
    for code, reason in (getattr(report, "skipped", None) or {}).items():
        # A check that did not run shows no count of 0: it says why it did not run.
        sheet.append([cell_value(sheet, f"Not run: {code}"), cell_value(sheet, reason)])
    if getattr(report, "redacted", False):
        sheet.append(["Redacted", "Names reduced to initials; emails, usernames and phones "
                      "masked; addresses withheld. Ids are real."])


def _summary_chart(sheet, first_row: int, last_row: int, checks: int) -> None:
    chart = stacked_bars(
        "Findings by check and severity",
        Reference(sheet, min_col=3, max_col=5, min_row=first_row - 1, max_row=last_row),
        Reference(sheet, min_col=1, min_row=first_row, max_row=last_row))
    chart.height = max(7.5, 1.2 * checks + 3)
    chart.width = 18
    for series, colour in zip(chart.series, ("C0392B", "E0A800", "17A2B8")):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    sheet.add_chart(chart, "H4")


def by_school_sheet(book, report, codes, names, by_check, school: str | None = None) -> None:
    """School (id and name) × check: the findings that involve each school, with totals and
    a bar chart stacked by check. A finding of several schools counts in each of them."""
    sheet = book.create_sheet(BY_SCHOOL_SHEET)
    print_setup(sheet, title_rows="4:4")
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
    sheet.append([cell_value(sheet, "Findings by school", font=TITLE_FONT)])
    sheet.append([cell_value(sheet, "A finding that involves several schools counts once in each "
                               "school's row, so the rows add up to more than the last row, "
                               "which counts each finding once." if school is None else
                               "Findings that involve this school, by check (the check "
                               "sheets' Also in column names the other schools involved).")])
    sheet.append([])
    sheet.append(header_row(sheet, ["School ID", "School", *codes, "All checks"]))
    first_row = 5
    ordered = sorted(schools_seen, key=lambda s: (s == "", s))
    for school_id in ordered:
        label = (report.schools.get(school_id) or school_id) if school_id else wording.NO_SCHOOL
        row = [counts[school_id, code] for code in codes]
        sheet.append([cell_value(sheet, school_id), cell_value(sheet, label), *row, sum(row)])
    last_row = first_row + len(ordered) - 1
    bold = Font(bold=True)
    if school is None:  # a school's own workbook has its one row
        each_once = [len(by_check[code]) for code in codes]
        sheet.append([cell_value(sheet, "All schools", font=bold),
                      cell_value(sheet, "each finding once", font=bold), *each_once,
                      sum(each_once)])
    if not ordered or not codes:
        return
    chart = stacked_bars(
        "Findings by school and check",
        Reference(sheet, min_col=3, max_col=2 + len(codes), min_row=first_row - 1,
                  max_row=last_row),
        Reference(sheet, min_col=2, min_row=first_row, max_row=last_row), x_title="School")
    chart.height = max(7.5, 0.6 * len(ordered) + 4)
    chart.width = 22
    sheet.add_chart(chart, f"A{last_row + 3}")
