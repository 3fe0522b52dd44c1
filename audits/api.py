"""The Python API: what the CLI does, as functions an analyst can call from Jupyter.

    from audits import api
    board = api.load_board("exports/2026-11")
    result = api.run_audit(board)
    result.frame()                     # one row per finding
    api.write_findings(result, "out/findings.json")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import pandas as pd

from audits.model.board import Board
from audits.model.config import Config, load_config
from audits.engine.context import AuditContext
from audits.model.errors import UserError
from audits.model.findings import (Finding, Severity, entities_to_frame, findings_document,
                             findings_json_chunks, findings_to_frame, skipped_section,
                             sort_findings)
from audits.engine.progress import Progress
from audits.io.files import write_atomic
from audits.checks.spec import CheckSpec, load_checks
from audits.engine.run import needs_matching as _needs_matching
from audits.engine.run import run_checks, start_matching

if TYPE_CHECKING:
    from audits.workflow.diff import FindingsDiff
    from audits.engine.parallel import Job
    from audits.workflow.reconcile import Reconciliation
    from audits.workflow.suppressions import Suppression, SuppressionReport

__all__ = ["AuditResult", "load_board", "load_config", "run_audit", "start_matching",
           "write_findings", "write_atomic", "available_checks", "fails", "diff", "compare",
           "read_findings", "load_suppressions", "suppress", "redact", "preview",
           "write_preview", "reconcile"]


def load_board(path: str | Path, *, mapping: str | Path | None = None,
               validate: bool = True, after_read: "Callable[[Board], object] | None" = None,
               config: Config | None = None) -> Board:
    """Read a board export (a folder of CSV files or one .xlsx workbook) and validate it.
    ``after_read`` is called with the board as read, before validation (see :func:`_audit` in
    the CLI: contact matching starts there). ``config`` gives the size limits (``[input]``)."""
    from audits.io.loading.folder import load_board as _load

    return _load(path, mapping=mapping, validate=validate, after_read=after_read,
                 limits=config.input_limits if config is not None else None)


def available_checks() -> dict[str, CheckSpec]:
    return load_checks()


@dataclass
class AuditResult:
    board: Board
    context: AuditContext
    findings: list[Finding]
    timings: dict[str, float] = field(default_factory=dict)
    suppressed: "SuppressionReport | None" = None
    """What the suppressions given to :func:`run_audit` left out, and the ones that matched
    nothing (``None`` when none were given)."""
    changes: "FindingsDiff | None" = None
    """The comparison with a previous run (:func:`compare`), shown by the reports."""
    redacted: bool = False
    """True for a result from :func:`redact`: its findings and preview hold no personal data."""
    preview_frame: pd.DataFrame | None = None
    """Overrides the context's preview (a redacted result carries its redacted preview)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Checks selected but not run, each with the reason (a table the export does not give)."""

    def frame(self) -> pd.DataFrame:
        """One row per finding."""
        return findings_to_frame(self.findings)

    def entities(self) -> pd.DataFrame:
        """One row per (finding, entity)."""
        return entities_to_frame(self.findings)

    @property
    def preview(self) -> pd.DataFrame:
        """The generation preview: one row per parent account generation would create."""
        if self.preview_frame is not None:
            return self.preview_frame
        return self.context.preview

    # What the reports show besides the findings, as plain values: reports read these and
    # never the board itself.
    @property
    def school_names(self) -> dict[str, str]:
        """School names by school id."""
        schools = self.board.schools
        return dict(zip(schools["school_id"].astype(str).tolist(),
                        schools["school_name"].astype(str).tolist()))

    @property
    def table_rows(self) -> dict[str, int]:
        """Row count of each table of the export."""
        return self.board.row_counts()

    @property
    def input_path(self) -> str:
        """Where the export was read from (``""`` for a board built in memory)."""
        return str(getattr(self.board.source, "path", "") or "")

    @property
    def fingerprint(self) -> dict | None:
        """The export's fingerprint (:mod:`audits.io.fingerprint`); ``None`` for a board built in
        memory."""
        if "_fingerprint" not in self.__dict__:
            from audits.io.fingerprint import of_board_source

            self.__dict__["_fingerprint"] = of_board_source(self.board.source)
        return self.__dict__["_fingerprint"]

    def document(self) -> dict:
        """The findings.json document; with suppressions, its ``suppressed`` section (a
        documented extension of the contract: docs/analyst-workflow.md)."""
        document = findings_document(self.findings, input_path=self.input_path,
                                     tables=self.table_rows, fingerprint=self.fingerprint)
        if self.suppressed is not None:
            document["suppressed"] = self.suppressed.to_dict()
        if self.skipped:
            document["skipped"] = skipped_section(self.skipped)
        return document


