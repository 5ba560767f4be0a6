"""Per-connection counters of a :class:`~aura_wire.session.Session` (application vs frame bytes).

Updated on every data frame, so each update is a few integer additions and one list index (the
method number), no dict lookup and no object made.  No I/O here.
"""

from __future__ import annotations

from typing import Any

from aura_wire.codec.frame import METHOD_NAMES

__all__ = ["SessionStats", "utf8_len"]


def utf8_len(message: str | bytes) -> int:
    if isinstance(message, bytes):
        return len(message)
    return len(message) if message.isascii() else len(message.encode("utf-8"))


def _named(counts: list[int]) -> dict[str, int]:
    return {METHOD_NAMES[m]: n for m, n in enumerate(counts) if n}


class SessionStats:
    """Per-connection counters: application (raw) bytes vs frame (wire) bytes, per direction.

    Wire bytes count AURA frames (WebSocket message payloads); CONTROL frames
    are counted apart, in ``control_*``; dictionary transfers in ``dictionary_bytes``
    (in-band, part of the control bytes) and ``http_dictionary_bytes`` (client: HTTP bodies).
    """

    def __init__(self) -> None:
        self.sent_messages = 0
        self.sent_raw_bytes = 0
        self.sent_wire_bytes = 0
        self.received_messages = 0
        self.received_raw_bytes = 0
        self.received_wire_bytes = 0
        self.control_sent_bytes = 0
        self.control_received_bytes = 0
        #: Dictionary bytes moved on this connection: in-band CHUNK payloads (inside the control
        #: bytes) plus, on a client, HTTP bodies it downloaded for this connection (outside them).
        self.dictionary_bytes = 0
        self.http_dictionary_bytes = 0
        #: Data frames per method number (the frame's low 3 bits): a list index per frame is cheaper
        #: than a dict update keyed by name; :attr:`sent_methods` names them.
        self.sent_by_method = [0] * 8
        self.received_by_method = [0] * 8

    @property
    def sent_methods(self) -> dict[str, int]:
        """Data frames sent per method name (methods never used are left out)."""
        return _named(self.sent_by_method)

    @property
    def received_methods(self) -> dict[str, int]:
        """Data frames received per method name (methods never used are left out)."""
        return _named(self.received_by_method)

    @property
    def sent_ratio(self) -> float:
        return self.sent_raw_bytes / self.sent_wire_bytes if self.sent_wire_bytes else 0.0

    @property
    def received_ratio(self) -> float:
        return self.received_raw_bytes / self.received_wire_bytes if self.received_wire_bytes else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": {"messages": self.sent_messages, "raw_bytes": self.sent_raw_bytes,
                     "wire_bytes": self.sent_wire_bytes, "ratio": round(self.sent_ratio, 4),
                     "methods": self.sent_methods},
            "received": {"messages": self.received_messages, "raw_bytes": self.received_raw_bytes,
                         "wire_bytes": self.received_wire_bytes, "ratio": round(self.received_ratio, 4),
                         "methods": self.received_methods},
            "control": {"sent_bytes": self.control_sent_bytes, "received_bytes": self.control_received_bytes},
            "dictionary_bytes": self.dictionary_bytes,
            "http_dictionary_bytes": self.http_dictionary_bytes,
        }
