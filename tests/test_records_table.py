"""Side-by-side evidence of a duplicate-contact group (reports/records.py): one column per
record, the kept one first, one row per field, each value's agreement with the others; and
the same table in the HTML report's data and the workbook's Records sheet."""

from __future__ import annotations

import openpyxl

from reports.input import ReportInput
from reports.html import report_data
from reports.records import records_table
from reports.workbook import write_workbook

from boards import three_records


def _cells(table, field):
    row = next(r for r in table["rows"] if r["field"] == field)
    return [(c["text"], c["level"], c.get("note", "")) for c in row["cells"]]


def test_one_column_per_record_the_kept_one_first():
    table = records_table(three_records())
    assert [(r["id"], r["role"]) for r in table["records"]] == \
        [("C1", "kept"), ("C2", "merged"), ("C3", "merged")]
    assert [r["field"] for r in table["rows"]] == [
        "first_name", "last_name", "email", "home_phone", "cell_phone", "work_phone", "street",
        "city", "postal_code", "students", "relationship", "portal_access"]
    # A doubled space in a name shows in the column's heading too.
    assert table["records"][1]["name"] == "Jennifer␣␣␣SMITH"


def test_levels_hidden_spaces_case_and_nickname():
    table = records_table(three_records())
    assert _cells(table, "first_name") == [
        ("Jennifer", "similar", "spacing differs"),  # the same but for C2's trailing spaces
        ("Jennifer␣␣", "similar", "spacing differs"),
        ("Jenny", "similar", "nickname")]
    assert _cells(table, "last_name") == [
        ("Smith", "same", ""), ("SMITH", "similar", "case differs"), ("Smith", "same", "")]
    assert _cells(table, "email") == [
        ("jen@x.ca", "similar", "case differs"), ("Jen@X.ca", "similar", "case differs"),
        ("", "missing", "")]
    assert _cells(table, "street")[2] == ("99 Oak Ave", "different", "")
    assert _cells(table, "street")[1][1] == "similar"
    assert _cells(table, "postal_code")[1] == ("k1a0b1", "similar",
                                               "spacing differs, case differs")
    assert _cells(table, "city") == [("Ottawa", "same", ""), ("Ottawa", "same", ""),
                                     ("Gatineau", "different", "")]
    work = next(r for r in table["rows"] if r["field"] == "work_phone")
    assert work["level"] == "missing" and {c["level"] for c in work["cells"]} == {"missing"}


def test_a_phone_says_which_field_of_which_record_holds_the_same_number():
    table = records_table(three_records())
    cell, home = _cells(table, "cell_phone"), _cells(table, "home_phone")
    assert cell[0] == ("613-555-0101", "similar", "same number as C2's home phone")
    assert cell[2][1] == "different"  # another number
    assert home[1] == ("(613) 555-0101", "similar", "same number as C1's cell phone")


def test_students_by_name_relationship_and_portal_access():
    table = records_table(three_records())
    students = next(r for r in table["rows"] if r["field"] == "students")
    assert [c["lines"] for c in students["cells"]] == [
        ["Ava Smith (S1), Mother"], ["Ben Smith (S2), mother"], ["Cleo Smith (S3), Mother"]]
    assert _cells(table, "relationship") == [
        ("Mother", "same", ""), ("mother", "similar", "case differs"), ("Mother", "same", "")]
    assert [c[:2] for c in _cells(table, "portal_access")] == [
        ("yes", "same"), ("yes", "same"), ("no", "different")]


def test_no_table_for_another_check_or_without_records():
    finding = three_records()
    from dataclasses import replace

    assert records_table(replace(finding, check="username-clash")) is None
    assert records_table(replace(finding, fix={"action": "merge-contacts"})) is None


def test_the_html_reports_details_carry_the_table():
    finding = three_records()
    data = report_data(ReportInput([finding]))
    table = records_table(finding)
    carried = data["details"][0]["records"]
    assert carried["records"] == table["records"]
    assert [row[:3] for row in carried["rows"]] == \
        [[row["field"], row["label"], row["level"]] for row in table["rows"]]
    first = next(row for row in carried["rows"] if row[0] == "first_name")
    assert first[3][1] == ["Jennifer␣␣", "similar", "spacing differs"]
    students = next(row for row in carried["rows"] if row[0] == "students")
    assert students[3][0][0] == "Ava Smith (S1), Mother"
    # The pairwise words of the fields the table shows are not repeated beside it.
    assert data["details"][0]["evidence"] == {"score": "match confidence 0.97"}


def test_the_workbook_records_sheet_shows_each_group_by_field_with_fill_and_word(tmp_path):
    path = write_workbook(ReportInput([three_records()]), tmp_path / "audit.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["Records"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Finding ID", "Field", "Agreement", "Kept record")
    assert rows[1][:2] == ("duplicate-contact:abc", "Records")
    assert rows[1][3].startswith("C1 Jennifer Smith") and "kept" in rows[1][3]
    by_field = {row[1]: (k, row) for k, row in enumerate(rows) if row[1]}
    k, first = by_field["First name"]
    assert first[2] == "similar"
    assert first[4] == "Jennifer␣␣ (similar: spacing differs)"
    k, last = by_field["Last name"]
    assert last[4] == "SMITH (similar: case differs)"
    fills = {sheet.cell(row=k + 1, column=col).fill.fgColor.rgb for col in (4, 6)}
    assert fills == {"00E3F3E1"}  # "same" (green) for both Smiths
    assert sheet.cell(row=k + 1, column=5).fill.fgColor.rgb == "00FFF2C2"  # similar
    k, email = by_field["Email"]
    assert email[5] == "missing"
    assert sheet.cell(row=k + 1, column=6).fill.fgColor.rgb == "00ECEEF0"
    assert "Work phone" not in by_field  # no record has one
    assert sheet.auto_filter.ref.startswith("A1:")


def test_formula_like_values_stay_text_in_the_records_sheet(tmp_path):
    finding = three_records()
    finding.fix["records"]["C3"]["street"] = "=HYPERLINK(\"http://x\")"
    path = write_workbook(ReportInput([finding]), tmp_path / "audit.xlsx")
    sheet = openpyxl.load_workbook(path)["Records"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)
             and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_portal_access_compares_what_is_granted_not_how_many_students():
    finding = three_records()
    finding.fix["links"].append({"contact_id": "C1", "student_id": "S4",
                                 "relationship": "Mother", "portal_access": True})
    assert _cells(records_table(finding), "portal_access") == [
        ("yes, for all 2 students", "same", ""), ("yes", "same", ""), ("no", "different", "")]


def test_a_redacted_report_shows_no_table_of_masked_values(tmp_path):
    report = ReportInput([three_records()], redacted=True)
    assert "records" not in report_data(report)["details"][0]
    path = write_workbook(report, tmp_path / "audit.xlsx")
    assert "Records" not in openpyxl.load_workbook(path, read_only=True).sheetnames
