"""The survivor rule: which contact record a merge of duplicate contact records keeps.

One rule, applied by the duplicate-contact check (its ``fix.keep`` and runbook steps), whose
choice the fix planner keeps, so the record the runbook tells a clerk to keep is the record the
automatic fix keeps. A merge read from a findings.json (which carries the choice, not its
reason) asks the rule again (``audits.model.actions.MergeContacts.survivor``).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from audits.model.board import cell_text

# Contact columns that count towards "the most complete record".
SURVIVOR_FIELDS = ("first_name", "last_name", "email", "home_phone", "cell_phone", "work_phone",
                   "street", "city", "postal_code")


def id_order(contact_id: str) -> tuple:
    """Ids in natural order, digits compared as numbers: ``C803`` comes before ``C3201``.

    SIS ids grow over time, so the lower id is the older record, usually the one typed first
    and reviewed since; plain text order would keep ``C3201`` over ``C803``."""
    natural = tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                    for part in re.split(r"(\d+)", contact_id) if part)
    # ``000123`` and ``123`` are different ids that compare equal as numbers: text decides.
    return natural, contact_id


def choose_survivor(contacts: Iterable[str], records: Mapping[str, Mapping[str, Any]],
                    links: Iterable[Mapping[str, Any]],
                    accounts: Mapping[str, Iterable[str]]) -> tuple[str, str]:
    """The record a merge keeps among ``contacts``, and why, in the order the SIS procedure
    gives: the one holding a parent account (its username and permissions stay), else the one
    linked to the most students, else the most complete, else the lowest id (in natural order, see :func:`id_order`).

    ``records``: contact id -> its contact columns; ``links``: student_contacts rows
    (``contact_id``, ``student_id``); ``accounts``: contact id -> its parent account ids.
    Several account holders: the rule continues among them only.
    """
    ids = sorted({cell_text(cid) for cid in contacts}, key=id_order)
    if not ids:
        raise ValueError("choose_survivor needs at least one contact record")
    students: dict[str, set[str]] = {cid: set() for cid in ids}
    for link in links:
        cid = cell_text(link.get("contact_id"))
        if cid in students:
            students[cid].add(cell_text(link.get("student_id")))
    filled = {cid: sum(1 for column in SURVIVOR_FIELDS
                       if cell_text((records.get(cid) or {}).get(column))) for cid in ids}
    holders = [cid for cid in ids if any(cell_text(a) for a in accounts.get(cid) or ())]
    if len(holders) == 1:
        return holders[0], "holds a parent account"
    pool = holders or ids
    most = max(len(students[cid]) for cid in pool)
    pool = [cid for cid in pool if len(students[cid]) == most]
    if len(pool) == 1:
        return pool[0], "linked to the most students"
    best = max(filled[cid] for cid in pool)
    pool = [cid for cid in pool if filled[cid] == best]
    if len(pool) == 1:
        return pool[0], "the most complete record"
    return pool[0], "the lowest id"
