"""Coverage-guided fuzzing of the session layer: CONTROL frames and sequences (issue 19).

``fuzz_decoder.py`` feeds byte strings to decoders and to one session.  This target goes where
random bytes rarely reach: each fuzz input is a small *program* read byte by byte.

* **Mode control** (byte 0 even): one session (client or server, by bit 1) receives CONTROL
  messages built field by field (HELLO, USE, GET, CHUNK, optional and unknown types, with ids
  from a pool holding the real dictionary's, and offsets, lengths, parameter keys and values
  drawn from edge values), raw or bit-flipped control bytes and data frames, interleaved with
  the application's own calls (fetch, use, decline, send, close).  Oracle: every input is either
  taken or ends the session with one ``ConnectionFailed`` carrying a valid close code; no other
  exception; no event after the close; a fetched dictionary hashes to the id that was asked for;
  the session's queued frames are non-empty bytes.
* **Mode pair** (byte 0 odd): a real client and server session talk through two queues.  The
  program interleaves sends both ways (normal and sensitive), partial deliveries, the client's
  answer to an offer (use, fetch, decline), closes, and faults on CONTROL frames only (drop,
  duplicate).  Oracle: per direction, the delivered messages are exactly a prefix of the sent
  ones, in order and byte for byte (never altered, reordered or duplicated); failures carry a
  valid close code; and a run without faults or closes never fails and delivers everything.

Usage (``pip install atheris``; keep runs short, the machine is shared)::

    python fuzz/fuzz_session.py --seconds 60
    python fuzz/fuzz_session.py --reproduce crash-1234abcd   # replay one input, no atheris needed

The pure parts (:func:`run_one`, :func:`seed_inputs`) are reused by ``tests/test_fuzz_session.py``.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import Counter
import importlib
import random
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any, Final, Sequence

REPO: Final = Path(__file__).resolve().parent.parent
for _p in (str(REPO), str(REPO / "fuzz")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz_decoder import (  # noqa: E402
    FUZZ_MAX_MESSAGE, VALID_CLOSE_CODES, OracleFailure, Targets, build_targets, codec_options, reproduce,
    synthetic_messages,
)

MAX_OPS: Final = 48
#: What the programs reached, counted across runs (tests check the seeds reach every part).
REACHED: Final[Counter[str]] = Counter()
#: Edge values for offsets, lengths, sizes, parameter values (uvarints).
EDGES: Final = (0, 1, 2, 7, 63, 64, 127, 128, 255, 256, 1023, 1024, 4095, 4096, 16383, 16384, 65535, 65536,
                (1 << 20), (1 << 24), (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, (1 << 63) - 1)


class Program:
    """Reads choices from the fuzz input; past its end every choice is 0."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def done(self) -> bool:
        return self.pos >= len(self.data)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.byte() % len(options)]

    def number(self, near: Sequence[int] = ()) -> int:
        """An edge value, a value near one given (a size, an offset), or a small raw number."""
        b = self.byte()
        if b < 96:
            return EDGES[b % len(EDGES)]
        if b < 160 and near:
            return max(0, near[self.byte() % len(near)] + (b % 7) - 3)
        return b | (self.byte() << 8)

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _control(kind: int, body: bytes) -> bytes:
    return bytes([0x07, kind]) + body


def _id_field(prog: Program, pool: Sequence[str]) -> bytes:
    choice = prog.byte() % 6
    if choice < 3:
        return bytes.fromhex(pool[choice % len(pool)])
    if choice == 3:
        return bytes.fromhex(pool[0])[: prog.byte() % 32]  # truncated id
    if choice == 4:
        return hashlib.sha256(prog.take(4)).digest()  # an id nobody holds
    return prog.take(prog.byte() % 40)


