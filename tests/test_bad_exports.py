"""Broken board exports: every problem is reported at once, each naming file, row and column;
and no input at all makes loading fail with anything but a UserError."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audits.model.errors import UserError
from audits.io.loading.folder import load_board
from boards import board_tables, write_csv_board, write_xlsx_board


def problems_of(path, **kwargs) -> tuple[UserError, str]:
    with pytest.raises(UserError) as raised:
        load_board(path, **kwargs)
    return raised.value, raised.value.render(per_kind=50)


def only(error: UserError, kind: str):
    found = [p for p in error.problems if p.kind == kind]
    assert found, f"no {kind} problem in {error.render()}"
    return found


def test_missing_table_and_missing_column_in_two_files_are_both_reported(tmp_path):
    tables = board_tables(siblings=None)
    tables["staff"] = [{"staff_id": "T1", "school_id": "0900", "first_name": "Pat"}]
    error, text = problems_of(write_csv_board(tmp_path, tables))

    missing_table = only(error, "missing-table")
    assert [p.file for p in missing_table] == ["siblings.csv"]
    missing_column = only(error, "missing-column")
    assert [(p.file, p.column) for p in missing_column] == [("staff.csv", "last_name")]
    assert "siblings.csv" in text and "staff.csv, row 1, column last_name" in text


def test_empty_file(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "contacts.csv").write_bytes(b"")
    error, text = problems_of(folder)
    assert [p.file for p in only(error, "empty-file")] == ["contacts.csv"]
    assert "contacts.csv" in text and "empty" in text


def test_duplicate_student_ids_name_every_row(tmp_path):
    students = board_tables()["students"]
    students[1]["student_id"] = "000123"
    error, text = problems_of(write_csv_board(tmp_path, board_tables(students=students)))
    duplicates = only(error, "duplicate-id")
    assert [(p.file, p.row, p.column, p.value) for p in duplicates] == [
        ("students.csv", 2, "student_id", "000123"), ("students.csv", 3, "student_id", "000123")]
    assert "students.csv, row 3, column student_id" in text and "'000123'" in text


def test_sibling_link_to_unknown_student_and_unknown_contact_both_reported(tmp_path):
    siblings = [{"student_id": "000123", "sibling_id": "000124"},
                {"student_id": "000123", "sibling_id": "999"}]
    links = board_tables()["student_contacts"] + [
        {"student_id": "000124", "contact_id": "C77", "relationship": "Mother"}]
    error, text = problems_of(write_csv_board(
        tmp_path, board_tables(siblings=siblings, student_contacts=links)))
    unknown = only(error, "unknown-reference")
    assert {(p.file, p.row, p.column, p.value) for p in unknown} == {
        ("siblings.csv", 3, "sibling_id", "999"),
        ("student_contacts.csv", 4, "contact_id", "C77")}
    assert "siblings.csv, row 3, column sibling_id" in text
    assert "student_contacts.csv, row 4, column contact_id" in text


def test_student_contacts_row_naming_an_unknown_contact(tmp_path):
    links = [{"student_id": "000123", "contact_id": "C9", "portal_access": "Y"}]
    error, text = problems_of(write_csv_board(tmp_path, board_tables(student_contacts=links)))
    [problem] = only(error, "unknown-reference")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "student_contacts.csv", 2, "contact_id", "C9")
    assert "student_contacts.csv, row 2, column contact_id" in text and "'C9'" in text


def test_bad_status_value_reported_as_exported(tmp_path):
    students = board_tables()["students"]
    students[1]["status"] = "Actve"
    error, text = problems_of(write_csv_board(tmp_path, board_tables(students=students)))
    [problem] = only(error, "bad-value")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "students.csv", 3, "status", "Actve")
    assert "students.csv, row 3, column status" in text and "active, inactive" in text


def test_undecodable_file_and_a_bad_flag_elsewhere(tmp_path):
    links = [{"student_id": "000123", "contact_id": "C1", "portal_access": "maybe"}]
    folder = write_csv_board(tmp_path, board_tables(student_contacts=links))
    (folder / "staff.csv").write_bytes(b"staff_id,school_id\n\x81\x8d\x8f\x90,1\n")
    error, text = problems_of(folder)
    assert [p.file for p in only(error, "undecodable-file")] == ["staff.csv"]
    [flag] = only(error, "bad-flag")
    assert (flag.file, flag.row, flag.column, flag.value) == (
        "student_contacts.csv", 2, "portal_access", "maybe")
    assert "staff.csv" in text and "UTF-8" in text
    assert "student_contacts.csv, row 2, column portal_access" in text


def test_bad_flag_spelling_is_reported_with_its_row(tmp_path):
    links = [{"student_id": "000123", "contact_id": "C1", "portal_access": "Y"},
             {"student_id": "000124", "contact_id": "C2", "portal_access": "maybe"}]
    error, text = problems_of(write_csv_board(tmp_path, board_tables(student_contacts=links)))
    [problem] = only(error, "bad-flag")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "student_contacts.csv", 3, "portal_access", "maybe")


def test_utf16_file_is_undecodable(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "schools.csv").write_bytes("school_id,school_name\n1,é\n".encode("utf-16"))
    error, _ = problems_of(folder)
    assert [p.file for p in only(error, "undecodable-file")] == ["schools.csv"]


def test_workbook_missing_a_sheet_and_a_column(tmp_path):
    tables = board_tables(staff=None)
    tables["contacts"] = [{"contact_id": "C1", "first_name": "Jo"}]
    error, text = problems_of(write_xlsx_board(tmp_path / "board.xlsx", tables))
    [missing] = only(error, "missing-table")
    assert missing.file == "board.xlsx" and "staff" in missing.message
    [column] = only(error, "missing-column")
    assert (column.file, column.column) == ("board.xlsx[contacts]", "last_name")
    assert "board.xlsx" in text and "no staff sheet" in text
    assert "board.xlsx[contacts], row 1, column last_name" in text


def test_workbook_problems_name_the_sheet_and_row(tmp_path):
    students = board_tables()["students"]
    students[0]["school_id"] = "4040"
    error, text = problems_of(write_xlsx_board(tmp_path / "b.xlsx",
                                               board_tables(students=students)))
    [problem] = only(error, "unknown-reference")
    assert (problem.file, problem.row, problem.column) == ("b.xlsx[students]", 2, "school_id")


def test_path_that_does_not_exist(tmp_path):
    error, text = problems_of(tmp_path / "nowhere")
    [problem] = only(error, "missing-path")
    assert "nowhere" in text and "does not exist" in text


@pytest.mark.parametrize("name,hint", [("board.xls", ".xlsx"), ("students.csv", "folder"),
                                       ("board.txt", "folder")])
def test_a_file_that_is_not_an_export_says_what_to_give(tmp_path, name, hint):
    (tmp_path / name).write_text("student_id\n1\n", encoding="utf-8")
    error, text = problems_of(tmp_path / name)
    [problem] = only(error, "not-an-export")
    assert problem.file == name and hint in problem.message


def test_workbook_that_cannot_be_opened(tmp_path):
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    archive = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("hello.txt", "hi")
    for name in ("broken.xlsx", "empty.xlsx"):
        error, text = problems_of(tmp_path / name)
        assert [p.file for p in only(error, "unreadable-workbook")] == [name]


def test_row_with_too_many_fields(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    with open(folder / "siblings.csv", "a", encoding="utf-8") as handle:
        handle.write("000123,000124,extra,more\n")
    error, text = problems_of(folder)
    [problem] = only(error, "ragged-row")
    assert problem.file == "siblings.csv" and problem.row == 3


def test_duplicate_header_and_blank_required_value_in_another_file(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "schools.csv").write_text("school_id,School Name,school name\n1021,A,B\n",
                                        encoding="utf-8")
    contacts = [{"contact_id": "C1", "first_name": "", "last_name": "Lee"},
                {"contact_id": "C2", "first_name": "Sam", "last_name": "Lee"}]
    write_csv_board(folder, {"contacts": contacts})
    error, text = problems_of(folder)
    [duplicate] = only(error, "duplicate-column")
    assert (duplicate.file, duplicate.column) == ("schools.csv", "school name")
    [blank] = only(error, "blank-value")
    assert (blank.file, blank.row, blank.column) == ("contacts.csv", 2, "first_name")
    # schools.csv could not be read, so school_id references to it are not second-guessed.
    assert not [p for p in error.problems if p.kind == "unknown-reference"]


# --- loading never crashes -----------------------------------------------------------------

STUDENT_HEADER = ["student_id", "school_id", "first_name", "last_name", "date_of_birth",
                  "status"]


def _outcome(folder, students: bytes):
    (folder / "students.csv").write_bytes(students)
    try:
        board = load_board(folder)
    except UserError as error:
        assert error.problems, "a UserError always lists its problems"
        error.render()
        return
    assert set(board.tables) >= {"students", "contacts"}


@pytest.fixture(scope="module")
def valid_folder(tmp_path_factory):
    return write_csv_board(tmp_path_factory.mktemp("fuzz"), board_tables())


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_arbitrary_bytes_as_students_csv_load_or_raise_user_error(valid_folder, data):
    _outcome(valid_folder, data)


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8) | \
    st.sampled_from(["000123", "000124", "1021", "active", "2015-02-30", "", " ", "Inactive"])


@settings(max_examples=15, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=8), max_size=5),
       header=st.permutations(STUDENT_HEADER))
def test_arbitrary_csv_rows_as_students_csv_load_or_raise_user_error(valid_folder, rows, header):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    _outcome(valid_folder, text.getvalue().encode("utf-8"))
