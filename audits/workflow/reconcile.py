"""Reconciliation after generation: the preview saved before a generation run
(``connect-audit preview BOARD --out preview.csv``) against a fresh export taken after it.

Every preview row ("Will be created") ends as one of:

- ``created as predicted``: a parent account now exists for the contact record, under the
  predicted username, and the preview said it would be created;
- ``created against prediction``: it exists under the predicted username although the preview
  said generation would fail or be refused (the data changed, or the preview's assumptions on
  generation order or school did not hold);
- ``username changed``: it exists under another username than the preview predicted;
- ``missing``: no parent account exists; ``likely_reason`` is the preview's own reason when it
  predicted the failure (``as_predicted`` true), else that the preview does not explain it.

And every new parent account no preview row predicted is ``not predicted``. Telling a new
account from one that existed before generation needs the export the preview was taken from
(``before``); without it this category is not computed (``None`` in the summary).

This replaces reading the generation PDF line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from audits.model.board import Board
from audits.model.errors import UserError
from audits.io.cells import read_back_frame
from audits.preview import CREATED
from audits.household.graph import normalize_username

CREATED_AS_PREDICTED = "created as predicted"
CREATED_AGAINST_PREDICTION = "created against prediction"
USERNAME_CHANGED = "username changed"
MISSING = "missing"
NOT_PREDICTED = "not predicted"
STATUSES = (CREATED_AS_PREDICTED, CREATED_AGAINST_PREDICTION, USERNAME_CHANGED, MISSING,
            NOT_PREDICTED)

COLUMNS = ("status", "as_predicted", "contact_id", "school_id", "account_id",
           "predicted_username", "actual_username", "predicted_outcome", "likely_reason",
           "predicted_students", "actual_students")
PREVIEW_REQUIRED = ("contact_id", "school_id", "username", "outcome", "reason")


def read_preview(path: str | Path) -> pd.DataFrame:
    """A preview CSV as ``preview --out`` wrote it, with the spreadsheet-formula guard undone."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"The first argument, {path}, is a folder; reconcile takes the preview CSV "
                        f"first (written by `connect-audit preview --out PREVIEW.csv`), then the "
                        f"export taken after generation: connect-audit reconcile PREVIEW.csv "
                        f"BOARD_AFTER")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"Preview file not found: {path}") from None
    except OSError as error:
        raise UserError(f"The preview file {path} cannot be read: {error.strerror}") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        from audits.io.loading.csv import describe_csv_error

        raise UserError(f"{path.name} is not a preview CSV: {describe_csv_error(error)}"
                        ) from None
    missing = [c for c in PREVIEW_REQUIRED if c not in frame.columns]
    if missing:
        raise UserError(f"{path.name} is not a preview written by `connect-audit preview --out`: "
                        f"no column(s) {', '.join(missing)}")
    return read_back_frame(frame)


@dataclass
class Reconciliation:
    frame: pd.DataFrame
    """One row per preview row, then one per account not predicted (``COLUMNS``)."""
    checked_not_predicted: bool

    def counts(self) -> dict[str, int | None]:
        found = self.frame["status"].value_counts()
        counts: dict[str, int | None] = {s: int(found.get(s, 0)) for s in STATUSES}
        if not self.checked_not_predicted:
            counts[NOT_PREDICTED] = None
        return counts

    def missing_by_outcome(self) -> dict[str, int]:
        missing = self.frame[self.frame["status"] == MISSING]
        return {str(k): int(v) for k, v in missing["predicted_outcome"].value_counts().items()}

    def summary(self) -> dict[str, Any]:
        return {"counts": self.counts(), "missing_by_predicted_outcome": self.missing_by_outcome(),
                "not_as_predicted": int((~self.frame["as_predicted"]).sum())}

    def text(self) -> str:
        lines = [f"{len(self.frame)} row(s) reconciled"]
        for status, count in self.counts().items():
            shown = "not checked (give --before BOARD, the export the preview was taken from)" \
                if count is None else str(count)
            lines.append(f"  {status:<28} {shown}")
        for outcome, count in sorted(self.missing_by_outcome().items()):
            lines.append(f"    missing, predicted {outcome:<30} {count}")
        return "\n".join(lines)

    def to_csv(self, path: str | Path) -> Path:
        from audits.preview import preview_to_csv

        return preview_to_csv(self.frame, path)


