"""OneRoster 1.1 / 1.2 and SDS v2.1 exports read into the board (audits/formats), and the
unlinked-siblings check skipped, with its reason, when no siblings table is given."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits import api
from audits.cli import main
from audits.model.config import apply_overrides, Config
from audits.model.errors import UserError
from audits.io.formats import detect
from audits.sample import generate_board
from audits.sample.convert import FORMATS, strip_board, write_format

DATA = Path(__file__).parent / "data"
SKIPPED = "unlinked-siblings"


def _fixture(tmp_path: Path, kind: str) -> Path:
    return Path(shutil.copytree(DATA / kind, tmp_path / kind))


def _links(board) -> set[tuple[str, str, str, bool]]:
    return {(s, c, r, bool(p)) for s, c, r, p in board.student_contacts[
        ["student_id", "contact_id", "relationship", "portal_access"]].itertuples(index=False)}


@pytest.mark.parametrize("kind", FORMATS)
def test_each_hand_written_fixture_reads_into_the_contract_tables(kind):
    assert detect(DATA / kind) == kind
    board = api.load_board(DATA / kind)
    assert board.source.kind == kind
    schools = dict(zip(board.schools["school_id"], board.schools["school_type"]))
    assert schools == {"org-d1": "central_office", "org-s1": "other", "org-s2": "other"}
    students = board.students.set_index("student_id")
    assert list(students.index) == ["st-1001", "st-1002", "st-1003", "st-1004", "st-1005"]
    assert students.loc["st-1004", "status"] == "inactive"  # tobedeleted / role ended
    assert set(students.loc[students.index != "st-1004", "status"]) == {"active"}
    assert students.loc["st-1002", "school_id"] == "org-s2"
    assert students.loc["st-1002", "first_name"] == "Liam"  # the legal name, not preferred
    assert students.loc["st-1001", "date_of_birth"] == "2016-04-12"
    assert students.loc["st-1005", "date_of_birth"] == "2010-11-02"
    assert students.loc["st-1002", "grade"] == "09"
    contacts = board.contacts.set_index("contact_id")
    assert contacts.loc["p-2001", "email"] == "marie.tremblay@example.com"
    assert contacts.loc["p-2001", "cell_phone"].replace("-", "") == "6135550101"
    assert contacts.loc["p-2003", "home_phone"].replace("-", "") == "6135550199"
    staff = board.staff.set_index("staff_id")
    assert dict(staff["school_id"]) == {"t-3001": "org-s1", "t-3002": "org-d1"}
    family = {("st-1001", "p-2001", "parent", True), ("st-1002", "p-2002", "parent", True),
              ("st-1003", "p-2003", "guardian", True), ("st-1004", "p-2003", "guardian", True),
              ("st-1003", "p-2004", "relative", False), ("st-1005", "p-2005", "parent", True)}
    if kind == "sds-2.1":
        # SDS keeps a role per link and has no status: Pat Singh is an "other" contact.
        assert _links(board) == family | {("st-1005", "p-2006", "other", False)}
    else:
        # A contact marked tobedeleted is left out with its links.
        assert "p-2006" not in contacts.index
        assert _links(board) == family
        assert students.loc["st-1001", "identifier"] == "1001"
    assert len(board.siblings) == 0 and not board.source.tables["siblings"].present


@pytest.mark.parametrize("kind", FORMATS)
def test_without_a_siblings_table_unlinked_siblings_is_skipped_and_says_why(kind, tmp_path):
    result = api.run_audit(api.load_board(DATA / kind))
    # The fixture has no CONNECT accounts beside it either: missing-sibling-access, which
    # needs them, is skipped as well (it would otherwise pass for want of accounts).
    assert set(result.skipped) == {SKIPPED, "missing-sibling-access"}
    assert "no accounts table" in result.skipped["missing-sibling-access"]
    reason = result.skipped[SKIPPED]
    assert "no siblings table" in reason and "siblings.csv" in reason
    assert all(f.check not in result.skipped for f in result.findings)
    assert {"check": SKIPPED, "reason": reason} in result.document()["skipped"]
    by_check = {f.check: f for f in result.findings}
    assert set(by_check["duplicate-contact"].contacts) == {"p-2001", "p-2002"}
    assert list(by_check["missing-username-source"].contacts) == ["p-2005"]

    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["audit", str(DATA / kind), "--out", str(out), "--quiet"])
    assert run.exit_code == 0, run.output
    assert f"{SKIPPED:<26} skipped: {reason}" in run.output
    written = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert {"check": SKIPPED, "reason": reason} in written["skipped"]
    # The reports say it too: the HTML under its heading, the workbook on its Summary.
    import html as html_module

    import openpyxl

    page = html_module.unescape((out / "audit.html").read_text(encoding="utf-8"))
    assert f"Not run: {SKIPPED}: {reason}" in page
    summary = openpyxl.load_workbook(out / "audit.xlsx")["Summary"]
    assert [f"Not run: {SKIPPED}", reason] in [[c.value for c in row[:2]]
                                               for row in summary.iter_rows()]


@pytest.mark.parametrize("kind", FORMATS)
def test_a_siblings_csv_beside_the_export_makes_the_check_run(kind, tmp_path):
    folder = _fixture(tmp_path, kind)
    (folder / "siblings.csv").write_text("student_id,sibling_id\n", encoding="utf-8")
    _no_accounts_yet(folder)
    result = api.run_audit(api.load_board(folder))
    assert result.skipped == {}
    found = [f for f in result.findings if f.check == SKIPPED]
    # Emma and Liam share their mother, entered twice (one record per child).
    assert [sorted(f.students) for f in found] == [["st-1001", "st-1002"]]
    assert "skipped" not in result.document()


def _no_accounts_yet(folder: Path) -> None:
    """CONNECT's accounts and permissions beside the export, empty: given, so checks run."""
    (folder / "accounts.csv").write_text(
        "account_id,username,account_type,school_id,person_id,status\n", encoding="utf-8")
    (folder / "account_students.csv").write_text("account_id,student_id\n", encoding="utf-8")


