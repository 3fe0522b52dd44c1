"""The documented Python API: the example in docs/api.md runs as written, the tidy frames have
one row per finding and per (finding, record), and the CLI writes what the API writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits import api
from audits.cli import main
from reports.writing import write_audit_reports

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_the_documented_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("tempfile.mkdtemp", lambda *a, **k: str(tmp_path / "work"))
    namespace: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    work = tmp_path / "work"
    for name in ("findings.json", "audit.xlsx", "audit.html", "runbooks/index.html"):
        assert (work / "run1" / name).exists()
        assert (work / "shared" / name).exists()
    assert "suppressed;" in capsys.readouterr().out
    assert namespace["again"].suppressed.count == 2


def test_every_documented_function_exists():
    documented = set(re.findall(r"^\| `(\w+)\(", DOC.read_text("utf-8"), flags=re.M))
    assert documented
    assert documented <= set(api.__all__)


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("api") / "board"
    assert CliRunner().invoke(main, ["sample", str(out), "--students", "300",
                                     "--seed", "11"]).exit_code == 0
    return out


def test_tidy_frames_and_the_cli_write_the_same_findings(board, tmp_path):
    result = api.run_audit(api.load_board(board, validate=False))
    frame = result.frame()
    assert len(frame) == len(result.findings) and frame["id"].is_unique
    entities = result.entities()
    assert len(entities) == sum(len(f.students) + len(f.contacts) + len(f.staff) + len(f.accounts)
                                for f in result.findings)
    assert set(entities["finding_id"]) <= set(frame["id"])

    write_audit_reports(result, tmp_path / "api", formats=("json",))
    run = CliRunner().invoke(main, ["audit", str(board), "--out", str(tmp_path / "cli"),
                                    "--format", "json", "--quiet"])
    assert run.exit_code == 0, run.output
    by_api = json.loads((tmp_path / "api" / "findings.json").read_text())
    by_cli = json.loads((tmp_path / "cli" / "findings.json").read_text())
    assert by_api["findings"] == by_cli["findings"]
    assert "suppressed" not in by_cli  # the section appears only when suppressions are given


def test_the_core_never_imports_reports_and_reports_never_read_the_board(board):
    """audits/ (but for the CLI's commands) does not import reports; reports build their input
    from what an AuditResult carries, never from its board."""
    from types import SimpleNamespace

    from reports.input import report_input_from_audit

    root = Path(api.__file__).parent
    for path in root.rglob("*.py"):
        if path.name == "cli.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+reports\b", text, re.M), path
    assert not hasattr(api, "write_reports")
    result = api.run_audit(api.load_board(board, validate=False))
    assert result.school_names == dict(zip(result.board.schools["school_id"],
                                           result.board.schools["school_name"]))
    assert result.table_rows["students"] == len(result.board.students)
    assert result.input_path == str(board)
    carried = SimpleNamespace(findings=result.findings, preview=result.preview,
                              school_names=result.school_names, table_rows=result.table_rows,
                              input_path=result.input_path)
    report = report_input_from_audit(carried)
    assert report.schools == result.school_names and report.tables == result.table_rows
    assert report.input_path == str(board) and report.board_name == Path(board).name
    assert report.preview is result.preview
