"""The import graph of audits, fixes and reports: no circle, and the core (audits/, but the fix
layer audits/checks/*/fix.py and the command line, which puts the three together) never imports
fixes/ or reports/, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("audits", "fixes", "reports")
MAX_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool,
             modules: Iterable[str] = ()) -> set[str]:
    """Every module named by an import anywhere in ``tree`` (functions included), but those
    under ``if TYPE_CHECKING:``. ``from package import submodule`` names the submodule (of
    ``modules``), not the package."""
    modules = set(modules)
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            named = {f"{base}.{alias.name}" for alias in node.names}
            found.update(named)
            if not named <= modules:
                found.add(base)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for target in _imports(tree, name, path.name == "__init__.py", modules):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


def _is_fix_layer(module: str) -> bool:
    parts = module.split(".")
    return len(parts) == 4 and parts[:2] == ["audits", "checks"] and parts[3] == "fix"


def test_no_import_circle():
    graph = _graph()
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    described = []
    for circle in circles:
        cycle = nx.find_cycle(graph.subgraph(circle))
        described.append(" -> ".join([a for a, _ in cycle] + [cycle[0][0]]))
    assert not described, "import circles:\n" + "\n".join(described)


def test_the_core_never_imports_fixes_or_reports():
    graph = _graph()
    wrong = sorted(f"{a} imports {b}" for a, b in graph.edges
                   if a.split(".")[0] == "audits" and not _is_fix_layer(a) and a != "audits.cli"
                   and b.split(".")[0] in ("fixes", "reports"))
    assert not wrong, "\n".join(wrong)


def test_the_graph_sees_function_level_imports_and_skips_type_checking_blocks():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import fixes.plan\n"
                     "def f():\n    from reports import wording\n    from . import files\n")
    found = _imports(tree, "audits.io.cells", is_package=False)
    assert {"reports", "reports.wording", "audits.io", "audits.io.files"} <= found
    assert "fixes.plan" not in found


def test_no_module_over_500_lines():
    long = sorted(f"{path.relative_to(ROOT)}: {lines} lines"
                  for path in _modules().values()
                  if (lines := len(path.read_text("utf-8").splitlines())) > MAX_LINES)
    assert not long, "modules over 500 lines:\n" + "\n".join(long)


def test_no_function_over_60_lines():
    """A function longer than a screen does more than one thing: each is a named step. The
    length counts the docstring (``def`` to the last line, as ast sees it)."""
    long = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines} lines")
    assert not long, "functions over 60 lines:\n" + "\n".join(sorted(long))
