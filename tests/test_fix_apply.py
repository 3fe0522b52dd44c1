"""Applying a fix plan: dry run, the written export, stale and threshold refusals, idempotence,
retired records, workbook in / workbook out."""

from __future__ import annotations

import copy
import csv
import io

import pytest

from audits.model.errors import UserError
from fix_boards import (BOARD, bound, findings_doc, link_finding, merge_finding, permission_finding,
                        rename_finding, snapshot, write_board, write_workbook)
from fix_boards import apply_plan
from fixes.export_writer import read_export
from fixes.plan import build_plan, plan_document


def full_plan():
    return build_plan(findings_doc(merge_finding(), link_finding(), permission_finding(),
                                   rename_finding()))


def table_rows(folder, name):
    return list(csv.reader(io.StringIO((folder / f"{name}.csv").read_text("utf-8-sig"))))


def test_dry_run_reports_table_by_table_and_writes_nothing(tmp_path):
    board = write_board(tmp_path / "board")
    before = snapshot(board)
    result = apply_plan(full_plan(), board, tmp_path / "fixed", force=True)
    assert not (tmp_path / "fixed").exists()
    assert snapshot(board) == before
    assert result.counts["student_contacts"] == {"changed": 1, "added": 0, "removed": 1}
    assert result.counts["account_students"]["added"] == 2
    assert result.counts["siblings"]["added"] == 1
    assert sorted(result.applied) == ["duplicate-contact:0001", "missing-sibling-access:0003",
                                      "unlinked-siblings:0002"]
    assert result.skipped[0][0] == "username-clash:0004"
    text = result.text()
    assert "Dry run" in text and "student_contacts: 1 changed, 0 added, 1 removed" in text
    assert "student_contacts row 3: set contact_id (merge-contacts duplicate-contact:0001)" in text
    assert "account_students new row: add (merge-contacts duplicate-contact:0001)" in text


def test_the_dry_run_text_prints_no_personal_data(tmp_path):
    """The text goes to scheduled-job logs: where and why a change is, never its values."""
    board = write_board(tmp_path / "board")
    plan = build_plan(findings_doc(merge_finding(), link_finding(), permission_finding(),
                                   rename_finding()))
    result = apply_plan(plan, board, tmp_path / "fixed", force=True)
    text = result.text(limit=100)
    assert result.changes and any(c.before or c.after for c in result.changes)
    for change in result.changes:
        assert change.finding_id in text
    for value in ("jen@example.com", "Jennifer", "Jenny", "Smith", "555-0101", "1 Elm St",
                  "Mother", "Emergency", "C2 ->", "-> C1", "contact_id=", "'S1'"):
        assert value not in text, value


def test_write_makes_a_complete_export_and_keeps_retired_records(tmp_path):
    board = write_board(tmp_path / "board")
    before = snapshot(board)
    apply_plan(full_plan(), board, tmp_path / "fixed", write=True, force=True)
    fixed = tmp_path / "fixed"
    assert snapshot(board) == before  # never touches the input
    # Untouched tables are byte-identical copies.
    for name in ("schools", "students", "accounts"):
        assert (fixed / f"{name}.csv").read_bytes() == (board / f"{name}.csv").read_bytes()
    assert table_rows(fixed, "student_contacts") == [
        ["student_id", "contact_id", "relationship", "portal_access"],
        ["S1", "C1", "Mother", "Y"], ["S2", "C1", "Mother", "Y"],
        ["S3", "C3", "Father", "Y"], ["S4", "C3", "Father", "Y"]]
    # The retired record leaves contacts and is kept, whole, in retired_contacts.csv.
    contacts = table_rows(fixed, "contacts")
    assert [row[0] for row in contacts] == ["contact_id", "C1", "C3"]
    assert contacts[1] == ["C1", "Jennifer", "Smith", "jen@example.com", "555-0101", "1 Elm St"]
    retired = table_rows(fixed, "retired_contacts")
    assert retired[0][:5] == ["retired_id", "survivor_id", "finding_id", "kept_in_contacts",
                              "links_moved"]
    record = dict(zip(retired[0], retired[1]))
    assert (record["retired_id"], record["survivor_id"], record["kept_in_contacts"]) == (
        "C2", "C1", "no")
    assert (record["first_name"], record["cell_phone"]) == ("Jenny", "555-0101")
    assert "student_id=S2, contact_id=C2" in record["links_moved"]
    # The merged parent's account now sees the child the retired record had portal access to.
    assert ["A1", "S2"] in table_rows(fixed, "account_students")
    assert ["S3", "S4"] in table_rows(fixed, "siblings")
    changes = table_rows(fixed, "changes")
    assert changes[0] == ["table", "row", "key", "change", "column", "before", "after", "action",
                          "finding_id"]
    assert ["student_contacts", "3", "student_id=S2, contact_id=C2", "set", "contact_id", "C2",
            "C1", "merge-contacts", "duplicate-contact:0001"] in changes
    assert len(changes) == 1 + 7
    assert ["contacts", "3", "contact_id=C2", "remove"] in [r[:4] for r in changes]


