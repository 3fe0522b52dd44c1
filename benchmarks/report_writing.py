"""Benchmark: write the workbook and the HTML report for N findings, then time how long the HTML
takes to become interactive in headless Chromium (first rows shown, then a school filter).

    .venv/bin/python benchmarks/report_writing.py [N] [--real findings.json]

--real replicates the findings of a real findings.json (e.g. the demo's) up to N, renaming ids,
so the payload per finding is what the checks really produce; otherwise synthetic findings."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from audits.model.findings import Finding, summarize
from reports.input import ReportInput
from reports.html import write_html
from reports.samples import synthetic_findings
from reports.workbook import write_workbook


def real_findings(path: str, count: int) -> list[Finding]:
    base = [Finding.from_dict(f) for f in json.loads(Path(path).read_text())["findings"]]
    out = []
    for n in range(count):
        f = base[n % len(base)]
        out.append(replace(f, id=f"{f.id}-{n}"))
    return out


def main() -> None:
    args = sys.argv[1:]
    count = int(args[0]) if args and args[0].isdigit() else 50_000
    findings = (real_findings(args[args.index("--real") + 1], count) if "--real" in args
                else synthetic_findings(count))
    schools = {s: f"School {s}" for f in findings for s in f.school_ids}
    report = ReportInput(findings, schools=schools, board_name="bench")
    out = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    t = time.perf_counter()
    write_workbook(report, out / "audit.xlsx")
    xlsx = time.perf_counter() - t
    t = time.perf_counter()
    html = write_html(report, out / "audit.html")
    html_s = time.perf_counter() - t
    from reports.runbooks import write_runbooks

    t = time.perf_counter()
    write_runbooks(report, out / "runbooks")
    runbooks = time.perf_counter() - t
    print(f"{count} findings: runbooks {runbooks:.1f} s; workbook {xlsx:.1f} s ({(out / 'audit.xlsx').stat().st_size / 1e6:.0f} MB), "
          f"HTML {html_s:.1f} s ({html.stat().st_size / 1e6:.0f} MB)")

    from playwright.sync_api import expect, sync_playwright

    school = max(summarize(report.findings)["by_school"].items(), key=lambda kv: kv[1])[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        t = time.perf_counter()
        page.goto(html.as_uri(), wait_until="commit")
        page.locator("tr.finding").first.wait_for(state="visible", timeout=60_000)
        first_rows = time.perf_counter() - t
        page.select_option("#school-filter", school)
        expect(page.locator("#count")).to_contain_text(
            f"of {summarize(report.findings)['by_school'][school]} ", timeout=60_000)
        filtered = time.perf_counter() - t
        t2 = time.perf_counter()
        page.locator("tr.finding").first.click()
        page.locator("tr.detail svg.household").wait_for(state="visible")
        opened = time.perf_counter() - t2
        browser.close()
    print(f"Chromium: first rows visible {first_rows:.2f} s, school filter applied at "
          f"{filtered:.2f} s after opening; opening a finding (its detail block parsed) {opened:.2f} s")


if __name__ == "__main__":
    main()
