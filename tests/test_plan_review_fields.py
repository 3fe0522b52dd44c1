"""A plan records its review: who reviewed it, when each decision was made, and the findings
rejected. Plans without those fields (older, or from `fix plan`) read as before; `fix apply`
changes nothing for a rejection and records the reviewer in its summary and undo record."""

from __future__ import annotations

import json

import pytest

from audits.model.errors import UserError
from fix_boards import (findings_doc, link_finding, merge_finding, permission_finding,
                        write_board)
from fix_boards import apply_plan
from fixes.plan import build_plan, plan_document, read_plan
from fixes.undo import read_manifest, undo


def reviewed_plan() -> dict:
    plan = build_plan(findings_doc(merge_finding(), link_finding(), permission_finding()))
    link = next(a for a in plan["actions"] if a["action"] == "link-siblings")
    plan["actions"] = [a for a in plan["actions"] if a is not link]
    for action in plan["actions"]:
        action.update(decided_at="2026-12-02T03:04:05Z", decided_by="Ana Reviewer")
    return plan_document(plan["actions"], source="board", reviewer="Ana Reviewer",
                         rejected=[{"finding": link["finding"],
                                    "decided_at": "2026-12-02T03:05:00Z",
                                    "decided_by": "Ana Reviewer", "reason": "not siblings"}])


def write(tmp_path, plan, name="plan.json"):
    path = tmp_path / name
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def test_the_schema_accepts_the_review_fields(tmp_path):
    plan = reviewed_plan()
    assert plan["reviewer"] == "Ana Reviewer" and plan["rejected"][0]["reason"] == "not siblings"
    assert read_plan(write(tmp_path, plan)) == plan


def test_a_plan_without_review_fields_still_loads(tmp_path):
    plan = build_plan(findings_doc(merge_finding(), link_finding()))
    assert not {"reviewer", "rejected"} & set(plan)
    assert not any("decided_at" in a or "decided_by" in a for a in plan["actions"])
    assert read_plan(write(tmp_path, plan)) == plan


@pytest.mark.parametrize("edit", [
    lambda p: p.update(reviewer=["Ana"]),
    lambda p: p["actions"][0].update(decided_at="yesterday"),
    lambda p: p["actions"][0].update(decided_at="2026-13-45T99:99:99Z"),
    lambda p: p["actions"][0].update(decided_by=7),
    lambda p: p["rejected"].append({"decided_by": "Ana"}),  # names no finding
    lambda p: p.update(rejected={"finding": "x"}),
])
def test_a_malformed_review_field_is_refused_by_name(tmp_path, edit):
    plan = reviewed_plan()
    edit(plan)
    with pytest.raises(UserError):
        read_plan(write(tmp_path, plan))


def test_apply_leaves_rejections_alone_and_records_the_reviewer(tmp_path):
    board = write_board(tmp_path / "board")
    plan = reviewed_plan()
    result = apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    rejected = plan["rejected"][0]["finding"]
    assert rejected not in result.applied + result.already_applied
    assert rejected not in {c.finding_id for c in result.changes}
    assert sorted(result.applied) == sorted(a["finding"] for a in plan["actions"])
    assert "Reviewed by Ana Reviewer; 1 rejected finding(s) left as they are." in result.text()
    manifest = read_manifest(tmp_path / "fixed")
    assert manifest["reviewer"] == "Ana Reviewer"
    assert manifest["rejected"] == [rejected]


def test_a_finding_both_accepted_and_rejected_is_refused(tmp_path):
    board = write_board(tmp_path / "board")
    plan = reviewed_plan()
    plan["rejected"].append({"finding": plan["actions"][0]["finding"]})
    with pytest.raises(UserError) as error:
        apply_plan(plan, board, tmp_path / "fixed")
    assert "both an action and rejected" in str(error.value.problems)


def test_an_undo_record_without_a_reviewer_is_still_read(tmp_path):
    board = write_board(tmp_path / "board")
    plan = build_plan(findings_doc(merge_finding()))
    apply_plan(plan, board, tmp_path / "fixed", write=True, force=True)
    manifest = read_manifest(tmp_path / "fixed")
    assert "reviewer" not in manifest and "rejected" not in manifest
    assert undo(tmp_path / "fixed", tmp_path / "restored").is_dir()


def test_the_page_keeps_each_reports_review_apart():
    from datetime import datetime, timezone

    from reports.input import ReportInput
    from reports.html import report_data, review_key
    from reports.samples import SAMPLE_SCHOOLS, sample_findings

    def report(minute, second=0, export="0aeaad6631878e10"):
        return ReportInput(sample_findings(), schools=SAMPLE_SCHOOLS,
                           generated_at=datetime(2026, 12, 2, 3, minute, second,
                                                 tzinfo=timezone.utc),
                           fingerprint={"algorithm": "sha256", "export": export, "tables": {}})

    assert review_key(report(1)) == review_key(report(1))
    assert len({review_key(report(1)), review_key(report(1, 30)), review_key(report(2)),
                review_key(report(1, export="ffffffffffffffff"))}) == 4
    data = report_data(report(1))
    assert data["review_key"] == review_key(report(1))


def test_a_findings_cause_is_what_its_fix_or_evidence_says():
    from reports.html import finding_cause

    assert finding_cause({"fix": {"cause": "two records of one person"},
                          "evidence": {"cause": "x"}}) == "two records of one person"
    assert finding_cause({"fix": {}, "evidence": {"problem": "contains a space"}}) == \
        "contains a space"
    assert finding_cause({"fix": {"action": "merge-contacts"}, "evidence": {}}) == ""
