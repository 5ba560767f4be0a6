"""What the tests of an optional C module share (aura_wire/codec/brio/speedups.py and
aura_wire/codec/templates/speedups.py pick their paths the same way)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def check_expected_path(speedups: Any) -> None:
    """The pure pass (AURA_WIRE_PURE=1) runs the Python path, the compiled pass
    (AURA_WIRE_EXPECT_COMPILED=1) the C module: setup.py builds it where a compiler works."""
    if os.environ.get("AURA_WIRE_PURE"):
        assert speedups.current() is None and not speedups.available()
    elif os.environ.get("AURA_WIRE_EXPECT_COMPILED"):
        assert speedups.available(), speedups.reason
        assert speedups.current() is not None


def with_c_path(speedups: Any, what: str) -> Iterator[None]:
    """A fixture's body: the C path on for the test (skipped when not built), then as it was."""
    if not speedups.available():
        pytest.skip(f"{what} speedups not in this build: {speedups.reason}")
    previous = speedups.use(True)
    yield
    speedups.use(previous)
