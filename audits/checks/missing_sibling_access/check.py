"""The ``missing-sibling-access`` check: a parent account that cannot see all its children."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd

from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity, stable_id
from audits.model.actions import AddPermission
from audits.household.graph import ACCOUNT, CONTACT, STUDENT
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


def _missing_access(context: AuditContext) -> Iterator[Finding]:
    board = context.board
    accounts = board.accounts
    parent_accounts = accounts.loc[(accounts["account_type"] == "parent")
                                   & (accounts["status"] == "active"),
                                   ["account_id", "username", "school_id", "person_id"]]
    # An overlinked contact record's account is no parent's: adding children to it would show
    # them to whoever holds it (overlinked-contact reports the record).
    if not parent_accounts.empty and context.overlinked_contacts:
        parent_accounts = parent_accounts[
            ~parent_accounts["person_id"].isin(context.overlinked_contacts)]
    if parent_accounts.empty:
        return
    expected = parent_accounts.merge(
        context.portal_access_links.rename(columns={"contact_id": "person_id",
                                                   "school_id": "student_school_id"}),
        on="person_id", how="inner")
    visible = board.account_students[["account_id", "student_id"]].drop_duplicates()
    # The expected (account, student) pairs the account cannot see: one integer per pair over
    # both tables, and a lookup of integers (a merge on two text keys copies every column).
    count = len(expected)
    account_codes = pd.factorize(pd.concat([expected["account_id"], visible["account_id"]],
                                           ignore_index=True), use_na_sentinel=False)[0]
    student_codes = pd.factorize(pd.concat([expected["student_id"], visible["student_id"]],
                                           ignore_index=True), use_na_sentinel=False)[0]
    pairs = account_codes.astype(np.int64) * (int(student_codes.max(initial=0)) + 1) + student_codes
    seen_pairs = pd.Series(pairs[:count]).isin(pairs[count:]).to_numpy()
    missing = expected[~seen_pairs].sort_values(["account_id", "student_id"])
    if missing.empty:
        return
    seen = visible[visible["account_id"].isin(missing["account_id"])]
    seen_by_account: dict[str, list[str]] = {}
    for account_id, student_id in zip(seen["account_id"].tolist(), seen["student_id"].tolist()):
        seen_by_account.setdefault(account_id, []).append(student_id)
    due = expected[expected["account_id"].isin(missing["account_id"])]
    due_by_account: dict[str, list[str]] = {}
    for account_id, student_id in zip(due["account_id"].tolist(), due["student_id"].tolist()):
        due_by_account.setdefault(account_id, []).append(student_id)
    graph = context.graph

    # One pass to bucket rows by account; pandas per-group access costs more than the finding.
    missing_of: dict[str, list[tuple[str, str, str, str, str]]] = {}
    columns = ["account_id", "username", "person_id", "school_id", "student_id",
               "student_school_id"]
    for row in zip(*(missing[column].tolist() for column in columns)):
        missing_of.setdefault(row[0], []).append(row[1:])

    for account_id in sorted(missing_of):
        rows = missing_of[account_id]
        username, contact_id, school_id = rows[0][0], rows[0][1], rows[0][2]
        students = sorted(row[3] for row in rows)
        can_see = sorted(seen_by_account.get(account_id, []))
        names = {**names_of(graph, STUDENT, [*students, *can_see]),
                 **names_of(graph, CONTACT, [contact_id]), account_id: username}
        pairs = tuple((account_id, student) for student in students)
        account_screen = screen(*CONNECT_ACCOUNTS, f"{username} (account {account_id})", PERMISSIONS)
        steps = [f"{account_screen}: click +, choose {record(names, student)}, save."
                 for student in students]
        steps.append(NEVER_REGENERATE)
        shown = ", ".join(record(names, s) for s in students)
        yield Finding(
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
                "portal_access_to": ", ".join(sorted(due_by_account[account_id])),
                "can_see": ", ".join(can_see) or "none",
                "cannot_see": ", ".join(students),
            },
            fix=AddPermission(account_id=account_id, username=username, contact_id=contact_id,
                              students=tuple(students), steps=tuple(numbered(steps))),
            names=names,
            household=graph.household_snapshot(
                [(ACCOUNT, account_id), (CONTACT, contact_id), *((STUDENT, s) for s in students)]),
        )
