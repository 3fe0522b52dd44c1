"""Progress on stderr for the steps of a run: a spinner while a step works, one line when done.

Plain lines when stderr is not a terminal (logs of scheduled jobs), nothing at all when quiet.
Only step names and counts are printed, never a name or email from the board.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console


class Progress:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False)
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        if self.quiet:
            yield
        elif self.console.is_terminal:
            with self.console.status(f"{label}…"):
                yield
        else:
            yield
        elapsed = time.perf_counter() - started
        self.timings[label] = elapsed
        if not self.quiet:
            self.console.print(f"[green]✓[/green] {label} ({elapsed:.1f} s)"
                               if self.console.is_terminal else f"- {label} ({elapsed:.1f} s)",
                               markup=self.console.is_terminal)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr)
