"""The ``overlinked-contact`` check: a contact record linked to more students than any family
has."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterator

import pandas as pd

from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity, stable_id
from audits.model.actions import Manual
from audits.household.graph import ACCOUNT, CONTACT, STUDENT
from audits.checks.spec import check
from audits.checks.steps import (CONNECT_ACCOUNTS, CONTACTS, FAMILY_CONTACTS, names_of, numbered, record,
                          screen)

CODE = "overlinked-contact"


@dataclass(frozen=True)
class _OverlinkedRecords:
    """What the board holds about the overlinked contact records, gathered in one pass each."""

    relationships_of: dict[str, dict[str, set[str]]]
    """Per record, per linked student, the relationships given (blank ones left out)."""
    school_of: dict[str, str]
    portal_count: Counter[str]
    """Per record, the active students it has portal access to."""
    accounts_of: dict[str, list[tuple[str, str, str]]]
    """Per record, its parent accounts as (account_id, username, status), in id order."""


def _relationships_by_student(links: pd.DataFrame,
                              overlinked: frozenset[str]) -> dict[str, dict[str, set[str]]]:
    """Per overlinked record, per linked student, the relationships the links give."""
    links = links[links["contact_id"].isin(overlinked)]
    relationships_of: dict[str, dict[str, set[str]]] = {}
    for contact_id, student_id, relationship in zip(
            links["contact_id"].tolist(), links["student_id"].tolist(),
            links["relationship"].astype(str).str.strip().tolist()):
        words = relationships_of.setdefault(contact_id, {}).setdefault(student_id, set())
        if relationship:
            words.add(relationship)
    return relationships_of


def _parent_accounts(accounts: pd.DataFrame,
                     overlinked: frozenset[str]) -> dict[str, list[tuple[str, str, str]]]:
    """Per overlinked record, the parent accounts it holds as (account_id, username, status)."""
    accounts = accounts[(accounts["account_type"] == "parent")
                        & accounts["person_id"].isin(overlinked)]
    accounts_of: dict[str, list[tuple[str, str, str]]] = {}
    for row in sorted(zip(accounts["person_id"].tolist(), accounts["account_id"].tolist(),
                          accounts["username"].astype(str).str.strip().tolist(),
                          accounts["status"].astype(str).tolist())):
        accounts_of.setdefault(row[0], []).append(row[1:])
    return accounts_of


def _overlinked_records(context: AuditContext, overlinked: frozenset[str]) -> _OverlinkedRecords:
    """The links, schools, portal access and parent accounts of the overlinked records."""
    board = context.board
    relationships_of = _relationships_by_student(board.student_contacts, overlinked)
    students = board.students.drop_duplicates("student_id")
    school_of = dict(zip(students["student_id"].tolist(),
                         students["school_id"].astype(str).tolist()))
    portal = context.portal_access_links
    portal = portal[portal["contact_id"].isin(overlinked)]
    portal_count = Counter(portal["contact_id"].tolist())
    accounts_of = _parent_accounts(board.accounts, overlinked)
    return _OverlinkedRecords(relationships_of, school_of, portal_count, accounts_of)


def _evidence(by_student: dict[str, set[str]], limit: int, sees: int,
              held: list[tuple[str, str, str]], active_accounts: list[tuple[str, str, str]],
              schools: Counter[str]) -> dict[str, str]:
    """The finding's evidence: how many students, by which relationships, at which schools,
    with what portal access and parent accounts."""
    every = sorted(by_student)
    words = Counter(word for found in by_student.values() for word in found)
    evidence = {
        "linked_students": f"{len(every):,} (more than {limit:,})",
        "relationships": ", ".join(f"{word} ({count:,})" for word, count in
                                   sorted(words.items(), key=lambda item: (-item[1], item[0])))
        or "none given",
        "portal_access_to": f"{sees:,} active students" if sees else "none",
        "schools": ", ".join(f"{school} ({count:,})"
                             for school, count in sorted(schools.items())),
        "parent_accounts": "; ".join(f"{account_id} ({username}, {status})"
                                     for account_id, username, status in held) or "none",
    }
    if sees and not active_accounts:
        evidence["generation"] = (f"would create one parent account that sees {sees:,} "
                                  "students")
    return evidence


def _steps(contact: str, by_student: dict[str, set[str]], shown: list[str], listed: int,
           sees: int, active_accounts: list[tuple[str, str, str]],
           names: dict[str, str]) -> list[str]:
    """The clerk's steps: find out who the record is, unlink it from each listed student,
    disable its active parent accounts, audit again."""
    steps = [f"Open {screen(FAMILY_CONTACTS, CONTACTS, contact)} and find out who the record "
             "is: a placeholder (Office, Unknown) or a record picked for many families by "
             "mistake is no one's parent."]
    if sees:
        steps.append("Do not generate parent accounts until this record's links are removed: "
                     "its account would see every student it has portal access to.")
    for student in shown:
        relationship = " / ".join(sorted(by_student[student])) or "no relationship"
        steps.append(f"Open student {record(names, student)}, go to "
                     f"{screen(FAMILY_CONTACTS, CONTACTS)} and delete contact {contact} "
                     f"({relationship}) unless it is a real contact of this student; save.")
    if len(by_student) > len(shown):
        steps.append(f"{len(by_student) - len(shown):,} more students are linked to {contact} and "
                     f"not listed here (a finding lists at most {listed:,}): after these, run "
                     "the audit again and it lists the next ones (or raise [checks] "
                     "max_pairs_listed in the config to list them all at once).")
    for account_id, username, _ in active_accounts:
        steps.append(f"{screen(*CONNECT_ACCOUNTS, f'{username} (account {account_id})')}: "
                     "disable the account; it sees children its holder is not a parent of.")
    steps.append("Run the audit again: until then the family checks leave this record out.")
    return steps


def _contact_finding(context: AuditContext, contact_id: str,
                     records: _OverlinkedRecords) -> Finding:
    """The finding for one overlinked contact record."""
    limit = context.config.max_students_per_contact
    listed = context.config.max_pairs_listed
    graph = context.graph
    by_student = records.relationships_of[contact_id]
    every = sorted(by_student)
    shown = every[:listed]
    held = records.accounts_of.get(contact_id, [])
    active_accounts = [account for account in held if account[2] == "active"]
    sees = records.portal_count.get(contact_id, 0)
    names = {**names_of(graph, CONTACT, [contact_id]), **names_of(graph, STUDENT, shown),
             **{account_id: username for account_id, username, _ in held}}
    contact = record(names, contact_id)
    schools = Counter(records.school_of.get(student, "") for student in every)
    schools.pop("", None)
    evidence = _evidence(by_student, limit, sees, held, active_accounts, schools)
    steps = _steps(contact, by_student, shown, listed, sees, active_accounts, names)
    return Finding(
        id=stable_id(CODE, [contact_id]),
        check=CODE,
        severity=Severity.ERROR if sees or active_accounts else Severity.WARNING,
        title=(f"Contact record {contact} is linked to {len(every):,} students, more than "
               "any family has"),
        school_ids=tuple(sorted(schools)),
        students=tuple(shown),
        contacts=(contact_id,),
        accounts=tuple(account_id for account_id, _, _ in held),
        evidence=evidence,
        fix=Manual(details={"contact_id": contact_id, "students": list(shown),
                            "students_total": len(every)}, steps=tuple(numbered(steps))),
        names=names,
        # The record, its accounts and the first of its students: a picture, not a list.
        household=graph.household_snapshot(
            [(CONTACT, contact_id), *((ACCOUNT, account_id) for account_id, _, _ in held)]),
    )


@check(CODE, severity=Severity.ERROR, needs=frozenset({"graph"}))
def overlinked_contact(context: AuditContext) -> Iterator[Finding]:
    """A contact record is linked to more students than any family has.

    Why it matters: A record linked to dozens or thousands of students is no one's parent: it
    is a placeholder typed where a contact was required ("Office", "Unknown") or one record
    picked for many families by mistake. With portal access, its parent account sees every one
    of those children, or generation makes one that does. It would also make one family of all
    its students, so the family checks (unlinked-siblings, missing-sibling-access,
    duplicate-contact) leave its links out until it is fixed. The limit is
    [checks] max_students_per_contact in the config (30 unless set). It is an error when the
    record has portal access to an active student or an active parent account, else a warning.

    How to fix: Open the contact record and find out who it is. For each student it is not a
    real contact of, open the student, go to Family & Contacts > Contacts and delete the
    contact, then save. Disable any parent account the record holds. Do not generate parent
    accounts before this is done. If the record is a real guardian of all these students (a
    group home), record that decision with connect-audit suppress; the family checks keep
    leaving it out.
    """
    overlinked = context.overlinked_contacts
    if not overlinked:
        return
    records = _overlinked_records(context, overlinked)
    for contact_id in sorted(overlinked):
        yield _contact_finding(context, contact_id, records)