def run_audit(board: Board, config: Config | None = None, *,
              checks: Iterable[str] | None = None, school: str | None = None,
              progress: Progress | None = None,
              suppressions: "Sequence[Suppression] | str | Path | None" = None,
              matching: "Job | None" = None) -> AuditResult:
    """Run the selected checks (all by default) on a loaded board, in the order their declared
    needs allow (:mod:`audits.engine.run`).

    Contact matching runs on the second core (:func:`start_matching`) while the household
    graph is built; ``matching`` is one already started for this board and config (the CLI
    starts it before validating the export).

    ``school`` keeps the findings that involve that school (the whole board is still analysed,
    because a duplicate or a clash often spans two schools). ``suppressions`` (decisions, or a
    suppressions file) are honoured: pairs of records are never grouped as one person, and
    suppressed findings are left out and counted in ``result.suppressed``."""
    progress = progress or Progress(quiet=True)
    registry = load_checks()
    selected = list(checks) if checks else list(registry)
    unknown = [code for code in selected if code not in registry]
    try:
        if unknown:
            raise UserError(f"Unknown check(s): {', '.join(unknown)}. "
                            f"Known checks: {', '.join(registry)}")
        decisions = load_suppressions(suppressions) if suppressions is not None else None
    except BaseException:
        if matching is not None:
            matching.cancel()  # the caller's worker must not outlive a refused call
        raise
    # A check needing a table the export could not give (no sibling links in OneRoster) is
    # skipped and says why, never run on an empty stand-in that would flag every family.
    skipped = {code: reason for code in selected
               if (reason := registry[code].skip_reason(board))}
    selected = [code for code in selected if code not in skipped]
    context = AuditContext(board, config or Config())
    findings, used_pairs = run_checks(context, registry, selected, progress, matching=matching,
                                      decisions=decisions)
    if school is not None:
        findings = [f for f in findings if school in f.school_ids]
    report = None
    if decisions is not None:
        from audits.workflow.suppressions import drop_suppressed

        findings, report = drop_suppressed(findings, decisions, used_pairs)
    return AuditResult(board, context, sort_findings(findings), dict(progress.timings),
                       suppressed=report, skipped=skipped)


def needs_matching(checks: Iterable[str] | None = None) -> bool:
    """True when any of ``checks`` (all when ``None``) needs the contact matcher's clusters."""
    registry = load_checks()
    return _needs_matching([registry[code] for code in (registry if checks is None else checks)
                            if code in registry])


def fails(findings: Sequence[Finding], fail_on: str) -> bool:
    """True when any finding is at or above the ``--fail-on`` threshold."""
    if fail_on == "never":
        return False
    threshold = Severity.parse(fail_on).rank
    return any(f.severity.rank >= threshold for f in findings)


def write_findings(result: AuditResult, path: str | Path) -> Path:
    """Write the findings.json document (:meth:`AuditResult.document`) to ``path``."""
    return write_atomic(path, findings_json_chunks(result.document()))


# ------------------------------------------------------------------------ analyst workflow
# The reports (audit.xlsx, audit.html, runbooks/) are written by ``reports``, which consumes a
# result: ``from reports.writing import write_audit_reports``. The core never imports reports.

def read_findings(path: str | Path) -> dict:
    """A findings.json document (checked to be one)."""
    from audits.workflow.diff import read_findings_document

    return read_findings_document(path)


