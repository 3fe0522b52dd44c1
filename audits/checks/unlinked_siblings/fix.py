"""The unlinked-siblings fix: the link-siblings action planned from a finding, and applied.
"""

from __future__ import annotations

from typing import Any, Mapping

from audits.model.actions import LinkSiblings
from audits.model.findings import Finding
from fixes.actions import base_action, text
from fixes.workspace import Workspace, one


def plan(finding: Finding) -> dict[str, Any]:
    """The link-siblings action: each missing pair once (the finding's pairs when its fix
    lists none)."""
    fix: LinkSiblings = finding.fix
    seen = set()
    missing = []
    for a, b in fix.pairs or finding.pairs:
        key = tuple(sorted((text(a), text(b))))
        if key[0] != key[1] and key not in seen:
            seen.add(key)
            missing.append([text(a), text(b)])
    action = base_action(finding, "link-siblings")
    action["pairs"] = missing
    return action


def apply(ws: Workspace, action: Mapping[str, Any]) -> bool:
    ws.table("siblings")
    pairs = [(str(a), str(b)) for a, b in action["pairs"]]
    if "students" in ws.export.tables:
        for student in sorted({s for pair in pairs for s in pair}):
            one(ws, "students", f"student {student}", student_id=student)
    changed = False
    for a, b in pairs:
        if ws.find("siblings", student_id=a, sibling_id=b) or ws.find(
                "siblings", student_id=b, sibling_id=a):
            continue
        ws.add("siblings", {"student_id": a, "sibling_id": b})
        changed = True
    return changed
