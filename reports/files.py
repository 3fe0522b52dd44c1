"""Writing an output file so a reader never sees half of it: a temporary file in the same
folder, then ``os.replace`` (atomic on one file system)."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temp_path)``, then move the finished file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomically(path: Path, text: str) -> Path:
    return write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def replace_folder(folder: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(staging)`` on a new folder beside ``folder``, then swap it in: the old
    folder is renamed away, the new one renamed in, the old one deleted. Nothing of an earlier
    run survives, and a failed write leaves the earlier folder as it was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
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
