"""Runbooks for support staff: for each school, one printable page (HTML and Markdown) of
numbered steps per finding, in the SIS's screen language, highest severity first, plus an index.

Markdown escapes every name (:func:`reports.safety.markdown_text`), HTML is autoescaped, so a
contact named ``*[x](javascript:...)`` or ``<script>`` prints as exactly that; both show
invisible and bidirectional control characters as ``⟨U+XXXX⟩`` (:func:`audits.cells.visible`),
so a right-to-left override in a name cannot reverse the step after it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from audits.cells import visible, visible_texts
from audits.findings import Finding
from reports import wording
from audits.collector import collector_paused
from reports.files import replace_folder, write_text_atomically
from reports.html import environment
from reports.safety import markdown_text as md, markdown_texts as md_all
from reports.svg import household_svg_text

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


def _item(finding: Finding, report: "ReportInput",
          check_words: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """A finding's runbook entry; ``check_words`` keeps each check's (why, how) for the run."""
    words = check_words.get(finding.check) if check_words is not None else None
    if words is None:
        spec = report.checks.get(finding.check)
        words = (wording.check_text(spec, "why"), wording.check_text(spec, "how"))
        if check_words is not None:
            check_words[finding.check] = words
    why, how = words
    steps = wording.fix_steps_plain(finding.fix)
    if not steps:
        steps = [how] if how else ["Review this finding with the SIS administrator."]
    other_schools = [wording.school_label(s, report.schools) for s in finding.school_ids]
    return {
        "id": finding.id, "check": finding.check, "severity": finding.severity.value,
        "severity_word": wording.SEVERITY_WORDS[finding.severity.value],
        "title": finding.title, "confidence": f"{round(finding.confidence * 100)}%",
        "records": [f"{word} {name} ({ident})" if name else f"{word} {ident}"
                    for word, ident, name in wording.people(finding)],
        "username": finding.username, "pairs": wording.pairs_text(finding),
        "schools": other_schools, "why": why,
        "evidence": [(wording.evidence_field(k), str(v)) for k, v in finding.evidence.items()],
        "action": wording.fix_action(finding.fix), "steps": steps,
        "picture": household_svg_text(finding),
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
    records, evidence, steps = item["records"], item["evidence"], item["steps"]
    # The finding's own texts are escaped in one pass (markdown_texts); the words every
    # finding of a check shares (the check, why it matters, field names) come from a cache.
    title, schools, username, pairs, *rest = md_all(
        [item["title"], "; ".join(item["schools"]), item["username"], item["pairs"], *records,
         *(value for _, value in evidence), *steps])
    lines = ["", f"- Finding: `{visible(item['id']).replace('`', '')}` ({md(item['check'])}, "
                 f"confidence {item['confidence']})"]
    if item["schools"]:
        lines.append(f"- Schools: {schools}")
    lines += [f"- Record: {record}" for record in rest[:len(records)]]
    rest = rest[len(records):]
    if item["username"]:
        lines.append(f"- Username: {username}")
    if item["pairs"]:
        lines.append(f"- Missing links: {pairs}")
    lines += [f"- Evidence, {md(field)}: {value}"
              for (field, _), value in zip(evidence, rest[:len(evidence)])]
    rest = rest[len(evidence):]
    if item["why"]:
        lines += ["", f"Why it matters: {md(item['why'])}"]
    lines += ["", "Steps:" if not item["action"] else f"Steps ({md(item['action'])}):", ""]
    lines += [f"{k}. [ ] {step}" for k, step in enumerate(rest, 1)]
    lines.append("")
    made = (f"{item['severity_word']}: {title}", "\n".join(lines))
    item["_markdown"] = made
    return made


PICTURE_CAPTION = (
    "\n    <figcaption>Red outline: the records this finding is about; red dashed: a missing "
    "link;\n      grey: contact of a student (relationship beside the contact; dashed: no "
    "portal access);\n      green: sibling link; blue: holds the account (dotted: the account "
    "can see the student).</figcaption></figure>")


def _item_html(item: dict[str, Any]) -> tuple[bytes, bytes]:
    """A finding's ``<section>`` of the HTML runbook, split around its number, built once per
    finding (a template call per finding per school cost more than the rest of the page),
    as UTF-8: the pages are joined from it as bytes, half the size of text holding a dash.
    Every value is escaped as the page template would (markupsafe); the picture is markup."""
    made = item.get("_html")
    if made is not None:
        return made
    records, evidence, steps = item["records"], item["evidence"], item["steps"]
    # The words every finding of a check shares (why it matters, above all) are escaped once
    # per run; the finding's own texts in one pass.
    texts = [item["id"], item["title"], item["confidence"], "; ".join(item["schools"]),
             item["username"] or "", item["pairs"] or "", *records,
             *(str(v) for pair in evidence for v in pair), *steps]
    ident, title, confidence, schools, username, pairs, *rest = _escape_all(texts)
    severity, severity_word, check, why, action = (
        _escaped(item["severity"]), _escaped(item["severity_word"]), _escaped(item["check"]),
        _escaped(item["why"] or ""), _escaped(item["action"] or ""))
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
    # The picture (a few kB, and text with a dash, so two bytes a character) is encoded on
    # its own rather than copied into the text around it first.
    picture = b""
    if item["picture"]:
        parts.append('<figure class="picture">')
        picture = item["picture"].encode("utf-8")
    after = [PICTURE_CAPTION] if picture else []
    if item["why"]:
        after.append(f"<p><b>Why it matters:</b> {why}</p>")
    action = f" ({action})" if item["action"] else ""
    after.append(f'  <p><b>Steps{action}:</b></p>\n  <ol class="steps">\n')
    after += [f'<li><span class="box"></span>{step}</li>' for step in rest]
    after.append("  </ol>\n</section>\n")
    made = (f'<section class="finding" id="{ident}">\n  <h2>'.encode("utf-8"),
            b"".join(("".join(parts).encode("utf-8"), picture,
                      "".join(after).encode("utf-8"))))
    item["_html"] = made
    return made


@lru_cache(maxsize=1024)
def _escaped(text: str) -> str:
    """``markupsafe.escape`` of a text many findings share (a check, its why, a severity)."""
    return str(escape(visible(text)))


def _escape_all(texts: list[str]) -> list[str]:
    """``markupsafe.escape`` of each text, as plain strings, in one pass over them joined."""
    texts = visible_texts(texts)
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:
        return [str(escape(text)) for text in texts]
    return str(escape(joined)).split("\0")


def _page_html(items: list[dict[str, Any]], head: bytes, tail: bytes) -> bytes:
    """A school's HTML runbook: the template's markup around the findings' sections."""
    out = [head]
    for n, item in enumerate(items, 1):
        start, body = _item_html(item)
        out += (start, b"%d" % n, body)
    out.append(tail)
    return b"".join(out)


