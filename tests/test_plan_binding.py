"""A fix plan is bound to its board and to its facts, and no file the tool reads back is
trusted: a plan for another export, a hand-edited action, a tampered undo record or a hostile
JSON document is refused with exit 2 and the reason, never applied and never a crash."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from audits.cli import main
from audits.model.errors import UserError
from fix_boards import (BOARD, bound, findings_doc, link_finding, merge_finding,
                        permission_finding, write_board)
from fixes.apply import apply_plan
from fixes.plan import build_plan


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    """Two sample boards of other families, each audited, with a plan of every finding."""
    made = {}
    for name, seed in (("a", 11), ("b", 12)):
        root = tmp_path_factory.mktemp(f"board-{name}")
        board = root / "export"
        assert run("sample", board, "--students", 300, "--seed", seed).exit_code == 0
        out = root / "audit"
        assert run("audit", board, "--out", out, "--format", "json", "--quiet").exit_code == 0
        plan = root / "plan.json"
        assert run("fix", "plan", out / "findings.json", "--out", plan).exit_code == 0
        made[name] = {"board": board, "findings": out / "findings.json", "plan": plan}
    return made


def test_a_plan_from_another_board_is_refused_whole(boards, tmp_path):
    result = run("fix", "apply", boards["a"]["plan"], boards["b"]["board"], "--out",
                 tmp_path / "fixed", "--write", "--apply-rest", "--force")
    assert result.exit_code == 2, result.output
    assert "made from another export" in result.output
    assert "students.csv" in result.output and "contacts.csv" in result.output
    assert not (tmp_path / "fixed").exists()


def test_a_plan_for_its_own_board_applies(boards, tmp_path):
    result = run("fix", "apply", boards["a"]["plan"], boards["a"]["board"], "--out",
                 tmp_path / "fixed", "--write", "--force")
    assert result.exit_code == 0, result.output
    # Applied again to the fixed export it wrote: the plan knows its lineage.
    again = run("fix", "apply", boards["a"]["plan"], tmp_path / "fixed", "--out",
                tmp_path / "again", "--force")
    assert again.exit_code == 0, again.output
    assert "0 to apply" in again.output and "0 stale" in again.output


def test_an_export_changed_since_the_audit_is_refused(boards, tmp_path):
    import shutil

    board = tmp_path / "export"
    shutil.copytree(boards["a"]["board"], board)
    data = (board / "siblings.csv").read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    (board / "siblings.csv").write_bytes(data + b"000001,000002" + newline)
    result = run("fix", "apply", boards["a"]["plan"], board, "--out", tmp_path / "fixed")
    assert result.exit_code == 2
    assert "siblings.csv" in result.output and "students.csv" not in result.output


def test_a_plan_without_its_fingerprint_is_refused(tmp_path):
    board = write_board(tmp_path / "board")
    plan = build_plan(findings_doc(merge_finding()))
    assert "export" not in plan
    with pytest.raises(UserError, match="does not name the export"):
        apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)


def test_fix_plan_carries_the_audits_fingerprint(boards):
    findings = json.loads(boards["a"]["findings"].read_text("utf-8"))
    plan = json.loads(boards["a"]["plan"].read_text("utf-8"))
    fingerprint = findings["input"]["fingerprint"]
    assert plan["export"] == fingerprint
    assert set(fingerprint["tables"]) >= {"students", "contacts", "student_contacts"}


# ----------------------------------------------------------------------------- facts

def _apply_one(tmp_path, action, tables=None):
    board = write_board(tmp_path / "board", tables)
    plan = bound({"schema": "connect-audit/fix-plan/v1", "actions": [action]}, board)
    return apply_plan(plan, board, tmp_path / "fixed", force=True, apply_rest=True)


def _other_family():
    """BOARD plus an unrelated family: C7 Omar Haddad, parent of S7, with his own account."""
    tables = copy.deepcopy(BOARD)
    tables["students"].append(["S7", "100", "Lina", "Haddad", "active"])
    tables["contacts"].append(["C7", "Omar", "Haddad", "omar@example.net", "555-0777",
                               "9 Oak Rd"])
    tables["student_contacts"].append(["S7", "C7", "Father", "Y"])
    tables["accounts"].append(["A7", "omar@example.net", "parent", "100", "C7", "active"])
    tables["account_students"].append(["A7", "S7"])
    return tables


def test_a_merge_with_a_mistyped_survivor_is_refused(tmp_path):
    action = build_plan(findings_doc(merge_finding()))["actions"][0]
    action["survivor"] = "C7"  # a typo that names another family's father
    result = _apply_one(tmp_path, action, _other_family())
    assert result.applied == []
    (finding, why), = result.refused
    assert "planned-records" in why and "C7" in why


def test_a_merge_edited_consistently_into_another_family_is_refused(tmp_path):
    action = build_plan(findings_doc(merge_finding()))["actions"][0]
    action["survivor"] = "C7"
    action["expect"]["records"]["C7"] = {"first_name": "Omar", "last_name": "Haddad"}
    result = _apply_one(tmp_path, action, _other_family())
    assert result.applied == []
    assert "same-person" in result.refused[0][1]


def test_a_permission_for_a_student_the_holder_is_no_contact_of_is_refused(tmp_path):
    action = build_plan(findings_doc(permission_finding()))["actions"][0]
    action["students"] = ["S7"]  # account A1's holder C1 is no contact of S7
    result = _apply_one(tmp_path, action, _other_family())
    assert result.applied == []
    assert "holder-has-portal-access" in result.refused[0][1]


def test_a_permission_where_the_link_has_no_portal_access_is_refused(tmp_path):
    tables = _other_family()
    tables["student_contacts"].append(["S7", "C1", "Mother", "N"])
    action = build_plan(findings_doc(permission_finding()))["actions"][0]
    action["students"] = ["S7"]
    result = _apply_one(tmp_path, action, tables)
    assert result.applied == [] and "portal access" in result.refused[0][1]


def test_a_sibling_link_between_unrelated_students_is_refused(tmp_path):
    action = build_plan(findings_doc(link_finding()))["actions"][0]
    action["pairs"] = [["S1", "S7"]]
    result = _apply_one(tmp_path, action, _other_family())
    assert result.applied == [] and "shared-parental-contact" in result.refused[0][1]


def test_a_student_is_never_linked_as_their_own_sibling(tmp_path):
    action = build_plan(findings_doc(link_finding()))["actions"][0]
    action["pairs"] = [["S3", "S3"]]
    result = _apply_one(tmp_path, action)
    assert result.applied == [] and "own sibling" in result.refused[0][1]


def test_the_plan_lists_each_actions_rules_for_the_reviewer(tmp_path):
    plan = build_plan(findings_doc(merge_finding(), link_finding(), permission_finding()))
    rules = {a["action"]: " ".join(a["preconditions"]) for a in plan["actions"]}
    assert "same-person" in rules["merge-contacts"]
    assert "shared-parental-contact" in rules["link-siblings"]
    assert "holder-has-portal-access" in rules["add-permission"]


def test_deleting_the_listed_rules_does_not_lift_them(tmp_path):
    action = build_plan(findings_doc(permission_finding()))["actions"][0]
    action["students"] = ["S7"]
    action["preconditions"] = []
    result = _apply_one(tmp_path, action, _other_family())
    assert result.applied == [] and result.refused


# ----------------------------------------------------------------------------- documents

DEEP = "[" * 100_000 + "]" * 100_000
HUGE_NUMBER = '{"schema": "connect-audit/fix-plan/v1", "actions": [], "n": ' + "9" * 5000 + "}"


@pytest.mark.parametrize("payload", [DEEP, HUGE_NUMBER, "{\"schema\": 1", "\ufeff[]", "null"])
def test_every_command_that_reads_a_document_refuses_a_hostile_one(boards, tmp_path, payload):
    bad = tmp_path / "bad.json"
    bad.write_text(payload, encoding="utf-8")
    board, findings = boards["a"]["board"], boards["a"]["findings"]
    commands = [
        ("fix", "plan", bad, "--out", tmp_path / "plan.json"),
        ("fix", "apply", bad, board, "--out", tmp_path / "fixed"),
        ("audit", board, "--out", tmp_path / "out", "--previous", bad, "--format", "json"),
        ("diff", bad, findings),
        ("audit", board, "--out", tmp_path / "out", "--suppressions", bad, "--format", "json"),
    ]
    for command in commands:
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output


def _fields(value, path=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield path + (key,)
            yield from _fields(inner, path + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            yield path + (index,)
            yield from _fields(inner, path + (index,))


def _set(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def test_single_field_type_edits_of_a_plan_never_crash_apply(tmp_path):
    board = write_board(tmp_path / "board")
    plan = bound(build_plan(findings_doc(merge_finding(), link_finding(),
                                         permission_finding())), board)
    paths = [p for p in _fields(plan["actions"]) if p]
    assert len(paths) > 50
    for number, path in enumerate(paths):
        for value in ([], 1, None, {}, "x", [[1, 2]], True):
            edited = copy.deepcopy(plan)
            _set(edited["actions"], path, value)
            target = tmp_path / f"plan-{number}.json"
            target.write_text(json.dumps(edited), encoding="utf-8")
            result = CliRunner().invoke(main, ["fix", "apply", str(target), str(board), "--out",
                                               str(tmp_path / "fixed"), "--force",
                                               "--apply-rest"])
            assert result.exit_code in (0, 2), (path, value, result.output)


def test_a_plan_field_of_the_wrong_type_is_named(tmp_path):
    board = write_board(tmp_path / "board")
    plan = bound(build_plan(findings_doc(merge_finding())), board)
    plan["actions"][0]["survivor"] = []
    plan["actions"][0]["retire"] = 1
    target = tmp_path / "plan.json"
    target.write_text(json.dumps(plan), encoding="utf-8")
    result = run("fix", "apply", target, board, "--out", tmp_path / "fixed")
    assert result.exit_code == 2
    assert "actions[0].survivor" in result.output and "actions[0].retire" in result.output


# ----------------------------------------------------------------------------- undo record

def _fixed(tmp_path):
    board = write_board(tmp_path / "board")
    plan = bound(build_plan(findings_doc(merge_finding(), link_finding())), board)
    apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    return tmp_path / "fixed"


def _edit_manifest(fixed, change):
    path = fixed / ".connect-audit-undo" / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_an_undo_record_pointing_outside_the_export_is_refused(tmp_path):
    fixed = _fixed(tmp_path)
    (tmp_path / "outside.csv").write_text("secret\n", encoding="utf-8")

    def escape(manifest):
        manifest["files"][0]["path"] = "../outside.csv"

    _edit_manifest(fixed, escape)
    result = run("fix", "undo", fixed, "--out", tmp_path / "restored" / "deeper")
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "restored").exists()


def test_an_undo_record_through_a_symlink_outside_is_refused(tmp_path):
    fixed = _fixed(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (fixed / "link").symlink_to(tmp_path / "elsewhere")

    def escape(manifest):
        manifest["files"][0]["path"] = "link/contacts.csv"

    _edit_manifest(fixed, escape)
    result = run("fix", "undo", fixed, "--out", tmp_path / "restored")
    assert result.exit_code == 2 and "outside the fixed export" in result.output


@pytest.mark.parametrize("field", ["kind", "files", "schema"])
def test_an_incomplete_undo_record_is_refused(tmp_path, field):
    fixed = _fixed(tmp_path)
    _edit_manifest(fixed, lambda manifest: manifest.pop(field))
    result = run("fix", "undo", fixed, "--out", tmp_path / "restored")
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "restored").exists()


def test_an_undo_file_entry_without_its_path_is_refused(tmp_path):
    fixed = _fixed(tmp_path)
    _edit_manifest(fixed, lambda manifest: manifest["files"][0].pop("path"))
    result = run("fix", "undo", fixed, "--out", tmp_path / "restored")
    assert result.exit_code == 2 and "files[0]" in result.output


def test_a_workbook_export_is_bound_the_same_way(tmp_path):
    plans = {}
    for seed in (5, 6):
        folder = tmp_path / f"book-{seed}"
        assert run("sample", folder, "--students", 120, "--seed", seed, "--xlsx").exit_code == 0
        out = tmp_path / f"audit-{seed}"
        assert run("audit", folder / "board.xlsx", "--out", out, "--format", "json",
                   "--quiet").exit_code == 0
        plans[seed] = tmp_path / f"plan-{seed}.json"
        assert run("fix", "plan", out / "findings.json", "--out", plans[seed]).exit_code == 0
    own = run("fix", "apply", plans[5], tmp_path / "book-5" / "board.xlsx", "--out",
              tmp_path / "fixed", "--force")
    assert own.exit_code == 0, own.output
    other = run("fix", "apply", plans[5], tmp_path / "book-6" / "board.xlsx", "--out",
                tmp_path / "fixed")
    assert other.exit_code == 2 and "board.xlsx" in other.output


def test_a_forged_undo_record_does_not_bind_a_plan_to_another_board(boards, tmp_path):
    """The lineage rule (a plan accepted again on the fixed export it wrote) rebuilds the
    original export's fingerprint from the files the undo record keeps, never from a value
    written in the record."""
    import hashlib
    import shutil

    board = tmp_path / "export"
    shutil.copytree(boards["b"]["board"], board)
    plan = json.loads(boards["a"]["plan"].read_text("utf-8"))
    files = [{"path": p.name, "original_sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
              "fixed_sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "changed": False}
             for p in sorted(board.iterdir()) if p.is_file()]
    undo = board / ".connect-audit-undo"
    undo.mkdir()
    (undo / "manifest.json").write_text(json.dumps({
        "schema": "connect-audit/fix-undo/v1", "source": "x", "kind": "csv", "files": files,
        "artifacts": [], "applied": [], "source_fingerprint": plan["export"]}), encoding="utf-8")
    result = run("fix", "apply", boards["a"]["plan"], board, "--out", tmp_path / "fixed",
                 "--write", "--force", "--apply-rest")
    assert result.exit_code == 2 and "made from another export" in result.output
    assert not (tmp_path / "fixed").exists()


# ----------------------------------------------------------------------------- namesakes, renames

def _namesake_family():
    """BOARD plus another Jennifer Smith (C8: other email, phone and street), mother of S8."""
    tables = _other_family()
    tables["students"].append(["S8", "100", "Zoe", "Smith", "active"])
    tables["contacts"].append(["C8", "Jennifer", "Smith", "jsmith@example.org", "555-0888",
                               "4 Birch Rd"])
    tables["student_contacts"].append(["S8", "C8", "Mother", "Y"])
    return tables


def _namesake_merge():
    return {"finding": "x", "action": "merge-contacts", "survivor": "C1", "retire": ["C8"],
            "expect": {"records": {"C1": {"first_name": "Jennifer", "last_name": "Smith"},
                                   "C8": {"first_name": "Jennifer", "last_name": "Smith"}}}}


def test_a_merge_of_namesakes_waits_for_a_persons_confirmation(tmp_path):
    result = _apply_one(tmp_path, _namesake_merge(), _namesake_family())
    assert result.applied == [] and result.refused == []
    (finding, why), = result.skipped
    assert "needs a person's decision" in why and "confirm_same_person" in why


def test_a_confirmation_names_exactly_the_merges_records(tmp_path):
    action = _namesake_merge()
    action["confirm_same_person"] = ["C1", "C8"]
    assert _apply_one(tmp_path / "ok", action, _namesake_family()).applied == ["x"]
    action["retire"] = ["C7"]  # edited after the confirmation: it no longer counts
    action["expect"]["records"]["C7"] = {"first_name": "Omar", "last_name": "Haddad"}
    assert _apply_one(tmp_path / "edited", action, _namesake_family()).applied == []


def test_an_expected_record_without_its_name_is_refused(tmp_path):
    action = _namesake_merge()
    action["expect"]["records"] = {"C1": {}, "C8": {}}
    result = _apply_one(tmp_path, action, _namesake_family())
    assert result.applied == [] and "planned-records" in result.refused[0][1]


def test_a_fill_from_a_record_the_merge_does_not_retire_is_refused(tmp_path):
    action = build_plan(findings_doc(merge_finding()))["actions"][0]
    action["fill"] = [{"column": "email", "value": "mallory@evil.example", "from": "nobody"}]
    result = _apply_one(tmp_path, action)
    assert result.applied == [] and "not a record the merge retires" in result.refused[0][1]


def test_students_of_namesakes_are_not_linked_as_siblings(tmp_path):
    action = {"finding": "x", "action": "link-siblings", "pairs": [["S1", "S8"]]}
    result = _apply_one(tmp_path, action, _namesake_family())
    assert result.applied == [] and not result.changes


def test_a_rename_without_options_is_refused(tmp_path):
    action = {"finding": "x", "action": "rename-username", "username": "jen@example.com",
              "decision": {"table": "accounts", "key": "A1", "column": "username",
                           "new_value": "mallory@evil.example"}}
    result = _apply_one(tmp_path, action)
    assert result.applied == [] and "decision-is-an-option" in result.refused[0][1]


def test_a_rename_of_a_username_nobody_else_holds_is_refused(tmp_path):
    action = {"finding": "x", "action": "rename-username", "username": "omar@example.net",
              "options": [{"table": "accounts", "key": "A7", "column": "username"},
                          {"table": "contacts", "key": "C1", "column": "email"}],
              "decision": {"table": "accounts", "key": "A7", "column": "username",
                           "new_value": "mallory@evil.example"}}
    result = _apply_one(tmp_path, action, _other_family())
    assert result.applied == [] and "no clash here" in result.refused[0][1]


def test_a_finding_whose_fix_makes_no_sense_is_named_by_fix_plan(tmp_path):
    document = findings_doc({"id": "duplicate-contact:1", "check": "duplicate-contact",
                             "severity": "error", "fix": {"action": "merge-contacts"}},
                            {"id": "duplicate-contact:2", "check": "duplicate-contact",
                             "severity": "error", "fix": {"action": "merge-contacts",
                                                          "accounts": {"C1": 5}}})
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run("fix", "plan", path, "--out", tmp_path / "plan.json")
    assert result.exit_code == 2, result.output
    assert "duplicate-contact:1" in result.output and "duplicate-contact:2" in result.output


def test_undo_refuses_what_the_file_system_refuses_plainly(tmp_path):
    import shutil

    fixed = _fixed(tmp_path)
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    result = run("fix", "undo", fixed, "--out", tmp_path / "a-file" / "restored")
    assert result.exit_code == 2, result.output
    kept = next(p for p in (fixed / ".connect-audit-undo" / "originals").iterdir())
    kept.unlink()
    kept.mkdir()  # a folder where the original file was kept
    result = run("fix", "undo", fixed, "--out", tmp_path / "restored")
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    shutil.rmtree(fixed)
    fixed = _fixed(tmp_path / "again")
    _edit_manifest(fixed, lambda m: m["files"].append(
        {"path": "x" * 300, "original_sha256": "0" * 64, "fixed_sha256": "0" * 64,
         "changed": True}))
    result = run("fix", "undo", fixed, "--out", tmp_path / "restored2")
    assert result.exit_code == 2, result.output
