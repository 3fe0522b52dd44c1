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
from audits.household.graph import ACCOUNT, CONTACT, STAFF, STUDENT, normalize_username
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


def _clashes(context: AuditContext) -> Iterator[Finding]:
    holders = username_holders(context)
    if holders.empty:
        return
    board = context.board
    contacts = board.contacts
    contact_emails = dict(zip(contacts["contact_id"].tolist(), contacts["email"].tolist()))
    staff_emails = dict(zip(board.staff["staff_id"].tolist(), board.staff["email"].tolist()))
    parent_rows = holders[holders["account_type"] == "parent"]
    parent_contacts = parent_rows["person_id"].drop_duplicates()
    person_of = dict(zip(parent_contacts.tolist(), person_keys(context, parent_contacts).tolist()))
    graph = context.graph

    # One pass to bucket rows by username (holders is sorted by it); a pandas group per username
    # costs more than the finding.
    by_key: dict[str, list[Holder]] = {}
    for row in map(Holder._make, zip(*(holders[column].tolist() for column in Holder._fields))):
        by_key.setdefault(row.username_key, []).append(row)

    for key, rows in by_key.items():
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

        persons = {person_of.get(c, c) for c in contacts}
        staff_email_keys = {normalize_username(staff_emails.get(s, "")) for s in staff}
        contact_email_keys = {normalize_username(contact_emails.get(c, "")) for c in contacts}
        if staff and contacts and (staff_email_keys & contact_email_keys) - {""}:
            cause = STAFF_PARENT
        elif len(persons) > 1:
            cause = SHARED_FAMILY_EMAIL
        elif len(contacts) > 1:
            cause = ONE_PERSON_TWO_RECORDS
        else:
            cause = OTHER

        names = {**{a: key for a in accounts},
                 **{c: graph.label((CONTACT, c)) for c in contacts},
                 **{s: graph.label((STAFF, s)) for s in staff},
                 **{s: graph.label((STUDENT, s)) for s in students}}
        username = key
        account_lines = [f"{r.account_id} ({r.account_type}, school {r.school_id}, {r.status}, "
                         f"{r.person_id})" for r in sorted(existing, key=lambda r: r.account_id)]
        would_be_lines = [f"{r.person_id} (parent, school {r.school_id}, {_fate(r.outcome)})"
                          for r in sorted(would_be, key=lambda r: r.person_id)]
        evidence = {
            "cause": cause,
            "scope": scope,
            "schools": ", ".join(sorted(per_school)),
            "existing_accounts": "; ".join(account_lines) or "none",
            "would_be_accounts": "; ".join(would_be_lines) or "none",
        }
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
        evidence["holders"] = "; ".join(
            f"{r.account_id}: {names.get(r.person_id, r.person_id)} ({r.account_type} {r.person_id})"
            for r in sorted(existing, key=lambda r: r.account_id)) or "none"

        yield Finding(
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


def _steps(cause: str, username: str, names: dict[str, str], existing: list[Holder],
           would_be: list[Holder], contacts: list[str],
           person_of: dict[str, object] | None = None) -> list[str]:
    """The support person's steps: the recommended fix first, the alternative after it (never
    a choice without a default, never two fixes for one clash). The order is the fix plan's
    (fixes/plan.py ``_plan_rename``): a would-be account's parent record takes a personal
    email, else an existing parent account gets another username, else another account."""
    def account(r: Holder) -> str:
        return screen(*CONNECT_ACCOUNTS, f"{username} (account {r.account_id}, school {r.school_id})")

    def email(contact: str) -> str:
        return f"{screen(FAMILY_CONTACTS, CONTACTS, record(names, contact))} > Email"

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
                 f"{email(chosen)}: enter that parent's personal email, save. Leave the other "
                 f"parent's email as it is: it keeps the username {username}."]
        if others:
            steps.append(f"Alternative, only if {record(names, chosen)} has no personal email: "
                         "do the same for " + " or ".join(
                             f"{record(names, c)} ({email(c)})" for c in others) + " instead.")
        return [*steps, last]
    steps = []
    if parents:
        keeps = (f"the {existing[-1].account_type} account {existing[-1].account_id}"
                 if existing else "the other account")
        advice = (" (the vendor's advice for a staff member who is also a parent)"
                  if cause == STAFF_PARENT else "")
        steps.append(f"Recommended{advice}: put a personal email on the parent record {email(chosen)}: enter the "
                     f"parent's personal email, save. The parent account is then generated "
                     f"with that email as its username, and {keeps} keeps {username}.")
        if existing:
            steps.append("Alternative, only if the parent has no personal email: rename one "
                         f"username ({' or '.join(account(r) for r in existing)} > Username: "
                         "enter a new username no other account uses, save).")
    elif existing:
        renamed, kept = existing[0], existing[1:]
        steps.append(f"Recommended: rename the username of the {renamed.account_type} account "
                     f"({account(renamed)} > Username: enter a new username no other account "
                     "uses, save)" + (f"; {' and '.join(r.account_id for r in kept)} keeps "
                                      f"{username}." if kept else "."))
        if kept:
            steps.append("Alternative: rename " + " or ".join(account(r) for r in kept)
                         + f" > Username instead, and let {renamed.account_id} keep {username}.")
    else:
        steps.append(f"Decide which account keeps the username {username}.")
    return [*steps, "Regenerate nothing; existing accounts keep their students. " + last]
