"""Arguments that name a file the tool wrote earlier, given as the file or its folder."""

from __future__ import annotations

from pathlib import Path

from audits.model.errors import UserError


def file_or_folder(path: str | Path, name: str, *, what: str, hint: str) -> Path:
    """``path`` itself, or ``path/name`` when ``path`` is a folder holding it; otherwise a
    :class:`UserError` naming ``what`` was expected and ``hint`` (which file to give)."""
    path = Path(path)
    if path.is_dir():
        inside = path / name
        if inside.is_file():
            return inside
        raise UserError(f"The {what} {path} is a folder with no {name} in it: {hint}")
    if not path.exists():
        raise UserError(f"The {what} {path} does not exist")
    return path
