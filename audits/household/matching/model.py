"""The duplicate-contact model: comparisons declared as data, parameters estimated per board.

A Fellegi-Sunter model in splink's shape (``comparison_library.py``,
``expectation_maximisation.py``): each comparison is a field (or a household fact) with ordered
levels; a compared pair of contact records falls in exactly one level of each comparison; the
level's probability under each class of pair is a parameter; a pair's match probability is the
posterior of the "same person" class given its levels.

Four classes of pair, not two, because a household shares what identifies a person in a
random pair (the family email, the home phone, the address, the surname) and a two-class model
that assumes fields independent reads a husband and wife as one person:

- ``m``: two records of one person;
- ``h``: two people of one household (spouses, a parent and an adult child);
- ``r``: two people of one family who live apart (a grandparent, an emergency contact of the
  same students), where the board shows families;
- ``u``: two records drawn at random (estimated from random pairs, as splink's
  ``estimate_u_using_random_sampling``).

Estimation (:func:`estimate`): ``u`` from random pairs; ``m``, ``h`` and ``r`` by expectation
maximisation over the candidate pairs, each comparison re-estimated from the EM sessions that
leave it free (:data:`SESSIONS`, as splink's blocking-rule sessions), the E step using the
classes' shares among all pairs of the board. The fixed priors in :data:`COMPARISONS` are
pseudo-counts: on a board of any size the data decides; on a tiny one (nothing to estimate
from) the priors do. Names get splink's term-frequency adjustment on their exact level. See
docs/matching.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

CLASSES = ("m", "h", "r", "u")
MATCH, HOUSEHOLD, RELATIVE, RANDOM = 0, 1, 2, 3
# The classes EM estimates (u comes from random pairs).
ESTIMATED = (MATCH, HOUSEHOLD, RELATIVE)


@dataclass(frozen=True)
class Level:
    name: str
    """Short name (``exact``, ``nickname``...), as the config's vetoes and the evidence name it."""
    words: str
    """What the level means, for the evidence an analyst reads."""
    m: float
    h: float
    r: float
    u: float
    """Prior probabilities of the level for the four classes (the fallback; see module doc)."""


@dataclass(frozen=True)
class Comparison:
    name: str
    levels: tuple[Level, ...]
    """Level 0 is always "null": the field is missing on one record, which says nothing."""
    term_frequency: bool = False
    """Whether the exact level (1) is adjusted by the frequency of the agreeing value."""

    def level(self, name: str) -> int:
        return [level.name for level in self.levels].index(name)


def _comparison(name: str, rows: Sequence[tuple[str, str, float, float, float, float]],
                term_frequency: bool = False) -> Comparison:
    levels = (Level("null", "missing on one record", 1.0, 1.0, 1.0, 1.0),) \
        + tuple(Level(*row) for row in rows)
    return Comparison(name, levels, term_frequency)


