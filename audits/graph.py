"""The household graph: students, contact records, staff, accounts and schools, and how they link.

Nodes are ``(kind, id)`` tuples, because a contact ``123`` and a student ``123`` are different
records. Node kinds: ``student``, ``contact``, ``staff``, ``account``, ``school``. Edge kinds:

- ``sibling``: a sibling link between two students (as the SIS holds it: undirected);
- ``contact-of``: contact record to student, with ``relationship``, ``parental`` and ``portal_access``;
- ``enrolled-at``: student to school; ``works-at``: staff to school; ``account-at``: account to school;
- ``holds-account``: contact or staff or student to its account;
- ``can-see``: parent account to a student on its Permissions tab.

networkx holds the structure and answers graph questions (components, neighbourhoods); the hot
paths of the checks stay in pandas.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import networkx as nx
import pandas as pd

from audits.board import Board
from audits.config import Config

STUDENT, CONTACT, STAFF, ACCOUNT, SCHOOL = "student", "contact", "staff", "account", "school"


def normalize_username(value: object) -> str:
    """Usernames compare case-insensitively and after trimming spaces (contract section 2)."""
    return str(value).strip().lower() if value is not None else ""


def person_name(first: object, last: object) -> str:
    return " ".join(part for part in (str(first).strip(), str(last).strip()) if part)


@dataclass
class HouseholdGraph:
    graph: nx.Graph

    # ----------------------------------------------------------------- questions checks ask
    def linked_siblings(self, student_id: str) -> set[str]:
        node = (STUDENT, student_id)
        if node not in self.graph:
            return set()
        return {other[1] for other, data in self.graph[node].items()
                if data.get("kind") == "sibling"}

    def contact_students(self, contact_id: str, *, parental: bool | None = None,
                         portal_access: bool | None = None) -> set[str]:
        node = (CONTACT, contact_id)
        if node not in self.graph:
            return set()
        found = set()
        for other, data in self.graph[node].items():
            if data.get("kind") != "contact-of":
                continue
            if parental is not None and data["parental"] != parental:
                continue
            if portal_access is not None and data["portal_access"] != portal_access:
                continue
            found.add(other[1])
        return found

    def student_contacts(self, student_id: str, *, parental: bool | None = None) -> set[str]:
        node = (STUDENT, student_id)
        if node not in self.graph:
            return set()
        return {other[1] for other, data in self.graph[node].items()
                if data.get("kind") == "contact-of"
                and (parental is None or data["parental"] == parental)}

    def family_of(self, student_id: str) -> set[str]:
        """Students reachable from ``student_id`` through shared parental contact records."""
        start = (STUDENT, student_id)
        if start not in self.graph:
            return set()
        seen = {start}
        frontier = [start]
        while frontier:
            node = frontier.pop()
            for other, data in self.graph[node].items():
                if data.get("kind") == "contact-of" and data["parental"] and other not in seen:
                    seen.add(other)
                    frontier.append(other)
        return {node[1] for node in seen if node[0] == STUDENT}

    def families(self, contact_groups: Iterable[Iterable[str]] = ()) -> list[set[str]]:
        """Every family of two or more students: components of students joined by a parental
        contact record, where records in one of ``contact_groups`` count as one person."""
        union = nx.utils.UnionFind()
        by_contact: dict[str, str] = {}
        for group in contact_groups:
            members = list(group)
            for member in members[1:]:
                union.union(members[0], member)
        for a, b, data in self.graph.edges(data=True):
            if data.get("kind") != "contact-of" or not data["parental"]:
                continue
            student, contact = (a, b) if a[0] == STUDENT else (b, a)
            person = union[contact[1]]
            if person in by_contact:
                union.union(("s", by_contact[person]), ("s", student[1]))
            else:
                by_contact[person] = student[1]
                union[("s", student[1])]
        groups: dict[object, set[str]] = defaultdict(set)
        for element in list(union.parents):
            if isinstance(element, tuple) and element[0] == "s":
                groups[union[element]].add(element[1])
        return [students for students in groups.values() if len(students) > 1]

    def accounts_by_username(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for node, data in self.graph.nodes(data=True):
            if node[0] == ACCOUNT:
                found[data["username_key"]].append(node[1])
        return dict(found)

    def label(self, node: tuple[str, str]) -> str:
        return self.graph.nodes[node].get("label", node[1]) if node in self.graph else node[1]

    def household_snapshot(self, seeds: Iterable[tuple[str, str]], *, max_nodes: int = 40) -> dict:
        """The part of the graph a finding is about, for its picture in the reports: the seed
        records, their students, contacts and accounts one step away, and the links between them."""
        keep: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for seed in seeds:
            if seed in self.graph and seed not in seen:
                seen.add(seed)
                keep.append(seed)
        for seed in list(keep):
            for other in self.graph[seed]:
                if other[0] != SCHOOL and other not in seen and len(keep) < max_nodes:
                    seen.add(other)
                    keep.append(other)
        nodes_data = self.graph.nodes
        nodes = [{"id": f"{kind}:{ident}", "kind": kind, "ref": ident,
                  "label": nodes_data[(kind, ident)].get("label", ident)}
                 for kind, ident in keep]
        # Walk the adjacency of the kept nodes directly: a subgraph view per finding is too slow
        # when a large board has tens of thousands of findings.
        position = {node: index for index, node in enumerate(keep)}
        edges = []
        for a in keep:
            for b, data in self.graph[a].items():
                if position.get(b, -1) <= position[a]:
                    continue
                edge = {"source": f"{a[0]}:{a[1]}", "target": f"{b[0]}:{b[1]}",
                        "kind": data["kind"]}
                if data["kind"] == "contact-of":
                    edge["relationship"] = data["relationship"]
                    edge["portal_access"] = bool(data["portal_access"])
                edges.append(edge)
        return {"nodes": nodes, "edges": edges}


def build_graph(board: Board, config: Config) -> HouseholdGraph:
    """The household graph of a loaded board."""
    g = nx.Graph()
    schools = board.schools
    g.add_nodes_from(((SCHOOL, sid), {"label": name, "school_type": stype}) for sid, name, stype in
                     zip(schools["school_id"], schools["school_name"], schools["school_type"]))
    students = board.students
    g.add_nodes_from(
        ((STUDENT, sid), {"label": person_name(first, last), "school_id": school,
                          "active": status == "active"})
        for sid, first, last, school, status in zip(
            students["student_id"], students["first_name"], students["last_name"],
            students["school_id"], students["status"]))
    g.add_edges_from(((STUDENT, sid), (SCHOOL, school), {"kind": "enrolled-at"})
                     for sid, school in zip(students["student_id"], students["school_id"]))
    contacts = board.contacts
    g.add_nodes_from(((CONTACT, cid), {"label": person_name(first, last)}) for cid, first, last in
                     zip(contacts["contact_id"], contacts["first_name"], contacts["last_name"]))
    links = board.student_contacts
    parental = links["relationship"].str.strip().str.lower().isin(config.parental_relationships)
    g.add_edges_from(
        ((CONTACT, cid), (STUDENT, sid), {"kind": "contact-of", "relationship": rel,
                                          "parental": bool(par), "portal_access": bool(portal)})
        for sid, cid, rel, par, portal in zip(links["student_id"], links["contact_id"],
                                              links["relationship"], parental,
                                              links["portal_access"]))
    siblings = board.siblings
    g.add_edges_from(((STUDENT, a), (STUDENT, b), {"kind": "sibling"})
                     for a, b in zip(siblings["student_id"], siblings["sibling_id"]) if a != b)
    staff = board.staff
    g.add_nodes_from(((STAFF, sid), {"label": person_name(first, last), "school_id": school})
                     for sid, first, last, school in zip(staff["staff_id"], staff["first_name"],
                                                         staff["last_name"], staff["school_id"]))
    g.add_edges_from(((STAFF, sid), (SCHOOL, school), {"kind": "works-at"})
                     for sid, school in zip(staff["staff_id"], staff["school_id"]))
    accounts = board.accounts
    person_kind = {"parent": CONTACT, "staff": STAFF, "student": STUDENT}
    g.add_nodes_from(
        ((ACCOUNT, aid), {"label": username, "username_key": normalize_username(username),
                          "account_type": atype, "school_id": school, "person_id": person,
                          "active": status == "active"})
        for aid, username, atype, school, person, status in zip(
            accounts["account_id"], accounts["username"], accounts["account_type"],
            accounts["school_id"], accounts["person_id"], accounts["status"]))
    g.add_edges_from(((ACCOUNT, aid), (SCHOOL, school), {"kind": "account-at"})
                     for aid, school in zip(accounts["account_id"], accounts["school_id"]))
    g.add_edges_from(((person_kind[atype], person), (ACCOUNT, aid), {"kind": "holds-account"})
                     for aid, atype, person in zip(accounts["account_id"], accounts["account_type"],
                                                   accounts["person_id"])
                     if atype in person_kind and (person_kind[atype], person) in g)
    visible = board.account_students
    g.add_edges_from(((ACCOUNT, aid), (STUDENT, sid), {"kind": "can-see"})
                     for aid, sid in zip(visible["account_id"], visible["student_id"]))
    return HouseholdGraph(g)

