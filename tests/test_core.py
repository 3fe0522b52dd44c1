"""The core types: findings, config, registry and graph queries."""

from __future__ import annotations

import json

import pytest

from audits.model.board import board_from_frames
from audits.model.config import Config, apply_overrides, load_config
from audits.model.errors import UserError
from audits.model.findings import Finding, Severity, findings_document, findings_to_frame, stable_id
from audits.household.building import build_graph
from audits.household.graph import normalize_username
from audits.checks.spec import load_checks


def test_stable_id_ignores_order_and_depends_on_members():
    assert stable_id("duplicate-contact", ["C2", "C1"]) == stable_id("duplicate-contact", ["C1", "C2"])
    assert stable_id("duplicate-contact", ["C1", "C2"]) != stable_id("duplicate-contact", ["C1", "C3"])
    assert stable_id("x", ["a"]).startswith("x:")


def test_finding_round_trips_through_the_contract_shape():
    finding = Finding(id="username-clash:1", check="username-clash", severity=Severity.ERROR,
                      title="t", students=("S1",), contacts=("C1",), pairs=(("A1", "S2"),),
                      username="a@b.ca", evidence={"cause": "staff member who is also a parent"},
                      fix={"action": "rename-username", "steps": ["1. x"]})
    data = finding.to_dict()
    assert data["entities"] == {"students": ["S1"], "contacts": ["C1"], "staff": [], "accounts": []}
    assert data["pairs"] == [["A1", "S2"]]
    assert Finding.from_dict(json.loads(json.dumps(data))) == finding


def test_findings_document_summary_counts_agree():
    findings = [Finding(id=f"c:{i}", check="c", severity=Severity.ERROR if i % 2 else Severity.INFO,
                        title=str(i), school_ids=("1",)) for i in range(5)]
    doc = findings_document(findings, input_path="x", tables={"students": 3})
    assert doc["schema"] == "connect-audit/findings/v1"
    assert doc["summary"]["by_check"] == {"c": 5}
    assert doc["summary"]["by_severity"] == {"error": 2, "info": 3}
    assert [f["severity"] for f in doc["findings"]][:2] == ["error", "error"]
    assert len(findings_to_frame(findings)) == 5


