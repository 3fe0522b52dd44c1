"""Every broken export in tests/data/bad/ gives one clear message through the command line:
exit 2, the file, row and column where they apply, no traceback, and no output folder that
looks like a finished audit. And the loader never fails with anything but a UserError, whatever
bytes arrive, CSV or workbook."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audits.cli import main
from audits.errors import ExitCode, UserError
from audits.loading import EXCEL_CELL_LIMIT, load_board
from test_loading import board_tables, write_csv_board, write_xlsx_board

CORPUS = Path(__file__).parent / "data" / "bad"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").exists())
OUTPUTS = ("findings.json", "audit.html", "audit.xlsx", "runbooks")


def case_meta(name: str) -> dict:
    return yaml.safe_load((CORPUS / name / "case.yaml").read_text(encoding="utf-8"))


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_corpus_covers_at_least_25_broken_exports():
    assert len(CASES) >= 25
    for name in CASES:
        meta = case_meta(name)
        assert meta["expect"] and all(isinstance(s, str) and s for s in meta["expect"]), name


@pytest.mark.parametrize("name", CASES)
def test_broken_export_gives_one_clear_message_and_no_outputs(name, tmp_path):
    meta = case_meta(name)
    before = digests(CORPUS / name)
    out = tmp_path / "out"

    result = CliRunner().invoke(main, ["audit", str(CORPUS / name / meta["board"]),
                                       "--out", str(out), "--quiet"])

    assert result.exit_code == ExitCode.UNUSABLE, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for expected in meta["expect"]:
        assert expected in result.output, f"{expected!r} missing from:\n{result.output}"
    assert not [o for o in OUTPUTS if (out / o).exists()]
    assert digests(CORPUS / name) == before, "the export was changed"


@pytest.mark.parametrize("command", [["check"], ["preview"]])
def test_other_commands_refuse_a_broken_export_the_same_way(command):
    result = CliRunner().invoke(main, [*command, str(CORPUS / "ragged_row_short" / "export")])
    assert result.exit_code == ExitCode.UNUSABLE
    assert "students.csv, row 3" in result.output and "Traceback" not in result.output


# --- valid exports that look hostile but are fine ----------------------------------------------

def test_quoted_line_breaks_and_commas_load_with_the_right_rows(tmp_path):
    contacts = [{"contact_id": "C1", "first_name": "Jo", "last_name": "Lee",
                 "street": "12 Main St\r\nApt 4, rear"},
                {"contact_id": "C2", "first_name": "Sam", "last_name": "Lee; Ng",
                 "street": "3 Elm\nSt"},
                {"contact_id": "C3", "first_name": "Al", "last_name": "Lee", "street": ""}]
    board = load_board(write_csv_board(tmp_path, board_tables(contacts=contacts)))
    assert board.contacts.index.tolist() == [2, 3, 4]
    assert board.contacts.loc[2, "street"] == "12 Main St\r\nApt 4, rear"
    assert board.contacts.loc[4, "contact_id"] == "C3"


def test_trailing_blank_fields_written_in_full_are_not_ragged(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "siblings.csv").write_bytes(b"student_id,sibling_id,note\r\n000123,000124,\r\n\r\n")
    assert len(load_board(folder).siblings) == 1


def test_header_only_optional_tables_are_fine(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "siblings.csv").write_text("student_id,sibling_id\n", encoding="utf-8")
    (folder / "accounts.csv").write_text(
        "account_id,username,account_type,school_id,person_id\n", encoding="utf-8")
    board = load_board(folder)
    assert board.siblings.empty and board.accounts.empty


def test_a_hidden_sheet_that_is_not_a_table_is_ignored(tmp_path):
    path = write_xlsx_board(tmp_path / "b.xlsx", board_tables())
    book = openpyxl.load_workbook(path)
    book.create_sheet("Lookups").sheet_state = "hidden"
    book.save(path)
    assert len(load_board(path).students) == 2


def test_a_formula_with_a_saved_result_reads_as_that_result(tmp_path):
    path = write_xlsx_board(tmp_path / "b.xlsx", board_tables())
    # What Excel saves: the formula and its last result. openpyxl cannot write a result, so
    # the sheet XML is edited.
    book = openpyxl.load_workbook(path)
    part = f"xl/worksheets/sheet{book.sheetnames.index('students') + 1}.xml"
    source = zipfile.ZipFile(path)
    contents = {i.filename: source.read(i.filename) for i in source.infolist()}
    source.close()
    xml = contents[part].decode("utf-8")
    start = xml.index('<c r="D2"')
    end = xml.index("</c>", start) + len("</c>")
    contents[part] = (xml[:start] + '<c r="D2" t="str"><f>UPPER("lee")</f><v>LEE</v></c>'
                      + xml[end:]).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in contents.items():
            target.writestr(name, data)
    assert load_board(path).students.loc[2, "last_name"] == "LEE"


def test_a_five_megabyte_single_line_field_is_refused_by_name(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "staff.csv").write_bytes(
        b"staff_id,school_id,first_name,last_name\r\nT1,0900,Pat," + b"N" * 5_000_000 + b"\r\n")
    with pytest.raises(UserError) as raised:
        load_board(folder)
    [problem] = raised.value.problems
    assert (problem.kind, problem.file, problem.row, problem.column) == (
        "huge-field", "staff.csv", 2, "last_name")
    assert "5,000,000 characters" in problem.message
    assert len(raised.value.render()) < 2_000, "the message must not quote the field"


def test_a_field_of_exactly_a_cell_is_kept(tmp_path):
    contacts = [{"contact_id": "C1", "first_name": "Jo", "last_name": "Lee",
                 "street": "x" * EXCEL_CELL_LIMIT}]
    board = load_board(write_csv_board(tmp_path, board_tables(
        contacts=contacts, student_contacts=[{"student_id": "000123", "contact_id": "C1"}])))
    assert len(board.contacts.loc[2, "street"]) == EXCEL_CELL_LIMIT


def test_every_ragged_row_is_named(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "siblings.csv").write_bytes(
        b"student_id,sibling_id\r\n000123,000124\r\n000123\r\n000124,000123,x\r\n")
    with pytest.raises(UserError) as raised:
        load_board(folder)
    assert [(p.kind, p.row) for p in raised.value.problems] == [
        ("ragged-row", 3), ("ragged-row", 4)]


# --- loading never crashes, workbooks included ---------------------------------------------------

def _loads_or_refuses(path: Path) -> None:
    try:
        board = load_board(path)
    except UserError as error:
        assert error.problems, "a UserError always lists its problems"
        assert "Traceback" not in error.render()
        return
    assert set(board.tables) >= {"students", "contacts"}


@pytest.fixture(scope="module")
def workbook_bytes(tmp_path_factory) -> bytes:
    return write_xlsx_board(tmp_path_factory.mktemp("wb") / "b.xlsx", board_tables()).read_bytes()


_FUZZ = settings(max_examples=20, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_named_xlsx_load_or_raise_user_error(tmp_path, data):
    path = tmp_path / "board.xlsx"
    path.write_bytes(data)
    _loads_or_refuses(path)


@_FUZZ
@given(cuts=st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
                     min_size=1, max_size=4))
def test_a_damaged_workbook_loads_or_raises_user_error(tmp_path, workbook_bytes, cuts):
    data = bytearray(workbook_bytes)
    for at, patch in cuts:
        at %= len(data)
        data[at:at + len(patch)] = patch
    path = tmp_path / "board.xlsx"
    path.write_bytes(bytes(data))
    _loads_or_refuses(path)


xml_text = st.text(alphabet=st.sampled_from(list('<>/="& ?!abcfrtvx1sheetDa')), max_size=200)


@_FUZZ
@given(sheet_xml=xml_text | st.binary(max_size=200))
def test_a_workbook_with_an_arbitrary_sheet_part_loads_or_raises_user_error(
        tmp_path, workbook_bytes, sheet_xml):
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = sheet_xml.encode("utf-8") if isinstance(sheet_xml, str) else sheet_xml
            target.writestr(info.filename, data)
    path = tmp_path / "board.xlsx"
    path.write_bytes(out.getvalue())
    _loads_or_refuses(path)


@_FUZZ
@given(data=st.binary(max_size=300), name=st.sampled_from(
    ["students.csv", "contacts.csv", "siblings.csv", "accounts.csv"]))
def test_arbitrary_bytes_in_any_table_load_or_raise_user_error(tmp_path, data, name):
    folder = write_csv_board(tmp_path / "b", board_tables())
    (folder / name).write_bytes(data)
    _loads_or_refuses(folder)
