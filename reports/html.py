"""The offline HTML report: one self-contained file (CSS, JS and data inline) that opens by
double-click, makes no network request, and lets a reviewer accept or reject each proposed fix
and download the accepted ones as a fix plan.

The findings travel as one JSON document inside ``<script type="application/json">`` and the
page's script renders them 100 rows at a time, so 50,000 findings stay quick to open.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from audits.io.cells import INVISIBLE_JS, visible
from audits.checks.username_clash.check import ONE_PERSON_TWO_RECORDS
from audits.household.usernames import EMAIL_PATTERN, PLACEHOLDER_EMAILS, PLACEHOLDER_LOCAL_PARTS
from audits.model.errors import UserError
from reports import wording
from reports.records import SHOWN_SIDE_BY_SIDE, page_table
from reports.svg import node_order
from audits.io.files import write_atomic
from reports.safety import json_for_script_bytes

SUPPRESSIONS_SCHEMA = "connect-audit/suppressions/v1"
"""``audits.workflow.suppressions.SCHEMA``: the page's export writes that file format."""

if TYPE_CHECKING:
    from reports.input import ReportInput


def _shown(value: Any) -> Any:
    """Every value a template prints, shown by :func:`audits.io.cells.visible` before it is
    escaped; markup the code built (the page's JSON, CSS, script, runbook sections) was made
    safe where it was built."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=PackageLoader("reports", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True, finalize=_shown)


def _static(name: str) -> str:
    text = resources.files("reports").joinpath("static", name).read_text(encoding="utf-8")
    # The file is pasted into a <style>/<script> element, which ends at the first "</".
    if "</" in text:
        raise ValueError(f"reports/static/{name} must not contain '</'")
    return text


def _other_findings(report: "ReportInput"):
    """The findings as ``fixes.plan.OtherFindings`` reads them, so the page's actions are
    settled across findings as ``fix plan`` settles them (a clash of two records of one person
    left to its merge; a merge that holds back a clashing email)."""
    from fixes.plan import OtherFindings

    return OtherFindings({"id": f.id, "check": f.check, "entities": {"contacts": f.contacts},
                          "username": f.username, "fix": {"cause": (f.fix or {}).get("cause")}}
                         for f in report.findings)


def _plan_action(entry: dict[str, Any], others=None) -> dict[str, Any] | None:
    """The plan action the review page offers for a finding: what ``fix plan`` makes of its
    findings.json ``entry`` (so a plan downloaded from the page is the one the command makes)."""
    from fixes.plan import plan_action

    try:
        action = plan_action(entry)
        return action if action is None or others is None else others.settle(action)
    except (UserError, KeyError, TypeError, ValueError):
        # A fix the planner cannot express is still shown, with its steps, but it cannot be
        # accepted into a plan: the reviewer follows the runbook for it instead.
        return None


DETAIL_CHUNK = 500
"""Findings per detail block: opening a finding parses only its block (a few hundred kB)."""

INDEX_FIELDS = ("id", "check", "severity", "confidence", "school_ids", "title", "entities",
                "pairs", "username", "names")
"""What a table row, the filters and the search need; the rest waits in the detail blocks."""


def report_data(report: "ReportInput") -> dict[str, Any]:
    """The data the page's script renders: ``findings`` (one light entry per finding, for the
    table, filters and search) and ``details`` (evidence, fix, household picture and plan
    action of each finding, in the same order); ``plan`` is the empty fix-plan envelope."""
    index, details, known = [], [], set()
    for light, detail in _finding_entries(report, known):
        index.append(light)
        details.append(detail)
    return _page_data(report, index, details, known)


def _finding_entries(report: "ReportInput", known: set[str]
                     ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each finding's table entry and its details, in the report's order; the usernames and
    emails the findings show are added to ``known``."""
    others = _other_findings(report)
    redacted = bool(getattr(report, "redacted", False))
    for finding in report.findings:
        entry = finding.to_dict()
        known.update(usernames_shown(entry))
        plan = _plan_action(entry, others)
        light = {key: entry[key] for key in INDEX_FIELDS}
        if "pairs_total" in entry:  # only a capped list carries it
            light["pairs_total"] = entry["pairs_total"]
        light["fixable"] = plan is not None
        cause = finding_cause(entry)
        if cause:
            light["cause"] = cause
        fix = entry["fix"]
        detail = {"evidence": entry["evidence"],
                  "fix": {"action": fix.get("action", ""), "steps": fix.get("steps", [])},
                  "household": _drawn_household(finding, entry["household"]), "plan": plan,
                  "suppress": suppress_targets(entry)}
        # Redacted values (initials, masks) would compare as "same": no table then.
        records = None if redacted else report.records_tables.table(finding)
        if records is not None:
            # Side-by-side evidence of a duplicate group, in place of the pairwise words
            # ("C1~C2: same (…); C1~C3: …") for the fields it shows.
            detail["records"] = page_table(records)
            detail["evidence"] = {key: value for key, value in entry["evidence"].items()
                                  if key not in SHOWN_SIDE_BY_SIDE}
        yield light, detail


