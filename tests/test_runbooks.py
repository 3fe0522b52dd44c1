"""Runbooks: one page per school, by household in the order of the work, names shown as text."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from reports.input import ReportInput
from reports.runbooks import school_file_stem, write_runbooks
from reports.safety import markdown_text
from reports.samples import (HOSTILE_FORMULA, HOSTILE_IMG, HOSTILE_SCRIPT, SAMPLE_SCHOOLS,
                             sample_findings)


@pytest.fixture(scope="module")
def runbooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runbooks")
    report = ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS, board_name="Demo",
                         checks={"duplicate-contact": {"summary": "s", "why": "Two accounts.",
                                                       "how": "Merge."}})
    index = write_runbooks(report, folder)
    return folder, index, report


def test_one_page_per_school_in_html_and_markdown_and_an_index(runbooks):
    folder, index, report = runbooks
    schools = {s for f in report.findings for s in f.school_ids}
    assert {p.stem for p in folder.glob("*.md")} == {school_file_stem(s) for s in schools}
    assert {p.stem for p in folder.glob("*.html")} == {school_file_stem(s) for s in schools} | {"index"}
    text = index.read_text()
    for school in schools:
        assert f'href="{school_file_stem(school)}.html"' in text
    assert "Maple Grove Public School" in text


def test_steps_are_numbered_with_exact_names_and_ids_and_why_once_per_check(runbooks):
    folder, _, report = runbooks
    page = (folder / "1021.md").read_text()
    numbers = [int(n) for n in re.findall(r"^### (\d+)\. ", page, re.M)]
    assert numbers == list(range(1, len(numbers) + 1))
    assert "1. [ ] Open Contacts and search for C388 (Jenny Smith)." in page
    assert "Jennifer Smith (C104)" in page
    html = (folder / "1021.html").read_text()
    assert "Retire contact record C388." in html
    # "Why it matters" once per check on the page, not once per finding.
    assert html.count("Two accounts.") == 1 and page.count("Two accounts.") == 1
    assert "<dt>duplicate-contact</dt><dd>Two accounts.</dd>" in html
    assert html.count('<section class="finding"') == sum("1021" in f.school_ids
                                                         for f in report.findings)


def test_markdown_escapes_names(runbooks):
    folder, _, _ = runbooks
    rendered = MarkdownIt("commonmark").render((folder / "3030.md").read_text())
    assert "<script" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
    assert "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)" in rendered


@pytest.mark.parametrize("name", ["*bold*", "[x](javascript:alert(1))", "<b>x</b>", "# head",
                                  "`code`", "a_b_c", "![i](x.png)", "http://x.example"])
def test_markdown_text_renders_as_itself(name):
    rendered = MarkdownIt("commonmark").enable("linkify").render(f"Name: {markdown_text(name)}")
    assert "<em>" not in rendered and "<a " not in rendered and "<img" not in rendered
    assert "<h1>" not in rendered and "<code>" not in rendered and "<b>" not in rendered
    assert "<strong>" not in rendered


def test_html_runbook_escapes_names(runbooks):
    folder, _, _ = runbooks
    html = (folder / "3030.html").read_text()
    assert HOSTILE_SCRIPT not in html and HOSTILE_IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co. Academy" in html
    assert HOSTILE_FORMULA.replace('"', "&#34;") in html
    # The household picture: drawn, with the hostile labels escaped inside the SVG too.
    svg = html[html.index("<svg"):html.rindex("</svg>")]
    assert "<title>contact record C900: &lt;script&gt;alert(1)&lt;/script&gt;</title>" in svg
    assert "<script" not in svg and "<img" not in svg


def test_runbook_picture_highlights_the_duplicate_records(runbooks):
    from xml.etree import ElementTree

    from reports.svg import household_svg

    finding = next(f for f in sample_findings() if f.check == "duplicate-contact")
    svg = ElementTree.fromstring(str(household_svg(finding)))
    ns = {"s": "http://www.w3.org/2000/svg"}
    outlined = [g.find("s:title", ns).text for g in svg.findall("s:g", ns)
                if g.find("s:rect", ns).get("stroke") == "#c0392b"]
    assert sorted(t.split(":")[0] for t in outlined) == ["contact record C104",
                                                         "contact record C388"]


def test_school_ids_cannot_escape_the_folder():
    assert "/" not in school_file_stem("../../etc") and ".." not in school_file_stem("../x")
    assert school_file_stem("1021") == "1021"
    assert school_file_stem("a/b") != school_file_stem("a_b")


def test_a_school_with_no_findings_this_run_keeps_no_runbook_from_the_last(tmp_path):
    findings = sample_findings()
    folder = tmp_path / "runbooks"
    write_runbooks(ReportInput(findings, schools=SAMPLE_SCHOOLS), folder)
    (folder / "notes.txt").write_text("left by hand")
    schools = sorted({s for f in findings for s in f.school_ids})
    gone = schools[0]
    rest = [f for f in findings if gone not in f.school_ids]
    assert rest and len({s for f in rest for s in f.school_ids}) < len(schools)
    index = write_runbooks(ReportInput(rest, schools=SAMPLE_SCHOOLS), folder)
    assert index == folder / "index.html"
    expected = {school_file_stem(s) for f in rest for s in f.school_ids}
    assert {p.stem for p in folder.glob("*.md")} == expected
    assert {p.name for p in folder.iterdir()} == {f"{stem}.{ext}" for stem in expected
                                                 for ext in ("md", "html")} | {"index.html"}
    assert f'href="{school_file_stem(gone)}.html"' not in index.read_text()
    # The swap leaves nothing beside the folder.
    assert [p.name for p in tmp_path.iterdir()] == ["runbooks"]


def test_a_failed_write_leaves_the_last_runbooks_as_they_were(tmp_path, monkeypatch):
    import reports.runbooks as runbooks_module

    folder = tmp_path / "runbooks"
    write_runbooks(ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS), folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runbooks_module, "runbook_markdown", broken)
    with pytest.raises(RuntimeError):
        write_runbooks(ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS), folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["runbooks"]


def test_a_finding_listed_under_two_schools_reads_the_same_in_each_runbook(tmp_path):
    """Each finding's section is built once and reused; only its number differs per school."""
    from dataclasses import replace

    base = sample_findings()
    shared = replace(base[0], school_ids=("S1", "S2"), title="Shared <b>&")
    alone = replace(base[1], id=base[1].id + "-x", school_ids=("S2",))
    report = ReportInput([shared, alone], schools={"S1": "One", "S2": "Two"})
    folder = tmp_path / "rb"
    write_runbooks(report, folder)
    one = (folder / f"{school_file_stem('S1')}.html").read_text()
    two = (folder / f"{school_file_stem('S2')}.html").read_text()
    section = re.compile(r'<section class="finding" id="%s">.*?</section>' % re.escape(shared.id),
                         re.S)
    first, second = section.search(one).group(), section.search(two).group()
    assert "Shared &lt;b&gt;&amp;" in first and "<b>&" not in first.split("Shared")[1][:8]
    assert re.sub(r"#\d+", "", first) == re.sub(r"#\d+", "", second)
    assert len(re.findall(r'<section class="finding"', two)) == 2


