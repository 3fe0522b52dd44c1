"""Shared helpers of the benchmark scripts: cached sample boards and measured child runs.

Each measured part runs in its own Python process, so its peak memory is its own. An audit may
fork a worker (audits/engine/parallel.py) that shares the parent's pages, so peak memory is measured
as the largest *proportional set size* (PSS) of the whole process tree, sampled every second:
pages shared between parent and worker count once, and nothing the worker adds is missed
(ru_maxrss of each process alone would count shared pages twice, or miss the worker). Reading
smaps_rollup walks the whole address space under the process's memory-map lock: sampled every
50 ms it took a fifth of a core from the audit it measured; once a second it costs little, and
the main process's own ru_maxrss still catches a spike of the main process shorter than that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"


def sample_board(students: int, seed: int = 1) -> tuple[Path, float | None]:
    """The cached sample board of that size (generated once); the generation time if it ran now."""
    path = CACHE / f"board-{students}-{seed}"
    if (path / "students.csv").exists():
        return path, None
    from audits.sample import generate_board, write_board

    started = time.perf_counter()
    write_board(generate_board(students, seed), path)
    return path, time.perf_counter() - started


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_mb(pid: int) -> float:
    """The PSS of ``pid`` and all its descendants, in MB (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += _pss_kb(current)
        stack.extend(_children(current))
    return total / 1024


class TreeMemory:
    """Samples a process tree's PSS in a thread; ``peak_mb`` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid, self.interval, self.peak_mb = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_pss_mb(self.pid))
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def run_child(code: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line.
    The object gets ``peak_mb``: the peak memory of that process and any worker it forks (PSS of
    the process tree, see the module docstring, or the main process's own ru_maxrss when that
    is larger), and ``peak_rss_mb``: the main process's ru_maxrss alone."""
    wrapper = code + (
        "\nimport resource, json as _j\n"
        "print(_j.dumps({**RESULT, 'peak_rss_mb': "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT), **(env or {})}
    process = subprocess.Popen([sys.executable, "-c", wrapper], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    memory = TreeMemory(process.pid)
    stdout, stderr = process.communicate()
    peak = memory.stop()
    if process.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{stderr[-4000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    # A spike shorter than the sampling interval can hide from the sampler, never from the main
    # process's own ru_maxrss: the peak is the larger of the two.
    result["peak_mb"] = max(peak, result["peak_rss_mb"])
    return result
