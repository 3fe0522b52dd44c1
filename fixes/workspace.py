"""The export as a fix plan changes it: every change made so far, the lookups the actions need,
and the row helpers the apply handlers share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from audits.model.board import TABLES, parse_flag
from audits.model.config import Config
from fixes.export_writer import RawExport, RawTable, TableEdits

# The identifying columns shown in the change log for each table.
ROW_KEYS = {name: spec.key or spec.required for name, spec in TABLES.items()}
PHONE_COLUMNS = frozenset({"home_phone", "cell_phone", "work_phone"})


@dataclass(frozen=True)
class Change:
    table: str
    row: str
    """The row number in the input file ("" for an added row)."""
    key: str
    change: str
    """``set``, ``add`` or ``remove``."""
    column: str
    before: str
    after: str
    action: str
    finding_id: str

    def as_row(self) -> list[str]:
        return [self.table, self.row, self.key, self.change, self.column, self.before,
                self.after, self.action, self.finding_id]


def loose(column: str, value: str) -> str:
    if column in PHONE_COLUMNS:
        return re.sub(r"\D", "", value)
    return " ".join(value.casefold().split())


class Stale(Exception):
    """An action's preconditions no longer hold."""


class Settled(Exception):
    """An action with nothing left to do because another action of the plan settled it."""


class Workspace:
    """The export plus every change made so far, with the lookups the actions need."""

    def __init__(self, export: RawExport, config: Config | None = None) -> None:
        self.export = export
        self.config = config or Config()
        self.edits: dict[str, TableEdits] = {name: TableEdits() for name in export.tables}
        self.changes: list[Change] = []
        self._index: dict[tuple, Any] = {}
        self.merged_into: dict[str, tuple[str, str]] = {}
        """Retired contact record -> (its survivor, the merge's finding id), from the plan."""
        self.action = ""
        self.finding = ""

    def table(self, name: str) -> RawTable:
        if name not in self.export.tables:
            raise Stale(f"the export has no {name} table")
        table = self.export.tables[name]
        for column in ROW_KEYS[name]:
            if not table.has(column):
                raise Stale(f"the {name} table has no {column} column")
        return table

    def get(self, name: str, row: int, column: str) -> str:
        updates = self.edits[name].updates.get(row, {})
        if column in updates:
            return updates[column]
        if row >= len(self.export.tables[name].rows):
            return self.edits[name].added[row - len(self.export.tables[name].rows)].get(column, "")
        return self.export.tables[name].value(row, column)

    def rows(self, name: str) -> range:
        return range(len(self.export.tables[name].rows) + len(self.edits[name].added))

    def alive(self, name: str, row: int) -> bool:
        if row in self.edits[name].removed:
            return False
        return row >= len(self.export.tables[name].rows) or bool(self.export.tables[name].rows[row])

    def index(self, name: str, *columns: str) -> dict[tuple[str, ...], list[int]]:
        """Rows of ``name`` by the trimmed values of ``columns``, kept current by every change."""
        key = (name, columns)
        if key not in self._index:
            table = self.table(name)
            found: dict[tuple[str, ...], list[int]] = {}
            positions = [table.position.get(c) for c in columns]
            for row, values in enumerate(table.rows):
                if not values:
                    continue
                k = tuple(values[p].strip() if p is not None and p < len(values) else ""
                          for p in positions)
                found.setdefault(k, []).append(row)
            self._index[key] = found
        return self._index[key]

    def find(self, name: str, **where: str) -> list[int]:
        columns = tuple(where)
        rows = self.index(name, *columns).get(tuple(where[c].strip() for c in columns), [])
        return [row for row in rows if self.alive(name, row)]

    def _key(self, name: str, row: int) -> str:
        return ", ".join(f"{c}={self.get(name, row, c).strip()}" for c in ROW_KEYS[name])

    def _file_row(self, name: str, row: int) -> str:
        table = self.export.tables[name]
        return str(table.file_row(row)) if row < len(table.rows) else ""

    def _render(self, name: str, row: int) -> str:
        table = self.export.tables[name]
        return "; ".join(f"{header}={self.get(name, row, column)}"
                         for header, column in zip(table.headers, table.columns))

    def _reindex(self, name: str, row: int, change: Callable[[], None]) -> None:
        olds = {key: tuple(self.get(name, row, c).strip() for c in key[1])
                for key in self._index if key[0] == name}
        change()
        for key, old in olds.items():
            new = tuple(self.get(name, row, c).strip() for c in key[1])
            if new != old:
                rows = self._index[key].get(old, [])
                if row in rows:
                    rows.remove(row)
                self._index[key].setdefault(new, []).append(row)

    def set(self, name: str, row: int, column: str, value: str) -> None:
        before = self.get(name, row, column)
        if before == value:
            return
        self.changes.append(Change(name, self._file_row(name, row), self._key(name, row), "set",
                                   self.export.tables[name].headers[
                                       self.export.tables[name].position[column]],
                                   before, value, self.action, self.finding))

        def update() -> None:
            if row >= len(self.export.tables[name].rows):
                self.edits[name].added[row - len(self.export.tables[name].rows)][column] = value
            else:
                self.edits[name].updates.setdefault(row, {})[column] = value

        self._reindex(name, row, update)

    def remove(self, name: str, row: int) -> None:
        self.changes.append(Change(name, self._file_row(name, row), self._key(name, row),
                                   "remove", "", self._render(name, row), "", self.action,
                                   self.finding))
        self.edits[name].removed.add(row)

    def add(self, name: str, values: dict[str, str]) -> None:
        table = self.table(name)
        row = len(table.rows) + len(self.edits[name].added)
        self.edits[name].added.append(dict(values))
        for key in self._index:
            if key[0] == name:
                self._index[key].setdefault(
                    tuple(values.get(c, "").strip() for c in key[1]), []).append(row)
        self.changes.append(Change(name, "", self._key(name, row), "add", "", "",
                                   self._render(name, row), self.action, self.finding))


def flag(value: str) -> bool:
    return parse_flag(value) is True


def one(ws: Workspace, name: str, what: str, **where: str) -> int:
    rows = ws.find(name, **where)
    if not rows:
        raise Stale(f"{what} no longer exists")
    return rows[0]


def parent_accounts(ws: Workspace, contact_id: str) -> list[int]:
    if "accounts" not in ws.export.tables:
        return []
    return [row for row in ws.find("accounts", person_id=contact_id)
            if ws.get("accounts", row, "account_type").strip().lower() == "parent"]


def active(ws: Workspace, name: str, row: int) -> bool:
    return ws.get(name, row, "status").strip().lower() not in ("inactive", "disabled")


def snapshot(ws: Workspace) -> dict[str, tuple]:
    return {name: ({row: dict(v) for row, v in e.updates.items()}, set(e.removed),
                   [dict(a) for a in e.added]) for name, e in ws.edits.items()}


def restore(ws: Workspace, saved: dict[str, tuple], mark: int, force: bool = False) -> None:
    """Take back a half-done action (a handler checks before it changes, but stay safe)."""
    if len(ws.changes) == mark and not force:
        return
    for name, (updates, removed, added) in saved.items():
        ws.edits[name] = TableEdits(updates, removed, added)
    del ws.changes[mark:]
    ws._index.clear()
