"""Every broken export in tests/data/bad/ gives one clear message through the command line:
exit 2, the file, row and column where they apply, no traceback, and no output folder that
looks like a finished audit. And the loader never fails with anything but a UserError, whatever
bytes arrive, CSV or workbook."""

from __future__ import annotations

import hashlib
import re
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
from audits.model.errors import ExitCode, UserError
from audits.io.loading.csv import EXCEL_CELL_LIMIT
from audits.io.loading.folder import load_board
from boards import board_tables, write_csv_board, write_xlsx_board

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


# --- inputs bounded before they are read ---------------------------------------------------------

def _audit(board, tmp_path, *extra) -> "object":
    return CliRunner().invoke(main, ["audit", str(board), "--out", str(tmp_path / "out"),
                                     "--quiet", *extra])


def _config(tmp_path, text: str) -> str:
    path = tmp_path / "limits.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_zip_bomb_workbook_is_refused_unopened_naming_its_part_and_size(tmp_path):
    # A few hundred KB that unpack to 200 MB: one sheet of a single repeated cell.
    path = write_xlsx_board(tmp_path / "board.xlsx", board_tables())
    source = zipfile.ZipFile(path)
    contents = {i.filename: source.read(i.filename) for i in source.infolist()}
    source.close()
    part = "xl/worksheets/sheet2.xml"
    cell = b'<c r="G2" t="inlineStr"><is><t>' + b"x" * (200 * 1024 * 1024) + b"</t></is></c>"
    contents[part] = contents[part].replace(b"</row>", cell + b"</row>", 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in contents.items():
            target.writestr(name, data)
    del contents
    assert path.stat().st_size < 1_000_000

    result = _audit(path, tmp_path)

    assert result.exit_code == ExitCode.UNUSABLE, result.output
    assert "too-large" in result.output and "board.xlsx" in result.output
    assert "xl/worksheets/sheet2.xml unpacks to 210 MB" in result.output
    assert "zip bomb" in result.output and "Traceback" not in result.output


def test_a_workbook_over_the_configured_size_is_refused_naming_its_size(tmp_path):
    path = write_xlsx_board(tmp_path / "board.xlsx", board_tables())
    config = _config(tmp_path, "[input]\nmax_workbook_mb = 0.01\n")

    result = _audit(path, tmp_path, "--config", config)

    assert result.exit_code == ExitCode.UNUSABLE, result.output
    assert "board.xlsx: the workbook unpacks to" in result.output
    assert "more than the 10 KB an export may be" in result.output
    assert "max_workbook_mb" in result.output


def test_a_csv_over_the_configured_size_is_refused_naming_the_file_and_its_size(tmp_path):
    folder = write_csv_board(tmp_path / "export", board_tables())
    (folder / "contacts.csv").write_bytes(
        (folder / "contacts.csv").read_bytes() + b"C9,Al,Lee,,\r\n" * 20_000)
    config = _config(tmp_path, "[input]\nmax_csv_mb = 0.1\n")

    result = _audit(folder, tmp_path, "--config", config)

    assert result.exit_code == ExitCode.UNUSABLE, result.output
    assert "contacts.csv: the file is 0.3 MB, more than the 0.1 MB a table may be" \
        in result.output
    assert "students.csv" not in result.output  # the other tables were read: no problem there


def test_a_sparse_four_gigabyte_csv_is_refused_before_a_byte_is_read(tmp_path):
    folder = write_csv_board(tmp_path / "export", board_tables())
    with open(folder / "students.csv", "r+b") as handle:
        handle.truncate(4 * 1024 ** 3)  # sparse: no disk used, but 4 GB to a reader

    error = pytest.raises(UserError, load_board, folder).value

    [problem] = [p for p in error.problems if p.kind == "too-large"]
    assert problem.file == "students.csv" and "4,295 MB" in problem.message


def test_running_out_of_memory_while_reading_a_table_is_a_problem_not_a_crash(tmp_path,
                                                                              monkeypatch):
    folder = write_csv_board(tmp_path / "export", board_tables())
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "contacts.csv":
            raise MemoryError
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = _audit(folder, tmp_path)
    assert result.exit_code == ExitCode.UNUSABLE, result.output
    assert "contacts.csv: the file (" in result.output and "too large to read" in result.output


def test_the_input_limits_in_the_config_are_checked(tmp_path):
    from audits.model.config import Config, apply_overrides

    limits = apply_overrides(Config(), {"input": {"max_csv_mb": 5}}).input_limits
    assert limits.max_csv_mb == 5.0
    assert limits.max_workbook_mb == Config().input_limits.max_workbook_mb
    for bad in ({"max_csv": 5}, {"max_csv_mb": 0}, {"max_csv_mb": "big"}, {"max_csv_mb": True}):
        with pytest.raises(UserError, match="input"):
            apply_overrides(Config(), {"input": bad})


# --- rows read exactly ---------------------------------------------------------------------------

def test_a_table_linked_from_outside_the_export_is_refused_by_name(tmp_path):
    folder = write_csv_board(tmp_path / "export", board_tables())
    outside = tmp_path / "elsewhere" / "staff.csv"
    outside.parent.mkdir()
    (folder / "staff.csv").rename(outside)
    (folder / "staff.csv").symlink_to(outside)

    error = pytest.raises(UserError, load_board, folder).value

    [problem] = error.problems
    assert (problem.kind, problem.file) == ("outside-export", "staff.csv")
    assert "outside the export folder" in problem.message


def test_a_table_linked_to_another_file_inside_the_export_is_read(tmp_path):
    folder = write_csv_board(tmp_path / "export", board_tables())
    (folder / "staff.csv").rename(folder / "staff-2026.txt")
    (folder / "staff.csv").symlink_to(folder / "staff-2026.txt")
    assert load_board(folder).staff["staff_id"].tolist() == ["T1"]


def test_a_row_after_a_quoted_line_break_is_named_by_row_and_by_line(tmp_path):
    students = board_tables()["students"]
    students[0]["last_name"] = "Lee\nNg"
    students[1]["date_of_birth"] = "2017-13-01"
    error = pytest.raises(UserError, load_board,
                          write_csv_board(tmp_path, board_tables(students=students))).value
    [problem] = error.problems
    # Row 3 is the record as a spreadsheet shows it; a text editor shows it on line 4.
    assert (problem.kind, problem.row) == ("bad-date", 3)
    assert "starts on line 4" in problem.message


def test_addresses_with_line_breaks_and_commas_are_not_swallowed_rows(tmp_path):
    contacts = [{"contact_id": "C1", "first_name": "Jo", "last_name": "Lee",
                 "street": "12 Main St, rear\nApt 4, 2nd floor\nNorth Gower"},
                {"contact_id": "C2", "first_name": "Sam", "last_name": "Lee", "street": ""}]
    board = load_board(write_csv_board(tmp_path, board_tables(contacts=contacts)))
    assert board.contacts["contact_id"].tolist() == ["C1", "C2"]


def test_a_sep_semicolon_line_is_the_one_problem_reported(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    body = (folder / "students.csv").read_text(encoding="utf-8").replace(",", ";")
    (folder / "students.csv").write_text("sep=;\r\n" + body, encoding="utf-8")
    error = pytest.raises(UserError, load_board, folder).value
    [problem] = error.problems
    assert (problem.kind, problem.file, problem.row) == ("sep-line", "students.csv", 1)
    assert "comma-separated" in problem.message


def test_a_file_that_is_utf16_is_still_undecodable_not_full_of_nul_bytes(tmp_path):
    folder = write_csv_board(tmp_path, board_tables())
    (folder / "staff.csv").write_bytes(
        (folder / "staff.csv").read_text(encoding="utf-8").encode("utf-16-le"))
    error = pytest.raises(UserError, load_board, folder).value
    assert [p.kind for p in error.problems] == ["undecodable-file"]


def test_a_leap_day_is_a_date_and_a_day_past_a_month_end_is_not(tmp_path):
    students = board_tables()["students"]
    students[0]["date_of_birth"] = "2016-02-29"
    students[1]["date_of_birth"] = "2017-04-31"
    error = pytest.raises(UserError, load_board,
                          write_csv_board(tmp_path, board_tables(students=students))).value
    assert [(p.kind, p.row, p.value) for p in error.problems] == [
        ("bad-date", 3, "2017-04-31")]


def test_a_sheet_that_claims_the_whole_grid_reads_only_its_header_columns(tmp_path):
    path = write_xlsx_board(tmp_path / "board.xlsx", board_tables())
    source = zipfile.ZipFile(path)
    contents = {i.filename: source.read(i.filename) for i in source.infolist()}
    source.close()
    for name, data in contents.items():
        if name.startswith("xl/worksheets/"):
            contents[name] = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD40000"',
                                    data)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in contents.items():
            target.writestr(name, data)
    assert load_board(path).students["student_id"].tolist() == ["000123", "000124"]


def test_running_out_of_memory_while_validating_is_a_user_error_not_a_bug(tmp_path,
                                                                          monkeypatch):
    import audits.validation

    def validate_board(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(audits.validation, "validate_board", validate_board)
    result = _audit(write_csv_board(tmp_path / "export", board_tables()), tmp_path)
    assert result.exit_code == ExitCode.UNUSABLE, result.output
    assert "too large to audit in the memory this computer has" in result.output
