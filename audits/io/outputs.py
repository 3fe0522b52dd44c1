"""The folders connect-audit writes into are its own and whole.

An audit's outputs (``findings.json``, ``audit.html``, ``audit.xlsx``, ``runbooks/``) are written
into a hidden staging folder inside ``--out`` and swapped in together at the end, so a run that
is interrupted, killed or out of disk leaves the previous complete set (or nothing). ``--out``
stays the folder the user named and may hold files of their own: the tool replaces only the
*owned set*, the outputs its manifest lists (``--out/.connect-audit/manifest.json``), and
leaves everything else alone. A lock file refuses a second run on the same ``--out``.

``fix apply --write`` stages the fixed export in a hidden ``.fix-…`` folder beside ``--out``,
with an owner file beside it: a staging folder left by a killed run is recognised as ours and
removed by the next ``fix apply`` once its owner's lock is free.

Hidden folders are removed only when they are provably ours: a marker naming connect-audit and
the process, and a lock its owner would still hold if it were running (``fcntl.flock``; the
kernel releases it when the process dies, however it dies, so SIGKILL never leaves a stuck lock).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

from audits.model.errors import UserError
from audits.io.folders import (TOOL, folder_problem, is_no_space, is_ours, no_space_error,
                               mark_mine, owner_record, probe_writable, run_over, tree_bytes,
                               try_lock, unlock)
from audits.io.signals import signals_held

STATE_DIR = ".connect-audit"
"""Inside ``--out``: the lock, the manifest of the owned set and the staging folders."""
LOCK_FILE = "lock"
MANIFEST_FILE = "manifest.json"
MANIFEST_SCHEMA = "connect-audit/outputs/v1"
OWNER_FILE = "owner.json"
JOURNAL_FILE = "swap.json"
RUN_PREFIX = "run-"
OWNED_NAMES = ("findings.json", "audit.html", "audit.xlsx", "runbooks", "school-workbooks")
"""Every name an audit may write into ``--out``: nothing else there is ever touched."""

# Leftovers of earlier versions, which wrote straight into --out: their temporary names.
_LEGACY_LEFTOVERS = (re.compile(r"\.runbooks\.(?:new|old)-[0-9a-f]{8}"),
                     re.compile(r"\.(?:findings\.json|audit\.html|audit\.xlsx)\.[a-z0-9_]{8}"
                                r"(?:\.tmp)?"))


# ----------------------------------------------------------------- the audit's owned set

class OutputFolder:
    """``--out`` of an audit, owned for one run::

        with OutputFolder(out, export=board) as target:   # checks, lock, stale staging removed
            ... write every output into target.staging ...
            written = target.commit(fingerprint, formats)  # the whole set swapped in

    Leaving the block any other way (an error, Ctrl-C, SIGTERM, a full disk) removes the
    staging folder and leaves ``--out`` as it was."""

    def __init__(self, out: str | Path, *, export: str | Path | None = None) -> None:
        self.out = Path(out)
        self.export = Path(export) if export is not None else None
        self.state = self.out / STATE_DIR
        self.staging: Path = self.state / "unset"
        self._lock: int | None = None
        self._created = False

    # --- before any work
    def check(self) -> None:
        """``--out`` must be a folder (or not exist yet), outside the export, writable."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {out} is a file, not a folder; choose a folder for the "
                            "reports")
        if self.export is not None and self.export.exists():
            export, target = self.export.resolve(), out.resolve()
            if self.export.is_dir() and (target == export or export in target.parents):
                raise UserError(f"--out {out} is the export {self.export} or inside it: the "
                                "reports would be mixed with the SIS's tables; choose a folder "
                                "outside it")
        try:
            self._created = not out.exists()
            out.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise UserError(f"--out {out} cannot be created: part of its path is a file") \
                from None
        except OSError as error:
            raise folder_problem(error, out, "--out") from None
        probe_writable(out)
        try:
            self.state.mkdir(exist_ok=True)
        except OSError as error:
            raise folder_problem(error, out, "--out") from None
        if not self.state.is_dir() or self.state.is_symlink():
            raise UserError(f"{self.state} is not connect-audit's folder; remove it or choose "
                            "another --out")
        probe_writable(self.state)

    def __enter__(self) -> "OutputFolder":
        self.check()
        try:
            self._lock = try_lock(self.state / LOCK_FILE)
        except OSError as error:
            raise folder_problem(error, self.out, "--out") from None
        if self._lock is None:
            raise UserError(f"another connect-audit run is writing into {self.out}; wait for it "
                            "to finish or choose another --out")
        try:
            self.remove_stale()
            self.staging = self.state / f"{RUN_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
            self.staging.mkdir(mode=0o755)
            (self.staging / OWNER_FILE).write_bytes(owner_record("audit staging",
                                                                  out=str(self.out)))
        except BaseException as error:
            self._discard(failed=True)
            if isinstance(error, OSError):
                raise folder_problem(error, self.out, "--out") from None
            raise
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None:
            self._discard()
            return False
        needed = max(tree_bytes(self.staging) if self.staging.is_dir() else 0,
                     self.previous_bytes())
        self._discard(failed=True)
        if is_no_space(error):
            raise no_space_error(self.out, needed + 1_000_000) from None
        return False

    def _discard(self, failed: bool = False) -> None:
        if self.staging.name != "unset":
            shutil.rmtree(self.staging, ignore_errors=True)
        if failed and self._created and self._lock is not None:
            # A failed first run into a new folder leaves no folder (nothing was written).
            with contextlib.suppress(OSError):
                if [p.name for p in self.state.iterdir()] == [LOCK_FILE]:
                    (self.state / LOCK_FILE).unlink()
                    self.state.rmdir()
                    self.out.rmdir()
        unlock(self._lock)
        self._lock = None

    # --- stale runs
    def remove_stale(self) -> list[Path]:
        """With the lock held no other run is writing here: staging folders of killed runs
        (marked as ours) are finished or removed, and earlier versions' temporary files too."""
        removed = []
        for child in sorted(self.state.iterdir()):
            if not (child.name.startswith(RUN_PREFIX) and child.is_dir()
                    and not child.is_symlink()):
                continue
            if not is_ours(child / OWNER_FILE):
                if any(child.iterdir()):
                    continue  # not ours to judge
            elif (child / JOURNAL_FILE).is_file():
                # Killed during the swap: every new output was complete; finish the swap.
                with signals_held():
                    self._swap(child)
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
        for child in self.out.iterdir():
            if any(pattern.fullmatch(child.name) for pattern in _LEGACY_LEFTOVERS):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
                removed.append(child)
        return removed

    # --- the owned set
    def manifest(self) -> dict | None:
        try:
            document = json.loads((self.state / MANIFEST_FILE).read_bytes()[:50_000_000])
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("schema") != MANIFEST_SCHEMA:
            return None
        return document

    def previous_bytes(self) -> int:
        files = (self.manifest() or {}).get("files")
        if not isinstance(files, dict):
            return 0
        return sum(size for size in files.values() if isinstance(size, int) and size > 0)

    def owned_now(self) -> list[str]:
        """The outputs of an earlier run in ``--out``: the manifest's entries (only names an
        audit writes are believed), or, in a folder an earlier version wrote, the outputs
        that show they are connect-audit's."""
        manifest = self.manifest()
        if manifest is not None and isinstance(manifest.get("entries"), list):
            names = [n for n in manifest["entries"] if n in OWNED_NAMES]
        else:
            names = [n for n in OWNED_NAMES if _looks_like_ours(self.out / n)]
        return [n for n in names if (self.out / n).exists() or (self.out / n).is_symlink()]

    def commit(self, fingerprint: Mapping | None = None,
               formats: Sequence[str] = ()) -> dict[str, Path]:
        """Swap the staged outputs in for the earlier run's whole owned set (its other formats
        too); ``fingerprint`` (``audits.io.fingerprint``) is the audited export's. Returns the new
        path of every staged entry."""
        staging = self.staging
        entries = [n for n in OWNED_NAMES if (staging / n).exists()]
        files: dict[str, int] = {}
        for name in entries:
            path = staging / name
            if path.is_dir():
                for root, _dirs, names in os.walk(path):
                    for file in sorted(names):
                        full = Path(root) / file
                        files[full.relative_to(staging).as_posix()] = full.stat().st_size
            else:
                files[name] = path.stat().st_size
        export_id = (fingerprint or {}).get("export", "") if isinstance(fingerprint, Mapping) \
            else ""
        manifest = {"schema": MANIFEST_SCHEMA, "tool": TOOL, "export_id": export_id,
                    "formats": list(formats), "export": str(self.export or ""),
                    "written_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "entries": entries, "files": files}
        _write_json(staging / MANIFEST_FILE, manifest)
        remove = [n for n in self.owned_now() if n not in entries]
        with signals_held():
            # From here the new set is complete: a run killed during the renames is finished
            # by the next one (remove_stale), never rolled back into a mix.
            _write_json(staging / JOURNAL_FILE, {"entries": entries, "remove": remove})
            self._swap(staging)
        shutil.rmtree(staging, ignore_errors=True)
        return {name: self.out / name for name in entries}

    def _swap(self, staging: Path) -> None:
        journal = json.loads((staging / JOURNAL_FILE).read_bytes())
        trash = staging / "replaced"
        trash.mkdir(exist_ok=True)

        def put_away(name: str) -> None:
            target = self.out / name
            if target.exists() or target.is_symlink():
                away = trash / f"{name}-{secrets.token_hex(4)}"
                os.replace(target, away)

        for name in journal.get("remove", []):
            if name in OWNED_NAMES:
                put_away(name)
        for name in journal.get("entries", []):
            if name not in OWNED_NAMES or not (staging / name).exists():
                continue  # moved in already (a swap being finished)
            target = self.out / name
            if (staging / name).is_dir() or (target.is_dir() and not target.is_symlink()):
                put_away(name)  # a folder cannot be renamed over another
            os.replace(staging / name, target)
        if (staging / MANIFEST_FILE).is_file():
            os.replace(staging / MANIFEST_FILE, self.state / MANIFEST_FILE)


def _write_json(path: Path, document: Mapping) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        temporary.write_bytes(json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def _looks_like_ours(path: Path) -> bool:
    """An output an earlier version (before the manifest) wrote, by its own content."""
    if path.is_symlink():
        return False
    if path.name == "findings.json":
        return b'"schema": "connect-audit/findings/' in _head(path, 200)
    if path.name == "audit.html":
        return b"<title>CONNECT audit" in _head(path)
    if path.name == "runbooks":
        return path.is_dir() and b"<title>Runbooks" in _head(path / "index.html")
    if path.name == "audit.xlsx":
        try:
            with zipfile.ZipFile(path) as book:
                return b'name="Summary"' in book.read("xl/workbook.xml")[:100_000]
        except (OSError, KeyError, zipfile.BadZipFile, ValueError):
            return False
    return False


# ------------------------------------------------------------ fix apply's staging folder

FIX_PREFIX = ".fix-"
_FIX_NAME = re.compile(r"\.fix-(\d+)-[0-9a-f]{8}")


class StagingClaim:
    """A hidden staging folder beside its destination, with an owner file beside it (inside
    would end up in the output) naming connect-audit and the process, locked while it runs."""

    def __init__(self, parent: Path, prefix: str, purpose: str, target: Path) -> None:
        self.path = mark_mine(Path(parent) / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}")
        self.owner = self.path.with_name(self.path.name + ".owner")
        self._lock = try_lock(self.owner)
        if self._lock is None:  # a fresh random name: cannot be held by anyone
            raise OSError(errno.EEXIST, "staging name in use", str(self.owner))
        try:
            os.write(self._lock, owner_record(purpose, target=str(target)))
            self.path.mkdir(mode=0o755)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """The staging folder is gone (renamed into place or removed): drop the owner file."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.owner.unlink(missing_ok=True)
        unlock(self._lock)
        self._lock = None


def remove_stale_fix_staging(parent: Path) -> list[Path]:
    """``.fix-…`` folders beside a fixed export left by killed runs: removed when their owner
    file names connect-audit, the process its name carries is gone and nobody holds its
    lock (its run is over)."""
    parent = Path(parent)
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for owner in sorted(parent.glob(f"{FIX_PREFIX}*.owner")):
        folder = owner.with_name(owner.name[:-len(".owner")])
        found = _FIX_NAME.fullmatch(folder.name)
        if found is None or not run_over(int(found.group(1)), folder.name):
            continue  # not ours, or its run is still going (maybe not yet holding its lock)
        fd = try_lock(owner)
        if fd is None:
            continue  # its run is still going
        try:
            empty = os.fstat(fd).st_size == 0  # killed before it could say whose it was
            if not (empty or is_ours(owner)):
                continue
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
            owner.unlink(missing_ok=True)
            removed.append(folder)
        finally:
            unlock(fd)
    return removed
