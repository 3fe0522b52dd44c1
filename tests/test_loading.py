"""Loading a board export: CSV folders and workbooks, headers, encodings, mapping, flags."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audits.model.board import TABLES
from audits.model.errors import UserError
from audits.io.loading.folder import load_board, read_export
from audits.io.loading.sniffing import _UTF8_SEQUENCE, _has_utf8_sequence, detect_encoding
from audits.io.loading.workbook import cell_text
from audits.io.mapping import normalize_header

from boards import EXPORT_HEADERS, VALID, board_tables, write_csv_board, write_xlsx_board


def test_header_normalisation_reads_spaces_hyphens_and_case_as_one_column():
    assert {normalize_header(h) for h in ("Student Id", "student-id", "STUDENT_ID",
                                          "  student id ")} == {"student_id"}


def test_csv_folder_and_workbook_with_export_headers_load_to_equal_tables(tmp_path):
    folder = write_csv_board(tmp_path / "csv", board_tables(), headers=EXPORT_HEADERS)
    workbook = write_xlsx_board(tmp_path / "board.xlsx", board_tables(), headers=EXPORT_HEADERS)

    from_csv = load_board(folder)
    from_xlsx = load_board(workbook)

    for name in TABLES:
        pd.testing.assert_frame_equal(from_csv[name], from_xlsx[name], check_dtype=False,
                                      obj=name)
    assert from_csv.students["first_name"].tolist() == ["Ann", "Bo"]
    assert from_csv.source.kind == "csv" and from_xlsx.source.kind == "xlsx"
    assert from_xlsx.file_of("students") == "board.xlsx[students]"
    assert from_csv.source.tables["students"].headers[:2] == ("Student Id", "School ID")


def test_leading_zeros_survive_in_csv_and_workbook(tmp_path):
    board = load_board(write_csv_board(tmp_path / "csv", board_tables()))
    assert board.students["student_id"].tolist() == ["000123", "000124"]
    assert board.students["grade"].tolist() == ["03", "05"]
    assert board.schools["school_id"].tolist() == ["1021", "0900"]

    workbook = load_board(write_xlsx_board(tmp_path / "b.xlsx", board_tables()))
    assert workbook.students["student_id"].tolist() == ["000123", "000124"]
    assert workbook.schools["school_id"].tolist() == ["1021", "0900"]


def test_workbook_numbers_and_dates_read_as_the_export_text(tmp_path):
    students = [
        {"student_id": "000123", "school_id": 1021, "first_name": "Ann", "last_name": "Lee",
         "date_of_birth": dt.datetime(2015, 3, 4), "grade": 3.0},
        {"student_id": "000124", "school_id": 1021, "first_name": "Bo", "last_name": "Lee"},
    ]
    schools = [{"school_id": 1021, "school_name": "North", "school_type": "elementary"}]
    tables = board_tables(students=students, schools=schools, siblings=[],
                          student_contacts=[], staff=[])
    tables["staff"] = [{"staff_id": "T1", "school_id": "1021", "first_name": "P",
                        "last_name": "N"}]
    tables["siblings"] = [{"student_id": "000123", "sibling_id": "000124"}]
    tables["student_contacts"] = [{"student_id": "000123", "contact_id": "C1"}]
    board = load_board(write_xlsx_board(tmp_path / "b.xlsx", tables))
    row = board.students.loc[2]
    assert (row["school_id"], row["date_of_birth"], row["grade"]) == ("1021", "2015-03-04", "3")
    assert board.schools["school_id"].tolist() == ["1021"]


def test_cell_text_keeps_fractions_and_times():
    assert cell_text(2.5) == "2.5"
    assert cell_text(dt.datetime(2020, 1, 2, 8, 30)) == "2020-01-02 08:30:00"
    assert cell_text(dt.date(2020, 1, 2)) == "2020-01-02"
    assert cell_text(True) == "true"
    assert cell_text(None) == ""


@pytest.mark.parametrize("encoding,expected", [("cp1252", "cp1252"), ("utf-8-sig", "utf-8-sig"),
                                               ("utf-8", "utf-8")])
def test_accented_names_load_right_in_every_export_encoding(tmp_path, encoding, expected):
    contacts = [{"contact_id": "C1", "first_name": "Éloïse", "last_name": "Françoise"},
                {"contact_id": "C2", "first_name": "Sam", "last_name": "Garçon"}]
    folder = write_csv_board(tmp_path, board_tables(contacts=contacts), encoding=encoding)
    board = load_board(folder)
    assert board.contacts["first_name"].tolist() == ["Éloïse", "Sam"]
    assert board.contacts["last_name"].tolist() == ["Françoise", "Garçon"]
    assert board.source.tables["contacts"].encoding == expected
    # The byte-order mark is not part of the first header.
    assert board.source.tables["contacts"].headers[0] == "contact_id"


def test_detect_encoding():
    assert detect_encoding("é".encode("utf-8")) == "utf-8"
    assert detect_encoding("é".encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding("é".encode("cp1252")) == "cp1252"
    assert detect_encoding("é".encode("utf-16")) is None
    assert detect_encoding(b"\x81\x8d") is None


def test_mapping_file_renames_headers_and_files(tmp_path):
    headers = {"first_name": "Legal First Name", "student_id": "Pupil Number"}
    tables = board_tables()
    folder = tmp_path / "export"
    write_csv_board(folder, {"students": tables.pop("students")}, headers=headers,
                    names={"students": "Student Export.csv"})
    write_csv_board(folder, tables)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[tables]\n"Student Export" = "students"\n\n'
                       '[students]\n"Legal First Name" = "first_name"\n'
                       '"pupil number" = "student_id"\n', encoding="utf-8")

    board = load_board(folder, mapping=mapping)

    assert board.students["first_name"].tolist() == ["Ann", "Bo"]
    assert board.students["student_id"].tolist() == ["000123", "000124"]
    assert board.file_of("students") == "Student Export.csv"
    with pytest.raises(UserError) as raised:
        load_board(folder)
    assert "students.csv" in raised.value.render()


def test_bad_mapping_file_is_reported(tmp_path):
    folder = write_csv_board(tmp_path / "export", board_tables())
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[tables]\n"x" = "pupils"\n[pupils]\n"a" = "b"\n', encoding="utf-8")
    with pytest.raises(UserError) as raised:
        load_board(folder, mapping=mapping)
    text = raised.value.render()
    assert "mapping.toml" in text and "'pupils'" in text and "[pupils]" in text


@pytest.mark.parametrize("spellings,expected", [
    (("Y", "N"), [True, False]), (("true", "FALSE"), [True, False]), (("1", "0"), [True, False]),
    (("yes", "No"), [True, False]), (("", " y "), [False, True]),
])
def test_portal_access_in_every_contract_spelling(tmp_path, spellings, expected):
    links = [{"student_id": "000123", "contact_id": "C1", "portal_access": spellings[0]},
             {"student_id": "000124", "contact_id": "C2", "portal_access": spellings[1]}]
    board = load_board(write_csv_board(tmp_path, board_tables(student_contacts=links)))
    assert board.student_contacts["portal_access"].tolist() == expected


def test_extra_columns_are_kept_and_optional_tables_are_empty(tmp_path):
    students = [dict(row, **{"Homeroom Teacher": "Ms. K"}) for row in VALID["students"]]
    board = load_board(write_csv_board(tmp_path, board_tables(students=students)))
    assert board.students["homeroom_teacher"].tolist() == ["Ms. K", "Ms. K"]
    assert board.accounts.empty and "account_id" in board.accounts.columns
    assert board.account_students.empty
    assert board.source.tables["accounts"].present is False


def test_optional_tables_load_when_present(tmp_path):
    accounts = [{"account_id": "A1", "username": "jo@example.org", "account_type": "Parent",
                 "school_id": "1021", "person_id": "C1", "status": ""}]
    access = [{"account_id": "A1", "student_id": "000123"}]
    board = load_board(write_csv_board(tmp_path, board_tables(accounts=accounts,
                                                              account_students=access)))
    assert board.accounts.loc[2, "account_type"] == "parent"
    assert board.accounts.loc[2, "status"] == "active"
    assert board.account_students["student_id"].tolist() == ["000123"]


def test_index_is_the_file_row_and_blank_rows_are_dropped(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    lines = (folder / "students.csv").read_text(encoding="utf-8").splitlines()
    (folder / "students.csv").write_text(
        "\n".join([lines[0], lines[1], ",,,,,,", "", lines[2]]) + "\n", encoding="utf-8")
    board = load_board(folder)
    assert board.students.index.tolist() == [2, 5]
    assert board.students.loc[5, "student_id"] == "000124"


def test_table_files_match_by_name_case_insensitively(tmp_path):
    folder = write_csv_board(tmp_path, board_tables(),
                             names={"students": "Students.CSV", "staff": "STAFF.csv"})
    (folder / "notes.csv").write_text("anything\n", encoding="utf-8")
    board = load_board(folder)
    assert len(board.students) == 2 and len(board.staff) == 1
    assert board.file_of("students") == "Students.CSV"


def test_read_export_gives_frames_as_exported(tmp_path):
    folder = write_csv_board(tmp_path, board_tables(), headers=EXPORT_HEADERS)
    export = read_export(folder)
    students = export.frames["students"]
    assert students.loc[2, "status"] == "Active"
    assert students.loc[3, "status"] == ""
    assert export.frames["student_contacts"]["portal_access"].tolist() == ["Y", ""]
    assert "accounts" not in export.frames
    assert export.source.tables["students"].headers[0] == "Student Id"


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["student_id"])
    book.save(path)
    return path


@pytest.mark.parametrize("name", ["board.csv", "board.xls"])
def test_a_renamed_xlsx_is_called_a_workbook_with_the_wrong_extension(tmp_path, name):
    _workbook(tmp_path / "real.xlsx").rename(tmp_path / name)
    with pytest.raises(UserError) as error:
        load_board(tmp_path / name)
    [problem] = error.value.problems
    assert "is an Excel workbook (.xlsx)" in problem.message
    assert "rename it to board.xlsx" in problem.message
    assert "save it" not in problem.message and "give the folder" not in problem.message


def test_a_report_folder_points_at_the_export_inside_it(tmp_path):
    (tmp_path / "findings.json").write_text("{}")
    (tmp_path / "audit.xlsx").write_bytes(b"")
    sample = tmp_path / "sample-board"
    sample.mkdir()
    (sample / "students.csv").write_text("student_id\n")
    with pytest.raises(UserError) as error:
        load_board(tmp_path)
    [problem] = error.value.problems
    assert problem.kind == "report-folder"
    assert "connect-audit report folder" in problem.message
    assert f"the export is in {sample}" in problem.message


def test_a_missing_path_is_named_once(tmp_path):
    from click.testing import CliRunner

    from audits.cli import main

    nowhere = tmp_path / "nope"
    run = CliRunner().invoke(main, ["check", str(nowhere)])
    assert run.exit_code == 2
    assert run.output.count(str(nowhere)) == 1 and "does not exist" in run.output


def test_the_docs_cite_only_files_and_commands_that_exist():
    import re

    root = Path(__file__).resolve().parent.parent
    texts = {path: path.read_text(encoding="utf-8")
             for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]}
    for path, text in texts.items():
        assert "shared/spec/data-contract.md" not in text, path
        assert "fix dry-run" not in text, path
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", text):
            assert (path.parent / target).is_file(), (path, target)
    contract = (root / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert contract.startswith("# Data contract, version 1") and "## 4. findings.json" in contract
    extensions = (root / "docs" / "data-contract-extensions.md").read_text(encoding="utf-8")
    for word in ("`names`", "`household`", "`suppressed`", "Exit code 3", "preview"):
        assert word in extensions


def test_two_files_or_sheets_for_one_table_are_named_in_one_problem(tmp_path):
    folder = write_csv_board(tmp_path / "csv", board_tables())
    (folder / "Students.CSV").write_bytes((folder / "students.csv").read_bytes())
    with pytest.raises(UserError) as raised:
        load_board(folder)
    text = raised.value.render()
    assert "duplicate-table" in text and "hold the students table" in text
    assert "Students.CSV" in text and "students.csv" in text

    # Excel refuses two sheet names that differ only in case, so the second sheet reaches the
    # students table through the mapping file's [tables] section.
    book = write_xlsx_board(tmp_path / "board.xlsx", board_tables())
    workbook = openpyxl.load_workbook(book)
    workbook.copy_worksheet(workbook["students"]).title = "Pupils"
    workbook.save(book)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[tables]\n"Pupils" = "students"\n', encoding="utf-8")
    with pytest.raises(UserError) as raised:
        load_board(book, mapping=mapping)
    text = raised.value.render()
    assert "both sheets 'students' and 'Pupils' hold the students table" in text
    assert "board.xlsx" in text


# --- text as read: encodings, trimming, quoted commas ---------------------------------------

def _students_file(folder: Path, body: bytes) -> Path:
    header = b"student_id,school_id,first_name,last_name\r\n"
    (folder / "students.csv").write_bytes(header + body)
    return folder


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0x41, 0x80, 0x9F, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xEF,
                                 0xF0, 0xF4, 0xF5, 0xFF]), max_size=12).map(bytes))
def test_the_fast_utf8_sequence_search_finds_what_the_pattern_finds(data):
    assert _has_utf8_sequence(data) == bool(_UTF8_SEQUENCE.search(data))


@pytest.mark.parametrize("utf8", ["ë", "€", "😀"], ids=["2-byte", "3-byte", "4-byte"])
def test_utf8_rows_in_a_windows_1252_file_are_a_mixed_encoding_at_the_first_bad_row(
        tmp_path, utf8):
    folder = write_csv_board(tmp_path, board_tables())
    _students_file(folder, "000123,1021,Zoé,Lee\r\n".encode("cp1252")
                   + f"000124,1021,Zo{utf8},Lee\r\n".encode("utf-8"))
    with pytest.raises(UserError) as raised:
        load_board(folder)
    [problem] = raised.value.problems
    assert (problem.kind, problem.file, problem.row) == ("mixed-encoding", "students.csv", 2)


def test_windows_1252_letters_that_only_look_like_utf8_lead_bytes_read_as_1252(tmp_path):
    # "é’" is E9 92: a three-byte UTF-8 lead and one continuation byte, not a sequence.
    folder = write_csv_board(tmp_path, board_tables())
    _students_file(folder, "000123,1021,Zoé’,Lee\r\n000124,1021,Ð,Lee\r\n".encode("cp1252"))
    board = load_board(folder)
    assert board.students["first_name"].tolist() == ["Zoé’", "Ð"]
    assert board.source.tables["students"].encoding == "cp1252"


def test_ids_and_required_values_are_trimmed_of_any_whitespace_other_values_are_not(tmp_path):
    students = [dict(VALID["students"][0], student_id=" 000123\u00a0", first_name="\tAnn ",
                     grade=" 03 ", status=" ACTIVE "), VALID["students"][1]]
    links = [dict(VALID["student_contacts"][0], contact_id="C1 ", portal_access=" yes "),
             VALID["student_contacts"][1]]
    board = load_board(write_csv_board(tmp_path, board_tables(students=students,
                                                              student_contacts=links)))
    row = board.students.loc[2]
    assert (row["student_id"], row["first_name"], row["grade"], row["status"]) == (
        "000123", "Ann", " 03 ", "active")
    assert board.students["status"].tolist() == ["active", "active"]
    assert board.student_contacts["contact_id"].tolist() == ["C1", "C2"]
    assert board.student_contacts["portal_access"].tolist() == [True, False]


def test_a_short_row_among_quoted_commas_is_reported_and_quoted_commas_alone_load(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    _students_file(folder, b'000123,1021,"Ann, Marie",Lee\r\n000124,1021,"Bo, Jr"\r\n')
    with pytest.raises(UserError) as raised:
        load_board(folder)
    [problem] = raised.value.problems
    assert (problem.kind, problem.file, problem.row) == ("ragged-row", "students.csv", 3)
    assert "3 fields but the header has 4" in problem.message

    _students_file(folder, b'000123,1021,"Ann, Marie",Lee\r\n000124,1021,"Bo, ""Jr""",Lee\r\n')
    assert load_board(folder).students["first_name"].tolist() == ["Ann, Marie", 'Bo, "Jr"']


