"""The findings of an export do not depend on the order of its rows: the same export sorted
another way (a report re-run, another export tool) gives the same groups, ids, links and steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audits import api
from audits.model.board import board_from_frames
from audits.checks.duplicate_contact.check import duplicate_contact
from audits.engine.context import AuditContext
from audits.sample import generate_board

SCHOOLS = [{"school_id": "A", "school_name": "Alpha PS", "school_type": "elementary"}]


def three_chris_smiths(order):
    """Three identical records: C1 Mother and C3 Father of S1 (two people: a veto between
    them), C2 Parent of S2 (either of them). The tie must not be decided by row order."""
    contacts = {cid: {"contact_id": cid, "first_name": "Chris", "last_name": "Smith",
                      "email": "chris.smith@mail.ca", "cell_phone": "613-555-0199",
                      "street": "12 Elm St", "postal_code": "K1A 0B1"}
                for cid in ("C1", "C2", "C3")}
    links = [{"student_id": "S1", "contact_id": "C1", "relationship": "Mother", "portal_access": "Y"},
             {"student_id": "S1", "contact_id": "C3", "relationship": "Father", "portal_access": "Y"},
             {"student_id": "S2", "contact_id": "C2", "relationship": "Parent", "portal_access": "Y"}]
    students = [{"student_id": sid, "school_id": "A", "first_name": f"Kid{sid}",
                 "last_name": "Smith"} for sid in ("S1", "S2")]
    return board_from_frames({"schools": SCHOOLS, "students": students,
                              "contacts": [contacts[cid] for cid in order],
                              "student_contacts": links if order[0] == "C1" else links[::-1]})


def test_a_tie_between_identical_records_is_decided_by_contact_id_not_row_order():
    found = {}
    for order in (("C1", "C2", "C3"), ("C3", "C2", "C1"), ("C2", "C3", "C1")):
        [finding] = duplicate_contact(AuditContext(three_chris_smiths(order)))
        [found[order]] = _canonical([finding])
    first = found[("C1", "C2", "C3")]
    assert first["entities"]["contacts"] == ["C1", "C2"]
    for data in found.values():
        assert data == first


def _shuffled(frames: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return {name: frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
            for name, frame in frames.items()}


def _canonical(findings) -> list[dict]:
    # Every field, the household picture included (its node order and each link's ends are
    # canonical in audits/household/graph.py), must be equal as it is.
    return [finding.to_dict() for finding in findings]


@pytest.mark.parametrize("seed", [3])
def test_every_check_gives_the_same_findings_whatever_the_row_order(seed):
    sample = generate_board(1500, seed)
    frames = {name: frame.reset_index(drop=True) for name, frame in sample.tables.items()}
    original = api.run_audit(board_from_frames(frames))
    shuffled = api.run_audit(board_from_frames(_shuffled(frames, seed)))
    assert original.findings, "the sample board should have findings"
    assert {f.check for f in original.findings} >= {"duplicate-contact"}
    first, second = _canonical(original.findings), _canonical(shuffled.findings)
    assert [f["id"] for f in first] == [f["id"] for f in second]
    for a, b in zip(first, second):
        assert a == b, a["id"]
