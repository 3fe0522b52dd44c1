"""The username-clash fix: the rename-username action planned from a finding (the options a
person decides among), and applied once decided.
"""

from __future__ import annotations

from typing import Any, Mapping

from audits.model.actions import RenameUsername
from audits.model.findings import Finding
from fixes.actions import base_action, text
from fixes.workspace import Settled, Stale, Workspace, one

RENAME_KEYS = {"contacts": "contact_id", "accounts": "account_id", "staff": "staff_id"}


def plan(finding: Finding) -> dict[str, Any]:
    """The rename-username action: the holders' options in the order they are suggested, and
    one undecided decision per holder that must change."""
    fix: RenameUsername = finding.fix
    username = text(fix.username or finding.username).lower()
    ranked: list[tuple[int, dict[str, str]]] = []
    accounts = fix.accounts
    # A contact record that already holds a parent account keeps its username when its email
    # changes (existing accounts are never regenerated): for it, the account is renamed.
    holders = {text(a.get("person_id")) for a in accounts
               if text(a.get("account_type")).lower() == "parent"}
    # The vendor's advice, in the order the options are suggested: the parent record whose
    # account is still to be generated takes a personal email (staff keep their work address),
    # else an existing parent account gets another username, else another existing account.
    recommended = fix.recommended_contact
    for contact in fix.contacts:
        cid = text(contact.get("contact_id"))
        held = cid in holders
        # The record the finding's steps recommend comes first among its equals.
        ranked.append((3 if held else 0 if cid == recommended or not recommended else 0.5, {
            "table": "contacts", "key": cid, "column": "email",
            "before": text(contact.get("email")),
            "why": "the parent record takes a personal email" + (
                " (its existing parent account keeps the username until renamed)"
                if held else "")}))
    for account in accounts:
        kind = text(account.get("account_type")) or "existing"
        ranked.append((1 if kind.lower() == "parent" else 2, {
            "table": "accounts", "key": text(account.get("account_id")),
            "column": "username", "before": username,
            "why": f"the {kind} account at school {text(account.get('school_id'))} "
                   "gets another username"}))
    for staff in fix.staff:
        ranked.append((4, {"table": "staff", "key": text(staff.get("staff_id")),
                           "column": "email", "before": text(staff.get("email")),
                           "why": "the staff record's email changes (last resort)"}))
    ranked.sort(key=lambda item: item[0])
    options = [option for _, option in ranked]
    # Each would-be account and each existing account is one holder of the username; all but
    # one must change for the clash to go. The last holder in the order above keeps it (a staff
    # account keeps the work address).
    distinct = [option for rank, option in ranked if rank <= 2]
    wanted = distinct[:max(1, len(distinct) - 1)] or options[:1] or [
        {"table": "", "key": "", "column": ""}]
    decisions = [{"table": o["table"], "key": o["key"], "column": o["column"], "new_value": None}
                 for o in wanted]
    action = base_action(finding, "rename-username")
    action.update({
        "username": username,
        "needs_decision": True,
        "options": options,
        "decision": decisions[0],
    })
    if len(decisions) > 1:
        action["more_decisions"] = decisions[1:]
    return action


def decisions(action: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A rename's decisions: ``decision`` and, when more than two holders share the username,
    ``more_decisions`` (every holder but one must change)."""
    more = action.get("more_decisions") or []
    return [action.get("decision") or {}, *(d or {} for d in more)]


def decided(action: Mapping[str, Any]) -> bool:
    return all(str(d.get("new_value") or "").strip() for d in decisions(action))


def waiting(action: Mapping[str, Any]) -> str | None:
    """Why apply leaves the rename alone: nobody has decided the new username yet."""
    if decided(action):
        return None
    return "needs a person's decision: fill in decision.new_value (and each of more_decisions)"


def apply(ws: Workspace, action: Mapping[str, Any]) -> bool:
    username = str(action.get("username", "")).strip().lower()
    holders = [o for o in action.get("options") or [] if isinstance(o, Mapping)]
    if len(holders) >= 2 and all(str(o.get("table")) == "contacts" for o in holders):
        # Contact records only, all made one by merges of this plan: one record holds the
        # username now, and changing its email would change a parent's login for nothing.
        followed = {follow_merge(ws, str(o.get("key"))) for o in holders}
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
            target, merge = follow_merge(ws, key)
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
    row = one(ws, table, f"{table} record {key}", **{RENAME_KEYS[table]: key})
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


def follow_merge(ws: Workspace, key: str) -> tuple[str, str]:
    """The survivor a merge of this plan retired ``key`` into (through chained merges), and that
    merge's finding id; ``key`` and "" when no merge retired it."""
    seen = set()
    merge = ""
    while key in ws.merged_into and key not in seen:
        seen.add(key)
        key, merge = ws.merged_into[key]
    return key, merge
