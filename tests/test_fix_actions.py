"""The typed fix actions: what a check builds is findings.json's fix key for key, a document
reads back into the one shape the planners use, and the merge survivor is the check's."""

from __future__ import annotations

import dataclasses

import pytest

from audits.checks.spec import FixSpec, load_checks
from audits.model import actions
from audits.model.actions import (NO_FIX, AddPermission, FixAction, LinkSiblings, Manual,
                                  MergeContacts, RenameUsername, UntypedFix, fix_from_dict)
from audits.model.findings import Finding, Severity
from fix_boards import merge_finding
from fixes.plan import plan_action


def _finding(fix, **fields) -> Finding:
    return Finding(id="duplicate-contact:1", check="duplicate-contact", severity=Severity.ERROR,
                   title="t", **fields, fix=fix)


def test_each_action_writes_its_keys_in_the_order_findings_json_has():
    merge = MergeContacts(keep="C1", keep_reason="holds a parent account", retire=("C2",),
                          records={"C1": {}, "C2": {}}, accounts={"C1": ("A1",)},
                          steps=("1. x",), waits_for=({"step": 1, "check": "unlinked-siblings"},))
    assert list(merge.to_dict()) == ["action", "keep", "retire", "students", "records", "links",
                                     "accounts", "kept_accounts", "steps", "waits_for"]
    assert merge.to_dict()["accounts"] == {"C1": ["A1"]}
    rename = RenameUsername(username="a@b.ca", cause="c", scope="s", steps=("1. x",))
    assert list(rename.to_dict()) == ["action", "username", "needs_decision", "cause", "scope",
                                      "accounts", "contacts", "staff", "steps"]
    assert "recommended_contact" in RenameUsername(recommended_contact="C1").to_dict()
    assert list(AddPermission(account_id="A1").to_dict()) == [
        "action", "account_id", "username", "contact_id", "students", "regenerate", "steps"]
    assert LinkSiblings(pairs=(("S1", "S2"),)).to_dict()["pairs"] == [["S1", "S2"]]
    manual = Manual(details={"contact_id": "C9", "field": "email"}, steps=("1. x",))
    assert manual.to_dict() == {"action": "manual", "contact_id": "C9", "field": "email",
                                "steps": ["1. x"]}


def test_an_action_reads_as_the_mapping_it_writes():
    action = AddPermission(account_id="A1", students=("S1",), steps=("1. x",))
    assert action["account_id"] == "A1" and action.get("missing") is None
    assert action == action.to_dict() and dict(action) == action.to_dict()
    assert not NO_FIX and NO_FIX.to_dict() == {}


def test_a_document_reads_back_as_it_was_written():
    for fix in (merge_finding()["fix"], {"action": "set-email", "steps": ["x"]},
                {"steps": ["Ask the parent."]}, {"action": "merge-contacts", "accounts": {"C1": 5}},
                {}):
        read = fix_from_dict(fix)
        assert read.to_dict() == fix and list(read.to_dict()) == list(fix)
    assert isinstance(fix_from_dict({"action": "set-email"}), UntypedFix)
    # A number where a record's list of account ids is: not a merge this version can read.
    assert isinstance(fix_from_dict({"action": "merge-contacts", "records": {"C1": {}},
                                     "accounts": {"C1": 5}}), UntypedFix)


def test_the_accounts_of_a_merge_read_into_one_shape():
    rows = fix_from_dict({"action": "merge-contacts", "keep": "C2", "retire": ["C1"],
                          "accounts": [{"account_id": "A1", "person_id": "C1",
                                        "account_type": "parent"},
                                       {"account_id": "E1", "person_id": "C2",
                                        "account_type": "staff"}]})
    mapping = fix_from_dict({"action": "merge-contacts", "keep": "C2", "retire": ["C1"],
                             "accounts": {"C1": ["A1"]}})
    on_record = fix_from_dict({"action": "merge-contacts", "keep": "C2", "retire": ["C1"],
                               "records": {"C1": {"parent_account": "A1"}, "C2": {}}})
    for action in (rows, mapping, on_record):
        assert dict(action.accounts) == {"C1": ("A1",), "C2": ()}


