"""Apply a reviewed fix plan to a copy of a board export: dry run, refusal of stale actions,
the share threshold, the change log and the undo record.

Each action is checked against the export as it is now, in plan order, and is one of:
``apply`` (its preconditions hold), ``already applied`` (the export already shows its result,
so applying a plan twice changes nothing), ``stale`` (what it expects is no longer there;
refused and named) or ``skipped`` (a manual action, or a rename nobody has decided yet).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from audits.model.board import TABLES, parse_flag
from audits.io.cells import csv_cells, shown
from audits.model.errors import InputProblem, UserError
from audits.model.config import Config
from fixes.export_writer import ARTIFACTS, RawExport, RawTable, TableEdits, read_export, write_export
from fixes import preconditions
from fixes.plan import ACTIONS, SCHEMA

UNDO_DIR = ".connect-audit-undo"
UNDO_SCHEMA = "connect-audit/fix-undo/v1"
CHANGE_COLUMNS = ("table", "row", "key", "change", "column", "before", "after", "action",
                  "finding_id")
RETIRED_COLUMNS = ("retired_id", "survivor_id", "finding_id", "kept_in_contacts", "links_moved",
                   "accounts_moved")
# The identifying columns shown in the change log for each table.
ROW_KEYS = {name: spec.key or spec.required for name, spec in TABLES.items()}
PHONE_COLUMNS = frozenset({"home_phone", "cell_phone", "work_phone"})


# ----------------------------------------------------------------------------- results

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


@dataclass
class ApplyResult:
    actions: int
    applied: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    """Stale actions: (finding id, why)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per table: rows ``changed``, ``added``, ``removed``."""
    shares: dict[str, float] = field(default_factory=dict)
    written: Path | None = None
    retired: list[dict[str, str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """Dry run only: why ``--write`` would refuse this plan as it stands."""
    reviewer: str = ""
    """Who reviewed the plan (its ``reviewer``), "" when it does not say."""
    rejected: list[str] = field(default_factory=list)
    """Findings the reviewer rejected (the plan's ``rejected``): nothing is done for them."""

    def first_rows(self, table: str, limit: int = 5) -> list[Change]:
        return [change for change in self.changes if change.table == table][:limit]

    def changes_text(self, values: bool = True) -> str:
        """Every change, action by action in plan order, before → after (terraform plan's
        style): ``~`` a field set, ``+`` a row added, ``-`` a row removed. With ``values``
        False each value (and the row's key) is replaced by its length, for a log that must
        hold no personal data."""
        lines: list[str] = []
        current = None
        for change in self.changes:
            if (change.finding_id, change.action) != current:
                current = (change.finding_id, change.action)
                lines.append(f"{shown(change.finding_id)} ({change.action}):")
            where = (f"{change.table} row {change.row}" if change.row
                     else f"{change.table} new row")
            key = f" [{shown(change.key)}]" if change.key and values else ""
            if change.change == "set":
                lines.append(f"  ~ {where}{key} {shown(change.column)}: "
                             f"{_value(change.before, values)} → {_value(change.after, values)}")
            elif change.change == "add":
                lines.append(f"  + {where}{key}: {_value(change.after, values)}")
            else:
                lines.append(f"  - {where}{key}: {_value(change.before, values)}")
        return "\n".join(lines)

    def text(self, limit: int = 5, values: bool | None = None) -> str:
        """What ``fix apply`` prints. ``values`` (a dry run's before → after of every change,
        or, False, the same lines with each value's length only) adds :meth:`changes_text`;
        None prints the counts and the first rows of each table, where and why only."""
        lines = [f"Wrote the fixed export to {shown(str(self.written))}" if self.written
                 else "Dry run: nothing written (use --write to write the fixed export)."]
        if values is not None and self.changes:
            lines.append("Changes, action by action (~ set, + added row, - removed row):")
            lines.append(self.changes_text(values))
        lines.append(f"Plan: {self.actions} actions; {len(self.applied)} to apply, "
                     f"{len(self.already_applied)} already applied, {len(self.refused)} stale, "
                     f"{len(self.skipped)} skipped.")
        if self.reviewer or self.rejected:
            # The reviewer is the analyst who signed the plan off, named so that the log says
            # whose decisions were applied.
            lines.append((f"Reviewed by {shown(self.reviewer)}" if self.reviewer
                          else "Reviewer not named")
                         + f"; {len(self.rejected)} rejected finding(s) left as they are.")
        for table, counts in self.counts.items():
            lines.append(f"{table}: {counts['changed']} changed, {counts['added']} added, "
                         f"{counts['removed']} removed of {self.table_rows.get(table, 0)} rows "
                         f"({self.shares.get(table, 0.0):.2%})")
            # Where and why only: this text ends up in scheduled-job logs, so no value (a name,
            # an email, an id that is a username) is printed; changes.csv has them.
            if values is not None:
                continue  # every change is listed above
            for change in self.first_rows(table, limit):
                where = f"row {change.row}" if change.row else "new row"
                what = f"set {shown(change.column)}" if change.change == "set" else change.change
                lines.append(f"  {table} {where}: {what} ({change.action} "
                             f"{shown(change.finding_id)})")
            total = sum(1 for change in self.changes if change.table == table)
            if total > limit:
                lines.append(f"  ... and {total - limit} more changes")
        if self.changes and not values:
            lines.append("Values before and after: changes.csv in the fixed export (--write)"
                         + ("." if values is None else ", or this dry run with --values."))
        for finding_id, reason in self.refused:
            lines.append(f"Stale, refused: {finding_id}: {shown(reason)}")
        # Skipped actions are many (every finding with no automatic fix): a count per reason.
        reasons: dict[str, int] = {}
        for _, reason in self.skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            lines.append(f"Skipped {count} action(s): {shown(reason)}")
        for message in self.blocked:
            lines.append(f"With --write this plan would be refused: {message}")
        return "\n".join(lines)


def _value(value: str, shown_as_is: bool) -> str:
    if not shown_as_is:
        return f"<{len(value)} characters>" if value else "<empty>"
    return shown(value) if value else '""'


def _loose(column: str, value: str) -> str:
    if column in PHONE_COLUMNS:
        return re.sub(r"\D", "", value)
    return " ".join(value.casefold().split())


class Stale(Exception):
    """An action's preconditions no longer hold."""


class Settled(Exception):
    """An action with nothing left to do because another action of the plan settled it."""


# ----------------------------------------------------------------------------- the export as it changes

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


# ----------------------------------------------------------------------------- the actions

def _flag(value: str) -> bool:
    return parse_flag(value) is True




def _one(ws: Workspace, name: str, what: str, **where: str) -> int:
    rows = ws.find(name, **where)
    if not rows:
        raise Stale(f"{what} no longer exists")
    return rows[0]


def _parent_accounts(ws: Workspace, contact_id: str) -> list[int]:
    if "accounts" not in ws.export.tables:
        return []
    return [row for row in ws.find("accounts", person_id=contact_id)
            if ws.get("accounts", row, "account_type").strip().lower() == "parent"]


def _active(ws: Workspace, name: str, row: int) -> bool:
    return ws.get(name, row, "status").strip().lower() not in ("inactive", "disabled")


def merge_contacts(ws: Workspace, action: Mapping[str, Any]) -> bool:
    survivor = str(action["survivor"])
    retire = [str(c) for c in action["retire"]]
    expect = action.get("expect", {}) or {}
    ws.table("contacts")
    ws.table("student_contacts")
    rows = {survivor: _one(ws, "contacts", f"contact record {survivor}", contact_id=survivor)}
    for cid in retire:
        found = ws.find("contacts", contact_id=cid)
        if found:
            rows[cid] = found[0]
        elif "records" in expect and cid not in (expect.get("records") or {}):
            raise Stale(f"contact record {cid} no longer exists")
    start = len(ws.changes)
    if not _parent_accounts(ws, survivor):
        holders = [cid for cid in retire if _parent_accounts(ws, cid)]
        if holders:
            raise Stale(f"contact record {holders[0]} holds a parent account but the plan keeps "
                        f"{survivor}; plan again")
    for cid, planned_accounts in (expect.get("parent_accounts", {}) or {}).items():
        # The merge disables or re-points the retired records' accounts: only the ones the
        # reviewer saw. (Once retired, a record holds none: its accounts are the survivor's.)
        if str(cid) in rows and str(cid) != survivor:
            held = {ws.get("accounts", r, "account_id").strip()
                    for r in _parent_accounts(ws, str(cid))}
            if not {str(a) for a in planned_accounts or []} <= held:
                raise Stale(f"contact record {cid}'s parent accounts changed since the plan")
    fills = {f["column"]: f for f in action.get("fill", [])}
    contacts = ws.export.tables["contacts"]
    planned: dict[str, set[tuple[str, bool]]] = {cid: set() for cid in retire}
    for link in expect.get("links", []) or []:
        if link["contact_id"] in planned:
            planned[link["contact_id"]].add((link["student_id"], bool(link["portal_access"])))
    current = {cid: ws.find("student_contacts", contact_id=cid) for cid in retire}
    survivor_students = {ws.get("student_contacts", r, "student_id").strip()
                         for r in ws.find("student_contacts", contact_id=survivor)}
    gone = [cid for cid in retire if cid not in rows]
    if gone and len(gone) < len(retire) and any(current[c] for c in retire if c in rows):
        raise Stale(f"contact record {gone[0]} no longer exists")
    moved_already = all(not current[cid] for cid in retire) and all(
        student in survivor_students for cid in retire for student, _ in planned[cid])
    filled_already = all(ws.get("contacts", rows[survivor], c).strip() for c in fills
                         if contacts.has(c))
    if moved_already and filled_already and not any(
            cid in rows and _can_leave(ws, cid) for cid in retire):
        return False
    # Checked once the merge is known not to be done already: a later action of the same plan
    # (a decided rename) may have changed the survivor since, and the plan stays idempotent.
    for cid, values in (expect.get("records", {}) or {}).items():
        if cid not in rows:
            continue
        for column, value in values.items():
            if not contacts.has(column):
                continue
            now = ws.get("contacts", rows[cid], column).strip()
            if cid == survivor and column in fills:
                if now and _loose(column, now) != _loose(column, fills[column]["value"]):
                    raise Stale(f"contact record {cid}'s {column} changed since the plan")
                continue
            if _loose(column, now) != _loose(column, str(value)):
                raise Stale(f"contact record {cid}'s {column} changed since the plan")
    if expect.get("links"):
        for cid in retire:
            now = {(ws.get("student_contacts", r, "student_id").strip(),
                    _flag(ws.get("student_contacts", r, "portal_access"))) for r in current[cid]}
            if now != planned[cid]:
                raise Stale(f"contact record {cid}'s student links changed since the plan")
    moved_portal: list[str] = []
    for cid in retire:
        for row in sorted(current[cid]):
            student = ws.get("student_contacts", row, "student_id").strip()
            portal = ws.get("student_contacts", row, "portal_access")
            relationship = ws.get("student_contacts", row, "relationship")
            if _flag(portal):
                moved_portal.append(student)
            kept = ws.find("student_contacts", student_id=student, contact_id=survivor)
            if kept:
                # Both records link this student: one link stays, with the stronger flags.
                target = kept[0]
                if _flag(portal) and not _flag(ws.get("student_contacts", target, "portal_access")):
                    ws.set("student_contacts", target, "portal_access", portal)
                mine = ws.get("student_contacts", target, "relationship")
                parental = ws.config.is_parental
                if relationship.strip() and (not mine.strip() or (parental(relationship)
                                                                  and not parental(mine))):
                    ws.set("student_contacts", target, "relationship", relationship)
                ws.remove("student_contacts", row)
            else:
                ws.set("student_contacts", row, "contact_id", survivor)
    for column, fill in fills.items():
        if not contacts.has(column) or ws.get("contacts", rows[survivor], column).strip():
            continue
        donor = rows.get(fill["from"])
        value = ws.get("contacts", donor, column) if donor is not None else fill["value"]
        ws.set("contacts", rows[survivor], column, value or fill["value"])
    adopted = _retire_accounts(ws, survivor, [cid for cid in retire if cid in rows])
    # A retired record leaves contacts for FIXED/retired_contacts.csv (whole, with the links it
    # gave up), so generation and the next audit see one record per parent. Its parent accounts
    # are the survivor's now; only where they cannot be (an accounts table with no status
    # column, so a second active account could not be disabled) does the record stay.
    for cid in retire:
        if cid in rows and not _parent_accounts(ws, cid):
            ws.remove("contacts", rows[cid])
    # The survivor's parent accounts must see the children it now has portal access to, or the
    # next audit reports missing sibling access for every merged family: its own accounts the
    # moved children, an account it took over from a retired record all of them.
    if "account_students" in ws.export.tables and (moved_portal or adopted):
        every = [ws.get("student_contacts", r, "student_id").strip()
                 for r in sorted(ws.find("student_contacts", contact_id=survivor))
                 if _flag(ws.get("student_contacts", r, "portal_access"))]
        for account_row in _parent_accounts(ws, survivor):
            if not _active(ws, "accounts", account_row):
                continue
            account_id = ws.get("accounts", account_row, "account_id").strip()
            wanted = every if account_row in adopted else moved_portal
            _grant(ws, account_id, wanted)
    return len(ws.changes) > start


def _can_leave(ws: Workspace, cid: str) -> bool:
    """Whether a retired record still in contacts would leave it (its accounts, if any, can be
    handed to the survivor)."""
    return not _parent_accounts(ws, cid) or ws.export.tables["accounts"].has("status")


def _grant(ws: Workspace, account_id: str, students: list[str]) -> None:
    has_students = "students" in ws.export.tables
    for student in dict.fromkeys(students):
        if has_students:
            found = ws.find("students", student_id=student)
            if not found or not _active(ws, "students", found[0]):
                continue
        if not ws.find("account_students", account_id=account_id, student_id=student):
            ws.add("account_students", {"account_id": account_id, "student_id": student})


def _retire_accounts(ws: Workspace, survivor: str, retired: list[str]) -> set[int]:
    """Hand the retired records' parent accounts to the survivor, the way a support person
    retires a duplicate's account: re-pointed (``person_id`` = the survivor, so no account names
    a record that left contacts) and disabled, so one parent has one login. When the survivor
    holds no active parent account, the first active one of a retired record stays active
    instead (the parent keeps the login they use) and is returned, to be given every child.

    Without a ``status`` column an account cannot be disabled: the records then keep their
    accounts (and stay in contacts) rather than leave the parent two active logins."""
    if "accounts" not in ws.export.tables:
        return set()
    held = {cid: _parent_accounts(ws, cid) for cid in retired}
    if not any(held.values()):
        return set()
    if not ws.export.tables["accounts"].has("status"):
        # Every account is active then, the survivor's too (a merge never keeps a record
        # without an account over one with an account): a second one would need disabling.
        return set()
    active_here = any(_active(ws, "accounts", r) for r in _parent_accounts(ws, survivor))
    adopted: set[int] = set()
    for cid in retired:
        for row in held[cid]:
            if _active(ws, "accounts", row):
                if active_here:
                    ws.set("accounts", row, "status", "disabled")
                else:
                    adopted.add(row)
                    active_here = True
            ws.set("accounts", row, "person_id", survivor)
    return adopted


def link_siblings(ws: Workspace, action: Mapping[str, Any]) -> bool:
    ws.table("siblings")
    pairs = [(str(a), str(b)) for a, b in action["pairs"]]
    if "students" in ws.export.tables:
        for student in sorted({s for pair in pairs for s in pair}):
            _one(ws, "students", f"student {student}", student_id=student)
    changed = False
    for a, b in pairs:
        if ws.find("siblings", student_id=a, sibling_id=b) or ws.find(
                "siblings", student_id=b, sibling_id=a):
            continue
        ws.add("siblings", {"student_id": a, "sibling_id": b})
        changed = True
    return changed


def add_permission(ws: Workspace, action: Mapping[str, Any]) -> bool:
    account_id = str(action["account_id"])
    ws.table("account_students")
    row = _one(ws, "accounts", f"account {account_id}", account_id=account_id)
    if all(ws.find("account_students", account_id=account_id, student_id=str(student))
           for student in action["students"]):
        # Already done: a later action of the plan (a decided rename) may have renamed it since.
        return False
    username = str(action.get("username") or "").strip().lower()
    if username and ws.get("accounts", row, "username").strip().lower() != username:
        raise Stale(f"account {account_id}'s username changed since the plan")
    if not _active(ws, "accounts", row):
        raise Stale(f"account {account_id} is disabled")
    if "students" in ws.export.tables:
        for student in action["students"]:
            _one(ws, "students", f"student {student}", student_id=str(student))
    changed = False
    for student in action["students"]:
        if not ws.find("account_students", account_id=account_id, student_id=str(student)):
            ws.add("account_students", {"account_id": account_id, "student_id": str(student)})
            changed = True
    return changed


RENAME_KEYS = {"contacts": "contact_id", "accounts": "account_id", "staff": "staff_id"}


def decisions(action: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A rename's decisions: ``decision`` and, when more than two holders share the username,
    ``more_decisions`` (every holder but one must change)."""
    more = action.get("more_decisions") or []
    return [action.get("decision") or {}, *(d or {} for d in more)]


def decided(action: Mapping[str, Any]) -> bool:
    return all(str(d.get("new_value") or "").strip() for d in decisions(action))


def rename_username(ws: Workspace, action: Mapping[str, Any]) -> bool:
    username = str(action.get("username", "")).strip().lower()
    holders = [o for o in action.get("options") or [] if isinstance(o, Mapping)]
    if len(holders) >= 2 and all(str(o.get("table")) == "contacts" for o in holders):
        # Contact records only, all made one by merges of this plan: one record holds the
        # username now, and changing its email would change a parent's login for nothing.
        followed = {_follow_merge(ws, str(o.get("key"))) for o in holders}
        survivors = {key for key, _ in followed}
        merges = sorted({merge for _, merge in followed if merge})
        if len(survivors) == 1 and merges:
            raise Settled(f"the merge {merges[0]} makes its records one; the clash goes with it")
    # A decision for a contact record that a merge of this plan retired is the survivor's (the
    # parent record now). When two decisions land on one record, the one naming it directly
    # counts: the survivor takes one personal email, not two in turn.
    targets: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
    for decision in decisions(action):
        table, key = str(decision.get("table") or ""), str(decision.get("key") or "")
        target, merge = key, ""
        if table == "contacts" and not ws.find("contacts", contact_id=key):
            target, merge = _follow_merge(ws, key)
        if (table, target) not in targets or not merge:
            if (table, target) in targets and not targets[(table, target)][1]:
                continue
            targets[(table, target)] = (decision, merge)
    changed = False
    settled = []
    for (table, target), (decision, merge) in targets.items():
        try:
            changed |= _rename_one(ws, decision, target, username, merge)
        except Settled as why:
            settled.append(why)
    if settled and len(settled) == len(targets):
        raise settled[0]
    return changed


def _rename_one(ws: Workspace, decision: Mapping[str, Any], key: str, username: str,
                merge: str) -> bool:
    new_value = str(decision.get("new_value") or "").strip()
    table, column = (str(decision.get(k) or "") for k in ("table", "column"))
    if table not in RENAME_KEYS or column not in ("email", "username"):
        raise Stale(f"decision names {table}.{column}; use one of the action's options")
    row = _one(ws, table, f"{table} record {key}", **{RENAME_KEYS[table]: key})
    if not ws.export.tables[table].has(column):
        raise Stale(f"the {table} table has no {column} column")
    now = ws.get(table, row, column).strip().lower()
    if now == new_value.lower():
        return False
    if now != username:
        if merge:
            # The survivor does not hold the clashing value: the retired record's would-be
            # account is gone and its email was held, not copied. The merge settled the clash.
            raise Settled(f"its record was retired by the merge {merge}, which settles the "
                          "clash")
        raise Stale(f"{table} record {key}'s {column} changed since the plan")
    ws.set(table, row, column, new_value)
    return True


def _follow_merge(ws: Workspace, key: str) -> tuple[str, str]:
    """The survivor a merge of this plan retired ``key`` into (through chained merges), and that
    merge's finding id; ``key`` and "" when no merge retired it."""
    seen = set()
    merge = ""
    while key in ws.merged_into and key not in seen:
        seen.add(key)
        key, merge = ws.merged_into[key]
    return key, merge


HANDLERS: dict[str, Callable[[Workspace, Mapping[str, Any]], bool]] = {
    "merge-contacts": merge_contacts,
    "link-siblings": link_siblings,
    "add-permission": add_permission,
    "rename-username": rename_username,
}

REQUIRED = {
    "merge-contacts": ("survivor", "retire"),
    "link-siblings": ("pairs",),
    "add-permission": ("account_id", "students"),
    "rename-username": ("username", "decision"),
    "manual": (),
}


def validate_plan(plan: Any) -> list[dict]:
    """The plan's actions, or a ``UserError`` listing everything wrong with the file."""
    if not isinstance(plan, Mapping) or plan.get("schema") != SCHEMA:
        raise UserError(f"Not a fix plan: expected \"schema\": \"{SCHEMA}\"")
    actions = plan.get("actions")
    if not isinstance(actions, list):
        raise UserError("The fix plan has no \"actions\" list")
    problems: list[InputProblem] = []
    seen: set[str] = set()
    for number, action in enumerate(actions, 1):
        where = {"file": "plan", "row": number}
        if not isinstance(action, Mapping) or action.get("action") not in ACTIONS:
            problems.append(InputProblem("bad-action", "unknown or missing \"action\"; expected "
                                         + ", ".join(ACTIONS), **where))
            continue
        if not isinstance(action.get("finding"), str) or not action["finding"]:
            problems.append(InputProblem("bad-action", "every action names its \"finding\"",
                                         **where))
        elif action["finding"] in seen:
            problems.append(InputProblem("bad-action", "two actions name one finding",
                                         value=action["finding"], **where))
        else:
            seen.add(action["finding"])
        for key in REQUIRED[action["action"]]:
            if key not in action:
                problems.append(InputProblem("bad-action", f"{action['action']} needs \"{key}\"",
                                             **where))
    merged: dict[str, str] = {}
    for number, action in enumerate(actions, 1):
        if isinstance(action, Mapping) and action.get("action") == "merge-contacts":
            for contact in [action.get("survivor"), *(action.get("retire") or [])]:
                if contact in merged and merged[contact] != action.get("finding"):
                    # One record in two merges: the second would undo or fight the first.
                    problems.append(InputProblem(
                        "bad-action", f"contact record {contact} is in two merges "
                        f"({merged[contact]} and {action.get('finding')}); keep one",
                        file="plan", row=number))
                merged.setdefault(contact, action.get("finding"))
    for number, entry in enumerate(plan.get("rejected") or [], 1):
        finding = entry.get("finding") if isinstance(entry, Mapping) else None
        if finding in seen:
            # Accepted and rejected at once: which the reviewer meant is not for apply to guess.
            problems.append(InputProblem("bad-action", "a finding is both an action and "
                                         "rejected; keep one", value=str(finding),
                                         file="plan", row=number, column="rejected"))
    if problems:
        raise UserError("The fix plan cannot be applied", problems)
    return actions


# ----------------------------------------------------------------------------- apply

def apply_plan(plan: dict, board_path, out_path, *, write: bool = False, force: bool = False,
               apply_rest: bool = False, max_share: float = 0.05,
               config: Config | None = None) -> ApplyResult:
    """What ``plan`` changes in the export at ``board_path``; with ``write`` the fixed copy, its
    change log and its undo record written to the new folder ``out_path``. ``config`` (the
    audit's) decides which relationships are parental when two links of a merge meet."""
    actions = validate_plan(plan)
    board_path, out_path = Path(board_path), Path(out_path)
    if write:
        _check_out_path(board_path, out_path)
    export = read_export(board_path, limits=config.input_limits if config else None)
    source_fingerprint = check_bound(plan, export)
    ws = Workspace(export, config)
    for action in actions:
        if action["action"] == "merge-contacts":
            for cid in action.get("retire") or []:
                ws.merged_into[str(cid)] = (str(action["survivor"]), action["finding"])
    result = ApplyResult(actions=len(actions), reviewer=str(plan.get("reviewer") or ""),
                         rejected=[str(entry.get("finding")) for entry in plan.get("rejected") or []
                                   if isinstance(entry, Mapping)])
    retired: list[dict[str, str]] = []
    for action in actions:
        finding = action["finding"]
        kind = action["action"]
        if kind == "manual":
            # One wording for all (the summary counts skips per reason); the plan names which
            # finding resolves each.
            result.skipped.append((finding, "resolved by its duplicate-contact finding's merge "
                                            "(resolved_by in the plan; nothing of its own to "
                                            "change)" if action.get("resolved_by") else
                                  "no automatic fix; follow its steps in the SIS"))
            continue
        if kind == "rename-username" and not decided(action):
            result.skipped.append((finding, "needs a person's decision: fill in "
                                            "decision.new_value (and each of more_decisions)"))
            continue
        ws.action, ws.finding = kind, finding
        mark = len(ws.changes)
        saved = _snapshot(ws)
        try:
            preconditions.check(ws, action)
            changed = HANDLERS[kind](ws, action)
        except preconditions.Undecided as undecided:
            _restore(ws, saved, mark, force=True)
            result.skipped.append((finding, str(undecided)))
            continue
        except preconditions.Refused as refused:
            reason = f"refused: {refused}"
            try:
                # A record that changed since the plan explains a failing rule about the
                # export's facts better (a rule about the plan itself stands as it is).
                if refused.rule is None or refused.rule.about_the_export:
                    HANDLERS[kind](ws, action)
            except Stale as stale:
                reason = str(stale)
            except Exception:  # noqa: BLE001 - the refusal stands whatever the handler does
                pass
            _restore(ws, saved, mark, force=True)
            result.refused.append((finding, reason))
            continue
        except Stale as stale:
            _restore(ws, saved, mark)
            result.refused.append((finding, str(stale)))
            continue
        except Settled as settled:
            _restore(ws, saved, mark)
            result.skipped.append((finding, str(settled)))
            continue
        except (KeyError, TypeError, ValueError) as error:
            _restore(ws, saved, mark)
            result.refused.append((finding, f"malformed action ({error})"))
            continue
        if changed:
            result.applied.append(finding)
            if kind == "merge-contacts":
                retired.extend(_retired_rows(ws, action, mark))
        else:
            result.already_applied.append(finding)
    result.changes = ws.changes
    result.retired = retired
    for name, table in export.tables.items():
        edits = ws.edits[name]
        data_rows = sum(1 for values in table.rows if values)
        result.table_rows[name] = data_rows
        if edits:
            changed = len(set(edits.updates) - edits.removed)
            result.counts[name] = {"changed": changed, "added": len(edits.added),
                                   "removed": len(edits.removed)}
            touched = changed + len(edits.added) + len(edits.removed)
            result.shares[name] = touched / max(data_rows, 1)
    stale = None
    if result.refused and not apply_rest:
        stale = UserError(
            f"{len(result.refused)} action(s) of the plan are stale (what they expect is no "
            "longer in the export); plan again, or pass --apply-rest to apply the others",
            [InputProblem("stale-action", f"{finding}: {reason}")
             for finding, reason in result.refused])
    over = {name: share for name, share in result.shares.items() if share > max_share}
    too_big = None
    if over and not force:
        too_big = UserError(
            f"The plan changes more than {max_share:.0%} of "
            + ", ".join(f"{export.tables[name].file} ({_touched(result, name)} of "
                        f"{result.table_rows[name]} rows, {share:.1%})"
                        for name, share in over.items())
            + "; review it and pass --force to apply it anyway",
            [InputProblem("over-threshold", f"{_touched(result, name)} of its "
                          f"{result.table_rows[name]} rows ({share:.1%}) would change",
                          file=export.tables[name].file) for name, share in over.items()])
    if not write:
        # A dry run shows everything the plan would do, and says what --write would refuse,
        # so that the reviewer sees the whole picture before deciding on --force/--apply-rest.
        result.blocked = [error.message for error in (stale, too_big) if error is not None]
        return result
    for error in (stale, too_big):
        if error is not None:
            raise error
    if write:
        _write(export, ws, result, board_path, out_path, source_fingerprint)
    return result


def _touched(result: ApplyResult, table: str) -> int:
    return sum(result.counts[table].values())


def fingerprint_of(export: RawExport) -> dict[str, Any]:
    """The fingerprint of the export as ``fix apply`` reads it, computed as the audit computes
    it (:mod:`audits.io.fingerprint`), so a plan's and an export's can be compared."""
    from audits.io.fingerprint import export_fingerprint

    return export_fingerprint(export.path, export.kind,
                              {name: table.file for name, table in export.tables.items()})


def check_bound(plan: Mapping[str, Any], export: RawExport) -> dict[str, Any]:
    """The fingerprint of the export the plan was made from, once it is known to be ``export``
    (or a fixed export written from it by a plan, unchanged since); else a ``UserError`` naming
    each table that differs. A plan acts on facts (records, links, accounts) of one export, and
    the same ids in another board name other people."""
    from audits.io.fingerprint import differences

    planned = plan.get("export")
    if not isinstance(planned, Mapping) or not planned.get("tables"):
        raise UserError(
            "The fix plan does not name the export it was made from (no \"export\" "
            "fingerprint): make it again from this export's findings.json with `connect-audit "
            "fix plan`, or download it again from the review")
    actual = fingerprint_of(export)
    found = differences(planned, actual)
    if not found:
        return dict(planned)
    lineage = _lineage(export)
    if lineage is not None and not differences(planned, lineage):
        # A fixed export this plan's export was turned into: applying the plan again finds its
        # actions already applied.
        return dict(planned)
    raise UserError(
        f"This fix plan was made from another export (or this one changed since the audit the "
        f"plan came from): the plan's export is {planned.get('export', '?')}, this one is "
        f"{actual['export']}; {len(found)} table(s) differ. Audit this export and plan again.",
        [InputProblem("plan-for-another-export", why, file=file or name)
         for name, file, why in found])


def _lineage(export: RawExport) -> Mapping[str, Any] | None:
    """For a fixed export written by ``fix apply --write`` and unchanged since, the fingerprint
    of the export it was made from, rebuilt from the bytes its undo record keeps: every file as
    it is now must match the record, and every original (kept in ``originals/`` or, for an
    unchanged file, the file itself) must hash to what the record says. So the result is the
    fingerprint of a real export whose files are here, never a value copied from the record."""
    if export.kind != "csv":
        return None
    try:
        from fixes.undo import read_manifest

        manifest = read_manifest(export.path)
    except (UserError, OSError):
        return None
    try:
        return _original_fingerprint(export, manifest)
    except OSError:
        return None


def _original_fingerprint(export: RawExport, manifest: Mapping[str, Any]
                          ) -> Mapping[str, Any] | None:
    from audits.io.fingerprint import export_id, file_sha256

    originals: dict[str, str] = {}
    for entry in manifest["files"]:
        current = export.path / entry["path"]
        if not current.is_file() or file_sha256(current) != entry["fixed_sha256"]:
            return None
        if entry["changed"]:
            kept = export.path / UNDO_DIR / "originals" / entry["path"]
            if not kept.is_file() or file_sha256(kept) != entry["original_sha256"]:
                return None
        elif entry["original_sha256"] != entry["fixed_sha256"]:
            return None
        originals[entry["path"]] = entry["original_sha256"]
    tables = {}
    for name, table in export.tables.items():
        if table.file not in originals:
            return None
        tables[name] = {"file": table.file, "sha256": originals[table.file]}
    return {"algorithm": "sha256", "export": export_id(tables), "tables": tables}


def _snapshot(ws: Workspace) -> dict[str, tuple]:
    return {name: ({row: dict(v) for row, v in e.updates.items()}, set(e.removed),
                   [dict(a) for a in e.added]) for name, e in ws.edits.items()}


def _restore(ws: Workspace, saved: dict[str, tuple], mark: int, force: bool = False) -> None:
    """Take back a half-done action (a handler checks before it changes, but stay safe)."""
    if len(ws.changes) == mark and not force:
        return
    for name, (updates, removed, added) in saved.items():
        ws.edits[name] = TableEdits(updates, removed, added)
    del ws.changes[mark:]
    ws._index.clear()


def _retired_rows(ws: Workspace, action: Mapping[str, Any], mark: int) -> list[dict[str, str]]:
    contacts = ws.export.tables["contacts"]
    rows = []
    for cid in action["retire"]:
        found = ws.index("contacts", "contact_id").get((str(cid),), [])
        if not found:
            continue
        row = found[0]
        moved = [c for c in ws.changes[mark:] if c.table == "student_contacts"
                 and f"contact_id={cid}" in c.key.split(", ")]
        entry = {"retired_id": str(cid), "survivor_id": str(action["survivor"]),
                 "finding_id": action["finding"],
                 "kept_in_contacts": "no" if row in ws.edits["contacts"].removed else
                 "yes (holds a parent account)",
                 "links_moved": "; ".join(sorted({c.key for c in moved})),
                 "accounts_moved": _accounts_moved(ws, str(cid), mark)}
        for header, column in zip(contacts.headers, contacts.columns):
            entry.setdefault(header, ws.get("contacts", row, column))
        rows.append(entry)
    return rows


def _accounts_moved(ws: Workspace, cid: str, mark: int) -> str:
    """The retired record's parent accounts and what became of them, for retired_contacts.csv."""
    if "accounts" not in ws.export.tables:
        return ""
    accounts = ws.export.tables["accounts"]
    person = accounts.headers[accounts.position["person_id"]]
    status = accounts.headers[accounts.position["status"]] if accounts.has("status") else None
    moved = [c.key for c in ws.changes[mark:] if c.table == "accounts" and c.column == person
             and c.before.strip() == cid]
    disabled = {c.key for c in ws.changes[mark:] if c.table == "accounts" and c.column == status}
    fates = []
    for key in sorted(set(moved)):
        account_id = key.split("account_id=", 1)[-1].split(",", 1)[0]
        rows = ws.find("accounts", account_id=account_id)
        fate = ("disabled" if key in disabled else "kept active"
                if rows and _active(ws, "accounts", rows[0]) else "already disabled")
        fates.append(f"{account_id} ({fate})")
    return "; ".join(fates)


def _check_out_path(board_path: Path, out_path: Path) -> None:
    from audits.io.outputs import probe_writable, remove_stale_fix_staging

    if out_path.exists():
        raise UserError(f"{out_path} already exists; choose a new folder for the fixed export")
    board, out = board_path.resolve(), out_path.resolve()
    if out == board or board in out.parents or (board.is_file() and out == board.parent):
        raise UserError("The fixed export must go to a new folder outside the board export")
    if out_path.parent.is_dir():
        # Staging folders of killed runs hold a full copy of the export: gone before anything.
        remove_stale_fix_staging(out_path.parent)
        probe_writable(out_path.parent, "The folder for --out")


def _csv_bytes(header: tuple[str, ...], rows: list[list[str]]) -> bytes:
    """A report for a person to open (changes.csv, retired_contacts.csv): the header too
    holds the export's own words (its extra columns), so it goes through the same rule."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_cells([str(h) for h in header]))
    width = max([len(header), *map(len, rows)])
    columns = [csv_cells([str(row[k]) if k < len(row) else "" for row in rows])
               for k in range(width)]
    writer.writerows(zip(*columns))
    # UTF-8 with a byte-order mark: Excel then reads names with accents correctly.
    return buffer.getvalue().encode("utf-8-sig")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(export: RawExport, ws: Workspace, result: ApplyResult, board_path: Path,
           out_path: Path, source_fingerprint: Mapping[str, Any] | None = None) -> None:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    from audits.io.files import replace_folder
    from audits.io.outputs import FIX_PREFIX, StagingClaim

    # Marked as ours (an owner file beside it, locked while this run lives): a run killed
    # half-way leaves a folder the next `fix apply` recognises and removes.
    claim = StagingClaim(out_path.parent, FIX_PREFIX, "fix apply --write staging", out_path)
    try:
        replace_folder(out_path, lambda staging: _fill_fixed(
            export, ws, result, board_path, out_path, source_fingerprint, staging),
            staging=claim.path)
    finally:
        claim.release()
    result.written = out_path


def _fill_fixed(export: RawExport, ws: Workspace, result: ApplyResult, board_path: Path,
                out_path: Path, source_fingerprint: Mapping[str, Any] | None,
                staging: Path) -> None:
    """The fixed export, its undo record and its reports, written into ``staging``; a full
    disk is named with the room the write needed."""
    from audits.io.outputs import is_no_space, no_space_error

    try:
        _fill_staging(export, ws, result, board_path, source_fingerprint, staging)
    except OSError as error:
        if not is_no_space(error):
            raise
        needed = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        raise no_space_error(out_path.parent, needed + 1_000_000) from None
    if out_path.exists():  # another run wrote it meanwhile: never merge into it
        raise UserError(f"{out_path} appeared while the fixed export was written; choose "
                        "a new folder for the fixed export")


def _fill_staging(export: RawExport, ws: Workspace, result: ApplyResult, board_path: Path,
                  source_fingerprint: Mapping[str, Any] | None, staging: Path) -> None:
    changed = write_export(export, ws.edits, staging)
    undo = staging / UNDO_DIR
    (undo / "originals").mkdir(parents=True)
    files = []
    for relative in (export.files if export.kind == "csv" else [export.path.name]):
        original = (export.path / relative if export.kind == "csv" else export.path)
        original_bytes = original.read_bytes()
        entry = {"path": relative, "original_sha256": sha256(original_bytes),
                 "fixed_sha256": sha256((staging / relative).read_bytes()),
                 "changed": relative in changed}
        if relative in changed:
            stored = undo / "originals" / relative
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(original_bytes)
        files.append(entry)
    (staging / "changes.csv").write_bytes(
        _csv_bytes(CHANGE_COLUMNS, [c.as_row() for c in result.changes]))
    artifacts = ["changes.csv"]
    if result.retired:
        # The retired records follow, whole, under the contacts file's own headers.
        headers = list(RETIRED_COLUMNS) + [h for h in export.tables["contacts"].headers
                                           if h not in RETIRED_COLUMNS]
        (staging / "retired_contacts.csv").write_bytes(_csv_bytes(
            tuple(headers), [[r.get(h, "") for h in headers] for r in result.retired]))
        artifacts.append("retired_contacts.csv")
    manifest = {"schema": UNDO_SCHEMA, "source": str(board_path), "kind": export.kind,
                "files": files, "artifacts": artifacts,
                "applied": result.applied, "source_fingerprint": source_fingerprint}
    if result.reviewer:
        manifest["reviewer"] = result.reviewer
    if result.rejected:
        manifest["rejected"] = result.rejected
    (undo / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False),
                                        encoding="utf-8")
