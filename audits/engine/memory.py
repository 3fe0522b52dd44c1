"""Every gc freeze and pause, and the fast exit: switched on by the CLI only (:func:`enable`,
:func:`allow_fast_exit`); anywhere else the collector and the exit are left as Python has them.

The graph, the checks' findings and the reports make hundreds of thousands of small tuples,
lists and dicts (nodes, evidence, rows, sections), none of them in reference cycles, so
reference counting frees each one. Yet while they pile up they trigger full collections, and
each full collection walks every object alive, the board and its graph included; on a large
board that walk is mostly cache misses, so it grows faster than the board.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from contextlib import contextmanager
from typing import Iterator, NoReturn


_STATE = {"on": False, "fast_exit": False}


def enable() -> None:
    """Switched on by the CLI for one command (off again by :func:`disable`): everything alive
    now (the board) is frozen out of the collector, so it stops walking the board's millions of
    objects again and again and a forked worker shares their pages instead of copying them;
    objects built to live until the command ends are frozen once built
    (:func:`freeze_long_lived_now`), and :func:`collector_paused` pauses the collector. A
    longer-lived process (a notebook, a server) leaves it off: its collector is left alone."""
    _STATE["on"] = True
    gc.freeze()


def disable() -> None:
    """Undo :func:`enable` (the command ended; it may have run inside a test or a notebook)."""
    _STATE["on"] = False
    gc.unfreeze()


def freeze_long_lived_now() -> None:
    """Freeze every object alive now (the household graph, the findings) when enabled."""
    if _STATE["on"]:
        gc.freeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """When enabled, run the block with the cyclic collector off, and turn it back on after (if
    it was on): anything cyclic the block leaves is collected then, as it would have been."""
    if not _STATE["on"]:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def allow_fast_exit() -> None:
    """Set by the console script: a finished command may end the process at once
    (:func:`exit_now`)."""
    _STATE["fast_exit"] = True


def exit_now(code: int) -> NoReturn:
    """End a command that audited a board with ``code``. From the console script
    (:func:`allow_fast_exit`) the process ends right here, while the board, its graph and the
    findings are still alive: releasing their millions of objects one by one (as ``sys.exit``
    unwinding the caller would) only delays the prompt. Its outputs are complete already:
    every file is written through a temporary name and renamed, and its workers have ended;
    the standard streams are flushed and the exit handlers run (libraries clean up their
    temporary files there). Any other caller (a test's CliRunner, a notebook) exits as usual."""
    if not _STATE["fast_exit"]:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            code = code or 120  # what Python exits with when it cannot flush at exit
    atexit._run_exitfuncs()
    os._exit(code)
