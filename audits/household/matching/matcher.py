"""The duplicate-contact matcher: which contact records are one human.

Record linkage in four steps, each vectorised so a 250,000-student board stays fast:

1. **Features**: every contact record's names, email, phones and address normalised
   (:mod:`audits.household.matching.normalize`), plus its household context from the board: the students it is
   linked to, their family (students joined by sibling links or a shared parental record), their
   home (student address + surname), and the record's role (Mother, Father, Grandparent...).
2. **Blocking**: candidate pairs are the records that share a block key (email, any phone, a
   name key, postal code + surname, street address, family, home). Oversized blocks are dropped
   (``max_block_size``): each record has several keys, so another block still finds a true pair.
   Keys that recur across a board's towns as it grows (a common name, a civic number with a
   street prefix) are split by place where their blocks grow, so the pairs compared grow in
   step with the board, not with its square (see benchmarks/profile_matching.py).
3. **Scoring**: each pair's level in every comparison (:mod:`audits.household.matching.comparisons`), and its match
   probability under the board's own model (:mod:`audits.household.matching.model`: u from random pairs of the
   board's records, m and the household and family classes by EM on its candidate pairs; see
   docs/matching.md). The one hard veto
   is a state that cannot be one person: one student's Mother record and Father record. The
   config may add vetoes (``[matching] vetoes``).
4. **Clustering**: connected components of accepted pairs; a component of three or more
   records is split by average linkage (two groups join when the mean match probability of
   every pair across them reaches the threshold, with no veto between them), so a person's
   every record lands in one group without one record chaining two people together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audits.household.matching import model as linkage

from audits.household.matching import normalize
from audits.household.matching.comparisons import (ROLE_FATHER, ROLE_GRANDPARENT, ROLE_MOTHER, ROLE_NONE, ROLE_PARENT,
                              Compared, compare_in_slices)
from audits.model.board import Board
from audits.model.config import Config
from audits.household.graph import overlinked_codes

PHONE_COLUMNS = ("home_phone", "cell_phone", "work_phone")

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


@dataclass(frozen=True)
class PairEvidence:
    """One compared pair of contact records."""

    a: str
    b: str
    """Contact ids, ``a < b``."""
    score: float
    """The pair's match probability under the board's model."""
    fields: dict[str, dict] = field(default_factory=dict)
    """Per comparison: ``{"verdict": same|similar|different|missing, "level", "words", "a",
    "b", "note", "weight", "household_weight"}``; weights in bits (log2), splink's waterfall:
    ``prior + sum of weight + others == log2(score / (1 - score))``."""
    prior: float = 0.0
    """log2 of the prior odds of one person against two random records (the board's)."""
    others: float = 0.0
    """log2 of what the household and relative classes take off (two people of one household
    or family explain the agreement too); zero where the board shows no households."""


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
    model: object = field(default=None, repr=False, compare=False)
    """The board's estimated model (:class:`audits.household.matching.model.Model`), when matching ran."""
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
    groups: np.ndarray  # (n, NICKNAME_WIDTH) nickname group numbers (block keys), -1 for none
    nicknames: dict  # folded given name -> numbers of its nickname groups (all of them)
    first_tf: np.ndarray  # (n,) term-frequency adjustment of agreeing on this first name
    last_tf: np.ndarray  # (n,) the same for the surname
    email: np.ndarray
    email_spaced: np.ndarray  # lowercased and trimmed, inner spaces kept
    email_loose: np.ndarray  # without dots, underscores, hyphens or spaces
    email_named: np.ndarray  # (n,) 0 not yet known, 1 the email is made of the record's names, 2 not
    name_groups: tuple  # the nickname groups (config.nicknames)
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

    def named_emails(self, positions: np.ndarray) -> np.ndarray:
        """Per record position: its email is made of its own names (:func:`_named_emails`),
        worked out on first need (only pairs whose emails nearly agree ask)."""
        positions = np.asarray(positions, dtype=np.int64)
        todo = np.unique(positions[self.email_named[positions] == 0])
        if len(todo):
            named = _named_emails(self.email_spaced[todo], self.first[todo], self.last[todo],
                                  self.nicknames, self.name_groups)
            self.email_named[todo] = np.where(named, 1, 2)
        return self.email_named[positions] == 1

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
    nicknames = normalize.nickname_index(config.nicknames)
    groups = normalize.first_name_groups(first, nicknames, width=NICKNAME_WIDTH)
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
        groups=groups.to_numpy(), nicknames=nicknames,
        first_tf=term_frequency_adjustment(first), last_tf=term_frequency_adjustment(last),
        email=email_forms[:, 0], email_spaced=email_forms[:, 1], email_loose=email_forms[:, 2],
        email_named=np.zeros(len(contacts), dtype=np.int8), name_groups=config.nicknames,
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


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _named_emails(emails: np.ndarray, first: np.ndarray, last: np.ndarray,
                  index: dict[str, tuple[int, ...]], groups: tuple[frozenset[str], ...]
                  ) -> np.ndarray:
    """Per record: the email's local part is made of the record's own names or a form of its
    given name (``jane.roy@``, ``jroy@``, ``roy_jane@``, ``james.nguyen@`` for Jimmy Nguyen):
    agreeing on such a local part says what agreeing on the names says, so the email
    comparison counts it only where it says more (see comparing._emails). Worked out once per
    distinct (email, given name, surname)."""
    named = np.zeros(len(emails), dtype=bool)
    has = np.flatnonzero(emails != "")
    if not len(has):
        return named
    codes, distinct = pd.factorize(pd.MultiIndex.from_arrays(
        [emails[has], first[has], last[has]]))
    forms: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    locals_: dict[str, str] = {}
    values = np.zeros(len(distinct), dtype=bool)
    for number, (email, given, surname) in enumerate(distinct):
        if given not in forms:
            # The given name's known forms (the nickname groups) and their initials.
            others = {_NOT_ALNUM.sub("", o) for g in index.get(given, ()) for o in groups[g]}
            forms[given] = (frozenset(others - {""}), frozenset(o[:1] for o in others if o))
        if email not in locals_:
            locals_[email] = _NOT_ALNUM.sub("", normalize.fold(email.split("@")[0]))
        values[number] = _local_is_names(locals_[email], given, surname, *forms[given])
    named[has] = values[codes]
    return named


# Nickname groups kept per given name (the first few: a short form may belong to many).
NICKNAME_WIDTH = 6


def _local_is_names(local: str, first: str, last: str, forms: frozenset[str] = frozenset(),
                    form_initials: frozenset[str] = frozenset()) -> bool:
    """``local`` (an email's local part, letters and digits only) is made of the names: it
    splits wholly into name parts (Martin Martin is martin.martin@), their initials and the
    known forms of the given name (james.nguyen@ for Jimmy Nguyen), with at most one other
    letter (a middle initial). A digit is never a name: jroy77@ says more than the names."""
    parts = [_NOT_ALNUM.sub("", part) for part in f"{first} {last}".replace("-", " ").split()]
    tokens = {p for p in parts if p} | {p[:1] for p in parts if p} | set(forms) \
        | set(form_initials)
    tokens = [token for token in tokens if token and token in local]
    # Word break: reach[i] is 0 where local[:i] splits into tokens, 1 where it does with one
    # letter skipped, 2 where neither.
    reach = [2] * (len(local) + 1)
    reach[0] = 0
    for i in range(len(local)):
        state = reach[i]
        if state == 2:
            continue
        for token in tokens:
            if local.startswith(token, i):
                reach[i + len(token)] = min(reach[i + len(token)], state)
        if state == 0 and not local[i].isdigit():
            reach[i + 1] = min(reach[i + 1], 1)
    return bool(local) and reach[-1] < 2


def _by_id(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame`` in the order of its ids, reindexed 0..n-1. (A repeated id is an input problem
    the validation stops on, so ids decide the order completely.)"""
    order = np.argsort(frame[key].astype(str).to_numpy(dtype=str), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def term_frequency_adjustment(values: pd.Series) -> np.ndarray:
    """Per record: the random class's term-frequency adjustment of agreeing exactly on *its*
    value (splink's): ``log(share of the value / u of exact agreement)``, where u is the chance
    two random records agree at all. Agreeing on a rare surname is strong evidence; on "Smith"
    weak. Zero where the board has too few values to count (see linkage.TF_MIN_VALUES)."""
    text = values.to_numpy(dtype=object)
    codes, distinct = pd.factorize(text)
    if len(text) == 0:
        return np.zeros(0)
    counts = np.bincount(codes, minlength=len(distinct)).astype(float)
    empty = np.flatnonzero(distinct == "")
    counts[empty] = 0
    known = counts.sum()
    if known < linkage.TF_MIN_VALUES:
        return np.zeros(len(text))
    share = np.maximum(counts / known, 1.0 / known)
    adjustment = np.log(share / float(((counts / known) ** 2).sum()))
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
    family (component of sibling links and shared parental records), home key, role class.
    An overlinked contact record's rows are left out (:func:`audits.household.graph.overlinked_codes`)."""
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
    overlinked = overlinked_codes(links["contact"].to_numpy(), links["student"].to_numpy(),
                                  config.max_students_per_contact)
    if len(overlinked):
        # Such a record is no family's parent: through it every student would be one family,
        # and each of its pairs would compare thousands of links. Its own fields still compare.
        links = links[~np.isin(links["contact"].to_numpy(), overlinked)].reset_index(drop=True)
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
    # The student's surname alone (the household comparison's "share a surname" level).
    kin = pd.factorize(surname.to_numpy(dtype=object))[0]
    kin = np.where(surname.to_numpy(dtype=object) != "", kin, -1)
    links["kin"] = kin[links["student"].to_numpy()].astype(np.int32)
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
    # The initials of the names narrow a recurring address key too: a person typed twice at
    # one address keeps an initial where the town or the postal code was mistyped.
    places = ((postal.prefix(3), postal.known), (city.codes, city.known),
              (first.prefix(1), first.known), (last.prefix(1), last.known))

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
    # Given name and surname both garbled or swapped: the given name with the city, the civic
    # number with the postal code, the street name with the city.
    add("city+first4", city.known & first.known, city.codes, first.prefix(4), limit=small)
    add("postal+civic", postal.known & civic.known, postal.codes, civic.codes, limit=small)
    add("city+street", city.known & street.known, city.codes, street.codes, limit=small)
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
    return candidate_pairs_by_pass(f, max_block, name_block)[0]


def candidate_pairs_by_pass(f: _Features, max_block: int, name_block: int = 8
                            ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(pairs, passes, pass names): the candidate pairs, and per pair a bit mask of the
    blocking passes that made it (bit i for ``pass names[i]``): the model's EM sessions each
    read the pairs of the passes that leave its comparisons free."""
    n = len(f.ids)
    names: list[str] = []
    bases: list[int] = []
    # Block and member packed in one integer (block * n + position), pass by pass: the passes'
    # arrays are freed as soon as they are packed.
    packed = _distinct(np.concatenate([np.zeros(0, dtype=np.int64)]
                                      + list(_packed_members(f, name_block, max_block,
                                                             names, bases))))
    # (A record with one key twice, the same number as home and cell, is one member.)
    code, pos = packed // n, packed % n
    del packed
    sizes = np.bincount(code)
    keep = (sizes[code] >= 2) & (sizes[code] <= max_block)
    code, pos = code[keep], pos[keep]
    del keep, sizes
    pass_of = (np.searchsorted(np.asarray(bases, dtype=np.int64), code, side="right") - 1
               ).astype(np.int64)
    # Members are sorted by block, then position: each member pairs with the members after it
    # in its block, so every pair comes once per shared block with ``a < b``.
    block_start = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    size = np.diff(np.r_[block_start, len(code)])
    offset = np.arange(len(code)) - np.repeat(block_start, size)
    partners = np.repeat(size, size) - 1 - offset
    del code, offset, block_start, size
    # Pairs made a slice of members at a time, each slice's repeats dropped before the next:
    # a member's pairs hold several arrays as long as they are. The pass is packed below the
    # pair (``_PASS_BITS``), so a pair made by two passes is two entries until the end.
    ends = np.cumsum(partners)
    cuts = np.searchsorted(ends, np.arange(_PAIR_SLICE, int(ends[-1]) if len(ends) else 0,
                                           _PAIR_SLICE), side="right")
    found = []
    for low, high in zip(np.r_[0, cuts], np.r_[cuts, len(partners)]):
        count = partners[low:high]
        member = np.repeat(np.arange(low, high), count)
        step = np.arange(len(member)) - np.repeat(np.cumsum(count) - count, count) + 1
        found.append(_distinct(((pos[member] * n + pos[member + step]) << _PASS_BITS)
                               | pass_of[member]))
        del member, step
    packed = _distinct(np.concatenate([np.zeros(0, dtype=np.int64)] + found))
    del found
    pair_code = packed >> _PASS_BITS
    bits = np.left_shift(1, packed & ((1 << _PASS_BITS) - 1)).astype(np.int64)
    del packed
    first = np.flatnonzero(np.r_[True, pair_code[1:] != pair_code[:-1]]) if len(pair_code) \
        else np.zeros(0, dtype=np.int64)
    mask = np.bitwise_or.reduceat(bits, first) if len(first) else np.zeros(0, dtype=np.int64)
    pair_code = pair_code[first]
    return np.stack([pair_code // n, pair_code % n], axis=1), mask, tuple(names)


# Bits that hold a blocking pass's number below a packed pair.
_PASS_BITS = 4


# Candidate pairs (with repeats) made at once; see candidate_pairs.
_PAIR_SLICE = 1 << 22


def _packed_members(f: _Features, name_block: int, max_block: int,
                    names: list[str] | None = None, bases: list[int] | None = None
                    ) -> Iterable[np.ndarray]:
    """Per blocking pass, ``block * n + record position`` of every membership, the blocks
    numbered past the previous passes' (each pass its own namespace). ``names`` and ``bases``
    are filled with each pass's name and first block number."""
    n, base = len(f.ids), 0
    passes = _block_passes(f, name_block, max_block)
    while passes:
        name, members, codes = passes.pop(0)
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes):
            if names is not None:
                names.append(name)
                bases.append(base)
            yield (codes + base) * n + np.asarray(members, dtype=np.int64)
            # (Every pass's keys are small non-negative integers already: offsetting is enough.)
            base += int(codes.max()) + 1


# ---------------------------------------------------------------------------------- links
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
        self.kin = links["kin"].to_numpy()[order]
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




# ---------------------------------------------------------------------------------- scoring
@dataclass
class _Scored:
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


def fit_model(f: _Features, compared: Compared, passes: np.ndarray, pass_names: Sequence[str],
              config: Config) -> linkage.Model:
    """The board's model: u from random pairs of its records, m and h by EM sessions on its
    candidate pairs (see :mod:`audits.household.matching.model`)."""
    sample = compare_in_slices(f, random_pairs(len(f.ids), linkage.RANDOM_PAIRS))
    return linkage.estimate(compared.levels, passes, pass_names, sample.levels, len(f.ids),
                            min_pairs=config.threshold("em_min_pairs"), tf_u=compared.tf_u)


def score_pairs(f: _Features, pairs: np.ndarray, config: Config,
                model: linkage.Model | None = None, passes: np.ndarray | None = None,
                pass_names: Sequence[str] = ()) -> _Scored:
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
    return _Scored(compared.pairs, score, veto, compared, log_l, model)


# ---------------------------------------------------------------------------------- clusters
def _components(n: int, pairs: np.ndarray) -> np.ndarray:
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


# Components up to this many records have every pair inside compared (for the linkage rule).
_INNER_LIMIT = 100


def match_contacts(board: Board, config: Config) -> ContactMatches:
    """Every group of two or more contact records that look like one human."""
    f = _features(board, config)
    n = len(f.ids)
    if n < 2:
        return ContactMatches(())
    pairs, passes, pass_names = candidate_pairs_by_pass(
        f, int(config.threshold("max_block_size")), int(config.threshold("name_block_size")))
    if len(pairs) == 0:
        return ContactMatches(())
    scored = score_pairs(f, pairs, config, passes=passes, pass_names=pass_names)
    threshold = config.threshold("duplicate_contact")
    accepted = (scored.score >= threshold) & ~scored.veto
    acc_pairs = pairs[accepted]
    component = _components(n, acc_pairs)
    comp_of_pair = component[acc_pairs[:, 0]] if len(acc_pairs) else np.zeros(0, dtype=np.int64)
    order = np.argsort(comp_of_pair, kind="stable")
    bounds = np.flatnonzero(np.diff(comp_of_pair[order])) + 1
    chunks = np.split(order, bounds) if len(order) else []
    acc_index = np.flatnonzero(accepted)
    probability: dict[tuple[int, int], float] = {}
    vetoed: set[tuple[int, int]] = set()
    # Three or more records: compare every pair inside (in one batch) with the board's model,
    # so the linkage rule sees the pairs that blocking never made.
    inner_pairs = []
    for chunk in chunks:
        members = sorted({int(x) for r in chunk.tolist() for x in acc_pairs[r]})
        if 2 < len(members) <= _INNER_LIMIT:
            inner_pairs.extend((x, y) for i, x in enumerate(members) for y in members[i + 1:])
    big = np.zeros(len(pairs), dtype=bool)
    if len(chunks):
        sizes = np.bincount(component)
        big = (sizes[component[pairs[:, 0]]] > 2) & (component[pairs[:, 0]] == component[pairs[:, 1]])
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
    groups: list[tuple[list[int], list[int], float]] = []
    for chunk in chunks:
        rows = chunk.tolist()
        members = sorted({int(x) for r in rows for x in acc_pairs[r]})
        if len(members) == 2:
            groups.append((members, rows, float(scored.score[acc_index[rows[0]]])))
            continue
        edges = [(float(scored.score[acc_index[r]]), int(acc_pairs[r][0]), int(acc_pairs[r][1]))
                 for r in rows]
        for group, confidence in _average_linkage(members, edges, probability, vetoed, f.ids,
                                                  threshold):
            group_rows = [r for r in rows if acc_pairs[r][0] in group and acc_pairs[r][1] in group]
            groups.append((sorted(group), group_rows, confidence))
    clusters = []
    tables = _weight_tables(scored.model)
    for members, rows, confidence in groups:
        evidence = tuple(sorted((_evidence(f, scored, int(acc_index[r]), tables) for r in rows),
                                key=lambda e: (e.a, e.b)))
        ids = tuple(sorted(str(f.ids[m]) for m in members))
        clusters.append(ContactCluster(ids, round(float(confidence), 4), evidence))
    clusters.sort(key=lambda c: c.contacts)
    return ContactMatches(tuple(clusters), model=scored.model)


# ---------------------------------------------------------------------------------- evidence
_LOG2 = float(np.log(2.0))


def _weight_tables(model: linkage.Model) -> dict[str, tuple[list[float], list[float]]]:
    """Per comparison, each level's match weight and household weight in bits (log2), as plain
    lists: worked out once, read per pair shown."""
    return {c.name: ((model.match_weight(c.name) / _LOG2).tolist(),
                     (model.household_weight(c.name) / _LOG2).tolist())
            for c in linkage.COMPARISONS}


def _evidence(f: _Features, scored: _Scored, row: int,
              tables: dict[str, tuple[list[float], list[float]]] | None = None) -> PairEvidence:
    """Per comparison: the level, its words, both values as typed, and its weight in the total
    (log2 of m over u, splink's match weight; the household weight log2 of m over h beside
    it)."""
    x, y = int(scored.pairs[row][0]), int(scored.pairs[row][1])
    if str(f.ids[x]) > str(f.ids[y]):
        x, y = y, x
    tables = tables or _weight_tables(scored.model)
    levels = scored.levels
    fields: dict[str, dict] = {}
    first, last = f.raw_column("first_name"), f.raw_column("last_name")
    email, postal = f.raw_column("email"), f.raw_column("postal_code")
    phones_x = [str(p) for p in f.phones[x] if p]
    phones_y = [str(p) for p in f.phones[y] if p]
    shared = sorted(set(phones_x) & set(phones_y))
    values = {
        "first_name": (first[x], first[y]), "last_name": (last[x], last[y]),
        "email": (email[x], email[y]),
        "phone": (", ".join(_show_phone(p) for p in phones_x),
                  ", ".join(_show_phone(p) for p in phones_y)),
        "address": (_address(f, x, postal), _address(f, y, postal)),
        "city": (f.raw_column("city")[x], f.raw_column("city")[y]),
    }
    for comparison in linkage.COMPARISONS:
        level = int(levels[comparison.name][row])
        tf = scored.compared.tf_u.get(comparison.name)
        match_weight, household_weight = tables[comparison.name]
        weight = match_weight[level] - (float(tf[row]) / _LOG2 if tf is not None else 0.0)
        a_value, b_value = values.get(comparison.name, ("", ""))
        level_name = comparison.levels[level].name
        note = _NOTES.get((comparison.name, level_name), "")
        if comparison.name == "phone" and shared:
            note = "shared: " + ", ".join(c for c, p in zip(PHONE_COLUMNS, f.phones[x])
                                          if p in shared)
        fields[comparison.name] = {
            "verdict": _VERDICT[level_name], "level": level_name,
            "words": comparison.levels[level].words,
            "a": a_value, "b": b_value, "note": note,
            "weight": round(weight, 2), "household_weight": round(household_weight[level], 2)}
    fields["address"]["postal_code"] = (postal[x], postal[y])
    log_l = scored.log_likelihood[row]
    others = np.logaddexp.reduce(log_l[[linkage.HOUSEHOLD, linkage.RELATIVE, linkage.RANDOM]])
    weight = scored.model.class_weight
    return PairEvidence(str(f.ids[x]), str(f.ids[y]), round(float(scored.score[row]), 4), fields,
                        prior=round(float(np.log(weight[linkage.MATCH] / weight[linkage.RANDOM])
                                          / _LOG2), 2),
                        others=round(float(log_l[linkage.RANDOM] - others) / _LOG2, 2))


# A few words beside the values, where the level is not plain from them.
_NOTES = {("first_name", "nickname"): "nickname", ("first_name", "variant"): "another form",
          ("first_name", "slip"): "one letter apart", ("first_name", "similar"): "spelling",
          ("first_name", "initial"): "initial", ("last_name", "part"): "part of a compound surname",
          ("last_name", "slip"): "spelling", ("last_name", "similar"): "spelling",
          ("email", "typo"): "one-character typo", ("email", "local_part"): "another domain",
          ("email", "separators"): "only dots, underscores or spaces differ",
          ("phone", "one_digit"): "one digit apart",
          ("address", "exact_postal_typo"): "postal code typo",
          ("address", "exact_street"): "another postal code",
          ("address", "other_unit"): "same building, another unit",
          ("address", "other_civic"): "another civic number", ("address", "similar"): "spelling",
          ("address", "similar_postal_typo"): "spelling", ("address", "similar_street"): "spelling",
          ("address", "postal_only"): "same postal code", ("address", "city_only"): "moved?",
          ("address", "different"): "moved?"}

# The contract's plain words for a level: same / similar / different / missing.
_VERDICT = {"null": "missing", "exact": "same", "nickname": "similar", "variant": "different",
            "slip": "similar", "similar": "similar", "initial": "similar", "different": "different",
            "part": "similar", "typo": "similar", "local_part": "similar", "separators": "similar",
            "one_digit": "similar", "exact_street": "similar", "other_unit": "different",
            "other_civic": "different", "similar_street": "similar", "postal_only": "different",
            "city_only": "different", "exact_postal_typo": "similar",
            "similar_postal_typo": "similar", "postal_typo_only": "different",
            "family": "same", "home": "same", "surname": "similar", "none": "different",
            "same": "same", "gender": "different", "generation": "different", "other": "different",
            "both_parental": "different", "mixed": "different"}


def _show_phone(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits


def _address(f: _Features, position: int, postal: np.ndarray) -> str:
    return ", ".join(part for part in (str(f.raw_column("street")[position]).strip(),
                                       str(f.raw_column("city")[position]).strip(),
                                       str(postal[position]).strip()) if part)


__all__: Iterable[str] = ("PairEvidence", "ContactCluster", "ContactMatches", "match_contacts",
                          "candidate_pairs", "score_pairs", "fit_model", "random_pairs")
