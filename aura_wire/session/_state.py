"""States of an AURA session and the table of allowed transitions (spec/session.md §5).

The whole state machine lives in :data:`TRANSITIONS`: a mapping from
``(role, state, event)`` to the next state.  An event missing from the table
is a protocol violation; :func:`transition` raises a
:class:`~aura_wire.errors.ProtocolError` that names the role, the state and
the event (h11's "Rule 1").  ``spec/session.md`` §5 shows the same table.

No I/O here.
"""

from __future__ import annotations

import enum
from typing import Final

from aura_wire.errors import ProtocolError

__all__ = ["Role", "State", "Event", "TRANSITIONS", "transition"]


class Role(enum.Enum):
    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    """Session states.  ``PLAIN`` and ``SYNCED`` are the steady states."""

    #: Server: accepted, HELLO not sent yet.
    NEW = "new"
    #: Server: HELLO sent, waiting for the client's USE (GETs are served meanwhile).
    ANNOUNCED = "announced"
    #: Client: waiting for the server's HELLO.
    AWAIT_HELLO = "await-hello"
    #: Client: HELLO received with at least one dictionary; the adapter decides (use, fetch or decline).
    OFFERED = "offered"
    #: Client: in-band transfer of a dictionary in progress.
    FETCHING = "fetching"
    #: Client: USE sent (client → server frames use the dictionary), waiting for the server's USE.
    #: Server: HELLO and an early USE sent for a dictionary the client named (spec §6.1.1),
    #: waiting for the client's USE.
    USE_SENT = "use-sent"
    #: Both directions use the dictionary.
    SYNCED = "synced"
    #: No dictionary on this connection (none offered, or declined); dictionary-free frames only.
    PLAIN = "plain"
    #: Extension route: the dictionary was fixed in the handshake; no CONTROL frames.
    STATIC = "static"
    #: The connection failed or was closed; nothing more is accepted.
    CLOSED = "closed"


class Event(enum.Enum):
    START = "start"  # server: send HELLO
    START_HELD = "start held"  # server: send HELLO, then USE for a dictionary the client named (spec §6.1.1)
    RECV_HELLO = "recv HELLO"
    RECV_HELLO_HELD = "recv HELLO held"  # client: HELLO lists a dictionary it named: switch at once
    RECV_USE = "recv USE"
    RECV_GET = "recv GET"
    RECV_CHUNK = "recv CHUNK"
    RECV_CHUNK_LAST = "recv last CHUNK"
    USE = "use dictionary"  # client, local: a dictionary is at hand
    FETCH = "fetch dictionary"  # client, local: start an in-band transfer
    DECLINE = "decline"  # client, local: stay dictionary-free
    DATA = "data frame"  # a data frame sent or received
    FAIL = "fail"
    CLOSE = "close"


_C = Role.CLIENT
_S = Role.SERVER

#: ``(role, state, event) -> next state``.  DATA, FAIL and CLOSE are added below for every live state.
TRANSITIONS: Final[dict[tuple[Role, State, Event], State]] = {
    # server
    (_S, State.NEW, Event.START): State.ANNOUNCED,
    (_S, State.ANNOUNCED, Event.RECV_GET): State.ANNOUNCED,
    (_S, State.ANNOUNCED, Event.RECV_USE): State.SYNCED,
    (_S, State.NEW, Event.START_HELD): State.USE_SENT,
    (_S, State.USE_SENT, Event.RECV_USE): State.SYNCED,
    # client
    (_C, State.AWAIT_HELLO, Event.RECV_HELLO): State.OFFERED,
    (_C, State.AWAIT_HELLO, Event.RECV_HELLO_HELD): State.USE_SENT,
    (_C, State.OFFERED, Event.USE): State.USE_SENT,
    (_C, State.OFFERED, Event.FETCH): State.FETCHING,
    (_C, State.OFFERED, Event.DECLINE): State.PLAIN,
    (_C, State.FETCHING, Event.RECV_CHUNK): State.FETCHING,
    (_C, State.FETCHING, Event.RECV_CHUNK_LAST): State.USE_SENT,
    (_C, State.USE_SENT, Event.RECV_USE): State.SYNCED,
}

_LIVE: Final = (
    State.NEW, State.ANNOUNCED, State.AWAIT_HELLO, State.OFFERED, State.FETCHING,
    State.USE_SENT, State.SYNCED, State.PLAIN, State.STATIC,
)
for _role in (_C, _S):
    for _st in _LIVE:
        TRANSITIONS[(_role, _st, Event.DATA)] = _st
        TRANSITIONS[(_role, _st, Event.FAIL)] = State.CLOSED
        TRANSITIONS[(_role, _st, Event.CLOSE)] = State.CLOSED
# A server with no dictionary announces none and goes straight to PLAIN; so does a client told so.
TRANSITIONS[(_S, State.NEW, Event.DECLINE)] = State.PLAIN
TRANSITIONS[(_C, State.AWAIT_HELLO, Event.DECLINE)] = State.PLAIN
TRANSITIONS[(_C, State.CLOSED, Event.CLOSE)] = State.CLOSED
TRANSITIONS[(_S, State.CLOSED, Event.CLOSE)] = State.CLOSED


def transition(role: Role, state: State, event: Event, *, remote: bool = True) -> State:
    """Return the state after ``event``; raise :class:`ProtocolError` when it is not allowed.

    ``remote=False`` for an event the application caused (a call in the wrong state is its
    own misuse, not the peer's fault: the error says so)."""
    nxt = TRANSITIONS.get((role, state, event))
    if nxt is None:
        err = ProtocolError(f"{event.value} is not allowed for the {role.value} in state {state.value}",
                            field="session.state")
        err.remote = remote
        raise err
    return nxt
