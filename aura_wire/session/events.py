"""Events a :class:`~aura_wire.session.Session` hands to its adapter (spec/session.md §5).

Events are small immutable values, in the order they happened.  The adapter
reads them with :meth:`Session.events` and acts: deliver a message to the
application, look a dictionary up in a cache, close the socket.

No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from aura_wire.codec.dictionary import Dictionary

__all__ = [
    "MessageReceived",
    "DictionaryOffered",
    "DictionaryFetched",
    "DictionaryInUse",
    "ConnectionFailed",
    "SessionEvent",
]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """An application message arrived, exactly as the peer's application sent it."""

    data: str | bytes


@dataclass(frozen=True, slots=True)
class DictionaryOffered:
    """Client: the server announced these dictionaries (preferred first), with their sizes.

    The adapter answers with :meth:`Session.use_dictionary`, :meth:`Session.fetch_dictionary`
    or :meth:`Session.decline`.
    """

    ids: tuple[str, ...]
    sizes: tuple[int, ...]
    #: Bytes an in-band transfer of each moves (the coded size with a transfer coding, spec §4.3.1).
    transfer_sizes: tuple[int, ...] = ()
    #: The server's estimated saving of each, bytes per 1000 messages; None where not announced (spec §4.1.2).
    savings: tuple[int | None, ...] = ()


@dataclass(frozen=True, slots=True)
class DictionaryFetched:
    """Client: an in-band transfer completed and passed its SHA-256 check (cache it)."""

    dictionary: Dictionary


@dataclass(frozen=True, slots=True)
class DictionaryInUse:
    """From now on, frames in ``direction`` ("send" or "receive") use ``dictionary_id``."""

    direction: str
    dictionary_id: str


@dataclass(frozen=True, slots=True)
class ConnectionFailed:
    """The session failed: close the WebSocket with ``code`` and ``reason``.

    ``remote`` is True when the peer is at fault.
    """

    code: int
    reason: str
    remote: bool


SessionEvent = Union[MessageReceived, DictionaryOffered, DictionaryFetched, DictionaryInUse, ConnectionFailed]
