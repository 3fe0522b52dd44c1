"""The export as a whole: a folder of CSV files, an ``.xlsx`` workbook or an interchange export
(OneRoster, SDS), read into a :class:`~audits.model.board.Board`.

Two entry points:

* :func:`load_board` -- what the CLI and the checks use: read, normalise, validate.
* :func:`read_export` -- the frames as read, before normalisation, with contract column
  names, plus the :class:`~audits.model.board.BoardSource` saying which file, encoding and header
  row each came from. The fixes rewrite exports in their own format and encoding from it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from audits.model.board import TABLES, Board, BoardSource, TableSource, board_from_frames
from audits.model.config import InputLimits
from audits.model.errors import InputProblem, ProblemCollector, UserError
from audits.io.loading.csv import read_csv_file
from audits.io.loading.sniffing import ZIP_MAGIC
from audits.io.loading.tables import Export, TableRead, read_tables, tables_by_name
from audits.io.loading.workbook import read_workbook
from audits.io.mapping import HeaderMapping, read_mapping

def load_board(path: str | Path, *, mapping: str | Path | None = None,
               validate: bool = True,
               after_read: Callable[[Board], object] | None = None,
               limits: InputLimits | None = None) -> Board:
    """The board export at ``path`` (a folder of CSV files or an ``.xlsx`` workbook).

    ``mapping`` is an optional TOML file renaming export headers and file names to the
    contract's. Raises :class:`UserError` listing every problem when the export cannot be
    read or, with ``validate``, breaks the contract's structure (blank IDs, duplicate IDs,
    unknown references, bad status or flag values, malformed dates).

    ``after_read`` is called with the board once it is read, before it is validated.
    ``limits`` bound the size of what is read (the config's ``[input]``; defaults without).
    """
    try:
        return _load_board(path, mapping, validate, after_read, limits)
    except MemoryError:
        # Past the size limits, a board can still be more than this computer holds: the user
        # can act on that (a larger machine, lower limits), so it is not an internal error.
        raise UserError(f"The board export {Path(path).name or path} is too large to audit in "
                        "the memory this computer has; audit it on a computer with more "
                        "memory") from None


def _load_board(path, mapping, validate, after_read, limits) -> Board:
    export, problems = _read(path, mapping, limits)
    if export is None:
        raise UserError(_failure_message(path, problems), problems)
    board = board_from_frames(export.frames, export.source, as_read=True)
    if after_read is not None and not problems:
        # Work that needs only the tables (the CLI starts contact matching on the second core)
        # begins here, while great-expectations validates; the caller drops it if this raises.
        after_read(board)
    if validate:
        from audits.validation import validate_board

        # Tables that could not be read are left out, so the user still sees every
        # problem in the others on this run, without false unknown references.
        unread = {name for name, spec in TABLES.items() if name not in export.frames
                  and (not spec.optional or name in export.source.tables
                       and export.source.tables[name].present)}
        problems = [*problems, *validate_board(board, raw=export.frames, unread=unread)]
    if problems:
        problems = _with_lines(problems, export.lines)
        raise UserError(_failure_message(path, problems), problems)
    return board


def _with_lines(problems: list[InputProblem], lines: dict[str, np.ndarray]
                ) -> list[InputProblem]:
    """Each problem in a file whose records span lines, with the line its row starts on: the
    row is the record (what a spreadsheet shows); a text editor counts lines."""
    if not lines:
        return problems
    out = []
    for problem in problems:
        starts = lines.get(problem.file or "")
        if starts is not None and problem.row is not None and 0 < problem.row < len(starts) \
                and starts[problem.row] != problem.row:
            problem = replace(problem, message=f"{problem.message} (in a text editor this row "
                              f"starts on line {int(starts[problem.row])})")
        out.append(problem)
    return out


def read_export(path: str | Path, mapping: str | Path | None = None,
                limits: InputLimits | None = None) -> Export:
    """The export's tables before normalisation, and where each came from.

    Frames hold every column as text (blank is ``""``), contract columns renamed, extra
    columns kept; each index is the row number in the file. Absent optional tables are left
    out of ``frames`` and recorded with ``present=False`` in the source.
    """
    export, problems = _read(path, mapping, limits)
    if problems:
        problems = _with_lines(problems, export.lines if export else {})
        raise UserError(_failure_message(path, problems), problems)
    return export


def _read(path: str | Path, mapping: str | Path | None, limits: InputLimits | None = None
          ) -> tuple[Export | None, list[InputProblem]]:
    """The export (``None`` when there is no export at ``path`` at all) and every problem
    reading it."""
    from audits.io import formats

    problems = ProblemCollector()
    header_mapping, mapping_problems = read_mapping(mapping)
    problems.extend(mapping_problems)
    path = Path(path)
    limits = limits or InputLimits()
    export = None
    if not path.exists():
        # The path is said once, in the message: the problem has no file to point at.
        problems.add("missing-path", f"{path} does not exist; give the folder of CSV files or "
                     "the .xlsx workbook the SIS exported")
    elif (kind := formats.detect(path)) is not None:  # OneRoster or SDS, a folder or .zip
        export = formats.read(path, kind, header_mapping, problems, limits)
    elif path.is_dir():
        export = _read_folder(path, header_mapping, problems, limits)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        export = read_workbook(path, header_mapping, problems, limits)
    else:
        problems.add("not-an-export", _not_an_export(path), file=path.name)
    return export, problems.problems


def _not_an_export(path: Path) -> str:
    """Why a single file is not an export, and the one step that makes it one."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        head = b""
    suffix = path.suffix.lower()
    if head.startswith(ZIP_MAGIC):
        return (f"{path.name} is an Excel workbook (.xlsx) with a {suffix or 'missing'} "
                f"extension; rename it to {path.stem}.xlsx and give that path")
    if suffix == ".csv":
        return (f"{path.name} is one table of the export; give the folder that holds it and the "
                "other tables' CSV files")
    if suffix == ".xls":
        return (f"{path.name} is an old Excel 97-2003 workbook; open it in Excel and save it as "
                "an .xlsx workbook")
    return f"{path.name} is not a board export; give a folder of CSV files or an .xlsx workbook"


def _failure_message(path: str | Path, problems: list[InputProblem] | tuple) -> str:
    count = len(problems)
    # A path that does not exist is named by its problem; naming it here too repeats it.
    name = "" if any(p.kind == "missing-path" for p in problems) else \
        f" {Path(path).name or path}"
    headers = any(p.kind in ("missing-column", "missing-table") for p in problems)
    return (f"The board export{name} cannot be audited: "
            f"{count} problem{'s' if count != 1 else ''} to fix in the export."
            + (" If its tables or columns have other names, `connect-audit mapping suggest "
               "EXPORT --out mapping.toml` proposes a mapping to pass with --mapping."
               if headers else ""))


def _read_folder(folder: Path, mapping: HeaderMapping, problems: ProblemCollector,
                 limits: InputLimits) -> Export | None:
    csv_files = [file.name for file in sorted(folder.iterdir())
                 if file.is_file() and file.suffix.lower() == ".csv"]
    found = {table: folder / name for table, name in tables_by_name(
        csv_files, mapping, problems, quote=str, where=lambda name: name).items()}
    if not found:
        _no_tables(folder, mapping, problems)
        return None
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, TableSource] = {}
    lines: dict[str, np.ndarray] = {}
    inside = folder.resolve()

    def read(table: str, label: str) -> TableRead | None:
        file = found[table]
        target = file.resolve()
        if not target.is_relative_to(inside):
            # What a link points at can change between the audit and the fix, or be another
            # board's file: only the export's own files are audited.
            problems.add("outside-export", f"{file.name} is a link to {target}, a file outside "
                         "the export folder; copy the file itself into the export folder",
                         file=file.name)
            return None
        return read_csv_file(file, table, mapping, problems, limits, lines)

    def absent(table: str) -> TableSource:
        if not TABLES[table].optional:
            problems.add("missing-table", f"the folder has no {table}.csv; export the "
                         f"{table} table into it", file=f"{table}.csv")
        return TableSource(file=f"{table}.csv", present=False)

    read_tables(TABLES, lambda table: found[table].name if table in found else None, read,
                absent, frames, sources)
    return Export(frames, BoardSource(path=str(folder), kind="csv", tables=sources), lines)