def _rewrite_sheet(path: Path, sheet: str, edit) -> Path:
    """The workbook at ``path`` with one sheet's XML part rewritten by ``edit``."""
    book = openpyxl.load_workbook(path)
    part = f"xl/worksheets/sheet{book.sheetnames.index(sheet) + 1}.xml"
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, edit(content) if info.filename == part else content)
    path.write_bytes(out.getvalue())
    return path


def test_a_formula_with_a_saved_result_reads_as_that_result(tmp_path):
    """What Excel shows: the cached value of a calculated formula (Lee's last name typed as
    =PROPER("lee") and saved), not blank and not the formula."""
    path = write_xlsx_board(tmp_path / "b.xlsx", board_tables())

    def formula(xml: bytes) -> bytes:
        cell = re.search(rb'<c r="D2"[^>]*>.*?</c>', xml).group(0)
        return xml.replace(cell, b'<c r="D2" t="str"><f>PROPER("lee")</f><v>Lee</v></c>')

    board = load_board(_rewrite_sheet(path, "students", formula))
    assert board.students["last_name"].iloc[0] == "Lee"


def test_a_sheet_whose_used_range_starts_right_of_column_a_keeps_its_columns(tmp_path):
    """A blank first column: the sheet is read from A1, so every value stays under its own
    header (a reader that starts at the used range's first cell would keep that too; one that
    mixes the two would shift the values one column)."""
    path = write_xlsx_board(tmp_path / "b.xlsx", board_tables())
    book = openpyxl.load_workbook(path)
    book["schools"].insert_cols(1)
    book.save(path)
    schools = load_board(path).schools
    assert schools["school_id"].tolist() == ["1021", "0900"]
    assert schools["school_name"].tolist() == ["North Public", "Board Office"]


