"""Keeping data as data: text a spreadsheet would run as a formula, and text a page would run as markup.

Excel and LibreOffice treat a cell typed as ``=``, ``+``, ``-`` or ``@`` (and a leading tab or
carriage return, which some importers strip) as the start of a formula. A contact named
``=HYPERLINK("http://x","y")`` must show as that text, not become a live link (OWASP "CSV
injection"). The workbook writes such values as typed text cells; CSV writers prefix a quote.
"""

from __future__ import annotations

import json
import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    """True when a spreadsheet would read this text as a formula or command."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralize_csv(value: object) -> object:
    """The value to write into a CSV cell: formula-like text gets a leading ``'`` so a
    spreadsheet opening the CSV shows it literally. Other values pass through unchanged."""
    if looks_like_formula(value):
        return "'" + value  # type: ignore[operator]
    return value


def neutralize_frame(frame):  # pandas.DataFrame -> pandas.DataFrame
    """A copy of ``frame`` safe to write with ``to_csv``: every text column neutralised, vectorised."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or str(series.dtype) in ("str", "string"):
            text = series.astype("str")
            risky = text.str.startswith(FORMULA_STARTS) & series.notna()
            if risky.any():
                out[column] = series.where(~risky, "'" + text)
    return out


_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                  "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_for_script(data: Any) -> str:
    """JSON to embed inside ``<script type="application/json">``: no ``</script>``, no ``<!--``
    and no ``&`` can appear in it, so no data can end the element or start markup.
    ``JSON.parse`` reads the ``\\u003c`` escapes back as the original characters."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _SCRIPT_UNSAFE.items():  # str.replace: C speed on 100+ MB
        if char in text:
            text = text.replace(char, escaped)
    return text


# What can start Markdown in the middle of a line (CommonMark, plus the GFM extensions ticket
# systems add: tables, strikethrough, bare-URL autolinks). Everything else, ``( ) : & > # .``
# included, stays as typed, so a runbook pasted where Markdown is not rendered still reads.
_MD_INLINE_RE = re.compile(
    r"[\\`*\[\]<|_~]"                     # escapes, code, emphasis, links, tags, tables, strike
    r"|!(?=\[)"                             # an image
    r"|&(?=#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)"  # an entity
    # A scheme ("http:", "javascript:", "mailto:") before text: GFM and linkify autolink
    # some, so the colon of any "word:text" gets a backslash ("13:31" and "name: x" do not).
    r"|(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}:(?=\S)"
    r"|(?<=[Ww]{3})(?<![\w.][Ww]{3})\.")     # www. autolinks
# What opens a block when it starts a line: heading, list, quote, setext rule, fence, table.
_MD_LINE_START_RE = re.compile(r"[#\-+=>~]|\d{1,9}(?=[.)])")


def _md_escape(match: "re.Match[str]") -> str:
    char, text, at = match.group(), match.string, match.start()
    if len(char) > 1:  # a scheme: escape its colon
        return char[:-1] + "\\:"
    if char == "_":
        # Between two letters or digits ("cell_phone") a "_" can neither open nor close
        # emphasis (CommonMark's flanking rules), so it stays unescaped.
        if 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum():
            return char
    elif char == "~":
        # Surrounded by spaces ("A ~ B") a "~" cannot open or close strikethrough.
        if 0 < at < len(text) - 1 and text[at - 1] == " " and text[at + 1] == " ":
            return char
    return "\\" + char


_MD_INLINE_NO_SCHEME_RE = re.compile(
    r"[\\`*\[\]<|_~]|!(?=\[)"
    r"|&(?=#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)"
    r"|\.(?<=[Ww]{3}\.)(?<![\w.][Ww]{3}\.)")
# Characters without which _MD_INLINE_RE cannot match anywhere: most names and evidence
# values have none, and a plain character-class search is far cheaper than the full pattern.
_SCHEME_COLON_RE = re.compile(r":\S")
_MD_MAYBE_RE = re.compile(r"[\\`*\[\]<|_~!&:.]")


def markdown_text(value: object) -> str:
    """Text for Markdown that renders as itself, and still reads as itself where Markdown is
    not rendered: only the characters that could start markup where they stand get a
    backslash (CommonMark lets any ASCII punctuation be escaped). Line breaks are flattened, so
    data cannot start a line of its own, and a value that may land at a line's start has its
    heading, list or quote marker escaped too."""
    text = " ".join(str(value).split()) if value is not None else ""
    if _MD_MAYBE_RE.search(text):
        # A scheme needs a ":" with text right after it ("Note: x" has none), and the scheme
        # alternative, tried at every letter, is most of the full pattern's cost.
        pattern = _MD_INLINE_RE if _SCHEME_COLON_RE.search(text) else _MD_INLINE_NO_SCHEME_RE
        text = pattern.sub(_md_escape, text)
    start = _MD_LINE_START_RE.match(text)
    if start:
        end = start.end()
        if start.group()[0].isdigit():  # "1." / "1)": escape the dot, keep the number
            text = text[:end] + "\\" + text[end:]
        else:
            text = "\\" + text
    return text