def build_control(prog: Program, targets: Targets) -> bytes:
    d = targets.dict_std
    pool = (d.id, targets.dict_vec.id, targets.dict_full.id)
    size = len(d)
    kind = prog.byte() % 8
    if kind == 0:  # HELLO: version, max_chunk, dictionaries, parameters
        version = 1 if prog.byte() < 230 else prog.byte()
        body = bytes([version]) + _uvarint(prog.number((1024, 16384)))
        n = prog.byte() % 4
        body += _uvarint(n if prog.byte() < 240 else prog.number())
        for _ in range(n):
            body += _id_field(prog, pool) + _uvarint(prog.number((size,)))
        nparams = prog.byte() % 6
        body += _uvarint(nparams)
        key = 0
        for _ in range(nparams):
            key += 1 + prog.byte() % 9 if prog.byte() < 220 else 0  # sometimes not ascending
            body += _uvarint(key) + _uvarint(prog.number((2, 4096, 8192, 65536)))
        return _control(0x01, body)
    if kind == 1:  # USE
        return _control(0x02, _id_field(prog, pool))
    if kind == 2:  # GET
        return _control(0x03, _id_field(prog, pool) + _uvarint(prog.number((0, size))) +
                        _uvarint(prog.number((1024, size))))
    if kind == 3:  # CHUNK: a real slice of the dictionary, or not
        offset = prog.number((0, 1024, size))
        raw = d.to_bytes()
        data = raw[offset:offset + 1 + prog.number((1023, 1024))] if prog.byte() < 160 else prog.take(prog.byte())
        return _control(0x04, _id_field(prog, pool) + _uvarint(offset) + data)
    if kind == 4:  # an optional type (ignored once its CRC-32 checks, spec §4.4) or an unknown mandatory one
        frame = _control(prog.pick((0x40, 0x7F, 0x05, 0x3F, 0x80, 0xFF, 0x00)), prog.take(prog.byte() % 16))
        if prog.byte() < 200:  # mostly well-formed: the check over the frame, little-endian
            frame += zlib.crc32(frame).to_bytes(4, "little")
        return frame
    if kind == 5:  # raw control bytes
        return bytes([0x07]) + prog.take(prog.byte() % 24)
    if kind == 6:  # a header byte that is almost CONTROL
        return bytes([prog.pick((0x17, 0x27, 0x47, 0x87, 0x0F))]) + prog.take(prog.byte() % 12)
    return _control(prog.pick((0x01, 0x02, 0x03, 0x04)), prog.take(prog.byte() % 48))


def _check_events(sess: Any, state: dict[str, Any], asked: set[str]) -> None:
    from aura_wire.session import ConnectionFailed, DictionaryFetched, MessageReceived

    for ev in sess.events():
        if state["closed_before"]:
            raise OracleFailure(f"event {ev!r} after the session closed")
        if isinstance(ev, MessageReceived):
            size = len(ev.data.encode("utf-8")) if isinstance(ev.data, str) else len(ev.data)
            if size > FUZZ_MAX_MESSAGE:
                raise OracleFailure(f"session delivered {size} bytes > max_message_size")
        elif isinstance(ev, ConnectionFailed):
            REACHED[f"control: failed {ev.code}"] += 1
            if state["failed"]:
                raise OracleFailure("two ConnectionFailed events")
            state["failed"] = True
            if ev.code not in VALID_CLOSE_CODES:
                raise OracleFailure(f"close code {ev.code}")
            if len(ev.reason.encode("utf-8")) > 123:
                raise OracleFailure("close reason longer than 123 bytes")
        elif isinstance(ev, DictionaryFetched):
            REACHED["control: dictionary fetched"] += 1
            got = ev.dictionary
            if hashlib.sha256(got.to_bytes()).hexdigest() != got.id or got.id not in asked:
                raise OracleFailure(f"fetched dictionary {got.id[:12]} was not the one asked for or is not its hash")
    for out in sess.data_to_send():
        if not isinstance(out, bytes) or not out:
            raise OracleFailure(f"session queued {out!r}")
    if state["failed"] and not sess.closed:
        raise OracleFailure("ConnectionFailed but the session is not closed")


def _app_call(fn: Any, *args: Any) -> None:
    """An application call the program makes; a local misuse (wrong state) is the program's fault, not a finding."""
    from aura_wire.errors import AuraError

    try:
        fn(*args)
    except AuraError as exc:
        if exc.remote:
            raise OracleFailure(f"application call raised a remote error: {exc!r}") from exc


