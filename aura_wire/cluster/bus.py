"""The messages replicas exchange over the cluster bus, as values (no I/O here).

Two kinds, each a small msgpack array with a leading version and kind tag so
a replica of a newer release can refuse what it does not understand:

* :class:`Prepared` (a cluster broadcast): the publishing replica encoded the
  message once, as a stateless frame (C=0) on ``dictionary_id`` (the
  cluster's current dictionary, or None); it carries the frame *and* the
  original message, so a replica hands the frame unchanged to every local
  subscriber that sends with exactly that dictionary, the original to plain
  websocket clients, and encodes again only for connections on another
  dictionary (connections keep theirs across a rollout, spec/session.md
  §6.7).  A frame is never sent to a connection that does not hold its
  dictionary: the D bit names no id, so the match is by id, here.
* :class:`Adopted` (a dictionary rollout): ``dictionary_id`` became the
  cluster's current dictionary, adopted by replica ``origin``.

Parsing checks every field's type and bounds and raises :class:`FrameError`
naming the field; a replica drops such a message with a logged error.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import msgpack

from aura_wire.errors import FrameError

__all__ = ["BUS_VERSION", "Adopted", "Prepared", "pack", "unpack"]

BUS_VERSION: Final = 1
_KIND_PREPARED: Final = 1
_KIND_ADOPTED: Final = 2
#: Bound on one bus message, whatever the configured message limits (a malformed peer cannot make us allocate more).
MAX_BUS_MESSAGE: Final = 64 * 1024 * 1024


class Prepared(NamedTuple):
    """One cluster broadcast: ``frame`` encodes ``message`` statelessly on ``dictionary_id``.

    ``origin`` names the publishing node (one per process run); ``seq``
    numbers its broadcasts from 1, so a receiver drops what it has seen (a
    publisher republishes its recent broadcasts after a Redis failure);
    ``time`` (Unix seconds) is when it was first published, so a replica that
    joined later does not deliver a republished one.
    """

    origin: str
    channel: str
    dictionary_id: str | None
    message: str | bytes
    frame: bytes
    seq: int = 0
    time: float = 0.0


class Adopted(NamedTuple):
    """``dictionary_id`` is the cluster's current dictionary from now on (adopted by ``origin``)."""

    origin: str
    dictionary_id: str


def pack(msg: Prepared | Adopted) -> bytes:
    """Serialize a bus message."""
    if isinstance(msg, Prepared):
        text = isinstance(msg.message, str)
        body = msg.message.encode("utf-8") if isinstance(msg.message, str) else bytes(msg.message)
        out: bytes = msgpack.packb([BUS_VERSION, _KIND_PREPARED, msg.origin, msg.channel, msg.dictionary_id or "",
                                    text, body, msg.frame, msg.seq, float(msg.time)], use_bin_type=True)
        return out
    out = msgpack.packb([BUS_VERSION, _KIND_ADOPTED, msg.origin, msg.dictionary_id], use_bin_type=True)
    return out


def _field(items: list[object], i: int, kind: type, name: str) -> object:
    v = items[i]
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise FrameError(f"bus message field {name} must be {kind.__name__}, got {type(v).__name__}",
                         field=f"bus.{name}")
    return v


def unpack(data: bytes) -> Prepared | Adopted:
    """Parse a bus message; :class:`FrameError` naming the field when it is malformed."""
    if len(data) > MAX_BUS_MESSAGE:
        raise FrameError(f"bus message of {len(data)} bytes exceeds {MAX_BUS_MESSAGE}", field="bus")
    try:
        items = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise FrameError(f"bus message is not msgpack: {exc}", field="bus") from exc
    if not isinstance(items, list) or len(items) < 2:
        raise FrameError("bus message must be an array [version, kind, ...]", field="bus")
    if items[0] != BUS_VERSION:
        raise FrameError(f"bus message version {items[0]!r} is not {BUS_VERSION}", field="bus.version")
    kind = items[1]
    if kind == _KIND_PREPARED and len(items) == 10:
        origin = str(_field(items, 2, str, "origin"))
        channel = str(_field(items, 3, str, "channel"))
        did = str(_field(items, 4, str, "dictionary_id"))
        text = _field(items, 5, bool, "text")
        body = _field(items, 6, bytes, "message")
        frame = _field(items, 7, bytes, "frame")
        seq = _field(items, 8, int, "seq")
        when = _field(items, 9, float, "time")
        assert isinstance(body, bytes) and isinstance(frame, bytes) and isinstance(seq, int)
        if seq < 0:
            raise FrameError(f"bus message seq {seq} is negative", field="bus.seq")
        if not frame:
            raise FrameError("bus message has an empty frame", field="bus.frame")
        if text:
            try:
                message: str | bytes = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FrameError("bus text message is not UTF-8", field="bus.message") from exc
        else:
            message = body
        assert isinstance(when, float)
        return Prepared(origin, channel, did or None, message, frame, seq, when)
    if kind == _KIND_ADOPTED and len(items) == 4:
        return Adopted(str(_field(items, 2, str, "origin")), str(_field(items, 3, str, "dictionary_id")))
    raise FrameError(f"bus message kind {kind!r} with {len(items)} fields is not known", field="bus.kind")
