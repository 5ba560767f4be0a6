"""The committed vectors are what their generators make today: regenerating them changes no byte.

Many vectors are the reference encoder's own frames.  An encoder change that moves a frame (a new
heuristic, another choice of template) leaves the committed files valid but no longer reproducible:
``state-evict`` and ``state-template-bytes`` drifted that way after the DEFINE gate change of
eed3b3a (nobody reran the generator).  This test runs every generator into a copy of
``spec/vectors`` (never into the repository) and compares the files, so such a commit regenerates
the vectors it moves.  The session vectors have the same check in tests/session/test_session_vectors.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aura_wire

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "spec" / "vectors"

#: generator script -> the folder of spec/vectors it writes
GENERATORS = {
    "make_wire_vectors.py": "wire",
    "make_template_vectors.py": "templates",
    "make_brio_vectors.py": "brio",
    "make_dictionary_vectors.py": "dictionaries",
}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(GENERATORS))
def test_generator_reproduces_the_committed_vectors(script: str, tmp_path: Path) -> None:
    copy = tmp_path / "spec" / "vectors"
    shutil.copytree(VECTORS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    # the generator imports the aura_wire this test runs (pure or compiled, as AURA_WIRE_PURE says)
    env = {"PYTHONPATH": str(Path(aura_wire.__file__).resolve().parents[1]), "PATH": os.environ.get("PATH", ""),
           "AURA_WIRE_PURE": os.environ.get("AURA_WIRE_PURE", "")}
    out = subprocess.run([sys.executable, str(copy / script)], cwd=tmp_path, capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    folder = GENERATORS[script]
    committed = _files(VECTORS / folder)
    made = _files(copy / folder)
    assert sorted(made) == sorted(committed), "the generator makes other files than the committed ones"
    moved = [name for name in committed if made[name] != committed[name]]
    assert not moved, (f"{script} no longer makes {moved}: an encoder change moved their frames; "
                       f"regenerate them (python spec/vectors/{script}) in the same commit")
