"""Writes the broken-export corpus: one folder per case, each with the export to give
``connect-audit audit`` and ``case.yaml`` saying what the user must be told.

The files are committed; run this again only to change a case
(``.venv/bin/python tests/data/bad/make_corpus.py``). Each export is the same tiny valid
board with exactly one thing broken, so each case's message is the only message.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import yaml

HERE = Path(__file__).parent

VALID: dict[str, list[list[str]]] = {
    "schools": [["school_id", "school_name", "school_type"],
                ["1021", "North Public", "elementary"],
                ["0900", "Board Office", "central_office"]],
    "students": [["student_id", "school_id", "first_name", "last_name", "date_of_birth", "status"],
                 ["000123", "1021", "Ann", "Lee", "2015-03-04", "active"],
                 ["000124", "1021", "Bo", "Lee", "2017-06-01", "active"]],
    "contacts": [["contact_id", "first_name", "last_name", "email", "street"],
                 ["C1", "Jo", "Lee", "jo@example.org", "12 Main St"],
                 ["C2", "Sam", "Lee", "", "12 Main St"]],
    "student_contacts": [["student_id", "contact_id", "relationship", "portal_access"],
                         ["000123", "C1", "Mother", "Y"],
                         ["000124", "C2", "Father", "N"]],
    "siblings": [["student_id", "sibling_id"], ["000123", "000124"]],
    "staff": [["staff_id", "school_id", "first_name", "last_name", "email"],
              ["T1", "0900", "Pat", "Ng", "pat@example.org"]],
}


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def tables(**changes: list[list[str]] | None) -> dict[str, list[list[str]]]:
    out = {name: [list(row) for row in rows] for name, rows in VALID.items()}
    for name, rows in changes.items():
        if rows is None:
            out.pop(name)
        else:
            out[name] = rows
    return out


def folder_case(name: str, about: str, expect: list[str], *, files: dict[str, bytes] | None = None,
                **changes: list[list[str]] | None) -> None:
    case = HERE / name
    export = case / "export"
    export.mkdir(parents=True)
    for table, rows in tables(**changes).items():
        (export / f"{table}.csv").write_bytes(csv_text(rows).encode("utf-8"))
    for file, data in (files or {}).items():
        (export / file).write_bytes(data)
    meta(case, about, "export", expect)


def meta(case: Path, about: str, board: str, expect: list[str]) -> None:
    case.mkdir(parents=True, exist_ok=True)
    (case / "case.yaml").write_text(yaml.safe_dump(
        {"about": about, "board": board, "expect": expect}, sort_keys=False, allow_unicode=True),
        encoding="utf-8")


def workbook(rows_by_sheet: dict[str, list[list[object]]] | None = None):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in (rows_by_sheet or tables()).items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    return book


def workbook_case(name: str, about: str, expect: list[str], book=None, data: bytes | None = None,
                  file: str = "board.xlsx") -> None:
    case = HERE / name
    case.mkdir(parents=True)
    if data is None:
        book.save(case / file)
    else:
        (case / file).write_bytes(data)
    meta(case, about, file, expect)


def with_sheet_xml(book, sheet: str, edit) -> bytes:
    """The workbook's bytes with one sheet's XML part rewritten by ``edit``."""
    buffer = io.BytesIO()
    book.save(buffer)
    index = book.sheetnames.index(sheet) + 1
    part = f"xl/worksheets/sheet{index}.xml"
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == part:
                content = edit(content)
            target.writestr(info.filename, content)
    return out.getvalue()


def ole_file(streams: list[str]) -> bytes:
    """A compound-file header and a directory naming ``streams``: what Excel 97-2003 files
    and password-protected workbooks start with (enough for a reader to recognise one)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff"
    header = header.ljust(512, b"\x00")
    directory = b"".join(name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64
                         for name in ["Root Entry", *streams])
    return header + directory.ljust(1024, b"\x00")


