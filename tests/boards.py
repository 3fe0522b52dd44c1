"""Builders the tests share: small boards from literals, contract tables written as an export,
findings for the report tests, and where the external tools (LibreOffice, Chromium) are."""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path

import openpyxl

from audits.engine.context import AuditContext
from audits.household.matching.matcher import ContactCluster, ContactMatches
from audits.model.board import board_from_frames
from audits.model.config import Config
from audits.model.findings import Finding, Severity
from reports.samples import sample_findings


# -------------------------------------------------------------------- board from literals

def make_board(students=(), links=(), contacts=None, siblings=(), staff=(), accounts=(),
               visible=(), schools=None):
    """A board from short literals.

    students: ``"S1@10"`` (active at school 10) or ``("S1", "10", "inactive")``;
    links: ``(student, contact, relationship, portal_access "Y"/"N")``;
    contacts: ``{id: (first, last, email)}``; a linked contact not given gets a unique email;
    staff: ``(staff_id, school, email)``; accounts: ``(account_id, username, type, school,
    person_id[, status])``; visible: ``(account_id, student_id)``.
    """
    student_rows = []
    for entry in students:
        sid, school, status = (*entry.split("@"), "active") if isinstance(entry, str) else entry
        student_rows.append({"student_id": sid, "school_id": school, "first_name": f"Kid{sid}",
                             "last_name": "Family", "status": status})
    contacts = dict(contacts or {})
    for _, cid, *_ in links:
        contacts.setdefault(cid, (f"Parent{cid}", "Family", f"{cid.lower()}@mail.ca"))
    contact_rows = [{"contact_id": cid, "first_name": first, "last_name": last, "email": email}
                    for cid, (first, last, email) in contacts.items()]
    link_rows = [{"student_id": s, "contact_id": c, "relationship": rel, "portal_access": portal}
                 for s, c, rel, portal in links]
    staff_rows = [{"staff_id": sid, "school_id": school, "first_name": f"Staff{sid}",
                   "last_name": "Member", "email": email} for sid, school, email in staff]
    account_rows = [{"account_id": a[0], "username": a[1], "account_type": a[2],
                     "school_id": a[3], "person_id": a[4],
                     "status": a[5] if len(a) > 5 else "active"} for a in accounts]
    school_ids = sorted({r["school_id"] for r in student_rows + staff_rows + account_rows})
    school_rows = schools or [{"school_id": s, "school_name": f"School {s}",
                               "school_type": "central_office" if s == "99" else "elementary"}
                              for s in school_ids]
    frames = {"schools": school_rows, "students": student_rows, "contacts": contact_rows,
              "student_contacts": link_rows, "staff": staff_rows}
    if siblings:
        frames["siblings"] = [{"student_id": a, "sibling_id": b} for a, b in siblings]
    if accounts:
        frames["accounts"] = account_rows
    if visible:
        frames["account_students"] = [{"account_id": a, "student_id": s} for a, s in visible]
    return board_from_frames(frames)


def matches_of(*groups, confidence=0.95) -> ContactMatches:
    """Contact matches where each group of ids is one person."""
    return ContactMatches(tuple(ContactCluster(tuple(sorted(g)), confidence, ()) for g in groups))


def with_matches(board, *groups, config=None, confidence=0.95) -> AuditContext:
    """A context whose duplicate-contact clusters are exactly ``groups`` (no matcher run)."""
    context = AuditContext(board, config or Config())
    context.__dict__["contact_matches"] = matches_of(*groups, confidence=confidence)
    return context


def shuffled(board, seed=7):
    """The same board with every table's rows in another order."""
    frames = {name: frame.sample(frac=1, random_state=seed).reset_index(drop=True)
              for name, frame in board.tables.items() if len(frame)}
    return board_from_frames(frames)


# ----------------------------------------------------------- an export in contract tables

# A small valid board in contract column names; tests change a copy.
VALID: dict[str, list[dict[str, str]]] = {
    "schools": [
        {"school_id": "1021", "school_name": "North Public", "school_type": "elementary"},
        {"school_id": "0900", "school_name": "Board Office", "school_type": "central_office"},
    ],
    "students": [
        {"student_id": "000123", "school_id": "1021", "first_name": "Ann", "last_name": "Lee",
         "date_of_birth": "2015-03-04", "grade": "03", "status": "Active"},
        {"student_id": "000124", "school_id": "1021", "first_name": "Bo", "last_name": "Lee",
         "date_of_birth": "", "grade": "05", "status": ""},
    ],
    "contacts": [
        {"contact_id": "C1", "first_name": "Jo", "last_name": "Lee", "email": "jo@example.org",
         "cell_phone": "613-555-0100"},
        {"contact_id": "C2", "first_name": "Sam", "last_name": "Lee", "email": ""},
    ],
    "student_contacts": [
        {"student_id": "000123", "contact_id": "C1", "relationship": "Mother", "portal_access": "Y"},
        {"student_id": "000124", "contact_id": "C2", "relationship": "Father", "portal_access": ""},
    ],
    "siblings": [{"student_id": "000123", "sibling_id": "000124"}],
    "staff": [{"staff_id": "T1", "school_id": "0900", "first_name": "Pat", "last_name": "Ng",
               "email": "pat@example.org"}],
}


EXPORT_HEADERS = {"student_id": "Student Id", "school_id": "School ID", "first_name": "First Name",
                  "last_name": "LAST-NAME", "date_of_birth": " Date of Birth ", "grade": "Grade"}


