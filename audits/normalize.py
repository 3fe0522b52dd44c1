"""Normalised forms of the contact fields the duplicate-contact matcher compares.

Each normaliser takes a pandas Series of raw export text and returns a Series of the same index.
The slow part of folding (unidecode, regexes) runs once per *distinct* value: boards repeat
names, cities and postal codes many times, so this keeps 400,000 contact records cheap.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from unidecode import unidecode

from audits import wordlists


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
    index: dict[str, list[int]] = {}
    for number, group in enumerate(groups):
        for name in group:
            index.setdefault(fold(name), []).append(number)
    return {name: tuple(numbers) for name, numbers in index.items()}


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
    text = text.str.replace(r"\s+", "", regex=True).str.lower()
    return text.where(text.str.contains("@", regex=False) & (text.str.len() > 2), "")


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
    digits = _NOT_ASCII_DIGIT.sub("", text) if text.isascii() \
        else "".join(filter(str.isdigit, text))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else ""


def normalize_phone(values: pd.Series) -> pd.Series:
    return _per_distinct(values, phone_digits)


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


def _street_parts(text: str, suffixes: Mapping[str, str] | None = None
                  ) -> tuple[str, str, str, str]:
    """A street address as (civic number, street name, unit).

    ``Apt 4, 55 Elm Ave``, ``4-55 Elm Avenue``, ``55 Elm Avenue #4`` and ``55 elm ave. unit 4``
    all become ``("55", "elmave", "4")``: the street name is folded, its street-type words
    shortened Canada Post style, and its spaces removed (``Pridhamstreet`` == ``Pridham St``).
    """
    suffixes = wordlists.STREET_SUFFIXES if suffixes is None else suffixes
    folded = _ascii_lower(text).replace("#", " # ")
    folded = _NOT_STREET.sub(" ", folded)
    folded = " ".join(folded.split())
    unit = ""
    match = _UNIT_DASH_CIVIC.match(folded)
    if match:
        unit, civic = match.group(1), match.group(2)
        rest = folded[match.end():]
    else:
        match = _UNIT_ANYWHERE.search(folded)
        if match:
            unit = match.group(1)
            folded = (folded[:match.start()] + " " + folded[match.end():])
        folded = " ".join(folded.replace(",", " ").split())
        civic_match = _CIVIC.match(folded) or _CIVIC_LATE.search(folded)
        if civic_match:
            civic = civic_match.group(1)
            rest = folded[:civic_match.start()] + " " + folded[civic_match.end():]
        else:
            civic, rest = "", folded
    words = [suffixes.get(word, word) for word in rest.replace(",", " ").replace("-", " ").split()]
    words = [word for word in words if word not in ("unit", "#")]
    return civic, "".join(words), unit.lstrip("0") or unit, " ".join(words)


def normalize_street(values: pd.Series, suffixes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Columns ``civic``, ``street_name``, ``unit`` (see :func:`split_street`) and
    ``street_words`` (the street name's words, for comparing words in another order)."""
    parts = _per_distinct(values, lambda text: _street_parts(text, suffixes))
    return pd.DataFrame(parts.tolist(), index=values.index,
                        columns=["civic", "street_name", "unit", "street_words"]).astype(str)
