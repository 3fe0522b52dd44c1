"""The ``username-clash`` check: one username held by two or more accounts, existing or to be made."""

from __future__ import annotations

from collections import Counter
from typing import Iterator, NamedTuple

import numpy as np
import pandas as pd

from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity, stable_id
from audits.model.actions import RenameUsername
from audits.preview import CREATED, REFUSED_IN_USE_HERE, person_keys
from audits.household.graph import (ACCOUNT, CONTACT, STAFF, STUDENT, HouseholdGraph,
                                    normalize_username)
from audits.checks.spec import FixSpec, check
from audits.checks.steps import CONNECT_ACCOUNTS, CONTACTS, FAMILY_CONTACTS, numbered, record, screen

CODE = "username-clash"

STAFF_PARENT = "staff member who is also a parent"
SHARED_FAMILY_EMAIL = "family email shared by two parents"
ONE_PERSON_TWO_RECORDS = "two records of one person"
OTHER = "other"


class Holder(NamedTuple):
    """One row of :func:`username_holders`."""
    username_key: str
    school_id: str
    account_id: str
    account_type: str
    person_id: str
    status: str
    outcome: str


SAME_SCHOOL = "same school"
DIFFERENT_SCHOOLS = "different schools"


def username_holders(context: AuditContext) -> pd.DataFrame:
    """Every account that holds a username or would take one in this generation, one row each:
    ``username_key, school_id, account_id`` (blank for a would-be account), ``account_type``,
    ``person_id``, ``status`` (``would-be`` for a would-be account), ``outcome``.

    A disabled account still holds its username (the SIS refuses it to a would-be account at its
    school) but logs nobody in, so it takes part only where a would-be account shares its school;
    two existing accounts of which one is disabled break nothing.
    """
    accounts = context.board.accounts
    existing = accounts.assign(username_key=accounts["username"].str.strip().str.lower(),
                               outcome="")
    existing = existing[existing["username_key"] != ""]
    preview = context.preview
    would_be = preview.loc[preview["username_key"] != "",
                           ["username_key", "school_id", "contact_id", "outcome"]]
    would_be = would_be.rename(columns={"contact_id": "person_id"}).assign(
        account_id="", account_type="parent", status="would-be")
    columns = ["username_key", "school_id", "account_id", "account_type", "person_id", "status",
               "outcome"]
    keep = (existing["status"] == "active").to_numpy(dtype=bool)
    if not len(would_be):
        holders = pd.concat([existing.loc[keep, columns], would_be[columns]], ignore_index=True)
        shared = holders["username_key"].duplicated(keep=False).to_numpy()
    else:
        # (username, school) of each existing account, is it one a would-be account takes? One
        # integer per distinct pair, over both tables at once.
        key_codes = pd.factorize(pd.concat([existing["username_key"], would_be["username_key"]],
                                           ignore_index=True), use_na_sentinel=False)[0].astype(np.int64)
        school_codes = pd.factorize(pd.concat([existing["school_id"], would_be["school_id"]],
                                              ignore_index=True), use_na_sentinel=False)[0]
        place = key_codes * (int(school_codes.max()) + 1) + school_codes
        # A hash lookup: numpy's isin sorts both sides, which at a million accounts costs more
        # than the rest of this function.
        keep = keep | pd.Series(place[:len(existing)]).isin(place[len(existing):]).to_numpy()
        holders = pd.concat([existing.loc[keep, columns], would_be[columns]], ignore_index=True)
        # Usernames held more than once, from their integer codes rather than their text.
        shared = pd.Series(np.concatenate([key_codes[:len(existing)][keep],
                                           key_codes[len(existing):]])).duplicated(keep=False).to_numpy()
    return holders[shared].sort_values(["username_key", "school_id", "account_id",
                                        "person_id"]).reset_index(drop=True)


def _fate(outcome: str) -> str:
    if outcome == REFUSED_IN_USE_HERE:
        return "refused"
    return "created" if outcome in CREATED else outcome


@check(CODE, severity=Severity.ERROR,
       fix=FixSpec(RenameUsername, required=("username", "decision")),
       needs=frozenset({"graph", "matches", "preview"}))