# The fixed priors: generic expectations of hand-keyed person records (a parent typed twice
# mostly agrees; two people of one household share the place and the channels, rarely the
# given name; two random records rarely agree on anything), not figures from any one board.
# Each column of a comparison sums to 1 over its levels (the null level aside).
COMPARISONS: tuple[Comparison, ...] = (
    #  level, words,                                                   m,     h,     r,     u
    _comparison("first_name", (
        ("exact", "the same given name", 0.83, 0.04, 0.03, 0.005),
        ("nickname", "a nickname or short form of the other", 0.05, 0.01, 0.005, 0.001),
        ("variant", "the other gender's form (Paul/Paula, Francis/Frances)", 0.005, 0.03, 0.01,
         0.002),
        # A keying slip is common in one person's two records, rare between two people's
        # names in one household.
        ("slip", "one keying slip apart", 0.05, 0.003, 0.005, 0.002),
        ("similar", "similar spelling", 0.02, 0.01, 0.01, 0.01),
        ("initial", "an initial of the other", 0.015, 0.02, 0.01, 0.005),
        ("different", "different given names", 0.03, 0.887, 0.93, 0.975),
    ), term_frequency=True),
    _comparison("last_name", (
        ("exact", "the same surname", 0.85, 0.75, 0.45, 0.003),
        ("part", "one part of a compound surname", 0.03, 0.05, 0.03, 0.0005),
        ("slip", "one keying slip apart", 0.06, 0.01, 0.005, 0.001),
        ("similar", "similar spelling", 0.02, 0.01, 0.005, 0.005),
        ("different", "different surnames", 0.04, 0.18, 0.51, 0.9905),
    ), term_frequency=True),
    _comparison("email", (
        ("exact", "the same email", 0.6, 0.35, 0.02, 0.0001),
        ("typo", "one character apart", 0.03, 0.005, 0.001, 0.0001),
        ("local_part", "the same name before @, another domain", 0.03, 0.01, 0.002, 0.0002),
        ("separators", "only dots, underscores or hyphens differ", 0.02, 0.01, 0.002, 0.0002),
        ("different", "different emails", 0.32, 0.625, 0.975, 0.9995),
    )),
    _comparison("phone", (
        ("exact", "a phone number in common", 0.7, 0.6, 0.05, 0.0002),
        ("one_digit", "numbers one digit apart", 0.03, 0.01, 0.002, 0.0005),
        ("different", "no number in common", 0.27, 0.39, 0.948, 0.9993),
    )),
    # Street, postal code and city as one comparison: a postal code and a city agree whenever
    # the street does, so counting each would count one fact three times.
    _comparison("address", (
        ("exact", "the same street address and postal code", 0.68, 0.76, 0.1, 0.0002),
        ("exact_postal_typo", "the same street address, postal codes one character apart",
         0.02, 0.01, 0.002, 0.00001),
        ("exact_street", "the same street address, another postal code", 0.03, 0.02, 0.008,
         0.0002),
        # Neighbours: a building holds many more households than a unit does.
        ("other_unit", "the same building, another unit", 0.005, 0.03, 0.01, 0.002),
        ("other_civic", "the same street, another civic number", 0.03, 0.02, 0.02, 0.003),
        ("similar", "a similar street address", 0.04, 0.02, 0.01, 0.001),
        ("similar_postal_typo", "a similar street address, postal codes one character apart",
         0.01, 0.005, 0.002, 0.0001),
        ("similar_street", "a similar street address, another postal code", 0.01, 0.005, 0.003,
         0.001),
        ("postal_only", "another street, the same postal code", 0.02, 0.01, 0.02, 0.002),
        ("postal_typo_only", "another street, postal codes one character apart", 0.005, 0.003,
         0.005, 0.005),
        ("city_only", "another address in the same city", 0.06, 0.05, 0.4, 0.2),
        ("different", "different addresses", 0.09, 0.067, 0.42, 0.7864),
    )),
    # The city where the address levels do not already say it: a typo in the city of one
    # street address (where the street disagrees, "city_only" above carries the city).
    _comparison("city", (
        ("exact", "the same city", 0.9, 0.92, 0.5, 0.2),
        ("similar", "similar city names", 0.03, 0.01, 0.01, 0.01),
        ("different", "different cities", 0.07, 0.07, 0.49, 0.79),
    )),
    _comparison("household", (
        ("family", "their students are one family (sibling links or a shared parent record)",
         0.5, 0.7, 0.8, 0.0002),
        ("home", "their students share a home address", 0.15, 0.1, 0.05, 0.0005),
        ("surname", "their students share a surname", 0.2, 0.1, 0.05, 0.005),
        ("none", "their students share no household", 0.15, 0.1, 0.1, 0.9943),
    )),
    _comparison("role", (
        ("same", "the same role (both Mother, both Father...)", 0.92, 0.3, 0.15, 0.45),
        ("gender", "Mother in one record, Father in the other", 0.005, 0.45, 0.15, 0.45),
        ("generation", "a parent in one record, a grandparent in the other", 0.005, 0.15, 0.35,
         0.02),
        ("other", "other roles", 0.07, 0.1, 0.35, 0.08),
    )),
    _comparison("same_student", (
        ("none", "not on one student", 0.95, 0.2, 0.4, 0.9998),
        ("both_parental", "both parents of one student", 0.03, 0.6, 0.1, 0.0001),
        ("mixed", "on one student, one of them not as a parent", 0.02, 0.2, 0.5, 0.0001),
    )),
)
BY_NAME: dict[str, Comparison] = {c.name: c for c in COMPARISONS}

