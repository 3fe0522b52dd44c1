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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from audits.model.board import Board
from audits.household.graph import person_names
from audits.household.usernames import usernames_series

if TYPE_CHECKING:
    from audits.engine.context import AuditContext
    from audits.household.matching.matcher import ContactMatches

OK = "ok"
FAILS_NO_USERNAME = "fails-no-username"
REFUSED_IN_USE_HERE = "refused-username-in-use-here"
CLASHES_OTHER_SCHOOL = "clashes-other-school"
ONE_OF_SEVERAL = "one-of-several-for-person"
OUTCOMES = (FAILS_NO_USERNAME, REFUSED_IN_USE_HERE, CLASHES_OTHER_SCHOOL, ONE_OF_SEVERAL, OK)
"""Every outcome, in precedence order."""
CREATED = frozenset({OK, CLASHES_OTHER_SCHOOL, ONE_OF_SEVERAL})
"""Outcomes where the account is created."""
OUTCOME_WORDS = {
    OK: "Created; works",
    FAILS_NO_USERNAME: "Fails: no usable username",
    REFUSED_IN_USE_HERE: "Refused: username already used at this school",
    CLASHES_OTHER_SCHOOL: "Created, but logins break: username also used at another school",
    ONE_OF_SEVERAL: "Created, but one of several accounts of one parent",
}
"""Each outcome in plain words, for people who read the preview (the workbook's Preview)."""

STATUS_WILL_BE_CREATED = "Will be created"
"""What the SIS's generation screen shows for every row, whatever then happens to it."""

PREVIEW_COLUMNS = ("contact_id", "name", "school_id", "student_ids", "student_count", "username",
                   "username_key", "username_problem", "status", "outcome", "reason", "related")

ID_SEPARATOR = "; "


def split_ids(text: str) -> list[str]:
    """The ids of one ``"; "``-joined preview cell."""
    return [part for part in str(text).split(ID_SEPARATOR) if part] if text else []


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
    human share a key; any other record is its own person."""
    if contact_ids.empty:
        return contact_ids.astype(str)
    return _person_keys(context.contact_matches, contact_ids)


def _person_keys(matches: "ContactMatches", contact_ids: pd.Series) -> pd.Series:
    """:func:`person_keys` from the matches. Vectorised: only clustered records are looked up
    one by one, and clusters are few."""
    if contact_ids.empty:
        return contact_ids.astype(str)
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


def _pair_codes(first: pd.Series, second: pd.Series) -> np.ndarray:
    """One integer per distinct (first, second) pair of two aligned columns."""
    first_codes, firsts = pd.factorize(first, use_na_sentinel=False)
    second_codes, seconds = pd.factorize(second, use_na_sentinel=False)
    return first_codes.astype(np.int64) * max(len(seconds), 1) + second_codes


def _in_text_order(codes: np.ndarray, uniques: "pd.Index | np.ndarray"
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pd.factorize(..., sort=True)`` from an unsorted factorization ``(codes, uniques)``:
    the codes renumbered so the uniques are in text order, the sorted uniques (an object
    array), and the permutation that sorted them.

    Sorted as a fixed-width numpy text array: pandas sorts a million ids as Python strings
    scattered over the heap, several times slower (each comparison is two cache misses).
    The order is the same, since numpy compares code points as Python does; only a trailing
    NUL, which numpy drops, could tell two ids apart that it sees as equal, so ids holding one
    (never in practice) are sorted as Python strings."""
    values = np.asarray(uniques, dtype=object)
    texts = values.tolist()
    try:
        fixed = "\x00" not in "".join(texts)
    except TypeError:  # not all text
        fixed = False
    order = np.argsort(np.asarray(texts, dtype=str) if fixed else values, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return rank[codes], values[order], order


def empty_preview() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series([], dtype=str) for column in PREVIEW_COLUMNS})
    frame["student_count"] = frame["student_count"].astype(int)
    return frame


@dataclass(frozen=True)
class PreviewStart:
    """The preview up to the one outcome that needs the duplicate-contact matcher's clusters
    (``one-of-several-for-person``): what :func:`finish_preview` completes."""

    frame: pd.DataFrame
    """One row per would-be account: its school, students, username."""
    accounts: pd.DataFrame
    schema: str
    has_name: pd.Series
    created: pd.Series
    refused: pd.Series
    clashes: pd.Series
    named: pd.DataFrame
    """The rows with a username."""
    earlier: pd.Series
    """For each named row, the would-be account generated before it at its school (or "")."""
    held_here: pd.Series
    held_elsewhere: pd.Series