def username_clash(context: AuditContext) -> Iterator[Finding]:
    """One username is held by two or more accounts, existing or about to be generated.

    Why it matters: Usernames compare without case or surrounding spaces. Within one school the
    SIS refuses a second account with a username already in use, so the parent gets no account.
    Across schools (central office included) it does not refuse, and two accounts with one
    username break logins: the parent signs in to one of them and sees only some of the
    children. The usual causes are a staff member who is also a parent (the staff account at
    one school or central office, the parent account at another, both named after the work
    email), a family email shared by two parents, and two contact records of one person.

    How to fix: Decide which account keeps the username. Usually put a personal email on the
    parent's contact record (Family & Contacts > Contacts > the contact > Email) before
    generating, so the parent account gets its own username; otherwise rename one existing
    account in Security > edsembli CONNECT > Accounts > the account > Username. Merge two
    records of one person (duplicate-contact) rather than renaming.
    """
    yield from _clashes(context)


class _Records(NamedTuple):
    """What a clash's cause, steps and fix read about the records that hold the username."""
    contact_emails: dict[str, str]
    staff_emails: dict[str, str]
    person_of: dict[str, object]
    """Per parent contact record, its person key (records of one human share it)."""


class _Clash(NamedTuple):
    """One username's holders sorted out by kind, with the clash's scope and cause."""
    key: str
    rows: list[Holder]
    existing: list[Holder]
    would_be: list[Holder]
    accounts: list[str]
    contacts: list[str]
    staff: list[str]
    students: list[str]
    per_school: dict[str, int]
    scope: str
    cause: str


def _records(context: AuditContext, holders: pd.DataFrame) -> _Records:
    """The contact and staff emails, and the person key of every parent record among holders."""
    board = context.board
    contacts = board.contacts
    contact_emails = dict(zip(contacts["contact_id"].tolist(), contacts["email"].tolist()))
    staff_emails = dict(zip(board.staff["staff_id"].tolist(), board.staff["email"].tolist()))
    parent_rows = holders[holders["account_type"] == "parent"]
    parent_contacts = parent_rows["person_id"].drop_duplicates()
    person_of = dict(zip(parent_contacts.tolist(), person_keys(context, parent_contacts).tolist()))
    return _Records(contact_emails, staff_emails, person_of)


def _holders_by_username(holders: pd.DataFrame) -> dict[str, list[Holder]]:
    """The holders' rows bucketed by username, in username order."""
    # One pass to bucket rows by username (holders is sorted by it); a pandas group per username
    # costs more than the finding.
    by_key: dict[str, list[Holder]] = {}
    for row in map(Holder._make, zip(*(holders[column].tolist() for column in Holder._fields))):
        by_key.setdefault(row.username_key, []).append(row)
    return by_key


def _cause(contacts: list[str], staff: list[str], records: _Records) -> str:
    """Why the username is held twice: a staff parent, a shared family email, one person typed
    twice, or other."""
    persons = {records.person_of.get(c, c) for c in contacts}
    staff_email_keys = {normalize_username(records.staff_emails.get(s, "")) for s in staff}
    contact_email_keys = {normalize_username(records.contact_emails.get(c, "")) for c in contacts}
    if staff and contacts and (staff_email_keys & contact_email_keys) - {""}:
        return STAFF_PARENT
    if len(persons) > 1:
        return SHARED_FAMILY_EMAIL
    if len(contacts) > 1:
        return ONE_PERSON_TWO_RECORDS
    return OTHER


def _clash(key: str, rows: list[Holder], records: _Records) -> _Clash:
    """One username's holders sorted out into existing and would-be accounts, records by kind,
    schools, scope and cause."""
    existing = [r for r in rows if r.account_id]
    would_be = [r for r in rows if not r.account_id]
    accounts = sorted(r.account_id for r in existing)
    contacts = sorted({r.person_id for r in rows if r.account_type == "parent"})
    staff = sorted({r.person_id for r in rows if r.account_type == "staff"})
    students = sorted({r.person_id for r in rows if r.account_type == "student"})
    per_school: dict[str, int] = {}
    for r in rows:
        per_school[r.school_id] = per_school.get(r.school_id, 0) + 1
    scope = SAME_SCHOOL if max(per_school.values()) > 1 else DIFFERENT_SCHOOLS
    return _Clash(key, rows, existing, would_be, accounts, contacts, staff, students, per_school,
                  scope, _cause(contacts, staff, records))


def _names(clash: _Clash, graph: HouseholdGraph) -> dict[str, str]:
    """The display name of every account (its username) and record in the clash."""
    return {**{a: clash.key for a in clash.accounts},
            **{c: graph.label((CONTACT, c)) for c in clash.contacts},
            **{s: graph.label((STAFF, s)) for s in clash.staff},
            **{s: graph.label((STUDENT, s)) for s in clash.students}}


