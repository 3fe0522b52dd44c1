"""Header mapping: how a board's own export headers and file names map onto the contract.

Real exports differ (``Legal First Name``, ``Student Export.csv``). A mapping file is TOML:

    [tables]                       # file or sheet name -> contract table
    "Student Export" = "students"

    [students]                     # export header -> contract column, per table
    "Legal First Name" = "first_name"

Every name is compared after the contract's header normalisation (trim, case-fold, spaces and
hyphens read as ``_``), so the mapping does not have to match the export's exact spelling.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from audits.model.board import TABLES
from audits.model.errors import InputProblem

_SEPARATORS = re.compile(r"[\s\-]+")


def normalize_header(text: object) -> str:
    """The contract's header spelling: ``Student Id``, ``student-id`` -> ``student_id``."""
    return _SEPARATORS.sub("_", str(text).strip().casefold())


def normalize_table_name(name: str) -> str:
    """A file or sheet name as a table name: the extension dropped, then as a header."""
    stem = name[: -len(".csv")] if name.lower().endswith(".csv") else name
    return normalize_header(stem)


@dataclass(frozen=True)
class HeaderMapping:
    tables: dict[str, str] = field(default_factory=dict)
    """Normalised file or sheet name -> contract table."""
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    """Contract table -> normalised export header -> contract column."""

    def table_for(self, name: str) -> str | None:
        """The contract table a file or sheet holds, or ``None`` when it is not a table."""
        key = normalize_table_name(name)
        if key in self.tables:
            return self.tables[key]
        return key if key in TABLES else None

    def column_for(self, table: str, header: str) -> str:
        key = normalize_header(header)
        return self.columns.get(table, {}).get(key, key)


def read_mapping(path: str | Path | None) -> tuple[HeaderMapping, list[InputProblem]]:
    """The mapping in ``path`` (none: the identity) and every problem found in it."""
    if path is None:
        return HeaderMapping(), []
    path = Path(path)
    file = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return HeaderMapping(), [InputProblem(
            "missing-mapping", f"the mapping file {path} does not exist", file=file)]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        # The parser's own words stay out; where it stopped helps.
        found = re.search(r"line (\d+), column (\d+)", str(error))
        where = f" (line {found.group(1)}, column {found.group(2)})" if found else ""
        return HeaderMapping(), [InputProblem(
            "unreadable-mapping", f"the mapping file is not valid UTF-8 TOML{where}", file=file)]
    problems: list[InputProblem] = []
    tables: dict[str, str] = {}
    columns: dict[str, dict[str, str]] = {}
    for section, entries in data.items():
        if not isinstance(entries, dict):
            problems.append(InputProblem(
                "bad-mapping", f"[{section}] must be a section of \"name\" = \"name\" lines",
                file=file))
            continue
        if section == "tables":
            target = tables
            allowed = set(TABLES)
        elif normalize_header(section) in TABLES:
            target = columns.setdefault(normalize_header(section), {})
            allowed = None
        else:
            problems.append(InputProblem(
                "bad-mapping", f"[{section}] is not a table; use one of: tables, "
                + ", ".join(TABLES), file=file))
            continue
        for source, destination in entries.items():
            if not isinstance(destination, str):
                problems.append(InputProblem(
                    "bad-mapping", f"[{section}] {source!r} must map to a name in quotes",
                    file=file))
                continue
            mapped = normalize_header(destination)
            if allowed is not None and mapped not in allowed:
                problems.append(InputProblem(
                    "bad-mapping", f"[tables] {source!r} maps to {destination!r}, which is not "
                    "a table; use one of: " + ", ".join(TABLES), file=file))
                continue
            key = normalize_table_name(source) if section == "tables" else normalize_header(source)
            target[key] = mapped
    return HeaderMapping(tables, columns), problems