def test_a_contract_board_never_skips_a_check(tmp_path):
    board = generate_board(60, 1)
    folder = tmp_path / "contract"
    from audits.sample import write_board

    write_board(board, folder)
    assert detect(folder) is None
    assert api.run_audit(api.load_board(folder)).skipped == {}


def test_the_export_as_a_zip_with_its_folder_reads_the_same(tmp_path):
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted((DATA / "oneroster-1.2").iterdir()):
            out.write(file, f"roster/{file.name}")
    (tmp_path / "siblings.csv").write_text("student_id,sibling_id\nst-1001,st-1002\n",
                                           encoding="utf-8")
    _no_accounts_yet(tmp_path)
    assert detect(archive) == "oneroster-1.2"
    board = api.load_board(archive)
    assert board.file_of("students") == "roster.zip[roster/users.csv]"
    assert _links(board) == _links(api.load_board(DATA / "oneroster-1.2"))
    assert board.row_counts()["siblings"] == 1
    result = api.run_audit(board)
    assert result.skipped == {} and result.fingerprint["tables"]["siblings"]["file"] == \
        "siblings.csv"


def test_portal_access_comes_from_the_roles_the_config_names():
    config = apply_overrides(Config(), {"input": {"portal_access_roles": ["Parent"]}})
    board = api.load_board(DATA / "oneroster-1.1", config=config)
    portal = {(s, c): bool(p) for s, c, p in board.student_contacts[
        ["student_id", "contact_id", "portal_access"]].itertuples(index=False)}
    assert portal[("st-1001", "p-2001")] and not portal[("st-1003", "p-2003")]
    with pytest.raises(UserError):
        apply_overrides(Config(), {"input": {"portal_access_roles": "parent"}})


