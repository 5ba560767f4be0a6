"""ASGI server protocols that never put permessage-deflate on an AURA connection.

An AURA connection carries frames that are already coded (spec/session.md §3.6); deflating
them again costs CPU on both sides and a zlib context per connection on the server for almost
no bytes. Browsers always offer permessage-deflate and cannot withdraw it, and ASGI gives the
application no say over extensions: uvicorn negotiates them itself (the ``websockets-sansio``
implementation before the application runs, ``websockets`` after ``websocket.accept``), and
hypercorn at ``websocket.accept`` time. So the choice is made where the extension is
negotiated, from the subprotocol the application (:class:`~aura_wire.middleware.AuraMiddleware`)
accepted: ``aura.v1`` or ``aura.v1.*`` means no extension; any other connection, including every
client that does not offer AURA, keeps permessage-deflate exactly as the server configures it.

* uvicorn: ``uvicorn.run(app, ws="aura_wire.middleware.servers:WebSocketsSansIOProtocol")`` (or
  ``...:WebSocketsProtocol`` for the ``websockets`` implementation); ``--ws`` on the command line
  takes the same import string.
* hypercorn: call :func:`use_with_hypercorn` once before serving. hypercorn (0.14 to 0.18)
  offers no supported hook: its ``Handshake.accept`` always offers ``PerMessageDeflate`` and there is
  no config key, protocol class option or ASGI extension for it. So this is a narrow patch: a
  subclass of ``hypercorn.protocol.ws_stream.Handshake`` installed in that module, which only
  withholds the client's extension offer when the accepted subprotocol is AURA. It checks the
  hypercorn version and the shape of what it replaces, and refuses (``ConfigError``) rather than
  patch a hypercorn it does not recognise.

Only adapters live here: no codec or session logic.
"""

from __future__ import annotations

from typing import Any, Sequence

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol as _SansIOProtocol

__all__ = ["WebSocketsProtocol", "WebSocketsSansIOProtocol", "use_with_hypercorn", "is_aura_subprotocol"]  # noqa: F822 - the two protocol classes load on first use (__getattr__)

_AURA = "aura.v1"


def is_aura_subprotocol(subprotocol: str | bytes | None) -> bool:
    """True when the selected subprotocol turns AURA on (spec/session.md §3.2)."""
    if subprotocol is None:
        return False
    s = subprotocol.decode("latin-1") if isinstance(subprotocol, bytes) else subprotocol
    return s == _AURA or s.startswith(_AURA + ".")


class WebSocketsSansIOProtocol(_SansIOProtocol):
    """uvicorn's ``websockets-sansio`` implementation, without permessage-deflate on AURA connections."""

    async def send(self, message: Any) -> None:
        if (message.get("type") == "websocket.accept" and not self.handshake_complete
                and is_aura_subprotocol(message.get("subprotocol"))):
            # the extension was negotiated when the request arrived: withdraw it before the
            # 101 response is written, on both the wire (header) and the protocol object
            self.conn.extensions = []
            if "Sec-WebSocket-Extensions" in self.response.headers:  # absent when the client offered none
                del self.response.headers["Sec-WebSocket-Extensions"]
        await super().send(message)


def _legacy_protocol() -> type:
    """uvicorn's ``websockets`` implementation (deprecated upstream: importing it warns), subclassed."""
    from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol as _LegacyProtocol

    class WebSocketsProtocol(_LegacyProtocol):
        """uvicorn's ``websockets`` implementation, without permessage-deflate on AURA connections."""

        def process_extensions(  # type: ignore[override]  # a staticmethod upstream; this one reads the accept
            self, headers: Any, available_extensions: Sequence[Any] | None,
        ) -> tuple[str | None, list[Any]]:
            # runs after the application accepted (process_request waits for websocket.accept)
            if is_aura_subprotocol(self.accepted_subprotocol):
                return None, []
            out: tuple[str | None, list[Any]] = _LegacyProtocol.process_extensions(headers, available_extensions)
            return out

    return WebSocketsProtocol


def __getattr__(name: str) -> Any:
    # ``WebSocketsProtocol`` is built on first access, so importing this module does not import
    # (and warn about) uvicorn's deprecated implementation unless it is used
    if name == "WebSocketsProtocol":
        cls = _legacy_protocol()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


#: hypercorn releases whose ``ws_stream.Handshake`` this module was checked against: the source of
#: 0.14.4, 0.16.0, 0.17.3 and 0.18.0 (the same ``extensions`` attribute, ``accept(subprotocol,
#: additional_headers)`` and per-connection ``Handshake(...)`` lookup in the module); tested with 0.18
HYPERCORN_CHECKED = ((0, 14), (0, 18))


def _hypercorn_version() -> tuple[int, ...]:
    from importlib.metadata import version

    parts: list[int] = []
    for p in version("hypercorn").split("."):
        digits = "".join(c for c in p if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def use_with_hypercorn(*, allow_unchecked: bool = False) -> None:
    """Make hypercorn negotiate no permessage-deflate on AURA connections (idempotent).

    hypercorn has no supported hook for the extension negotiation (``Handshake.accept`` always
    offers ``PerMessageDeflate``; no config key, no protocol option), so this installs a subclass
    of ``hypercorn.protocol.ws_stream.Handshake`` in that module, which hypercorn's websocket
    stream instantiates per connection. Its ``accept`` withholds the client's extension offer
    when the accepted subprotocol is AURA; every other connection goes through hypercorn's own
    code unchanged. A hypercorn outside :data:`HYPERCORN_CHECKED` is refused with ``ConfigError``
    unless ``allow_unchecked`` (the shape of the class is checked either way).
    """
    import inspect

    from hypercorn.protocol import ws_stream

    from aura_wire.errors import ConfigError

    base = ws_stream.Handshake
    if getattr(base, "_aura_no_deflate", False):
        return
    ver = _hypercorn_version()
    lo, hi = HYPERCORN_CHECKED
    if not (lo <= ver[:2] <= hi) and not allow_unchecked:
        raise ConfigError(f"use_with_hypercorn() was checked with hypercorn {lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}, "
                          f"not {'.'.join(map(str, ver))}: pass allow_unchecked=True to patch it anyway",
                          field="hypercorn")
    params = list(inspect.signature(base.accept).parameters)
    if params != ["self", "subprotocol", "additional_headers"] or not hasattr(base([], "1.1"), "extensions"):
        raise ConfigError("hypercorn.protocol.ws_stream.Handshake is not the class use_with_hypercorn() knows "
                          "(accept(subprotocol, additional_headers) and an extensions attribute)", field="hypercorn")

    class AuraHandshake(base):  # type: ignore[misc, valid-type]
        _aura_no_deflate = True

        def accept(self, subprotocol: str | None, additional_headers: Any) -> Any:
            if is_aura_subprotocol(subprotocol):
                self.extensions = None  # no offer is read: no extension is accepted
            return super().accept(subprotocol, additional_headers)

    setattr(ws_stream, "Handshake", AuraHandshake)  # noqa: B010 - hypercorn types Handshake as a class: mypy refuses an assignment
