"""The command line as scripts and people use it: exit codes, messages, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits.cli import main


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("board") / "board"
    result = CliRunner().invoke(main, ["sample", str(out), "--students", "300", "--seed", "11"])
    assert result.exit_code == 0, result.output
    return out


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_help_on_every_command():
    for command in ([], ["audit"], ["check"], ["preview"], ["sample"], ["demo"], ["checks"],
                    ["fix"], ["fix", "plan"], ["fix", "apply"], ["fix", "undo"]):
        result = run(*command, "--help")
        assert result.exit_code == 0, command
        assert "Usage:" in result.output


def test_audit_writes_findings_json_per_the_contract(board, tmp_path):
    result = run("audit", str(board), "--out", str(tmp_path), "--format", "json", "--quiet")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert document["schema"] == "connect-audit/findings/v1"
    assert document["input"]["tables"]["students"] == 300
    assert sum(document["summary"]["by_check"].values()) == len(document["findings"])
    for finding in document["findings"]:
        assert set(finding) >= {"id", "check", "severity", "confidence", "school_ids", "title",
                                "entities", "pairs", "username", "evidence", "fix"}
        assert finding["id"].startswith(finding["check"] + ":")


def test_ids_are_stable_between_runs(board, tmp_path):
    ids = []
    for name in ("one", "two"):
        assert run("audit", str(board), "--out", str(tmp_path / name), "--format", "json",
                   "--quiet").exit_code == 0
        ids.append([f["id"] for f in json.loads((tmp_path / name / "findings.json").read_text())["findings"]])
    assert ids[0] == ids[1] and ids[0]


def test_fail_on_sets_the_exit_code(board, tmp_path):
    assert run("check", str(board), "--fail-on", "error").exit_code == 1
    assert run("check", str(board), "--fail-on", "never").exit_code == 0
    result = run("audit", str(board), "--out", str(tmp_path), "--format", "json", "--fail-on",
                 "warning", "--quiet")
    assert result.exit_code == 1


def test_unusable_input_exits_2_without_traceback(tmp_path):
    result = run("audit", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "nope" in result.output
    assert run("audit", str(tmp_path), "--format", "pdf").exit_code == 2
    assert run("audit").exit_code == 2  # usage
    assert run("audit", str(tmp_path), "--check", "no-such-check").exit_code == 2


def test_preview_lists_accounts_that_will_be_created(board, tmp_path):
    out = tmp_path / "preview.csv"
    result = run("preview", str(board), "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert "Will be created" in text
    school = text.splitlines()[1].split(",")[2]
    only = tmp_path / "one-school.csv"
    assert run("preview", str(board), "--school", school, "--out", str(only)).exit_code == 0
    assert 1 < len(only.read_text(encoding="utf-8-sig").splitlines()) <= len(text.splitlines())


def test_fix_round_trip_through_the_cli(board, tmp_path):
    assert run("audit", str(board), "--out", str(tmp_path), "--format", "json", "--quiet").exit_code == 0
    plan = tmp_path / "plan.json"
    result = run("fix", "plan", str(tmp_path / "findings.json"), "--out", str(plan),
                 "--check", "unlinked-siblings")
    assert result.exit_code == 0, result.output
    actions = json.loads(plan.read_text())["actions"]
    assert actions and {a["action"] for a in actions} == {"link-siblings"}
    dry = run("fix", "apply", str(plan), str(board), "--out", str(tmp_path / "fixed"), "--force")
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output and not (tmp_path / "fixed").exists()
    wrote = run("fix", "apply", str(plan), str(board), "--out", str(tmp_path / "fixed"), "--force",
                "--write")
    assert wrote.exit_code == 0, wrote.output
    after = tmp_path / "after"
    assert run("audit", str(tmp_path / "fixed"), "--out", str(after), "--format", "json",
               "--quiet", "--check", "unlinked-siblings").exit_code == 0
    assert json.loads((after / "findings.json").read_text())["findings"] == []
    restored = tmp_path / "restored"
    assert run("fix", "undo", str(tmp_path / "fixed"), "--out", str(restored)).exit_code == 0
    for original in board.glob("*.csv"):
        assert (restored / original.name).read_bytes() == original.read_bytes()


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "audits.cli", "--version"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and "version" in done.stdout.lower()


def test_the_console_script_exits_with_complete_outputs(board, tmp_path):
    """The console script ends its process without tearing the interpreter down
    (audits.cli.run): the exit code, the summary on stdout and every written file must still
    be complete when it does."""
    done = subprocess.run([sys.executable, "-m", "audits.cli", "audit", str(board), "--out",
                           str(tmp_path), "--fail-on", "error", "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # the sample board has errors
    assert "finding(s) in" in done.stdout and done.stdout.rstrip().endswith("index.html")
    document = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert len(document["findings"]) == int(done.stdout.split(" finding(s)")[0])
    assert (tmp_path / "audit.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    usage = subprocess.run([sys.executable, "-m", "audits.cli", "audit"], capture_output=True,
                           text=True)
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_the_console_script_runs_exit_handlers_and_survives_closed_streams(board, tmp_path):
    """Ending at once must still run the exit handlers (libraries remove temporary files
    there), and a closed stdout must not turn a clean run into exit 1 ("findings found")."""
    import os

    marker = tmp_path / "handlers-ran"
    script = ("import atexit, sys\n"
              f"atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))\n"
              "from audits.cli import run\n"
              f"sys.argv = ['connect-audit', 'check', {str(board)!r}, '--fail-on', 'never']\n"
              "run()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "OK: --fail-on never" in done.stdout and marker.read_text() == "yes"
    closed = subprocess.run([sys.executable, "-m", "audits.cli", "check", str(board),
                             "--fail-on", "never"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1))
    assert closed.returncode == 0, closed.stderr
    assert "Traceback" not in closed.stderr


def test_a_crash_exits_3_not_1(board, monkeypatch):
    """A bug must never look like "findings found" to a scheduled job."""
    import audits.api

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(audits.api, "run_audit", broken)
    result = run("check", str(board), "--fail-on", "error")
    assert result.exit_code == 3
    assert "internal error" in result.output and "Traceback" not in result.output


def test_an_unknown_school_is_a_usage_error_not_a_green_check(board, tmp_path):
    for command in (["check", str(board), "--school", "no-such-school"],
                    ["preview", str(board), "--school", "no-such-school"]):
        result = run(*command)
        assert result.exit_code == 2, command
        assert "no-such-school" in result.output and "Traceback" not in result.output
