"""Which level of each comparison (:data:`audits.household.matching.model.COMPARISONS`) a pair of contact
records falls in, vectorised over many pairs.

Text is compared on integer codes (:class:`audits.household.matching.codes.Coded`): equality is an
integer comparison and every similarity is worked out once per distinct pair of values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler

from audits.household.matching import normalize
from audits.household.matching.model import BY_NAME

ROLE_NONE, ROLE_MOTHER, ROLE_FATHER, ROLE_PARENT, ROLE_GRANDPARENT = 0, 1, 2, 3, 4


def _levels(name: str) -> dict[str, int]:
    return {level.name: i for i, level in enumerate(BY_NAME[name].levels)}


FIRST, LAST, EMAIL, PHONE = (_levels(n) for n in ("first_name", "last_name", "email", "phone"))
ADDRESS, CITY, HOUSEHOLD, ROLE = (_levels(n) for n in ("address", "city", "household", "role"))
SAME_STUDENT = _levels("same_student")


@dataclass
class Compared:
    pairs: np.ndarray
    levels: dict[str, np.ndarray]
    """Per comparison, the level of each pair (int8)."""
    tf_u: dict[str, np.ndarray]
    """Per name comparison: log(value's share / the exact level's u) where the pair agrees
    exactly on a name, else 0 (the random class's term-frequency adjustment)."""
    veto: np.ndarray
    """One record is a student's Mother and the other the same student's Father: two people."""
    swap: np.ndarray
    """Given name and surname typed in each other's place on one record."""


# ---------------------------------------------------------------------------------- text
def _pairwise(column, a: np.ndarray, b: np.ndarray, scorer, equal: float | None,
              skip: np.ndarray | None = None) -> np.ndarray:
    """``scorer`` of the texts of each pair of codes, as ``process.cpdist``; ``equal`` (what the
    scorer gives any value against itself) without calling it where the two values are the
    same: most candidate pairs share a surname or a street (``None``: call it on every pair).
    Rows in ``skip`` (pairs whose level does not depend on this score, e.g. a field missing on
    one record) get ``equal`` too. Each distinct pair of values is scored once: candidate pairs
    repeat them (two households on one street, the same two given names)."""
    if equal is None:
        differ = np.arange(len(a))
    else:
        differ = a != b
        if skip is not None:
            differ &= ~skip
        differ = np.flatnonzero(differ)
    dtype = process.cpdist([""], [""], scorer=scorer).dtype
    result = np.full(len(a), equal if equal is not None else 0, dtype=dtype)
    if len(differ):
        width = max(len(column.distinct), 1)
        which, packed = pd.factorize(a[differ] * width + b[differ])
        # Threads pay off on large batches only: on a small one, starting them (and waiting
        # for the slowest on a busy machine) costs more than the comparisons.
        workers = -1 if len(packed) >= _THREADED_BATCH else 1
        scores = process.cpdist(list(column.distinct[packed // width]),
                                list(column.distinct[packed % width]), scorer=scorer,
                                workers=workers)
        result[differ] = scores[which]
    return result


_THREADED_BATCH = 50_000


def _ratio(column, a, b, skip=None) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0)
    return _pairwise(column, a, b, fuzz.ratio, 100, skip)


def _distance(column, a, b, metric, skip=None) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    return _pairwise(column, a, b, metric.distance, 0, skip)


# Endings that turn one given name into another (usually the other gender's): Paul/Paula,
# Louis/Louise, Jean/Jeanne, Daniel/Danielle.
_NAME_ENDINGS = frozenset({"a", "e", "ne", "le", "na", "ia", "ie", "ette", "elle", "ine", "o",
                           "ina", "ita", "lyn", "line"})
_VOWELS = frozenset("aeiouy")


def _vowel_swap_at_end(x: str, y: str) -> bool:
    """The names differ in one vowel of the other gender's ending: the last letter (Mario/
    Maria, Carlo/Carla) or the vowel of an -is/-es ending (Francis/Frances). Not a vowel
    elsewhere (Kristen/Kristin, Allan/Allen are spellings of one name)."""
    if len(x) != len(y) or len(x) < 4:
        return False
    diff = [i for i, (p, q) in enumerate(zip(x, y)) if p != q]
    if len(diff) != 1 or x[diff[0]] not in _VOWELS or y[diff[0]] not in _VOWELS:
        return False
    return diff[0] == len(x) - 1 or (diff[0] == len(x) - 2 and x.endswith("s"))


def _variant(x: str, y: str) -> bool:
    """The other gender's form of a name: an ending added to a name of four letters or more
    (Paul/Paula, Louis/Louise, Daniel/Danielle), or an ending vowel swapped. A final e on a
    shorter name (Ann/Anne) is a spelling."""
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    added = long_.startswith(short) and long_[len(short):] in _NAME_ENDINGS and len(short) >= 4
    return added or _vowel_swap_at_end(x, y)


def _spelling(names, a: np.ndarray, b: np.ndarray, skip: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(slip, similar) per pair of name codes: a keying slip (one edit, two from nine letters
    on, or a Jaro-Winkler of 0.94) and a looser similarity (two edits or Jaro-Winkler 0.88),
    splink's name-comparison bands."""
    jw = _pairwise(names, a, b, JaroWinkler.normalized_similarity, 1.0, skip)
    osa = _distance(names, a, b, OSA, skip)
    length = names.per_value("length", len, np.int64)
    shortest = np.minimum(length[a], length[b])
    allowed = np.where(shortest >= 9, 2, 1)
    differ = (a != b) & ~skip
    slip = differ & (((osa >= 1) & (osa <= allowed) & (shortest >= 3)) | (jw >= 0.94))
    similar = differ & ~slip & ((osa <= 2) & (shortest >= 4) | (jw >= 0.88))
    return slip, similar


def _per_distinct_pair(names, a: np.ndarray, b: np.ndarray, rows: np.ndarray, test
                       ) -> np.ndarray:
    """Per pair: ``test(text a, text b)`` for the pairs at ``rows`` (False elsewhere), called
    once per distinct pair of values: candidate pairs repeat them (one family's records)."""
    result = np.zeros(len(a), dtype=bool)
    if len(rows):
        width = max(len(names.distinct), 1)
        which, packed = pd.factorize(a[rows] * width + b[rows])
        values = np.fromiter((test(names.distinct[x // width], names.distinct[x % width])
                              for x in packed), dtype=bool, count=len(packed))
        result[rows] = values[which]
    return result


# ---------------------------------------------------------------------------------- fields
def _nicknames(names, index: dict, fa: np.ndarray, fb: np.ndarray, skip: np.ndarray
               ) -> np.ndarray:
    """Per pair of given-name codes: the names share a nickname group (the whole table, once
    per distinct pair of names; the first token stands for a name the table lacks, so
    ``Jennifer Anne`` is Jennifer)."""
    def groups(name: str) -> frozenset:
        return frozenset(index.get(name) or index.get(name.split(" ")[0] if name else "", ()))

    return _per_distinct_pair(names, fa, fb, np.flatnonzero((fa != fb) & ~skip),
                              lambda x, y: bool(groups(x) & groups(y)))


def _first_names(names, index: dict, fa, fb) -> np.ndarray:
    level = np.full(len(fa), FIRST["different"], dtype=np.int8)
    missing = (fa == names.empty) | (fb == names.empty)
    nick = _nicknames(names, index, fa, fb, missing)
    # A compound given name and its first part (Jennifer Anne / Jennifer, Marie-Eve / Marie);
    # two compounds that only begin alike are two names (Marie-Claude / Marie-Eve).
    parts = names.per_value("given-name parts", lambda x: len(x.replace("-", " ").split()),
                            np.int64)
    token = names.recoded("first token", lambda x: x.replace("-", " ").split(" ")[0])
    single = (parts[fa] <= 1) | (parts[fb] <= 1)
    nick |= (token[fa] == token[fb]) & single & (parts[fa] >= 1) & (parts[fb] >= 1)
    slip, similar = _spelling(names, fa, fb, missing)
    variant = _per_distinct_pair(names, fa, fb, np.flatnonzero(slip | similar), _variant)
    initials = names.recoded("initial", lambda x: x[:1])
    length = names.per_value("length", len, np.int64)
    initial = (np.minimum(length[fa], length[fb]) == 1) & (initials[fa] == initials[fb])
    # Most specific last: a keying slip that the nickname table also pairs (Jon/John) is a
    # slip; a gendered form (Paul/Paula) is a variant even one letter apart.
    level[initial] = FIRST["initial"]
    level[similar] = FIRST["similar"]
    level[nick] = FIRST["nickname"]
    level[slip] = FIRST["slip"]
    level[variant] = FIRST["variant"]
    level[fa == fb] = FIRST["exact"]
    level[missing] = 0
    return level


def _last_names(names, la, lb) -> np.ndarray:
    level = np.full(len(la), LAST["different"], dtype=np.int8)
    missing = (la == names.empty) | (lb == names.empty)
    # ``Tremblay-Roy`` and ``Tremblay``: one part of a compound surname stands for the whole.
    spaced = names.per_value("compound", lambda x: "-" in x or " " in x, bool)
    partial = _per_distinct_pair(
        names, la, lb, np.flatnonzero((spaced[la] | spaced[lb]) & (la != lb) & ~missing),
        lambda x, y: bool(set(normalize.surname_parts(x)) & set(normalize.surname_parts(y))))
    slip, similar = _spelling(names, la, lb, missing)
    level[similar] = LAST["similar"]
    level[slip] = LAST["slip"]
    level[partial] = LAST["part"]
    level[la == lb] = LAST["exact"]
    level[missing] = 0
    return level


def _emails(f, a, b) -> np.ndarray:
    email = f.coded("email")
    ea, eb = email.codes[a], email.codes[b]
    missing = (ea == email.empty) | (eb == email.empty)
    level = np.full(len(a), EMAIL["different"], dtype=np.int8)
    local = email.recoded("local part", lambda x: x.split("@")[0])
    level[(local[ea] == local[eb]) & ~missing] = EMAIL["local_part"]
    loose, spaced = f.coded("email_loose"), f.coded("email_spaced")
    separators = (loose.codes[a] == loose.codes[b]) & (loose.codes[a] != loose.empty) \
        & (spaced.codes[a] != spaced.codes[b])
    level[separators] = EMAIL["separators"]
    level[(_distance(email, ea, eb, OSA, missing) == 1) & ~missing] = EMAIL["typo"]
    # Two addresses made of the same names (jane.roy@gmail / jane.roy@yahoo, janeroy@ /
    # jane_roy@) agree only as far as the names do: two namesakes' addresses look alike too.
    level[ea == eb] = EMAIL["exact"]
    # An address typed with a space (``jane roy@``) holds no space: the space stood for a dot,
    # an underscore or nothing, so it agrees with ``janeroy@`` only up to separators.
    level[(ea == eb) & (spaced.codes[a] != spaced.codes[b])] = EMAIL["separators"]
    near = np.flatnonzero(np.isin(level, (EMAIL["local_part"], EMAIL["separators"])))
    if len(near):
        named = f.named_emails(a[near]) | f.named_emails(b[near])
        level[near[named]] = EMAIL["different"]
    # A one-character typo between addresses made of the same names, or in their numbers only
    # (jason72@ / jason872@): two namesakes' addresses, as often as one person's.
    typo = np.flatnonzero(level == EMAIL["typo"])
    if len(typo):
        digits = email.recoded("without digits", lambda x: re.sub(r"[0-9]", "", x))
        numbers_only = digits[ea[typo]] == digits[eb[typo]]
        level[typo[numbers_only | (f.named_emails(a[typo]) & f.named_emails(b[typo]))]] = \
            EMAIL["different"]
    level[missing] = 0
    return level


def _phones(f, a, b) -> np.ndarray:
    has = f.phone_digits[:, :, 0] != 255
    has_a, has_b = has[a], has[b]
    same = np.zeros(len(a), dtype=bool)
    close = np.zeros(len(a), dtype=bool)
    for i in range(has.shape[1]):
        for j in range(has.shape[1]):
            both = np.flatnonzero(has_a[:, i] & has_b[:, j])
            mismatches = np.count_nonzero(f.phone_digits[a[both], i, :]
                                          != f.phone_digits[b[both], j, :], axis=1)
            same[both[mismatches == 0]] = True
            close[both[mismatches == 1]] = True
    level = np.full(len(a), PHONE["different"], dtype=np.int8)
    level[close] = PHONE["one_digit"]
    level[same] = PHONE["exact"]
    level[~(has_a.any(axis=1) & has_b.any(axis=1))] = 0
    return level


def _codes(column, a, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(same, one edit apart, missing on one) of a short code column."""
    va, vb = column.codes[a], column.codes[b]
    missing = (va == column.empty) | (vb == column.empty)
    same = (va == vb) & ~missing
    close = ~same & ~missing & (_distance(column, va, vb, OSA, missing) == 1)
    return same, close, missing


def _addresses(f, a, b) -> np.ndarray:
    """One comparison for street and postal code: a postal code agrees whenever the street
    does, so counting both would count one fact twice."""
    street, words, civic, unit = (f.coded(name) for name in ("street", "street_words", "civic",
                                                             "unit"))
    sa, sb = street.codes[a], street.codes[b]
    ca, cb = civic.codes[a], civic.codes[b]
    ua, ub = unit.codes[a], unit.codes[b]
    street_missing = (sa == street.empty) | (sb == street.empty)
    has_a, has_b = ca != civic.empty, cb != civic.empty
    civic_same = (ca == cb) & has_a
    civic_close = civic_same | (_distance(civic, ca, cb, OSA) <= 1) & has_a & has_b
    similarity = _ratio(street, sa, sb, street_missing)
    if len(a):
        wa, wb = words.codes[a], words.codes[b]
        # Street words in another order or run together with a second address line.
        similarity = np.maximum(similarity, _pairwise(words, wa, wb, fuzz.token_sort_ratio, 100,
                                                      street_missing))
        # A second address line on one record only (a building name): similar, never the same.
        # Only where the civic numbers leave the street to decide (most pairs at random have
        # two numbers apart, and this is the slowest comparison).
        low = np.flatnonzero((similarity < 90) & ~street_missing
                             & (civic_close | ~has_a | ~has_b))
        if len(low):
            subset = _pairwise(words, wa[low], wb[low], fuzz.token_set_ratio, None)
            similarity[low] = np.maximum(similarity[low], np.minimum(subset, 90.0))
    other_unit = (ua != unit.empty) & (ub != unit.empty) & (ua != ub)
    postal_same, postal_close, postal_missing = _codes(f.coded("postal"), a, b)
    postal_agrees = postal_same | postal_missing
    street_same = (similarity >= 85) & civic_same & ~street_missing
    street_similar = ~street_missing & ~street_same & (
        ((similarity >= 70) & civic_close) | ((similarity >= 85) & (~has_a | ~has_b)))
    level = np.full(len(a), ADDRESS["different"], dtype=np.int8)
    street_differs = ~street_same & ~street_similar
    level[postal_close & street_differs] = ADDRESS["postal_typo_only"]
    level[postal_same & street_differs] = ADDRESS["postal_only"]
    level[street_similar] = ADDRESS["similar_street"]
    level[street_similar & postal_close] = ADDRESS["similar_postal_typo"]
    level[street_similar & postal_agrees] = ADDRESS["similar"]
    level[(similarity >= 85) & has_a & has_b & ~civic_close & ~street_missing] = \
        ADDRESS["other_civic"]
    level[street_same] = ADDRESS["exact_street"]
    level[street_same & postal_close] = ADDRESS["exact_postal_typo"]
    level[street_same & postal_agrees] = ADDRESS["exact"]
    level[street_same & other_unit] = ADDRESS["other_unit"]
    # A street on one record only: the postal code alone decides (a street typed on one record
    # and not the other is no disagreement).
    only_postal = street_missing & ~postal_missing
    level[only_postal & postal_same] = ADDRESS["postal_only"]
    level[only_postal & postal_close] = ADDRESS["postal_typo_only"]
    level[only_postal & ~postal_same & ~postal_close] = ADDRESS["different"]
    city_same, city_close, city_missing = _codes(f.coded("city"), a, b)
    level[(level == ADDRESS["different"]) & (city_same | city_close)] = ADDRESS["city_only"]
    level[street_missing & postal_missing & city_missing] = 0
    level[street_missing & postal_missing & ~city_missing & ~(city_same | city_close)] = \
        ADDRESS["different"]
    return level


def _cities(f, a, b, address: np.ndarray) -> np.ndarray:
    same, close, missing = _codes(f.coded("city"), a, b)
    level = np.full(len(a), CITY["different"], dtype=np.int8)
    level[close] = CITY["similar"]
    level[same] = CITY["exact"]
    level[missing] = 0
    # Where the streets disagree, the address comparison has read the city already.
    level[np.isin(address, (ADDRESS["city_only"], ADDRESS["different"], 0))] = 0
    return level


# ---------------------------------------------------------------------------------- household
# Pairs compared for household facts at once: bounds the (link, link) combinations held.
_FAMILY_SLICE = 1 << 20


def _household(f, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(household level, role level, same-student level, veto) per pair, from the records'
    student links."""
    n = len(pairs)
    household = np.zeros(n, dtype=np.int8)
    role = np.zeros(n, dtype=np.int8)
    same_student = np.zeros(n, dtype=np.int8)
    if n == 0 or f.links.empty:
        return household, role, same_student, np.zeros(n, dtype=bool)
    table = f.link_table()
    linked = (table.count[pairs[:, 0]] > 0) & (table.count[pairs[:, 1]] > 0)
    household[linked] = HOUSEHOLD["none"]
    same_student[linked] = SAME_STUDENT["none"]
    role[linked] = ROLE["other"]
    shared = _shared_links(table, pairs)
    household[shared["kin"]] = HOUSEHOLD["surname"]
    household[shared["home"]] = HOUSEHOLD["home"]
    household[shared["family"]] = HOUSEHOLD["family"]
    same_student[shared["mixed"]] = SAME_STUDENT["mixed"]
    same_student[shared["both_parental"]] = SAME_STUDENT["both_parental"]
    ma, mb = f.roles[pairs[:, 0]], f.roles[pairs[:, 1]]
    M, F, P, G = (1 << ROLE_MOTHER), (1 << ROLE_FATHER), (1 << ROLE_PARENT), (1 << ROLE_GRANDPARENT)
    # Symmetric in a and b: a pair's level never depends on which record came first.
    gender = shared["gender"] \
        | (((ma & M) > 0) & ((mb & F) > 0) & ((mb & M) == 0) & ((ma & F) == 0)) \
        | (((ma & F) > 0) & ((mb & M) > 0) & ((ma & M) == 0) & ((mb & F) == 0))
    parentish = M | F | P
    generation = shared["generation"] \
        | ((ma == G) & ((mb & parentish) > 0)) | ((mb == G) & ((ma & parentish) > 0))
    common = (ma & mb & ~1) != 0
    role[linked & common] = ROLE["same"]
    role[linked & gender] = ROLE["gender"]
    role[linked & generation] = ROLE["generation"]
    return household, role, same_student, shared["veto"]


def _shared_links(table, pairs: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair, what a link of one record and a link of the other share: ``family``, ``home``
    and ``kin`` (the students' family, home, surname); on one student, ``veto`` (a Mother
    record and a Father record), ``both_parental`` and ``mixed`` (one parental link, one not);
    in one family, ``generation`` (a parent and a grandparent: a grandfather who carries the
    father's name) and ``gender`` (Mother against Father). Worked out ``_FAMILY_SLICE`` pairs
    at a time (every link of one record with every link of the other)."""
    n = len(pairs)
    shared = {name: np.zeros(n, dtype=bool) for name in (
        "family", "home", "kin", "veto", "both_parental", "mixed", "generation", "gender")}
    for first in range(0, n, _FAMILY_SLICE):
        rows = np.arange(first, min(first + _FAMILY_SLICE, n))
        pair_of, la, lb = table.combinations(pairs[rows, 0], pairs[rows, 1])
        pair_of = rows[pair_of]
        joined = table.family[la] == table.family[lb]
        shared["family"][pair_of[joined]] = True
        home_a = table.home[la]
        shared["home"][pair_of[(home_a >= 0) & (home_a == table.home[lb])]] = True
        kin_a = table.kin[la]
        shared["kin"][pair_of[(kin_a >= 0) & (kin_a == table.kin[lb])]] = True
        ra, rb = table.role[la], table.role[lb]
        pa, pb = table.parental[la], table.parental[lb]
        one_student = table.student[la] == table.student[lb]
        mother_father = ((ra == ROLE_MOTHER) & (rb == ROLE_FATHER)) \
            | ((ra == ROLE_FATHER) & (rb == ROLE_MOTHER))
        shared["veto"][pair_of[one_student & mother_father]] = True
        shared["both_parental"][pair_of[one_student & pa & pb]] = True
        shared["mixed"][pair_of[one_student & (pa != pb)]] = True
        shared["generation"][pair_of[joined & (((ra == ROLE_GRANDPARENT) & pb)
                                               | ((rb == ROLE_GRANDPARENT) & pa))]] = True
        shared["gender"][pair_of[joined & mother_father]] = True
    return shared


# ---------------------------------------------------------------------------------- all
def compare_pairs(f, pairs: np.ndarray) -> Compared:
    """The level of every comparison for each pair ``(a, b)`` of record positions."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    a, b = pairs[:, 0], pairs[:, 1]
    first, last = f.coded("first"), f.coded("last")
    names = first  # one vocabulary for both (see Features.coded)
    fa, fb, la, lb = first.codes[a], first.codes[b], last.codes[a], last.codes[b]
    # Given name and surname typed in each other's place (common in hand-keyed records).
    all_names = (fa != names.empty) & (la != names.empty) & (fb != names.empty) \
        & (lb != names.empty)
    straight = _ratio(names, fa, fb, ~all_names) + _ratio(names, la, lb, ~all_names)
    crossed = _ratio(names, fa, lb, ~all_names) + _ratio(names, la, fb, ~all_names)
    swap = (crossed > straight + 40) & all_names
    # Which record of a swapped pair is read as typed is decided by the values, never by which
    # record came first: the one whose given-name field sorts first keeps its fields.
    keep_a = ~swap | (names.distinct[fa].astype(str) <= names.distinct[fb].astype(str))
    first_a = np.where(keep_a, fa, la)
    last_a = np.where(keep_a, la, fa)
    first_b = np.where(swap & keep_a, lb, fb)
    last_b = np.where(swap & keep_a, fb, lb)
    household, role, same_student, veto = _household(f, pairs)
    last_level = _last_names(names, last_a, last_b)
    # Students who share a surname say something new only when it is not the records' own
    # surname agreeing (a mother under her maiden name on one record): else it counts once, in
    # the surname comparison.
    household[(household == HOUSEHOLD["surname"]) & (last_level == LAST["exact"])] = 0
    levels = {
        "first_name": _first_names(names, f.nicknames, first_a, first_b),
        "last_name": last_level,
        "email": _emails(f, a, b),
        "phone": _phones(f, a, b),
        "address": (address := _addresses(f, a, b)),
        "city": _cities(f, a, b, address),
        "household": household, "role": role, "same_student": same_student,
    }
    first_tf_a = np.where(keep_a, f.first_tf[a], f.last_tf[a])
    last_tf_a = np.where(keep_a, f.last_tf[a], f.first_tf[a])
    first_tf_b = np.where(swap & keep_a, f.last_tf[b], f.first_tf[b])
    last_tf_b = np.where(swap & keep_a, f.first_tf[b], f.last_tf[b])
    tf_u = {
        "first_name": np.where(levels["first_name"] == FIRST["exact"],
                               np.maximum(first_tf_a, first_tf_b), 0.0),
        "last_name": np.where(levels["last_name"] == LAST["exact"],
                              np.maximum(last_tf_a, last_tf_b), 0.0),
    }
    return Compared(pairs, levels, tf_u, veto, swap)


_SLICE = 1 << 19


def compare_in_slices(f, pairs: np.ndarray) -> Compared:
    """:func:`compare_pairs` a slice at a time: each comparison holds a few arrays the length
    of a slice, so a million-student board's comparing stays within bounded memory."""
    if len(pairs) <= _SLICE:
        return compare_pairs(f, pairs)
    parts = [compare_pairs(f, pairs[i:i + _SLICE]) for i in range(0, len(pairs), _SLICE)]
    return Compared(np.concatenate([p.pairs for p in parts]),
                    {k: np.concatenate([p.levels[k] for p in parts]) for k in parts[0].levels},
                    {k: np.concatenate([p.tf_u[k] for p in parts]) for k in parts[0].tf_u},
                    np.concatenate([p.veto for p in parts]),
                    np.concatenate([p.swap for p in parts]))


__all__ = ("Compared", "compare_pairs", "compare_in_slices")