def test_changed_file_keeps_encoding_line_endings_and_quoting(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["contacts"][1][1] = "Jénnifer"
    board = write_board(tmp_path / "board", tables, encodings={"contacts": "cp1252"},
                        newline="\n", quote_all=("contacts",))
    finding = merge_finding()
    finding["fix"]["records"]["C1"]["first_name"] = "Jénnifer"
    plan = build_plan(findings_doc(finding))
    apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    original = (board / "contacts.csv").read_bytes().split(b"\n")
    fixed = (tmp_path / "fixed" / "contacts.csv").read_bytes().split(b"\n")
    assert fixed[0] == original[0]
    assert fixed[1] == '"C1","Jénnifer","Smith","jen@example.com","555-0101","1 Elm St"'.encode(
        "cp1252")
    assert fixed[2:] == original[3:]  # C2 retired


def test_utf8_bom_and_extra_columns_survive(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["siblings"] = [["Student ID", "Sibling-ID", "Note"], ["S1", "S2", "x"]]
    board = write_board(tmp_path / "board", tables, encodings={"siblings": "utf-8-sig"})
    apply_plan(build_plan(findings_doc(link_finding())), board, tmp_path / "fixed", write=True,
               force=True)
    data = (tmp_path / "fixed" / "siblings.csv").read_bytes()
    assert data == "\ufeffStudent ID,Sibling-ID,Note\r\nS1,S2,x\r\nS3,S4,\r\n".encode("utf-8")


def test_changes_csv_is_formula_safe(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["contacts"][2][4] = "=HYPERLINK(\"x\")"
    board = write_board(tmp_path / "board", tables)
    finding = merge_finding()
    finding["fix"]["records"]["C2"]["cell_phone"] = "=HYPERLINK(\"x\")"
    apply_plan(build_plan(findings_doc(finding)), board, tmp_path / "fixed", write=True,
               force=True)
    changes = table_rows(tmp_path / "fixed", "changes")
    cell = [row for row in changes if row[4] == "cell_phone"][0]
    assert cell[6] == "'=HYPERLINK(\"x\")"


def test_stale_action_is_refused_by_name_and_the_rest_applied_only_on_request(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["contacts"][2][3] = "jenny.new@example.com"  # C2 changed since the plan
    board = write_board(tmp_path / "board", tables)
    with pytest.raises(UserError) as raised:
        apply_plan(full_plan(), board, tmp_path / "fixed", write=True, force=True)
    assert "duplicate-contact:0001" in str(raised.value)
    assert "C2's email changed" in str(raised.value)
    assert not (tmp_path / "fixed").exists()
    result = apply_plan(full_plan(), board, tmp_path / "fixed", write=True, force=True,
                        apply_rest=True)
    assert result.refused == [("duplicate-contact:0001",
                               "contact record C2's email changed since the plan")]
    assert "unlinked-siblings:0002" in result.applied
    assert (tmp_path / "fixed" / "contacts.csv").read_bytes() == (board / "contacts.csv").read_bytes()


def test_stale_when_a_student_link_moved_or_a_record_vanished(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["student_contacts"][2][3] = "N"  # C2's portal access to S2 withdrawn
    board = write_board(tmp_path / "board", tables)
    result = apply_plan(full_plan(), board, tmp_path / "f", apply_rest=True, force=True)
    assert result.refused[0] == ("duplicate-contact:0001",
                                 "contact record C2's student links changed since the plan")
    tables = copy.deepcopy(BOARD)
    del tables["accounts"][2]  # A3 is gone
    board = write_board(tmp_path / "board2", tables)
    result = apply_plan(full_plan(), board, tmp_path / "f", apply_rest=True, force=True)
    assert ("missing-sibling-access:0003", "account A3 no longer exists") in result.refused


def test_threshold_refusal_and_force(tmp_path):
    board = write_board(tmp_path / "board")
    plan = build_plan(findings_doc(permission_finding()))
    with pytest.raises(UserError) as raised:
        apply_plan(plan, board, tmp_path / "fixed", write=True)
    assert "account_students.csv" in str(raised.value) and "--force" in str(raised.value)
    assert not (tmp_path / "fixed").exists()
    # The dry run shows the changes and says what --write would refuse.
    dry = apply_plan(plan, board, tmp_path / "fixed")
    assert dry.applied and dry.blocked and "--force" in dry.text()
    assert not (tmp_path / "fixed").exists()
    # A share high enough lets it through; so does force.
    assert apply_plan(plan, board, tmp_path / "f", max_share=0.5).applied
    assert not apply_plan(plan, board, tmp_path / "f", max_share=0.5).blocked
    assert apply_plan(plan, board, tmp_path / "fixed", write=True, force=True).written


def test_applying_twice_changes_nothing_the_second_time(tmp_path):
    board = write_board(tmp_path / "board")
    plan = full_plan()
    first = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    assert first.changes
    second = apply_plan(plan, tmp_path / "fixed", tmp_path / "again", write=True)
    assert second.changes == [] and second.refused == []
    assert sorted(second.already_applied) == sorted(first.applied)
    fixed, again = snapshot(tmp_path / "fixed"), snapshot(tmp_path / "again")
    for name in ("contacts.csv", "student_contacts.csv", "siblings.csv", "account_students.csv"):
        assert again[name] == fixed[name]


def test_decided_rename_is_applied(tmp_path):
    board = write_board(tmp_path / "board")
    plan = build_plan(findings_doc(rename_finding()))
    plan["actions"][0]["decision"]["new_value"] = "ray.jones@home.example"
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    assert result.applied == ["username-clash:0004"]
    assert plan["actions"][0]["decision"]["table"] == "accounts"
    assert table_rows(tmp_path / "fixed", "accounts")[2][1] == "ray.jones@home.example"
    again = apply_plan(plan, tmp_path / "fixed", tmp_path / "again")
    assert again.already_applied == ["username-clash:0004"]


def test_workbook_in_workbook_out(tmp_path):
    book = write_workbook(tmp_path / "board.xlsx")
    result = apply_plan(full_plan(), book, tmp_path / "fixed", write=True, force=True)
    assert result.written and (tmp_path / "fixed" / "board.xlsx").is_file()
    fixed = read_export(tmp_path / "fixed" / "board.xlsx")
    assert fixed.kind == "xlsx"
    assert fixed.tables["student_contacts"].rows == [
        ["S1", "C1", "Mother", "Y"], ["S2", "C1", "Mother", "Y"],
        ["S3", "C3", "Father", "Y"], ["S4", "C3", "Father", "Y"]]
    assert ["A1", "S2"] in fixed.tables["account_students"].rows
    assert [row[0] for row in fixed.tables["contacts"].rows] == ["C1", "C3"]
    assert (tmp_path / "fixed" / "changes.csv").is_file()
    assert (tmp_path / "fixed" / "retired_contacts.csv").is_file()
    again = apply_plan(full_plan(), tmp_path / "fixed" / "board.xlsx", tmp_path / "again")
    assert again.changes == []


def test_refuses_an_existing_output_and_a_bad_plan(tmp_path):
    board = write_board(tmp_path / "board")
    (tmp_path / "fixed").mkdir()
    with pytest.raises(UserError, match="already exists"):
        apply_plan(full_plan(), board, tmp_path / "fixed", write=True, force=True)
    with pytest.raises(UserError, match="Not a fix plan"):
        apply_plan({"actions": []}, board, tmp_path / "x")
    bad = plan_document([{"action": "explode", "finding": "x"}, {"action": "link-siblings"}],
                        source=None)
    with pytest.raises(UserError) as raised:
        apply_plan(bad, board, tmp_path / "x")
    assert len(raised.value.problems) == 3


def test_end_to_end_audit_plan_apply_reaudit(tmp_path):
    """Issue 5's done-when on a generated board: after applying every proposed fix (every
    automatic action, and every rename decided as benchmarks/fix_roundtrip.py decides them) a
    re-audit has none of the fixed findings left and no new finding of any kind."""
    import json

    from audits import api
    from audits.sample import generate_board, write_board as write_sample
    from benchmarks.fix_roundtrip import decide_renames

    board = write_sample(generate_board(600, seed=11), tmp_path / "board")
    before = api.run_audit(api.load_board(board))
    plan = build_plan(json.loads(json.dumps(before.document())))
    assert decide_renames(plan) > 0
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    assert result.applied and not result.refused
    assert {f for f, _ in result.skipped} == {
        a["finding"] for a in plan["actions"] if a["action"] == "manual"}
    after = {f.id for f in api.run_audit(api.load_board(tmp_path / "fixed")).findings}
    assert [i for i in result.applied if i in after] == []
    assert sorted(after - {f.id for f in before.findings}) == []
    again = apply_plan(plan, tmp_path / "fixed", tmp_path / "again")
    assert again.changes == [] and again.refused == []


def test_workbook_fix_writes_formula_like_values_as_text(tmp_path):
    """A value that looks like a formula is moved by a fix as text, never as a live formula."""
    import openpyxl

    from fix_boards import apply_plan

    book = openpyxl.Workbook()
    book.remove(book.active)
    sheets = {
        "schools": [["school_id", "school_name"], ["1", "Elm"]],
        "students": [["student_id", "school_id", "first_name", "last_name"],
                     ["S1", "1", "Ana", "Roy"], ["S2", "1", "Leo", "Roy"]],
        "contacts": [["contact_id", "first_name", "last_name", "email"]],
        "student_contacts": [["student_id", "contact_id", "relationship", "portal_access"]],
        "siblings": [["student_id", "sibling_id"]],
        "staff": [["staff_id", "school_id", "first_name", "last_name"]],
    }
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    board = tmp_path / "board.xlsx"
    book.save(board)
    plan = {"schema": "connect-audit/fix-plan/v1", "source": None, "actions": [{
        "finding": "unlinked-siblings:1", "check": "unlinked-siblings", "action": "link-siblings",
        "title": "t", "confidence": 1.0, "needs_decision": False, "steps": [],
        "pairs": [["=HYPERLINK(\"http://x\",\"y\")", "S2"]]}]}
    # The student id is formula-like on purpose; the plan is stale (no such student) and refused.
    result = apply_plan(plan, board, tmp_path / "fixed", write=False, force=True, apply_rest=True)
    assert result.refused
    from fixes.export_writer import _set_text

    sheet = openpyxl.Workbook().active
    cell = sheet.cell(row=1, column=1)
    _set_text(cell, '=HYPERLINK("http://x","y")')
    assert cell.data_type == "s" and cell.value.startswith("=")


def _kinship_board(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["student_contacts"] = [["student_id", "contact_id", "relationship", "portal_access"],
                                  ["S1", "C1", "Emergency", "Y"], ["S2", "C2", "Mother", "Y"],
                                  ["S1", "C2", "Kinship Carer", "N"],
                                  ["S3", "C3", "Father", "Y"], ["S4", "C3", "Father", "Y"]]
    return write_board(tmp_path / "board", tables)


def test_a_merge_uses_the_configs_parental_relationships(tmp_path):
    """When both records link one student, the kept link takes the retired link's parental
    relationship, and "parental" is the board's config word list, not the built-in one."""
    from audits.model.config import apply_overrides, Config

    board = _kinship_board(tmp_path)
    plan = build_plan(findings_doc(merge_finding()))
    default = apply_plan(plan, board, tmp_path / "a", force=True)
    assert not [c for c in default.changes if c.column == "relationship"]
    config = apply_overrides(Config(), {"relationships": {"parental": ["Mother", "Kinship Carer"]}})
    custom = apply_plan(plan, board, tmp_path / "b", force=True, config=config)
    [change] = [c for c in custom.changes if c.column == "relationship"]
    assert (change.before, change.after) == ("Emergency", "Kinship Carer")


def test_fix_apply_command_passes_the_config(tmp_path):
    import json

    from click.testing import CliRunner

    from audits.cli import main

    board = _kinship_board(tmp_path)
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(bound(build_plan(findings_doc(merge_finding())), board)),
                         encoding="utf-8")
    config_path = tmp_path / "config.toml"
    config_path.write_text('[relationships]\nparental = ["Mother", "Kinship Carer"]\n'
                           '[fixes]\nmax_share = 1.0\n', encoding="utf-8")
    run = CliRunner().invoke(main, ["fix", "apply", str(plan_path), str(board), "--out",
                                    str(tmp_path / "fixed"), "--write", "--config",
                                    str(config_path)])
    assert run.exit_code == 0, run.output
    assert ["S1", "C1", "Kinship Carer", "Y"] in table_rows(tmp_path / "fixed", "student_contacts")


def test_parental_mask_is_the_vectorised_is_parental():
    import pandas as pd

    from audits.model.config import apply_overrides, Config

    config = apply_overrides(Config(), {"relationships": {"parental": ["Kinship Carer"]}})
    words = pd.Series([" kinship carer ", "Mother", "KINSHIP CARER", ""], index=[5, 6, 7, 8])
    mask = config.parental_mask(words)
    assert mask.dtype == bool and list(mask.index) == [5, 6, 7, 8]
    assert mask.tolist() == [True, False, True, False]
    assert mask.tolist() == [config.is_parental(w) for w in words]
    assert Config().parental_mask(pd.Series(["Mère", "Friend"])).tolist() == [True, False]


def test_the_dry_run_states_every_change_before_and_after(tmp_path):
    """terraform plan's style: each action's changes, in plan order, before → after; and the
    same lines in changes.csv once written."""
    board = write_board(tmp_path / "board")
    plan = full_plan()
    dry = apply_plan(plan, board, tmp_path / "fixed", force=True)
    text = dry.text(values=True)
    lines = text.splitlines()
    assert "duplicate-contact:0001 (merge-contacts):" in lines
    assert any(line.startswith("  ~ student_contacts row 3 [") and "contact_id: C2 → C1" in line
               for line in lines), text
    assert any(line.startswith("  + account_students new row") for line in lines), text
    assert any(line.startswith("  - student_contacts row") for line in lines), text
    # Actions appear in plan order, each once, with its own changes under it.
    headers = [line.split(" ")[0] for line in lines
               if line.endswith("):") and not line.startswith(("  ", "Changes"))]
    assert headers == sorted(set(headers), key=headers.index)
    applied = [a["finding"] for a in plan["actions"] if a["finding"] in dry.applied]
    assert headers == applied
    written = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    with (tmp_path / "fixed" / "changes.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(dry.changes) == len(written.changes)
    for row in rows:
        if row["change"] == "set":
            assert f"{row['column']}: {row['before'] or chr(34) * 2} → {row['after']}" in text


def test_the_dry_run_without_values_prints_lengths_only(tmp_path):
    board = write_board(tmp_path / "board")
    result = apply_plan(full_plan(), board, tmp_path / "fixed", force=True)
    text = result.text(values=False)
    assert "~ student_contacts row 3 contact_id: <2 characters> → <2 characters>" in text
    for value in ("jen@example.com", "Jennifer", "Jenny", "Smith", "555-0101", "1 Elm St",
                  "Mother", "Emergency", "C2 →", "→ C1", "contact_id=", "'S1'"):
        assert value not in text, value


def test_the_share_refusal_names_each_table_with_its_counts(tmp_path):
    board = write_board(tmp_path / "board")
    with pytest.raises(UserError) as refused:
        apply_plan(full_plan(), board, tmp_path / "fixed", write=True)
    message = refused.value.message
    assert "student_contacts.csv (2 of " in message and "rows, " in message
    assert all(p.kind == "over-threshold" and " of its " in p.message
               for p in refused.value.problems)


def test_the_cli_dry_run_shows_values_on_request_and_never_into_a_log(tmp_path):
    """Output that is not a terminal (a job's log, a file) gets lengths; --values asks for the
    values, --no-values never prints them."""
    import json

    from click.testing import CliRunner

    from audits.cli import main

    board = write_board(tmp_path / "board")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(bound(full_plan(), board)), encoding="utf-8")
    args = ["fix", "apply", str(plan), str(board), "--out", str(tmp_path / "fixed"), "--force"]
    quiet = CliRunner().invoke(main, args)
    shown = CliRunner().invoke(main, [*args, "--values"])
    never = CliRunner().invoke(main, [*args, "--no-values"])
    assert quiet.exit_code == shown.exit_code == never.exit_code == 0, quiet.output
    assert "contact_id: C2 → C1" in shown.output
    for output in (quiet.output, never.output):
        assert "<2 characters> → <2 characters>" in output and "C2 →" not in output
