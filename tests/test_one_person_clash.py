"""A username clash between two records of one person is resolved by merging them: the plan
carries no change of its own for it, and no decision can make apply change that parent's email
(issue 15, item 1)."""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest
from click.testing import CliRunner

from audits.checks.username_clash.check import ONE_PERSON_TWO_RECORDS
from audits.cli import main
from fix_boards import BOARD, findings_doc, merge_finding
from fix_boards import apply_plan
from fix_boards import write_board
from fixes.plan import build_plan


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("one-person")
    board = root / "board"
    assert run("sample", board, "--students", 800, "--seed", 7).exit_code == 0
    assert run("audit", board, "--out", root / "out", "--format", "json",
               "--quiet").exit_code == 0
    findings = json.loads((root / "out" / "findings.json").read_text("utf-8"))
    return board, findings


def test_the_plan_leaves_such_a_clash_to_its_merge(audited):
    _, findings = audited
    clashes = {f["id"] for f in findings["findings"] if f["check"] == "username-clash"
               and f["fix"].get("cause") == ONE_PERSON_TWO_RECORDS}
    assert clashes
    plan = build_plan(findings)
    merges = {a["finding"] for a in plan["actions"] if a["action"] == "merge-contacts"}
    for action in plan["actions"]:
        if action["finding"] in clashes:
            assert action["action"] == "manual", action
            assert "decision" not in action and "options" not in action
            if action.get("resolved_by"):
                assert action["resolved_by"] in merges


def test_applying_the_plan_changes_no_email_of_such_a_clash(audited, tmp_path):
    board, findings = audited
    clash_contacts = {c["contact_id"] for f in findings["findings"]
                      if f["check"] == "username-clash"
                      and f["fix"].get("cause") == ONE_PERSON_TWO_RECORDS
                      for c in f["fix"]["contacts"]}
    plan = build_plan(findings)
    for action in plan["actions"]:  # every other rename decided, as a reviewer would
        if action["action"] == "rename-username":
            for number, decision in enumerate([action["decision"],
                                               *action.get("more_decisions", [])]):
                decision["new_value"] = f"{action['finding'].split(':')[1]}.{number}@home.example"
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True,
                        apply_rest=True)
    assert result.applied
    changes = list(csv.DictReader(io.StringIO(
        (tmp_path / "fixed" / "changes.csv").read_text("utf-8-sig"))))
    for change in changes:
        key = dict(part.split("=", 1) for part in change["key"].split(", "))
        if change["table"] == "contacts" and change["column"].lower() == "email":
            assert key.get("contact_id") not in clash_contacts, change


def test_a_hand_made_rename_of_a_merged_persons_email_is_skipped(tmp_path):
    board = write_board(tmp_path / "board")
    rename = {"finding": "username-clash:jen", "action": "rename-username",
              "username": "jen@example.com",
              "options": [{"table": "contacts", "key": "C1", "column": "email"},
                          {"table": "contacts", "key": "C2", "column": "email"}],
              "decision": {"table": "contacts", "key": "C2", "column": "email",
                           "new_value": "jenny.personal@example.org"}}
    plan = build_plan(findings_doc(merge_finding()))
    plan["actions"].append(rename)
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    assert result.applied == ["duplicate-contact:0001"]
    assert any("makes its records one" in why for _, why in result.skipped)
    assert not [c for c in result.changes if c.column.lower() == "email"]


def test_the_review_page_offers_the_actions_fix_plan_makes(audited):
    """The page's per-finding actions are settled across findings as `fix plan` settles them:
    a clash of two records of one person is left to its merge there too, and a merge holds
    back a clashing email, so a plan downloaded from the review equals `fix plan`'s."""
    from audits.model.findings import Finding
    from reports.input import ReportInput
    from reports.html import report_data

    _, findings = audited
    report = ReportInput([Finding.from_dict(f) for f in findings["findings"]])
    data = report_data(report)
    page = {light["id"]: detail["plan"] for light, detail in zip(data["findings"],
                                                                   data["details"])
            if detail["plan"] is not None}
    planned = {action["finding"]: action for action in build_plan(findings)["actions"]}
    assert page.keys() == planned.keys()
    differing = [fid for fid in planned if page[fid] != planned[fid]]
    assert not differing, differing[:3]
    assert any(action.get("resolved_by") for action in page.values())
