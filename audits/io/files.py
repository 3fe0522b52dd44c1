"""Writing outputs so a reader never sees half of one: the one atomic file write and the one
folder swap every writer of connect-audit uses (the core, the fixes and the reports)."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Callable, Iterable, Union

from audits.io.folders import claimed_temporary, remove_stale_temporaries

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
