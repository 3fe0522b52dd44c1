"""Runbooks: one page per school, highest severity first, names shown as text."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from reports import ReportInput
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
