"""The household context of each contact record: its student links, as the matcher reads them.

One row per student link (:func:`contact_links`): the contact record's and the student's
positions, the role class of the relationship (Mother, Father, Grandparent, another parental
relationship), the student's family (students joined by sibling links or a shared parental
record) and home (the student's address and surname). :class:`LinkTable` groups the rows by
record for the household comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audits.household.graph import overlinked_codes
from audits.household.matching import normalize
from audits.household.matching.codes import by_id, tuple_codes
from audits.household.matching.comparisons import (ROLE_FATHER, ROLE_GRANDPARENT, ROLE_MOTHER,
                                                    ROLE_NONE, ROLE_PARENT)
from audits.model.board import Board
from audits.model.config import Config

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


def role_class(relationships: pd.Series, config: Config) -> np.ndarray:
    """Per relationship (free text), its role class: Mother, Father, Grandparent, another
    parental relationship of the config, or none."""
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


def contact_links(board: Board, config: Config, contacts: pd.DataFrame) -> pd.DataFrame:
    """One row per student_contacts row: contact position, student position, the student's
    family (component of sibling links and shared parental records), home key, role class.
    An overlinked contact record's rows are left out (:func:`audits.household.graph.overlinked_codes`)."""
    # Only the columns the home key reads: a copy of the whole table is large on a big board.
    students = by_id(board.students[["student_id", "street", "postal_code", "last_name"]],
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
    home_codes = pd.Series(tuple_codes(
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


class LinkTable:
    """The student links of the contact records, grouped by record (positions ``start`` to
    ``start + count``), as plain arrays: a pair's links are found by position, not by a join."""

    def __init__(self, links: pd.DataFrame, n: int) -> None:
        """``links`` (:func:`contact_links`) of ``n`` contact records."""
        contact = links["contact"].to_numpy(dtype=np.int64)
        order = np.argsort(contact, kind="stable")
        self.count = np.bincount(contact, minlength=n).astype(np.int64)
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