def preview_generation(context: "AuditContext") -> pd.DataFrame:
    """One row per parent account that generating parent accounts would create today, sorted by
    contact_id, with its school, students, username and predicted outcome (see module doc)."""
    start = start_preview(context)
    return empty_preview() if start is None else finish_preview(start, context.contact_matches)


def start_preview(context: "AuditContext") -> PreviewStart | None:
    """The part of the preview that needs no contact matching (``None`` when no account would
    be generated): the audit computes it while the matcher works on the second core."""
    found = _links_to_generate(context.board, context.portal_access_links)
    if found is None:
        return None
    accounts = context.board.accounts
    schema = context.config.naming_schema.get("parent", "email")
    frame = _account_frame(*found, schema)
    held = accounts.assign(username_key=accounts["username"].str.strip().str.lower())
    held = held[held["username_key"] != ""]
    has_name, named, earlier, held_here, refused = _refusals(frame, held)
    created = has_name & ~refused
    clashes, held_elsewhere = _clashes(frame, held, created)
    return PreviewStart(frame, accounts, schema, has_name, created, refused, clashes, named,
                        earlier, held_here, held_elsewhere)


def _links_to_generate(board: Board, links: pd.DataFrame):
    """The portal-access links of records with no parent account yet, with the contact records
    they come from: ``(links, contacts, contact_codes, contact_ids, contact_rows)``, or
    ``None`` when there are none."""
    accounts = board.accounts
    has_parent_account = accounts.loc[accounts["account_type"] == "parent", "person_id"]
    links = links[~links["contact_id"].isin(has_parent_account)]
    contacts = board.contacts[["contact_id", "first_name", "last_name", "email"]]
    known = pd.Index(contacts["contact_id"])
    if not known.is_unique:  # only on a board that failed validation: the first row counts
        contacts = contacts.drop_duplicates("contact_id")
        known = pd.Index(contacts["contact_id"])
    # Each distinct record is looked up once among the contact records (a million-row hash
    # table of text is slow to probe: a row per link would probe it twice as often), and
    # records that have none are dropped with their links.
    contact_codes, contact_ids = pd.factorize(links["contact_id"])
    contact_rows = known.get_indexer(contact_ids)
    found = contact_rows >= 0
    if not found.all():
        links = links[found[contact_codes]]
        contact_codes = (np.cumsum(found) - 1)[contact_codes[found[contact_codes]]]
        contact_ids, contact_rows = contact_ids[found], contact_rows[found]
    if links.empty:
        return None
    return links, contacts, contact_codes, contact_ids, contact_rows


def _account_frame(links: pd.DataFrame, contacts: pd.DataFrame, contact_codes: np.ndarray,
                   contact_ids, contact_rows: np.ndarray, schema: str) -> pd.DataFrame:
    """One row per would-be account, in contact_id order: school, students, name, username."""
    # Integer codes in text order, so sorting codes sorts the ids.
    contact_codes, contact_ids, order = _in_text_order(contact_codes, contact_ids)
    contact_rows = contact_rows[order]
    frame = pd.DataFrame({
        "contact_id": pd.Series(np.asarray(contact_ids, dtype=object), dtype=object),
        "school_id": _main_school(links, contact_codes),
    })
    student_codes, _, _ = _in_text_order(*pd.factorize(links["student_id"]))
    ordered = np.lexsort((student_codes, contact_codes))
    frame["student_ids"] = pd.Series(_join_runs(pd.Series(contact_codes[ordered]),
                                                links["student_id"].take(ordered)).to_numpy(),
                                     dtype=object)
    frame["student_count"] = np.bincount(contact_codes, minlength=len(contact_ids))

    for column in ("first_name", "last_name", "email"):
        frame[column] = contacts[column].take(contact_rows).to_numpy()
    frame["name"] = person_names(frame["first_name"], frame["last_name"])
    username, problem = usernames_series(schema, frame["email"], frame["first_name"],
                                         frame["last_name"])
    frame["username"] = username.to_numpy()
    frame["username_problem"] = problem.to_numpy()
    # Already the key: usernames_series gives trimmed, lower-case usernames (a cleaned email, or
    # first.last folded to lower-case ascii without spaces).
    frame["username_key"] = frame["username"]
    frame["status"] = STATUS_WILL_BE_CREATED
    return frame


