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

import gc
from collections import defaultdict
from dataclasses import dataclass
from itertools import repeat
from typing import Iterable

import networkx as nx
import numpy as np
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
        nodes = [{"id": f"{kind}:{ident}", "kind": kind, "ref": ident,
                  "label": nodes_data[(kind, ident)].get("label", ident)}
                 for kind, ident in keep]
        # Walk the adjacency of the kept nodes directly: a subgraph view per finding is too slow
        # when a large board has tens of thousands of findings.
        position = {node: index for index, node in enumerate(keep)}
        edges = []
        for a in keep:
            for b, data in adjacency[a].items():
                if position.get(b, -1) <= position[a]:
                    continue
                source, target = sorted((f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}"))
                edge = {"source": source, "target": target, "kind": data["kind"]}
                if data["kind"] == "contact-of":
                    edge["relationship"] = data["relationship"]
                    edge["portal_access"] = bool(data["portal_access"])
                edges.append(edge)
        edges.sort(key=lambda edge: (edge["source"], edge["target"], edge["kind"]))
        return {"nodes": nodes, "edges": edges}


def _nodes(kind: str, ids: pd.Series) -> list[tuple[str, str]]:
    return list(zip(repeat(kind), ids.tolist()))


def _labels(frame: pd.DataFrame) -> list[str]:
    """``person_name`` of every row, vectorised (values are text, never NaN, after loading)."""
    first = frame["first_name"].astype(str).str.strip()
    last = frame["last_name"].astype(str).str.strip()
    return (first + " " + last).str.strip().tolist()


class _Builder:
    """Fills a ``networkx.Graph``'s adjacency in bulk. ``add_edges_from`` with a dict per edge
    costs ~10 s for the ~1.5 million edges of a 250,000-student board; writing the adjacency
    directly, with one shared attribute dict per kind of edge (the graph is read-only once
    built), costs a fraction of that and gives the same graph: same nodes, edges, attributes."""

    def __init__(self) -> None:
        self.graph = nx.Graph()
        self._node = self.graph._node
        self._adj = self.graph._adj
        self._canonical: dict[str, tuple[pd.Index, np.ndarray]] = {}

    def keys(self, kind: str, ids: pd.Series) -> list[tuple[str, str]]:
        """The node keys of ``ids``: the very tuples already in the graph where the kind's nodes
        were added with :meth:`nodes_of`, so an edge end costs no new tuple (at a million
        students, several hundred MB of duplicate tuples otherwise)."""
        known = self._canonical.get(kind)
        if known is not None:
            index, keys = known
            positions = index.get_indexer(ids)
            if len(positions) == 0 or positions.min() >= 0:
                return keys[positions].tolist()
        return _nodes(kind, ids)

    def nodes_of(self, kind: str, ids: pd.Series, attributes: Iterable[dict]) -> list:
        """Add the nodes of one kind, one per id, and remember their keys for :meth:`keys`."""
        keys = np.fromiter(zip(repeat(kind), ids.tolist()), dtype=object, count=len(ids))
        index = pd.Index(ids.astype(str), dtype=object)
        if index.is_unique:
            self._canonical[kind] = (index, keys)
        listed = keys.tolist()
        self.nodes(listed, attributes)
        return listed

    def nodes(self, nodes: list[tuple[str, str]], attributes: Iterable[dict]) -> None:
        node, adj = self._node, self._adj
        for key, data in zip(nodes, attributes):
            if key in node:
                node[key].update(data)
            else:
                node[key] = data
                adj[key] = {}

    def edges(self, us: list, vs: list, data: dict | list[dict]) -> None:
        """Edges ``us[i] - vs[i]``; ``data`` is one shared dict or one dict per edge. A node not
        yet in the graph is added bare, as ``add_edges_from`` does."""
        node, adj = self._node, self._adj
        if not set(us).union(vs).issubset(node):  # only on a board that failed validation
            for u, v in zip(us, vs):
                for key in (u, v):
                    if key not in node:
                        node[key] = {}
                        adj[key] = {}
        if isinstance(data, dict):
            for u, v in zip(us, vs):
                adj[u][v] = data
                adj[v][u] = data
        else:
            for u, v, d in zip(us, vs, data):
                adj[u][v] = d
                adj[v][u] = d


RELATIONSHIP_SEPARATOR = " / "


def _combined_links(links: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One row per (contact record, student): ``contact_id, student_id, relationship, parental,
    portal_access``. A contact linked to a student by several rows (Mother with portal access,
    and again as Emergency without) is one edge of the graph; taking any one row's attributes
    would make the household picture depend on row order. So: parental if any row is, portal
    access if any row has it, relationship the distinct values in sorted order."""
    # Relationship words are a handful: trim and test the distinct ones, not every row.
    codes, words = pd.factorize(links["relationship"].astype(str))
    trimmed = pd.Index(words, dtype=object).str.strip()
    parental = config.parental_mask(pd.Series(trimmed, dtype=object)).to_numpy(dtype=bool)
    frame = pd.DataFrame({
        "contact_id": links["contact_id"].to_numpy(), "student_id": links["student_id"].to_numpy(),
        "relationship": np.asarray(trimmed, dtype=object)[codes] if len(codes) else [],
        "parental": parental[codes] if len(codes) else np.zeros(0, dtype=bool),
        "portal_access": links["portal_access"].to_numpy(dtype=bool),
    })
    repeated = frame.duplicated(["contact_id", "student_id"], keep=False)
    if not repeated.any():
        return frame
    # Repeated pairs are a small share of the rows: only they go through the groupby.
    many = frame[repeated]
    pair = ["contact_id", "student_id"]
    flags = many.groupby(pair, sort=False)[["parental", "portal_access"]].any()
    words = many.loc[many["relationship"] != "", pair + ["relationship"]].drop_duplicates()
    words = (words.sort_values("relationship", kind="stable")
             .groupby(pair, sort=False)["relationship"].agg(RELATIONSHIP_SEPARATOR.join))
    combined = flags.join(words).reset_index()
    combined["relationship"] = combined["relationship"].fillna("").astype(str)
    return pd.concat([frame[~repeated], combined[frame.columns]], ignore_index=True)


def build_graph(board: Board, config: Config) -> HouseholdGraph:
    """The household graph of a loaded board."""
    # Millions of small tuples and dicts, none of them in a cycle: the cyclic collector would
    # walk them all again and again while they are made.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_graph(board, config)
    finally:
        if enabled:
            gc.enable()


def _build_graph(board: Board, config: Config) -> HouseholdGraph:
    build = _Builder()
    schools = board.schools
    build.nodes_of(SCHOOL, schools["school_id"],
                   ({"label": name, "school_type": stype} for name, stype in
                    zip(schools["school_name"].tolist(), schools["school_type"].tolist())))
    students = board.students
    student_nodes = build.nodes_of(
        STUDENT, students["student_id"],
        ({"label": label, "school_id": school, "active": active}
         for label, school, active in zip(_labels(students), students["school_id"].tolist(),
                                          (students["status"] == "active").tolist())))
    build.edges(student_nodes, build.keys(SCHOOL, students["school_id"]), {"kind": "enrolled-at"})
    contacts = board.contacts
    build.nodes_of(CONTACT, contacts["contact_id"], ({"label": label} for label in _labels(contacts)))
    links = _combined_links(board.student_contacts, config)
    if len(links):
        # One attribute dict per (relationship, parental, portal access): a handful.
        relationship_codes, relationships = pd.factorize(links["relationship"])
        codes = (relationship_codes * 4 + links["parental"].to_numpy(dtype=int) * 2
                 + links["portal_access"].to_numpy(dtype=int))
        shared = np.empty(len(relationships) * 4, dtype=object)
        shared[:] = [{"kind": "contact-of", "relationship": rel, "parental": bool(par),
                      "portal_access": bool(portal)}
                     for rel in relationships for par in (False, True) for portal in (False, True)]
        build.edges(build.keys(CONTACT, links["contact_id"]),
                    build.keys(STUDENT, links["student_id"]), shared[codes].tolist())
    siblings = board.siblings
    siblings = siblings[siblings["student_id"] != siblings["sibling_id"]]
    build.edges(build.keys(STUDENT, siblings["student_id"]),
                build.keys(STUDENT, siblings["sibling_id"]), {"kind": "sibling"})
    staff = board.staff
    staff_nodes = build.nodes_of(STAFF, staff["staff_id"],
                                 ({"label": label, "school_id": school} for label, school in
                                  zip(_labels(staff), staff["school_id"].tolist())))
    build.edges(staff_nodes, build.keys(SCHOOL, staff["school_id"]), {"kind": "works-at"})
    accounts = board.accounts
    username_keys = accounts["username"].astype(str).str.strip().str.lower().tolist()
    account_nodes = build.nodes_of(
        ACCOUNT, accounts["account_id"],
        ({"label": username, "username_key": key, "account_type": atype,
          "school_id": school, "person_id": person, "active": active}
         for username, key, atype, school, person, active in zip(
             accounts["username"].tolist(), username_keys,
             accounts["account_type"].tolist(), accounts["school_id"].tolist(),
             accounts["person_id"].tolist(), (accounts["status"] == "active").tolist())))
    build.edges(account_nodes, build.keys(SCHOOL, accounts["school_id"]), {"kind": "account-at"})
    person_kind = {"parent": CONTACT, "staff": STAFF, "student": STUDENT}
    holders = [((person_kind[atype], person), account)
               for account, atype, person in zip(account_nodes, accounts["account_type"].tolist(),
                                                 accounts["person_id"].tolist())
               if atype in person_kind and (person_kind[atype], person) in build.graph]
    build.edges([h for h, _ in holders], [a for _, a in holders], {"kind": "holds-account"})
    visible = board.account_students
    build.edges(build.keys(ACCOUNT, visible["account_id"]), build.keys(STUDENT, visible["student_id"]),
                {"kind": "can-see"})
    return HouseholdGraph(build.graph)
