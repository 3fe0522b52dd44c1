"""The check sheets (one row per finding and school, long texts shortened), the Details
sheet holding the whole of every shortened text, and the Changes since last run sheet."""

from __future__ import annotations

from typing import Iterator, Sequence

from audits.model.findings import Finding
from reports import wording
from reports.workbook.layout import (DETAILS_SHEET, CHANGES_SHEET, LINK_FONT, ROWS_PER_CHUNK,
                                     SEVERITY_FILLS, TOP, WRAP, style_array, table_sheet)
from reports.workbook.xlsx import MAX_CELL_LINES, columns_xml, rows_xml, text_lines


# Widths in characters. Long text columns wrap (WRAPPED_COLUMNS) rather than run wide, so a
# printed page fitted to one page wide stays readable.
CHECK_COLUMNS: list[tuple[str, float]] = [
    ("Finding ID", 32), ("Severity", 9), ("School ID", 10), ("School", 24), ("Also in", 12),
    ("Title", 42), ("People (name and id)", 40), ("Pairs", 26), ("Username", 28),
    ("Evidence", 44), ("Fix action", 16), ("Fix steps", 60), ("Confidence", 11),
]


CHANGES_COLUMNS: list[tuple[str, float]] = [
    ("Status", 12), ("Finding ID", 26), ("Check", 24), ("Severity", 10), ("School ID", 12),
    ("Title", 70),
]


SHORT_COLUMNS = ("Title", "People (name and id)", "Pairs", "Evidence", "Fix steps")
"""Check-sheet columns whose text is shortened to a few lines (:func:`short_cell`); the whole
text is on the Details sheet, where the row's Finding ID links to. The link is on the ID, not
on the shortened cell: LibreOffice shows a linked cell as one unwrapped line."""
SHORT_CELL_CHARS = 200
MORE = "(more in Details: click the Finding ID)"
ALSO_IN_LISTED = 5
"""Other schools named in a row's "Also in" cell; past that, "+N more"."""


def cut_text(text: str, size: int) -> str:
    """``text`` in at most ``size`` characters, cut at a space when one is near, with "…"."""
    if len(text) <= size:
        return text
    cut = text[: max(1, size - 1)]
    space = cut.rfind(" ")
    if space > size * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ;,") + "…"


