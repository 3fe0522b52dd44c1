"""Features of the contact records: what the duplicate-contact matcher compares and blocks on.

Every contact record's names, email, phones and address normalised
(:mod:`audits.household.matching.normalize`), coded once per distinct value
(:mod:`audits.household.matching.codes`), plus its household context from the board
(:mod:`audits.household.matching.links`): the students it is linked to, their family and home,
and the record's role (Mother, Father, Grandparent...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from audits.household.matching import model as linkage
from audits.household.matching import normalize
from audits.household.matching.codes import Coded, by_id
from audits.household.matching.links import LinkTable, contact_links
from audits.model.board import Board
from audits.model.config import Config

PHONE_COLUMNS = ("home_phone", "cell_phone", "work_phone")


@dataclass
class Features:
    """The contact records as the matcher reads them, one position per record (in id order):
    each field normalised, the names' nickname groups and term-frequency adjustments, the
    email's three forms, the phones as digits, the address parts, and the student links."""

    ids: np.ndarray
    first: np.ndarray
    last: np.ndarray
    groups: np.ndarray  # (n, NICKNAME_WIDTH) nickname group numbers (block keys), -1 for none
    nicknames: dict  # folded given name -> numbers of its nickname groups (all of them)
    first_tf: np.ndarray  # (n,) term-frequency adjustment of agreeing on this first name
    last_tf: np.ndarray  # (n,) the same for the surname
    email: np.ndarray
    email_spaced: np.ndarray  # lowercased and trimmed, inner spaces kept
    email_loose: np.ndarray  # without dots, underscores, hyphens or spaces
    email_named: np.ndarray  # (n,) 0 not yet known, 1 the email is made of the record's names, 2 not
    name_groups: tuple  # the nickname groups (config.nicknames)
    phones: np.ndarray  # (n, 3) ten-digit strings, "" for none
    phone_digits: np.ndarray  # (n, 3, 10) uint8 digits, 255 for none
    roles: np.ndarray  # (n,) bit mask of the role classes a record is linked with
    civic: np.ndarray
    street: np.ndarray
    street_words: np.ndarray
    unit: np.ndarray
    postal: np.ndarray
    city: np.ndarray
    links: pd.DataFrame  # contact, student, family, home, role, parental
    raw: pd.DataFrame
    raw_columns: dict[str, np.ndarray] = field(default_factory=dict)
    """The raw columns evidence shows, as arrays (filled on first use: ``DataFrame.at`` per
    value is slow when thousands of pairs are shown)."""

    link_table_cache: list = field(default_factory=list)
    coded_cache: dict = field(default_factory=dict)

    def coded(self, name: str) -> "Coded":
        """A text column as integer codes (built once). Scoring compares codes: equal exactly
        where the text is, and a similarity is worked out once per distinct pair of values.
        Given names and surnames share one vocabulary, as a swapped pair compares one with the
        other."""
        if name not in self.coded_cache:
            if name in ("first", "last"):
                n = len(self.ids)
                names = Coded.of(np.concatenate([self.first, self.last]))
                self.coded_cache["first"] = Coded(names.codes[:n], names.distinct, names.empty)
                self.coded_cache["last"] = Coded(names.codes[n:], names.distinct, names.empty)
            else:
                self.coded_cache[name] = Coded.of(getattr(self, name))
        return self.coded_cache[name]

    def named_emails(self, positions: np.ndarray) -> np.ndarray:
        """Per record position: its email is made of its own names (:func:`_named_emails`),
        worked out on first need (only pairs whose emails nearly agree ask)."""
        positions = np.asarray(positions, dtype=np.int64)
        todo = np.unique(positions[self.email_named[positions] == 0])
        if len(todo):
            named = _named_emails(self.email_spaced[todo], self.first[todo], self.last[todo],
                                  self.nicknames, self.name_groups)
            self.email_named[todo] = np.where(named, 1, 2)
        return self.email_named[positions] == 1

    def link_table(self) -> "LinkTable":
        """The student links grouped by record, built once (scoring runs in slices)."""
        if not self.link_table_cache:
            self.link_table_cache.append(LinkTable(self.links, len(self.ids)))
        return self.link_table_cache[0]

    def raw_column(self, name: str) -> np.ndarray:
        """A column of the contacts table as typed (the evidence shows it)."""
        if name not in self.raw_columns:
            self.raw_columns[name] = self.raw[name].to_numpy(dtype=object)
        return self.raw_columns[name]