def test_markdown_text_fast_paths_escape_like_the_full_pattern(monkeypatch):
    """markdown_text skips the full pattern when no character could match, and drops its
    scheme part when there is no ":"; both must escape exactly as the full pattern does."""
    import reports.safety as safety

    texts = ["plain name", "a_b c_", "www.x.ca", "see http://x", "x.www.y", "&amp; & #",
             "![x](y)", "1. one", "# h", "a ~ b ~c~", "time 13:31", "mail: a@b.c",
             "javascript:alert(1)", "WWW.A.B:c", "e.g. word", "*[x](javascript:y)*", "<s>|`"]
    fast = [markdown_text(t) for t in texts]
    monkeypatch.setattr(safety, "_MD_MAYBE_RE", re.compile(r"(?s:.)|^"))
    monkeypatch.setattr(safety, "_MD_INLINE_NO_SCHEME_RE", safety._MD_INLINE_RE)
    assert fast == [markdown_text(t) for t in texts]


# ------------------------------------------------------------------ the order of the work
def _family_findings():
    """One family as the checks report it, listed highest severity first as every report
    sorts them: a clash of two records of one person, the merge that resolves it (one of its
    steps needs a sibling link first), the sibling link (a warning), and a parent's missing
    username on the record the merge keeps; plus a finding of another family."""
    from audits.model.findings import Finding, Severity

    names = {"C1": "Ann Lee", "C2": "Ann Lee", "S1": "Bo Lee", "S2": "Cy Lee", "C9": "Zed Roe",
             "S9": "Al Roe"}
    clash = Finding(
        id="username-clash:00000001", check="username-clash", severity=Severity.ERROR,
        title="Username ann@x.ca is held by 2 accounts", school_ids=("1021",), contacts=("C1", "C2"),
        username="ann@x.ca", names=names,
        fix={"action": "rename-username", "cause": "two records of one person",
             "contacts": [{"contact_id": "C1", "email": "ann@x.ca"},
                          {"contact_id": "C2", "email": "ann@x.ca"}],
             "steps": ["1. Merge the records (the duplicate-contact finding).", "2. Generate."],
             "waits_for": [{"step": 1, "check": "duplicate-contact", "contacts": ["C1", "C2"]}]})
    merge = Finding(
        id="duplicate-contact:00000002", check="duplicate-contact", severity=Severity.ERROR,
        title="Contact records C1 and C2 look like one person", school_ids=("1021",),
        students=("S1", "S2"), contacts=("C1", "C2"), names=names,
        fix={"action": "merge-contacts", "keep": "C1", "retire": ["C2"],
             "steps": ["1. Open student Cy Lee (S2), delete contact C2.",
                       "2. If Ann Lee (C1) does not show up to pick, link siblings first.",
                       "3. Disable the account of C2."],
             "waits_for": [{"step": 2, "check": "unlinked-siblings", "student": "S2",
                            "siblings": ["S1"]}]})
    other = Finding(
        id="missing-username-source:00000009", check="missing-username-source",
        severity=Severity.ERROR, title="Contact record C9 has no usable username",
        school_ids=("1021",), students=("S9",), contacts=("C9",), names=names,
        fix={"action": "manual", "steps": ["1. Enter an email for C9."]})
    username = Finding(
        id="missing-username-source:00000004", check="missing-username-source",
        severity=Severity.ERROR, title="Contact record C1 has no usable username",
        school_ids=("1021",), students=("S1",), contacts=("C1",), names=names,
        fix={"action": "manual", "steps": ["1. Enter an email for C1."]})
    siblings = Finding(
        id="unlinked-siblings:00000003", check="unlinked-siblings", severity=Severity.WARNING,
        title="2 students of one family are missing 1 sibling link", school_ids=("1021",),
        students=("S1", "S2"), pairs=(("S1", "S2"),), names=names,
        fix={"action": "link-siblings", "pairs": [["S1", "S2"]],
             "steps": ["1. Students > Bo Lee (S1) > Siblings: click +, choose Cy Lee (S2)."]})
    return [clash, merge, other, username, siblings]


