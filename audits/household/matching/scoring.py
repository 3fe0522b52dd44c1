"""Scoring of candidate pairs: each pair's levels, vetoes and match probability.

Each pair's level in every comparison (:mod:`audits.household.matching.comparisons`), and its
match probability under the board's own model (:mod:`audits.household.matching.model`: u from
random pairs of the board's records, m and the household and family classes by EM on its
candidate pairs; see docs/matching.md). The one hard veto is a state that cannot be one person:
one student's Mother record and Father record. The config may add vetoes
(``[matching] vetoes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from audits.household.matching import model as linkage
from audits.household.matching.comparisons import Compared, compare_in_slices
from audits.household.matching.features import Features
from audits.model.config import Config


@dataclass
class Scored:
    """Compared pairs with their match probability under the board's model."""

    pairs: np.ndarray
    score: np.ndarray
    """Match probability of each pair (the model's posterior of "one person")."""
    veto: np.ndarray
    compared: Compared
    log_likelihood: np.ndarray
    """(pairs, 4): log-likelihood of each pair under the m, h, r and u classes, the classes'
    shares included."""
    model: linkage.Model

    @property
    def levels(self) -> dict[str, np.ndarray]:
        """Per comparison, each pair's level."""
        return self.compared.levels


def _config_vetoes(config: Config, compared: Compared) -> np.ndarray:
    """Pairs a config veto (``[matching] vetoes = ["first_name=different", ...]``) rules out."""
    veto = np.zeros(len(compared.pairs), dtype=bool)
    for rule in config.vetoes:
        name, _, level = rule.partition("=")
        veto |= compared.levels[name] == linkage.BY_NAME[name].level(level)
    return veto


def random_pairs(n: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` random pairs (a < b) of ``n`` records, every pair once when there are fewer;
    the same pairs for the same board on every run. (Drawn with replacement: a pair drawn
    twice among millions changes no estimate, and finding repeats costs a sort.)"""
    total = n * (n - 1) // 2
    if total <= count:
        a, b = np.triu_indices(n, k=1)
        return np.stack([a, b], axis=1).astype(np.int64)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size=count, dtype=np.int64)
    # b is a uniformly among the other n - 1 records: never a itself.
    b = (a + rng.integers(1, n, size=count, dtype=np.int64)) % n
    return np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)


def fit_model(f: Features, compared: Compared, passes: np.ndarray, pass_names: Sequence[str],
              config: Config) -> linkage.Model:
    """The board's model: u from random pairs of its records, m and h by EM sessions on its
    candidate pairs (see :mod:`audits.household.matching.model`)."""
    sample = compare_in_slices(f, random_pairs(len(f.ids), linkage.RANDOM_PAIRS))
    return linkage.estimate(compared.levels, passes, pass_names, sample.levels, len(f.ids),
                            min_pairs=config.threshold("em_min_pairs"), tf_u=compared.tf_u)


def score_pairs(f: Features, pairs: np.ndarray, config: Config,
                model: linkage.Model | None = None, passes: np.ndarray | None = None,
                pass_names: Sequence[str] = ()) -> Scored:
    """Levels, vetoes and match probability of each pair; the model is estimated from these
    pairs (as the board's candidate pairs, ``passes`` the blocking passes that made each) unless
    one is given."""
    compared = compare_in_slices(f, pairs)
    if model is None:
        if passes is None:
            passes = np.zeros(len(pairs), dtype=np.int64)
        model = fit_model(f, compared, passes, pass_names, config)
    score, log_l = linkage.predict(model, compared.levels, compared.tf_u)
    veto = compared.veto | _config_vetoes(config, compared)
    score = np.where(veto, 0.0, score)
    return Scored(compared.pairs, score, veto, compared, log_l, model)
