"""Pairwise precision / recall / F1 and time of the duplicate-contact matcher on generated boards.

    .venv/bin/python benchmarks/match_sample.py 20000 1 2 3     # students, then seeds
    .venv/bin/python benchmarks/match_sample.py 250000 1        # the scale run
"""

from __future__ import annotations

import itertools
import sys
import time

from audits.board import board_from_frames
from audits.config import Config
from audits.graph import build_graph
from audits.matching import match_contacts
from audits.sample import generate_board


def pairs_of(groups) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for group in groups for p in itertools.combinations(group, 2)}


def main() -> None:
    students = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    seeds = [int(s) for s in sys.argv[2:]] or [1, 2, 3]
    for seed in seeds:
        start = time.perf_counter()
        sample = generate_board(students, seed)
        generated = time.perf_counter() - start
        board = board_from_frames(sample.tables)
        config = Config()
        graph = build_graph(board, config)
        start = time.perf_counter()
        matches = match_contacts(board, graph, config)
        elapsed = time.perf_counter() - start
        truth_groups = [g["contacts"] if isinstance(g, dict) else g
                        for g in sample.truth["duplicate-contact"]]
        truth = pairs_of(truth_groups)
        found = pairs_of(c.contacts for c in matches.clusters)
        tp = len(found & truth)
        precision = tp / max(len(found), 1)
        recall = tp / max(len(truth), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        print(f"students={students} seed={seed} contacts={len(board.contacts)} "
              f"truth_pairs={len(truth)} found_pairs={len(found)} precision={precision:.4f} "
              f"recall={recall:.4f} F1={f1:.4f} match_seconds={elapsed:.1f} "
              f"(generate {generated:.1f}s)", flush=True)
        if "-v" in sys.argv[0:1] or len(seeds) == 1 and students <= 20000:
            contacts = board.contacts.set_index("contact_id")
            cols = ["first_name", "last_name", "email", "cell_phone", "street", "postal_code"]
            for a, b in sorted(truth - found)[:8]:
                print("  MISS", contacts.loc[a, cols].tolist(), contacts.loc[b, cols].tolist())
            for a, b in sorted(found - truth)[:8]:
                print("  FALSE", contacts.loc[a, cols].tolist(), contacts.loc[b, cols].tolist())


if __name__ == "__main__":
    main()
