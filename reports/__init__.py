"""The outputs people read: the Excel workbook, the offline HTML report with fix review, the
runbooks for support staff, and ``findings.json``.

Reports consume one :class:`ReportInput` and never reach back into the board or the graph:
everything they show is carried by the findings (names, schools, evidence, household).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from audits.model.findings import Finding, sort_findings, summarize
from reports.records import RecordsTables

FORMATS = ("xlsx", "html", "json")


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


def write_reports(report_input: ReportInput, out_dir: Path,
                  formats: Iterable[str] = FORMATS, *, per_school: bool = False
                  ) -> dict[str, Path]:
    """Write the chosen outputs into ``out_dir`` (``audit.xlsx``, ``audit.html``,
    ``findings.json``) and always ``runbooks/``; each file appears whole or not at all.
    ``per_school`` (with xlsx): also ``school-workbooks/``, one workbook per school.
    Returns the path of each output by format (``runbooks`` is the runbooks' index page,
    ``school-workbooks`` the folder)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [f.strip().lower() for f in formats]
    unknown = sorted(set(chosen) - set(FORMATS) - {"runbooks"})
    if unknown:
        from audits.model.errors import UserError

        raise UserError(f"unknown report format(s): {', '.join(unknown)}; "
                        f"choose from {', '.join(FORMATS)}")
    from audits.engine.parallel import start
    from reports.runbooks import write_runbooks

    # The runbooks (the longest writer) are written by a forked worker on the second core while
    # this process writes the rest; a worker that cannot start or dies leaves them to this one.
    runbooks = start(write_runbooks, report_input, out_dir / "runbooks")
    written: dict[str, Path] = {}
    try:
        if "json" in chosen:  # first: a crash in a report writer still leaves it whole
            from audits.io.files import write_atomic
            from audits.model.findings import findings_document, findings_json_chunks, skipped_section

            document = findings_document(report_input.findings,
                                         input_path=report_input.input_path,
                                         tables=report_input.tables,
                                         generated_at=report_input.generated_at,
                                         fingerprint=report_input.fingerprint)
            if report_input.suppressed is not None:
                document["suppressed"] = report_input.suppressed.to_dict()
            if report_input.skipped:
                document["skipped"] = skipped_section(report_input.skipped)
            written["json"] = write_atomic(out_dir / "findings.json",
                                           findings_json_chunks(document))
        if "xlsx" in chosen:
            from reports.workbook import write_workbook

            written["xlsx"] = write_workbook(report_input, out_dir / "audit.xlsx")
            if per_school:
                from reports.workbook import SCHOOL_WORKBOOKS, write_school_workbooks

                write_school_workbooks(report_input, out_dir / SCHOOL_WORKBOOKS)
                written[SCHOOL_WORKBOOKS] = out_dir / SCHOOL_WORKBOOKS
        if "html" in chosen:
            from reports.html import write_html

            written["html"] = write_html(report_input, out_dir / "audit.html")
        written["runbooks"] = runbooks.result()
    finally:
        runbooks.cancel()  # a no-op once the runbooks are written; else the worker is ended
    return written


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


def write_audit_reports(result: Any, out_dir: str | Path,
                        formats: Iterable[str] = FORMATS, *, per_school: bool = False
                        ) -> dict[str, Path]:
    """Write findings.json, audit.xlsx, audit.html and runbooks/ for an
    ``audits.api.AuditResult`` into ``out_dir`` (what ``audit`` writes; the CLI and notebooks
    call this). A result from ``audits.api.redact`` writes redacted outputs; one with
    ``changes`` (``audits.api.compare``) adds the "Changes since last run" sheet and section.
    Each file appears whole; the CLI writes the set into the staging folder of an
    ``audits.io.outputs.OutputFolder``, which swaps it into --out together."""
    return write_reports(report_input_from_audit(result), Path(out_dir), formats,
                         per_school=per_school)


__all__ = ["FORMATS", "ReportInput", "report_input_from_audit", "write_audit_reports",
           "write_reports"]
