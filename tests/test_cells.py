"""The one rule for cells and characters (audits.io.cells): what it defuses and escapes, that the
column-at-a-time forms agree with the one-value forms, and that both undo exactly."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, strategies as st

from audits.io import cells

PAYLOADS = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1", "-1+2", "\t=1", "\r=1", "\uff1d1",
            "\uff20x", " =1", "\u3000=1", "'=1", "''@x"]
HIDDEN = ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b",
          "\u200d", "\ufeff", "\u2060", "\x00", "\x01", "\x0b", "\x1f", "\x7f", "\x85",
          "\ufffe", "\uffff", "\ud800", "\udfff", "\U0001fffe", "\U000e0041", "\u2028"]
# Text mixing the corpus with ordinary characters, escapes and quotes.
texts = st.lists(st.sampled_from(["a", "é", " ", "'", "=", "+", "-", "@", "\t", "\n", "\r",
                                 "\u27e8", "\u27e9", "U+202E", "U+27E8", *HIDDEN,
                                 *PAYLOADS]), max_size=8).map("".join)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_is_defused_and_undone(payload):
    assert cells.looks_like_formula(payload)
    assert cells.defused(payload) == "'" + payload
    assert cells.undefused(cells.defused(payload)) == payload


@pytest.mark.parametrize("plain", ["Jennifer", "a=b", "O'Brien", "'quoted", "", "1-2", "\u27e8"])
def test_plain_text_is_left_alone(plain):
    assert not cells.looks_like_formula(plain)
    assert cells.csv_cell(plain) == plain and cells.visible(plain) == plain


@pytest.mark.parametrize("char", HIDDEN)
def test_every_hidden_character_shows_as_its_code_point(char):
    shown = cells.visible(f"An{char}n")
    assert shown == f"An\u27e8U+{ord(char):04X}\u27e9n"
    assert cells.restored(shown) == f"An{char}n"
    assert cells.visible_texts(["x", f"An{char}n"]) == ["x", shown]


def test_layout_characters_stay():
    assert cells.visible("a\tb\nc\rd") == "a\tb\nc\rd"


def test_a_literal_escape_is_escaped_so_it_reads_back():
    assert cells.visible("\u27e8U+202E\u27e9") == "\u27e8U+27E8\u27e9U+202E\u27e9"
    assert cells.restored(cells.visible("\u27e8U+202E\u27e9")) == "\u27e8U+202E\u27e9"


@given(st.lists(texts, max_size=6))
def test_columns_agree_with_values_and_every_form_undoes_exactly(column):
    assert cells.visible_texts(column) == [cells.visible(t) for t in column]
    assert cells.csv_cells(column) == [cells.csv_cell(t) for t in column]
    assert cells.formula_positions(column) == [k for k, t in enumerate(column)
                                               if cells.looks_like_formula(t)]
    for text in column:
        shown = cells.csv_cell(text)
        # What a spreadsheet runs: a trigger first, or first after whitespace.
        assert shown[:1] not in ("\t", "\r")
        assert shown.lstrip()[:1] not in tuple(cells.FORMULA_TRIGGERS)
        assert not any(char in shown for char in HIDDEN)
        assert cells.restored(cells.undefused(shown)) == text


def test_a_frame_for_csv_defuses_headers_and_values_and_reads_back():
    frame = pd.DataFrame({"=h\u202e": ["=1", None, "a\u202eb"], "n": [1, 2, 3]})
    safe = cells.csv_frame(frame)
    assert list(safe.columns) == ["'=h\u27e8U+202E\u27e9", "n"]
    assert safe.iloc[0, 0] == "'=1" and pd.isna(safe.iloc[1, 0])
    assert safe.iloc[2, 0] == "a\u27e8U+202E\u27e9b"
    back = cells.read_back_frame(safe)
    assert list(back.columns) == list(frame.columns)
    assert back.iloc[0, 0] == "=1" and back.iloc[2, 0] == "a\u202eb"


def test_json_keeps_the_data_and_leaves_no_hidden_character_raw():
    import json

    from reports.safety import json_for_script_bytes

    data = {"name": " ".join(HIDDEN) + "é", "n": 10 ** 30}  # a big integer: json.dumps path
    raw = json_for_script_bytes(data)
    assert raw.isascii() or not any(char.encode("utf-8", "surrogatepass") in raw
                                    for char in HIDDEN)
    assert json.loads(raw) == data


def test_the_terminal_never_gets_a_control_character():
    assert "\u202e" not in cells.shown("C1\u202e") and "u202e" in cells.shown("C1\u202e")
    assert cells.shown("plain") == "plain"


def test_sheet_names_show_hidden_characters():
    from reports.workbook import sheet_names

    [name] = sheet_names(["check\u202e\uffff"]).values()
    assert name == "check\u27e8U+202E\u27e9\u27e8U+FFFF\u27e9"[:31]


@pytest.mark.parametrize("char", [*HIDDEN, "\u27e8U+0041\u27e9"])
def test_a_big_column_is_judged_on_its_bytes_and_misses_nothing(char):
    column = ["Jos\u00e9 \u2013 M\u00fcller \u2026 \U0001f600 \U00020000"] * 10_000
    column[5000] = f"a{char}b"
    shown = cells.visible_texts(column)
    assert shown[5000] == cells.visible(f"a{char}b") != f"a{char}b"
    assert shown[:5000] == column[:5000]


def test_no_character_of_the_set_prints_so_the_terminal_escapes_them_all():
    for lo, hi in cells.INVISIBLE_RANGES:
        assert not any(chr(code).isprintable() for code in range(lo, hi + 1)), hex(lo)
    assert cells.terminal_text("row 3: 'Ann\u202e'\nnext") == "row 3: 'Ann\\u202e'\nnext"


def test_a_user_error_naming_a_value_reaches_the_terminal_escaped(tmp_path):
    from click.testing import CliRunner

    from audits.cli import main

    result = CliRunner().invoke(main, ["audit", str(tmp_path / "no\u202eboard"),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "\u202e" not in result.output and "\\u202e" in result.output
