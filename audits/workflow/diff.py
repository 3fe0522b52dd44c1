"""Run-to-run comparison of two findings.json documents: what is new, what was resolved and what
is still open, by check and school. Stable ids make this a set comparison: the same problem in
the same data has the same id on every run, so an id present only in the old run was resolved
(or its data changed enough to be a different problem), and one present only in the new run is
new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from audits.model.errors import UserError
from audits.io.paths import file_or_folder
from audits.model.findings import Finding, sort_findings

NEW, RESOLVED, STILL_OPEN, SUPPRESSED = "new", "resolved", "still open", "suppressed"
STATUSES = (NEW, RESOLVED, STILL_OPEN, SUPPRESSED)
CHANGE_COLUMNS = ("status", "id", "check", "severity", "school_ids", "title")


@dataclass
class FindingsDiff:
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    """As the old run described them."""
    still_open: list[Finding] = field(default_factory=list)
    """As the new run describes them."""
    suppressed: list[Finding] = field(default_factory=list)
    """Open in the old run, left out of the new one by a recorded decision (its ``suppressed``
    section): not resolved, only no longer reported. Their title is the decision's reason, not
    the old run's title: the old run may hold names a redacted new run must not show."""
    old_generated_at: str = ""
    new_generated_at: str = ""

    def groups(self) -> tuple[tuple[str, list[Finding]], ...]:
        return ((NEW, self.new), (RESOLVED, self.resolved), (STILL_OPEN, self.still_open),
                (SUPPRESSED, self.suppressed))

    def frame(self) -> pd.DataFrame:
        """One row per finding of either run: status, id, check, severity, school_ids, title."""
        rows = [(status, f.id, f.check, f.severity.value, ", ".join(f.school_ids), f.title)
                for status, group in self.groups() for f in group]
        return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))

    def counts(self, by: str = "check") -> pd.DataFrame:
        """Counts of new, resolved and still-open findings per check (``by="check"``) or per
        school (``by="school"``; a finding spanning two schools counts at both)."""
        if by not in ("check", "school"):
            raise ValueError("by is 'check' or 'school'")
        rows = []
        for status, group in self.groups():
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
                "still_open": len(self.still_open), "suppressed": len(self.suppressed),
                "old_generated_at": self.old_generated_at,
                "new_generated_at": self.new_generated_at}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(),
                "by_check": _records(self.counts("check")),
                "by_school": _records(self.counts("school")),
                "findings": {status.replace(" ", "_"): [f.id for f in group]
                             for status, group in self.groups()}}

    def headline(self) -> str:
        text = (f"{len(self.new)} new, {len(self.resolved)} resolved, "
                f"{len(self.still_open)} still open")
        if self.suppressed:
            text += f", {len(self.suppressed)} suppressed since the previous run"
        return text

    def text(self, by: str = "check") -> str:
        lines = [self.headline()]
        counts = self.counts(by)
        if not counts.empty:
            lines.append(f"  {by:<26} {'new':>6} {'resolved':>9} {'still open':>11} "
                         f"{'suppressed':>11}")
            for key, row in counts.iterrows():
                lines.append(f"  {key:<26} {row[NEW]:>6} {row[RESOLVED]:>9} "
                             f"{row[STILL_OPEN]:>11} {row[SUPPRESSED]:>11}")
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


FINDINGS_FILE = "findings.json"


def findings_path(path: str | Path, *, what: str = "findings file") -> Path:
    """The findings.json at ``path``: the file itself, or the one in an audit's output folder."""
    return file_or_folder(path, FINDINGS_FILE, what=what,
                          hint=f"give the {FINDINGS_FILE} an audit wrote (or the --out folder "
                               "that holds it)")


def read_findings_document(path: str | Path, *, what: str = "findings file") -> dict[str, Any]:
    from audits.model.findings import read_findings_file

    return read_findings_file(findings_path(path, what=what), what=what)


def diff_findings(old: Mapping[str, Any] | Sequence[Finding],
                  new: Mapping[str, Any] | Sequence[Finding]) -> FindingsDiff:
    """Compare two runs by stable id. Either side is a findings.json document or a list of
    :class:`Finding`."""
    old_findings, new_findings = findings_of(old), findings_of(new)
    old_ids = {f.id for f in old_findings}
    new_ids = {f.id for f in new_findings}
    decided = _decisions(new)
    gone = [(f, _reason(f, decided)) for f in old_findings if f.id not in new_ids]
    stamp = (lambda d: str(d.get("generated_at", "")) if isinstance(d, Mapping) else "")
    return FindingsDiff(
        new=sort_findings(f for f in new_findings if f.id not in old_ids),
        resolved=sort_findings(f for f, reason in gone if reason is None),
        still_open=sort_findings(f for f in new_findings if f.id in old_ids),
        suppressed=sort_findings(_as_suppressed(f, reason) for f, reason in gone
                                 if reason is not None),
        old_generated_at=stamp(old), new_generated_at=stamp(new))


Decisions = tuple[dict[str, str], list[tuple[frozenset, str]]]


def _decisions(document: Any) -> Decisions:
    """The new run's recorded decisions (its ``suppressed`` section): reason by finding id, and
    the contact pairs declared different people with their reason."""
    section = document.get("suppressed") if isinstance(document, Mapping) else None
    if not isinstance(section, Mapping):
        return {}, []
    by_id = {str(e.get("id")): str(e.get("reason", "")) for e in section.get("findings") or []
             if isinstance(e, Mapping) and e.get("id")}
    pairs = [(frozenset(str(p) for p in e.get("pair") or ()), str(e.get("reason", "")))
             for e in section.get("pairs") or [] if isinstance(e, Mapping)]
    return by_id, [(pair, reason) for pair, reason in pairs if len(pair) == 2]


def _reason(finding: Finding, decided: Decisions) -> str | None:
    """Why an old finding is missing from the new run by decision, or None (it was resolved)."""
    by_id, pairs = decided
    if finding.id in by_id:
        return by_id[finding.id]
    if finding.check == "duplicate-contact":
        # A pair decision splits the group, so the old group's id is gone.
        members = set(finding.contacts)
        for pair, reason in pairs:
            if pair <= members:
                return reason
    return None


def _as_suppressed(finding: Finding, reason: str) -> Finding:
    return Finding(id=finding.id, check=finding.check, severity=finding.severity,
                   title=f"suppressed: {reason}" if reason else "suppressed",
                   school_ids=finding.school_ids, students=finding.students,
                   contacts=finding.contacts, staff=finding.staff, accounts=finding.accounts,
                   pairs=finding.pairs)


__all__ = ["CHANGE_COLUMNS", "FINDINGS_FILE", "FindingsDiff", "NEW", "RESOLVED", "STILL_OPEN",
           "STATUSES", "SUPPRESSED", "diff_findings", "findings_path", "findings_of", "read_findings_document"]
