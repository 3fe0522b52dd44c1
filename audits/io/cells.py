"""The one rule for every cell and character the tool writes for a person to read: no text runs
as a spreadsheet formula, breaks a workbook's XML, or hides or reorders what a reader sees.

*Formulas* (OWASP "CSV injection"). Excel, LibreOffice and Google Sheets run a cell that
starts with ``=``, ``+``, ``-`` or ``@``; a leading tab or carriage return is on OWASP's list
too, because some importers strip it. Two more cases are defused, since they cost nothing in
real data: the trigger after leading whitespace (LibreOffice's "trim spaces" import option,
and Excel's, drop it), and the full-width forms ``＝ ＋ － ＠`` (an East Asian input method
turns them into ``=`` ``+`` ``-`` ``@`` as a cell is typed or edited). A CSV gets a ``'`` in
front of such text (:func:`defused`), which a spreadsheet hides and treats as "text"; a
workbook stores it as a text cell with Excel's quote prefix. Text that already starts with
``'`` followed by such text gets one more, so :func:`undefused` gives every value back
exactly (the preview CSV is read back by ``reconcile``).

*Invisible characters.* Control characters (C0 but tab and line breaks, DEL, C1), the
bidirectional overrides, embeddings, isolates and marks (U+202A–U+202E, U+2066–U+2069,
U+200E, U+200F, U+061C), zero-width and other invisible format characters (U+200B–U+200D,
U+2060–U+2064, U+FEFF, U+180E, tags), line and paragraph separators, non-characters
(U+FFFE, U+FFFF, U+FDD0–U+FDEF and their kin in every plane) and lone surrogates are shown
as a visible escape, ``⟨U+202E⟩`` (:func:`visible`). A name holding a right-to-left override
then cannot reverse the runbook step after it, two usernames that differ only by a
zero-width joiner look different, and no workbook holds a character XML 1.0 forbids (Excel
calls such a file damaged). A ``⟨`` that would read as such an escape is itself escaped, so
:func:`restored` gives the original text back.

findings.json keeps the raw values (it is data); the fixed export keeps the SIS's values as
exported (it is re-imported); everything else the tool writes goes through this module, and
the terminal gets Python escapes instead (:func:`shown`, :func:`terminal_text`).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

# Code point ranges shown as escapes (inclusive).
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F),   # C0 controls; tab, LF and CR are layout
    (0x7F, 0x9F),                                 # DEL and the C1 controls
    (0x061C, 0x061C),                             # Arabic letter mark
    (0x180E, 0x180E),                             # Mongolian vowel separator
    (0x200B, 0x200F),                             # zero-width space, (non-)joiner, LRM, RLM
    (0x2028, 0x2029),                             # line and paragraph separators
    (0x202A, 0x202E),                             # bidi embeddings and overrides
    (0x2060, 0x2064),                             # word joiner, invisible operators
    (0x2066, 0x206F),                             # bidi isolates, deprecated format controls
    (0xD800, 0xDFFF),                             # lone surrogates
    (0xFDD0, 0xFDEF),                             # non-characters
    (0xFEFF, 0xFEFF),                             # zero-width no-break space (BOM)
    (0xFFF9, 0xFFFB),                             # interlinear annotation
    (0xFFFE, 0xFFFF),                             # non-characters XML forbids
    *((plane + 0xFFFE, plane + 0xFFFF) for plane in range(0x10000, 0x110000, 0x10000)),
    (0xE0000, 0xE007F),                           # tags
)
ESCAPE_OPEN, ESCAPE_CLOSE = "\u27e8", "\u27e9"
"""``⟨`` and ``⟩``: the brackets of a visible escape."""

FORMULA_TRIGGERS = "=+-@\uff1d\uff0b\uff0d\uff20"
"""What makes a cell a formula when it comes first (after any whitespace)."""


def _class(ranges: Iterable[tuple[int, int]], *, js: bool = False) -> str:
    def char(code: int) -> str:
        if js:
            return f"\\u{{{code:X}}}"
        return f"\\U{code:08X}"
    return "".join(char(lo) if lo == hi else f"{char(lo)}-{char(hi)}" for lo, hi in ranges)


# The patterns search one character class at C speed, but a class of many ranges above the
# BMP is ten times slower than one of BMP ranges: above U+1FFFD they match the whole rest of
# Unicode (CJK extensions, tags, private use), and _escape keeps what is not in the set.
_BMP_RANGES = tuple((lo, hi) for lo, hi in INVISIBLE_RANGES if hi <= 0xFFFF)
_ASTRAL = (0x1FFFE, 0x10FFFF)
_CANDIDATES = _class((*_BMP_RANGES, _ASTRAL))
# A "⟨" that starts what reads as an escape is escaped too, so restored() is exact.
_LOOKS_ESCAPED = f"{ESCAPE_OPEN}(?=U\\+[0-9A-F]{{4,6}}{ESCAPE_CLOSE})"
_ESCAPABLE_RE = re.compile(f"[{_CANDIDATES}]|{_LOOKS_ESCAPED}")
# The same with NUL left out, for texts joined by NUL; and a cheap first look.
_ESCAPABLE_BUT_NUL_RE = re.compile(f"[{_class(((0x01, 0x08), *_BMP_RANGES[1:], _ASTRAL))}]"
                                   f"|{_LOOKS_ESCAPED}")
_MAYBE_RE = re.compile(f"[{_class(((0x01, 0x08), *_BMP_RANGES[1:], _ASTRAL))}{ESCAPE_OPEN}]")
_ESCAPE_RE = re.compile(f"{ESCAPE_OPEN}U\\+([0-9A-F]{{4,6}}){ESCAPE_CLOSE}")

INVISIBLE_JS = f"[{_class(INVISIBLE_RANGES, js=True)}]|{_LOOKS_ESCAPED}"
""":data:`INVISIBLE_RANGES` and the escape-like ``⟨`` as a JavaScript RegExp source (flags
``gu``), for the HTML report's script, which renders the page's data itself."""

_FORMULA_RE = re.compile(f"'*(?:[\\t\\r]|\\s*[{re.escape(FORMULA_TRIGGERS)}])")
# What can start a text _FORMULA_RE matches, after the NUL joining it to the one before: a
# literal and one class let the search skip ahead; each hit is then checked in full.
_FORMULA_MAYBE_RE = re.compile(f"\0[\\s'{re.escape(FORMULA_TRIGGERS)}]")


def _escape(match: "re.Match[str]") -> str:
    char = match.group()
    if char > "\uffff" and not _escaped_code(ord(char)):
        return char
    return f"{ESCAPE_OPEN}U+{ord(char):04X}{ESCAPE_CLOSE}"


def _escaped_code(code: int) -> bool:
    return code == ord(ESCAPE_OPEN) or any(lo <= code <= hi for lo, hi in INVISIBLE_RANGES)


def _restore(match: "re.Match[str]") -> str:
    code = int(match.group(1), 16)
    return chr(code) if code <= 0x10FFFF and _escaped_code(code) else match.group()


# ------------------------------------------------------------------------------ one value
def visible(value: object) -> str:
    """``value`` as text, every invisible or XML-forbidden character shown as ``⟨U+XXXX⟩``."""
    text = value if value.__class__ is str else ("" if value is None else str(value))
    if _MAYBE_RE.search(text) or "\0" in text:
        return _ESCAPABLE_RE.sub(_escape, text)
    return text  # type: ignore[return-value]


def restored(text: str) -> str:
    """The text :func:`visible` was given."""
    return _ESCAPE_RE.sub(_restore, text) if ESCAPE_OPEN in text else text


def looks_like_formula(value: object) -> bool:
    """True when the text needs defusing: a spreadsheet would read it as a formula or command,
    or it is ``'`` before such text (which gets one more ``'`` to read back exactly)."""
    return isinstance(value, str) and _FORMULA_RE.match(value) is not None


def defused(text: str) -> str:
    """``text`` for a CSV cell: a ``'`` in front when a spreadsheet would run it."""
    return "'" + text if _FORMULA_RE.match(text) else text


