"""LibreOffice headless opens the workbook and converts every sheet to CSV without error; the
content is there, and formula-like names are shown literally (not evaluated)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from reports import ReportInput
from reports.samples import HOSTILE_FORMULA, SAMPLE_SCHOOLS, sample_findings
from reports.workbook import write_workbook

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not Path(SOFFICE).exists() and not os.environ.get("CI"),
                       reason="LibreOffice is not installed (CI installs it and never skips)"),
]
# CSV filter: comma, double quote, UTF-8, from row 1, ..., cells as shown, ..., every sheet (-1).
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


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
    assert set(sheets) == {"Summary", "Preview", *{f.check for f in findings}}

    ids = {row[0] for check in {f.check for f in findings} for row in sheets[check][1:]}
    assert ids == {f.id for f in findings}
    total = next(row for row in sheets["Summary"] if row and row[0] == "All checks")
    assert total[5] == str(len(findings))
    # "Cells as shown": a formula would show its result ("y"), text shows itself.
    assert sheets["Preview"][1][1] == HOSTILE_FORMULA
    hostile = next(row for row in sheets["duplicate-contact"] if "C901" in row[5])
    assert HOSTILE_FORMULA in hostile[5] and HOSTILE_FORMULA in hostile[8]


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
