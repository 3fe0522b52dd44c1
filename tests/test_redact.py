"""Redacted reports: no name, email or phone of the board in any byte of any output (workbook,
HTML with its embedded JSON and pictures, runbooks, findings.json), and the same findings."""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits import api
from audits.cli import main
from audits.model.findings import Finding, Severity
from audits.workflow.redact import MASK, Redactor
from reports.input import ReportInput
from reports.writing import write_reports


def test_values_are_reduced_by_kind():
    redactor = Redactor.from_values(["Jennifer", "Smith", "Jean", "Baptiste"],
                                    emails=["jen.smith.gmail.com"], phones=["613-555-0101"])
    assert Redactor.initials("Jean-Baptiste O'Brien") == "J.-B. O.'B."
    assert Redactor.mask("jen.smith@example.ca") == MASK + "e.ca"
    assert Redactor.mask_phone("(613) 555-0101") == MASK + "0101"
    text = redactor.text("Open student Jennifer Smith (S12): email jen@x.ca, phone 613.555.0101, "
                         "bad jen.smith.gmail.com; other 999-555-0101 and id 100200300")
    assert text == (f"Open student J. S. (S12): email {MASK}x.ca, phone {MASK}0101, "
                    f"bad {MASK}.com; other 999-555-0101 and id 100200300")
    assert redactor.value("street", "12 King St") == MASK
    assert redactor.withheld("C1~C2: same (12 King St, Ottawa); C2~C3: different: a / b") == \
        "C1~C2: same (withheld); C2~C3: different (withheld)"
    assert redactor.value("contact_id", "C104") == "C104"


def board_redactor() -> Redactor:
    return Redactor.from_values(
        ["Anjali", "Patel", "Lefebvre", "Lefevre", "Will", "May", "Grant", "Smith", "Julie"],
        full_names=["Will Smith", "May Grant"], streets=["750 Willow Ave"],
        postal_codes=["K1M 0S6"], emails=["xavier@y.ca", "julie_li@bell.net"],
        phones=["613-555-1742"])


def test_evidence_keeps_its_verdict_words_and_loses_the_values():
    redactor = board_redactor()
    evidence = {"first_name": "same (Anjali)", "last_name": "similar: Lefebvre ~ Lefevre",
                "email": "on one record only (xavier@y.ca)",
                "phone": "same (613-555-1742), shared: home_phone",
                "address": "same (750 Willow Ave, Ottawa)",
                "postal_code": "C1~C2: same (K1M 0S6)"}
    finding = Finding(id="duplicate-contact:00000001", check="duplicate-contact",
                      severity=Severity.ERROR, title="t", evidence=evidence)
    shown = redactor.finding(finding).evidence
    assert shown["first_name"] == "same (A.)"
    assert shown["last_name"] == "similar: L. ~ L."
    assert shown["email"] == f"on one record only ({MASK}y.ca)"
    assert shown["phone"] == f"same ({MASK}1742), shared: home_phone"
    assert shown["address"] == "same (withheld)"
    assert shown["postal_code"] == "C1~C2: same (withheld)"
    # A name that is also one of the tool's words is reduced in a name slot of the evidence.
    assert redactor.value("first_name", "similar: Will ~ Wil (spelling)") == \
        "similar: W. ~ Wil (spelling)"
    assert redactor.value("before", "Will") == "W."


def test_a_titles_english_words_survive_and_names_in_it_do_not():
    redactor = board_redactor()
    finding = Finding(id="username-clash:00000001", check="username-clash",
                      severity=Severity.ERROR, names={"C1": "Will Smith", "C2": "Julie Li"},
                      title="Username julie_li@bell.net is held by 2 accounts: generation will "
                            "be refused; Will Smith (C1) and Julie Li (C2) may grant access",
                      fix={"steps": ["1. Open Will Smith (C1), go to 750 Willow Ave, K1M 0S6.",
                                     "2. Still on Contacts of Julie Li (C2): done."]})
    shown = redactor.finding(finding)
    assert shown.title == (f"Username {MASK}.net is held by 2 accounts: generation will be "
                           "refused; W. S. (C1) and J. L. (C2) may grant access")
    assert shown.fix["steps"] == [f"1. Open W. S. (C1), go to {MASK}, {MASK}.",
                                  "2. Still on Contacts of J. L. (C2): done."]
    # The board's full name is a name slot even where the finding does not name the person.
    assert redactor.text("ask May Grant; you may grant it") == "ask M. G.; you may grant it"