def _drawn_household(finding, household: dict[str, Any]) -> dict[str, Any]:
    """The household as the page's script draws it: its nodes in the picture's order
    (:func:`reports.svg.node_order`, the order the runbooks' pictures use)."""
    nodes = household.get("nodes") if household else None
    if not nodes or len(nodes) < 3:
        return household
    ordered = node_order(finding)
    if all(a is b for a, b in zip(ordered, nodes)):
        return household
    return {**household, "nodes": ordered}


def finding_cause(entry: dict[str, Any]) -> str:
    """What the finding says caused it, for the page's "Cause" filter: a username clash's cause
    ("family email shared by two parents"), a missing username's problem ("contains a space");
    "" for a check whose findings have one cause."""
    fix, evidence = entry.get("fix") or {}, entry.get("evidence") or {}
    for value in (fix.get("cause"), evidence.get("cause"), evidence.get("problem")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def usernames_shown(entry: dict[str, Any]) -> set[str]:
    """The usernames and emails a finding (a findings.json entry) shows, in lower case: a
    rename typed in the page must not be one of them. The export's other records are not in
    the page; `fix apply` checks those (fixes/preconditions.py, new-value-unused)."""
    fix = entry.get("fix") or {}
    values = [entry.get("username"), fix.get("username")]
    values += [c.get("email") for c in fix.get("contacts") or [] if isinstance(c, dict)]
    values += [s.get("email") for s in fix.get("staff") or [] if isinstance(s, dict)]
    values += [a.get("username") for a in fix.get("accounts") or [] if isinstance(a, dict)]
    return {v.strip().lower() for v in values if isinstance(v, str) and v.strip()}


def review_key(report: "ReportInput") -> str:
    """Where the page keeps its review in the browser: one key per report (the export's
    fingerprint and the run's stamp), the same each time that report is opened."""
    export = (getattr(report, "fingerprint", None) or {}).get("export") or ""
    when = report.generated_at.isoformat()  # type: ignore[union-attr]
    return f"connect-audit/review/v1|{export}|{when}|{report.board_name or ''}"


def _page_data(report: "ReportInput", index: list[dict[str, Any]],
               details: list[dict[str, Any]] | None, known: set[str]) -> dict[str, Any]:
    """:func:`report_data` around its findings (``details`` left out when None)."""
    from fixes.plan import plan_document

    counts = dict((report.summary or {}).get("by_check", {}))
    checks = [{"code": code, "count": counts.get(code, 0),
               "summary": wording.check_text(report.checks.get(code), "summary"),
               "why": wording.check_text(report.checks.get(code), "why"),
               "how": wording.check_text(report.checks.get(code), "how")}
              for code in wording.ordered_checks(report.findings, report.checks)]
    data = {
        "board": report.board_name,
        "generated_at": report.stamp,
        "summary": {key: dict(value) for key, value in (report.summary or {}).items()},
        "schools": dict(report.schools),
        "checks": checks,
        "detail_chunk": DETAIL_CHUNK,
        "findings": index,
        "details": details,
        "plan": plan_document([], source=report.input_path or None,
                              export=getattr(report, "fingerprint", None)),
        "suppressions": {"schema": SUPPRESSIONS_SCHEMA, "suppressions": []},
        "redacted": bool(getattr(report, "redacted", False)),
        "invisible": INVISIBLE_JS,
        "review_key": review_key(report),
        "usernames": {"pattern": EMAIL_PATTERN, "placeholders": sorted(PLACEHOLDER_EMAILS),
                      "placeholder_locals": sorted(PLACEHOLDER_LOCAL_PARTS),
                      "known": sorted(known),
                      "one_person_cause": ONE_PERSON_TWO_RECORDS},
    }
    if details is None:
        del data["details"]
    return data


def suppress_targets(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """What "suppress" records for a finding (a findings.json entry), as the targets of
    ``audits.workflow.suppressions.suppressions_for_finding``: the page adds reason, by and at."""
    if entry.get("check") == "duplicate-contact":
        contacts = sorted((entry.get("entities") or {}).get("contacts") or [])
        return [{"pair": [a, b]} for i, a in enumerate(contacts) for b in contacts[i + 1:]]
    return [{"finding": entry["id"]}]


CHANGES_SHOWN = 500
"""Findings listed per status in the HTML section; the workbook's sheet lists every one."""


def changes_view(report: "ReportInput") -> dict[str, Any] | None:
    """The "Changes since last run" section: counts by check and the findings of each status."""
    changes = getattr(report, "changes", None)
    if changes is None:
        return None
    counts = changes.counts("check")
    groups = []
    for status, findings in (("new", changes.new), ("resolved", changes.resolved),
                             ("still open", changes.still_open)):
        groups.append({"status": status, "total": len(findings),
                       "items": [{"id": f.id, "check": f.check, "severity": f.severity.value,
                                  "schools": ", ".join(f.school_ids), "title": f.title}
                                 for f in findings[:CHANGES_SHOWN]]})
    return {"new": len(changes.new), "resolved": len(changes.resolved),
            "still_open": len(changes.still_open), "previous": changes.old_generated_at,
            "by_check": [{"check": str(check), "new": int(row["new"]),
                          "resolved": int(row["resolved"]), "still_open": int(row["still open"])}
                         for check, row in counts.iterrows()],
            "groups": groups}


def render_html(report: "ReportInput") -> str:
    head, parts = _page_parts(report)
    return head + b"".join(parts).decode("utf-8")


def _page_parts(report: "ReportInput") -> tuple[str, list[bytes]]:
    """The page as its opening markup (text) and then UTF-8 pieces to write one after
    another: the table's JSON, the template's markup between, and the detail blocks' JSON.
    The JSON, most of the page, is made as bytes, block by block
    while the findings are read, and never becomes one string; the template is rendered with
    a marker where each goes."""
    index: list[dict[str, Any]] = []
    known: set[str] = set()
    blocks: list[bytes] = []
    chunk: list[dict[str, Any]] = []
    for light, detail in _finding_entries(report, known):
        index.append(light)
        chunk.append(detail)
        if len(chunk) == DETAIL_CHUNK:
            blocks.append(json_for_script_bytes(chunk))
            chunk = []
    if chunk:
        blocks.append(json_for_script_bytes(chunk))
    del chunk
    data_json = json_for_script_bytes(_page_data(report, index, None, known))
    del index
    # A marker no data can contain: the text between markers is the template's own markup.
    marker = f"<!--{secrets.token_hex(16)}-->"
    template = environment().get_template("report.html.j2")
    page = template.render(
        board_name=report.board_name, stamp=report.stamp, total=len(report.findings),
        css=_markup(_static("report.css") + _static("records.css")),
        js=_markup(_static("records.js") + _static("report.js")),
        data_json=_markup(marker), detail_blocks=[_markup(marker)] * len(blocks),
        changes=changes_view(report), suppressed=getattr(report, "suppressed", None),
        skipped=dict(getattr(report, "skipped", None) or {}),
        redacted=bool(getattr(report, "redacted", False)))
    markup = page.split(marker)
    if len(markup) != len(blocks) + 2:
        raise RuntimeError("report.html.j2 must show data_json and each detail block once")
    parts = [data_json]
    for text, block in zip(markup[1:], blocks):
        parts += (text.encode("utf-8"), block)
    parts.append(markup[-1].encode("utf-8"))
    return markup[0], parts


def _markup(text: str):
    # json_for_script already made the JSON inert inside <script> (no "<", ">" or "&" left);
    # HTML-escaping it again would corrupt the quotes JSON.parse needs.
    from markupsafe import Markup

    return Markup(text)


def write_html(report: "ReportInput", path: Path) -> Path:
    """Write ``audit.html`` to ``path`` (atomically)."""
    head, parts = _page_parts(report)

    def write(temp: Path) -> None:
        temp.write_text(head, encoding="utf-8")
        with open(temp, "ab") as out:
            out.writelines(parts)

    return write_atomic(Path(path), write)


__all__ = ["render_html", "report_data", "write_html"]
