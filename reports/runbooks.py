"""Runbooks for support staff: for each school, one printable page (HTML and Markdown) of
numbered steps per finding, in the SIS's screen language, plus an index. The findings come by
household, each household in the order of the work (sibling links, merges, permissions,
usernames); a step that waits for another finding names it by its number on the page.

Markdown escapes every name (:func:`reports.safety.markdown_text`), HTML is autoescaped, so a
contact named ``*[x](javascript:...)`` or ``<script>`` prints as exactly that; both show
invisible and bidirectional control characters as ``⟨U+XXXX⟩`` (:func:`audits.io.cells.visible`),
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

from audits.io.cells import visible, visible_texts
from audits.model.findings import Finding
from reports import wording
from audits.io.files import replace_folder, write_atomic
from reports.html import environment
from reports.safety import markdown_text as md, markdown_texts as md_all
from reports.runbook_order import (OTHER_RANK, RANKS, STEPS_HEAD, Dependencies,
                                    group_households, runbook_entry)

if TYPE_CHECKING:
    from reports.input import ReportInput

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


PICTURE_CAPTION = (
    "Pictures: red outline, the records a finding is about; red dashed, a missing link; grey, "
    "contact of a student (relationship beside the contact; dashed: no portal access); green, "
    "sibling link; blue, holds the account (dotted: the account can see the student).")


def _household_name(entries: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(name for entry in entries for name in entry["who"]))
    more = len(names) - 3
    return ", ".join(names[:3]) + (f" and {more} more" if more > 0 else "")


def _numbers_text(numbers: list[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers)


class _Page:
    """A school's numbering: entry ``id`` -> its number, and the words that name another
    entry by its number (or, when it is in another school's runbook, by its finding id)."""

    def __init__(self, households: list[list[dict[str, Any]]]) -> None:
        self.number = {entry["id"]: n for n, entry in
                       enumerate((e for h in households for e in h), 1)}

    def after(self, entry: dict[str, Any]) -> list[int]:
        return sorted({self.number[i] for i in entry["after"] if i in self.number})

    def step(self, entry: dict[str, Any], step: int) -> str:
        check, ids = entry["waits"][step]
        here = sorted(self.number[i] for i in ids if i in self.number)
        if check == "unlinked-siblings":
            if here:
                return f"Do {_numbers_text(here)} first: it links them."
            return f"Finding {', '.join(ids)} links them." if ids else ""
        if here:
            return f"That merge is {_numbers_text(here)}: once it is done, this clash is gone."
        return f"That merge is finding {', '.join(ids)}." if ids else ""


def runbook_markdown(school_name: str, school_id: str, households: list[list[dict[str, Any]]],
                     stamp: str, why: list[tuple[str, str]]) -> str:
    page = _Page(households)
    count = len(page.number)
    lines = [f"# Runbook: {md(school_name)} ({md(school_id)})", "",
             f"Generated {md(stamp)}. {count} finding(s) in {len(households)} household(s), "
             "in the order to do them: within a household, sibling links first, then merges, "
             "then permissions, then usernames. A step that needs another finding done first "
             "names it by its number. Tick each step as you do it in the SIS.", ""]
    if why:
        lines += ["## Why these checks matter", ""]
        lines += [f"- {md(check)}: {md(text)}" for check, text in why]
        lines.append("")
    n = 0
    for k, household in enumerate(households, 1):
        first = n + 1
        n += len(household)
        span = f"#{first}" if first == n else f"#{first}-#{n}"
        lines += [f"## Household {k} ({span}): {md(_household_name(household))}", ""]
        for entry in household:
            lines.append(_fill(_item_markdown(entry), entry, page, _markdown_slot))
    return "\n".join(lines)


def _markdown_slot(slot: tuple, entry: dict[str, Any], page: _Page) -> str:
    if slot[0] == "num":
        return str(page.number[entry["id"]])
    if slot[0] == "after":
        numbers = page.after(entry)
        return f"- Do first: {_numbers_text(numbers)}\n" if numbers else ""
    text = page.step(entry, slot[1])
    return f" **{md(text)}**" if text else ""


def _fill(parts: list, entry: dict[str, Any], page: _Page, slot_text) -> Any:
    """An entry's text with its number and references filled in for this school's page."""
    if isinstance(parts[0], bytes):
        return b"".join(part if part.__class__ is bytes else
                        slot_text(part, entry, page).encode("utf-8") for part in parts)
    return "".join(part if part.__class__ is str else slot_text(part, entry, page)
                   for part in parts)


def _item_markdown(item: dict[str, Any]) -> list:
    """A finding's Markdown, as text around the slots a school's page fills (its number, what
    it waits for), worked out once however many schools list it."""
    made = item.get("_markdown")
    if made is not None:
        return made
    records, evidence, steps = item["records"], item["evidence"], item["steps"]
    # The finding's own texts are escaped in one pass (markdown_texts); the words every
    # finding of a check shares (the check, field names) come from a cache.
    title, schools, username, pairs, *rest = md_all(
        [item["title"], "; ".join(item["schools"]), item["username"] or "", item["pairs"],
         *(text for _, text in records), *(value for _, value in evidence),
         *(text for _, text in steps)])
    parts: list = ["### ", ("num",), f". {item['severity_word']}: {title}\n\n"]
    lines = [f"- Finding: `{visible(item['id']).replace('`', '')}` ({md(item['check'])}, "
             f"confidence {item['confidence']})"]
    if item["schools"]:
        lines.append(f"- Schools: {schools}")
    lines += [f"- {md(kind)}: {text}" for (kind, _), text in zip(records, rest)]
    rest = rest[len(records):]
    if item["username"]:
        lines.append(f"- Username: {username}")
    if item["pairs"]:
        lines.append(f"- Missing links: {pairs}")
    lines += [f"- Evidence, {md(field)}: {value}"
              for (field, _), value in zip(evidence, rest[:len(evidence)])]
    rest = rest[len(evidence):]
    parts += ["\n".join(lines) + "\n", ("after",)]
    action = f" ({md(item['action'])})" if item["action"] else ""
    parts.append(f"\nSteps{action}:\n\n")
    waits = item["waits"]
    for k, ((number, _), text) in enumerate(zip(steps, rest)):
        if item["hidden_steps"] and k == STEPS_HEAD:
            parts.append(f"- {_hidden_text(item)}\n")
        parts.append(f"{number}. [ ] {text}")
        if number in waits:
            parts.append(("step", number))
        parts.append("\n")
    made = _joined(parts)
    item["_markdown"] = made
    return made


def _hidden_text(item: dict[str, Any]) -> str:
    return (f"... {item['hidden_steps']:,} more steps of this finding are not printed here: "
            f"see finding {visible(item['id'])} in audit.html or audit.xlsx for the whole list.")


def _joined(parts: list) -> list:
    """Neighbouring texts (all ``str`` or all ``bytes``) joined, so a page joins few pieces
    per finding; the slots (tuples) stay as they are."""
    out: list = []
    run: list = []
    for part in parts:
        if part.__class__ is tuple:
            if run:
                out.append(run[0][:0].join(run))
                run = []
            out.append(part)
        else:
            run.append(part)
    if run:
        out.append(run[0][:0].join(run))
    return out


def _item_html(item: dict[str, Any]) -> list:
    """A finding's ``<section>`` of the HTML runbook, as UTF-8 around the slots a school's page
    fills (its number, what it waits for), built once per finding (a template call per finding
    per school cost more than the rest of the page); as bytes, half the size of text holding a
    dash. Every value is escaped as the page template would (markupsafe); the picture is markup."""
    made = item.get("_html")
    if made is not None:
        return made
    records, evidence, steps = item["records"], item["evidence"], item["steps"]
    # The words every finding of a check shares are escaped once per run; the finding's own
    # texts in one pass.
    texts = [item["id"], item["title"], item["confidence"], "; ".join(item["schools"]),
             item["username"] or "", item["pairs"] or "",
             *(text for pair in records for text in pair),
             *(str(v) for pair in evidence for v in pair), *(text for _, text in steps)]
    ident, title, confidence, schools, username, pairs, *rest = _escape_all(texts)
    severity, severity_word, check, action = (
        _escaped(item["severity"]), _escaped(item["severity_word"]), _escaped(item["check"]),
        _escaped(item["action"] or ""))
    head = [f'<section class="finding" id="{ident}">\n  <div class="top"><h3><span class="num">#', ("num",),
            f'</span> <span class="sev {severity}">{severity_word}</span> {title}</h3>\n'
            f'  <p class="fid">{check} &middot; finding {ident} &middot; confidence '
            f'{confidence}' + (f" &middot; {schools}" if item["schools"] else "") + "</p>\n",
            ("after",)]
    # The picture (a few kB, and text with a dash, so two bytes a character) is encoded on
    # its own rather than copied into the text around it first.
    picture = []
    if item["picture"]:
        picture = ['<figure class="picture">'.encode("utf-8"), item["picture"].encode("utf-8"),
                   b"</figure>\n"]
    facts = [f"<dt>{rest[k]}</dt><dd>{rest[k + 1]}</dd>" for k in range(0, 2 * len(records), 2)]
    rest = rest[2 * len(records):]
    if item["username"]:
        facts.append(f"<dt>Username</dt><dd>{username}</dd>")
    if item["pairs"]:
        facts.append(f"<dt>Missing links</dt><dd>{pairs}</dd>")
    facts += [f"<dt>{rest[k]}</dt><dd>{rest[k + 1]}</dd>" for k in range(0, 2 * len(evidence), 2)]
    rest = rest[2 * len(evidence):]
    body = ['  <dl class="facts">' + "".join(facts) + "</dl></div>\n"]
    action = f" ({action})" if item["action"] else ""
    body.append(f'  <div class="steps"><p class="steps-head"><b>Steps{action}:</b></p>\n'
                '  <ol class="steps">\n')
    waits = item["waits"]
    for k, ((number, _), text) in enumerate(zip(steps, rest)):
        if item["hidden_steps"] and k == STEPS_HEAD:
            body.append(f'<li class="hidden">{escape(_hidden_text(item))}</li>')
            body.append(f'<li value="{number}"><span class="box"></span>{text}')
        else:
            body.append(f'<li><span class="box"></span>{text}')
        if number in waits:
            body.append(("step", number))
        body.append("</li>")
    body.append("  </ol></div>\n</section>\n")
    parts = [p.encode("utf-8") if p.__class__ is str else p for p in head]
    parts += picture
    parts += [p.encode("utf-8") if p.__class__ is str else p for p in body]
    made = _joined(parts)
    item["_html"] = made
    return made


def _html_slot(slot: tuple, entry: dict[str, Any], page: _Page) -> str:
    if slot[0] == "num":
        return str(page.number[entry["id"]])
    if slot[0] == "after":
        numbers = page.after(entry)
        return (f'  <p class="after"><b>Do first:</b> {_numbers_text(numbers)}</p>\n'
                if numbers else "")
    text = page.step(entry, slot[1])
    return f' <b class="dep">{escape(visible(text))}</b>' if text else ""


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


def _page_html(households: list[list[dict[str, Any]]], head: bytes, tail: bytes) -> bytes:
    """A school's HTML runbook: the template's markup around its households' sections."""
    page = _Page(households)
    out = [head]
    n = 0
    for k, household in enumerate(households, 1):
        first = n + 1
        n += len(household)
        span = f"#{first}" if first == n else f"#{first}&ndash;#{n}"
        out.append(f'<h2 class="household">Household {k} <span class="span">{span}</span> '
                   f'{escape(visible(_household_name(household)))}</h2>\n'.encode("utf-8"))
        out += [_fill(_item_html(entry), entry, page, _html_slot) for entry in household]
    out.append(tail)
    return b"".join(out)


def write_runbooks(report: "ReportInput", folder: Path) -> Path:
    """Write ``<school_id>.html`` and ``.md`` for every school with findings, and
    ``index.html``; returns the index's path.

    The folder is replaced whole (:func:`audits.io.files.replace_folder`): a school with no
    findings this run keeps no runbook from an earlier run, and a reader never sees half."""
    folder = Path(folder)
    return replace_folder(folder, lambda staging: _write_runbooks(report, staging)) / "index.html"


def _write_runbooks(report: "ReportInput", folder: Path) -> Path:
    env = environment()
    page = env.get_template("runbook.html.j2")
    # The page template is rendered around a marker no data can contain, and the findings'
    # sections (made once each, as bytes) are joined in its place.
    marker = f"<!--{secrets.token_hex(16)}-->"
    entries = []
    groups = sorted(_by_school(list(report.findings)).items())
    # A finding spanning schools is worded once, and kept only until its last school's
    # runbook is written: every finding's words and pictures held until the end would stay
    # in the process's memory after the runbooks are done.
    schools_left = Counter(f.id for _, findings in groups for f in findings)
    made: dict[str, dict[str, Any]] = {}
    check_words: dict[str, tuple[str, str]] = {}
    dependencies = Dependencies(list(report.findings))
    for school_id, findings in groups:
        items = [made.get(f.id) or made.setdefault(f.id, runbook_entry(f, report, check_words,
                                                               dependencies))
                 for f in findings]
        households = group_households(items)
        checks = sorted({item["check"] for item in items},
                        key=lambda c: (RANKS.get(c, OTHER_RANK), c))
        why = [(c, check_words[c][0]) for c in checks if check_words.get(c, ("",))[0]]
        name = ("Findings with no school" if school_id == NO_SCHOOL_KEY
                else report.schools.get(school_id, school_id))
        stem = school_file_stem(school_id)
        head, tail = page.render(
            school_name=name, school_id=school_id, count=len(items), stamp=report.stamp,
            board_name=report.board_name, households=len(households), why=why,
            caption=PICTURE_CAPTION if any(item.get("picture", True) for item in items)
            else "", sections=Markup(marker)).split(marker)
        # The staging folder is swapped in whole (replace_folder), so each file is written
        # in place: nobody reads it before it is finished.
        _write(folder / f"{stem}.html",
               _page_html(households, head.encode("utf-8"), tail.encode("utf-8")))
        _write(folder / f"{stem}.md",
               runbook_markdown(name, school_id, households, report.stamp, why).encode("utf-8"))
        counts = {s: sum(1 for i in items if i["severity"] == s) for s in wording.SEVERITY_ORDER}
        entries.append({"school_id": school_id, "name": name, "stem": stem, "total": len(items),
                        **counts})
        for finding, item in zip(findings, items):
            schools_left[finding.id] -= 1
            if schools_left[finding.id] <= 0:
                made.pop(finding.id, None)
            elif "picture" in item:  # its pages are made: keep only what they need
                made[finding.id] = {key: item[key] for key in _KEPT}
        del items, households
    return write_atomic(folder / "index.html", env.get_template(
        "runbooks_index.html.j2").render(entries=entries, stamp=report.stamp,
                                         board_name=report.board_name))


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o644)  # as write_atomic leaves its files, whatever the umask


_KEPT = ("id", "check", "rank", "severity", "keys", "waits", "after", "who", "_html",
         "_markdown")
"""What a finding's runbook entry needs once its section and Markdown are made."""