def undefused(text: str) -> str:
    """The text :func:`defused` was given."""
    return text[1:] if text[:1] == "'" and _FORMULA_RE.match(text, 1) else text


def csv_cell(value: object) -> str:
    """A value as a CSV cell a person opens: visible, then defused."""
    return defused(visible(value))


# --------------------------------------------------------------------------- many values
def visible_texts(texts: Sequence[str]) -> list[str]:
    """``[visible(t) for t in texts]`` with one search over the texts joined (most columns
    hold nothing to escape, and one C-speed scan is far cheaper than a call per text)."""
    texts = list(texts)
    joined = "\0".join(texts)
    if joined.count("\0") != max(len(texts) - 1, 0):  # a NUL in the data
        return [visible(text) for text in texts]
    if len(joined) > _LARGE:
        # A column of a big sheet: judged on its UTF-8 bytes, which is faster than the search.
        clean = ESCAPE_OPEN not in joined and _surely_clean(
            joined.encode("utf-8", "surrogatepass"), joined_by_nul=True)
    else:
        clean = not _MAYBE_RE.search(joined)
    if clean:
        return texts
    return _ESCAPABLE_BUT_NUL_RE.sub(_escape, joined).split("\0")


_LARGE = 1 << 16
"""Characters from which :func:`_surely_clean` beats one pattern search (numpy's set-up)."""


