"""Generate spec/vectors/session/*.json: whole AURA session conversations (spec/session.md §10).

Run from the repository root:  PYTHONPATH=. python spec/vectors/make_session_vectors.py

Each vector drives a server and a client :class:`~aura_wire.session.Session`
through one scenario and records every WebSocket message in the order it was
delivered (a causally consistent interleaving of the two directions), plus
the local actions each side took.  Data frames are coded with BRIO and
templates off (``codec_config``), so the vectors only depend on the frame
header, RAW and ZSTD (spec/wire-format.md).  A vector may give the server
codec options of its own (``server_codec_config``, announced in HELLO and
adopted by the client) and the client session options of its own
(``client_session_config``).  tests/session/test_session_vectors.py replays each
vector against each role.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path
from typing import Any, Callable

from aura_wire.errors import AuraError
from aura_wire.codec.dictionary import SECTION_META, SECTION_ZSTD, Dictionary
from aura_wire.session import (
    ConnectionFailed,
    DictionaryOffered,
    MessageReceived,
    Role,
    Session,
    SessionConfig,
)
from aura_wire.session.control import (
    Chunk,
    Hello,
    Unknown,
    Use,
    describe,
    is_control_frame,
    pack_control,
    parse_control,
)
from aura_wire.session.negotiation import parse_hints
from aura_wire.session.params import PARAM_CODED_SIZE_BASE, PARAM_KEYS, PARAM_TRANSFER_CODING

OUT = Path(__file__).resolve().parent / "session"
CODEC: dict[str, Any] = {"brio": False, "templates": False}


def vector_dictionary(tag: str) -> Dictionary:
    content = b"".join(
        f'{{"type":"message","room":"{tag}","user":"user{i}","text":"hello world number {i}"}}'.encode()
        for i in range(12)
    )
    return Dictionary({SECTION_META: b"\x81\xa4name\xa6vector", SECTION_ZSTD: content})


def message_json(m: str | bytes) -> dict[str, str]:
    return {"text": m} if isinstance(m, str) else {"binary": m.hex()}


class Recorder:
    def __init__(self, name: str, description: str, server_dicts: list[Dictionary], *,
                 config: SessionConfig | None = None, client_cache: list[Dictionary] | None = None,
                 server_codec: dict[str, Any] | None = None, client_limits: dict[str, Any] | None = None,
                 hints: list[str] | None = None) -> None:
        self.name = name
        self.description = description
        self.config = config or SessionConfig()
        self.server_dicts = server_dicts
        self.client_cache = {d.id: d for d in client_cache or []}
        self.server_codec = dict(server_codec or {})
        self.client_limits = dict(client_limits or {})
        client_config = SessionConfig(**{**self.session_json(), **self.client_limits})
        self.hints = list(hints or [])
        parsed = parse_hints(self.hints)
        assert parsed is not None
        held = [d for d in server_dicts if d.id in parsed.have]
        self.server = Session(Role.SERVER, dictionaries=server_dicts, config=self.config,
                              codec_config={**CODEC, **self.server_codec}, hints=parsed)
        self.client = Session(Role.CLIENT, config=client_config, codec_config=CODEC, hints=parsed, held=held)
        self.steps: list[dict[str, Any]] = []
        self.offers: list[DictionaryOffered] = []
        self.closed: dict[str, Any] | None = None
        self.mutate: Any = None  # a function applied to every frame in transit (error vectors)

    def side(self, role: str) -> Session:
        return self.server if role == "server" else self.client

    def deliver(self, src: str, injected: bytes | None = None) -> None:
        """Deliver what ``src`` queued and every answer it causes, first in first out per direction."""
        wire: deque[tuple[str, bytes, bool]] = deque((src, f, False) for f in self.side(src).data_to_send())
        if injected is not None:
            wire.append((src, injected, True))
        while wire:
            src, frame, hand_made = wire.popleft()
            dst = "client" if src == "server" else "server"
            step: dict[str, Any] = {"from": src}
            if hand_made:
                step["injected"] = True  # not produced by the sender's session
            if self.mutate is not None:
                sent, frame = frame, self.mutate(frame)
                if sent != frame:
                    step["sent"] = sent.hex()  # what the sender produced; "frame" is what arrived
            step["frame"] = frame.hex()
            if is_control_frame(frame):
                try:
                    step["control"] = describe(parse_control(frame))
                except AuraError as exc:
                    step["control"] = {"invalid": str(exc)}
            self.steps.append(step)
            self.side(dst).receive_frame(frame)
            for ev in self.side(dst).events():
                if isinstance(ev, MessageReceived):
                    step["message"] = message_json(ev.data)
                elif isinstance(ev, DictionaryOffered):
                    self.offers.append(ev)
                elif isinstance(ev, ConnectionFailed):
                    self.closed = {"by": dst, "code": ev.code, "reason": ev.reason}
                    self.steps.append({"close": self.closed})
            wire.extend((dst, f, False) for f in self.side(dst).data_to_send())

    def act(self, role: str, do: str, message: str | bytes | None = None, sensitive: bool = False) -> None:
        step: dict[str, Any] = {"action": role, "do": do}
        s = self.side(role)
        if do == "start":
            s.start()
        elif do == "send":
            assert message is not None
            step["message"] = message_json(message)
            if sensitive:
                step["sensitive"] = True
            s.send_message(message, sensitive=sensitive)
        elif do == "use":
            offer = self.offers[-1]
            d = next(self.client_cache[i] for i in offer.ids if i in self.client_cache)
            step["id"] = d.id
            s.use_dictionary(d)
        elif do == "fetch":
            step["id"] = self.offers[-1].ids[0]
            s.fetch_dictionary(step["id"])
        elif do == "decline":
            s.decline()
        else:
            raise ValueError(do)
        self.steps.append(step)
        self.deliver(role)

    def inject(self, src: str, frame: bytes) -> None:
        """Deliver a hand-made frame (for error vectors)."""
        self.deliver(src, injected=frame)

    def session_json(self) -> dict[str, Any]:
        cfg = self.config
        return {"context": cfg.context, "max_chunk": cfg.max_chunk, "max_message_size": cfg.max_message_size,
                "fetch_window": cfg.fetch_window}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "session_config": self.session_json(),
            "codec_config": CODEC,
        }
        if self.server_codec:
            out["server_codec_config"] = self.server_codec
        if self.client_limits:
            out["client_session_config"] = self.client_limits
        if self.hints:
            out["client_hints"] = self.hints
        out.update({
            "server_dictionaries": [d.to_bytes().hex() for d in self.server_dicts],
            "client_cache": sorted(self.client_cache),
            "steps": self.steps,
        })
        return out


def hello_with(change: dict[int, int | None]) -> Callable[[bytes], bytes]:
    """A transit mutation that rewrites HELLO's parameter block (None removes a key)."""

    def mutate(frame: bytes) -> bytes:
        msg = parse_control(frame) if is_control_frame(frame) else None
        if not isinstance(msg, Hello):
            return frame
        params = dict(msg.params)
        for k, v in change.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return pack_control(msg._replace(params=tuple(sorted(params.items()))))

    return mutate