def board_strings(board) -> set[str]:
    """Every name, full name, email, username and phone on the board, 4 characters or more."""
    found: set[str] = set()
    for table, columns in (("contacts", ("first_name", "last_name", "email", "home_phone",
                                         "cell_phone", "work_phone")),
                           ("students", ("first_name", "last_name")),
                           ("staff", ("first_name", "last_name", "email")),
                           ("accounts", ("username",))):
        frame = board[table].astype(str)
        for column in columns:
            found.update(v.strip() for v in frame[column] if len(v.strip()) >= 4)
        if "first_name" in columns:
            found.update((a.strip() + " " + b.strip()) for a, b in
                         zip(frame["first_name"], frame["last_name"]))
    return found


def output_texts(folder: Path) -> dict[str, str]:
    texts = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    # Cell values are the text between tags; tag names are the format's own.
                    texts[f"{path.name}:{name}"] = re.sub(
                        r"<[^>]+>", " ", archive.read(name).decode("utf-8", "replace"))
        else:
            texts[str(path.relative_to(folder))] = path.read_text("utf-8")
    return texts


@pytest.fixture(scope="module")
def redacted(tmp_path_factory):
    root = tmp_path_factory.mktemp("redact")
    board = root / "board"
    assert CliRunner().invoke(main, ["sample", str(board), "--students", "500",
                                     "--seed", "5"]).exit_code == 0
    for name, extra in (("plain", []), ("redacted", ["--redact"])):
        run = CliRunner().invoke(main, ["audit", str(board), "--out", str(root / name), "--quiet",
                                        *extra])
        assert run.exit_code == 0, run.output
    return root, api.load_board(board, validate=False)


def test_no_name_email_or_phone_of_the_board_in_any_redacted_output(redacted):
    root, board = redacted
    secrets = board_strings(board)
    # Not personal: school and city names stay (a school named for a saint keeps the saint,
    # "Kingston" keeps "King"), and so do the report's own words (the legend's "Green", a
    # placeholder email "none" in the CSS).
    places = [board.schools["school_name"], board.contacts["city"], board.students["city"]]
    schools = " ".join(" ".join(column.astype(str).unique()) for column in places)
    empty = root / "empty"
    furniture_finding = Finding(id="unlinked-siblings:00000000", check="unlinked-siblings",
                                severity=Severity.ERROR, title="x", school_ids=("0001",))
    write_reports(ReportInput([furniture_finding], board_name="board", preview=None,
                              checks=api.available_checks()), empty)
    furniture = "\n".join(output_texts(empty).values())
    secrets = {s for s in secrets if s not in schools and s not in furniture}
    assert len(secrets) > 500

    texts = output_texts(root / "redacted")
    assert {"findings.json", "audit.html", "runbooks/index.html"} <= set(texts)
    assert any(name.endswith(".md") for name in texts)
    leaks = {}
    for name, text in texts.items():
        readable = html.unescape(text)
        for secret in secrets:
            if secret in text or secret in readable:
                leaks.setdefault(secret, name)
    assert leaks == {}

    # The test can fail: the unredacted run shows plenty of them.
    plain = "\n".join(output_texts(root / "plain").values())
    assert sum(1 for s in secrets if s in plain) > 100


def test_redaction_keeps_the_same_findings_ids_and_counts(redacted):
    root, _ = redacted
    plain = json.loads((root / "plain" / "findings.json").read_text())
    shared = json.loads((root / "redacted" / "findings.json").read_text())
    assert shared["summary"] == plain["summary"]
    assert [f["id"] for f in shared["findings"]] == [f["id"] for f in plain["findings"]]
    for a, b in zip(plain["findings"], shared["findings"]):
        assert a["entities"] == b["entities"] and a["pairs"] == b["pairs"]
        assert a["school_ids"] == b["school_ids"]
    dup = next(f for f in shared["findings"] if f["check"] == "duplicate-contact")
    assert all(name.endswith(".") for name in dup["names"].values())
    assert "Redacted for sharing" in (root / "redacted" / "audit.html").read_text("utf-8")


def test_api_redact_reduces_the_preview_and_the_entity_frame(redacted):
    _, board = redacted
    result = api.redact(api.run_audit(board))
    assert result.redacted and api.redact(result) is result
    preview = result.preview
    named = preview[preview["username"] != ""]
    assert named["username"].str.startswith(MASK).all()
    assert preview["name"].str.fullmatch(r"(?:\W*\w\.\W*)*").all()
    entities = result.entities()
    names = entities[entities["entity_type"] == "contacts"]["name"]
    assert names.str.fullmatch(r"[^@]*\.|" + MASK + ".*").all()


def test_the_tools_own_wording_is_read_from_where_the_checks_and_preview_live():
    from audits.workflow.redact import tool_words

    # Words only the checks' titles, the SIS steps and the preview's reasons write: if the
    # modules moved and the list did not follow, these would be masked as if they were names.
    assert {"sibling", "permissions", "regenerate", "username", "created"} <= tool_words()
