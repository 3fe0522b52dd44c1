"""Reconciliation after generation: a generation run is simulated on a sample board as the
contract's rules say (one parent account per previewed contact record that generation creates,
seeing its portal-access students), with two created accounts missing, one username changed and
one account nobody predicted; `reconcile` reports exactly those outcomes."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audits import api
from audits.cli import main
from audits.preview import CREATED, split_ids
from audits.workflow.reconcile import (CREATED_AS_PREDICTED, MISSING, NOT_PREDICTED, USERNAME_CHANGED,
                              read_preview)


def append_rows(path: Path, rows: list[dict[str, str]]) -> None:
    raw = path.read_bytes()
    encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding, text = "cp1252", raw.decode("cp1252")
    header = next(csv.reader(io.StringIO(text)))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([row.get(column.strip().lower(), "") for column in header])
    ending = "" if text.endswith("\n") or not text else "\r\n"
    path.write_bytes((text + ending + out.getvalue()).encode(encoding))


@pytest.fixture(scope="module")
def generation(tmp_path_factory):
    root = tmp_path_factory.mktemp("reconcile")
    before = root / "before"
    assert CliRunner().invoke(main, ["sample", str(before), "--students", "400",
                                     "--seed", "7"]).exit_code == 0
    run = CliRunner().invoke(main, ["preview", str(before), "--out", str(root / "preview.csv")])
    assert run.exit_code == 0, run.output
    preview = read_preview(root / "preview.csv")
    board = api.load_board(before, validate=False)

    created = preview[preview["outcome"].isin(CREATED)].reset_index(drop=True)
    failing = set(preview.loc[~preview["outcome"].isin(CREATED), "contact_id"])
    assert len(created) > 10 and failing
    left_out = set(created["contact_id"].iloc[[2, 5]])        # generation failed for these
    renamed = created["contact_id"].iloc[7]                    # the SIS took another username
    accounts, sees = [], []
    for n, row in created.iterrows():
        if row["contact_id"] in left_out:
            continue
        account_id = f"GEN{n:05d}"
        username = "other." + row["username"] if row["contact_id"] == renamed else row["username"]
        accounts.append({"account_id": account_id, "username": username, "account_type": "parent",
                         "school_id": row["school_id"], "person_id": row["contact_id"],
                         "status": "active"})
        sees.extend({"account_id": account_id, "student_id": s} for s in split_ids(row["student_ids"]))
    # One account nobody predicted: a contact record the preview did not list.
    listed = set(preview["contact_id"]) | set(board.accounts["person_id"])
    extra = next(c for c in board.contacts["contact_id"] if c not in listed)
    accounts.append({"account_id": "GEN-EXTRA", "username": "extra@example.org",
                     "account_type": "parent", "school_id": "0001", "person_id": extra,
                     "status": "active"})

    after = root / "after"
    shutil.copytree(before, after)
    append_rows(after / "accounts.csv", accounts)
    append_rows(after / "account_students.csv", sees)
    return root, preview, created, failing, left_out, renamed, extra


def test_reconcile_reports_exactly_the_simulated_outcomes(generation):
    root, preview, created, failing, left_out, renamed, extra = generation
    result = api.reconcile(root / "preview.csv", root / "after", before=root / "before")
    frame = result.frame
    status = dict(zip(frame["contact_id"], frame["status"]))
    assert len(frame) == len(preview) + 1
    assert {c for c, s in status.items() if s == MISSING} == left_out | failing
    assert {c for c, s in status.items() if s == USERNAME_CHANGED} == {renamed}
    assert {c for c, s in status.items() if s == NOT_PREDICTED} == {extra}
    assert {c for c, s in status.items() if s == CREATED_AS_PREDICTED} == \
        set(created["contact_id"]) - left_out - {renamed}

    missing = frame[frame["status"] == MISSING].set_index("contact_id")
    # A predicted failure is explained by the preview's own reason ...
    for contact in failing:
        assert missing.at[contact, "as_predicted"]
        expected = preview.set_index("contact_id").at[contact, "reason"]
        assert missing.at[contact, "likely_reason"] == expected
    # ... a failure the preview did not predict says so.
    for contact in left_out:
        assert not missing.at[contact, "as_predicted"]
        assert "does not explain" in missing.at[contact, "likely_reason"]
    changed = frame[frame["status"] == USERNAME_CHANGED].iloc[0]
    assert changed["actual_username"] == "other." + changed["predicted_username"]
    ok = frame[frame["status"] == CREATED_AS_PREDICTED]
    assert (ok["actual_students"] == ok["predicted_students"]).all()

    counts = result.counts()
    assert counts[MISSING] == len(left_out | failing) and counts[NOT_PREDICTED] == 1


def test_the_cli_writes_a_summary_and_a_csv(generation):
    root, preview, *_ = generation
    run = CliRunner().invoke(main, ["reconcile", str(root / "preview.csv"), str(root / "after"),
                                    "--before", str(root / "before"),
                                    "--out", str(root / "reconciled.csv")])
    assert run.exit_code == 0, run.output
    assert "username changed" in run.output and "not predicted                1" in run.output
    written = pd.read_csv(root / "reconciled.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert len(written) == len(preview) + 1

    # Without the export the preview came from, accounts not predicted cannot be told apart.
    run = CliRunner().invoke(main, ["reconcile", str(root / "preview.csv"), str(root / "after")])
    assert run.exit_code == 0, run.output
    assert "not checked (give --before BOARD" in run.output


def test_a_file_that_is_not_a_preview_is_a_usage_error(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    run = CliRunner().invoke(main, ["reconcile", str(tmp_path / "x.csv"), str(tmp_path)])
    assert run.exit_code == 2 and "not a preview" in run.output


def test_swapped_arguments_and_a_ragged_preview_are_plain_usage_errors(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    preview = tmp_path / "preview.csv"
    preview.write_text("contact_id,school_id\nC1,0001\n" + "C2,0001,extra\n" * 200)
    run = CliRunner().invoke(main, ["reconcile", str(board), str(preview)])
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert "first argument" in run.output and "PREVIEW.csv BOARD_AFTER" in run.output
    run = CliRunner().invoke(main, ["reconcile", str(preview), str(board)])
    assert run.exit_code == 2 and "C error" not in run.output
    assert "row 3 has 3 values where the header has 2" in run.output
