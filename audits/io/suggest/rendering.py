"""A mapping suggestion written as the mapping TOML :func:`audits.io.mapping.read_mapping`
reads, each line commented with its evidence and a confidence; and the problems naming what
it left unplaced."""

from __future__ import annotations

import datetime as dt

from audits.model.board import TABLES
from audits.model.errors import InputProblem
from audits.io.mapping import normalize_header
from audits.io.suggest.scoring import Suggestion


def _toml_string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _confidence(score: float) -> float:
    return round(min(score / 0.8, 1.0), 2)


def mapping_toml(suggestion: Suggestion) -> str:
    """The suggestion as a mapping file :func:`audits.io.mapping.read_mapping` reads unchanged."""
    today = dt.date.today().isoformat()
    lines = [
        f"# Header mapping suggested by `connect-audit mapping suggest` for "
        f"{suggestion.export.name} ({today}).",
        "# Each line: the export's name = the contract's name, then the evidence and a confidence",
        "# (0-1). Check the low ones and the lines marked NOT PLACED, edit, then run:",
        f"#   connect-audit audit {suggestion.export.name} --mapping mapping.toml",
        "",
        "[tables]",
    ]
    for item in suggestion.tables:
        if item.table is None:
            lines.append(f"# {_toml_string(item.file.name)}: NOT PLACED (no table fits its "
                         "columns); give it a table name if it is one")
        else:
            lines.append(f"{_toml_string(item.file.name)} = {_toml_string(item.table)}"
                         f"   # {len(item.placements)} of {len(item.file.columns)} headers "
                         f"placed; confidence {min(round(item.fit, 2), 1.0)}")
    for missing in suggestion.missing_tables():
        lines.append(f"# NOT PLACED: no file holds the {missing} table")
    for item in suggestion.tables:
        if item.table is None:
            continue
        spec = TABLES[item.table]
        lines += ["", f"[{item.table}]   # {item.file.label}"]
        placed = {p.column: p for p in item.placements}
        written: set[str] = set()
        for placement in sorted(item.placements, key=lambda p: spec.columns.index(p.column)):
            written.add(placement.header)
            lines.append(f"{_toml_string(placement.header)} = {_toml_string(placement.column)}"
                         f"   # {placement.evidence}; confidence "
                         f"{_confidence(placement.score)}")
        for column in item.missing_required():
            lines.append(f"# NOT PLACED: required column {column}: no header fits; add "
                         f"\"<header>\" = \"{column}\"")
        for header in item.unplaced():
            as_is = normalize_header(header)
            if header in written:
                # The same header twice in the file (a TOML key once): the audit names it.
                lines.append(f"# {_toml_string(header)}: NOT PLACED: this header is in the file "
                             "twice")
                continue
            written.add(header)
            if as_is in spec.columns and placed.get(as_is) is None:
                continue  # read as its own name by the loader
            if as_is in spec.columns:
                # Read as its own name, it would clash with the header placed there.
                lines.append(f"{_toml_string(header)} = {_toml_string('unplaced_' + as_is)}"
                             "   # NOT PLACED: kept out of the way of the column above")
            elif header in item.guesses:
                lines.append(f"# {_toml_string(header)} = {_toml_string(item.guesses[header])}"
                             "   # NOT PLACED: a weak guess; uncomment if it is right")
            else:
                lines.append(f"# {_toml_string(header)} = \"?\"   # NOT PLACED: kept, not used")
    return "\n".join(lines) + "\n"


def unplaced_problems(suggestion: Suggestion) -> list[InputProblem]:
    """What stops the suggestion being used as it is: a required column of a present table that
    no header was placed in, and a required table no file holds."""
    problems = list(suggestion.problems)
    for item in suggestion.tables:
        unplaced = item.unplaced()
        for column in item.missing_required():
            problems.append(InputProblem(
                "unplaced-column", f"no header could be placed as the required column {column}"
                f" of the {item.table} table" + (
                    " (not placed: " + ", ".join(unplaced) + ")" if unplaced else "")
                + f"; add its line to [{item.table}] in the mapping", file=item.file.label,
                column=column))
    for table in suggestion.missing_tables():
        problems.append(InputProblem(
            "unplaced-table", f"no file could be placed as the {table} table; add its file to "
            "[tables] in the mapping", file=table))
    return problems
