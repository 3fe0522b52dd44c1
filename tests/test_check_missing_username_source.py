"""Case file for ``missing-username-source``."""

from __future__ import annotations

from audits.checks.missing_username_source.check import missing_username_source
from audits.model.config import Config
from audits.model.findings import Finding, Severity
from boards import make_board, with_matches


def run(board, config=None):
    return list(missing_username_source(with_matches(board, config=config)))


def test_placeholder_email_is_found_with_its_value():
    board = make_board(students=["S1@10", "S2@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y")],
                       contacts={"C1": ("Ann", "Lee", "None")})
    [finding] = run(board)
    assert finding.severity is Severity.ERROR
    assert finding.contacts == ("C1",) and finding.students == ("S1", "S2")
    assert finding.school_ids == ("10",)
    assert finding.evidence == {"naming_schema": "email", "problem": "not an email: 'none'",
                                "email": "None", "portal_access_to": "S1, S2"}
    assert finding.fix["action"] == "manual" and finding.fix["contact_id"] == "C1"
    assert finding.fix["steps"][0].startswith(
        "1. Family & Contacts > Contacts > Ann Lee (C1) > Email: enter")
    data = finding.to_dict()
    assert data["id"] == finding.id and data["entities"]["contacts"] == ["C1"]
    assert Finding.from_dict(data).to_dict() == data


def test_blank_and_malformed_emails_each_named():
    board = make_board(students=["S1@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S1", "C2", "Father", "Y"),
                              ("S1", "C3", "Guardian", "Y")],
                       contacts={"C1": ("A", "B", ""), "C2": ("C", "D", "c d@mail.ca"),
                                 "C3": ("E", "F", "ef@mail.ca")})
    problems = {f.contacts[0]: f.evidence["problem"] for f in run(board)}
    assert problems == {"C1": "no email", "C2": "contains a space"}


def test_records_that_get_no_account_are_not_reported():
    board = make_board(
        students=["S1@10", ("S2", "10", "inactive")],
        links=[("S1", "C1", "Emergency", "N"),          # no portal access
               ("S2", "C2", "Mother", "Y"),             # only an inactive student
               ("S1", "C3", "Father", "Y")],            # has a parent account already
        contacts={"C1": ("A", "B", ""), "C2": ("C", "D", ""), "C3": ("E", "F", "")},
        accounts=[("A3", "e.f", "parent", "10", "C3")])
    assert run(board) == []


def test_first_last_schema_needs_names_not_email():
    board = make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                       contacts={"C1": ("Ann", "Lee", "")})
    config = Config(naming_schema={"parent": "first.last", "staff": "email",
                                   "student": "first.last"})
    assert run(board, config) == []
