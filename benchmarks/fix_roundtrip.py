"""Issue 5's done-when, measured: audit a sample board, plan a fix for every finding, apply every
fix that can be applied, audit the fixed export again.

    .venv/bin/python benchmarks/fix_roundtrip.py [--students 20000] [--seed 7] [--keep DIR]

"Every proposed fix" is every action apply can carry out by itself (merge-contacts,
link-siblings, add-permission) plus every rename-username with its decision filled in the way a
reviewer would: the action's suggested decisions (``decision`` and, when more than two holders
share the username, ``more_decisions``), as the plan suggests them (a parent record whose account
is still to be generated takes a personal email, else an existing parent account, else another
existing account, gets another username), each with ``new_value`` = ``<key>.personal@example.org`` lowercased, where ``<key>`` is the
record's id (contact id or account id). Those addresses are unique per record and
valid, so the rename can neither clash again nor leave a record without a usable username.
``manual`` actions (missing usernames) have no automatic fix and are not counted as fixed.

Printed: findings before, by check; how many fixed findings (ids of the plan's applied
actions) are still present after; the new finding ids (absent before), by check, with a few
examples; timings. Exit status 1 when a fixed finding remains or a new one appears.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audits import api  # noqa: E402
from audits.sample import generate_board, write_board  # noqa: E402
from fixes.apply import apply_plan  # noqa: E402
from fixes.plan import build_plan  # noqa: E402

PERSONAL_DOMAIN = "example.org"


def decide_renames(plan: dict) -> int:
    """Fill every rename's decisions as the benchmark's reviewer does (see the module
    docstring); the number of decisions filled."""
    filled = 0
    for action in plan["actions"]:
        if action["action"] != "rename-username":
            continue
        for decision in [action["decision"], *action.get("more_decisions", [])]:
            if not decision.get("key"):
                continue
            local = re.sub(r"[^a-z0-9._-]", "-", str(decision["key"]).lower())
            decision["new_value"] = f"{local}.personal@{PERSONAL_DOMAIN}"
            filled += 1
    return filled


def roundtrip(students: int, seed: int, work: Path) -> dict:
    timings: dict[str, float] = {}

    def timed(label, function, *args, **kwargs):
        started = time.perf_counter()
        value = function(*args, **kwargs)
        timings[label] = time.perf_counter() - started
        return value

    board = work / "board"
    timed("generate the sample board", lambda: write_board(generate_board(students, seed), board))
    before = timed("audit", lambda: api.run_audit(api.load_board(board)))
    plan = timed("plan", build_plan, json.loads(json.dumps(before.document())))
    decided = decide_renames(plan)
    result = timed("apply (write, force)", apply_plan, plan, board, work / "fixed", write=True,
                   force=True)
    after = timed("re-audit the fixed export",
                  lambda: api.run_audit(api.load_board(work / "fixed")))
    again = timed("apply the plan again (dry run)", apply_plan, plan, work / "fixed",
                  work / "again")
    before_ids = {f.id: f for f in before.findings}
    after_ids = {f.id: f for f in after.findings}
    left = [i for i in result.applied if i in after_ids]
    new = [f for i, f in after_ids.items() if i not in before_ids]
    return {
        "students": students, "seed": seed,
        "before": Counter(f.check for f in before.findings),
        "after": Counter(f.check for f in after.findings),
        "actions": Counter(a["action"] for a in plan["actions"]),
        "renames_decided": decided,
        "applied": len(result.applied), "already": len(result.already_applied),
        "refused": result.refused, "skipped": Counter(r for _, r in result.skipped),
        "left": left, "left_by_check": Counter(before_ids[i].check for i in left),
        "new": new, "new_by_check": Counter(f.check for f in new),
        "retired": Counter(r["kept_in_contacts"] for r in result.retired),
        "accounts_moved": Counter(part.rsplit(" (", 1)[-1].rstrip(")")
                                  for r in result.retired
                                  for part in r["accounts_moved"].split("; ") if part),
        "changes": Counter(c.table for c in result.changes),
        "second_apply_changes": len(again.changes),
        "second_apply_applied": len(again.applied),
        "second_apply_refused": again.refused,
        "timings": timings,
    }


def report(out: dict) -> str:
    lines = [f"Sample board: {out['students']} students, seed {out['seed']}"]
    lines.append("Findings before, by check:")
    for check, count in sorted(out["before"].items()):
        lines.append(f"  {check}: {count}")
    lines.append("Plan actions: " + ", ".join(f"{k} {v}" for k, v in sorted(out["actions"].items()))
                 + f"; renames decided by the benchmark: {out['renames_decided']}")
    lines.append(f"Applied {out['applied']}, already applied {out['already']}, "
                 f"stale {len(out['refused'])}; skipped: "
                 + (", ".join(f"{v} ({k})" for k, v in out["skipped"].items()) or "none"))
    for finding, reason in out["refused"][:5]:
        lines.append(f"  stale: {finding}: {reason}")
    lines.append("Retired records: " + (", ".join(f"{v} kept_in_contacts={k}"
                                                  for k, v in out["retired"].items()) or "none"))
    lines.append("Parent accounts of retired records, handed to the survivor: " + (", ".join(
        f"{v} {k}" for k, v in sorted(out["accounts_moved"].items())) or "none"))
    lines.append("Changes by table: " + ", ".join(f"{k} {v}"
                                                   for k, v in sorted(out["changes"].items())))
    lines.append(f"Fixed findings still present: {len(out['left'])}"
                 + ("" if not out["left"] else " (" + ", ".join(
                     f"{k} {v}" for k, v in sorted(out["left_by_check"].items())) + ")"))
    for finding in out["left"][:5]:
        lines.append(f"  e.g. {finding}")
    lines.append(f"New findings (ids absent before): {len(out['new'])}")
    for check, count in sorted(out["new_by_check"].items()):
        examples = [f.id for f in out["new"] if f.check == check][:3]
        lines.append(f"  {check}: {count}, e.g. {', '.join(examples)}")
    lines.append("Findings after, by check: " + (", ".join(
        f"{k} {v}" for k, v in sorted(out["after"].items())) or "none"))
    lines.append(f"Second apply of the same plan to the fixed export: "
                 f"{out['second_apply_changes']} changes, {out['second_apply_applied']} applied, "
                 f"{len(out['second_apply_refused'])} stale")
    for finding, reason in out["second_apply_refused"][:5]:
        lines.append(f"  stale: {finding}: {reason}")
    lines.append("Timings:")
    for label, seconds in out["timings"].items():
        lines.append(f"  {label}: {seconds:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="a new folder to keep the boards in")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True)
        out = roundtrip(args.students, args.seed, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="fix-roundtrip-") as work:
            out = roundtrip(args.students, args.seed, Path(work))
    print(report(out))
    clean = not (out["left"] or out["new"] or out["refused"] or out["second_apply_changes"]
                 or out["second_apply_refused"])
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
