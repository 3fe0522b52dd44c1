"""The sample board generator: deterministic, contract-shaped, realistic, and its ground truth
right (the rule checks' truth against a hand computation)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from audits.model.board import ACCOUNT_PERSON_TABLE, TABLES
from audits.sample import (DEMO_SEED, DEMO_STUDENTS, SampleBoard, generate_board,
                           truth_from_rules, write_board)
from audits.sample.assemble import ENCODINGS
from audits.sample.names import NICKNAME_GROUPS
from audits.household.wordlists import PARENTAL_RELATIONSHIPS

CHECKS = ("duplicate-contact", "unlinked-siblings", "username-clash", "missing-sibling-access",
          "missing-username-source")


@pytest.fixture(scope="module")
def sample() -> SampleBoard:
    return generate_board(students=3000, seed=11)


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for p in zip(frame["student_id"], frame["sibling_id"])}


# ------------------------------------------------------------------ determinism and shape

def test_same_seed_same_board_other_seed_other_board():
    first, again, other = generate_board(400, 5), generate_board(400, 5), generate_board(400, 6)
    for name in TABLES:
        pd.testing.assert_frame_equal(first.tables[name], again.tables[name])
    assert first.truth == again.truth
    assert not first.tables["contacts"].equals(other.tables["contacts"])


@pytest.mark.parametrize("xlsx", [False, True])
def test_written_files_are_byte_identical_per_seed(tmp_path: Path, xlsx: bool):
    write_board(generate_board(300, 3), tmp_path / "a", xlsx=xlsx)
    write_board(generate_board(300, 3), tmp_path / "b", xlsx=xlsx)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert "truth.json" in files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_same_bytes_across_processes(tmp_path: Path):
    """Nothing depends on the interpreter's hash seed or the clock. The board is large enough
    for the rarer draws (a grandparent shared by cousins) to happen, where an order taken
    from a set of names would differ between the two processes."""
    script = ("import sys; from pathlib import Path; from audits.sample import generate_board, "
              "write_board; write_board(generate_board(2000, 9), Path(sys.argv[1]))")
    for run, hash_seed in (("a", "1"), ("b", "2")):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / run)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
    for file in sorted((tmp_path / "a").iterdir()):
        assert file.read_bytes() == (tmp_path / "b" / file.name).read_bytes(), file.name


@pytest.mark.parametrize("students", [1, 7, 250])
def test_exactly_the_students_asked_for(students: int):
    assert len(generate_board(students, 1).tables["students"]) == students


def test_demo_defaults():
    assert (DEMO_STUDENTS, DEMO_SEED) == (2000, 2026)


def test_every_contract_column_every_value_text(sample: SampleBoard):
    assert set(sample.tables) == set(TABLES)
    for name, spec in TABLES.items():
        frame = sample.tables[name]
        assert list(frame.columns) == list(spec.columns), name
        assert len(frame) > 0, name
        for column in frame.columns:
            assert frame[column].map(type).eq(str).all(), (name, column)
        for column in spec.required:
            assert (frame[column].str.strip() != "").all(), (name, column)


def test_ids_unique_and_references_resolve(sample: SampleBoard):
    tables = sample.tables
    for name, spec in TABLES.items():
        if spec.key:
            assert not tables[name].duplicated(list(spec.key)).any(), name
        for ref in spec.references:
            known = set(tables[ref.target][ref.target_column])
            assert set(tables[name][ref.column]) <= known, (name, ref.column)
    accounts = tables["accounts"]
    for kind, (table, column) in ACCOUNT_PERSON_TABLE.items():
        persons = accounts.loc[accounts["account_type"] == kind, "person_id"]
        assert set(persons) <= set(tables[table][column]), kind
    assert not tables["student_contacts"].duplicated(["student_id", "contact_id"]).any()
    # Student numbers keep leading zeros; they are text, not numbers.
    assert tables["students"]["student_id"].str.fullmatch(r"\d{6}").all()
    assert tables["students"]["student_id"].str.startswith("0").any()


def test_existing_accounts_obey_connect(sample: SampleBoard):
    """CONNECT refuses one username twice within a school, and only generates accounts
    from usable emails."""
    accounts = sample.tables["accounts"]
    key = accounts["username"].str.strip().str.lower() + "|" + accounts["school_id"]
    assert not key.duplicated().any()
    assert accounts["username"].str.fullmatch(r"\s*[^@\s]+@[^@\s]+\.[A-Za-z]{2,}\s*").all()


# ------------------------------------------------------------------ ground truth

def test_truth_names_only_existing_records(sample: SampleBoard):
    tables, truth = sample.tables, sample.truth
    assert tuple(truth) == CHECKS
    json.dumps(truth)  # serialisable as is
    students = set(tables["students"]["student_id"])
    contacts = set(tables["contacts"]["contact_id"])
    accounts = set(tables["accounts"]["account_id"])
    staff = set(tables["staff"]["staff_id"])
    for group in truth["duplicate-contact"]:
        assert len(group["contacts"]) >= 2 and set(group["contacts"]) <= contacts
        assert group["students"] and set(group["students"]) <= students
    linked = _pairs(tables["siblings"])
    for family in truth["unlinked-siblings"]:
        assert len(family["students"]) >= 2 and set(family["students"]) <= students
        for a, b in family["pairs"]:
            assert a < b and {a, b} <= set(family["students"]) and (a, b) not in linked
    for clash in truth["username-clash"]:
        holders = clash["accounts"] + clash["contacts"] + clash["staff"]
        assert len(holders) >= 2 and clash["username"] == clash["username"].lower()
        assert set(clash["accounts"]) <= accounts and set(clash["contacts"]) <= contacts
        assert set(clash["staff"]) <= staff
    for entry in truth["missing-sibling-access"]:
        assert len({account for account, _ in entry["pairs"]}) == 1
        assert {account for account, _ in entry["pairs"]} <= accounts
        assert {student for _, student in entry["pairs"]} <= students
    for entry in truth["missing-username-source"]:
        assert len(entry["contacts"]) == 1 and set(entry["contacts"]) <= contacts


def test_rule_truth_is_the_rules_applied_to_the_final_tables(sample: SampleBoard):
    derived = truth_from_rules(sample.tables)
    for check in ("username-clash", "missing-sibling-access", "missing-username-source"):
        assert sample.truth[check] == derived[check]
        assert sample.truth[check], f"the sample holds no {check} case"


def _parents_by_student(sample: SampleBoard) -> dict[str, set[str]]:
    """Each student's parents as people: parental records, with duplicate records as one."""
    links = sample.tables["student_contacts"]
    parental = links[links["relationship"].str.strip().str.lower().isin(PARENTAL_RELATIONSHIPS)]
    person = {c: c for c in parental["contact_id"]}
    for group in sample.truth["duplicate-contact"]:
        for record in group["contacts"]:
            person[record] = group["contacts"][0]
    joined = parental.assign(person=parental["contact_id"].map(person))
    return joined.groupby("student_id")["person"].agg(set).to_dict()