def write_runbooks(report: "ReportInput", folder: Path) -> Path:
    """Write ``<school_id>.html`` and ``.md`` for every school with findings, and
    ``index.html``; returns the index's path.

    The folder is replaced whole (:func:`reports.files.replace_folder`): a school with no
    findings this run keeps no runbook from an earlier run, and a reader never sees half."""
    folder = Path(folder)
    with collector_paused():
        return replace_folder(folder, lambda staging: _write_runbooks(report, staging)) \
            / "index.html"


def _write_runbooks(report: "ReportInput", folder: Path) -> Path:
    env = environment()
    page = env.get_template("runbook.html.j2")
    # The page template is rendered around a marker no data can contain, and the findings'
    # sections (made once each, as bytes) are joined in its place.
    marker = f"<!--{secrets.token_hex(16)}-->"
    entries = []
    groups = sorted(_by_school(list(report.findings)).items())
    # A finding spanning schools is worded once, and kept only until its last school's
    # runbook is written: holding every finding's words and picture until the end cost
    # ~750 MB at 250,000 students, which the process kept after the runbooks were done.
    schools_left = Counter(f.id for _, findings in groups for f in findings)
    made: dict[str, dict[str, Any]] = {}
    check_words: dict[str, tuple[str, str]] = {}
    for school_id, findings in groups:
        items = [made.get(f.id) or made.setdefault(f.id, _item(f, report, check_words))
                 for f in findings]
        name = ("Findings with no school" if school_id == NO_SCHOOL_KEY
                else report.schools.get(school_id, school_id))
        stem = school_file_stem(school_id)
        head, tail = page.render(
            school_name=name, school_id=school_id, count=len(items), stamp=report.stamp,
            board_name=report.board_name, sections=Markup(marker)).split(marker)
        # The staging folder is swapped in whole (replace_folder), so each file is written
        # in place: nobody reads it before it is finished.
        _write(folder / f"{stem}.html",
               _page_html(items, head.encode("utf-8"), tail.encode("utf-8")))
        _write(folder / f"{stem}.md",
               runbook_markdown(name, school_id, items, report.stamp).encode("utf-8"))
        counts = {s: sum(1 for i in items if i["severity"] == s) for s in wording.SEVERITY_ORDER}
        entries.append({"school_id": school_id, "name": name, "stem": stem, "total": len(items),
                        **counts})
        for finding, item in zip(findings, items):
            schools_left[finding.id] -= 1
            if schools_left[finding.id] <= 0:
                made.pop(finding.id, None)
            elif "picture" in item:  # its pages are made: keep only what they need
                made[finding.id] = {key: item[key] for key in _KEPT}
        del items
    return write_text_atomically(folder / "index.html", env.get_template(
        "runbooks_index.html.j2").render(entries=entries, stamp=report.stamp,
                                         board_name=report.board_name))


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o644)  # as write_atomically leaves its files, whatever the umask


_KEPT = ("severity", "_html", "_markdown")
"""What a finding's runbook entry needs once its section and Markdown are made."""
