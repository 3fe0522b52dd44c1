"""Case file for ``username-clash``: same school vs different schools, and each named cause."""

from __future__ import annotations

from audits.checks.username_clash.check import (DIFFERENT_SCHOOLS, ONE_PERSON_TWO_RECORDS, OTHER,
                                          SAME_SCHOOL, SHARED_FAMILY_EMAIL, STAFF_PARENT,
                                          username_clash)
from audits.model.findings import Finding, Severity
from boards import make_board, shuffled, with_matches


def run(board, *groups):
    return list(username_clash(with_matches(board, *groups)))


def spouses(schools=("10", "10")):
    return make_board(
        students=[f"S1@{schools[0]}", f"S2@{schools[1]}"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Father", "Y")],
        contacts={"C1": ("Ann", "Lee", "TheLees@mail.ca "), "C2": ("Bob", "Lee", "thelees@mail.ca")})


def test_family_email_shared_by_spouses_at_one_school():
    [finding] = run(spouses())
    assert finding.severity is Severity.ERROR
    assert finding.username == "thelees@mail.ca"
    assert finding.contacts == ("C1", "C2") and finding.accounts == () and finding.staff == ()
    assert finding.evidence["cause"] == SHARED_FAMILY_EMAIL
    assert finding.evidence["scope"] == SAME_SCHOOL
    assert "refused" in finding.evidence["would_be_accounts"]
    assert SHARED_FAMILY_EMAIL in finding.title and "refused" in finding.title
    fix = finding.fix
    assert fix["action"] == "rename-username" and fix["needs_decision"] is True
    assert fix["username"] == "thelees@mail.ca"
    assert fix["contacts"] == [{"contact_id": "C1", "email": "TheLees@mail.ca "},
                               {"contact_id": "C2", "email": "thelees@mail.ca"}]
    # ONE of the parents takes a personal email, not both: the one generation would refuse is
    # recommended first, the other parent is the alternative second; no choice without a default.
    recommended, alternative = [s for s in fix["steps"] if "> Email" in s]
    assert recommended.startswith("1. Recommended: give the parent Bob Lee (C2) a personal email")
    assert "Family & Contacts > Contacts > Bob Lee (C2) > Email" in recommended
    assert "Ann Lee" not in recommended
    assert alternative.startswith("2. Alternative, only if Bob Lee (C2) has no personal email")
    assert "Family & Contacts > Contacts > Ann Lee (C1) > Email" in alternative
    assert not any("Username" in s or "Either" in s or "either" in s for s in fix["steps"])


def test_same_username_at_different_schools():
    [finding] = run(spouses(("10", "20")))
    assert finding.evidence["scope"] == DIFFERENT_SCHOOLS
    assert finding.school_ids == ("10", "20")
    assert "logins will break" in finding.title


def test_staff_member_who_is_also_a_parent_via_work_email():
    board = make_board(
        students=["S1@10"], links=[("S1", "C1", "Father", "Y")],
        contacts={"C1": ("Raj", "Patel", "R.Patel@Board.ca")},
        staff=[("T1", "99", "r.patel@board.ca")],
        accounts=[("A1", "r.patel@board.ca", "staff", "99", "T1")])
    [finding] = run(board)
    assert finding.evidence["cause"] == STAFF_PARENT
    assert finding.evidence["scope"] == DIFFERENT_SCHOOLS
    # Contract section 3: the existing account by id, the would-be account's person by id; the
    # staff member who owns A1 is named in names and evidence only.
    assert finding.accounts == ("A1",) and finding.staff == () and finding.contacts == ("C1",)
    assert finding.students == ()
    assert finding.names["T1"] and "A1:" in finding.evidence["holders"]
    assert "T1" in finding.evidence["holders"]
    assert finding.fix["accounts"] == [{"account_id": "A1", "school_id": "99",
                                        "account_type": "staff", "person_id": "T1"}]
    assert finding.fix["staff"] == [{"staff_id": "T1", "email": "r.patel@board.ca"}]
    steps = finding.fix["steps"]
    # The vendor's advice first (a personal email on the parent record), the rename second.
    assert not any("Either" in s for s in steps)
    recommended, alternative, last = steps
    assert recommended.startswith("1. Recommended (the vendor's advice for a staff member who is "
                                  "also a parent): put a personal email on the parent record")
    assert "Family & Contacts > Contacts > Raj Patel (C1) > Email" in recommended
    assert "the staff account A1 keeps r.patel@board.ca" in recommended
    assert alternative.startswith("2. Alternative, only if the parent has no personal email")
    assert "Security > edsembli CONNECT > Accounts > r.patel@board.ca (account A1, school 99)" \
        in alternative
    assert "Regenerate nothing" in last


def test_two_records_of_one_person():
    board = spouses(("10", "20"))
    [finding] = run(board, {"C1", "C2"})
    assert finding.evidence["cause"] == ONE_PERSON_TWO_RECORDS
    steps = finding.fix["steps"]
    # Merge first, and nothing that contradicts it: no new email, no renaming.
    assert "merge" in steps[0] and "duplicate-contact" in steps[0]
    assert not any("> Email" in step or "> Username" in step for step in steps)


def test_disabled_account_elsewhere_is_not_a_clash_but_at_the_same_school_it_is():
    def board(school):
        return make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                          accounts=[("A9", "c1@mail.ca", "parent", school, "C9", "disabled")],
                          contacts={"C1": ("Ann", "Lee", "c1@mail.ca"),
                                    "C9": ("Old", "Record", "c1@mail.ca")})
    assert run(board("20")) == []
    [finding] = run(board("10"))
    assert finding.accounts == ("A9",) and finding.evidence["scope"] == SAME_SCHOOL
    # The owner of the disabled account A9 (C9) is no would-be account: not in contacts.
    assert finding.contacts == ("C1",) and "C9" in finding.evidence["holders"]
    assert finding.fix["contacts"] == [{"contact_id": "C1", "email": "c1@mail.ca"},
                                       {"contact_id": "C9", "email": "c1@mail.ca"}]
    assert "disabled" in finding.evidence["existing_accounts"]


