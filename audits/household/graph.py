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
paths of the checks stay in pandas.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import islice, repeat
from typing import Iterable

import networkx as nx
import numpy as np
import pandas as pd

from audits.model.board import Board
from audits.engine.memory import collector_paused, freeze_long_lived_now
from audits.model.config import Config

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


def _distinct_names(first: pd.Series, last: pd.Series) -> tuple[np.ndarray, list[str]]:
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
    codes, names = _distinct_names(first, last)
    return _object_table(names)[codes].tolist()


def _labels(frame: pd.DataFrame) -> list[dict]:
    """``{"label": person_name(first, last)}`` for every row, one shared dict per distinct name."""
    codes, names = _distinct_names(frame["first_name"], frame["last_name"])
    return _shared(codes, [{"label": name} for name in names])


def _object_table(items: list) -> np.ndarray:
    """``items`` as a numpy object array, for fancy indexing (filled one by one: numpy would
    read tuples as rows)."""
    table = np.empty(len(items), dtype=object)
    for position, item in enumerate(items):
        table[position] = item
    return table


def _shared(codes: np.ndarray, dicts: list[dict]) -> list[dict]:
    """``dicts[code]`` for every code: the same dict object wherever the code repeats."""
    return _object_table(dicts)[codes].tolist()


class _Builder:
    """Builds a ``networkx.Graph`` in bulk. ``add_edges_from`` with a dict per edge costs ~10 s
    and ~1 GB for the ~1.5 million edges of a 250,000-student board. Here nodes get integer
    positions, links are collected as arrays of positions, and at the end every node's
    adjacency dict is made in one go from its links (sorted by node, stably, so each adjacency
    keeps the order ``add_edges_from`` would give it). Attribute dicts are shared between
    edges, and between nodes, that carry the same attributes: the graph is read-only once built.
    The result is the graph ``add_nodes_from`` + ``add_edges_from`` would give: same nodes in the
    same order, same neighbours in the same order, same attributes."""

    def __init__(self) -> None:
        self._keys: list[tuple[str, str]] = []
        self._data: list[dict] = []
        # kind -> (ids, their positions); ``pd.Index.get_indexer`` looks ids up in bulk.
        self._ids: dict[str, tuple[pd.Index, np.ndarray]] = {}
        self._ends: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._attributes: list[dict] = []

    # --------------------------------------------------------------------------------- nodes
    def nodes_of(self, kind: str, ids: pd.Series, data: list[dict]) -> np.ndarray:
        """Add the nodes of one kind, one per id; the position of every row's node."""
        values = ids.tolist()
        index = pd.Index(values, dtype=object)
        if kind not in self._ids and index.is_unique:
            start = len(self._keys)
            self._keys.extend(zip(repeat(kind), values))
            self._data.extend(data)
            positions = np.arange(start, start + len(values), dtype=np.int64)
            self._ids[kind] = (index, positions)
            return positions
        # Repeated ids (a board that failed validation): the first row makes the node, later
        # rows update its attributes, as ``add_nodes_from`` does. Shared dicts are never
        # changed in place, so the update makes a new one.
        registry = self._registry(kind)
        positions = np.empty(len(values), dtype=np.int64)
        for row, (ident, attributes) in enumerate(zip(values, data)):
            position = registry.get(ident)
            if position is None:
                position = registry[ident] = self._add((kind, ident), attributes)
            else:
                self._data[position] = {**self._data[position], **attributes}
            positions[row] = position
        self._store(kind, registry)
        return positions

    def find(self, kind: str, ids: pd.Series) -> np.ndarray:
        """The position of each id's node of ``kind``; -1 where there is none."""
        known = self._ids.get(kind)
        if known is None or len(ids) == 0 or len(known[1]) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        index, positions = known
        found = index.get_indexer(ids)
        return np.where(found >= 0, positions[found], -1)

    def key(self, position: int) -> tuple[str, str]:
        """The ``(kind, id)`` of the node at ``position``."""
        return self._keys[position]

    def _add(self, key: tuple[str, str], attributes: dict) -> int:
        self._keys.append(key)
        self._data.append(attributes)
        return len(self._keys) - 1

    def _registry(self, kind: str) -> dict[object, int]:
        index, positions = self._ids.get(kind, (pd.Index([], dtype=object), np.zeros(0, np.int64)))
        return dict(zip(index.tolist(), positions.tolist()))

    def _store(self, kind: str, registry: dict[object, int]) -> None:
        self._ids[kind] = (pd.Index(list(registry), dtype=object),
                           np.fromiter(registry.values(), dtype=np.int64, count=len(registry)))

    # --------------------------------------------------------------------------------- links
    def link(self, u_kind: str, u_ids: pd.Series, v_kind: str, v_ids: pd.Series,
             data: dict | tuple[np.ndarray, list[dict]], *, u: np.ndarray | None = None,
             v: np.ndarray | None = None) -> None:
        """Edges between the nodes of ``u_ids[i]`` and ``v_ids[i]`` (positions ``u``, ``v`` when
        already found). A node not yet in the graph is added bare, as ``add_edges_from`` does."""
        u = self.find(u_kind, u_ids) if u is None else u
        v = self.find(v_kind, v_ids) if v is None else v
        if len(u) and (u.min() < 0 or v.min() < 0):  # only on a board that failed validation
            u, v = self._add_bare(u_kind, u_ids, u, v_kind, v_ids, v)
        self.edges(u, v, data)

    def _add_bare(self, u_kind: str, u_ids: pd.Series, u: np.ndarray, v_kind: str,
                  v_ids: pd.Series, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, v = u.copy(), v.copy()
        registries: dict[str, dict[object, int]] = {}
        ends = ((u_kind, u_ids.tolist(), u), (v_kind, v_ids.tolist(), v))
        for row in np.flatnonzero((u < 0) | (v < 0)).tolist():
            for kind, ids, positions in ends:  # u before v, as add_edges_from meets them
                if positions[row] < 0:
                    registry = registries.get(kind)
                    if registry is None:
                        registry = registries[kind] = self._registry(kind)
                    ident = ids[row]
                    if ident not in registry:
                        registry[ident] = self._add((kind, ident), {})
                    positions[row] = registry[ident]
        for kind, registry in registries.items():
            self._store(kind, registry)
        return u, v

    def edges(self, u: np.ndarray, v: np.ndarray, data: dict | tuple[np.ndarray, list[dict]]) -> None:
        """Edges ``u[i] - v[i]`` between node positions; ``data`` is one shared dict, or
        (codes, dicts) giving edge ``i`` the shared dict ``dicts[codes[i]]``."""
        count = len(u)
        # Both directions, interleaved: the order in which ``add_edges_from`` fills adjacencies.
        source = np.empty(2 * count, dtype=np.int32)
        source[0::2], source[1::2] = u, v
        target = np.empty(2 * count, dtype=np.int32)
        target[0::2], target[1::2] = v, u
        offset = len(self._attributes)
        if isinstance(data, dict):
            self._attributes.append(data)
            attributes = np.full(2 * count, offset, dtype=np.int32)
        else:
            codes, dicts = data
            self._attributes.extend(dicts)
            attributes = np.repeat(np.asarray(codes, dtype=np.int32) + offset, 2)
        self._ends.append((source, target, attributes))

    # --------------------------------------------------------------------------------- graph
    def graph(self) -> nx.Graph:
        graph = nx.Graph()
        keys = self._keys
        graph._node.update(zip(keys, self._data))
        self._data = []
        if self._ends:
            source = np.concatenate([ends[0] for ends in self._ends])
            target = np.concatenate([ends[1] for ends in self._ends])
            attributes = np.concatenate([ends[2] for ends in self._ends])
        else:
            source = target = attributes = np.zeros(0, dtype=np.int32)
        self._ends = []
        # Sorted by node, stably, so each node's links keep the order they were added in. The
        # link's index packed under the node makes every key distinct, so a plain sort is stable;
        # it is several times faster than numpy's stable argsort.
        packed = (source.astype(np.int64) << 32) | np.arange(len(source), dtype=np.int64)
        packed.sort()
        order = packed & 0xFFFFFFFF
        del packed
        counts = np.bincount(source, minlength=len(keys)).tolist()
        del source
        neighbours = _object_table(keys)[target[order]].tolist()
        del target
        link_data = _shared(attributes[order], self._attributes)
        del attributes, order
        # dict() over a node's links keeps the first position and the last value of a repeated
        # neighbour, exactly as repeated ``adj[u][v] = data`` assignments do.
        links = zip(neighbours, link_data)
        graph._adj.update(zip(keys, (dict(islice(links, count)) for count in counts)))
        return graph


RELATIONSHIP_SEPARATOR = " / "


def _combined_links(links: pd.DataFrame, config: Config, pair: np.ndarray) -> pd.DataFrame:
    """One row per (contact record, student): ``row`` (the pair's first row in ``links``),
    ``relationship, parental, portal_access``; ``pair`` tells the pairs apart, one integer
    per row. A contact linked to a student by several rows (Mother with portal access, and
    again as Emergency without) is one edge of the graph; taking any one row's attributes
    would make the household picture depend on row order. So: parental if any row is, portal
    access if any row has it, relationship the distinct values in sorted order."""
    # Relationship words are a handful: trim and test the distinct ones, not every row.
    codes, words = pd.factorize(links["relationship"].astype(str))
    trimmed = pd.Index(words, dtype=object).str.strip()
    parental = config.parental_mask(pd.Series(trimmed, dtype=object)).to_numpy(dtype=bool)
    frame = pd.DataFrame({
        "pair": pair, "row": np.arange(len(links)),
        "relationship": np.asarray(trimmed, dtype=object)[codes] if len(codes) else [],
        "parental": parental[codes] if len(codes) else np.zeros(0, dtype=bool),
        "portal_access": links["portal_access"].to_numpy(dtype=bool),
    })
    # Pairs that occur more than once, found by sorting (numpy sorts integers fast) rather than
    # a hash table of every pair, which on a large board outgrows the CPU caches.
    ordered = np.sort(pair)
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    repeated = frame["pair"].isin(repeats) if len(repeats) else pd.Series(False, index=frame.index)
    if not repeated.any():
        return frame
    # Repeated pairs are a small share of the rows: only they go through the groupby.
    many = frame[repeated]
    flags = many.groupby("pair", sort=False).agg(
        row=("row", "first"), parental=("parental", "any"), portal_access=("portal_access", "any"))
    words = many.loc[many["relationship"] != "", ["pair", "relationship"]].drop_duplicates()
    words = (words.sort_values("relationship", kind="stable")
             .groupby("pair", sort=False)["relationship"].agg(RELATIONSHIP_SEPARATOR.join))
    combined = flags.join(words).reset_index()
    combined["relationship"] = combined["relationship"].fillna("").astype(str)
    return pd.concat([frame[~repeated], combined[frame.columns]], ignore_index=True)


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


def _pair_key(a: np.ndarray, b: np.ndarray, a_ids: pd.Series, b_ids: pd.Series) -> np.ndarray:
    """One integer per distinct (a, b): from node positions, or (a node missing, on a board that
    failed validation) from the ids themselves."""
    if len(a) and (a.min() < 0 or b.min() < 0):
        a = pd.factorize(a_ids.astype(object), use_na_sentinel=False)[0]
        b = pd.factorize(b_ids.astype(object), use_na_sentinel=False)[0]
    return a.astype(np.int64) * (int(b.max()) + 1 if len(b) else 1) + b


def build_graph(board: Board, config: Config) -> HouseholdGraph:
    """The household graph of a loaded board."""
    # Millions of small tuples and dicts, none of them in a cycle: the cyclic collector would
    # walk them all again and again while they are made.
    with collector_paused():
        graph = _build_graph(board, config)
        # Every node's adjacency is a dict holding dicts, which the collector can never untrack:
        # a 1M-student graph is ~3 million tracked dicts, and each full collection afterwards
        # walks them all again (~1.2 s each; the first young collection after the build walks
        # them too). The CLI, whose graph lives until the command ends, has it frozen; anywhere
        # else the collector is left as it is.
        freeze_long_lived_now()
    return graph


def _build_graph(board: Board, config: Config) -> HouseholdGraph:
    build = _Builder()
    schools = board.schools
    build.nodes_of(SCHOOL, schools["school_id"],
                   [{"label": name} for name in schools["school_name"].tolist()])
    students = board.students
    student_nodes = build.nodes_of(STUDENT, students["student_id"], _labels(students))
    build.link(STUDENT, students["student_id"], SCHOOL, students["school_id"],
               {"kind": "enrolled-at"}, u=student_nodes)
    contacts = board.contacts
    build.nodes_of(CONTACT, contacts["contact_id"], _labels(contacts))
    links = board.student_contacts
    contact_nodes = build.find(CONTACT, links["contact_id"])
    student_of = build.find(STUDENT, links["student_id"])
    combined = _combined_links(links, config, _pair_key(contact_nodes, student_of,
                                                         links["contact_id"], links["student_id"]))
    overlinked = overlinked_codes(contact_nodes, student_of, config.max_students_per_contact)
    if len(overlinked) and len(combined):
        # Its links stay in the graph (the household picture shows them), but join no family.
        through = np.isin(contact_nodes[combined["row"].to_numpy()], overlinked)
        combined["parental"] = combined["parental"].to_numpy(dtype=bool) & ~through
    if len(combined):
        # One attribute dict per (relationship, parental, portal access): a handful.
        relationship_codes, relationships = pd.factorize(combined["relationship"])
        codes = (relationship_codes * 4 + combined["parental"].to_numpy(dtype=int) * 2
                 + combined["portal_access"].to_numpy(dtype=int))
        shared = [{"kind": "contact-of", "relationship": rel, "parental": par,
                   "portal_access": portal}
                  for rel in relationships for par in (False, True) for portal in (False, True)]
        rows = combined["row"].to_numpy()
        build.link(CONTACT, links["contact_id"].iloc[rows], STUDENT, links["student_id"].iloc[rows],
                   (codes, shared), u=contact_nodes[rows], v=student_of[rows])
    overlinked_ids = frozenset(build.key(position)[1] for position in overlinked.tolist())
    del combined, contact_nodes, student_of
    siblings = board.siblings
    siblings = siblings[siblings["student_id"] != siblings["sibling_id"]]
    build.link(STUDENT, siblings["student_id"], STUDENT, siblings["sibling_id"], {"kind": "sibling"})
    staff = board.staff
    staff_nodes = build.nodes_of(STAFF, staff["staff_id"], _labels(staff))
    build.link(STAFF, staff["staff_id"], SCHOOL, staff["school_id"], {"kind": "works-at"},
               u=staff_nodes)
    accounts = board.accounts
    # Usernames are near-unique, but the key is a function of the username: fold each once.
    username_codes, usernames = pd.factorize(accounts["username"], use_na_sentinel=False)
    username_keys = pd.Index(usernames, dtype=object).astype(str).str.strip().str.lower()
    account_nodes = build.nodes_of(
        ACCOUNT, accounts["account_id"],
        _shared(username_codes, [{"label": username, "username_key": key}
                                 for username, key in zip(list(usernames), username_keys.tolist())]))
    build.link(ACCOUNT, accounts["account_id"], SCHOOL, accounts["school_id"],
               {"kind": "account-at"}, u=account_nodes)
    # The person holding each account, where that person's record is in the graph.
    account_types = accounts["account_type"].to_numpy(dtype=object)
    holders = np.full(len(accounts), -1, dtype=np.int64)
    for account_type, kind in (("parent", CONTACT), ("staff", STAFF), ("student", STUDENT)):
        rows = np.flatnonzero(account_types == account_type)
        holders[rows] = build.find(kind, accounts["person_id"].iloc[rows])
    held = holders >= 0
    build.edges(holders[held], account_nodes[held], {"kind": "holds-account"})
    visible = board.account_students
    build.link(ACCOUNT, visible["account_id"], STUDENT, visible["student_id"], {"kind": "can-see"})
    return HouseholdGraph(build.graph(), overlinked=overlinked_ids)
