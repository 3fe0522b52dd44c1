"""Run-to-run comparison of two findings.json documents: what is new, what was resolved and what
is still open, by check and school. Stable ids make this a set comparison: the same problem in
the same data has the same id on every run, so an id present only in the old run was resolved
(or its data changed enough to be a different problem), and one present only in the new run is
new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from audits.errors import UserError
from audits.findings import Finding, sort_findings

NEW, RESOLVED, STILL_OPEN = "new", "resolved", "still open"
STATUSES = (NEW, RESOLVED, STILL_OPEN)
CHANGE_COLUMNS = ("status", "id", "check", "severity", "school_ids", "title")


@dataclass
class FindingsDiff:
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    """As the old run described them."""
    still_open: list[Finding] = field(default_factory=list)
    """As the new run describes them."""
    old_generated_at: str = ""
    new_generated_at: str = ""

    def frame(self) -> pd.DataFrame:
        """One row per finding of either run: status, id, check, severity, school_ids, title."""
        rows = [(status, f.id, f.check, f.severity.value, ", ".join(f.school_ids), f.title)
                for status, group in ((NEW, self.new), (RESOLVED, self.resolved),
                                      (STILL_OPEN, self.still_open)) for f in group]
        return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))

    def counts(self, by: str = "check") -> pd.DataFrame:
        """Counts of new, resolved and still-open findings per check (``by="check"``) or per
        school (``by="school"``; a finding spanning two schools counts at both)."""
        if by not in ("check", "school"):
            raise ValueError("by is 'check' or 'school'")
        rows = []
        for status, group in ((NEW, self.new), (RESOLVED, self.resolved),
                              (STILL_OPEN, self.still_open)):
            for f in group:
                keys = [f.check] if by == "check" else (list(f.school_ids) or ["(no school)"])
                rows.extend((key, status) for key in keys)
        frame = pd.DataFrame(rows, columns=[by, "status"])
        table = pd.crosstab(frame[by], frame["status"]) if rows else pd.DataFrame(
            index=pd.Index([], name=by))
        table = table.reindex(columns=list(STATUSES), fill_value=0).astype(int)
        table.columns.name = None
        return table.sort_index()

    def summary(self) -> dict[str, Any]:
        return {"new": len(self.new), "resolved": len(self.resolved),
                "still_open": len(self.still_open),
                "old_generated_at": self.old_generated_at,
                "new_generated_at": self.new_generated_at}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(),
                "by_check": _records(self.counts("check")),
                "by_school": _records(self.counts("school")),
                "findings": {status.replace(" ", "_"): [f.id for f in group] for status, group in
                             ((NEW, self.new), (RESOLVED, self.resolved),
                              (STILL_OPEN, self.still_open))}}

    def text(self) -> str:
        lines = [f"{len(self.new)} new, {len(self.resolved)} resolved, "
                 f"{len(self.still_open)} still open"]
        counts = self.counts("check")
        if not counts.empty:
            lines.append(f"  {'check':<26} {'new':>6} {'resolved':>9} {'still open':>11}")
            for check, row in counts.iterrows():
                lines.append(f"  {check:<26} {row[NEW]:>6} {row[RESOLVED]:>9} {row[STILL_OPEN]:>11}")
        return "\n".join(lines)


def _records(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    return {str(key): {status.replace(" ", "_"): int(row[status]) for status in STATUSES}
            for key, row in table.iterrows()}


def findings_of(document: Mapping[str, Any] | Sequence[Finding]) -> list[Finding]:
    """The findings of a findings.json document (or a list of findings, as they are)."""
    if isinstance(document, Mapping):
        entries = document.get("findings")
        if not isinstance(entries, list):
            raise UserError("Not a findings.json document: it has no \"findings\" list")
        return [Finding.from_dict(entry) for entry in entries]
    return list(document)


def read_findings_document(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise UserError(f"Findings file not found: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path.name} is not a findings.json file: {error}") from None
    if not isinstance(document, dict) or not str(document.get("schema", "")).startswith(
            "connect-audit/findings/"):
        raise UserError(f"{path.name} is not a connect-audit findings.json file (no schema)")
    return document


def diff_findings(old: Mapping[str, Any] | Sequence[Finding],
                  new: Mapping[str, Any] | Sequence[Finding]) -> FindingsDiff:
    """Compare two runs by stable id. Either side is a findings.json document or a list of
    :class:`Finding`."""
    old_findings, new_findings = findings_of(old), findings_of(new)
    old_ids = {f.id for f in old_findings}
    new_ids = {f.id for f in new_findings}
    stamp = (lambda d: str(d.get("generated_at", "")) if isinstance(d, Mapping) else "")
    return FindingsDiff(
        new=sort_findings(f for f in new_findings if f.id not in old_ids),
        resolved=sort_findings(f for f in old_findings if f.id not in new_ids),
        still_open=sort_findings(f for f in new_findings if f.id in old_ids),
        old_generated_at=stamp(old), new_generated_at=stamp(new))


__all__ = ["CHANGE_COLUMNS", "FindingsDiff", "NEW", "RESOLVED", "STILL_OPEN", "STATUSES",
           "diff_findings", "findings_of", "read_findings_document"]
