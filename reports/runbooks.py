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

from markupsafe import Markup, escape

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
        head, body = _item_markdown(item)
        lines.append(f"## {n}. {head}")
        lines.append(body)
    return "\n".join(lines)


def _item_markdown(item: dict[str, Any]) -> tuple[str, str]:
    """A finding's Markdown after its number, worked out once however many schools list it."""
    made = item.get("_markdown")
    if made is not None:
        return made
    lines = ["", f"- Finding: `{item['id'].replace('`', '')}` ({md(item['check'])}, "
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
    made = (f"{item['severity_word']}: {md(item['title'])}", "\n".join(lines))
    item["_markdown"] = made
    return made


PICTURE_CAPTION = (
    "\n    <figcaption>Red outline: the records this finding is about; red dashed: a missing "
    "link;\n      grey: contact of a student (relationship beside the contact; dashed: no "
    "portal access);\n      green: sibling link; blue: holds the account (dotted: the account "
    "can see the student).</figcaption></figure>")


def _item_html(item: dict[str, Any]) -> tuple[str, str]:
    """A finding's ``<section>`` of the HTML runbook, split around its number, built once per
    finding (a template call per finding per school cost more than the rest of the page).
    Every value is escaped as the page template would (markupsafe); the picture is markup."""
    made = item.get("_html")
    if made is not None:
        return made
    records, evidence, steps = item["records"], item["evidence"], item["steps"]
    texts = [item["id"], item["severity"], item["severity_word"], item["title"], item["check"],
             item["confidence"], "; ".join(item["schools"]), item["username"] or "",
             item["pairs"] or "", item["why"] or "", item["action"] or "", *records,
             *(str(v) for pair in evidence for v in pair), *steps]
    (ident, severity, severity_word, title, check, confidence, schools, username, pairs, why,
     action, *rest) = _escape_all(texts)
    parts = [f'. <span class="sev {severity}">{severity_word}</span> {title}</h2>\n',
             f'  <p class="fid">Finding {ident} &middot; {check} &middot; '
             f'confidence {confidence}\n']
    if item["schools"]:
        parts.append(f"&middot; {schools}")
    parts.append("</p>\n  <ul>\n")
    parts += [f"<li>{record}</li>" for record in rest[:len(records)]]
    rest = rest[len(records):]
    if item["username"]:
        parts.append(f"<li>username {username}</li>")
    if item["pairs"]:
        parts.append(f"<li>missing links: {pairs}</li>")
    parts.append("  </ul>\n")
    if evidence:
        parts.append("  <table><tr><th>Evidence</th><th></th></tr>\n")
        parts += [f'<tr><th scope="row">{rest[k]}</th><td>{rest[k + 1]}</td></tr>'
                  for k in range(0, 2 * len(evidence), 2)]
        parts.append("  </table>\n")
    rest = rest[2 * len(evidence):]
    if item["picture"]:
        parts.append(f'<figure class="picture">{item["picture"]}{PICTURE_CAPTION}')
    if item["why"]:
        parts.append(f"<p><b>Why it matters:</b> {why}</p>")
    action = f" ({action})" if item["action"] else ""
    parts.append(f'  <p><b>Steps{action}:</b></p>\n  <ol class="steps">\n')
    parts += [f'<li><span class="box"></span>{step}</li>' for step in rest]
    parts.append("  </ol>\n</section>\n")
    made = (f'<section class="finding" id="{ident}">\n  <h2>', "".join(parts))
    item["_html"] = made
    return made


def _escape_all(texts: list[str]) -> list[str]:
    """``markupsafe.escape`` of each text, as plain strings, in one pass over them joined."""
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:
        return [str(escape(text)) for text in texts]
    return str(escape(joined)).split("\0")


def _sections_html(items: list[dict[str, Any]]) -> Markup:
    out = []
    for n, item in enumerate(items, 1):
        head, body = _item_html(item)
        out += (head, str(n), body)
    return Markup("".join(out))


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
            school_name=name, school_id=school_id, count=len(items), stamp=report.stamp,
            board_name=report.board_name, sections=_sections_html(items)))
        write_text_atomically(folder / f"{stem}.md",
                              runbook_markdown(name, school_id, items, report.stamp))
        counts = {s: sum(1 for i in items if i["severity"] == s) for s in wording.SEVERITY_ORDER}
        entries.append({"school_id": school_id, "name": name, "stem": stem, "total": len(items),
                        **counts})
    return write_text_atomically(folder / "index.html", env.get_template(
        "runbooks_index.html.j2").render(entries=entries, stamp=report.stamp,
                                         board_name=report.board_name))
