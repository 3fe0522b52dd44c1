"""The one result type of every check, and its outside forms (data contract section 4)."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import orjson
import pandas as pd

from audits.model.actions import NO_FIX, FixAction, fix_from_dict

SCHEMA = "connect-audit/findings/v1"


class Severity(str, enum.Enum):
    ERROR = "error"
    """Blocks correct account generation."""
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls(text.strip().lower())


ENTITY_KINDS = ("students", "contacts", "staff", "accounts")


def stable_id(check: str, *parts: Iterable[str] | str) -> str:
    """``check:8 hex``: the same problem in the same data gets the same id on every run.

    The parts are the ids that identify the problem (the contract's section 3 names them);
    each part is sorted, so the order of rows in the export does not matter.
    """
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        else:
            pieces.append(",".join(sorted(str(p) for p in part)))
    digest = hashlib.sha1("|".join([check, *pieces]).encode("utf-8")).hexdigest()[:8]
    return f"{check}:{digest}"


@dataclass(frozen=True)
class Finding:
    """One problem found before generation, with everything a report or a fix needs to show it.

    Fields beyond the contract's (``names``, ``household``) are documented extensions: they carry
    what reports show so that reports never reach back into the board or the graph.
    """

    id: str
    check: str
    severity: Severity
    title: str
    confidence: float = 1.0
    school_ids: tuple[str, ...] = ()
    students: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    username: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fix: FixAction = field(default_factory=lambda: NO_FIX)
    """The typed fix action (:mod:`audits.model.actions`); a plain mapping given here is read
    as findings.json's ``fix`` is."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Display name of every entity the finding names, by id (``C104`` -> ``Jennifer Smith``)."""
    household: Mapping[str, Any] = field(default_factory=dict)
    """The finding's part of the household graph: ``{"nodes": [...], "edges": [...]}``."""
    match: Mapping[str, Any] = field(default_factory=dict)
    """duplicate-contact: the model's waterfall per accepted pair (see checks/duplicate_contact)."""
    pairs_total: int | None = None
    """How many pairs there are when ``pairs`` lists only the first of them (``max_pairs_listed``
    in the config); ``None`` when ``pairs`` is the whole list."""

    def __post_init__(self) -> None:
        if not isinstance(self.fix, FixAction):
            object.__setattr__(self, "fix", fix_from_dict(self.fix, contacts=self.contacts))

    def entities(self) -> dict[str, list[str]]:
        return {"students": list(self.students), "contacts": list(self.contacts),
                "staff": list(self.staff), "accounts": list(self.accounts)}

    def to_dict(self) -> dict[str, Any]:
        """The finding as the contract's ``findings.json`` entry.

        Built once per finding (findings.json and the HTML report both ask for every finding):
        the dict returned is a fresh copy of the top level, but its nested lists and dicts are
        shared with every other call, ``evidence``, ``names`` and ``household`` are the
        finding's own mappings and ``fix`` its action's :meth:`~FixAction.to_dict`: treat them
        as read-only.
        """
        return dict(self._entry)

    @cached_property
    def _entry(self) -> dict[str, Any]:
        # cached_property writes the instance __dict__ directly, so it works on a frozen
        # dataclass; it is not a field, so equality, repr and replace() ignore it.
        return {
            "id": self.id,
            "check": self.check,
            "severity": self.severity.value,
            "confidence": round(float(self.confidence), 4),
            "school_ids": list(self.school_ids),
            "title": self.title,
            "entities": self.entities(),
            "pairs": [list(pair) for pair in self.pairs],
            **({"pairs_total": self.pairs_total} if self.pairs_total is not None else {}),
            "username": self.username,
            "evidence": _as_dict(self.evidence),
            "fix": self.fix.to_dict(),
            "names": _as_dict(self.names),
            "household": _as_dict(self.household),
            **({"match": _as_dict(self.match)} if self.match else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Finding":
        entities = data.get("entities", {})
        contacts = tuple(entities.get("contacts", ()))
        return cls(
            id=data["id"],
            check=data["check"],
            severity=Severity.parse(data["severity"]),
            title=data.get("title", ""),
            confidence=float(data.get("confidence", 1.0)),
            school_ids=tuple(data.get("school_ids", ())),
            students=tuple(entities.get("students", ())),
            contacts=contacts,
            staff=tuple(entities.get("staff", ())),
            accounts=tuple(entities.get("accounts", ())),
            pairs=tuple(tuple(pair) for pair in data.get("pairs", ())),
            username=data.get("username"),
            evidence=data.get("evidence", {}),
            fix=fix_from_dict(data.get("fix"), contacts=contacts),
            names=data.get("names", {}),
            household=data.get("household", {}),
            match=data.get("match", {}),
            pairs_total=data.get("pairs_total"),
        )


def _as_dict(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict (what the JSON encoder writes) without copying one that already is."""
    return mapping if type(mapping) is dict else dict(mapping)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Highest severity first, then by check and id: a stable order for every output."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.check, f.id))


def summarize(findings: Sequence[Finding]) -> dict[str, dict[str, int]]:
    by_check: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    by_school: dict[str, int] = {}
    for finding in findings:
        by_check[finding.check] = by_check.get(finding.check, 0) + 1
        by_severity[finding.severity.value] = by_severity.get(finding.severity.value, 0) + 1
        for school in finding.school_ids:
            by_school[school] = by_school.get(school, 0) + 1
    return {"by_check": by_check, "by_severity": by_severity, "by_school": by_school}


def skipped_section(skipped: Mapping[str, str]) -> list[dict[str, str]]:
    """findings.json's ``skipped`` section (docs/data-contract-extensions.md): each check
    selected but not run, with why, in check order."""
    return [{"check": code, "reason": reason} for code, reason in sorted(skipped.items())]


def _findings_schema() -> dict[str, Any]:
    """What a findings.json must be for ``fix plan``, ``diff`` and ``audit --previous`` to read
    it: the fields they use, typed and bounded (anything more is carried, not trusted)."""
    from audits.io.documents import FINGERPRINT, ID, strings, text

    scalar = {"type": ["string", "number", "boolean", "null"], "maxLength": 100_000}
    flat = {"type": "object", "maxProperties": 10_000, "additionalProperties": scalar}
    pair = {"type": "array", "minItems": 2, "maxItems": 2, "items": ID}
    record = {"type": "object", "maxProperties": 1000}
    fix = {"type": "object", "properties": {
        "action": text(100), "steps": strings(100_000, text(100_000)), "keep": ID,
        "retire": strings(10_000), "records": {"type": "object", "maxProperties": 10_000,
                                               "additionalProperties": record},
        "links": {"type": "array", "maxItems": 1_000_000, "items": record},
        "pairs": {"type": "array", "maxItems": 10_000_000, "items": pair},
        "account_id": ID, "students": {"type": ["array", "object"]}, "username": text(320),
        "accounts": {"type": ["array", "object"], "maxItems": 100_000,
                     "maxProperties": 100_000},
        "contacts": {"type": "array", "maxItems": 100_000, "items": record},
        "staff": {"type": "array", "maxItems": 100_000, "items": record}}}
    finding = {
        "type": "object", "required": ["id", "check", "severity"],
        "properties": {
            "id": text(200), "check": text(100),
            "severity": {"enum": [s.value for s in Severity]},
            "title": text(10_000), "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "school_ids": strings(10_000),
            "entities": {"type": "object", "additionalProperties": strings(10_000_000)},
            "pairs": {"type": "array", "maxItems": 10_000_000, "items": pair},
            "pairs_total": {"type": "integer", "minimum": 0},
            "username": {"type": ["string", "null"], "maxLength": 320},
            "evidence": {"type": "object", "maxProperties": 10_000},
            "names": flat, "household": {"type": "object"}, "match": {"type": "object"},
            "fix": fix}}
    return {
        "type": "object", "required": ["schema", "findings"],
        "properties": {
            "schema": {"type": "string", "pattern": "^connect-audit/findings/"},
            "generated_at": text(40),
            "input": {"type": "object", "properties": {
                "path": text(4096), "tables": {"type": "object", "maxProperties": 64,
                                               "additionalProperties": {"type": "integer"}},
                "fingerprint": FINGERPRINT}},
            "summary": {"type": "object"},
            "findings": {"type": "array", "maxItems": 50_000_000, "items": finding},
            "suppressed": {"type": "object"}}}


FINDINGS_SCHEMA = _findings_schema()


def read_findings_file(path: str | Path, *, what: str = "findings file") -> dict[str, Any]:
    """The findings.json at ``path``, checked against :data:`FINDINGS_SCHEMA`."""
    from audits.io.documents import read_document

    return read_document(path, what=what, schema=FINDINGS_SCHEMA,
                         missing=f"Findings file not found: {path}",
                         kind=("findings.json file", "connect-audit/findings/"))


def findings_document(
    findings: Sequence[Finding], *, input_path: str, tables: Mapping[str, int],
    generated_at: datetime | None = None, fingerprint: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``findings.json`` document of the data contract, section 4; ``fingerprint`` (the
    export's, :mod:`audits.io.fingerprint`) goes into ``input`` (docs/data-contract-extensions.md),
    so a fix plan made from the document is bound to that export."""
    ordered = sort_findings(findings)
    stamp = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The shared entries, not copies: the document is written and dropped.
    entries = [finding._entry for finding in ordered]
    return {
        "schema": SCHEMA,
        "generated_at": stamp,
        "input": {"path": input_path, "tables": dict(tables),
                  **({"fingerprint": dict(fingerprint)} if fingerprint else {})},
        "summary": summarize(ordered),
        "findings": entries,
    }


def findings_json(document: Mapping[str, Any]) -> bytes:
    """The ``findings.json`` file's bytes: UTF-8 JSON indented by two spaces, keys in the
    document's order, non-ASCII text as UTF-8 (never ``\\u`` escapes), no final newline.

    orjson writes it in C (the standard library falls back to its pure-Python encoder when
    ``indent`` is set: seconds at 250,000 students). What it writes differently from
    ``json.dumps(ensure_ascii=False)``: NaN and infinities become ``null`` (valid JSON, where
    the standard encoder writes the non-standard ``NaN``; no check reports such a number),
    numbers below 1e-4 are written without an exponent (``0.00001`` for ``1e-05``), and
    integers beyond 64 bits are refused. Float subclasses (``numpy.float64``) are written as
    floats, as before; any other type is refused with a ``TypeError``, as before.
    """
    return b"".join(findings_json_chunks(document))


FINDINGS_PER_CHUNK = 1000


def findings_json_chunks(document: Mapping[str, Any]) -> Iterator[bytes]:
    """:func:`findings_json` in pieces of at most :data:`FINDINGS_PER_CHUNK` findings, to write
    a large document without holding all of its bytes (hundreds of MB at 1,000,000 students).
    """
    yield b"{"
    opener = b"\n  "
    for key, value in document.items():
        # A key that is not text is written as orjson writes it as a value (1 -> "1").
        name = key if isinstance(key, str) else _json(key).decode()
        yield opener + _json(name) + b": "
        opener = b",\n  "
        if key == "findings" and isinstance(value, list) and value:
            yield b"["
            for start in range(0, len(value), FINDINGS_PER_CHUNK):
                entries = [b"\n    " + _json(entry, depth=2)
                           for entry in value[start:start + FINDINGS_PER_CHUNK]]
                yield (b"," if start else b"") + b",".join(entries)
            yield b"\n  ]"
        else:
            yield _json(value, depth=1)
    yield b"\n}" if document else b"}"


def _json(value: Any, depth: int = 0) -> bytes:
    """``value`` as orjson writes it at ``depth`` levels inside the document: each line break
    is followed by two more spaces per level (JSON text never holds a raw line break inside
    a string, so every one is orjson's own)."""
    text = orjson.dumps(value, default=_json_default,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    return text.replace(b"\n", b"\n" + b"  " * depth) if depth else text


def _json_default(value: Any) -> Any:
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def more_pairs(finding: Finding) -> str:
    """`` and 1,999,800 more`` after a capped list of pairs; empty for a whole one."""
    more = (finding.pairs_total or 0) - len(finding.pairs)
    return f" and {more:,} more" if more > 0 else ""


def findings_to_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """One row per finding, columns an analyst can filter on in Excel or pandas."""
    rows = []
    for f in findings:
        rows.append({
            "id": f.id,
            "check": f.check,
            "severity": f.severity.value,
            "confidence": f.confidence,
            "school_ids": ", ".join(f.school_ids),
            "title": f.title,
            "students": ", ".join(f.students),
            "contacts": ", ".join(f.contacts),
            "staff": ", ".join(f.staff),
            "accounts": ", ".join(f.accounts),
            "pairs": "; ".join(" & ".join(pair) for pair in f.pairs) + more_pairs(f),
            "username": f.username or "",
            "fix_action": f.fix.get("action", ""),
        })
    columns = ["id", "check", "severity", "confidence", "school_ids", "title", "students",
               "contacts", "staff", "accounts", "pairs", "username", "fix_action"]
    return pd.DataFrame(rows, columns=columns)


def entities_to_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """One row per (finding, entity): the long form, for joins back to the export."""
    rows = []
    for f in findings:
        for kind in ENTITY_KINDS:
            for entity_id in getattr(f, kind):
                rows.append({"finding_id": f.id, "check": f.check, "severity": f.severity.value,
                             "entity_type": kind, "entity_id": entity_id,
                             "name": f.names.get(entity_id, "")})
    return pd.DataFrame(rows, columns=["finding_id", "check", "severity", "entity_type",
                                       "entity_id", "name"])
