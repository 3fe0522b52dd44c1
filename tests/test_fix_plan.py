"""The fix plan: one action per finding, the survivor rule, fills, decisions, the envelope."""

from __future__ import annotations

import json

import pytest

from audits.model.errors import UserError
from fix_boards import (findings_doc, link_finding, merge_finding, missing_username_finding,
                        permission_finding, rename_finding)
from audits.household.survivor import choose_survivor
from fixes.plan import SCHEMA, build_plan, plan_action, plan_document


def test_merge_keeps_the_record_holding_a_parent_account_over_the_checks_hint():
    action = plan_action(merge_finding())
    assert action["survivor"] == "C1"
    assert action["retire"] == ["C2"]
    assert action["survivor_reason"] == "holds a parent account"
    assert "C2" in action["note"]
    # The survivor lacks a cell phone; the plan says where it comes from.
    assert action["fill"] == [{"column": "cell_phone", "value": "555-0101", "from": "C2"}]
    assert action["expect"]["parent_accounts"] == {"C1": ["A1"], "C2": []}


@pytest.mark.parametrize("records,links,accounts,expected", [
    # No account: the record linked to the most students.
    ({"C1": {}, "C2": {}}, [{"contact_id": "C2", "student_id": "S1"},
                           {"contact_id": "C2", "student_id": "S2"},
                           {"contact_id": "C1", "student_id": "S1"}], {}, ("C2", "linked to the most students")),
    # Same number of students: the most complete record.
    ({"C1": {"email": "a@b.ca"}, "C2": {"email": "a@b.ca", "cell_phone": "1"}}, [], {},
     ("C2", "the most complete record")),
    # All equal: the lowest id in natural order (the older record), text breaking ties.
    ({"C9": {}, "C10": {}}, [], {}, ("C9", "the lowest id")),
    ({"123": {}, "000123": {}}, [], {}, ("000123", "the lowest id")),
    # Two account holders: the rule continues among them only.
    ({"C1": {}, "C2": {}, "C3": {}}, [{"contact_id": "C3", "student_id": "S1"},
                                     {"contact_id": "C3", "student_id": "S2"}],
     {"C1": ["A1"], "C2": ["A2"]}, ("C1", "the lowest id")),
])
def test_survivor_rule(records, links, accounts, expected):
    assert choose_survivor(set(records) | set(accounts), records, links, accounts) == expected


def test_link_permission_and_manual_actions():
    link = plan_action(link_finding())
    assert link["action"] == "link-siblings" and link["pairs"] == [["S3", "S4"]]
    grant = plan_action(permission_finding())
    assert (grant["account_id"], grant["students"], grant["username"]) == (
        "A3", ["S4"], "ray@example.com")
    manual = plan_action(missing_username_finding())
    assert manual["action"] == "manual" and manual["steps"] == ["Ask the parent for an email address."]


def test_rename_is_a_suggestion_waiting_for_a_decision():
    action = plan_action(rename_finding())
    assert action["needs_decision"] is True
    # C3 already holds A3: a new email on C3 would not rename the existing account.
    assert action["decision"] == {"table": "accounts", "key": "A3", "column": "username",
                                  "new_value": None}
    assert [(o["table"], o["key"]) for o in action["options"]] == [("accounts", "A3"),
                                                                   ("contacts", "C3")]
    assert "more_decisions" not in action


def test_a_rename_suggests_the_would_be_account_first_and_one_decision_per_extra_holder():
    finding = rename_finding()
    finding["fix"]["contacts"] = [{"contact_id": "C3", "email": "ray@example.com"},
                                  {"contact_id": "C7", "email": "ray@example.com"},
                                  {"contact_id": "C8", "email": "ray@example.com"}]
    finding["fix"]["accounts"].append({"account_id": "E1", "school_id": "200",
                                       "account_type": "staff", "person_id": "T1"})
    action = plan_action(finding)
    # Four holders (two would-be accounts, a parent and a staff account): three must change,
    # and the staff account keeps its work address.
    chosen = [action["decision"], *action["more_decisions"]]
    assert [(d["table"], d["key"]) for d in chosen] == [("contacts", "C7"), ("contacts", "C8"),
                                                        ("accounts", "A3")]
    assert all(d["new_value"] is None for d in chosen)


def test_plan_document_envelope_does_not_depend_on_actions():
    empty = plan_document([], source="findings.json")
    full = plan_document([plan_action(link_finding())], source="findings.json")
    assert empty["schema"] == SCHEMA
    assert {k: v for k, v in empty.items() if k != "actions"} == {
        k: v for k, v in full.items() if k != "actions"}
    json.dumps(full)  # the plan is plain JSON


def test_build_plan_filters_by_check_and_confidence():
    doc = findings_doc(merge_finding(), link_finding(), permission_finding())
    assert [a["finding"] for a in build_plan(doc)["actions"]] == [
        "duplicate-contact:0001", "unlinked-siblings:0002", "missing-sibling-access:0003"]
    assert [a["check"] for a in build_plan(doc, checks=["unlinked-siblings"])["actions"]] == [
        "unlinked-siblings"]
    assert [a["finding"] for a in build_plan(doc, min_confidence=0.95)["actions"]] == [
        "duplicate-contact:0001", "missing-sibling-access:0003"]


def test_build_plan_rejects_what_is_not_findings():
    with pytest.raises(UserError):
        build_plan({"schema": "something else"})
