"""The household graph: students, contact records, staff, accounts and schools, and how they link.

Nodes are ``(kind, id)`` tuples, because a contact ``123`` and a student ``123`` are different
records. Node kinds: ``student``, ``contact``, ``staff``, ``account``, ``school``. Edge kinds:

- ``sibling``: a sibling link between two students (as the SIS holds it: undirected);
- ``contact-of``: contact record to student, with ``relationship``, ``parental`` and
  ``portal_access`` (``parental``: the link makes its students a family; never for an
  overlinked contact record, see :attr:`HouseholdGraph.overlinked`);
- ``enrolled-at``: student to school; ``works-at``: staff to school; ``account-at``: account to school;
- ``holds-account``: contact or staff or student to its account;
- ``can-see``: parent account to a student on its Permissions tab.

Node attributes are what the questions below use: ``label`` (the display name), and for an
account ``username_key``. The graph is read-only once built: nodes with the same attributes share
one attribute dict, and so do links of one kind (``contact-of``: of one relationship, parental
flag and portal access), which is most of its memory saved on a large board.

networkx holds the structure and answers graph questions (components, neighbourhoods); the hot
paths of the checks stay in pandas. :func:`audits.household.building.build_graph` builds it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import networkx as nx
import numpy as np
import pandas as pd

STUDENT, CONTACT, STAFF, ACCOUNT, SCHOOL = "student", "contact", "staff", "account", "school"


def normalize_username(value: object) -> str:
    """Usernames compare case-insensitively and after trimming spaces (contract section 2)."""
    return str(value).strip().lower() if value is not None else ""


def person_name(first: object, last: object) -> str:
    return " ".join(part for part in (str(first).strip(), str(last).strip()) if part)


@dataclass
class HouseholdGraph:
    graph: nx.Graph
    overlinked: frozenset[str] = frozenset()
    """Contact records linked to more students than ``max_students_per_contact`` (any
    relationship; :func:`overlinked_codes`): their links are in the graph but join no family."""

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
        data = self.graph._node.get(node)
        return data.get("label", node[1]) if data is not None else node[1]

    def household_snapshot(self, seeds: Iterable[tuple[str, str]], *, max_nodes: int = 40) -> dict:
        """The part of the graph a finding is about, for its picture in the reports: the seed
        records, their students, contacts and accounts one step away, and the links between them.

        The same for any row order of the export: the seeds first in the order given, then
        their neighbours sorted by (kind, id) up to ``max_nodes``; each edge runs from the
        smaller node id to the larger (links are undirected), and edges are sorted."""
        # The plain dicts under networkx's views: one view object per lookup costs more than the
        # lookup, and boards with tens of thousands of findings make hundreds of thousands.
        adjacency = self.graph._adj
        keep: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for seed in seeds:
            if seed in adjacency and seed not in seen:
                seen.add(seed)
                keep.append(seed)
        around = {other for seed in keep for other in adjacency[seed]
                  if other[0] != SCHOOL and other not in seen}
        keep.extend(sorted(around)[:max(0, max_nodes - len(keep))])
        nodes_data = self.graph._node
        names = {node: f"{node[0]}:{node[1]}" for node in keep}
        nodes = [{"id": names[node], "kind": node[0], "ref": node[1],
                  "label": nodes_data[node].get("label", node[1])}
                 for node in keep]
        # Walk the adjacency of the kept nodes directly: a subgraph view per finding is too slow
        # when a large board has tens of thousands of findings.
        position = {node: index for index, node in enumerate(keep)}
        edges = []
        for index, a in enumerate(keep):
            name_a = names[a]
            for b, data in adjacency[a].items():
                if position.get(b, -1) <= index:
                    continue
                name_b = names[b]
                source, target = (name_a, name_b) if name_a <= name_b else (name_b, name_a)
                edge = {"source": source, "target": target, "kind": data["kind"]}
                if data["kind"] == "contact-of":
                    edge["relationship"] = data["relationship"]
                    edge["portal_access"] = bool(data["portal_access"])
                edges.append(edge)
        edges.sort(key=lambda edge: (edge["source"], edge["target"], edge["kind"]))
        return {"nodes": nodes, "edges": edges}


def distinct_names(first: pd.Series, last: pd.Series) -> tuple[np.ndarray, list[str]]:
    """:func:`person_name` of every row as (codes, names): ``names[codes[i]]`` is row ``i``'s.
    Names repeat a lot (a board has far fewer distinct names than records): each distinct
    (first, last) is trimmed and joined once."""
    first_codes, firsts = pd.factorize(first.astype(str), use_na_sentinel=False)
    last_codes, lasts = pd.factorize(last.astype(str), use_na_sentinel=False)
    width = max(len(lasts), 1)
    pair_codes, pairs = pd.factorize(first_codes.astype(np.int64) * width + last_codes)
    distinct_first = pd.Series(firsts, dtype=object).astype(str).str.strip()
    distinct_last = pd.Series(lasts, dtype=object).astype(str).str.strip()
    names = (distinct_first.iloc[pairs // width].reset_index(drop=True) + " "
             + distinct_last.iloc[pairs % width].reset_index(drop=True)).str.strip()
    return pair_codes, names.tolist()


def person_names(first: pd.Series, last: pd.Series) -> list[str]:
    """:func:`person_name` of every row of two aligned columns of text."""
    codes, names = distinct_names(first, last)
    return object_table(names)[codes].tolist()


def object_table(items: list) -> np.ndarray:
    """``items`` as a numpy object array, for fancy indexing (filled one by one: numpy would
    read tuples as rows)."""
    table = np.empty(len(items), dtype=object)
    for position, item in enumerate(items):
        table[position] = item
    return table


def overlinked_codes(contacts: np.ndarray, students: np.ndarray, limit: int) -> np.ndarray:
    """The contact codes linked (``contacts[i]`` to ``students[i]``, integer codes) to more than
    ``limit`` distinct student codes. No family has that many children: such a record is a
    placeholder ("Office") or one record picked for many families, and a family built through
    it would join every student it is linked to (pairwise work quadratic in its students). A
    negative code (a record missing from its table) links nothing. Only records with more link
    rows than ``limit`` are looked at student by student."""
    known = (contacts >= 0) & (students >= 0)
    contacts, students = contacts[known].astype(np.int64), students[known].astype(np.int64)
    if len(contacts) == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.flatnonzero(np.bincount(contacts) > limit)
    if len(candidates) == 0:
        return candidates
    mine = np.isin(contacts, candidates)
    width = int(students.max()) + 1
    pairs = np.unique(contacts[mine] * width + students[mine])
    return np.flatnonzero(np.bincount(pairs // width) > limit)
