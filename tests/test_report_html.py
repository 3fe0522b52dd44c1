"""The HTML report as a file: self-contained, offline, and every name inert."""

from __future__ import annotations

import json
import re

import pytest

from fixes.plan import SCHEMA as PLAN_SCHEMA, plan_action
from reports import ReportInput
from reports.html import render_html, report_data
from reports.safety import json_for_script
from reports.samples import (HOSTILE_IMG, HOSTILE_JS, HOSTILE_SCRIPT, SAMPLE_GENERATED_AT,
                             SAMPLE_SCHOOLS, sample_findings)


@pytest.fixture(scope="module")
def report():
    return ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS, board_name="<i>Board</i>",
                       generated_at=SAMPLE_GENERATED_AT, input_path="demo-board")


@pytest.fixture(scope="module")
def page(report):
    return render_html(report)


def embedded(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_no_data_can_break_out_of_the_json_script(page):
    blob = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in blob and ">" not in blob and "&" not in blob
    assert page.count("<script") == 2  # the data and the page's own script, nothing else
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
    for entry, finding in zip(data["findings"], report.findings):
        assert entry["plan"] == plan_action(finding.to_dict())
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
    assert data["checks"] == [{"code": "duplicate-contact", "count": 0, "summary": "Dups",
                               "why": "", "how": ""}]
