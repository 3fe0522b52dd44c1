"""Blocking: which contact records the duplicate-contact matcher compares at all.

Candidate pairs are the records that share a block key of one of the declared passes
(:data:`PASSES`: email, any phone, a name key, postal code + surname, street address, family,
home, and looser fallbacks). Oversized blocks are dropped (``max_block_size``): each record has
several keys, so another block still finds a true pair. Keys that recur across a board's towns
as it grows (a common name, a civic number with a street prefix) are split by place where their
blocks grow, so the pairs compared grow in step with the board, not with its square (see
benchmarks/profile_matching.py). Each candidate pair carries the passes that made it: the
model's EM sessions each read the pairs of the passes that leave its comparisons free.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Iterator, Protocol

import numpy as np
import pandas as pd

from audits.household.matching.codes import Coded, text_prefix, tuple_codes
from audits.household.matching.features import Features

Blocks = tuple[np.ndarray, np.ndarray]
"""(record positions, block keys) of one pass: two records of the pass share a block exactly
when their keys are equal. A record may appear more than once (one key per phone, per part of
a compound surname)."""


@dataclass
class Blocking:
    """What every pass reads: the coded contact records and the block sizes of the config."""

    f: Features
    name_block: int
    max_block: int

    @cached_property
    def positions(self) -> np.ndarray:
        """Every record's position, in order."""
        return np.arange(len(self.f.ids))

    def coded(self, name: str) -> Coded:
        """A coded column of the features (:meth:`Features.coded`)."""
        return self.f.coded(name)

    def part(self, spec: str) -> np.ndarray:
        """Per record, the code of a key part: ``"field"`` (a coded column of the features) or
        ``"field:N"`` (its first N characters)."""
        name, _, length = spec.partition(":")
        coded = self.f.coded(name)
        return coded.prefix(int(length)) if length else coded.codes

    def known(self, names: Iterable[str]) -> np.ndarray:
        """Per record: every field of ``names`` is filled in."""
        valid = None
        for name in names:
            known = self.f.coded(name).known
            valid = known if valid is None else valid & known
        return valid

    def keyed(self, parts: tuple[str, ...], known: tuple[str, ...]) -> Blocks:
        """The records whose ``known`` fields are filled in, keyed by the tuple of ``parts``."""
        valid = self.known(known or tuple(spec.partition(":")[0] for spec in parts))
        members = self.positions[valid]
        keys = tuple_codes(*(self.part(spec)[valid] for spec in parts)) if len(members) \
            else np.zeros(0, dtype=np.int64)
        return members, keys

    @cached_property
    def places(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """The places an oversized address block is split by: the postal code's forward
        sortation area, the city, and the initials of the names (a person typed twice at one
        address keeps an initial where the town or the postal code was mistyped)."""
        postal, city = self.f.coded("postal"), self.f.coded("city")
        first, last = self.f.coded("first"), self.f.coded("last")
        return ((postal.prefix(3), postal.known), (city.codes, city.known),
                (first.prefix(1), first.known), (last.prefix(1), last.known))


class BlockingPass(Protocol):
    """One blocking rule: its name (in the pass masks and the EM sessions) and its blocks."""

    name: str

    def blocks(self, blocking: Blocking) -> Blocks: ...


@dataclass(frozen=True)
class KeyPass:
    """Records whose key parts all agree share a block. ``parts``: coded fields of the features
    (``"field:N"`` for the first N characters); ``known``: the fields a record must have filled
    in (every part's when empty). A ``fallback`` key is loose: worth comparing only where it
    picks out a few records (blocks of at most four name blocks)."""

    name: str
    parts: tuple[str, ...]
    known: tuple[str, ...] = ()
    fallback: bool = False

    def blocks(self, blocking: Blocking) -> Blocks:
        members, keys = blocking.keyed(self.parts, self.known)
        limit = 4 * blocking.name_block if self.fallback else 0
        if limit and len(keys):
            small = np.bincount(keys)[keys] <= limit
            keys, members = keys[small], members[small]
        return members, keys


@dataclass(frozen=True)
class AddressPass:
    """A civic number with a street (or a surname): such a key recurs across a board's cities,
    more often the bigger the board, so a block of more records than one household's is split
    by place (:attr:`Blocking.places`, and the fields of ``places``), and the pairs compared grow
    with the board, not with its square. Two records at one address still meet if any part of
    the place agrees (a mistyped postal code and city at one street, a city left out). A block
    past ``max_block`` before the split is a key nearly every record shares (one street name
    across a list): dropped, as any oversized block."""

    name: str
    parts: tuple[str, ...]
    places: tuple[str, ...] = ()

    def blocks(self, blocking: Blocking) -> Blocks:
        members, keys = blocking.keyed(self.parts, ())
        if len(keys):
            kept = np.bincount(keys)[keys] <= blocking.max_block
            keys, members = keys[kept], members[kept]
        extra = tuple((blocking.coded(name).codes, blocking.coded(name).known)
                      for name in self.places)
        return _localise(members, keys, blocking.places + extra, _ADDRESS_BLOCK)


@dataclass(frozen=True)
class PhonePass:
    """Records sharing any phone number: the three phone columns are one namespace, so the same
    number typed as home and as cell meets."""

    name: str

    def blocks(self, blocking: Blocking) -> Blocks:
        phones = blocking.f.phones
        valid = phones != ""
        members = np.broadcast_to(blocking.positions[:, None], phones.shape)[valid]
        return members, pd.factorize(phones[valid])[0].astype(np.int64)


@dataclass(frozen=True)
class LinkPass:
    """Records linked to a student of one family or one home (``column`` of the student
    links: ``family`` or ``home``; -1 is none)."""

    name: str
    column: str

    def blocks(self, blocking: Blocking) -> Blocks:
        links = blocking.f.links
        keys = links[self.column].to_numpy()
        has = keys >= 0
        return links["contact"].to_numpy()[has], keys[has].astype(np.int64)


@dataclass(frozen=True)
class NamePass:
    """The name keys, per part of a compound surname (``Tremblay-Roy`` meets ``Tremblay`` and
    ``Roy``): surname prefix + first initial, and first-name prefix + surname initial (a typo
    in one name keeps the other's key; a swap of given name and surname lands in the same
    block), and surname prefix + each nickname group of the given name. A common name alone
    says little: blocks past ``name_block`` records are split by postal code and by civic
    number."""

    name: str

    def blocks(self, blocking: Blocking) -> Blocks:
        f = blocking.f
        part_pos, part_code, part_distinct = _surname_parts(blocking)
        first = f.coded("first")
        c_p3, c_f1, c_f3, c_p1 = _name_prefixes(first, part_distinct, part_code,
                                                first.codes[part_pos])
        has_first = first.known[part_pos]
        name_pos, kinds, xs, ys = [], [], [], []
        for x, y in ((c_p3, c_f1), (c_f3, c_p1)):
            name_pos.append(part_pos[has_first])
            kinds.append(np.zeros(int(has_first.sum()), dtype=np.int8))
            xs.append(x[has_first])
            ys.append(y[has_first])
        for column in range(f.groups.shape[1]):
            g = f.groups[part_pos, column]
            ok = g >= 0
            name_pos.append(part_pos[ok])
            kinds.append(np.ones(int(ok.sum()), dtype=np.int8))
            xs.append(c_p3[ok])
            ys.append(g[ok].astype(np.int64))
        name_keys = tuple_codes(np.concatenate(kinds), np.concatenate(xs), np.concatenate(ys))
        del kinds, xs, ys, c_p3, c_p1, c_f1, c_f3, part_code
        postal, civic = f.coded("postal"), f.coded("civic")
        return _localise(np.concatenate(name_pos), name_keys,
                         ((postal.codes, postal.known), (civic.codes, civic.known)),
                         blocking.name_block)


PASSES: tuple[BlockingPass, ...] = (
    KeyPass("email", ("email",)),
    PhonePass("phone"),
    NamePass("name"),
    KeyPass("postal+surname2", ("postal", "last:2"), known=("postal",)),
    AddressPass("civic+street4", ("civic", "street:4"), places=("street",)),
    # Passes that survive a typo in, or a replacement of, the fields the keys above rest on:
    # given name + postal code (surname garbled), civic number + surname (street name garbled
    # or a second address line first), surname + city (postal code mistyped).
    KeyPass("postal+first3", ("postal", "first:3"), fallback=True),
    AddressPass("civic+surname3", ("civic", "last:3")),
    KeyPass("city+surname4", ("city", "last:4"), fallback=True),
    # Given name and surname both garbled or swapped: the given name with the city, the civic
    # number with the postal code, the street name with the city.
    KeyPass("city+first4", ("city", "first:4"), fallback=True),
    KeyPass("postal+civic", ("postal", "civic"), fallback=True),
    KeyPass("city+street", ("city", "street"), fallback=True),
    LinkPass("family", "family"),
    LinkPass("home", "home"),
)
"""The blocking passes, in order. The passes that make any block are numbered in this order for
the pass masks of the candidate pairs (at most ``2 ** _PASS_BITS`` passes). A new pass is one
more entry; an EM session (:data:`audits.household.matching.model.SESSIONS`) names the passes
whose pairs it reads."""

# Address blocks (civic number + street or surname) of at most this many records are compared
# whole; bigger ones by place (see AddressPass).
_ADDRESS_BLOCK = 2


def block_passes(f: Features, name_block: int = 8, max_block: int = 200
                 ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Per pass of :data:`PASSES`, in order, one at a time: (name, record positions, block
    keys), a key equal for two records of one pass exactly when they share that block."""
    blocking = Blocking(f, int(name_block), int(max_block))
    for rule in PASSES:
        members, keys = rule.blocks(blocking)
        yield rule.name, members, keys


def _surname_parts(blocking: Blocking) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(record position, part code, the parts' distinct texts) per part of each record's
    surname: split once per distinct surname, then spread to the records."""
    last = blocking.f.coded("last")
    last_code, last_distinct = last.codes, last.distinct
    split = pd.Series(last_distinct, dtype=str).str.split(r"[\s\-]+", regex=True).explode()
    split = split[split.notna() & (split != "")]
    split_code = split.index.to_numpy().astype(np.int64)
    split_part, part_distinct = pd.factorize(split.to_numpy().astype(str).astype(object))
    part_distinct = np.asarray(part_distinct, dtype=str)
    n_parts = np.bincount(split_code, minlength=len(last_distinct))
    start = np.cumsum(n_parts) - n_parts
    row_parts = n_parts[last_code] if len(last_code) else np.zeros(0, dtype=np.int64)
    part_pos = np.repeat(blocking.positions, row_parts)
    offset = np.arange(len(part_pos)) - np.repeat(np.cumsum(row_parts) - row_parts, row_parts)
    part_code = split_part[start[last_code[part_pos]] + offset] if len(part_pos) \
        else np.zeros(0, dtype=np.int64)
    return part_pos, part_code, part_distinct


def _name_prefixes(first: Coded, part_distinct: np.ndarray, part_code: np.ndarray,
                   first_of_part: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per surname part row: the codes of the part's first three letters, the given name's
    first letter, the given name's first three letters and the part's first letter. One
    vocabulary for all four (a key of one kind and a key of the other that read alike are one
    key); prefixes taken once per distinct part and given name, then spread by code."""
    heads = (text_prefix(part_distinct, 3), text_prefix(first.distinct, 1),
             text_prefix(first.distinct, 3), text_prefix(part_distinct, 1))
    vocabulary = pd.factorize(np.concatenate([h.astype(object) for h in heads]))[0]
    bounds = np.cumsum([0] + [len(h) for h in heads])
    v_p3, v_f1, v_f3, v_p1 = (vocabulary[bounds[i]:bounds[i + 1]].astype(np.int64)
                              for i in range(4))
    return v_p3[part_code], v_f1[first_of_part], v_f3[first_of_part], v_p1[part_code]


def _localise(pos: np.ndarray, key: np.ndarray, places: tuple[tuple[np.ndarray, np.ndarray], ...],
              limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocks bigger than ``limit`` split by place, one split per place (``places``: per record
    a code of the text and whether there is any); ``key`` dense codes. A common name alone says
    little (it never reaches the threshold on its own); a common name at one address is worth
    comparing. The same for an address key that recurs across towns."""
    code = key  # dense already (from tuple_codes)
    big = np.bincount(code)[code] > limit
    positions = [pos[~big]]
    tags = [np.zeros(int((~big).sum()), dtype=np.int64)]
    bases = [code[~big]]
    place_codes = [np.full(int((~big).sum()), -1, dtype=np.int64)]
    for tag, (place, known) in enumerate(places, start=1):
        ok = known[pos[big]]
        positions.append(pos[big][ok])
        bases.append(code[big][ok])
        tags.append(np.full(int(ok.sum()), tag, dtype=np.int64))
        place_codes.append(place[pos[big][ok]])
    return (np.concatenate(positions),
            tuple_codes(np.concatenate(bases), np.concatenate(tags), np.concatenate(place_codes)))


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers. (A sort, then a mask of the first of each run: on millions of
    values a hash table's cache misses cost several times the sort.)"""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def candidate_pairs(f: Features, max_block: int, name_block: int = 8) -> np.ndarray:
    """Distinct (a, b) positions, a < b, that share at least one block of at most ``max_block``."""
    return candidate_pairs_by_pass(f, max_block, name_block)[0]


def candidate_pairs_by_pass(f: Features, max_block: int, name_block: int = 8
                            ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(pairs, passes, pass names): the candidate pairs, and per pair a bit mask of the
    blocking passes that made it (bit i for ``pass names[i]``): the model's EM sessions each
    read the pairs of the passes that leave its comparisons free."""
    n = len(f.ids)
    names: list[str] = []
    bases: list[int] = []
    # Block and member packed in one integer (block * n + position), pass by pass: the passes'
    # arrays are freed as soon as they are packed.
    packed = _distinct(np.concatenate([np.zeros(0, dtype=np.int64)]
                                      + list(_packed_members(f, name_block, max_block,
                                                             names, bases))))
    # (A record with one key twice, the same number as home and cell, is one member.)
    code, pos = packed // n, packed % n
    del packed
    sizes = np.bincount(code)
    keep = (sizes[code] >= 2) & (sizes[code] <= max_block)
    code, pos = code[keep], pos[keep]
    del keep, sizes
    pass_of = (np.searchsorted(np.asarray(bases, dtype=np.int64), code, side="right") - 1
               ).astype(np.int64)
    # Members are sorted by block, then position: each member pairs with the members after it
    # in its block, so every pair comes once per shared block with ``a < b``.
    block_start = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    size = np.diff(np.r_[block_start, len(code)])
    offset = np.arange(len(code)) - np.repeat(block_start, size)
    partners = np.repeat(size, size) - 1 - offset
    del code, offset, block_start, size
    # Pairs made a slice of members at a time, each slice's repeats dropped before the next:
    # a member's pairs hold several arrays as long as they are. The pass is packed below the
    # pair (``_PASS_BITS``), so a pair made by two passes is two entries until the end.
    ends = np.cumsum(partners)
    cuts = np.searchsorted(ends, np.arange(_PAIR_SLICE, int(ends[-1]) if len(ends) else 0,
                                           _PAIR_SLICE), side="right")
    found = []
    for low, high in zip(np.r_[0, cuts], np.r_[cuts, len(partners)]):
        count = partners[low:high]
        member = np.repeat(np.arange(low, high), count)
        step = np.arange(len(member)) - np.repeat(np.cumsum(count) - count, count) + 1
        found.append(_distinct(((pos[member] * n + pos[member + step]) << _PASS_BITS)
                               | pass_of[member]))
        del member, step
    packed = _distinct(np.concatenate([np.zeros(0, dtype=np.int64)] + found))
    del found
    pair_code = packed >> _PASS_BITS
    bits = np.left_shift(1, packed & ((1 << _PASS_BITS) - 1)).astype(np.int64)
    del packed
    first = np.flatnonzero(np.r_[True, pair_code[1:] != pair_code[:-1]]) if len(pair_code) \
        else np.zeros(0, dtype=np.int64)
    mask = np.bitwise_or.reduceat(bits, first) if len(first) else np.zeros(0, dtype=np.int64)
    pair_code = pair_code[first]
    return np.stack([pair_code // n, pair_code % n], axis=1), mask, tuple(names)


# Bits that hold a blocking pass's number below a packed pair.
_PASS_BITS = 4


# Candidate pairs (with repeats) made at once; see candidate_pairs.
_PAIR_SLICE = 1 << 22


def _packed_members(f: Features, name_block: int, max_block: int,
                    names: list[str] | None = None, bases: list[int] | None = None
                    ) -> Iterable[np.ndarray]:
    """Per blocking pass, ``block * n + record position`` of every membership, the blocks
    numbered past the previous passes' (each pass its own namespace). ``names`` and ``bases``
    are filled with each pass's name and first block number."""
    n, base = len(f.ids), 0
    for name, members, codes in block_passes(f, name_block, max_block):
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes):
            if names is not None:
                names.append(name)
                bases.append(base)
            yield (codes + base) * n + np.asarray(members, dtype=np.int64)
            # (Every pass's keys are small non-negative integers already: offsetting is enough.)
            base += int(codes.max()) + 1