def test_every_unlinked_family_is_joined_through_its_parents(sample: SampleBoard):
    parents = _parents_by_student(sample)
    for family in sample.truth["unlinked-siblings"]:
        reached, frontier = {family["students"][0]}, [family["students"][0]]
        while frontier:
            student = frontier.pop()
            for other in family["students"]:
                if other not in reached and parents[student] & parents.get(other, set()):
                    reached.add(other)
                    frontier.append(other)
        assert reached == set(family["students"])


def _hand_tables() -> dict[str, pd.DataFrame]:
    """A board small enough to work out by hand (see the expected values below)."""
    def frame(columns: str, rows: list[tuple]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=columns.split(), dtype=str)

    return {
        "schools": frame("school_id school_name school_type",
                         [("01", "A", "elementary"), ("02", "B", "secondary"),
                          ("09", "Office", "central_office")]),
        "students": frame("student_id school_id first_name last_name status",
                          [("S1", "01", "Ann", "Roy", "active"), ("S2", "02", "Ben", "Roy", ""),
                           ("S3", "02", "Cy", "Roy", "inactive"),
                           ("S4", "01", "Di", "Lee", "Active")]),
        "contacts": frame("contact_id first_name last_name email", [
            ("C1", "Jane", "Roy", " Jane.Roy@Mail.ca "),  # would-be; clashes with staff account
            ("C2", "Old", "Roy", "c8@mail.ca"),            # portal only to an inactive student
            ("C3", "Nils", "Roy", "none"),                 # would-be, no usable email
            ("C4", "Gran", "Roy", ""),                     # emergency contact, no portal
            ("C5", "Rob", "Roy", "rob@mail.ca"),           # account cannot see S2
            ("C6", "Bob", "Roy", "rob@"),                  # disabled account: no finding at all
            ("C7", "Tess", "Lee", "T1@Board.ca"),          # would-be; clashes with new-hire staff
            ("C8", "Chris", "Lee", "c8@mail.ca"),          # family email, both would-be
            ("C9", "Chris", "Lee", "C8@mail.ca"),
            ("C10", "Lone", "Lee", "lone@mail.ca"),        # would-be, unique: nothing
            ("C11", "Bea", "Lee", "Bob.Roy@mail.ca"),      # a disabled account keeps its username
        ]),
        "student_contacts": frame("student_id contact_id relationship portal_access", [
            ("S1", "C1", "Mother", "Y"), ("S3", "C2", "Father", "yes"), ("S1", "C3", "Father", "1"),
            ("S1", "C4", "Grandparent", ""), ("S1", "C5", "Father", "true"),
            ("S2", "C5", "Father", "Yes"), ("S3", "C5", "Father", "Y"),
            ("S2", "C6", "Father", "Y"), ("S4", "C7", "Mother", "Y"), ("S4", "C8", "Parent", "Y"),
            ("S4", "C9", "Parent", "y"), ("S4", "C10", "Guardian", "Y"),
            ("S1", "C10", "Emergency", "N"),
            ("S4", "C11", "Step-parent", "Y"),
        ]),
        "siblings": frame("student_id sibling_id", [("S1", "S2")]),
        "staff": frame("staff_id school_id first_name last_name email", [
            ("T1", "01", "Tess", "Lee", "t1@board.ca"),    # new hire: no account yet
            ("T2", "09", "Jane", "Roy", "jane.roy@mail.ca"),
            ("T3", "02", "Uma", "Poe", "uma@board.ca"),
        ]),
        "accounts": frame("account_id username account_type school_id person_id status", [
            ("A1", "jane.roy@mail.ca", "staff", "09", "T2", "active"),
            ("A2", "rob@mail.ca", "parent", "01", "C5", ""),
            ("A3", "bob.roy@mail.ca", "parent", "02", "C6", "disabled"),
            ("A4", "uma@board.ca", "staff", "02", "T3", "active"),
        ]),
        "account_students": frame("account_id student_id", [("A2", "S1")]),
    }


