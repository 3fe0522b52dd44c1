"""The Python API: what the CLI does, as functions an analyst can call from Jupyter.

    from audits import api
    board = api.load_board("exports/2026-11")
    result = api.run_audit(board)
    result.frame()                     # one row per finding
    api.write_findings(result, "out/findings.json")
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from audits.board import Board
from audits.config import Config, load_config
from audits.context import AuditContext
from audits.errors import UserError
from audits.findings import (Finding, Severity, dumps_findings, entities_to_frame,
                             findings_document, findings_to_frame, sort_findings)
from audits.progress import Progress
from audits.registry import CheckSpec, load_checks

__all__ = ["AuditResult", "load_board", "load_config", "run_audit", "write_findings",
           "write_atomic", "available_checks", "fails"]


def load_board(path: str | Path, *, mapping: str | Path | None = None,
               validate: bool = True) -> Board:
    """Read a board export (a folder of CSV files or one .xlsx workbook) and validate it."""
    from audits.loading import load_board as _load

    return _load(path, mapping=mapping, validate=validate)


def available_checks() -> dict[str, CheckSpec]:
    return load_checks()


@dataclass
class AuditResult:
    board: Board
    context: AuditContext
    findings: list[Finding]
    timings: dict[str, float] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """One row per finding."""
        return findings_to_frame(self.findings)

    def entities(self) -> pd.DataFrame:
        """One row per (finding, entity)."""
        return entities_to_frame(self.findings)

    @property
    def preview(self) -> pd.DataFrame:
        return self.context.preview

    def document(self) -> dict:
        return findings_document(self.findings, input_path=self.board.source.path,
                                 tables=self.board.row_counts())


def run_audit(board: Board, config: Config | None = None, *,
              checks: Iterable[str] | None = None, school: str | None = None,
              progress: Progress | None = None) -> AuditResult:
    """Run the selected checks (all by default) on a loaded board.

    ``school`` keeps the findings that involve that school (the whole board is still analysed,
    because a duplicate or a clash often spans two schools)."""
    progress = progress or Progress(quiet=True)
    registry = load_checks()
    selected = list(checks) if checks else list(registry)
    unknown = [code for code in selected if code not in registry]
    if unknown:
        raise UserError(f"Unknown check(s): {', '.join(unknown)}. "
                        f"Known checks: {', '.join(registry)}")
    context = AuditContext(board, config or Config())
    with progress.step("Building the household graph"):
        context.graph  # noqa: B018 - built once here so its time is reported on its own
    findings: list[Finding] = []
    for code in selected:
        with progress.step(f"Check {code}"):
            findings.extend(registry[code].run(context))
    if school is not None:
        findings = [f for f in findings if school in f.school_ids]
    return AuditResult(board, context, sort_findings(findings), dict(progress.timings))


def fails(findings: Sequence[Finding], fail_on: str) -> bool:
    """True when any finding is at or above the ``--fail-on`` threshold."""
    if fail_on == "never":
        return False
    threshold = Severity.parse(fail_on).rank
    return any(f.severity.rank >= threshold for f in findings)


def write_atomic(path: str | Path, text: str | bytes) -> Path:
    """Write to a temporary file beside ``path``, then rename: never a half-written output."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_findings(result: AuditResult, path: str | Path) -> Path:
    return write_atomic(path, dumps_findings(result.document()))
