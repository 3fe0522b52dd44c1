"""The check case files: every ``tests/checks/*.yaml`` run through the public pipeline.

Each case is a small board written as literal tables. The runner writes it as a folder of CSV
files, then does what an analyst does: ``api.load_board``, ``api.run_audit`` with the file's
check alone, findings.json written and read back, ``fixes.plan.build_plan`` on it, and
``fixes.apply.apply_plan(..., write=True)`` into a new folder. A new file in tests/checks/ is
picked up with no edit here. A case's pytest id is ``<file>::<case name>``.

Schema of a cases file (every scalar is read as text, as in a CSV file)::

    check: duplicate-contact         # the check code every case of the file runs, alone
    cases:
      - name: jennifer-and-jenny     # unique in the file
        about: free text             # optional: what the case shows
        board:                       # table name -> rows; the first row is the header
          contacts:
            - [contact_id, first_name, last_name, email]
            - [C1, Jennifer, Smith, jen@mail.ca]
        config: |                    # optional: a config file's TOML text (docs/config.md)
          [checks]
          max_students_per_contact = 3
        findings:                    # required: exactly the findings of the check, any order
          - severity: error          # findings.json fields (entities, pairs, school_ids,
            entities: {contacts: [C1, C2]}   # username, evidence, fix, title, confidence)
        plan:                        # optional: exactly the plan's actions, any order
          - {action: merge-contacts, survivor: C1, retire: [C2]}
        decide: [new@mail.ca]        # optional: new_value of each rename decision, in order
        applied:                     # optional: the fixed export's tables, whole, in file
          contacts:                  # order, over the columns of the header row given
            - [contact_id, email]
            - [C1, jen@mail.ca]

Comparing an expectation with what was produced: a mapping compares only the keys it gives
(so a finding names only the fields that matter), a list compares every item in order, a
scalar compares as text (``true``/``false``/``null`` for booleans and none; numbers
numerically). A case with ``findings: []`` is a near miss that must produce nothing.

Only what a case needs is given: ``fill_board`` adds the tables, columns and rows a valid
board still needs: the schools, students, contacts and staff that the given rows name (and a
lone student S0 when no row names one: an export without students is refused), the
required columns left out (default names, school 10) and a unique email for each contact whose
row gives none (a contact the case writes with an email column keeps its own). ``accounts`` and
``account_students`` are written only when a case gives them. The plan is applied with the
share threshold off (``force``): on a tiny board one action is a large share of a table.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path
from typing import Any, Mapping

import pytest
import yaml

from audits import api
from audits.model.board import TABLES
from fixes.apply import apply_plan
from fixes.plan import build_plan

CASES_FOLDER = Path(__file__).parent / "checks"
CASE_KEYS = {"name", "about", "board", "config", "findings", "plan", "decide", "applied"}
DEFAULT_SCHOOL = "10"


# ------------------------------------------------------------------------------ case files

def read_cases(path: Path) -> tuple[str, list[dict]]:
    """The check code and the cases of one file, every scalar as text."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    assert isinstance(data, dict) and data.get("check"), f"{path.name}: no `check:`"
    cases = data.get("cases") or []
    names = [case.get("name") for case in cases]
    assert all(names) and len(set(names)) == len(names), f"{path.name}: names {names}"
    for case in cases:
        unknown = set(case) - CASE_KEYS
        assert not unknown, f"{path.name}::{case['name']}: unknown keys {sorted(unknown)}"
        assert "findings" in case, f"{path.name}::{case['name']}: no `findings:`"
    return data["check"], cases


def all_cases() -> list:
    params = []
    for path in sorted(CASES_FOLDER.glob("*.yaml")):
        check, cases = read_cases(path)
        params += [pytest.param(check, case, id=f"{path.name}::{case['name']}")
                   for case in cases]
    return params


# ---------------------------------------------------------------------------- board builder

def _table(rows: list[list[str]]) -> tuple[list[str], list[dict[str, str]]]:
    header, *values = rows
    for row in values:
        assert len(row) == len(header), f"row {row} does not fit the header {header}"
    return list(header), [dict(zip(header, row)) for row in values]


def _default(table: str, column: str, key: str) -> str:
    """The value a filled-in column takes, for the record ``key``."""
    person = {"students": ("Kid", "Family"), "contacts": ("Parent", "Family"),
              "staff": ("Staff", "Member")}
    if column == "school_id":
        return DEFAULT_SCHOOL
    if column in ("first_name", "last_name") and table in person:
        first, last = person[table]
        return f"{first}{key}" if column == "first_name" else last
    if table == "contacts" and column == "email":
        return f"{key.lower()}@mail.ca"
    if table == "schools" and column == "school_name":
        return f"School {key}"
    if table == "schools" and column == "school_type":
        return "central_office" if key == "99" else "elementary"
    return ""


