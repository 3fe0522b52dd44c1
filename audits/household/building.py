"""The household graph built in bulk from a loaded board (:func:`build_graph`).

Nodes get integer positions and links are collected as arrays of positions; every node's
adjacency is made in one go at the end (:class:`_Builder`). Links of one contact record to one
student given by several rows are one edge (:func:`_combined_links`). The graph it gives is the
one ``add_nodes_from`` + ``add_edges_from`` would give (:mod:`audits.household.graph`).
"""

from __future__ import annotations

from itertools import islice, repeat

import networkx as nx
import numpy as np
import pandas as pd

from audits.household.graph import (ACCOUNT, CONTACT, SCHOOL, STAFF, STUDENT, HouseholdGraph,
                                    distinct_names, object_table, overlinked_codes)
from audits.model.board import Board
from audits.model.config import Config

RELATIONSHIP_SEPARATOR = " / "


def build_graph(board: Board, config: Config) -> HouseholdGraph:
    """The household graph of a loaded board."""
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
    overlinked = _contact_links(build, board.student_contacts, config)
    siblings = board.siblings
    siblings = siblings[siblings["student_id"] != siblings["sibling_id"]]
    build.link(STUDENT, siblings["student_id"], STUDENT, siblings["sibling_id"], {"kind": "sibling"})
    staff = board.staff
    staff_nodes = build.nodes_of(STAFF, staff["staff_id"], _labels(staff))
    build.link(STAFF, staff["staff_id"], SCHOOL, staff["school_id"], {"kind": "works-at"},
               u=staff_nodes)
    _accounts(build, board)
    return HouseholdGraph(build.graph(), overlinked=overlinked)


def _contact_links(build: "_Builder", links: pd.DataFrame, config: Config) -> frozenset[str]:
    """The ``contact-of`` edges, one per (contact record, student); the overlinked contact
    records (:func:`audits.household.graph.overlinked_codes`), whose links join no family."""
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
    return frozenset(build.key(position)[1] for position in overlinked.tolist())


def _accounts(build: "_Builder", board: Board) -> None:
    """The account nodes, their schools, the person holding each account (where that person's
    record is in the graph) and the students each account can see."""
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
    account_types = accounts["account_type"].to_numpy(dtype=object)
    holders = np.full(len(accounts), -1, dtype=np.int64)
    for account_type, kind in (("parent", CONTACT), ("staff", STAFF), ("student", STUDENT)):
        rows = np.flatnonzero(account_types == account_type)
        holders[rows] = build.find(kind, accounts["person_id"].iloc[rows])
    held = holders >= 0
    build.edges(holders[held], account_nodes[held], {"kind": "holds-account"})
    visible = board.account_students
    build.link(ACCOUNT, visible["account_id"], STUDENT, visible["student_id"], {"kind": "can-see"})


def _labels(frame: pd.DataFrame) -> list[dict]:
    """``{"label": person_name(first, last)}`` for every row, one shared dict per distinct name."""
    codes, names = distinct_names(frame["first_name"], frame["last_name"])
    return _shared(codes, [{"label": name} for name in names])


def _shared(codes: np.ndarray, dicts: list[dict]) -> list[dict]:
    """``dicts[code]`` for every code: the same dict object wherever the code repeats."""
    return object_table(dicts)[codes].tolist()


class _Builder:
    """Builds a ``networkx.Graph`` in bulk. ``add_edges_from`` with a dict per edge is slow and
    large for the millions of edges of a large board. Here nodes get integer
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
        neighbours = object_table(keys)[target[order]].tolist()
        del target
        link_data = _shared(attributes[order], self._attributes)
        del attributes, order
        # dict() over a node's links keeps the first position and the last value of a repeated
        # neighbour, exactly as repeated ``adj[u][v] = data`` assignments do.
        links = zip(neighbours, link_data)
        graph._adj.update(zip(keys, (dict(islice(links, count)) for count in counts)))
        return graph


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


def _pair_key(a: np.ndarray, b: np.ndarray, a_ids: pd.Series, b_ids: pd.Series) -> np.ndarray:
    """One integer per distinct (a, b): from node positions, or (a node missing, on a board that
    failed validation) from the ids themselves."""
    if len(a) and (a.min() < 0 or b.min() < 0):
        a = pd.factorize(a_ids.astype(object), use_na_sentinel=False)[0]
        b = pd.factorize(b_ids.astype(object), use_na_sentinel=False)[0]
    return a.astype(np.int64) * (int(b.max()) + 1 if len(b) else 1) + b