def formula_positions(texts: Sequence[str]) -> list[int]:
    """The positions of the texts a spreadsheet would run as formulas: one scan of the texts
    joined, not a call per text. Texts holding NUL (none does after :func:`visible_texts`)
    are checked one by one."""
    joined = "\0".join(texts)
    if joined.count("\0") != max(len(texts) - 1, 0):
        return [k for k, text in enumerate(texts) if _FORMULA_RE.match(text)]
    found = [0] if texts and _FORMULA_RE.match(texts[0]) else []
    at, seen = 0, 0
    for match in _FORMULA_MAYBE_RE.finditer(joined):
        at += joined.count("\0", seen, match.start() + 1)
        seen = match.start() + 1
        if _FORMULA_RE.match(joined, seen):
            found.append(at)
    return found


def csv_cells(texts: Sequence[str]) -> list[str]:
    """``[csv_cell(t) for t in texts]``, a column at a time."""
    out = visible_texts(texts)
    for k in formula_positions(out):
        out[k] = "'" + out[k]
    return out


def csv_frame(frame):  # pandas.DataFrame -> pandas.DataFrame
    """A copy of ``frame`` to write with ``to_csv`` for a person to open: headers and every
    text cell through :func:`csv_cells`, a column at a time; missing values stay missing."""
    return _each_text_column(frame, csv_cells)


def read_back_frame(frame):  # pandas.DataFrame -> pandas.DataFrame
    """A frame read from a CSV :func:`csv_frame` wrote, with the values it was given."""
    return _each_text_column(frame, _read_back)


def _read_back(texts: list[str]) -> list[str]:
    return [restored(undefused(text)) if text[:1] == "'" or ESCAPE_OPEN in text else text
            for text in texts]


def _each_text_column(frame, change):
    """A copy of ``frame`` with ``change`` (texts to texts) made to its headers and to the
    present values of each text column."""
    import pandas as pd

    out = frame.copy()
    out.columns = change([str(c) for c in frame.columns])
    for k in range(out.shape[1]):
        series = out.iloc[:, k]
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            continue
        present = series.notna().to_numpy()
        values = series.to_numpy(dtype=object)
        texts = [str(v) for v in values[present]]
        changed = change(texts)
        if changed != texts:
            values = values.copy()
            values[present] = changed
            out.isetitem(k, pd.Series(values, index=series.index, dtype=object))
    return out