def test_two_existing_accounts_one_disabled_break_nothing():
    board = make_board(accounts=[("A1", "x@mail.ca", "staff", "10", "T1"),
                                 ("A2", "X@mail.ca", "staff", "20", "T2", "disabled")])
    assert run(board) == []


def test_two_existing_active_accounts_at_different_schools():
    board = make_board(staff=[("T1", "10", "x@mail.ca"), ("T2", "20", "y@mail.ca")],
                       accounts=[("A1", "x@mail.ca", "staff", "10", "T1"),
                                 ("A2", " X@mail.ca", "staff", "20", "T2")])
    [finding] = run(board)
    assert finding.accounts == ("A1", "A2") and finding.staff == () and finding.contacts == ()
    assert "T1" in finding.evidence["holders"] and "T2" in finding.evidence["holders"]
    assert finding.evidence["cause"] == OTHER


def test_unique_usernames_are_not_reported():
    board = make_board(students=["S1@10", "S2@10"],
                       links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Father", "Y")],
                       accounts=[("A1", "teacher@board.ca", "staff", "10", "T1")])
    assert run(board) == []


def test_ids_do_not_depend_on_row_order_and_json_shape():
    board = make_board(
        students=["S1@10", "S2@20", "S3@10"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Father", "Y"),
               ("S3", "C3", "Mother", "Y")],
        contacts={"C1": ("A", "B", "f@mail.ca"), "C2": ("C", "D", "f@mail.ca"),
                  "C3": ("E", "F", "g@mail.ca")},
        staff=[("T1", "99", "g@mail.ca")],
        accounts=[("A1", "g@mail.ca", "staff", "99", "T1")])
    first = sorted(f.id for f in run(board))
    assert len(first) == 2
    assert first == sorted(f.id for f in run(shuffled(board, seed=11)))
    for finding in run(board):
        data = finding.to_dict()
        assert set(data["entities"]) == {"students", "contacts", "staff", "accounts"}
        assert data["username"] in ("f@mail.ca", "g@mail.ca")
        assert all(isinstance(v, str) for v in data["evidence"].values())
        assert Finding.from_dict(data).to_dict() == data


def test_a_parent_typed_twice_is_not_the_one_recommended_to_change():
    """Ann has two records (to be merged) and Bob one, all on the family email: Bob's record
    takes a personal email; Ann's records are the alternative."""
    board = make_board(
        students=["S1@10", "S2@10"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C3", "Mother", "Y"), ("S2", "C2", "Father", "Y")],
        contacts={"C1": ("Ann", "Lee", "thelees@mail.ca"), "C3": ("Ann", "Lee", "thelees@mail.ca"),
                  "C2": ("Bob", "Lee", "thelees@mail.ca")})
    [finding] = run(board, {"C1", "C3"})
    assert finding.evidence["cause"] == SHARED_FAMILY_EMAIL
    recommended, alternative, _ = finding.fix["steps"]
    assert recommended.startswith("1. Recommended: give the parent Bob Lee (C2) a personal email")
    assert "Ann Lee (C1)" in alternative and "Ann Lee (C3)" in alternative
