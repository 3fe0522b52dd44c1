"""The HTML report in a real browser (Debian's Chromium, headless): filter, open a finding,
see its household picture, accept two fixes and download the plan; no console error, no
network request, and hostile names stay text."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from playwright.sync_api import expect

from audits.findings import sort_findings
from fixes.plan import plan_action, plan_document
from reports import ReportInput, write_reports
from reports.samples import (HOSTILE_FORMULA, HOSTILE_IMG, HOSTILE_JS, HOSTILE_SCRIPT,
                             SAMPLE_GENERATED_AT, SAMPLE_SCHOOLS, sample_findings)

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="Chromium is not installed (CI installs it and never skips)"),
]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                    args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def opened(browser, tmp_path):
    """The demo report open in a fresh page, with every console error, dialog and request
    outside file:, data: and blob: recorded."""
    findings = sample_findings()
    report = ReportInput(findings, schools=SAMPLE_SCHOOLS, board_name="Demo",
                         generated_at=SAMPLE_GENERATED_AT, input_path="demo-board")
    html = write_reports(report, tmp_path, formats=("html",))["html"]
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    trouble: list[str] = []
    page.on("console", lambda m: m.type == "error" and trouble.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: trouble.append(f"page error: {e}"))
    page.on("dialog", lambda d: (trouble.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: r.url.split(":", 1)[0] not in ("file", "data", "blob")
            and trouble.append(f"request: {r.url}"))
    page.goto(html.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    yield page, findings, trouble, tmp_path
    context.close()


def test_filter_open_see_household_accept_two_and_download_plan(opened):
    page, findings, trouble, tmp_path = opened
    rows = page.locator("tr.finding")
    assert rows.count() == len(findings)
    page.fill("#decided-by", "Ana")

    page.select_option("#school-filter", "1021")
    expected = [f for f in findings if "1021" in f.school_ids]
    assert rows.count() == len(expected)
    assert f"Showing {len(expected)} of {len(expected)}" in page.locator("#count").inner_text()

    duplicate = next(f for f in expected if f.check == "duplicate-contact")
    page.locator(f'tr.finding[data-id="{duplicate.id}"]').click()
    detail = page.locator(f'tr[data-detail-for="{duplicate.id}"]')
    assert detail.locator("table.evidence").inner_text().count("same") == 2
    svg = detail.locator("svg.household")
    assert svg.is_visible()
    assert svg.locator("g.node").count() == len(duplicate.household["nodes"])
    assert svg.locator("g.node.focus").count() >= 2  # the duplicate records, highlighted
    assert "Jenny Smith" in svg.text_content()
    assert svg.locator("path.edge.sibling").count() == 1
    detail.get_by_role("button", name="Accept fix").click()

    siblings = next(f for f in expected if f.check == "unlinked-siblings")
    page.locator(f'tr.finding[data-id="{siblings.id}"]').click()
    missing = page.locator(f'tr[data-detail-for="{siblings.id}"] path.edge.missing')
    assert missing.count() == 1  # the sibling link that should exist, drawn dashed red
    page.locator(f'tr[data-detail-for="{siblings.id}"]').get_by_role(
        "button", name="Accept fix").click()
    access = next(f for f in expected if f.check == "missing-sibling-access")
    page.locator(f'tr.finding[data-id="{access.id}"]').click()
    page.locator(f'tr[data-detail-for="{access.id}"]').get_by_role(
        "button", name="Reject fix").click()
    assert "2 fixes accepted, 1 rejected" in page.locator("#review-status").inner_text()

    with page.expect_download() as download_info:
        page.click("#download-plan")
    download = download_info.value
    saved = tmp_path / "fix-plan.json"
    download.save_as(saved)
    plan = json.loads(saved.read_text())
    # In report order (findings.json's order), as `connect-audit fix plan` lists them; each
    # decision with who made it and when.
    accepted = [f for f in sort_findings(findings) if f.id in (duplicate.id, siblings.id)]
    times = [action.pop("decided_at") for action in plan["actions"]]
    rejected_at = plan["rejected"][0].pop("decided_at")
    assert all(ISO_UTC.fullmatch(t) for t in [*times, rejected_at])
    assert plan == plan_document([{**plan_action(f.to_dict()), "decided_by": "Ana"}
                                  for f in accepted], source="demo-board", reviewer="Ana",
                                 rejected=[{"finding": access.id, "decided_by": "Ana"}])
    assert trouble == []


def test_search_sort_and_severity_filter(opened):
    page, findings, trouble, _ = opened
    # The page's own policy forbids eval, so waits use locators rather than wait_for_function.
    page.fill("#search", "noah")
    expect(page.locator("tr.finding")).to_have_count(1)
    page.fill("#search", "")
    expect(page.locator("tr.finding")).to_have_count(len(findings))
    page.select_option("#severity-filter", "warning")
    assert page.locator("tr.finding").count() == sum(f.severity.value == "warning"
                                                     for f in findings)
    page.select_option("#severity-filter", "")
    page.click('th[data-sort="confidence"]')  # highest first
    page.click('th[data-sort="confidence"]')  # then lowest first
    first = page.locator("tr.finding").first.get_attribute("data-id")
    assert first == min(findings, key=lambda f: f.confidence).id
    page.locator("#tabs button[data-check='username-clash']").click()
    assert page.locator("tr.finding").count() == 1
    assert trouble == []


def test_hostile_names_show_as_text_in_table_and_svg(opened):
    page, findings, trouble, _ = opened
    page.select_option("#school-filter", "3030")
    hostile = next(f for f in findings if f.check == "duplicate-contact" and "C900" in f.contacts)
    page.locator(f'tr.finding[data-id="{hostile.id}"]').click()
    detail = page.locator(f'tr[data-detail-for="{hostile.id}"]')
    text = detail.inner_text()
    for name in (HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_JS, HOSTILE_FORMULA):
        assert name in text
    svg_labels = detail.locator("svg g.node title").all_text_contents()
    assert any(HOSTILE_SCRIPT in t for t in svg_labels)
    assert any(HOSTILE_IMG in t for t in svg_labels)
    assert page.locator(f"tr.finding[data-id='{hostile.id}']").inner_text().count(HOSTILE_IMG) == 1
    # Nothing the data says became an element: no <img>, no extra <script>, no link anywhere.
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 3  # index, one detail block, the page's script
    assert page.locator("a").count() == 0
    assert page.locator("svg script, svg foreignObject, svg a").count() == 0
    assert page.locator("option", has_text="<b>Bold</b> & Co. Academy").count() == 1
    page.wait_for_timeout(200)  # let any injected handler (onerror) fire, if one existed
    assert trouble == []


def test_export_suppressions_is_disabled_until_something_is_marked(opened):
    page, findings, trouble, _ = opened
    button = page.locator("#export-suppressions")
    expect(button).to_be_disabled()
    assert "Nothing to export" in button.get_attribute("title")
    finding = next(f for f in findings if f.check == "username-clash")
    page.fill("#decided-by", "Ana")
    page.locator(f'tr.finding[data-id="{finding.id}"]').click()
    detail = page.locator(f'tr[data-detail-for="{finding.id}"]')
    detail.locator("input.suppress-reason").fill("shared family email")
    detail.locator("button.suppress-button").click()
    expect(button).to_be_enabled()
    assert button.inner_text() == "Export suppressions (1)"
    detail.locator("button.unsuppress").click()
    expect(button).to_be_disabled()
    assert trouble == []


def test_dense_household_labels_do_not_overlap_and_long_names_keep_a_tooltip(browser, tmp_path):
    from test_report_html import LONG_USERNAME, dense_finding

    finding = dense_finding()
    html = write_reports(ReportInput([finding], schools=SAMPLE_SCHOOLS,
                                     generated_at=SAMPLE_GENERATED_AT), tmp_path,
                         formats=("html",))["html"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(html.as_uri())
        page.wait_for_selector("body[data-ready=true]")
        page.locator(f'tr.finding[data-id="{finding.id}"]').click()
        svg = page.locator(f'tr[data-detail-for="{finding.id}"] svg.household')
        boxes = svg.evaluate("""s => Array.from(s.querySelectorAll('text.edge-label'))
            .map(t => { const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; })""")
        assert len(boxes) == 5 + 2
        for i, (x, y, w, h) in enumerate(boxes):
            for bx, by, bw, bh in boxes[i + 1:]:
                assert not (x < bx + bw and bx < x + w and y < by + bh and by < y + h), boxes
        # ...nor run out of the gap into the student boxes.
        students_left = svg.evaluate("""s => Math.min(...Array.from(
            s.querySelectorAll('g.node.student rect')).map(r => r.getBoundingClientRect().left))""")
        lefts = svg.evaluate("""s => Array.from(s.querySelectorAll('text.edge-label'))
            .filter(t => t.getAttribute('text-anchor') === 'start')
            .map(t => t.getBoundingClientRect().right)""")
        assert max(lefts) < students_left
        account = svg.locator("g.node.account")
        assert account.locator("title").text_content() == f"account A1: {LONG_USERNAME}"
        shown = account.locator("text.label").text_content()
        assert shown.endswith("…") and LONG_USERNAME.startswith(shown[:-1])
        label_right = account.locator("text.label").evaluate("t => t.getBoundingClientRect().right")
        box_right = account.locator("rect").evaluate("r => r.getBoundingClientRect().right")
        assert label_right <= box_right
        assert svg.locator("path.edge title").count() == svg.locator("path.edge").count()
    finally:
        page.close()
