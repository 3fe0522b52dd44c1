"""The HTML report in a real browser (Debian's Chromium, headless): filter, open a finding,
see its household picture, accept two fixes and download the plan; no console error, no
network request, and hostile names stay text."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from playwright.sync_api import expect

from audits.model.findings import sort_findings
from fixes.plan import build_plan, plan_action, plan_document
from reports.input import ReportInput
from reports.writing import write_reports
from reports.samples import (HOSTILE_FORMULA, HOSTILE_IMG, HOSTILE_JS, HOSTILE_SCRIPT,
                             SAMPLE_GENERATED_AT, SAMPLE_SCHOOLS, sample_findings)

from boards import CHROMIUM, LAUNCH_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="Chromium is not installed (CI installs it and never skips)"),
]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


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
    from boards import LONG_USERNAME, dense_finding

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


# ------------------------------------------------------------------ review on the demo board

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo board and its reports, as `connect-audit demo` writes them."""
    from click.testing import CliRunner

    from audits.cli import main

    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out / "demo")])
    assert result.exit_code == 0, result.output
    folder = out / "demo"
    return folder, json.loads((folder / "findings.json").read_text(encoding="utf-8"))


def open_report(browser, html: Path, **context_options):
    """A fresh browser context (its own storage) with ``html`` open; page errors, console
    errors and requests outside file:, data: and blob: go to ``trouble``; every dialog is
    accepted and its message kept in ``dialogs``."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000},
                                  **context_options)
    page = context.new_page()
    trouble: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: m.type == "error" and trouble.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: trouble.append(f"page error: {e}"))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.on("request", lambda r: r.url.split(":", 1)[0] not in ("file", "data", "blob")
            and trouble.append(f"request: {r.url}"))
    page.goto(html.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    return context, page, trouble, dialogs


def find(page, finding_id: str):
    """The row of one finding, found by searching its id (the table draws 100 rows at a time)."""
    page.fill("#search", finding_id)
    expect(page.locator("tr.finding")).to_have_count(1)
    return page.locator(f'tr.finding[data-id="{finding_id}"]')


def opened_detail(page, finding_id: str):
    """The detail row of one finding, opened if it is not."""
    row = find(page, finding_id)
    detail = page.locator(f'tr[data-detail-for="{finding_id}"]')
    if not detail.count():
        row.click()
    return detail


def decide(page, finding_id: str, button: str):
    opened_detail(page, finding_id)
    page.locator(f'tr[data-detail-for="{finding_id}"]').get_by_role("button", name=button).click()


def shown_ids(page, review: str) -> set[str]:
    page.fill("#search", "")
    page.select_option("#decision-filter", review)
    ids = set(page.locator("tr.finding").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-id'))"))
    page.select_option("#decision-filter", "")
    return ids


def first_of(document, check, **fix):
    return next(f for f in document["findings"] if f["check"] == check
                and all(f["fix"].get(k) == v for k, v in fix.items()))


def test_decisions_survive_a_reload_and_stay_with_their_report(browser, demo, tmp_path):
    folder, document = demo
    context, page, trouble, dialogs = open_report(browser, folder / "audit.html")
    try:
        download = page.locator("#download-plan")
        expect(download).to_be_disabled()
        assert "Nothing to download" in download.get_attribute("title")
        assert "Nothing to download" in page.locator("#download-reason").inner_text()
        accepted = [first_of(document, check)["id"] for check in
                    ("duplicate-contact", "unlinked-siblings", "missing-sibling-access")]
        rejected = first_of(document, "username-clash")["id"]

        # The first decision asks for the reviewer's name and is not taken without it.
        decide(page, accepted[0], "Accept fix")
        assert "Reviewer" in page.locator("#review-note").inner_text()
        assert "0 fixes accepted, 0 rejected" in page.locator("#review-status").inner_text()
        page.fill("#decided-by", "Ana Reviewer")
        for finding_id in accepted:
            decide(page, finding_id, "Accept fix")
        decide(page, rejected, "Reject fix")
        assert "3 fixes accepted, 1 rejected" in page.locator("#review-status").inner_text()

        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert "3 fixes accepted, 1 rejected" in page.locator("#review-status").inner_text()
        assert page.input_value("#decided-by") == "Ana Reviewer"
        assert shown_ids(page, "accepted") == set(accepted)
        assert shown_ids(page, "rejected") == {rejected}
        detail = opened_detail(page, accepted[0])
        assert "accepted by Ana Reviewer" in detail.inner_text()

        # Another report opened in the same browser has its own (empty) review.
        other = write_reports(ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS,
                                          generated_at=SAMPLE_GENERATED_AT), tmp_path,
                              formats=("html",))["html"]
        page.goto(other.as_uri())
        page.wait_for_selector("body[data-ready=true]")
        assert "0 fixes accepted, 0 rejected" in page.locator("#review-status").inner_text()
        assert trouble == [] and dialogs == []
    finally:
        context.close()


def test_bulk_accept_rename_download_apply_and_load_back(browser, demo, tmp_path):
    from click.testing import CliRunner

    from audits.cli import main

    folder, document = demo
    context, page, trouble, dialogs = open_report(browser, folder / "audit.html")
    try:
        page.fill("#decided-by", "Ana Reviewer")
        duplicates = [f["id"] for f in document["findings"] if f["check"] == "duplicate-contact"]
        page.locator("#tabs button[data-check='duplicate-contact']").click()
        assert page.locator("#accept-shown").inner_text() == f"Accept all shown ({len(duplicates)})"
        page.click("#accept-shown")
        assert len(dialogs) == 1 and f"all {len(duplicates)} findings" in dialogs[0]
        assert f"{len(duplicates)} fixes accepted, 0 rejected" in \
            page.locator("#review-status").inner_text()

        # A rename decided in the page: a holder chosen, a value typed and checked.
        page.locator("#tabs button[data-check='username-clash']").click()
        page.select_option("#cause-filter", "family email shared by two parents")
        clash = page.locator("tr.finding").first
        clash_id = clash.get_attribute("data-id")
        finding = next(f for f in document["findings"] if f["id"] == clash_id)
        assert finding["fix"]["cause"] == "family email shared by two parents"
        clash.click()
        box = page.locator(f'tr[data-detail-for="{clash_id}"] fieldset.rename')
        box.locator("input.rename-option").nth(1).check()
        value = box.locator("input.rename-value")
        for typed, problem in (("julie macdonald@example.org", "contains a space"),
                               (finding["username"], "the clashing username itself"),
                               ("nobody@", "missing domain")):
            value.fill(typed)
            box.locator("button.set-rename").click()
            assert problem in box.locator("p.problem").inner_text()
        assert f"{len(duplicates)} fixes accepted" in page.locator("#review-status").inner_text()
        value.fill("Reviewed.Parent@Example.org")
        box.locator("button.set-rename").click()
        assert "(rename set)" in page.locator(f'tr.finding[data-id="{clash_id}"]').inner_text()
        # The second option the page offered, in the plan's order of options.
        offered = next(a for a in build_plan(document)["actions"] if a["finding"] == clash_id)
        chosen = offered["options"][1]["key"]

        rejected = first_of(document, "missing-sibling-access")["id"]
        page.locator("#tabs button[data-check='']").click()
        page.select_option("#cause-filter", "")
        decide(page, rejected, "Reject fix")
        assert f"{len(duplicates) + 1} fixes accepted, 1 rejected" in \
            page.locator("#review-status").inner_text()
        with page.expect_download() as download_info:
            page.click("#download-plan")
        plan_path = tmp_path / "fix-plan.json"
        download_info.value.save_as(plan_path)
        assert trouble == []
    finally:
        context.close()

    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    assert plan["reviewer"] == "Ana Reviewer"
    assert {a["finding"] for a in plan["actions"]} == {*duplicates, clash_id}
    assert [r["finding"] for r in plan["rejected"]] == [rejected]
    assert all(a["decided_by"] == "Ana Reviewer" and ISO_UTC.fullmatch(a["decided_at"])
               for a in plan["actions"])
    rename = next(a for a in plan["actions"] if a["finding"] == clash_id)
    assert rename["decision"] == {"table": "contacts", "key": chosen, "column": "email",
                                  "new_value": "Reviewed.Parent@Example.org"}

    fixed = tmp_path / "fixed"
    result = CliRunner().invoke(main, ["fix", "apply", str(plan_path), str(folder / "sample-board"),
                                       "--out", str(fixed), "--write"])
    assert result.exit_code == 0, result.output
    assert "Reviewed by Ana Reviewer; 1 rejected finding(s) left as they are." in result.output
    manifest = json.loads((fixed / ".connect-audit-undo" / "manifest.json").read_text())
    assert manifest["reviewer"] == "Ana Reviewer" and manifest["rejected"] == [rejected]
    # Exactly the accepted actions, but for merges that wait for a person's confirmation.
    assert set(manifest["applied"]) == {a["finding"] for a in plan["actions"]
                                        if not a["needs_decision"]}
    with open(fixed / "changes.csv", encoding="utf-8-sig", newline="") as handle:
        changes = list(csv.DictReader(handle))
    assert {c["finding_id"] for c in changes} == set(manifest["applied"])
    assert [(c["key"], c["column"], c["after"]) for c in changes
            if c["finding_id"] == clash_id] == [
                (f"contact_id={chosen}", "email", "Reviewed.Parent@Example.org")]

    # Load-back, in a browser that never saw this review.
    context, page, trouble, dialogs = open_report(browser, folder / "audit.html")
    try:
        assert "0 fixes accepted, 0 rejected" in page.locator("#review-status").inner_text()
        page.set_input_files("#load-decisions", str(plan_path))
        expect(page.locator("#review-status")).to_contain_text(
            f"{len(duplicates) + 1} fixes accepted, 1 rejected")
        assert page.input_value("#decided-by") == "Ana Reviewer"
        assert shown_ids(page, "rejected") == {rejected}
        opened_detail(page, clash_id)
        assert "Reviewed.Parent@Example.org" in \
            page.locator(f'tr[data-detail-for="{clash_id}"] fieldset.rename p.set').inner_text()

        # A plan of another export is refused; ids this report does not have are counted.
        other = json.loads(json.dumps(plan))
        table = next(iter(other["export"]["tables"].values()))
        table["sha256"] = "0" * 64
        (tmp_path / "other.json").write_text(json.dumps(other), encoding="utf-8")
        page.set_input_files("#load-decisions", str(tmp_path / "other.json"))
        expect(page.locator("#review-note")).to_contain_text("made from another export")
        foreign = json.loads(json.dumps(plan))
        foreign["actions"] = [{**plan["actions"][0], "finding": "duplicate-contact:ffffffff"}]
        foreign["rejected"] = []
        (tmp_path / "foreign.json").write_text(json.dumps(foreign), encoding="utf-8")
        page.set_input_files("#load-decisions", str(tmp_path / "foreign.json"))
        expect(page.locator("#review-note")).to_contain_text(
            "1 decision names a finding not in this report: not loaded")
        expect(page.locator("#review-status")).to_contain_text(
            f"{len(duplicates) + 1} fixes accepted, 1 rejected")
        assert trouble == [] and dialogs == []
    finally:
        context.close()


def test_a_plan_with_rejections_only_is_downloaded_after_a_confirmation(browser, demo, tmp_path):
    folder, document = demo
    context, page, trouble, dialogs = open_report(browser, folder / "audit.html")
    try:
        page.fill("#decided-by", "Ana")
        decide(page, first_of(document, "unlinked-siblings")["id"], "Reject fix")
        with page.expect_download() as download_info:
            page.click("#download-plan")
        assert dialogs and "no accepted fix" in dialogs[-1]
        download_info.value.save_as(tmp_path / "plan.json")
        plan = json.loads((tmp_path / "plan.json").read_text())
        assert plan["actions"] == [] and len(plan["rejected"]) == 1
        assert trouble == []
    finally:
        context.close()


def test_without_browser_storage_the_page_says_so_and_still_reviews(browser, demo):
    folder, document = demo
    context = browser.new_context()
    # What a browser that refuses storage to file: pages does: reading localStorage throws.
    context.add_init_script("Object.defineProperty(window, 'localStorage', {get() {"
                            " throw new DOMException('denied', 'SecurityError'); }});")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((folder / "audit.html").as_uri())
        page.wait_for_selector("body[data-ready=true]")
        assert "keeps nothing" in page.locator("#storage-note").inner_text()
        page.fill("#decided-by", "Ana")
        decide(page, first_of(document, "duplicate-contact")["id"], "Accept fix")
        assert "1 fix accepted" in page.locator("#review-status").inner_text()
        assert errors == []
    finally:
        context.close()
