"""Case file for ``overlinked-contact`` and the bounds it sets: a contact record linked to more
students than any family has is reported once and joins no family; a finding lists at most
``max_pairs_listed`` pairs and carries the total."""

from __future__ import annotations

from dataclasses import replace

import pytest

from audits.checks.duplicate_contact.check import duplicate_contact
from audits.checks.missing_sibling_access.check import missing_sibling_access
from audits.checks.overlinked_contact.check import overlinked_contact
from audits.checks.unlinked_siblings.check import unlinked_siblings
from audits.model.config import Config, apply_overrides
from audits.engine.context import AuditContext
from audits.model.errors import UserError
from audits.model.findings import Finding, Severity, findings_to_frame
from audits.household.building import build_graph
from audits.household.matching.links import contact_links
from boards import make_board, with_matches


def families_of_two(count: int, school: str = "10") -> tuple[list[str], list[tuple]]:
    """``count`` families of two children each with their own mother, none linked as siblings."""
    students, links = [], []
    for n in range(count):
        a, b = f"S{n:05d}a", f"S{n:05d}b"
        students += [f"{a}@{school}", f"{b}@{school}"]
        links += [(a, f"M{n:05d}", "Mother", "Y"), (b, f"M{n:05d}", "Mother", "Y")]
    return students, links


def office_links(students: list[str], relationship="Parent", portal="Y") -> list[tuple]:
    return [(entry.split("@")[0], "OFFICE", relationship, portal) for entry in students]


def test_a_contact_linked_to_every_student_is_one_finding_and_joins_no_family():
    students, links = families_of_two(1500)  # 3,000 students
    board = make_board(students=students, links=links + office_links(students),
                       contacts={"OFFICE": ("Office", "Main", "office@board.ca")})
    context = with_matches(board)
    [finding] = overlinked_contact(context)
    assert finding.check == "overlinked-contact" and finding.severity is Severity.ERROR
    assert finding.contacts == ("OFFICE",)
    assert finding.evidence["linked_students"] == "3,000 (more than 30)"
    assert finding.evidence["relationships"] == "Parent (3,000)"
    assert finding.evidence["portal_access_to"] == "3,000 active students"
    assert finding.evidence["generation"] == ("would create one parent account that sees 3,000 "
                                              "students")
    assert finding.school_ids == ("10",)
    # Listed up to the bound, with the total beside them.
    assert len(finding.students) == 200 and finding.fix["students_total"] == 3000
    assert finding.fix["action"] == "manual"
    assert any("2,800 more students" in step for step in finding.fix["steps"])
    assert any("Family & Contacts > Contacts" in step and "delete contact Office Main (OFFICE)"
               in step for step in finding.fix["steps"])
    assert len(finding.household["nodes"]) <= 40
    # Every family is still its own two children, each found once.
    found = list(unlinked_siblings(context))
    assert len(found) == 1500
    assert {len(f.students) for f in found} == {2}
    assert all("OFFICE" not in f.contacts for f in found)


def test_the_graph_and_the_matcher_build_no_family_through_it():
    students, links = families_of_two(40)
    board = make_board(students=students, links=links + office_links(students))
    graph = build_graph(board, Config())
    assert graph.family_of("S00000a") == {"S00000a", "S00000b"}
    assert {len(family) for family in graph.families()} == {2}
    # The office's links are still in the graph (the household picture shows them).
    assert len(graph.contact_students("OFFICE")) == 80
    contacts = board.contacts.sort_values("contact_id").reset_index(drop=True)
    matcher_links = contact_links(board, Config(), contacts)
    assert matcher_links["family"].nunique() == 40
    # Its links are not compared pair by pair either (thousands per pair it takes part in).
    office = int(contacts.index[contacts["contact_id"] == "OFFICE"][0])
    assert office not in set(matcher_links["contact"].tolist())
    assert len(matcher_links) == 80


