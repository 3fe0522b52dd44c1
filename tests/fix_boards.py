"""Tiny handmade board exports and findings for the fix tests (shared by the test_fix_* files)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

BOARD = {
    "schools": [["school_id", "school_name", "school_type"],
                ["100", "Maple PS", "elementary"], ["200", "Oak SS", "secondary"]],
    "students": [["student_id", "school_id", "first_name", "last_name", "status"],
                 ["S1", "100", "Ava", "Smith", "active"], ["S2", "200", "Ben", "Smith", "active"],
                 ["S3", "100", "Cal", "Jones", "active"], ["S4", "200", "Dee", "Jones", "active"]],
    "contacts": [["contact_id", "first_name", "last_name", "email", "cell_phone", "street"],
                 ["C1", "Jennifer", "Smith", "jen@example.com", "", "1 Elm St"],
                 ["C2", "Jenny", "Smith", "jen@example.com", "555-0101", ""],
                 ["C3", "Ray", "Jones", "ray@example.com", "555-0202", "9 Oak Ave"]],
    "student_contacts": [["student_id", "contact_id", "relationship", "portal_access"],
                         ["S1", "C1", "Mother", "Y"], ["S2", "C2", "Mother", "Y"],
                         ["S1", "C2", "Emergency", "N"],
                         ["S3", "C3", "Father", "Y"], ["S4", "C3", "Father", "Y"]],
    "siblings": [["student_id", "sibling_id"]],
    "accounts": [["account_id", "username", "account_type", "school_id", "person_id", "status"],
                 ["A1", "jen@example.com", "parent", "100", "C1", "active"],
                 ["A3", "ray@example.com", "parent", "100", "C3", "active"]],
    "account_students": [["account_id", "student_id"], ["A1", "S1"], ["A3", "S3"]],
}


def csv_text(rows, *, newline="\r\n", quote_all=False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline,
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue()


def write_board(folder: Path, tables=None, *, encodings=None, newline="\r\n",
                quote_all=()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    encodings = encodings or {}
    for name, rows in (tables or BOARD).items():
        text = csv_text(rows, newline=newline, quote_all=name in quote_all)
        (folder / f"{name}.csv").write_bytes(text.encode(encodings.get(name, "utf-8")))
    return folder


def write_workbook(path: Path, tables=None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in (tables or BOARD).items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def merge_finding(**fix_overrides) -> dict:
    fix = {
        "action": "merge-contacts", "keep": "C2", "retire": ["C1"],
        "records": {
            "C1": {"first_name": "Jennifer", "last_name": "Smith", "email": "jen@example.com",
                   "cell_phone": "", "street": "1 Elm St"},
            "C2": {"first_name": "Jenny", "last_name": "Smith", "email": "jen@example.com",
                   "cell_phone": "555-0101", "street": ""},
        },
        "links": [
            {"contact_id": "C1", "student_id": "S1", "relationship": "Mother", "portal_access": True},
            {"contact_id": "C2", "student_id": "S2", "relationship": "Mother", "portal_access": True},
            {"contact_id": "C2", "student_id": "S1", "relationship": "Emergency",
             "portal_access": False},
        ],
        "accounts": [{"account_id": "A1", "person_id": "C1", "account_type": "parent"}],
        "steps": ["Open both contact records in the SIS."],
    }
    fix.update(fix_overrides)
    return {"id": "duplicate-contact:0001", "check": "duplicate-contact", "severity": "error",
            "confidence": 0.97, "title": "Contact records C1 and C2 look like one person",
            "entities": {"contacts": ["C1", "C2"], "students": ["S1", "S2"], "staff": [],
                         "accounts": []}, "pairs": [], "fix": fix}


def link_finding() -> dict:
    return {"id": "unlinked-siblings:0002", "check": "unlinked-siblings", "severity": "warning",
            "confidence": 0.9, "title": "S3 and S4 are not linked as siblings",
            "entities": {"students": ["S3", "S4"]}, "pairs": [["S3", "S4"]],
            "fix": {"action": "link-siblings", "pairs": [["S3", "S4"]], "steps": ["..."]}}


def permission_finding() -> dict:
    return {"id": "missing-sibling-access:0003", "check": "missing-sibling-access",
            "severity": "error", "confidence": 1.0, "title": "A3 cannot see S4",
            "entities": {"accounts": ["A3"], "students": ["S4"]}, "pairs": [["A3", "S4"]],
            "fix": {"action": "add-permission", "account_id": "A3",
                    "username": "ray@example.com", "students": ["S4"], "steps": ["..."]}}


def rename_finding() -> dict:
    return {"id": "username-clash:0004", "check": "username-clash", "severity": "error",
            "confidence": 1.0, "title": "ray@example.com is held twice",
            "username": "ray@example.com",
            "entities": {"accounts": ["A3"], "contacts": ["C3"]}, "pairs": [],
            "fix": {"action": "rename-username", "username": "ray@example.com",
                    "accounts": [{"account_id": "A3", "school_id": "100",
                                  "account_type": "parent", "person_id": "C3"}],
                    "contacts": [{"contact_id": "C3", "email": "ray@example.com"}],
                    "staff": [], "needs_decision": True, "steps": ["..."]}}


def missing_username_finding() -> dict:
    return {"id": "missing-username-source:0005", "check": "missing-username-source",
            "severity": "error", "confidence": 1.0, "title": "C9 has no email",
            "entities": {"contacts": ["C9"]}, "pairs": [],
            "fix": {"steps": ["Ask the parent for an email address."]}}


def findings_doc(*findings) -> dict:
    return {"schema": "connect-audit/findings/v1", "findings": list(findings)}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def bound(plan: dict, board: Path) -> dict:
    """``plan`` bound to the export at ``board``, as `fix plan` binds a plan made from that
    export's findings.json (these tests make findings by hand, without an audit)."""
    from fixes.binding import fingerprint_of
    from fixes.export_writer import read_export

    if plan.get("export"):
        return plan
    return {**plan, "export": fingerprint_of(read_export(board))}


def apply_plan(plan: dict, board, out, **options):
    """``fixes.apply.apply_plan`` with the hand-made plan bound to ``board`` first (a test of
    the binding itself calls ``fixes.apply.apply_plan``)."""
    from fixes.apply import apply_plan as apply

    return apply(bound(plan, Path(board)), board, out, **options)
