"""A merge whose retired record holds a parent account: the account is handed to the survivor
(re-pointed, and disabled when the survivor already has an active one), the record leaves
contacts, every change is logged and undo is exact. And renames that meet a merge."""

from __future__ import annotations

import copy
import csv
import io

from fix_boards import BOARD, findings_doc, merge_finding, rename_finding, snapshot, write_board
from fix_boards import apply_plan
from fixes.plan import build_plan
from fixes.undo import undo

BOTH_HOLD = [{"account_id": "A1", "person_id": "C1", "account_type": "parent"},
             {"account_id": "A2", "person_id": "C2", "account_type": "parent"}]


def rows(folder, name):
    return list(csv.reader(io.StringIO((folder / f"{name}.csv").read_text("utf-8-sig"))))


def board_with_a2(tmp_path, status="active", a1_status="active", with_status=True):
    tables = copy.deepcopy(BOARD)
    tables["accounts"] = [["account_id", "username", "account_type", "school_id", "person_id",
                           "status"],
                          ["A1", "jen@example.com", "parent", "100", "C1", a1_status],
                          ["A2", "jenny@example.com", "parent", "200", "C2", status],
                          ["A3", "ray@example.com", "parent", "100", "C3", "active"]]
    tables["account_students"] = [["account_id", "student_id"], ["A1", "S1"], ["A2", "S2"],
                                  ["A3", "S3"]]
    if not with_status:
        tables["accounts"] = [row[:5] for row in tables["accounts"]]
    return write_board(tmp_path / "board", tables)


def test_both_records_hold_accounts_the_retired_one_is_disabled_and_repointed(tmp_path):
    board = board_with_a2(tmp_path)
    original = snapshot(board)
    plan = build_plan(findings_doc(merge_finding(accounts=BOTH_HOLD)))
    [action] = plan["actions"]
    # Both hold an account: the survivor rule goes on to the most students (C2: S1 and S2).
    assert (action["survivor"], action["retire"]) == ("C2", ["C1"])
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    fixed = tmp_path / "fixed"
    assert result.applied == ["duplicate-contact:0001"]
    assert [row[0] for row in rows(fixed, "contacts")] == ["contact_id", "C2", "C3"]
    accounts = {row[0]: row for row in rows(fixed, "accounts")}
    assert accounts["A1"][4:] == ["C2", "disabled"]
    assert accounts["A2"][4:] == ["C2", "active"]
    assert ["A2", "S1"] in rows(fixed, "account_students")
    changes = [r for r in rows(fixed, "changes") if r[0] == "accounts"]
    assert [(r[2], r[4], r[5], r[6]) for r in changes] == [
        ("account_id=A1", "status", "active", "disabled"),
        ("account_id=A1", "person_id", "C1", "C2")]
    retired = rows(fixed, "retired_contacts")
    record = dict(zip(retired[0], retired[1]))
    assert (record["retired_id"], record["kept_in_contacts"], record["accounts_moved"]) == (
        "C1", "no", "A1 (disabled)")
    # Undo is exact; a second apply changes nothing.
    undo(fixed, tmp_path / "restored")
    assert snapshot(tmp_path / "restored") == original
    again = apply_plan(plan, fixed, tmp_path / "again", write=True)
    assert again.changes == [] and again.already_applied == ["duplicate-contact:0001"]


def test_the_survivors_only_account_is_disabled_the_retired_ones_stays_active(tmp_path):
    """The parent keeps the login they use: re-pointed to the survivor, still active, and given
    every child the survivor has portal access to."""
    board = board_with_a2(tmp_path, status="disabled")
    plan = build_plan(findings_doc(merge_finding(accounts=BOTH_HOLD)))
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    fixed = tmp_path / "fixed"
    assert result.applied == ["duplicate-contact:0001"]
    accounts = {row[0]: row for row in rows(fixed, "accounts")}
    assert accounts["A1"][4:] == ["C2", "active"]
    assert accounts["A2"][4:] == ["C2", "disabled"]
    grants = rows(fixed, "account_students")
    assert ["A1", "S1"] in grants and ["A1", "S2"] in grants
    assert [r for r in grants if r[0] == "A2"] == [["A2", "S2"]]
    record = dict(zip(*rows(fixed, "retired_contacts")[:2]))
    assert record["accounts_moved"] == "A1 (kept active)"


def test_a_retired_records_accounts_that_changed_since_the_plan_make_it_stale(tmp_path):
    board = board_with_a2(tmp_path)
    plan = build_plan(findings_doc(merge_finding(accounts=[
        *BOTH_HOLD, {"account_id": "A9", "person_id": "C1", "account_type": "parent"}])))
    result = apply_plan(plan, board, tmp_path / "fixed", force=True, apply_rest=True)
    assert result.refused == [("duplicate-contact:0001",
                               "contact record C1's parent accounts changed since the plan")]
    assert result.changes == []


