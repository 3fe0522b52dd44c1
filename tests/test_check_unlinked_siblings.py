"""Case file for ``unlinked-siblings``: the families that must be found and the traps that must not."""

from __future__ import annotations

import pytest

from audits.checks.unlinked_siblings.check import unlinked_siblings
from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity
from boards import make_board, shuffled, with_matches


def run(board, *groups, confidence=0.95):
    return list(unlinked_siblings(with_matches(board, *groups, confidence=confidence)))


def test_two_children_of_one_mother_record_not_linked():
    board = make_board(students=["S1@10", "S2@20"],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "N")])
    [finding] = run(board)
    assert finding.check == "unlinked-siblings" and finding.severity is Severity.WARNING
    assert finding.students == ("S1", "S2")
    assert finding.pairs == (("S1", "S2"),)
    assert finding.contacts == ("C1",)
    assert finding.school_ids == ("10", "20")
    assert finding.confidence == 1.0
    assert finding.fix["action"] == "link-siblings"
    assert finding.fix["pairs"] == [["S1", "S2"]]
    assert "Family & Contacts > Siblings" in finding.fix["steps"][0]
    assert "(S2)" in finding.fix["steps"][0] and finding.fix["steps"][0].startswith("1. ")
    assert finding.names["S1"] == "KidS1 Family"
    assert {"student:S1", "student:S2", "contact:C1"} <= {n["id"] for n in finding.household["nodes"]}


@pytest.mark.parametrize("siblings", [[("S1", "S2")], [("S2", "S1")], [("S1", "S2"), ("S2", "S1")]])
def test_linked_in_either_direction_is_not_reported(siblings):
    board = make_board(students=["S1@10", "S2@10"], siblings=siblings,
                       links=[("S1", "C1", "Father", "Y"), ("S2", "C1", "Father", "Y")])
    assert run(board) == []


def test_shared_grandparent_does_not_make_cousins_siblings():
    board = make_board(students=["S1@10", "S2@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Mother", "Y"),
                              ("S1", "C9", "Grandparent", "N"), ("S2", "C9", "Grandmother", "N")])
    assert run(board) == []


def test_shared_emergency_neighbour_does_not_make_siblings():
    board = make_board(students=["S1@10", "S2@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Father", "Y"),
                              ("S1", "C8", "Emergency", "N"), ("S2", "C8", "Emergency", "N")])
    assert run(board) == []


def test_step_parent_makes_siblings():
    board = make_board(students=["S1@10", "S2@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S1", "C3", "Step-father", "Y"),
                              ("S2", "C3", "Father", "Y")])
    [finding] = run(board)
    assert finding.pairs == (("S1", "S2"),)
    assert finding.contacts == ("C3",)
    assert finding.evidence["shared_parents"] == "C3 (Father, Step-father of S1, S2)"


def test_inactive_student_is_left_out():
    board = make_board(students=["S1@10", ("S2", "10", "inactive")],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y")])
    assert run(board) == []


def test_family_joined_through_duplicate_records_of_one_parent():
    board = make_board(students=["S1@10", "S2@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Mother", "Y")])
    assert run(board) == []  # two different mothers: not a family
    [finding] = run(board, {"C1", "C2"}, confidence=0.9)
    assert finding.pairs == (("S1", "S2"),)
    assert finding.contacts == ("C1", "C2")
    assert finding.confidence == pytest.approx(0.9)
    assert finding.evidence["joined_through_duplicate_records"] == "C1 = C2"


def test_one_finding_per_family_with_every_missing_link():
    board = make_board(
        students=["S1@10", "S2@10", "S3@10", "S7@10", "S8@10"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y"),
               ("S3", "C1", "Mother", "Y"), ("S3", "C2", "Father", "Y"),
               ("S7", "C7", "Guardian", "Y"), ("S8", "C7", "Guardian", "Y")],
        siblings=[("S2", "S1")])
    findings = sorted(run(board), key=lambda f: f.students)
    assert [f.students for f in findings] == [("S1", "S2", "S3"), ("S7", "S8")]
    assert findings[0].pairs == (("S1", "S3"), ("S2", "S3"))
    assert findings[0].contacts == ("C1",)  # C2 is the parent of one student only
    assert len(findings[0].fix["steps"]) == 3


def test_ids_do_not_depend_on_row_order():
    board = make_board(
        students=["S1@10", "S2@10", "S3@20", "S4@20"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y"),
               ("S3", "C3", "Father", "Y"), ("S4", "C4", "Father", "Y")])
    first = run(board, {"C3", "C4"})
    again = run(shuffled(board, seed=3), {"C4", "C3"})
    assert sorted(f.id for f in first) == sorted(f.id for f in again)
    assert sorted(f.pairs for f in first) == sorted(f.pairs for f in again)
    assert len(first) == 2


def test_contract_json_shape():
    board = make_board(students=["S1@10", "S2@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y")])
    [finding] = run(board)
    data = finding.to_dict()
    assert data["id"].startswith("unlinked-siblings:") and len(data["id"]) == len("unlinked-siblings:") + 8
    assert data["entities"] == {"students": ["S1", "S2"], "contacts": ["C1"], "staff": [],
                                "accounts": []}
    assert data["pairs"] == [["S1", "S2"]]
    assert data["username"] is None
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in data["evidence"].items())
    assert Finding.from_dict(data).to_dict() == data


def test_real_matcher_joins_obvious_duplicate_records():
    board = make_board(
        students=["S1@10", "S2@10"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Mother", "Y")],
        contacts={"C1": ("Jennifer", "Smith", "jen.smith@mail.ca"),
                  "C2": ("Jennifer", "Smith", "jen.smith@mail.ca")})
    context = AuditContext(board)
    # Two identical records (name and email) are one parent: the matcher must pair them.
    assert [cluster.contacts for cluster in context.contact_matches.clusters] == [("C1", "C2")]
    [finding] = unlinked_siblings(context)
    assert finding.pairs == (("S1", "S2"),)
