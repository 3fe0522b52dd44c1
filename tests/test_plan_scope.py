"""A plan changes only what its actions name (issue 15, item 1): over 100 plans (10 generated
boards, each plan reordered and cut at random), every row of changes.csv lies inside the
footprint of the action it is logged for."""

from __future__ import annotations

import csv
import io
import json
import random
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits.cli import main
from benchmarks.fix_roundtrip import decide_renames
from fixes.apply import apply_plan

BOARDS = 10
PLANS_PER_BOARD = 10


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _key(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(", ") if "=" in part)


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / f"{name}.csv"
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")))) if path.exists() else []


def _allowed(action: dict, change: dict, before: Path, survivor_of: dict[str, str]) -> bool:
    """Whether one logged change is inside what ``action`` names."""
    kind, table, column, key = action["action"], change["table"], change["column"], \
        _key(change["key"])
    if kind == "merge-contacts":
        records = {action["survivor"], *action["retire"]}
        retired = set(action["retire"])
        if table == "contacts":
            if change["change"] == "remove":
                return key.get("contact_id") in retired
            fills = {fill["column"] for fill in action.get("fill", [])}
            return key.get("contact_id") == action["survivor"] and column in fills
        if table == "student_contacts":
            return key.get("contact_id") in records
        if table == "accounts":
            held = {r["account_id"] for r in _rows(before, "accounts")
                    if r.get("person_id") in records}
            return key.get("account_id") in held and column in ("status", "person_id")
        if table == "account_students":
            held = {r["account_id"] for r in _rows(before, "accounts")
                    if r.get("person_id") in records}
            return change["change"] == "add" and key.get("account_id") in held
        return False
    if kind == "link-siblings":
        pairs = {frozenset(p) for p in action["pairs"]}
        return table == "siblings" and change["change"] == "add" and \
            frozenset((key.get("student_id"), key.get("sibling_id"))) in pairs
    if kind == "add-permission":
        return table == "account_students" and change["change"] == "add" and \
            key.get("account_id") == action["account_id"] and \
            key.get("student_id") in set(action["students"])
    if kind == "rename-username":
        targets = {(d["table"], d["key"], d["column"])
                   for d in [action["decision"], *action.get("more_decisions", [])]}
        ids = {"contacts": "contact_id", "accounts": "account_id", "staff": "staff_id"}
        return change["change"] == "set" and any(
            table == t and column == c and key.get(ids[t]) in (k, survivor_of.get(k))
            for t, k, c in targets)
    return False


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    made = []
    for seed in range(BOARDS):
        root = tmp_path_factory.mktemp(f"scope-{seed}")
        board = root / "board"
        assert run("sample", board, "--students", 150, "--seed", 500 + seed).exit_code == 0
        assert run("audit", board, "--out", root / "out", "--format", "json",
                   "--quiet").exit_code == 0
        plan = root / "plan.json"
        assert run("fix", "plan", root / "out" / "findings.json", "--out", plan).exit_code == 0
        made.append((board, json.loads(plan.read_text("utf-8"))))
    return made


def test_every_change_is_inside_the_footprint_of_its_action(audited):
    rng = random.Random(15)
    checked = 0
    for board, plan in audited:
        decide_renames(plan)
        for _ in range(PLANS_PER_BOARD):
            actions = list(plan["actions"])
            rng.shuffle(actions)
            cut = {**plan, "actions": actions[:rng.randint(1, len(actions))]}
            by_finding = {a["finding"]: a for a in cut["actions"]}
            survivor_of = {r: a["survivor"] for a in cut["actions"]
                           if a["action"] == "merge-contacts" for r in a["retire"]}
            with tempfile.TemporaryDirectory() as scratch:
                fixed = Path(scratch) / "fixed"
                apply_plan(cut, board, fixed, write=True, force=True, apply_rest=True)
                if not fixed.exists():
                    continue
                for change in _rows(fixed, "changes"):
                    action = by_finding[change["finding_id"]]
                    assert _allowed(action, change, board, survivor_of), (change,
                                                                          action["action"])
                    checked += 1
    assert checked > 500
