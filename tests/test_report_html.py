"""The HTML report as a file: self-contained, offline, and every name inert."""

from __future__ import annotations

import json
import re

import pytest

from fixes.plan import SCHEMA as PLAN_SCHEMA, OtherFindings, plan_action
from reports.input import ReportInput
from reports.html import DETAIL_CHUNK, render_html, report_data
from reports.safety import json_for_script
from reports.samples import (HOSTILE_IMG, HOSTILE_JS, HOSTILE_SCRIPT, SAMPLE_GENERATED_AT,
                             SAMPLE_SCHOOLS, sample_findings)

from boards import LONG_USERNAME, dense_finding


@pytest.fixture(scope="module")
def report():
    return ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS, board_name="<i>Board</i>",
                       generated_at=SAMPLE_GENERATED_AT, input_path="demo-board")


@pytest.fixture(scope="module")
def page(report):
    return render_html(report)


def embedded(page: str) -> dict:
    """The page's data as its script sees it: the index, plus the detail blocks in order."""
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    data = json.loads(match.group(1))
    blocks = re.findall(r'<script type="application/json" id="details-(\d+)">(.*?)</script>',
                        page, re.S)
    assert [int(n) for n, _ in blocks] == list(range(len(blocks)))
    data["details"] = [d for _, block in blocks for d in json.loads(block)]
    return data


def test_no_data_can_break_out_of_the_json_script(page):
    blobs = re.findall(r'<script type="application/json" id="[\w-]+">(.*?)</script>', page, re.S)
    assert len(blobs) == 2  # the index and one detail block
    for blob in blobs:
        assert "<" not in blob and ">" not in blob and "&" not in blob
    assert page.count("<script") == 3  # the data blocks and the page's own script, nothing else
    assert HOSTILE_SCRIPT not in page and HOSTILE_IMG not in page
    assert "&lt;i&gt;Board&lt;/i&gt;" in page


def test_embedded_data_round_trips_exactly(page, report):
    data = embedded(page)
    assert [f["id"] for f in data["findings"]] == [f.id for f in report.findings]
    names = {v for f in data["findings"] for v in f["names"].values()}
    assert {HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_JS} <= names
    assert data["schools"]["3030"] == "<b>Bold</b> & Co. Academy"
    assert data["summary"]["by_check"]["duplicate-contact"] == 2


def test_each_fixable_finding_carries_its_plan_action(page, report):
    data = embedded(page)
    assert len(data["details"]) == len(report.findings)
    for entry, detail, finding in zip(data["findings"], data["details"], report.findings):
        assert detail["plan"] == plan_action(finding.to_dict())
        assert entry["fixable"] == (detail["plan"] is not None)
        assert detail["household"] == finding.household
        assert detail["fix"]["steps"] == finding.fix["steps"]
    assert data["plan"]["schema"] == PLAN_SCHEMA and data["plan"]["actions"] == []
    assert data["plan"]["source"] == "demo-board"


def test_self_contained_no_network_reference(page):
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # the page's own policy forbids any load
    assert not re.search(r"\.(inner|outer)HTML\s*\+?=|insertAdjacentHTML|document\.write", page)
    assert "@media print" in page


