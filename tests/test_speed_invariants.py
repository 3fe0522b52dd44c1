"""Shortcuts taken for speed on large boards give what the plain pandas way gives."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from audits.model.board import board_from_frames
from audits.model.config import Config
from audits.preview import _in_text_order
from audits.engine.context import AuditContext


@pytest.mark.parametrize("ids", [
    ["C10", "C2", "C100", "C1", "C2", "C10"],
    ["b", "a\x00", "a", "a\x00", ""],            # a trailing NUL: numpy's text arrays drop it
    ["ÿ", "é", "e", "Z", "z", "0", "€", "𝔸"],      # code point order, beyond one byte
    [],
])
def test_text_order_is_factorize_sorted(ids: list[str]) -> None:
    values = pd.Series(ids, dtype=str)
    expected_codes, expected_uniques = pd.factorize(values, sort=True)
    codes, uniques, order = _in_text_order(*pd.factorize(values))
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == list(expected_uniques)
    assert np.asarray(pd.factorize(values)[1], dtype=object)[order].tolist() == uniques.tolist()


def _board():
    return board_from_frames({
        "schools": pd.DataFrame({"school_id": ["S1"], "school_name": ["One"]}),
        "students": pd.DataFrame({"student_id": ["1"], "school_id": ["S1"], "first_name": ["A"],
                                  "last_name": ["B"]}),
        "contacts": pd.DataFrame({"contact_id": ["C1"], "first_name": ["M"], "last_name": ["B"]}),
        "student_contacts": pd.DataFrame({"student_id": ["1"], "contact_id": ["C1"],
                                          "relationship": ["Mother"], "portal_access": ["Y"]}),
    })


def test_graph_is_frozen_only_where_the_cli_asks() -> None:
    """A long-lived process (a notebook, a server) keeps its graphs collectable, even one that
    froze objects of its own; the CLI, whose graph lives until the command ends, freezes it."""
    from audits.engine import memory as collector

    board = _board()
    gc.unfreeze()
    try:
        AuditContext(board, Config()).graph  # noqa: B018 - built for its effect on gc
        assert gc.get_freeze_count() == 0  # a library caller's collector is left alone
        gc.freeze()
        before = gc.get_freeze_count()
        AuditContext(board, Config()).graph  # noqa: B018
        after = gc.get_freeze_count()  # frozen objects that die leave the count
        assert after <= before  # nor frozen because the caller froze its own
        collector.enable()
        graph = AuditContext(board, Config()).graph.graph
        assert gc.get_freeze_count() > after
        assert graph.has_edge(("contact", "C1"), ("student", "1"))
    finally:
        collector.disable()
