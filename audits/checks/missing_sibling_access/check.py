"""The ``missing-sibling-access`` check: a parent account that cannot see all its children."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd

from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity, stable_id
from audits.model.actions import AddPermission
from audits.household.graph import ACCOUNT, CONTACT, STUDENT, HouseholdGraph
from audits.checks.spec import FixSpec, check
from audits.checks.steps import (CONNECT_ACCOUNTS, NEVER_REGENERATE, PERMISSIONS, names_of, numbered,
                          record, screen)

CODE = "missing-sibling-access"


# Without the accounts and what each may see, every account would look as if it saw no child.
@check(CODE, severity=Severity.ERROR, requires=("accounts", "account_students"),
       fix=FixSpec(AddPermission, required=("account_id", "students")),
       needs=frozenset({"graph"}))
def missing_sibling_access(context: AuditContext) -> Iterator[Finding]:
    """An existing parent account cannot see a student its contact record has portal access to.

    Why it matters: Generation never touches a contact record that already has a parent
    account, so a sibling who enrolled after the account was made, or who was given portal
    access later, stays invisible to the parent: the parent logs in and one child is missing.
    Only active accounts and active students are considered; a disabled account logs nobody in.
    The account of a contact record linked to more students than any family has is left to
    overlinked-contact: adding children to it would show them to a stranger.

    How to fix: Open Security > edsembli CONNECT > Accounts, open the parent's account, go to
    its Permissions tab, click + and add each missing student, then save. Do not regenerate the
    account: regenerating replaces the students it can see instead of adding to them, so the
    parent would lose the children they can see today.
    """
    yield from _missing_access(context)


def _active_parent_accounts(context: AuditContext) -> pd.DataFrame:
    """The active parent accounts, less those of an overlinked contact record."""
    accounts = context.board.accounts
    parent_accounts = accounts.loc[(accounts["account_type"] == "parent")
                                   & (accounts["status"] == "active"),
                                   ["account_id", "username", "school_id", "person_id"]]
    # An overlinked contact record's account is no parent's: adding children to it would show
    # them to whoever holds it (overlinked-contact reports the record).
    if not parent_accounts.empty and context.overlinked_contacts:
        parent_accounts = parent_accounts[
            ~parent_accounts["person_id"].isin(context.overlinked_contacts)]
    return parent_accounts


def _not_visible(expected: pd.DataFrame, visible: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``expected`` whose (account, student) pair is not in ``visible``, in account
    and student order."""
    # The expected (account, student) pairs the account cannot see: one integer per pair over
    # both tables, and a lookup of integers (a merge on two text keys copies every column).
    count = len(expected)
    account_codes = pd.factorize(pd.concat([expected["account_id"], visible["account_id"]],
                                           ignore_index=True), use_na_sentinel=False)[0]
    student_codes = pd.factorize(pd.concat([expected["student_id"], visible["student_id"]],
                                           ignore_index=True), use_na_sentinel=False)[0]
    pairs = account_codes.astype(np.int64) * (int(student_codes.max(initial=0)) + 1) + student_codes
    seen_pairs = pd.Series(pairs[:count]).isin(pairs[count:]).to_numpy()
    return expected[~seen_pairs].sort_values(["account_id", "student_id"])


def _students_by_account(links: pd.DataFrame, accounts: pd.Series) -> dict[str, list[str]]:
    """The students of ``links`` (account_id, student_id) per account, for ``accounts`` only."""
    links = links[links["account_id"].isin(accounts)]
    by_account: dict[str, list[str]] = {}
    for account_id, student_id in zip(links["account_id"].tolist(), links["student_id"].tolist()):
        by_account.setdefault(account_id, []).append(student_id)
    return by_account


def _missing_by_account(missing: pd.DataFrame) -> dict[str, list[tuple[str, str, str, str, str]]]:
    """The missing rows bucketed by account as (username, contact, school, student, student's
    school)."""
    # One pass to bucket rows by account; pandas per-group access costs more than the finding.
    missing_of: dict[str, list[tuple[str, str, str, str, str]]] = {}
    columns = ["account_id", "username", "person_id", "school_id", "student_id",
               "student_school_id"]
    for row in zip(*(missing[column].tolist() for column in columns)):
        missing_of.setdefault(row[0], []).append(row[1:])
    return missing_of


def _account_finding(account_id: str, rows: list[tuple[str, str, str, str, str]],
                     can_see: list[str], due: list[str], graph: HouseholdGraph) -> Finding:
    """The finding for one parent account that cannot see some of the students it should."""
    username, contact_id, school_id = rows[0][0], rows[0][1], rows[0][2]
    students = sorted(row[3] for row in rows)
    names = {**names_of(graph, STUDENT, [*students, *can_see]),
             **names_of(graph, CONTACT, [contact_id]), account_id: username}
    pairs = tuple((account_id, student) for student in students)
    account_screen = screen(*CONNECT_ACCOUNTS, f"{username} (account {account_id})", PERMISSIONS)
    steps = [f"{account_screen}: click +, choose {record(names, student)}, save."
             for student in students]
    steps.append(NEVER_REGENERATE)
    shown = ", ".join(record(names, s) for s in students)
    return Finding(
        id=stable_id(CODE, [f"{a}&{s}" for a, s in pairs]),
        check=CODE,
        severity=Severity.ERROR,
        title=(f"Parent account {username} cannot see {len(students)} of "
               f"{names.get(contact_id, contact_id)}'s children ({shown})"),
        school_ids=tuple(sorted({school_id, *(row[4] for row in rows)})),
        students=tuple(students),
        contacts=(contact_id,),
        accounts=(account_id,),
        pairs=pairs,
        username=username.strip().lower(),
        evidence={
            "account": f"{account_id} ({username}, school {school_id}, active)",
            "contact": contact_id,
            "portal_access_to": ", ".join(sorted(due)),
            "can_see": ", ".join(can_see) or "none",
            "cannot_see": ", ".join(students),
        },
        fix=AddPermission(account_id=account_id, username=username, contact_id=contact_id,
                          students=tuple(students), steps=tuple(numbered(steps))),
        names=names,
        household=graph.household_snapshot(
            [(ACCOUNT, account_id), (CONTACT, contact_id), *((STUDENT, s) for s in students)]),
    )


def _missing_access(context: AuditContext) -> Iterator[Finding]:
    """One finding per active parent account that cannot see a student its record has portal
    access to."""
    board = context.board
    parent_accounts = _active_parent_accounts(context)
    if parent_accounts.empty:
        return
    expected = parent_accounts.merge(
        context.portal_access_links.rename(columns={"contact_id": "person_id",
                                                   "school_id": "student_school_id"}),
        on="person_id", how="inner")
    visible = board.account_students[["account_id", "student_id"]].drop_duplicates()
    missing = _not_visible(expected, visible)
    if missing.empty:
        return
    seen_by_account = _students_by_account(visible, missing["account_id"])
    due_by_account = _students_by_account(expected, missing["account_id"])
    graph = context.graph
    missing_of = _missing_by_account(missing)
    for account_id in sorted(missing_of):
        yield _account_finding(account_id, missing_of[account_id],
                               sorted(seen_by_account.get(account_id, [])),
                               due_by_account[account_id], graph)
