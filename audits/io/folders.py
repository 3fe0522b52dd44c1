"""Folders the tool writes into: locks that die with their process, whose-is-this markers,
the no-space and permission messages, and the probe that refuses a folder before any work.

Used by ``audits.io.outputs`` (an audit's ``--out`` and ``fix apply``'s staging folder)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

from audits.model.errors import UserError

try:
    import fcntl
except ImportError:  # not POSIX: no lock (a second run is not refused there)
    fcntl = None  # type: ignore[assignment]

TOOL = "connect-audit"
NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


# --------------------------------------------------------------------------------- locks

_HELD: set[int] = set()


def _close_inherited_locks() -> None:
    # A forked worker shares the lock's open file: closed in the worker, the lock belongs to
    # the audit alone, so a worker outliving a killed audit for a moment never blocks the next.
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


def try_lock(path: Path) -> int | None:
    """An open, exclusively locked descriptor of ``path`` (created if missing), or None when
    another process holds the lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    _HELD.add(fd)
    return fd


def unlock(fd: int | None) -> None:
    if fd is None:
        return
    _HELD.discard(fd)
    with contextlib.suppress(OSError):
        os.close(fd)  # closing the last descriptor releases the lock


def owner_record(purpose: str, **extra: object) -> bytes:
    return json.dumps({"tool": TOOL, "purpose": purpose, "pid": os.getpid(),
                       "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       **extra}, ensure_ascii=False).encode("utf-8")


def is_ours(marker: Path) -> bool:
    """The marker names connect-audit (a folder without one is never removed)."""
    try:
        record = json.loads(marker.read_bytes()[:10_000])
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("tool") == TOOL


# ----------------------------------------------------------------------- checks and errors

def mount_point(path: Path) -> Path:
    path = path.resolve()
    try:
        device = path.stat().st_dev
        while path.parent != path and path.parent.stat().st_dev == device:
            path = path.parent
    except OSError:
        pass
    return path


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def is_no_space(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in NO_SPACE


def no_space_error(folder: Path, needed_bytes: int) -> UserError:
    """``no space left on <disk> (needed about N MB)``: the user must free space or choose
    another folder; nothing half-written was left."""
    folder = Path(folder)
    mount = mount_point(folder if folder.exists() else folder.parent)
    free = ""
    with contextlib.suppress(OSError):
        stats = os.statvfs(mount)
        free = f", {stats.f_bavail * stats.f_frsize / 1e6:.0f} MB free"
    needed = max(1, -(-needed_bytes // 1_000_000))
    where = f"{mount}" if str(mount) == str(folder) else f"{mount} (for {folder})"
    return UserError(f"no space left on {where} (needed about {needed} MB{free}); nothing "
                     "was changed there. Free some space or choose another folder.")


def folder_problem(error: OSError, folder: Path, what: str) -> UserError:
    if is_no_space(error):
        return no_space_error(folder, 1)
    if isinstance(error, PermissionError) or error.errno in (errno.EROFS, errno.EACCES,
                                                             errno.EPERM):
        return UserError(f"{what} {folder} cannot be written to (permission denied or a "
                         "read-only disk); choose a folder you can write to")
    return UserError(f"{what} {folder} cannot be used: {error.strerror or error}")


def probe_writable(folder: Path, what: str = "--out") -> None:
    """Write a file in ``folder``: a folder that cannot take the outputs is refused before
    any work, not after the whole audit. The file has no name where the file system allows
    it (``O_TMPFILE``), so even SIGKILL leaves nothing; elsewhere it is a claimed temporary
    (:func:`claimed_temporary`), which the next run removes if this one dies with it."""
    folder = Path(folder)
    remove_stale_temporaries(folder)
    try:
        _create_probe(folder)
    except OSError as error:
        raise folder_problem(error, folder, what) from None


def _create_probe(folder: Path) -> None:
    unnamed = getattr(os, "O_TMPFILE", 0)
    if unnamed:
        try:
            fd = os.open(folder, os.O_WRONLY | unnamed | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
        else:
            try:
                os.write(fd, b"x")
            finally:
                os.close(fd)
            return
    _create_named_probe(folder)


def _create_named_probe(folder: Path) -> None:
    fd, probe = claimed_temporary(folder / "probe")
    try:
        probe.write_bytes(b"x")
    finally:
        probe.unlink(missing_ok=True)
        if fd >= 0:
            os.close(fd)


# ------------------------------------------------------- temporary files a run claims

def claim(fd: int) -> bool:
    """Lock a temporary file this run is writing (through ``fd``, kept open while it
    lives): the kernel drops the lock when the run dies, however it dies. False where there
    are no working file locks; the process id in the file's name still protects it."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # no locks on this file system (ENOLCK, EOPNOTSUPP ...)
        return False
    return True


def lock_free(fd: int, *, exclusive: bool = False) -> bool:
    """Whether nobody holds a lock on ``fd``'s file. A file is asked with a shared lock,
    which also works on a file opened for reading where locks are emulated (NFS); a folder,
    which its writer locks exclusively, is asked the same way, so where that lock cannot be
    had the folder is never taken for free. False where locks cannot be asked: a file that
    cannot be told free is treated as held."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


_MINE: set[str] = set()
"""Names of the temporaries and staging folders this process made (a name carries its pid)."""


def mark_mine(path: Path) -> Path:
    """Record that this process made ``path`` (named with its pid): see :func:`run_over`."""
    _MINE.add(Path(path).name)
    return path


def run_over(pid: int, name: str) -> bool:
    """Whether the run that made ``name`` with its process id ``pid`` is over, as far as
    this computer can tell. A name with this process's own id that it did not make is an
    earlier run's: in a container every run may have the same id."""
    if pid == os.getpid():
        return name not in _MINE
    return not process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this computer. Elsewhere than POSIX every process is
    taken to be alive (there ``os.kill`` would end it, not ask)."""
    if os.name != "posix":
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):  # a number no process id can be
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


TEMPORARY_NAME = re.compile(rf"\..+\.{TOOL}-(?P<pid>\d+)-[0-9a-f]{{8}}\.tmp")
"""The name of a temporary file connect-audit writes beside an output, and of no other."""


def claimed_temporary(path: Path, mode: int = 0o600) -> tuple[int, Path]:
    """A new temporary file beside ``path``, named for connect-audit and this process, and
    claimed: (its open descriptor, which holds the claim until closed, or -1 where files
    cannot be locked; its path). ``mode`` goes through the umask as any new file's does."""
    path = Path(path)
    while True:
        temp = mark_mine(path.with_name(f".{path.name}.{TOOL}-{os.getpid()}-"
                                        f"{secrets.token_hex(4)}.tmp"))  # before it exists
        try:
            fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         mode)
        except FileExistsError:
            continue
        if not claim(fd):  # no locks here: not held open (a rename onto it must work)
            os.close(fd)
            fd = -1
        return fd, temp


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files of connect-audit in ``folder`` left by a run that died mid-write: its
    run is over (:func:`run_over`) and nobody holds the file's lock. A file whose lock cannot
    be asked is kept, and so, without file locks (not POSIX), is every file."""
    removed: list[Path] = []
    if fcntl is None:
        return removed
    with contextlib.suppress(OSError):
        for path in sorted(Path(folder).glob(".*")):
            found = TEMPORARY_NAME.fullmatch(path.name)
            if found is None or not run_over(int(found.group("pid")), path.name) \
                    or path.is_symlink() or not path.is_file():
                continue
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                try:
                    if lock_free(fd):
                        path.unlink()
                        removed.append(path)
                finally:
                    os.close(fd)
    return removed
