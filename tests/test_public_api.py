"""The public API: every name in aura_wire.__all__ exists and has a real type for mypy users; codec
options as a typed object or keyword arguments, a misspelt option a clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import aura_wire
from aura_wire import CodecConfig, ConfigError, Decoder, Encoder

REPO = Path(__file__).resolve().parents[1]

#: A user's module: mypy --strict must accept it and infer what reveal_type prints.
USER_CODE = '''
import aura_wire
from aura_wire import AuraMiddleware, CodecConfig, Decoder, Encoder, connect, train_dictionary

d = train_dictionary(["a message", "another message"])
enc = Encoder(d, config=CodecConfig(window=4096))
dec = Decoder(d, config=CodecConfig(window=4096), max_message_size=1 << 20)
from starlette.applications import Starlette
web = Starlette()
web.add_middleware(AuraMiddleware, dictionary=d, ops=True)  # starlette's typed middleware factory
reveal_type(aura_wire.AuraMiddleware)
reveal_type(connect)
reveal_type(enc.config.window)
reveal_type(aura_wire.compiled)
'''


def test_every_public_name_exists() -> None:
    for name in aura_wire.__all__:
        assert getattr(aura_wire, name) is not None, name
    assert sorted(aura_wire.__all__) == aura_wire.__all__


def test_public_names_are_typed_for_mypy(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(USER_CODE, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
                           "--config-file", str(REPO / "pyproject.toml"), str(user)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    out = proc.stdout
    notes = [line.split("Revealed type is ", 1)[1] for line in out.splitlines() if "Revealed type is" in line]
    assert len(notes) == 4, out
    assert "aura_wire.middleware.asgi.AuraMiddleware" in notes[0]
    assert notes[1].startswith("\"def (uri: builtins.str") or notes[1].startswith("\"def (uri: str")
    assert notes[2].strip('"') in ("int", "builtins.int") and notes[3].strip('"') in ("bool", "builtins.bool")
    assert "error:" not in out.replace("note:", ""), out


def test_config_object_and_keyword_options_agree() -> None:
    a = Encoder(None, config=CodecConfig(window=4096, templates=False))
    b = Encoder(None, window=4096, templates=False)
    assert a.config == b.config
    # keyword options apply on top of the object
    c = Encoder(None, config=CodecConfig(window=4096), window=2048)
    assert c.config.window == 2048 and c.config.templates


def test_decoder_limit_from_config_or_argument() -> None:
    assert Decoder(None, config=CodecConfig(max_message_size=1000)).max_message_size == 1000
    assert Decoder(None, config=CodecConfig(max_message_size=1000), max_message_size=10).max_message_size == 10
    # the per-method switches shape an encoder only: a decoder accepts every method
    assert Decoder(None, config=CodecConfig(brio=False)).config.brio


@pytest.mark.parametrize("make", [Encoder, Decoder])
def test_misspelt_option_is_a_clear_error(make: type[Encoder] | type[Decoder]) -> None:
    with pytest.raises(ConfigError, match="unknown codec option.*windw") as info:
        make(None, windw=4096)
    assert info.value.field == "windw"