def test_problems_in_an_interchange_export_name_file_row_and_column(tmp_path):
    folder = _fixture(tmp_path, "oneroster-1.1")
    users = folder / "users.csv"
    users.write_text(users.read_text(encoding="utf-8").replace("st-1005,p-2005", "p-9999")
                     .replace(",p-2005,10,", ",p-9999,10,"), encoding="utf-8")
    with pytest.raises(UserError) as raised:
        api.load_board(folder)
    problems = [p for p in raised.value.problems if p.kind == "unknown-reference"]
    assert [(p.file, p.row, p.column) for p in problems] == [("users.csv", 6,
                                                              "agentSourcedIds")]

    delta = _fixture(tmp_path / "delta", "oneroster-1.2")
    manifest = delta / "manifest.csv"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("file.users,bulk",
                                                                     "file.users,delta"),
                        encoding="utf-8")
    with pytest.raises(UserError) as raised:
        api.load_board(delta)
    assert [p.kind for p in raised.value.problems] == ["delta-export"]

    roles = _fixture(tmp_path / "roles", "sds-2.1") / "roles.csv"
    roles.write_text(roles.read_text(encoding="utf-8").replace("userSourcedId,orgSourcedId,",
                                                               "userSourcedId,org,"),
                     encoding="utf-8")
    with pytest.raises(UserError) as raised:
        api.load_board(roles.parent)
    assert [(p.kind, p.file, p.column) for p in raised.value.problems] == [
        ("missing-column", "roles.csv", "orgSourcedId")]


# --- the done-when test: the sample board in each format audits as the stripped board ---------

def _ids(path: Path) -> tuple[set[str], dict[str, str]]:
    result = api.run_audit(api.load_board(path))
    return {f.id for f in result.findings}, result.skipped


def _contract(frames: dict, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.mark.parametrize("kind", FORMATS)
def test_the_sample_board_in_each_format_audits_to_the_stripped_boards_findings(kind, tmp_path):
    sample = generate_board(2000, 17)
    exported = write_format(sample.tables, tmp_path / kind, kind)
    assert detect(exported) == kind
    stripped = strip_board(sample.tables, kind)
    expected, skipped = _ids(_contract(stripped, tmp_path / "stripped"))
    found, skipped_there = _ids(exported)
    assert skipped == skipped_there == {}
    assert found == expected
    checks = {finding_id.split(":")[0] for finding_id in found}
    assert {"duplicate-contact", "unlinked-siblings", "username-clash",
            "missing-username-source", "missing-sibling-access"} <= checks

    (exported / "siblings.csv").unlink()
    found, skipped = _ids(exported)
    assert set(skipped) == {SKIPPED} and "siblings.csv" in skipped[SKIPPED]
    assert found == {i for i in expected if not i.startswith(f"{SKIPPED}:")}


def test_a_zip_member_that_unpacks_like_a_bomb_is_refused_unread(tmp_path):
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for file in sorted((DATA / "oneroster-1.1").iterdir()):
            data = file.read_bytes()
            if file.name == "users.csv":
                data += b" " * 20_000_000  # packs to a few kilobytes
            out.writestr(file.name, data)
    with pytest.raises(UserError) as raised:
        api.load_board(archive)
    assert [(p.kind, p.file) for p in raised.value.problems] == [
        ("too-large", "roster.zip[users.csv]")]
    assert "zip bomb" in raised.value.problems[0].message


def test_sample_writes_each_format_the_readers_recognise(tmp_path):
    for kind in FORMATS:
        out = tmp_path / kind
        run = CliRunner().invoke(main, ["sample", str(out), "--students", "40", "--seed", "5",
                                        "--format", kind])
        assert run.exit_code == 0, run.output
        assert detect(out) == kind
        assert json.loads((out / "truth.json").read_text(encoding="utf-8"))["generator"][
            "format"] == kind
        assert {"siblings.csv", "accounts.csv", "account_students.csv"} <= {
            p.name for p in out.iterdir()}
    run = CliRunner().invoke(main, ["sample", str(tmp_path / "x"), "--xlsx", "--format",
                                    "sds-2.1"])
    assert run.exit_code == 2 and "--format" in run.output


@pytest.mark.parametrize("kind", FORMATS)
def test_fix_apply_refuses_an_interchange_export_and_says_where_to_fix(kind, tmp_path):
    """A fixed copy of a OneRoster or SDS export changes nothing in the SIS: fix apply says so
    (exit 2), before it reads a table or binds the plan."""
    from fixes.export_writer import read_export

    board = _fixture(tmp_path, kind)
    with pytest.raises(UserError, match="fix apply writes a fixed copy of a contract export"):
        read_export(board)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"schema": "connect-audit/fix-plan/v1", "actions": []}))
    result = CliRunner().invoke(main, ["fix", "apply", str(plan), str(board), "--out",
                                       str(tmp_path / "fixed")])
    assert result.exit_code == 2, result.output