def test_sheets_are_found_by_their_relationships_not_their_part_names(tmp_path):
    """The part of a sheet is named by the workbook's relationships (xl/worksheets/sheet3.xml
    may hold the first sheet): an uncalculated formula is reported on the right sheet."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in board_tables().items():
        sheet = book.create_sheet(name)
        headers = list(rows[0]) if rows else []
        sheet.append(headers)
        for row in rows:
            sheet.append([row.get(h) for h in headers])
    book.move_sheet("students", offset=3)
    book["students"]["D3"] = '=UPPER("lee")'
    book.save(tmp_path / "b.xlsx")
    with pytest.raises(UserError) as failed:
        load_board(tmp_path / "b.xlsx")
    found = [p for p in failed.value.problems if p.kind == "uncalculated-formula"]
    assert [(p.file, p.row, p.column) for p in found] == [("b.xlsx[students]", 3, "last_name")]


def test_a_missing_column_points_to_mapping_suggest(tmp_path):
    """An export whose headers are not the contract's: the message names the command that
    proposes a mapping, and no other refusal does."""
    tables = board_tables()
    folder = tmp_path / "board"
    folder.mkdir()
    for name, rows in tables.items():
        headers = list(rows[0]) if rows else list(TABLES[name].columns)
        if name == "students":
            headers = ["Student Number" if h == "student_id" else h for h in headers]
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            for row in rows:
                writer.writerow(list(row.values()))
    with pytest.raises(UserError) as failed:
        load_board(folder)
    assert "mapping suggest" in failed.value.message
    with pytest.raises(UserError) as other:
        load_board(tmp_path / "nowhere")
    assert "mapping suggest" not in other.value.message
