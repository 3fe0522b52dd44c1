"""The one atomic write, the one folder swap and the one CSV-cell rule, tested directly."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audits.io.cells import csv_cell, csv_cells, undefused
from audits.io.files import replace_folder, write_atomic

ROOT = Path(__file__).resolve().parents[1]


class Boom(Exception):
    pass


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("content", ["text é", b"bytes", [b"in ", b"pieces"]])
def test_write_atomic_writes_text_bytes_and_pieces(tmp_path, content):
    path = write_atomic(tmp_path / "sub" / "out.txt", content)
    expected = content.encode() if isinstance(content, str) else b"".join(
        [content] if isinstance(content, bytes) else content)
    assert path.read_bytes() == expected
    assert _leftovers(path.parent) == []


def test_a_failed_write_atomic_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def write(temp):
        temp.write_text("half")
        raise Boom

    with pytest.raises(Boom):
        write_atomic(path, write)
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == []


_WRITER = """
import sys, time
from pathlib import Path
from audits.io.files import write_atomic

def write(temp):
    temp.write_text("half")
    Path(sys.argv[2]).write_text("ready")
    time.sleep(600)

write_atomic(Path(sys.argv[1]), write)
"""


def _writer_mid_write(path, ready):
    """A process stopped in the middle of ``write_atomic(path)``, its temporary written."""
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(ready)],
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 120  # a bound on a hang, not a speed limit
    while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if not ready.exists():
        child.kill()
        child.wait()
        raise AssertionError("the writer did not start")
    ready.unlink()
    return child


def test_a_temporary_left_by_a_killed_write_is_removed_by_the_next_write(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old")
    child = _writer_mid_write(path, tmp_path / "ready")
    try:
        live = _leftovers(tmp_path)
        assert len(live) == 1 and live[0].startswith(".plan.json.")
        write_atomic(path, "while it writes")  # its temporary is claimed: kept
        assert _leftovers(tmp_path) == live and path.read_text() == "while it writes"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert _leftovers(tmp_path) == live  # what SIGKILL leaves
    users = [".plan.json.notes.tmp", ".plan.json.original.tmp"]  # not a temporary's name
    for name in users:
        (tmp_path / name).write_text("the user's")
    write_atomic(tmp_path / "another.json", "new")  # any write in the folder tidies it
    assert _leftovers(tmp_path) == sorted(users)


def test_a_write_renamed_onto_a_temporary_is_not_taken_for_a_leftover(tmp_path):
    """The workbook is built as a second file renamed onto write_atomic's temporary: the
    temporary, no longer the file locked, must survive another write in the folder."""
    from audits.io.folders import claimed_temporary

    path = tmp_path / "audit.xlsx"

    def rebuilt(temp):
        temp.write_bytes(b"first")
        handle, other = claimed_temporary(temp)
        other.write_bytes(b"rebuilt")
        os.close(handle)
        os.replace(other, temp)
        write_atomic(tmp_path / "findings.json", "{}")  # tidies the folder meanwhile
        assert temp.read_bytes() == b"rebuilt"

    write_atomic(path, rebuilt)
    assert path.read_bytes() == b"rebuilt" and _leftovers(tmp_path) == []


def test_without_working_file_locks_writes_and_probes_still_work(tmp_path, monkeypatch,
                                                                 dead_pid):
    import errno
    import fcntl

    import audits.io.folders as folders

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    monkeypatch.setattr(folders, "_create_probe",
                        lambda folder: folders._create_named_probe(folder))
    folders.probe_writable(tmp_path)
    write_atomic(tmp_path / "plan.json", "{}")
    dead = f".plan.json.connect-audit-{dead_pid}-0badf00d.tmp"
    (tmp_path / dead).write_text("dead, but its lock cannot be asked")
    write_atomic(tmp_path / "plan.json", "{}")
    assert _leftovers(tmp_path) == [dead]


def test_a_write_keeps_the_mode_it_is_asked_for(tmp_path):
    old = os.umask(0o077)
    try:
        shared = write_atomic(tmp_path / "report.html", "x")
        private = write_atomic(tmp_path / "students.csv", "x", mode=None)
    finally:
        os.umask(old)
    assert shared.stat().st_mode & 0o777 == 0o644
    assert private.stat().st_mode & 0o777 == 0o600


def test_replace_folder_swaps_the_whole_folder(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "stale.txt").write_text("earlier run")
    replace_folder(folder, lambda staging: (staging / "new.txt").write_text("new"))
    assert sorted(p.name for p in folder.iterdir()) == ["new.txt"]
    assert _leftovers(tmp_path) == []


def test_a_failed_replace_folder_leaves_the_old_folder_and_no_staging(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "kept.txt").write_text("earlier run")

    def write(staging):
        (staging / "half.txt").write_text("half")
        raise Boom

    with pytest.raises(Boom):
        replace_folder(folder, write)
    assert [p.name for p in folder.iterdir()] == ["kept.txt"]
    assert _leftovers(tmp_path) == []


def test_replace_folder_uses_the_staging_folder_it_is_given(tmp_path):
    staging = tmp_path / ".mine"
    staging.mkdir()
    replace_folder(tmp_path / "out", lambda folder: (folder / "a").write_text(str(folder)),
                   staging=staging)
    assert (tmp_path / "out" / "a").read_text() == str(staging)
    assert not staging.exists()


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("  =1", "'  =1"), ("\uff1d1", "'\uff1d1"),
    ("'=1", "''=1"), ("Jo", "Jo"), ("a=b", "a=b"), ("", ""),
    ("x\u202ey", "x\u27e8U+202E\u27e9y"),
])
def test_the_csv_cell_rule(value, cell):
    assert csv_cell(value) == cell
    assert csv_cells([value]) == [cell]
    if "\u27e8" not in cell:
        assert undefused(cell) == value


def test_every_csv_writer_uses_the_rule(tmp_path):
    import pandas as pd

    from audits.preview import preview_to_csv
    from fixes.apply import _csv_bytes

    rows = list(csv.reader(io.StringIO(_csv_bytes(("=h",), [["=1"]]).decode("utf-8-sig"))))
    assert rows == [["'=h"], ["'=1"]]
    path = preview_to_csv(pd.DataFrame({"=h": ["=1"]}), tmp_path / "preview.csv")
    assert list(csv.reader(io.StringIO(path.read_text("utf-8-sig")))) == [["'=h"], ["'=1"]]


_SWAPPER = """
import sys, time
from pathlib import Path
from audits.io.files import replace_folder

