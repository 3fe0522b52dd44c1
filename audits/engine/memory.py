"""Pausing Python's cyclic garbage collector while many small objects are made.

The graph, the checks' findings and the reports make hundreds of thousands of small tuples,
lists and dicts (nodes, evidence, rows, sections), none of them in reference cycles, so
reference counting frees each one. Yet while they pile up they trigger full collections, and
each full collection walks every object alive, the board and its graph included; on a large
board that walk is mostly cache misses, so it grows faster than the board (at 250,000 students
it was a third of the HTML report's time).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


_LONG_LIVED = {"freeze": False}


def freeze_long_lived(on: bool) -> None:
    """Whether objects built to live until the process ends (the household graph) are frozen
    out of the collector once built (:func:`frozen_if_long_lived`). The CLI turns it on for a
    command, having frozen the board, and off when the command ends; a longer-lived process (a
    notebook, a server) leaves it off, so its graphs stay collectable."""
    _LONG_LIVED["freeze"] = on


def frozen_if_long_lived() -> None:
    """Freeze every object alive now when :func:`freeze_long_lived` is on."""
    if _LONG_LIVED["freeze"]:
        gc.freeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, and turn it back on after (if it was on):
    anything cyclic the block leaves is collected then, as it would have been."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
