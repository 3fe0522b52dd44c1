"""The duplicate-contact fix: the merge-contacts action planned from a finding, and applied to
an export (the retired records' links, fields and parent accounts move to the survivor).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from audits.household.survivor import SURVIVOR_FIELDS
from audits.model.actions import MergeContacts
from audits.model.errors import InputProblem
from audits.model.findings import Finding
from fixes.actions import base_action, text
from fixes.workspace import Stale, Workspace, active, flag, loose, one, parent_accounts

__all__ = ["apply", "plan", "prepare", "retired", "validate"]


def plan(finding: Finding) -> dict[str, Any]:
    """The merge-contacts action: the survivor the check chose (:attr:`MergeContacts.survivor`),
    what the retired records give it, and every value the merge expects to find."""
    fix: MergeContacts = finding.fix
    survivor, reason = fix.survivor
    # Every record of the group, the survivor and the retired ones included.
    records = {cid: fix.records.get(cid) or {}
               for cid in dict.fromkeys([*fix.records, fix.keep, *fix.retire]) if cid}
    accounts = {cid: list(fix.accounts.get(cid, ())) for cid in records}
    retire = sorted(cid for cid in records if cid != survivor)
    action = base_action(finding, "merge-contacts")
    action.update({
        "survivor": survivor,
        "survivor_reason": reason,
        "retire": retire,
        "fill": _fills(records, survivor, retire),
        "expect": {
            "records": {cid: {column: text(records[cid].get(column)) for column in SURVIVOR_FIELDS
                              if column in records[cid]} for cid in sorted(records)},
            "links": [dict(link) for link in fix.links],
            "parent_accounts": {cid: sorted(accounts[cid]) for cid in sorted(accounts)},
        },
    })
    unsure = _unsure_pairs(records, survivor, retire)
    if unsure:
        # apply skips the merge until a person confirms it (fixes/preconditions.py, same-person)
        action["needs_decision"] = True
        action["confirm_same_person"] = None
        action["decision_note"] = (
            "The finding's values alone do not show these records are one person ("
            + "; ".join(unsure) + "). Unless the export shows them to be contacts of one "
            "family's students, apply skips this merge until a person checks in the SIS and, if "
            f"they are one person, sets confirm_same_person to {json.dumps(sorted([survivor, *retire]))}.")
    if fix.keep and fix.keep != survivor:
        # Only a findings.json of an earlier version, or edited, names another record.
        action["note"] = (f"The check suggested keeping {fix.keep}; the survivor "
                          f"rule keeps {survivor} ({reason}).")
    return action


def _fills(records: Mapping[str, Mapping[str, Any]], survivor: str,
           retire: list[str]) -> list[dict[str, str]]:
    """Each column the survivor lacks, from the first retired record that has it."""
    fill = []
    for column in SURVIVOR_FIELDS:
        if text(records[survivor].get(column)):
            continue
        for cid in retire:
            value = text(records[cid].get(column))
            if value:
                fill.append({"column": column, "value": value, "from": cid})
                break
    return fill


def _unsure_pairs(records: Mapping[str, Mapping[str, Any]], survivor: str,
                  retire: list[str]) -> list[str]:
    """The retired records that the finding's own values alone do not show to be the
    survivor's person (no shared email, phone or address; the students' family is not known
    here, so apply may still find them one family and go ahead)."""
    from fixes.preconditions import UNSURE, same_person

    kept = {c: text(v) for c, v in records[survivor].items()}
    found = []
    for cid in retire:
        verdict, why = same_person(kept, {c: text(v) for c, v in records[cid].items()})
        if verdict == UNSURE:
            found.append(f"{survivor} and {cid}: {why}")
    return found


def prepare(ws: Workspace, action: Mapping[str, Any]) -> None:
    """Before any action of the plan applies: the records this merge retires are the survivor's,
    so a rename deciding for a retired record renames the survivor (username-clash)."""
    for cid in action.get("retire") or []:
        ws.merged_into[str(cid)] = (str(action["survivor"]), action["finding"])


def validate(actions: Sequence[Mapping[str, Any]]) -> list[InputProblem]:
    """What is wrong across the plan's merges: one record in two of them, where the second
    would undo or fight the first."""
    problems = []
    merged: dict[str, str] = {}
    for number, action in enumerate(actions, 1):
        if isinstance(action, Mapping) and action.get("action") == "merge-contacts":
            for contact in [action.get("survivor"), *(action.get("retire") or [])]:
                if contact in merged and merged[contact] != action.get("finding"):
                    problems.append(InputProblem(
                        "bad-action", f"contact record {contact} is in two merges "
                        f"({merged[contact]} and {action.get('finding')}); keep one",
                        file="plan", row=number))
                merged.setdefault(contact, action.get("finding"))
    return problems


def apply(ws: Workspace, action: Mapping[str, Any]) -> bool:
    """Merge the retired records into the survivor: their links, the fields it lacks and their
    parent accounts move to it, and they leave contacts. False when the export shows it done."""
    survivor = str(action["survivor"])
    retire = [str(c) for c in action["retire"]]
    expect = action.get("expect", {}) or {}
    ws.table("contacts")
    ws.table("student_contacts")
    rows = _rows(ws, survivor, retire, expect)
    start = len(ws.changes)
    _check_accounts(ws, survivor, retire, rows, expect)
    fills = {f["column"]: f for f in action.get("fill", [])}
    planned: dict[str, set[tuple[str, bool]]] = {cid: set() for cid in retire}
    for link in expect.get("links", []) or []:
        if link["contact_id"] in planned:
            planned[link["contact_id"]].add((link["student_id"], bool(link["portal_access"])))
    current = {cid: ws.find("student_contacts", contact_id=cid) for cid in retire}
    if _done(ws, survivor, retire, rows, fills, planned, current):
        return False
    # Checked once the merge is known not to be done already: a later action of the same plan
    # (a decided rename) may have changed the survivor since, and the plan stays idempotent.
    _check_records(ws, survivor, rows, fills, expect)
    if expect.get("links"):
        for cid in retire:
            now = {(ws.get("student_contacts", r, "student_id").strip(),
                    flag(ws.get("student_contacts", r, "portal_access"))) for r in current[cid]}
            if now != planned[cid]:
                raise Stale(f"contact record {cid}'s student links changed since the plan")
    moved_portal = [student for cid in retire
                    for student in _move_links(ws, survivor, current[cid])]
    _fill(ws, survivor, rows, fills)
    adopted = _retire_accounts(ws, survivor, [cid for cid in retire if cid in rows])
    # A retired record leaves contacts for FIXED/retired_contacts.csv (whole, with the links it
    # gave up), so generation and the next audit see one record per parent. Its parent accounts
    # are the survivor's now; only where they cannot be (an accounts table with no status
    # column, so a second active account could not be disabled) does the record stay.
    for cid in retire:
        if cid in rows and not parent_accounts(ws, cid):
            ws.remove("contacts", rows[cid])
    _grant_moved(ws, survivor, moved_portal, adopted)
    return len(ws.changes) > start


def _rows(ws: Workspace, survivor: str, retire: list[str],
          expect: Mapping[str, Any]) -> dict[str, int]:
    """The contacts row of the survivor and of each retired record still there."""
    rows = {survivor: one(ws, "contacts", f"contact record {survivor}", contact_id=survivor)}
    for cid in retire:
        found = ws.find("contacts", contact_id=cid)
        if found:
            rows[cid] = found[0]
        elif "records" in expect and cid not in (expect.get("records") or {}):
            raise Stale(f"contact record {cid} no longer exists")
    return rows


def _check_accounts(ws: Workspace, survivor: str, retire: list[str], rows: Mapping[str, int],
                    expect: Mapping[str, Any]) -> None:
    """The survivor holds a parent account if any record does, and the retired records hold
    the accounts the reviewer saw."""
    if not parent_accounts(ws, survivor):
        holders = [cid for cid in retire if parent_accounts(ws, cid)]
        if holders:
            raise Stale(f"contact record {holders[0]} holds a parent account but the plan keeps "
                        f"{survivor}; plan again")
    for cid, planned_accounts in (expect.get("parent_accounts", {}) or {}).items():
        # The merge disables or re-points the retired records' accounts: only the ones the
        # reviewer saw. (Once retired, a record holds none: its accounts are the survivor's.)
        if str(cid) in rows and str(cid) != survivor:
            held = {ws.get("accounts", r, "account_id").strip()
                    for r in parent_accounts(ws, str(cid))}
            if not {str(a) for a in planned_accounts or []} <= held:
                raise Stale(f"contact record {cid}'s parent accounts changed since the plan")


def _done(ws: Workspace, survivor: str, retire: list[str], rows: Mapping[str, int],
          fills: Mapping[str, Any], planned: Mapping[str, set], current: Mapping[str, list]
          ) -> bool:
    """Whether the export already shows the merge (a plan applied twice changes nothing);
    Stale when only some retired records are gone."""
    contacts = ws.export.tables["contacts"]
    survivor_students = {ws.get("student_contacts", r, "student_id").strip()
                         for r in ws.find("student_contacts", contact_id=survivor)}
    gone = [cid for cid in retire if cid not in rows]
    if gone and len(gone) < len(retire) and any(current[c] for c in retire if c in rows):
        raise Stale(f"contact record {gone[0]} no longer exists")
    moved_already = all(not current[cid] for cid in retire) and all(
        student in survivor_students for cid in retire for student, _ in planned[cid])
    filled_already = all(ws.get("contacts", rows[survivor], c).strip() for c in fills
                         if contacts.has(c))
    return moved_already and filled_already and not any(
        cid in rows and _can_leave(ws, cid) for cid in retire)


def _check_records(ws: Workspace, survivor: str, rows: Mapping[str, int],
                   fills: Mapping[str, Any], expect: Mapping[str, Any]) -> None:
    """Every value the plan expects on the records is still there (a survivor's column the
    merge fills may already hold the value the plan brings)."""
    contacts = ws.export.tables["contacts"]
    for cid, values in (expect.get("records", {}) or {}).items():
        if cid not in rows:
            continue
        for column, value in values.items():
            if not contacts.has(column):
                continue
            now = ws.get("contacts", rows[cid], column).strip()
            if cid == survivor and column in fills:
                if now and loose(column, now) != loose(column, fills[column]["value"]):
                    raise Stale(f"contact record {cid}'s {column} changed since the plan")
                continue
            if loose(column, now) != loose(column, str(value)):
                raise Stale(f"contact record {cid}'s {column} changed since the plan")


def _move_links(ws: Workspace, survivor: str, links: list[int]) -> list[str]:
    """Move a retired record's student links to the survivor; the students it had portal
    access to."""
    moved_portal = []
    for row in sorted(links):
        student = ws.get("student_contacts", row, "student_id").strip()
        portal = ws.get("student_contacts", row, "portal_access")
        relationship = ws.get("student_contacts", row, "relationship")
        if flag(portal):
            moved_portal.append(student)
        kept = ws.find("student_contacts", student_id=student, contact_id=survivor)
        if not kept:
            ws.set("student_contacts", row, "contact_id", survivor)
            continue
        # Both records link this student: one link stays, with the stronger flags.
        target = kept[0]
        if flag(portal) and not flag(ws.get("student_contacts", target, "portal_access")):
            ws.set("student_contacts", target, "portal_access", portal)
        mine = ws.get("student_contacts", target, "relationship")
        parental = ws.config.is_parental
        if relationship.strip() and (not mine.strip() or (parental(relationship)
                                                          and not parental(mine))):
            ws.set("student_contacts", target, "relationship", relationship)
        ws.remove("student_contacts", row)
    return moved_portal


def _fill(ws: Workspace, survivor: str, rows: Mapping[str, int],
          fills: Mapping[str, Mapping[str, Any]]) -> None:
    """The columns the survivor lacks, from the retired record the plan names (its value now,
    or the plan's when the record has gone)."""
    contacts = ws.export.tables["contacts"]
    for column, fill in fills.items():
        if not contacts.has(column) or ws.get("contacts", rows[survivor], column).strip():
            continue
        donor = rows.get(fill["from"])
        value = ws.get("contacts", donor, column) if donor is not None else fill["value"]
        ws.set("contacts", rows[survivor], column, value or fill["value"])


def _grant_moved(ws: Workspace, survivor: str, moved_portal: list[str],
                 adopted: set[int]) -> None:
    """The survivor's parent accounts must see the children it now has portal access to, or the
    next audit reports missing sibling access for every merged family: its own accounts the
    moved children, an account it took over from a retired record all of them."""
    if "account_students" not in ws.export.tables or not (moved_portal or adopted):
        return
    every = [ws.get("student_contacts", r, "student_id").strip()
             for r in sorted(ws.find("student_contacts", contact_id=survivor))
             if flag(ws.get("student_contacts", r, "portal_access"))]
    for account_row in parent_accounts(ws, survivor):
        if not active(ws, "accounts", account_row):
            continue
        account_id = ws.get("accounts", account_row, "account_id").strip()
        _grant(ws, account_id, every if account_row in adopted else moved_portal)


def _can_leave(ws: Workspace, cid: str) -> bool:
    """Whether a retired record still in contacts would leave it (its accounts, if any, can be
    handed to the survivor)."""
    return not parent_accounts(ws, cid) or ws.export.tables["accounts"].has("status")


def _grant(ws: Workspace, account_id: str, students: list[str]) -> None:
    has_students = "students" in ws.export.tables
    for student in dict.fromkeys(students):
        if has_students:
            found = ws.find("students", student_id=student)
            if not found or not active(ws, "students", found[0]):
                continue
        if not ws.find("account_students", account_id=account_id, student_id=student):
            ws.add("account_students", {"account_id": account_id, "student_id": student})


def _retire_accounts(ws: Workspace, survivor: str, retired: list[str]) -> set[int]:
    """Hand the retired records' parent accounts to the survivor, the way a support person
    retires a duplicate's account: re-pointed (``person_id`` = the survivor, so no account names
    a record that left contacts) and disabled, so one parent has one login. When the survivor
    holds no active parent account, the first active one of a retired record stays active
    instead (the parent keeps the login they use) and is returned, to be given every child.

    Without a ``status`` column an account cannot be disabled: the records then keep their
    accounts (and stay in contacts) rather than leave the parent two active logins."""
    if "accounts" not in ws.export.tables:
        return set()
    held = {cid: parent_accounts(ws, cid) for cid in retired}
    if not any(held.values()):
        return set()
    if not ws.export.tables["accounts"].has("status"):
        # Every account is active then, the survivor's too (a merge never keeps a record
        # without an account over one with an account): a second one would need disabling.
        return set()
    active_here = any(active(ws, "accounts", r) for r in parent_accounts(ws, survivor))
    adopted: set[int] = set()
    for cid in retired:
        for row in held[cid]:
            if active(ws, "accounts", row):
                if active_here:
                    ws.set("accounts", row, "status", "disabled")
                else:
                    adopted.add(row)
                    active_here = True
            ws.set("accounts", row, "person_id", survivor)
    return adopted


def retired(ws: Workspace, action: Mapping[str, Any], mark: int) -> list[dict[str, str]]:
    """The merge's retired records, whole, with where their links and accounts went: the rows
    of retired_contacts.csv."""
    contacts = ws.export.tables["contacts"]
    rows = []
    for cid in action["retire"]:
        found = ws.index("contacts", "contact_id").get((str(cid),), [])
        if not found:
            continue
        row = found[0]
        moved = [c for c in ws.changes[mark:] if c.table == "student_contacts"
                 and f"contact_id={cid}" in c.key.split(", ")]
        entry = {"retired_id": str(cid), "survivor_id": str(action["survivor"]),
                 "finding_id": action["finding"],
                 "kept_in_contacts": "no" if row in ws.edits["contacts"].removed else
                 "yes (holds a parent account)",
                 "links_moved": "; ".join(sorted({c.key for c in moved})),
                 "accounts_moved": _accounts_moved(ws, str(cid), mark)}
        for header, column in zip(contacts.headers, contacts.columns):
            entry.setdefault(header, ws.get("contacts", row, column))
        rows.append(entry)
    return rows


def _accounts_moved(ws: Workspace, cid: str, mark: int) -> str:
    """The retired record's parent accounts and what became of them, for retired_contacts.csv."""
    if "accounts" not in ws.export.tables:
        return ""
    accounts = ws.export.tables["accounts"]
    person = accounts.headers[accounts.position["person_id"]]
    status = accounts.headers[accounts.position["status"]] if accounts.has("status") else None
    moved = [c.key for c in ws.changes[mark:] if c.table == "accounts" and c.column == person
             and c.before.strip() == cid]
    disabled = {c.key for c in ws.changes[mark:] if c.table == "accounts" and c.column == status}
    fates = []
    for key in sorted(set(moved)):
        account_id = key.split("account_id=", 1)[-1].split(",", 1)[0]
        rows = ws.find("accounts", account_id=account_id)
        fate = ("disabled" if key in disabled else "kept active"
                if rows and active(ws, "accounts", rows[0]) else "already disabled")
        fates.append(f"{account_id} ({fate})")
    return "; ".join(fates)
