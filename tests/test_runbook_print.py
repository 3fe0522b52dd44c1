"""The demo's largest school's runbook printed by Chromium (page.pdf, Letter) as support staff
print it: at most 20 pages per 50 findings, page 1 already holds work, no heading left alone at
the foot of a page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits.cli import main

from boards import CHROMIUM, LAUNCH_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="Chromium is not installed (CI installs it and never skips)"),
    pytest.mark.skipif(not shutil.which("pdftotext") and not os.environ.get("CI"),
                       reason="poppler-utils (pdftotext) is not installed"),
]
PAGES_PER_50_FINDINGS = 20


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """(findings on the page, the PDF's pages as text) of the demo's largest school."""
    from playwright.sync_api import sync_playwright

    out = tmp_path_factory.mktemp("demo")
    done = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert done.exit_code in (0, 1), done.output
    pages = {path: path.read_text("utf-8").count('<section class="finding"')
             for path in (out / "runbooks").glob("*.html") if path.name != "index.html"}
    largest = max(pages, key=lambda path: (pages[path], path.name))
    pdf = out / "runbook.pdf"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                    args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.goto(largest.as_uri())
            page.pdf(path=str(pdf), format="Letter")
        finally:
            browser.close()
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=120).stdout
    sheets = text.split("\f")
    if sheets and not sheets[-1].strip():
        sheets.pop()
    print(f"\nrunbook {largest.name}: {pages[largest]} findings, {len(sheets)} Letter pages")
    return pages[largest], sheets


def test_the_largest_schools_runbook_prints_in_20_pages_per_50_findings(printed):
    findings, sheets = printed
    assert findings >= 40  # the demo's largest school: a real day's work
    assert len(sheets) <= PAGES_PER_50_FINDINGS * max(findings, 50) / 50, len(sheets)


def test_page_one_holds_more_than_the_title(printed):
    _, sheets = printed
    first = sheets[0]
    assert "Runbook:" in first and "Why these checks matter" in first
    # The first household and its first finding start on page 1, steps and all.
    assert "Household 1" in first and re.search(r"#1 +(Error|Warning|Info)", first)
    assert "Steps (" in first


def test_no_heading_is_left_at_the_foot_of_a_page(printed):
    _, sheets = printed
    heading = re.compile(r"^\s*(Household \d+|#\d+ +(Error|Warning|Info)|Steps \(.*\):|"
                         r"Why these checks matter)\b")
    for number, sheet in enumerate(sheets[:-1], 1):
        lines = [line for line in sheet.splitlines() if line.strip()]
        assert lines and not heading.match(lines[-1]), (number, lines[-1])