def _evidence(clash: _Clash, names: dict[str, str]) -> dict[str, str]:
    """The finding's evidence: cause, scope, schools, and each existing and would-be holder."""
    existing = sorted(clash.existing, key=lambda r: r.account_id)
    account_lines = [f"{r.account_id} ({r.account_type}, school {r.school_id}, {r.status}, "
                     f"{r.person_id})" for r in existing]
    would_be_lines = [f"{r.person_id} (parent, school {r.school_id}, {_fate(r.outcome)})"
                      for r in sorted(clash.would_be, key=lambda r: r.person_id)]
    evidence = {
        "cause": clash.cause,
        "scope": clash.scope,
        "schools": ", ".join(sorted(clash.per_school)),
        "existing_accounts": "; ".join(account_lines) or "none",
        "would_be_accounts": "; ".join(would_be_lines) or "none",
    }
    evidence["holders"] = "; ".join(
        f"{r.account_id}: {names.get(r.person_id, r.person_id)} ({r.account_type} {r.person_id})"
        for r in existing) or "none"
    return evidence


def _clash_finding(clash: _Clash, records: _Records, graph: HouseholdGraph) -> Finding:
    """The finding for one username held more than once, with its steps and rename fix."""
    key, rows, existing, would_be, accounts, contacts, staff, _, per_school, scope, cause = clash
    contact_emails, staff_emails, person_of = records
    names = _names(clash, graph)
    username = key
    evidence = _evidence(clash, names)
    if scope == SAME_SCHOOL:
        consequence = "generation will be refused at the same school"
    else:
        consequence = "logins will break; the parent sees only some children"
    persons = {c: person_of.get(c, c) for c in contacts}
    steps = _steps(cause, username, names, existing, would_be, contacts, persons)
    recommended = "" if cause == ONE_PERSON_TWO_RECORDS else \
        recommended_parent(would_be, contacts, persons)
    # Contract section 3: contacts/staff are the persons whose would-be account takes part;
    # existing accounts are named by id, and their owners only in names and evidence.
    entity_contacts = sorted({r.person_id for r in would_be})
    return Finding(
        # The username alone identifies a clash (contract section 3): merging one of the
        # records that take part must not make the same clash look new.
        id=stable_id(CODE, key),
        check=CODE,
        severity=Severity.ERROR,
        title=(f"Username {username} is held by {len(rows)} accounts at "
               f"{'one school' if len(per_school) == 1 else f'{len(per_school)} schools'}"
               f" ({cause}): {consequence}"),
        school_ids=tuple(sorted(per_school)),
        contacts=tuple(entity_contacts),
        accounts=tuple(accounts),
        username=key,
        evidence=evidence,
        fix=RenameUsername(
            username=key, cause=cause, scope=scope,
            accounts=tuple({"account_id": r.account_id, "school_id": r.school_id,
                            "account_type": r.account_type, "person_id": r.person_id}
                           for r in sorted(existing, key=lambda r: r.account_id)),
            contacts=tuple({"contact_id": c, "email": str(contact_emails.get(c, ""))}
                           for c in contacts),
            staff=tuple({"staff_id": s, "email": str(staff_emails.get(s, ""))}
                        for s in staff),
            # The parent record the steps recommend to take a personal email: the fix
            # plan offers it first.
            recommended_contact=recommended or "",
            steps=tuple(numbered(steps)),
            # The step that waits for another finding's fix, by the ids that finding
            # carries (reports number it): the merge of these records.
            waits_for=({"step": 1, "check": "duplicate-contact", "contacts": contacts},)
            if cause == ONE_PERSON_TWO_RECORDS else ()),
        names=names,
        household=graph.household_snapshot(
            [*((ACCOUNT, a) for a in accounts), *((CONTACT, c) for c in entity_contacts)]),
    )


def _clashes(context: AuditContext) -> Iterator[Finding]:
    """One finding per username held more than once."""
    holders = username_holders(context)
    if holders.empty:
        return
    records = _records(context, holders)
    graph = context.graph
    for key, rows in _holders_by_username(holders).items():
        yield _clash_finding(_clash(key, rows, records), records, graph)


def recommended_parent(would_be: list[Holder], contacts: list[str],
                       person_of: dict[str, object] | None = None) -> str:
    """The parent record the steps (and the fix plan's first option) recommend to take a
    personal email: of the would-be parents, one with a single contact record (a parent typed
    twice is to be merged instead), then the one generation would refuse, then the later id;
    "" when no would-be account is a parent's."""
    parents = sorted({r.person_id for r in would_be})
    refused = {r.person_id for r in would_be if _fate(r.outcome) == "refused"}
    records_of = Counter((person_of or {}).get(c, c) for c in contacts)
    return max(parents, key=lambda c: (records_of[(person_of or {}).get(c, c)] == 1,
                                       c in refused, c)) if parents else ""


