"""The ``duplicate-contact`` check: contact records that are the same human."""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import pandas as pd

from audits.board import TABLES
from audits.context import AuditContext
from audits.findings import Finding, Severity, stable_id
from audits.graph import CONTACT, STUDENT
from audits.matching import ContactCluster, PairEvidence
from audits.registry import check
from audits.survivor import choose_survivor
from audits.steps import CONTACTS, FAMILY_CONTACTS, SIBLINGS, numbered, record, screen

CODE = "duplicate-contact"
CONTACT_COLUMNS = TABLES["contacts"].columns
# Fields a merge copies onto the survivor when only a retired record has them.
FILLABLE = ("email", "home_phone", "cell_phone", "work_phone", "street", "city", "postal_code")
FIELD_LABELS = {"first_name": "first_name", "last_name": "last_name", "email": "email",
                "phone": "phone", "address": "address", "postal_code": "postal_code"}


@check(CODE, severity=Severity.ERROR)
def duplicate_contact(context: AuditContext) -> Iterator[Finding]:
    """Two or more contact records are the same parent or guardian.

    Why it matters: Parent-account generation makes one CONNECT account per contact record
    with portal access. A parent typed twice (usually once per child, often when the children
    are at different schools or were never linked as siblings) gets two accounts, each seeing
    only some of the children, two usernames to juggle, and a username clash when both records
    carry the same email. Every later fix (sibling links, permissions) starts from one record
    per person.

    How to fix: Keep one record (the one that already holds the parent account, else the one
    linked to the most students) and retire the others. Copy onto the kept record anything only
    a retired record has (email, phones, address). Then, for each student the retired record is
    linked to: open the student, go to Family & Contacts > Contacts, delete the duplicate
    contact, click + and choose "Person exists as a contact for the related student", pick the
    kept record and set the same relationship and portal access. When the kept record does not
    show up to pick, the students are not linked as siblings: link them first in Family &
    Contacts > Siblings, then add the contact again.
    """
    matches = context.contact_matches
    if not matches.clusters:
        return
    board = context.board
    members = sorted({c for cluster in matches.clusters for c in cluster.contacts})
    contacts = board.contacts
    contacts = contacts[contacts["contact_id"].isin(members)].drop_duplicates("contact_id")
    rows = {str(cid): {column: str(contacts.at[index, column]) for column in CONTACT_COLUMNS}
            for index, cid in zip(contacts.index, contacts["contact_id"])}
    links = board.student_contacts
    links = links[links["contact_id"].isin(members)]
    links_of: dict[str, list[dict]] = {}
    for sid, cid, rel, portal in zip(links["student_id"], links["contact_id"],
                                     links["relationship"], links["portal_access"]):
        links_of.setdefault(str(cid), []).append(
            {"contact_id": str(cid), "student_id": str(sid), "relationship": str(rel).strip(),
             "portal_access": bool(portal)})
    accounts = board.accounts
    parent_accounts = accounts[(accounts["account_type"] == "parent")
                               & accounts["person_id"].isin(members)]
    accounts_of: dict[str, list[str]] = {}
    for aid, person, status in zip(parent_accounts["account_id"], parent_accounts["person_id"],
                                   parent_accounts["status"]):
        accounts_of.setdefault(str(person), []).append(str(aid))
    students = board.students.drop_duplicates("student_id").set_index("student_id")
    for cluster in matches.clusters:
        yield _finding(context, cluster, rows, links_of, accounts_of, students)


def _finding(context: AuditContext, cluster: ContactCluster, rows: dict, links_of: dict,
             accounts_of: dict, students: pd.DataFrame) -> Finding:
    graph = context.graph
    ids = list(cluster.contacts)
    keep, _ = choose_survivor(ids, rows, [link for cid in ids for link in links_of.get(cid, [])],
                              accounts_of)
    retire = [cid for cid in ids if cid != keep]
    cluster_links = [link for cid in ids for link in links_of.get(cid, [])]
    student_ids = sorted({link["student_id"] for link in cluster_links})
    names = {cid: graph.label((CONTACT, cid)) for cid in ids}
    names.update({sid: graph.label((STUDENT, sid)) for sid in student_ids})
    schools = sorted({str(students.at[sid, "school_id"]) for sid in student_ids
                      if sid in students.index})
    evidence = _evidence(cluster, names)
    evidence["family"] = _family_words(graph, cluster_links, ids)
    evidence["score"] = f"match confidence {cluster.confidence:.2f}"
    fix = {
        "action": "merge-contacts",
        "keep": keep,
        "retire": retire,
        "students": {cid: [{"student_id": link["student_id"], "relationship": link["relationship"],
                            "portal_access": link["portal_access"]}
                           for link in links_of.get(cid, [])] for cid in retire},
        "records": {cid: dict(rows.get(cid, {})) for cid in ids},
        "links": cluster_links,
        "accounts": {cid: list(accounts_of.get(cid, [])) for cid in ids if accounts_of.get(cid)},
        "steps": _steps(keep, retire, rows, links_of, accounts_of, names, graph, context.config),
    }
    seeds = [(CONTACT, cid) for cid in ids] + [(STUDENT, sid) for sid in student_ids]
    return Finding(
        id=stable_id(CODE, cluster.contacts),
        check=CODE,
        severity=Severity.ERROR,
        title=f"Contact records {_and(ids)} look like one person ({names.get(keep) or keep})",
        confidence=cluster.confidence,
        school_ids=tuple(schools),
        students=tuple(student_ids),
        contacts=tuple(ids),
        evidence=evidence,
        fix=fix,
        names=names,
        household=graph.household_snapshot(seeds),
    )


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _field_words(name: str, field: Mapping[str, str]) -> str:
    verdict, a, b, note = field["verdict"], str(field["a"]), str(field["b"]), field.get("note", "")
    if verdict == "same":
        shown = a if name not in ("first_name", "last_name") or a == b else f"{a} / {b}"
        text = f"same ({shown})" if shown else "same"
        return text + (f", {note}" if note and name == "phone" else "")
    if verdict == "missing":
        if not a.strip() and not b.strip():
            return ""
        return f"on one record only ({a.strip() or b.strip()})"
    joiner = " ~ " if verdict == "similar" else " / "
    text = f"{verdict}: {a}{joiner}{b}"
    return text + (f" ({note})" if note else "")


