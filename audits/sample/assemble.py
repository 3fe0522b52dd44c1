"""From the builder's records to contract tables with final IDs, plus the ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from audits.model.board import TABLES
from audits.sample.families import BoardBuilder
from audits.sample.records import Rows
from audits.sample.truth import injected_truth, truth_from_rules

ENCODINGS = ("cp1252", "utf-8-sig", "utf-8")
"""Python codec names: Windows-1252, UTF-8 with a byte-order mark, plain UTF-8."""

TRUTH_KEYS = ("duplicate-contact", "unlinked-siblings", "username-clash",
              "missing-sibling-access", "missing-username-source")


@dataclass
class SampleBoard:
    tables: dict[str, pd.DataFrame]
    """Contract tables (``audits.model.board.TABLES`` column names), every value text."""
    truth: dict
    """Ground truth per check (contract section 3 terms); JSON-serialisable."""
    seed: int = 0
    encodings: dict[str, str] = field(default_factory=dict)
    """The encoding each ``<table>.csv`` is written in (deterministic per seed)."""


def file_encodings(seed: int) -> dict[str, str]:
    """Which encoding each CSV file gets: contacts and students rotate through Windows-1252,
    UTF-8 with BOM and UTF-8 with the seed (names with accents live there); the rest are UTF-8,
    with or without a BOM."""
    encodings = {}
    for offset, name in enumerate(TABLES):
        if name == "contacts":
            encodings[f"{name}.csv"] = ENCODINGS[(seed + 2) % 3]
        elif name == "students":
            encodings[f"{name}.csv"] = ENCODINGS[seed % 3]
        else:
            encodings[f"{name}.csv"] = ENCODINGS[1 + (seed // 3 + offset) % 2]
    return encodings


def generate_board(students: int = 2000, seed: int = 0) -> SampleBoard:
    """A board of exactly ``students`` students (families, contacts, staff, accounts) and its
    ground truth. Deterministic per ``seed``."""
    if students < 1:
        raise ValueError("a sample board needs at least one student")
    rows = BoardBuilder(students, seed).build()
    tables, contact_human = _tables(rows, seed)
    truth = {**injected_truth(tables, contact_human), **truth_from_rules(tables)}
    truth = {key: truth[key] for key in TRUTH_KEYS}
    return SampleBoard(tables, truth, seed, file_encodings(seed))


def _frame(records: list[tuple], columns: list[str]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame({c: pd.Series([], dtype=str) for c in columns})
    return pd.DataFrame.from_records(records, columns=columns)


class _Ids(NamedTuple):
    """The final ID of every record, by the builder's internal position."""
    school_ids: np.ndarray
    student_ids: np.ndarray
    contact_numbers: np.ndarray
    contact_ids: np.ndarray
    staff_ids: np.ndarray
    account_ids: np.ndarray


def _final_ids(rows: Rows, seed: int) -> _Ids:
    """Schools, staff and accounts numbered in order; students scattered; contact records in
    the order they were typed."""
    rng = np.random.default_rng(seed)
    school_ids = np.array([f"{i + 1:04d}" for i in range(len(rows.schools))], dtype=object)

    # Student numbers are scattered: siblings enrol years apart, so their IDs are not adjacent.
    n = len(rows.students)
    numbers = rng.permutation(3 * n + 1000)[:n] + 1
    width = max(6, len(str(int(numbers.max()))))
    student_ids = np.char.zfill(numbers.astype(str), width).astype(object)

    # Records typed in later (a parent entered again for a younger child) get later numbers.
    late = np.array(rows.contact_late, dtype=bool)
    order = np.lexsort((np.arange(len(late)), late))
    contact_numbers = np.empty(len(late), dtype=np.int64)
    contact_numbers[order] = np.arange(len(late)) + 100
    contact_ids = np.array(["C" + str(x) for x in contact_numbers], dtype=object)
    staff_ids = np.array([f"E{i + 1:05d}" for i in range(len(rows.staff))], dtype=object)
    account_ids = np.array([str(500001 + i) for i in range(len(rows.accounts))], dtype=object)
    return _Ids(school_ids, student_ids, contact_numbers, contact_ids, staff_ids, account_ids)


