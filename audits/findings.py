"""The one result type of every check, and its outside forms (data contract section 4)."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import encode_basestring
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

SCHEMA = "connect-audit/findings/v1"


class Severity(str, enum.Enum):
    ERROR = "error"
    """Blocks correct account generation."""
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls(text.strip().lower())


ENTITY_KINDS = ("students", "contacts", "staff", "accounts")


def stable_id(check: str, *parts: Iterable[str] | str) -> str:
    """``check:8 hex``: the same problem in the same data gets the same id on every run.

    The parts are the ids that identify the problem (the contract's section 3 names them);
    each part is sorted, so the order of rows in the export does not matter.
    """
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        else:
            pieces.append(",".join(sorted(str(p) for p in part)))
    digest = hashlib.sha1("|".join([check, *pieces]).encode("utf-8")).hexdigest()[:8]
    return f"{check}:{digest}"


@dataclass(frozen=True)
class Finding:
    """One problem found before generation, with everything a report or a fix needs to show it.

    Fields beyond the contract's (``names``, ``household``) are documented extensions: they carry
    what reports show so that reports never reach back into the board or the graph.
    """

    id: str
    check: str
    severity: Severity
    title: str
    confidence: float = 1.0
    school_ids: tuple[str, ...] = ()
    students: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    username: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fix: Mapping[str, Any] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    """Display name of every entity the finding names, by id (``C104`` -> ``Jennifer Smith``)."""
    household: Mapping[str, Any] = field(default_factory=dict)
    """The finding's part of the household graph: ``{"nodes": [...], "edges": [...]}``."""

    def entities(self) -> dict[str, list[str]]:
        return {kind: list(getattr(self, kind)) for kind in ENTITY_KINDS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check": self.check,
            "severity": self.severity.value,
            "confidence": round(float(self.confidence), 4),
            "school_ids": list(self.school_ids),
            "title": self.title,
            "entities": self.entities(),
            "pairs": [list(pair) for pair in self.pairs],
            "username": self.username,
            "evidence": dict(self.evidence),
            "fix": dict(self.fix),
            "names": dict(self.names),
            "household": dict(self.household),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Finding":
        entities = data.get("entities", {})
        return cls(
            id=data["id"],
            check=data["check"],
            severity=Severity.parse(data["severity"]),
            title=data.get("title", ""),
            confidence=float(data.get("confidence", 1.0)),
            school_ids=tuple(data.get("school_ids", ())),
            students=tuple(entities.get("students", ())),
            contacts=tuple(entities.get("contacts", ())),
            staff=tuple(entities.get("staff", ())),
            accounts=tuple(entities.get("accounts", ())),
            pairs=tuple(tuple(pair) for pair in data.get("pairs", ())),
            username=data.get("username"),
            evidence=data.get("evidence", {}),
            fix=data.get("fix", {}),
            names=data.get("names", {}),
            household=data.get("household", {}),
        )


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Highest severity first, then by check and id: a stable order for every output."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.check, f.id))


def summarize(findings: Sequence[Finding]) -> dict[str, dict[str, int]]:
    by_check: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    by_school: dict[str, int] = {}
    for finding in findings:
        by_check[finding.check] = by_check.get(finding.check, 0) + 1
        by_severity[finding.severity.value] = by_severity.get(finding.severity.value, 0) + 1
        for school in finding.school_ids:
            by_school[school] = by_school.get(school, 0) + 1
    return {"by_check": by_check, "by_severity": by_severity, "by_school": by_school}


def findings_document(
    findings: Sequence[Finding], *, input_path: str, tables: Mapping[str, int],
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The ``findings.json`` document of the data contract, section 4."""
    ordered = sort_findings(findings)
    stamp = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "schema": SCHEMA,
        "generated_at": stamp,
        "input": {"path": input_path, "tables": dict(tables)},
        "summary": summarize(ordered),
        "findings": [finding.to_dict() for finding in ordered],
    }


def dumps_findings(document: Mapping[str, Any]) -> str:
    """``json.dumps(document, ensure_ascii=False, indent=1)``, byte for byte, about three times
    faster: with ``indent`` set the standard library falls back to its pure-Python encoder, which
    took ~10 s of a 100,000-student audit."""
    return _dumps_indent1(document)


def _json_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _json_key(key: object) -> str:
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, float):
        return _json_float(key)
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _dumps_indent1(document: Any) -> str:
    parts: list[str] = []
    append = parts.append
    text = encode_basestring  # the C implementation, as json.dumps(ensure_ascii=False) uses

    def value(item: Any, pad: str) -> None:
        if isinstance(item, str):
            append(text(item))
        elif isinstance(item, dict):
            if not item:
                append("{}")
                return
            inner = pad + " "
            opener = "{"
            for key, member in item.items():
                append(opener + inner + text(_json_key(key)) + ": ")
                opener = ","
                value(member, inner)
            append(pad + "}")
        elif isinstance(item, (list, tuple)):
            if not item:
                append("[]")
                return
            inner = pad + " "
            opener = "["
            for member in item:
                append(opener + inner)
                opener = ","
                value(member, inner)
            append(pad + "]")
        elif item is None:
            append("null")
        elif item is True:
            append("true")
        elif item is False:
            append("false")
        elif isinstance(item, int):
            append(int.__repr__(item))
        elif isinstance(item, float):
            append(_json_float(item))
        else:
            raise TypeError(f"Object of type {item.__class__.__name__} is not JSON serializable")

    value(document, "\n")
    return "".join(parts)


def findings_to_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """One row per finding, columns an analyst can filter on in Excel or pandas."""
    rows = []
    for f in findings:
        rows.append({
            "id": f.id,
            "check": f.check,
            "severity": f.severity.value,
            "confidence": f.confidence,
            "school_ids": ", ".join(f.school_ids),
            "title": f.title,
            "students": ", ".join(f.students),
            "contacts": ", ".join(f.contacts),
            "staff": ", ".join(f.staff),
            "accounts": ", ".join(f.accounts),
            "pairs": "; ".join(" & ".join(pair) for pair in f.pairs),
            "username": f.username or "",
            "fix_action": f.fix.get("action", ""),
        })
    columns = ["id", "check", "severity", "confidence", "school_ids", "title", "students",
               "contacts", "staff", "accounts", "pairs", "username", "fix_action"]
    return pd.DataFrame(rows, columns=columns)


def entities_to_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """One row per (finding, entity): the long form, for joins back to the export."""
    rows = []
    for f in findings:
        for kind in ENTITY_KINDS:
            for entity_id in getattr(f, kind):
                rows.append({"finding_id": f.id, "check": f.check, "severity": f.severity.value,
                             "entity_type": kind, "entity_id": entity_id,
                             "name": f.names.get(entity_id, "")})
    return pd.DataFrame(rows, columns=["finding_id", "check", "severity", "entity_type",
                                       "entity_id", "name"])
