"""The household graph is the one plain networkx calls would build, whatever the board holds.

The builder fills networkx's dicts in bulk; these tests build the same board the slow, obvious
way (``add_node`` / ``add_edges_from``) and compare nodes, their order, every adjacency in its
order, and the attributes, including on boards that failed validation (links to records that
do not exist, repeated ids), where networkx adds bare nodes.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from audits.model.board import board_from_frames
from audits.model.config import Config
from audits.household.building import build_graph
from audits.household.graph import person_name, person_names

SEPARATOR = " / "


def _reference(board, config: Config) -> nx.Graph:
    graph = nx.Graph()
    for row in board.schools.itertuples():
        graph.add_node(("school", row.school_id), label=row.school_name)
    for row in board.students.itertuples():
        graph.add_node(("student", row.student_id), label=person_name(row.first_name, row.last_name))
    graph.add_edges_from(((("student", r.student_id), ("school", r.school_id))
                          for r in board.students.itertuples()), kind="enrolled-at")
    for row in board.contacts.itertuples():
        graph.add_node(("contact", row.contact_id), label=person_name(row.first_name, row.last_name))
    # One edge per (contact, student): pairs linked once in row order, then repeated pairs in
    # the order they first appear, with their rows combined.
    links = board.student_contacts
    pairs: dict[tuple[str, str], list] = {}
    for row in links.itertuples():
        pairs.setdefault((row.contact_id, row.student_id), []).append(row)
    once = [pair for pair, rows in pairs.items() if len(rows) == 1]
    once.sort(key=lambda pair: pairs[pair][0].Index)
    repeated = [pair for pair, rows in pairs.items() if len(rows) > 1]
    for pair in once + repeated:
        rows = pairs[pair]
        words = sorted({str(r.relationship).strip() for r in rows} - {""})
        parental = bool(config.parental_mask(pd.Series([str(r.relationship).strip() for r in rows]))
                        .any())
        graph.add_edge(("contact", pair[0]), ("student", pair[1]), kind="contact-of",
                       relationship=SEPARATOR.join(words), parental=parental,
                       portal_access=any(bool(r.portal_access) for r in rows))
    graph.add_edges_from(((("student", r.student_id), ("student", r.sibling_id))
                          for r in board.siblings.itertuples() if r.student_id != r.sibling_id),
                         kind="sibling")
    for row in board.staff.itertuples():
        graph.add_node(("staff", row.staff_id), label=person_name(row.first_name, row.last_name))
    graph.add_edges_from(((("staff", r.staff_id), ("school", r.school_id))
                          for r in board.staff.itertuples()), kind="works-at")
    for row in board.accounts.itertuples():
        graph.add_node(("account", row.account_id), label=row.username,
                       username_key=str(row.username).strip().lower())
    graph.add_edges_from(((("account", r.account_id), ("school", r.school_id))
                          for r in board.accounts.itertuples()), kind="account-at")
    kinds = {"parent": "contact", "staff": "staff", "student": "student"}
    holders = [((kinds[r.account_type], r.person_id), ("account", r.account_id))
               for r in board.accounts.itertuples()
               if r.account_type in kinds and (kinds[r.account_type], r.person_id) in graph]
    graph.add_edges_from(holders, kind="holds-account")
    graph.add_edges_from(((("account", r.account_id), ("student", r.student_id))
                          for r in board.account_students.itertuples()), kind="can-see")
    return graph


def _assert_same_graph(board) -> None:
    built = build_graph(board, Config()).graph
    expected = _reference(board, Config())
    assert list(built.nodes(data=True)) == list(expected.nodes(data=True))
    for node in expected:
        assert list(built.adj[node].items()) == list(expected.adj[node].items()), node


STUDENTS = [
    {"student_id": "S2", "school_id": "1", "first_name": " Leo ", "last_name": "Roy"},
    {"student_id": "S1", "school_id": "1", "first_name": "Ana", "last_name": "Roy"},
    {"student_id": "S3", "school_id": "2", "first_name": "", "last_name": "Roy"},
]
CONTACTS = [
    {"contact_id": "C2", "first_name": "Paul", "last_name": "Roy", "email": "paul@example.ca"},
    {"contact_id": "C1", "first_name": "Marie", "last_name": " ", "email": "marie@example.ca"},
]


def test_graph_is_the_one_networkx_calls_build():
    _assert_same_graph(board_from_frames({
        "schools": [{"school_id": "1", "school_name": "Elm PS"},
                    {"school_id": "2", "school_name": "Oak SS"}],
        "students": STUDENTS,
        "contacts": CONTACTS,
        "student_contacts": [
            {"student_id": "S1", "contact_id": "C1", "relationship": "Mother", "portal_access": "Y"},
            {"student_id": "S2", "contact_id": "C1", "relationship": "Mother", "portal_access": "N"},
            {"student_id": "S1", "contact_id": "C2", "relationship": "Emergency", "portal_access": "N"},
            {"student_id": "S1", "contact_id": "C1", "relationship": " Emergency", "portal_access": "N"},
            {"student_id": "S3", "contact_id": "C2", "relationship": "Father", "portal_access": "Y"},
            {"student_id": "S1", "contact_id": "C2", "relationship": "Father", "portal_access": "N"},
        ],
        "siblings": [{"student_id": "S2", "sibling_id": "S1"}, {"student_id": "S1", "sibling_id": "S2"},
                     {"student_id": "S3", "sibling_id": "S3"}],
        "staff": [{"staff_id": "T1", "school_id": "2", "first_name": "Jo", "last_name": "Lee"}],
        "accounts": [
            {"account_id": "A1", "username": " Marie@Example.CA ", "account_type": "parent",
             "school_id": "1", "person_id": "C1"},
            {"account_id": "A2", "username": "jlee", "account_type": "staff", "school_id": "2",
             "person_id": "T1"},
            {"account_id": "A3", "username": "s3", "account_type": "student", "school_id": "2",
             "person_id": "S3"},
        ],
        "account_students": [{"account_id": "A1", "student_id": "S1"},
                             {"account_id": "A1", "student_id": "S2"}],
    }))


def test_links_to_missing_records_add_bare_nodes_where_networkx_would():
    # A board that failed validation: unknown schools, students and contacts, a repeated id,
    # an account whose person is nowhere (so it holds nothing).
    _assert_same_graph(board_from_frames({
        "schools": [{"school_id": "1", "school_name": "Elm PS"}],
        "students": STUDENTS + [{"student_id": "S1", "school_id": "9", "first_name": "Ana",
                                 "last_name": "Roy-Ng"}],
        "contacts": CONTACTS,
        "student_contacts": [
            {"student_id": "S9", "contact_id": "C1", "relationship": "Mother", "portal_access": "Y"},
            {"student_id": "S1", "contact_id": "C7", "relationship": "Father", "portal_access": "N"},
            {"student_id": "S9", "contact_id": "C1", "relationship": "Aunt", "portal_access": "N"},
            {"student_id": "S5", "contact_id": "C5", "relationship": "Mother", "portal_access": "N"},
        ],
        "siblings": [{"student_id": "S8", "sibling_id": "S1"}, {"student_id": "S1", "sibling_id": "S9"},
                     {"student_id": "S7", "sibling_id": "S6"}],
        "staff": [{"staff_id": "T1", "school_id": "7", "first_name": "Jo", "last_name": "Lee"}],
        "accounts": [
            {"account_id": "A1", "username": "m", "account_type": "parent", "school_id": "1",
             "person_id": "C7"},
            {"account_id": "A2", "username": "x", "account_type": "parent", "school_id": "8",
             "person_id": "C404"},
            {"account_id": "A3", "username": "s8", "account_type": "student", "school_id": "1",
             "person_id": "S8"},
        ],
        "account_students": [{"account_id": "A1", "student_id": "S6"},
                             {"account_id": "A9", "student_id": "S1"}],
    }))


def test_links_and_nodes_with_the_same_attributes_share_one_dict():
    graph = build_graph(board_from_frames({
        "schools": [{"school_id": "1", "school_name": "Elm PS"}],
        "students": [{"student_id": f"S{i}", "school_id": "1", "first_name": "Ana",
                      "last_name": "Roy"} for i in range(3)],
    }), Config()).graph
    first, second = graph.nodes[("student", "S0")], graph.nodes[("student", "S1")]
    assert first == {"label": "Ana Roy"} and first is second
    assert graph.adj[("student", "S0")][("school", "1")] is graph.adj[("student", "S2")][("school", "1")]


def test_person_names_trims_each_part_and_skips_a_blank_one():
    first = pd.Series([" Ana ", "", "Leo", "Ana "], dtype=str)
    last = pd.Series(["Roy", " Roy", "", "Roy"], dtype=str)
    assert person_names(first, last) == ["Ana Roy", "Roy", "Leo", "Ana Roy"]
    assert person_names(first, last) == [person_name(f, l_) for f, l_ in zip(first, last)]
