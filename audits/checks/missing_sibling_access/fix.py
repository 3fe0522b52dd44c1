"""The missing-sibling-access fix: the add-permission action planned from a finding, and applied.
"""

from __future__ import annotations

from typing import Any, Mapping

from audits.model.errors import UserError
from fixes.actions import base_action, text
from fixes.workspace import Stale, Workspace, active, one

def plan(finding: Mapping[str, Any]) -> dict[str, Any]:
    fix = finding.get("fix") or {}
    grants: dict[str, list[str]] = {}
    if fix.get("account_id"):
        grants[text(fix["account_id"])] = [text(s) for s in fix.get("students", []) or []]
    for account_id, student_id in finding.get("pairs", []) or []:
        students = grants.setdefault(text(account_id), [])
        if text(student_id) not in students:
            students.append(text(student_id))
    if len(grants) != 1:
        raise UserError(f"Finding {finding['id']}: add-permission needs exactly one account")
    (account_id, students), = grants.items()
    action = base_action(finding, "add-permission")
    action.update({"account_id": account_id, "username": text(fix.get("username")),
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
