"""The sans-I/O AURA session: negotiation outcome, dictionary sync, data frames (spec/session.md).

A :class:`Session` is one end of one AURA connection.  It consumes whole
WebSocket messages (:meth:`Session.receive_frame`) and application calls
(:meth:`Session.send_message`, the client's dictionary decisions) and
produces whole WebSocket messages to send (:meth:`Session.data_to_send`)
and :mod:`~aura_wire.session.events` (:meth:`Session.events`), in the style
of websockets' ``Protocol`` and h11's ``Connection``.  Every state change
goes through :func:`~aura_wire.session._state.transition`.

Errors made by the peer never raise out of :meth:`receive_frame`: they end
the session with a :class:`~aura_wire.session.events.ConnectionFailed`
event that carries the close code and a readable reason.  Local misuse
(sending after close, using a dictionary that was not offered) raises.

It must never do I/O: no sockets, no files, no asyncio.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any, Mapping, Sequence

from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.decoder import Decoder
from aura_wire.codec.encoder import Encoder
from aura_wire.codec.frame import max_frame_size
from aura_wire.errors import (
    AuraError,
    ConfigError,
    DictionaryFormatError,
    FrameError,
    LimitError,
    ProtocolError,
)
from aura_wire.metrics import CompressionMetrics
from aura_wire.session._state import Event, Role, State, transition
from aura_wire.session.config import SessionConfig
from aura_wire.session.control import (
    MAX_HELLO_IDS,
    SESSION_VERSION,
    Chunk,
    ControlMessage,
    Get,
    Hello,
    Unknown,
    Use,
    is_control_frame,
    is_prepared_frame,
    pack_control,
    parse_control,
)
from aura_wire.session.negotiation import CODINGS, Hints
from aura_wire.session.params import (
    PARAM_CODED_SIZE_BASE,
    PARAM_SAVING_BASE,
    PARAM_TRANSFER_CODING,
    ContextParams,
    adopt_params,
    announced_params,
    check_params,
    restrict_methods,
)
from aura_wire.session.stats import SessionStats, utf8_len
from aura_wire.session.transfer import CODING_NAMES, coded_form, decode_transfer
from aura_wire.session.events import (
    ConnectionFailed,
    DictionaryFetched,
    DictionaryInUse,
    DictionaryOffered,
    MessageReceived,
    SessionEvent,
)

__all__ = ["Session", "SessionStats", "close_reason"]

#: Enum members are slow to reach through their class (about 0.3 µs): the hot paths compare with this.
_CLOSED = State.CLOSED


#: RFC 6455 §5.5: a control frame payload is at most 125 bytes, 2 of them the close code.
MAX_REASON_BYTES = 123


def close_reason(text: str) -> str:
    """Shorten ``text`` to a valid WebSocket close reason (at most 123 UTF-8 bytes)."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_REASON_BYTES:
        return text
    return raw[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore") + "..."


class _Fetch:
    """Client-side state of one in-band dictionary transfer."""

    def __init__(self, dictionary_id: str, size: int, coded_size: int = 0) -> None:
        self.dictionary_id = dictionary_id
        self.size = size  # the serialized dictionary
        self.coded_size = coded_size  # bytes the GETs address: the coded form (spec §4.3.1), else ``size``
        self.buf = bytearray()
        self.next_offset = 0  # next byte not yet requested
        self.pending: deque[tuple[int, int]] = deque()  # (offset, length) requested, not yet received


class Session:
    """One end of an AURA connection (subprotocol route, or the extension route when ``static``).

    Server: ``Session(Role.SERVER, dictionaries=[current, ...])`` then
    :meth:`start` (queues HELLO).  Client: ``Session(Role.CLIENT)``; on
    :class:`DictionaryOffered` call :meth:`use_dictionary`,
    :meth:`fetch_dictionary` or :meth:`decline`.  ``codec_config`` is passed
    through to every :class:`Encoder`/:class:`Decoder` the session builds.

    Codec parameters (spec §4.1.1): the server announces its context flag,
    revision and CONTEXT_FIELDS values in HELLO (:attr:`params`); the client
    checks them against its bounds and adopts them for both directions, so
    the context fields of a client's ``codec_config`` are replaced.  Until
    HELLO arrives a client codes every message stateless (C=0, as if
    sensitive) and accepts no data frame.
    ``send_metrics``/``receive_metrics``, when given, replace the metrics
    object of every encoder/decoder the session builds, so one
    :class:`CompressionMetrics` can aggregate many connections.

    Hints (spec §3.4): a server gets the client's ``hints`` (what it holds, which
    methods it decodes, the transfer codings it takes) and codes only decodable
    methods, switches early to a held dictionary and codes in-band transfers; a
    client passes the ``hints`` it sent and the ``held`` dictionaries they name.
    ``savings`` (server): the estimated saving per dictionary id, in bytes per
    1000 messages, announced in HELLO for the client's fetch decision (spec §6.8).
    """

    def __init__(
        self,
        role: Role,
        *,
        dictionaries: Sequence[Dictionary] = (),
        config: SessionConfig | None = None,
        codec_config: Mapping[str, Any] | None = None,
        send_metrics: CompressionMetrics | None = None,
        receive_metrics: CompressionMetrics | None = None,
        hints: Hints | None = None,
        held: Sequence[Dictionary] = (),
        savings: Mapping[str, int] | None = None,
    ) -> None:
        self.role = role
        self.config = config if config is not None else SessionConfig()
        self.hints = hints if hints is not None else Hints()
        self._codec_config: dict[str, Any] = dict(codec_config or {})
        if role is Role.SERVER:
            self._codec_config = restrict_methods(self._codec_config, self.hints.decodes)
        self._held: dict[str, Dictionary] = {d.id: d for d in held}
        if role is Role.SERVER and self._held:
            raise ConfigError("a server learns what the client holds from its hints", field="held")
        if set(self._held) - set(self.hints.have):
            raise ConfigError("every held dictionary must be named in hints.have", field="held")
        self._savings: dict[str, int] = dict(savings or {})
        #: The in-band transfer coding of this connection (spec §4.3.1), None: plain transfers.
        self.transfer_coding: str | None = None
        if "max_message_size" in self._codec_config:
            raise ConfigError("pass max_message_size in SessionConfig, not in codec_config",
                              field="codec_config.max_message_size")
        self._send_metrics = send_metrics
        self._receive_metrics = receive_metrics
        self.state = State.NEW if role is Role.SERVER else State.AWAIT_HELLO
        #: The last state a data frame was allowed in (DATA never changes the state: a data frame in
        #: the same state needs no new lookup; Enum hashing costs about 1 µs per frame).
        self._data_state: State | None = None
        self._context = self.config.context
        #: Server: the parameters HELLO announces; client: those adopted from HELLO (None before it).
        self.params: ContextParams | None = None
        if role is Role.SERVER:
            self.params = announced_params(self._context, self._codec_config)
        self._params_pending = role is Role.CLIENT  # client before HELLO: stateless frames only
        #: The error that ended the session, when it failed.
        self.failure: AuraError | None = None
        self._dictionaries: dict[str, Dictionary] = {}
        for d in dictionaries:
            if len(d) > self.config.max_dictionary_size:
                raise LimitError(f"dictionary {d.id[:12]} of {len(d)} bytes exceeds max_dictionary_size",
                                 field="dictionaries")
            self._dictionaries.setdefault(d.id, d)
        if role is Role.CLIENT and self._dictionaries:
            raise ConfigError("a client session gets its dictionary from the server's HELLO", field="dictionaries")
        if len(self._dictionaries) > MAX_HELLO_IDS:
            raise ConfigError(f"at most {MAX_HELLO_IDS} dictionaries per connection", field="dictionaries")
        self._offered: dict[str, int] = {}  # client: announced id -> size
        self._coded_sizes: dict[str, int] = {}  # client: announced id -> coded size (with a transfer coding)
        self._served: dict[str, int] = {}  # server: id -> bytes served by CHUNKs
        self._fetch: _Fetch | None = None
        self._use_sent: str | None = None
        self._hello_max_chunk = 1
        self._send_dict: Dictionary | None = None
        self._recv_dict: Dictionary | None = None
        self._encoder = self._new_encoder(None)
        self._decoder = self._new_decoder(None)
        self._events: list[SessionEvent] = []
        self._outgoing: list[bytes] = []
        self.stats = SessionStats()
        self.close_code: int | None = None
        self.close_reason: str | None = None

    @classmethod
    def for_extension(
        cls,
        role: Role,
        dictionary: Dictionary | None,
        *,
        config: SessionConfig | None = None,
        codec_config: Mapping[str, Any] | None = None,
    ) -> Session:
        """A session whose dictionary was fixed by the ``permessage-aura`` handshake (spec §9)."""
        s = cls(role, config=config, codec_config=codec_config)
        s.state = State.STATIC  # the initial state of the extension route (spec §5): no negotiation follows
        s._params_pending = False  # the handshake settled the parameters (spec §9)
        if dictionary is not None:
            s._dictionaries[dictionary.id] = dictionary
            s._send_dict = s._recv_dict = dictionary
            s._encoder = s._new_encoder(dictionary)
            s._decoder = s._new_decoder(dictionary)
        return s

    # -- codec objects ------------------------------------------------------
    def _new_encoder(self, dictionary: Dictionary | None) -> Encoder:
        enc = Encoder(dictionary, context=self._context, **self._codec_config)
        if self._send_metrics is not None:
            enc.metrics = self._send_metrics
        return enc

    def _new_decoder(self, dictionary: Dictionary | None) -> Decoder:
        dec = Decoder(dictionary, context=self._context, max_message_size=self.config.max_message_size,
                      **self._codec_config)
        if self._receive_metrics is not None:
            dec.metrics = self._receive_metrics
        return dec

    # -- queries ------------------------------------------------------------
    def memory_bytes(self) -> int:
        """Per-connection state: the codec's (encoder + decoder; shared dictionary tables excluded)
        and the latency sketches of the metrics this session keeps itself (not those it shares)."""
        total = self._encoder.memory_bytes() + self._decoder.memory_bytes()
        if self._send_metrics is None:
            total += self._encoder.metrics.memory_bytes()
        if self._receive_metrics is None:
            total += self._decoder.metrics.memory_bytes()
        return total

    @property
    def context(self) -> bool:
        """Whether data frames use context mode (a client adopts the server's choice from HELLO)."""
        return self._context

    @property
    def codec_config(self) -> dict[str, Any]:
        """The codec options the encoder and decoder are built with (a client's include adopted values)."""
        return dict(self._codec_config)

    @property
    def send_dictionary(self) -> Dictionary | None:
        """The dictionary frames sent now use (None: dictionary-free)."""
        return self._send_dict

    @property
    def receive_dictionary(self) -> Dictionary | None:
        return self._recv_dict

    @property
    def dictionaries(self) -> tuple[Dictionary, ...]:
        """Server: the dictionaries this connection may use (kept alive for it until it closes)."""
        return tuple(self._dictionaries.values())

    @property
    def closed(self) -> bool:
        return self.state is _CLOSED

    def events(self) -> list[SessionEvent]:
        """Return and forget the events that happened since the last call."""
        ev, self._events = self._events, []
        return ev

    @property
    def pending(self) -> bool:
        """True when frames wait to be taken by :meth:`data_to_send`."""
        return bool(self._outgoing)

    def data_to_send(self) -> list[bytes]:
        """Return and forget the WebSocket messages (binary) to send, in order."""
        out, self._outgoing = self._outgoing, []
        return out

    # -- local actions --------------------------------------------------------
    def start(self) -> None:
        """Server: queue HELLO announcing this connection's dictionaries (spec §6.1)."""
        if self.role is not Role.SERVER:
            raise self._local("only the server sends HELLO")
        items = tuple((d.id, len(d)) for d in self._dictionaries.values())
        held = next((d for d in self._dictionaries.values() if d.id in self.hints.have), None)
        if held is not None:
            self.state = transition(self.role, self.state, Event.START_HELD)
        elif items:
            self.state = transition(self.role, self.state, Event.START)
        else:
            self.state = transition(self.role, self.state, Event.DECLINE)
        assert self.params is not None
        pairs = list(self.params.pairs())
        if items:
            coding = next((c for c in self.hints.codings if c in CODINGS), None)
            if coding is not None:
                # Coded in-band transfers (spec §4.1.2, §4.3.1): only for a client that offered the coding.
                self.transfer_coding = coding
                pairs.append((PARAM_TRANSFER_CODING, CODINGS[coding]))
                pairs += [(PARAM_CODED_SIZE_BASE + i, len(coded_form(d, coding)))
                          for i, d in enumerate(self._dictionaries.values())]
            pairs += [(PARAM_SAVING_BASE + i, self._savings[d.id])
                      for i, d in enumerate(self._dictionaries.values()) if d.id in self._savings]
        self._queue_control(Hello(SESSION_VERSION, self.config.max_chunk, items, tuple(pairs)))
        if held is not None:
            # The client promised it holds ``held``: switch our direction before any data frame (spec §6.1.1).
            self._switch_send(held)

    def send_message(self, message: str | bytes, *, sensitive: bool = False) -> None:
        """Encode an application message and queue its frame."""
        self._outgoing.append(self.encode(message, sensitive=sensitive))

    def encode(self, message: str | bytes, *, sensitive: bool = False) -> bytes:
        """Encode an application message and return its frame (the extension route sends it itself)."""
        state = self.state
        if state is not self._data_state:  # the first frame in this state (never _CLOSED: no DATA there)
            if state is _CLOSED:
                raise self._local("cannot send: the session is closed")
            self._data_event(remote=False)
        # Before HELLO a client does not know the connection's codec parameters yet: it codes
        # stateless, which every decoder reads whatever its parameters (spec §4.1.1).
        frame = self._encoder.encode(message, sensitive=sensitive or self._params_pending)
        self._count_sent(frame, utf8_len(message))
        return frame

    def send_prepared(self, frame: bytes, raw_size: int) -> None:
        """Queue a stateless frame encoded elsewhere (broadcast: encoded once, sent to many).

        The frame must be stateless (C=0) and use either no dictionary or
        :attr:`send_dictionary`; the caller picks the encoder from it.
        """
        if self.state is _CLOSED:
            raise self._local("cannot send: the session is closed")
        if not is_prepared_frame(frame):
            raise self._local("send_prepared takes stateless data frames only")
        if frame[0] & 0x20 and self._send_dict is None:
            raise self._local("prepared frame uses a dictionary this connection does not send with")
        self.queue_prepared(frame, raw_size)

    def sent_prepared(self, frame: bytes, raw_size: int) -> bool:
        """:meth:`queue_prepared` for an adapter that writes ``frame`` itself, at once, because
        nothing is queued before it: counted as sent, not queued.  False, nothing done, when
        frames are queued (then queue it behind them) or the session is closed."""
        if self._outgoing or self.state is _CLOSED:
            return False
        self._data_event(remote=False)
        self._count_sent(frame, raw_size)
        return True

    def queue_prepared(self, frame: bytes, raw_size: int) -> bool:
        """:meth:`send_prepared` for a broadcast, whose caller checked the frame once for every
        connection (:func:`is_prepared_frame`, and sent with this session's send dictionary).
        False, nothing queued, when the session is closed."""
        if self.state is _CLOSED:
            return False
        self._data_event(remote=False)
        self._outgoing.append(frame)
        self._count_sent(frame, raw_size)
        return True

    def use_dictionary(self, dictionary: Dictionary) -> None:
        """Client: a dictionary the server offered is at hand (from a cache or an HTTP GET): switch to it."""
        if self.role is not Role.CLIENT or dictionary.id not in self._offered:
            raise self._local(f"dictionary {dictionary.id[:12]} was not offered by the server")
        self.state = transition(self.role, self.state, Event.USE, remote=False)
        self._dictionaries[dictionary.id] = dictionary
        self._switch_send(dictionary)

    def fetch_dictionary(self, dictionary_id: str | None = None) -> None:
        """Client: fetch an offered dictionary in-band (GET/CHUNK), then switch to it."""
        if self.role is not Role.CLIENT:
            raise self._local("only the client fetches dictionaries")
        did = dictionary_id if dictionary_id is not None else next(iter(self._offered), "")
        if did not in self._offered:
            raise self._local(f"dictionary {did[:12]} was not offered by the server")
        self.state = transition(self.role, self.state, Event.FETCH, remote=False)
        self._fetch = _Fetch(did, self._offered[did], self._coded_sizes.get(did, self._offered[did]))
        self._request_chunks()

    def decline(self) -> None:
        """Client: stay dictionary-free on this connection."""
        self.state = transition(self.role, self.state, Event.DECLINE, remote=False)

    def close(self) -> None:
        """The connection is closing: accept nothing more."""
        self.state = transition(self.role, self.state, Event.CLOSE, remote=False)

    def fail(self, error: AuraError) -> None:
        """End the session because of ``error`` (emits :class:`ConnectionFailed`)."""
        if self.state is _CLOSED:
            return
        self.state = transition(self.role, self.state, Event.FAIL)
        self.failure = error
        self.close_code = error.close_code
        self.close_reason = close_reason(f"aura: {error}")
        self._events.append(ConnectionFailed(self.close_code, self.close_reason, error.remote))

    # -- input ------------------------------------------------------------------
    def receive_frame(self, frame: bytes) -> None:
        """Consume one WebSocket message received from the peer.

        Frames that arrive after the session closed are ignored (spec §7).
        """
        if self.state is _CLOSED:
            return
        try:
            if is_control_frame(frame):
                self._receive_control(frame)
            else:
                self._receive_data(frame)
        except AuraError as exc:
            self.fail(exc)

    def _data_event(self, *, remote: bool) -> None:
        """A data frame sent or received: allowed in every live state, which it leaves unchanged."""
        state = self.state
        if state is not self._data_state:
            self.state = transition(self.role, state, Event.DATA, remote=remote)
            self._data_state = state

    def _receive_data(self, frame: bytes) -> None:
        self._data_event(remote=True)
        if self._params_pending:
            raise ProtocolError("data frame before HELLO (HELLO is the server's first message)",
                                field="session.state")
        if len(frame) > max_frame_size(self.config.max_message_size, frame):
            raise LimitError(f"frame of {len(frame)} bytes exceeds max_message_size "
                             f"{self.config.max_message_size}", field="frame")
        message = self._decoder.decode(frame)
        st = self.stats
        st.received_messages += 1
        st.received_wire_bytes += len(frame)
        st.received_raw_bytes += utf8_len(message)
        st.received_by_method[frame[0] & 0x07] += 1
        self._events.append(MessageReceived(message))

    def _receive_control(self, frame: bytes) -> None:
        if self.state is State.STATIC:
            raise ProtocolError("CONTROL frame on the permessage-aura extension route", offset=0,
                                field="header.method")
        msg = parse_control(frame)
        self.stats.control_received_bytes += len(frame)
        carried = len(msg.data) if isinstance(msg, Chunk) else 0
        self.stats.dictionary_bytes += carried
        if self._receive_metrics is not None:
            self._receive_metrics.record_control(len(frame), carried)
        if isinstance(msg, Hello):
            self._on_hello(msg)
        elif isinstance(msg, Use):
            self._on_use(msg)
        elif isinstance(msg, Get):
            self._on_get(msg)
        elif isinstance(msg, Chunk):
            self._on_chunk(msg)
        else:
            assert isinstance(msg, Unknown)  # a well-formed optional control type is ignored (spec §4.4)

    def _on_hello(self, msg: Hello) -> None:
        held = next((self._held[did] for did, _ in msg.dictionaries if did in self._held), None)
        self.state = transition(self.role, self.state, Event.RECV_HELLO if held is None else Event.RECV_HELLO_HELD)
        self._hello_max_chunk = msg.max_chunk
        # Adopt the server's codec parameters for both directions (spec §4.1.1).  Nothing
        # context-coded was sent or received yet, so fresh codec objects lose nothing.
        params = adopt_params(msg.params)
        self._codec_config = check_params(params, allow_context=self.config.context,
                                          max_context_memory=self.config.max_context_memory,
                                          codec_config=self._codec_config)
        self._context = params.context
        self.params = params
        self._params_pending = False
        self._encoder = self._new_encoder(None)
        self._decoder = self._new_decoder(None)
        for did, size in msg.dictionaries:
            if did in self._offered:
                raise ProtocolError(f"HELLO lists dictionary {did[:12]} twice", field="hello.id")
            self._offered[did] = size
        listed = [did for did, _ in msg.dictionaries]
        savings = self._transfer_keys(msg.params, listed)
        if held is not None:
            # HELLO lists a dictionary we named with aura.have: switch to it at once (spec §6.1.1);
            # the server may already have switched its direction.
            self._dictionaries[held.id] = held
            self._switch_send(held)
            return
        ids = []
        sizes = []
        for did, size in msg.dictionaries:
            if size <= self.config.max_dictionary_size:
                ids.append(did)
                sizes.append(size)
        if not ids:
            self.state = transition(self.role, self.state, Event.DECLINE)
            return
        self._events.append(DictionaryOffered(tuple(ids), tuple(sizes),
                                              tuple(self._coded_sizes.get(i, self._offered[i]) for i in ids),
                                              tuple(savings.get(i) for i in ids)))

    def _transfer_keys(self, pairs: Sequence[tuple[int, int]], listed: list[str]) -> dict[str, int]:
        """Client: check and apply HELLO's transfer keys (spec §4.1.2); return the announced savings by id."""
        params = dict(pairs)
        coding = params.get(PARAM_TRANSFER_CODING)
        coded_keys = {k for k in params if PARAM_CODED_SIZE_BASE <= k < PARAM_CODED_SIZE_BASE + 16}
        if coding is not None:
            name = CODING_NAMES.get(coding)
            if name is None or name not in self.hints.codings:
                raise ProtocolError(f"HELLO transfer_coding {coding} names a coding this client did not offer",
                                    field="hello.transfer_coding")
            if coded_keys != {PARAM_CODED_SIZE_BASE + i for i in range(len(listed))}:
                raise ProtocolError("HELLO coded_size keys do not match the listed dictionaries",
                                    field="hello.coded_size")
            for i, did in enumerate(listed):
                size = params[PARAM_CODED_SIZE_BASE + i]
                if size < 1:
                    raise ProtocolError(f"HELLO coded_size of dictionary {i} is 0", field="hello.coded_size")
                self._coded_sizes[did] = size
            self.transfer_coding = name
        elif coded_keys and self.hints.codings:
            raise ProtocolError("HELLO has coded_size keys without transfer_coding", field="hello.coded_size")
        return {did: params[PARAM_SAVING_BASE + i] for i, did in enumerate(listed)
                if PARAM_SAVING_BASE + i in params}

    def _on_use(self, msg: Use) -> None:
        self.state = transition(self.role, self.state, Event.RECV_USE)
        if self.role is Role.SERVER:
            d = self._dictionaries.get(msg.dictionary_id)
            if d is None:
                raise ProtocolError(f"client USE names dictionary {msg.dictionary_id[:12]}, which was not announced",
                                    field="use.id")
            if self._use_sent is not None:
                # We switched early for the dictionary the client named (spec §6.1.1): no second USE.
                if msg.dictionary_id != self._use_sent:
                    raise ProtocolError(f"client USE names dictionary {msg.dictionary_id[:12]}, not "
                                        f"{self._use_sent[:12]} that the server switched to", field="use.id")
                self._switch_receive(d)
                return
            self._switch_receive(d)
            self._switch_send(d)  # the client holds it: answer with our USE (spec §6.3)
        else:
            if msg.dictionary_id != self._use_sent:
                raise ProtocolError(f"server USE names dictionary {msg.dictionary_id[:12]}, not the one the client "
                                    f"switched to", field="use.id")
            self._switch_receive(self._dictionaries[msg.dictionary_id])

    def _on_get(self, msg: Get) -> None:
        self.state = transition(self.role, self.state, Event.RECV_GET)
        d = self._dictionaries.get(msg.dictionary_id)
        if d is None:
            raise ProtocolError(f"GET for dictionary {msg.dictionary_id[:12]}, which was not announced",
                                field="get.id")
        body = coded_form(d, self.transfer_coding) if self.transfer_coding is not None else d.to_bytes()
        size = len(body)  # GETs address the coded form when transfers are coded (spec §4.3.1)
        if msg.length == 0 or msg.length > self.config.max_chunk:
            raise ProtocolError(f"GET length {msg.length} outside [1, max_chunk={self.config.max_chunk}]",
                                field="get.length")
        if msg.offset + msg.length > size:
            raise ProtocolError(f"GET range {msg.offset}+{msg.length} runs past the dictionary's {size} bytes",
                                field="get.offset")
        served = self._served.get(d.id, 0) + msg.length
        if served > self.config.max_fetch_factor * size:
            raise LimitError(f"client requested {served} bytes of a {size}-byte dictionary", field="get")
        self._served[d.id] = served
        self._queue_control(Chunk(d.id, msg.offset, body[msg.offset: msg.offset + msg.length]))

    def _on_chunk(self, msg: Chunk) -> None:
        fetch = self._fetch
        if fetch is None or self.state is not State.FETCHING:
            # Not allowed outside FETCHING: the transition raises, naming the state.
            self.state = transition(self.role, self.state, Event.RECV_CHUNK)
            raise ProtocolError("CHUNK while no transfer is in progress", field="chunk")
        if msg.dictionary_id != fetch.dictionary_id:
            raise ProtocolError(f"CHUNK for dictionary {msg.dictionary_id[:12]}, not the one requested",
                                field="chunk.id")
        if not fetch.pending:
            raise ProtocolError("CHUNK that was not requested", field="chunk")
        offset, length = fetch.pending[0]
        if msg.offset != offset or len(msg.data) != length:
            raise ProtocolError(f"CHUNK {msg.offset}+{len(msg.data)} does not answer GET {offset}+{length}",
                                field="chunk.offset")
        fetch.pending.popleft()
        fetch.buf += msg.data
        if len(fetch.buf) < fetch.coded_size:
            self.state = transition(self.role, self.state, Event.RECV_CHUNK)
            self._request_chunks()
            return
        data = bytes(fetch.buf)
        if self.transfer_coding is not None:
            data = decode_transfer(self.transfer_coding, data, fetch.size)
        got = hashlib.sha256(data).hexdigest()
        if got != fetch.dictionary_id:
            raise DictionaryFormatError(f"dictionary transfer failed its SHA-256 check: expected "
                                        f"{fetch.dictionary_id[:16]}, got {got[:16]}", field="chunk")
        d = Dictionary.from_bytes(data, expected_id=fetch.dictionary_id, max_size=self.config.max_dictionary_size)
        self._fetch = None
        self.state = transition(self.role, self.state, Event.RECV_CHUNK_LAST)
        self._dictionaries[d.id] = d
        self._events.append(DictionaryFetched(d))
        self._switch_send(d)

    # -- helpers ----------------------------------------------------------------
    def _request_chunks(self) -> None:
        fetch = self._fetch
        assert fetch is not None
        if fetch.size == 0:
            raise FrameError("HELLO announced an empty dictionary", field="hello.size")
        step = self._hello_max_chunk
        while len(fetch.pending) < self.config.fetch_window and fetch.next_offset < fetch.coded_size:
            length = min(step, fetch.coded_size - fetch.next_offset)
            fetch.pending.append((fetch.next_offset, length))
            self._queue_control(Get(fetch.dictionary_id, fetch.next_offset, length))
            fetch.next_offset += length

    def _switch_send(self, d: Dictionary) -> None:
        # The USE frame is the switch point: every data frame queued after it uses ``d``
        # with a fresh context (spec §6.4).
        self._queue_control(Use(d.id))
        self._use_sent = d.id
        self._send_dict = d
        self._encoder = self._new_encoder(d)
        self._events.append(DictionaryInUse("send", d.id))

    def _switch_receive(self, d: Dictionary) -> None:
        self._recv_dict = d
        self._decoder = self._new_decoder(d)
        self._events.append(DictionaryInUse("receive", d.id))

    def _queue_control(self, msg: ControlMessage) -> None:
        frame = pack_control(msg)
        self.stats.control_sent_bytes += len(frame)
        carried = len(msg.data) if isinstance(msg, Chunk) else 0
        self.stats.dictionary_bytes += carried
        if self._send_metrics is not None:
            self._send_metrics.record_control(len(frame), carried)
        self._outgoing.append(frame)

    def _count_sent(self, frame: bytes, raw: int) -> None:
        st = self.stats
        st.sent_messages += 1
        st.sent_raw_bytes += raw
        st.sent_wire_bytes += len(frame)
        st.sent_by_method[frame[0] & 0x07] += 1

    @staticmethod
    def _local(message: str) -> ProtocolError:
        err = ProtocolError(message, field="session")
        err.remote = False
        return err