def _headings(page: str) -> dict[str, int]:
    """Finding id -> its number in a Markdown runbook."""
    found = {}
    for number, ident in re.findall(r"^### (\d+)\. .*?\n\n- Finding: `([^`]+)`", page, re.M):
        found[ident] = int(number)
    return found


def test_a_household_comes_in_the_order_of_the_work_and_names_what_it_waits_for(tmp_path):
    write_runbooks(ReportInput(_family_findings(), schools=SAMPLE_SCHOOLS), tmp_path / "rb")
    page = (tmp_path / "rb" / "1021.md").read_text()
    number = _headings(page)
    siblings, merge = number["unlinked-siblings:00000003"], number["duplicate-contact:00000002"]
    clash, username = number["username-clash:00000001"], number["missing-username-source:00000004"]
    # One household (the Lees) first, in the order of the work; the Roes' finding after it.
    assert (siblings, merge) == (1, 2) and {clash, username} == {3, 4}
    assert number["missing-username-source:00000009"] == 5
    assert page.index("## Household 1 (#1-#4)") < page.index("### 1.") \
        < page.index("## Household 2 (#5)") < page.index("### 5.")
    # The merge's step that needs the sibling link names it; the clash names its merge.
    assert "2. [ ] If Ann Lee (C1) does not show up to pick, link siblings first. " \
           "**Do #1 first: it links them.**" in page
    assert "1. [ ] Merge the records (the duplicate-contact finding). " \
           "**That merge is #2: once it is done, this clash is gone.**" in page
    sections = re.split(r"^### ", page, flags=re.M)
    assert "- Do first: #1\n" in sections[2]
    # The clash, and the username of the record the merge keeps, wait for the merge.
    assert "- Do first: #2\n" in sections[3] and "- Do first: #2\n" in sections[4]
    assert "Do first" not in sections[1] and "Do first" not in sections[5]
    html = (tmp_path / "rb" / "1021.html").read_text()
    assert '<b class="dep">Do #1 first: it links them.</b>' in html
    assert '<p class="after"><b>Do first:</b> #2</p>' in html


def test_a_step_names_the_finding_it_waits_for_by_id_when_that_is_in_another_runbook(tmp_path):
    from dataclasses import replace

    findings = _family_findings()
    findings[4] = replace(findings[4], school_ids=("3030",))
    write_runbooks(ReportInput(findings, schools=SAMPLE_SCHOOLS), tmp_path / "rb")
    page = (tmp_path / "rb" / "1021.md").read_text()
    assert "**Finding unlinked-siblings\\:00000003 links them.**" in page
    assert "Do first: #1\n" in page  # the clash still waits for the merge, now #1