def board_tables(**changes: list[dict[str, str]] | None) -> dict[str, list[dict[str, str]]]:
    """VALID with some tables replaced (``None`` drops a table)."""
    tables = {name: [dict(row) for row in rows] for name, rows in VALID.items()}
    for name, rows in changes.items():
        if rows is None:
            tables.pop(name, None)
        else:
            tables[name] = rows
    return tables


def _header_and_rows(rows: list[dict[str, str]], headers: dict[str, str]):
    columns = list(dict.fromkeys(column for row in rows for column in row))
    return ([headers.get(c, c) for c in columns],
            [[row.get(c, "") for c in columns] for row in rows])


def write_csv_board(folder: Path, tables: dict[str, list[dict[str, str]]], *,
                    headers: dict[str, str] | None = None, encoding: str = "utf-8",
                    names: dict[str, str] | None = None) -> Path:
    """Each table as ``<table>.csv`` (or ``names[table]``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        header, body = _header_and_rows(rows, headers or {})
        file = folder / (names or {}).get(name, f"{name}.csv")
        with open(file, "w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(body)
    return folder


def write_xlsx_board(path: Path, tables: dict[str, list[dict[str, object]]], *,
                     headers: dict[str, str] | None = None) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in tables.items():
        sheet = workbook.create_sheet(name)
        header, body = _header_and_rows(rows, headers or {})
        sheet.append(header)
        for row in body:
            sheet.append([None if value == "" else value for value in row])
    workbook.save(path)
    return path


# --------------------------------------------------------------- findings for the reports

def _record(cid, **fields):
    base = {"contact_id": cid, "first_name": "", "last_name": "", "email": "",
            "home_phone": "", "cell_phone": "", "work_phone": "", "street": "", "city": "",
            "postal_code": ""}
    return {**base, **fields}


def three_records() -> Finding:
    records = {
        "C1": _record("C1", first_name="Jennifer", last_name="Smith", email="jen@x.ca",
                      cell_phone="613-555-0101", street="12 Elm Street", city="Ottawa",
                      postal_code="K1A 0B1"),
        "C2": _record("C2", first_name="Jennifer  ", last_name="SMITH", email="Jen@X.ca",
                      home_phone="(613) 555-0101", street="12 Elm St", city="Ottawa",
                      postal_code="k1a0b1"),
        "C3": _record("C3", first_name="Jenny", last_name="Smith", email="",
                      cell_phone="613 555 9999", street="99 Oak Ave", city="Gatineau",
                      postal_code="J8Y 1A1"),
    }
    links = [{"contact_id": "C1", "student_id": "S1", "relationship": "Mother",
              "portal_access": True},
             {"contact_id": "C2", "student_id": "S2", "relationship": "mother",
              "portal_access": True},
             {"contact_id": "C3", "student_id": "S3", "relationship": "Mother",
              "portal_access": False}]
    return Finding(
        id="duplicate-contact:abc", check="duplicate-contact", severity=Severity.ERROR,
        title="Contact records C1, C2 and C3 look like one person (Jennifer Smith)",
        confidence=0.97, school_ids=("1021",), students=("S1", "S2", "S3"),
        contacts=("C2", "C1", "C3"),
        evidence={"first_name": "C1~C2: same (Jennifer)", "email": "C1~C2: same (jen@x.ca)",
                  "score": "match confidence 0.97"},
        fix={"action": "merge-contacts", "keep": "C1", "retire": ["C2", "C3"],
             "records": records, "links": links, "steps": ["1. Merge."]},
        names={"C1": "Jennifer Smith", "C2": "Jennifer   SMITH", "C3": "Jenny Smith",
               "S1": "Ava Smith", "S2": "Ben Smith", "S3": "Cleo Smith"})


LONG_USERNAME = "a.very.long.username.for.this.family@example.org"


def dense_finding():
    """One contact linked to five students with different relationships, four more contacts,
    sibling arcs, an account that can see three of them, and two missing links."""
    base = next(f for f in sample_findings() if f.check == "duplicate-contact")
    students = [f"S{i}" for i in range(1, 6)]
    nodes = ([{"id": f"contact:C{i}", "kind": "contact", "ref": f"C{i}", "label": f"Parent {i}"}
              for i in range(1, 6)]
             + [{"id": f"student:{s}", "kind": "student", "ref": s, "label": f"Child {s}"}
                for s in students]
             + [{"id": "account:A1", "kind": "account", "ref": "A1", "label": LONG_USERNAME}])
    relationships = ["Father", "Emergency", "Mother", "Guardian", "Other"]
    edges = [{"source": f"contact:C{c}", "target": f"student:{s}", "kind": "contact-of",
              "relationship": relationships[(c + k) % 5], "portal_access": k % 2 == 0}
             for c in range(1, 6) for k, s in enumerate(students)]
    edges += [{"source": "student:S1", "target": f"student:{s}", "kind": "sibling"}
              for s in students[1:3]]
    edges += [{"source": "contact:C1", "target": "account:A1", "kind": "holds-account"}]
    edges += [{"source": "account:A1", "target": f"student:{s}", "kind": "can-see"}
              for s in students[:3]]
    return dataclasses.replace(base, household={"nodes": nodes, "edges": edges},
                               pairs=(("A1", "S4"), ("A1", "S5")))


# ------------------------------------------------------------------------- external tools

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"


# CSV filter: comma, double quote, UTF-8, from row 1, ..., cells as shown, ..., every sheet (-1).
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


CHROMIUM = "/usr/bin/chromium"


LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