def contact_features(board: Board, config: Config) -> Features:
    """The board's contact records as :class:`Features` (worked out once per match run)."""
    # Positions follow the contact id, not the file's row order: every tie below (pair order,
    # the greedy re-merge, the estimate's sums) is then decided the same way for any export
    # order of the same records.
    contacts = by_id(board.contacts, "contact_id")
    first = normalize.fold_names(contacts["first_name"])
    last = normalize.fold_names(contacts["last_name"])
    nicknames = normalize.nickname_index(config.nicknames)
    groups = normalize.first_name_groups(first, nicknames, width=NICKNAME_WIDTH)
    # One pass over the three phone columns: a number typed as home and cell is folded once.
    phones = normalize.normalize_phone(
        pd.concat([contacts[c].astype(object) for c in PHONE_COLUMNS], ignore_index=True)
    ).to_numpy(dtype=object).reshape(len(PHONE_COLUMNS), len(contacts)).T.copy()
    street = normalize.normalize_street(contacts["street"], config.street_suffixes)
    links = contact_links(board, config, contacts)
    # The three email forms from one pass over the distinct addresses typed.
    raw_email = contacts["email"].astype(object)
    email_codes, email_typed = pd.factorize(
        raw_email.where(raw_email.notna(), "").to_numpy(dtype=object))
    del raw_email
    typed = pd.Series(email_typed, dtype=object).astype(str)
    email = normalize.normalize_email(typed)
    spaced = typed.str.strip().str.lower()
    loose = email.str.replace(r"[._\-]", "", regex=True)
    # A form equal to the address itself shares its string (most do: one copy, not three).
    email_forms = pd.DataFrame({
        "email": email, "spaced": email.where((email == "") | (spaced == email), spaced),
        "loose": email.where(loose == email, loose)}).to_numpy(dtype=object)[email_codes]
    del typed, spaced, loose
    return Features(
        ids=contacts["contact_id"].to_numpy(dtype=object),
        first=first.to_numpy(dtype=object), last=last.to_numpy(dtype=object),
        groups=groups.to_numpy(), nicknames=nicknames,
        first_tf=term_frequency_adjustment(first), last_tf=term_frequency_adjustment(last),
        email=email_forms[:, 0], email_spaced=email_forms[:, 1], email_loose=email_forms[:, 2],
        email_named=np.zeros(len(contacts), dtype=np.int8), name_groups=config.nicknames,
        phones=phones, phone_digits=_digit_array(phones),
        roles=_role_masks(links, len(contacts)),
        civic=street["civic"].to_numpy(dtype=object),
        street=street["street_name"].to_numpy(dtype=object),
        street_words=street["street_words"].to_numpy(dtype=object),
        unit=street["unit"].to_numpy(dtype=object),
        postal=normalize.normalize_postal_code(contacts["postal_code"]).to_numpy(dtype=object),
        city=normalize.fold_names(contacts["city"]).to_numpy(dtype=object),
        links=links, raw=contacts,
    )


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _named_emails(emails: np.ndarray, first: np.ndarray, last: np.ndarray,
                  index: dict[str, tuple[int, ...]], groups: tuple[frozenset[str], ...]
                  ) -> np.ndarray:
    """Per record: the email's local part is made of the record's own names or a form of its
    given name (``jane.roy@``, ``jroy@``, ``roy_jane@``, ``james.nguyen@`` for Jimmy Nguyen):
    agreeing on such a local part says what agreeing on the names says, so the email
    comparison counts it only where it says more (see comparisons._emails). Worked out once per
    distinct (email, given name, surname)."""
    named = np.zeros(len(emails), dtype=bool)
    has = np.flatnonzero(emails != "")
    if not len(has):
        return named
    codes, distinct = pd.factorize(pd.MultiIndex.from_arrays(
        [emails[has], first[has], last[has]]))
    forms: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    locals_: dict[str, str] = {}
    values = np.zeros(len(distinct), dtype=bool)
    for number, (email, given, surname) in enumerate(distinct):
        if given not in forms:
            # The given name's known forms (the nickname groups) and their initials.
            others = {_NOT_ALNUM.sub("", o) for g in index.get(given, ()) for o in groups[g]}
            forms[given] = (frozenset(others - {""}), frozenset(o[:1] for o in others if o))
        if email not in locals_:
            locals_[email] = _NOT_ALNUM.sub("", normalize.fold(email.split("@")[0]))
        values[number] = _local_is_names(locals_[email], given, surname, *forms[given])
    named[has] = values[codes]
    return named


