"""ruff and mypy --strict are part of the suite, so the README's test command runs them.

Marked slow: they read source files, which are the same in the compiled and the pure pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    done = run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    """The package and the tests (pyproject: tests/ is a package root, as pytest's pythonpath makes it)."""
    done = run("mypy", "aura_wire", "tests")
    assert done.returncode == 0, done.stdout + done.stderr
