"""A fix plan: one reviewable action per finding, each naming the values it expects to find.

The plan is data a person reads and edits before anything changes (docs/fix-plan.md). The HTML
report's review download writes the same format: it builds the envelope with
:func:`plan_document` and fills ``actions`` with the :func:`plan_action` of each accepted finding
(the report embeds the actions, so the envelope must not depend on them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from audits.household.survivor import SURVIVOR_FIELDS
from audits.model.errors import InputProblem, UserError
from audits.model.findings import Finding
from fixes import registry
from fixes.actions import MANUAL, base_action, text as value_text
from fixes.preconditions import describe as describe_preconditions

SCHEMA = "connect-audit/fix-plan/v1"

REVIEW_NOTE = (
    "Review every action before applying. Delete an action to skip it. A rename-username "
    "action is applied only once its decision.new_value holds the username a person chose "
    "(and decision.table/key/column name the record to change, one of its options).")


def plan_action(finding: "Finding | Mapping[str, Any]") -> dict | None:
    """The plan action for one finding (a :class:`Finding`, or its findings.json entry, read
    with :meth:`Finding.from_dict`), or ``None`` when it has no fix.

    A finding whose fix is not automatic (missing usernames) becomes a ``manual`` action that
    carries only its runbook steps; apply never changes anything for it.
    """
    handlers = registry.handlers()  # loads the checks, so their own action types read back
    if not isinstance(finding, Finding):
        finding = Finding.from_dict(finding)
    fix = finding.fix
    kind = fix.get("action")
    handler = handlers.get(kind)
    if handler is not None:
        if not isinstance(fix, handler.kind):
            problem = getattr(fix, "problem", "")
            raise ValueError(f"it does not read as a {kind} fix"
                             + (f": {problem}" if problem else ""))
        action = handler.plan(finding)
        action["preconditions"] = describe_preconditions(action["action"])
        return action
    if fix.steps or kind:
        action = base_action(finding, MANUAL)
        action["preconditions"] = describe_preconditions(MANUAL)
        action["needs_decision"] = True
        return action
    return None


def plan_document(actions: list[dict], *, source: str | None,
                  export: Mapping[str, Any] | None = None, reviewer: str | None = None,
                  rejected: list[dict] | None = None) -> dict:
    """The plan envelope around ``actions`` (nothing in it is derived from them); ``export`` is
    the fingerprint of the export the findings came from, which binds the plan to it.
    ``reviewer`` is who reviewed it and ``rejected`` the findings they looked at and turned
    down (``finding``, ``decided_at``, ``decided_by``, ``reason``): `apply` changes nothing for
    those, and a later review knows they were seen."""
    document = {"schema": SCHEMA, "source": source, "review": REVIEW_NOTE}
    if reviewer:
        document["reviewer"] = reviewer
    if export:
        document["export"] = dict(export)
    document["actions"] = list(actions)
    if rejected is not None:
        document["rejected"] = list(rejected)
    return document


def build_plan(findings_doc: dict, *, checks=None, min_confidence=None, source=None) -> dict:
    """A plan for every finding of a findings.json document, optionally only some checks and
    findings at or above a confidence."""
    if not isinstance(findings_doc, Mapping) or not isinstance(findings_doc.get("findings"), list):
        raise UserError("Not a findings.json document: it has no \"findings\" list")
    wanted = set(checks) if checks else None
    actions = []
    problems: list[InputProblem] = []
    for finding in findings_doc["findings"]:
        if wanted is not None and finding.get("check") not in wanted:
            continue
        if min_confidence is not None and float(finding.get("confidence", 1.0)) < min_confidence:
            continue
        try:
            action = plan_action(finding)
        except UserError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # findings.json passed its schema, so this is an edited or foreign finding whose
            # fix does not make sense: name it rather than fail.
            problems.append(InputProblem("bad-finding", f"its fix cannot be planned ({error})",
                                         value=str(finding.get("id"))[:200]))
            continue
        if action is not None:
            actions.append(action)
    if problems:
        raise UserError(f"{len(problems)} finding(s) of the document cannot be planned",
                        problems)
    others = OtherFindings(findings_doc["findings"])
    actions = [others.settle(action) for action in actions]
    given = findings_doc.get("input") if isinstance(findings_doc.get("input"), Mapping) else {}
    return plan_document(actions, source=source, export=given.get("fingerprint"))


class OtherFindings:
    """What one finding's action must know of the document's other findings (the plan's and
    the review page's actions are settled the same way, whichever made them):

    - a username clash between two records of one person is resolved by merging them (its own
      steps say: do not rename the username or change the email). Its action changes nothing:
      it names the duplicate-contact finding that resolves it, or, when none covers its
      records, stays a manual action (merge them by hand);
    - a merge does not copy an email that is a clashing username onto the survivor: that only
      moves the clash to another record. The username-clash finding's decision settles it."""

    def __init__(self, findings: Iterable[Mapping[str, Any]]) -> None:
        from audits.checks.username_clash.check import ONE_PERSON_TWO_RECORDS

        self.groups: dict[str, list[tuple[str, set[str]]]] = {}
        """Each contact record -> the duplicate-contact groups (id, records) holding it."""
        self.one_person: set[str] = set()
        self.clashes: dict[str, str] = {}
        for finding in findings:
            check = finding.get("check")
            if check == "duplicate-contact":
                members = {value_text(c) for c in
                           (finding.get("entities") or {}).get("contacts") or []}
                for contact in members:
                    self.groups.setdefault(contact, []).append((finding["id"], members))
            elif check == "username-clash":
                if (finding.get("fix") or {}).get("cause") == ONE_PERSON_TWO_RECORDS:
                    self.one_person.add(finding["id"])
                if finding.get("username"):
                    self.clashes[value_text(finding.get("username")).lower()] = finding["id"]

    def settle(self, action: dict) -> dict:
        if action["action"] == "rename-username" and action["finding"] in self.one_person:
            return self._left_to_its_merge(action)
        if action["action"] == "merge-contacts" and self.clashes:
            self._hold_clashing_emails(action)
        return action

    def _left_to_its_merge(self, action: dict) -> dict:
        contacts = {o["key"] for o in action.get("options", []) if o.get("table") == "contacts"}
        merge = next((fid for fid, members in self.groups.get(min(contacts), ())
                      if contacts <= members), None) if contacts else None
        manual = {key: action[key] for key in ("finding", "check", "title", "confidence",
                                               "steps")}
        manual.update({"action": "manual", "needs_decision": merge is None,
                       "preconditions": describe_preconditions("manual")})
        if merge is not None:
            manual["resolved_by"] = merge
            manual["note"] = (f"Resolved by {merge}: merging the records leaves one record "
                              "holding the username; nothing of this action changes.")
        return manual

    def _hold_clashing_emails(self, action: dict) -> None:
        kept = []
        for fill in action["fill"]:
            clash = self.clashes.get(fill["value"].lower()) if fill["column"] == "email" \
                else None
            if clash:
                action.setdefault("held", []).append({**fill, "why": f"username clash {clash}"})
            else:
                kept.append(fill)
        action["fill"] = kept


def read_plan(path: str | Path) -> dict:
    """The fix plan at ``path``, checked against :data:`PLAN_SCHEMA` (a plan is edited by hand:
    a wrong type or size is refused with the field's name before anything uses it)."""
    from audits.io.documents import read_document

    return read_document(path, what="fix plan", schema=PLAN_SCHEMA, max_bytes=MAX_PLAN_BYTES,
                         missing=f"Plan file not found: {path}",
                         kind=("fix plan", SCHEMA))


# A plan of every finding of a 1,000,000-student board is some hundreds of MB.
MAX_PLAN_BYTES = 1024 ** 3


DECIDED_AT = {"type": "string", "maxLength": 40,
              "pattern": r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:"
                         r"[0-5]\d(\.\d+)?Z$"}
"""When a reviewer decided: ISO 8601 in UTC, as the review page writes it."""


def _action_schemas() -> dict[str, dict[str, Any]]:
    """Per action: the fields it must have and their types, beside the ones every action has."""
    from audits.io.documents import ID, strings, text

    pair = {"type": "array", "minItems": 2, "maxItems": 2, "items": ID}
    decision = {"type": "object", "properties": {
        "table": {"enum": ["contacts", "accounts", "staff", ""]}, "key": text(200),
        "column": {"enum": ["email", "username", ""]},
        "new_value": {"type": ["string", "null"], "maxLength": 320}}}
    value = {"type": ["string", "number", "boolean", "null"], "maxLength": 2000}
    link = {"type": "object", "properties": {
        "contact_id": ID, "student_id": ID, "relationship": text(200),
        "portal_access": {"type": ["boolean", "string", "null"], "maxLength": 20}}}
    return {
        "merge-contacts": {
            "required": ["survivor", "retire"],
            "properties": {
                "survivor": ID, "survivor_reason": text(1000),
                "confirm_same_person": {"type": ["array", "null"], "maxItems": 1000,
                                        "items": ID},
                "decision_note": text(5000),
                "retire": {**strings(1000), "minItems": 1},
                "fill": {"type": "array", "maxItems": 100, "items": {
                    "type": "object", "required": ["column", "value"],
                    "properties": {"column": {"enum": list(SURVIVOR_FIELDS)},
                                   "value": text(2000), "from": ID}}},
                "held": {"type": "array", "maxItems": 100},
                "expect": {"type": "object", "properties": {
                    "records": {"type": "object", "maxProperties": 1000,
                                "additionalProperties": {
                                    "type": "object", "maxProperties": 100,
                                    "additionalProperties": value}},
                    "links": {"type": "array", "maxItems": 100_000, "items": link},
                    "parent_accounts": {"type": "object", "maxProperties": 1000,
                                        "additionalProperties": strings(1000)}}}}},
        "link-siblings": {"required": ["pairs"],
                          "properties": {"pairs": {"type": "array", "maxItems": 1_000_000,
                                                   "items": pair}}},
        "add-permission": {"required": ["account_id", "students"],
                           "properties": {"account_id": ID, "username": text(320),
                                          "students": {**strings(10_000), "minItems": 1}}},
        "rename-username": {"required": ["username", "decision"],
                            "properties": {"username": text(320), "decision": decision,
                                           "more_decisions": {"type": "array", "maxItems": 1000,
                                                              "items": decision},
                                           "options": {"type": "array", "maxItems": 1000}}},
        "manual": {"properties": {"resolved_by": text(200)}},
    }


def _plan_schema() -> dict[str, Any]:
    from audits.io.documents import FINGERPRINT, strings, text

    common = {"finding": text(200), "check": text(100), "title": text(5000),
              "confidence": {"type": "number", "minimum": 0, "maximum": 1},
              "needs_decision": {"type": "boolean"}, "steps": strings(10_000, text(20_000)),
              "note": text(5000), "preconditions": strings(100, text(1000)),
              "decided_at": DECIDED_AT, "decided_by": text(200)}
    variants = [{"if": {"properties": {"action": {"const": name}}, "required": ["action"]},
                 "then": {"required": spec.get("required", []),
                          "properties": {**common, **spec["properties"]}}}
                for name, spec in _action_schemas().items()]
    return {
        "type": "object",
        "required": ["schema", "actions"],
        "properties": {
            "schema": {"const": SCHEMA},
            "source": {"type": ["string", "null"], "maxLength": 4096},
            "review": text(5000),
            "export": FINGERPRINT,
            "reviewer": text(200),
            "rejected": {"type": "array", "maxItems": 5_000_000, "items": {
                "type": "object", "required": ["finding"],
                "properties": {"finding": text(200), "decided_at": DECIDED_AT,
                               "decided_by": text(200), "reason": text(5000)}}},
            "actions": {"type": "array", "maxItems": 5_000_000, "items": {
                "type": "object", "required": ["finding", "action"],
                "properties": {"action": {"enum": list(registry.actions())}, "finding": text(200)},
                "allOf": variants}},
        },
    }


PLAN_SCHEMA = _plan_schema()


def dumps_plan(plan: Mapping[str, Any]) -> str:
    return json.dumps(plan, ensure_ascii=False, indent=1)