def test_its_account_gets_no_children_added_and_the_finding_says_so():
    students, links = families_of_two(20)
    board = make_board(students=students, links=links + office_links(students),
                       accounts=[("A1", "office@board.ca", "parent", "10", "OFFICE")],
                       visible=[("A1", "S00000a")])
    context = with_matches(board)
    assert list(missing_sibling_access(context)) == []
    [finding] = overlinked_contact(context)
    assert finding.severity is Severity.ERROR and finding.accounts == ("A1",)
    assert finding.evidence["parent_accounts"] == "A1 (office@board.ca, active)"
    assert "generation" not in finding.evidence
    assert any("disable the account" in step for step in finding.fix["steps"])


def test_it_is_never_merged_with_a_parent():
    students, links = families_of_two(20)
    board = make_board(students=students, links=links + office_links(students))
    assert list(duplicate_contact(with_matches(board, {"OFFICE", "M00001"}))) == []
    assert len(list(duplicate_contact(with_matches(board, {"M00002", "M00001"})))) == 1


def test_without_portal_access_or_account_it_is_a_warning():
    students, links = families_of_two(20)
    board = make_board(students=students,
                       links=links + office_links(students, "Emergency", "N"))
    [finding] = overlinked_contact(with_matches(board))
    assert finding.severity is Severity.WARNING
    assert finding.evidence["portal_access_to"] == "none"


@pytest.mark.parametrize("children, flagged", [(30, False), (31, True)])
def test_a_record_at_exactly_the_limit_is_not_flagged(children, flagged):
    students = [f"S{n:03d}@10" for n in range(children)]
    links = [(entry.split("@")[0], "C1", "Mother", "Y") for entry in students]
    context = with_matches(make_board(students=students, links=links))
    assert bool(list(overlinked_contact(context))) is flagged
    found = list(unlinked_siblings(context))
    assert len(found) == (0 if flagged else 1)
    if not flagged:
        [finding] = found
        assert len(finding.students) == 30 and finding.pairs_total == 435


def test_a_real_family_of_eight_with_shared_parents_is_unaffected():
    kids = [f"S{n}" for n in range(8)]
    links = [(kid, parent, role, "Y") for kid in kids
             for parent, role in (("C1", "Mother"), ("C2", "Father"))]
    context = with_matches(make_board(students=[f"{kid}@10" for kid in kids], links=links))
    assert list(overlinked_contact(context)) == []
    [finding] = unlinked_siblings(context)
    assert finding.students == tuple(kids) and len(finding.pairs) == 28
    assert finding.pairs_total is None and "pairs_total" not in finding.to_dict()
    assert finding.fix["action"] == "link-siblings" and len(finding.fix["pairs"]) == 28


def test_a_family_with_more_pairs_than_listed_gets_a_capped_list_and_a_manual_fix():
    kids = [f"S{n:02d}" for n in range(25)]  # 300 missing links
    board = make_board(students=[f"{kid}@10" for kid in kids],
                       links=[(kid, "C1", "Mother", "Y") for kid in kids])
    [finding] = unlinked_siblings(with_matches(board))
    assert len(finding.pairs) == 200 and finding.pairs_total == 300
    assert finding.pairs == tuple(sorted(finding.pairs))
    assert finding.title.startswith("25 students of one family are missing 300 sibling links")
    assert finding.evidence["missing_links"] == "300"
    # A person looks at such a family first: the plan gets a manual action, never a partial link.
    assert finding.fix["action"] == "manual" and finding.fix["pairs_total"] == 300
    assert len(finding.fix["pairs"]) == 200
    assert "more than any family has" in finding.fix["steps"][0]
    assert "100 more missing links are not listed" in finding.fix["steps"][-1]
    assert len(finding.household["nodes"]) <= 40
    assert "contact:C1" in {node["id"] for node in finding.household["nodes"]}
    entry = finding.to_dict()
    assert entry["pairs_total"] == 300 and len(entry["pairs"]) == 200
    assert Finding.from_dict(entry).pairs_total == 300
    assert findings_to_frame([finding])["pairs"][0].endswith(" and 100 more")
    from fixes.plan import plan_action
    assert plan_action(entry)["action"] == "manual"
    # The id names the problem, not how much of it is listed.
    wide = replace(Config(), max_pairs_listed=1000)
    [whole] = unlinked_siblings(with_matches(board, config=wide))
    assert whole.id == finding.id and len(whole.pairs) == 300 and whole.pairs_total is None


