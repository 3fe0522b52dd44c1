"""Benchmark: read a board exported as one .xlsx workbook, with connect-audit's loader (calamine
underneath; load_board includes validation, read_export is the reading alone) and, in the same
run, with openpyxl's read-only mode reading every cell of the same
sheets (what the loader used before; the raw read alone, without any of the loader's checks).

    .venv/bin/python benchmarks/workbook_reading.py [--students 50000] [--seed 7] [--repeat 1]

The workbook is written once with `connect-audit sample --xlsx` and kept under
benchmarks/.cache/. Prints seconds for each reader and their ratio."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"


def workbook(students: int, seed: int) -> Path:
    folder = CACHE / f"workbook-{students}-{seed}"
    path = folder / "board.xlsx"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "audits.cli", "sample", str(folder),
                        "--students", str(students), "--seed", str(seed), "--xlsx"], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def read_with_openpyxl(path: Path) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    cells = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            cells += len(row)
    book.close()
    return cells


def read_the_tables(path: Path) -> int:
    from audits.io.loading.folder import read_export

    return sum(frame.size for frame in read_export(path).frames.values())


def read_with_the_loader(path: Path) -> int:
    from audits.io.loading.folder import load_board

    board = load_board(path)
    return sum(frame.size for frame in board.tables.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    path = workbook(args.students, args.seed)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    timings: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, read in (("connect-audit load_board (calamine)", read_with_the_loader),
                           ("openpyxl read-only, cells only", read_with_openpyxl),
                           ("  of which reading the tables (read_export)", read_the_tables)):
            start = time.perf_counter()
            size = read(path)
            seconds = time.perf_counter() - start
            timings[name] = min(seconds, timings.get(name, seconds))
            print(f"  {name}: {seconds:.1f} s ({size:,} cells)")
    ours, theirs, _ = timings.values()
    print(f"best of {args.repeat}: load_board {ours:.1f} s, openpyxl {theirs:.1f} s, "
          f"openpyxl / load_board = {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
