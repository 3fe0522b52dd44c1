"""Where the duplicate-contact matcher spends its time and memory, and how its blocking grows.

    .venv/bin/python benchmarks/profile_matching.py --students 250000

Prints, for a cached sample board, every blocking pass's candidate pairs (blocks of two up to
``max_block_size``) per contact record, and the time and peak memory (above the loaded board)
of each matching stage. Pairs per record should stay about the same from 100,000 to 1,000,000
students: a pass whose pairs per record grow with the board makes matching superlinear.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audits import api  # noqa: E402

from audits.household.matching.blocking import block_passes, candidate_pairs  # noqa: E402
from audits.household.matching.features import contact_features  # noqa: E402
from audits.household.matching.matcher import match_contacts  # noqa: E402
from audits.household.matching.scoring import score_pairs  # noqa: E402
from audits.model.config import Config  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def _peak_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:  # not Linux, or not allowed: the peak is then the process's
        pass


def pass_pairs(f, max_block: int, name_block: int) -> list[tuple[str, int, int]]:
    """(pass, candidate pairs with repeats, largest block kept) of every blocking pass."""
    n = len(f.ids)
    rows = []
    for name, members, keys in block_passes(f, name_block, max_block):
        code = pd.factorize(np.asarray(keys))[0].astype(np.int64)
        packed = np.unique(code * n + np.asarray(members, dtype=np.int64))
        code = packed // n
        sizes = np.bincount(code)
        keep = (sizes[code] >= 2) & (sizes[code] <= max_block)
        size = sizes[np.unique(code[keep])]
        rows.append((name, int((size * (size - 1) // 2).sum()), int(size.max(initial=0))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = CACHE / f"board-{args.students}-{args.seed}"
    if not folder.exists():
        sys.exit(f"no cached board at {folder} (run benchmarks/run.py --students "
                 f"{args.students} once to generate it)")
    board = api.load_board(folder, validate=False)
    config = Config()
    max_block = int(config.threshold("max_block_size"))
    name_block = int(config.threshold("name_block_size"))
    base = _rss_mib()
    stages = []

    def stage(name, function, *arguments):
        _reset_peak()
        start = time.perf_counter()
        result = function(*arguments)
        stages.append((name, time.perf_counter() - start, _peak_mib() - base))
        return result

    f = stage("features", contact_features, board, config)
    n = len(f.ids)
    print(f"{args.students:,d} students, {n:,d} contact records")
    print("blocking pass      pairs (with repeats)  per record  largest block")
    for name, pairs, largest in pass_pairs(f, max_block, name_block):
        print(f"  {name:16s} {pairs:>14,d}  {pairs / n:10.2f}  {largest:13d}")
    pairs = stage("candidate pairs", candidate_pairs, f, max_block, name_block)
    print(f"  distinct pairs   {len(pairs):>14,d}  {len(pairs) / n:10.2f}")
    stage("scoring", score_pairs, f, pairs, config)
    del pairs, f
    stage("match_contacts (all)", match_contacts, board, config)
    print("stage                  seconds  peak MiB above the loaded board")
    for name, seconds, peak in stages:
        print(f"  {name:20s} {seconds:8.1f}  {peak:8.0f}")


if __name__ == "__main__":
    main()
