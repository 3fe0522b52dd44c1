"""The streaming half of the xlsx writer: the rows of the big sheets as the XML openpyxl
writes for them, made column by column, and streamed into the saved file's sheet parts (with
their in-workbook hyperlinks) on a second thread: a few C-speed passes per column instead of
openpyxl's objects per cell."""

from __future__ import annotations

import itertools
import math
import os
import queue
import shutil
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from xml.etree import ElementTree

import numpy
from openpyxl.utils import get_column_letter

from audits.io.folders import claimed_temporary
from audits.io.cells import formula_positions, looks_like_formula, visible_texts


EXCEL_CELL_LIMIT = 32_767


# on 208 pages, each showing two or three columns.
LINE_HEIGHT = 15.0  # points per line of 11 pt Calibri (Excel's default row height)
MAX_CELL_LINES = 6
"""The most lines a row is made tall for (92 points): taller rows, up to Excel's 409-point
limit, printed as pages of wall text. Longer texts are shortened (:func:`short_cell`) and
shown whole on the Details sheet."""
MAX_ROW_HEIGHT = MAX_CELL_LINES * LINE_HEIGHT + 2


def text_lines(value: Any, width: float) -> int:
    """How many lines ``value`` wraps to in a column ``width`` characters wide: an estimate on
    the safe side (proportional text runs about 1.1 characters a width unit; word wrap loses
    part of a word at each line's end)."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(1, int(width * 1.1) - 3)
    return sum(max(1, -(-len(line) // per_line)) for line in value.split("\n"))


def row_height(lines: int) -> float | None:
    """The height, in points, of a row whose tallest cell has ``lines`` lines; None for one
    line, which keeps the default (and lets a spreadsheet size it itself)."""
    if lines <= 1:
        return None
    return min(MAX_ROW_HEIGHT, round(lines * LINE_HEIGHT + 2, 1))


def xml_text(value: str) -> str:
    """A text already :func:`~audits.io.cells.visible`, cut to a cell and escaped for XML."""
    if len(value) > EXCEL_CELL_LIMIT:
        value = value[: EXCEL_CELL_LIMIT - 1] + "…"
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rows_xml(rows: Iterable[Sequence], column_styles: Sequence[tuple[Any, int]],
              first_row: int = 2, wrap_widths: Sequence[float | None] = (),
              rows_per_chunk: int = 1) -> Iterator[bytes]:
    """``<row>`` elements, the way openpyxl writes them: text as inline strings (never
    formulas; formula-like text gets the quote-prefix style), numbers as numbers, missing
    values as no cell. ``column_styles[i]`` is ``(style, quote_style)``: the cell style id of
    column i (or a dict from the cell's text to a style id, or None), and the one to use when
    its text looks like a formula. ``wrap_widths[i]``, when given, is the width of a column
    whose text wraps: the row gets the height of its tallest wrapped cell (``ht`` with
    ``customHeight``), since neither openpyxl nor LibreOffice sizes streamed rows. Each
    piece of UTF-8 yielded holds ``rows_per_chunk`` rows."""
    rows = [list(row) for row in rows]
    width = len(column_styles)
    columns = [[row[i] if i < len(row) else None for row in rows] for i in range(width)]
    return columns_xml(columns, column_styles, first_row, wrap_widths, rows_per_chunk)


def escaped_texts(texts: list[str]) -> list[bytes]:
    """``xml_text`` of every text (already visible, so none holds NUL), as UTF-8, done on
    the column joined into one string (a few C-speed passes instead of calls per cell)."""
    joined = "\0".join(texts)
    if (joined.count("\0") != len(texts) - 1
            or max(map(len, texts), default=0) > EXCEL_CELL_LIMIT):
        # Rare: huge cells.
        return [xml_text(text).encode("utf-8") for text in texts]
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        if char in joined:
            joined = joined.replace(char, entity)
    return joined.encode("utf-8").split(b"\0")


class _Column:
    """One column's cells as the UTF-8 pieces of each ``<c>`` element: ``head``
    (``<c r="A``), the row number, ``mid`` (the rest of the start tag and the opening of the
    value), the value and ``tail``. Each piece is one for every row or a list with one per
    row; a row with no cell has b"" for every piece. Rows are made by filling a list of pieces
    slice by slice and joining it (:func:`columns_xml`): nothing is built or encoded per
    cell in Python, and the markup around the values is encoded once."""

    __slots__ = ("head", "number", "mid", "text", "tail")

    def __init__(self, head, number, mid, text, tail) -> None:
        self.head, self.number, self.mid, self.text, self.tail = head, number, mid, text, tail


def _spread(size: int, at: list[int], values) -> list:
    """A list of ``size`` items: ``values`` (one per position, or one for all) at the
    positions ``at``, b"" elsewhere."""
    out = numpy.full(size, b"", dtype=object)
    if isinstance(values, bytes):
        out[at] = values
    else:
        spread = numpy.empty(len(values), dtype=object)
        spread[:] = values
        out[at] = spread
    return out.tolist()


_INLINE = ' t="inlineStr"><is><t xml:space="preserve">'
_TEXT_TAIL, _VALUE_TAIL = b"</t></is></c>", b"</v></c>"
TEXT_OR_NONE = {str, type(None)}


def _text_pieces(texts: list[str], style, quote_style) -> tuple[Any, list[bytes]]:
    """The ``mid`` piece (one for all, or one per text) and the escaped value of text cells:
    formula-like text gets the quote-prefix style."""
    texts = visible_texts(texts)
    quoted = f'"{f" s={chr(34)}{quote_style}{chr(34)}" if quote_style else ""}{_INLINE}'.encode()
    if isinstance(style, dict):
        mids: Any = [quoted if looks_like_formula(text) else
                     (f'" s="{style.get(text)}"{_INLINE}' if style.get(text) else
                      f'"{_INLINE}').encode() for text in texts]
        return mids, escaped_texts(texts)
    mids = f'"{f" s={chr(34)}{style}{chr(34)}" if style else ""}{_INLINE}'.encode()
    risky = formula_positions(texts)
    if risky:
        mids = [mids] * len(texts)
        for k in risky:
            mids[k] = quoted
    return mids, escaped_texts(texts)


def _column_cells(letter: str, values: list, numbers: list[bytes], style,
                  quote_style) -> _Column:
    """One column's ``<c>`` elements, as :class:`_Column` pieces."""
    size = len(values)
    head = f'<c r="{letter}'.encode()
    if set(map(type, values)) <= TEXT_OR_NONE:
        # The common case (text columns), without the per-value type dispatch below.
        present = numpy.fromiter(map(bool, values), dtype=bool, count=size)
        text_at = numpy.flatnonzero(present).tolist()
        if len(text_at) == size:
            return _Column(head, numbers, *_text_pieces(values, style, quote_style), _TEXT_TAIL)
        mids, escaped = _text_pieces([values[at] for at in text_at], style, quote_style)
        return _Column(_spread(size, text_at, head),
                       _spread(size, text_at, [numbers[at] for at in text_at]),
                       _spread(size, text_at, mids), _spread(size, text_at, escaped),
                       _spread(size, text_at, _TEXT_TAIL))
    heads, nums, mids, shown, tails = ([b""] * size for _ in range(5))
    text_at, texts = [], []
    # Numbers take the column's style too (its number format: Confidence as a percentage).
    number_mid = (f'" s="{style}" t="n"><v>' if isinstance(style, int) and style
                  else '" t="n"><v>').encode()
    for at, value in enumerate(values):
        if value is None or value == "":
            continue
        if isinstance(value, str):
            text_at.append(at)
            texts.append(value)
            continue
        if isinstance(value, bool):
            mids[at], shown[at] = b'" t="b"><v>', b"1" if value else b"0"
        elif isinstance(value, (int, float)) and math.isfinite(value):
            mids[at], shown[at] = number_mid, repr(value).encode()
        else:
            text_at.append(at)
            texts.append(str(value))
            continue
        heads[at], nums[at], tails[at] = head, numbers[at], _VALUE_TAIL
    if texts:
        text_mids, escaped = _text_pieces(texts, style, quote_style)
        for k, at in enumerate(text_at):
            heads[at], nums[at], tails[at] = head, numbers[at], _TEXT_TAIL
            mids[at] = text_mids if isinstance(text_mids, bytes) else text_mids[k]
            shown[at] = escaped[k]
    return _Column(heads, nums, mids, shown, tails)


def _text_lines_column(values: list, width: float) -> "numpy.ndarray":
    """:func:`text_lines` of every value of a column, counted on all of them at once."""
    per_line = max(1, int(width * 1.1) - 3)
    size = len(values)
    lines = numpy.ones(size, dtype=numpy.int64)
    at = [k for k, value in enumerate(values) if value.__class__ is str and value]
    if not at:
        return lines
    texts = [values[k] for k in at]
    # Each text's lines, one after another: the length of each, and whose it is.
    breaks = numpy.fromiter(map(str.count, texts, itertools.repeat("\n")), dtype=numpy.int64,
                            count=len(texts))
    lengths = numpy.fromiter(map(len, "\n".join(texts).split("\n")), dtype=numpy.int64)
    owner = numpy.repeat(numpy.arange(len(texts)), breaks + 1)
    wrapped = numpy.maximum(1, -(-lengths // per_line))
    lines[at] = numpy.bincount(owner, weights=wrapped, minlength=len(texts)).astype(numpy.int64)
    return lines


def columns_xml(columns: Sequence[list], column_styles: Sequence[tuple[Any, int]],
                 first_row: int = 2, wrap_widths: Sequence[float | None] = (),
                 rows_per_chunk: int = 1) -> Iterator[bytes]:
    """:func:`rows_xml` of rows given column by column, ``rows_per_chunk`` rows to each
    piece of UTF-8 it yields: each column's cells are worked out in one pass
    (:class:`_Column`), then a chunk of rows is one join over a list filled slice by slice."""
    count = min((len(c) for c in columns), default=0)
    numbers = "\0".join(map(str, range(first_row, first_row + count))).encode().split(b"\0") \
        if count else []
    letters = [get_column_letter(i) for i in range(1, len(column_styles) + 1)]
    cells = [_column_cells(letter, list(values)[:count], numbers, style, quote)
             for letter, (style, quote), values in zip(letters, column_styles, columns)]
    row_ends: Any = b'">'
    wrapped = [(columns[i], w) for i, w in enumerate(wrap_widths) if w and i < len(columns)]
    if wrapped and count:
        tallest = numpy.max([_text_lines_column(list(values)[:count], w)
                             for values, w in wrapped], axis=0)
        row_ends = [f'"{height_attr(int(lines))}>'.encode() if lines > 1 else b'">'
                    for lines in tallest.tolist()]
    stride = 4 + 5 * len(cells)
    for start in range(0, count, rows_per_chunk):
        end = min(count, start + rows_per_chunk)
        size = end - start
        pieces = [b""] * (size * stride)
        pieces[0::stride] = [b'<row r="'] * size
        pieces[1::stride] = numbers[start:end]
        pieces[2::stride] = [row_ends] * size if isinstance(row_ends, bytes) \
            else row_ends[start:end]
        for k, column in enumerate(cells):
            for offset, piece in enumerate((column.head, column.number, column.mid,
                                            column.text, column.tail), 3 + 5 * k):
                pieces[offset::stride] = [piece] * size if isinstance(piece, bytes) \
                    else piece[start:end]
        pieces[stride - 1::stride] = [b"</row>"] * size
        yield b"".join(pieces)


def height_attr(lines: int) -> str:
    height = row_height(lines)
    return f' ht="{height}" customHeight="1"' if height else ""


def sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str:
    """The zip member holding the named sheet, found the way Excel finds it (workbook.xml,
    then its relationships), not by guessing openpyxl's file names."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    wanted = next(sheet.get(rel_id) for sheet in workbook.iter(f"{main}sheet")
                  if sheet.get("name") == sheet_name)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(rel.get("Target") for rel in rels if rel.get("Id") == wanted)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _hyperlinks_xml(links: Sequence[tuple[str, str]]) -> bytes:
    """A sheet's ``<hyperlinks>``: links within the workbook (``location``) need no
    relationship part, so they can be written beside streamed rows."""
    if not links:
        return b""
    return ("<hyperlinks>" + "".join(
        f'<hyperlink ref="{ref}" location="{xml_text(location).replace(chr(34), "&quot;")}"/>'
        for ref, location in links) + "</hyperlinks>").encode("utf-8")


# The elements a worksheet may have after <hyperlinks>, in the schema's order: the links go
# before the first of them that the sheet has.
_AFTER_HYPERLINKS = ("<printOptions", "<pageMargins", "<pageSetup", "<headerFooter",
                     "<rowBreaks", "<colBreaks", "<customProperties", "<cellWatches",
                     "<ignoredErrors", "<smartTags", "<drawing", "<legacyDrawing", "<picture",
                     "<oleObjects", "<controls", "<webPublishItems", "<tableParts", "<extLst",
                     "</worksheet>")


def append_rows(path: Path, sheets: dict[str, Iterator[bytes]],
                 links: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> None:
    """Stream each sheet's rows into the saved workbook, before its ``</sheetData>``, and its
    links (``links[sheet]``, (cell, location) pairs) where the schema puts them."""
    handle, rebuilt = claimed_temporary(path)  # named so a killed run's copy is removed
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(
                rebuilt, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as target:
            parts = {sheet_part(source, name): name for name in sheets}
            for info in source.infolist():
                name = parts.get(info.filename)
                if name is None:
                    with source.open(info) as data, target.open(info.filename, "w") as out:
                        shutil.copyfileobj(data, out, 1 << 20)
                    continue
                xml = source.read(info).decode("utf-8")
                cut = xml.rindex("</sheetData>")
                tail = xml[cut:]
                rows = sheets[name]
                hyperlinks = _hyperlinks_xml((links or {}).get(name, ()))
                with target.open(info.filename, "w", force_zip64=True) as out:
                    out.write(xml[:cut].encode("utf-8"))
                    _write_beside(out, rows)
                    if hyperlinks:
                        at = min(i for i in (tail.find(tag) for tag in _AFTER_HYPERLINKS)
                                 if i >= 0)
                        out.write(tail[:at].encode("utf-8"))
                        out.write(hyperlinks)
                        tail = tail[at:]
                    out.write(tail.encode("utf-8"))
        if handle >= 0:  # closed before the rename (not every system renames an open file)
            os.close(handle)
            handle = -1
        os.replace(rebuilt, path)
    finally:
        if handle >= 0:
            os.close(handle)
        rebuilt.unlink(missing_ok=True)


def _write_beside(out, chunks: Iterator[bytes]) -> None:
    """``out.write`` each chunk, on a second thread: compressing the sheet (zlib lets go of
    the interpreter while it works) then overlaps making the next rows. At most a few
    chunks wait in between."""
    waiting: queue.Queue = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def drain() -> None:
        while (chunk := waiting.get()) is not None:
            if not failed:
                try:
                    out.write(chunk)
                except BaseException as error:  # handed to the caller below
                    failed.append(error)

    writer = threading.Thread(target=drain, name="xlsx-rows", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failed:
                break
            waiting.put(chunk)
    finally:
        waiting.put(None)
        writer.join()
    if failed:
        raise failed[0]