# Prior weight of each class among all pairs of a board (odds against a random pair): about
# one record in twenty typed twice and one other household member per record, on a board of
# some ten thousand records. Estimated per board where there are enough pairs.
PRIOR_CLASS_SHARE = (1e-5, 1e-4, 1e-4, 1.0 - 2.1e-4)

# Pseudo-counts: how many pairs' worth of evidence the priors weigh against the board's own.
PRIOR_PAIRS_MH = 50.0
PRIOR_PAIRS_U = 200.0
# Fewer random pairs than this (a board of under about 150 records): u is the prior's.
MIN_RANDOM_PAIRS = 10_000
EM_ITERATIONS = 60
# Class-share iterations with term frequencies after EM.
TF_ITERATIONS = 5
# Fewer candidate pairs than this: the priors decide (nothing to estimate from).
MIN_PAIRS = 500
# A session with fewer pairs than this says too little to average in.
SESSION_MIN_PAIRS = 50
# Term-frequency adjustment needs a board to count values in.
TF_MIN_VALUES = 200
# Candidate pairs EM reads at most (a random subset on a larger board).
EM_PAIRS = 1_000_000
# Random pairs compared for u (splink's default max_pairs is 1e6).
RANDOM_PAIRS = 300_000


@dataclass
class Model:
    """Per comparison, a (levels, 4) array of each level's probability per class; and the
    classes' shares."""

    probabilities: dict[str, np.ndarray]
    class_weight: np.ndarray
    """Each class's share among all pairs of the board (m, h, r, u)."""
    estimated: bool = False
    """False where the board was too small and the priors decide."""
    families: bool = True
    """Whether the relative class takes part (see :func:`estimate`)."""
    households: bool = True
    """Whether the household class takes part (see :func:`estimate`)."""
    history: list = field(default_factory=list)

    def log_probabilities(self, name: str) -> np.ndarray:
        p = np.log(np.clip(self.probabilities[name], 1e-12, None))
        p[0] = 0.0  # the null level says nothing for any class
        return p

    def match_weight(self, name: str) -> np.ndarray:
        """Per level: log(m / u), splink's "match weight" of the level in natural log."""
        p = self.log_probabilities(name)
        return p[:, MATCH] - p[:, RANDOM]

    def household_weight(self, name: str) -> np.ndarray:
        """Per level: log(m / h): the level's evidence for one person against two of one
        household."""
        p = self.log_probabilities(name)
        return p[:, MATCH] - p[:, HOUSEHOLD]

    def describe(self) -> dict:
        return {"estimated": self.estimated,
                "class_weight": [float(x) for x in self.class_weight],
                "comparisons": {name: {level.name: [round(float(x), 6) for x in
                                                    self.probabilities[name][i]]
                                       for i, level in enumerate(BY_NAME[name].levels)}
                                for name in self.probabilities}}


def prior_model() -> Model:
    return Model({c.name: np.array([[lv.m, lv.h, lv.r, lv.u] for lv in c.levels])
                  for c in COMPARISONS},
                 np.array(PRIOR_CLASS_SHARE))


def _normalise(counts: np.ndarray) -> np.ndarray:
    """Per class (column): the non-null levels' probabilities (the null row stays 1)."""
    out = counts.astype(float).copy()
    out[0] = 0.0
    total = out[1:].sum(axis=0, keepdims=True)
    out[1:] = out[1:] / np.where(total > 0, total, 1.0)
    out[0] = 1.0
    return out


