"""Size limits a new maintainer can rely on (docs/architecture.md, "Size").

* No function over ``MAX_FUNCTION_LINES`` lines in a compiled module (the hot
  path: ``aura_wire/_compiled_modules.py``): a long hot function is split into
  named pieces (small functions or a small class; mypyc compiles both, and a
  call between native functions of one module is a direct C call).
* No module of the package over ``MAX_MODULE_LINES`` lines: a module that big
  holds more than one job.

Read from the sources with ``ast`` (nothing is imported).  A function's length
runs from its ``def`` line to its last line, decorators and docstring included.
Anything longer must be named in an allow-list below with the reason it may stay.

Run alone: ``python -m pytest -q tests/test_code_size.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from aura_wire._compiled_modules import COMPILED_MODULES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "aura_wire"

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 700

#: "module path:qualified function name" -> why it may stay longer than MAX_FUNCTION_LINES.
LONG_FUNCTIONS_ALLOWED: dict[str, str] = {
    "aura_wire/training/brio.py:build_content": (
        "offline: dictionary training, run once per dictionary, never per message"),
    "aura_wire/codec/brio/decode.py:_decode_frame": (
        "the BRIO decoder's per-item loop (86 lines, was 123), now the fallback of the C speedups "
        "(codec/brio/speedups.py) and the trace path of aura-wire inspect; moving its match branch out "
        "adds a call per coded item"),
}

#: module path -> why it may stay longer than MAX_MODULE_LINES.
LONG_MODULES_ALLOWED: dict[str, str] = {}


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, int, int]]:
    """(qualified name, first line, line count) of every function and method, nested ones too."""
    found: list[tuple[str, int, int]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            found.append((prefix + node.name, node.lineno, node.end_lineno - first + 1))
            found += _functions(node, prefix + node.name + ".")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, prefix + node.name + ".")
    return found


def long_functions(paths: list[str]) -> dict[str, int]:
    """"path:name" -> line count, for the functions over MAX_FUNCTION_LINES in ``paths``."""
    out: dict[str, int] = {}
    for rel in paths:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        for name, _, n in _functions(tree):
            if n > MAX_FUNCTION_LINES:
                out[f"{rel}:{name}"] = n
    return out


def long_modules() -> dict[str, int]:
    out: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            out[path.relative_to(ROOT).as_posix()] = n
    return out


def test_no_long_function_on_the_hot_path() -> None:
    found = long_functions(COMPILED_MODULES)
    unexplained = {k: n for k, n in found.items() if k not in LONG_FUNCTIONS_ALLOWED}
    assert not unexplained, (
        f"functions over {MAX_FUNCTION_LINES} lines in compiled (hot-path) modules: {unexplained}; split them "
        "into named pieces, or name them in LONG_FUNCTIONS_ALLOWED with the reason they may stay")


def test_no_long_module() -> None:
    unexplained = {k: n for k, n in long_modules().items() if k not in LONG_MODULES_ALLOWED}
    assert not unexplained, (
        f"modules over {MAX_MODULE_LINES} lines: {unexplained}; split them by job, or name them in "
        "LONG_MODULES_ALLOWED with the reason they may stay")


def test_allow_lists_are_current() -> None:
    """An entry whose function or module got short (or went away) is removed, so the lists stay true."""
    long_now = long_functions(COMPILED_MODULES)
    assert not set(LONG_FUNCTIONS_ALLOWED) - set(long_now), "stale LONG_FUNCTIONS_ALLOWED entries"
    assert not set(LONG_MODULES_ALLOWED) - set(long_modules()), "stale LONG_MODULES_ALLOWED entries"


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    """The measure itself: a 81-line function is found, an 80-line one (decorator included) is not."""
    body = "\n".join(f"    x{i} = {i}" for i in range(79))
    method_body = "\n".join(f"        x{i} = {i}" for i in range(78))
    src = f"def long():\n{body}\n    return 0\n\n\nclass C:\n    @staticmethod\n    def ok():\n{method_body}\n"
    got = {name: n for name, _, n in _functions(ast.parse(src))}
    assert got == {"long": 81, "C.ok": 80}
