"""The Excel workbook analysts hand to principals: a Summary sheet, a By school sheet, one sheet
per check (one row per finding and school, so a filter on School ID picks one school), the
generation Preview and a Details sheet holding the long texts that the check sheets shorten.

openpyxl (write-only mode) writes the workbook: styles, the Summary sheet, the chart, links,
and each table's header, frozen row, filter and widths. The rows of the big sheets (one per
finding, one per previewed account) are then streamed into the saved file as the same XML
openpyxl writes for them (:mod:`reports.workbook.xlsx`), far faster than openpyxl's per-cell
objects; memory stays flat either way. The sheets are built in
:mod:`~reports.workbook.summary`, :mod:`~reports.workbook.findings`,
:mod:`~reports.workbook.records_sheet` and :mod:`~reports.workbook.preview`.

Text that Excel would run as a formula is written as a text cell (an inline string, never a
formula element) with a quote prefix, so it shows, and stays, literal; invisible characters,
and those XML 1.0 forbids, are shown as ``⟨U+XXXX⟩`` (see :mod:`audits.io.cells`), sheet names
and headers included.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from openpyxl import Workbook

from audits.io.cells import visible
from audits.io.files import write_atomic
from audits.model.findings import Finding
from reports import wording
from reports.workbook.findings import Details, changes_sheet, check_sheet, details_sheet
from reports.workbook.layout import (BY_SCHOOL_SHEET, CHANGES_SHEET, DETAILS_SHEET,
                                     PREVIEW_SHEET, SUMMARY_SHEET)
from reports.workbook.preview import preview_sheet
from reports.workbook.records_sheet import RECORDS_SHEET, records_sheet
from reports.workbook.summary import by_school_sheet, summary_sheet
from reports.workbook.xlsx import append_rows

if TYPE_CHECKING:
    from reports.input import ReportInput


def write_workbook(report: "ReportInput", path: Path, *, school: str | None = None) -> Path:
    """Write ``audit.xlsx`` to ``path`` (atomically). With ``school`` (a school_id), only that
    school's rows: the workbook :func:`write_school_workbooks` hands its principal."""

    def write(temp: Path) -> None:
        book, streamed, links = _build(report, school)
        book.save(temp)
        if streamed:
            append_rows(temp, streamed, links)

    return write_atomic(Path(path), write)


SCHOOL_WORKBOOKS = "school-workbooks"
"""The folder, beside ``audit.xlsx``, of ``--workbook-per-school``'s workbooks."""


def school_workbook_name(school_id: str, name: str) -> str:
    """``0002 Maple Grove Public School.xlsx``: a file name that sorts by school id and that a
    principal recognises, with only characters every file system takes."""
    label = f"{school_id} {name}".strip() if name else school_id
    label = re.sub(r"[^\w .,&()'-]+", "_", visible(label)).strip(" .") or "school"
    return label[:100] + ".xlsx"


def write_school_workbooks(report: "ReportInput", folder: Path) -> list[Path]:
    """One workbook per school into ``folder``, each holding only that school's rows (its
    findings, its Preview accounts, the Details of its findings): a file a principal can be
    handed without the other schools' families in it."""
    from reports.input import ReportInput

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    involved = {s for f in report.findings for s in f.school_ids}
    preview = report.preview
    by_school_preview: dict[str, Any] = {}
    if preview is not None and "school_id" in preview.columns:
        by_school_preview = {str(k): rows for k, rows in preview.groupby("school_id", sort=False)}
    written, used = [], set()
    for school_id in sorted(set(report.schools) | involved | set(by_school_preview)):
        findings = [f for f in report.findings if school_id in f.school_ids]
        rows = by_school_preview.get(school_id)
        if rows is None and preview is not None:
            rows = preview.iloc[0:0]
        name = report.schools.get(school_id, "")
        file_name = school_workbook_name(school_id, name)
        while file_name.lower() in used:
            file_name = file_name[:-5] + "~.xlsx"
        used.add(file_name.lower())
        part = ReportInput(
            findings, preview=None if rows is None else rows.reset_index(drop=True),
            schools=report.schools, checks=report.checks,
            board_name=" – ".join(p for p in (report.board_name, name or school_id) if p),
            generated_at=report.generated_at, input_path=report.input_path,
            fingerprint=report.fingerprint, redacted=report.redacted,
            records_tables=report.records_tables)
        written.append(write_workbook(part, folder / file_name, school=school_id))
    return written


def sheet_names(checks: Iterable[str]) -> dict[str, str]:
    """A valid, unique sheet name (31 characters, no ``[]:*?/\\``) for each check code."""
    taken = {SUMMARY_SHEET.lower(), PREVIEW_SHEET.lower(), CHANGES_SHEET.lower(),
             BY_SCHOOL_SHEET.lower(), DETAILS_SHEET.lower(), "records"}
    names: dict[str, str] = {}
    for code in checks:
        base = re.sub(r"[\[\]:*?/\\']", "_", visible(code))[:31] or "check"
        name, n = base, 2
        while name.lower() in taken:
            suffix = f"~{n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        names[code] = name
    return names


def _build(report: "ReportInput", school: str | None = None
           ) -> tuple[Workbook, dict[str, Iterator[bytes]], dict[str, list[tuple[str, str]]]]:
    """The workbook with every sheet's header; the rows of the big sheets as XML to stream
    into the saved file (see :func:`append_rows`); and each streamed sheet's links, as
    (cell, location) pairs. ``school``: only that school's rows."""
    book = Workbook(write_only=True)
    codes = wording.ordered_checks(report.findings, report.checks)
    names = sheet_names(codes)
    by_check: dict[str, list[Finding]] = {code: [] for code in codes}
    for finding in report.findings:
        by_check[finding.check].append(finding)
    summary_sheet(book, report, codes, names, by_check, school)
    by_school_sheet(book, report, codes, names, by_check, school)
    streamed: dict[str, Iterator[bytes]] = {}
    links: dict[str, list[tuple[str, str]]] = {}
    details = Details()
    for code in codes:
        streamed[names[code]], links[names[code]] = check_sheet(
            book, names[code], by_check[code], report, details, school)
    # Redacted values (initials, masks) would compare as "same": no Records sheet then.
    groups = [f for f in by_check.get("duplicate-contact", [])
              if school is None or school in f.school_ids]
    records_rows = None if getattr(report, "redacted", False) else records_sheet(
        book, groups, report.records_tables)
    if records_rows is not None:
        streamed[RECORDS_SHEET] = records_rows
    if getattr(report, "changes", None) is not None:
        streamed[CHANGES_SHEET] = changes_sheet(book, report.changes)
    preview_rows = preview_sheet(book, report.preview, report.schools)
    if preview_rows is not None:
        streamed[PREVIEW_SHEET] = preview_rows
    details_rows = details_sheet(book, details)
    if details_rows is not None:
        streamed[DETAILS_SHEET] = details_rows
    return book, streamed, links
