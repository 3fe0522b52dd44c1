"""The household picture's layout: no line passes through a node it does not join (a staff
record's account line used to run through the students' column, as if it went to a child),
and the rows are ordered so that lines cross less."""

from __future__ import annotations

import pytest

from audits.model.findings import Finding, Severity
from household_geometry import crossings
from reports.svg import household_svg_text, node_order


@pytest.fixture(scope="module")
def demo_findings():
    from audits import api
    from audits.model.board import board_from_frames
    from audits.sample import DEMO_SEED, DEMO_STUDENTS, generate_board

    sample = generate_board(DEMO_STUDENTS, DEMO_SEED)
    return list(api.run_audit(board_from_frames(sample.tables)).findings)


def test_no_line_of_any_demo_picture_passes_through_a_node_it_does_not_join(demo_findings):
    pictures = [(f.id, household_svg_text(f)) for f in demo_findings]
    pictures = [(fid, svg) for fid, svg in pictures if svg]
    assert len(pictures) > 100
    # Lines that skip the students' column are the ones that used to cross nodes.
    assert sum(svg.count("holds the account") for _, svg in pictures) > 50
    bad = {fid: found for fid, svg in pictures if (found := crossings(svg))}
    assert bad == {}


def _household(nodes, edges):
    return {"nodes": [{"id": f"{kind}:{ref}", "kind": kind, "ref": ref, "label": ref}
                      for kind, ref in nodes],
            "edges": [{"source": a, "target": b, "kind": kind,
                       **({"relationship": "Mother", "portal_access": True}
                          if kind == "contact-of" else {})}
                      for a, b, kind in edges]}


def _finding(household, **fields) -> Finding:
    return Finding(id="username-clash:1", check="username-clash", severity=Severity.ERROR,
                   title="t", household=household, **fields)


def test_a_staff_records_account_line_goes_between_the_students():
    students = [("student", f"S{k}") for k in range(5)]
    household = _household(
        [("staff", "T1"), ("contact", "C1"), *students, ("account", "A1")],
        [("account:A1", "staff:T1", "holds-account"),
         *(("contact:C1", f"student:S{k}", "contact-of") for k in range(5))])
    svg = household_svg_text(_finding(household, staff=("T1",), accounts=("A1",)))
    assert "holds the account" in svg
    assert crossings(svg) == []


def test_a_sibling_arc_between_far_apart_rows_stays_short_of_the_accounts():
    students = [("student", f"S{k:02}") for k in range(20)]
    household = _household(
        [("contact", "C1"), *students, ("account", "A1"), ("account", "A2")],
        [("student:S00", "student:S19", "sibling"),
         *(("contact:C1", f"student:S{k:02}", "contact-of") for k in range(20)),
         ("account:A1", "student:S10", "can-see"), ("account:A2", "student:S11", "can-see")])
    svg = household_svg_text(_finding(household, contacts=("C1",)))
    assert crossings(svg) == []


def test_rows_are_ordered_so_that_lines_cross_less():
    # Two families listed crosswise: contact C1's children come last in the snapshot.
    household = _household(
        [("contact", "C1"), ("contact", "C2"), ("student", "S1"), ("student", "S2"),
         ("student", "S3"), ("student", "S4")],
        [("contact:C1", "student:S3", "contact-of"), ("contact:C1", "student:S4", "contact-of"),
         ("contact:C2", "student:S1", "contact-of"), ("contact:C2", "student:S2", "contact-of")])
    order = [node["ref"] for node in node_order(_finding(household, contacts=("C1",)))]
    assert order[:2] == ["C1", "C2"]  # the finding's own record stays on top
    assert order[2:] == ["S3", "S4", "S1", "S2"]
