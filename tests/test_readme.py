"""The README's set-up commands are the ones CI runs, and the package reports its build honestly."""

import os
from pathlib import Path

import aura_wire

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if not line.startswith("#")]


def test_ci_runs_the_readme_test_command() -> None:
    demo, tests = readme_commands()
    assert "aura-wire demo" in demo and "pytest" in tests
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip()]
    # the last line, so that its status is the script's (set -e does not stop inside a && list)
    assert ci[-1] == tests


def test_compiled_flag_matches_the_build() -> None:
    if os.environ.get("AURA_WIRE_PURE"):
        assert aura_wire.compiled is False
    elif os.environ.get("AURA_WIRE_EXPECT_COMPILED"):
        assert aura_wire.compiled is True, "the installed package should be the mypyc-compiled build"
        assert aura_wire.__file__ is not None and "site-packages" in aura_wire.__file__


def test_public_api() -> None:
    assert set(aura_wire.__all__) >= {"Dictionary", "Encoder", "Decoder", "AuraError", "compiled"}
    for name in aura_wire.__all__:
        assert hasattr(aura_wire, name)