def estimate_u(random_levels: Mapping[str, np.ndarray], prior: Model) -> dict[str, np.ndarray]:
    """u per comparison from the levels of random pairs, with the prior as pseudo-counts. A
    board with fewer than MIN_RANDOM_PAIRS pairs in all keeps the prior: its few pairs are
    mostly the very pairs being judged (two records, one pair, and it is the duplicate)."""
    u = {}
    for c in COMPARISONS:
        prior_u = prior.probabilities[c.name][:, RANDOM]
        levels = random_levels.get(c.name)
        if levels is None or len(levels) < MIN_RANDOM_PAIRS:
            u[c.name] = prior_u.copy()
            continue
        counts = np.bincount(levels, minlength=len(c.levels))[:len(c.levels)].astype(float)
        counts[1:] += PRIOR_PAIRS_U * prior_u[1:] / prior_u[1:].sum()
        u[c.name] = _normalise(counts[:, None])[:, 0]
    return u


@dataclass(frozen=True)
class Session:
    """One EM session (splink's ``estimate_parameters_using_expectation_maximisation`` with a
    blocking rule): the candidate pairs some blocking passes made, and the comparisons those
    passes' keys rest on, which are left out (their levels are the block's choice, not
    evidence) and not estimated here."""

    name: str
    passes: tuple[str, ...]
    fixed: tuple[str, ...]


SESSIONS: tuple[Session, ...] = (
    Session("names", ("name",), ("first_name", "last_name")),
    Session("address", ("civic+street4",), ("address", "city")),
    Session("email and phone", ("email", "phone"), ("email", "phone")),
    Session("family", ("family", "home"), ("household", "same_student")),
)


def estimate(candidate_levels: Mapping[str, np.ndarray], passes: np.ndarray,
             pass_names: Sequence[str], random_levels: Mapping[str, np.ndarray] | None,
             records: int, min_pairs: float = MIN_PAIRS, tf_u: Mapping | None = None,
             seed: int = 0) -> Model:
    """The board's model.

    - u from random pairs of the board's records.
    - m, h and r by expectation maximisation over the candidate pairs. The E step is the whole
      model's posterior, with the classes' shares among *all* pairs of the board's ``records``
      records (a match is rare among all pairs, so a block full of namesakes or of one
      family's relatives cannot pass for the match class). The M step re-estimates each
      comparison from the sessions (:data:`SESSIONS`) that leave it free: the pairs of blocking
      passes whose keys do not rest on it (a block on names says nothing about how often one
      person's records agree on their name); a comparison's counts are pooled over those
      sessions (splink averages its sessions' estimates; pooling weighs each by its pairs).
      The classes' shares are the expected count of each among the candidate pairs over the
      number of all pairs (pairs blocking did not make are taken as neither).
    - With fewer than ``min_pairs`` candidate pairs the priors decide (a board that small has
      nothing to estimate from); a session with fewer than SESSION_MIN_PAIRS is skipped.
    """
    model = prior_model()
    u = estimate_u(random_levels or {}, model)
    for name, values in u.items():
        model.probabilities[name][:, RANDOM] = values
    n = len(next(iter(candidate_levels.values()))) if candidate_levels else 0
    if n == 0 or n < max(min_pairs, 1):
        return model
    sessions, families, households = _sessions(passes, pass_names)
    if not sessions:
        return model
    model.families, model.households = families, households
    total = max(records * (records - 1) / 2, 1.0)
    weight = _expectation_maximisation(model, candidate_levels, sessions, total)
    model.class_weight = _shares_with_term_frequencies(model, weight, candidate_levels,
                                                       tf_u or {}, total, seed)
    model.estimated = True
    return model