def write(staging):
    (staging / "index.html").write_text("half")
    Path(sys.argv[2]).write_text("ready")
    time.sleep(600)

replace_folder(Path(sys.argv[1]), write)
"""


def test_what_a_killed_folder_swap_left_is_removed_or_put_back_by_the_next(tmp_path, dead_pid):
    folder = tmp_path / "runbooks"
    replace_folder(folder, lambda staging: (staging / "index.html").write_text("first"))
    ready = tmp_path / "ready"
    child = subprocess.Popen([sys.executable, "-c", _SWAPPER, str(folder), str(ready)],
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120  # a bound on a hang, not a speed limit
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists(), "the swapper did not start"
        (staged,) = _leftovers(tmp_path)
        assert staged.startswith(".runbooks.connect-audit-") and staged.endswith(".new")
        replace_folder(tmp_path / "other", lambda s: None)  # alive: its folder is kept
        assert _leftovers(tmp_path) == [staged]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # A kill between the two renames: the earlier folder is put away, none in its place.
    os.replace(folder, tmp_path / f".runbooks.connect-audit-{dead_pid}-0badf00d.old")
    (tmp_path / ".runbooks.new-by-hand").mkdir()  # not a swap's name: the user's
    half = tmp_path / f".findings.connect-audit-{dead_pid}-00c0ffee.del"  # killed deleting
    (half / "part").mkdir(parents=True)
    (tmp_path / "findings").mkdir()
    replace_folder(tmp_path / "other", lambda s: None)
    assert _leftovers(tmp_path) == [".runbooks.new-by-hand"]
    assert (folder / "index.html").read_text() == "first"
    # A target gone as well does not bring back a folder that was being deleted.
    (tmp_path / "findings").rmdir()
    (half / "part").mkdir(parents=True)
    replace_folder(tmp_path / "other", lambda s: None)
    assert not (tmp_path / "findings").exists() and _leftovers(tmp_path) == [
        ".runbooks.new-by-hand"]


def test_a_leftover_with_this_process_id_is_an_earlier_runs_and_its_lock_decides(tmp_path):
    """In a container every run may have the same process id: a name with this process's
    id that it did not make is a killed earlier run's, kept only while its lock is held."""
    import fcntl

    name = f".plan.json.connect-audit-{os.getpid()}-0badf00d.tmp"
    (tmp_path / name).write_text("an earlier run's")
    folder = tmp_path / f".runbooks.connect-audit-{os.getpid()}-0badf00d.new"
    folder.mkdir()
    holders = [os.open(tmp_path / name, os.O_RDWR), os.open(folder, os.O_RDONLY)]
    try:
        for fd in holders:
            fcntl.flock(fd, fcntl.LOCK_EX)
        write_atomic(tmp_path / "plan.json", "{}")
        replace_folder(tmp_path / "runbooks", lambda s: None)
        assert _leftovers(tmp_path) == sorted([name, folder.name])
    finally:
        for fd in holders:
            os.close(fd)
    write_atomic(tmp_path / "plan.json", "{}")
    replace_folder(tmp_path / "runbooks", lambda s: None)
    assert _leftovers(tmp_path) == []