def test_rule_truth_matches_a_hand_computation():
    assert truth_from_rules(_hand_tables()) == {
        "username-clash": [
            {"username": "bob.roy@mail.ca", "accounts": ["A3"], "contacts": ["C11"], "staff": []},
            {"username": "c8@mail.ca", "accounts": [], "contacts": ["C8", "C9"], "staff": []},
            {"username": "jane.roy@mail.ca", "accounts": ["A1"], "contacts": ["C1"], "staff": []},
            {"username": "t1@board.ca", "accounts": [], "contacts": ["C7"], "staff": ["T1"]},
        ],
        # S3 is inactive: only S2 is missing.
        "missing-sibling-access": [{"pairs": [["A2", "S2"]]}],
        "missing-username-source": [{"contacts": ["C3"]}],
    }


def test_rule_truth_without_the_optional_tables():
    tables = _hand_tables()
    del tables["accounts"], tables["account_students"]
    truth = truth_from_rules(tables)
    assert truth["missing-sibling-access"] == []
    # Without accounts C5 and C6 would get accounts too; C6's email is malformed.
    assert truth["missing-username-source"] == [{"contacts": ["C3"]}, {"contacts": ["C6"]}]
    # ... and T2, with no staff account to hold it, would get jane.roy@mail.ca as C1 would.
    assert truth["username-clash"][1] == {"username": "jane.roy@mail.ca", "accounts": [],
                                          "contacts": ["C1"], "staff": ["T2"]}
    assert [c["username"] for c in truth["username-clash"]] == [
        "c8@mail.ca", "jane.roy@mail.ca", "t1@board.ca"]