def test_without_a_status_column_the_record_keeps_its_account_and_stays(tmp_path):
    board = board_with_a2(tmp_path, with_status=False)
    plan = build_plan(findings_doc(merge_finding(accounts=BOTH_HOLD)))
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    fixed = tmp_path / "fixed"
    assert (fixed / "accounts.csv").read_bytes() == (board / "accounts.csv").read_bytes()
    assert [row[0] for row in rows(fixed, "contacts")] == ["contact_id", "C1", "C2", "C3"]
    assert result.retired[0]["kept_in_contacts"] == "yes (holds a parent account)"
    again = apply_plan(plan, fixed, tmp_path / "again")
    assert again.changes == [] and again.already_applied == ["duplicate-contact:0001"]


def _clash_on_both_records():
    """jen@example.com: C1's account A1 and C2's would-be account; C1 is retired into C2."""
    finding = rename_finding()
    finding.update(id="username-clash:jen", username="jen@example.com")
    finding["fix"].update(username="jen@example.com",
                          accounts=[{"account_id": "A1", "school_id": "100",
                                     "account_type": "parent", "person_id": "C1"}],
                          contacts=[{"contact_id": "C1", "email": "jen@example.com"},
                                    {"contact_id": "C2", "email": "jen@example.com"}])
    return finding


def test_a_rename_decided_for_a_record_the_plan_retires_follows_it_to_the_survivor(tmp_path):
    board = board_with_a2(tmp_path)
    plan = build_plan(findings_doc(merge_finding(accounts=BOTH_HOLD), _clash_on_both_records()))
    rename = plan["actions"][1]
    rename["decision"] = {"table": "contacts", "key": "C1", "column": "email",
                          "new_value": "jen.home@example.org"}
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    assert result.applied == ["duplicate-contact:0001", "username-clash:jen"]
    contacts = {row[0]: row for row in rows(tmp_path / "fixed", "contacts")}
    assert contacts["C2"][3] == "jen.home@example.org"
    again = apply_plan(plan, tmp_path / "fixed", tmp_path / "again")
    assert again.changes == [] and again.refused == []
    assert again.already_applied == ["duplicate-contact:0001", "username-clash:jen"]


def test_a_rename_the_merge_settled_is_skipped_and_named(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["contacts"][2][3] = "jenny@example.com"  # C2 (the survivor) has its own email
    board = write_board(tmp_path / "board", tables)
    merge = merge_finding()
    merge["fix"]["records"]["C2"]["email"] = "jenny@example.com"
    merge["fix"]["keep"], merge["fix"]["retire"] = "C1", ["C2"]
    finding = _clash_on_both_records()
    plan = build_plan(findings_doc(merge, finding))
    assert plan["actions"][0]["survivor"] == "C1"
    rename = plan["actions"][1]
    rename["decision"] = {"table": "contacts", "key": "C2", "column": "email",
                          "new_value": "x@example.org"}
    rename.pop("more_decisions", None)
    result = apply_plan(plan, board, tmp_path / "fixed", force=True)
    # C2 is retired into C1, whose email stays jen@example.com: the clash is C1 and A1 (one
    # person), so the decision lands on C1 and renames it.
    assert result.applied == ["duplicate-contact:0001", "username-clash:jen"]
    tables["contacts"][1][3] = "jennifer@example.com"  # now the survivor holds no clash
    board2 = write_board(tmp_path / "board2", tables)
    merge["fix"]["records"]["C1"]["email"] = "jennifer@example.com"
    plan = build_plan(findings_doc(merge, finding))
    plan["actions"][1]["decision"] = {"table": "contacts", "key": "C2", "column": "email",
                                      "new_value": "x@example.org"}
    plan["actions"][1].pop("more_decisions", None)
    result = apply_plan(plan, board2, tmp_path / "fixed2", force=True)
    assert result.applied == ["duplicate-contact:0001"]
    assert result.skipped == [("username-clash:jen", "its record was retired by the merge "
                               "duplicate-contact:0001, which settles the clash")]


def test_every_decision_of_a_clash_with_three_holders_is_needed(tmp_path):
    board = write_board(tmp_path / "board")
    finding = _clash_on_both_records()
    plan = build_plan(findings_doc(finding))
    [rename] = plan["actions"]
    assert [(d["table"], d["key"]) for d in [rename["decision"], *rename.get(
        "more_decisions", [])]] == [("contacts", "C2")]
    rename["more_decisions"] = [{"table": "contacts", "key": "C3", "column": "email",
                                 "new_value": None}]
    rename["decision"]["new_value"] = "c2@example.org"
    result = apply_plan(plan, board, tmp_path / "fixed", force=True)
    assert result.skipped and result.skipped[0][0] == "username-clash:jen"
    assert result.changes == []
