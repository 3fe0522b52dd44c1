"""Profile a full audit of a cached sample board with pyinstrument (benchmark extra).

    .venv/bin/python benchmarks/profile_audit.py --students 250000 [--html prof.html]

Prints the call tree of load (without validation), graph, every check, findings.json, the
workbook and the HTML report; the hot spots of the scale benchmark, by function.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import sample_board  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML view here")
    parser.add_argument("--no-reports", action="store_true", help="stop after findings.json")
    args = parser.parse_args()
    from pyinstrument import Profiler

    from audits import api
    from audits.model.config import Config

    board_path, _ = sample_board(args.students)
    profiler = Profiler(interval=0.005)
    with tempfile.TemporaryDirectory() as out:
        profiler.start()
        board = api.load_board(board_path, validate=False)
        result = api.run_audit(board, Config())
        api.write_findings(result, Path(out) / "findings.json")
        if not args.no_reports:
            from reports.writing import write_audit_reports
            write_audit_reports(result, Path(out), ("xlsx", "html"))
        profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")


if __name__ == "__main__":
    main()