def test_the_survivor_is_the_checks_and_a_document_asks_the_same_rule():
    made = MergeContacts(keep="C2", keep_reason="linked to the most students", retire=("C1",),
                         records={"C1": {}, "C2": {}})
    assert made.survivor == ("C2", "linked to the most students")
    action = plan_action(_finding(made, contacts=("C1", "C2")))
    assert (action["survivor"], action["survivor_reason"]) == made.survivor
    assert "note" not in action
    # Read from a document (which does not carry the reason), the rule is asked again; where it
    # keeps another record than the document's keep, its answer stands and the plan says so.
    read = fix_from_dict(merge_finding()["fix"], contacts=("C1", "C2"))
    assert read.keep == "C2" and read.survivor == ("C1", "holds a parent account")


def test_replace_writes_the_fields_not_the_document_read():
    read = fix_from_dict({"action": "link-siblings", "pairs": [["S1", "S2"]], "steps": []})
    changed = dataclasses.replace(read, pairs=(("S3", "S4"),))
    assert changed.to_dict()["pairs"] == [["S3", "S4"]]


def test_a_finding_given_a_mapping_reads_it_as_its_typed_action():
    finding = _finding({"action": "add-permission", "account_id": "A1", "students": ["S1"]})
    assert isinstance(finding.fix, AddPermission) and finding.fix.students == ("S1",)
    assert Finding.from_dict(finding.to_dict()).to_dict() == finding.to_dict()


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class _Retag(FixAction):
    """An action a check of its own folder could declare."""

    name = "retag-contact"
    tag: str = ""

    def _fields(self):
        return {"tag": self.tag}

    @classmethod
    def _read(cls, data, contacts):
        return {"tag": str(data.get("tag", ""))}


def test_an_action_a_check_declares_reads_back_from_findings_json_as_its_own_type(monkeypatch):
    monkeypatch.setattr(actions, "ACTION_TYPES", dict(actions.ACTION_TYPES))
    written = {"action": "retag-contact", "tag": "x", "steps": ["1. x"]}
    assert isinstance(fix_from_dict(written), UntypedFix)  # no check declares it yet
    FixSpec(_Retag, required=("tag",))  # what @check(..., fix=FixSpec(_Retag)) does
    read = fix_from_dict(written)
    assert isinstance(read, _Retag) and read.tag == "x" and read.to_dict() == written
    assert Finding.from_dict({"id": "x:1", "check": "x", "severity": "error",
                              "fix": written}).fix.tag == "x"


def test_two_action_classes_under_one_name_are_refused(monkeypatch):
    monkeypatch.setattr(actions, "ACTION_TYPES", dict(actions.ACTION_TYPES))
    other = type("OtherMerge", (MergeContacts,), {"name": "merge-contacts"})
    with pytest.raises(ValueError, match="two fix actions are named 'merge-contacts'"):
        FixSpec(other)


def test_every_checks_action_is_the_type_findings_json_reads_it_as():
    for code, spec in load_checks().items():
        if spec.fix is not None:
            assert actions.ACTION_TYPES[spec.fix.action] is spec.fix.kind, code


def test_a_fix_that_does_not_read_as_its_action_says_why():
    entry = {"id": "missing-sibling-access:1", "check": "missing-sibling-access",
             "severity": "error", "fix": {"action": "add-permission", "account_id": "A1",
                                          "students": "S1", "steps": []}}
    fix = Finding.from_dict(entry).fix
    assert isinstance(fix, UntypedFix) and "list of ids" in fix.problem
    with pytest.raises(ValueError, match="does not read as a add-permission fix: .*list of ids"):
        plan_action(entry)