# ------------------------------------------------------------------ realism the checks need

def test_board_carries_the_cases_the_issue_lists(sample: SampleBoard):
    tables, truth = sample.tables, sample.truth
    students, contacts, links = tables["students"], tables["contacts"], tables["student_contacts"]
    families = len(truth["duplicate-contact"])
    assert 0.015 < families / (len(students) / 1.8) < 0.08  # ~3-5% of families
    assert set(tables["schools"]["school_type"]) == {"elementary", "secondary", "central_office"}
    assert (students["status"] == "inactive").any()
    # Accents, common names repeating, nicknames and case changes on duplicate records.
    assert contacts["first_name"].str.contains("[éèçôë]").any()
    assert contacts["last_name"].value_counts()[["Smith", "Tremblay"]].min() > 20
    by_id = contacts.set_index("contact_id")
    nickname, cased = False, False
    for group in truth["duplicate-contact"]:
        firsts = {n.lower() for n in by_id.loc[group["contacts"], "first_name"]}
        lasts = set(by_id.loc[group["contacts"], "last_name"])
        nickname |= len(firsts) > 1 and any(firsts <= g for g in NICKNAME_GROUPS)
        cased |= len(lasts) > 1 and len({n.lower() for n in lasts}) == 1
    assert nickname and cased
    # Phones in several formats, North American area codes; Canadian postal codes.
    phones = contacts["cell_phone"][contacts["cell_phone"] != ""]
    assert phones.str.fullmatch(r"\(\d{3}\) \d{3}-\d{4}").any()
    assert phones.str.fullmatch(r"\d{3}-\d{3}-\d{4}").any()
    assert phones.str.fullmatch(r"\d{10}").any()
    assert set(phones.str.replace(r"\D", "", regex=True).str[:3]) <= {
        "416", "613", "905", "514", "819", "343"}
    postal = contacts["postal_code"]
    assert postal.str.fullmatch(r"[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d").all()
    assert postal.str.contains(" ").any() and (~postal.str.contains(" ")).any()
    streets = contacts["street"]
    assert streets.str.contains(r"\bStreet\b").any() and streets.str.contains(r"\bSt\.?$").any()
    assert streets.str.match(r"Apt \d+, ").any() and streets.str.match(r"\d+-\d+ ").any()
    # Missing and malformed emails; spouses sharing a family email.
    emails = contacts["email"].str.strip().str.lower()
    assert (emails == "").any() and emails.isin(["none", "n/a"]).any()
    assert any(re.fullmatch(r"[^@\s]+@", e) for e in emails)
    assert any(c["contacts"] and len(c["contacts"]) >= 2 and not c["accounts"]
               for c in truth["username-clash"])
    # Staff parents whose work email is on their parent record clash with their staff account.
    staff_accounts = set(tables["accounts"].loc[tables["accounts"]["account_type"] == "staff",
                                                "account_id"])
    assert any(set(c["accounts"]) & staff_accounts for c in truth["username-clash"])


