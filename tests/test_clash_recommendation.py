"""A username clash's steps recommend one parent record to take a personal email; the fix plan
offers that record first and its decision names it, so support staff and the plan agree."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from audits.checks.username_clash.check import ONE_PERSON_TWO_RECORDS
from audits.cli import main
from fixes.plan import build_plan


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    root = tmp_path_factory.mktemp("clash-recommendation")
    runner = CliRunner()
    assert runner.invoke(main, ["sample", str(root / "board"), "--students", "1500",
                                "--seed", "11"]).exit_code == 0
    assert runner.invoke(main, ["audit", str(root / "board"), "--out", str(root / "out"),
                                "--format", "json", "--quiet"]).exit_code == 0
    return json.loads((root / "out" / "findings.json").read_text("utf-8"))


def test_the_plan_offers_first_the_parent_record_the_steps_recommend(findings):
    clashes = {f["id"]: f for f in findings["findings"] if f["check"] == "username-clash"
               and f["fix"].get("cause") != ONE_PERSON_TWO_RECORDS}
    recommended = {fid: f["fix"]["recommended_contact"] for fid, f in clashes.items()
                   if f["fix"].get("recommended_contact")}
    assert recommended, "the sample board has clashes with a would-be parent account"
    plan = {a["finding"]: a for a in build_plan(findings)["actions"]}
    for fid, contact in recommended.items():
        action = plan[fid]
        assert action["options"][0] == {**action["options"][0], "table": "contacts",
                                         "key": contact}, action["options"]
        assert action["decision"]["key"] == contact
        steps = " ".join(clashes[fid]["fix"]["steps"])
        first = steps.split("Recommended", 1)[1].split("Alternative", 1)[0]
        assert f"({contact})" in first, (contact, first)