def test_contract_files_packed_in_the_zip_win_over_files_beside_it(tmp_path):
    """A siblings.csv (or accounts) packed with the export belongs to it; one beside the .zip
    may be another export's (a downloads folder): the packed one is read, and hashed as the
    zip."""
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted((DATA / "oneroster-1.1").iterdir()):
            out.write(file, file.name)
        out.writestr("siblings.csv", "student_id,sibling_id\nst-1001,st-1002\n")
    (tmp_path / "siblings.csv").write_text("student_id,sibling_id\n", encoding="utf-8")
    board = api.load_board(archive)
    assert board.row_counts()["siblings"] == 1
    assert board.file_of("siblings") == "roster.zip[siblings.csv]"
    result = api.run_audit(board)
    assert "unlinked-siblings" not in result.skipped
    assert result.fingerprint["tables"]["siblings"]["file"] == "roster.zip[siblings.csv]"


def test_a_zipped_export_is_read_without_a_copy_on_disk(tmp_path, monkeypatch):
    """The tables packed in a .zip are personal data: read from memory, so a run killed
    while reading leaves no copy of them in the temporary folder."""
    import tempfile

    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted((DATA / "oneroster-1.1").iterdir()):
            out.write(file, file.name)
        out.writestr("siblings.csv", "student_id,sibling_id\nst-1001,st-1002\n")

    def no_copy(*args, **kwargs):
        raise AssertionError("an export's table was copied to disk")

    for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, no_copy)
    board = api.load_board(archive)
    assert board.row_counts()["siblings"] == 1
    assert board.file_of("siblings") == "roster.zip[siblings.csv]"


def test_a_contract_export_without_accounts_says_why_missing_sibling_access_did_not_run(
        tmp_path):
    """Accounts given without what each may see would make every account look as if it saw
    no child: the check needs both, and says which is missing."""
    from audits.sample import write_board

    folder = write_board(generate_board(60, 1), tmp_path / "contract")
    (folder / "account_students.csv").unlink()
    result = api.run_audit(api.load_board(folder))
    assert set(result.skipped) == {"missing-sibling-access"}
    assert "no account_students table" in result.skipped["missing-sibling-access"]
    assert "add it to the export" in result.skipped["missing-sibling-access"]
    assert all(f.check != "missing-sibling-access" for f in result.findings)


def test_a_problem_in_a_contract_file_packed_in_the_zip_names_the_member(tmp_path):
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted((DATA / "oneroster-1.1").iterdir()):
            out.write(file, file.name)
        out.writestr("siblings.csv", "student_id\nst-1001\n")  # sibling_id missing
    with pytest.raises(UserError) as failed:
        api.load_board(archive)
    assert [(p.kind, p.file) for p in failed.value.problems
            if p.kind == "missing-column"] == [("missing-column", "roster.zip[siblings.csv]")]
