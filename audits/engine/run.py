"""The order checks run in, derived from what each declares it needs (:attr:`CheckSpec.needs`).

The contact matcher works on the second core (:func:`start_matching`) while this process builds
the household graph and runs the checks that need no matches, then computes the part of the
generation preview that needs none either. Once the matches are in, the largest check needing
the matches but not the preview goes to a worker on the second core, while this process
computes the rest of the preview and runs the other checks. Every job started is ended in one
``finally``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from audits.engine.memory import collector_paused
from audits.engine.parallel import Job, start
from audits.model.config import Config

if TYPE_CHECKING:
    from audits.checks.spec import CheckSpec
    from audits.engine.context import AuditContext
    from audits.engine.progress import Progress
    from audits.model.board import Board
    from audits.model.findings import Finding


@dataclass(frozen=True)
class Schedule:
    early: list[str]
    """Checks needing no matches, run while the matcher works."""
    preview_early: bool
    """Whether the preview's match-free part is computed while the matcher works."""
    here: list[str]
    """Checks run in this process once the matches are in."""
    aside: list[str]
    """Checks run by a worker on the second core meanwhile."""


def needs_matching(specs: Sequence["CheckSpec"]) -> bool:
    """True when any of ``specs`` needs the contact matcher's clusters."""
    return any("matches" in spec.needs for spec in specs)


def schedule(registry: dict[str, "CheckSpec"], selected: Sequence[str],
             matching: bool) -> Schedule:
    """The order of ``selected``; ``matching`` tells whether a matcher job works meanwhile."""
    early = [code for code in selected if "matches" not in registry[code].needs] \
        if matching else []
    rest = [code for code in selected if code not in early]
    candidates = sorted((code for code in rest if "preview" not in registry[code].needs),
                        key=lambda code: -registry[code].cost)
    aside = candidates[:1] if len(candidates) < len(rest) else []
    preview_early = matching and any("preview" in registry[code].needs for code in selected)
    return Schedule(early, preview_early, [code for code in rest if code not in aside], aside)


def start_matching(board: "Board", config: Config | None = None) -> Job:
    """The duplicate-contact matcher's clusters for ``board``, computed by a forked worker on
    the second core (or on demand where there is none: :mod:`audits.engine.parallel`)."""
    from audits.household.matching.matcher import match_contacts

    return start(match_contacts, board, config or Config())


def _run_one(spec: "CheckSpec", context: "AuditContext") -> list["Finding"]:
    """One check's findings: thousands of small dicts and lists in no cycle, made with the
    cyclic collector paused (:func:`audits.engine.memory.collector_paused`)."""
    with collector_paused():
        return spec.run(context)


def _run_codes(registry: dict[str, "CheckSpec"], codes: list[str], context: "AuditContext"
               ) -> list["Finding"]:
    return [finding for code in codes for finding in _run_one(registry[code], context)]


def _run_each(registry, codes: list[str], context, progress: "Progress",
              findings: list["Finding"]) -> None:
    for code in codes:
        with progress.step(f"Check {code}"):
            findings.extend(_run_one(registry[code], context))


def _take_matches(context: "AuditContext", matching: Job | None, plan: Schedule,
                  progress: "Progress") -> None:
    if plan.preview_early:
        with progress.step("Generation preview (before contact matching)"):
            context.preview_start  # noqa: B018 - its first part, while the matcher works
    if matching is not None:
        with progress.step("Matching contact records"):
            context.contact_matches = matching.result()


def _split_pairs(context: "AuditContext", decisions, progress: "Progress") -> set:
    pairs = [item.pair for item in decisions or () if item.pair]
    if not pairs:
        return set()
    from audits.workflow.suppressions import split_matches

    with progress.step("Splitting suppressed pairs"):
        # Set before any check that reads them runs, so every check sees the split groups.
        context.contact_matches, used_pairs = split_matches(context.contact_matches, pairs)
    return used_pairs


def run_checks(context: "AuditContext", registry: dict[str, "CheckSpec"],
               selected: Sequence[str], progress: "Progress", *, matching: Job | None = None,
               decisions=None) -> tuple[list["Finding"], set]:
    """The findings of ``selected`` on ``context`` and the suppressed pairs that split a
    cluster. ``matching`` is a matcher job already started (one is started when needed)."""
    jobs: list[Job] = [] if matching is None else [matching]
    try:
        if matching is None and needs_matching([registry[code] for code in selected]):
            matching = start_matching(context.board, context.config)
            jobs.append(matching)
        plan = schedule(registry, selected, matching is not None)
        findings: list["Finding"] = []
        with progress.step("Building the household graph"):
            context.graph  # noqa: B018 - built once here so its time is reported on its own
        _run_each(registry, plan.early, context, progress, findings)
        _take_matches(context, matching, plan, progress)
        used_pairs = _split_pairs(context, decisions, progress)
        worker = start(_run_codes, registry, plan.aside, context) if plan.aside else None
        jobs.extend([worker] if worker is not None else [])
        _run_each(registry, plan.here, context, progress, findings)
        if worker is not None:
            with progress.step(f"Check {', '.join(plan.aside)}"):
                findings.extend(worker.result())
    finally:
        for job in jobs:
            job.cancel()  # a no-op once its result is taken; else the worker is ended
    return findings, used_pairs
