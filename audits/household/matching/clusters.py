"""Clustering of accepted pairs: which records are one person.

Connected components of the accepted pairs; a component of three or more records is split by
average linkage (two groups join when the mean match probability of every pair across them
reaches the threshold, with no veto between them), so a person's every record lands in one
group without one record chaining two people together.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audits.household.matching.features import Features
from audits.household.matching.scoring import Scored, score_pairs
from audits.model.config import Config

# Components up to this many records have every pair inside compared (for the linkage rule).
_INNER_LIMIT = 100

Group = tuple[list[int], list[int], float]
"""One person's records: their positions, the scored rows of the accepted pairs that built the
group, and its confidence (:func:`group_confidence`)."""


def person_groups(f: Features, pairs: np.ndarray, scored: Scored, config: Config
                  ) -> list[Group]:
    """The groups of two or more records that are one person, from the scored candidate
    ``pairs``: the accepted pairs' components, each of three or more records split by average
    linkage."""
    threshold = config.threshold("duplicate_contact")
    accepted = (scored.score >= threshold) & ~scored.veto
    acc_pairs = pairs[accepted]
    acc_index = np.flatnonzero(accepted)
    component = _components(len(f.ids), acc_pairs)
    chunks = _component_rows(component, acc_pairs)
    probability, vetoed = _probabilities(f, pairs, scored, config, component, chunks)
    groups: list[Group] = []
    for rows, members in chunks:
        if len(members) == 2:
            groups.append((members, [int(acc_index[r]) for r in rows],
                           float(scored.score[acc_index[rows[0]]])))
            continue
        edges = [(float(scored.score[acc_index[r]]), int(acc_pairs[r][0]), int(acc_pairs[r][1]))
                 for r in rows]
        for group, confidence in _average_linkage(members, edges, probability, vetoed, f.ids,
                                                  threshold):
            group_rows = [r for r in rows if acc_pairs[r][0] in group and acc_pairs[r][1] in group]
            groups.append((sorted(group), [int(acc_index[r]) for r in group_rows], confidence))
    return groups


def _component_rows(component: np.ndarray, acc_pairs: np.ndarray
                    ) -> list[tuple[list[int], list[int]]]:
    """Per component with an accepted pair: the rows of its accepted pairs (in ``acc_pairs``)
    and its records' positions, sorted."""
    comp_of_pair = component[acc_pairs[:, 0]] if len(acc_pairs) else np.zeros(0, dtype=np.int64)
    order = np.argsort(comp_of_pair, kind="stable")
    bounds = np.flatnonzero(np.diff(comp_of_pair[order])) + 1
    chunks = np.split(order, bounds) if len(order) else []
    return [(rows, sorted({int(x) for r in rows for x in acc_pairs[r]}))
            for rows in (chunk.tolist() for chunk in chunks)]


def _probabilities(f: Features, pairs: np.ndarray, scored: Scored, config: Config,
                   component: np.ndarray, chunks: list[tuple[list[int], list[int]]]
                   ) -> tuple[dict[tuple[int, int], float], set[tuple[int, int]]]:
    """The match probability of every pair inside a component of three or more records, and the
    vetoed ones: the candidate pairs', and (components of at most ``_INNER_LIMIT`` records)
    every other pair inside compared in one batch with the board's model, so the linkage rule
    sees the pairs that blocking never made."""
    probability: dict[tuple[int, int], float] = {}
    vetoed: set[tuple[int, int]] = set()
    inner_pairs = []
    for _, members in chunks:
        if 2 < len(members) <= _INNER_LIMIT:
            inner_pairs.extend((x, y) for i, x in enumerate(members) for y in members[i + 1:])
    big = np.zeros(len(pairs), dtype=bool)
    if len(chunks):
        sizes = np.bincount(component)
        big = (sizes[component[pairs[:, 0]]] > 2) \
            & (component[pairs[:, 0]] == component[pairs[:, 1]])
    for row in np.flatnonzero(big):
        x, y = int(pairs[row, 0]), int(pairs[row, 1])
        probability[(x, y)] = float(scored.score[row])
        if scored.veto[row]:
            vetoed.add((x, y))
    if inner_pairs:
        inner = np.array(inner_pairs, dtype=np.int64)
        inner_scored = score_pairs(f, inner, config, model=scored.model)
        for (x, y), p, v in zip(inner_pairs, inner_scored.score.tolist(),
                                inner_scored.veto.tolist()):
            probability[(x, y)] = p
            if v:
                vetoed.add((x, y))
    return probability, vetoed


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Per record, the number of its connected component of ``pairs``."""
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _average_linkage(members: list[int], edges: list[tuple[float, int, int]],
                     probability: dict[tuple[int, int], float], vetoed: set[tuple[int, int]],
                     ids: np.ndarray, threshold: float) -> list[tuple[set[int], float]]:
    """Groups of one component: the strongest accepted pairs joined first; two groups join only
    when the mean match probability of every pair across them reaches ``threshold`` and no
    pair across them is vetoed (one record never chains two people through itself). Each group
    with its confidence (:func:`group_confidence`)."""
    group_of = {m: frozenset([m]) for m in members}

    def strongest_first(edge: tuple[float, int, int]) -> tuple:
        score, x, y = edge
        low, high = sorted((str(ids[x]), str(ids[y])))
        return (-score, low, high)

    for _, x, y in sorted(edges, key=strongest_first):
        gx, gy = group_of[x], group_of[y]
        if gx is gy:
            continue
        cross = [(min(p, q), max(p, q)) for p in gx for q in gy]
        if any(pair in vetoed for pair in cross):
            continue
        known = [probability[pair] for pair in cross if pair in probability]
        if not known or float(np.mean(known)) < threshold:
            continue
        merged = gx | gy
        for m in merged:
            group_of[m] = merged
    unique = {id(g): g for g in group_of.values()}
    return [(set(g), group_confidence(sorted(g), probability)) for g in unique.values()
            if len(g) > 1]


def group_confidence(members: Sequence[int], probability: dict[tuple[int, int], float]) -> float:
    """The chance that every record of a group is one person: for each record, its match
    probability with the others taken together (the mean log-odds of its pairs: one person's
    records agree with each other as one, so the pairs are not independent evidence), and
    the group's is its least sure record's."""
    worst = 1.0
    for x in members:
        odds = [probability[(min(x, y), max(x, y))] for y in members
                if y != x and (min(x, y), max(x, y)) in probability]
        if not odds:
            continue
        p = np.clip(np.array(odds), 1e-9, 1 - 1e-9)
        worst = min(worst, float(1.0 / (1.0 + np.exp(-np.mean(np.log(p / (1 - p)))))))
    return worst