#: Medium JSON documents (about 345 bytes): they enter the ZSTD history when zstd_history_min_size is 256, not at
#: the default 512, so from the second on the ZSTD frames decode only with the announced parameters.
DOCS = ['{"type":"update","seq":%d,"rows":[%s]}' % (i, ",".join(
    '{"id":%d,"name":"item %d","price":%d.%02d}' % (j, j, j * 7 % 100, j % 100) for j in range(i, i + 8)))
    for i in range(4)]

CHAT = ['{"type":"message","room":"a","user":"user3","text":"hello world number 3"}',
        '{"type":"message","room":"a","user":"user7","text":"hello world number 42"}']


def scenarios() -> list[Recorder]:
    d = vector_dictionary("a")
    out = []

    r = Recorder("no_dictionary", "The server holds no dictionary: HELLO lists none, both sides stay "
                 "dictionary-free.", [])
    r.act("server", "start")
    r.act("client", "send", CHAT[0])
    r.act("server", "send", b"\x00\x01\x02binary")
    r.act("server", "send", "")
    out.append(r)

    r = Recorder("client_holds_dictionary", "The client has the announced dictionary in its cache: it sends "
                 "USE, the server answers USE; frames after each USE use the dictionary with a fresh context.",
                 [d], client_cache=[d])
    r.act("server", "start")
    r.act("server", "send", CHAT[0])
    r.act("client", "send", CHAT[0])
    r.act("client", "use")
    r.act("client", "send", CHAT[1])
    r.act("server", "send", CHAT[1])
    r.act("server", "send", "token=secret", sensitive=True)
    out.append(r)

    r = Recorder("stateless_with_dictionary", "Context mode off: after the switch point frames are coded "
                 "alone with the dictionary (D=1, C=0).", [d], client_cache=[d], config=SessionConfig(context=False))
    r.act("server", "start")
    r.act("client", "use")
    r.act("client", "send", CHAT[1])
    r.act("server", "send", CHAT[1])
    out.append(r)

    r = Recorder("inband_fetch", "The client lacks the dictionary and fetches it in-band: GETs (at most "
                 "fetch_window outstanding) answered by CHUNKs of at most max_chunk bytes, verified by SHA-256, "
                 "then USE both ways.", [d], config=SessionConfig(max_chunk=256, fetch_window=2))
    r.act("server", "start")
    r.act("client", "fetch")
    r.act("client", "send", CHAT[1])
    r.act("server", "send", CHAT[1])
    out.append(r)

    def corrupt(frame: bytes) -> bytes:
        msg = parse_control(frame) if is_control_frame(frame) else None
        if isinstance(msg, Chunk) and msg.offset == 0:
            return pack_control(Chunk(msg.dictionary_id, 0, bytes([msg.data[0] ^ 1]) + msg.data[1:]))
        return frame

    r = Recorder("corrupted_transfer", "A CHUNK is altered in transit: the assembled dictionary fails its "
                 "SHA-256 check and the client closes with 1007.", [d], config=SessionConfig(max_chunk=4096))
    r.act("server", "start")
    r.mutate = corrupt
    r.act("client", "fetch")
    out.append(r)

    r = Recorder("unknown_control_types", "An optional control type (0x40-0x7F) is ignored; an unknown "
                 "mandatory type closes with 1002.", [d])
    r.act("server", "start")
    r.act("client", "decline")
    r.inject("server", pack_control(Unknown(0x41, b"future")))
    r.act("server", "send", CHAT[0])
    r.inject("server", b"\x07\x3f")
    out.append(r)

    def header_to_control(frame: bytes) -> bytes:
        return frame if is_control_frame(frame) else b"\x07" + frame[1:]

    r = Recorder("optional_control_check", "An optional control message ends with the CRC-32 of the frame "
                 "before it (§4.4): a well-formed one (type 0x7f, empty body) is ignored. Then a stateless RAW "
                 "data frame has its header byte altered into 0x07 in transit: its payload's first byte reads as "
                 "the optional type 0x48 ('H'), the CRC-32 fails and the client closes with 1002 (the message "
                 "must not vanish silently).", [d], config=SessionConfig(context=False))
    r.act("server", "start")
    r.act("client", "decline")
    r.inject("server", pack_control(Unknown(0x7F, b"")))
    r.act("server", "send", "Hello")
    r.mutate = header_to_control
    r.act("server", "send", "Hi there")
    assert r.closed is not None and r.closed["code"] == 1002, r.closed
    assert r.steps[-2]["control"]["invalid"].startswith("optional control message 0x48"), r.steps[-2]
    out.append(r)

    r = Recorder("adopted_parameters", "The server runs non-default context parameters (window, zstd_window, "
                 "zstd_history_min_size, template_brio_window) and announces them in HELLO; the client, left at "
                 "the defaults, adopts them for both directions, so ZSTD frames referring to the ZSTD history "
                 "decode on both sides.", [],
                 server_codec={"window": 4096, "zstd_window": 2048, "zstd_history_min_size": 256,
                               "template_brio_window": 1024})
    r.act("server", "start")
    for doc in DOCS:
        r.act("server", "send", doc)
        r.act("client", "send", doc)
    out.append(r)

    r = Recorder("adopted_template_state_budget", "The server runs template_state_bytes 192 (HELLO key 8, sent "
                 "because it is not the default 6144) with templates and no dictionary; the client adopts it, so "
                 "its decoder drops the same previous values and recent strings as the server's encoder and the "
                 "quotes of twelve symbols decode (a client keeping 6144 bytes predicts them otherwise).", [],
                 server_codec={"template_state_bytes": 192, "templates": True, "zstd": False, "brotli": False})
    r.act("server", "start")
    for i in range(40):
        r.act("server", "send", f'{{"s":"SYM{i * 7 % 12:02d}","p":"{100 + i * 7 % 12}.25","q":{i % 3}}}')
    out.append(r)

    r = Recorder("unknown_revision", "HELLO announces context revision 2, which the client does not run (altered "
                 "in transit here): the client must not run context mode with that server and closes with 1002.",
                 [d])
    r.mutate = hello_with({PARAM_KEYS["revision"]: 2})
    r.act("server", "start")
    out.append(r)

    r = Recorder("parameter_out_of_range", "HELLO announces window 2**21, outside the range of the field (altered "
                 "in transit here): the client closes with 1002.", [])
    r.mutate = hello_with({PARAM_KEYS["window"]: 1 << 21})
    r.act("server", "start")
    out.append(r)

    r = Recorder("context_memory_refused", "The server's context history (window + zstd_window + "
                 "template_brio_window + max_runtime_template_bytes) exceeds the client's max_context_memory: "
                 "the client closes with 1002.", [],
                 server_codec={"window": 1 << 20, "zstd_window": 1 << 22}, client_limits={"max_context_memory": 1 << 20})
    r.act("server", "start")
    out.append(r)

    r = Recorder("unknown_parameter_keys", "Unknown optional parameter keys (64 and above) are ignored "
                 "(HELLO altered in transit here): the client adopts the registered ones and the session goes on.", [])
    r.mutate = hello_with({120: 7, 1000: 1})
    r.act("server", "start")
    r.act("client", "send", CHAT[0])
    out.append(r)

    r = Recorder("unknown_mandatory_parameter", "HELLO carries parameter key 9, which is below 64 and unknown to "
                 "this client: it closes with 1002.", [])
    r.mutate = hello_with({9: 0})
    r.act("server", "start")
    out.append(r)

    r = Recorder("held_dictionary_first_message", "The client names the dictionary it holds in its offer "
                 "(aura.have, §3.4): the server sends HELLO then USE at once, so its first data frame already "
                 "uses the dictionary (D=1); the client switches when it reads HELLO and sends USE; the server "
                 "switches its receive direction without a second USE (§6.1.1).", [d],
                 hints=["aura.have." + d.id])
    r.act("server", "start")
    r.act("server", "send", CHAT[0])
    r.act("server", "send", CHAT[1])
    r.act("client", "send", CHAT[1])
    out.append(r)

    other = vector_dictionary("b")
    r = Recorder("held_dictionary_not_listed", "The client names a dictionary the server does not list: the "
                 "exchange is the ordinary one (HELLO, the client decides; here it declines).", [d],
                 hints=["aura.have." + other.id])
    r.act("server", "start")
    r.act("client", "decline")
    r.act("server", "send", CHAT[0])
    out.append(r)

    r = Recorder("decodes_mask", "The client decodes RAW only (aura.decodes.1, §3.5): the server codes nothing "
                 "but RAW frames and announces template_brio_window 0; the client's own frames are not "
                 "restricted.", [], hints=["aura.decodes.1"])
    r.act("server", "start")
    r.act("server", "send", DOCS[0])
    r.act("client", "send", DOCS[0])
    out.append(r)

    for coding in ("br", "gzip"):
        r = Recorder(f"coded_transfer_{coding}", f"The client offers aura.coding.{coding}: HELLO carries "
                     "transfer_coding and coded_size (§4.1.2); GETs and CHUNKs address the coded form, which "
                     "the client decodes (bounded by the listed size) and verifies by SHA-256 (§4.3.1).", [d],
                     config=SessionConfig(max_chunk=128, fetch_window=2), hints=["aura.coding." + coding])
        r.act("server", "start")
        r.act("client", "fetch")
        r.act("server", "send", CHAT[1])
        out.append(r)

    def corrupt_coded(frame: bytes) -> bytes:
        msg = parse_control(frame) if is_control_frame(frame) else None
        if isinstance(msg, Chunk) and msg.offset == 0:
            return pack_control(Chunk(msg.dictionary_id, 0, bytes([msg.data[0] ^ 0x55]) + msg.data[1:]))
        return frame

    r = Recorder("coded_transfer_corrupted", "A CHUNK of a Brotli-coded transfer is altered in transit: the coded "
                 "form does not decode to the listed size (or fails its SHA-256 check) and the client closes with "
                 "1007 (§4.3.1).", [d], config=SessionConfig(max_chunk=4096), hints=["aura.coding.br"])
    r.act("server", "start")
    r.mutate = corrupt_coded
    r.act("client", "fetch")
    out.append(r)

    r = Recorder("early_use_mismatch", "The server switched early to the dictionary the client named (its HELLO "
                 "and USE are still in flight); a client USE naming another announced dictionary closes with 1002 "
                 "(§4.2).", [d, other], hints=["aura.have." + d.id])
    r.steps.append({"action": "server", "do": "start"})
    r.server.start()
    r.server.data_to_send()  # HELLO and the early USE: overtaken by the hand-made USE below
    r.inject("client", pack_control(Use(other.id)))
    out.append(r)

    r = Recorder("coding_not_offered", "HELLO carries transfer_coding although the client offered no coding "
                 "(altered in transit here): the client closes with 1002.", [d])
    r.mutate = hello_with({PARAM_TRANSFER_CODING: 1, PARAM_CODED_SIZE_BASE: 100})
    r.act("server", "start")
    out.append(r)

    r = Recorder("use_not_announced", "The client names a dictionary the server did not announce: the server "
                 "closes with 1002.", [d])
    r.act("server", "start")
    r.inject("client", pack_control(Use("00" * 32)))
    out.append(r)
    return out


def main() -> int:
    # ``--out DIR`` writes elsewhere (the test that checks this script reproduces the files uses it)
    out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else OUT
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for r in scenarios():
        path = out / f"{r.name}.json"
        path.write_text(json.dumps(r.to_json(), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path} ({len(r.steps)} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