def short_cell(text: str, width: float) -> str | None:
    """``text`` shortened for a cell ``width`` characters wide: whole lines while they fit in
    about :data:`SHORT_CELL_CHARS` characters and :data:`MAX_CELL_LINES` wrapped lines, the
    next one cut, then :data:`MORE`. None when the text fits as it is."""
    per_line = max(1, int(width * 1.1) - 3)
    if not text:
        return None
    if len(text) <= SHORT_CELL_CHARS:
        # Each line wraps to at most 1 + its length / per_line lines: most texts are within
        # the limit by that bound alone, without counting their lines one by one.
        breaks = text.count("\n")
        if not breaks:
            if -(-len(text) // per_line) <= MAX_CELL_LINES:
                return None
        elif (breaks + 1 + len(text) // per_line <= MAX_CELL_LINES
              or text_lines(text, width) <= MAX_CELL_LINES):
            return None
    kept: list[str] = []
    lines_left, chars_left = MAX_CELL_LINES - 1, SHORT_CELL_CHARS - len(MORE) - 1
    for line in text.split("\n"):
        needs = text_lines(line, width)
        if needs <= lines_left and len(line) < chars_left:
            kept.append(line)
            lines_left, chars_left = lines_left - needs, chars_left - len(line) - 1
            continue
        room = min(chars_left, lines_left * per_line)
        if room >= 24 or not kept:
            kept.append(cut_text(line, max(room, 8)))
        break
    return "\n".join(kept + [MORE])


def also_in(school_ids: Sequence[str], here: str) -> str:
    """The finding's other schools, for the row of school ``here``: "0004, 0007"."""
    others = [s for s in school_ids if s != here]
    if len(others) > ALSO_IN_LISTED:
        return ", ".join(others[:ALSO_IN_LISTED]) + f" +{len(others) - ALSO_IN_LISTED} more"
    return ", ".join(others)


def finding_texts(finding: Finding) -> list:
    """The columns of :data:`CHECK_COLUMNS` that are the same on every school's row of the
    finding: Title to Confidence (School ID, School and Also in are per row)."""
    fix = finding.fix
    return [
        finding.title,
        wording.people_text(finding),
        wording.pairs_text(finding),
        finding.username or "",
        wording.evidence_text(finding.evidence),
        wording.fix_action(fix),
        "\n".join(wording.fix_steps(fix)),
        round(float(finding.confidence), 4),
    ]


def finding_values(finding: Finding, schools, school: str | None = None) -> list[list]:
    """The finding's check-sheet rows, with the values of :data:`CHECK_COLUMNS` in order: one
    row per school it involves (one with no school when it has none), so a filter on School
    ID shows exactly one school's findings; "Also in" names the finding's other schools, so
    rows are not taken for separate findings. ``school``: only that school's row."""
    texts = finding_texts(finding)
    ids = list(finding.school_ids) or [""]
    return [[finding.id, finding.severity.value, sid,
             schools.get(sid, "") if sid else wording.NO_SCHOOL, also_in(finding.school_ids, sid),
             *texts] for sid in ids if school is None or sid == school]


WRAPPED_COLUMNS = {"School", "Title", "People (name and id)", "Pairs", "Evidence", "Fix steps"}


class Details:
    """The long texts the check sheets shorten, for the Details sheet: a text's lines run over
    as many rows as they need, a few wrapped lines to a row, so no row is tall and the sheet
    prints densely."""

    WIDTH = 150
    COLUMNS: list[tuple[str, float]] = [("Finding ID", 32), ("Field", 14), ("Text", WIDTH)]
    ROW_LINES = 4
    ROW_CHARS = ROW_LINES * (int(WIDTH * 1.1) - 3)

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, finding: Finding, field: str, text: str) -> str:
        """Add ``text``; returns the location of its first row, for a link."""
        first = len(self.rows) + 2
        field = DETAIL_FIELDS.get(field, field)
        pieces: list[str] = []
        for line in text.split("\n"):
            while len(line) > self.ROW_CHARS:
                piece = cut_text(line, self.ROW_CHARS)[:-1]
                pieces.append(piece + "…")
                line = "…" + line[len(piece):].lstrip()
            pieces.append(line)
        # Evidence fields are short: run on, they fill the wide column instead of a line each
        # (printed, the Details sheet is most of the workbook). Steps stay one to a line.
        run_on = field != "Fix steps"
        joiner = " · " if run_on else "\n"
        per_line = max(1, int(self.WIDTH * 1.1) - 3)
        row: list[str] = []
        size = 0  # the row's characters (run on) or wrapped lines (one piece to a line)
        for piece in pieces:
            grows = len(piece) + 3 if run_on else max(1, -(-len(piece) // per_line))
            lines = -(-(size + grows) // per_line) if run_on else size + grows
            if row and lines > self.ROW_LINES:
                self.rows.append((finding.id, field, joiner.join(row)))
                row, size = [], 0
                grows = len(piece) if run_on else grows
            row.append(piece)
            size += grows
        if row:
            self.rows.append((finding.id, field, joiner.join(row)))
        return f"'{DETAILS_SHEET}'!A{first}"


DETAIL_FIELDS = {"People (name and id)": "People"}


def check_sheet(book, name: str, findings: list[Finding], report, details: "Details",
                 school: str | None = None) -> tuple[Iterator[bytes], list[tuple[str, str]]]:
    """The check sheet's header; its rows as XML, and the links to the Details sheet (from the
    Finding ID of a row whose text was shortened) as (cell, location) pairs."""
    schools = report.schools
    titles = [title for title, _ in CHECK_COLUMNS]
    short = {titles.index(t): (t, dict(CHECK_COLUMNS)[t]) for t in SHORT_COLUMNS}
    rows: list[list] = []
    linked: set[str] = set()
    links: list[tuple[str, str]] = []
    for finding in findings:
        finding_rows = finding_values(finding, schools, school)
        if not finding_rows:
            continue
        first = finding_rows[0]
        target = None
        for at, (title, width) in short.items():
            value = first[at]
            shortened = short_cell(value, width) if isinstance(value, str) else None
            if shortened is not None:
                location = details.add(finding, title, value)
                target = target or location
                for row in finding_rows:
                    row[at] = shortened
        if target is not None:
            linked.add(finding.id)
        for row in finding_rows:
            if target is not None:
                links.append((f"A{len(rows) + 2}", target))
            rows.append(row)
    sheet = table_sheet(book, name, CHECK_COLUMNS, len(rows))
    styles = book._cell_styles
    # Rows are as tall as their longest text: every cell aligns to the top, where reading starts.
    top = styles.add(style_array(sheet, None, None, TOP, False))
    top_quote = styles.add(style_array(sheet, None, None, TOP, True))
    wrap = styles.add(style_array(sheet, None, None, WRAP, False))
    wrap_quote = styles.add(style_array(sheet, None, None, WRAP, True))
    percent = styles.add(style_array(sheet, None, None, TOP, False, CONFIDENCE_FORMAT))
    severity = {value: styles.add(style_array(sheet, fill, None, TOP, False))
                for value, fill in SEVERITY_FILLS.items()}
    link = styles.add(style_array(sheet, None, LINK_FONT, TOP, False))
    column_styles = []
    for title, _ in CHECK_COLUMNS:
        if title == "Finding ID":
            column_styles.append(({f.id: link if f.id in linked else top for f in findings},
                                  top_quote))
        elif title == "Severity":
            column_styles.append((severity, top_quote))
        elif title == "Confidence":
            column_styles.append((percent, top_quote))
        elif title in WRAPPED_COLUMNS:
            column_styles.append((wrap, wrap_quote))
        else:
            column_styles.append((top, top_quote))
    wrap_widths = [width if title in WRAPPED_COLUMNS else None for title, width in CHECK_COLUMNS]
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in CHECK_COLUMNS]
    return columns_xml(columns, column_styles, wrap_widths=wrap_widths,
                        rows_per_chunk=ROWS_PER_CHUNK), links


CONFIDENCE_FORMAT = "0.0%"


def details_sheet(book, details: "Details") -> Iterator[bytes] | None:
    """The whole text of every shortened check-sheet cell, one line a row."""
    sheet = table_sheet(book, DETAILS_SHEET, details.COLUMNS, len(details.rows))
    if not details.rows:
        sheet.append(["No text was shortened: every cell shows its whole text."])
        return None
    styles = book._cell_styles
    top = styles.add(style_array(sheet, None, None, TOP, False))
    top_quote = styles.add(style_array(sheet, None, None, TOP, True))
    wrap = styles.add(style_array(sheet, None, None, WRAP, False))
    wrap_quote = styles.add(style_array(sheet, None, None, WRAP, True))
    column_styles = [(top, top_quote)] * 2 + [(wrap, wrap_quote)]
    return rows_xml(details.rows, column_styles, wrap_widths=[None, None, details.WIDTH],
                     rows_per_chunk=ROWS_PER_CHUNK)


def changes_sheet(book, changes) -> Iterator[bytes]:
    """New, resolved and still-open findings since the previous run, one row each."""
    frame = changes.frame()
    sheet = table_sheet(book, CHANGES_SHEET, CHANGES_COLUMNS, len(frame))
    quote = book._cell_styles.add(style_array(sheet, None, None, None, True))
    rows = frame[["status", "id", "check", "severity", "school_ids", "title"]].itertuples(
        index=False, name=None)
    return rows_xml(rows, [(None, quote)] * len(CHANGES_COLUMNS),
                     rows_per_chunk=ROWS_PER_CHUNK)