# Nickname groups kept per given name (the first few: a short form may belong to many).
NICKNAME_WIDTH = 6


def _local_is_names(local: str, first: str, last: str, forms: frozenset[str] = frozenset(),
                    form_initials: frozenset[str] = frozenset()) -> bool:
    """``local`` (an email's local part, letters and digits only) is made of the names: it
    splits wholly into name parts (Martin Martin is martin.martin@), their initials and the
    known forms of the given name (james.nguyen@ for Jimmy Nguyen), with at most one other
    letter (a middle initial). A digit is never a name: jroy77@ says more than the names."""
    parts = [_NOT_ALNUM.sub("", part) for part in f"{first} {last}".replace("-", " ").split()]
    tokens = {p for p in parts if p} | {p[:1] for p in parts if p} | set(forms) \
        | set(form_initials)
    tokens = [token for token in tokens if token and token in local]
    # Word break: reach[i] is 0 where local[:i] splits into tokens, 1 where it does with one
    # letter skipped, 2 where neither.
    reach = [2] * (len(local) + 1)
    reach[0] = 0
    for i in range(len(local)):
        state = reach[i]
        if state == 2:
            continue
        for token in tokens:
            if local.startswith(token, i):
                reach[i + len(token)] = min(reach[i + len(token)], state)
        if state == 0 and not local[i].isdigit():
            reach[i + 1] = min(reach[i + 1], 1)
    return bool(local) and reach[-1] < 2


def term_frequency_adjustment(values: pd.Series) -> np.ndarray:
    """Per record: the random class's term-frequency adjustment of agreeing exactly on *its*
    value (splink's): ``log(share of the value / u of exact agreement)``, where u is the chance
    two random records agree at all. Agreeing on a rare surname is strong evidence; on "Smith"
    weak. Zero where the board has too few values to count (see linkage.TF_MIN_VALUES)."""
    text = values.to_numpy(dtype=object)
    codes, distinct = pd.factorize(text)
    if len(text) == 0:
        return np.zeros(0)
    counts = np.bincount(codes, minlength=len(distinct)).astype(float)
    empty = np.flatnonzero(distinct == "")
    counts[empty] = 0
    known = counts.sum()
    if known < linkage.TF_MIN_VALUES:
        return np.zeros(len(text))
    share = np.maximum(counts / known, 1.0 / known)
    adjustment = np.log(share / float(((counts / known) ** 2).sum()))
    adjustment[empty] = 0.0
    return adjustment[codes]


def _digit_array(phones: np.ndarray) -> np.ndarray:
    """The ten-digit phones as an array of digits (255 for no number), compared digit by digit."""
    flat = phones.reshape(-1)
    joined = "".join(p if p else "\xff" * 10 for p in flat)
    digits = np.frombuffer(joined.encode("latin-1"), dtype=np.uint8).reshape(*phones.shape, 10)
    return np.where(digits == 255, 255, digits - ord("0")).astype(np.uint8)


def _role_masks(links: pd.DataFrame, n: int) -> np.ndarray:
    """Per record, a bit mask of the role classes of its student links."""
    masks = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(masks, links["contact"].to_numpy(), 1 << links["role"].to_numpy().astype(np.int64))
    return masks
