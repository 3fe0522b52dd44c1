"""Take a fix back: rebuild the original export from a fixed one and its undo record.

``apply --write`` keeps, in ``FIXED/.connect-audit-undo/``, the original bytes of every file it
changed and a manifest with the sha256 of every file before and after. Undo copies the
untouched files, puts the originals back, and checks every restored file against its original
sha256, so the result is the export as it was, byte for byte.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from audits.io.files import replace_folder, write_atomic
from audits.io.outputs import FIX_PREFIX, StagingClaim, remove_stale_fix_staging
from audits.model.errors import UserError

UNDO_DIR = ".connect-audit-undo"
UNDO_SCHEMA = "connect-audit/fix-undo/v1"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()



def _manifest_schema() -> dict:
    from audits.io.documents import FINGERPRINT, SHA256, strings, text

    # A path of the export, relative and inside it: no root, no drive, no "..", no backslash.
    relative = {"type": "string", "minLength": 1, "maxLength": 1000,
                "pattern": r"^(?![/~])(?![A-Za-z]:)(?!.*(^|/)\.\.(/|$))[^\\\x00]+$"}
    return {
        "type": "object", "required": ["schema", "kind", "files"],
        "properties": {
            "schema": {"const": UNDO_SCHEMA},
            "source": text(4096),
            "kind": {"enum": ["csv", "xlsx"]},
            "files": {"type": "array", "minItems": 1, "maxItems": 100_000, "items": {
                "type": "object",
                "required": ["path", "original_sha256", "fixed_sha256", "changed"],
                "properties": {"path": relative, "original_sha256": SHA256,
                               "fixed_sha256": SHA256, "changed": {"type": "boolean"}}}},
            "artifacts": strings(100, text(200)),
            "applied": strings(10_000_000, text(200)),
            # Both optional: a manifest written before plans named their reviewer has neither.
            "reviewer": text(200),
            "rejected": strings(10_000_000, text(200)),
            "source_fingerprint": {"anyOf": [FINGERPRINT, {"type": "null"}]}}}


MANIFEST_SCHEMA = _manifest_schema()


def read_manifest(fixed: Path) -> dict:
    """The undo record of the fixed export at ``fixed``, checked against
    :data:`MANIFEST_SCHEMA`; every path it names must lie inside ``fixed``."""
    from audits.io.documents import read_document

    fixed = Path(fixed)
    manifest = read_document(
        fixed / UNDO_DIR / "manifest.json", what="undo record", schema=MANIFEST_SCHEMA,
        max_bytes=64 * 1024 ** 2,
        missing=f"{fixed} has no undo record ({UNDO_DIR}/manifest.json); only a folder "
                "written by `fix apply --write` can be undone",
        kind=("undo record", UNDO_SCHEMA))
    root = fixed.resolve()
    for entry in manifest["files"]:
        for place in (fixed / entry["path"], fixed / UNDO_DIR / "originals" / entry["path"]):
            resolved = place.resolve()
            if resolved != root and root not in resolved.parents:
                raise UserError(f"The undo record in {fixed} names {entry['path']!r}, which is "
                                "outside the fixed export; it was edited and cannot be used")
    return manifest


def undo(fixed_path, out_path) -> Path:
    """:func:`restore`, with what the file system refuses (a folder where a file was kept, a
    name too long, ``--out`` under a file) said plainly: exit 2, never a crash."""
    try:
        return restore(fixed_path, out_path)
    except OSError as error:
        where = f" ({Path(error.filename).name})" if error.filename else ""
        raise UserError(f"The fixed export {fixed_path} cannot be undone to {out_path}: "
                        f"{error.strerror or error}{where}") from None


def restore(fixed_path, out_path) -> Path:
    """The original export rebuilt from the fixed export at ``fixed_path``, written to the new
    ``out_path``: a folder for a CSV export; for a workbook, ``out_path`` itself when it ends in
    ``.xlsx``, else the workbook under the folder ``out_path``. Returns what was written."""
    fixed, out = Path(fixed_path), Path(out_path)
    manifest = read_manifest(fixed)
    if out.exists():
        raise UserError(f"{out} already exists; choose a new place for the restored export")
    if out.parent.is_dir():
        remove_stale_fix_staging(out.parent)  # what a killed apply or undo left there
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
        return write_atomic(out, data, mode=None)  # as the SIS's own files: the umask's
    return _write_restored(out, restored)


def _write_restored(out: Path, restored: dict[str, bytes]) -> Path:
    """The restored export swapped in whole; its staging folder is claimed like apply's, so
    a killed undo leaves nothing the next run does not remove."""
    out.parent.mkdir(parents=True, exist_ok=True)
    claim = StagingClaim(out.parent, FIX_PREFIX, "fix undo staging", out)
    try:
        return replace_folder(out, lambda staging: _write_files(staging, restored),
                              staging=claim.path)
    finally:
        claim.release()


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
