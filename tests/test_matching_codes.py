"""Scoring on integer codes (audits/household/matching/codes.py, comparisons.py): each distinct
pair of values is compared once and spread back to every candidate pair that has it; the result
must be what comparing the texts pair by pair gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from audits.household.matching import comparisons as comparing
from audits.household.matching.codes import Coded
from audits.household.matching.features import contact_features

WORDS = st.sampled_from(["", "anne", "ann", "annie", "marc", "mark", "tremblay", "tremblay-roy",
                         "12 maple st", "12 maple street", "o'neil", "é"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(WORDS, WORDS), min_size=1, max_size=40), st.booleans())
def test_pairwise_on_codes_is_pairwise_on_texts(pairs, skip_empty):
    left = np.array([a for a, _ in pairs], dtype=object)
    right = np.array([b for _, b in pairs], dtype=object)
    column = Coded.of(np.concatenate([left, right]))
    a, b = column.codes[:len(pairs)], column.codes[len(pairs):]
    assert list(column.distinct[a]) == list(left) and list(column.distinct[b]) == list(right)
    skip = ((left == "") | (right == "")) if skip_empty else None
    for scorer, equal in ((fuzz.ratio, 100), (OSA.distance, 0), (fuzz.token_set_ratio, None)):
        got = comparing._pairwise(column, a, b, scorer, equal, skip)
        want = process.cpdist(list(left), list(right), scorer=scorer)
        if equal is not None:
            same = left == right
            if skip is not None:
                same |= skip
            want = np.where(same, equal, want)
        assert got.dtype == want.dtype
        assert np.array_equal(got, want)


def test_empty_text_has_its_own_code_and_none_means_absent():
    with_blank = Coded.of(np.array(["x", "", "y", ""], dtype=object))
    assert with_blank.empty == with_blank.codes[1] == with_blank.codes[3]
    assert with_blank.empty not in (with_blank.codes[0], with_blank.codes[2])
    assert Coded.of(np.array(["x", "y"], dtype=object)).empty == -1


def test_given_names_and_surnames_share_one_vocabulary():
    """A swapped pair compares a given name with a surname, so both need one set of codes."""
    from audits.model.board import board_from_frames
    from audits.model.config import Config

    contacts = [{"contact_id": "C1", "first_name": "Martin", "last_name": "Paul"},
                {"contact_id": "C2", "first_name": "Paul", "last_name": "Martin"}]
    f = contact_features(board_from_frames({"contacts": contacts}), Config())
    first, last = f.coded("first"), f.coded("last")
    assert first.distinct is last.distinct
    assert first.codes[0] == last.codes[1] and first.codes[1] == last.codes[0]