def test_traps_shared_grandparents_grandfather_namesakes_and_two_chrises(sample: SampleBoard):
    tables = sample.tables
    links = tables["student_contacts"]
    parental = links["relationship"].str.strip().str.lower().isin(PARENTAL_RELATIONSHIPS)
    parents = _parents_by_student(sample)
    shared = links[~parental].groupby("contact_id")["student_id"].agg(sorted)
    # A non-parental contact (grandparent, neighbour) on students with no parent in common.
    assert any(parents.get(a, set()).isdisjoint(parents.get(b, set()))
               for kids in shared for a in kids for b in kids if a < b)
    contacts = tables["contacts"].set_index("contact_id")
    names = contacts["first_name"] + " " + contacts["last_name"]
    grand = links[links["relationship"].str.contains("Grand")]
    father = links[links["relationship"] == "Father"]
    same = grand.merge(father, on="student_id", suffixes=("_g", "_f"))
    assert (names[same["contact_id_g"]].to_numpy() == names[same["contact_id_f"]].to_numpy()).any()
    duplicate_records = {c for g in sample.truth["duplicate-contact"] for c in g["contacts"]}
    chris = links[parental & links["contact_id"].map(contacts["first_name"]).eq("Chris")]
    two = chris.groupby("student_id")["contact_id"].agg(set)
    assert any(len(records) == 2 and not records & duplicate_records for records in two)


def test_disabled_accounts_never_decide_a_finding(sample: SampleBoard):
    """The contract leaves open whether disabled accounts hold their username; the generator
    keeps them out of every case so both readings give the same truth."""
    accounts = sample.tables["accounts"]
    disabled = set(accounts.loc[accounts["status"] == "disabled", "account_id"])
    assert disabled
    assert not any(set(c["accounts"]) & disabled for c in sample.truth["username-clash"])


# ------------------------------------------------------------------ files

def test_csv_encodings_rotate_and_read_back(tmp_path: Path):
    seen = set()
    for seed in (0, 1, 2):
        sample = generate_board(300, seed)
        out = write_board(sample, tmp_path / str(seed))
        document = json.loads((out / "truth.json").read_text(encoding="utf-8"))
        assert document["encodings"] == sample.encodings
        for file, encoding in sample.encodings.items():
            data = (out / file).read_bytes()
            assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig"), file
            back = pd.read_csv(out / file, dtype=str, keep_default_na=False, encoding=encoding)
            pd.testing.assert_frame_equal(back, sample.tables[file[:-4]], check_dtype=False)
        seen.add(sample.encodings["contacts.csv"])
        contacts = (out / "contacts.csv").read_bytes()
        if sample.encodings["contacts.csv"] == "cp1252":
            with pytest.raises(UnicodeDecodeError):
                contacts.decode("utf-8")
            assert "é".encode("cp1252") in contacts
    assert seen == set(ENCODINGS)


def test_truth_json_beside_the_tables_not_a_table(tmp_path: Path):
    sample = generate_board(200, 4)
    out = write_board(sample, tmp_path)
    assert out == tmp_path
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == sorted(f"{t}.csv" for t in TABLES)
    document = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert {check: document[check] for check in CHECKS} == sample.truth
    assert document["generator"]["seed"] == 4


def test_xlsx_has_a_sheet_per_table(tmp_path: Path):
    from openpyxl import load_workbook

    sample = generate_board(200, 4)
    path = write_board(sample, tmp_path, xlsx=True)
    assert path == tmp_path / "board.xlsx" and (tmp_path / "truth.json").exists()
    workbook = load_workbook(path, read_only=True)
    assert workbook.sheetnames == list(TABLES)
    rows = list(workbook["students"].iter_rows(values_only=True))
    assert rows[0] == TABLES["students"].columns
    assert rows[1][0] == sample.tables["students"]["student_id"][0]  # leading zeros kept


@pytest.mark.parametrize("xlsx", [False, True])
def test_the_loader_reads_what_the_generator_writes(tmp_path: Path, xlsx: bool):
    from audits.io.loading.folder import load_board

    sample = generate_board(200, 2026)
    board = load_board(write_board(sample, tmp_path, xlsx=xlsx))
    for name in TABLES:
        assert len(board.tables[name]) == len(sample.tables[name]), name
    for column in ("contact_id", "first_name", "last_name", "email"):
        assert list(board.contacts[column]) == list(sample.tables["contacts"][column])
    assert list(board.students["student_id"]) == list(sample.tables["students"]["student_id"])
