"""The side-by-side evidence and the household picture in a real browser (Debian's Chromium,
headless): the table's cells say their agreement in words as well as colour, hidden spaces
show, names stay text, and the page's picture routes no line through a node it does not join."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from household_geometry import crossings
from reports.input import ReportInput
from reports.writing import write_reports
from reports.samples import HOSTILE_IMG
from boards import CHROMIUM, LAUNCH_ARGS, three_records

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="Chromium is not installed (CI installs it and never skips)"),
]


def _household():
    """The three records, their children, and another parent whose account sees the first
    child: that parent's account line skips the students' column."""
    nodes = [("contact", c) for c in ("C1", "C2", "C3", "C9")] + \
        [("student", s) for s in ("S1", "S2", "S3")] + [("account", "A9")]
    edges = [("contact:C1", "student:S1", "contact-of"), ("contact:C2", "student:S2", "contact-of"),
             ("contact:C3", "student:S3", "contact-of"), ("contact:C9", "student:S1", "contact-of"),
             ("contact:C9", "student:S2", "contact-of"), ("contact:C9", "student:S3", "contact-of"),
             ("account:A9", "contact:C9", "holds-account"),
             ("account:A9", "student:S3", "can-see")]
    return {"nodes": [{"id": f"{k}:{r}", "kind": k, "ref": r, "label": r} for k, r in nodes],
            "edges": [{"source": a, "target": b, "kind": kind,
                       **({"relationship": "Mother", "portal_access": True}
                          if kind == "contact-of" else {})} for a, b, kind in edges]}


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    finding = three_records()
    finding.fix["records"]["C3"]["street"] = HOSTILE_IMG
    finding = replace(finding, household=_household())
    html = write_reports(ReportInput([finding]), tmp_path, formats=("html",))["html"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                    args=LAUNCH_ARGS)
        page = browser.new_page()
        trouble: list[str] = []
        page.on("console", lambda m: m.type == "error" and trouble.append(m.text))
        page.on("pageerror", lambda e: trouble.append(str(e)))
        page.goto(html.as_uri())
        page.wait_for_selector("body[data-ready=true]")
        page.locator(f'tr.finding[data-id="{finding.id}"]').click()
        yield page.locator(f'tr[data-detail-for="{finding.id}"]'), trouble
        browser.close()


def test_side_by_side_table_with_levels_in_words_and_hidden_spaces(page):
    detail, trouble = page
    table = detail.locator("table.records")
    assert table.is_visible()
    heads = table.locator("thead th")
    assert heads.count() == 4  # the field, then a column per record
    assert heads.nth(1).get_attribute("class") == "kept"
    assert "C1" in heads.nth(1).inner_text() and "kept" in heads.nth(1).inner_text()
    first = table.locator('tr[data-field="first_name"] td')
    assert first.nth(1).get_attribute("class") == "level-similar"
    assert "similar: spacing differs" in first.nth(1).inner_text()
    assert first.nth(1).locator(".space-mark").count() == 2  # "Jennifer" and two spaces
    assert first.nth(2).inner_text().endswith("similar: nickname")
    last = table.locator('tr[data-field="last_name"] td')
    assert "case differs" in last.nth(1).inner_text()
    email = table.locator('tr[data-field="email"] td')
    assert email.nth(2).get_attribute("class") == "level-missing"
    assert "missing" in email.nth(2).inner_text()
    students = table.locator('tr[data-field="students"] td').nth(0)
    assert "Ava Smith (S1), Mother" in students.inner_text()
    # The legend names every level in words.
    legend = detail.locator(".records-legend .swatch")
    assert legend.all_inner_texts() == ["same", "similar", "different", "missing"]
    # A name made of markup is text.
    street = table.locator('tr[data-field="street"] td').nth(2)
    assert HOSTILE_IMG in street.inner_text()
    assert detail.locator("table.records img").count() == 0
    assert trouble == []


def test_the_pages_household_picture_routes_no_line_through_another_node(page):
    detail, trouble = page
    svg = detail.locator("svg.household")
    text = svg.evaluate("node => new XMLSerializer().serializeToString(node)")
    assert "holds the account" in text
    assert crossings(text) == []
    assert trouble == []
