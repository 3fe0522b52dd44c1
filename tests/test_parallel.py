"""The second-core helper: a forked child's result, or the same result computed in place."""

from __future__ import annotations

import os

import numpy as np
import pytest

from audits.engine import parallel

PARENT = os.getpid()
TABLE = np.arange(1_000)


def _total(offset: int, *, scale: int = 1) -> tuple[int, int]:
    # Reads TABLE from memory the child inherited: nothing but the key was sent to it.
    return int(TABLE.sum()) * scale + offset, os.getpid()


def _fails() -> None:
    raise ValueError("the work's own error")


def _dies_in_child() -> str:
    if os.getpid() != PARENT:
        os._exit(9)  # as the kernel's out-of-memory killer would end it
    return "done in the parent"


needs_fork = pytest.mark.skipif(not parallel.available(),
                                reason="no fork or a single core: nothing runs in background")


@needs_fork
def test_result_comes_from_a_child_process():
    job = parallel.start(_total, 5, scale=2)
    assert job.in_background
    value, pid = job.result()
    assert value == 2 * int(TABLE.sum()) + 5
    assert pid != os.getpid()
    assert job.result() == (value, pid)  # asked twice, computed once


@needs_fork
def test_an_error_of_the_work_is_raised_in_the_parent():
    with pytest.raises(ValueError, match="the work's own error"):
        parallel.start(_fails).result()


@needs_fork
def test_a_child_that_dies_is_replaced_by_the_parent(caplog):
    assert parallel.start(_dies_in_child).result() == "done in the parent"
    assert "without a result" in caplog.text


def test_one_worker_means_the_work_runs_in_place(monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "1")
    job = parallel.start(_total, 1)
    assert not job.in_background
    assert job.result() == (int(TABLE.sum()) + 1, os.getpid())


def test_a_cancelled_job_computes_nothing():
    job = parallel.start(_total, 1)
    job.cancel()
    assert job.result() is None


def test_an_audit_finds_the_same_with_and_without_the_second_core(monkeypatch, tmp_path):
    from audits import api
    from audits.sample import generate_board, write_board

    write_board(generate_board(300, seed=5), tmp_path / "board")
    board = api.load_board(tmp_path / "board")
    with_worker = api.run_audit(board)
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "1")
    in_place = api.run_audit(board)
    assert [f.to_dict() for f in with_worker.findings] == [f.to_dict() for f in in_place.findings]
    assert any(f.check == "duplicate-contact" for f in in_place.findings)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(line.split()[1] for line in status if line.startswith("State:"))
    except (OSError, StopIteration):
        return "gone"


@needs_fork
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_a_worker_does_not_outlive_an_audit_that_dies(tmp_path):
    import subprocess
    import sys
    import time

    script = (
        "import os, time\n"
        "from audits.engine import parallel\n"
        "job = parallel.start(time.sleep, 120)\n"
        "print(*[p.pid for p in job._executor._processes.values()], flush=True)\n"
        "os._exit(0)  # killed: no finally, no cleanup\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    worker = int(done.stdout.split()[0])
    # Polled, not timed: the kernel signals the worker when the audit dies; it is dead (a
    # zombie until reaped, or gone) well before its two-minute task would end.
    for _ in range(200):
        if _state(worker) in ("Z", "X", "gone"):
            break
        time.sleep(0.05)
    assert _state(worker) in ("Z", "X", "gone")
