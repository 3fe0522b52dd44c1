"""The generation preview: the parent accounts CONNECT would create today, and what happens to each.

Data contract section 2: generating parent accounts creates one account per contact *record*
that has portal access for at least one active student and no parent account yet. Its username
comes from the parent naming schema. This module predicts, record by record, whether that
account is created, refused or fails, and whether it will work as the family expects.

Outcomes, in precedence order (the first that applies wins, because each one decides whether
the next question even arises):

1. ``fails-no-username``: no usable username under the naming schema; generation fails.
2. ``refused-username-in-use-here``: the username is already used at the account's school, by
   an existing account or by a would-be account generated before it; the SIS refuses it.
3. ``clashes-other-school``: the account is created, but the same username is (or will be)
   held at another school, central office included; logins break and the parent sees only
   some of the children. Worse than 4, so it wins over it.
4. ``one-of-several-for-person``: the account is created and works, but the contact record is
   one of several records of one human that hold or get a parent account, so the person ends
   up with several accounts each seeing some of the children.
5. ``ok``.

Assumptions the tool makes where the SIS does not say (documented for support staff):

- An account is generated at the school of its active portal-access students; when they attend
  several schools, at the one with most of them, ties broken by the lowest school_id.
- The SIS's generation order is not documented; the preview takes contact_id order (text
  order, IDs are never numbers), so the lowest contact_id gets a username first.
- A disabled account still holds its username (the SIS keeps the record), so it makes a
  would-be account at its school be refused; it cannot log in, so it breaks no logins at other
  schools.
- An existing parent account of any status means the contact record gets no new account
  ("no existing account with account_type parent"), as the contract says.

List-valued columns (``student_ids``, ``related``) are ``"; "``-joined text, sorted, so the
frame writes to CSV and Excel as it is; :func:`split_ids` turns one back into a list.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from audits.board import Board
from audits.usernames import usernames_series

if TYPE_CHECKING:
    from audits.context import AuditContext

OK = "ok"
FAILS_NO_USERNAME = "fails-no-username"
REFUSED_IN_USE_HERE = "refused-username-in-use-here"
CLASHES_OTHER_SCHOOL = "clashes-other-school"
ONE_OF_SEVERAL = "one-of-several-for-person"
OUTCOMES = (FAILS_NO_USERNAME, REFUSED_IN_USE_HERE, CLASHES_OTHER_SCHOOL, ONE_OF_SEVERAL, OK)
"""Every outcome, in precedence order."""
CREATED = frozenset({OK, CLASHES_OTHER_SCHOOL, ONE_OF_SEVERAL})
"""Outcomes where the account is created."""

STATUS_WILL_BE_CREATED = "Will be created"
"""What the SIS's generation screen shows for every row, whatever then happens to it."""

PREVIEW_COLUMNS = ("contact_id", "name", "school_id", "student_ids", "student_count", "username",
                   "username_key", "username_problem", "status", "outcome", "reason", "related")

ID_SEPARATOR = "; "


def split_ids(text: str) -> list[str]:
    """The ids of one ``"; "``-joined preview cell."""
    return [part for part in str(text).split(ID_SEPARATOR) if part] if text else []


def _join_sorted(values: Iterable[str]) -> str:
    return ID_SEPARATOR.join(sorted(set(values)))


def portal_access_links(board: Board) -> pd.DataFrame:
    """Each (contact_id, student_id) portal-access link to an active student, with the
    student's school_id: what a parent account generated today would see."""
    links = board.student_contacts
    links = links.loc[links["portal_access"], ["contact_id", "student_id"]]
    students = board.students
    active = students.loc[students["status"] == "active", ["student_id", "school_id"]]
    found = links.merge(active, on="student_id", how="inner")
    return found.drop_duplicates(["contact_id", "student_id"]).reset_index(drop=True)


def person_keys(context: "AuditContext", contact_ids: pd.Series) -> pd.Series:
    """The person each contact record belongs to (``contact_matches.person_key``): records of one
    human share a key; any other record is its own person. Vectorised: only clustered records
    are looked up one by one, and clusters are few."""
    if contact_ids.empty:
        return contact_ids.astype(str)
    matches = context.contact_matches
    mapping = {contact: matches.person_key(contact)
               for cluster in matches.clusters for contact in cluster.contacts}
    if not mapping:
        return contact_ids.astype(str)
    return contact_ids.map(mapping).fillna(contact_ids).astype(str)