def test_the_limits_come_from_the_config():
    config = apply_overrides(Config(), {"checks": {"max_students_per_contact": 3,
                                                   "max_pairs_listed": 1}})
    assert (config.max_students_per_contact, config.max_pairs_listed) == (3, 1)
    kids = [f"S{n}" for n in range(4)]
    board = make_board(students=[f"{kid}@10" for kid in kids],
                       links=[(kid, "C1", "Mother", "Y") for kid in kids[:3]]
                       + [(kid, "C9", "Grandmother", "N") for kid in kids])
    context = AuditContext(board, config)
    context.__dict__["contact_matches"] = with_matches(board).contact_matches
    [over] = overlinked_contact(context)
    assert over.contacts == ("C9",) and over.students == ("S0",)
    [family] = unlinked_siblings(context)
    assert family.pairs == (("S0", "S1"),) and family.pairs_total == 3
    for bad in ({"max_pairs_listed": 0}, {"max_pairs_listed": True},
                {"max_students_per_contact": "30"}, {"max_students": 30}):
        with pytest.raises(UserError):
            apply_overrides(Config(), {"checks": bad})


def _audit(board, out) -> dict:
    import json
    import subprocess
    import sys

    # Bounded so that a run that never ends fails the test instead of hanging it; the
    # assertions are about what the run writes.
    done = subprocess.run([sys.executable, "-m", "audits.cli", "audit", str(board), "--out",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


def test_an_audit_of_a_board_with_one_contact_linked_to_every_student(tmp_path):
    """The whole audit, every output: one overlinked-contact finding, the same other findings
    as without the record, and outputs the size of an ordinary board's."""
    import csv
    import shutil

    from click.testing import CliRunner
    from openpyxl import load_workbook

    from audits.cli import main

    plain = tmp_path / "plain"
    result = CliRunner().invoke(main, ["sample", str(plain), "--students", "2000", "--seed", "5"])
    assert result.exit_code == 0, result.output
    board = tmp_path / "board"
    shutil.copytree(plain, board)
    with open(board / "students.csv", encoding="utf-8-sig", newline="") as handle:
        students = [row["student_id"] for row in csv.DictReader(handle)]
    with open(board / "contacts.csv", "a", encoding="utf-8", newline="") as handle:
        handle.write("OFFICE,Office,Main,office@board.ca,,,,,,\r\n")
    with open(board / "student_contacts.csv", "a", encoding="utf-8", newline="") as handle:
        handle.writelines(f"{student},OFFICE,Parent,Y\r\n" for student in students)

    before = _audit(plain, tmp_path / "plain-out")
    after = _audit(board, tmp_path / "out")
    [over] = [f for f in after["findings"] if f["check"] == "overlinked-contact"]
    assert over["entities"]["contacts"] == ["OFFICE"]
    assert over["evidence"]["linked_students"] == f"{len(students):,} (more than 30)"
    others = {f["id"] for f in after["findings"]} - {over["id"]}
    assert others == {f["id"] for f in before["findings"]}
    assert max(len(f["pairs"]) for f in after["findings"]) <= 200
    # The record costs its one finding: outputs stay near an ordinary board's.
    for name in ("findings.json", "audit.html", "audit.xlsx"):
        size, plain_size = ((folder / name).stat().st_size
                            for folder in (tmp_path / "out", tmp_path / "plain-out"))
        assert size < plain_size + 1_000_000, name
    page = (tmp_path / "out" / "audit.html").read_text(encoding="utf-8")
    assert over["id"] in page
    sheets = load_workbook(tmp_path / "out" / "audit.xlsx", read_only=True)
    cells = {str(cell) for sheet in sheets.worksheets for row in sheet.iter_rows(values_only=True)
             for cell in row if cell is not None}
    assert over["id"] in cells
    runbooks = "".join(path.read_text(encoding="utf-8")
                       for path in (tmp_path / "out" / "runbooks").glob("*.md"))
    assert "Office Main (OFFICE)" in runbooks and "overlinked" in runbooks.lower()


def test_reports_say_how_many_more_pairs_a_capped_finding_has():
    from reports.input import ReportInput
    from reports.html import report_data
    from reports.wording import pairs_text

    kids = [f"S{n:02d}" for n in range(25)]
    board = make_board(students=[f"{kid}@10" for kid in kids],
                       links=[(kid, "C1", "Mother", "Y") for kid in kids])
    [capped] = unlinked_siblings(with_matches(board))
    assert pairs_text(capped).startswith("KidS00 Family (S00) & KidS01 Family (S01); ")
    assert pairs_text(capped).endswith(" and 100 more")
    [entry] = report_data(ReportInput([capped]))["findings"]
    assert entry["pairs_total"] == 300 and len(entry["pairs"]) == 200
    eight = [f"S{n}" for n in range(8)]
    board = make_board(students=[f"{kid}@10" for kid in eight],
                       links=[(kid, "C1", "Mother", "Y") for kid in eight])
    [whole] = unlinked_siblings(with_matches(board))
    assert "more" not in pairs_text(whole)
    assert "pairs_total" not in report_data(ReportInput([whole]))["findings"][0]


@pytest.mark.browser
@pytest.mark.skipif(not __import__("pathlib").Path("/usr/bin/chromium").exists()
                    and not __import__("os").environ.get("CI"),
                    reason="Chromium is not installed (CI installs it and never skips)")
def test_the_html_report_shows_both_findings_and_how_many_pairs_are_not_listed(tmp_path):
    from playwright.sync_api import sync_playwright

    from reports.input import ReportInput

    from reports.writing import write_reports
    from boards import CHROMIUM, LAUNCH_ARGS

    kids = [f"S{n:02d}" for n in range(25)]
    office = [f"O{n:02d}@20" for n in range(31)]
    board = make_board(students=[f"{kid}@10" for kid in kids] + office,
                       links=[(kid, "C1", "Mother", "Y") for kid in kids]
                       + office_links(office),
                       contacts={"OFFICE": ("Office", "Main", "office@board.ca")})
    context = with_matches(board)
    [over] = overlinked_contact(context)
    [capped] = unlinked_siblings(context)
    html = write_reports(ReportInput([over, capped]), tmp_path, formats=("html",))["html"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-ready=true]")
            page.locator(f'tr.finding[data-id="{capped.id}"]').click()
            detail = page.locator(f'tr[data-detail-for="{capped.id}"]')
            assert "and 100 more missing links" in detail.inner_text()
            assert detail.locator("path.edge.missing").count() >= 1
            page.locator(f'tr.finding[data-id="{over.id}"]').click()
            detail = page.locator(f'tr[data-detail-for="{over.id}"]')
            row = page.locator(f'tr.finding[data-id="{over.id}"]')
            assert "linked to 31 students" in row.inner_text()
            assert "delete contact Office Main (OFFICE)" in detail.inner_text()
            assert errors == []
        finally:
            browser.close()


def test_the_graph_builds_when_an_account_names_a_kind_of_record_the_board_has_none_of():
    """A staff account on a board with no staff records: every account holder is looked up,
    and a kind with no records finds nobody (not an IndexError, which ends the audit with
    exit 3)."""
    board = make_board(students=["S1@10"], links=[("S1", "C1", "Mother", "Y")],
                       accounts=[("A1", "mom@board.ca", "staff", "10", "C1")])
    graph = build_graph(board, Config())
    assert ("account", "A1") in graph.graph and graph.overlinked == frozenset()
