"""The sans-I/O AURA session layer (spec/session.md).

Negotiation helpers (:mod:`.negotiation`), CONTROL frames (:mod:`.control`),
the state table (:mod:`._state`), events (:mod:`.events`), per-connection
counters (:mod:`.stats`) and the :class:`Session` state machine (:mod:`.core`).  Adapters that do I/O live in
:mod:`aura_wire.middleware`, :mod:`aura_wire.client` and
:mod:`aura_wire.extension`; nothing in this package touches a socket.
"""

from aura_wire.session._state import TRANSITIONS, Event, Role, State
from aura_wire.session.config import SessionConfig
from aura_wire.session.core import Session, close_reason
from aura_wire.session.stats import SessionStats
from aura_wire.session.events import (
    ConnectionFailed,
    DictionaryFetched,
    DictionaryInUse,
    DictionaryOffered,
    MessageReceived,
    SessionEvent,
)

__all__ = [
    "TRANSITIONS",
    "ConnectionFailed",
    "DictionaryFetched",
    "DictionaryInUse",
    "DictionaryOffered",
    "Event",
    "MessageReceived",
    "Role",
    "Session",
    "SessionConfig",
    "SessionEvent",
    "SessionStats",
    "State",
    "close_reason",
]
