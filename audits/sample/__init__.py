"""A sample board export with ground truth: realistic enough to exercise every check, and
known exactly, so the checks can be measured against it (issue 2 item 7).

    from audits.sample import generate_board, write_board
    sample = generate_board(students=2000, seed=2026)
    write_board(sample, Path("out/sample"))           # out/sample/<table>.csv + truth.json
    write_board(sample, Path("out/x"), xlsx=True)     # out/x/board.xlsx + truth.json

``sample.truth`` names, in contract section 3 terms, every problem the board holds; see
``audits.sample.truth`` for how each part is derived and the decisions taken where the
contract is silent. Same seed, same board, byte for byte.
"""

from __future__ import annotations

from audits.sample.assemble import SampleBoard, generate_board
from audits.sample.truth import truth_from_rules
from audits.sample.writing import write_board

DEMO_STUDENTS = 2000
DEMO_SEED = 2026

__all__ = ["DEMO_SEED", "DEMO_STUDENTS", "SampleBoard", "generate_board", "truth_from_rules",
           "write_board"]
