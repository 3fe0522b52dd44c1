"""A plan is bound to the export it was made from: ``fix apply`` compares the plan's export
fingerprint with the export it is given (or, for a fixed export written by ``fix apply``, with
the export it was made from, rebuilt from its undo record), and refuses any other."""

from __future__ import annotations

from typing import Any, Mapping

from audits.model.errors import InputProblem, UserError
from fixes.export_writer import RawExport
from fixes.undo import UNDO_DIR, read_manifest


def fingerprint_of(export: RawExport) -> dict[str, Any]:
    """The fingerprint of the export as ``fix apply`` reads it, computed as the audit computes
    it (:mod:`audits.io.fingerprint`), so a plan's and an export's can be compared."""
    from audits.io.fingerprint import export_fingerprint

    return export_fingerprint(export.path, export.kind,
                              {name: table.file for name, table in export.tables.items()})


def check_bound(plan: Mapping[str, Any], export: RawExport) -> dict[str, Any]:
    """The fingerprint of the export the plan was made from, once it is known to be ``export``
    (or a fixed export written from it by a plan, unchanged since); else a ``UserError`` naming
    each table that differs. A plan acts on facts (records, links, accounts) of one export, and
    the same ids in another board name other people."""
    from audits.io.fingerprint import differences

    planned = plan.get("export")
    if not isinstance(planned, Mapping) or not planned.get("tables"):
        raise UserError(
            "The fix plan does not name the export it was made from (no \"export\" "
            "fingerprint): make it again from this export's findings.json with `connect-audit "
            "fix plan`, or download it again from the review")
    actual = fingerprint_of(export)
    found = differences(planned, actual)
    if not found:
        return dict(planned)
    lineage = _lineage(export)
    if lineage is not None and not differences(planned, lineage):
        # A fixed export this plan's export was turned into: applying the plan again finds its
        # actions already applied.
        return dict(planned)
    raise UserError(
        f"This fix plan was made from another export (or this one changed since the audit the "
        f"plan came from): the plan's export is {planned.get('export', '?')}, this one is "
        f"{actual['export']}; {len(found)} table(s) differ. Audit this export and plan again.",
        [InputProblem("plan-for-another-export", why, file=file or name)
         for name, file, why in found])


def _lineage(export: RawExport) -> Mapping[str, Any] | None:
    """For a fixed export written by ``fix apply --write`` and unchanged since, the fingerprint
    of the export it was made from, rebuilt from the bytes its undo record keeps: every file as
    it is now must match the record, and every original (kept in ``originals/`` or, for an
    unchanged file, the file itself) must hash to what the record says. So the result is the
    fingerprint of a real export whose files are here, never a value copied from the record."""
    if export.kind != "csv":
        return None
    try:
        manifest = read_manifest(export.path)
    except (UserError, OSError):
        return None
    try:
        return _original_fingerprint(export, manifest)
    except OSError:
        return None


def _original_fingerprint(export: RawExport, manifest: Mapping[str, Any]
                          ) -> Mapping[str, Any] | None:
    from audits.io.fingerprint import export_id, file_sha256

    originals: dict[str, str] = {}
    for entry in manifest["files"]:
        current = export.path / entry["path"]
        if not current.is_file() or file_sha256(current) != entry["fixed_sha256"]:
            return None
        if entry["changed"]:
            kept = export.path / UNDO_DIR / "originals" / entry["path"]
            if not kept.is_file() or file_sha256(kept) != entry["original_sha256"]:
                return None
        elif entry["original_sha256"] != entry["fixed_sha256"]:
            return None
        originals[entry["path"]] = entry["original_sha256"]
    tables = {}
    for name, table in export.tables.items():
        if table.file not in originals:
            return None
        tables[name] = {"file": table.file, "sha256": originals[table.file]}
    return {"algorithm": "sha256", "export": export_id(tables), "tables": tables}
