"""Apply a reviewed fix plan to a copy of a board export: dry run, refusal of stale actions,
the share threshold, the change log and the undo record.

Each action is checked against the export as it is now, in plan order, and is one of:
``apply`` (its preconditions hold), ``already applied`` (the export already shows its result,
so applying a plan twice changes nothing), ``stale`` (what it expects is no longer there;
refused and named) or ``skipped`` (a manual action, or a rename nobody has decided yet).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from audits.io.cells import csv_cells, shown
from audits.model.errors import InputProblem, UserError
from audits.model.config import Config
from fixes.export_writer import RawExport, read_export, write_export
from fixes import preconditions, registry
from fixes.binding import check_bound
from fixes.plan import SCHEMA
from fixes.undo import UNDO_DIR, UNDO_SCHEMA, sha256
from fixes.workspace import Change, Settled, Stale, Workspace, restore, snapshot

CHANGE_COLUMNS = ("table", "row", "key", "change", "column", "before", "after", "action",
                  "finding_id")
RETIRED_COLUMNS = ("retired_id", "survivor_id", "finding_id", "kept_in_contacts", "links_moved",
                   "accounts_moved")

# ----------------------------------------------------------------------------- results

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


def validate_plan(plan: Any) -> list[dict]:
    """The plan's actions, or a ``UserError`` listing everything wrong with the file."""
    if not isinstance(plan, Mapping) or plan.get("schema") != SCHEMA:
        raise UserError(f"Not a fix plan: expected \"schema\": \"{SCHEMA}\"")
    actions = plan.get("actions")
    if not isinstance(actions, list):
        raise UserError("The fix plan has no \"actions\" list")
    problems: list[InputProblem] = []
    seen: set[str] = set()
    known = registry.actions()
    handlers = registry.handlers()
    for number, action in enumerate(actions, 1):
        where = {"file": "plan", "row": number}
        if not isinstance(action, Mapping) or action.get("action") not in known:
            problems.append(InputProblem("bad-action", "unknown or missing \"action\"; expected "
                                         + ", ".join(known), **where))
            continue
        if not isinstance(action.get("finding"), str) or not action["finding"]:
            problems.append(InputProblem("bad-action", "every action names its \"finding\"",
                                         **where))
        elif action["finding"] in seen:
            problems.append(InputProblem("bad-action", "two actions name one finding",
                                         value=action["finding"], **where))
        else:
            seen.add(action["finding"])
        for key in (handlers[action["action"]].required
                    if action["action"] in handlers else ()):
            if key not in action:
                problems.append(InputProblem("bad-action", f"{action['action']} needs \"{key}\"",
                                             **where))
    for handler in handlers.values():
        if handler.validate is not None:
            problems += handler.validate(actions)
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
    handlers = registry.handlers()
    for action in actions:
        handler = handlers.get(action["action"])
        if handler is not None and handler.prepare is not None:
            handler.prepare(ws, action)
    result = ApplyResult(actions=len(actions), reviewer=str(plan.get("reviewer") or ""),
                         rejected=[str(entry.get("finding")) for entry in plan.get("rejected") or []
                                   if isinstance(entry, Mapping)])
    for action in actions:
        _apply_action(ws, handlers.get(action["action"]), action, result)
    result.changes = ws.changes
    _count(result, export, ws)
    blockers = _blockers(result, export, max_share, force=force, apply_rest=apply_rest)
    if not write:
        # A dry run shows everything the plan would do, and says what --write would refuse,
        # so that the reviewer sees the whole picture before deciding on --force/--apply-rest.
        result.blocked = [error.message for error in blockers]
        return result
    for error in blockers:
        raise error
    _write(export, ws, result, board_path, out_path, source_fingerprint)
    return result


