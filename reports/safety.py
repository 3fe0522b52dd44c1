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


_MD_SPECIAL = "\\`*_{}[]()<>#|~!&:"
_MD_SPECIAL_RE = re.compile("[" + re.escape(_MD_SPECIAL) + "]")


def markdown_text(value: object) -> str:
    """Text for Markdown that renders as itself: every ASCII punctuation character that could
    start inline markup is backslash-escaped (CommonMark allows escaping any ASCII punctuation),
    and line breaks are flattened, so data never starts a line and cannot open a heading or list.
    ``:`` is escaped too, so no scheme (``http:``, ``javascript:``) turns into an autolink."""
    text = " ".join(str(value).split()) if value is not None else ""
    if not _MD_SPECIAL_RE.search(text):
        return text  # most names: nothing to escape
    for char in _MD_SPECIAL:  # the backslash first, so added backslashes stay single
        if char in text:
            text = text.replace(char, "\\" + char)
    return text
