"""The ``unlinked-siblings`` check: students of one family that are not linked as siblings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity, stable_id
from audits.model.actions import FixAction, LinkSiblings, Manual
from audits.preview import person_keys
from audits.household.graph import CONTACT, STUDENT
from audits.checks.spec import FixSpec, check
from audits.checks.steps import FAMILY_CONTACTS, SIBLINGS, names_of, numbered, record, screen

if TYPE_CHECKING:
    from audits.household.matching.matcher import ContactMatches

CODE = "unlinked-siblings"
SNAPSHOT_NODES = 40
"""The most records the household picture of a family with more pairs than listed starts from."""


def parental_links(context: AuditContext) -> pd.DataFrame:
    """(student_id, contact_id, person) for every parental link of an active student; ``person``
    is the same for records of one human (``context.contact_matches``). An overlinked contact
    record's links are left out before any pair is made: it is no family's parent, and the
    overlinked-contact check reports it."""
    board = context.board
    links = board.student_contacts[["student_id", "contact_id", "relationship"]]
    if context.overlinked_contacts:
        links = links[~links["contact_id"].isin(context.overlinked_contacts)]
    # Few distinct relationships: fold each once, not once per link.
    codes, relationships = pd.factorize(links["relationship"])
    parental_of = pd.Index(relationships).str.strip().str.lower().isin(
        context.config.parental_relationships)
    parental = pd.Series(np.append(parental_of, False)[codes], index=links.index)
    students = board.students
    active = students.loc[students["status"] == "active", "student_id"]
    links = links[parental & links["student_id"].isin(active)]
    links = links.drop_duplicates(["student_id", "contact_id"]).reset_index(drop=True)
    links["person"] = person_keys(context, links["contact_id"]).to_numpy()
    return links


def pairs_sharing(groups: np.ndarray, students: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """Every pair ``a < b`` of student codes that share a group code (a record or a person), as
    three aligned arrays ``(group, a, b)``; each (group, a, b) once."""
    size = int(students.max()) + 1 if len(students) else 1
    members = np.unique(groups.astype(np.int64) * size + students)
    group, student = members // size, members % size
    # Members are sorted by group, then student: each pairs with the later members of its group.
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.repeat(np.r_[starts[1:], len(group)], np.diff(np.r_[starts, len(group)]))
    later = ends - np.arange(len(group)) - 1
    first = np.repeat(np.arange(len(group)), later)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(later) - later, later)
    second = first + 1 + offset
    return group[first], student[first], student[second]


def _linked_pairs(siblings: pd.DataFrame, students: pd.Index, size: int) -> np.ndarray:
    """The sibling links between ``students`` (codes are positions in it), as ``a * size + b``
    with ``a < b`` (the SIS holds links undirected, once or twice)."""
    a = students.get_indexer(siblings["student_id"])
    b = students.get_indexer(siblings["sibling_id"])
    known = (a >= 0) & (b >= 0)
    a, b = a[known].astype(np.int64), b[known].astype(np.int64)
    return np.unique(np.minimum(a, b) * size + np.maximum(a, b))


def family_members(a: np.ndarray, b: np.ndarray, wanted: np.ndarray, size: int) -> tuple[
        np.ndarray, np.ndarray]:
    """``(student, family)`` for every student code in a connected component of the pairs
    (a, b) that holds one of the ``wanted`` codes; families are numbered 0.. in the order of
    their lowest code, and rows sorted by family, then student. Codes follow id order, so this
    is id order too."""
    matrix = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(size, size))
    _, component = connected_components(matrix, directed=False)
    in_pairs = np.zeros(size, dtype=bool)
    in_pairs[a] = True
    in_pairs[b] = True
    needed = np.zeros(int(component.max()) + 1, dtype=bool)
    needed[component[wanted]] = True
    members = np.flatnonzero(in_pairs & needed[component])  # sorted by code
    components, first = np.unique(component[members], return_index=True)
    rank = np.empty(len(components), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(components))
    family = rank[np.searchsorted(components, component[members])]
    order = np.argsort(family, kind="stable")
    return members[order], family[order]


@dataclass(frozen=True)
class _BoardPairs:
    """The board's students as codes (in id order) and the pairs of them one parent joins."""

    student_ids: np.ndarray
    size: int
    persons: np.ndarray
    by_person: np.ndarray
    person_a: np.ndarray
    person_pairs: np.ndarray
    family_pairs: np.ndarray
    record_pairs: np.ndarray
    missing: np.ndarray


