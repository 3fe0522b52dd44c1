"""The law of fixes: apply then undo gives back the original export, byte for byte, for any
small board, any export spelling (encoding, line endings, quoting, awkward values) and any
subset of a plan; and applying a plan a second time changes nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fix_boards import csv_text, findings_doc, snapshot
from fix_boards import apply_plan
from fixes.export_writer import read_export
from fixes.plan import build_plan
from fixes.undo import undo

# Values an export really holds: accents, commas, quotes, line breaks inside a quoted value.
awkward = st.sampled_from(["", "Smith", "O'Neil", "Lévesque, Marie", 'the "big" house',
                           "1 Elm St\nUnit 2", "  padded  ", "=1+2", "Ça va"])


@st.composite
def boards(draw):
    n_students = draw(st.integers(2, 6))
    n_contacts = draw(st.integers(2, 6))
    students = [f"S{i}" for i in range(n_students)]
    contacts = [f"C{i}" for i in range(n_contacts)]
    links = draw(st.sets(st.tuples(st.sampled_from(students), st.sampled_from(contacts)),
                         min_size=1, max_size=10))
    portal = {link: draw(st.sampled_from(["Y", "N", "yes", "", "1"])) for link in sorted(links)}
    records = {c: {"first_name": draw(awkward), "email": draw(st.sampled_from(
        ["", "a@example.com", "b@example.com"])), "street": draw(awkward)} for c in contacts}
    held = draw(st.sets(st.sampled_from(contacts), max_size=2))
    tables = {
        "schools": [["school_id", "school_name"], ["1", "Maple"]],
        "students": [["student_id", "school_id", "first_name", "last_name"]]
        + [[s, "1", draw(awkward), "X"] for s in students],
        "contacts": [["Contact ID", "First Name", "Last Name", "Email", "Street"]]
        + [[c, records[c]["first_name"], "X", records[c]["email"], records[c]["street"]]
           for c in contacts],
        "student_contacts": [["student_id", "contact_id", "relationship", "portal_access"]]
        + [[s, c, draw(st.sampled_from(["Mother", "Emergency", ""])), portal[(s, c)]]
           for s, c in sorted(links)],
        "siblings": [["student_id", "sibling_id"]],
        "accounts": [["account_id", "username", "account_type", "school_id", "person_id"]]
        + [[f"A{c}", f"{c}@x.ca", "parent", "1", c] for c in sorted(held)],
        "account_students": [["account_id", "student_id"]],
    }
    spelling = {
        "newline": draw(st.sampled_from(["\r\n", "\n"])),
        "encodings": {name: draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
                      for name in tables},
        "quote_all": draw(st.sets(st.sampled_from(sorted(tables)))),
        "final_newline": draw(st.booleans()),
    }
    findings = []
    # The duplicate-contact check reports clusters: no record is in two groups.
    shuffled = draw(st.permutations(contacts))
    cuts = sorted(draw(st.sets(st.integers(1, len(contacts) - 1), max_size=3)))
    groups = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(contacts)])]
    for number, group in enumerate(g for g in groups if len(g) >= 2):
        findings.append({"id": f"duplicate-contact:{number}", "check": "duplicate-contact",
                         "severity": "error",
                         "fix": {"action": "merge-contacts", "keep": group[0], "retire": group[1:],
                                 "records": {c: records[c] for c in group},
                                 "links": [{"contact_id": c, "student_id": s,
                                            "relationship": "", "portal_access": portal[(s, c)]
                                            in ("Y", "yes", "1")}
                                           for s, c in sorted(links) if c in group],
                                 "accounts": [{"account_id": f"A{c}", "person_id": c,
                                               "account_type": "parent"} for c in held]}})
    pairs = draw(st.lists(st.tuples(st.sampled_from(students), st.sampled_from(students)),
                          max_size=3))
    if pairs:
        findings.append({"id": "unlinked-siblings:1", "check": "unlinked-siblings",
                         "severity": "warning",
                         "fix": {"action": "link-siblings", "pairs": [list(p) for p in pairs]}})
    for c in sorted(held):
        findings.append({"id": f"missing-sibling-access:{c}", "check": "missing-sibling-access",
                         "severity": "error",
                         "fix": {"action": "add-permission", "account_id": f"A{c}",
                                 "students": draw(st.lists(st.sampled_from(students), max_size=2,
                                                           unique=True))}})
    chosen = draw(st.lists(st.sampled_from(findings), unique_by=lambda f: f["id"])
                  if findings else st.just([]))
    return tables, spelling, chosen


def write(folder: Path, tables, spelling) -> Path:
    folder.mkdir(parents=True)
    for name, rows in tables.items():
        text = csv_text(rows, newline=spelling["newline"], quote_all=name in spelling["quote_all"])
        if not spelling["final_newline"]:
            text = text[: -len(spelling["newline"])]
        (folder / f"{name}.csv").write_bytes(text.encode(spelling["encodings"][name],
                                                         errors="replace"))
    return folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boards())
def test_apply_then_undo_restores_the_export_and_a_second_apply_changes_nothing(case):
    tables, spelling, findings = case
    root = Path(tempfile.mkdtemp())
    try:
        board = write(root / "board", tables, spelling)
        original = snapshot(board)
        plan = build_plan(findings_doc(*findings))
        first = apply_plan(plan, board, root / "fixed", write=True, force=True, apply_rest=True)
        assert snapshot(board) == original
        undo(root / "fixed", root / "restored")
        assert snapshot(root / "restored") == original
        second = apply_plan(plan, root / "fixed", root / "again", force=True, apply_rest=True)
        assert second.changes == []
        assert set(second.already_applied) >= set(first.applied)
        # A merge moves student links, it never leaves a student without the contacts it had.
        before = read_export(board).tables["student_contacts"]
        after = read_export(root / "fixed").tables["student_contacts"]
        assert {row[0] for row in after.rows} == {row[0] for row in before.rows}
        # Every contact record is in contacts or in retired_contacts.csv: none is lost.
        kept = {row[0] for row in read_export(root / "fixed").tables["contacts"].rows}
        retired = (root / "fixed" / "retired_contacts.csv")
        if retired.exists():
            kept |= {line.split(b",")[0].decode() for line in retired.read_bytes().split(b"\r\n")[1:] if line}
        assert kept >= {row[0] for row in tables["contacts"][1:]}
        event(f"applied {min(len(first.applied), 3)}")
    finally:
        shutil.rmtree(root)