def _account_screen(username: str, r: Holder) -> str:
    """Where an account's username is changed."""
    return screen(*CONNECT_ACCOUNTS, f"{username} (account {r.account_id}, school {r.school_id})")


def _email_screen(names: dict[str, str], contact: str) -> str:
    """Where a contact record's email is changed."""
    return f"{screen(FAMILY_CONTACTS, CONTACTS, record(names, contact))} > Email"


def _steps(cause: str, username: str, names: dict[str, str], existing: list[Holder],
           would_be: list[Holder], contacts: list[str],
           person_of: dict[str, object] | None = None) -> list[str]:
    """The support person's steps: the recommended fix first, the alternative after it (never
    a choice without a default, never two fixes for one clash). The order is the fix plan's
    (this folder's fix.py ``plan``): a would-be account's parent record takes a personal
    email, else an existing parent account gets another username, else another account."""
    existing = sorted(existing, key=lambda r: (r.account_type != "parent", r.account_id))
    last = "Generate parent accounts only after the username is unique."
    if cause == ONE_PERSON_TWO_RECORDS:
        return [f"The records {' and '.join(record(names, c) for c in contacts)} are one person: "
                "merge them (the duplicate-contact finding for these records). Do not "
                "rename the username or change the email: once merged, one record holds it.",
                last]
    # An existing account keeps its username when its record's email changes: only a would-be
    # account's record can take a personal email to fix the clash. Of two would-be parents the
    # one generation would refuse (or the later one) changes: the other keeps the username. A
    # parent typed twice is left out where another can change: its records are to be merged.
    parents = sorted({r.person_id for r in would_be})
    chosen = recommended_parent(would_be, contacts, person_of)
    others = [c for c in parents if c != chosen]
    if cause == SHARED_FAMILY_EMAIL and parents:
        steps = [f"Recommended: give the parent {record(names, chosen)} a personal email: "
                 f"{_email_screen(names, chosen)}: enter that parent's personal email, save. "
                 f"Leave the other parent's email as it is: it keeps the username {username}."]
        if others:
            steps.append(f"Alternative, only if {record(names, chosen)} has no personal email: "
                         "do the same for " + " or ".join(
                             f"{record(names, c)} ({_email_screen(names, c)})" for c in others)
                         + " instead.")
        return [*steps, last]
    steps = _email_or_rename_steps(cause, username, names, existing, parents, chosen)
    return [*steps, "Regenerate nothing; existing accounts keep their students. " + last]


def _email_or_rename_steps(cause: str, username: str, names: dict[str, str],
                           existing: list[Holder], parents: list[str],
                           chosen: str) -> list[str]:
    """For a staff parent or another clash: a personal email on the ``chosen`` would-be
    parent's record, else a rename of one existing account's username."""
    steps = []
    if parents:
        keeps = (f"the {existing[-1].account_type} account {existing[-1].account_id}"
                 if existing else "the other account")
        advice = (" (the vendor's advice for a staff member who is also a parent)"
                  if cause == STAFF_PARENT else "")
        steps.append(f"Recommended{advice}: put a personal email on the parent record "
                     f"{_email_screen(names, chosen)}: enter the "
                     f"parent's personal email, save. The parent account is then generated "
                     f"with that email as its username, and {keeps} keeps {username}.")
        if existing:
            steps.append("Alternative, only if the parent has no personal email: rename one "
                         f"username ({' or '.join(_account_screen(username, r) for r in existing)}"
                         " > Username: enter a new username no other account uses, save).")
    elif existing:
        renamed, kept = existing[0], existing[1:]
        steps.append(f"Recommended: rename the username of the {renamed.account_type} account "
                     f"({_account_screen(username, renamed)} > Username: enter a new username "
                     "no other account uses, save)"
                     + (f"; {' and '.join(r.account_id for r in kept)} keeps "
                        f"{username}." if kept else "."))
        if kept:
            steps.append("Alternative: rename "
                         + " or ".join(_account_screen(username, r) for r in kept)
                         + f" > Username instead, and let {renamed.account_id} keep {username}.")
    else:
        steps.append(f"Decide which account keeps the username {username}.")
    return steps