def test_a_long_list_of_steps_is_not_printed_in_every_school(tmp_path):
    from audits.model.findings import Finding, Severity

    students = [f"S{k:03}" for k in range(200)]
    steps = ["1. Find out who the record is."] + [
        f"{k + 2}. Open student {s} and delete contact OFFICE." for k, s in enumerate(students)]
    steps += ["202. Run the audit again."]
    finding = Finding(id="overlinked-contact:0000000a", check="overlinked-contact",
                      severity=Severity.ERROR, title="Contact record OFFICE is linked to 200",
                      school_ids=("1021", "3030"), students=tuple(students), contacts=("OFFICE",),
                      fix={"action": "manual", "steps": steps})
    write_runbooks(ReportInput([finding, *_family_findings()], schools=SAMPLE_SCHOOLS),
                   tmp_path / "rb")
    for stem in ("1021", "3030"):
        page = (tmp_path / "rb" / f"{stem}.md").read_text()
        assert "Open student S016 " in page and "Open student S017 " not in page
        assert "Open student S199 " in page and "202. [ ] Run the audit again." in page
        assert "182 more steps of this finding are not printed here: see finding " \
               "overlinked-contact:0000000a in audit.html or audit.xlsx" in page
        assert "S011 and 188 more" in page  # the records named: the first dozen
        html = (tmp_path / "rb" / f"{stem}.html").read_text()
        assert '<li value="201">' in html and html.count("delete contact OFFICE") == 18
    # The record linked to strangers is cleaned first and joins no family's household.
    page = (tmp_path / "rb" / "1021.md").read_text()
    assert page.index("overlinked-contact:0000000a") < page.index("unlinked-siblings:00000003")
    assert "## Household 1 (#1): " in page and "## Household 2 (#2-#5)" in page


@pytest.fixture(scope="module")
def sample_audit(tmp_path_factory):
    """A sample board audited as the CLI does it: its findings.json and runbooks."""
    import json

    from click.testing import CliRunner

    from audits.cli import main

    root = tmp_path_factory.mktemp("sample-runbooks")
    run = CliRunner().invoke
    assert run(main, ["sample", str(root / "board"), "--students", "800", "--seed", "7"]
               ).exit_code == 0
    done = run(main, ["audit", str(root / "board"), "--out", str(root / "out"), "--quiet"])
    assert done.exit_code in (0, 1), done.output
    return json.loads((root / "out" / "findings.json").read_text("utf-8")), root / "out" / "runbooks"


def test_sample_board_runbooks_put_each_household_in_dependency_order(sample_audit):
    """On a generated board: every merge step waiting for a sibling link names that
    unlinked-siblings finding's number, which comes before it in its household; every clash of
    two records of one person names its merge's number, which comes before it."""
    doc, folder = sample_audit
    by_id = {f["id"]: f for f in doc["findings"]}
    checked = {"duplicate-contact": 0, "username-clash": 0}
    for path in sorted(folder.glob("*.md")):
        page = path.read_text("utf-8")
        # Every household is named after its records (a clash of existing accounts too).
        assert not re.search(r"^## Household \d+ \(#[\d-]+\): *$", page, re.M), path.name
        number = _headings(page)
        household_of = {}
        for k, block in enumerate(re.split(r"^## Household ", page, flags=re.M)[1:]):
            for ident in _headings("\n" + block.split("\n", 1)[1]):
                household_of[ident] = k
        for ident, n in number.items():
            finding = by_id[ident]
            waits = finding["fix"].get("waits_for") or []
            if not waits:
                continue
            section = page[page.index(f"### {n}. "):]
            section = section[:section.index("\n### ")] if "\n### " in section else section
            for wait in waits:
                step = re.search(rf"^{wait['step']}\. \[ \] .*$", section, re.M).group()
                if wait["check"] == "unlinked-siblings":
                    m = re.search(r"\*\*Do #(\d+) first: it links them\.\*\*", step)
                    want = set([wait["student"]]), set(wait["siblings"])
                else:
                    m = re.search(r"\*\*That merge is #(\d+): once it is done", step)
                    want = set(wait["contacts"]), set()
                if m is None:
                    continue  # that finding is in another school's runbook: named by id
                other = next(i for i, k in number.items() if k == int(m.group(1)))
                ids = set(by_id[other]["entities"]["students" if want[1] else "contacts"])
                assert by_id[other]["check"] == wait["check"] and want[0] <= ids
                assert not want[1] or want[1] & ids
                assert int(m.group(1)) < n and household_of[other] == household_of[ident]
                checked[finding["check"]] += 1
    assert checked["duplicate-contact"] and checked["username-clash"], checked
