"""validate_board: the structural problems of a board, each with file, row, column and value;
and what is a finding, not an input problem, stays out."""

from __future__ import annotations

import pandas as pd
import pytest

from audits.model.board import board_from_frames
from audits.validation import validate_board
from boards import board_tables


def located(problems, kind=None):
    return {(p.kind, p.file, p.row, p.column, p.value) for p in problems
            if kind is None or p.kind == kind}


@pytest.fixture(scope="module")
def clean_problems():
    return validate_board(board_from_frames(board_tables()))


def test_a_valid_board_has_no_problems(clean_problems):
    assert clean_problems == []


def test_emails_duplicate_people_and_unlinked_siblings_are_not_input_problems():
    contacts = [{"contact_id": "C1", "first_name": "Jo", "last_name": "Lee", "email": "not an email"},
                {"contact_id": "C2", "first_name": "Jo", "last_name": "Lee", "email": ""}]
    board = board_from_frames(board_tables(contacts=contacts, siblings=[]))
    assert validate_board(board) == []


def test_blank_required_values_duplicates_dates_and_allowed_values():
    students = [
        {"student_id": "S1", "school_id": "1021", "first_name": " ", "last_name": "Lee",
         "date_of_birth": "2015-02-30x", "status": "ACTIVE"},
        {"student_id": "S1", "school_id": "1021", "first_name": "Bo", "last_name": "Lee",
         "date_of_birth": "04/03/2015", "status": "gone"},
        {"student_id": "", "school_id": "1021", "first_name": "Cy", "last_name": "Lee",
         "date_of_birth": " 2016-12-31 "},
    ]
    schools = [{"school_id": "1021", "school_name": "North", "school_type": "middle"}]
    board = board_from_frames(board_tables(students=students, schools=schools, siblings=[],
                                           student_contacts=[], staff=[]))
    assert located(validate_board(board)) == {
        ("blank-value", "students.csv", 2, "first_name", None),
        ("bad-date", "students.csv", 2, "date_of_birth", "2015-02-30x"),
        ("duplicate-id", "students.csv", 2, "student_id", "S1"),
        ("duplicate-id", "students.csv", 3, "student_id", "S1"),
        ("bad-date", "students.csv", 3, "date_of_birth", "04/03/2015"),
        ("bad-value", "students.csv", 3, "status", "gone"),
        ("blank-value", "students.csv", 4, "student_id", None),
        ("bad-value", "schools.csv", 2, "school_type", "middle"),
    }


def test_every_reference_is_checked():
    tables = board_tables(
        siblings=[{"student_id": "X1", "sibling_id": "000124"}],
        student_contacts=[{"student_id": "000123", "contact_id": "C1"},
                          {"student_id": "X2", "contact_id": "C1"}],
        staff=[{"staff_id": "T1", "school_id": "77", "first_name": "P", "last_name": "N"}],
        accounts=[
            {"account_id": "A1", "username": "u1", "account_type": "parent", "school_id": "1021",
             "person_id": "C1"},
            {"account_id": "A2", "username": "u2", "account_type": "parent", "school_id": "1021",
             "person_id": "T1"},
            {"account_id": "A3", "username": "u3", "account_type": "Staff", "school_id": "0900",
             "person_id": "T1"},
            {"account_id": "A4", "username": "u4", "account_type": "student", "school_id": "9",
             "person_id": "000123"},
            {"account_id": "A5", "username": "u5", "account_type": "staff", "school_id": "1021",
             "person_id": "C1"},
        ],
        account_students=[{"account_id": "A1", "student_id": "000123"},
                          {"account_id": "A9", "student_id": "X3"}],
    )
    problems = validate_board(board_from_frames(tables))
    assert located(problems, "unknown-reference") == {
        ("unknown-reference", "siblings.csv", 2, "student_id", "X1"),
        ("unknown-reference", "student_contacts.csv", 3, "student_id", "X2"),
        ("unknown-reference", "staff.csv", 2, "school_id", "77"),
        ("unknown-reference", "accounts.csv", 3, "person_id", "T1"),
        ("unknown-reference", "accounts.csv", 5, "school_id", "9"),
        ("unknown-reference", "accounts.csv", 6, "person_id", "C1"),
        ("unknown-reference", "account_students.csv", 3, "account_id", "A9"),
        ("unknown-reference", "account_students.csv", 3, "student_id", "X3"),
    }
    assert len(problems) == 8


def test_blank_reference_is_reported_once_as_blank():
    tables = board_tables(siblings=[{"student_id": "000123", "sibling_id": ""}])
    assert located(validate_board(board_from_frames(tables))) == {
        ("blank-value", "siblings.csv", 2, "sibling_id", None)}


def test_flags_are_checked_on_the_text_as_exported():
    links = pd.DataFrame({"student_id": ["000123", "000124"], "contact_id": ["C1", "C2"],
                          "portal_access": ["Oui", "yes"]}, index=[2, 3])
    tables = board_tables()
    tables["student_contacts"] = links
    board = board_from_frames(tables, source=None)
    # Normalised flags are booleans: an unknown spelling is only visible in the raw text.
    assert located(validate_board(board), "bad-flag") == set()
    assert located(validate_board(board, raw={"student_contacts": links}), "bad-flag") == {
        ("bad-flag", "student_contacts.csv", 2, "portal_access", "Oui")}


def test_unread_tables_are_skipped_with_references_to_them():
    links = [{"student_id": "000123", "contact_id": "C404"}]
    board = board_from_frames(board_tables(student_contacts=links, contacts=None))
    assert validate_board(board, unread={"contacts"}) == []
