"""Take a fix back: rebuild the original export from a fixed one and its undo record.

``apply --write`` keeps, in ``FIXED/.connect-audit-undo/``, the original bytes of every file it
changed and a manifest with the sha256 of every file before and after. Undo copies the
untouched files, puts the originals back, and checks every restored file against its original
sha256, so the result is the export as it was, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from audits.errors import UserError
from fixes.apply import UNDO_DIR, UNDO_SCHEMA, sha256


def read_manifest(fixed: Path) -> dict:
    path = fixed / UNDO_DIR / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{fixed} has no undo record ({UNDO_DIR}/manifest.json); only a folder "
                        "written by `fix apply --write` can be undone") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"The undo record in {fixed} is damaged: {error}") from None
    if manifest.get("schema") != UNDO_SCHEMA or not isinstance(manifest.get("files"), list):
        raise UserError(f"The undo record in {fixed} is not a {UNDO_SCHEMA} manifest")
    return manifest


def undo(fixed_path, out_path) -> Path:
    """The original export rebuilt from the fixed export at ``fixed_path``, written to the new
    ``out_path``: a folder for a CSV export; for a workbook, ``out_path`` itself when it ends in
    ``.xlsx``, else the workbook under the folder ``out_path``. Returns what was written."""
    fixed, out = Path(fixed_path), Path(out_path)
    manifest = read_manifest(fixed)
    if out.exists():
        raise UserError(f"{out} already exists; choose a new place for the restored export")
    originals = fixed / UNDO_DIR / "originals"
    restored: dict[str, bytes] = {}
    edited: list[str] = []
    for entry in manifest["files"]:
        relative = entry["path"]
        current = fixed / relative
        if not current.is_file() or sha256(current.read_bytes()) != entry["fixed_sha256"]:
            edited.append(relative)
            continue
        source = originals / relative if entry["changed"] else current
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise UserError(f"{source} is missing; the fixed export cannot be undone") from None
        if sha256(data) != entry["original_sha256"]:
            raise UserError(f"The undo record's copy of {relative} does not match the original")
        restored[relative] = data
    if edited:
        # Restoring would silently drop whatever was changed in the fixed copy since.
        raise UserError("Files of the fixed export changed after the fix was applied: "
                        + ", ".join(edited) + "; undo would lose those changes")
    if manifest["kind"] == "xlsx" and len(restored) == 1 and out.suffix.lower() in (".xlsx", ".xlsm"):
        (name, data), = restored.items()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".undo-", dir=out.parent))
    try:
        for relative, data in restored.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
