"""Case file for ``missing-sibling-access``."""

from __future__ import annotations

from audits.checks.missing_sibling_access.check import missing_sibling_access
from audits.model.findings import Finding, Severity
from boards import make_board, shuffled, with_matches


def family(**changes):
    tables = dict(
        students=["S1@10", "S2@10", "S3@20"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y"),
               ("S3", "C1", "Mother", "Y")],
        accounts=[("A1", "Mom@mail.ca", "parent", "10", "C1")],
        visible=[("A1", "S1")])
    tables.update(changes)
    return make_board(**tables)


def run(board):
    return list(missing_sibling_access(with_matches(board)))


def test_account_that_cannot_see_two_children():
    [finding] = run(family())
    assert finding.severity is Severity.ERROR
    assert finding.pairs == (("A1", "S2"), ("A1", "S3"))
    assert finding.accounts == ("A1",) and finding.contacts == ("C1",)
    assert finding.students == ("S2", "S3")
    assert finding.school_ids == ("10", "20")
    assert finding.evidence["can_see"] == "S1" and finding.evidence["cannot_see"] == "S2, S3"
    fix = finding.fix
    assert fix["action"] == "add-permission"
    assert fix["account_id"] == "A1" and fix["username"] == "Mom@mail.ca"
    assert fix["students"] == ["S2", "S3"]
    assert fix["steps"][0] == ("1. Security > edsembli CONNECT > Accounts > Mom@mail.ca "
                               "(account A1) > Permissions: click +, choose KidS2 Family (S2), save.")
    assert "Do not regenerate" in fix["steps"][-1]
    assert not any("regenerate the account" in s.lower() and "not" not in s.lower()
                   for s in fix["steps"])


def test_account_that_sees_all_its_students_is_fine():
    assert run(family(visible=[("A1", "S1"), ("A1", "S2"), ("A1", "S3")])) == []


def test_disabled_account_is_left_out():
    assert run(family(accounts=[("A1", "mom@mail.ca", "parent", "10", "C1", "disabled")])) == []


def test_inactive_student_and_no_portal_access_are_left_out():
    board = family(students=["S1@10", ("S2", "10", "inactive"), "S3@20"],
                   links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y"),
                          ("S3", "C1", "Mother", "N")])
    assert run(board) == []


def test_staff_account_with_same_person_id_is_not_a_parent_account():
    board = family(accounts=[("A1", "mom@board.ca", "staff", "10", "C1")], visible=[])
    assert run(board) == []


def test_ids_do_not_depend_on_row_order_and_json_shape():
    board = family()
    [first] = run(board)
    [again] = run(shuffled(board, seed=5))
    assert first.id == again.id and first.pairs == again.pairs
    data = first.to_dict()
    assert data["pairs"] == [["A1", "S2"], ["A1", "S3"]]
    assert data["entities"]["accounts"] == ["A1"]
    assert Finding.from_dict(data).to_dict() == data