def _named(tables: dict, table: str, column: str, **where: str) -> list[str]:
    """The values of ``column`` in ``table``'s rows that match ``where``."""
    rows = tables.get(table, ([], []))[1]
    return [row[column] for row in rows
            if column in row and all(row.get(k) == v for k, v in where.items())]


def _referenced(tables: dict) -> dict[str, list[str]]:
    """Per person table, the ids that other tables name and that it needs a row for."""
    return {
        "students": (_named(tables, "student_contacts", "student_id")
                     + _named(tables, "siblings", "student_id")
                     + _named(tables, "siblings", "sibling_id")
                     + _named(tables, "account_students", "student_id")
                     + _named(tables, "accounts", "person_id", account_type="student")),
        "contacts": (_named(tables, "student_contacts", "contact_id")
                     + _named(tables, "accounts", "person_id", account_type="parent")),
        "staff": _named(tables, "accounts", "person_id", account_type="staff"),
    }


def _add_rows(tables: dict, table: str, ids: list[str]) -> None:
    key = TABLES[table].columns[0]
    header, rows = tables.setdefault(table, ([key], []))
    known = {row[key] for row in rows}
    for value in dict.fromkeys(ids):
        if value not in known:
            rows.append({key: value})


def _add_columns(table: str, header: list[str], rows: list[dict[str, str]]) -> None:
    """The table's required columns (and a contact's email) added where a row lacks them."""
    spec = TABLES[table]
    wanted = [*spec.required, *(["email"] if table == "contacts" else [])]
    header.extend(column for column in wanted if column not in header)
    for row in rows:
        for column in wanted:
            row.setdefault(column, _default(table, column, row[spec.columns[0]]))


def fill_board(board: Mapping[str, list]) -> dict[str, tuple[list[str], list[dict]]]:
    """The case's tables made a valid board: header and rows (as dicts) per table."""
    unknown = set(board) - set(TABLES)
    assert not unknown, f"not contract tables: {sorted(unknown)}"
    tables = {name: _table(rows) for name, rows in board.items()}
    for table, ids in _referenced(tables).items():
        _add_rows(tables, table, ids)
    if not tables["students"][1]:
        _add_rows(tables, "students", ["S0"])  # an export without students is refused
    for name in TABLES:
        if name not in tables and not TABLES[name].optional:
            tables[name] = (list(TABLES[name].required), [])
    for name, (header, rows) in tables.items():
        _add_columns(name, header, rows)
    _add_rows(tables, "schools", [school for table in ("students", "staff", "accounts")
                                  for school in _named(tables, table, "school_id")])
    _add_columns("schools", *tables["schools"])
    return tables


