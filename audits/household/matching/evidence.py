"""The evidence of a compared pair: per comparison its level in plain words, both values as
typed and its weight, splink's waterfall (``prior + weights + others`` is the pair's log-odds).

The words (:data:`_NOTES`, :data:`_VERDICT`) are the tool's own wording: redaction keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from audits.household.matching import model as linkage
from audits.household.matching.features import PHONE_COLUMNS, Features
from audits.household.matching.scoring import Scored


@dataclass(frozen=True)
class PairEvidence:
    """One compared pair of contact records."""

    a: str
    b: str
    """Contact ids, ``a < b``."""
    score: float
    """The pair's match probability under the board's model."""
    fields: dict[str, dict] = field(default_factory=dict)
    """Per comparison: ``{"verdict": same|similar|different|missing, "level", "words", "a",
    "b", "note", "weight", "household_weight"}``; weights in bits (log2), splink's waterfall:
    ``prior + sum of weight + others == log2(score / (1 - score))``."""
    prior: float = 0.0
    """log2 of the prior odds of one person against two random records (the board's)."""
    others: float = 0.0
    """log2 of what the household and relative classes take off (two people of one household
    or family explain the agreement too); zero where the board shows no households."""


_LOG2 = float(np.log(2.0))


def weight_tables(model: linkage.Model) -> dict[str, tuple[list[float], list[float]]]:
    """Per comparison, each level's match weight and household weight in bits (log2), as plain
    lists: worked out once, read per pair shown."""
    return {c.name: ((model.match_weight(c.name) / _LOG2).tolist(),
                     (model.household_weight(c.name) / _LOG2).tolist())
            for c in linkage.COMPARISONS}


def pair_evidence(f: Features, scored: Scored, row: int,
                  tables: dict[str, tuple[list[float], list[float]]] | None = None
                  ) -> PairEvidence:
    """Per comparison: the level, its words, both values as typed, and its weight in the total
    (log2 of m over u, splink's match weight; the household weight log2 of m over h beside
    it)."""
    x, y = int(scored.pairs[row][0]), int(scored.pairs[row][1])
    if str(f.ids[x]) > str(f.ids[y]):
        x, y = y, x
    tables = tables or weight_tables(scored.model)
    levels = scored.levels
    fields: dict[str, dict] = {}
    first, last = f.raw_column("first_name"), f.raw_column("last_name")
    email, postal = f.raw_column("email"), f.raw_column("postal_code")
    phones_x = [str(p) for p in f.phones[x] if p]
    phones_y = [str(p) for p in f.phones[y] if p]
    shared = sorted(set(phones_x) & set(phones_y))
    values = {
        "first_name": (first[x], first[y]), "last_name": (last[x], last[y]),
        "email": (email[x], email[y]),
        "phone": (", ".join(_show_phone(p) for p in phones_x),
                  ", ".join(_show_phone(p) for p in phones_y)),
        "address": (_address(f, x, postal), _address(f, y, postal)),
        "city": (f.raw_column("city")[x], f.raw_column("city")[y]),
    }
    for comparison in linkage.COMPARISONS:
        level = int(levels[comparison.name][row])
        tf = scored.compared.tf_u.get(comparison.name)
        match_weight, household_weight = tables[comparison.name]
        weight = match_weight[level] - (float(tf[row]) / _LOG2 if tf is not None else 0.0)
        a_value, b_value = values.get(comparison.name, ("", ""))
        level_name = comparison.levels[level].name
        note = _NOTES.get((comparison.name, level_name), "")
        if comparison.name == "phone" and shared:
            note = "shared: " + ", ".join(c for c, p in zip(PHONE_COLUMNS, f.phones[x])
                                          if p in shared)
        fields[comparison.name] = {
            "verdict": _VERDICT[level_name], "level": level_name,
            "words": comparison.levels[level].words,
            "a": a_value, "b": b_value, "note": note,
            "weight": round(weight, 2), "household_weight": round(household_weight[level], 2)}
    fields["address"]["postal_code"] = (postal[x], postal[y])
    log_l = scored.log_likelihood[row]
    others = np.logaddexp.reduce(log_l[[linkage.HOUSEHOLD, linkage.RELATIVE, linkage.RANDOM]])
    weight = scored.model.class_weight
    return PairEvidence(str(f.ids[x]), str(f.ids[y]), round(float(scored.score[row]), 4), fields,
                        prior=round(float(np.log(weight[linkage.MATCH] / weight[linkage.RANDOM])
                                          / _LOG2), 2),
                        others=round(float(log_l[linkage.RANDOM] - others) / _LOG2, 2))


# A few words beside the values, where the level is not plain from them.
_NOTES = {("first_name", "nickname"): "nickname", ("first_name", "variant"): "another form",
          ("first_name", "slip"): "one letter apart", ("first_name", "similar"): "spelling",
          ("first_name", "initial"): "initial", ("last_name", "part"): "part of a compound surname",
          ("last_name", "slip"): "spelling", ("last_name", "similar"): "spelling",
          ("email", "typo"): "one-character typo", ("email", "local_part"): "another domain",
          ("email", "separators"): "only dots, underscores or spaces differ",
          ("phone", "one_digit"): "one digit apart",
          ("address", "exact_postal_typo"): "postal code typo",
          ("address", "exact_street"): "another postal code",
          ("address", "other_unit"): "same building, another unit",
          ("address", "other_civic"): "another civic number", ("address", "similar"): "spelling",
          ("address", "similar_postal_typo"): "spelling", ("address", "similar_street"): "spelling",
          ("address", "postal_only"): "same postal code", ("address", "city_only"): "moved?",
          ("address", "different"): "moved?"}

# The contract's plain words for a level: same / similar / different / missing.
_VERDICT = {"null": "missing", "exact": "same", "nickname": "similar", "variant": "different",
            "slip": "similar", "similar": "similar", "initial": "similar", "different": "different",
            "part": "similar", "typo": "similar", "local_part": "similar", "separators": "similar",
            "one_digit": "similar", "exact_street": "similar", "other_unit": "different",
            "other_civic": "different", "similar_street": "similar", "postal_only": "different",
            "city_only": "different", "exact_postal_typo": "similar",
            "similar_postal_typo": "similar", "postal_typo_only": "different",
            "family": "same", "home": "same", "surname": "similar", "none": "different",
            "same": "same", "gender": "different", "generation": "different", "other": "different",
            "both_parental": "different", "mixed": "different"}


def _show_phone(digits: str) -> str:
    """A ten-digit phone as a reader types it: ``613-555-0101``."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits


def _address(f: Features, position: int, postal: np.ndarray) -> str:
    """A record's street, city and postal code as typed, in one line."""
    return ", ".join(part for part in (str(f.raw_column("street")[position]).strip(),
                                       str(f.raw_column("city")[position]).strip(),
                                       str(postal[position]).strip()) if part)
