"""The missing-sibling-access fix: the add-permission action planned from a finding, and applied.
"""

from __future__ import annotations

from typing import Any, Mapping

from audits.model.actions import AddPermission
from audits.model.errors import UserError
from audits.model.findings import Finding
from fixes.actions import base_action, text
from fixes.workspace import Stale, Workspace, active, one


def plan(finding: Finding) -> dict[str, Any]:
    """The add-permission action: one account, the students it is to see."""
    fix: AddPermission = finding.fix
    grants: dict[str, list[str]] = {}
    if fix.account_id:
        grants[fix.account_id] = list(fix.students)
    for account_id, student_id in finding.pairs:
        students = grants.setdefault(text(account_id), [])
        if text(student_id) not in students:
            students.append(text(student_id))
    if len(grants) != 1:
        raise UserError(f"Finding {finding.id}: add-permission needs exactly one account")
    (account_id, students), = grants.items()
    action = base_action(finding, "add-permission")
    action.update({"account_id": account_id, "username": text(fix.username),
                   "students": sorted(set(students))})
    return action


def apply(ws: Workspace, action: Mapping[str, Any]) -> bool:
    account_id = str(action["account_id"])
    ws.table("account_students")
    row = one(ws, "accounts", f"account {account_id}", account_id=account_id)
    if all(ws.find("account_students", account_id=account_id, student_id=str(student))
           for student in action["students"]):
        # Already done: a later action of the plan (a decided rename) may have renamed it since.
        return False
    username = str(action.get("username") or "").strip().lower()
    if username and ws.get("accounts", row, "username").strip().lower() != username:
        raise Stale(f"account {account_id}'s username changed since the plan")
    if not active(ws, "accounts", row):
        raise Stale(f"account {account_id} is disabled")
    if "students" in ws.export.tables:
        for student in action["students"]:
            one(ws, "students", f"student {student}", student_id=str(student))
    changed = False
    for student in action["students"]:
        if not ws.find("account_students", account_id=account_id, student_id=str(student)):
            ws.add("account_students", {"account_id": account_id, "student_id": str(student)})
            changed = True
    return changed