def write_board(board: Mapping[str, list], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, (header, rows) in fill_board(board).items():
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([row.get(column, "") for column in header] for row in rows)
    return folder


# ------------------------------------------------------------------------------- comparing

def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_scalar(expected: str, actual: Any) -> bool:
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            return float(expected) == pytest.approx(actual)
        except ValueError:
            return False
    return _text(actual) == expected


def mismatch(expected: Any, actual: Any, where: str = "") -> str | None:
    """Where ``actual`` differs from the expectation, or ``None`` when it meets it."""
    if isinstance(expected, dict):
        if not isinstance(actual, Mapping):
            return f"{where}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}.{key}: missing"
            found = mismatch(value, actual[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return f"{where}: expected {expected}, got {actual!r}"
        for index, (value, item) in enumerate(zip(expected, actual)):
            found = mismatch(value, item, f"{where}[{index}]")
            if found:
                return found
        return None
    if not _same_scalar(expected, actual):
        return f"{where}: expected {expected!r}, got {actual!r}"
    return None


def assert_each_met(expected: list, actual: list, what: str) -> None:
    """Each expectation met by its own item of ``actual``, and no item left over."""
    assert len(actual) == len(expected), (
        f"{what}: expected {len(expected)}, got {len(actual)}: {actual}")
    left = list(actual)
    for number, wanted in enumerate(expected, 1):
        misses = [mismatch(wanted, item, f"{what} {number}") for item in left]
        if None not in misses:
            raise AssertionError(f"{what} {number} met by none of {len(left)} left:\n"
                                 + "\n".join(misses))
        del left[misses.index(None)]


def _written_rows(folder: Path, table: str, columns: list[str]) -> list[list[str]]:
    path = folder / f"{table}.csv"
    assert path.is_file(), f"the fixed export has no {path.name}"
    header, *rows = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    missing = [c for c in columns if c not in header]
    assert not missing, f"{path.name} has no column {missing}"
    return [columns] + [[row[header.index(c)] for c in columns] for row in rows if row]


# --------------------------------------------------------------------------------- running

def _decide(plan: dict, values: list[str]) -> None:
    """Fill in each rename decision, in plan order, with the case's new values."""
    decisions = [decision for action in plan["actions"] if action["action"] == "rename-username"
                 for decision in [action["decision"], *action.get("more_decisions", [])]]
    assert len(decisions) == len(values), (
        f"decide: {len(values)} value(s) for {len(decisions)} rename decision(s)")
    for decision, value in zip(decisions, values):
        decision["new_value"] = value


def _audit(check: str, case: Mapping, folder: Path):
    """The findings.json document of the case's board, and the config it was audited with."""
    board_path = write_board(case.get("board") or {}, folder / "board")
    config = None
    if case.get("config"):
        (folder / "config.toml").write_text(case["config"], encoding="utf-8")
        config = api.load_config(folder / "config.toml")
    result = api.run_audit(api.load_board(board_path, config=config), config, checks=[check])
    written = api.write_findings(result, folder / "findings.json")
    return api.read_findings(written), board_path, config


def check_case(check: str, case: Mapping, folder: Path) -> None:
    """Run one case in ``folder`` (empty); AssertionError names the first expectation unmet."""
    document, board_path, config = _audit(check, case, folder)
    skipped = {entry["check"]: entry["reason"] for entry in document.get("skipped", [])}
    assert check not in skipped, f"{check} did not run: {skipped.get(check)}"
    findings = document["findings"]
    assert {finding["check"] for finding in findings} <= {check}
    assert_each_met(case["findings"], findings, "finding")
    plan = build_plan(document)
    if "plan" in case:
        assert_each_met(case["plan"], plan["actions"], "plan action")
    if "decide" in case:
        _decide(plan, case["decide"])
    if "applied" not in case:
        return
    fixed = folder / "fixed"
    result = apply_plan(plan, board_path, fixed, write=True, force=True, config=config)
    assert not result.refused, f"refused: {result.refused}"
    for table, rows in case["applied"].items():
        assert _written_rows(fixed, table, rows[0]) == rows, f"applied {table}"


@pytest.mark.parametrize("check, case", all_cases())
def test_case(check, case, tmp_path):
    check_case(check, case, tmp_path)


# ------------------------------------------------------------------------- the runner fails

def _doctored(stage: str) -> tuple[str, dict]:
    """A positive duplicate-contact case with one wrong expectation in ``stage``."""
    check, cases = read_cases(CASES_FOLDER / "duplicate-contact.yaml")
    case = copy.deepcopy(next(c for c in cases if "applied" in c and c["findings"]))
    if stage == "findings":
        case["findings"][0]["severity"] = "info"
    elif stage == "plan":
        case["plan"][0]["retire"] = ["NOBODY"]
    elif stage == "applied":
        table, rows = next(iter(case["applied"].items()))
        case["applied"][table] = rows[:-1]
    else:
        case["findings"] = []  # a near miss that is, in fact, found
    return check, case


@pytest.mark.parametrize("stage, reported", [
    ("findings", "finding 1 met by none"), ("plan", "plan action 1 met by none"),
    ("applied", "applied contacts"), ("negative", "finding: expected 0, got 1")])
def test_a_wrong_expectation_is_reported(stage, reported, tmp_path):
    check, case = _doctored(stage)
    with pytest.raises(AssertionError, match=reported):
        check_case(check, case, tmp_path)


def test_every_check_has_a_cases_file_with_a_case_and_a_near_miss():
    by_check: dict[str, list[dict]] = {}
    for path in CASES_FOLDER.glob("*.yaml"):
        check, cases = read_cases(path)
        by_check.setdefault(check, []).extend(cases)
    known = set(api.available_checks())
    assert set(by_check) <= known, f"cases for unknown checks: {sorted(set(by_check) - known)}"
    assert known <= set(by_check), f"checks with no cases file: {sorted(known - set(by_check))}"
    for check, cases in by_check.items():
        assert any(case["findings"] for case in cases), f"{check}: no case with a finding"
        assert any(not case["findings"] for case in cases), f"{check}: no near miss"


def test_the_builder_fills_what_a_case_leaves_out():
    tables = fill_board({"student_contacts": [["student_id", "contact_id"], ["S1", "C1"]]})
    assert tables["students"][1] == [{"student_id": "S1", "school_id": "10",
                                      "first_name": "KidS1", "last_name": "Family"}]
    assert tables["contacts"][1][0]["email"] == "c1@mail.ca"
    assert [row["school_id"] for row in tables["schools"][1]] == ["10"]
    assert "accounts" not in tables and tables["siblings"] == (["student_id", "sibling_id"], [])