def _students(rows: Rows, ids: _Ids) -> pd.DataFrame:
    """The students table, in student id order."""
    students = _frame(rows.students, ["first_name", "last_name", "date_of_birth", "grade",
                                      "status", "street", "city", "postal_code", "school"])
    students.insert(0, "student_id", ids.student_ids)
    students.insert(1, "school_id", ids.school_ids[students.pop("school").to_numpy()])
    students = students[list(TABLES["students"].columns)]
    return students.sort_values("student_id", kind="stable").reset_index(drop=True)


def _contacts(rows: Rows, ids: _Ids) -> tuple[pd.DataFrame, pd.Series]:
    """The contacts table in contact number order, and the human each contact id records."""
    contacts = _frame(rows.contacts, list(TABLES["contacts"].columns[1:]))
    contacts.insert(0, "contact_id", ids.contact_ids)
    contact_human = pd.Series(np.array(rows.contact_human, dtype=np.int64), index=ids.contact_ids)
    contacts = contacts.iloc[np.argsort(ids.contact_numbers, kind="stable")].reset_index(drop=True)
    return contacts, contact_human


def _student_contacts(rows: Rows, ids: _Ids) -> pd.DataFrame:
    """The student_contacts table, in student id order."""
    links = _frame(rows.links, ["student", "contact", "relationship", "portal_access"])
    link_students = links.pop("student").to_numpy()
    link_contacts = links.pop("contact").to_numpy()
    links.insert(0, "student_id", ids.student_ids[link_students] if len(links) else [])
    links.insert(1, "contact_id", ids.contact_ids[link_contacts] if len(links) else [])
    return links.sort_values("student_id", kind="stable").reset_index(drop=True)


def _accounts(rows: Rows, ids: _Ids) -> pd.DataFrame:
    """The accounts table; a parent account's person is a contact record, else a staff one."""
    accounts = _frame(rows.accounts, ["username", "account_type", "school", "person", "status"])
    accounts.insert(0, "account_id", ids.account_ids)
    school = accounts.pop("school").to_numpy()
    person = accounts.pop("person").to_numpy()
    is_parent = (accounts["account_type"] == "parent").to_numpy()
    person_ids = np.where(is_parent, ids.contact_ids[np.where(is_parent, person, 0)],
                          ids.staff_ids[np.where(is_parent, 0, person)]) if len(accounts) else []
    accounts.insert(3, "school_id", ids.school_ids[school] if len(accounts) else [])
    accounts.insert(4, "person_id", person_ids)
    return accounts[list(TABLES["accounts"].columns)]


def _tables(rows: Rows, seed: int) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """The contract tables with final IDs, every value text, and the human of each contact."""
    ids = _final_ids(rows, seed)
    student_ids, school_ids = ids.student_ids, ids.school_ids
    schools = _frame([(school_ids[i], name, kind) for i, (name, kind) in enumerate(rows.schools)],
                     ["school_id", "school_name", "school_type"])
    contacts, contact_human = _contacts(rows, ids)

    pairs = np.array(rows.siblings, dtype=np.int64).reshape(-1, 2)
    siblings = pd.DataFrame({"student_id": student_ids[pairs[:, 0]],
                             "sibling_id": student_ids[pairs[:, 1]]})

    staff = _frame(rows.staff, ["school", "first_name", "last_name", "email"])
    staff.insert(0, "staff_id", ids.staff_ids)
    staff.insert(1, "school_id", school_ids[staff.pop("school").to_numpy()])

    visible = np.array(rows.account_students, dtype=np.int64).reshape(-1, 2)
    account_students = pd.DataFrame({"account_id": ids.account_ids[visible[:, 0]],
                                     "student_id": student_ids[visible[:, 1]]})

    tables = {"schools": schools, "students": _students(rows, ids), "contacts": contacts,
              "student_contacts": _student_contacts(rows, ids), "siblings": siblings,
              "staff": staff, "accounts": _accounts(rows, ids),
              "account_students": account_students}
    for name, frame in tables.items():
        tables[name] = frame.astype(str)[list(TABLES[name].columns)]
    return tables, contact_human
