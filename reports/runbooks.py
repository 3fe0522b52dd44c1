"""Runbooks for support staff: for each school, one printable page (HTML and Markdown) of
numbered steps per finding, in the SIS's screen language, highest severity first, plus an index.

Markdown escapes every name (:func:`reports.safety.markdown_text`), HTML is autoescaped, so a
contact named ``*[x](javascript:...)`` or ``<script>`` prints as exactly that.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audits.findings import Finding
from reports import wording
from reports.files import replace_folder, write_text_atomically
from reports.html import environment
from reports.safety import markdown_text as md
from reports.svg import household_svg

if TYPE_CHECKING:
    from reports import ReportInput

NO_SCHOOL_KEY = "no-school"


def school_file_stem(school_id: str) -> str:
    """A file name for a school's runbook that no school id can turn into a path."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", school_id)[:60] or "school"
    if stem != school_id:
        stem += "-" + hashlib.sha1(school_id.encode("utf-8")).hexdigest()[:6]
    return stem


def _by_school(findings: list[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for finding in findings:  # already highest severity first (ReportInput sorts them)
        for school in finding.school_ids or (NO_SCHOOL_KEY,):
            groups.setdefault(school, []).append(finding)
    return groups


def _item(finding: Finding, report: "ReportInput") -> dict[str, Any]:
    spec = report.checks.get(finding.check)
    steps = wording.fix_steps_plain(finding.fix)
    if not steps:
        how = wording.check_text(spec, "how")
        steps = [how] if how else ["Review this finding with the SIS administrator."]
    other_schools = [wording.school_label(s, report.schools) for s in finding.school_ids]
    return {
        "id": finding.id, "check": finding.check, "severity": finding.severity.value,
        "severity_word": wording.SEVERITY_WORDS[finding.severity.value],
        "title": finding.title, "confidence": f"{round(finding.confidence * 100)}%",
        "records": [f"{word} {name} ({ident})" if name else f"{word} {ident}"
                    for word, ident, name in wording.people(finding)],
        "username": finding.username, "pairs": wording.pairs_text(finding),
        "schools": other_schools, "why": wording.check_text(spec, "why"),
        "evidence": [(wording.evidence_field(k), str(v)) for k, v in finding.evidence.items()],
        "action": wording.fix_action(finding.fix), "steps": steps,
        "picture": household_svg(finding),
    }


def runbook_markdown(school_name: str, school_id: str, items: list[dict[str, Any]],
                     stamp: str) -> str:
    lines = [f"# Runbook: {md(school_name)} ({md(school_id)})", "",
             f"Generated {md(stamp)}. {len(items)} finding(s), highest severity first. "
             "Tick each step as you do it in the SIS.", ""]
    for n, item in enumerate(items, 1):
        lines += [f"## {n}. {item['severity_word']}: {md(item['title'])}", "",
                  f"- Finding: `{item['id'].replace('`', '')}` ({md(item['check'])}, "
                  f"confidence {item['confidence']})"]
        if item["schools"]:
            lines.append(f"- Schools: {md('; '.join(item['schools']))}")
        for record in item["records"]:
            lines.append(f"- Record: {md(record)}")
        if item["username"]:
            lines.append(f"- Username: {md(item['username'])}")
        if item["pairs"]:
            lines.append(f"- Missing links: {md(item['pairs'])}")
        for field, value in item["evidence"]:
            lines.append(f"- Evidence, {md(field)}: {md(value)}")
        if item["why"]:
            lines += ["", f"Why it matters: {md(item['why'])}"]
        lines += ["", "Steps:" if not item["action"] else f"Steps ({md(item['action'])}):", ""]
        lines += [f"{k}. [ ] {md(step)}" for k, step in enumerate(item["steps"], 1)]
        lines.append("")
    return "\n".join(lines)


def write_runbooks(report: "ReportInput", folder: Path) -> Path:
    """Write ``<school_id>.html`` and ``.md`` for every school with findings, and
    ``index.html``; returns the index's path.

    The folder is replaced whole (:func:`reports.files.replace_folder`): a school with no
    findings this run keeps no runbook from an earlier run, and a reader never sees half."""
    folder = Path(folder)
    return replace_folder(folder, lambda staging: _write_runbooks(report, staging)) \
        / "index.html"


def _write_runbooks(report: "ReportInput", folder: Path) -> Path:
    env = environment()
    page = env.get_template("runbook.html.j2")
    entries = []
    made: dict[str, dict[str, Any]] = {}  # a finding spanning schools is worded once
    for school_id, findings in sorted(_by_school(list(report.findings)).items()):
        items = [made.get(f.id) or made.setdefault(f.id, _item(f, report)) for f in findings]
        name = ("Findings with no school" if school_id == NO_SCHOOL_KEY
                else report.schools.get(school_id, school_id))
        stem = school_file_stem(school_id)
        write_text_atomically(folder / f"{stem}.html", page.render(
            school_name=name, school_id=school_id, items=items, stamp=report.stamp,
            board_name=report.board_name))
        write_text_atomically(folder / f"{stem}.md",
                              runbook_markdown(name, school_id, items, report.stamp))
        counts = {s: sum(1 for i in items if i["severity"] == s) for s in wording.SEVERITY_ORDER}
        entries.append({"school_id": school_id, "name": name, "stem": stem, "total": len(items),
                        **counts})
    return write_text_atomically(folder / "index.html", env.get_template(
        "runbooks_index.html.j2").render(entries=entries, stamp=report.stamp,
                                         board_name=report.board_name))
