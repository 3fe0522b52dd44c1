"""Writing a sample board as a board export: CSV files in mixed encodings, or one workbook,
with ``truth.json`` beside them. Same sample, same bytes."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from audits.model.board import TABLES

if TYPE_CHECKING:
    from audits.sample.assemble import SampleBoard

# Windows tools write CRLF; the other encodings come from tools that write LF.
_LINE_ENDINGS = {"cp1252": "\r\n", "utf-8-sig": "\n", "utf-8": "\n"}
_FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
_FIXED_XML_TIME = "2026-01-01T00:00:00Z"


def write_board(sample: "SampleBoard", out: Path, *, xlsx: bool = False) -> Path:
    """Write ``sample`` into the folder ``out`` and return what to load: the folder (one
    ``<table>.csv`` per table) or, with ``xlsx``, ``out/board.xlsx`` (a sheet per table).
    ``out/truth.json`` holds the ground truth and the encoding of each file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if xlsx:
        target = out / "board.xlsx"
        _write_workbook(sample, target)
        encodings = {"board.xlsx": "xlsx"}
    else:
        target = out
        encodings = dict(sample.encodings)
        for name in TABLES:
            file = f"{name}.csv"
            encoding = encodings[file]
            text = sample.tables[name].to_csv(index=False, lineterminator=_LINE_ENDINGS[encoding])
            (out / file).write_bytes(text.encode(encoding))
    document = {
        "generator": {"module": "audits.sample", "seed": sample.seed,
                      "students": len(sample.tables["students"])},
        "encodings": encodings,
        **sample.truth,
    }
    (out / "truth.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8", newline="\n")
    return target


def _write_workbook(sample: "SampleBoard", target: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for name in TABLES:
        frame = sample.tables[name]
        sheet = workbook.create_sheet(name)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False, name=None):
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    target.write_bytes(_stable_zip(buffer.getvalue()))


def _stable_zip(data: bytes) -> bytes:
    """The workbook with its clock readings fixed (zip entry times, document properties), so
    one sample always gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*",
                                 rb"\g<1>" + _FIXED_XML_TIME.encode(), content)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, content)
    return buffer.getvalue()
