"""Issue 2's figures: generate a sample board; load, validate and build its graph.

    .venv/bin/python benchmarks/foundation.py [--students 250000]

Prints the generation time (target 2 minutes or less at 250,000 students) and the time and peak
memory of load + validate + graph (target 30 s or less and 3 GB or less).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import CACHE, run_child  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=250_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    board = CACHE / f"foundation-{args.students}-{args.seed}"
    shutil.rmtree(board, ignore_errors=True)
    generated = run_child(f"""
import time
from audits.sample import generate_board, write_board
t = time.perf_counter()
write_board(generate_board({args.students}, {args.seed}), {str(board)!r})
RESULT = {{'seconds': time.perf_counter() - t}}
""")
    loaded = run_child(f"""
import time
from audits.model.config import Config
from audits.household.building import build_graph
from audits.io.loading.folder import load_board
t0 = time.perf_counter()
board = load_board({str(board)!r}, validate=False)
t1 = time.perf_counter()
from audits.validation import validate_board
problems = validate_board(board)
t2 = time.perf_counter()
graph = build_graph(board, Config())
t3 = time.perf_counter()
RESULT = {{'load': t1 - t0, 'validate': t2 - t1, 'graph': t3 - t2, 'total': t3 - t0,
          'problems': len(problems), 'rows': board.row_counts(),
          'nodes': graph.graph.number_of_nodes(), 'edges': graph.graph.number_of_edges()}}
""")
    print(f"board: {args.students:,} students, seed {args.seed}; rows {loaded['rows']}")
    print(f"generate + write sample board: {generated['seconds']:.1f} s "
          f"(peak {generated['peak_mb']:.0f} MB)  target <= 120 s")
    print(f"load {loaded['load']:.1f} s, validate {loaded['validate']:.1f} s, "
          f"graph {loaded['graph']:.1f} s ({loaded['nodes']:,} nodes, {loaded['edges']:,} edges)")
    print(f"load + validate + graph: {loaded['total']:.1f} s, peak {loaded['peak_mb']:.0f} MB  "
          f"target <= 30 s and <= 3072 MB; input problems: {loaded['problems']}")


if __name__ == "__main__":
    main()
