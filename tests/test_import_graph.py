"""The package's import graph: no cycles, and each room imports only the rooms below it (docs/architecture.md).

Read from the sources with ``ast`` (nothing is imported), so the check also
sees imports inside functions: a cycle held together by a function-level
import is still a cycle.  Imports under ``if TYPE_CHECKING:`` are not
counted (they never run).  Importing ``a.b.c`` is an edge to ``a.b.c`` only,
not to its parent packages (Python runs those first, whatever the order).

Run alone: ``python -m pytest -q tests/test_import_graph.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aura_wire"

#: room -> rooms it may import (besides itself).  A room is the first component under aura_wire
#: ("codec", "session", ...); the top-level modules are rooms of their own.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "metrics": set(),
    "_compiled_modules": set(),
    "_loader": {"_compiled_modules"},
    "codec": {"errors", "metrics"},
    "training": {"codec", "errors"},
    "files": {"codec", "errors"},
    "session": {"codec", "errors", "metrics"},
    "extension": {"codec", "session", "errors", "files"},
    "middleware": {"codec", "session", "errors", "metrics", "files", "ops", "cluster"},
    "client": {"codec", "session", "errors", "metrics", "files"},
    "ops": {"codec", "training", "errors", "metrics", "files"},
    "cluster": {"codec", "session", "ops", "errors", "metrics", "files"},
    "tools": {"__init__", "codec", "training", "session", "middleware", "client", "ops", "cluster", "errors", "metrics",
              "files"},
    "data": set(),
    "__init__": {"_loader", "codec", "training", "files", "errors", "metrics", "middleware", "client"},
    "__main__": {"tools"},
}

#: Third-party or standard modules that mean I/O or an event loop: never in the sans-I/O rooms.
IO_MODULES = {"asyncio", "socket", "websockets", "starlette", "uvicorn", "hypercorn", "redis", "urllib", "http"}
SANS_IO_ROOMS = {"codec", "training", "session"}

#: Rooms whose modules import every aura_wire module at the top (no lazy imports): the codec is
#: compiled, and a function-level import there is either a hidden cycle or a per-call cost.
NO_LAZY_IMPORTS = {"codec", "training", "session", "files", "errors", "metrics"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str]) -> None:
        self.module = module
        self.is_package = is_package
        self.known = known
        self.depth = 0
        self.found: list[tuple[str, int, bool]] = []  # (target, line, inside a function)
        self.external: list[tuple[str, int]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def _add(self, target: str, line: int) -> None:
        if target.split(".")[0] == "aura_wire":
            self.found.append((target, line, self.depth > 0))
        else:
            self.external.append((target.split(".")[0], line))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            pkg = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            pkg = pkg[: len(pkg) - (node.level - 1)]
            base = ".".join([*pkg, base] if base else pkg)
        if base.split(".")[0] != "aura_wire":
            self.external.append((base.split(".")[0], node.lineno))
            return
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self.found.append((sub if sub in self.known else base, node.lineno, self.depth > 0))


def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int, bool]], list[tuple[str, str, int]]]:
    mods = _modules()
    known = set(mods)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    edges: list[tuple[str, str, int, bool]] = []
    external: list[tuple[str, str, int]] = []
    for name, path in mods.items():
        v = _Imports(name, path.name == "__init__.py", known)
        v.visit(ast.parse(path.read_text(encoding="utf-8")))
        for target, line, lazy in v.found:
            if target in known and target != name:
                graph[name].add(target)
                edges.append((name, target, line, lazy))
        external += [(name, ext, line) for ext, line in v.external]
    return graph, edges, external


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_the_graph_is_read() -> None:
    graph, edges, _ = _graph()
    assert "aura_wire.codec.encoder" in graph
    assert ("aura_wire.codec.encoder", "aura_wire.codec.frame") in {(a, b) for a, b, _, _ in edges}


def test_no_import_cycle() -> None:
    graph, _, _ = _graph()
    assert _cycles(graph) == []


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_rooms_import_only_the_rooms_below() -> None:
    _, edges, _ = _graph()
    bad = [f"{a}:{line} imports {b}" for a, b, line, _ in edges
           if _room(b) != _room(a) and _room(b) not in ALLOWED[_room(a)]]
    assert bad == []


def test_nothing_imports_tools() -> None:
    _, edges, _ = _graph()
    assert [(a, b) for a, b, _, _ in edges if _room(b) == "tools" and _room(a) not in ("tools", "__main__")] == []


def test_no_lazy_imports_in_the_core() -> None:
    _, edges, _ = _graph()
    assert [f"{a}:{line} imports {b} inside a function" for a, b, line, lazy in edges
            if lazy and _room(a) in NO_LAZY_IMPORTS] == []


@pytest.mark.parametrize("room", sorted(SANS_IO_ROOMS))
def test_sans_io_rooms_import_no_io(room: str) -> None:
    _, _, external = _graph()
    assert [f"{m}:{line} imports {ext}" for m, ext, line in external
            if _room(m) == room and ext in IO_MODULES] == []