def _parent_accounts(board: Board) -> pd.DataFrame:
    accounts = board.accounts
    parents = accounts[accounts["account_type"] == "parent"]
    parents = parents.sort_values(["person_id", "account_id"]).drop_duplicates("person_id")
    sees = board.account_students.sort_values(["account_id", "student_id"])
    students = sees.groupby("account_id", sort=False)["student_id"].agg("; ".join)
    return pd.DataFrame({
        "contact_id": parents["person_id"].astype(str).to_numpy(),
        "account_id": parents["account_id"].astype(str).to_numpy(),
        "actual_username": parents["username"].astype(str).to_numpy(),
        "actual_students": parents["account_id"].map(students).fillna("").astype(str).to_numpy(),
    })


def reconcile(preview: pd.DataFrame, after: Board, before: Board | None = None) -> Reconciliation:
    """Compare the preview (a frame as :func:`read_preview` returns, or ``AuditResult.preview``)
    with the board exported after generation; ``before`` is the export the preview was taken
    from, needed only for accounts created but not predicted."""
    preview = preview.astype({c: str for c in PREVIEW_REQUIRED})
    accounts = _parent_accounts(after)
    rows = preview.merge(accounts, on="contact_id", how="left")
    has_account = rows["account_id"].notna()
    rows = rows.fillna({"account_id": "", "actual_username": "", "actual_students": ""})
    predicted_created = rows["outcome"].isin(CREATED)
    same_name = (rows["username"].map(normalize_username)
                 == rows["actual_username"].map(normalize_username))
    status = pd.Series(MISSING, index=rows.index, dtype=object)
    status[has_account & same_name & predicted_created] = CREATED_AS_PREDICTED
    status[has_account & same_name & ~predicted_created] = CREATED_AGAINST_PREDICTION
    status[has_account & ~same_name] = USERNAME_CHANGED
    as_predicted = (status == CREATED_AS_PREDICTED) | ((status == MISSING) & ~predicted_created)
    reason = pd.Series("", index=rows.index, dtype=object)
    missing = status == MISSING
    reason[missing & ~predicted_created] = rows["reason"]
    reason[missing & predicted_created] = (
        "predicted to be created (" + rows["outcome"] + "); the preview does not explain it: "
        "was generation run for school " + rows["school_id"] + ", and is the contact record "
        "still linked with portal access?")
    reason[status == USERNAME_CHANGED] = ("username " + rows["actual_username"]
                                          + " instead of the predicted " + rows["username"])
    reason[status == CREATED_AGAINST_PREDICTION] = "created although the preview said: " + rows["reason"]
    students = rows["student_ids"] if "student_ids" in rows else pd.Series("", index=rows.index)
    frame = pd.DataFrame({
        "status": status, "as_predicted": as_predicted.astype(bool),
        "contact_id": rows["contact_id"], "school_id": rows["school_id"],
        "account_id": rows["account_id"], "predicted_username": rows["username"],
        "actual_username": rows["actual_username"], "predicted_outcome": rows["outcome"],
        "likely_reason": reason.astype(str), "predicted_students": students.astype(str),
        "actual_students": rows["actual_students"]})
    if before is not None:
        existed = set(before.accounts["account_id"].astype(str))
        unexpected = accounts[~accounts["account_id"].isin(existed)
                              & ~accounts["contact_id"].isin(set(preview["contact_id"]))]
        extra = pd.DataFrame({
            "status": NOT_PREDICTED, "as_predicted": False,
            "contact_id": unexpected["contact_id"], "school_id": _school_of(after, unexpected),
            "account_id": unexpected["account_id"], "predicted_username": "",
            "actual_username": unexpected["actual_username"], "predicted_outcome": "",
            "likely_reason": "a new parent account for a contact record the preview did not "
                             "list: its portal access or accounts changed after the preview, "
                             "or it was created by hand",
            "predicted_students": "", "actual_students": unexpected["actual_students"]})
        frame = pd.concat([frame, extra], ignore_index=True)
    frame = frame[list(COLUMNS)].reset_index(drop=True)
    frame["as_predicted"] = frame["as_predicted"].astype(bool)
    return Reconciliation(frame, before is not None)


def _school_of(board: Board, accounts: pd.DataFrame) -> pd.Series:
    schools = board.accounts.drop_duplicates("account_id").set_index("account_id")["school_id"]
    return accounts["account_id"].map(schools).fillna("").astype(str)


__all__ = ["COLUMNS", "CREATED_AGAINST_PREDICTION", "CREATED_AS_PREDICTED", "MISSING",
           "NOT_PREDICTED", "Reconciliation", "STATUSES", "USERNAME_CHANGED", "read_preview",
           "reconcile"]