def _sessions(passes: np.ndarray, pass_names: Sequence[str]
              ) -> tuple[list[tuple[Session, np.ndarray]], bool, bool]:
    """The EM sessions with enough pairs, each with its candidate pairs' rows; and whether the
    board shows families and households.

    The relative class (two people of one family who live apart) is estimated where the board
    shows families: candidate pairs whose students are one family or share a home. The
    household class where households leave a trace: families, or an email or a phone that
    records share (spouses share them, student links or not). A list of names and addresses
    alone shows neither: a household member and a badly typed duplicate look the same there,
    and the list is linked as any list of person records is, one person or two."""
    bit = {name: 1 << i for i, name in enumerate(pass_names)}

    def rows_of(session: Session) -> np.ndarray:
        wanted = sum(bit.get(name, 0) for name in session.passes)
        return np.flatnonzero((passes & wanted) != 0) if wanted else np.zeros(0, dtype=np.int64)

    families = len(rows_of(SESSIONS[-1])) >= SESSION_MIN_PAIRS
    households = families or len(rows_of(SESSIONS[2])) >= SESSION_MIN_PAIRS
    sessions = [(session, rows) for session in SESSIONS
                if len(rows := rows_of(session)) >= SESSION_MIN_PAIRS]
    return sessions, families, households


def _patterns(candidate_levels: Mapping[str, np.ndarray],
              sessions: list[tuple[Session, np.ndarray]]
              ) -> tuple[dict[str, np.ndarray], np.ndarray, list[np.ndarray]]:
    """The distinct patterns of levels and sessions among the candidate pairs (as splink's
    comparison-vector counts: a board's million pairs fall in a few thousand patterns): per
    comparison each pattern's level, each pattern's count, and per session which patterns
    are in it."""
    n = len(next(iter(candidate_levels.values())))
    membership = np.zeros(n, dtype=np.int64)
    for number, (_, rows) in enumerate(sessions):
        membership[rows] |= 1 << number
    matrix = np.stack([candidate_levels[c.name].astype(np.int64) for c in COMPARISONS]
                      + [membership], axis=1)
    code = np.zeros(n, dtype=np.int64)
    for column in range(matrix.shape[1]):
        code = code * (int(matrix[:, column].max()) + 1) + matrix[:, column]
    _, first, counts = np.unique(code, return_index=True, return_counts=True)
    patterns = matrix[first]
    in_session = [(patterns[:, -1] & (1 << number)) != 0 for number in range(len(sessions))]
    pattern_levels = {c.name: patterns[:, column] for column, c in enumerate(COMPARISONS)}
    return pattern_levels, counts.astype(float), in_session


def _expectation_maximisation(model: Model, candidate_levels: Mapping[str, np.ndarray],
                              sessions: list[tuple[Session, np.ndarray]], total: float
                              ) -> np.ndarray:
    """m, h and r of ``model`` estimated in place by EM on the patterns of the candidate pairs
    (term frequencies left out, splink's estimate_without_term_frequencies); the classes'
    shares it ends with."""
    pattern_levels, counts, in_session = _patterns(candidate_levels, sessions)
    prior = prior_model()
    weight = np.array(PRIOR_CLASS_SHARE, dtype=float)
    if not model.families:
        weight[RELATIVE] = 1e-300
    if not model.households:
        weight[HOUSEHOLD] = 1e-300
    for _ in range(EM_ITERATIONS):
        model.class_weight = weight
        resp = _responsibilities(model, pattern_levels, None)
        weighted = resp * counts[:, None]
        _maximisation(model, prior, pattern_levels, weighted, sessions, in_session)
        new = _shares(weighted.sum(axis=0), total, model.families, model.households)
        model.history.append([float(x) for x in new])
        done = abs(np.log(new[MATCH]) - np.log(weight[MATCH])) < 1e-5
        weight = new
        if done:
            break
    return weight


