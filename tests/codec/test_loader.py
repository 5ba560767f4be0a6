"""The pure-Python fallback: forced by AURA_WIRE_PURE=1, or taken when an extension cannot load."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aura_wire

PROBE = "import aura_wire, aura_wire.codec.frame as f; print(aura_wire.compiled, f.__file__.endswith('.py'))"


def _copy_package(tmp_path: Path) -> Path:
    src = Path(aura_wire.__file__).resolve().parent
    dst = tmp_path / "aura_wire"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    return dst


def _run(tmp_path: Path, **env: str) -> str:
    e = {k: v for k, v in os.environ.items() if k != "AURA_WIRE_PURE"}
    e.update(env, PYTHONPATH=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PROBE], env=e, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_broken_extension_falls_back_to_source(tmp_path: Path) -> None:
    pkg = _copy_package(tmp_path)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (pkg / "codec" / f"frame{suffix}").write_bytes(b"this is not a shared object")
    assert _run(tmp_path) == "False True"


def test_pure_requested_ignores_extensions(tmp_path: Path) -> None:
    pkg = _copy_package(tmp_path)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (pkg / "codec" / f"frame{suffix}").write_bytes(b"garbage that must not even be opened")
    assert _run(tmp_path, AURA_WIRE_PURE="1") == "False True"


def test_source_only_tree_is_not_compiled(tmp_path: Path) -> None:
    _copy_package(tmp_path)
    assert _run(tmp_path) == "False True"
