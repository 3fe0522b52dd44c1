"""Signals while connect-audit writes: SIGTERM raised as an exception, like Ctrl-C, so cleanups
run; and both held back during the few renames that swap an output set in."""

from __future__ import annotations

import contextlib
import signal
from typing import Iterator


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's ``KeyboardInterrupt``: ``finally``
    blocks and cleanups run, then the command exits 143."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while the block runs (the main thread only: a
    handler cannot be installed elsewhere, and then SIGTERM ends the process as usual)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (a handful of renames): the swap of an
    output set is never cut in the middle by a signal this process can handle."""
    wanted = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    except (AttributeError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
