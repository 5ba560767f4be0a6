"""The context parameters a server announces (spec/session.md §4.1.1): the BRIO window of a server
session is permessage-deflate w15's 32 KiB and its runtime-template limit 16 KiB unless the
configuration or its level chooses them."""

from __future__ import annotations

from pathlib import Path

from aura_wire.client import connect
from aura_wire.codec.config import LEVELS
from aura_wire.middleware import AuraMiddleware
from aura_wire.session.params import SERVER_TEMPLATE_BYTES, SERVER_WINDOW, announced_params, server_codec_config
from aura_wire.tools.demo import echo_app
from conftest import serve_app


def test_server_window_unless_chosen() -> None:
    assert SERVER_WINDOW == 32768
    assert server_codec_config({})["window"] == SERVER_WINDOW
    assert server_codec_config({"brio": False}) == {"brio": False, "window": SERVER_WINDOW,
                                                   "max_runtime_template_bytes": SERVER_TEMPLATE_BYTES}
    assert server_codec_config({"window": 8192})["window"] == 8192  # the user's choice wins
    assert server_codec_config({"max_runtime_template_bytes": 4096})["max_runtime_template_bytes"] == 4096
    lean = server_codec_config({"level": 1})  # level 1 is the lean preset: it keeps its own limits
    assert "window" not in lean and announced_params(True, lean).values["window"] == LEVELS[1]["window"]
    assert (announced_params(True, lean).values["max_runtime_template_bytes"]
            == LEVELS[1]["max_runtime_template_bytes"])
    fast = announced_params(True, server_codec_config({"level": 2})).values
    assert fast["window"] == SERVER_WINDOW and fast["max_runtime_template_bytes"] == SERVER_TEMPLATE_BYTES


async def test_middleware_announces_the_server_window_and_the_client_adopts_it(tmp_path: Path) -> None:
    for mw, window in ((AuraMiddleware(echo_app), SERVER_WINDOW), (AuraMiddleware(echo_app, window=4096), 4096)):
        async with serve_app(mw) as base:
            url = base.replace("http://", "ws://") + "/echo"
            async with connect(url, dictionary_cache=tmp_path) as c:
                assert c.session is not None and c.session.params is not None
                assert c.session.params.values["window"] == window
                assert c.session.codec_config["window"] == window
                assert c.session.params.values["max_runtime_template_bytes"] == SERVER_TEMPLATE_BYTES
                big = "".join(f"line {i} of a message longer than one window " for i in range(2000))
                await c.send(big)
                assert await c.recv() == big  # both directions run the announced window
