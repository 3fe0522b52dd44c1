"""Writing outputs so a reader never sees half of one: the one atomic file write and the one
folder swap every writer of connect-audit uses (the core, the fixes and the reports)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Callable, Iterable, Union

from audits.io.folders import (TOOL, claim, claimed_temporary, lock_free, mark_mine,
                               remove_stale_temporaries, run_over)

Content = Union[str, bytes, Iterable[bytes], Callable[[Path], object]]


def write_atomic(path: str | Path, content: Content, *, mode: int | None = 0o644) -> Path:
    """Write ``content`` to a temporary file beside ``path``, then rename it onto ``path``
    (atomic on one file system): never a half-written output. ``content`` is text (UTF-8),
    bytes, bytes in pieces (so a large output is never held whole), or a function called with
    the temporary path that writes it (a function that builds another file and renames it
    onto the temporary makes that file with :func:`claimed_temporary` too).

    The file gets ``mode`` (reports are shared, 0o644, whatever the umask), or with ``None``
    what the umask gives a new file (a restored export, as the SIS's own files are).

    The temporary is named for connect-audit and this process and claimed while written, so
    one left in the folder by a run killed mid-write is removed by the next write there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    handle, temp = claimed_temporary(path, 0o600 if mode is not None else 0o666)
    try:
        _fill(temp, content)
        if mode is not None:
            os.chmod(temp, mode)
        if handle >= 0:  # closed before the rename (not every system renames an open file)
            os.close(handle)
            handle = -1
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        if handle >= 0:
            os.close(handle)
    return path


def _fill(temp: Path, content: Content) -> None:
    if callable(content):
        content(temp)
        return
    with open(temp, "wb") as out:
        if isinstance(content, (str, bytes)):
            out.write(content.encode("utf-8") if isinstance(content, str) else content)
        else:
            out.writelines(content)


def replace_folder(folder: Path, write: Callable[[Path], object],
                   staging: Path | None = None) -> Path:
    """Call ``write(staging)`` on a new folder beside ``folder``, then swap it in: the old
    folder is renamed away, the new one renamed in, the old one deleted. Nothing of an earlier
    run survives, and a failed write leaves the earlier folder as it was and no staging folder.
    ``staging``, when given, is an empty folder beside ``folder`` the caller made (one a later
    run can recognise if this one is killed); else a hidden one is made, named for
    connect-audit and this process, which the next swap beside it removes if this run is
    killed (putting back an earlier folder a kill left renamed away)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover_stale_swaps(folder.parent)
    held = -1
    if staging is None:
        staging, held = _claimed_folder(folder, "new")
    try:
        try:
            write(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _swap_in(folder, staging)
    finally:
        if held >= 0:
            os.close(held)
    return folder


def _swap_in(folder: Path, staging: Path) -> None:
    old, held = None, -1
    if folder.exists() or folder.is_symlink():
        old = mark_mine(_free_name(folder, "old"))
        held = _hold(folder)  # the lock goes with it: held while it is put away
    try:
        if old is not None:
            os.replace(folder, old)
        try:
            os.replace(staging, folder)
        except BaseException:
            if old is not None:
                os.replace(old, folder)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if old is not None:
            # Renamed first: a kill while it is being deleted never leaves half of it where
            # the next swap would put it back.
            gone = mark_mine(_free_name(folder, "del"))
            os.replace(old, gone)
            _remove(gone)
    finally:
        if held >= 0:
            os.close(held)


SWAP_NAME = re.compile(rf"\.(?P<name>.+)\.{TOOL}-(?P<pid>\d+)-[0-9a-f]{{8}}\."
                       r"(?P<tag>new|old|del)")
"""A folder :func:`replace_folder` made beside its target: the new one, the earlier one put
away while the new one goes in, or the earlier one being deleted."""


def _free_name(folder: Path, tag: str) -> Path:
    """A hidden name beside ``folder``, for connect-audit and this process, nothing uses."""
    while True:
        candidate = folder.parent / (f".{folder.name}.{TOOL}-{os.getpid()}-"
                                     f"{secrets.token_hex(4)}.{tag}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate


def _open_folder(folder: Path) -> int:
    """A descriptor of the folder itself (never a link's target), or -1."""
    try:
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
                       | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return -1


def _hold(folder: Path) -> int:
    """``folder`` locked through an open descriptor (-1 where it cannot be)."""
    held = _open_folder(folder)
    if held < 0:
        return -1
    if not claim(held):
        os.close(held)
        return -1
    return held


def _claimed_folder(folder: Path, tag: str) -> tuple[Path, int]:
    """A new hidden folder beside ``folder``, made and held (see :func:`_hold`)."""
    while True:
        candidate = mark_mine(_free_name(folder, tag))
        try:
            candidate.mkdir(mode=0o755)
        except FileExistsError:
            continue
        return candidate, _hold(candidate)


def recover_stale_swaps(parent: Path) -> list[Path]:
    """What a killed :func:`replace_folder` left in ``parent`` (its run over, nobody holding
    it): an earlier folder put away goes back when its place is empty (the kill fell between
    the two renames); a new folder, or one being deleted, is removed."""
    done: list[Path] = []
    with contextlib.suppress(OSError):
        for path in sorted(Path(parent).glob(".*.*.*")):
            found = SWAP_NAME.fullmatch(path.name)
            if found is None or not run_over(int(found.group("pid")), path.name) \
                    or not _unheld(path):
                continue
            target = path.parent / found.group("name")
            with contextlib.suppress(OSError):
                if found.group("tag") == "old" and not (target.exists()
                                                        or target.is_symlink()):
                    os.replace(path, target)
                else:
                    _remove(path)
                done.append(path)
    return done


def _unheld(path: Path) -> bool:
    """A folder nobody holds (asked as its writer holds it); a link or a file, which a swap
    puts away as it is, cannot be held: it is free."""
    if path.is_symlink() or not path.is_dir():
        return True
    fd = _open_folder(path)
    if fd < 0:
        return False
    try:
        return lock_free(fd, exclusive=True)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