def test_config_overrides_and_refuses_typos(tmp_path):
    config = apply_overrides(Config(), {"naming_schema": {"parent": "first.last"},
                                        "relationships": {"parental": ["Mother", "Tutor"]},
                                        "thresholds": {"duplicate_contact": 0.9},
                                        "nicknames": {"dorothea": ["thea"]}})
    assert config.naming_schema["parent"] == "first.last"
    assert config.is_parental(" tutor ") and not config.is_parental("father")
    assert config.threshold("duplicate_contact") == 0.9
    assert frozenset({"dorothea", "thea"}) in config.nicknames
    with pytest.raises(UserError):
        apply_overrides(Config(), {"thresholds": {"duplicat_contact": 0.9}})
    with pytest.raises(UserError):
        apply_overrides(Config(), {"naming_schema": {"parent": "initials"}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds\n")
    with pytest.raises(UserError):
        load_config(bad)
    with pytest.raises(UserError):
        load_config(tmp_path / "missing.toml")


def test_every_registered_check_documents_why_and_how():
    registry = load_checks()
    for code, spec in registry.items():
        assert spec.summary, code
        assert spec.why, f"{code} has no 'Why it matters:' paragraph"
        assert spec.how, f"{code} has no 'How to fix:' paragraph"


def _family_board():
    return board_from_frames({
        "schools": [{"school_id": "1", "school_name": "Elm PS"}, {"school_id": "2", "school_name": "Oak SS"}],
        "students": [
            {"student_id": "S1", "school_id": "1", "first_name": "Ana", "last_name": "Roy"},
            {"student_id": "S2", "school_id": "2", "first_name": "Leo", "last_name": "Roy"},
            {"student_id": "S3", "school_id": "1", "first_name": "Zoe", "last_name": "Roy"},
            {"student_id": "S4", "school_id": "1", "first_name": "Max", "last_name": "Lee"},
        ],
        "contacts": [
            {"contact_id": "C1", "first_name": "Marie", "last_name": "Roy"},
            {"contact_id": "C2", "first_name": "Marie", "last_name": "Roy"},
            {"contact_id": "G1", "first_name": "Paul", "last_name": "Roy"},
        ],
        "student_contacts": [
            {"student_id": "S1", "contact_id": "C1", "relationship": "Mother", "portal_access": "Y"},
            {"student_id": "S2", "contact_id": "C1", "relationship": "Mother", "portal_access": "N"},
            {"student_id": "S3", "contact_id": "C2", "relationship": "Mother", "portal_access": "Y"},
            {"student_id": "S3", "contact_id": "G1", "relationship": "Grandparent", "portal_access": "N"},
            {"student_id": "S4", "contact_id": "G1", "relationship": "Grandparent", "portal_access": "N"},
        ],
        "siblings": [{"student_id": "S1", "sibling_id": "S2"}],
        "accounts": [{"account_id": "A1", "username": " Marie@Example.CA ", "account_type": "parent",
                      "school_id": "1", "person_id": "C1"}],
        "account_students": [{"account_id": "A1", "student_id": "S1"}],
    })


def test_graph_answers_the_questions_checks_ask():
    graph = build_graph(_family_board(), Config())
    assert graph.linked_siblings("S1") == {"S2"}
    assert graph.contact_students("C1") == {"S1", "S2"}
    assert graph.contact_students("C1", portal_access=True) == {"S1"}
    # A grandparent shared by cousins does not make them one family.
    assert graph.family_of("S3") == {"S3"}
    assert graph.family_of("S1") == {"S1", "S2"}
    assert sorted(map(sorted, graph.families())) == [["S1", "S2"]]
    # Two records of one mother join her children into one family.
    assert sorted(map(sorted, graph.families([("C1", "C2")]))) == [["S1", "S2", "S3"]]
    assert graph.accounts_by_username() == {"marie@example.ca": ["A1"]}
    snapshot = graph.household_snapshot([("contact", "C1")])
    ids = {node["id"] for node in snapshot["nodes"]}
    assert {"contact:C1", "student:S1", "student:S2", "account:A1"} <= ids
    assert all(node["kind"] != "school" for node in snapshot["nodes"])


def test_usernames_compare_case_insensitively_after_trimming():
    assert normalize_username("  Jo@X.ca ") == "jo@x.ca"


def test_survivor_prefers_the_older_record_in_natural_id_order():
    from audits.household.survivor import choose_survivor

    records = {cid: {"first_name": "Nathalie", "last_name": "Simard"} for cid in ("C3201", "C803")}
    links = [{"contact_id": "C3201", "student_id": "S1"}, {"contact_id": "C803", "student_id": "S2"}]
    assert choose_survivor(["C3201", "C803"], records, links, {}) == ("C803", "the lowest id")
    # A parent account still outranks everything else.
    assert choose_survivor(["C3201", "C803"], records, links, {"C3201": ["A1"]})[0] == "C3201"


def _twice_linked_board(rows):
    return board_from_frames({
        "schools": [{"school_id": "1", "school_name": "Elm PS"}],
        "students": [{"student_id": "S1", "school_id": "1", "first_name": "Ana", "last_name": "Roy"},
                     {"student_id": "S2", "school_id": "1", "first_name": "Leo", "last_name": "Roy"}],
        "contacts": [{"contact_id": "C1", "first_name": "Marie", "last_name": "Roy"},
                     {"contact_id": "C2", "first_name": "Paul", "last_name": "Roy"}],
        "student_contacts": [{"student_id": s, "contact_id": c, "relationship": r, "portal_access": p}
                             for s, c, r, p in rows],
        "siblings": [{"student_id": "S2", "sibling_id": "S1"}],
    })


def test_a_contact_linked_twice_to_one_student_combines_the_rows_whatever_their_order():
    rows = [("S1", "C1", "Mother", "Y"), ("S1", "C1", "Emergency", "N"),
            ("S2", "C1", "Mother", "N"), ("S2", "C2", "Emergency", "N")]
    for order in (rows, rows[::-1], rows[1:] + rows[:1]):
        graph = build_graph(_twice_linked_board(order), Config())
        edge = graph.graph[("contact", "C1")][("student", "S1")]
        assert edge == {"kind": "contact-of", "relationship": "Emergency / Mother",
                        "parental": True, "portal_access": True}
        assert graph.contact_students("C1", portal_access=True) == {"S1"}
        assert graph.student_contacts("S1", parental=True) == {"C1"}
        assert graph.graph[("contact", "C1")][("student", "S2")]["relationship"] == "Mother"
        assert graph.graph[("contact", "C2")][("student", "S2")]["parental"] is False


def test_household_snapshot_does_not_depend_on_row_order():
    rows = [("S1", "C1", "Mother", "Y"), ("S1", "C1", "Emergency", "N"),
            ("S2", "C1", "Mother", "N"), ("S2", "C2", "Emergency", "N")]
    snapshots = []
    for order in (rows, rows[::-1]):
        board = _twice_linked_board(order)
        if order is not rows:  # every table the other way round, the sibling link too
            board = board_from_frames({
                **{name: getattr(board, name).iloc[::-1].to_dict("records")
                   for name in ("schools", "students", "contacts")},
                "student_contacts": board.student_contacts.assign(
                    portal_access=board.student_contacts["portal_access"].map(
                        {True: "Y", False: "N"})).to_dict("records"),
                "siblings": [{"student_id": "S1", "sibling_id": "S2"}]})
        snapshots.append(build_graph(board, Config()).household_snapshot(
            [("student", "S2"), ("contact", "C1")]))
    first = snapshots[0]
    assert snapshots[1] == first
    # Seeds first as given, then their neighbours by (kind, id); edges low id to high, sorted.
    assert [node["id"] for node in first["nodes"]] == [
        "student:S2", "contact:C1", "contact:C2", "student:S1"]
    assert [(e["source"], e["target"], e["kind"]) for e in first["edges"]] == [
        ("contact:C1", "student:S1", "contact-of"), ("contact:C1", "student:S2", "contact-of"),
        ("contact:C2", "student:S2", "contact-of"), ("student:S1", "student:S2", "sibling")]
    assert first["edges"][0]["relationship"] == "Emergency / Mother"
    assert first["edges"][0]["portal_access"] is True