# ----------------------------------------------------------------------------- terminal
def terminal_text(text: str) -> str:
    """``text`` for a terminal or a log: every character of the set (and any other that does
    not print), line breaks and tabs aside, written as its Python escape (``\\u202e``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else
                   ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in text)


def shown(value: object) -> str:
    """A value safe to print on a terminal: control, bidirectional and invisible characters
    written as Python escapes, and then the whole quoted."""
    raw = str(value)
    text = "".join(ch if ch.isprintable() else
                   ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in raw)
    return repr(text) if text != raw or text == "" or text != text.strip() else text


# ---------------------------------------------------------------------------------- JSON
def json_escaped(raw: bytes) -> bytes:
    """UTF-8 JSON with every invisible character written as a ``\\uXXXX`` escape: the same
    data for a JSON reader, but no override or non-character left raw in the file."""
    if raw.isascii():
        # ASCII JSON: C0 controls are escaped by every encoder already; DEL is not.
        return raw.replace(b"\x7f", b"\\u007f")
    if _surely_clean(raw):
        return raw
    text = raw.decode("utf-8", "surrogatepass")
    first = _JSON_ESCAPABLE_RE.search(text)
    if first is None:
        return raw
    at = first.start()
    return (text[:at] + _JSON_ESCAPABLE_RE.sub(_json_escape, text[at:])).encode("utf-8")


_JSON_ESCAPABLE_RE = re.compile(f"[{_CANDIDATES}]")

# The first byte of each character of the set in UTF-8 (and of U+1FFFE onwards); every other
# byte is deleted by bytes.translate, a C loop several times faster than any pattern search.
_LEAD_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0xC2, 0xD8, 0xE1,
                     0xE2, 0xED, 0xEF, *range(0xF0, 0x100)])
_NOT_LEAD_BYTES = bytes(sorted(set(range(256)) - set(_LEAD_BYTES)))
_NOT_LEAD_BYTES_OR_NUL = _NOT_LEAD_BYTES + b"\0"
# For each lead byte, the next byte (or two) of the set's characters; None: any.
_FOLLOWERS: dict[int, Any] = {
    0xC2: range(0x80, 0xA0), 0xD8: (0x9C,), 0xE1: (0xA0,), 0xED: range(0xA0, 0xC0),
    0xE2: {0x80: (*range(0x8B, 0x90), *range(0xA8, 0xAF)), 0x81: None},
    0xEF: {0xB7: None, 0xBB: (0xBF,), 0xBF: range(0xB9, 0xC0)},
    0xF0: {0x9F: None, **{b: None for b in range(0xA0, 0xC0)}},
}


def _surely_clean(raw: bytes, joined_by_nul: bool = False) -> bool:
    """True when UTF-8 ``raw`` holds no invisible character (NUL aside, when it joins texts),
    judged on its bytes (numpy on the few places a lead byte stands); False when it may
    (the pattern then decides)."""
    import numpy

    leads = set(raw.translate(None, _NOT_LEAD_BYTES_OR_NUL if joined_by_nul else _NOT_LEAD_BYTES))
    if not leads:
        return True
    if leads - _FOLLOWERS.keys():
        return False  # a control character, DEL, or a lead byte of planes 4 onwards
    data = numpy.frombuffer(raw + b"\0\0", dtype=numpy.uint8)
    for lead in leads:
        at = numpy.flatnonzero(data[:-2] == lead)
        second, third = data[at + 1], data[at + 2]
        follow = _FOLLOWERS[lead]
        if not isinstance(follow, dict):
            if numpy.isin(second, follow).any():
                return False
            continue
        for byte, thirds in follow.items():
            hit = second == byte
            if hit.any() and (thirds is None or numpy.isin(third[hit], thirds).any()):
                return False
    return True


def _json_escape(match: "re.Match[str]") -> str:
    code = ord(match.group())
    if code > 0xFFFF and not _escaped_code(code):
        return match.group()
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"