def _maximisation(model: Model, prior: Model, pattern_levels: Mapping[str, np.ndarray],
                  weighted: np.ndarray, sessions: list[tuple[Session, np.ndarray]],
                  in_session: list[np.ndarray]) -> None:
    """The M step: each comparison's m, h and r from its counts pooled over the sessions that
    leave it free (each session weighs by its pairs), with the prior as pseudo-counts."""
    for c in COMPARISONS:
        k = len(c.levels)
        per_session = [np.stack([np.bincount(pattern_levels[c.name][member],
                                             weights=weighted[member, klass], minlength=k)
                                 for klass in ESTIMATED], axis=1)
                       for (session, _), member in zip(sessions, in_session)
                       if c.name not in session.fixed]
        if not per_session:
            continue
        tally = np.mean(per_session, axis=0)
        for column, klass in enumerate(ESTIMATED):
            p0 = prior.probabilities[c.name][:, klass]
            tallied = tally[:, column].copy()
            tallied[1:] += PRIOR_PAIRS_MH * p0[1:] / p0[1:].sum()
            model.probabilities[c.name][:, klass] = _normalise(tallied[:, None])[:, 0]


def _shares_with_term_frequencies(model: Model, weight: np.ndarray,
                                  candidate_levels: Mapping[str, np.ndarray],
                                  tf_u: Mapping, total: float, seed: int) -> np.ndarray:
    """The classes' shares once more with the names' term frequencies, on the pairs themselves
    (at most EM_PAIRS of them, a random subset the same on every run)."""
    n = len(next(iter(candidate_levels.values())))
    subset = np.arange(n)
    if n > EM_PAIRS:
        subset = np.sort(np.random.default_rng(seed).choice(n, EM_PAIRS, replace=False))
    levels = {name: values[subset] for name, values in candidate_levels.items()}
    tf = {name: values[subset] for name, values in tf_u.items()}
    for _ in range(TF_ITERATIONS):
        model.class_weight = weight
        expected = _responsibilities(model, levels, tf).sum(axis=0) * (n / len(subset))
        new = _shares(expected, total, model.families, model.households)
        done = abs(np.log(new[MATCH]) - np.log(weight[MATCH])) < 1e-4
        weight = new
        if done:
            break
    return weight


def _responsibilities(model: Model, levels: Mapping[str, np.ndarray], tf: Mapping | None
                      ) -> np.ndarray:
    _, log_l = predict(model, levels, tf)
    log_l -= log_l.max(axis=1, keepdims=True)
    resp = np.exp(log_l)
    resp /= resp.sum(axis=1, keepdims=True)
    return resp


def _shares(expected: np.ndarray, total: float, families: bool, households: bool = True
            ) -> np.ndarray:
    """Each class's share among all ``total`` pairs from its expected count among the candidate
    pairs (one pseudo-pair each); none for the relative class where the board shows no
    families, nor for the household class where it shows no households.
    Where the candidates are nearly all pairs (a board of one household), the shares are kept
    below one together, the random class never vanishing."""
    shown = {MATCH: True, HOUSEHOLD: households, RELATIVE: families}
    new = np.array([(expected[k] + 1.0) / total if shown[k] else 1e-300 for k in ESTIMATED]
                   + [0.0])
    taken = new[:RANDOM].sum()
    if taken > 0.5:
        new[:RANDOM] *= 0.5 / taken
    new[RANDOM] = 1.0 - new[:RANDOM].sum()
    return new


def predict(model: Model, levels: Mapping[str, np.ndarray],
            tf_u: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: (match probability, (pairs, 3) log-likelihood per class). ``tf_u``: per
    term-frequency comparison, the log of (value's u / the level's u) where the pair agrees
    exactly on a value, else 0, added to the random class."""
    n = len(next(iter(levels.values())))
    log_l = np.zeros((n, len(CLASSES)))
    for c in COMPARISONS:
        log_l += model.log_probabilities(c.name)[levels[c.name]]
        if tf_u is not None and c.name in tf_u:
            log_l[:, RANDOM] += tf_u[c.name]
    log_l += np.log(model.class_weight)
    top = log_l.max(axis=1, keepdims=True)
    posterior = np.exp(log_l - top)
    probability = posterior[:, MATCH] / posterior.sum(axis=1)
    return probability, log_l