def run_control(targets: Targets, prog: Program, client: bool) -> None:
    from aura_wire import Encoder
    from aura_wire.session import Role, Session, SessionConfig

    cfg = SessionConfig(max_message_size=FUZZ_MAX_MESSAGE, max_chunk=1024)
    opts = codec_options(bool(prog.byte() & 1))
    if client:
        sess = Session(Role.CLIENT, config=cfg, codec_config=opts)
    else:
        sess = Session(Role.SERVER, dictionaries=[targets.dict_std], config=cfg, codec_config=opts)
        sess.start()
    enc = Encoder(targets.dict_std if prog.byte() & 1 else None, context=False, **opts)
    msgs = synthetic_messages(8, seed=3)
    state = {"failed": False, "closed_before": False}
    asked: set[str] = set()
    last = b""
    for _ in range(MAX_OPS):
        if prog.done:
            break
        op = prog.byte() % 10
        frame: bytes | None = None
        if op < 5:
            frame = build_control(prog, targets)
        elif op == 5:
            frame = enc.encode(msgs[prog.byte() % len(msgs)])
        elif op == 6 and last:  # the previous frame with one bit flipped
            pos = prog.byte() % len(last)
            frame = last[:pos] + bytes([last[pos] ^ (1 << (prog.byte() % 8))]) + last[pos + 1:]
        elif op == 7:  # the application answers an offer
            offered = list(getattr(sess, "_offered", {}))
            how = prog.byte() % 4
            if client and how == 0 and offered:
                asked.add(offered[0])
                _app_call(sess.fetch_dictionary, offered[0])
            elif client and how == 1:
                _app_call(sess.use_dictionary, targets.dict_std)
            elif client and how == 2:
                _app_call(sess.decline)
            elif not sess.closed:
                _app_call(sess.send_message, msgs[prog.byte() % len(msgs)])
        elif op == 8:
            _app_call(sess.close)
        else:
            frame = prog.take(prog.byte() % 32)
        state["closed_before"] = sess.closed
        if frame is not None:
            last = frame
            sess.receive_frame(frame)
        _check_events(sess, state, asked)


def run_pair(targets: Targets, prog: Program) -> None:
    from aura_wire.session import (
        ConnectionFailed, DictionaryOffered, MessageReceived, Role, Session, SessionConfig,
    )
    from aura_wire.session.control import is_control_frame

    cfg = SessionConfig(max_message_size=FUZZ_MAX_MESSAGE, max_chunk=prog.pick((512, 1024, 65536)))
    opts = codec_options(bool(prog.byte() & 1))
    srv = Session(Role.SERVER, dictionaries=[targets.dict_std], config=cfg, codec_config=opts)
    cli = Session(Role.CLIENT, config=cfg, codec_config=opts)
    srv.start()
    msgs = synthetic_messages(24, seed=prog.byte())
    q: dict[str, list[bytes]] = {"sc": [], "cs": []}
    sent: dict[str, list[str | bytes]] = {"sc": [], "cs": []}
    got: dict[str, list[str | bytes]] = {"sc": [], "cs": []}
    failed: dict[str, int | None] = {"sc": None, "cs": None}  # close code of the receiving side
    fault = closed = False
    offers: list[str] = []

    def pump_out() -> None:
        q["sc"] += srv.data_to_send()
        q["cs"] += cli.data_to_send()

    def drain_events(direction: str, sess: Any) -> None:
        for ev in sess.events():
            if isinstance(ev, MessageReceived):
                if failed[direction] is not None:
                    raise OracleFailure("a message delivered after the connection failed")
                got[direction].append(ev.data)
                REACHED[f"pair: delivered {direction}" + (" (synced)" if sess.receive_dictionary else "")] += 1
            elif isinstance(ev, ConnectionFailed):
                if failed[direction] is not None:
                    raise OracleFailure("two ConnectionFailed events")
                if ev.code not in VALID_CLOSE_CODES:
                    raise OracleFailure(f"close code {ev.code}")
                failed[direction] = ev.code
                REACHED[f"pair: failed {ev.code}"] += 1
            elif isinstance(ev, DictionaryOffered):
                offers.extend(ev.ids)

    def deliver(direction: str, n: int) -> None:
        dst = cli if direction == "sc" else srv
        for _ in range(n):
            if not q[direction]:
                return
            dst.receive_frame(q[direction].pop(0))
            drain_events(direction, dst)
            pump_out()

    for _ in range(MAX_OPS):
        if prog.done:
            break
        op = prog.byte() % 10
        if op in (0, 1):  # a side sends (sensitive now and then)
            direction = "cs" if op == 0 else "sc"
            src = cli if op == 0 else srv
            m: str | bytes = msgs[prog.byte() % len(msgs)]
            if prog.byte() < 40 and isinstance(m, str):
                m = m.encode("utf-8")[: prog.byte() * 4]  # a binary message
            if not src.closed:
                src.send_message(m, sensitive=prog.byte() < 30)
                sent[direction].append(m)
        elif op in (2, 3):
            deliver("sc" if op == 2 else "cs", 1 + prog.byte() % 8)
        elif op == 4 and offers and not cli.closed:  # the client answers the offer
            how = prog.byte() % 3
            if how == 0:
                _app_call(cli.use_dictionary, targets.dict_std)
            elif how == 1:
                _app_call(cli.fetch_dictionary, offers[0])
                REACHED["pair: fetch started"] += 1
            else:
                _app_call(cli.decline)
        elif op in (5, 6):  # drop or duplicate the next CONTROL frame of a direction
            direction = "sc" if prog.byte() & 1 else "cs"
            idx = next((i for i, f in enumerate(q[direction]) if is_control_frame(f)), None)
            if idx is not None:
                fault = True
                REACHED["pair: control frame " + ("dropped" if op == 5 else "duplicated")] += 1
                if op == 5:
                    q[direction].pop(idx)
                else:
                    q[direction].insert(idx, q[direction][idx])
        elif op == 7 and prog.byte() < 40:
            closed = True
            _app_call(cli.close if prog.byte() & 1 else srv.close)
        pump_out()
    # let everything in flight arrive (bounded: every delivery may answer with a few frames)
    for _ in range(200):
        if not q["sc"] and not q["cs"]:
            break
        deliver("sc", len(q["sc"]))
        deliver("cs", len(q["cs"]))
    for direction in ("sc", "cs"):
        n = len(got[direction])
        if got[direction] != sent[direction][:n]:
            raise OracleFailure(f"{direction}: delivered messages differ from the sent ones (altered, reordered "
                                f"or duplicated): {n} delivered of {len(sent[direction])} sent")
        if not fault and not closed:
            if failed[direction] is not None:
                raise OracleFailure(f"{direction}: a correct pair failed with {failed[direction]}")
            if n != len(sent[direction]):
                raise OracleFailure(f"{direction}: {len(sent[direction]) - n} messages never delivered")


