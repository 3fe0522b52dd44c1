"""The Preview sheet: the accounts generation would create, in words a principal reads."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterator, Mapping

from reports.workbook.layout import PREVIEW_SHEET, ROWS_PER_CHUNK, WRAP, style_array, table_sheet
from reports.workbook.xlsx import TEXT_OR_NONE, columns_xml

if TYPE_CHECKING:
    import pandas as pd


def _preview_values(series) -> list:
    """A preview column as cell values: lists joined, missing values empty, text kept text."""
    if str(series.dtype) in ("str", "string") or series.dtype.kind in "iub":
        # No lists and no odd objects here: only missing values need replacing.
        missing = series.isna()
        values = series.tolist()
        if missing.any():
            for at in missing.to_numpy().nonzero()[0].tolist():
                values[at] = None
        return values
    values = series.tolist()
    if set(map(type, values)) <= TEXT_OR_NONE:
        return values  # an object column holding text only: nothing to convert
    out = []
    for value in values:
        if isinstance(value, (list, tuple, set, frozenset)):
            value = ", ".join(str(v) for v in value)
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            value = None
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        out.append(value)
    return out


PREVIEW_HEADERS = {
    "contact_id": "Contact", "name": "Name", "school_id": "School ID", "school": "School",
    "student_ids": "Students", "student_count": "Number of students", "username": "Username",
    "username_key": "Username as compared", "username_problem": "Username problem",
    "status": "SIS screen shows", "outcome": "Outcome", "reason": "Why",
    "related": "Related records",
}
"""The Preview sheet's headers: what each preview column (audits/preview.py) means."""
PREVIEW_WIDTHS = {"Name": 26, "School": 28, "Students": 24, "Username": 30,
                  "Username problem": 24, "Outcome": 36, "Why": 60, "Related records": 20}
PREVIEW_WRAPPED = ("Outcome", "Why")


def preview_for_people(preview: "pd.DataFrame", schools: Mapping[str, str]) -> "pd.DataFrame":
    """The preview as the Preview sheet shows it: human headers, outcomes in words, each
    school's name beside its id, and no column that says nothing (a status that is the same
    on every row, the username as compared when it is the username)."""
    from audits.preview import OUTCOME_WORDS

    frame = preview.copy(deep=False)
    if "status" in frame.columns and frame["status"].nunique(dropna=False) <= 1:
        # The SIS screen shows "Will be created" on every row, whatever then happens to it:
        # beside a refusal, that reads as a contradiction, and it says nothing row by row.
        frame = frame.drop(columns="status")
    if {"username", "username_key"} <= set(frame.columns) and (
            frame["username_key"].fillna("").astype(str)
            == frame["username"].fillna("").astype(str)).all():
        frame = frame.drop(columns="username_key")
    if "school_id" in frame.columns and schools and "school" not in frame.columns:
        at = list(frame.columns).index("school_id") + 1
        frame.insert(at, "school", frame["school_id"].map(dict(schools)))
    if "outcome" in frame.columns:
        frame["outcome"] = frame["outcome"].map(OUTCOME_WORDS).fillna(frame["outcome"])
    if "reason" in frame.columns:
        frame["reason"] = [r[:1].upper() + r[1:] if isinstance(r, str) else r
                           for r in frame["reason"].tolist()]
    return frame.rename(columns={c: PREVIEW_HEADERS.get(str(c), str(c).replace("_", " ")
                                                        .capitalize())
                                 for c in frame.columns})


def preview_sheet(book, preview: "pd.DataFrame | None",
                   schools: Mapping[str, str] | None = None) -> Iterator[bytes] | None:
    """The Preview sheet's header, through openpyxl; its rows come back as XML to stream into
    the saved file (:func:`append_rows`), since openpyxl's cell objects are slow on a
    big board's preview."""
    if preview is None:
        columns = [("Preview", 60)]
        sheet = table_sheet(book, PREVIEW_SHEET, columns, 1)
        sheet.append(["No generation preview was given."])
        return None
    shown = preview_for_people(preview, schools or {})
    titles = [str(c) for c in shown.columns]
    widths = [PREVIEW_WIDTHS.get(t, min(60, max(12, len(t) + 4))) for t in titles]
    sheet = table_sheet(book, PREVIEW_SHEET, list(zip(titles, widths)), len(shown))
    styles = book._cell_styles
    quote_style = styles.add(style_array(sheet, None, None, None, True))
    wrap = styles.add(style_array(sheet, None, None, WRAP, False))
    wrap_quote = styles.add(style_array(sheet, None, None, WRAP, True))
    columns = [_preview_values(shown[c]) for c in shown.columns]
    column_styles = [(wrap, wrap_quote) if t in PREVIEW_WRAPPED else (None, quote_style)
                     for t in titles]
    wrap_widths = [w if t in PREVIEW_WRAPPED else None for t, w in zip(titles, widths)]
    return columns_xml(columns, column_styles, wrap_widths=wrap_widths,
                        rows_per_chunk=ROWS_PER_CHUNK)
