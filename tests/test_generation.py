"""The generation preview (contract section 2), naming schemas and email validity.

``make_board`` and ``with_matches`` build the tiny handmade boards the check case files use too.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from audits.model.config import Config
from audits.preview import (CLASHES_OTHER_SCHOOL, FAILS_NO_USERNAME, OK, ONE_OF_SEVERAL,
                               PREVIEW_COLUMNS, REFUSED_IN_USE_HERE,
                               preview_generation, preview_to_csv, split_ids)
from audits.household.usernames import (email_problem, email_problem_series, first_last, username_for,
                              usernames_series)

from boards import make_board, shuffled, with_matches


# ----------------------------------------------------------------------------------- preview


def by_contact(preview: pd.DataFrame) -> dict[str, dict]:
    return {row["contact_id"]: row for row in preview.to_dict("records")}


# ------------------------------------------------------------------------------- usernames

@pytest.mark.parametrize("value, problem", [
    ("jen.smith@example.ca", None),
    ("  Jen.Smith@Example.CA ", None),
    ("", "no email"),
    (None, "no email"),
    ("none", "not an email: 'none'"),
    ("N/A", "not an email: 'n/a'"),
    ("jen smith@example.ca", "contains a space"),
    ("jen.smith", "malformed: no @"),
    ("jen@@example.ca", "malformed: more than one @"),
    ("@example.ca", "malformed: nothing before the @"),
    ("jen@", "malformed: missing domain"),
    ("jen@example", "malformed: domain has no dot"),
    ("noemail@board.ca", "a placeholder, not a personal email: 'noemail@board.ca'"),
    ("jen@example.c", "malformed: not a valid email address"),
])
def test_email_problem_names_what_is_wrong(value, problem):
    assert email_problem(value) == problem
    assert email_problem_series(pd.Series([value], dtype=object)).iloc[0] == (problem or "")


def test_username_for_each_naming_schema():
    assert username_for("email", " Jen.Smith@Example.CA", "Jen", "Smith") == "jen.smith@example.ca"
    assert username_for("email", "none", "Jen", "Smith") is None
    assert username_for("first.last", "", "Zoë", "De la Cruz") == "zoe.delacruz"
    assert username_for("first.last", "", "Zoë", " ") is None
    assert first_last("José María", "Núñez") == "josemaria.nunez"
    with pytest.raises(ValueError):
        username_for("initials", "", "a", "b")


def test_username_series_agree_with_scalars():
    emails = pd.Series(["A@b.ca", "", "x y@z.ca", "q@q.ca"])
    first = pd.Series(["Zoë", "Ann", "", "Bo"])
    last = pd.Series(["Li", "Lee", "Kim", "Lo Ng"])
    for schema in ("email", "first.last"):
        names, problems = usernames_series(schema, emails, first, last)
        for i in range(len(emails)):
            expected = username_for(schema, emails[i], first[i], last[i])
            assert (names[i] or None) == expected
            assert bool(problems[i]) == (expected is None)


# -------------------------------------------------------------------------------- preview

def test_preview_one_row_per_contact_record_with_portal_access_to_active_students():
    board = make_board(
        students=["S1@10", "S2@10", ("S3", "10", "inactive")],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y"),
               ("S1", "C2", "Father", "N"),            # no portal access: no account
               ("S3", "C3", "Mother", "Y"),            # only an inactive student: no account
               ("S2", "C4", "Father", "Y")],           # already has a parent account
        accounts=[("A4", "c4@mail.ca", "parent", "10", "C4", "disabled")])
    preview = preview_generation(with_matches(board))
    assert list(preview.columns) == list(PREVIEW_COLUMNS)
    assert preview["contact_id"].tolist() == ["C1"]
    row = preview.iloc[0]
    assert split_ids(row["student_ids"]) == ["S1", "S2"]
    assert row["student_count"] == 2
    assert row["username"] == "c1@mail.ca" and row["status"] == "Will be created"
    assert row["outcome"] == OK and row["reason"] == "" and row["related"] == ""


def test_school_is_the_one_with_most_students_ties_to_lowest_id():
    board = make_board(
        students=["S1@20", "S2@20", "S3@10", "S4@30", "S5@20"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C1", "Mother", "Y"),
               ("S3", "C1", "Mother", "Y"),
               ("S4", "C2", "Father", "Y"), ("S5", "C2", "Father", "Y")])
    rows = by_contact(preview_generation(with_matches(board)))
    assert rows["C1"]["school_id"] == "20"
    assert rows["C2"]["school_id"] == "20"  # 20 < 30, one student each


def test_no_usable_email_fails():
    board = make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                       contacts={"C1": ("Ann", "Lee", "ann.lee@")})
    row = by_contact(preview_generation(with_matches(board)))["C1"]
    assert row["outcome"] == FAILS_NO_USERNAME
    assert row["username"] == "" and row["username_problem"] == "malformed: missing domain"
    assert "missing domain" in row["reason"]


def test_first_last_schema_from_config():
    board = make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                       contacts={"C1": ("Zoë", "De la Cruz", "")})
    config = Config(naming_schema={"parent": "first.last", "staff": "email",
                                   "student": "first.last"})
    row = by_contact(preview_generation(with_matches(board, config=config)))["C1"]
    assert row["outcome"] == OK and row["username"] == "zoe.delacruz"


def test_username_in_use_at_same_school_is_refused_by_existing_account():
    board = make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                       contacts={"C1": ("Ann", "Lee", "ANN@mail.ca")},
                       staff=[("T1", "10", "ann@mail.ca")],
                       accounts=[("A1", " Ann@Mail.ca", "staff", "10", "T1", "disabled")])
    row = by_contact(preview_generation(with_matches(board)))["C1"]
    assert row["outcome"] == REFUSED_IN_USE_HERE
    assert row["related"] == "A1"


def test_second_would_be_account_at_same_school_is_refused_in_contact_id_order():
    board = make_board(
        students=["S1@10", "S2@10"],
        links=[("S1", "C2", "Mother", "Y"), ("S2", "C1", "Father", "Y")],
        contacts={"C1": ("Bob", "Lee", "lees@mail.ca"), "C2": ("Ann", "Lee", "Lees@mail.ca")})
    rows = by_contact(preview_generation(with_matches(board)))
    assert rows["C1"]["outcome"] == OK
    assert rows["C2"]["outcome"] == REFUSED_IN_USE_HERE
    assert rows["C2"]["related"] == "C1"


def test_same_username_at_another_school_clashes_including_central_office():
    board = make_board(
        students=["S1@10", "S2@20"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Father", "Y")],
        contacts={"C1": ("Ann", "Lee", "lees@mail.ca"), "C2": ("Bob", "Lee", "lees@mail.ca"),
                  },
        staff=[("T1", "99", "lees@mail.ca")],
        accounts=[("A1", "lees@mail.ca", "staff", "99", "T1")])
    rows = by_contact(preview_generation(with_matches(board)))
    assert rows["C1"]["outcome"] == CLASHES_OTHER_SCHOOL
    assert split_ids(rows["C1"]["related"]) == ["A1", "C2"]
    assert rows["C2"]["outcome"] == CLASHES_OTHER_SCHOOL


def test_disabled_account_at_another_school_breaks_no_login():
    board = make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                       staff=[("T1", "99", "c1@mail.ca")],
                       accounts=[("A1", "c1@mail.ca", "staff", "99", "T1", "disabled")])
    assert by_contact(preview_generation(with_matches(board)))["C1"]["outcome"] == OK


def test_several_records_of_one_person_each_get_an_account():
    board = make_board(
        students=["S1@10", "S2@10", "S3@10"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Mother", "Y"),
               ("S3", "C3", "Mother", "Y")],
        contacts={"C1": ("Jennifer", "Smith", "jen@mail.ca"),
                  "C2": ("Jenny", "Smith", "jsmith@work.ca"),
                  "C3": ("Jen", "Smith", "jen@mail.ca")})
    rows = by_contact(preview_generation(with_matches(board, {"C1", "C2", "C3"})))
    assert rows["C1"]["outcome"] == ONE_OF_SEVERAL
    assert split_ids(rows["C1"]["related"]) == ["C2"]  # C3 is refused, it gets no account
    assert rows["C2"]["outcome"] == ONE_OF_SEVERAL
    assert rows["C3"]["outcome"] == REFUSED_IN_USE_HERE  # same email, same school: precedence


def test_one_of_several_counts_an_existing_parent_account_of_another_record():
    board = make_board(
        students=["S1@10", "S2@10"],
        links=[("S1", "C1", "Mother", "Y"), ("S2", "C2", "Mother", "Y")],
        accounts=[("A1", "c1@mail.ca", "parent", "10", "C1")], visible=[("A1", "S1")])
    rows = by_contact(preview_generation(with_matches(board, {"C1", "C2"})))
    assert list(rows) == ["C2"]
    assert rows["C2"]["outcome"] == ONE_OF_SEVERAL and rows["C2"]["related"] == "C1"
    # Without the match the same record is simply ok.
    assert by_contact(preview_generation(with_matches(board)))["C2"]["outcome"] == OK


def test_preview_is_the_same_whatever_the_row_order():
    board = make_board(
        students=["S1@10", "S2@10", "S3@20", "S4@20"],
        links=[("S1", "C3", "Mother", "Y"), ("S2", "C1", "Father", "Y"),
               ("S3", "C2", "Mother", "Y"), ("S4", "C2", "Mother", "Y"),
               ("S3", "C4", "Father", "Y")],
        contacts={"C1": ("A", "B", "x@mail.ca"), "C2": ("C", "D", "x@mail.ca"),
                  "C3": ("E", "F", "x@mail.ca"), "C4": ("G", "H", "none")})
    first = preview_generation(with_matches(board))
    again = preview_generation(with_matches(shuffled(board)))
    pd.testing.assert_frame_equal(first, again)
    assert set(first["outcome"]) == {CLASHES_OTHER_SCHOOL, REFUSED_IN_USE_HERE, FAILS_NO_USERNAME}


def test_empty_board_gives_an_empty_preview():
    preview = preview_generation(with_matches(make_board()))
    assert preview.empty and list(preview.columns) == list(PREVIEW_COLUMNS)


def test_context_caches_the_preview():
    context = with_matches(make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")]))
    assert context.preview is context.preview


# ------------------------------------------------------------------------------------ CSV

def test_preview_csv_defuses_formulas(tmp_path):
    board = make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                       contacts={"C1": ("=HYPERLINK(\"http://x\")", "@SUM(A1)", "c1@mail.ca")})
    preview = preview_generation(with_matches(board))
    path = preview_to_csv(preview, tmp_path / "preview.csv")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == "'=HYPERLINK(\"http://x\") @SUM(A1)"
    assert rows[0]["contact_id"] == "C1"


@pytest.mark.parametrize("cell, safe", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""),
])
def test_defuse_formulas(cell, safe):
    from audits.io.cells import csv_frame

    assert csv_frame(pd.DataFrame({"c": [cell]}))["c"].iloc[0] == safe
