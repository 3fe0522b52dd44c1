"""Ground truth of a sample board, in the terms of data contract section 3.

Two kinds of truth, kept apart on purpose:

* :func:`truth_from_rules` re-derives the three rule checks (``username-clash``,
  ``missing-sibling-access``, ``missing-username-source``) from the final tables alone, by a
  small reference implementation of the account-generation rules of contract section 2. It
  does not look at what the generator meant to inject, so a slip in the generator cannot
  make the truth disagree with the rules.
* :func:`injected_truth` gives what only the generator knows: which contact records are one
  human (``duplicate-contact``) and, from that, which students are one family and which of
  their sibling links are missing (``unlinked-siblings``).

Decisions the contract leaves open, taken here and documented for the checks to compare:

* A *disabled* existing account still holds its username (CONNECT keeps the username on a
  disabled account and refuses it to a new account within the school), so it counts toward a
  clash. The generator never lets a disabled account share a username, so checks that decide
  otherwise still agree on generated boards.
* Staff without a staff account would get one under the staff naming schema (``email``); such
  a would-be staff account takes part in clashes (listed under ``staff``). Staff with an
  account take part through the account (listed under ``accounts``). Generated new hires never
  share an email, so this too cannot change generated truth.
* An email is usable when, trimmed and lowercased, it has one ``@`` with text before it, no
  spaces, and a dotted domain ending in two or more letters, and is not a placeholder word.
  Generated bad emails are all far from that line (blank, ``none``, ``jane.doe@``,
  ``jane doe@x.ca``, ``@gmail.com``, no ``@``, two ``@``).
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

import numpy as np
import pandas as pd

from audits.household.wordlists import PARENTAL_RELATIONSHIPS
from audits.model.board import FLAG_TRUE

_PLACEHOLDERS = frozenset({"none", "n/a", "na", "unknown", "null", "-", "no email"})
_USABLE = r"[^@\s]+@[^@\s]+\.[a-z]{2,}"

RULE_CHECKS = ("username-clash", "missing-sibling-access", "missing-username-source")


def _text(frame: pd.DataFrame | None, column: str) -> pd.Series:
    if frame is None or column not in frame.columns:
        return pd.Series([], dtype=str) if frame is None else pd.Series("", index=frame.index)
    return frame[column].astype(object).where(frame[column].notna(), "").astype(str).str.strip()


def usable_email(emails: pd.Series) -> pd.Series:
    """Whether each email can be a username under the ``email`` naming schema."""
    text = emails.astype(str).str.strip().str.lower()
    return text.str.fullmatch(_USABLE).astype(bool) & ~text.isin(_PLACEHOLDERS)


class _Accounts(NamedTuple):
    """The existing accounts' columns as trimmed text (lowercased where the rules compare
    without case; a blank status is active)."""
    account_id: pd.Series
    account_type: pd.Series
    status: pd.Series
    person: pd.Series
    username: pd.Series


def _accounts(accounts: pd.DataFrame | None) -> _Accounts:
    """The existing accounts as the rules read them."""
    return _Accounts(_text(accounts, "account_id"),
                     _text(accounts, "account_type").str.lower(),
                     _text(accounts, "status").str.lower().replace("", "active"),
                     _text(accounts, "person_id"),
                     _text(accounts, "username").str.lower())


def _portal_access(students: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """(student_id, contact_id) of every link with portal access to an active student, once."""
    status = _text(students, "status").str.lower()
    active = set(_text(students, "student_id")[status.isin(("", "active"))])
    access = pd.DataFrame({"student_id": _text(links, "student_id"),
                           "contact_id": _text(links, "contact_id")})
    portal = _text(links, "portal_access").str.lower().isin(FLAG_TRUE)
    return access[portal & access["student_id"].isin(active)].drop_duplicates()


def _username_clashes(accounts: _Accounts, contact_id: pd.Series, emails: pd.Series,
                      would_be: pd.Series, staff: pd.DataFrame | None) -> list[dict]:
    """Usernames held twice or more by existing accounts, would-be parent accounts (the
    ``would_be`` contact records, named after their email) and would-be staff accounts."""
    staff_id = _text(staff, "staff_id")
    staff_email = _text(staff, "email")
    person, account_type = accounts.person, accounts.account_type
    would_get_staff = (~staff_id.isin(set(person[account_type == "staff"]))
                       & usable_email(staff_email)) if len(staff_id) else staff_id.astype(bool)

    holders = pd.concat([
        pd.DataFrame({"username": accounts.username, "kind": "accounts",
                      "id": accounts.account_id}),
        pd.DataFrame({"username": emails[would_be].str.lower(), "kind": "contacts",
                      "id": contact_id[would_be]}),
        pd.DataFrame({"username": staff_email[would_get_staff].str.lower(), "kind": "staff",
                      "id": staff_id[would_get_staff]}),
    ], ignore_index=True)
    holders = holders[holders["username"] != ""]
    holders = holders[holders.groupby("username")["id"].transform("size") >= 2]
    holders = holders.sort_values(["username", "kind", "id"], kind="stable")
    clashes = []
    for name, group in groupby(zip(holders["username"], holders["kind"], holders["id"]),
                               key=itemgetter(0)):
        entry = {"username": name, "accounts": [], "contacts": [], "staff": []}
        for _, kind, ident in group:
            entry[kind].append(ident)
        clashes.append(entry)
    return clashes


def _missing_access(accounts: _Accounts, access: pd.DataFrame,
                    visible: pd.DataFrame | None) -> list[dict]:
    """Existing active parent accounts that cannot see an active student their contact
    record has portal access to, as their (account, student) pairs."""
    live = pd.DataFrame({"account_id": accounts.account_id, "contact_id": accounts.person})[
        (accounts.account_type == "parent") & (accounts.status == "active")]
    should_see = live.merge(access, on="contact_id")[["account_id", "student_id"]]
    sees = pd.DataFrame({"account_id": _text(visible, "account_id"),
                         "student_id": _text(visible, "student_id")}).drop_duplicates()
    gaps = should_see.merge(sees, how="left", indicator=True)
    gaps = gaps[gaps["_merge"] == "left_only"].drop_duplicates()
    gaps = gaps.sort_values(["account_id", "student_id"], kind="stable")
    return [
        {"pairs": [[account, student] for account, student in group]}
        for _, group in groupby(zip(gaps["account_id"], gaps["student_id"]), key=itemgetter(0))
    ]


def truth_from_rules(tables: dict[str, pd.DataFrame]) -> dict[str, list[dict]]:
    """The findings of the three rule checks, by the rules of contract section 2.

    ``tables`` hold contract column names and text values (as exported, not normalised);
    ``accounts`` and ``account_students`` may be absent.
    """
    contacts = tables["contacts"]
    access = _portal_access(tables["students"], tables["student_contacts"])
    accounts = _accounts(tables.get("accounts"))

    # One would-be parent account per contact record with portal access to an active
    # student and no parent account yet.
    contact_id = _text(contacts, "contact_id")
    has_parent_account = contact_id.isin(set(accounts.person[accounts.account_type == "parent"]))
    would_get = contact_id.isin(set(access["contact_id"])) & ~has_parent_account
    emails = _text(contacts, "email")
    usable = usable_email(emails)
    missing_source = sorted(contact_id[would_get & ~usable])
    return {
        "username-clash": _username_clashes(accounts, contact_id, emails, would_get & usable,
                                            tables.get("staff")),
        "missing-sibling-access": _missing_access(accounts, access,
                                                  tables.get("account_students")),
        "missing-username-source": [{"contacts": [c]} for c in missing_source],
    }


def _duplicate_contacts(contact_human: pd.Series, human: np.ndarray,
                        link_students: np.ndarray) -> list[dict]:
    """The contact records of every human recorded more than once, with the students they
    are linked to, ordered by first record."""
    repeated = contact_human[contact_human.duplicated(keep=False)]
    records = repeated.groupby(repeated.values).groups
    linked = pd.DataFrame({"human": human, "student_id": link_students})
    linked = linked[linked["human"].isin(list(records))].drop_duplicates()
    linked = linked.sort_values(["human", "student_id"], kind="stable")
    students_of = {who: [s for _, s in group]
                   for who, group in groupby(zip(linked["human"], linked["student_id"]),
                                             key=itemgetter(0))}
    return sorted(({"contacts": sorted(records[who]), "students": students_of.get(who, [])}
                   for who in records), key=lambda d: d["contacts"][0])


def _family_labels(links: pd.DataFrame, human: np.ndarray, link_students: np.ndarray,
                   student_ids: np.ndarray, contact_human: pd.Series) -> np.ndarray:
    """Per student (in table order), the lowest position of a student in its family: students
    joined by a parental link to one human, transitively."""
    parental = links["relationship"].str.strip().str.lower().isin(PARENTAL_RELATIONSHIPS).to_numpy()
    student_pos = pd.Series(np.arange(len(student_ids)), index=student_ids)
    edge_student = student_pos.reindex(link_students[parental]).to_numpy()
    edge_human = human[parental].astype(np.int64)
    label = np.arange(len(student_ids))
    human_label = np.full(int(contact_human.max()) + 1 if len(contact_human) else 0,
                          len(student_ids), dtype=np.int64)
    # Min-label propagation over the student-human graph; families are small, so few rounds.
    while True:
        human_label[:] = len(student_ids)
        np.minimum.at(human_label, edge_human, label[edge_student])
        new = label.copy()
        np.minimum.at(new, edge_student, human_label[edge_human])
        if np.array_equal(new, label):
            break
        label = new
    return label


def _unlinked_families(student_ids: np.ndarray, label: np.ndarray,
                       siblings: pd.DataFrame) -> list[dict]:
    """Every family of two or more students with the pairs of it no sibling link joins,
    ordered by first student."""
    family = pd.DataFrame({"student_id": student_ids, "family": label})
    family = family[family.groupby("family")["family"].transform("size") >= 2]
    pairs = family.merge(family, on="family", suffixes=("_a", "_b"))
    pairs = pairs[pairs["student_id_a"] < pairs["student_id_b"]]
    a, b = siblings["student_id"].str.strip(), siblings["sibling_id"].str.strip()
    present = pd.DataFrame({"student_id_a": a.where(a < b, b), "student_id_b": b.where(a < b, a)})
    pairs = pairs.merge(present.drop_duplicates(), how="left", indicator=True)
    missing = pairs[pairs["_merge"] == "left_only"]
    family = family.sort_values(["family", "student_id"], kind="stable")
    members = {fam: [s for _, s in group]
               for fam, group in groupby(zip(family["family"], family["student_id"]),
                                         key=itemgetter(0))}
    missing = missing.sort_values(["family", "student_id_a", "student_id_b"], kind="stable")
    unlinked = [{"students": members[fam], "pairs": [[a, b] for _, a, b in group]}
                for fam, group in groupby(zip(missing["family"], missing["student_id_a"],
                                              missing["student_id_b"]), key=itemgetter(0))]
    unlinked.sort(key=lambda u: u["students"][0])
    return unlinked


def injected_truth(tables: dict[str, pd.DataFrame], contact_human: pd.Series,
                   ) -> dict[str, list[dict]]:
    """Duplicate contact records and unlinked siblings, from who is really the same human.

    ``contact_human`` maps each contact_id to the human it records. Families follow the
    contract: students who share a parent or guardian (a parental relationship to a record
    of the same human) are one family, transitively; a shared grandparent or emergency
    contact does not join them.
    """
    links = tables["student_contacts"]
    link_contacts = links["contact_id"].to_numpy()
    link_students = links["student_id"].to_numpy()
    human = contact_human.reindex(link_contacts).to_numpy()
    duplicates = _duplicate_contacts(contact_human, human, link_students)
    student_ids = tables["students"]["student_id"].to_numpy()
    label = _family_labels(links, human, link_students, student_ids, contact_human)
    unlinked = _unlinked_families(student_ids, label, tables["siblings"])
    return {"duplicate-contact": duplicates, "unlinked-siblings": unlinked}
