"""What every reader of an export shares: the :class:`Export` it gives, the loop over the
contract's tables, and contract column names put on a table as read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from audits.model.board import TABLES, BoardSource, TableSource
from audits.model.errors import ProblemCollector
from audits.io.mapping import HeaderMapping

TableRead = tuple[pd.DataFrame, TableSource]
"""A table read: its frame and where it came from."""

FIRST_DATA_ROW = 2
"""The header is row 1 in the file, as a spreadsheet shows it."""


TABLES_THAT_NEED_ROWS = ("students",)
"""A header-only table is an export cut short only where the board cannot have no rows: a
board has students; it may have no siblings, staff or existing accounts (yet)."""


@dataclass
class Export:
    """The tables of an export as read: contract column names, text values, index = file row."""

    frames: dict[str, pd.DataFrame]
    source: BoardSource
    lines: dict[str, np.ndarray] = field(default_factory=dict)
    """Per CSV file whose records span lines (a quoted value holds a line break): the line a
    text editor shows each row starting on, indexed by row."""


def tables_by_name(names: list[str], mapping: HeaderMapping, problems: ProblemCollector, *,
                   quote, where, noun: str = "") -> dict[str, str]:
    """Which file (or sheet) holds each table: the first name that maps to it; a second one is a
    ``duplicate-table`` problem, since the tool cannot know which of the two the SIS exported."""
    found: dict[str, str] = {}
    for name in names:
        table = mapping.table_for(name)
        if table is None:
            continue
        if table in found:
            problems.add("duplicate-table", f"both {noun}{quote(found[table])} and {quote(name)} "
                         f"hold the {table} table; keep one", file=where(name))
            continue
        found[table] = name
    return found


def _blank_rows(body: pd.DataFrame) -> np.ndarray:
    """Which rows are wholly blank. Only the rows blank so far are compared in the next column:
    the first column (a record id) is rarely blank, so this is one comparison per row."""
    blank = body.iloc[:, 0].to_numpy() == ""
    for position in range(1, body.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        blank[rows] = body.iloc[:, position].to_numpy()[rows] == ""
    return blank


def _without_repeated_headers(body: pd.DataFrame, headers: tuple[str, ...], table: str,
                              file: str, mapping: HeaderMapping, problems: ProblemCollector
                              ) -> pd.DataFrame:
    """The body without rows that are a header row again (two exports joined into one file),
    each reported: read as data, one would be a record named "first_name last_name". Only rows
    whose first value reads as the first column's header are compared further."""
    if not len(body.columns) or not len(body):
        return body
    names = list(body.columns)
    first = body.iloc[:, 0].to_numpy()
    candidates = np.flatnonzero((first == headers[0]) | (first == names[0]))
    repeated = []
    for index in candidates:
        values = [str(value) for value in body.iloc[index]]
        if all(value == header or bool(value.strip()) and mapping.column_for(table, value) == name
               for value, header, name in zip(values, headers, names)):
            repeated.append(index)
    for index in repeated:
        problems.add("repeated-header", "this row repeats the header row (two exports joined "
                     "into one file?); delete it, and check that the rows after it belong in "
                     "this table", file=file, row=int(body.index[index]))
    if not repeated:
        return body
    keep = np.ones(len(body), dtype=bool)
    keep[repeated] = False
    return body[keep]


def tidy_table(body: pd.DataFrame, headers: tuple[str, ...], table: str, file: str,
          mapping: HeaderMapping, problems: ProblemCollector) -> pd.DataFrame | None:
    """Contract column names on the body, rows that are wholly blank dropped (their row
    numbers are kept by the others), and every required column present."""
    spec = TABLES[table]
    names: list[str] = []
    seen: set[str] = set()
    ok = True
    for position, header in enumerate(headers, start=1):
        name = mapping.column_for(table, header) if header.strip() else f"unnamed_{position}"
        if name in seen:
            if name in spec.columns:
                problems.add("duplicate-column", f"two columns read as {name}; remove or "
                             "rename one", file=file, row=1, column=header)
                ok = False
            suffix = 2
            while f"{name}_{suffix}" in seen:
                suffix += 1
            name = f"{name}_{suffix}"
        seen.add(name)
        names.append(name)
    for column in spec.required:
        if column not in seen:
            problems.add("missing-column", f"the required column {column} is missing from "
                         "the header row", file=file, row=1, column=column)
            ok = False
    if not ok:
        return None
    body = body.set_axis(names, axis=1)
    body = _without_repeated_headers(body, headers, table, file, mapping, problems)
    # Both readers give text only: the CSV parser (na_filter=False) pads a short row with "",
    # the workbook reader with cell_text. No NaN to fill, so the frame is not copied for it.
    if len(body.columns):
        blank = _blank_rows(body)
        if blank.any():
            body = body[~blank]
    elif len(body):
        body = body[~pd.Series(True, index=body.index)]
    if body.empty and table in TABLES_THAT_NEED_ROWS:
        problems.add("no-rows", f"the {table} table has a header but no rows; an export "
                     f"without {table} cannot be audited: export it again with its rows",
                     file=file)
        return None
    return body


def read_tables(tables: Iterable[str], locate: Callable[[str], str | None],
                read: Callable[[str, str], TableRead | None],
                absent: Callable[[str], TableSource],
                frames: dict[str, pd.DataFrame], sources: dict[str, TableSource]) -> None:
    """Each table read into ``frames`` and ``sources``. ``locate`` names the file (or sheet)
    holding it, ``None`` when the export has none: its source is then ``absent(table)``.
    ``read(table, label)`` gives the table, or ``None`` after reporting why not: its source is
    then the file alone, so the user still sees where it was."""
    for table in tables:
        label = locate(table)
        if label is None:
            sources[table] = absent(table)
            continue
        done = read(table, label)
        if done is None:
            sources[table] = TableSource(file=label)
        else:
            frames[table], sources[table] = done
