"""findings.json as written: the contract's document, two-space indented UTF-8 JSON, the same
bytes whether written whole or in pieces; and Finding.to_dict built once per finding."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from audits import api

from audits.model import findings as findings_module
from audits.model.board import board_from_frames
from audits.model.findings import (Finding, Severity, findings_document, findings_json,
                             findings_json_chunks)


def finding(n: int, **extra) -> Finding:
    return Finding(id=f"duplicate-contact:{n:08x}", check="duplicate-contact",
                   severity=Severity.WARNING, title=f"Zoë Côté {n} appears twice",
                   confidence=0.87654321, school_ids=("1021",), contacts=(f"C{n}", f"C{n + 1}"),
                   pairs=((f"C{n}", f"C{n + 1}"),), evidence={"same": ["email"], "n": n},
                   fix={"action": "merge", "steps": ["keep C1"]},
                   names={f"C{n}": "Zoë Côté"}, household={"nodes": [], "edges": []}, **extra)


def document(items) -> dict:
    return findings_document(items, input_path="exports/board", tables={"students": 3})


def test_findings_json_is_two_space_indented_utf8_in_contract_order():
    text = findings_json(document([finding(1)])).decode("utf-8")
    assert text.startswith('{\n  "schema": "connect-audit/findings/v1",\n  "generated_at": ')
    assert "Zoë Côté" in text and "\\u00eb" not in text
    assert '\n    {\n      "id": "duplicate-contact:00000001",\n      "check": ' in text
    assert not text.endswith("\n")
    parsed = json.loads(text)
    assert list(parsed) == ["schema", "generated_at", "input", "summary", "findings"]
    [entry] = parsed["findings"]
    assert list(entry) == ["id", "check", "severity", "confidence", "school_ids", "title",
                           "entities", "pairs", "username", "evidence", "fix", "names",
                           "household"]
    assert entry == finding(1).to_dict()
    assert entry["confidence"] == 0.8765 and entry["pairs"] == [["C1", "C2"]]
    assert entry["entities"] == {"students": [], "contacts": ["C1", "C2"], "staff": [],
                                 "accounts": []}


def test_written_in_pieces_the_bytes_are_those_of_the_whole_document(monkeypatch):
    monkeypatch.setattr(findings_module, "FINDINGS_PER_CHUNK", 2)
    doc = document([finding(n) for n in range(5)])
    doc["suppressed"] = {"findings": [], "pairs": [{"pair": ["C1", "C2"]}]}
    pieces = list(findings_json_chunks(doc))
    assert len(pieces) > 5
    whole = b"".join(pieces)
    assert whole == findings_json(doc)
    assert json.loads(whole) == json.loads(json.dumps(doc))
    assert json.loads(findings_json(document([])))["findings"] == []


def test_numbers_the_standard_encoder_wrote_differently():
    doc = {"findings": [{"nan": math.nan, "numpy": np.float64(0.25), "tiny": 1e-05}]}
    assert json.loads(findings_json(doc)) == {"findings": [{"nan": None, "numpy": 0.25,
                                                            "tiny": 1e-05}]}
    with pytest.raises(TypeError):
        findings_json({"findings": [{"set": {1, 2}}]})


def test_to_dict_is_built_once_and_a_caller_cannot_change_it():
    item = finding(7)
    first = item.to_dict()
    first["title"] = "changed"
    first["extra"] = 1
    second = item.to_dict()
    assert second["title"] == "Zoë Côté 7 appears twice" and "extra" not in second
    assert second["entities"] is item.to_dict()["entities"]  # shared, not rebuilt
    assert Finding.from_dict(second).to_dict() == second


def test_write_findings_writes_the_document(tmp_path):
    board = board_from_frames({"schools": [{"school_id": "1021", "school_name": "North"}]})
    result = api.AuditResult(board, None, [finding(n) for n in range(3)])
    path = api.write_findings(result, tmp_path / "out" / "findings.json")
    written = json.loads(path.read_bytes())
    expected = result.document()
    written["generated_at"] = expected["generated_at"]
    assert written == json.loads(findings_json(expected))
    assert [f["id"] for f in written["findings"]] == [f.id for f in result.findings]