def build() -> None:
    for case in HERE.iterdir():
        if case.is_dir():
            shutil.rmtree(case)
    students = VALID["students"]
    contacts = VALID["contacts"]

    folder_case("missing_table", "the siblings table was not exported",
                ["siblings.csv", "export the siblings table"], siblings=None)
    folder_case("missing_required_column", "staff.csv has no last_name column",
                ["staff.csv, row 1, column last_name", "required column last_name is missing"],
                staff=[["staff_id", "school_id", "first_name"], ["T1", "0900", "Pat"]])
    folder_case("duplicate_header", "two headers read as school_name",
                ["schools.csv, row 1, column school name", "two columns read as school_name"],
                schools=[["school_id", "School Name", "school name", "school_type"],
                         ["1021", "A", "B", "elementary"]])
    folder_case("zero_byte_file", "contacts.csv is 0 bytes", ["contacts.csv", "the file is empty"],
                files={"contacts.csv": b""})
    folder_case("header_only_students", "students.csv has its header and no rows",
                ["students.csv", "header but no rows"], students=[students[0]])
    folder_case("duplicate_ids", "two students share student_id 000123",
                ["students.csv, row 3, column student_id", "more than one row", "'000123'"],
                students=[students[0], students[1], ["000123", *students[1][1:]]])
    folder_case("dangling_sibling", "a sibling link names a student not in students.csv",
                ["siblings.csv, row 3, column sibling_id", "'999'", "names no student_id"],
                siblings=[*VALID["siblings"], ["000123", "999"]])
    folder_case("dangling_contact", "a student-contact link names an unknown contact record",
                ["student_contacts.csv, row 4, column contact_id", "'C77'",
                 "names no contact_id in the contacts table"],
                student_contacts=[*VALID["student_contacts"], ["000124", "C77", "Mother", "Y"]])
    folder_case("dangling_account", "a parent account's person_id names no contact record",
                ["accounts.csv, row 3, column person_id", "'C404'", "names no record"],
                accounts=[["account_id", "username", "account_type", "school_id", "person_id"],
                          ["A1", "jo@example.org", "parent", "1021", "C1"],
                          ["A2", "ghost@example.org", "parent", "1021", "C404"]])
    folder_case("dangling_school", "a student's school_id is not in schools.csv",
                ["students.csv, row 2, column school_id", "'4040'",
                 "names no school_id in the schools table"],
                students=[students[0], ["000123", "4040", *students[1][2:]], students[2]])
    folder_case("bad_date", "a date of birth written the local way",
                ["students.csv, row 3, column date_of_birth", "YYYY-MM-DD", "'06/01/2017'"],
                students=[students[0], students[1],
                          [*students[2][:4], "06/01/2017", "active"]])
    folder_case("bad_flag", "portal_access spelled in a way the SIS does not have",
                ["student_contacts.csv, row 3, column portal_access", "'maybe'", "Y/N"],
                student_contacts=[*VALID["student_contacts"][:2],
                                  ["000124", "C2", "Father", "maybe"]])

    def raw_case(name, about, expect, file, data):
        case_tables = tables()
        case = HERE / name
        export = case / "export"
        export.mkdir(parents=True)
        for table, rows in case_tables.items():
            (export / f"{table}.csv").write_bytes(csv_text(rows).encode("utf-8"))
        (export / file).write_bytes(data)
        meta(case, about, "export", expect)

    raw_case("semicolon_delimiter", "students.csv saved with semicolons (a European Excel)",
             ["students.csv, row 1", "semicolons (';')", "comma-separated"], "students.csv",
             csv_text(students, ";").encode("utf-8"))
    raw_case("tab_delimiter", "contacts.csv saved tab-separated",
             ["contacts.csv, row 1", "uses tabs", "comma-separated"], "contacts.csv",
             csv_text(contacts, "\t").encode("utf-8"))
    raw_case("mixed_encodings", "row 3 of contacts.csv pasted in from a Windows-1252 file",
             ["contacts.csv, row 3", "mixes encodings"], "contacts.csv",
             csv_text(contacts[:2]).encode("utf-8").replace(b"Jo,", "Zoë,".encode("utf-8"))
             + "C2,Renée,Lee,,12 Main St\r\n".encode("cp1252"))
    raw_case("invalid_utf8", "a UTF-8 file (with its byte-order mark) damaged in row 3",
             ["contacts.csv, row 3", "not valid UTF-8"], "contacts.csv",
             b"\xef\xbb\xbf" + csv_text(contacts[:2]).encode("utf-8")
             + b"C2,S\xc3m,Lee,,12 Main St\r\n")
    raw_case("undecodable_bytes", "staff.csv holds bytes no text encoding uses",
             ["staff.csv, row 2", "not UTF-8 or Windows-1252"], "staff.csv",
             b"staff_id,school_id,first_name,last_name\r\nT1,0900,P\x81\x8d,Ng\r\n")
    raw_case("utf16_file", "schools.csv saved as 'Unicode Text' (UTF-16)",
             ["schools.csv", "not UTF-8 or Windows-1252", "CSV UTF-8"], "schools.csv",
             csv_text(VALID["schools"]).encode("utf-16"))
    raw_case("quoted_newlines", "a street with a line break in quotes (valid CSV), then a "
             "duplicate contact_id: the row named is the record, not the line",
             ["contacts.csv, row 4, column contact_id", "'C1'", "more than one row"],
             "contacts.csv",
             csv_text([contacts[0], ["C1", "Jo", "Lee", "", "12 Main St\nApt 4"], contacts[2],
                       ["C1", "Joanne", "Lee", "", "3 Elm St"]]).encode("utf-8"))
    raw_case("ragged_row_long", "a siblings row with more fields than the header",
             ["siblings.csv, row 3", "4 fields but the header has 2", "more fields"],
             "siblings.csv", b"student_id,sibling_id\r\n000123,000124\r\n000123,000124,x,y\r\n")
    raw_case("ragged_row_short", "a students row cut short",
             ["students.csv, row 3", "4 fields but the header has 6", "fewer fields"],
             "students.csv", csv_text(students[:2]).encode("utf-8")
             + b"000124,1021,Bo,Lee\r\n")
    raw_case("unclosed_quote", "a quote opened on row 3 of contacts.csv and never closed",
             ["contacts.csv, row 3", "never closes"], "contacts.csv",
             csv_text(contacts[:2]).encode("utf-8") + b'C2,"Sam,Lee,,12 Main St\r\n'
             b"C3,Al,Lee,,4 Oak St\r\n")
    raw_case("html_instead_of_csv", "students.csv is the SIS login page saved by a browser",
             ["students.csv", "web page (HTML)"], "students.csv",
             b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
             b"<body><form>student_id,school_id</form></body></html>\n")
    raw_case("workbook_named_csv", "students.csv is really an .xlsx workbook",
             ["students.csv", "Excel workbook renamed to .csv"], "students.csv",
             b"PK\x03\x04" + b"\x00" * 60)
    raw_case("huge_field", "a 40,000-character street: more than any spreadsheet cell holds",
             ["contacts.csv, row 3, column street", "40,000 characters"], "contacts.csv",
             csv_text([contacts[0], contacts[1], ["C2", "Sam", "Lee", "", "x" * 40_000]])
             .encode("utf-8"))
    raw_case("one_giant_header_column", "staff.csv exported with '|' so its header is one column",
             ["staff.csv, row 1", "vertical bars ('|')"], "staff.csv",
             csv_text(VALID["staff"], "|").encode("utf-8"))

    staff = VALID["staff"]
    raw_case("quote_swallows_rows", "a stray quote in one staff email and another three rows "
             "later: the rows between read as part of one email (valid CSV, so no parser error)",
             ["staff.csv, row 3, column email", "a quote opens in this value on line 3",
              "closes only on line 5"], "staff.csv",
             csv_text(staff).encode("utf-8")
             + b'T2,0900,Al,Bo,"al@example.org\r\nT3,0900,Cy,Do,cy@example.org\r\n'
               b'T4,0900,Di,Ep,di@example.org"\r\nT5,0900,Ed,Fu,ed@example.org\r\n')
    raw_case("repeated_header", "two contacts exports joined into one file: a header row in "
             "the middle",
             ["contacts.csv, row 4", "repeats the header row"], "contacts.csv",
             csv_text([*contacts, contacts[0], ["C3", "Al", "Lee", "", "4 Oak St"]])
             .encode("utf-8"))
    raw_case("sep_line", "students.csv starts with Excel's 'sep=,' delimiter hint",
             ["students.csv, row 1", "'sep=,'", "delete that line"], "students.csv",
             b"sep=,\r\n" + csv_text(students).encode("utf-8"))
    raw_case("nul_byte", "a NUL byte inside a first name on row 3 of contacts.csv",
             ["contacts.csv, row 3, column first_name", "NUL byte"], "contacts.csv",
             csv_text(contacts).encode("utf-8").replace(b"Sam", b"S\x00am"))
    folder_case("impossible_date", "a date of birth that is no day of the calendar",
                ["students.csv, row 3, column date_of_birth", "'2015-02-30'",
                 "not a day of the calendar"],
                students=[students[0], students[1], [*students[2][:4], "2015-02-30", "active"]])
    folder_case("self_sibling", "a student linked as their own sibling",
                ["siblings.csv, row 3, column sibling_id", "'000124'", "their own sibling"],
                siblings=[*VALID["siblings"], ["000124", "000124"]])

    no_tables = HERE / "no_tables" / "export"
    no_tables.mkdir(parents=True)
    (no_tables / "README.txt").write_text("exported 2026-11-28\n", encoding="utf-8")
    meta(HERE / "no_tables", "the folder given holds no table files", "export",
         ["holds none of the export's tables", "students.csv"])
    meta(HERE / "path_does_not_exist", "a typo in the path", "nowhere",
         ["nowhere", "does not exist"])

    # --- workbooks -------------------------------------------------------------------------
    book = workbook()
    book["students"].merge_cells("C1:D1")
    book["students"]["C1"] = "Name"
    workbook_case("xlsx_merged_header", "first and last name headers merged into one 'Name'",
                  ["board.xlsx[students], row 1", "merged cells (C1:D1)", "unmerge"], book)
    book = workbook()
    book["students"].merge_cells("D2:D3")
    workbook_case("xlsx_merged_cells", "two students' last names merged into one cell: the "
                  "second reads blank",
                  ["board.xlsx[students], row 2, column last_name", "cells D2:D3 are merged",
                   "unmerge"], book)
    book = workbook()
    book["contacts"].sheet_state = "hidden"
    workbook_case("xlsx_hidden_sheet", "the contacts sheet is hidden",
                  ["board.xlsx", "sheet 'contacts' is hidden", "unhide"], book)
    book = workbook()
    book["students"]["D3"] = '=UPPER("lee")'
    workbook_case("xlsx_uncalculated_formula", "a last name typed as a formula, never calculated",
                  ["board.xlsx[students], row 3, column last_name", "formula", "no saved result"],
                  book)
    workbook_case("xlsx_password", "a workbook encrypted with a password",
                  ["board.xlsx", "password-protected"],
                  data=ole_file(["EncryptionInfo", "EncryptedPackage"]))
    workbook_case("xls_renamed_xlsx", "an Excel 97-2003 workbook renamed to .xlsx",
                  ["board.xlsx", "old Excel 97-2003"], data=ole_file(["Workbook"]))
    workbook_case("old_xls", "an Excel 97-2003 .xls workbook", ["board.xls", "save it as an .xlsx"],
                  data=ole_file(["Workbook"]), file="board.xls")
    buffer = io.BytesIO()
    workbook().save(buffer)
    whole = buffer.getvalue()
    workbook_case("xlsx_truncated", "a download cut short: half a workbook",
                  ["board.xlsx", "damaged or incomplete"], data=whole[: len(whole) // 2])
    workbook_case("xlsx_zero_bytes", "an empty .xlsx file", ["board.xlsx", "empty (0 bytes)"],
                  data=b"")
    workbook_case("xlsx_really_html", "an 'Excel export' that is an HTML table",
                  ["board.xlsx", "web page (HTML)"],
                  data=b"<html><body><table><tr><td>student_id</td></tr></table></body></html>")
    workbook_case("xlsx_not_a_zip", "random text with an .xlsx name",
                  ["board.xlsx", "not an Excel workbook"], data=b"student_id,school_id\n1,2\n")
    bomb = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else
                                                      b"&lol;") * 10) for i in range(1, 10))
            + b"]>\n")
    workbook_case("xlsx_billion_laughs", "a workbook whose sheet XML is an entity bomb",
                  ["board.xlsx", "XML bomb", "not opened"],
                  data=with_sheet_xml(workbook(), "students", lambda xml: bomb + xml.replace(
                      b"<sheetData>", b'<sheetData><row r="9"><c r="A9" t="inlineStr"><is><t>'
                      b"&lol9;</t></is></c></row>", 1)))


if __name__ == "__main__":
    build()
    print(len([p for p in HERE.iterdir() if p.is_dir()]), "cases written to", HERE)
