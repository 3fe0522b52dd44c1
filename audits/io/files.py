"""Writing outputs so a reader never sees half of one: the one atomic file write and the one
folder swap every writer of connect-audit uses (the core, the fixes and the reports)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Union

from audits.io.folders import claim, remove_unclaimed

Content = Union[str, bytes, Iterable[bytes], Callable[[Path], object]]


def write_atomic(path: str | Path, content: Content) -> Path:
    """Write ``content`` to a temporary file beside ``path``, then rename it onto ``path``
    (atomic on one file system): never a half-written output. ``content`` is text (UTF-8),
    bytes, bytes in pieces (so a large output is never held whole), or a function called with
    the temporary path that writes it.

    The temporary file is claimed (locked) while it is written, so one left by a run killed
    mid-write is recognised and removed by the next write of the same file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_unclaimed(path.parent, f".{path.name}.", _temporary_name(path.name))
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        if not claim(handle):  # no file locks: the file is not held open while written
            os.close(handle)
            handle = -1
        _fill(temp, content)
        os.chmod(temp, 0o644)  # mkstemp makes it owner-only; outputs are shared like reports
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        if handle >= 0:
            os.close(handle)
    return path


def _temporary_name(name: str) -> "re.Pattern[str]":
    """The names ``tempfile.mkstemp`` gives ``write_atomic``'s temporaries of ``name``."""
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


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
    run can recognise if this one is killed); else a hidden one is made."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    if staging is None:
        staging = _free_name(folder, "new")
        staging.mkdir(mode=0o755)
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if folder.exists() or folder.is_symlink():
        old = _free_name(folder, "old")
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
    return folder


def _free_name(folder: Path, tag: str) -> Path:
    """A name beside ``folder`` that nothing uses yet (hidden, so no reader picks it up)."""
    while True:
        candidate = folder.parent / f".{folder.name}.{tag}-{secrets.token_hex(4)}"
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
