"""What every plan action shares, for the planners of the check folders' ``fix.py``: the
``manual`` fallback's name, the fields every action has, and how a plan's values read."""

from __future__ import annotations

from typing import Any, Mapping

MANUAL = "manual"


def text(value: object) -> str:
    return "" if value is None else str(value).strip()


def truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return text(value).lower() in ("y", "yes", "true", "1", "t")


def base_action(finding: Mapping[str, Any], action: str) -> dict[str, Any]:
    """The fields every plan action has, from its finding."""
    fix = finding.get("fix") or {}
    return {
        "finding": finding["id"],
        "check": finding.get("check", ""),
        "action": action,
        "title": finding.get("title", ""),
        "confidence": finding.get("confidence", 1.0),
        "needs_decision": False,
        "steps": list(fix.get("steps", [])),
        # Shown to the reviewer, filled in by the planner (fixes/plan.py); `apply` checks the
        # rules of the action's kind whatever this list says (fixes/preconditions.py).
        "preconditions": [],
    }