def _no_tables(folder: Path, mapping: HeaderMapping, problems: ProblemCollector) -> None:
    """Why a folder holding none of the export's tables is not an export, and where the export
    may be instead."""
    workbooks = sorted(f.name for f in folder.iterdir()
                       if f.suffix.lower() in (".xlsx", ".xlsm", ".xls"))
    report = any((folder / name).is_file() for name in REPORT_FILES)
    inside = _export_inside(folder, mapping)
    if report:
        problems.add("report-folder", f"{folder.name} is a connect-audit report folder, not "
                     "an export" + (f"; the export is in {inside}: give that path" if inside
                                    else "; give the folder the SIS exported into"),
                     file=folder.name)
        return
    hint = (f"; it holds {workbooks[0]}: give that workbook's path instead" if workbooks
            else f"; the export seems to be in {inside}: give that path" if inside
            else "; is this the folder the SIS exported into?")
    problems.add("no-tables", f"the folder {folder.name} holds none of the export's "
                 "tables (files named " + ", ".join(f"{n}.csv" for n in TABLES) + ")"
                 + hint, file=folder.name)


REPORT_FILES = ("findings.json", "audit.xlsx", "audit.html")
"""What `connect-audit audit --out` writes: a folder holding them is a report, not an export."""


def _export_inside(folder: Path, mapping: HeaderMapping) -> str | None:
    """A subfolder (or workbook in one) that holds the export's tables: where a report folder's
    board copy, or a zip unpacked one level too deep, keeps the export."""
    try:
        subfolders = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return None
    for sub in subfolders:
        try:
            files = sorted(p for p in sub.iterdir() if p.is_file())
        except OSError:
            continue
        if any(f.suffix.lower() == ".csv" and mapping.table_for(f.name) for f in files):
            return str(sub)
        workbooks = [f for f in files if f.suffix.lower() in (".xlsx", ".xlsm")]
        if workbooks:
            return str(workbooks[0])
    return None
