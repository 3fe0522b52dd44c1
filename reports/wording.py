"""How a finding reads to a person: the words every report shares, so the workbook, the HTML
report and the runbooks say the same thing the same way."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping, Sequence

from audits.model.findings import Finding, more_pairs

SEVERITY_ORDER = ("error", "warning", "info")
SEVERITY_WORDS = {"error": "Error", "warning": "Warning", "info": "Info"}
ENTITY_WORDS = {"students": "student", "contacts": "contact record", "staff": "staff record",
                "accounts": "account"}
NO_SCHOOL = "(no school)"
_NUMBERED = re.compile(r"^\s*\d+[.)]\s")


def school_label(school_id: str, schools: Mapping[str, str]) -> str:
    name = schools.get(school_id)
    return f"{name} ({school_id})" if name else school_id


def named(entity_id: str, names: Mapping[str, str]) -> str:
    """``Jennifer Smith (C104)``, or the bare id when the finding carries no name for it."""
    name = names.get(entity_id)
    return f"{name} ({entity_id})" if name else entity_id


def people(finding: Finding) -> list[tuple[str, str, str]]:
    """Every record the finding names, as ``(kind word, id, display name)``."""
    found = []
    for kind, word in ENTITY_WORDS.items():
        for entity_id in getattr(finding, kind):
            found.append((word, entity_id, finding.names.get(entity_id, "")))
    return found


def people_text(finding: Finding) -> str:
    return "; ".join(f"{word} {name} ({ident})" if name else f"{word} {ident}"
                     for word, ident, name in people(finding))


@lru_cache(maxsize=1024)  # the same few field names on every finding
def evidence_field(field: str) -> str:
    return field.replace("_", " ").replace("-", " ")


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """The evidence in words, one field per line: ``email: same``."""
    return "\n".join(f"{evidence_field(k)}: {v}" for k, v in evidence.items())


def pairs_text(finding: Finding) -> str:
    return ("; ".join(" & ".join(named(x, finding.names) for x in pair) for pair in finding.pairs)
            + more_pairs(finding))


def fix_steps(fix: Mapping[str, Any]) -> list[str]:
    """The fix's steps, each numbered once (steps may arrive numbered or not)."""
    steps = [str(step) for step in (fix.get("steps") or [])]
    return [step if _NUMBERED.match(step) else f"{n}. {step}" for n, step in enumerate(steps, 1)]


def fix_steps_plain(fix: Mapping[str, Any]) -> list[str]:
    """The steps without their numbers, for ordered lists that number themselves."""
    return [_NUMBERED.sub("", str(step), count=1) for step in (fix.get("steps") or [])]


def fix_action(fix: Mapping[str, Any]) -> str:
    return str(fix.get("action") or "")


def check_text(spec: Any, field: str) -> str:
    """``summary``/``why``/``how`` of a CheckSpec, or of a plain dict standing in for one."""
    if spec is None:
        return ""
    if isinstance(spec, Mapping):
        return str(spec.get(field, "") or "")
    return str(getattr(spec, field, "") or "")


def ordered_checks(findings: Sequence[Finding], checks: Mapping[str, Any]) -> list[str]:
    """Every check with findings, plus every registered check (a clean check is news too)."""
    return sorted(set(checks) | {f.check for f in findings})
