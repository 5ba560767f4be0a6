"""The ``permessage-aura`` WebSocket extension for code built directly on websockets (spec/session.md §9).

``websockets.serve(..., extensions=server_extensions(dictionary))`` and
``websockets.connect(..., extensions=client_extensions([dictionary]))``
negotiate ``Sec-WebSocket-Extensions: permessage-aura`` (RFC 6455 §9) with
the parameters ``dict=<id>`` (the shared dictionary both hold),
``no_context`` (stateless frames) and ``rev=<n>`` (the context revision the
offer's sender runs).  The server's response also carries its codec
parameters (``rev`` and, in context mode, every CONTEXT_FIELDS value by name);
the client checks and adopts them exactly as it does a HELLO's (spec §4.1.1).  Then every data message is one AURA
frame, coded by the same sans-I/O :class:`~aura_wire.session.Session` as the
subprotocol route, in its ``STATIC`` state: the dictionary was fixed by the
handshake, so no CONTROL frames are exchanged.

permessage-aura and permessage-deflate are never both applied to a
message: the factories here refuse to be negotiated next to each other, and
:class:`ServerDeflateFactory`/:class:`ClientDeflateFactory` are
permessage-deflate factories that refuse to join permessage-aura.  The
opcode (text/binary) is kept; RSV bits are not used.  Messages must not be
fragmented (an AURA frame is a whole message).

Adapter only: the codec and the session do the work.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

from websockets.datastructures import Headers
from websockets.exceptions import NegotiationError, PayloadTooBig
from websockets.exceptions import ProtocolError as WSProtocolError
from websockets.extensions.base import (
    ClientExtensionFactory,
    Extension,
    ServerExtensionFactory,
)
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import CTRL_OPCODES, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.typing import ExtensionName, ExtensionParameter

from aura_wire.codec.config import (
    CONTEXT_FIELD_DEFAULTS,
    CONTEXT_FIELDS,
    CONTEXT_REVISION,
    DEFAULT_MAX_MESSAGE_SIZE,
)
from aura_wire.codec.dictionary import Dictionary
from aura_wire.errors import CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, ProtocolError
from aura_wire.session import (
    ConnectionFailed,
    MessageReceived,
    Role,
    Session,
    SessionConfig,
)
from aura_wire.session.config import DEFAULT_MAX_CONTEXT_MEMORY
from aura_wire.session.negotiation import DICTIONARY_PATH
from aura_wire.session.params import ContextParams, announced_params, check_params

__all__ = [
    "EXTENSION_NAME",
    "PerMessageAura",
    "ServerPerMessageAuraFactory",
    "ClientPerMessageAuraFactory",
    "ServerDeflateFactory",
    "ClientDeflateFactory",
    "server_extensions",
    "client_extensions",
    "dictionary_endpoint",
]

EXTENSION_NAME = ExtensionName("permessage-aura")
_DEFLATE = "permessage-deflate"


class PerMessageAura(Extension):
    """One negotiated permessage-aura extension: codes whole messages as AURA frames."""

    name = EXTENSION_NAME

    def __init__(self, role: Role, dictionary: Dictionary | None, *, context: bool = True,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, codec_config: dict[str, Any] | None = None) -> None:
        self.dictionary = dictionary
        self.context = context
        self.session = Session.for_extension(
            role, dictionary, config=SessionConfig(context=context, max_message_size=max_message_size),
            codec_config=codec_config)

    def __repr__(self) -> str:
        did = self.dictionary.id[:12] if self.dictionary is not None else None
        return f"PerMessageAura(dict={did}, context={self.context})"

    def encode(self, frame: Frame) -> Frame:
        """Code an outgoing data frame (a whole message) as an AURA frame."""
        if frame.opcode in CTRL_OPCODES:
            return frame
        if frame.opcode is Opcode.CONT or not frame.fin:
            raise WSProtocolError("permessage-aura cannot code fragmented messages")
        data = bytes(frame.data)
        message: str | bytes = data.decode("utf-8") if frame.opcode is Opcode.TEXT else data
        return dataclasses.replace(frame, data=self.session.encode(message))

    def decode(self, frame: Frame, *, max_size: int | None = None) -> Frame:
        """Decode an incoming AURA frame; errors become the close codes of spec §7."""
        if frame.opcode in CTRL_OPCODES:
            return frame
        if frame.opcode is Opcode.CONT or not frame.fin:
            raise WSProtocolError("permessage-aura messages must not be fragmented")
        wire = bytes(frame.data)
        if wire and bool(wire[0] & 0x08) != (frame.opcode is Opcode.TEXT) and wire[0] & 0x07 != 0x07:
            raise WSProtocolError("AURA text flag does not match the WebSocket opcode")
        self.session.receive_frame(wire)
        for ev in self.session.events():
            if isinstance(ev, MessageReceived):
                out = ev.data.encode("utf-8") if isinstance(ev.data, str) else ev.data
                if max_size is not None and len(out) > max_size:
                    raise PayloadTooBig(len(out), max_size)
                return dataclasses.replace(frame, data=out)
            if isinstance(ev, ConnectionFailed):
                if ev.code == CLOSE_PROTOCOL_ERROR:
                    raise WSProtocolError(ev.reason)
                if ev.code == CLOSE_TOO_BIG:
                    raise PayloadTooBig(len(wire), max_size if max_size is not None else 0)
                # websockets closes with 1007 (invalid data) on UnicodeDecodeError only.
                raise UnicodeDecodeError("aura", wire[:1], 0, 1, ev.reason)
        raise WSProtocolError("permessage-aura frame produced no message")


class _Params:
    """The parameters of one permessage-aura offer or response (spec §9)."""

    def __init__(self) -> None:
        self.did: str | None = None
        self.no_context = False
        self.rev: int | None = None
        self.values: dict[str, int] = {}  # CONTEXT_FIELDS (responses only)


def _number(key: str, value: str | None) -> int:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 20:
        raise NegotiationError(f"permessage-aura: bad {key} parameter {value!r}")
    return int(value)


def _parse_params(params: Sequence[ExtensionParameter], *, response: bool) -> _Params:
    out = _Params()
    for key, value in params:
        if key == "dict" and out.did is None and value is not None:
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise NegotiationError(f"permessage-aura: bad dict parameter {value!r}")
            out.did = value
        elif key == "no_context" and value is None and not out.no_context:
            out.no_context = True
        elif key == "rev" and out.rev is None:
            out.rev = _number(key, value)
        elif response and key in CONTEXT_FIELDS and key not in out.values:
            out.values[key] = _number(key, value)
        else:
            raise NegotiationError(f"permessage-aura: unsupported parameter {key}={value}")
    return out


def _build_params(did: str | None, no_context: bool, rev: int | None = CONTEXT_REVISION,
                  values: dict[str, int] | None = None) -> list[ExtensionParameter]:
    params: list[ExtensionParameter] = []
    if did is not None:
        params.append(("dict", did))
    if no_context:
        params.append(("no_context", None))
    if rev is not None:
        params.append(("rev", str(rev)))
    for name in CONTEXT_FIELDS:
        if values is not None and name in values and CONTEXT_FIELD_DEFAULTS.get(name) != values[name]:
            params.append((name, str(values[name])))
    return params


def _as_list(dictionaries: Dictionary | Sequence[Dictionary] | None) -> list[Dictionary]:
    if dictionaries is None:
        return []
    if isinstance(dictionaries, Dictionary):
        return [dictionaries]
    return list(dictionaries)


class ServerPerMessageAuraFactory(ServerExtensionFactory):
    """Server side of permessage-aura: accepts an offer naming a dictionary it holds, or none.

    ``dictionaries``: the current dictionary first, then older versions still
    accepted.  ``context=False`` forces stateless frames.  ``codec_config``
    goes to every Encoder/Decoder; its context fields are sent in the response
    for the client to adopt.  An offer naming another ``rev`` is unacceptable
    (the handshake then falls back to the next extension offered, or none).
    """

    name = EXTENSION_NAME

    def __init__(self, dictionaries: Dictionary | Sequence[Dictionary] | None = None, *, context: bool = True,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, **codec_config: Any) -> None:
        self.dictionaries = {d.id: d for d in _as_list(dictionaries)}
        self.context = context
        self.max_message_size = max_message_size
        self.codec_config = codec_config
        announced_params(context, codec_config)  # validate the codec options now

    def process_request_params(self, params: Sequence[ExtensionParameter],
                               accepted_extensions: Sequence[Extension]) -> tuple[list[ExtensionParameter], Extension]:
        if any(e.name in (EXTENSION_NAME, _DEFLATE) for e in accepted_extensions):
            raise NegotiationError("permessage-aura is never combined with another compression extension")
        offer = _parse_params(params, response=False)
        did = offer.did
        if did is not None and did not in self.dictionaries:
            raise NegotiationError(f"permessage-aura: dictionary {did[:12]} not held")
        if offer.rev is not None and offer.rev != CONTEXT_REVISION:
            raise NegotiationError(f"permessage-aura: client runs context revision {offer.rev}, "
                                   f"this server runs {CONTEXT_REVISION}")
        no_context = offer.no_context or not self.context
        ext = PerMessageAura(Role.SERVER, self.dictionaries.get(did) if did else None, context=not no_context,
                             max_message_size=self.max_message_size, codec_config=self.codec_config)
        values = None if no_context else announced_params(True, self.codec_config).values
        return _build_params(did, no_context, CONTEXT_REVISION, values), ext


class ClientPerMessageAuraFactory(ClientExtensionFactory):
    """Client side of permessage-aura: offers ``dict=<id>`` when given a dictionary.

    Offer several dictionaries with one factory each (most preferred first),
    and a last one without dictionary; :func:`client_extensions` does that.
    The server's response parameters (revision, context fields) are checked
    against ``max_context_memory`` and the codec ranges, then adopted.
    """

    name = EXTENSION_NAME

    def __init__(self, dictionary: Dictionary | None = None, *, context: bool = True,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_context_memory: int = DEFAULT_MAX_CONTEXT_MEMORY, **codec_config: Any) -> None:
        self.dictionary = dictionary
        self.context = context
        self.max_message_size = max_message_size
        self.max_context_memory = max_context_memory
        self.codec_config = codec_config
        SessionConfig(max_context_memory=max_context_memory)  # validate it now

    def get_request_params(self) -> Sequence[ExtensionParameter]:
        return _build_params(self.dictionary.id if self.dictionary is not None else None, not self.context)

    def process_response_params(self, params: Sequence[ExtensionParameter],
                                accepted_extensions: Sequence[Extension]) -> Extension:
        if any(e.name in (EXTENSION_NAME, _DEFLATE) for e in accepted_extensions):
            raise NegotiationError("permessage-aura is never combined with another compression extension")
        got = _parse_params(params, response=True)
        did, no_context = got.did, got.no_context
        mine = self.dictionary.id if self.dictionary is not None else None
        if did is not None and did != mine:
            raise NegotiationError("permessage-aura: server chose a dictionary this offer did not name")
        if not self.context and not no_context:
            raise NegotiationError("permessage-aura: server dropped no_context")
        if got.rev is None:
            raise NegotiationError("permessage-aura: server response lacks rev")
        codec = dict(self.codec_config)
        if not no_context:
            missing = [n for n in CONTEXT_FIELDS if n not in got.values and n not in CONTEXT_FIELD_DEFAULTS]
            if missing:
                raise NegotiationError(f"permessage-aura: server response lacks {', '.join(missing)}")
            got.values = {**CONTEXT_FIELD_DEFAULTS, **got.values}
        try:
            if no_context:
                if got.rev != CONTEXT_REVISION:
                    raise ProtocolError(f"server runs context revision {got.rev}, this client runs "
                                        f"{CONTEXT_REVISION}", field="permessage-aura.rev")
            else:
                codec = check_params(ContextParams(True, got.rev, got.values), allow_context=True,
                                     max_context_memory=self.max_context_memory, codec_config=codec,
                                     field="permessage-aura")
        except ProtocolError as exc:
            raise NegotiationError(f"permessage-aura: {exc}") from exc
        return PerMessageAura(Role.CLIENT, self.dictionary if did else None, context=not no_context,
                              max_message_size=self.max_message_size, codec_config=codec)


class ServerDeflateFactory(ServerPerMessageDeflateFactory):
    """permessage-deflate that refuses to be negotiated next to permessage-aura."""

    def process_request_params(self, params: Sequence[ExtensionParameter],
                               accepted_extensions: Sequence[Extension]) -> tuple[list[ExtensionParameter], Any]:
        if any(e.name == EXTENSION_NAME for e in accepted_extensions):
            raise NegotiationError("permessage-aura already accepted")
        return super().process_request_params(params, accepted_extensions)


class ClientDeflateFactory(ClientPerMessageDeflateFactory):
    """permessage-deflate that refuses to be negotiated next to permessage-aura."""

    def process_response_params(self, params: Sequence[ExtensionParameter],
                                accepted_extensions: Sequence[Extension]) -> Any:
        if any(e.name == EXTENSION_NAME for e in accepted_extensions):
            raise NegotiationError("permessage-aura already accepted")
        return super().process_response_params(params, accepted_extensions)


def server_extensions(dictionaries: Dictionary | Sequence[Dictionary] | None = None, *, deflate: bool = True,
                      context: bool = True, **codec_config: Any) -> list[ServerExtensionFactory]:
    """Factories for ``websockets.serve(extensions=...)``: permessage-aura, then (optionally) deflate."""
    out: list[ServerExtensionFactory] = [ServerPerMessageAuraFactory(dictionaries, context=context, **codec_config)]
    if deflate:
        out.append(ServerDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                        compress_settings={"memLevel": 5}))
    return out


def client_extensions(dictionaries: Dictionary | Sequence[Dictionary] | None = None, *, deflate: bool = True,
                      context: bool = True, max_context_memory: int = DEFAULT_MAX_CONTEXT_MEMORY,
                      **codec_config: Any) -> list[ClientExtensionFactory]:
    """Factories for ``websockets.connect(extensions=...)``: one permessage-aura offer per
    dictionary held, one without dictionary, then (optionally) deflate as the fallback."""
    out: list[ClientExtensionFactory] = [
        ClientPerMessageAuraFactory(d, context=context, max_context_memory=max_context_memory, **codec_config)
        for d in _as_list(dictionaries)]
    out.append(ClientPerMessageAuraFactory(None, context=context, max_context_memory=max_context_memory,
                                           **codec_config))
    if deflate:
        out.append(ClientDeflateFactory(client_max_window_bits=True))
    return out


def dictionary_endpoint(dictionaries: Dictionary | Sequence[Dictionary], *,
                        path: str = DICTIONARY_PATH) -> Callable[[Any, Request], Response | None]:
    """A ``process_request`` hook for ``websockets.serve`` serving ``GET {path}<id>`` (spec §6.5).

    Clients of the extension route can fetch a dictionary over plain HTTP from
    the same server before they offer it.  Other requests go on to the
    WebSocket handshake.
    """
    by_id = {d.id: d for d in _as_list(dictionaries)}

    def process_request(connection: Any, request: Request) -> Response | None:
        if not request.path.startswith(path):
            return None
        d = by_id.get(request.path[len(path):].split("?", 1)[0])
        if d is None:
            body = b"unknown dictionary id\n"
            return Response(404, "Not Found",
                            Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]), body)
        etag = f'"{d.id}"'
        headers = Headers([("ETag", etag), ("Cache-Control", "public, max-age=31536000, immutable")])
        if etag in [v.strip() for v in request.headers.get("If-None-Match", "").split(",")]:
            return Response(304, "Not Modified", headers, b"")
        headers["Content-Type"] = "application/vnd.aura-wire.dictionary"
        headers["Content-Length"] = str(len(d))
        return Response(200, "OK", headers, d.to_bytes())

    return process_request