def _apply_action(ws: Workspace, handler: registry.FixHandler | None, action: Mapping[str, Any],
                  result: ApplyResult) -> None:
    """One action of the plan, checked and applied by its handler; what became of it goes into
    ``result`` (the workspace is restored when it is refused or skipped half-way)."""
    finding = action["finding"]
    if handler is None:
        # The manual fallback. One wording for all (the summary counts skips per reason); the
        # plan names which finding resolves each.
        result.skipped.append((finding, "resolved by its duplicate-contact finding's merge "
                                        "(resolved_by in the plan; nothing of its own to "
                                        "change)" if action.get("resolved_by") else
                               "no automatic fix; follow its steps in the SIS"))
        return
    waiting = handler.waiting(action) if handler.waiting is not None else None
    if waiting:
        result.skipped.append((finding, waiting))
        return
    ws.action, ws.finding = action["action"], finding
    mark = len(ws.changes)
    saved = snapshot(ws)
    try:
        preconditions.check(ws, action)
        changed = handler.apply(ws, action)
    except preconditions.Undecided as undecided:
        restore(ws, saved, mark, force=True)
        result.skipped.append((finding, str(undecided)))
        return
    except preconditions.Refused as refused:
        reason = _refusal(ws, handler, action, refused)
        restore(ws, saved, mark, force=True)
        result.refused.append((finding, reason))
        return
    except (Stale, Settled, KeyError, TypeError, ValueError) as error:
        restore(ws, saved, mark)
        if isinstance(error, Settled):
            result.skipped.append((finding, str(error)))
        else:
            result.refused.append((finding, str(error) if isinstance(error, Stale)
                                   else f"malformed action ({error})"))
        return
    if not changed:
        result.already_applied.append(finding)
        return
    result.applied.append(finding)
    if handler.retired is not None:
        result.retired.extend(handler.retired(ws, action, mark))


def _refusal(ws: Workspace, handler: registry.FixHandler, action: Mapping[str, Any],
             refused: preconditions.Refused) -> str:
    """Why a refused action is refused: a record that changed since the plan explains a failing
    rule about the export's facts better (a rule about the plan itself stands as it is)."""
    reason = f"refused: {refused}"
    try:
        if refused.rule is None or refused.rule.about_the_export:
            handler.apply(ws, action)
    except Stale as stale:
        reason = str(stale)
    except Exception:  # noqa: BLE001 - the refusal stands whatever the handler does
        pass
    return reason


def _count(result: ApplyResult, export: RawExport, ws: Workspace) -> None:
    """Rows changed, added and removed per table, and the share of each table touched."""
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


def _blockers(result: ApplyResult, export: RawExport, max_share: float, *, force: bool,
              apply_rest: bool) -> list[UserError]:
    """What ``--write`` refuses: stale actions (unless --apply-rest), a share of a table over
    ``max_share`` (unless --force)."""
    blockers = []
    if result.refused and not apply_rest:
        blockers.append(UserError(
            f"{len(result.refused)} action(s) of the plan are stale (what they expect is no "
            "longer in the export); plan again, or pass --apply-rest to apply the others",
            [InputProblem("stale-action", f"{finding}: {reason}")
             for finding, reason in result.refused]))
    over = {name: share for name, share in result.shares.items() if share > max_share}
    if over and not force:
        blockers.append(UserError(
            f"The plan changes more than {max_share:.0%} of "
            + ", ".join(f"{export.tables[name].file} ({_touched(result, name)} of "
                        f"{result.table_rows[name]} rows, {share:.1%})"
                        for name, share in over.items())
            + "; review it and pass --force to apply it anyway",
            [InputProblem("over-threshold", f"{_touched(result, name)} of its "
                          f"{result.table_rows[name]} rows ({share:.1%}) would change",
                          file=export.tables[name].file) for name, share in over.items()]))
    return blockers


def _touched(result: ApplyResult, table: str) -> int:
    return sum(result.counts[table].values())


def _check_out_path(board_path: Path, out_path: Path) -> None:
    from audits.io.folders import probe_writable
    from audits.io.outputs import remove_stale_fix_staging

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
    from audits.io.folders import is_no_space, no_space_error

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
