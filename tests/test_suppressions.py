"""Suppressions: decisions keyed by stable finding id or by record pair, honoured by later runs
(also after the export's rows are re-ordered), counted in findings.json, flagged when they match
nothing, added by `connect-audit suppress`, and exported by the HTML review in the same format."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits import api
from audits.cli import main
from audits.model.errors import UserError
from audits.household.matching.evidence import PairEvidence
from audits.household.matching.matcher import ContactCluster, ContactMatches
from audits.workflow.suppressions import (SCHEMA, dumps_suppressions, make_suppression, parse_suppressions,
                                 read_suppressions, split_matches, suppressions_for_finding)

from boards import CHROMIUM


def evidence(a: str, b: str, score: float) -> PairEvidence:
    return PairEvidence(a, b, score)


def test_a_pair_splits_a_group_and_a_lone_record_drops_out():
    chain = ContactCluster(("C1", "C2", "C3"), 0.9,
                           (evidence("C1", "C2", 0.95), evidence("C2", "C3", 0.9)))
    pair = ContactCluster(("C7", "C8"), 0.97, (evidence("C7", "C8", 0.97),))
    other = ContactCluster(("C4", "C5"), 0.99, (evidence("C4", "C5", 0.99),))
    matches = ContactMatches((chain, pair, other))

    # C1 and C3 are different people: C2 stays with C1 (their pair is the stronger), C3 leaves.
    split, used = split_matches(matches, [("C3", "C1"), ("C8", "C7"), ("C1", "C9")])
    assert used == {("C1", "C3"), ("C7", "C8")}
    assert [c.contacts for c in split.clusters] == [("C1", "C2"), ("C4", "C5")]
    assert split.clusters[0].confidence == 0.95
    assert split.cluster_of("C3") is None and split.person_key("C3") == "C3"
    assert split.clusters[1] is other

    untouched, used = split_matches(matches, [])
    assert untouched is matches and used == set()


def test_a_decision_needs_one_target_a_reason_and_who_decided():
    with pytest.raises(UserError):
        make_suppression(reason="x", by="y")
    with pytest.raises(UserError):
        make_suppression(finding="username-clash:1", pair=("C1", "C2"), reason="x", by="y")
    with pytest.raises(UserError):
        make_suppression(pair=("C1", "C1"), reason="x", by="y")
    with pytest.raises(UserError):
        make_suppression(finding="username-clash:1", reason=" ", by="y")
    with pytest.raises(UserError):
        make_suppression(finding="username-clash:1", reason="x", by="")
    item = make_suppression(pair=("C9", "C10"), reason="twins' father and uncle", by="Ana")
    assert item.pair == ("C10", "C9")  # sorted as text: ids are never numbers


def test_the_file_format_round_trips_and_a_later_decision_replaces_an_earlier():
    first = make_suppression(finding="username-clash:1", reason="a", by="x", at="2026-01-01T00:00:00Z")
    again = make_suppression(finding="username-clash:1", reason="b", by="y", at="2026-02-01T00:00:00Z")
    pair = make_suppression(pair=("C1", "C2"), reason="c", by="z", at="2026-03-01T00:00:00Z")
    text = dumps_suppressions([first, pair, again])
    assert json.loads(text)["schema"] == SCHEMA
    parsed = parse_suppressions(json.loads(text))
    assert {item.key: item.reason for item in parsed} == {"finding:username-clash:1": "b",
                                                          "pair:C1|C2": "c"}
    with pytest.raises(UserError, match="suppression 1"):
        parse_suppressions({"schema": SCHEMA, "suppressions": [{"finding": "x:1", "by": "y"}]})
    with pytest.raises(UserError):
        parse_suppressions({"schema": "other", "suppressions": []})


def test_the_review_exports_every_pair_of_a_duplicate_group():
    entry = {"id": "duplicate-contact:1", "check": "duplicate-contact",
             "entities": {"contacts": ["C3", "C1", "C2"]}}
    items = suppressions_for_finding(entry, reason="r", by="b", at="t")
    assert [item.pair for item in items] == [("C1", "C2"), ("C1", "C3"), ("C2", "C3")]
    other = suppressions_for_finding({"id": "username-clash:9", "check": "username-clash"},
                                     reason="r", by="b", at="t")
    assert [item.finding for item in other] == ["username-clash:9"]


def _read_rows(path: Path) -> tuple[str, list[list[str]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return encoding, list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))
        except UnicodeDecodeError:
            continue
    raise AssertionError(path)


def shuffled_copy(board: Path, out: Path, seed: int) -> Path:
    out.mkdir(parents=True)
    rng = random.Random(seed)
    for path in board.glob("*.csv"):
        encoding, rows = _read_rows(path)
        body = rows[1:]
        rng.shuffle(body)
        text = io.StringIO(newline="")
        csv.writer(text, lineterminator="\r\n").writerows([rows[0], *body])
        (out / path.name).write_bytes(text.getvalue().encode(encoding))
    return out


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("suppress") / "board"
    assert CliRunner().invoke(main, ["sample", str(out), "--students", "400",
                                     "--seed", "7"]).exit_code == 0
    return out


@pytest.fixture(scope="module")
def first_run(board):
    return api.run_audit(api.load_board(board, validate=False))


def test_suppressions_hold_on_the_next_run_and_after_rows_are_reordered(board, first_run,
                                                                      tmp_path):
    findings = first_run.findings
    clash = next(f for f in findings if f.check == "username-clash")
    duplicate = next(f for f in findings
                     if f.check == "duplicate-contact" and len(f.contacts) == 2)
    file = tmp_path / "suppressions.json"
    run = CliRunner().invoke(main, ["suppress", str(file), "--finding", clash.id,
                                    "--reason", "shared family email, known", "--by", "Ana"])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(main, ["suppress", str(file), "--pair", *duplicate.contacts,
                                    "--reason", "father and son, same name", "--by", "Ana"])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(main, ["suppress", str(file), "--pair", "C0", "C00",
                                    "--reason", "long gone", "--by", "Bo"])
    assert run.exit_code == 0, run.output
    assert [sorted(e) for e in json.loads(file.read_text())["suppressions"]] == [
        ["at", "by", "finding", "reason"], ["at", "by", "pair", "reason"],
        ["at", "by", "pair", "reason"]]

    reordered = shuffled_copy(board, tmp_path / "reordered", seed=3)
    for path in (board, reordered):
        out = tmp_path / f"out-{path.name}"
        run = CliRunner().invoke(main, ["audit", str(path), "--out", str(out), "--format", "json",
                                        "--suppressions", str(file), "--quiet"])
        assert run.exit_code == 0, run.output
        document = json.loads((out / "findings.json").read_text())
        ids = {f["id"] for f in document["findings"]}
        assert clash.id not in ids and duplicate.id not in ids
        assert not any(f["check"] == "duplicate-contact"
                       and set(duplicate.contacts) <= set(f["entities"]["contacts"])
                       for f in document["findings"])
        # Everything else is still found.
        assert ids == {f.id for f in findings} - {clash.id, duplicate.id}
        suppressed = document["suppressed"]
        assert suppressed["count"] == 2
        assert [f["id"] for f in suppressed["findings"]] == [clash.id]
        assert suppressed["findings"][0]["reason"] == "shared family email, known"
        assert [p["pair"] for p in suppressed["pairs"]] == [sorted(duplicate.contacts)]
        assert [p["pair"] for p in suppressed["stale"]] == [["C0", "C00"]]
        assert "suppression matches nothing in this run: contact records C0 and C00" in run.output
        assert document["summary"]["by_check"]["duplicate-contact"] == \
            first_run.document()["summary"]["by_check"]["duplicate-contact"] - 1


def test_a_pair_decision_also_changes_the_preview(board, first_run):
    """Two records said to be different people are no longer "one of several" records of one
    person in the generation preview."""
    preview = first_run.preview
    several = preview[preview["outcome"] == "one-of-several-for-person"]
    # The board fixture's seed (7, 400 students) has four such rows; a sample generator that
    # loses them must fail here, not skip.
    assert not several.empty, "the seed-7 sample board has no one-of-several outcome"
    contact = several["contact_id"].iloc[0]
    other = several["related"].iloc[0].split("; ")[0]
    decision = make_suppression(pair=(contact, other), reason="r", by="b")
    result = api.run_audit(first_run.board, suppressions=[decision])
    row = result.preview[result.preview["contact_id"] == contact]
    assert other not in row["related"].iloc[0].split("; ")


def test_suppress_without_a_target_is_a_usage_error(tmp_path):
    run = CliRunner().invoke(main, ["suppress", str(tmp_path / "s.json"), "--reason", "x",
                                    "--by", "y"])
    assert run.exit_code == 2 and "either one finding id or one pair" in run.output
    assert not (tmp_path / "s.json").exists()
    (tmp_path / "bad.json").write_text("{}")
    run = CliRunner().invoke(main, ["audit", str(tmp_path), "--suppressions",
                                    str(tmp_path / "bad.json")])
    assert run.exit_code == 2 and "not a connect-audit suppressions file" in run.output
    run = CliRunner().invoke(main, ["audit", str(tmp_path), "--suppressions",
                                    str(tmp_path / "missing.json")])
    assert run.exit_code == 2 and "suppressions file" in run.output and "does not exist" in run.output


def test_api_suppress_writes_the_same_file_the_cli_does(tmp_path):
    api.suppress(tmp_path / "s.json", finding="unlinked-siblings:1", reason="r", by="b")
    api.suppress(tmp_path / "s.json", pair=["C2", "C1"], reason="r", by="b")
    items = read_suppressions(tmp_path / "s.json")
    assert [item.key for item in items] == ["finding:unlinked-siblings:1", "pair:C1|C2"]
    assert (tmp_path / "s.json").read_text("utf-8") == dumps_suppressions(items)



@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not __import__("os").environ.get("CI"),
                    reason="Chromium is not installed (CI installs it and never skips)")
def test_the_html_review_exports_the_file_suppress_writes(tmp_path):
    import shutil

    from playwright.sync_api import sync_playwright

    from reports.input import ReportInput

    from reports.writing import write_reports
    from reports.samples import SAMPLE_GENERATED_AT, SAMPLE_SCHOOLS, sample_findings

    findings = sample_findings()
    report = ReportInput(findings, schools=SAMPLE_SCHOOLS, board_name="Demo",
                         generated_at=SAMPLE_GENERATED_AT, input_path="demo-board")
    html = write_reports(report, tmp_path, formats=("html",))["html"]
    duplicate = next(f for f in findings if f.check == "duplicate-contact")
    clash = next(f for f in findings if f.check == "username-clash")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(accept_downloads=True).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri())
        page.wait_for_selector("body[data-ready=true]")
        page.fill("#decided-by", "Ana <Tremblay>")
        for finding, reason in ((duplicate, "father and son"), (clash, 'shared "family" email')):
            page.locator(f'tr.finding[data-id="{finding.id}"]').click()
            detail = page.locator(f'tr[data-detail-for="{finding.id}"]')
            detail.locator("input.suppress-reason").fill(reason)
            detail.locator("button.suppress-button").click()
        assert "2 suppressed" in page.locator("#review-status").inner_text()
        with page.expect_download() as download_info:
            page.click("#export-suppressions")
        saved = tmp_path / "suppressions.json"
        download_info.value.save_as(saved)
        browser.close()
    assert errors == []
    items = read_suppressions(saved)  # the CLI reads it as its own
    text = saved.read_text("utf-8")
    # Byte for byte what `connect-audit suppress` writes for the same decisions.
    assert text == dumps_suppressions(items)
    assert [(item.finding, item.pair, item.reason, item.by) for item in items] == [
        (None, tuple(sorted(duplicate.contacts)), "father and son", "Ana <Tremblay>"),
        (clash.id, None, 'shared "family" email', "Ana <Tremblay>")]


def test_a_stale_decision_says_whether_it_ever_matched():
    from audits.workflow.suppressions import SuppressionReport

    never = make_suppression(finding="username-clash:deadbeef", reason="r", by="me", at="t")
    gone = make_suppression(pair=("C1", "C2"), reason="r", by="me", at="t")
    report = SuppressionReport(stale=[never, gone])
    assert [line.split(":")[0] for line in report.stale_messages()] == \
        ["suppression matches nothing in this run"] * 2
    previous = {"findings": [{"id": "duplicate-contact:1", "check": "duplicate-contact",
                              "entities": {"contacts": ["C1", "C2", "C3"]}}]}
    lines = report.stale_messages(previous)
    assert lines[0].startswith("suppression matches nothing in this run: finding username-clash")
    assert lines[1].startswith("suppression no longer matches anything (it did in the previous "
                               "run): contact records C1 and C2")
    assert all("no longer" not in line for line in report.stale_messages())


def test_suppressions_paths_are_checked_plainly(tmp_path):
    folder = tmp_path / "decisions"
    folder.mkdir()
    with pytest.raises(UserError, match="is a folder with no suppressions.json"):
        api.load_suppressions(folder)
    (folder / "suppressions.json").write_text(dumps_suppressions(
        [make_suppression(finding="username-clash:1a2b3c4d", reason="r", by="me")]))
    assert [s.finding for s in api.load_suppressions(folder)] == ["username-clash:1a2b3c4d"]
    (tmp_path / "bad.json").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf{}")
    with pytest.raises(UserError) as error:
        api.load_suppressions(tmp_path / "bad.json")
    assert "byte-order mark" in str(error.value) and "utf-8-sig" not in str(error.value)
    with pytest.raises(UserError) as error:
        make_suppression(pair=("C1", "C1"), reason="r", by="me")
    assert "['C1'" not in str(error.value) and "C1 and C1" in str(error.value)