def _main_school(links: pd.DataFrame, contact_codes: np.ndarray) -> pd.Series:
    """Per record, the school with most of its students; ties go to the lowest school_id: among
    a record's (school, count) runs, sorted by school, the first at the maximum."""
    school_codes, school_ids = pd.factorize(links["school_id"], sort=True)
    per_school, counts = np.unique(contact_codes.astype(np.int64) * len(school_ids) + school_codes,
                                   return_counts=True)
    record_of = per_school // len(school_ids)
    starts = np.flatnonzero(np.r_[True, record_of[1:] != record_of[:-1]])
    most = counts == np.repeat(np.maximum.reduceat(counts, starts), np.diff(np.r_[starts, len(counts)]))
    first_at_most = most & ~pd.Series(record_of).where(most).duplicated().to_numpy()
    return pd.Series(school_ids, dtype=links["school_id"].dtype).take(
        per_school[first_at_most] % len(school_ids)).reset_index(drop=True)


def _refusals(frame: pd.DataFrame, held: pd.DataFrame):
    """Which would-be accounts are refused: ``(has_name, named, earlier, held_here, refused)``."""
    has_name = frame["username_key"] != ""
    # Refused: an existing account (any status) holds the username at the same school ...
    named = frame.loc[has_name, ["contact_id", "school_id", "username_key"]]
    here = named.merge(held[["username_key", "school_id", "account_id"]],
                       on=["username_key", "school_id"], how="inner")
    held_here = _group_join(here, "contact_id", "account_id")
    # ... or a would-be account generated before it (contact_id order) at the same school.
    place = _pair_codes(named["school_id"], named["username_key"])
    _, first_row, place_of = np.unique(place, return_index=True, return_inverse=True)
    named_ids = named["contact_id"].to_numpy(dtype=object)
    first_here = named_ids[first_row[place_of]]
    earlier = pd.Series(np.where(first_here != named_ids, first_here, ""), index=named.index,
                        dtype=object)
    refused_existing = frame["contact_id"].isin(held_here.index)
    refused_earlier = pd.Series(False, index=frame.index)
    refused_earlier.loc[named.index] = earlier != ""
    refused = has_name & (refused_existing | refused_earlier)
    return has_name, named, earlier, held_here, refused


