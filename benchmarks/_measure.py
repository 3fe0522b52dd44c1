"""Shared helpers of the benchmark scripts: cached sample boards and measured child runs.

Each measured part runs in its own Python process, so its peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def run_child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line.
    The object gets ``peak_mb``: that process's peak resident memory."""
    wrapper = code + (
        "\nimport resource, json as _j\n"
        "print(_j.dumps({**RESULT, 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