@dataclass(frozen=True)
class _FamilyRows:
    """Per family number: its missing pairs, the persons joining it only through duplicate
    records, and its parental links as (student, contact, relationship, person)."""

    missing: dict[int, list[tuple[str, str]]]
    persons_joining: dict[int, set[str]]
    links: dict[int, list[tuple[str, str, str, str]]]


def _board_pairs(links: pd.DataFrame, siblings: pd.DataFrame) -> _BoardPairs | None:
    """The student pairs a shared parent joins and those of them with no sibling link; None when
    no pair is missing its link."""
    # Student codes in id order, so ``a < b`` on codes is ``a < b`` on ids.
    student_codes, student_ids = pd.factorize(links["student_id"], sort=True)
    student_ids = np.asarray(student_ids, dtype=object)
    size = len(student_ids)
    person_codes, persons = pd.factorize(links["person"])
    by_person, person_a, person_b = pairs_sharing(person_codes, student_codes)
    if len(by_person) == 0:
        return None
    person_pairs = person_a.astype(np.int64) * size + person_b
    family_pairs = np.unique(person_pairs)
    _, record_a, record_b = pairs_sharing(pd.factorize(links["contact_id"])[0], student_codes)
    record_pairs = np.unique(record_a.astype(np.int64) * size + record_b)
    missing = family_pairs[~np.isin(family_pairs, _linked_pairs(siblings,
                                                                 pd.Index(student_ids), size))]
    if len(missing) == 0:
        return None
    return _BoardPairs(student_ids, size, np.asarray(persons, dtype=object), by_person, person_a,
                       person_pairs, family_pairs, record_pairs, missing)


