"""What every plan action shares, for the planners of the check folders' ``fix.py``: the
``manual`` fallback's name, the fields every action has, and how a plan's values read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audits.model.actions import MANUAL
from audits.model.board import cell_text as text

if TYPE_CHECKING:
    from audits.model.findings import Finding

__all__ = ["MANUAL", "base_action", "text"]


def base_action(finding: "Finding", action: str) -> dict[str, Any]:
    """The fields every plan action has, from its finding."""
    return {
        "finding": finding.id,
        "check": finding.check,
        "action": action,
        "title": finding.title,
        "confidence": finding.confidence,
        "needs_decision": False,
        "steps": list(finding.fix.steps),
        # Shown to the reviewer, filled in by the planner (fixes/plan.py); `apply` checks the
        # rules of the action's kind whatever this list says (fixes/preconditions.py).
        "preconditions": [],
    }
