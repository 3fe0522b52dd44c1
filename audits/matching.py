"""The duplicate-contact matcher: which contact records are one human.

Record linkage in four steps, each vectorised so a 250,000-student board stays fast:

1. **Features**: every contact record's names, email, phones and address normalised
   (:mod:`audits.normalize`), plus its family context from the board: the students it is
   linked to, their family (students joined by sibling links or a shared parental record), their
   home (student address + surname), and the record's role (Mother, Father, Grandparent...).
2. **Blocking**: candidate pairs are the records that share a block key (email, any phone, a
   name key, postal code + surname, street address, family, home). Oversized blocks are dropped
   (``max_block_size``): each record has several keys, so another block still finds a true pair.
   Keys that recur across a board's towns as it grows (a common name, a civic number with a
   street prefix) are split by place where their blocks grow, so the pairs compared grow in
   step with the board, not with its square (see benchmarks/profile_matching.py).
3. **Scoring**: a Fellegi-Sunter-like sum of log-odds weights, one per field verdict
   (``same`` / ``similar`` / ``different`` / ``missing``), mapped to 0..1 by the logistic function.
   Some verdicts are *vetoes* that no other evidence overrides: first names that are neither the
   same, a nickname, nor a typo of each other (spouses share an email, a phone and an address);
   two records linked to one student in two different parental roles (two parents both typed as
   "Chris"); and Mother vs Father or parent vs grandparent within one family (a grandfather who
   carries the father's name). Pairs with no family context (neither record linked to a
   student) and no shared email or phone weigh a first-name disagreement instead of vetoing it
   (``context_free_name_veto``), with weights re-estimated from the list itself when there are
   enough such pairs (:func:`estimate_context_free`); see docs/config.md.
4. **Clustering**: connected components of accepted pairs, then, where a component holds a
   vetoed pair, a greedy re-merge that never joins two groups with a veto between them (stops
   chaining through a middle record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audits import normalize
from audits.board import Board
from audits.config import Config
from audits.graph import HouseholdGraph

PHONE_COLUMNS = ("home_phone", "cell_phone", "work_phone")

# Log-odds weights of each field verdict (natural log). A pair's score is
# logistic(PRIOR + sum of weights). Agreement on a field that identifies one person (email,
# phone) weighs more than agreement on one a household shares (address, surname).
PRIOR = -5.5
WEIGHTS: dict[str, dict[str, float]] = {
    "first_name": {"same": 3.5, "nickname": 3.0, "similar": 2.0, "spelling": 1.5, "initial": 0.5,
                   "missing": 0.0},
    "last_name": {"same": 3.0, "partial": 2.0, "similar": 2.0, "different": -2.5, "missing": 0.0},
    "email": {"same": 6.0, "similar": 2.5, "separators": 0.5, "different": -1.5, "missing": 0.0},
    "phone": {"same": 5.0, "similar": 2.0, "different": -1.5, "missing": 0.0},
    "street": {"same": 3.5, "similar": 1.0, "different": -1.0, "other-unit": -4.0, "no-civic": 2.0,
               "missing": 0.0},
    "postal_code": {"same": 1.5, "similar": 0.5, "different": -0.5, "missing": 0.0},
    "city": {"same": 0.5, "similar": 0.3, "different": -0.3, "missing": 0.0},
    "family": {"same-role": 3.0, "none": 0.0, "gender-conflict": -4.0,
               "generation-conflict": -3.0},
}

# Pairs with no family context (neither record linked to a student: a contacts-only list,
# orphan records) are scored like any person-record list: these verdicts weigh instead of vetoing.
CONTEXT_FREE: dict[str, float] = {
    "first-name-different": -4.0,
    "last-name-different-same-address": -1.0,
}

# Bounds (down, up) of the term-frequency adjustment of an agreeing name, in log-odds.
TF_CLIP = (2.0, 3.0)

# Role classes of the free-text relationship (lowercased, accents folded).
_ROLE_WORDS = {
    "mother": ("mother", "mom", "mum", "mere", "maman", "stepmother", "step-mother",
               "step mother", "foster mother", "adoptive mother", "belle-mere"),
    "father": ("father", "dad", "pere", "papa", "stepfather", "step-father", "step father",
               "foster father", "adoptive father", "beau-pere"),
    "grandparent": ("grandparent", "grandmother", "grandfather", "grandma", "grandpa",
                    "grand-mere", "grand-pere", "grand mere", "grand pere", "grand-parent",
                    "grand parent", "granny", "nana", "grandmere", "grandpere", "grand-parent"),
}
ROLE_NONE, ROLE_MOTHER, ROLE_FATHER, ROLE_PARENT, ROLE_GRANDPARENT = 0, 1, 2, 3, 4
ROLE_NAMES = {ROLE_NONE: "other", ROLE_MOTHER: "Mother", ROLE_FATHER: "Father",
              ROLE_PARENT: "Parent/Guardian", ROLE_GRANDPARENT: "Grandparent"}


@dataclass(frozen=True)
class PairEvidence:
    """One compared pair of contact records."""

    a: str
    b: str
    """Contact ids, ``a < b``."""
    score: float
    """0..1 match probability-like confidence."""
    fields: dict[str, dict] = field(default_factory=dict)
    """Per field: ``{"verdict": same|similar|different|missing, "a": ..., "b": ..., "note": ...}``."""


@dataclass(frozen=True)
class ContactCluster:
    contacts: tuple[str, ...]
    """Sorted: two or more records of one human."""
    confidence: float
    pairs: tuple[PairEvidence, ...]
    """The accepted pairs that built the cluster."""


@dataclass(frozen=True)
class ContactMatches:
    clusters: tuple[ContactCluster, ...]
    _by_contact: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._by_contact:
            for number, cluster in enumerate(self.clusters):
                for contact in cluster.contacts:
                    self._by_contact[contact] = number

    def cluster_of(self, contact_id: str) -> ContactCluster | None:
        number = self._by_contact.get(contact_id)
        return None if number is None else self.clusters[number]

    def person_key(self, contact_id: str) -> str:
        """The same key for every record of one human (the cluster's lowest id), else the id."""
        cluster = self.cluster_of(contact_id)
        return cluster.contacts[0] if cluster else contact_id


# ---------------------------------------------------------------------------------- features
def role_class(relationships: pd.Series, config: Config) -> np.ndarray:
    folded = normalize._per_distinct(relationships, normalize.fold)
    lookup = {}
    for value in pd.unique(folded.to_numpy()):
        role = ROLE_NONE
        if any(value == w or value.startswith(w + " ") for w in _ROLE_WORDS["grandparent"]) \
                or value.startswith("grand"):
            role = ROLE_GRANDPARENT
        elif value in _ROLE_WORDS["mother"]:
            role = ROLE_MOTHER
        elif value in _ROLE_WORDS["father"]:
            role = ROLE_FATHER
        elif config.is_parental(value) or value in {normalize.fold(w) for w in
                                                    config.parental_relationships}:
            role = ROLE_PARENT
        lookup[value] = role
    return folded.map(lookup).to_numpy(dtype=np.int8)


@dataclass
class _Coded:
    """A text column as integer codes: ``distinct[codes[i]]`` is record i's text, and two
    records' codes are equal exactly where their texts are. Worked out once per column
    (:meth:`_Features.coded`) for the block keys and the scoring: comparing integers is far
    faster than comparing strings, and anything computed from the text is computed once per
    distinct value."""

    codes: np.ndarray
    distinct: np.ndarray
    empty: int
    """The code of the empty text (-1 when no record has it)."""
    derived: dict = field(default_factory=dict)

    @classmethod
    def of(cls, values: np.ndarray) -> "_Coded":
        codes, distinct = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
        distinct = np.asarray(distinct, dtype=object)
        where = np.flatnonzero(distinct == "")
        return cls(codes.astype(np.int64), distinct, int(where[0]) if len(where) else -1)

    @property
    def known(self) -> np.ndarray:
        """Per record: the text is not empty."""
        return self.codes != self.empty

    def prefix(self, length: int) -> np.ndarray:
        """Per record, a code equal exactly where the first ``length`` characters are."""
        return pd.factorize(_prefix(self.distinct, length).astype(object))[0] \
            .astype(np.int64)[self.codes] if len(self.codes) else np.zeros(0, dtype=np.int64)

    def per_value(self, name: str, function, dtype) -> np.ndarray:
        """``function`` of each distinct value (computed once), indexed by code."""
        if name not in self.derived:
            self.derived[name] = np.fromiter((function(value) for value in self.distinct),
                                             dtype=dtype, count=len(self.distinct))
        return self.derived[name]

    def recoded(self, name: str, function) -> np.ndarray:
        """Codes of ``function`` of each distinct value, indexed by code: equal exactly where
        the function's values are."""
        if name not in self.derived:
            self.derived[name] = pd.factorize(self.per_value(name + ":text", function, object),
                                              use_na_sentinel=False)[0].astype(np.int64)
        return self.derived[name]


@dataclass
class _Features:
    ids: np.ndarray
    first: np.ndarray
    last: np.ndarray
    groups: np.ndarray  # (n, 3) nickname group numbers, -1 for none
    first_tf: np.ndarray  # (n,) term-frequency adjustment of agreeing on this first name
    last_tf: np.ndarray  # (n,) the same for the surname
    email: np.ndarray
    email_spaced: np.ndarray  # lowercased and trimmed, inner spaces kept
    email_loose: np.ndarray  # without dots, underscores, hyphens or spaces
    phones: np.ndarray  # (n, 3) ten-digit strings, "" for none
    phone_digits: np.ndarray  # (n, 3, 10) uint8 digits, 255 for none
    roles: np.ndarray  # (n,) bit mask of the role classes a record is linked with
    civic: np.ndarray
    street: np.ndarray
    street_words: np.ndarray
    unit: np.ndarray
    postal: np.ndarray
    city: np.ndarray
    links: pd.DataFrame  # contact, student, family, home, role, parental
    raw: pd.DataFrame
    raw_columns: dict[str, np.ndarray] = field(default_factory=dict)
    """The raw columns evidence shows, as arrays (filled on first use: ``DataFrame.at`` per
    value is slow when thousands of pairs are shown)."""

    link_table_cache: list = field(default_factory=list)
    coded_cache: dict = field(default_factory=dict)

    def coded(self, name: str) -> "_Coded":
        """A text column as integer codes (built once). Scoring compares codes: equal exactly
        where the text is, and a similarity is worked out once per distinct pair of values.
        Given names and surnames share one vocabulary, as a swapped pair compares one with the
        other."""
        if name not in self.coded_cache:
            if name in ("first", "last"):
                n = len(self.ids)
                names = _Coded.of(np.concatenate([self.first, self.last]))
                self.coded_cache["first"] = _Coded(names.codes[:n], names.distinct, names.empty)
                self.coded_cache["last"] = _Coded(names.codes[n:], names.distinct, names.empty)
            else:
                self.coded_cache[name] = _Coded.of(getattr(self, name))
        return self.coded_cache[name]

    def link_table(self) -> "_LinkTable":
        """The student links grouped by record, built once (scoring runs in slices)."""
        if not self.link_table_cache:
            self.link_table_cache.append(_LinkTable(self))
        return self.link_table_cache[0]

    def raw_column(self, name: str) -> np.ndarray:
        if name not in self.raw_columns:
            self.raw_columns[name] = self.raw[name].to_numpy(dtype=object)
        return self.raw_columns[name]


def _features(board: Board, config: Config) -> _Features:
    # Positions follow the contact id, not the file's row order: every tie below (pair order,
    # the greedy re-merge, the estimate's sums) is then decided the same way for any export
    # order of the same records.
    contacts = _by_id(board.contacts, "contact_id")
    first = normalize.fold_names(contacts["first_name"])
    last = normalize.fold_names(contacts["last_name"])
    groups = normalize.first_name_groups(first, normalize.nickname_index(config.nicknames))
    # One pass over the three phone columns: a number typed as home and cell is folded once.
    phones = normalize.normalize_phone(
        pd.concat([contacts[c].astype(object) for c in PHONE_COLUMNS], ignore_index=True)
    ).to_numpy(dtype=object).reshape(len(PHONE_COLUMNS), len(contacts)).T.copy()
    street = normalize.normalize_street(contacts["street"], config.street_suffixes)
    links = _links(board, config, contacts)
    # The three email forms from one pass over the distinct addresses typed.
    raw_email = contacts["email"].astype(object)
    email_codes, email_typed = pd.factorize(
        raw_email.where(raw_email.notna(), "").to_numpy(dtype=object))
    del raw_email
    typed = pd.Series(email_typed, dtype=object).astype(str)
    email = normalize.normalize_email(typed)
    spaced = typed.str.strip().str.lower()
    loose = email.str.replace(r"[._\-]", "", regex=True)
    # A form equal to the address itself shares its string (most do: one copy, not three).
    email_forms = pd.DataFrame({
        "email": email, "spaced": email.where((email == "") | (spaced == email), spaced),
        "loose": email.where(loose == email, loose)}).to_numpy(dtype=object)[email_codes]
    del typed, spaced, loose
    return _Features(
        ids=contacts["contact_id"].to_numpy(dtype=object),
        first=first.to_numpy(dtype=object), last=last.to_numpy(dtype=object),
        groups=groups.to_numpy(),
        first_tf=term_frequency_adjustment(first), last_tf=term_frequency_adjustment(last),
        email=email_forms[:, 0], email_spaced=email_forms[:, 1], email_loose=email_forms[:, 2],
        phones=phones, phone_digits=_digit_array(phones),
        roles=_role_masks(links, len(contacts)),
        civic=street["civic"].to_numpy(dtype=object),
        street=street["street_name"].to_numpy(dtype=object),
        street_words=street["street_words"].to_numpy(dtype=object),
        unit=street["unit"].to_numpy(dtype=object),
        postal=normalize.normalize_postal_code(contacts["postal_code"]).to_numpy(dtype=object),
        city=normalize.fold_names(contacts["city"]).to_numpy(dtype=object),
        links=links, raw=contacts,
    )


def _by_id(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame`` in the order of its ids, reindexed 0..n-1. (A repeated id is an input problem
    the validation stops on, so ids decide the order completely.)"""
    order = np.argsort(frame[key].astype(str).to_numpy(dtype=str), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def term_frequency_adjustment(values: pd.Series) -> np.ndarray:
    """Per record: how much more (or less) agreeing on *its* value says than agreeing on an
    average value of the field, in log-odds (Fellegi-Sunter's term-frequency adjustment, as in
    splink): ``log(u_average / u_value)`` where ``u_value`` is the share of records with that
    value and ``u_average`` the chance two random records agree at all. A rare surname agreeing
    is strong evidence; "Smith" is weak. Clipped so one field never decides alone."""
    text = values.to_numpy(dtype=object)
    codes, distinct = pd.factorize(text)
    if len(text) == 0:
        return np.zeros(0)
    counts = np.bincount(codes, minlength=len(distinct)).astype(float)
    empty = np.flatnonzero(distinct == "")
    counts_known = counts.copy()
    counts_known[empty] = 0
    known = counts_known.sum()
    if known < 2:
        return np.zeros(len(text))
    share = counts_known / known
    average = float((share ** 2).sum())
    adjustment = np.log(average / np.maximum(share, 1.0 / known))
    adjustment = np.clip(adjustment, -TF_CLIP[0], TF_CLIP[1])
    adjustment[empty] = 0.0
    return adjustment[codes]


def _digit_array(phones: np.ndarray) -> np.ndarray:
    flat = phones.reshape(-1)
    joined = "".join(p if p else "\xff" * 10 for p in flat)
    digits = np.frombuffer(joined.encode("latin-1"), dtype=np.uint8).reshape(*phones.shape, 10)
    return np.where(digits == 255, 255, digits - ord("0")).astype(np.uint8)


def _role_masks(links: pd.DataFrame, n: int) -> np.ndarray:
    masks = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(masks, links["contact"].to_numpy(), 1 << links["role"].to_numpy().astype(np.int64))
    return masks


def _links(board: Board, config: Config, contacts: pd.DataFrame) -> pd.DataFrame:
    """One row per student_contacts row: contact position, student position, the student's
    family (component of sibling links and shared parental records), home key, role class."""
    # Only the columns the home key reads: a copy of the whole table is large on a big board.
    students = _by_id(board.students[["student_id", "street", "postal_code", "last_name"]],
                      "student_id")
    student_ids = students["student_id"].to_numpy(dtype=object)
    sc = board.student_contacts
    sib = board.siblings
    # One lookup of every student id the links and sibling links name (one hash table).
    s, sa, sb = np.split(_positions(student_ids, pd.concat(
        [sc["student_id"], sib["student_id"], sib["sibling_id"]], ignore_index=True)),
        np.cumsum([len(sc), len(sib)]))
    c = _positions(contacts["contact_id"].to_numpy(dtype=object), sc["contact_id"])
    ok = (s >= 0) & (c >= 0)
    links = pd.DataFrame({"contact": c[ok].astype(np.int32),
                          "student": s[ok].astype(np.int32),
                          "role": role_class(sc["relationship"][ok], config),
                          "portal": sc["portal_access"].to_numpy(dtype=bool)[ok]})
    links["parental"] = links["role"].isin([ROLE_MOTHER, ROLE_FATHER, ROLE_PARENT])
    n_students, n_contacts = len(students), len(contacts)
    # Family: students joined by a sibling link or a shared parental contact record.
    sok = (sa >= 0) & (sb >= 0)
    parental = links[links["parental"]]
    rows = np.concatenate([sa[sok], parental["student"].to_numpy(dtype=np.int64)])
    cols = np.concatenate([sb[sok], parental["contact"].to_numpy(dtype=np.int64) + n_students])
    size = n_students + n_contacts
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    links["family"] = component[links["student"].to_numpy()].astype(np.int32)
    # Home: the student's address and surname (siblings typed at two schools often share it).
    # A key, not a comparison: the address as typed, letters and digits only.
    # Each part folded once per distinct value; the key is the tuple of parts, which groups
    # exactly as the parts joined by ``|`` would (no ``|`` in the street or postal part).
    street = normalize._vectorised_per_distinct(
        students["street"],
        lambda text: text.str.lower().str.replace(r"[^0-9a-z]", "", regex=True))
    surname = normalize._vectorised_per_distinct(
        students["last_name"], lambda text: text.str.strip().str.lower())
    has_home = (street != "").to_numpy()
    home_codes = pd.Series(_tuple_codes(
        street.to_numpy(dtype=object),
        normalize.normalize_postal_code(students["postal_code"]).to_numpy(dtype=object),
        surname.to_numpy(dtype=object))).where(has_home, -1).to_numpy()
    links["home"] = home_codes[links["student"].to_numpy()].astype(np.int32)
    return links


def _positions(ids: np.ndarray, values: pd.Series) -> np.ndarray:
    """Each value's position in ``ids`` (its first, where an id repeats), -1 where absent."""
    index = pd.Index(ids)
    first = np.arange(len(ids))
    if not index.is_unique:
        keep = ~index.duplicated()
        index, first = index[keep], first[keep]
    found = index.get_indexer(values.to_numpy(dtype=object))
    return np.where(found >= 0, first[np.maximum(found, 0)], -1).astype(np.int64)


# ---------------------------------------------------------------------------------- blocking
def _tuple_codes(*columns: np.ndarray) -> np.ndarray:
    """One integer per row, equal exactly where every column is equal: a block key as the
    tuple of its parts. (No part holds the ``/`` the keys were once joined with, so comparing
    the parts is comparing the joined text; integers factorise far faster than strings.)
    Integer parts (codes already) are combined arithmetically and the whole factorised once:
    on millions of rows each factorisation is a large hash table."""
    code, span = np.zeros(len(columns[0]), dtype=np.int64), 1
    for column in columns:
        column = np.asarray(column)
        if column.dtype.kind in "iu":
            low = int(column.min()) if len(column) else 0
            part = column.astype(np.int64) - low
            width = int(part.max()) + 1 if len(part) else 1
        else:
            part, distinct = pd.factorize(column)
            width = max(len(distinct), 1)
        if span * width >= 2 ** 62:  # renumber densely before the product could overflow
            code = pd.factorize(code)[0].astype(np.int64)
            span = int(code.max()) + 1 if len(code) else 1
        code = code * width + part
        span *= width
        del part
    return pd.factorize(code)[0].astype(np.int64)


def _localise(pos: np.ndarray, key: np.ndarray, places: tuple[tuple[np.ndarray, np.ndarray], ...],
              limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocks bigger than ``limit`` split by place, one split per place (``places``: per record
    a code of the text and whether there is any); ``key`` dense codes. A common name alone says
    little (it never reaches the threshold on its own); a common name at one address is worth
    comparing. The same for an address key that recurs across towns."""
    code = key  # dense already (from _tuple_codes)
    big = np.bincount(code)[code] > limit
    positions = [pos[~big]]
    tags = [np.zeros(int((~big).sum()), dtype=np.int64)]
    bases = [code[~big]]
    place_codes = [np.full(int((~big).sum()), -1, dtype=np.int64)]
    for tag, (place, known) in enumerate(places, start=1):
        ok = known[pos[big]]
        positions.append(pos[big][ok])
        bases.append(code[big][ok])
        tags.append(np.full(int(ok.sum()), tag, dtype=np.int64))
        place_codes.append(place[pos[big][ok]])
    return (np.concatenate(positions),
            _tuple_codes(np.concatenate(bases), np.concatenate(tags), np.concatenate(place_codes)))


def _block_passes(f: _Features, name_block: int = 8, max_block: int = 200
                  ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The blocking passes: (name, record positions, block keys), a key equal for two records
    of one pass exactly when they share that block."""
    n = len(f.ids)
    pos = np.arange(n)
    frames: list[tuple[str, np.ndarray, np.ndarray]] = []

    def add(name: str, valid: np.ndarray, *parts: np.ndarray, limit: int = 0) -> None:
        members = pos[valid]
        keys = _tuple_codes(*(np.asarray(part)[valid] for part in parts)) if len(members) \
            else np.zeros(0, dtype=np.int64)
        if limit and len(keys):
            small = np.bincount(keys)[keys] <= limit
            keys, members = keys[small], members[small]
        frames.append((name, members, keys))

    email = f.coded("email")
    add("email", email.known, email.codes)
    # One namespace for the three phone columns: the same number as home and as cell meets.
    phone_valid = f.phones != ""
    phone_pos = np.broadcast_to(pos[:, None], f.phones.shape)[phone_valid]
    phone_keys = pd.factorize(f.phones[phone_valid])[0].astype(np.int64)
    frames.append(("phone", phone_pos, phone_keys))
    first, last = f.coded("first"), f.coded("last")
    # Surname key per part, so ``Tremblay-Roy`` meets ``Tremblay`` and ``Roy``. Split once per
    # distinct surname, then spread to the records.
    last_code, last_distinct = last.codes, last.distinct
    split = pd.Series(last_distinct, dtype=str).str.split(r"[\s\-]+", regex=True).explode()
    split = split[split.notna() & (split != "")]
    split_code = split.index.to_numpy().astype(np.int64)
    split_part, part_distinct = pd.factorize(split.to_numpy().astype(str).astype(object))
    part_distinct = np.asarray(part_distinct, dtype=str)
    n_parts = np.bincount(split_code, minlength=len(last_distinct))
    start = np.cumsum(n_parts) - n_parts
    row_parts = n_parts[last_code] if len(last_code) else np.zeros(0, dtype=np.int64)
    part_pos = np.repeat(pos, row_parts)
    offset = np.arange(len(part_pos)) - np.repeat(np.cumsum(row_parts) - row_parts, row_parts)
    part_code = split_part[start[last_code[part_pos]] + offset] if len(part_pos) \
        else np.zeros(0, dtype=np.int64)
    first_of_part = first.codes[part_pos]
    has_first = first.known[part_pos]
    # Surname prefix + first initial, and first-name prefix + surname initial: a typo in one
    # name keeps the other's key; a swap of given name and surname lands in the same block.
    # (One vocabulary for all four parts: a k1 key and a k2 key that read alike are one key.)
    # Prefixes are taken once per distinct part and first name, then spread by code.
    heads = (_prefix(part_distinct, 3), _prefix(first.distinct, 1),
             _prefix(first.distinct, 3), _prefix(part_distinct, 1))
    vocabulary = pd.factorize(np.concatenate([h.astype(object) for h in heads]))[0]
    bounds = np.cumsum([0] + [len(h) for h in heads])
    v_p3, v_f1, v_f3, v_p1 = (vocabulary[bounds[i]:bounds[i + 1]].astype(np.int64)
                              for i in range(4))
    c_p3, c_p1 = v_p3[part_code], v_p1[part_code]
    c_f1, c_f3 = v_f1[first_of_part], v_f3[first_of_part]
    name_pos, kinds, xs, ys = [], [], [], []
    for x, y in ((c_p3, c_f1), (c_f3, c_p1)):
        name_pos.append(part_pos[has_first])
        kinds.append(np.zeros(int(has_first.sum()), dtype=np.int8))
        xs.append(x[has_first])
        ys.append(y[has_first])
    for column in range(f.groups.shape[1]):
        g = f.groups[part_pos, column]
        ok = g >= 0
        name_pos.append(part_pos[ok])
        kinds.append(np.ones(int(ok.sum()), dtype=np.int8))
        xs.append(c_p3[ok])
        ys.append(g[ok].astype(np.int64))
    name_keys = _tuple_codes(np.concatenate(kinds), np.concatenate(xs), np.concatenate(ys))
    del kinds, xs, ys, c_p3, c_p1, c_f1, c_f3, part_code, first_of_part, offset
    postal, civic, city = f.coded("postal"), f.coded("civic"), f.coded("city")
    frames.append(("name", *_localise(np.concatenate(name_pos), name_keys,
                                      ((postal.codes, postal.known), (civic.codes, civic.known)),
                                      int(name_block))))
    add("postal+surname2", postal.known, postal.codes, last.prefix(2))
    street = f.coded("street")
    # A civic number with a street (or a surname) recurs across a board's cities, more often
    # the bigger the board: a block of more such records than one household's is split by
    # place (the postal code's forward sortation area, the city; for the street key also the
    # whole street name), so the pairs compared grow with the board, not with its square. Two
    # records at one address still meet if any part of the place agrees (a mistyped postal
    # code and city at one street, a city left out). A block past ``max_block`` before the
    # split is a key nearly every record shares (one street name across a list): dropped, as
    # any oversized block.
    places = ((postal.prefix(3), postal.known), (city.codes, city.known))

    def add_address(name: str, valid: np.ndarray, *parts: np.ndarray,
                    extra: tuple[tuple[np.ndarray, np.ndarray], ...] = ()) -> None:
        members = pos[valid]
        keys = _tuple_codes(*(np.asarray(part)[valid] for part in parts)) if len(members) \
            else np.zeros(0, dtype=np.int64)
        if len(keys):
            kept = np.bincount(keys)[keys] <= max_block
            keys, members = keys[kept], members[kept]
        frames.append((name, *_localise(members, keys, places + extra, _ADDRESS_BLOCK)))

    add_address("civic+street4", street.known & civic.known, civic.codes, street.prefix(4),
                extra=((street.codes, street.known),))
    # Passes that survive a typo in, or a replacement of, the fields the keys above rest on:
    # given name + postal code (surname garbled), civic number + surname (street name garbled
    # or a second address line first), surname + city (postal code mistyped).
    # Fallbacks only: a key this loose is worth comparing where it picks out a few records.
    small = 4 * int(name_block)
    add("postal+first3", postal.known & first.known, postal.codes, first.prefix(3), limit=small)
    add_address("civic+surname3", civic.known & last.known, civic.codes, last.prefix(3))
    add("city+surname4", city.known & last.known, city.codes, last.prefix(4), limit=small)
    links = f.links
    frames.append(("family", links["contact"].to_numpy(),
                   links["family"].to_numpy().astype(np.int64)))
    home = links[links["home"] >= 0]
    frames.append(("home", home["contact"].to_numpy(), home["home"].to_numpy().astype(np.int64)))
    return frames


# Address blocks (civic number + street or surname) of at most this many records are compared
# whole; bigger ones by place (see _block_passes).
_ADDRESS_BLOCK = 2


def _prefix(values: np.ndarray, length: int) -> np.ndarray:
    # A cast to a short fixed-width string truncates: the first ``length`` characters (from
    # object values directly, without a full-width copy).
    return np.asarray(values).astype(f"<U{length}")


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers. (A sort, then a mask of the first of each run: on millions of
    values a hash table's cache misses cost several times the sort.)"""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def candidate_pairs(f: _Features, max_block: int, name_block: int = 8) -> np.ndarray:
    """Distinct (a, b) positions, a < b, that share at least one block of at most ``max_block``."""
    n = len(f.ids)
    # Block and member packed in one integer (block * n + position), pass by pass: the passes'
    # arrays are freed as soon as they are packed.
    packed = _distinct(np.concatenate([np.zeros(0, dtype=np.int64)]
                                      + list(_packed_members(f, name_block, max_block))))
    # (A record with one key twice, the same number as home and cell, is one member.)
    code, pos = packed // n, packed % n
    del packed
    sizes = np.bincount(code)
    keep = (sizes[code] >= 2) & (sizes[code] <= max_block)
    code, pos = code[keep], pos[keep]
    del keep, sizes
    # Members are sorted by block, then position: each member pairs with the members after it
    # in its block, so every pair comes once per shared block with ``a < b``.
    block_start = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    size = np.diff(np.r_[block_start, len(code)])
    offset = np.arange(len(code)) - np.repeat(block_start, size)
    partners = np.repeat(size, size) - 1 - offset
    del code, offset, block_start, size
    # Pairs made a slice of members at a time, each slice's repeats dropped before the next:
    # a member's pairs hold several arrays as long as they are.
    ends = np.cumsum(partners)
    cuts = np.searchsorted(ends, np.arange(_PAIR_SLICE, int(ends[-1]) if len(ends) else 0,
                                           _PAIR_SLICE), side="right")
    found = []
    for low, high in zip(np.r_[0, cuts], np.r_[cuts, len(partners)]):
        count = partners[low:high]
        member = np.repeat(np.arange(low, high), count)
        step = np.arange(len(member)) - np.repeat(np.cumsum(count) - count, count) + 1
        found.append(_distinct(pos[member] * n + pos[member + step]))
        del member, step
    packed = _distinct(np.concatenate([np.zeros(0, dtype=np.int64)] + found))
    del found
    return np.stack([packed // n, packed % n], axis=1)


# Candidate pairs (with repeats) made at once; see candidate_pairs.
_PAIR_SLICE = 1 << 22


def _packed_members(f: _Features, name_block: int, max_block: int) -> Iterable[np.ndarray]:
    """Per blocking pass, ``block * n + record position`` of every membership, the blocks
    numbered past the previous passes' (each pass its own namespace)."""
    n, base = len(f.ids), 0
    passes = _block_passes(f, name_block, max_block)
    while passes:
        _, members, codes = passes.pop(0)
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes):
            yield (codes + base) * n + np.asarray(members, dtype=np.int64)
            # (Every pass's keys are small non-negative integers already: offsetting is enough.)
            base += int(codes.max()) + 1


# ---------------------------------------------------------------------------------- scoring
V_MISSING, V_SAME, V_SIMILAR, V_DIFFERENT = 0, 1, 2, 3
F_NICKNAME, F_INITIAL, L_PARTIAL, S_OTHER_UNIT, E_SEPARATORS, F_SPELLING = 4, 5, 6, 7, 8, 9
VERDICT_WORDS = {V_MISSING: "missing", V_SAME: "same", V_SIMILAR: "similar",
                 V_DIFFERENT: "different", F_NICKNAME: "similar", F_INITIAL: "similar",
                 L_PARTIAL: "similar", S_OTHER_UNIT: "different", E_SEPARATORS: "similar",
                 F_SPELLING: "similar"}


@dataclass
class _Scored:
    pairs: np.ndarray
    score: np.ndarray
    veto: np.ndarray
    verdicts: dict[str, np.ndarray]
    family: np.ndarray
    family_note: np.ndarray
    term_frequency: np.ndarray | None = None
    """Per pair: the names' term-frequency adjustment included in the score."""
    context_free: np.ndarray | None = None
    """Per pair: neither record is linked to a student (see :func:`context_free_pairs`)."""


def _ratio(column: _Coded, a: np.ndarray, b: np.ndarray, skip: np.ndarray | None = None
           ) -> np.ndarray:
    """fuzz.ratio of the texts of codes ``a`` and ``b``."""
    if len(a) == 0:
        return np.zeros(0)
    return _pairwise(column, a, b, fuzz.ratio, 100, skip)


def _pairwise(column: _Coded, a: np.ndarray, b: np.ndarray, scorer, equal: float | None,
              skip: np.ndarray | None = None) -> np.ndarray:
    """``scorer`` of the texts of each pair of codes, as ``process.cpdist``; ``equal`` (what the
    scorer gives any value against itself) without calling it where the two values are the
    same: most candidate pairs share a surname or a street (``None``: call it on every pair).
    Rows in ``skip`` (pairs whose verdict does not depend on this score, e.g. a field missing on
    one record) get ``equal`` too. Each distinct pair of values is scored once: candidate pairs
    repeat them (two households on one street, the same two given names)."""
    if equal is None:
        differ = np.arange(len(a))
    else:
        differ = a != b
        if skip is not None:
            differ &= ~skip
        differ = np.flatnonzero(differ)
    # The scorer's own result type, so the sums below round exactly as before.
    dtype = process.cpdist([""], [""], scorer=scorer).dtype
    result = np.full(len(a), equal if equal is not None else 0, dtype=dtype)
    if len(differ):
        width = max(len(column.distinct), 1)
        which, packed = pd.factorize(a[differ] * width + b[differ])
        # Threads pay off on large batches only: on a small one, starting them (and waiting
        # for the slowest on a busy machine) costs more than the comparisons.
        workers = -1 if len(packed) >= _THREADED_BATCH else 1
        scores = process.cpdist(list(column.distinct[packed // width]),
                                list(column.distinct[packed % width]), scorer=scorer,
                                workers=workers)
        result[differ] = scores[which]
    return result


_THREADED_BATCH = 50_000


def _interp(similarity: np.ndarray, points: tuple[float, ...], weights: tuple[float, ...]
            ) -> np.ndarray:
    """Winkler-style graded agreement: the weight slides from disagreement to agreement as the
    spelling similarity (0-100) rises through ``points``."""
    return np.interp(similarity, points, weights)


# Endings that turn one given name into another (usually the other gender's): Paul/Paula,
# Louis/Louise, Jean/Jeanne, Daniel/Danielle. A doubled last letter (Mitchel/Mitchell) is a typo.
_NAME_ENDINGS = frozenset({"a", "e", "ne", "le", "na", "ia", "ie", "ette", "elle", "ine", "o",
                           "ina", "ita", "lyn", "line"})


def _first_names(names: _Coded, fa: np.ndarray, fb: np.ndarray, ga: np.ndarray, gb: np.ndarray,
                 config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Verdicts and weights of given names ``fa`` and ``fb`` (codes of ``names``)."""
    a = fa
    verdict = np.full(len(a), V_DIFFERENT, dtype=np.int8)
    missing = (fa == names.empty) | (fb == names.empty)
    same = fa == fb
    nick = np.zeros(len(a), dtype=bool)
    for i in range(ga.shape[1]):
        for j in range(gb.shape[1]):
            nick |= (ga[:, i] >= 0) & (ga[:, i] == gb[:, j])
    ratio = _ratio(names, fa, fb, missing)
    # Only pairs close enough to be a typo need the (per-pair) checks below.
    close = np.flatnonzero((ratio >= 60) & ~same & ~missing)
    typo = np.zeros(len(a), dtype=bool)
    spelling = np.zeros(len(a), dtype=bool)
    if len(close):
        ca, cb = names.distinct[fa[close]], names.distinct[fb[close]]
        # A name that only adds an ending to the other (Daniel/Danielle, Paul/Paula) is another
        # person's name, not a typo.
        extends = np.fromiter(
            ((x.startswith(y) and x[len(y):] in _NAME_ENDINGS)
             or (y.startswith(x) and y[len(x):] in _NAME_ENDINGS) for x, y in zip(ca, cb)),
            dtype=bool, count=len(close))
        # Two neighbouring letters swapped (Aelx/Alex) is a typing slip; one letter replaced in
        # a short name is usually another name (Mark/Mary), so short names need the ratio.
        swapped_letters = (_text_distance(ca, cb, OSA) == 1) \
            & (_text_distance(ca, cb, Levenshtein) == 2)
        # One vowel for another near the end makes another name (Francis/Frances, Mario/Maria).
        other_ending = np.fromiter((_vowel_swap(x, y, near_end=True) for x, y in zip(ca, cb)),
                                   dtype=bool, count=len(close))
        typo[close] = ((ratio[close] >= config.threshold("name_similarity")) | swapped_letters) \
            & ~extends & ~other_ending
        spelling[close] = ~typo[close] & ~extends & _one_slip(ca, cb)
    token = names.recoded("first token", lambda x: x.split(" ")[0])
    no_token = names.per_value("first token empty", lambda x: x.split(" ")[0] == "", bool)
    same_token = (token[fa] == token[fb]) & ~no_token[fa]
    initials = names.recoded("initial", lambda x: x[:1])
    length = names.per_value("length", len, np.int64)
    initial = (np.minimum(length[fa], length[fb]) == 1) & (initials[fa] == initials[fb])
    verdict[initial] = F_INITIAL
    verdict[spelling] = F_SPELLING
    verdict[typo] = V_SIMILAR
    verdict[nick | same_token] = F_NICKNAME
    verdict[same] = V_SAME
    verdict[missing] = V_MISSING
    w = WEIGHTS["first_name"]
    weight = np.zeros(len(a))
    weight[verdict == V_SAME] = w["same"]
    weight[verdict == F_NICKNAME] = w["nickname"]
    weight[verdict == F_INITIAL] = w["initial"]
    weight[verdict == F_SPELLING] = w["spelling"]
    similar = verdict == V_SIMILAR
    weight[similar] = _interp(ratio[similar], (75, 100), (w["similar"], w["same"]))
    return verdict, weight


_VOWELS = frozenset("aeiouy")


def _vowel_swap(x: str, y: str, near_end: bool = False) -> bool:
    """The names differ in one vowel only (within the last three letters when ``near_end``)."""
    if len(x) != len(y):
        return False
    diff = [i for i, (p, q) in enumerate(zip(x, y)) if p != q]
    return (len(diff) == 1 and x[diff[0]] in _VOWELS and y[diff[0]] in _VOWELS
            and (not near_end or diff[0] >= len(x) - 3))


def _text_distance(a: np.ndarray, b: np.ndarray, metric) -> np.ndarray:
    """``metric``'s distance between texts ``a[i]`` and ``b[i]`` (the few pairs close enough to
    need a second look: no codes)."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    return process.cpdist(list(a), list(b), scorer=metric.distance, workers=1)


def _one_slip(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """Two given names one keying slip apart, with the tolerance scaled to length: one edit
    from five letters, two from nine. Shorter names, and one vowel swapped for another, are
    usually two names (Mark/Mary, Jean/Joan, Francis/Frances, Mario/Maria), not a slip."""
    distance = _text_distance(fa, fb, OSA)
    shortest = np.fromiter((min(len(x), len(y)) for x, y in zip(fa, fb)), dtype=np.int64,
                           count=len(fa))
    allowed = np.where(shortest >= 9, 2, np.where(shortest >= 5, 1, 0))
    vowel_swap = np.fromiter((_vowel_swap(x, y) for x, y in zip(fa, fb)), dtype=bool,
                             count=len(fa))
    return (distance >= 1) & (distance <= allowed) & ~vowel_swap


def _tf_weight(verdict: np.ndarray, tf_a: np.ndarray, tf_b: np.ndarray) -> np.ndarray:
    """The term-frequency adjustment of a name verdict: in full when the names are the same,
    half the more common spelling's when they are a typo apart, none otherwise."""
    return np.where(verdict == V_SAME, tf_a,
                    np.where(verdict == V_SIMILAR, 0.5 * np.minimum(tf_a, tf_b), 0.0))


def _distance(column: _Coded, a: np.ndarray, b: np.ndarray, metric,
              skip: np.ndarray | None = None) -> np.ndarray:
    """``metric``'s distance between the texts of codes ``a`` and ``b``."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    return _pairwise(column, a, b, metric.distance, 0, skip)


def _last_names(names: _Coded, la: np.ndarray, lb: np.ndarray, config: Config
                ) -> tuple[np.ndarray, np.ndarray]:
    """Verdicts and weights of surnames ``la`` and ``lb`` (codes of ``names``)."""
    a = la
    verdict = np.full(len(a), V_DIFFERENT, dtype=np.int8)
    missing = (la == names.empty) | (lb == names.empty)
    ratio = _ratio(names, la, lb, missing)
    # ``Tremblay-Roy`` and ``Tremblay``: one part of a compound surname stands for the whole.
    partial = np.zeros(len(a), dtype=bool)
    spaced = names.per_value("compound", lambda x: "-" in x or " " in x, bool)
    compound = np.flatnonzero((spaced[la] | spaced[lb]) & (la != lb))
    if len(compound):
        # Once per distinct pair of surnames (one family's records repeat theirs).
        width = len(names.distinct)
        which, packed = pd.factorize(la[compound] * width + lb[compound])
        shares = np.fromiter(
            (bool(set(normalize.surname_parts(names.distinct[x // width]))
                  & set(normalize.surname_parts(names.distinct[x % width]))) for x in packed),
            dtype=bool, count=len(packed))
        partial[compound] = shares[which]
    limit = config.threshold("surname_similarity")
    # A keying slip in a surname (Matosn/Matson, Bullvck/Bullock) scores low on the ratio when
    # the name is short; the length-scaled edit tolerance keeps it a typo.
    slip = np.zeros(len(a), dtype=bool)
    near = np.flatnonzero((ratio >= 60) & (ratio < limit))
    if len(near):
        slip[near] = _one_slip(names.distinct[la[near]], names.distinct[lb[near]])
    verdict[(ratio >= limit) | slip] = V_SIMILAR
    verdict[partial] = L_PARTIAL
    verdict[la == lb] = V_SAME
    verdict[missing] = V_MISSING
    w = WEIGHTS["last_name"]
    weight = _interp(ratio, (60, limit, 100), (w["different"], w["similar"], w["same"]))
    weight[slip & (ratio < limit)] = w["similar"]
    weight[verdict == L_PARTIAL] = w["partial"]
    weight[verdict == V_MISSING] = 0.0
    return verdict, weight


def _emails(f: _Features, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    email = f.coded("email")
    ea, eb = email.codes[a], email.codes[b]
    verdict = np.full(len(a), V_DIFFERENT, dtype=np.int8)
    # One mistyped or swapped character in an address is still the person's address.
    missing = (ea == email.empty) | (eb == email.empty)
    typo = _distance(email, ea, eb, OSA, missing) == 1
    verdict[typo] = V_SIMILAR
    verdict[ea == eb] = V_SAME
    verdict[missing] = V_MISSING
    weight = _table_weight("email", verdict)
    # Addresses that differ only in dots, underscores or spaces (jane.roy@ / janeroy@) are as
    # often two people with one name as one person: they weigh little either way.
    loose, spaced = f.coded("email_loose"), f.coded("email_spaced")
    loose_a, loose_b = loose.codes[a], loose.codes[b]
    spelled = (loose_a == loose_b) & (loose_a != loose.empty) \
        & (spaced.codes[a] != spaced.codes[b])
    verdict[spelled] = E_SEPARATORS
    weight[spelled] = WEIGHTS["email"]["separators"]
    return verdict, weight


def _table_weight(name: str, verdict: np.ndarray) -> np.ndarray:
    table = np.zeros(8)
    for code, word in ((V_SAME, "same"), (V_SIMILAR, "similar"), (V_DIFFERENT, "different"),
                       (V_MISSING, "missing")):
        table[code] = WEIGHTS[name].get(word, 0.0)
    return table[verdict]


def _phones(f: _Features, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    has = f.phone_digits[:, :, 0] != 255
    has_a, has_b = has[a], has[b]
    same = np.zeros(len(a), dtype=bool)
    similar = np.zeros(len(a), dtype=bool)
    for i in range(has.shape[1]):
        for j in range(has.shape[1]):
            # Digits compared only where both records have a number in these columns (most
            # records carry one or two of the three).
            both = np.flatnonzero(has_a[:, i] & has_b[:, j])
            mismatches = np.count_nonzero(f.phone_digits[a[both], i, :]
                                          != f.phone_digits[b[both], j, :], axis=1)
            same[both[mismatches == 0]] = True
            similar[both[mismatches == 1]] = True
    verdict = np.full(len(a), V_DIFFERENT, dtype=np.int8)
    verdict[similar] = V_SIMILAR
    verdict[same] = V_SAME
    verdict[~(has_a.any(axis=1) & has_b.any(axis=1))] = V_MISSING
    return verdict, _table_weight("phone", verdict)


def _streets(f: _Features, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    street, words, civic, unit = (f.coded(name) for name in ("street", "street_words", "civic",
                                                             "unit"))
    sa, sb = street.codes[a], street.codes[b]
    ca, cb = civic.codes[a], civic.codes[b]
    ua, ub = unit.codes[a], unit.codes[b]
    missing = (sa == street.empty) | (sb == street.empty)
    similarity = _ratio(street, sa, sb, missing)
    if len(a):
        wa, wb = words.codes[a], words.codes[b]
        # Street words typed in another order or run together with a second address line.
        similarity = np.maximum(similarity, _pairwise(words, wa, wb, fuzz.token_sort_ratio, 100,
                                                      missing))
        # One record with a second address line the other lacks (a building or station name):
        # every word of the shorter is in the longer. Similar, never the same.
        low = np.flatnonzero((similarity < 90) & ~missing)
        if len(low):
            subset = _pairwise(words, wa[low], wb[low], fuzz.token_set_ratio, None)
            similarity[low] = np.maximum(similarity[low], np.minimum(subset, 90.0))
    has_civic_a, has_civic_b = ca != civic.empty, cb != civic.empty
    civic_same = (ca == cb) & has_civic_a
    civic_close = civic_same | (_distance(civic, ca, cb, OSA) <= 1) & has_civic_a & has_civic_b
    other_unit = (ua != unit.empty) & (ub != unit.empty) & (ua != ub)
    w = WEIGHTS["street"]
    weight = _interp(similarity, (60, 85, 100), (w["different"], w["similar"], w["same"]))
    # A civic number on one record only is no disagreement, but the street alone says less.
    civic_missing = ~has_civic_a | ~has_civic_b
    weight = np.where(civic_same, weight,
                      np.where(civic_close, np.minimum(weight, w["similar"]),
                               np.where(civic_missing, np.minimum(weight, w["no-civic"]),
                                        np.minimum(weight, w["different"] / 2))))
    verdict = np.full(len(a), V_DIFFERENT, dtype=np.int8)
    verdict[(similarity >= 70) & civic_close] = V_SIMILAR
    verdict[(similarity >= 85) & civic_same & ~other_unit] = V_SAME
    # Neighbours in one apartment building: same civic number and street, another unit.
    unit_clash = (similarity >= 85) & civic_same & other_unit
    verdict[unit_clash] = S_OTHER_UNIT
    weight[unit_clash] = w["other-unit"]
    verdict[missing] = V_MISSING
    weight[missing] = 0.0
    return verdict, weight


def _codes(column: _Coded, a: np.ndarray, b: np.ndarray, name: str
           ) -> tuple[np.ndarray, np.ndarray]:
    va, vb = column.codes[a], column.codes[b]
    verdict = np.where(va == vb, V_SAME, V_DIFFERENT).astype(np.int8)
    # One mistyped or swapped character (K1A 0B1 / K1A 0B2, 2285 / 2258).
    missing = (va == column.empty) | (vb == column.empty)
    close = (verdict == V_DIFFERENT) & (_distance(column, va, vb, OSA, missing) == 1)
    verdict[close] = V_SIMILAR
    verdict[missing] = V_MISSING
    return verdict, _table_weight(name, verdict)


# Pairs compared for family context at once: bounds the (link, link) combinations held.
_FAMILY_SLICE = 1 << 20


class _LinkTable:
    """The student links of the contact records, grouped by record (positions ``start`` to
    ``start + count``), as plain arrays: a pair's links are found by position, not by a join."""

    def __init__(self, f: _Features) -> None:
        links = f.links
        contact = links["contact"].to_numpy(dtype=np.int64)
        order = np.argsort(contact, kind="stable")
        self.count = np.bincount(contact, minlength=len(f.ids)).astype(np.int64)
        self.start = np.cumsum(self.count) - self.count
        self.student = links["student"].to_numpy()[order]
        self.family = links["family"].to_numpy()[order]
        self.home = links["home"].to_numpy()[order]
        self.role = links["role"].to_numpy()[order]
        self.parental = links["parental"].to_numpy(dtype=bool)[order]

    def combinations(self, a: np.ndarray, b: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pair row, link of a, link of b) for every link of ``a[row]`` with every link of
        ``b[row]``."""
        ka, kb = self.count[a], self.count[b]
        combos = ka * kb
        pair_of = np.repeat(np.arange(len(a)), combos)
        k = np.arange(len(pair_of)) - np.repeat(np.cumsum(combos) - combos, combos)
        per = kb[pair_of]
        return pair_of, self.start[a[pair_of]] + k // per, self.start[b[pair_of]] + k % per


def _family_context(f: _Features, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: (veto, family weight, note code).

    note code: 0 none, 1 same role in one family or home, 2 gender conflict, 3 generation
    conflict (parent vs grandparent).
    """
    n = len(pairs)
    veto = np.zeros(n, dtype=bool)
    note = np.zeros(n, dtype=np.int8)
    if n == 0 or f.links.empty:
        return veto, np.zeros(n), note
    family_pairs = np.zeros(n, dtype=bool)
    # Every (link of a, link of b) of a pair, in slices of pairs so the combinations stay small.
    table = f.link_table()
    for first in range(0, n, _FAMILY_SLICE):
        rows = np.arange(first, min(first + _FAMILY_SLICE, n))
        pair_of, la, lb = table.combinations(pairs[rows, 0], pairs[rows, 1])
        pair_of = rows[pair_of]
        joined = table.family[la] == table.family[lb]
        pair_j, la_j, lb_j = pair_of[joined], la[joined], lb[joined]
        ra, rb = table.role[la_j], table.role[lb_j]
        pa, pb = table.parental[la_j], table.parental[lb_j]
        gender = ((ra == ROLE_MOTHER) & (rb == ROLE_FATHER)) \
            | ((ra == ROLE_FATHER) & (rb == ROLE_MOTHER))
        generation = ((ra == ROLE_GRANDPARENT) & pb) | ((rb == ROLE_GRANDPARENT) & pa)
        # Two records linked to one student, both as parents, are two people: two parental
        # roles (Mother and Father, both typed "Chris"), or two mothers or two fathers. A clerk
        # who types a parent twice does it on another child, where the first record did not
        # show up.
        two_parents = (table.student[la_j] == table.student[lb_j]) & pa & pb
        veto[pair_j[gender | generation | two_parents]] = True
        family_pairs[pair_j[(ra == rb) & (ra != ROLE_NONE)]] = True
        home_a = table.home[la]
        home = (home_a >= 0) & (home_a == table.home[lb])
        ra, rb = table.role[la[home]], table.role[lb[home]]
        family_pairs[pair_of[home][(ra == rb) & (ra != ROLE_NONE)]] = True
    weight = np.zeros(n)
    weight[family_pairs] = WEIGHTS["family"]["same-role"]
    note[family_pairs] = 1
    ma, mb = f.roles[pairs[:, 0]], f.roles[pairs[:, 1]]
    M, F, P, G = (1 << ROLE_MOTHER), (1 << ROLE_FATHER), (1 << ROLE_PARENT), (1 << ROLE_GRANDPARENT)
    # Symmetric in a and b: a pair's verdict never depends on which record came first.
    gender = (((ma & M) > 0) & ((mb & F) > 0) & ((mb & M) == 0) & ((ma & F) == 0)) | \
        (((ma & F) > 0) & ((mb & M) > 0) & ((ma & M) == 0) & ((mb & F) == 0))
    parentish = M | F | P
    generation = ~gender & (((ma == G) & ((mb & parentish) > 0) & ((mb & G) == 0))
                            | ((mb == G) & ((ma & parentish) > 0) & ((ma & G) == 0)))
    weight[gender] += WEIGHTS["family"]["gender-conflict"]
    note[gender] = 2
    weight[generation] += WEIGHTS["family"]["generation-conflict"]
    note[generation] = 3
    return veto, weight, note


def context_free_pairs(f: _Features, a: np.ndarray, b: np.ndarray, config: Config) -> np.ndarray:
    """Per pair: neither record is linked to any student, and the config lets such pairs be
    scored without the first-name veto (``context_free_name_veto`` below 0.5)."""
    if config.threshold("context_free_name_veto") >= 0.5:
        return np.zeros(len(a), dtype=bool)
    return (f.roles[a] == 0) & (f.roles[b] == 0)


def _context_free(f: _Features, a: np.ndarray, b: np.ndarray, verdicts: dict[str, np.ndarray],
                  config: Config) -> np.ndarray:
    """Pairs whose first-name disagreement weighs rather than vetoes: no family context, and no
    household channel shared. A shared email or phone with two given names is what a household
    looks like (the family address, the home phone), student links or not."""
    shares_channel = np.isin(verdicts["email"], (V_SAME, V_SIMILAR)) \
        | np.isin(verdicts["phone"], (V_SAME, V_SIMILAR))
    return context_free_pairs(f, a, b, config) & ~shares_channel


# Candidate pairs scored at once: each field's comparison holds a few arrays the length of a
# slice, so slices keep a million-student board's scoring within a bounded amount of memory.
_SCORE_SLICE = 1 << 19


def score_pairs(f: _Features, pairs: np.ndarray, config: Config) -> _Scored:
    """Verdicts, weights, vetoes and the 0..1 score of each candidate pair."""
    if len(pairs) <= _SCORE_SLICE:
        return _score_slice(f, pairs, config)
    parts = [_score_slice(f, pairs[first:first + _SCORE_SLICE], config)
             for first in range(0, len(pairs), _SCORE_SLICE)]
    return _Scored(
        pairs, *(np.concatenate([getattr(part, name) for part in parts])
                 for name in ("score", "veto")),
        {name: np.concatenate([part.verdicts[name] for part in parts])
         for name in parts[0].verdicts},
        *(np.concatenate([getattr(part, name) for part in parts])
          for name in ("family", "family_note", "term_frequency", "context_free")))


def _score_slice(f: _Features, pairs: np.ndarray, config: Config) -> _Scored:
    a, b = pairs[:, 0], pairs[:, 1]
    first, last = f.coded("first"), f.coded("last")
    names = first  # one vocabulary for both (see _Features.coded)
    fa, fb, la, lb = first.codes[a], first.codes[b], last.codes[a], last.codes[b]
    # Given name and surname typed in each other's place (common in hand-keyed records).
    # Both records must carry both names, or the verdict would depend on which came first.
    all_names = (fa != names.empty) & (la != names.empty) & (fb != names.empty) \
        & (lb != names.empty)
    straight = _ratio(names, fa, fb, ~all_names) + _ratio(names, la, lb, ~all_names)
    crossed = _ratio(names, fa, lb, ~all_names) + _ratio(names, la, fb, ~all_names)
    swap = (crossed > straight + 40) & all_names
    first_b = np.where(swap, lb, fb)
    last_b = np.where(swap, fb, lb)
    groups_b = np.where(swap[:, None], -1, f.groups[b])
    first_v, first_w = _first_names(names, fa, first_b, f.groups[a], groups_b, config)
    last_v, last_w = _last_names(names, la, last_b, config)
    first_tf_b = np.where(swap, f.last_tf[b], f.first_tf[b])
    last_tf_b = np.where(swap, f.first_tf[b], f.last_tf[b])
    term_frequency = _tf_weight(first_v, f.first_tf[a], first_tf_b) \
        + _tf_weight(last_v, f.last_tf[a], last_tf_b)
    first_w = first_w + _tf_weight(first_v, f.first_tf[a], first_tf_b)
    last_w = last_w + _tf_weight(last_v, f.last_tf[a], last_tf_b)
    verdicts = {"first_name": first_v, "last_name": last_v}
    weights = [first_w, last_w]
    for name, (verdict, weight) in (("email", _emails(f, a, b)), ("phone", _phones(f, a, b)),
                                    ("street", _streets(f, a, b)),
                                    ("postal_code", _codes(f.coded("postal"), a, b,
                                                           "postal_code")),
                                    ("city", _codes(f.coded("city"), a, b, "city"))):
        verdicts[name] = verdict
        weights.append(weight)
    total = PRIOR + np.sum(weights, axis=0)
    veto, family_weight, family_note = _family_context(f, pairs)
    total += family_weight
    # A first name that is neither the same, a nickname, nor a typo: another person, whatever
    # else they share (spouses share an email, a phone and an address). Without family context
    # (see _context_free) it is strong evidence against, not a veto.
    context_free = _context_free(f, a, b, verdicts, config)
    first_differs = verdicts["first_name"] == V_DIFFERENT
    veto |= first_differs & ~context_free
    total += np.where(first_differs & context_free, CONTEXT_FREE["first-name-different"], 0.0)
    # Context-free, a surname typed otherwise at one full address with the given name agreeing
    # is as often a surname changed (marriage) or replaced in keying as another person.
    place_same = (verdicts["street"] == V_SAME) & np.isin(verdicts["postal_code"],
                                                          (V_SAME, V_MISSING))
    first_agrees = np.isin(verdicts["first_name"], (V_SAME, F_NICKNAME, V_SIMILAR))
    renamed = context_free_pairs(f, a, b, config) & place_same & first_agrees & ~swap \
        & (verdicts["last_name"] == V_DIFFERENT)
    total += np.where(renamed, np.maximum(last_w, CONTEXT_FREE["last-name-different-same-address"])
                      - last_w, 0.0)
    # A given name one slip from the other (Travis/Travks) is person-level agreement only when
    # everything else is too: the same surname and the same place, and no family conflict.
    surname_agrees = np.isin(verdicts["last_name"], (V_SAME, V_SIMILAR))
    place_agrees = (verdicts["street"] == V_SAME) | (verdicts["postal_code"] == V_SAME) \
        & np.isin(verdicts["street"], (V_SIMILAR, V_MISSING))
    veto |= (verdicts["first_name"] == F_SPELLING) & ~(surname_agrees & place_agrees
                                                       & (family_note < 2)) & ~context_free
    score = 1.0 / (1.0 + np.exp(-total))
    return _Scored(pairs, score, veto, verdicts, family_weight, family_note, term_frequency,
                   context_free_pairs(f, a, b, config))


# Fields whose verdicts the context-free weights are estimated for (the family has no verdict
# there: no record of such a pair is linked to a student).
EM_FIELDS = ("first_name", "last_name", "email", "phone", "street", "postal_code", "city")
EM_ITERATIONS = 10


def estimate_context_free(scored: _Scored, min_pairs: float) -> np.ndarray:
    """The scores of the context-free pairs re-estimated from the list itself (splink-style
    expectation maximisation of each verdict's m and u probabilities, names keeping their
    term-frequency adjustment); the fixed-weight scores where there are fewer than
    ``min_pairs`` such pairs (too few to estimate from) or ``min_pairs`` is 0.

    Why: a contacts-only list has no family context, and how much an agreeing address or a
    disagreeing given name says depends on the list (a hand-keyed list where a given name is
    often replaced; a list with many households). The fixed weights seed the estimate.
    """
    score = scored.score.copy()
    if scored.context_free is None or min_pairs <= 0:
        return score
    rows = np.flatnonzero(scored.context_free)
    if len(rows) < max(min_pairs, 2):
        return score
    levels = np.stack([scored.verdicts[name][rows] for name in EM_FIELDS], axis=1).astype(np.int64)
    width = int(levels.max()) + 1
    offset = scored.term_frequency[rows] if scored.term_frequency is not None else 0.0
    match = np.clip(score[rows], 1e-6, 1 - 1e-6)
    for _ in range(EM_ITERATIONS):
        share = float(np.clip(match.mean(), 1e-3, 1 - 1e-3))
        total = np.full(len(rows), np.log(share / (1 - share))) + offset
        for column in range(levels.shape[1]):
            seen = np.bincount(levels[:, column], minlength=width) > 0
            # Half a pair of pseudo-count per observed verdict: no verdict weighs infinitely.
            m = np.bincount(levels[:, column], weights=match, minlength=width) + 0.5 * seen
            u = np.bincount(levels[:, column], weights=1 - match, minlength=width) + 0.5 * seen
            weight = np.zeros(width)
            weight[seen] = np.log((m[seen] / m.sum()) / (u[seen] / u.sum()))
            weight[V_MISSING] = 0.0  # a field on one record only says nothing either way
            total += weight[levels[:, column]]
        match = 1.0 / (1.0 + np.exp(-np.clip(total, -30, 30)))
    score[rows] = match
    return score


# ---------------------------------------------------------------------------------- clusters
def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _greedy_groups(members: list[int], edges: list[tuple[float, int, int]],
                   vetoed: set[tuple[int, int]], ids: np.ndarray) -> list[set[int]]:
    """Join the strongest accepted pairs first, never two groups with a veto between them.
    Equal scores (identical records are common) go in contact-id order, so the groups are the
    same whatever the export's row order."""
    group_of = {m: {m} for m in members}

    def strongest_first(edge: tuple[float, int, int]) -> tuple:
        score, x, y = edge
        low, high = sorted((str(ids[x]), str(ids[y])))
        return (-score, low, high)

    for _, x, y in sorted(edges, key=strongest_first):
        gx, gy = group_of[x], group_of[y]
        if gx is gy:
            continue
        if any((min(p, q), max(p, q)) in vetoed for p in gx for q in gy):
            continue
        merged = gx | gy
        for m in merged:
            group_of[m] = merged
    unique = {id(g): g for g in group_of.values()}
    return [g for g in unique.values() if len(g) > 1]


def match_contacts(board: Board, graph: HouseholdGraph | None, config: Config) -> ContactMatches:
    """Every group of two or more contact records that look like one human."""
    f = _features(board, config)
    n = len(f.ids)
    if n < 2:
        return ContactMatches(())
    pairs = candidate_pairs(f, int(config.threshold("max_block_size")),
                            int(config.threshold("name_block_size")))
    if len(pairs) == 0:
        return ContactMatches(())
    scored = score_pairs(f, pairs, config)
    scored.score = estimate_context_free(scored, config.threshold("context_free_em_pairs"))
    threshold = config.threshold("duplicate_contact")
    accepted = (scored.score >= threshold) & ~scored.veto
    acc_pairs = pairs[accepted]
    acc_score = scored.score[accepted]
    acc_index = np.flatnonzero(accepted)
    component = _components(n, acc_pairs)
    comp_of_pair = component[acc_pairs[:, 0]] if len(acc_pairs) else np.zeros(0, dtype=np.int64)
    order = np.argsort(comp_of_pair, kind="stable")
    groups: list[tuple[list[int], list[int]]] = []  # (members, accepted pair rows)
    bounds = np.flatnonzero(np.diff(comp_of_pair[order])) + 1
    chunks = np.split(order, bounds) if len(order) else []
    # Three or more records: score every pair inside (in one batch), so a veto between two
    # members that blocking never compared still splits the chain.
    inner_pairs = []
    for chunk in chunks:
        members = sorted({int(x) for r in chunk.tolist() for x in acc_pairs[r]})
        if 2 < len(members) <= 100:
            inner_pairs.extend((x, y) for i, x in enumerate(members) for y in members[i + 1:])
    vetoed: set[tuple[int, int]] = set()
    if inner_pairs:
        inner = np.array(inner_pairs, dtype=np.int64)
        inner_veto = score_pairs(f, inner, config).veto
        vetoed = {(int(x), int(y)) for x, y in inner[inner_veto]}
    sizes = np.bincount(component)
    # Without family context a first-name disagreement weighs rather than vetoes; where it
    # weighed a pair below the threshold, it still keeps the two records apart in a group
    # (Alex, Frances and Francis at one address do not chain through a middle record).
    apart = scored.veto | (scored.context_free & (scored.verdicts["first_name"] == V_DIFFERENT)
                           & (scored.score < threshold))
    crowded = apart & (sizes[component[pairs[:, 0]]] > 2) \
        & (component[pairs[:, 0]] == component[pairs[:, 1]])
    vetoed |= {(int(x), int(y)) for x, y in pairs[crowded]}
    for chunk in chunks:
        rows = chunk.tolist()
        members = sorted({int(x) for r in rows for x in acc_pairs[r]})
        if len(members) == 2:
            groups.append((members, rows))
            continue
        edges = [(float(acc_score[r]), int(acc_pairs[r][0]), int(acc_pairs[r][1])) for r in rows]
        for group in _greedy_groups(members, edges, vetoed, f.ids):
            group_rows = [r for r in rows if acc_pairs[r][0] in group and acc_pairs[r][1] in group]
            groups.append((sorted(group), group_rows))
    clusters = []
    for members, rows in groups:
        evidence = tuple(sorted((_evidence(f, scored, int(acc_index[r])) for r in rows),
                                key=lambda e: (e.a, e.b)))
        ids = tuple(sorted(str(f.ids[m]) for m in members))
        confidence = min(e.score for e in evidence) if evidence else 0.0
        clusters.append(ContactCluster(ids, round(float(confidence), 4), evidence))
    clusters.sort(key=lambda c: c.contacts)
    return ContactMatches(tuple(clusters))


# ---------------------------------------------------------------------------------- evidence
_FAMILY_NOTES = {0: "no shared family", 1: "same role in one family or home",
                 2: "Mother in one record, Father in the other",
                 3: "parent in one record, grandparent in the other"}


def _evidence(f: _Features, scored: _Scored, row: int) -> PairEvidence:
    x, y = int(scored.pairs[row][0]), int(scored.pairs[row][1])
    if str(f.ids[x]) > str(f.ids[y]):
        x, y = y, x
    fields: dict[str, dict] = {}
    first, last = f.raw_column("first_name"), f.raw_column("last_name")
    email, postal = f.raw_column("email"), f.raw_column("postal_code")

    def put(name: str, code: int, va: str, vb: str, note: str = "") -> None:
        fields[name] = {"verdict": VERDICT_WORDS[int(code)], "a": va, "b": vb, "note": note}

    v = scored.verdicts
    first_note = {V_SAME: "", F_NICKNAME: "nickname", V_SIMILAR: "spelling", F_SPELLING: "one letter apart",
                  F_INITIAL: "initial", V_MISSING: ""}.get(int(v["first_name"][row]), "")
    put("first_name", v["first_name"][row], first[x], first[y], first_note)
    last_note = "part of a compound surname" if v["last_name"][row] == L_PARTIAL else ""
    put("last_name", v["last_name"][row], last[x], last[y], last_note)
    put("email", v["email"][row], email[x], email[y],
        {V_SIMILAR: "one-character typo",
         E_SEPARATORS: "only dots, underscores or spaces differ"}.get(int(v["email"][row]), ""))
    phones_x = [str(p) for p in f.phones[x] if p]
    phones_y = [str(p) for p in f.phones[y] if p]
    shared = sorted(set(phones_x) & set(phones_y))
    phone_cols = [c for c, p in zip(PHONE_COLUMNS, f.phones[x]) if p in shared]
    put("phone", v["phone"][row], ", ".join(_show_phone(p) for p in phones_x),
        ", ".join(_show_phone(p) for p in phones_y),
        ("shared: " + ", ".join(phone_cols)) if shared else
        ("one digit apart" if v["phone"][row] == V_SIMILAR else ""))
    street_note = {S_OTHER_UNIT: "same building, another unit",
                   V_DIFFERENT: "moved?", V_SIMILAR: "spelling"}.get(int(v["street"][row]), "")
    put("address", v["street"][row], _address(f, x), _address(f, y), street_note)
    put("postal_code", v["postal_code"][row], postal[x], postal[y])
    return PairEvidence(str(f.ids[x]), str(f.ids[y]), round(float(scored.score[row]), 4), fields)


def _show_phone(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits


def _address(f: _Features, position: int) -> str:
    return ", ".join(part for part in (str(f.raw_column("street")[position]).strip(),
                                       str(f.raw_column("city")[position]).strip()) if part)


__all__: Iterable[str] = ("PairEvidence", "ContactCluster", "ContactMatches", "match_contacts",
                          "candidate_pairs", "score_pairs", "context_free_pairs",
                          "estimate_context_free", "WEIGHTS", "PRIOR", "CONTEXT_FREE")