def diff(old: "dict | str | Path | Sequence[Finding] | AuditResult",
         new: "dict | str | Path | Sequence[Finding] | AuditResult") -> "FindingsDiff":
    """New, resolved and still-open findings between two runs (each a findings.json path or
    document, a list of findings, or an :class:`AuditResult`)."""
    from audits.workflow.diff import diff_findings

    def side(value):
        if isinstance(value, AuditResult):
            return value.document()
        if isinstance(value, (str, Path)):
            return read_findings(value)
        return value

    return diff_findings(side(old), side(new))


def compare(result: AuditResult, previous: "dict | str | Path | Sequence[Finding]") -> AuditResult:
    """``result`` carrying its comparison with a previous run (what ``audit --previous`` does):
    the reports then show what is new, resolved and still open."""
    from dataclasses import replace

    return replace(result, changes=diff(previous, result))


def load_suppressions(source: "Sequence[Suppression] | str | Path | Iterable[str | Path]"
                      ) -> "list[Suppression]":
    """Decisions from a suppressions file, several files, or already-made decisions."""
    from audits.workflow.suppressions import Suppression, read_suppressions

    if isinstance(source, (str, Path)):
        return read_suppressions(source)
    items = list(source)
    if all(isinstance(item, Suppression) for item in items):
        return items
    return read_suppressions(*items)


def suppress(path: str | Path, *, finding: str | None = None,
             pair: Sequence[str] | None = None, reason: str, by: str) -> "Suppression":
    """Record one decision in the suppressions file at ``path`` (created when missing): a
    finding that is not a problem, or two contact records that are different people."""
    from audits.workflow.suppressions import add_suppression, make_suppression

    item = make_suppression(finding=finding, pair=pair, reason=reason, by=by)
    add_suppression(path, item)
    return item


def redact(result: AuditResult) -> AuditResult:
    """The same result for sharing outside the data office: the same findings (ids, counts,
    record ids) with names reduced to initials, emails, usernames and phones masked but for
    their last characters, and addresses withheld; the preview likewise."""
    from dataclasses import replace

    from audits.workflow.redact import Redactor

    if result.redacted:
        return result
    redactor = Redactor.from_board(result.board)
    changes = result.changes
    if changes is not None:
        changes = replace(changes, new=redactor.findings(changes.new),
                          resolved=redactor.findings(changes.resolved),
                          still_open=redactor.findings(changes.still_open))
    suppressed = result.suppressed
    if suppressed is not None:
        suppressed = replace(suppressed, findings=redactor.findings(suppressed.findings))
    return replace(result, findings=redactor.findings(result.findings),
                   preview_frame=redactor.preview(result.preview), changes=changes,
                   suppressed=suppressed, redacted=True)


def preview(board: Board, config: Config | None = None) -> pd.DataFrame:
    """The generation preview of ``board``: what ``connect-audit preview`` shows."""
    return AuditContext(board, config or Config()).preview


def write_preview(frame: pd.DataFrame, path: str | Path) -> Path:
    """Save a preview as CSV (what ``preview --out`` writes and ``reconcile`` reads)."""
    from audits.preview import preview_to_csv

    return preview_to_csv(frame, path)


def reconcile(preview_before: "pd.DataFrame | str | Path", after: "Board | str | Path", *,
              before: "Board | str | Path | None" = None,
              mapping: str | Path | None = None) -> "Reconciliation":
    """Compare the preview saved before generation (a CSV path or frame) with the board exported
    after it; ``before`` (the export the preview came from) adds accounts not predicted."""
    from audits.workflow.reconcile import read_preview
    from audits.workflow.reconcile import reconcile as _reconcile

    frame = preview_before if isinstance(preview_before, pd.DataFrame) \
        else read_preview(preview_before)

    def board_of(value):
        return value if isinstance(value, Board) or value is None else \
            load_board(value, mapping=mapping)

    return _reconcile(frame, board_of(after), board_of(before))
