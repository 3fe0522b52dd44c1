"""The duplicate-contact matcher: which contact records are one human.

Record linkage in four steps, each vectorised so a 250,000-student board stays fast, each in
its own module of this package:

1. **Features** (:mod:`~audits.household.matching.features`): every contact record's names,
   email, phones and address normalised and coded once per distinct value, plus its household
   context from the board (:mod:`~audits.household.matching.links`).
2. **Blocking** (:mod:`~audits.household.matching.blocking`): candidate pairs are the records
   that share a block key of one of the declared passes (email, any phone, a name key, postal
   code + surname, street address, family, home...).
3. **Scoring** (:mod:`~audits.household.matching.scoring`): each pair's level in every
   comparison and its match probability under the board's own estimated model
   (:mod:`~audits.household.matching.model`), less the vetoes.
4. **Clustering** (:mod:`~audits.household.matching.clusters`): connected components of
   accepted pairs, split by average linkage; each accepted pair carries its evidence
   (:mod:`~audits.household.matching.evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from audits.household.matching.blocking import candidate_pairs_by_pass
from audits.household.matching.clusters import person_groups
from audits.household.matching.evidence import PairEvidence, pair_evidence, weight_tables
from audits.household.matching.features import contact_features
from audits.household.matching.scoring import score_pairs
from audits.model.board import Board
from audits.model.config import Config


@dataclass(frozen=True)
class ContactCluster:
    """Two or more contact records of one human, with the pairs that joined them."""

    contacts: tuple[str, ...]
    """Sorted: two or more records of one human."""
    confidence: float
    pairs: tuple[PairEvidence, ...]
    """The accepted pairs that built the cluster."""


@dataclass(frozen=True)
class ContactMatches:
    """The matcher's answer for a board: its clusters, looked up by contact id."""

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
        """The cluster holding ``contact_id``, if any."""
        number = self._by_contact.get(contact_id)
        return None if number is None else self.clusters[number]

    def person_key(self, contact_id: str) -> str:
        """The same key for every record of one human (the cluster's lowest id), else the id."""
        cluster = self.cluster_of(contact_id)
        return cluster.contacts[0] if cluster else contact_id


def match_contacts(board: Board, config: Config) -> ContactMatches:
    """Every group of two or more contact records that look like one human."""
    f = contact_features(board, config)
    if len(f.ids) < 2:
        return ContactMatches(())
    pairs, passes, pass_names = candidate_pairs_by_pass(
        f, int(config.threshold("max_block_size")), int(config.threshold("name_block_size")))
    if len(pairs) == 0:
        return ContactMatches(())
    scored = score_pairs(f, pairs, config, passes=passes, pass_names=pass_names)
    tables = weight_tables(scored.model)
    clusters = []
    for members, rows, confidence in person_groups(f, pairs, scored, config):
        evidence = tuple(sorted((pair_evidence(f, scored, row, tables) for row in rows),
                                key=lambda e: (e.a, e.b)))
        ids = tuple(sorted(str(f.ids[m]) for m in members))
        clusters.append(ContactCluster(ids, round(float(confidence), 4), evidence))
    clusters.sort(key=lambda c: c.contacts)
    return ContactMatches(tuple(clusters), model=scored.model)


__all__: Iterable[str] = ("ContactCluster", "ContactMatches", "match_contacts")
