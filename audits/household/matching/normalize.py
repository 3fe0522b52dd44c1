"""Normalised forms of the contact fields the duplicate-contact matcher compares.

Each normaliser takes a pandas Series of raw export text and returns a Series of the same index.
The slow part of folding (unidecode, regexes) runs once per *distinct* value: boards repeat
names, cities and postal codes many times, so this keeps 400,000 contact records cheap.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from unidecode import unidecode

from audits.household import wordlists


def _per_distinct(values: pd.Series, function: Callable[[str], object]) -> pd.Series:
    text = values.to_numpy(dtype=object)
    text = np.where(pd.isna(text), "", text).astype(object)
    codes, distinct = pd.factorize(text)
    mapped = np.empty(len(distinct), dtype=object)
    mapped[:] = [function(str(value)) for value in distinct]
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _ascii_lower(text: str) -> str:
    return (text if text.isascii() else unidecode(text)).lower()


_NOT_NAME = re.compile(r"[^a-z0-9\- ]+")
_HYPHEN = re.compile(r"\s*-\s*")
_NOT_STREET = re.compile(r"[^a-z0-9#\- ,]+")


def fold(text: str) -> str:
    """Accents folded, lowercased, punctuation (except hyphens) to spaces, spaces collapsed."""
    folded = _NOT_NAME.sub(" ", _ascii_lower(text))
    folded = _HYPHEN.sub("-", folded)
    return " ".join(folded.split()).strip("-")


def fold_names(values: pd.Series) -> pd.Series:
    """Person names as compared: ``Hélène  TREMBLAY-Roy`` -> ``helene tremblay-roy``."""
    return _per_distinct(values, fold)


def surname_parts(folded_last: str) -> tuple[str, ...]:
    """The parts of a (folded) compound surname: ``tremblay-roy`` -> (``tremblay``, ``roy``)."""
    return tuple(part for part in re.split(r"[\s\-]+", folded_last) if part)


def nickname_index(groups: Iterable[frozenset[str]]) -> dict[str, tuple[int, ...]]:
    """Each folded first name to the numbers of the nickname groups it belongs to."""
    index: dict[str, list[tuple[bool, int]]] = {}
    for number, group in enumerate(groups):
        longest = max((len(name) for name in group), default=0)
        for name in group:
            index.setdefault(fold(name), []).append((len(name) < longest, number))
    # A name's own groups (where it is the full form) first, then those it is a short form in:
    # where only the first few are kept (block keys), the one that matters most stays.
    return {name: tuple(number for _, number in sorted(numbers))
            for name, numbers in index.items()}


def first_name_groups(folded_first: pd.Series, index: Mapping[str, tuple[int, ...]],
                      width: int = 3) -> pd.DataFrame:
    """Up to ``width`` nickname-group numbers per first name (``-1`` where there is none).

    The first token is looked up too, so ``Jennifer Anne`` finds the Jennifer group.
    """
    def groups_of(name: str) -> tuple[int, ...]:
        found = index.get(name) or index.get(name.split(" ")[0] if name else "", ())
        found = tuple(found)[:width]
        return found + (-1,) * (width - len(found))

    mapped = _per_distinct(folded_first, groups_of)
    return pd.DataFrame(mapped.tolist(), index=folded_first.index,
                        columns=[f"group{i}" for i in range(width)]).astype("int32")


def _vectorised_per_distinct(values: pd.Series, function: Callable[[pd.Series], pd.Series]
                             ) -> pd.Series:
    """``function`` (vectorised string operations on a Series) applied to the distinct values
    only, mapped back: the same result as applying it to every row, for a fraction of the work."""
    text = values.astype(object).where(values.notna(), "")
    codes, distinct = pd.factorize(text.to_numpy(dtype=object))
    mapped = function(pd.Series(distinct, dtype=object).astype(str))
    return pd.Series(mapped.to_numpy()[codes], index=values.index, dtype=mapped.dtype)


def _email_text(text: pd.Series) -> pd.Series:
    from audits.household.usernames import PLACEHOLDER_LOCAL_PARTS

    text = text.str.replace(r"\s+", "", regex=True).str.lower()
    if text.empty:
        # (``str.partition`` of no values is a frame without its three columns.)
        return text
    parts = text.str.partition("@")
    local, domain = parts[0], parts[2]
    # An address somebody could hold: something before the @, a domain with a dot, and not a
    # placeholder a clerk types for every parent without one (noemail@board.ca): two records
    # sharing that share nothing.
    real = (text.str.count("@") == 1) & (local != "") & domain.str.contains(".", regex=False) \
        & ~local.isin(PLACEHOLDER_LOCAL_PARTS)
    return text.where(real, "")


_SPACE = re.compile(r"\s+")


def email_key(text: str) -> str:
    """One email as :func:`normalize_email` reads it (for a few values, where a Series costs
    more than the rule)."""
    from audits.household.usernames import PLACEHOLDER_LOCAL_PARTS

    text = _SPACE.sub("", str(text or "")).lower()
    local, _, domain = text.partition("@")
    real = text.count("@") == 1 and local != "" and "." in domain and \
        local not in PLACEHOLDER_LOCAL_PARTS
    return text if real else ""


def normalize_email(values: pd.Series) -> pd.Series:
    """Emails compare case-insensitively with spaces ignored; text without ``@`` is no email."""
    return _vectorised_per_distinct(values, _email_text)


_EXTENSION = re.compile(r"(?:ext\.?|extension|x|poste)\s*\d+\s*$", re.I)
_EXTENSION_LETTER = re.compile(r"[xXeEpP]")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]+")


def phone_digits(text: str) -> str:
    """A North American number as its 10 digits (leading 1 dropped, extension ignored); ``""``
    when the text is not one."""
    if _EXTENSION_LETTER.search(text):
        text = _EXTENSION.sub("", text)
    # ASCII text (nearly all): the regex keeps exactly what str.isdigit keeps, much faster.
    # Other scripts' digits (fullwidth, Arabic-Indic) read as the digits they are.
    digits = _NOT_ASCII_DIGIT.sub("", text) if text.isascii() \
        else "".join(str(unicodedata.digit(ch)) for ch in text
                     if ch.isdigit() and unicodedata.digit(ch, None) is not None)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else ""


def normalize_phone(values: pd.Series) -> pd.Series:
    """:func:`phone_digits` of every value. Nearly every board phone is plain ASCII text
    (``(613) 555-0199``): those are read as one array of code points (digits kept in order);
    the rest (extensions, other scripts' digits, long text) one distinct value at a time."""
    text = values.to_numpy(dtype=object)
    text = np.where(pd.isna(text), "", text).astype(object)
    codes, distinct = pd.factorize(text)
    distinct = np.asarray(distinct, dtype=object)
    width = _PLAIN_PHONE_WIDTH
    # One code point more than the width: a value that fills it is too long for the array path.
    points = distinct.astype(f"<U{width + 1}").view(np.uint32).reshape(len(distinct), width + 1)
    plain = (points[:, width] == 0) & ~(points > 127).any(axis=1) \
        & ~np.isin(points, _EXTENSION_POINTS).any(axis=1)
    mapped = np.empty(len(distinct), dtype=object)
    mapped[~plain] = [phone_digits(str(v)) for v in distinct[~plain]]
    if plain.any():
        # Only as many columns as the longest value uses (board phones are about 14 wide).
        used = int(np.flatnonzero(points.any(axis=0)).max(initial=-1)) + 1
        mapped[plain] = _plain_phone_digits(points[plain, :min(used, width)])
    return pd.Series(mapped[codes], index=values.index, dtype=object)


# Phone text the array path reads exactly as :func:`phone_digits` does: ASCII, no extension
# letter, at most this many characters.
_PLAIN_PHONE_WIDTH = 24
_EXTENSION_POINTS = np.array([ord(c) for c in "xXeEpP"], dtype=np.uint32)


def _plain_phone_digits(points: np.ndarray) -> np.ndarray:
    """:func:`phone_digits` of ASCII text without extension letters, given as code points."""
    is_digit = (points >= ord("0")) & (points <= ord("9"))
    count = is_digit.sum(axis=1)
    # Each digit's place among its value's digits; the first 11 are all a number can use.
    place = np.cumsum(is_digit, axis=1, dtype=np.int8) - 1
    rows, cols = np.nonzero(is_digit & (place < 11))
    digits = np.zeros((len(points), 11), dtype=np.uint32)
    digits[rows, place[rows, cols]] = points[rows, cols]
    drop_one = (count == 11) & (digits[:, 0] == ord("1"))
    digits[drop_one, :10] = digits[drop_one, 1:]
    ten = np.ascontiguousarray(digits[:, :10]).view("<U10").reshape(len(points))
    return np.where((count == 10) | drop_one, ten, "").astype(object)


def normalize_postal_code(values: pd.Series) -> pd.Series:
    """Postal codes compare without spaces or hyphens and case-insensitively: ``k1a 0b1`` ==
    ``K1A0B1``."""
    return _vectorised_per_distinct(
        values, lambda text: text.str.upper().str.replace(r"[^0-9A-Z]", "", regex=True))


_UNIT_WORDS = r"(?:apartment|apt|unit|suite|ste|app|appt|#|no)"
# A unit word is a whole word: ``North Arm`` and ``Noble St`` hold no unit "rth" or "ble".
_UNIT_ANYWHERE = re.compile(rf"(?:^|\s|,){_UNIT_WORDS}(?![a-z])\.?\s*#?\s*([a-z0-9]+)\b")
_UNIT_DASH_CIVIC = re.compile(r"^([a-z]?\d+[a-z]?)\s*-\s*(\d+[a-z]?)\b")
_CIVIC = re.compile(r"^(\d+[a-z]?)\b")
_CIVIC_LATE = re.compile(r"\b(\d+[a-z]?)\b")


def split_street(text: str, suffixes: Mapping[str, str] | None = None) -> tuple[str, str, str]:
    return _street_parts(text, suffixes)[:3]


def _fold_street(text: str) -> str:
    folded = _ascii_lower(text).replace("#", " # ")
    folded = _NOT_STREET.sub(" ", folded)
    return " ".join(folded.split())


def _take_unit(folded: str) -> tuple[str, str]:
    """(unit, the folded address without it) for an address the unit is not dashed onto."""
    unit = ""
    match = _UNIT_ANYWHERE.search(folded)
    if match:
        unit = match.group(1)
        folded = (folded[:match.start()] + " " + folded[match.end():])
    return unit, " ".join(folded.replace(",", " ").split())


def _name_parts(civic: str, rest: str, unit: str, suffixes: Mapping[str, str]
                ) -> tuple[str, str, str, str]:
    words = [suffixes.get(word, word) for word in rest.replace(",", " ").replace("-", " ").split()]
    words = [word for word in words if word not in ("unit", "#")]
    return civic, "".join(words), unit.lstrip("0") or unit, " ".join(words)


def _street_parts(text: str, suffixes: Mapping[str, str] | None = None
                  ) -> tuple[str, str, str, str]:
    """A street address as (civic number, street name, unit).

    ``Apt 4, 55 Elm Ave``, ``4-55 Elm Avenue``, ``55 Elm Avenue #4`` and ``55 elm ave. unit 4``
    all become ``("55", "elmave", "4")``: the street name is folded, its street-type words
    shortened Canada Post style, and its spaces removed (``Pridhamstreet`` == ``Pridham St``).
    """
    suffixes = wordlists.STREET_SUFFIXES if suffixes is None else suffixes
    folded = _fold_street(text)
    match = _UNIT_DASH_CIVIC.match(folded)
    if match:
        return _name_parts(match.group(2), folded[match.end():], match.group(1), suffixes)
    unit, folded = _take_unit(folded)
    civic_match = _CIVIC.match(folded) or _CIVIC_LATE.search(folded)
    if civic_match:
        rest = folded[:civic_match.start()] + " " + folded[civic_match.end():]
        return _name_parts(civic_match.group(1), rest, unit, suffixes)
    return _name_parts("", folded, unit, suffixes)


# ``<digits> <letter>...``: the civic number first, then the rest (most board addresses).
# Folding is character by character, so such an address folds to the number, a space and the
# rest folded alone; the number is the civic number and the unit and street name come from the
# rest alone (no unit dashed onto the number: the rest starts with a letter). The rest repeats
# across a board far more than whole addresses do, so it is parsed once per distinct rest.
_CIVIC_FIRST = re.compile(r"([0-9]+) ([A-Za-z][\s\S]*)\Z")


def _rest_parts(rest: str, suffixes: Mapping[str, str]) -> tuple[str, str, str]:
    """(street name, unit, street words) of the part of an address after its civic number."""
    unit, folded = _take_unit(_fold_street(rest))
    _, name, unit, words = _name_parts("", folded, unit, suffixes)
    return name, unit, words


def normalize_street(values: pd.Series, suffixes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Columns ``civic``, ``street_name``, ``unit`` (see :func:`split_street`) and
    ``street_words`` (the street name's words, for comparing words in another order)."""
    suffixes = wordlists.STREET_SUFFIXES if suffixes is None else suffixes
    text = values.to_numpy(dtype=object)
    text = np.where(pd.isna(text), "", text).astype(object)
    codes, distinct = pd.factorize(text)
    civic = np.empty(len(distinct), dtype=object)
    name = np.empty(len(distinct), dtype=object)
    unit = np.empty(len(distinct), dtype=object)
    words = np.empty(len(distinct), dtype=object)
    matches = [_CIVIC_FIRST.match(str(value)) for value in distinct]
    fast = np.fromiter((m is not None for m in matches), dtype=bool, count=len(distinct))
    slow = np.flatnonzero(~fast)
    if len(slow):
        parts = [_street_parts(str(distinct[i]), suffixes) for i in slow]
        civic[slow], name[slow], unit[slow], words[slow] = (
            np.array([p[k] for p in parts], dtype=object) for k in range(4))
    quick = np.flatnonzero(fast)
    if len(quick):
        civic[quick] = [matches[i].group(1) for i in quick]
        rest_codes, rests = pd.factorize(np.array([matches[i].group(2) for i in quick],
                                                  dtype=object))
        parts = [_rest_parts(str(rest), suffixes) for rest in rests]
        for k, column in enumerate((name, unit, words)):
            column[quick] = np.array([p[k] for p in parts], dtype=object)[rest_codes]
    return pd.DataFrame({"civic": civic[codes], "street_name": name[codes], "unit": unit[codes],
                         "street_words": words[codes]}, index=values.index).astype(str)
