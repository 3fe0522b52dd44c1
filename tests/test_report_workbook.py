"""The Excel workbook: the right rows, counts that agree, and text that never becomes a formula."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from openpyxl import load_workbook

from audits.model.findings import summarize
from reports.input import ReportInput
from reports.writing import write_reports
from audits.io.cells import csv_cell, csv_frame, looks_like_formula
from reports.samples import (HOSTILE_FORMULA, SAMPLE_GENERATED_AT, SAMPLE_SCHOOLS,
                             sample_findings, synthetic_findings)
from reports.workbook import sheet_names, write_workbook
from reports.workbook.findings import MORE


def preview_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "contact_id": ["C104", "C900"], "name": ["Jennifer Smith", HOSTILE_FORMULA],
        "school_id": ["1021", "3030"], "student_ids": ["S1;S2", "S90"],
        "username": ["j.smith@example.com", None], "status": ["new", "new"],
        "outcome": ["created", "fails"], "reason": ["", "no usable email"]})


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("xlsx")
    report = ReportInput(sample_findings(), preview=preview_frame(), schools=SAMPLE_SCHOOLS,
                         board_name="Demo board", generated_at=SAMPLE_GENERATED_AT,
                         checks={"duplicate-contact": {"summary": "Contact records of one person",
                                                       "why": "", "how": ""}})
    path = write_workbook(report, out / "audit.xlsx")
    return load_workbook(path), report


def rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def test_sheets_are_summary_one_per_check_and_preview(book):
    wb, report = book
    checks = sorted({f.check for f in report.findings})
    assert wb.sheetnames == ["Summary", "By school", *checks, "Preview", "Details"]


def test_each_finding_has_its_row_with_people_fix_and_school(book):
    wb, report = book
    for finding in report.findings:
        sheet = wb[finding.check]
        header = rows(sheet)[0]
        found = [dict(zip(header, row)) for row in rows(sheet)[1:] if row[0] == finding.id]
        # One row per school the finding involves.
        assert sorted(r["School ID"] for r in found) == sorted(finding.school_ids), finding.id
        row = found[0]
        assert row["Severity"] == finding.severity.value
        for entity_id in finding.students + finding.contacts + finding.accounts:
            assert f"({entity_id})" in row["People (name and id)"]
        assert row["Fix action"] == finding.fix["action"]
        assert row["Fix steps"].splitlines()[0].startswith("1. ")
        if not row["Fix steps"].endswith(MORE):
            assert len(row["Fix steps"].splitlines()) == len(finding.fix["steps"])
    dup = dict(zip(rows(wb["duplicate-contact"])[0], rows(wb["duplicate-contact"])[1]))
    assert "Jennifer Smith (C104)" in dup["People (name and id)"]
    assert "first name: Jennifer ~ Jenny" in dup["Evidence"]
    assert dup["School"] == "Maple Grove Public School"
    assert dup["Confidence"] == pytest.approx(0.97)


def test_summary_counts_agree_with_findings(book):
    wb, report = book
    summary = summarize(report.findings)
    table = rows(wb["Summary"])
    by_check = {row[0]: row for row in table if row[0] in summary["by_check"]}
    for check, count in summary["by_check"].items():
        assert by_check[check][5] == count
        errors = sum(1 for f in report.findings if f.check == check and f.severity.value == "error")
        assert by_check[check][2] == errors
    total = next(row for row in table if row[0] == "All checks")
    assert total[5] == len(report.findings)
    school_rows = {row[0]: row for row in table if row[0] in summary["by_school"]}
    assert school_rows["1021"][1] == "Maple Grove Public School"
    assert school_rows["1021"][2] == summary["by_school"]["1021"]
    assert by_check["duplicate-contact"][1] == "Contact records of one person"


def test_summary_links_to_each_check_sheet_and_has_a_bar_chart(book, tmp_path):
    wb, report = book
    sheet = wb["Summary"]
    links = {cell.value: cell.hyperlink.location for row in sheet.iter_rows() for cell in row
             if cell.hyperlink is not None}
    for check in {f.check for f in report.findings}:
        assert links[check] == f"'{check}'!A1"
    assert sheet._charts and sheet._charts[0].tagname == "barChart"


def test_check_sheets_have_frozen_header_filter_and_severity_colours(book):
    wb, _ = book
    sheet = wb["duplicate-contact"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:M")
    assert sheet["B2"].value == "error" and sheet["B2"].fill.fgColor.rgb.endswith("F8D7DA")
    assert sheet["L2"].alignment.wrap_text


def test_formula_text_stays_text(book):
    wb, _ = book
    seen = 0
    for sheet in wb:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and looks_like_formula(cell.value):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate)
                    assert cell.quotePrefix
                    seen += 1
                if cell.value == HOSTILE_FORMULA:
                    seen += 100
    assert seen >= 100  # the hostile name itself appears, as text
    preview = rows(wb["Preview"])
    assert preview[0][:2] == ("Contact", "Name")
    assert (HOSTILE_FORMULA in preview[2]) and wb["Preview"]["B3"].data_type == "s"


def test_formula_text_inside_a_cell_is_written_as_a_string_not_a_formula(tmp_path):
    import zipfile

    report = ReportInput(sample_findings(), preview=preview_frame(), schools=SAMPLE_SCHOOLS)
    path = write_workbook(report, tmp_path / "audit.xlsx")
    with zipfile.ZipFile(path) as archive:
        sheets = "".join(archive.read(n).decode() for n in archive.namelist()
                         if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheets and "<x:f>" not in sheets


def test_csv_neutralising():
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("Jennifer") == "Jennifer"
    assert csv_cell(12) == "12"
    frame = csv_frame(pd.DataFrame({"name": ["-2+3", "Ann", None], "n": [1, 2, 3]}))
    assert frame["name"].tolist()[:2] == ["'-2+3", "Ann"] and pd.isna(frame["name"][2])


def test_sheet_names_are_valid_and_unique():
    names = sheet_names(["a" * 40, "a" * 40 + "b", "summary", "x/y:z"])
    assert all(len(n) <= 31 for n in names.values())
    assert len(set(n.lower() for n in names.values())) == 4
    assert names["summary"] != "Summary" and "/" not in names["x/y:z"]


def test_write_reports_writes_every_output_atomically(tmp_path):
    report = ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS, input_path="demo")
    written = write_reports(report, tmp_path)
    assert set(written) == {"xlsx", "html", "json", "runbooks"}
    assert all(path.exists() for path in written.values())
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob("runbooks/.*.tmp"))
    only = write_reports(report, tmp_path / "only", formats=("json",))
    assert set(only) == {"json", "runbooks"}


def test_unknown_format_is_a_user_error(tmp_path):
    from audits.model.errors import UserError

    with pytest.raises(UserError):
        write_reports(ReportInput([]), tmp_path, formats=("pdf",))


def test_a_board_with_no_findings_still_gets_a_workbook(tmp_path):
    path = write_workbook(ReportInput([]), tmp_path / "audit.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "By school", "Preview", "Details"]


def test_100000_findings_fit(tmp_path):
    findings = synthetic_findings(100_000)
    report = ReportInput(findings)
    started = time.perf_counter()
    path = write_workbook(report, tmp_path / "audit.xlsx")
    print(f"100,000 findings: workbook in {time.perf_counter() - started:.1f} s")
    import zipfile

    from reports.workbook.xlsx import sheet_part

    checks = sorted({f.check for f in findings})
    with zipfile.ZipFile(path) as archive:
        rows_written = [archive.read(sheet_part(archive, check)).count(b"<row ") - 1
                        for check in checks]
    # Every check sheet has a header row plus one row per finding and school.
    assert sum(rows_written) == sum(max(1, len(f.school_ids)) for f in findings)
    assert load_workbook(path, read_only=True).sheetnames[2:-2] == checks


# ---------------------------------------------------------------------------------- printing
def test_every_sheet_prints_landscape_one_page_wide_with_its_header_repeated(book):
    wb, _ = book
    for sheet in wb:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.page_margins.left < 0.75  # narrower than the 0.75" default
        if sheet.title == "By school":
            assert sheet.print_title_rows == "$4:$4"
        elif sheet.title != "Summary":
            assert sheet.print_title_rows == "$1:$1", sheet.title


def test_rows_are_as_tall_as_their_wrapped_text(tmp_path):
    import dataclasses

    from reports.workbook.xlsx import LINE_HEIGHT, MAX_ROW_HEIGHT, text_lines

    findings = sample_findings()
    long_steps = dataclasses.replace(findings[0], fix={
        **findings[0].fix, "steps": [f"Step {n}: " + "open the contact record and " * 6
                                     for n in range(1, 7)]})
    report = ReportInput([long_steps, *findings[1:]], schools=SAMPLE_SCHOOLS,
                         checks={"duplicate-contact": {"summary": "Finds " + "contact " * 40}})
    wb = load_workbook(write_workbook(report, tmp_path / "audit.xlsx"))
    sheet = wb["duplicate-contact"]
    row = next(r for r in range(2, sheet.max_row + 1)
               if sheet.cell(r, 1).value == long_steps.id)
    steps = sheet.cell(row, 12).value
    # Steps too long for a short row are shortened (the whole text is on Details), and the
    # row is as tall as what it shows, never 100 points.
    assert steps.endswith(MORE) and 4 <= text_lines(steps, 60) <= 6
    assert text_lines(steps, 60) * LINE_HEIGHT <= sheet.row_dimensions[row].height
    assert sheet.row_dimensions[row].height <= MAX_ROW_HEIGHT < 100
    assert sheet.cell(row, 1).alignment.vertical == "top"
    # A row of one-line cells keeps the default height, which a spreadsheet may size itself.
    from reports.workbook.xlsx import rows_xml

    short, tall = (row.decode("utf-8") for row in rows_xml(
        [["a", "b"], ["a", "b " * 100]], [(None, None)] * 2, wrap_widths=[None, 40]))
    assert short == '<row r="2"><c r="A2" t="inlineStr"><is><t xml:space="preserve">a</t></is>' \
        '</c><c r="B2" t="inlineStr"><is><t xml:space="preserve">b</t></is></c></row>'
    assert ' ht="' in tall and 'customHeight="1"' in tall
    summary = wb["Summary"]
    what = next(r for r in range(1, summary.max_row + 1)
                if summary.cell(r, 1).value == "duplicate-contact")
    assert summary.cell(what, 2).alignment.wrap_text
    assert summary.row_dimensions[what].height >= 5 * LINE_HEIGHT


def test_text_lines_counts_wrapped_lines():
    from reports.workbook.xlsx import row_height, text_lines

    assert text_lines("", 40) == text_lines(None, 40) == text_lines("short", 40) == 1
    assert text_lines("x" * 200, 40) >= 5
    assert text_lines("a\nb\nc", 40) == 3
    assert row_height(1) is None and row_height(3) > 30 and row_height(10_000) < 100


def test_rows_xml_escapes_a_column_in_bulk_as_it_would_cell_by_cell():
    """The rows are built a column at a time (escaping the column's texts joined); a NUL or
    other illegal character (shown as its escape), markup, a formula, a bool, a number and inf
    come out the same as escaping each cell alone."""
    import re

    from audits.io.cells import visible
    from reports.workbook.xlsx import rows_xml, xml_text

    values = ["a<b>&c", "x\x00y", "=1+1", "bell\x07", "", None, True, 3, 2.5, float("inf")]
    rows = [row.decode("utf-8") for row in rows_xml([[v] for v in values], [(7, 9)])]
    assert f'<t xml:space="preserve">{xml_text("a<b>&c")}</t>' in rows[0]
    assert 'xml:space="preserve">x⟨U+0000⟩y</t>' in rows[1]
    assert ' s="9" t="inlineStr"' in rows[2] and ' s="7" t="inlineStr"' in rows[0]
    assert 'xml:space="preserve">bell⟨U+0007⟩</t>' in rows[3]
    assert rows[4] == '<row r="6"></row>' and rows[5] == '<row r="7"></row>'
    assert '<c r="A8" t="b"><v>1</v></c>' in rows[6]
    assert '<c r="A9" s="7" t="n"><v>3</v></c>' in rows[7] and "<v>2.5</v>" in rows[8]
    assert 'xml:space="preserve">inf</t>' in rows[9]
    # The same texts without a NUL take the joined fast path and agree cell by cell.
    texts = ["a<b>&c", "=1+1", "bell\x07", "plain", "é & ü"]
    fast = [row.decode("utf-8") for row in rows_xml([[t] for t in texts], [(None, 9)])]
    assert [re.search(r'preserve">(.*)</t>', r).group(1) for r in fast] == \
        [xml_text(visible(t)) for t in texts]
