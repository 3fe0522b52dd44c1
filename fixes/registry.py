"""The fix handlers: for each check that declares a fix (``FixSpec`` on its ``CheckSpec``), the
planner and the apply handler of its folder's ``fix.py``, keyed by the action's name.

A check's ``fix.py`` holds ``plan(Finding) -> plan action`` (the finding's ``fix`` is its typed
action, :mod:`audits.model.actions`) and ``apply(Workspace, action) -> bool`` (whether the
export changed), and may hold what its action needs of the generic apply loop
(:func:`fixes.apply.apply_plan`): ``prepare(Workspace, action)`` before any action applies,
``waiting(action) -> reason | None`` for an action that waits for a person, ``retired(Workspace,
action, mark) -> rows`` of retired_contacts.csv once it applied, ``validate(actions) -> problems``
across the plan. ``manual`` is the shared fallback action: no handler, its steps are followed by
a person.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any, Callable, Mapping

from fixes.actions import MANUAL


@dataclass(frozen=True)
class FixHandler:
    action: str
    check: str
    kind: type
    """The typed action (:mod:`audits.model.actions`) the planner reads from the finding."""
    required: tuple[str, ...]
    """The fields an action of this kind must have (a plan edited by hand may lack them)."""
    plan: Callable[[Any], dict[str, Any]]
    apply: Callable[[Any, Mapping[str, Any]], bool]
    prepare: Callable[[Any, Mapping[str, Any]], None] | None = None
    waiting: Callable[[Mapping[str, Any]], str | None] | None = None
    retired: Callable[[Any, Mapping[str, Any], int], list[dict[str, str]]] | None = None
    validate: Callable[[Any], list[Any]] | None = None


HOOKS = ("prepare", "waiting", "retired", "validate")
"""What a fix.py may add to ``plan`` and ``apply`` (see the module's docstring)."""


def fix_modules() -> dict[str, ModuleType]:
    """Check code -> the ``fix.py`` module of its folder, for every check folder that has one."""
    from audits.checks.spec import load_checks

    modules = {}
    for code, spec in load_checks().items():
        package = spec.function.__module__.rsplit(".", 1)[0]
        if importlib.util.find_spec(f"{package}.fix") is not None:
            modules[code] = importlib.import_module(f"{package}.fix")
    return modules


def mismatches(checks: Mapping[str, Any], modules: Mapping[str, ModuleType]) -> list[str]:
    """What is wrong between the checks' declared fixes and the fix modules: an action with no
    handler, a handler no check declares, an action declared twice."""
    found = []
    declared: dict[str, str] = {}
    for code, spec in checks.items():
        if spec.fix is None:
            if code in modules:
                found.append(f"{code} has a fix.py but declares no fix")
            continue
        if spec.fix.action in declared or spec.fix.action == MANUAL:
            found.append(f"{code} declares {spec.fix.action!r}, already "
                         f"{declared.get(spec.fix.action, 'the shared fallback')}'s")
        declared[spec.fix.action] = code
        module = modules.get(code)
        if module is None or not all(callable(getattr(module, name, None))
                                     for name in ("plan", "apply")):
            found.append(f"{code} declares {spec.fix.action!r} with no plan/apply handler")
    found += [f"{code} has a fix.py but is no check" for code in modules if code not in checks]
    return found


@lru_cache(maxsize=1)
def handlers() -> dict[str, FixHandler]:
    """Action name -> its handler, over every check that declares a fix."""
    from audits.checks.spec import load_checks

    checks, modules = load_checks(), fix_modules()
    problems = mismatches(checks, modules)
    if problems:
        raise RuntimeError("; ".join(problems))
    return {spec.fix.action: FixHandler(
        spec.fix.action, code, spec.fix.kind, spec.fix.required, modules[code].plan, modules[code].apply,
        **{hook: getattr(modules[code], hook) for hook in HOOKS
           if callable(getattr(modules[code], hook, None))})
            for code, spec in checks.items() if spec.fix is not None}


def actions() -> tuple[str, ...]:
    """Every action a plan may hold: the declared ones, then the shared fallback."""
    return (*handlers(), MANUAL)
