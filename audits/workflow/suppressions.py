"""Decisions a person made once and later runs honour: "this finding is not a problem" (keyed by
the finding's stable id) and "these two contact records are different people" (keyed by the
record pair, because a duplicate group's id changes whenever a record joins or leaves it).

The file (``connect-audit/suppressions/v1``, JSON) is written by ``connect-audit suppress`` and,
in exactly the same format, by the HTML report's "Export suppressions" button::

    {
     "schema": "connect-audit/suppressions/v1",
     "suppressions": [
      {"finding": "username-clash:1a2b3c4d", "reason": "...", "by": "...", "at": "2026-11-28T12:00:00Z"},
      {"pair": ["C104", "C388"], "reason": "...", "by": "...", "at": "2026-11-28T12:00:00Z"}
     ]
    }

A pair decision works inside the duplicate matcher, before any check runs: the two records are
never put in one group, so the group is split into what the remaining accepted pairs still
join (strongest first, as the matcher does), and records left alone drop out. A group that was
only that pair disappears. Every check then sees the same answer (sibling families, clashes and
the generation preview count the two records as two people).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from audits.io.documents import read_document
from audits.model.errors import UserError
from audits.io.paths import file_or_folder
from audits.model.findings import Finding

SCHEMA = "connect-audit/suppressions/v1"


@dataclass(frozen=True)
class Suppression:
    """One decision: exactly one of ``finding`` (a stable finding id) or ``pair`` (two contact
    record ids, sorted)."""

    reason: str
    by: str
    at: str
    finding: str | None = None
    pair: tuple[str, str] | None = None

    @property
    def key(self) -> str:
        return f"finding:{self.finding}" if self.finding else f"pair:{self.pair[0]}|{self.pair[1]}"

    def to_dict(self) -> dict[str, Any]:
        # Key order is part of the format: the HTML export writes the same bytes.
        head: dict[str, Any] = ({"finding": self.finding} if self.finding
                                else {"pair": list(self.pair or ())})
        return {**head, "reason": self.reason, "by": self.by, "at": self.at}

    def describe(self) -> str:
        return (f"finding {self.finding}" if self.finding
                else f"contact records {self.pair[0]} and {self.pair[1]} are different people")


def now_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_suppression(*, finding: str | None = None, pair: Sequence[str] | None = None,
                     reason: str, by: str, at: str | None = None) -> Suppression:
    """A checked decision: one target, a reason and who decided."""
    if (finding is None) == (pair is None):
        raise UserError("A suppression names either one finding id or one pair of contact ids")
    if not str(reason or "").strip():
        raise UserError("A suppression needs a reason (--reason): the next analyst reads it")
    if not str(by or "").strip():
        raise UserError("A suppression needs who decided (--by)")
    if pair is not None:
        ids = tuple(sorted(str(p).strip() for p in pair))
        if len(ids) != 2 or not all(ids) or ids[0] == ids[1]:
            shown = " and ".join(str(p) for p in pair) or "none"
            raise UserError(f"A pair suppression names two different contact ids; "
                            f"it names {shown}")
        return Suppression(reason=str(reason).strip(), by=str(by).strip(), at=at or now_stamp(),
                           pair=(ids[0], ids[1]))
    text = str(finding).strip()
    if ":" not in text:
        raise UserError(f"{text!r} is not a finding id (they look like duplicate-contact:9f3c2a1b)")
    return Suppression(reason=str(reason).strip(), by=str(by).strip(), at=at or now_stamp(),
                       finding=text)


def parse_suppressions(document: Any, *, source: str = "suppressions file") -> list[Suppression]:
    if not isinstance(document, Mapping) or document.get("schema") != SCHEMA:
        raise UserError(f"{source} is not a connect-audit suppressions file "
                        f"(schema {SCHEMA!r} expected)")
    entries = document.get("suppressions")
    if not isinstance(entries, list):
        raise UserError(f"{source} has no \"suppressions\" list")
    found: dict[str, Suppression] = {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, Mapping):
            raise UserError(f"{source}: suppression {number} is not an object")
        try:
            item = make_suppression(finding=entry.get("finding"), pair=entry.get("pair"),
                                    reason=entry.get("reason", ""), by=entry.get("by", ""),
                                    at=str(entry.get("at") or "") or None)
        except UserError as error:
            raise UserError(f"{source}: suppression {number}: {error.message}") from None
        found[item.key] = item  # a later decision on the same target replaces the earlier
    return list(found.values())


SUPPRESSIONS_FILE = "suppressions.json"

SUPPRESSIONS_SCHEMA = {
    "type": "object", "required": ["schema", "suppressions"],
    "properties": {
        "schema": {"const": SCHEMA},
        "suppressions": {"type": "array", "maxItems": 1_000_000, "items": {
            "type": "object",
            "properties": {
                "finding": {"type": ["string", "null"], "maxLength": 200},
                "pair": {"type": ["array", "null"], "minItems": 2, "maxItems": 2,
                         "items": {"type": "string", "maxLength": 200}},
                "reason": {"type": "string", "maxLength": 10_000},
                "by": {"type": "string", "maxLength": 500},
                "at": {"type": ["string", "null"], "maxLength": 40}}}}}}


def suppressions_path(path: str | Path) -> Path:
    """The suppressions file at ``path``: the file itself, or ``suppressions.json`` in a folder.
    Checked before an audit runs, so a wrong path costs nothing."""
    return file_or_folder(path, SUPPRESSIONS_FILE, what="suppressions file",
                          hint="give the file `connect-audit suppress` or the report's "
                               "\"Export suppressions\" wrote")


def read_suppressions(*paths: str | Path) -> list[Suppression]:
    """Every decision of one or more files; a missing file is an error (a typo would silently
    bring back every suppressed finding)."""
    found: dict[str, Suppression] = {}
    for path in paths:
        path = suppressions_path(path)
        document = read_document(path, what="suppressions file", schema=SUPPRESSIONS_SCHEMA,
                                 max_bytes=256 * 1024 ** 2,
                                 missing=f"Suppressions file not found: {path}",
                                 kind=("suppressions file", SCHEMA))
        for item in parse_suppressions(document, source=path.name):
            found[item.key] = item
    return list(found.values())


def suppressions_document(items: Iterable[Suppression]) -> dict[str, Any]:
    return {"schema": SCHEMA, "suppressions": [item.to_dict() for item in items]}


def dumps_suppressions(items: Iterable[Suppression]) -> str:
    # indent=1 and a final newline: what JSON.stringify(doc, null, 1) + "\n" writes in the page.
    return json.dumps(suppressions_document(items), ensure_ascii=False, indent=1) + "\n"


def add_suppression(path: str | Path, item: Suppression) -> list[Suppression]:
    """Add (or replace, same target) one decision in the file at ``path``, creating it."""
    path = Path(path)
    items = read_suppressions(path) if path.exists() else []
    kept = [old for old in items if old.key != item.key] + [item]
    from audits.io.files import write_atomic

    write_atomic(path, dumps_suppressions(kept))
    return kept


# ------------------------------------------------------------------------------ applying

def split_matches(matches, pairs: Iterable[tuple[str, str]]):
    """``matches`` (``audits.household.matching.matcher.ContactMatches``) with no group holding both records of
    any of ``pairs``; returns ``(matches, used)`` where ``used`` are the pairs that changed a
    group. Groups are re-joined from their accepted pairs, strongest first, never across a
    suppressed pair (the matcher's own rule for a veto)."""
    from audits.household.matching.matcher import ContactCluster, ContactMatches

    wanted = {tuple(sorted(pair)) for pair in pairs}
    if not wanted:
        return matches, set()
    used: set[tuple[str, str]] = set()
    clusters = []
    for cluster in matches.clusters:
        members = set(cluster.contacts)
        hit = {pair for pair in wanted if pair[0] in members and pair[1] in members}
        if not hit:
            clusters.append(cluster)
            continue
        used |= hit
        group_of = {m: {m} for m in cluster.contacts}
        for evidence in sorted(cluster.pairs, key=lambda e: (-e.score, e.a, e.b)):
            ga, gb = group_of[evidence.a], group_of[evidence.b]
            if ga is gb or any(tuple(sorted((x, y))) in hit for x in ga for y in gb):
                continue
            merged = ga | gb
            for m in merged:
                group_of[m] = merged
        groups = {id(g): g for g in group_of.values() if len(g) > 1}
        for group in groups.values():
            evidence = tuple(e for e in cluster.pairs if e.a in group and e.b in group)
            confidence = min(e.score for e in evidence) if evidence else 0.0
            clusters.append(ContactCluster(tuple(sorted(group)), round(float(confidence), 4),
                                           evidence))
    clusters.sort(key=lambda c: c.contacts)
    return ContactMatches(tuple(clusters)), used


@dataclass
class SuppressionReport:
    """What the decisions did on one run: what was left out, and which decisions matched
    nothing (the problem was fixed, or an id changed: review and delete them)."""

    findings: list[Finding] = field(default_factory=list)
    """Findings left out because of a finding decision."""
    pairs: list[Suppression] = field(default_factory=list)
    """Pair decisions that split or removed a duplicate group."""
    stale: list[Suppression] = field(default_factory=list)
    """Decisions that matched nothing on this run."""
    rules: dict[str, Suppression] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.findings) + len(self.pairs)

    def stale_messages(self, previous: Mapping[str, Any] | None = None) -> list[str]:
        """One line per decision that matched nothing. A decision matches nothing either because
        what it named went away since ``previous`` (a findings.json document), or because it
        never matched (a mistyped id, a pair never grouped): only ``previous`` tells them apart,
        so without it nothing is claimed about earlier runs."""
        before_ids: set[str] = set()
        before_groups: list[set[str]] = []
        for entry in (previous or {}).get("findings") or []:
            if isinstance(entry, Mapping):
                before_ids.add(str(entry.get("id")))
                if entry.get("check") == "duplicate-contact":
                    before_groups.append(set((entry.get("entities") or {}).get("contacts") or []))
        lines = []
        for item in self.stale:
            matched_before = (item.finding in before_ids if item.finding else
                              any(set(item.pair or ()) <= group for group in before_groups))
            state = ("no longer matches anything (it did in the previous run)" if matched_before
                     else "matches nothing in this run")
            lines.append(f"suppression {state}: {item.describe()} "
                         f"(decided by {item.by} on {item.at})")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The ``suppressed`` section of findings.json (a documented extension)."""
        by_check: dict[str, int] = {}
        for finding in self.findings:
            by_check[finding.check] = by_check.get(finding.check, 0) + 1
        if self.pairs:
            by_check["duplicate-contact (pairs)"] = len(self.pairs)
        return {
            "count": self.count,
            "by_check": by_check,
            "findings": [{"id": f.id, "check": f.check, "severity": f.severity.value,
                          "school_ids": list(f.school_ids),
                          "reason": self.rules[f"finding:{f.id}"].reason,
                          "by": self.rules[f"finding:{f.id}"].by,
                          "at": self.rules[f"finding:{f.id}"].at} for f in self.findings],
            "pairs": [item.to_dict() for item in self.pairs],
            "stale": [item.to_dict() for item in self.stale],
        }


def drop_suppressed(findings: Sequence[Finding], items: Sequence[Suppression],
                    used_pairs: Iterable[tuple[str, str]] = ()) -> tuple[list[Finding], SuppressionReport]:
    """The findings no finding decision names, and the report of what was suppressed."""
    rules = {item.key: item for item in items}
    wanted = {item.finding for item in items if item.finding}
    kept = [f for f in findings if f.id not in wanted]
    dropped = [f for f in findings if f.id in wanted]
    used = {tuple(pair) for pair in used_pairs}
    seen = {f.id for f in dropped}
    report = SuppressionReport(
        findings=dropped,
        pairs=[item for item in items if item.pair and item.pair in used],
        stale=[item for item in items if (item.finding and item.finding not in seen)
               or (item.pair and item.pair not in used)],
        rules=rules)
    return kept, report


def suppressions_for_finding(finding: Mapping[str, Any], *, reason: str, by: str,
                             at: str | None = None) -> list[Suppression]:
    """The decisions the HTML review exports for one finding (a findings.json entry): every pair
    of a duplicate group ("these records are different people"), else the finding's id."""
    if finding.get("check") == "duplicate-contact":
        contacts = sorted((finding.get("entities") or {}).get("contacts") or [])
        return [make_suppression(pair=(a, b), reason=reason, by=by, at=at)
                for i, a in enumerate(contacts) for b in contacts[i + 1:]]
    return [make_suppression(finding=finding["id"], reason=reason, by=by, at=at)]


__all__ = ["SCHEMA", "Suppression", "SuppressionReport", "add_suppression", "drop_suppressed",
           "dumps_suppressions", "make_suppression", "parse_suppressions", "read_suppressions",
           "split_matches", "suppressions_document", "suppressions_for_finding",
           "suppressions_path"]