def _join_runs(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` joined per run of equal ``keys`` (both already sorted by key), indexed by key.
    Slicing one list beats a groupby-join by two orders of magnitude at 400k groups."""
    key_array = keys.to_numpy(dtype=object)
    if len(key_array) == 0:
        return pd.Series([], dtype=str)
    texts = values.astype(str).tolist()
    starts = np.flatnonzero(np.r_[True, key_array[1:] != key_array[:-1]])
    ends = np.r_[starts[1:], len(key_array)]
    joined = [ID_SEPARATOR.join(texts[start:end]) for start, end in zip(starts, ends)]
    return pd.Series(joined, index=pd.Index(key_array[starts], dtype=object), dtype=object)


def _group_join(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """``value`` joined per ``key`` (sorted, distinct), indexed by ``key``."""
    pairs = frame[[key, value]].drop_duplicates().sort_values([key, value])
    return _join_runs(pairs[key], pairs[value])


def _lookup(ids: pd.Series, table: pd.Series) -> pd.Series:
    """``table[id]`` for every id, ``""`` where ``table`` has none."""
    found = ids.map(table).astype(object)
    return found.where(found.notna(), "").astype(str)


def empty_preview() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series([], dtype=str) for column in PREVIEW_COLUMNS})
    frame["student_count"] = frame["student_count"].astype(int)
    return frame


def preview_generation(context: "AuditContext") -> pd.DataFrame:
    """One row per parent account that generating parent accounts would create today, sorted by
    contact_id, with its school, students, username and predicted outcome (see module doc)."""
    board = context.board
    links = portal_access_links(board)
    accounts = board.accounts
    has_parent_account = accounts.loc[accounts["account_type"] == "parent", "person_id"]
    links = links[~links["contact_id"].isin(has_parent_account)]
    links = links[links["contact_id"].isin(board.contacts["contact_id"])]
    if links.empty:
        return empty_preview()

    # The school with most of the record's students; ties go to the lowest school_id.
    # groupby sorts by (contact_id, school_id), so the first row at the maximum is the lowest id.
    per_school = links.groupby(["contact_id", "school_id"]).size().reset_index(name="n")
    most = per_school["n"] == per_school.groupby("contact_id", sort=False)["n"].transform("max")
    frame = per_school[most].drop_duplicates("contact_id")[["contact_id", "school_id"]]
    ordered = links.sort_values(["contact_id", "student_id"])
    students = pd.DataFrame({"student_ids": _join_runs(ordered["contact_id"], ordered["student_id"]),
                             "student_count": ordered.groupby("contact_id", sort=True).size()})
    frame = frame.merge(students, left_on="contact_id", right_index=True, how="left")

    contacts = board.contacts[["contact_id", "first_name", "last_name", "email"]]
    frame = frame.merge(contacts.drop_duplicates("contact_id"), on="contact_id", how="left")
    frame = frame.reset_index(drop=True)  # still in contact_id order: left merges keep it
    frame["name"] = (frame["first_name"].str.strip() + " " + frame["last_name"].str.strip()).str.strip()
    schema = context.config.naming_schema.get("parent", "email")
    username, problem = usernames_series(schema, frame["email"], frame["first_name"],
                                         frame["last_name"])
    frame["username"] = username.to_numpy()
    frame["username_problem"] = problem.to_numpy()
    frame["username_key"] = frame["username"].str.strip().str.lower()
    frame["status"] = STATUS_WILL_BE_CREATED

    has_name = frame["username_key"] != ""
    held = accounts.assign(username_key=accounts["username"].str.strip().str.lower())
    held = held[held["username_key"] != ""]

    # Refused: an existing account (any status) holds the username at the same school ...
    named = frame.loc[has_name, ["contact_id", "school_id", "username_key"]]
    here = named.merge(held[["username_key", "school_id", "account_id"]],
                       on=["username_key", "school_id"], how="inner")
    held_here = _group_join(here, "contact_id", "account_id")
    # ... or a would-be account generated before it (contact_id order) at the same school.
    first_here = named.groupby(["school_id", "username_key"], sort=False)["contact_id"].transform("first")
    earlier = pd.Series(first_here.where(first_here != named["contact_id"], ""), index=named.index)
    refused_existing = frame["contact_id"].isin(held_here.index)
    refused_earlier = pd.Series(False, index=frame.index)
    refused_earlier.loc[named.index] = earlier != ""
    refused = has_name & (refused_existing | refused_earlier)
    created = has_name & ~refused

    # Clash: the username is held at another school by an active existing account or by a
    # would-be account that is created.
    active_held = held[held["status"] == "active"]
    holders = pd.concat([
        active_held[["username_key", "school_id", "account_id"]].rename(columns={"account_id": "ref"}),
        frame.loc[created, ["username_key", "school_id", "contact_id"]].rename(columns={"contact_id": "ref"}),
    ], ignore_index=True)
    shared_keys = holders.groupby("username_key")["school_id"].nunique()
    shared_keys = shared_keys[shared_keys > 1].index
    candidates = frame.loc[created & frame["username_key"].isin(shared_keys),
                           ["contact_id", "school_id", "username_key"]]
    elsewhere = candidates.merge(holders[holders["username_key"].isin(shared_keys)],
                                 on="username_key", suffixes=("", "_other"))
    elsewhere = elsewhere[elsewhere["school_id"] != elsewhere["school_id_other"]]
    held_elsewhere = _group_join(elsewhere, "contact_id", "ref")
    clashes = created & frame["contact_id"].isin(held_elsewhere.index)

    # Several records of one person that hold or get a parent account.
    parent_accounts = accounts[(accounts["account_type"] == "parent") & (accounts["status"] == "active")]
    holding = pd.concat([frame.loc[created, "contact_id"], parent_accounts["person_id"]],
                        ignore_index=True).drop_duplicates()
    persons = pd.DataFrame({"contact_id": holding.to_numpy(),
                            "person": person_keys(context, holding).to_numpy()})
    records_per_person = persons.groupby("person")["contact_id"].transform("size")
    several = persons[records_per_person > 1]
    siblings_of = several.merge(several, on="person", suffixes=("", "_other"))
    siblings_of = siblings_of[siblings_of["contact_id"] != siblings_of["contact_id_other"]]
    other_records = _group_join(siblings_of, "contact_id", "contact_id_other")
    one_of_several = created & frame["contact_id"].isin(other_records.index)

    conditions = [~has_name, refused, clashes, one_of_several]
    frame["outcome"] = np.select([c.to_numpy(dtype=bool) for c in conditions], list(OUTCOMES[:4]),
                                 default=OK)

    cid = frame["contact_id"]
    by_existing = _lookup(cid, held_here)
    by_earlier = pd.Series("", index=frame.index, dtype=object)
    by_earlier.loc[named.index] = earlier
    related = np.select(
        [c.to_numpy(dtype=bool) for c in (frame["outcome"] == REFUSED_IN_USE_HERE,
                                           frame["outcome"] == CLASHES_OTHER_SCHOOL,
                                           frame["outcome"] == ONE_OF_SEVERAL)],
        [by_existing.where(by_existing != "", by_earlier).astype(str),
         _lookup(cid, held_elsewhere),
         _lookup(cid, other_records)],
        default="")
    frame["related"] = pd.Series(related, index=frame.index).astype(str)

    outcome = frame["outcome"]
    reason = pd.Series("", index=frame.index, dtype=object)
    reason[outcome == FAILS_NO_USERNAME] = (
        f"no usable username under the '{schema}' naming schema: " + frame["username_problem"])
    mask = (outcome == REFUSED_IN_USE_HERE) & (by_existing != "")
    reason[mask] = ("username already used at school " + frame["school_id"] + " by account "
                    + frame["related"])
    mask = (outcome == REFUSED_IN_USE_HERE) & (by_existing == "")
    reason[mask] = ("username taken at school " + frame["school_id"]
                    + " by the account generated first, for contact record " + frame["related"])
    reason[outcome == CLASHES_OTHER_SCHOOL] = (
        "username also held at another school by " + frame["related"]
        + ": logins will break and the parent will see only some children")
    reason[outcome == ONE_OF_SEVERAL] = (
        "one of several records of one person (also " + frame["related"]
        + "): each account sees only some of the children")
    frame["reason"] = reason.astype(str)
    frame["student_count"] = frame["student_count"].astype(int)
    return frame[list(PREVIEW_COLUMNS)].reset_index(drop=True)


# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a spreadsheet formula: a ``'`` is put in
    front of any cell starting with ``= + - @``, tab or carriage return (OWASP)."""
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype(object).where(values.notna(), "").astype(str)
            risky = text.str.startswith(FORMULA_PREFIXES)
            safe[column] = text.where(~risky, "'" + text)
    return safe


def preview_to_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the preview as UTF-8 CSV (with a byte-order mark, so Excel reads accents) that is
    safe to open in a spreadsheet."""
    from audits.api import write_atomic

    # Written whole, then renamed into place: an interrupted run leaves no half preview.
    text = defuse_formulas(frame).to_csv(index=False)
    return write_atomic(path, text.encode("utf-8-sig"))
