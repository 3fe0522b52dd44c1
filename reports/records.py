"""Side-by-side evidence of a duplicate-contact group: one column per contact record (the kept
record first), one row per field, each cell with its agreement against the group's other
records. Built from the finding alone (``fix.records``, ``fix.links``, ``names``), so the
HTML report and the workbook show the same table without reaching back into the board.

Agreement, per cell:

* ``same``: the value is exactly another record's value;
* ``similar``: equal to another record's after the matcher's normalisation (case, spacing,
  punctuation, accents, phone digits, postal-code spacing, street abbreviations, a nickname),
  or the same phone number in another phone field; the note says what differs;
* ``different``: no other record has a value it agrees with;
* ``missing``: this record has no value.

A reader cannot see a doubled, leading or trailing space, a tab or a no-break space: each is
shown as ``␣`` in the cell's text. Invisible characters are left to each report's own
``visible`` rule (the HTML page's script, the workbook's cells), which escapes them once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

from unidecode import unidecode

from audits.household.matching import normalize

from audits.household import wordlists
from audits.model.findings import Finding

CHECK = "duplicate-contact"

LEVELS = ("same", "similar", "different", "missing")
"""Agreement levels, best first."""
LEVEL_WORDS = {"same": "same", "similar": "similar", "different": "different",
               "missing": "missing"}

PHONE_FIELDS = ("home_phone", "cell_phone", "work_phone")
PHONE_WORDS = {"home_phone": "home phone", "cell_phone": "cell phone", "work_phone": "work phone"}
FIELDS: tuple[tuple[str, str], ...] = (
    ("first_name", "First name"), ("last_name", "Last name"), ("email", "Email"),
    ("home_phone", "Home phone"), ("cell_phone", "Cell phone"), ("work_phone", "Work phone"),
    ("street", "Street"), ("city", "City"), ("postal_code", "Postal code"),
    ("students", "Students"), ("relationship", "Relationship"),
    ("portal_access", "Portal access"),
)
"""Each row of the table: the record field (or the links' part) and its label."""

KEPT, MERGED = "kept", "merged"

SHOWN_SIDE_BY_SIDE = frozenset({"first_name", "last_name", "email", "phone", "address", "city"})
"""The finding's evidence keys the table shows field by field (the pairwise words a report
beside it need not repeat)."""

_HIDDEN_SPACE = re.compile(r"^\s+|\s+$|\s{2,}|[^\S ]")


def spaces_shown(text: str) -> str:
    """``text`` with the spacing a reader cannot see shown: leading, trailing, doubled and
    non-space whitespace (a tab, a no-break space) as ``␣``, one per character."""
    if text.isascii() and text.isprintable() and "  " not in text and text.strip() == text:
        return text  # nearly every value: nothing hidden
    return _HIDDEN_SPACE.sub(lambda m: "␣" * len(m.group()), text)


# ------------------------------------------------------------------------ normal forms
@lru_cache(maxsize=1)
def _nicknames() -> dict[str, tuple[int, ...]]:
    return normalize.nickname_index(wordlists.nickname_groups())


def _squeezed(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=65_536)
def _name_key(text: str) -> str:
    return normalize.fold(text)


def _email_key(text: str) -> str:
    # A placeholder (noemail@board.ca) is no email to the matcher, but two records holding the
    # same placeholder still hold the same text.
    return normalize.email_key(text) or "".join(text.split()).lower()


@lru_cache(maxsize=65_536)
def _phone_key(text: str) -> str:
    return normalize.phone_digits(text) or "".join(text.split()).lower()


@lru_cache(maxsize=65_536)
def _street_key(text: str) -> str:
    civic, name, unit = normalize.split_street(text)
    return f"{civic}|{name}|{unit}" if (civic or name) else _squeezed(text).lower()


def _postal_key(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


_KEYS: dict[str, Callable[[str], str]] = {
    "first_name": _name_key, "last_name": _name_key, "city": _name_key,
    "email": _email_key, "street": _street_key, "postal_code": _postal_key,
    "relationship": _name_key,
    **{name: _phone_key for name in PHONE_FIELDS},
}


def _nickname_of(a: str, b: str) -> bool:
    index = _nicknames()
    one, two = _name_key(a), _name_key(b)
    groups_a = set(index.get(one) or index.get(one.split(" ")[0] if one else "", ()))
    groups_b = set(index.get(two) or index.get(two.split(" ")[0] if two else "", ()))
    return bool(groups_a & groups_b)


@lru_cache(maxsize=16_384)
def _how_differs(field: str, a: str, b: str) -> str:
    """What separates two values equal after normalisation, in a few words."""
    notes = []
    sa, sb = "".join(a.split()), "".join(b.split())
    # Spacing is worth a word where it is all that differs (but case), or where it is hidden.
    if _SPACING.sub("x", a) != _SPACING.sub("x", b) and (
            sa.casefold() == sb.casefold() or spaces_shown(a) != a or spaces_shown(b) != b):
        notes.append("spacing differs")
    if sa != sb and sa.casefold() == sb.casefold():
        notes.append("case differs")
    elif sa.casefold() != sb.casefold():
        plain_a, plain_b = unidecode(sa).casefold(), unidecode(sb).casefold()
        if plain_a == plain_b:
            notes.append("accents differ")
        elif _NOT_ALNUM.sub("", plain_a) == _NOT_ALNUM.sub("", plain_b):
            notes.append("punctuation differs")
        elif field == "street":
            notes.append("abbreviated differently")
        else:
            notes.append("written differently")
    return ", ".join(n for n in notes if n) or "written differently"


_SPACING = re.compile(r"\S+")
"""Text reduced to its spacing (every run of other characters one ``x``): two values whose
spacing differs reduce differently."""
_NOT_ALNUM = re.compile(r"[\W_]+")


# ---------------------------------------------------------------------------- the table
def _level(field: str, value: str, others: Sequence[str]) -> tuple[str, str]:
    """(level, note) of one value against the other records' values of its field."""
    if not value.strip():
        return "missing", ""
    present = [other for other in others if other.strip()]
    if not present:
        return "different", "only this record has one"
    if value in present:
        return "same", ""
    key = _KEYS.get(field)
    if key is not None:
        mine = key(value)
        for other in present:
            if mine and key(other) == mine:
                return "similar", _how_differs(field, value, other)
    if field == "first_name":
        for other in present:
            if _nickname_of(value, other):
                return "similar", "nickname"
    return "different", ""


def _phone_elsewhere(field: str, digits: str, record_id: str,
                     phones: Sequence[tuple[str, Mapping[str, str]]]) -> str:
    """The other records' phone fields holding this number, in words ("C388's home phone");
    ``phones`` holds each record's phone digits by field."""
    if not digits:
        return ""
    seen = [f"{rid}'s {PHONE_WORDS[other]}" for rid, theirs in phones if rid != record_id
            for other in PHONE_FIELDS if other != field and theirs[other] == digits]
    return "same number as " + ", ".join(seen) if seen else ""


def _links_of(finding: Finding) -> dict[str, list[Mapping[str, Any]]]:
    by_record: dict[str, list[Mapping[str, Any]]] = {}
    for link in finding.fix.get("links") or []:
        by_record.setdefault(str(link.get("contact_id")), []).append(link)
    return by_record


def _student_words(link: Mapping[str, Any], names: Mapping[str, str]) -> str:
    sid = str(link.get("student_id"))
    name = names.get(sid)
    rel = str(link.get("relationship") or "").strip()
    who = f"{name} ({sid})" if name else sid
    return who + (f", {spaces_shown(rel)}" if rel else "")


def _portal(links: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(what a record's links grant: ``yes``, ``no`` or ``some``; the words shown)."""
    if not links:
        return "", ""
    granted = sum(1 for link in links if link.get("portal_access"))
    if granted == len(links):
        return "yes", "yes" if len(links) == 1 else f"yes, for all {len(links)} students"
    if not granted:
        return "no", "no" if len(links) == 1 else f"no, for all {len(links)} students"
    return "some", f"for {granted} of {len(links)} students"


def _portal_cells(links: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, str]]:
    """Cells of the portal-access row, compared by what is granted (yes for one student and
    yes for two are the same grant)."""
    grants = [_portal(mine) for mine in links]
    cells = []
    for k, (grant, words) in enumerate(grants):
        others = [g for j, (g, _) in enumerate(grants) if j != k and g]
        if not grant:
            level, note = "missing", ""
        elif not others:
            level, note = "different", "only this record has one"
        else:
            level, note = ("same", "") if grant in others else ("different", "")
        cell = {"text": words, "level": level}
        if note:
            cell["note"] = note
        cells.append(cell)
    return cells


def record_order(finding: Finding) -> list[str]:
    """The group's contact records, the kept one first, then those merged into it."""
    fix = finding.fix
    keep = fix.get("keep")
    ids = [str(c) for c in (finding.contacts or fix.get("records", {}).keys())]
    rest = [c for c in (fix.get("retire") or []) if c in ids] + \
        [c for c in ids if c != keep and c not in (fix.get("retire") or [])]
    return ([keep] if keep in ids else []) + [c for c in rest if c != keep]


def records_table(finding: Finding) -> dict[str, Any] | None:
    """The side-by-side table of a duplicate-contact finding, as data for the reports (None
    for another check, or a finding that carries no records):

    ``records``: one entry per column, ``{"id", "name", "role"}`` (``role`` is ``kept`` or
    ``merged``); ``rows``: one per field, ``{"field", "label", "level", "cells"}``, each cell
    ``{"text", "level"}`` with a ``note`` where one helps (what differs, which other phone
    field holds the number). ``level`` of a row is the worst level of its values (``missing``
    only when no record has one)."""
    if finding.check != CHECK:
        return None
    stored = finding.fix.get("records") or {}
    order = [rid for rid in record_order(finding) if rid in stored]
    if len(order) < 2:
        return None
    keep = finding.fix.get("keep")
    records = [(rid, stored[rid]) for rid in order]
    names = finding.names or {}
    links = _links_of(finding)
    columns = [{"id": rid, "name": spaces_shown(str(names.get(rid) or "")),
                "role": KEPT if rid == keep else MERGED} for rid in order]
    phones = [(rid, {name: normalize.phone_digits(str(record.get(name) or ""))
                     for name in PHONE_FIELDS}) for rid, record in records]
    rows = []
    for field, label in FIELDS:
        if field == "students":
            lines = [[_student_words(link, names) for link in links.get(rid, [])]
                     for rid in order]
            cells = _set_cells([{str(link.get("student_id")) for link in links.get(rid, [])}
                                for rid in order], lines)
        elif field == "relationship":
            words = [_distinct(str(link.get("relationship") or "").strip()
                               for link in links.get(rid, [])) for rid in order]
            cells = _relationship_cells(words)
        elif field == "portal_access":
            cells = _portal_cells([links.get(rid, []) for rid in order])
        else:
            values = [str(record.get(field) or "") for _, record in records]
            cells = _text_cells(field, values)
            if field in PHONE_FIELDS:
                for cell, (rid, digits) in zip(cells, phones):
                    elsewhere = _phone_elsewhere(field, digits[field], rid, phones)
                    if elsewhere:
                        if cell["level"] == "different":  # the number is no other's here
                            cell["level"], cell["note"] = "similar", elsewhere
                        else:
                            cell["note"] = "; ".join(filter(None, (cell.get("note"), elsewhere)))
        rows.append({"field": field, "label": label, "level": _row_level(cells),
                     "cells": cells})
    return {"records": columns, "rows": rows}


def _distinct(texts: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for text in texts:
        if text and text not in seen:
            seen.append(text)
    return seen


def _text_cells(field: str, values: Sequence[str]) -> list[dict[str, str]]:
    if len(set(values)) == 1:  # the usual row: every record has the same value, or none
        text = spaces_shown(values[0])
        level = "same" if values[0].strip() else "missing"
        return [{"text": text, "level": level} for _ in values]
    cells = []
    for k, value in enumerate(values):
        level, note = _level(field, value, values[:k] + values[k + 1:])
        cell = {"text": spaces_shown(value), "level": level}
        if note:
            cell["note"] = note
        cells.append(cell)
    return cells


def _set_cells(sets: Sequence[set[str]], lines: Sequence[list[str]]) -> list[dict[str, Any]]:
    """Cells of the students row (each with its ``lines``, a student a line): records of one
    person are usually linked to different children of one family."""
    cells: list[dict[str, Any]] = []
    for k, (mine, shown) in enumerate(zip(sets, lines)):
        others = [s for j, s in enumerate(sets) if j != k and s]
        if not mine:
            cells.append({"text": "", "level": "missing"})
            continue
        if any(mine == other for other in others):
            level, note = "same", ""
        elif any(mine & other for other in others):
            level, note = "similar", "some students in common"
        else:
            level, note = "different", "no student in common" if others else ""
        cell = {"text": "; ".join(shown), "level": level, "lines": shown}
        if note:
            cell["note"] = note
        cells.append(cell)
    return cells


def _relationship_cells(words: Sequence[list[str]]) -> list[dict[str, str]]:
    """Cells of the relationship row: each record's relationships to its students, compared
    as sets (a record that is Mère to one child and Friend to two shares Mère)."""
    cells = []
    folded = [{_name_key(w) for w in mine} for mine in words]
    for k, mine in enumerate(words):
        text = " / ".join(spaces_shown(w) for w in mine)
        others = [j for j in range(len(words)) if j != k and words[j]]
        if not mine:
            cells.append({"text": "", "level": "missing"})
            continue
        if not others:
            level, note = "different", "only this record has one"
        elif any(set(mine) == set(words[j]) for j in others):
            level, note = "same", ""
        elif any(folded[k] == folded[j] for j in others):
            j = next(j for j in others if folded[k] == folded[j])
            level, note = "similar", _how_differs("relationship", " / ".join(mine),
                                                  " / ".join(words[j]))
        elif any(folded[k] & folded[j] for j in others):
            level, note = "similar", "some in common"
        else:
            level, note = "different", ""
        cell = {"text": text, "level": level}
        if note:
            cell["note"] = note
        cells.append(cell)
    return cells


def _row_level(cells: Sequence[Mapping[str, str]]) -> str:
    present = [cell["level"] for cell in cells if cell["level"] != "missing"]
    if not present:
        return "missing"
    return max(present, key=LEVELS.index)


def page_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """The table as the HTML page carries it, in a third of the bytes (thousands of groups go
    into one page): each row ``[field, label, level, cells]``, each cell ``[text, level]``
    or ``[text, level, note]``; a students cell's text holds one student a line."""
    rows = []
    for row in table["rows"]:
        cells = []
        for cell in row["cells"]:
            text = "\n".join(cell["lines"]) if cell.get("lines") else cell["text"]
            cells.append([text, cell["level"], cell["note"]] if cell.get("note")
                         else [text, cell["level"]])
        rows.append([row["field"], row["label"], row["level"], cells])
    return {"records": table["records"], "rows": rows}


def cell_words(cell: Mapping[str, str]) -> str:
    """A cell's agreement in words: ``similar: case differs``."""
    note = cell.get("note")
    return LEVEL_WORDS[cell["level"]] + (f": {note}" if note else "")


class RecordsTables:
    """The side-by-side tables of one report run, each made once (:func:`records_table`): the
    HTML report and the workbook, written one after the other, show the same tables. A table
    is shared: do not change it."""

    def __init__(self) -> None:
        self._made: dict[str, tuple[Finding, dict[str, Any] | None]] = {}

    def table(self, finding: Finding) -> dict[str, Any] | None:
        """:func:`records_table` of ``finding``, made on its first call."""
        if finding.check != CHECK:
            return None
        kept = self._made.get(finding.id)
        if kept is not None and kept[0] is finding:
            return kept[1]
        table = records_table(finding)
        self._made[finding.id] = (finding, table)
        return table


__all__ = ["FIELDS", "LEVELS", "SHOWN_SIDE_BY_SIDE", "RecordsTables", "cell_words",
           "page_table", "record_order", "records_table", "spaces_shown"]
