"""The fingerprint of a board export: which export, exactly, a finding or a fix plan is about.

Per table, the SHA-256 of the bytes it was read from (the CSV file; for a workbook, the
workbook, which holds every table). The audit records it in findings.json, the plan carries it,
and ``fix apply`` refuses a plan whose export is not the one it is given: a plan made for
another board, or for this board before someone changed it, would act on facts that are not
there. ``export`` is a short id of the whole set, shown in every output so a folder can never
pass off one board's reports as another's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

ALGORITHM = "sha256"


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def export_fingerprint(path: str | Path, kind: str, files: Mapping[str, str]) -> dict[str, Any]:
    """The fingerprint of the export at ``path`` (``kind`` ``csv`` or ``xlsx``); ``files`` maps
    each table read to its file name in the folder (ignored for a workbook)."""
    path = Path(path)
    tables: dict[str, dict[str, str]] = {}
    if kind == "xlsx":
        digest = file_sha256(path)
        tables = {name: {"file": path.name, "sha256": digest} for name in sorted(files)}
    else:
        seen: dict[str, str] = {}
        # A OneRoster or SDS .zip: its tables are ``export.zip[users.csv]``, hashed as the zip;
        # the plain CSV files read beside it are in the zip's folder.
        base = path if path.is_dir() else path.parent
        for name in sorted(files):
            file = files[name]
            if file not in seen:
                seen[file] = file_sha256(path if file.startswith(f"{path.name}[")
                                         else base / file)
            tables[name] = {"file": file, "sha256": seen[file]}
    return {"algorithm": ALGORITHM, "export": export_id(tables), "tables": tables}


def export_id(tables: Mapping[str, Mapping[str, str]]) -> str:
    """A short id of the whole export (16 hex digits), the same for the same tables."""
    lines = "".join(f"{name}\t{tables[name]['sha256']}\n" for name in sorted(tables))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()[:16]


def of_board_source(source: Any) -> dict[str, Any] | None:
    """The fingerprint of a loaded board's export (``Board.source``), or ``None`` for a board
    built in memory."""
    path = str(getattr(source, "path", "") or "")
    if not path or not Path(path).exists():
        return None
    files = {name: table.file for name, table in (source.tables or {}).items()
             if getattr(table, "present", True)}
    return export_fingerprint(path, source.kind, files)


def differences(planned: Mapping[str, Any], actual: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(table, file, why)`` for every table whose bytes differ between two fingerprints."""
    want = dict(planned.get("tables") or {})
    have = dict(actual.get("tables") or {})
    found = []
    for name in sorted(set(want) | set(have)):
        a, b = want.get(name), have.get(name)
        if a is None:
            found.append((name, b.get("file", ""), "this export has it; the plan's had none"))
        elif b is None:
            found.append((name, a.get("file", ""), "the plan's export had it; this one has none"))
        elif a.get("sha256") != b.get("sha256"):
            found.append((name, b.get("file", ""), "its content differs from the plan's export"))
    return found
