"""What every report reads: one :class:`ReportInput`, made from an audit's result by
:func:`report_input_from_audit`. Reports never reach back into the board or the graph."""


from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from audits.model.findings import Finding, sort_findings, summarize
from reports.records import RecordsTables


@dataclass(frozen=True)
class ReportInput:
    """Everything a report shows, decided before any report is written."""

    findings: Sequence[Finding]
    summary: Mapping[str, Mapping[str, int]] | None = None
    """``audits.model.findings.summarize(findings)``; computed when not given, missing keys filled."""
    preview: pd.DataFrame | None = None
    """The generation preview (any columns: contact_id, name, school_id, ..., outcome, reason)."""
    schools: Mapping[str, str] = field(default_factory=dict)
    """School names by school_id."""
    checks: Mapping[str, Any] = field(default_factory=dict)
    """CheckSpec-like objects (``summary``, ``why``, ``how``) by check code."""
    board_name: str = ""
    generated_at: datetime | None = None
    input_path: str = ""
    tables: Mapping[str, int] = field(default_factory=dict)
    """Row count of each table of the export, for ``findings.json``."""
    fingerprint: Mapping[str, Any] | None = None
    """The export's fingerprint (``audits.io.fingerprint``): in ``findings.json`` and in the
    review's fix plan, which ``fix apply`` binds to that export."""
    changes: Any = None
    """An ``audits.workflow.diff.FindingsDiff`` with a previous run: adds the "Changes since last run"
    workbook sheet and HTML section."""
    suppressed: Any = None
    """An ``audits.workflow.suppressions.SuppressionReport``: its count shows in the reports, and its
    section goes into ``findings.json``."""
    redacted: bool = False
    """The findings and preview were redacted (``audits.workflow.redact``); the reports say so."""
    skipped: Mapping[str, str] = field(default_factory=dict)
    """Checks not run, each with its reason (``AuditResult.skipped``): in ``findings.json``."""
    records_tables: RecordsTables = field(default_factory=RecordsTables, compare=False,
                                          repr=False)
    """The duplicate groups' side-by-side tables, made once for all of the run's reports."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", sort_findings(self.findings))
        # A summary from elsewhere (findings.json) may lack by_school, which the reports need.
        counted = summarize(self.findings)
        object.__setattr__(self, "summary", {**counted, **(self.summary or {})})
        if self.generated_at is None:
            object.__setattr__(self, "generated_at", datetime.now(timezone.utc))

    @property
    def stamp(self) -> str:
        """When, and from which export (the fingerprint's short id): every report prints it
        after "Generated", so two boards' reports in one folder can never pass for one."""
        when = self.generated_at.strftime("%Y-%m-%d %H:%M UTC")  # type: ignore[union-attr]
        export = (self.fingerprint or {}).get("export")
        return f"{when}, export {export}" if export else when


def report_input_from_audit(result: Any, *, board_name: str | None = None) -> ReportInput:
    """The :class:`ReportInput` of an ``audits.api.AuditResult``, from what the result carries
    (its findings, ``school_names``, ``table_rows``, ``input_path`` and ``preview``): reports
    never reach back into the board."""
    from audits.checks.spec import load_checks

    source = str(result.input_path or "")
    return ReportInput(
        findings=result.findings, preview=result.preview, schools=dict(result.school_names),
        checks={code: spec for code, spec in load_checks().items()
                if code not in getattr(result, "skipped", {})},  # a skipped check shows no "0"
        board_name=board_name if board_name is not None else
        Path(source).name, input_path=source, tables=dict(result.table_rows),
        fingerprint=getattr(result, "fingerprint", None),
        changes=getattr(result, "changes", None), suppressed=getattr(result, "suppressed", None),
        redacted=bool(getattr(result, "redacted", False)),
        skipped=dict(getattr(result, "skipped", {})))
