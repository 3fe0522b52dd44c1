"""The audit's --out is owned and whole: one board's complete set of outputs or nothing, a lock
against a second run, a folder that cannot take the outputs refused before any work, a full
disk and signals ending with the codes the README names."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits.cli import main

OWNED = {"findings.json", "audit.html", "audit.xlsx", "runbooks"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    root = tmp_path_factory.mktemp("boards")
    made = {}
    for name, seed in (("a", 21), ("b", 22)):
        result = run("sample", root / name, "--students", "150", "--seed", seed)
        assert result.exit_code == 0, result.output
        made[name] = root / name
    return made


def export_id(out: Path) -> str:
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document["input"]["fingerprint"]["export"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_left(out: Path) -> list[str]:
    state = out / ".connect-audit"
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".connect-audit"]
    runs = [p.name for p in state.iterdir() if p.name.startswith("run-")] if state.is_dir() else []
    return hidden + runs


def no_audit(monkeypatch):
    """Any work at all (reading the export) fails the test loudly (exit 3)."""
    import audits.api

    def refuse(*args, **kwargs):
        raise AssertionError("the audit ran")

    monkeypatch.setattr(audits.api, "load_board", refuse)


# --- one board per folder ------------------------------------------------------------------

def test_format_json_over_an_older_run_leaves_one_board_and_the_users_files(boards, tmp_path):
    out = tmp_path / "reports"
    assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
    assert {p.name for p in out.iterdir()} >= OWNED
    (out / "notes.txt").write_text("the analyst's own notes")
    (out / "mine").mkdir()
    (out / "mine" / "keep.csv").write_text("x")
    result = run("audit", boards["b"], "--out", out, "--format", "json", "--quiet")
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"findings.json", "notes.txt", "mine",
                                               ".connect-audit"}
    assert (out / "notes.txt").read_text() == "the analyst's own notes"
    assert (out / "mine" / "keep.csv").read_text() == "x"
    assert export_id(out) != ""
    assert not staging_left(out)


def test_outputs_of_an_earlier_version_without_a_manifest_are_recognised(boards, tmp_path):
    import shutil

    out = tmp_path / "reports"
    assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
    shutil.rmtree(out / ".connect-audit")  # as an earlier version left the folder
    (out / ".runbooks.new-0123abcd").mkdir()  # and its leftover staging, with family data
    (out / ".runbooks.new-0123abcd" / "0001.html").write_text("<p>family</p>")
    result = run("audit", boards["b"], "--out", out, "--format", "json", "--quiet")
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"findings.json", ".connect-audit"}


def test_every_output_names_the_export_it_was_made_from(boards, tmp_path):
    ids = {}
    for name in ("a", "b"):
        out = tmp_path / name
        assert run("audit", boards[name], "--out", out, "--quiet").exit_code == 0
        ids[name] = export = export_id(out)
        assert len(export) == 16
        assert f"export {export}" in (out / "audit.html").read_text(encoding="utf-8")
        assert f"export {export}" in (out / "runbooks" / "index.html").read_text(encoding="utf-8")
        page = next(p for p in (out / "runbooks").glob("*.md"))
        assert f"export {export}" in page.read_text(encoding="utf-8")
        with zipfile.ZipFile(out / "audit.xlsx") as book:
            strings = book.read("xl/sharedStrings.xml").decode("utf-8") \
                if "xl/sharedStrings.xml" in book.namelist() else ""
            sheets = "".join(book.read(n).decode("utf-8") for n in book.namelist()
                             if n.startswith("xl/worksheets/"))
        assert f"export {export}" in strings + sheets
        manifest = json.loads((out / ".connect-audit" / "manifest.json").read_text())
        assert manifest["export_id"] == export and set(manifest["entries"]) == OWNED
    assert ids["a"] != ids["b"]


# --- a second run, a folder that cannot take the outputs -----------------------------------

def test_a_second_run_on_the_same_out_is_refused_with_exit_2(boards, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
    before = snapshot(out)
    # Another run holds the lock (its own open file: flock is per open file, so this is the
    # same as another process holding it).
    holder = open(out / ".connect-audit" / "lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        no_audit(monkeypatch)
        result = run("audit", boards["b"], "--out", out, "--quiet")
        assert result.exit_code == 2, result.output
        assert "another connect-audit run is writing into" in result.output
        assert "Traceback" not in result.output
    finally:
        holder.close()
    assert snapshot(out) == before


def test_out_that_is_a_file_is_refused_before_any_work(boards, tmp_path, monkeypatch):
    target = tmp_path / "report.txt"
    target.write_text("not a folder")
    no_audit(monkeypatch)
    result = run("audit", boards["a"], "--out", target, "--quiet")
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in result.output
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize("where", ["equal", "inside"])
def test_out_in_the_export_is_refused_before_any_work(boards, tmp_path, monkeypatch, where):
    import shutil

    board = shutil.copytree(boards["a"], tmp_path / "export")
    before = snapshot(board)
    no_audit(monkeypatch)
    out = board if where == "equal" else board / "reports"
    result = run("audit", board, "--out", out, "--quiet")
    assert result.exit_code == 2, result.output
    assert "is the export" in result.output
    assert snapshot(board) == before and not (board / "reports").exists()


def test_a_read_only_out_is_refused_before_any_work(boards, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    out.chmod(0o555)
    try:
        if os.geteuid() == 0:
            # root writes into any folder: the file system's refusal is what is simulated.
            import audits.io.folders

            def read_only(path):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))

            monkeypatch.setattr(audits.io.folders, "_create_probe", read_only)
        no_audit(monkeypatch)
        result = run("audit", boards["a"], "--out", out, "--quiet")
    finally:
        out.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert "cannot be written to" in result.output and "Traceback" not in result.output
    assert list(out.iterdir()) == []


# --- a full disk ----------------------------------------------------------------------------

def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("writer", ["workbook", "runbooks", "findings"])
def test_a_full_disk_is_exit_2_and_leaves_the_previous_set(boards, tmp_path, monkeypatch,
                                                            writer):
    out = tmp_path / "reports"
    assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
    before = snapshot(out)
    if writer == "workbook":
        import reports.workbook

        def half_then_full(report, path):
            Path(path).write_bytes(b"PK" * 50_000)  # part of the file made it to disk
            _disk_full()

        monkeypatch.setattr(reports.workbook, "write_workbook", half_then_full)
        args = ()
    elif writer == "runbooks":
        import reports.runbooks

        # The runbooks are written by a forked worker: its error must come back as itself.
        monkeypatch.setattr(reports.runbooks, "_write", _disk_full)
        args = ()
    else:
        import audits.api

        def half_then_full(document):
            yield b"{" * 100_000
            _disk_full()

        monkeypatch.setattr(audits.api, "findings_json_chunks", half_then_full)
        args = ("--format", "json")
    result = run("audit", boards["b"], "--out", out, "--quiet", *args)
    assert result.exit_code == 2, result.output
    assert "no space left on" in result.output and "needed about" in result.output
    assert " MB" in result.output and "Traceback" not in result.output
    assert snapshot(out) == before
    assert not staging_left(out)


# --- stale staging ---------------------------------------------------------------------------

def test_stale_staging_of_a_killed_run_is_removed_only_when_ours(boards, tmp_path):
    out = tmp_path / "reports"
    assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
    state = out / ".connect-audit"
    ours = state / "run-999999-0badf00d"
    (ours / "runbooks").mkdir(parents=True)
    (ours / "owner.json").write_text(json.dumps({"tool": "connect-audit", "pid": 999999}))
    (ours / "findings.json").write_text("{}")
    foreign = state / "run-someone-else"
    foreign.mkdir()
    (foreign / "theirs.txt").write_text("not connect-audit's")
    assert run("audit", boards["b"], "--out", out, "--quiet").exit_code == 0
    assert not ours.exists()
    assert (foreign / "theirs.txt").read_text() == "not connect-audit's"


def test_a_probe_left_by_a_killed_run_is_removed_and_a_live_one_kept(boards, tmp_path,
                                                                      dead_pid):
    out = tmp_path / "reports"
    out.mkdir()
    dead = out / f".probe.connect-audit-{dead_pid}-0badf00d.tmp"
    dead.write_bytes(b"x")
    live = out / ".probe.connect-audit-1-feedf00d.tmp"
    live.write_bytes(b"x")
    mine = out / ".probe.notes.tmp"  # not a probe's name: the user's
    mine.write_text("theirs")
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # the run writing it is still going
    try:
        assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
        assert not dead.exists() and live.exists() and mine.read_text() == "theirs"
    finally:
        os.close(holder)


@pytest.mark.parametrize("refusal", [None, errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL])
def test_the_probe_leaves_no_name_behind_even_when_the_file_system_wants_one(
        tmp_path, monkeypatch, refusal):
    """Unnamed where the file system allows it; where it refuses an unnamed file (a network
    share, an old kernel) or the platform has none, named, locked while it lives, removed."""
    import audits.io.folders as folders

    folders.probe_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []
    unnamed = getattr(os, "O_TMPFILE", 0)
    if refusal is None:
        monkeypatch.delattr(folders.os, "O_TMPFILE", raising=False)
    elif unnamed:
        real_open = os.open

        def refusing(path, flags, *args, **kwargs):
            if flags & unnamed == unnamed:
                raise OSError(refusal, os.strerror(refusal))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(folders.os, "open", refusing)
    seen = []
    real = folders._create_named_probe

    def named(probe):
        seen.append(probe)
        real(probe)

    monkeypatch.setattr(folders, "_create_named_probe", named)
    held = []
    real_claim = folders.claim
    monkeypatch.setattr(folders, "claim", lambda fd: held.append(real_claim(fd)) or held[-1])
    folders.probe_writable(tmp_path)
    assert len(seen) == 1 and held == [True] and list(tmp_path.iterdir()) == []
    with pytest.raises(OSError):  # any other refusal is the folder's problem, said as such
        folders._create_probe(tmp_path / "missing")


def test_a_swap_cut_short_is_finished_by_the_next_run(boards, tmp_path, monkeypatch):
    """Killed between the renames of the swap: the staged set was complete; the next start
    finishes the swap instead of leaving a mix of two boards."""
    import audits.io.outputs

    out = tmp_path / "reports"
    assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
    real = os.replace
    calls = []

    def dies_after_two(source, target):
        if Path(target).parent == out:
            calls.append(target)
            if len(calls) > 2:
                raise SystemExit("killed")  # nothing after this line runs, as with SIGKILL
        return real(source, target)

    monkeypatch.setattr(audits.io.outputs.os, "replace", dies_after_two)
    monkeypatch.setattr(audits.io.outputs.shutil, "rmtree", lambda *a, **k: None)
    run("audit", boards["b"], "--out", out, "--quiet")
    monkeypatch.undo()
    outputs = audits.io.outputs.OutputFolder(out, export=boards["b"])
    with outputs:
        pass  # the next start: the swap is finished, the staging removed
    assert {p.name for p in out.iterdir()} == OWNED | {".connect-audit"}
    ids = {export_id(out)}
    ids |= {line.split("export ", 1)[1][:16] for line in
            (out / "audit.html").read_text(encoding="utf-8").splitlines() if "export " in line
            and "Generated" in line}
    assert len(ids) == 1
    assert not staging_left(out)


# --- signals -------------------------------------------------------------------------------

SIGNALLED = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal
    import reports.workbook
    flag = Path(sys.argv[1])
    def slow_workbook(report, path):
        Path(path).write_bytes(b"PK" * 1000)
        flag.write_text("writing")
        time.sleep(120)
    reports.workbook.write_workbook = slow_workbook
    from audits.cli import run
    sys.argv = ["connect-audit", "audit", *sys.argv[2:]]
    run()
""")


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            alive.append(int(entry.name))
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_writing_exits_130_or_143_and_leaves_the_previous_set(
        boards, tmp_path, signum, code):
    out = tmp_path / "reports"
    assert run("audit", boards["a"], "--out", out, "--quiet").exit_code == 0
    before = snapshot(out)
    flag = tmp_path / "writing"
    env = {**os.environ, "CONNECT_AUDIT_WORKERS": "2"}
    process = subprocess.Popen(
        [sys.executable, "-c", SIGNALLED, str(flag), str(boards["b"]), "--out", str(out),
         "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True, cwd=Path(__file__).parent.parent)
    try:
        for _ in range(1200):  # bounded: the report step is reached within a minute or two
            if flag.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert flag.exists(), process.communicate(timeout=60)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    for _ in range(100):  # the runbooks worker must end with it
        if not _group_alive(process.pid):
            break
        time.sleep(0.1)
    assert not _group_alive(process.pid)
    assert snapshot(out) == before
    assert not staging_left(out)


# --- fix apply --write ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def plan(boards, tmp_path_factory):
    root = tmp_path_factory.mktemp("plan")
    assert run("audit", boards["a"], "--out", root, "--format", "json", "--quiet").exit_code == 0
    assert run("fix", "plan", root / "findings.json", "--out", root / "plan.json").exit_code == 0
    return root / "plan.json"


def apply(plan, board, out):
    return run("fix", "apply", plan, board, "--out", out, "--write", "--force", "--apply-rest")


def test_fix_apply_removes_a_killed_runs_staging_only_when_it_is_ours(boards, plan, tmp_path,
                                                                     dead_pid):
    def staged(name, owner):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "contacts.csv").write_text("contact_id,first_name\nC1,Jennifer\n")
        if owner is not None:
            (tmp_path / f"{name}.owner").write_text(json.dumps(owner))
        return folder

    dead = staged(f".fix-{dead_pid}-0badf00d", {"tool": "connect-audit", "pid": dead_pid})
    foreign = staged(f".fix-{dead_pid}-00c0ffee", {"tool": "another-tool"})
    unmarked = staged(".fix-abc12345", None)
    alive = staged(".fix-777777-0000beef", {"tool": "connect-audit", "pid": 777777})
    holder = open(tmp_path / ".fix-777777-0000beef.owner", "a")  # noqa: SIM115 - a live run
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        result = apply(plan, boards["a"], tmp_path / "fixed")
    finally:
        holder.close()
    assert result.exit_code == 0, result.output
    assert not dead.exists() and not (tmp_path / f".fix-{dead_pid}-0badf00d.owner").exists()
    assert foreign.exists() and unmarked.exists() and alive.exists()
    assert (tmp_path / "fixed" / "changes.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".owner")
                and "0badf00d" in p.name]


def test_fix_undo_stages_like_apply_and_removes_what_a_killed_run_left(boards, plan,
                                                                       tmp_path, dead_pid):
    fixed = tmp_path / "work" / "fixed"
    assert apply(plan, boards["a"], fixed).exit_code == 0
    restored = tmp_path / "restored"
    dead = restored.parent / f".fix-{dead_pid}-0badf00d"  # an undo killed before its swap
    (dead / "contacts.csv").parent.mkdir()
    (dead / "contacts.csv").write_text("contact_id\nC1\n")
    dead.with_name(dead.name + ".owner").write_text(json.dumps({"tool": "connect-audit"}))
    swaps = []
    import audits.io.files as files
    real = files.replace_folder

    def watched(folder, write, staging=None):
        swaps.append(staging)
        return real(folder, write, staging)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("fixes.undo.replace_folder", watched)
        result = run("fix", "undo", fixed, "--out", restored)
    assert result.exit_code == 0, result.output
    assert not dead.exists() and not dead.with_name(dead.name + ".owner").exists()
    assert len(swaps) == 1 and swaps[0] is not None and swaps[0].name.startswith(".fix-")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in restored.iterdir()) == sorted(
        p.name for p in boards["a"].iterdir())


def test_fix_apply_on_a_full_disk_is_exit_2_and_leaves_nothing(boards, plan, tmp_path,
                                                               monkeypatch):
    import fixes.apply

    real = fixes.apply.write_export

    def fills_the_disk(export, edits, folder):
        real(export, edits, folder)  # the copy is on disk, then the undo record does not fit
        _disk_full()

    monkeypatch.setattr(fixes.apply, "write_export", fills_the_disk)
    before = snapshot(boards["a"])
    result = apply(plan, boards["a"], tmp_path / "fixed")
    assert result.exit_code == 2, result.output
    assert "no space left on" in result.output and "needed about" in result.output
    assert list(tmp_path.iterdir()) == []
    assert snapshot(boards["a"]) == before
