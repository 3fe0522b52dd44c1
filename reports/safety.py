"""Keeping data as data: text a page would run as markup, or a script element would end on.

Formula-defusing and the visible escape of invisible characters live in :mod:`audits.io.cells`
(the fix writers need them too, and they must not import the reports); the JSON and Markdown
here apply the latter.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from audits.io.cells import json_escaped, visible, visible_texts

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; json.dumps still works without it
    orjson = None  # type: ignore[assignment]


_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_SCRIPT_UNSAFE_BYTES = [(char.encode("utf-8"), escaped.encode("ascii"))
                        for char, escaped in _SCRIPT_UNSAFE.items()]


def json_for_script(data: Any) -> str:
    """JSON to embed inside ``<script type="application/json">``: no ``</script>``, no ``<!--``
    and no ``&`` can appear in it, so no data can end the element or start markup.
    ``JSON.parse`` reads the ``\\u003c`` escapes back as the original characters."""
    return json_for_script_bytes(data).decode("utf-8")


def json_for_script_bytes(data: Any) -> bytes:
    """:func:`json_for_script` as UTF-8, for a page written as bytes.

    orjson writes the JSON (an order of magnitude faster than ``json.dumps`` on a report's
    100+ MB); what it refuses (keys that are not strings, integers beyond 64 bits) goes
    through ``json.dumps``. Replacing the unsafe characters on the
    UTF-8 is exact: a character's encoding never appears inside another's. Invisible
    characters (:mod:`audits.io.cells`) are written as ``\\u`` escapes: the script reads the
    same data, and no override stands raw in the page."""
    raw = None
    if orjson is not None:
        try:
            raw = orjson.dumps(data)
        except TypeError:  # orjson.JSONEncodeError
            raw = None
    if raw is None:
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass")  # a lone surrogate: escaped just below
    raw = json_escaped(raw)
    for char, escaped in _SCRIPT_UNSAFE_BYTES:  # bytes.replace: C speed on 100+ MB
        raw = raw.replace(char, escaped)  # (testing "in" first would scan twice)
    return raw


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
_MD_MAYBE_RE = re.compile(r"[\\`*\[\]<|_~!&:]|[Ww]{3}\.")


def markdown_text(value: object) -> str:
    """Text for Markdown that renders as itself, and still reads as itself where Markdown is
    not rendered: only the characters that could start markup where they stand get a
    backslash (CommonMark lets any ASCII punctuation be escaped). Line breaks are flattened, so
    data cannot start a line of its own, and a value that may land at a line's start has its
    heading, list or quote marker escaped too."""
    if value.__class__ is str:
        return _markdown_str(value)  # type: ignore[arg-type]
    return _markdown_str(str(value)) if value is not None else ""


@lru_cache(maxsize=4096)
def _markdown_str(text: str) -> str:
    # Cached: a runbook repeats the same few texts (why it matters, the fix's closing steps,
    # evidence names) for every finding, and a long paragraph costs tens of microseconds.
    text = _flattened(visible(text))
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


def markdown_texts(values: list[object]) -> list[str]:
    """``[markdown_text(v) for v in values]``, with the escaping done once on the texts joined
    by line breaks: flattened texts hold none, and a line break stands where a text's start or
    end does for every rule (not a letter, digit or space; whitespace, so no scheme colon or
    entity reaches across it)."""
    joined = "\n".join([_flattened(text) for text in visible_texts(
        [str(value) if value is not None else "" for value in values])])
    if _SCHEME_COLON_RE.search(joined):
        texts = _MD_INLINE_RE.sub(_md_escape, joined).split("\n")
    else:
        texts = _escape_inline(joined).split("\n")
    for k, text in enumerate(texts):
        first = text[:1]
        if first and (first in _LINE_OPENERS or first.isdecimal()):  # else no match: skip it
            start = _MD_LINE_START_RE.match(text)
            if start:
                end = start.end()
                texts[k] = (text[:end] + "\\" + text[end:] if start.group()[0].isdigit()
                            else "\\" + text)
    return texts


def _flattened(text: str) -> str:
    """``" ".join(text.split())``, skipped for text that is flat already: printable text holds
    no whitespace but spaces (isprintable() is one fast pass), so only doubled or outer
    spaces could change."""
    if (text.isprintable() and "  " not in text and text[:1] != " "
            and text[-1:] != " "):
        return text
    return " ".join(text.split())


_LINE_OPENERS = "#-+=>~"
"""The characters _MD_LINE_START_RE can start with, besides digits."""


# _MD_INLINE_NO_SCHEME_RE's rules one character at a time, each applied only when its
# character is there at all ("in" is a fast scan; a pattern is a slow one, ~15 ns a character).
_MD_IMAGE_RE = re.compile(r"!(?=\[)")
_MD_UNDERSCORE_RE = re.compile(r"_(?:(?<![^\W_]_)|(?![^\W_]))")  # [^\W_]: what isalnum() accepts
_MD_TILDE_RE = re.compile(r"~(?:(?<! ~)|(?! ))")
_MD_ENTITY_RE = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_MD_WWW_RE = re.compile(r"\.(?<=[Ww]{3}\.)(?<![\w.][Ww]{3}\.)")


def _escape_inline(text: str) -> str:
    """``_MD_INLINE_NO_SCHEME_RE.sub(_md_escape, text)``, rule by rule. Each rule's context is
    unchanged by the rules before it: a backslash only ever goes in front of a character that
    is escaped (never a letter, digit or space), backslashes are doubled first, and "!" is
    decided before the "[" after it gets its backslash."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "!" in text:
        text = _MD_IMAGE_RE.sub(r"\\!", text)
    for char in "`*[]<|":
        if char in text:
            text = text.replace(char, "\\" + char)
    if "_" in text:
        text = _MD_UNDERSCORE_RE.sub(r"\\_", text)
    if "~" in text:
        text = _MD_TILDE_RE.sub(r"\\~", text)
    if "&" in text:
        text = _MD_ENTITY_RE.sub(r"\\&", text)
    if "w." in text or "W." in text:
        text = _MD_WWW_RE.sub(r"\\.", text)
    return text
