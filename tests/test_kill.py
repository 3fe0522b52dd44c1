"""SIGKILL at random moments of ``audit`` and of ``fix apply --write``: the folder holds one
board's complete set of outputs (the previous one, or the new one once it was swapped in) or
none, the next run leaves no staging folder, and the export is never touched.

The moments are random delays within one run's duration, measured by a first run; seeded, so a
failure can be replayed (the machine's speed still moves what each delay hits)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
KILLS = 20
OWNED = {"findings.json", "audit.html", "audit.xlsx", "runbooks"}

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "audits.cli", *map(str, args)]


def finished(args: list[str], expect=(0, 1)) -> float:
    start = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode in expect, done.stderr
    return time.monotonic() - start


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                return True
    return False


def killed_at(args: list[str], delay: float) -> None:
    """Start ``args``, SIGKILL it after ``delay`` seconds (only the process itself, as the OOM
    killer or ``kill -9`` would), and wait until every process it forked is gone."""
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=ROOT, start_new_session=True)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    for _ in range(300):  # bounded: forked workers end when their parent dies
        if not group_alive(process.pid):
            return
        time.sleep(0.05)
    raise AssertionError("a worker of the killed run is still alive")


def delays(duration: float, seed: int) -> list[float]:
    chooser = random.Random(seed)
    return [chooser.uniform(0, duration) for _ in range(KILLS)]


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    for name, seed in (("a", 31), ("b", 32)):
        finished(cli("sample", root / name, "--students", "200", "--seed", seed), expect=(0,))
    return root


# --- audit -------------------------------------------------------------------------------

def complete_set(out: Path) -> tuple[str, str] | None:
    """The export (its path and id) of the one complete set of outputs in ``out``, or None
    when it holds none; fails when it holds part of a set or outputs of two boards."""
    present = {p.name for p in out.iterdir()} & OWNED if out.is_dir() else set()
    if not present:
        return None
    manifest = json.loads((out / ".connect-audit" / "manifest.json").read_text())
    assert present == set(manifest["entries"]) == OWNED, present
    for relative, size in manifest["files"].items():
        assert (out / relative).stat().st_size == size, relative
    listed = {p.relative_to(out).as_posix() for p in (out / "runbooks").rglob("*")}
    assert listed == {r for r in manifest["files"] if r.startswith("runbooks/")}
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    export = document["input"]["fingerprint"]["export"]
    assert export == manifest["export_id"]
    html = (out / "audit.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>") and f"export {export}" in html
    assert f"export {export}" in (out / "runbooks" / "index.html").read_text(encoding="utf-8")
    with zipfile.ZipFile(out / "audit.xlsx") as book:
        assert book.testzip() is None
        text = "".join(book.read(n).decode("utf-8") for n in book.namelist()
                       if n.startswith("xl/") and n.endswith(".xml"))
    assert f"export {export}" in text
    assert manifest["export"] == document["input"]["path"]
    return document["input"]["path"], export


def staging_left(out: Path) -> list[str]:
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")
              and p.name != ".connect-audit"]
    return hidden + [p.name for p in (out / ".connect-audit").iterdir()
                     if p.name.startswith("run-")]


def test_sigkill_during_audit_leaves_one_complete_set_or_none(boards, tmp_path):
    out = tmp_path / "reports"
    exports = {name: snapshot(boards / name) for name in ("a", "b")}
    first = tmp_path / "first"
    duration = finished(cli("audit", boards / "b", "--out", first, "--quiet"))
    ids = {boards / "b": complete_set(first)[1]}
    # From nothing (the first kills may leave no set at all), then over board a's outputs.
    previous = None
    for number, delay in enumerate(delays(duration, seed=14)):
        board = boards / ("a" if number < KILLS // 2 else "b")
        killed_at(cli("audit", board, "--out", out, "--quiet"), delay)
        now = complete_set(out)
        if now != previous:  # the new complete set, swapped in whole; never a step back
            assert now is not None and now[0] == str(board), (number, delay, now)
            assert ids.setdefault(board, now[1]) == now[1]
        previous = now
    finished(cli("audit", boards / "b", "--out", out, "--quiet"))
    assert complete_set(out) == (str(boards / "b"), ids[boards / "b"])
    assert not staging_left(out)
    assert {name: snapshot(boards / name) for name in ("a", "b")} == exports


# --- fix apply --write --------------------------------------------------------------------

def test_sigkill_during_fix_apply_leaves_the_whole_fixed_export_or_none(boards, tmp_path):
    board = boards / "a"
    export = snapshot(board)
    findings = tmp_path / "audit"
    finished(cli("audit", board, "--out", findings, "--quiet", "--format", "json"))
    plan = tmp_path / "plan.json"
    finished(cli("fix", "plan", findings / "findings.json", "--out", plan), expect=(0,))
    work = tmp_path / "fixes"
    work.mkdir()

    def apply(out: Path) -> list[str]:
        return cli("fix", "apply", plan, board, "--out", out, "--write", "--force",
                   "--apply-rest")

    duration = finished(apply(work / "reference"), expect=(0,))
    reference = snapshot(work / "reference")
    assert "changes.csv" in reference and ".connect-audit-undo/manifest.json" in reference
    whole = 0
    for number, delay in enumerate(delays(duration, seed=41)):
        out = work / f"fixed-{number}"
        killed_at(apply(out), delay)
        if out.exists():
            assert snapshot(out) == reference, (number, delay)
            whole += 1
        assert snapshot(board) == export
    finished(apply(work / "after"), expect=(0,))
    assert snapshot(work / "after") == reference
    left = sorted(p.name for p in work.iterdir() if p.name.startswith("."))
    assert not left, left
    assert snapshot(board) == export


# --- fix plan --out and fix undo ------------------------------------------------------------

def test_sigkill_during_fix_plan_and_undo_leaves_the_whole_file_or_export_or_none(
        boards, tmp_path):
    board = boards / "b"
    export = snapshot(board)
    findings = tmp_path / "audit"
    finished(cli("audit", board, "--out", findings, "--quiet", "--format", "json"))
    plans = tmp_path / "plans"
    plans.mkdir()

    def plan(out: Path) -> list[str]:
        return cli("fix", "plan", findings / "findings.json", "--out", out)

    duration = finished(plan(plans / "reference.json"), expect=(0,))
    reference = (plans / "reference.json").read_bytes()
    for number, delay in enumerate(delays(duration, seed=53)):
        killed_at(plan(plans / "plan.json"), delay)
        if (plans / "plan.json").exists():  # an earlier run's or this one's, always whole
            assert (plans / "plan.json").read_bytes() == reference, (number, delay)
    finished(plan(plans / "plan.json"), expect=(0,))
    assert sorted(p.name for p in plans.iterdir()) == ["plan.json", "reference.json"]

    fixed = tmp_path / "fixed"
    finished(cli("fix", "apply", plans / "plan.json", board, "--out", fixed, "--write",
                 "--force", "--apply-rest"), expect=(0,))
    work = tmp_path / "restored"
    work.mkdir()

    def undo(out: Path) -> list[str]:
        return cli("fix", "undo", fixed, "--out", out)

    duration = finished(undo(work / "reference"), expect=(0,))
    assert snapshot(work / "reference") == export
    for number, delay in enumerate(delays(duration, seed=59)):
        out = work / f"restored-{number}"
        killed_at(undo(out), delay)
        if out.exists():
            assert snapshot(out) == export, (number, delay)
    finished(undo(work / "after"), expect=(0,))
    assert snapshot(work / "after") == export
    left = sorted(p.name for p in work.iterdir() if p.name.startswith("."))
    assert not left, left
    assert snapshot(board) == export
