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

from audits.io.folders import (TOOL, claim, claimed_temporary, lock_free, process_alive,
                               remove_stale_temporaries)

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
        os.close(handle)  # before the rename (a file held open cannot be renamed everywhere)
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
    old = None
    if folder.exists() or folder.is_symlink():
        old, _ = _claimed_folder(folder, "old", make=False)
        os.replace(folder, old)
    try:
        os.replace(staging, folder)
    except BaseException:
        if old is not None:
            os.replace(old, folder)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


SWAP_NAME = re.compile(rf"\.(?P<name>.+)\.{TOOL}-(?P<pid>\d+)-[0-9a-f]{{8}}\.(?P<tag>new|old)")
"""A folder :func:`replace_folder` made beside its target: the new one, or the one put away."""


def _claimed_folder(folder: Path, tag: str, make: bool = True) -> tuple[Path, int]:
    """A free hidden name beside ``folder`` for this process; with ``make``, the folder made
    and claimed (its open descriptor, or -1 where folders cannot be locked)."""
    while True:
        candidate = folder.parent / (f".{folder.name}.{TOOL}-{os.getpid()}-"
                                     f"{secrets.token_hex(4)}.{tag}")
        if not make:
            if not candidate.exists() and not candidate.is_symlink():
                return candidate, -1
            continue
        try:
            candidate.mkdir(mode=0o755)
        except FileExistsError:
            continue
        try:
            held = os.open(candidate, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return candidate, -1
        if not claim(held):
            os.close(held)
            held = -1
        return candidate, held


def recover_stale_swaps(parent: Path) -> list[Path]:
    """Folders a killed :func:`replace_folder` left in ``parent`` (its process gone, nobody
    holding them): a new one is removed; one put away is renamed back when its target is
    missing (the kill fell between the two renames), else removed."""
    done: list[Path] = []
    with contextlib.suppress(OSError):
        for path in sorted(Path(parent).glob(".*.*.*")):
            found = SWAP_NAME.fullmatch(path.name)
            if found is None or path.is_symlink() or not path.is_dir() \
                    or process_alive(int(found.group("pid"))) or not _unheld(path):
                continue
            target = path.parent / found.group("name")
            with contextlib.suppress(OSError):
                if found.group("tag") == "old" and not target.exists() \
                        and not target.is_symlink():
                    os.replace(path, target)
                else:
                    shutil.rmtree(path)
                done.append(path)
    return done


def _unheld(folder: Path) -> bool:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        return lock_free(fd)
    finally:
        os.close(fd)