def _clashes(frame: pd.DataFrame, held: pd.DataFrame, created: pd.Series
             ) -> tuple[pd.Series, pd.Series]:
    """Created accounts whose username is held at another school by an active existing account
    or by a would-be account that is created: ``(clashes, held_elsewhere)``."""
    active_held = held[held["status"] == "active"]
    holders = pd.concat([
        active_held[["username_key", "school_id", "account_id"]].rename(columns={"account_id": "ref"}),
        frame.loc[created, ["username_key", "school_id", "contact_id"]].rename(columns={"contact_id": "ref"}),
    ], ignore_index=True)
    # Usernames held at two or more schools.
    key_codes, keys = pd.factorize(holders["username_key"])
    school_codes, schools = pd.factorize(holders["school_id"])
    # Distinct (username, school) pairs, in any order: numpy 2's np.unique without return_*
    # options hashes, ten times slower than pandas at a million pairs.
    places = pd.unique(key_codes.astype(np.int64) * max(len(schools), 1) + school_codes)
    schools_per_key = np.bincount(places // max(len(schools), 1), minlength=len(keys))
    shared_keys = keys[schools_per_key > 1]
    candidates = frame.loc[created & frame["username_key"].isin(shared_keys),
                           ["contact_id", "school_id", "username_key"]]
    elsewhere = candidates.merge(holders[holders["username_key"].isin(shared_keys)],
                                 on="username_key", suffixes=("", "_other"))
    elsewhere = elsewhere[elsewhere["school_id"] != elsewhere["school_id_other"]]
    held_elsewhere = _group_join(elsewhere, "contact_id", "ref")
    return created & frame["contact_id"].isin(held_elsewhere.index), held_elsewhere


def finish_preview(start: PreviewStart, matches: "ContactMatches") -> pd.DataFrame:
    """The preview from its first part (:func:`start_preview`) and the matcher's clusters."""
    frame = start.frame.copy(deep=False)  # new columns only: the first part stays as it was
    other_records = _other_records(frame, start, matches)
    one_of_several = start.created & frame["contact_id"].isin(other_records.index)
    conditions = [c.to_numpy(dtype=bool)
                  for c in (~start.has_name, start.refused, start.clashes, one_of_several)]
    # Compared as small integers: comparing text columns of a whole board, again and again,
    # costs more than the rest of the outcome.
    outcome_code = np.select(conditions, [0, 1, 2, 3], default=4)
    frame["outcome"] = np.asarray(OUTCOMES, dtype=object)[outcome_code]
    by_existing = _related(frame, start, outcome_code, other_records)
    frame["reason"] = _reasons(frame, start.schema, outcome_code, by_existing)
    frame["student_count"] = frame["student_count"].astype(int)
    return frame[list(PREVIEW_COLUMNS)].reset_index(drop=True)


def _other_records(frame: pd.DataFrame, start: PreviewStart, matches: "ContactMatches"
                   ) -> pd.Series:
    """Per record, the other records of its person that hold or get a parent account."""
    accounts = start.accounts
    parent_accounts = accounts[(accounts["account_type"] == "parent") & (accounts["status"] == "active")]
    holding = pd.concat([frame.loc[start.created, "contact_id"], parent_accounts["person_id"]],
                        ignore_index=True).drop_duplicates()
    # Only records in one of the matcher's clusters share their person with another record
    # (any other record is its own person, keyed by its own id, which no cluster's key can be):
    # a million records need no person key each, only the few clustered ones.
    clustered = [contact for cluster in matches.clusters for contact in cluster.contacts]
    holding = holding[holding.isin(clustered)]
    persons = pd.DataFrame({"contact_id": holding.to_numpy(),
                            "person": _person_keys(matches, holding).to_numpy()})
    several = persons[persons["person"].duplicated(keep=False)]
    siblings_of = several.merge(several, on="person", suffixes=("", "_other"))
    siblings_of = siblings_of[siblings_of["contact_id"] != siblings_of["contact_id_other"]]
    return _group_join(siblings_of, "contact_id", "contact_id_other")


def _related(frame: pd.DataFrame, start: PreviewStart, outcome_code: np.ndarray,
             other_records: pd.Series) -> pd.Series:
    """Sets ``frame["related"]``; returns, for the refused rows, the existing accounts holding
    their username ("" where a would-be account generated first does)."""
    cid = frame["contact_id"]
    refused_rows, clash_rows, several_rows = (outcome_code == 1, outcome_code == 2,
                                              outcome_code == 3)
    by_existing = _lookup(cid[refused_rows], start.held_here)
    by_earlier = pd.Series("", index=frame.index, dtype=object)
    by_earlier.loc[start.named.index] = start.earlier
    related = pd.Series("", index=frame.index, dtype=object)
    related[refused_rows] = by_existing.where(by_existing != "", by_earlier[refused_rows])
    related[clash_rows] = _lookup(cid[clash_rows], start.held_elsewhere)
    related[several_rows] = _lookup(cid[several_rows], other_records)
    frame["related"] = related.astype(str)
    return by_existing


def _reasons(frame: pd.DataFrame, schema: str, outcome_code: np.ndarray,
             by_existing: pd.Series) -> pd.Series:
    """Each row's reason, each made for its own rows only."""
    refused_rows, clash_rows, several_rows = (outcome_code == 1, outcome_code == 2,
                                              outcome_code == 3)
    reason = pd.Series("", index=frame.index, dtype=object)
    rows = outcome_code == 0
    reason[rows] = (f"no usable username under the '{schema}' naming schema: "
                    + frame.loc[rows, "username_problem"])
    rows = refused_rows.copy()
    rows[refused_rows] = (by_existing != "").to_numpy()
    reason[rows] = ("username already used at school " + frame.loc[rows, "school_id"]
                    + " by account " + frame.loc[rows, "related"])
    rows = refused_rows.copy()
    rows[refused_rows] = (by_existing == "").to_numpy()
    reason[rows] = ("username taken at school " + frame.loc[rows, "school_id"]
                    + " by the account generated first, for contact record "
                    + frame.loc[rows, "related"])
    reason[clash_rows] = ("username also held at another school by "
                          + frame.loc[clash_rows, "related"]
                          + ": logins will break and the parent will see only some children")
    reason[several_rows] = ("one of several records of one person (also "
                            + frame.loc[several_rows, "related"]
                            + "): each account sees only some of the children")
    return reason.astype(str)


def preview_to_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the preview as UTF-8 CSV (with a byte-order mark, so Excel reads accents) that is
    safe to open in a spreadsheet (:func:`audits.io.cells.csv_frame`; ``reconcile`` reads it back
    with :func:`audits.io.cells.read_back_frame`)."""
    from audits.io.files import write_atomic
    from audits.io.cells import csv_frame

    # Written whole, then renamed into place: an interrupted run leaves no half preview.
    text = csv_frame(frame).to_csv(index=False)
    return write_atomic(path, text.encode("utf-8-sig"))
