"""Run-to-run comparison: new, resolved and still-open findings by stable id, by check and by
school; after applying part of a fix plan, `diff` names exactly the findings that plan resolved;
`audit --previous` adds the comparison to the workbook and the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from audits import api
from audits.cli import main
from audits.workflow.diff import diff_findings
from audits.model.findings import Finding, Severity, findings_document
from fix_boards import apply_plan
from fixes.plan import build_plan


def finding(fid: str, check: str = "unlinked-siblings", schools=("0001",)) -> Finding:
    return Finding(id=f"{check}:{fid}", check=check, severity=Severity.ERROR,
                   title=f"Finding {fid}", school_ids=tuple(schools))


def doc(*findings: Finding) -> dict:
    return findings_document(list(findings), input_path="board", tables={})


def test_new_resolved_and_still_open_by_id():
    a, b, c = finding("a"), finding("b", "username-clash", ("0001", "0002")), finding("c")
    d = finding("d", "duplicate-contact", ("0002",))
    changes = diff_findings(doc(a, b, c), doc(b, c, d))
    assert [f.id for f in changes.new] == [d.id]
    assert [f.id for f in changes.resolved] == [a.id]
    assert {f.id for f in changes.still_open} == {b.id, c.id}
    by_check = changes.counts("check")
    assert by_check.loc["unlinked-siblings"].tolist() == [0, 1, 1, 0]
    assert by_check.loc["duplicate-contact"].tolist() == [1, 0, 0, 0]
    by_school = changes.counts("school")
    assert by_school.loc["0002"].tolist() == [1, 0, 1, 0]  # b spans two schools: counted at both
    assert by_school.loc["0001"].tolist() == [0, 1, 2, 0]
    assert changes.frame()["status"].value_counts().to_dict() == {
        "still open": 2, "new": 1, "resolved": 1}


def test_identical_runs_have_nothing_new_or_resolved():
    a = finding("a")
    changes = diff_findings(doc(a), doc(a))
    assert (len(changes.new), len(changes.resolved), len(changes.still_open)) == (0, 0, 1)


def test_diff_rejects_a_file_that_is_not_findings(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    (tmp_path / "y.json").write_text(json.dumps(doc()))
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "x.json"), str(tmp_path / "y.json")])
    assert result.exit_code == 2
    assert "not a connect-audit findings.json" in result.output


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("diff")
    board = root / "board"
    assert CliRunner().invoke(main, ["sample", str(board), "--students", "400",
                                     "--seed", "7"]).exit_code == 0
    result = CliRunner().invoke(main, ["audit", str(board), "--out", str(root / "before"),
                                       "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output
    return root, board


def test_applying_part_of_a_plan_resolves_exactly_those_findings(audited):
    root, board = audited
    before = json.loads((root / "before" / "findings.json").read_text())
    # Part of the plan: sibling links and permissions, not merges or renames.
    plan = build_plan(before, checks=["unlinked-siblings", "missing-sibling-access"])
    assert plan["actions"]
    applied = apply_plan(plan, board, root / "fixed", write=True, force=True)
    assert applied.applied and not applied.refused
    result = CliRunner().invoke(main, ["audit", str(root / "fixed"), "--out", str(root / "after"),
                                       "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output

    result = CliRunner().invoke(main, ["diff", str(root / "before" / "findings.json"),
                                       str(root / "after" / "findings.json"), "--json",
                                       "--out", str(root / "changes.csv")])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)
    assert sorted(changes["findings"]["resolved"]) == sorted(applied.applied)
    assert changes["findings"]["new"] == []
    untouched = {f["id"] for f in before["findings"]} - set(applied.applied)
    assert set(changes["findings"]["still_open"]) == untouched
    by_check = changes["by_check"]
    assert by_check["unlinked-siblings"]["resolved"] == sum(
        1 for fid in applied.applied if fid.startswith("unlinked-siblings:"))
    assert by_check["duplicate-contact"]["resolved"] == 0
    assert (root / "changes.csv").read_text("utf-8-sig").count("\nresolved,") == len(applied.applied)

    text = CliRunner().invoke(main, ["diff", str(root / "before" / "findings.json"),
                                     str(root / "after" / "findings.json")]).output
    assert f"0 new, {len(applied.applied)} resolved" in text
    by_school = CliRunner().invoke(main, ["diff", str(root / "before" / "findings.json"),
                                          str(root / "after" / "findings.json"), "--by", "school"])
    assert by_school.exit_code == 0 and "school" in by_school.output

    # `audit --previous` shows the same comparison in the workbook and the HTML report.
    result = CliRunner().invoke(main, ["audit", str(root / "fixed"), "--out", str(root / "report"),
                                       "--previous", str(root / "before" / "findings.json"),
                                       "--format", "xlsx,html", "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"0 new, {len(applied.applied)} resolved" in result.output
    book = load_workbook(root / "report" / "audit.xlsx", read_only=True)
    rows = list(book["Changes since last run"].iter_rows(values_only=True))
    assert rows[0][:2] == ("Status", "Finding ID")
    assert sorted(r[1] for r in rows[1:] if r[0] == "resolved") == sorted(applied.applied)
    assert not [r for r in rows[1:] if r[0] == "new"]
    html = (root / "report" / "audit.html").read_text("utf-8")
    assert 'id="changes"' in html
    section = html[html.index('id="changes"'):html.index("</section>", html.index('id="changes"'))]
    for fid in applied.applied:
        assert f'data-id="{fid}"' in section


def test_api_compare_matches_the_cli(audited):
    root, board = audited
    result = api.run_audit(api.load_board(board, validate=False))
    same = api.compare(result, root / "before" / "findings.json")
    assert same.changes is not None
    assert not same.changes.new and not same.changes.resolved
    assert len(same.changes.still_open) == len(result.findings)


def test_a_finding_suppressed_since_the_last_run_is_not_resolved():
    a, b, c = finding("a"), finding("b", "username-clash"), finding("c")
    dup = Finding(id="duplicate-contact:0000000d", check="duplicate-contact",
                  severity=Severity.ERROR, title="Jen Smith twice", contacts=("C1", "C2", "C3"))
    later = doc(c)
    later["suppressed"] = {"count": 2, "findings": [{"id": b.id, "check": b.check,
                                                     "reason": "shared family email"}],
                           "pairs": [{"pair": ["C1", "C2"], "reason": "twins' parents"}],
                           "stale": []}
    changes = diff_findings(doc(a, b, c, dup), later)
    assert [f.id for f in changes.resolved] == [a.id]
    assert [f.id for f in changes.suppressed] == [dup.id, b.id]
    # The old run's title (names) is not carried: the decision's reason is.
    assert [f.title for f in changes.suppressed] == ["suppressed: twins' parents",
                                                     "suppressed: shared family email"]
    assert changes.headline() == "0 new, 1 resolved, 1 still open, 2 suppressed since the " \
        "previous run"
    assert changes.to_dict()["findings"]["suppressed"] == [dup.id, b.id]
    assert changes.counts("check").loc["username-clash"].tolist() == [0, 0, 0, 1]


def test_diff_takes_audit_folders_and_refuses_other_paths_plainly(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    (old / "findings.json").write_text(json.dumps(doc(finding("a"))))
    (new / "findings.json").write_text(json.dumps(doc(finding("b"))))
    run = CliRunner().invoke(main, ["diff", str(old), str(new)])
    assert run.exit_code == 0, run.output
    assert run.output.startswith("1 new, 1 resolved, 0 still open")
    empty = tmp_path / "empty"
    empty.mkdir()
    run = CliRunner().invoke(main, ["diff", str(empty), str(new)])
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert "is a folder with no findings.json" in run.output and "(OLD)" in run.output
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf{}")
    run = CliRunner().invoke(main, ["diff", str(tmp_path / "bom.json"), str(new)])
    assert run.exit_code == 2 and "byte-order mark" in run.output
    assert "utf-8-sig" not in run.output


def test_audit_previous_is_checked_before_the_audit_runs(tmp_path):
    run = CliRunner().invoke(main, ["audit", str(tmp_path / "no-board"), "--previous",
                                    str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")])
    # The board does not exist either: the --previous problem is reported first.
    assert run.exit_code == 2 and "--previous findings file" in run.output
    assert "does not exist" in run.output and not (tmp_path / "o").exists()
    run = CliRunner().invoke(main, ["audit", str(tmp_path / "no-board"), "--previous",
                                    str(tmp_path), "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and "is a folder with no findings.json" in run.output