def test_json_for_script_escapes_markup_characters():
    text = json_for_script({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_report_data_lists_registered_checks_without_findings():
    data = report_data(ReportInput([], checks={"duplicate-contact": {"summary": "Dups"}}))
    assert data["findings"] == [] and data["details"] == []
    assert data["checks"] == [{"code": "duplicate-contact", "count": 0, "summary": "Dups",
                               "why": "", "how": ""}]


def test_sample_board_end_to_end(tmp_path):
    """The checks' real findings on the generated sample board go through every report."""
    from audits import api
    from audits.sample import generate_board
    from reports.input import report_input_from_audit
    from reports.writing import write_reports

    sample = generate_board(300, seed=3)
    from audits.model.board import board_from_frames

    result = api.run_audit(board_from_frames(sample.tables))
    report = report_input_from_audit(result, board_name="sample")
    written = write_reports(report, tmp_path)
    assert set(written) == {"xlsx", "html", "json", "runbooks"}
    data = embedded(written["html"].read_text(encoding="utf-8"))
    assert [f["id"] for f in data["findings"]] == [f.id for f in report.findings]
    assert len(report.findings) > 0
    # Each finding's action, settled across findings as `fix plan` settles it.
    others = OtherFindings(finding.to_dict() for finding in report.findings)
    for detail, finding in zip(data["details"], report.findings):
        action = plan_action(finding.to_dict())
        assert detail["plan"] == (action and others.settle(action))
    schools = {s for f in report.findings for s in f.school_ids}
    assert len(list((tmp_path / "runbooks").glob("*.md"))) == len(schools)


def test_details_are_split_into_blocks_in_finding_order():
    from reports.samples import synthetic_findings

    findings = synthetic_findings(DETAIL_CHUNK + 3)
    data = embedded(render_html(ReportInput(findings)))
    assert len(data["details"]) == len(findings)
    ordered = ReportInput(findings).findings
    assert [d["household"] for d in data["details"]] == [f.household for f in ordered]


# ------------------------------------------------------------------ Markdown (runbooks, tickets)
MARKUP_NAMES = ["*bold*", "__strong__", "[x](javascript:alert(1))", "<b>x</b>", "<http://x.io>",
                "`code`", "![i](x.png)", "&amp; &#60;", "# head", "- item", "+ item", "> quote",
                "1. first", "2) second", "=====", "~~gone~~", "a | b", "http://x.example",
                "www.x.example", "\\*still\\*"]


@pytest.mark.parametrize("name", MARKUP_NAMES)
@pytest.mark.parametrize("where", ["Name: {}", "{}"])
def test_markdown_text_never_turns_a_name_into_markup(name, where):
    from markdown_it import MarkdownIt

    from reports.safety import markdown_text

    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(where.format(markdown_text(name)))
    assert re.fullmatch(r"<p>[^<]*</p>\n", rendered), rendered  # one paragraph of plain text
    # ...that says exactly the name, once the renderer has undone its own escaping.
    shown = rendered[3:-5].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    shown = shown.replace("&amp;", "&")
    assert shown.removeprefix("Name: ") == name


def test_markdown_text_leaves_ordinary_punctuation_alone():
    from reports.safety import markdown_text

    for text in ["St. Anne Elementary School (0002)", "Generated 2026-11-28 13:31 UTC",
                 "Family & Contacts > Contacts", "cell_phone, home_phone", "McKenzie ~ McKenzzie",
                 "Security > edsembli CONNECT > Accounts", 'choose "Person exists"; save.']:
        assert markdown_text(text) == text
    assert markdown_text("Tom & Jerry's &amp; co") == "Tom & Jerry's \\&amp; co"


def test_runbook_markdown_keeps_names_and_steps_readable_as_plain_text(tmp_path):
    from reports.runbooks import write_runbooks

    write_runbooks(ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS), tmp_path / "rb")
    page = (tmp_path / "rb" / "1021.md").read_text()
    assert "- Schools: Maple Grove Public School (1021)" in page
    assert "Open Contacts and search for C388 (Jenny Smith)." in page
    assert "Add Emma Smith (S2) and save." in page
    assert "j.smith@example.com (A1) & Emma Smith (S2)" in page


# ------------------------------------------------------------------ household picture (runbooks)


def label_boxes(svg_text: str) -> list[tuple[float, float, float, str]]:
    from xml.etree import ElementTree

    ns = "{http://www.w3.org/2000/svg}"
    boxes = []
    for text in ElementTree.fromstring(svg_text).iter(f"{ns}text"):
        if text.get("class") == "edge-label":
            x, y, w = float(text.get("x")), float(text.get("y")), len(text.text) * 6 + 4
            left = x if text.get("text-anchor") == "start" else x - w / 2
            boxes.append((left, y - 10, w, text.text))
    return boxes


def test_household_svg_labels_do_not_overlap_on_a_dense_household():
    from xml.etree import ElementTree

    from reports.svg import household_svg

    svg = str(household_svg(dense_finding()))
    boxes = label_boxes(svg)
    # One relationship label per contact (its words joined), one per missing link.
    assert len(boxes) == 5 + 2
    assert sum(b[3] == "missing" for b in boxes) == 2
    for i, (x, y, w, _) in enumerate(boxes):
        for bx, by, bw, _ in boxes[i + 1:]:
            assert not (x < bx + bw and bx < x + w and y < by + 12 and by < y + 12), svg
    # Every line says what it is in a tooltip; a long label is cut short on the box but kept
    # whole in the node's tooltip.
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ElementTree.fromstring(svg)
    paths = root.findall("s:path", ns)
    assert len(paths) == 25 + 2 + 1 + 3 + 2 and all(p.find("s:title", ns) is not None for p in paths)
    account = next(g for g in root.findall("s:g", ns) if "account" in g.get("class"))
    assert account.find("s:title", ns).text == f"account A1: {LONG_USERNAME}"
    shown = account.find("s:text", ns).text
    assert shown.endswith("…") and LONG_USERNAME.startswith(shown[:-1])
