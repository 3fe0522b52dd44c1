"""The check registry: a check is one folder under ``audits/checks/``.

The folder's ``check.py`` holds one function declared with :func:`check`: its code, default
severity, the tables it requires, the shared analyses it needs (:data:`NEEDS`) and, for a check
with an automatic fix, its :class:`FixSpec`. The function's docstring's first line is the
one-line description, then a ``Why it matters:`` paragraph and a ``How to fix:`` paragraph,
which the runbooks and the docs reuse. A check with a fix has a ``fix.py`` beside it (its
planner, apply handler and optional apply hooks: :mod:`fixes.registry`); its fix action is a
typed action of :mod:`audits.model.actions` or a class of its own folder, which its
``FixSpec`` registers so that findings.json reads back as it. Every check has its cases in
``tests/checks/<code>.yaml``. Adding the folder is all it takes: :func:`load_checks` imports
every ``<folder>/check.py``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from audits.model.actions import FixAction, register_action
from audits.model.findings import Finding, Severity

if TYPE_CHECKING:
    from audits.model.board import Board
    from audits.engine.context import AuditContext

CheckFunction = Callable[["AuditContext"], Iterable[Finding]]


@dataclass(frozen=True)
class FixSpec:
    """The fix a check's findings carry: its typed action (:mod:`audits.model.actions`) and the
    fields a plan action of it must have. Its planner and apply handler are ``plan`` and
    ``apply`` in the check folder's ``fix.py`` (loaded by ``fixes.registry``; the core never
    imports them)."""

    kind: type[FixAction]
    required: tuple[str, ...] = ()
    """The plan action's fields that a plan edited by hand must still have."""

    def __post_init__(self) -> None:
        # An action class of the check's own folder is read back from findings.json as itself.
        register_action(self.kind)

    @property
    def action(self) -> str:
        """The action's name, in findings.json and the plan."""
        return self.kind.name


@dataclass(frozen=True)
class CheckSpec:
    code: str
    severity: Severity
    function: CheckFunction
    summary: str
    why: str
    how: str
    requires: tuple[str, ...] = ()
    """Tables the export must give for the check to mean anything: one an interchange format
    cannot carry (OneRoster has no sibling links) makes the check skipped, with its reason."""
    fix: FixSpec | None = None
    needs: frozenset[str] = frozenset({"graph"})
    """The shared analyses of the context the check reads (:data:`NEEDS`): the engine
    (:mod:`audits.engine.run`) orders the checks from them."""
    cost: int = 1
    """Its time relative to the other checks: the engine hands the largest to the second core."""

    def run(self, context: "AuditContext") -> list[Finding]:
        return list(self.function(context))

    def skip_reason(self, board: "Board") -> str | None:
        """Why the check cannot run on ``board`` (a table it requires was not given), or
        ``None``. An empty table that was given is no reason: it is the export's statement."""
        from audits.io.formats import missing_table_reason

        for table in self.requires:
            reason = missing_table_reason(board.source, table)
            if reason:
                return reason
        return None


NEEDS = frozenset({"graph", "matches", "preview"})
"""What a check may need: the household graph, the contact matcher's clusters, the generation
preview (whose last part needs the clusters too)."""

REGISTRY: dict[str, CheckSpec] = {}


def _doc_section(doc: str, heading: str) -> str:
    match = re.search(rf"{heading}:\s*(.+?)(?:\n\s*\n[A-Z][a-z ]+:|\Z)", doc, re.S)
    return " ".join(match.group(1).split()) if match else ""


def check(code: str, severity: Severity, *, requires: tuple[str, ...] = (),
          fix: FixSpec | None = None, needs: frozenset[str] = frozenset({"graph"}),
          cost: int = 1) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under ``code`` with its default severity; ``requires`` names the tables
    it cannot run without (:meth:`CheckSpec.skip_reason`), ``fix`` the plan action its findings
    carry, when it has one, ``needs`` the analyses it reads and ``cost`` its relative time
    (:class:`CheckSpec`)."""
    if not needs <= NEEDS or ("preview" in needs and "matches" not in needs):
        raise ValueError(f"check {code}: needs {sorted(needs)} is not a subset of {sorted(NEEDS)} "
                         "(the preview needs the matches)")

    def register(function: CheckFunction) -> CheckFunction:
        doc = inspect.cleandoc(function.__doc__ or "")
        if not doc:
            raise TypeError(f"check {code} needs a docstring (summary, Why it matters, How to fix)")
        if code in REGISTRY and REGISTRY[code].function is not function:
            raise ValueError(f"two checks are registered as {code!r}")
        REGISTRY[code] = CheckSpec(
            code=code,
            severity=severity,
            function=function,
            summary=doc.splitlines()[0].strip(),
            why=_doc_section(doc, "Why it matters"),
            how=_doc_section(doc, "How to fix"),
            requires=requires,
            fix=fix,
            needs=needs,
            cost=cost,
        )
        function.check_code = code  # type: ignore[attr-defined]
        return function

    return register


def load_checks() -> dict[str, CheckSpec]:
    """Import every module under ``audits.checks`` so each registers itself; the registry."""
    import audits.checks as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg and not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}.check")
    return dict(sorted(REGISTRY.items()))
