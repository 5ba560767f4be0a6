"""No double compression: an AURA connection carries no permessage-deflate, a plain one keeps it.

Real uvicorn (websockets and websockets-sansio implementations) and hypercorn on 127.0.0.1, the
real websockets client offering permessage-deflate the way browsers do.
"""

from __future__ import annotations

from typing import Any

import pytest
from websockets.asyncio.client import connect

from aura_wire import AuraMiddleware
from aura_wire.middleware.servers import use_with_hypercorn
from conftest import echo_app, serve_app

BACKENDS = [
    pytest.param("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsProtocol"},
                 marks=pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated")),
    ("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsSansIOProtocol"}),
    ("hypercorn", {}),
]


async def _extensions(url: str, subprotocols: list[str] | None) -> tuple[str | None, str | None, bytes | str]:
    """(selected subprotocol, Sec-WebSocket-Extensions answered, first message received)."""
    async with connect(url, subprotocols=subprotocols, compression="deflate") as ws:  # type: ignore[arg-type]
        answered = ws.response.headers.get("Sec-WebSocket-Extensions") if ws.response else None
        if subprotocols is None:
            await ws.send("ping")
        first = await ws.recv()
        return ws.subprotocol, answered, first


@pytest.mark.parametrize(("backend", "options"), BACKENDS, ids=["uvicorn-websockets", "uvicorn-sansio", "hypercorn"])
async def test_aura_connection_has_no_deflate_plain_keeps_it(backend: str, options: dict[str, Any]) -> None:
    if backend == "hypercorn":
        use_with_hypercorn()
    app = AuraMiddleware(echo_app)
    async with serve_app(app, backend, **options) as base:
        url = base.replace("http", "ws") + "/echo"
        sub, ext, first = await _extensions(url, ["aura.v1"])
        assert sub == "aura.v1"
        assert ext is None  # no extension on the AURA connection
        assert isinstance(first, bytes) and first[:2] == b"\x07\x01"  # HELLO, as sent
        sub, ext, first = await _extensions(url, None)
        assert sub is None
        assert ext is not None and "permessage-deflate" in ext  # a plain client keeps it
        assert first == "ping"


async def test_stock_uvicorn_deflates_aura_connections() -> None:
    """Why the protocols above exist: the stock implementation negotiates deflate for AURA too."""
    async with serve_app(AuraMiddleware(echo_app), "uvicorn", ws="websockets-sansio") as base:
        sub, ext, _ = await _extensions(base.replace("http", "ws") + "/echo", ["aura.v1"])
        assert sub == "aura.v1"
        assert ext is not None and "permessage-deflate" in ext


def _stock_handshake() -> type:
    from hypercorn.protocol import ws_stream

    cls: type = ws_stream.Handshake
    return cls.__mro__[1] if getattr(cls, "_aura_no_deflate", False) else cls


def test_use_with_hypercorn_refuses_an_unchecked_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypercorn.protocol import ws_stream

    from aura_wire import ConfigError
    from aura_wire.middleware import servers

    stock = _stock_handshake()
    monkeypatch.setattr(ws_stream, "Handshake", stock)
    monkeypatch.setattr(servers, "_hypercorn_version", lambda: (0, 19, 0))
    with pytest.raises(ConfigError, match=r"hypercorn 0\.14 to 0\.18, not 0\.19\.0"):
        use_with_hypercorn()
    assert ws_stream.Handshake is stock  # nothing patched
    use_with_hypercorn(allow_unchecked=True)
    assert ws_stream.Handshake.__mro__[1] is stock


def test_use_with_hypercorn_refuses_an_unknown_handshake(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypercorn.protocol import ws_stream

    from aura_wire import ConfigError

    class Other(_stock_handshake()):  # type: ignore[misc]
        def accept(self, subprotocol: str | None) -> Any:  # a changed signature
            return None

    monkeypatch.setattr(ws_stream, "Handshake", Other)
    with pytest.raises(ConfigError, match="not the class"):
        use_with_hypercorn()
    assert ws_stream.Handshake is Other


def test_installed_hypercorn_is_a_checked_version() -> None:
    """The real hypercorn the suite runs is inside the checked range (a newer one fails here first)."""
    from aura_wire.middleware.servers import HYPERCORN_CHECKED, _hypercorn_version

    lo, hi = HYPERCORN_CHECKED
    assert lo <= _hypercorn_version()[:2] <= hi
