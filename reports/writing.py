"""Writing the reports of one run: the workbook, the HTML report, the runbooks and
findings.json, from a :class:`reports.input.ReportInput` or an audit's result."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from reports.input import ReportInput, report_input_from_audit

FORMATS = ("xlsx", "html", "json")


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


__all__ = ["FORMATS", "write_audit_reports", "write_reports"]
