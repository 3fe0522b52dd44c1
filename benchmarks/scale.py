"""A full audit at several board sizes: end to end as the CLI runs it, and every stage on its own.

    .venv/bin/python benchmarks/scale.py [--students 10000 100000 250000 1000000] [--no-stages]
                                         [--repeat 3]

Sample boards are generated once and cached in benchmarks/.cache/. For each size:

- **the audit**: ``connect-audit audit BOARD --out OUT`` in a fresh process, wall time and peak
  memory of its whole process tree (it forks a worker for contact matching and one for the
  runbooks: audits/engine/parallel.py; see benchmarks/_measure.py for how memory is counted). Every
  output is written: findings.json, audit.xlsx, audit.html, runbooks/. This is the figure the
  targets are about. With ``--repeat N`` the audit runs N times per size and the median is the
  figure (each run is printed): on a shared 2-core VM one run of the same audit varies by up to
  a fifth, which a single pair of runs turns into a ratio that moves by as much.
- **the stages** (unless ``--no-stages``): the same work one stage at a time on one core
  (``CONNECT_AUDIT_WORKERS=1``) in another fresh process, each stage's wall time and its
  ratio to the floor: pandas reading the same CSV files as text. Their sum is more than the
  audit's wall time by what the second core overlaps.

Targets (issue 8): 250,000 students in 60 s or less and 3 GB or less, 1,000,000 in 5 minutes
and 10 GB or less, time(1M) <= 11 x time(100k).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import run_child, sample_board  # noqa: E402

STAGES = """
import time, glob, os, resource
import pandas as pd
board_path = {board!r}
out = {out!r}
timings, peaks = {{}}, {{}}
t = time.perf_counter()
for name in glob.glob(os.path.join(board_path, '*.csv')):
    pd.read_csv(name, dtype=str, keep_default_na=False, encoding_errors='replace')
timings['floor: pandas reads the CSVs'] = time.perf_counter() - t


def mark(stage, since):
    timings[stage] = time.perf_counter() - since
    peaks[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak so far, MB
    return time.perf_counter()


from audits import api
from audits.model.config import Config
from audits.engine.context import AuditContext
from audits.model.findings import sort_findings
from audits.checks.spec import load_checks
from audits.validation import validate_board
t = time.perf_counter(); board = api.load_board(board_path, validate=False); t = mark('load', t)
validate_board(board); t = mark('validate', t)
context = AuditContext(board, Config())
context.graph; t = mark('graph', t)
# The two analyses several checks share, timed on their own so each check shows its own work.
context.contact_matches; t = mark('contact matching (shared)', t)
context.preview; t = mark('generation preview (shared)', t)
findings = []
for code, spec in load_checks().items():
    findings.extend(spec.run(context)); t = mark('check ' + code, t)
result = api.AuditResult(board, context, sort_findings(findings))
api.write_findings(result, os.path.join(out, 'findings.json')); t = mark('findings.json', t)
# What write_audit_reports does for the CLI, one writer at a time (it always writes the
# runbooks, so calling it once per format would write them twice).
from pathlib import Path
from reports.input import report_input_from_audit
from reports.html import write_html
from reports.runbooks import write_runbooks
from reports.workbook import write_workbook
report_input = report_input_from_audit(result); t = mark('report input', t)
write_workbook(report_input, Path(out) / 'audit.xlsx'); t = mark('workbook', t)
write_html(report_input, Path(out) / 'audit.html'); t = mark('HTML report', t)
write_runbooks(report_input, Path(out) / 'runbooks'); t = mark('runbooks', t)
RESULT = {{'timings': timings, 'peaks': peaks, 'findings': len(findings),
          'rows': {{name: len(frame) for name, frame in board.tables.items()}}}}
"""


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


CLI_AUDIT = """
import subprocess, sys, time
started = time.perf_counter()
done = subprocess.run([sys.executable, '-m', 'audits.cli', 'audit', {board!r}, '--out', {out!r}],
                      capture_output=True, text=True)
elapsed = time.perf_counter() - started
if done.returncode not in (0, 1):
    raise SystemExit(done.stderr[-4000:])
RESULT = {{'seconds': elapsed}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[10_000, 100_000, 250_000, 1_000_000])
    parser.add_argument("--no-stages", action="store_true",
                        help="only the end-to-end audit, not the stage-by-stage run")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each size's audit this many times; the median is the figure")
    args = parser.parse_args()
    totals = {}
    results = {}
    for students in args.students:
        board, generated = sample_board(students)
        before = load_average()
        runs = []
        for _ in range(max(args.repeat, 1)):
            with tempfile.TemporaryDirectory() as out:
                runs.append(run_child(CLI_AUDIT.format(board=str(board), out=out)))
        seconds = statistics.median(run["seconds"] for run in runs)
        peak = max(run["peak_mb"] for run in runs)
        audit = {"seconds": seconds, "peak_mb": peak, "runs": runs}
        totals[students] = seconds
        each = (" (median of " + ", ".join(f"{run['seconds']:.1f}" for run in runs) + " s)"
                if len(runs) > 1 else "")
        print(f"\n{students:,} students: connect-audit audit (every output, both cores) "
              f"{seconds:.1f} s{each}, peak {peak:,.0f} MB   "
              f"({before} before, {load_average()} after)"
              + (f"; board generated in {generated:.1f} s" if generated else ""))
        results[students] = {"audit": audit, "load_before": before, "load_after": load_average(),
                             "generated_seconds": generated}
        if args.no_stages:
            continue
        before = load_average()
        with tempfile.TemporaryDirectory() as out:
            result = run_child(STAGES.format(board=str(board), out=out),
                               env={"CONNECT_AUDIT_WORKERS": "1"})
        result["load_before"], result["load_after"] = before, load_average()
        results[students]["stages"] = result
        timings = dict(result["timings"])
        floor = timings.pop("floor: pandas reads the CSVs")
        total = sum(timings.values())
        rows = result["rows"]
        print(f"  stage by stage on one core: {rows['contacts']:,} contact records, "
              f"{rows['student_contacts']:,} student_contacts rows ({result['findings']:,} "
              f"findings); {before} before, {result['load_after']} after")
        print(f"  {'floor: pandas reads the CSVs':<34} {floor:8.2f} s")
        for stage, seconds in timings.items():
            print(f"  {stage:<34} {seconds:8.2f} s   x{seconds / floor:6.1f} floor   "
                  f"peak so far {result['peaks'][stage]:7,.0f} MB")
        print(f"  {'sum of the stages':<34} {total:8.2f} s   x{total / floor:6.1f} floor   "
              f"peak {result['peak_mb']:,.0f} MB")
    if 100_000 in totals and 1_000_000 in totals:
        print(f"\naudit time(1M) / time(100k) = {totals[1_000_000] / totals[100_000]:.1f} "
              "(target <= 11)" + (" from the medians" if args.repeat > 1 else ""))
        if args.repeat > 1:
            small = [run["seconds"] for run in results[100_000]["audit"]["runs"]]
            large = [run["seconds"] for run in results[1_000_000]["audit"]["runs"]]
            print(f"  any run against any run: {min(large) / max(small):.1f} to "
                  f"{max(large) / min(small):.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