def _evidence(cluster: ContactCluster, names: Mapping[str, str]) -> dict[str, str]:
    """Field by field, in words: from the one pair, or per pair when the group is larger."""
    pairs: Sequence[PairEvidence] = sorted(cluster.pairs, key=lambda p: -p.score)
    evidence: dict[str, str] = {}
    for name in FIELD_LABELS:
        seen: list[str] = []
        for pair in pairs:
            field = pair.fields.get(name)
            if not field:
                continue
            words = _field_words(name, field)
            if not words:
                continue
            if len(pairs) > 1:
                words = f"{pair.a}~{pair.b}: {words}"
            seen.append(words)
        if seen:
            evidence[FIELD_LABELS[name]] = "; ".join(seen)
    return evidence


def _family_words(graph, links: Sequence[Mapping], ids: Sequence[str]) -> str:
    if not links:
        return "not linked to any student"
    students = sorted({link["student_id"] for link in links})
    by_role: dict[str, set[str]] = {}
    for link in links:
        by_role.setdefault(link["relationship"] or "no relationship", set()).add(link["student_id"])
    roles = sorted(by_role)
    # Which student in which role: a record linked as Mother to one family and as Friend to
    # another is a parent of the first only.
    role_text = f"both as {roles[0]}" if len(roles) == 1 and len(students) > 1 else \
        f"as {roles[0]}" if len(roles) == 1 else \
        "; ".join(f"{_and(sorted(by_role[role]))} as {role}" for role in roles)
    if len(students) == 1:
        return f"linked to student {students[0]} as {' / '.join(roles)}"
    linked = all(other in graph.linked_siblings(s) for i, s in enumerate(students)
                 for other in students[i + 1:])
    kind = "siblings" if linked else "students"
    text = f"linked to {kind} {_and(students)}, {role_text}" if len(roles) == 1 else \
        f"linked to {kind} {role_text}"
    if not linked:
        text += " (not linked as siblings)"
    return text


def _steps(keep: str, retire: Sequence[str], rows: Mapping, links_of: Mapping,
           accounts_of: Mapping, names: Mapping[str, str], graph, config) -> list[str]:
    steps: list[str] = []
    kept = record(names, keep)
    # Only the kept record's own children make a student their sibling: a record that is also
    # an emergency contact (Friend, Neighbour) of another family's students says nothing about
    # whose sibling anyone is.
    kept_students = sorted({link["student_id"] for link in links_of.get(keep, [])
                            if config.is_parental(link["relationship"])})
    for cid in retire:
        missing = [column for column in FILLABLE
                   if not rows.get(keep, {}).get(column, "").strip()
                   and rows.get(cid, {}).get(column, "").strip()]
        if missing:
            steps.append(f"Open contact {kept} and fill in {', '.join(missing)} as on "
                         f"{record(names, cid)}, so nothing is lost when that record goes.")
    for cid in retire:
        old = record(names, cid)
        for link in links_of.get(cid, []):
            sid = link["student_id"]
            student = record(names, sid)
            portal = "Y" if link["portal_access"] else "N"
            relationship = link["relationship"] or "the same relationship"
            steps.append(f"Open student {student}, go to {screen(FAMILY_CONTACTS, CONTACTS)} and "
                         f"delete contact {old} ({relationship}).")
            steps.append(f"Still on {screen(FAMILY_CONTACTS, CONTACTS)} of {student}, click + and "
                         f"choose \"Person exists as a contact for the related student\"; pick "
                         f"{kept}, relationship {relationship}, portal access {portal}.")
            if kept_students and sid not in kept_students and not any(
                    sid in graph.linked_siblings(other) for other in kept_students):
                steps.append(f"If {kept} does not show up to pick, {student} is not linked as a "
                             f"sibling of {_and([record(names, s) for s in kept_students])}: "
                             f"link them in {screen(FAMILY_CONTACTS, SIBLINGS)} first, then add "
                             "the contact again.")
        for account in accounts_of.get(cid, []):
            steps.append(f"Contact {old} holds CONNECT parent account {account}: disable it once "
                         f"{kept} can see every child, so the parent has one login.")
    return numbered(steps)
