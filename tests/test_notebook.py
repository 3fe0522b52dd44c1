"""The walkthrough notebook: committed without outputs, and it runs top to bottom (nbclient), so
it never rots. The kernel is this interpreter, through a kernelspec made for the test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "walkthrough.ipynb"


def test_the_committed_notebook_has_no_outputs():
    notebook = json.loads(NOTEBOOK.read_text("utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code
    for cell in code:
        assert cell["outputs"] == []
        assert cell["execution_count"] is None


def test_no_cell_holds_a_literal_backslash_n():
    """A "\\n" typed into a cell's text shows as those two characters, not as a new line."""
    notebook = json.loads(NOTEBOOK.read_text("utf-8"))
    for number, cell in enumerate(notebook["cells"]):
        assert "\\n" not in "".join(cell["source"]), number


@pytest.fixture
def kernel(tmp_path, monkeypatch) -> str:
    """A kernelspec that starts this very interpreter (the project's .venv), whatever
    ``python`` on PATH is."""
    name = "connect-audit-test"
    spec = tmp_path / "jupyter" / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "connect-audit test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    return name


def test_the_notebook_executes(kernel, tmp_path):
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, kernel_name=kernel, timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    svg = [out for out in outputs if "image/svg+xml" in out.get("data", {})]
    assert len(svg) == 1 and "<svg" in svg[0]["data"]["image/svg+xml"]
    last = notebook.cells[-1].outputs[-1]["data"]["text/plain"]
    assert "resolved" in last and "new" in last
