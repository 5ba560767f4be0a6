"""A decoder contains no matching or learning code (spec/wire-format.md §1, issue: wire format v2).

Statically: the modules ``aura_wire.codec.decoder`` imports, transitively, include none of the
template matcher and learner (``templates.state``, ``templates.text``, ``templates.fuzzy``,
``templates.payload``) nor the training package.  Dynamically: decoding a context connection whose
encoder defines, generalises and evicts runtime templates never calls the matcher or the learner.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from aura_wire import Decoder, Encoder
from aura_wire.codec.templates import state as matcher

PKG = Path(__file__).resolve().parents[2] / "aura_wire"
ENCODER_ONLY = {"aura_wire.codec.templates.state", "aura_wire.codec.templates.text",
                "aura_wire.codec.templates.fuzzy", "aura_wire.codec.templates.payload",
                "aura_wire.codec.templates.coders", "aura_wire.codec.encoder"}


def _imports(module: str) -> set[str]:
    path = PKG.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    out = set()
    for node in ast.parse(path.read_text()).body:  # module level only: what loading the module runs
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aura_wire"):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("aura_wire")}
    return out


def test_decoder_imports_no_matcher() -> None:
    seen: set[str] = set()
    todo = ["aura_wire.codec.decoder"]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += sorted(_imports(m) - seen)
    assert not seen & ENCODER_ONLY, sorted(seen & ENCODER_ONLY)
    assert not any(m.startswith("aura_wire.training") for m in seen)


def test_decoding_never_runs_the_learner(monkeypatch: pytest.MonkeyPatch) -> None:
    msgs = [json.dumps({"k": i % 7, "v": f"x{i}", "list": list(range(i % 4))}) for i in range(60)]
    msgs += [f"user{i % 5} did thing {i} in {i * 3} ms" for i in range(60)]
    enc = Encoder(context=True, max_runtime_templates=4)
    frames = [enc.encode(m) for m in msgs]
    assert any(f[0] & 7 == 6 for f in frames)  # STATE frames: templates were defined (and evicted)

    def forbidden(*args: object, **kw: object) -> None:
        raise AssertionError("the decoder ran the encoder's matcher or learner")

    for name in ("match", "learn", "_learn_json", "_learn_text", "_add_runtime", "_replace_runtime"):
        monkeypatch.setattr(matcher._State, name, forbidden)
    dec = Decoder(context=True, max_runtime_templates=4)
    assert [dec.decode(f) for f in frames] == msgs
