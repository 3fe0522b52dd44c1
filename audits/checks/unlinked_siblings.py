"""The ``unlinked-siblings`` check: students of one family that are not linked as siblings."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audits.context import AuditContext
from audits.findings import Finding, Severity, stable_id
from audits.generation import person_keys
from audits.graph import CONTACT, STUDENT
from audits.registry import check
from audits.steps import FAMILY_CONTACTS, SIBLINGS, names_of, numbered, record, screen

CODE = "unlinked-siblings"


def parental_links(context: AuditContext) -> pd.DataFrame:
    """(student_id, contact_id, person) for every parental link of an active student; ``person``
    is the same for records of one human (``context.contact_matches``)."""
    board = context.board
    links = board.student_contacts[["student_id", "contact_id", "relationship"]]
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


def sibling_pairs(links: pd.DataFrame, by: str) -> pd.DataFrame:
    """Every pair ``a < b`` of students who share one value of ``by`` (a record or a person)."""
    members = links[[by, "student_id"]].drop_duplicates()
    members = members[members.groupby(by)[by].transform("size") > 1]
    pairs = members.merge(members, on=by, suffixes=("_a", "_b"))
    pairs = pairs[pairs["student_id_a"] < pairs["student_id_b"]]
    return pairs.rename(columns={"student_id_a": "a", "student_id_b": "b"})


def linked_pairs(siblings: pd.DataFrame) -> pd.DataFrame:
    """The sibling links as ``a < b`` pairs (the SIS holds them undirected, once or twice)."""
    a, b = siblings["student_id"].to_numpy(dtype=object), siblings["sibling_id"].to_numpy(dtype=object)
    low = np.where(a < b, a, b)
    high = np.where(a < b, b, a)
    return pd.DataFrame({"a": low, "b": high}).drop_duplicates()


def family_members(pairs: pd.DataFrame, wanted: pd.Series) -> pd.DataFrame:
    """``student_id, family`` for every student in a connected component of ``pairs`` (a, b)
    that holds one of ``wanted``; families are numbered 0.. and rows sorted by family, then
    student."""
    codes, students = pd.factorize(pd.concat([pairs["a"], pairs["b"]], ignore_index=True))
    half = len(pairs)
    size = len(students)
    matrix = coo_matrix((np.ones(half, dtype=np.int8), (codes[:half], codes[half:])),
                        shape=(size, size))
    _, component = connected_components(matrix, directed=False)
    frame = pd.DataFrame({"student_id": np.asarray(students, dtype=object),
                          "component": component})
    needed = frame.loc[frame["student_id"].isin(wanted), "component"].unique()
    frame = frame[frame["component"].isin(needed)].sort_values(["component", "student_id"])
    # Number families by their first student, so the numbering does not depend on the
    # factorisation order.
    first = frame.groupby("component")["student_id"].transform("first")
    frame["family"] = pd.factorize(first, sort=True)[0]
    return frame.sort_values(["family", "student_id"])[["student_id", "family"]]


@check(CODE, severity=Severity.WARNING)
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
    so the family shares one record per parent.
    """
    links = parental_links(context)
    if links.empty:
        return
    by_person = sibling_pairs(links, "person")
    if by_person.empty:
        return
    by_record = sibling_pairs(links, "contact_id")[["a", "b"]].drop_duplicates()
    family_pairs = by_person[["a", "b"]].drop_duplicates()
    linked = linked_pairs(context.board.siblings)
    marked = family_pairs.merge(linked, on=["a", "b"], how="left", indicator=True)
    missing = marked.loc[marked["_merge"] == "left_only", ["a", "b"]]
    if missing.empty:
        return

    # Families are components of students joined by a shared parent, linked or not; only those
    # with a missing link get a finding.
    members = family_members(family_pairs, missing["a"])
    family_of: dict[str, int] = dict(zip(members["student_id"].tolist(),
                                         members["family"].tolist()))
    families: list[list[str]] = [[] for _ in range(int(members["family"].max()) + 1)]
    for student, family in zip(members["student_id"].tolist(), members["family"].tolist()):
        families[family].append(student)

    # A pair that shares no single record is only joined through matched duplicate records:
    # the finding is as sure as the weakest such match.
    through_person = missing.merge(by_record, on=["a", "b"], how="left", indicator=True)
    through_person = through_person[through_person["_merge"] == "left_only"][["a", "b"]]
    through_person = through_person.merge(by_person, on=["a", "b"])
    matches = context.contact_matches if not through_person.empty else None

    # Plain Python from here on: one pass to bucket rows by family, then per-family work only.
    missing_in: dict[int, list[tuple[str, str]]] = {}
    for a, b in zip(missing["a"].tolist(), missing["b"].tolist()):
        missing_in.setdefault(family_of[a], []).append((a, b))
    persons_joining: dict[int, set[str]] = {}
    for a, person in zip(through_person["a"].tolist(), through_person["person"].tolist()):
        persons_joining.setdefault(family_of[a], set()).add(person)
    in_family = links[links["student_id"].isin(family_of.keys())]
    links_in: dict[int, list[tuple[str, str, str, str]]] = {}
    for row in zip(in_family["student_id"].tolist(), in_family["contact_id"].tolist(),
                   in_family["relationship"].str.strip().tolist(), in_family["person"].tolist()):
        links_in.setdefault(family_of[row[0]], []).append(row)
    students = context.board.students
    schools = dict(zip(students["student_id"].tolist(), students["school_id"].tolist()))
    graph = context.graph

    for number, family in enumerate(families):
        pairs = sorted(missing_in[number])
        students_of_person: dict[str, set[str]] = {}
        for student, _, _, person in links_in[number]:
            students_of_person.setdefault(person, set()).add(student)
        family_links = [row for row in links_in[number] if len(students_of_person[row[3]]) > 1]
        contacts = sorted({contact for _, contact, _, _ in family_links})

        confidence = 1.0
        duplicate_records = []
        for person in sorted(persons_joining.get(number, ())):
            records = sorted({contact for _, contact, _, p in family_links if p == person})
            cluster = matches.cluster_of(records[0]) if matches is not None else None
            if cluster is not None:
                confidence = min(confidence, float(cluster.confidence))
            duplicate_records.append(" = ".join(records))

        names = {**names_of(graph, STUDENT, family), **names_of(graph, CONTACT, contacts)}
        parents = []
        for contact in contacts:
            relationships = sorted({rel for _, c, rel, _ in family_links if c == contact})
            children = sorted({s for s, c, _, _ in family_links if c == contact})
            parents.append(f"{contact} ({', '.join(relationships)} of {', '.join(children)})")
        evidence = {
            "family_size": str(len(family)),
            "missing_links": str(len(pairs)),
            "shared_parents": "; ".join(parents),
        }
        if duplicate_records:
            evidence["joined_through_duplicate_records"] = "; ".join(duplicate_records)

        steps = [f"{screen('Students', record(names, a), FAMILY_CONTACTS, SIBLINGS)}: click +, "
                 f"choose {record(names, b)}, save." for a, b in pairs]
        steps.append("A sibling link works both ways: adding it from one of the two students "
                     "is enough.")
        shown = ", ".join(names.get(s, s) for s in family[:4]) + (" ..." if len(family) > 4 else "")
        yield Finding(
            id=stable_id(CODE, family, [f"{a}&{b}" for a, b in pairs]),
            check=CODE,
            severity=Severity.WARNING,
            title=(f"{len(family)} students of one family are missing {len(pairs)} sibling "
                   f"link{'s' if len(pairs) != 1 else ''} ({shown})"),
            confidence=confidence,
            school_ids=tuple(sorted({schools.get(s, "") for s in family} - {""})),
            students=tuple(family),
            contacts=tuple(contacts),
            pairs=tuple(pairs),
            evidence=evidence,
            fix={"action": "link-siblings", "pairs": [list(pair) for pair in pairs],
                 "students": list(family), "steps": numbered(steps)},
            names=names,
            household=graph.household_snapshot(
                [(STUDENT, s) for s in family] + [(CONTACT, c) for c in contacts]),
        )
