"""Every fix action a check declares has a planner and an apply handler in its folder's fix.py,
and every fix.py belongs to a check that declares its action."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from audits.checks.spec import FixSpec, load_checks
from audits.model.actions import Manual
from fixes import registry
from fixes.actions import MANUAL


def test_every_declared_action_has_a_handler_and_every_handler_a_check():
    assert registry.mismatches(load_checks(), registry.fix_modules()) == []
    assert registry.actions()[-1] == MANUAL
    assert set(registry.actions()) == {"merge-contacts", "link-siblings", "add-permission",
                                       "rename-username", "manual"}


def test_a_declared_action_without_a_handler_fails():
    checks = load_checks()
    modules = registry.fix_modules()
    code = next(code for code, spec in checks.items() if spec.fix is not None)
    without = {c: m for c, m in modules.items() if c != code}
    assert any(code in problem for problem in registry.mismatches(checks, without))
    no_apply = {**modules, code: SimpleNamespace(plan=lambda finding: {})}
    assert registry.mismatches(checks, no_apply)


def test_a_handler_no_check_declares_fails():
    checks = load_checks()
    modules = registry.fix_modules()
    code = next(code for code, spec in checks.items() if spec.fix is None)
    doctored = {**modules, code: modules[next(iter(modules))]}
    assert any(code in problem for problem in registry.mismatches(checks, doctored))
    orphan = {**modules, "no-such-check": modules[next(iter(modules))]}
    assert registry.mismatches(checks, orphan)


def test_one_action_declared_twice_fails():
    checks = load_checks()
    first, second = [code for code, spec in checks.items() if spec.fix is not None][:2]
    doctored = {**checks, second: dataclasses.replace(checks[second], fix=checks[first].fix)}
    assert registry.mismatches(doctored, registry.fix_modules())
    manual = {**checks, first: dataclasses.replace(checks[first], fix=FixSpec(Manual))}
    assert registry.mismatches(manual, registry.fix_modules())
