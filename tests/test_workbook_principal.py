"""The workbook a principal reads: a School ID filter shows one school's findings, a By school
sheet, a workbook per school on request, short cells with the whole text on Details, rows
that stay short, the Preview in plain words and confidence as a percentage. Checked on the
demo board, whose findings span several schools."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from audits import api
from audits.cli import main
from audits.preview import OUTCOME_WORDS, OUTCOMES, REFUSED_IN_USE_HERE
from audits.sample import DEMO_SEED, DEMO_STUDENTS, generate_board, write_board
from reports.input import report_input_from_audit
from reports.workbook import SCHOOL_WORKBOOKS, write_workbook
from reports.workbook.findings import CHECK_COLUMNS, MORE, SHORT_COLUMNS
from reports.workbook.layout import DETAILS_SHEET

NOT_CHECK_SHEETS = {"Summary", "By school", "Preview", DETAILS_SHEET, "Records",
                    "Changes since last run"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    board_path = write_board(generate_board(DEMO_STUDENTS, DEMO_SEED), out / "board")
    result = api.run_audit(api.load_board(board_path))
    report = report_input_from_audit(result)
    path = write_workbook(report, out / "audit.xlsx")
    return report, load_workbook(path), board_path


def table(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:] if any(v is not None for v in row)]


def check_sheets(book):
    return [sheet for sheet in book if sheet.title not in NOT_CHECK_SHEETS]


def test_filtering_school_id_shows_exactly_that_schools_findings(demo):
    report, book, _ = demo
    multi = [f for f in report.findings if len(f.school_ids) > 1]
    assert multi, "the demo has findings spanning schools"
    schools = {s for f in report.findings for s in f.school_ids}
    for sheet in check_sheets(book):
        rows = table(sheet)
        # The header row carries the filter, over every row.
        assert sheet.auto_filter.ref == f"A1:M{max(len(rows), 1) + 1}", sheet.title
        findings = [f for f in report.findings if f.check == sheet.title]
        assert len(rows) == sum(max(1, len(f.school_ids)) for f in findings)
        for school in schools:
            shown = {row["Finding ID"] for row in rows if row["School ID"] == school}
            assert shown == {f.id for f in findings if school in f.school_ids}, \
                (sheet.title, school)
        by_id = defaultdict(list)
        for row in rows:
            assert "," not in (row["School ID"] or ""), row["School ID"]
            by_id[row["Finding ID"]].append(row)
        for finding in findings:
            found = by_id[finding.id]
            assert sorted(r["School ID"] for r in found) == sorted(finding.school_ids)
            for row in found:
                others = [s for s in finding.school_ids if s != row["School ID"]]
                assert (row["Also in"] or "") == ", ".join(others)
                assert row["School"] == report.schools[row["School ID"]]
    # The Summary still counts each finding once.
    summary = table_after(book["Summary"], "Check")
    assert next(r for r in summary if r["Check"] == "All checks")["Total"] == \
        len(report.findings)


def table_after(sheet, first_header: str) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row and row[0] == first_header)
    header = rows[start]
    out = []
    for row in rows[start + 1:]:
        if not row or row[0] is None:
            break
        out.append(dict(zip(header, row)))
    return out


def test_by_school_sheet_counts_findings_per_school_and_check_with_a_stacked_chart(demo):
    report, book, _ = demo
    assert book.sheetnames[:2] == ["Summary", "By school"]
    sheet = book["By school"]
    rows = table_after(sheet, "School ID")
    codes = [c for c in rows[0] if c not in ("School ID", "School", "All checks")]
    for row in rows[:-1]:
        school = row["School ID"]
        assert row["School"] == report.schools[school]
        for code in codes:
            assert row[code] == sum(1 for f in report.findings
                                    if f.check == code and school in f.school_ids)
        assert row["All checks"] == sum(row[c] for c in codes)
    total = rows[-1]
    assert total["School ID"] == "All schools"
    assert total["All checks"] == len(report.findings)
    chart = sheet._charts[0]
    assert chart.tagname == "barChart" and chart.grouping == "stacked"
    assert len(chart.series) == len(codes)
    # The Summary keeps its chart by check.
    assert book["Summary"]._charts[0].tagname == "barChart"


def test_rows_stay_under_100_points_and_long_text_is_whole_on_details(demo):
    report, book, _ = demo
    for sheet in book:
        for number, dimension in sheet.row_dimensions.items():
            assert dimension.height is None or dimension.height < 100, (sheet.title, number)
    details = defaultdict(list)
    detail_rows = table(book[DETAILS_SHEET])
    for number, row in enumerate(detail_rows, 2):
        details[row["Finding ID"], row["Field"]].append((number, row["Text"]))

    def squeezed(text: str) -> str:
        return re.sub(r"[\s…;,·]", "", text)

    from reports import wording

    full = {"Evidence": lambda f: wording.evidence_text(f.evidence),
            "Fix steps": lambda f: "\n".join(wording.fix_steps(f.fix)),
            "People": wording.people_text}
    by_id = {f.id: f for f in report.findings}
    shortened = 0
    for sheet in check_sheets(book):
        for number, row in enumerate(table(sheet), 2):
            cut = False
            for title in SHORT_COLUMNS:
                value = row[title] or ""
                assert len(value) <= 220, (sheet.title, number, title)
                if value.endswith(MORE):
                    cut = True
                    field = "People" if title.startswith("People") else title
                    if field in full:
                        whole = "\n".join(text for _, text in details[row["Finding ID"], field])
                        assert squeezed(whole) == squeezed(full[field](by_id[row["Finding ID"]]))
            link = sheet.cell(number, 1).hyperlink
            if cut:
                shortened += 1
                target = int(link.location.rsplit("!A", 1)[1])
                assert detail_rows[target - 2]["Finding ID"] == row["Finding ID"]
            else:
                assert link is None
    assert shortened > 20  # the demo's long evidence and steps are shortened


def test_confidence_shows_as_a_percentage(demo):
    _, book, _ = demo
    sheet = book["duplicate-contact"]
    column = [title for title, _ in CHECK_COLUMNS].index("Confidence") + 1
    cell = sheet.cell(2, column)
    assert 0 < cell.value <= 1 and cell.number_format == "0.0%"


def test_preview_has_human_headers_plain_outcomes_and_no_constant_status(demo):
    report, book, _ = demo
    sheet = book["Preview"]
    rows = table(sheet)
    header = list(rows[0])
    assert all("_" not in h for h in header), header
    assert {"Contact", "Name", "School", "Username", "Outcome", "Why"} <= set(header)
    assert "SIS screen shows" not in header  # "Will be created" on every row says nothing
    codes = report.preview["outcome"].tolist()
    assert [row["Outcome"] for row in rows] == [OUTCOME_WORDS[code] for code in codes]
    refused = [row for row, code in zip(rows, codes) if code == REFUSED_IN_USE_HERE]
    assert refused
    for row in rows:
        assert "Will be created" not in row.values()
    for row in refused:
        assert row["Outcome"].startswith("Refused") and row["Why"][0].isupper()
        assert "Will be created" not in " ".join(str(v) for v in row.values())


def test_every_outcome_has_its_words():
    assert set(OUTCOME_WORDS) == set(OUTCOMES)
    assert all(words and "-" not in words.split(":")[0] for words in OUTCOME_WORDS.values())


def test_workbook_per_school_writes_one_workbook_per_school_with_only_its_rows(demo, tmp_path):
    report, book, board_path = demo
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["audit", str(board_path), "--out", str(out), "--quiet",
                                     "--workbook-per-school"])
    assert done.exit_code == 0, done.output
    files = sorted((out / SCHOOL_WORKBOOKS).glob("*.xlsx"))
    schools = sorted(report.schools)
    assert [p.name.split(" ")[0] for p in files] == schools
    assert files[1].name == f"{schools[1]} {report.schools[schools[1]]}.xlsx"
    whole = {sheet.title: table(sheet) for sheet in check_sheets(book)}
    for path in files:
        school = path.name.split(" ")[0]
        part = load_workbook(path)
        for sheet in check_sheets(part):
            rows = table(sheet)
            assert {r["School ID"] for r in rows} <= {school}
            expected = [r for r in whole[sheet.title] if r["School ID"] == school]
            assert [r["Finding ID"] for r in rows] == [r["Finding ID"] for r in expected]
        preview = table(part["Preview"])
        assert {r["School ID"] for r in preview} <= {school}
        assert len(preview) == int((report.preview["school_id"] == school).sum())
        schools_named = {r["School ID"] for r in table_after(part["By school"], "School ID")}
        assert schools_named <= {school, "All schools"}


def test_workbook_per_school_is_in_the_help_and_needs_the_workbook(tmp_path):
    done = CliRunner().invoke(main, ["audit", "--help"])
    assert "--workbook-per-school" in done.output
    done = CliRunner().invoke(main, ["audit", str(tmp_path), "--out", str(tmp_path / "o"),
                                     "--format", "json", "--workbook-per-school"])
    assert done.exit_code == 2 and "--workbook-per-school" in done.output