def _families(pairs: _BoardPairs) -> tuple[dict[str, int], list[list[str]]]:
    """The family number of each student in a family with a missing link, and each family's
    students in id order."""
    # Families are components of students joined by a shared parent, linked or not; only those
    # with a missing link get a finding.
    size = pairs.size
    member_codes, member_family = family_members(pairs.family_pairs // size,
                                                 pairs.family_pairs % size,
                                                 pairs.missing // size, size)
    family_of: dict[str, int] = dict(zip(pairs.student_ids[member_codes].tolist(),
                                         member_family.tolist()))
    families: list[list[str]] = [[] for _ in range(int(member_family.max()) + 1)]
    for student, family in zip(pairs.student_ids[member_codes].tolist(), member_family.tolist()):
        families[family].append(student)
    return family_of, families


def _joined_through_duplicates(pairs: _BoardPairs) -> np.ndarray:
    """Which person pairs join a missing pair that shares no single record."""
    # A pair that shares no single record is only joined through matched duplicate records:
    # the finding is as sure as the weakest such match.
    through_pairs = pairs.missing[~np.isin(pairs.missing, pairs.record_pairs)]
    return np.isin(pairs.person_pairs, through_pairs)


def _rows_by_family(pairs: _BoardPairs, joining: np.ndarray, family_of: dict[str, int],
                    links: pd.DataFrame) -> _FamilyRows:
    """The missing pairs, joining persons and parental links bucketed by family, in one pass."""
    # Plain Python from here on: one pass to bucket rows by family, then per-family work only.
    student_ids, size = pairs.student_ids, pairs.size
    missing_in: dict[int, list[tuple[str, str]]] = {}
    for a, b in zip(student_ids[pairs.missing // size].tolist(),
                    student_ids[pairs.missing % size].tolist()):
        missing_in.setdefault(family_of[a], []).append((a, b))
    persons_joining: dict[int, set[str]] = {}
    for a, person in zip(student_ids[pairs.person_a[joining]].tolist(),
                         pairs.persons[pairs.by_person[joining]].tolist()):
        persons_joining.setdefault(family_of[a], set()).add(person)
    in_family = links[links["student_id"].isin(family_of.keys())]
    links_in: dict[int, list[tuple[str, str, str, str]]] = {}
    for row in zip(in_family["student_id"].tolist(), in_family["contact_id"].tolist(),
                   in_family["relationship"].str.strip().tolist(), in_family["person"].tolist()):
        links_in.setdefault(family_of[row[0]], []).append(row)
    return _FamilyRows(missing_in, persons_joining, links_in)


def _shared_parent_links(family_links: list[tuple[str, str, str, str]]) -> tuple[
        list[tuple[str, str, str, str]], list[str]]:
    """The family's links to a parent shared by two or more of its students, and those contact
    records in id order."""
    students_of_person: dict[str, set[str]] = {}
    for student, _, _, person in family_links:
        students_of_person.setdefault(person, set()).add(student)
    shared = [row for row in family_links if len(students_of_person[row[3]]) > 1]
    return shared, sorted({contact for _, contact, _, _ in shared})


def _duplicate_records(persons: Iterable[str], family_links: list[tuple[str, str, str, str]],
                       matches: ContactMatches | None) -> tuple[float, list[str]]:
    """The confidence of the weakest match joining the family, and its duplicate records each as
    ``"C1 = C2"``."""
    confidence = 1.0
    duplicate_records = []
    for person in sorted(persons):
        records = sorted({contact for _, contact, _, p in family_links if p == person})
        cluster = matches.cluster_of(records[0]) if matches is not None else None
        if cluster is not None:
            confidence = min(confidence, float(cluster.confidence))
        duplicate_records.append(" = ".join(records))
    return confidence, duplicate_records


def _evidence(family: list[str], every_pair: list[tuple[str, str]], contacts: list[str],
              family_links: list[tuple[str, str, str, str]],
              duplicate_records: list[str]) -> dict[str, str]:
    """The finding's evidence: the family's size, its missing links, and its shared parents."""
    parents = []
    for contact in contacts:
        relationships = sorted({rel for _, c, rel, _ in family_links if c == contact})
        children = sorted({s for s, c, _, _ in family_links if c == contact})
        parents.append(f"{contact} ({', '.join(relationships)} of {', '.join(children)})")
    evidence = {
        "family_size": str(len(family)),
        "missing_links": str(len(every_pair)),
        "shared_parents": "; ".join(parents),
    }
    if duplicate_records:
        evidence["joined_through_duplicate_records"] = "; ".join(duplicate_records)
    return evidence


def _steps_and_fix(names: dict[str, str], family: list[str], pairs: list[tuple[str, str]],
                   every_pair: list[tuple[str, str]], more: int) -> tuple[list[str], FixAction]:
    """The clerk's steps and the fix: link the listed pairs, or, for a family missing more links
    than are listed, leave it to a person."""
    steps = [f"{screen('Students', record(names, a), FAMILY_CONTACTS, SIBLINGS)}: click +, "
             f"choose {record(names, b)}, save." for a, b in pairs]
    steps.append("A sibling link works both ways: adding it from one of the two students "
                 "is enough.")
    if more:
        # No family has that many children: linking them all on the strength of the shared
        # records would join families that only share a wrongly picked record. A person
        # looks first, so the fix is manual.
        steps.insert(0, f"This family of {len(family):,} students is missing "
                        f"{len(every_pair):,} sibling links, more than any family has: check "
                        "the shared parent records first (one record picked for several "
                        "families is split, not linked). Only the first "
                        f"{len(pairs):,} links are listed.")
        steps.append(f"{more:,} more missing links are not listed: run the audit again "
                     "once these are done.")
        return steps, Manual(details={"pairs": [list(pair) for pair in pairs],
                                      "students": list(family), "pairs_total": len(every_pair)},
                             steps=tuple(numbered(steps)))
    return steps, LinkSiblings(pairs=tuple(pairs), students=tuple(family),
                               steps=tuple(numbered(steps)))


def _snapshot_seeds(family: list[str], contacts: list[str], pairs: list[tuple[str, str]],
                    more: int) -> list[tuple[str, str]]:
    """The nodes the household picture starts from: the whole family, or for a family with
    more pairs than listed, the shared records and the students of the listed pairs."""
    seeds = [(STUDENT, s) for s in family] + [(CONTACT, c) for c in contacts]
    if more:
        # A picture, not a list: the shared records and the students of the first pairs.
        listed = list(dict.fromkeys(s for pair in pairs for s in pair))
        seeds = ([(CONTACT, c) for c in contacts[:SNAPSHOT_NODES // 4]]
                 + [(STUDENT, s) for s in listed])[:SNAPSHOT_NODES]
    return seeds


def _family_finding(context: AuditContext, family: list[str], missing: list[tuple[str, str]],
                    persons_joining: Iterable[str], links: list[tuple[str, str, str, str]],
                    matches: ContactMatches | None, schools: dict[str, str]) -> Finding:
    """The finding for one family with missing sibling links."""
    every_pair = sorted(missing)
    pairs = every_pair[:context.config.max_pairs_listed]
    more = len(every_pair) - len(pairs)
    family_links, contacts = _shared_parent_links(links)
    confidence, duplicate_records = _duplicate_records(persons_joining, family_links, matches)
    graph = context.graph
    names = {**names_of(graph, STUDENT, family), **names_of(graph, CONTACT, contacts)}
    evidence = _evidence(family, every_pair, contacts, family_links, duplicate_records)
    steps, fix = _steps_and_fix(names, family, pairs, every_pair, more)
    shown = ", ".join(names.get(s, s) for s in family[:4]) + (" ..." if len(family) > 4 else "")
    return Finding(
        id=stable_id(CODE, family, [f"{a}&{b}" for a, b in every_pair]),
        check=CODE,
        severity=Severity.WARNING,
        title=(f"{len(family)} students of one family are missing {len(every_pair)} sibling "
               f"link{'s' if len(every_pair) != 1 else ''} ({shown})"),
        confidence=confidence,
        school_ids=tuple(sorted({schools.get(s, "") for s in family} - {""})),
        students=tuple(family),
        contacts=tuple(contacts),
        pairs=tuple(pairs),
        pairs_total=len(every_pair) if more else None,
        evidence=evidence,
        fix=fix,
        names=names,
        household=graph.household_snapshot(_snapshot_seeds(family, contacts, pairs, more)),
    )


@check(CODE, severity=Severity.WARNING, requires=("siblings",),
       fix=FixSpec(LinkSiblings, required=("pairs",)),
       needs=frozenset({"graph", "matches"}), cost=3)
def unlinked_siblings(context: AuditContext) -> Iterator[Finding]:
    """Students of one family are not linked as siblings.

    Why it matters: The SIS shares a family's contacts through sibling links. When brothers
    and sisters are not linked, a clerk adding a parent to one child types a new contact record
    instead of picking the existing one, and that duplicate record later gets its own parent
    account that sees only that child. Generation itself follows contact records, not sibling
    links, so this is a warning rather than an error: it is the usual cause of the duplicate
    contacts and missing sibling access that do break accounts, and it keeps them coming back.
    Students are one family when they share a parent or guardian (the same contact record, or
    records of the same person) with a parental relationship; a shared grandparent, neighbour
    or emergency contact does not make students siblings. Only active students are considered:
    a student who has left needs no sibling link for portal access.

    How to fix: For each missing pair open one of the two students, go to Family & Contacts >
    Siblings, click + and choose the other student, then save. A sibling link works both
    ways, so adding it once is enough. Merge duplicate parent records (duplicate-contact) first
    so the family shares one record per parent. A family missing more links than a finding
    lists ([checks] max_pairs_listed) is no ordinary family: check its shared parent records first.
    """
    links = parental_links(context)
    if links.empty:
        return
    pairs = _board_pairs(links, context.board.siblings)
    if pairs is None:
        return
    family_of, families = _families(pairs)
    joining = _joined_through_duplicates(pairs)
    matches = context.contact_matches if joining.any() else None
    rows = _rows_by_family(pairs, joining, family_of, links)
    students = context.board.students
    schools = dict(zip(students["student_id"].tolist(), students["school_id"].tolist()))
    for number, family in enumerate(families):
        yield _family_finding(context, family, rows.missing[number],
                              rows.persons_joining.get(number, ()), rows.links[number], matches,
                              schools)
