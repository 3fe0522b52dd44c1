"""What a file's bytes are: its encoding (UTF-8, with or without a byte-order mark, or
Windows-1252), what it really is when its name lies, and the delimiter its header uses."""

from __future__ import annotations

import csv
import io
import re

from audits.model.errors import ProblemCollector

UTF8_BOM = b"\xef\xbb\xbf"


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""An OLE compound file: an Excel 97-2003 ``.xls``, or an ``.xlsx`` encrypted with a password."""


ZIP_MAGIC = b"PK\x03\x04"
"""An .xlsx workbook is a zip archive: its first bytes say so whatever its name."""


def detect_encoding(data: bytes) -> str | None:
    """The encoding of an exported file: ``utf-8``, ``utf-8-sig`` or ``cp1252``; ``None`` when
    it is none of them (UTF-16 or binary files carry NUL bytes no text export has)."""
    return None if b"\x00" in data else _decoded(data)[0]


def _decoded(data: bytes) -> tuple[str, str] | tuple[None, None]:
    """The encoding and text of ``data`` in the order an export's encodings are tried: UTF-8
    (``utf-8-sig`` with its byte-order mark, which the text then lacks, as that codec reads
    it), then Windows-1252; ``(None, None)`` when neither reads it."""
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8" and text.startswith("\ufeff"):
            return "utf-8-sig", text[1:]
        return encoding, text
    return None, None


def sniff_content(data: bytes) -> str | None:
    """What a file really is when its name lies: ``html``, ``xlsx`` (a zip), ``ole`` (old
    Excel or a password-protected workbook), or ``None`` for anything else."""
    head = data[:512].lstrip(UTF8_BOM).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or \
            (head.startswith(b"<") and b"<html" in head):
        return "html"
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        return "ole"
    return None


# A multi-byte UTF-8 sequence: in a file that is not valid UTF-8 as a whole, these mean part
# of it was written as UTF-8 and part in another encoding.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                            rb"|[\xf0-\xf4][\x80-\xbf]{3}")


# The same sequences found by substring search: each byte becomes its class (``A`` leads a
# two-byte sequence, ``B`` three, ``D`` four, ``C`` continues one, ``.`` anything else), and
# bytes.translate and ``in`` run at memory speed where the regex above is slow on a large
# Windows-1252 file.
_UTF8_CLASSES = bytes(
    ord("A") if 0xC2 <= byte <= 0xDF else ord("B") if 0xE0 <= byte <= 0xEF
    else ord("D") if 0xF0 <= byte <= 0xF4 else ord("C") if 0x80 <= byte <= 0xBF else ord(".")
    for byte in range(256))


def _has_utf8_sequence(data: bytes) -> bool:
    """Whether ``data`` holds a multi-byte UTF-8 sequence (``_UTF8_SEQUENCE``)."""
    classes = data.translate(_UTF8_CLASSES)
    return b"AC" in classes or b"BCC" in classes or b"DCCC" in classes


_UNDECODED = re.compile("[\udc80-\udcff]")
"""A byte ``surrogateescape`` could not decode."""


def _first_bad_row(data: bytes, encoding: str) -> int | None:
    """The spreadsheet row of the first record that does not decode as ``encoding``: the
    records before the first bad byte are counted (a quoted value may span lines)."""
    text = data.decode(encoding, errors="surrogateescape")
    bad = _UNDECODED.search(text)
    if bad is None:
        return None
    before = text[: bad.start() + 1]
    try:
        return sum(1 for _ in csv.reader(io.StringIO(before, newline="")))
    except csv.Error:
        return before.count("\n") + 1


def decode_text(data: bytes, name: str, problems: ProblemCollector) -> tuple[str, str] | None:
    """The file's encoding (what :func:`detect_encoding` says) and its text, decoded once; or
    ``None`` after reporting why it has none."""
    wide = _is_wide_text(data)  # UTF-16 or binary: not text, reported just below
    bom = data.startswith(UTF8_BOM)
    encoding, text = (None, None) if wide and not bom else _decoded(data)
    if bom and encoding != "utf-8-sig":
        problems.add("invalid-utf8", "the file starts with a UTF-8 byte-order mark but is "
                     "not valid UTF-8 from this row on; save it from Excel as 'CSV UTF-8' "
                     "again", file=name, row=_first_bad_row(data, "utf-8"))
        return None
    if wide:
        encoding = None
    if encoding is None:
        problems.add("undecodable-file", "the file is not UTF-8 or Windows-1252 text; save it "
                     "from Excel as 'CSV UTF-8'", file=name,
                     row=None if wide else _first_bad_row(data, "cp1252"))
        return None
    if encoding == "cp1252" and _has_utf8_sequence(data):
        # Read as Windows-1252, the UTF-8 rows would turn "Zoë" into "ZoÃ«" without a word.
        problems.add("mixed-encoding", "the file mixes encodings: most of it is UTF-8 but this "
                     "row is not (rows pasted from another file?); retype the accented "
                     "letters in this row, or save the whole file from Excel as 'CSV UTF-8'",
                     file=name, row=_first_bad_row(data, "utf-8"))
        return None
    return encoding, text


def _is_wide_text(data: bytes) -> bool:
    """Whether the file is UTF-16 (or UTF-32, or binary): a byte-order mark of one, or NUL
    bytes in many places. A few NUL bytes in a text file are damage in those rows, each reported
    where it is (:func:`_nul_problems`)."""
    if b"\x00" not in data:
        return False
    return data.startswith((b"\xff\xfe", b"\xfe\xff")) or data.count(b"\x00") * 20 > len(data)


_OTHER_DELIMITERS = {";": "semicolons (';')", "\t": "tabs", "|": "vertical bars ('|')"}


_SEP_LINE = re.compile(r"\s*sep=(.?)\s*", re.IGNORECASE)
"""Excel's delimiter hint, a first line ``sep=,`` written by some exports."""


def header_line(text: str) -> str:
    end = len(text)
    for newline in ("\n", "\r"):
        at = text.find(newline)
        if at != -1:
            end = min(end, at)
    return text[:end]


def sep_line_problem(header: str, name: str, problems: ProblemCollector) -> bool:
    """True after reporting it, when the first line is Excel's delimiter hint (``sep=;``)."""
    sep = _SEP_LINE.fullmatch(header)
    if not sep:
        return False
    problems.add("sep-line", f"the first line is Excel's delimiter hint {header.strip()!r}, "
                 "not the header row; delete that line so the header is the first line"
                 + ("" if sep.group(1) == "," else ", and save the file comma-separated "
                    "(Save As 'CSV UTF-8 (Comma delimited)')"), file=name, row=1)
    return True


def delimiter_problem(header: str, name: str, problems: ProblemCollector) -> bool:
    """True after reporting it, when the header row is delimited by something else than
    commas (semicolons, tabs, vertical bars)."""
    if "," in header:
        return False
    used = [d for d in _OTHER_DELIMITERS if d in header]
    if not used:
        return False
    delimiter = max(used, key=header.count)
    problems.add("wrong-delimiter", f"this file uses {_OTHER_DELIMITERS[delimiter]} "
                 "as its delimiter, not commas; export it as comma-separated CSV (in "
                 "Excel: Save As 'CSV UTF-8 (Comma delimited)')", file=name, row=1)
    return True
