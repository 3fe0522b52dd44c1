"""What can go wrong that the user must fix, and what the process exit code means."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable


class ExitCode(enum.IntEnum):
    """The meaning of each exit code, written once (scripts and schedulers rely on them)."""

    OK = 0
    """Nothing at or above the ``--fail-on`` threshold was found."""
    FINDINGS = 1
    """Findings at or above the ``--fail-on`` threshold were found."""
    UNUSABLE = 2
    """Unusable input or usage: the user must fix the export, the config or the command line."""
    INTERNAL = 3
    """connect-audit itself failed (a bug): never read as "findings found" by a script."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT), as shells report it: no partial output was left."""
    TERMINATED = 143
    """Stopped by SIGTERM (a scheduler's stop), as shells report it: no partial output left."""


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with the export, located as precisely as we can."""

    kind: str
    """Short machine-readable kind, e.g. ``missing-column``, ``duplicate-id``, ``unknown-reference``."""
    message: str
    """What is wrong and what to do, in plain words."""
    file: str | None = None
    row: int | None = None
    """Row number in the file as a spreadsheet shows it (the header is row 1)."""
    column: str | None = None
    value: str | None = None

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def describe(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.value is not None:
            text += f" (value: {self.value!r})"
        return text


class UserError(Exception):
    """Anything the user must fix. The CLI prints it plainly and exits 2; never a traceback."""

    def __init__(self, message: str, problems: Iterable[InputProblem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[InputProblem, ...] = tuple(problems)

    def render(self, per_kind: int = 5) -> str:
        """The message and every problem grouped by kind: the first few of each plus a count."""
        lines = [self.message]
        groups: dict[tuple[str, str | None], list[InputProblem]] = defaultdict(list)
        for problem in self.problems:
            groups[(problem.kind, problem.file)].append(problem)
        for (kind, file), items in groups.items():
            label = f"{kind} in {file}" if file else kind
            lines.append(f"  {label}: {len(items)} problem{'s' if len(items) != 1 else ''}")
            for problem in items[:per_kind]:
                lines.append(f"    - {problem.describe()}")
            if len(items) > per_kind:
                lines.append(f"    ... and {len(items) - per_kind} more of this kind")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class ProblemCollector:
    """Collects every input problem before stopping (lazy validation), then raises once."""

    def __init__(self) -> None:
        self.problems: list[InputProblem] = []

    def add(self, kind: str, message: str, **where) -> None:
        self.problems.append(InputProblem(kind, message, **where))

    def extend(self, problems: Iterable[InputProblem]) -> None:
        self.problems.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, message: str) -> None:
        if self.problems:
            raise UserError(message, self.problems)