def run_one(targets: Targets, data: bytes) -> None:
    """The oracle for one fuzz input; raises on a finding."""
    if not data:
        return
    prog = Program(data[1:])
    if data[0] & 1:
        run_pair(targets, prog)
    else:
        run_control(targets, prog, client=bool(data[0] & 2))


def seed_inputs(n: int = 64, seed: int = 19) -> list[bytes]:
    """Deterministic programs of both modes (random bytes are valid programs)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append(bytes([i % 4]) + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(8, 200))))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60, help="wall-clock bound of the whole run, set-up included")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "aura_wire_fuzz_session")
    ap.add_argument("--reproduce", type=Path, nargs="*", help="replay these inputs through the oracle and exit")
    ap.add_argument("--max-len", type=int, default=1024, help="largest fuzz input (libFuzzer -max_len)")
    args, extra = ap.parse_known_args(argv)
    t_start = time.monotonic()
    if args.reproduce:
        return reproduce(run_one, args.reproduce)

    atheris: Any = importlib.import_module("atheris")
    import aura_wire  # noqa: F401
    for mod in ("aura_wire.codec.encoder", "aura_wire.session.core", "aura_wire.session.control",
                "aura_wire.session.negotiation", "aura_wire.session.params"):
        importlib.import_module(mod)
    atheris.instrument_all()
    targets = build_targets()
    corpus = args.workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for s in seed_inputs():
        p = corpus / ("seed-" + hashlib.sha1(s).hexdigest()[:16])
        if not p.exists():
            p.write_bytes(s)
    artifacts = args.workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    remaining = max(5, int(args.seconds - (time.monotonic() - t_start)))
    print(f"aura_wire session fuzz: corpus {corpus}, artifacts {artifacts}, {remaining} s", flush=True)
    atheris.Setup([sys.argv[0], str(corpus), f"-max_total_time={remaining}", f"-max_len={args.max_len}",
                   "-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
                   *extra], lambda data: run_one(targets, data))
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
