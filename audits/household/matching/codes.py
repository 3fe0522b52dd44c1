"""Text as integer codes: the matcher's features, block keys and comparisons work on integers.

A text column is coded once (:class:`Coded`): two records' codes are equal exactly where their
texts are, and anything worked out from the text is worked out once per distinct value. A
block key is the tuple of its parts' codes (:func:`tuple_codes`). :func:`by_id` puts a table in
the order of its ids, which then decides every tie the same way for any row order of an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Coded:
    """A text column as integer codes: ``distinct[codes[i]]`` is record i's text, and two
    records' codes are equal exactly where their texts are. Worked out once per column
    (:meth:`Features.coded`) for the block keys and the scoring: comparing integers is far
    faster than comparing strings, and anything computed from the text is computed once per
    distinct value."""

    codes: np.ndarray
    distinct: np.ndarray
    empty: int
    """The code of the empty text (-1 when no record has it)."""
    derived: dict = field(default_factory=dict)

    @classmethod
    def of(cls, values: np.ndarray) -> "Coded":
        codes, distinct = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
        distinct = np.asarray(distinct, dtype=object)
        where = np.flatnonzero(distinct == "")
        return cls(codes.astype(np.int64), distinct, int(where[0]) if len(where) else -1)

    @property
    def known(self) -> np.ndarray:
        """Per record: the text is not empty."""
        return self.codes != self.empty

    def prefix(self, length: int) -> np.ndarray:
        """Per record, a code equal exactly where the first ``length`` characters are."""
        return pd.factorize(text_prefix(self.distinct, length).astype(object))[0] \
            .astype(np.int64)[self.codes] if len(self.codes) else np.zeros(0, dtype=np.int64)

    def per_value(self, name: str, function, dtype) -> np.ndarray:
        """``function`` of each distinct value (computed once), indexed by code."""
        if name not in self.derived:
            self.derived[name] = np.fromiter((function(value) for value in self.distinct),
                                             dtype=dtype, count=len(self.distinct))
        return self.derived[name]

    def recoded(self, name: str, function) -> np.ndarray:
        """Codes of ``function`` of each distinct value, indexed by code: equal exactly where
        the function's values are."""
        if name not in self.derived:
            self.derived[name] = pd.factorize(self.per_value(name + ":text", function, object),
                                              use_na_sentinel=False)[0].astype(np.int64)
        return self.derived[name]


def tuple_codes(*columns: np.ndarray) -> np.ndarray:
    """One integer per row, equal exactly where every column is equal: a block key as the
    tuple of its parts. (No part holds the ``/`` the keys were once joined with, so comparing
    the parts is comparing the joined text; integers factorise far faster than strings.)
    Integer parts (codes already) are combined arithmetically and the whole factorised once:
    on millions of rows each factorisation is a large hash table."""
    code, span = np.zeros(len(columns[0]), dtype=np.int64), 1
    for column in columns:
        column = np.asarray(column)
        if column.dtype.kind in "iu":
            low = int(column.min()) if len(column) else 0
            part = column.astype(np.int64) - low
            width = int(part.max()) + 1 if len(part) else 1
        else:
            part, distinct = pd.factorize(column)
            width = max(len(distinct), 1)
        if span * width >= 2 ** 62:  # renumber densely before the product could overflow
            code = pd.factorize(code)[0].astype(np.int64)
            span = int(code.max()) + 1 if len(code) else 1
        code = code * width + part
        span *= width
        del part
    return pd.factorize(code)[0].astype(np.int64)


def text_prefix(values: np.ndarray, length: int) -> np.ndarray:
    """The first ``length`` characters of each value: a cast to a short fixed-width string
    truncates (from object values directly, without a full-width copy)."""
    return np.asarray(values).astype(f"<U{length}")


def by_id(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame`` in the order of its ids, reindexed 0..n-1. (A repeated id is an input problem
    the validation stops on, so ids decide the order completely.)"""
    order = np.argsort(frame[key].astype(str).to_numpy(dtype=str), kind="stable")
    return frame.iloc[order].reset_index(drop=True)
