"""Undo: the fixed export and its undo record give back the original export exactly."""

from __future__ import annotations

import copy

import pytest

from audits.model.errors import UserError
from fix_boards import (BOARD, findings_doc, link_finding, merge_finding, permission_finding,
                        snapshot, write_board, write_workbook)
from fix_boards import apply_plan
from fixes.plan import build_plan
from fixes.undo import undo


def plan():
    return build_plan(findings_doc(merge_finding(), link_finding(), permission_finding()))


def test_undo_restores_the_csv_export_byte_for_byte(tmp_path):
    tables = copy.deepcopy(BOARD)
    tables["contacts"][1][1] = "Jénnifer"
    board = write_board(tmp_path / "board", tables, encodings={"contacts": "cp1252",
                                                              "siblings": "utf-8-sig"})
    (board / "README.txt").write_bytes(b"not a table\n")
    finding = merge_finding()
    finding["fix"]["records"]["C1"]["first_name"] = "Jénnifer"
    apply_plan(build_plan(findings_doc(finding, link_finding(), permission_finding())), board,
               tmp_path / "fixed", write=True, force=True)
    assert snapshot(tmp_path / "fixed")["contacts.csv"] != snapshot(board)["contacts.csv"]
    assert undo(tmp_path / "fixed", tmp_path / "restored") == tmp_path / "restored"
    assert snapshot(tmp_path / "restored") == snapshot(board)


def test_undo_restores_the_workbook(tmp_path):
    book = write_workbook(tmp_path / "board.xlsx")
    apply_plan(plan(), book, tmp_path / "fixed", write=True, force=True)
    restored = undo(tmp_path / "fixed", tmp_path / "restored.xlsx")
    assert restored.read_bytes() == book.read_bytes()


def test_undo_refuses_when_the_fixed_copy_was_edited_since(tmp_path):
    board = write_board(tmp_path / "board")
    apply_plan(plan(), board, tmp_path / "fixed", write=True, force=True)
    (tmp_path / "fixed" / "students.csv").write_bytes(b"student_id\r\nS9\r\n")
    with pytest.raises(UserError, match="students.csv"):
        undo(tmp_path / "fixed", tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_undo_needs_an_undo_record_and_a_new_output(tmp_path):
    board = write_board(tmp_path / "board")
    with pytest.raises(UserError, match="no undo record"):
        undo(board, tmp_path / "restored")
    apply_plan(plan(), board, tmp_path / "fixed", write=True, force=True)
    with pytest.raises(UserError, match="already exists"):
        undo(tmp_path / "fixed", board)
