"""Every stage of a full audit, timed at several board sizes, against the pandas floor.

    .venv/bin/python benchmarks/scale.py [--students 10000 100000 250000 1000000]

Sample boards are generated once and cached in benchmarks/.cache/. Each size runs in its own
process (its peak memory is its own). The floor is pandas reading the same CSV files as text;
each stage's ratio to it is printed. Targets (issue 8): 250,000 students in 60 s or less and
3 GB or less, 1,000,000 in 5 minutes and 10 GB or less, time(1M) <= 11 x time(100k).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import run_child, sample_board  # noqa: E402

STAGES = """
import time, glob, os
import pandas as pd
board_path = {board!r}
out = {out!r}
timings = {{}}
t = time.perf_counter()
for name in glob.glob(os.path.join(board_path, '*.csv')):
    pd.read_csv(name, dtype=str, keep_default_na=False, encoding_errors='replace')
timings['floor: pandas reads the CSVs'] = time.perf_counter() - t

from audits import api
from audits.config import Config
from audits.context import AuditContext
from audits.findings import sort_findings
from audits.registry import load_checks
from audits.validation import validate_board
t = time.perf_counter(); board = api.load_board(board_path, validate=False); timings['load'] = time.perf_counter() - t
t = time.perf_counter(); validate_board(board); timings['validate'] = time.perf_counter() - t
context = AuditContext(board, Config())
t = time.perf_counter(); context.graph; timings['graph'] = time.perf_counter() - t
# The two analyses several checks share, timed on their own so each check shows its own work.
t = time.perf_counter(); context.contact_matches; timings['contact matching (shared)'] = time.perf_counter() - t
t = time.perf_counter(); context.preview; timings['generation preview (shared)'] = time.perf_counter() - t
findings = []
for code, spec in load_checks().items():
    t = time.perf_counter(); findings.extend(spec.run(context)); timings['check ' + code] = time.perf_counter() - t
result = api.AuditResult(board, context, sort_findings(findings))
t = time.perf_counter(); api.write_findings(result, os.path.join(out, 'findings.json')); timings['findings.json'] = time.perf_counter() - t
# What write_audit_reports does for the CLI, one writer at a time (it always writes the
# runbooks, so calling it once per format would write them twice).
from pathlib import Path
from reports import report_input_from_audit
from reports.html import write_html
from reports.runbooks import write_runbooks
from reports.workbook import write_workbook
t = time.perf_counter(); report_input = report_input_from_audit(result); timings['report input'] = time.perf_counter() - t
t = time.perf_counter(); write_workbook(report_input, Path(out) / 'audit.xlsx'); timings['workbook'] = time.perf_counter() - t
t = time.perf_counter(); write_html(report_input, Path(out) / 'audit.html'); timings['HTML report'] = time.perf_counter() - t
t = time.perf_counter(); write_runbooks(report_input, Path(out) / 'runbooks'); timings['runbooks'] = time.perf_counter() - t
RESULT = {{'timings': timings, 'findings': len(findings),
          'rows': {{name: len(frame) for name, frame in board.tables.items()}}}}
"""


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[10_000, 100_000, 250_000, 1_000_000])
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    totals = {}
    results = {}
    for students in args.students:
        board, generated = sample_board(students)
        before = load_average()
        with tempfile.TemporaryDirectory() as out:
            result = run_child(STAGES.format(board=str(board), out=out))
        result["load_before"], result["load_after"] = before, load_average()
        result["generated_seconds"] = generated
        results[students] = result
        timings = dict(result["timings"])
        floor = timings.pop("floor: pandas reads the CSVs")
        total = sum(timings.values())
        totals[students] = total
        rows = result["rows"]
        print(f"\n{students:,} students, {rows['contacts']:,} contact records, "
              f"{rows['student_contacts']:,} student_contacts rows ({result['findings']:,} findings)"
              + (f", board generated in {generated:.1f} s" if generated else ", cached board"))
        print(f"  {before} before, {result['load_after']} after")
        print(f"  {'floor: pandas reads the CSVs':<34} {floor:8.2f} s")
        for stage, seconds in timings.items():
            print(f"  {stage:<34} {seconds:8.2f} s   x{seconds / floor:6.1f} floor")
        print(f"  {'TOTAL audit':<34} {total:8.2f} s   x{total / floor:6.1f} floor   "
              f"peak {result['peak_mb']:,.0f} MB")
    if 100_000 in totals and 1_000_000 in totals:
        print(f"\ntime(1M) / time(100k) = {totals[1_000_000] / totals[100_000]:.1f} (target <= 11)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
