"""LibreOffice headless opens the workbook and converts every sheet to CSV without error; the
content is there, and formula-like names are shown literally (not evaluated)."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from reports.input import ReportInput
from reports.samples import HOSTILE_FORMULA, SAMPLE_SCHOOLS, sample_findings
from reports.workbook import write_workbook

from boards import ALL_SHEETS_CSV, SOFFICE

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not Path(SOFFICE).exists() and not os.environ.get("CI"),
                       reason="LibreOffice is not installed (CI installs it and never skips)"),
]


def test_libreoffice_converts_every_sheet_and_shows_formula_text_literally(tmp_path):
    preview = pd.DataFrame({"contact_id": ["C900"], "name": [HOSTILE_FORMULA],
                            "outcome": ["fails"]})
    findings = sample_findings()
    book = write_workbook(ReportInput(findings, preview=preview, schools=SAMPLE_SCHOOLS),
                          tmp_path / "audit.xlsx")
    out = tmp_path / "csv"
    profile = (tmp_path / "lo-profile").as_uri()
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--convert-to", ALL_SHEETS_CSV, "--outdir", str(out), str(book)],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    sheets = {p.stem.removeprefix("audit-"): list(csv.reader(p.open(encoding="utf-8")))
              for p in out.glob("*.csv")}
    assert set(sheets) == {"Summary", "By school", "Preview", "Details",
                           *{f.check for f in findings}}

    ids = {row[0] for check in {f.check for f in findings} for row in sheets[check][1:]}
    assert ids == {f.id for f in findings}
    total = next(row for row in sheets["Summary"] if row and row[0] == "All checks")
    assert total[5] == str(len(findings))
    # "Cells as shown": a formula would show its result ("y"), text shows itself.
    assert sheets["Preview"][1][1] == HOSTILE_FORMULA
    hostile = next(row for row in sheets["duplicate-contact"] if "C901" in row[6])
    assert HOSTILE_FORMULA in hostile[6] and HOSTILE_FORMULA in hostile[9]


def test_printed_workbook_fits_its_columns_on_the_page_in_few_pages(tmp_path):
    """Converted to PDF (what printing does), a few hundred findings take a page per ten
    findings or fewer: every column on the page, rows sized to their text. The default page
    setup (portrait, 100%) printed these 206 findings on 48 pages, two or three columns each."""
    import re

    from reports.samples import synthetic_findings

    findings = sample_findings() + synthetic_findings(200)
    book = write_workbook(ReportInput(findings, schools=SAMPLE_SCHOOLS), tmp_path / "audit.xlsx")
    profile = (tmp_path / "lo-profile").as_uri()
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(book)],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    pdf = (tmp_path / "audit.pdf").read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    sheets = 2 + len({f.check for f in findings})
    assert sheets <= pages <= 3 + len(findings) // 10, pages


def _pdf(book: Path, tmp_path: Path) -> Path:
    profile = (tmp_path / "lo-profile").as_uri()
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(book)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return tmp_path / f"{book.stem}.pdf"


def _pages_by_sheet(pdf: Path) -> dict[str, int]:
    """Pages per sheet, read from each page's footer ("<sheet>, page N of M")."""
    import re
    from collections import Counter

    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          timeout=120).stdout
    return dict(Counter(re.findall(r"^(.+), page \d+ of \d+$", text, flags=re.M)))


def test_demo_workbook_prints_to_pdf_in_a_sane_page_count(tmp_path):
    """The demo board's workbook, converted by LibreOffice: no error, and its check sheets
    take about a page per 15 rows (one row per finding and school, no row over 100 points):
    before, 277 findings printed as 23 pages of 409-point rows of wall text, cut off."""
    from audits import api
    from audits.sample import DEMO_SEED, DEMO_STUDENTS, generate_board, write_board
    from reports.input import report_input_from_audit
    from reports.workbook import SCHOOL_WORKBOOKS, write_school_workbooks

    board = write_board(generate_board(DEMO_STUDENTS, DEMO_SEED), tmp_path / "board")
    report = report_input_from_audit(api.run_audit(api.load_board(board)))
    pdf = _pdf(write_workbook(report, tmp_path / "audit.xlsx"), tmp_path)
    pages = _pages_by_sheet(pdf)
    total = sum(pages.values())
    rows = sum(max(1, len(f.school_ids)) for f in report.findings)
    checks = {f.check for f in report.findings} | set(report.checks)
    on_checks = sum(n for sheet, n in pages.items() if sheet in checks)
    print(f"demo workbook: {total} pages ({', '.join(f'{s} {n}' for s, n in pages.items())}); "
          f"{rows} check-sheet rows on {on_checks} pages")
    assert pages["Summary"] == 1 and pages["By school"] == 1
    assert on_checks <= len(checks) + rows // 15
    assert pages["Details"] <= len(report.findings) // 10
    # The side-by-side Records (a dozen fields a group) and the Preview (every account) are
    # bounded by what they list, not by a total the other sheets would have to share.
    groups = sum(1 for f in report.findings if f.check == "duplicate-contact")
    assert pages.get("Records", 0) <= max(1, groups // 2)
    accounts = 0 if report.preview is None else len(report.preview)
    assert pages.get("Preview", 0) <= 1 + accounts // 80
    # A principal's own workbook, the one to print: a few pages.
    school = max(report.summary["by_school"].items(), key=lambda kv: kv[1])[0]
    books = write_school_workbooks(report, tmp_path / SCHOOL_WORKBOOKS)
    mine = next(p for p in books if p.name.startswith(school + " "))
    school_pages = sum(_pages_by_sheet(_pdf(mine, tmp_path / "school")).values())
    print(f"school {school} ({report.summary['by_school'][school]} findings): "
          f"{school_pages} pages")
    assert school_pages <= 25
