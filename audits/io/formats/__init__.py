"""Readers for the rostering exports K-12 information systems already make: OneRoster 1.1 and
1.2 CSV (1EdTech) and Microsoft School Data Sync v2.1 CSV, each a folder or the ``.zip`` as
exported. Each is read into the same :class:`~audits.io.loading.tables.Export` the contract's CSV reader
gives (contract tables and columns, text values, index = the row in the file it came from), so
validation and every check run unchanged.

What a format cannot carry stays out: no sibling links (a plain ``siblings.csv`` beside the
export is read when there is one; without it unlinked-siblings is skipped and says why), no
addresses, no CONNECT parent-access flag (a contact's role gives it:
``[input] portal_access_roles``). CONNECT's existing accounts come, as for a contract export,
from ``accounts.csv`` and ``account_students.csv`` beside the export.

    kind = detect(path)              # "oneroster-1.1", "oneroster-1.2", "sds-2.1" or None
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from audits.io.formats._files import ExportFiles

if TYPE_CHECKING:
    from audits.model.board import BoardSource
    from audits.model.config import InputLimits
    from audits.model.errors import ProblemCollector
    from audits.io.loading.tables import Export
    from audits.io.mapping import HeaderMapping

FORMAT_NAMES = {"oneroster-1.1": "OneRoster 1.1", "oneroster-1.2": "OneRoster 1.2",
                "sds-2.1": "School Data Sync v2.1"}
"""Each format's ``BoardSource.kind`` and the name a message gives it."""


def detect(path: str | Path) -> str | None:
    """The interchange format of the export at ``path`` (a folder, or a .zip of one), or ``None``
    for anything else (a contract export, a workbook, nothing). OneRoster says its version in
    manifest.csv (``oneroster.version``); without a manifest the file set and headers decide:
    roles.csv with ``roleType`` is OneRoster 1.2, roles.csv without it is SDS v2.1, users.csv
    with ``role`` and ``orgSourcedIds`` is OneRoster 1.1. A folder holding the contract's
    students.csv is a contract export, whatever else it holds."""
    files = ExportFiles.open(Path(path))
    if files is None:
        return None
    try:
        return _detect(files)
    finally:
        files.close()


def _detect(files: ExportFiles) -> str | None:
    if files.has("students.csv"):
        return None
    manifest = files.manifest()
    version = (manifest or {}).get("oneroster.version", "").strip()
    if version in ("1.1", "1.2"):
        return f"oneroster-{version}"
    if manifest is not None and "oneroster.version" in manifest:
        return f"oneroster-{version or '?'}"
    if not (files.has("orgs.csv") and files.has("users.csv")):
        return None
    if files.has("roles.csv"):
        return "oneroster-1.2" if "roleType" in files.header("roles.csv") else "sds-2.1"
    users = files.header("users.csv")
    if "role" in users and "orgSourcedIds" in users:
        return "oneroster-1.1"
    return None


def read(path: Path, kind: str, mapping: "HeaderMapping", problems: "ProblemCollector",
         limits: "InputLimits") -> "Export | None":
    """The export at ``path`` in format ``kind`` (what :func:`detect` said), or ``None`` after
    reporting why it cannot be read."""
    files = ExportFiles.open(path)
    if files is None:  # it was there a moment ago, when detected
        problems.add("unreadable-file", f"{path.name} cannot be read", file=path.name)
        return None
    try:
        if kind not in FORMAT_NAMES:
            problems.add("unsupported-format", f"{path.name} is a OneRoster export of version "
                         f"{kind.rpartition('-')[2]} (manifest.csv, oneroster.version); "
                         "OneRoster 1.1 and 1.2 are read: export it again as one of them",
                         file=files.label("manifest.csv"))
            return None
        if kind == "sds-2.1":
            from audits.io.formats.sds import read_sds

            return read_sds(files, mapping, problems, limits)
        from audits.io.formats.oneroster import read_oneroster

        return read_oneroster(files, kind, mapping, problems, limits)
    finally:
        files.close()


def missing_table_reason(source: "BoardSource", table: str) -> str | None:
    """Why ``table`` is not in the board (a check that needs it is skipped), or ``None`` when the
    export gave it. An interchange export lacks the tables no format carries; a contract export
    may leave out its optional ones (CONNECT's accounts and their permissions)."""
    given = (source.tables or {}).get(table)
    if given is None or given.present:
        return None
    what = _WHAT.get(table, table)
    if source.kind not in FORMAT_NAMES:
        # A contract export whose optional table (CONNECT's accounts) was left out.
        return (f"no {table} table: the export has no {given.file} ({what}); add it to the "
                "export to run this check")
    return (f"no {table} table: a {FORMAT_NAMES[source.kind]} export carries no {what}; put a "
            f"{given.file} (contract columns) beside the export to run it")


_WHAT = {"siblings": "sibling links", "accounts": "CONNECT accounts",
         "account_students": "CONNECT account permissions"}
