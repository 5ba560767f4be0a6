"""Coverage-guided fuzzing of the AURA decoders (issue 7, part 1).

Targets ``Decoder.decode`` in stateless and context mode, with and without a
shared dictionary (and, once ``aura_wire.session`` exposes one, the session
core's receive path).  The oracle: every input either decodes or raises an
:class:`~aura_wire.errors.AuraError`; any other exception, an output larger
than ``max_message_size`` or a non-deterministic result is a crash.

One fuzz input is a small program: byte 0 selects the target (bit 0 context,
bit 1 dictionary, bit 2 full dictionary with BRIO/templates when those
exist, bit 3 session core when it exists: then bit 0 = client role, bit 1 = fetch the
dictionary in-band, bit 4 = the permessage-aura extension route), then frames follow, each as a
2-byte little-endian length and the frame bytes (a short last frame runs to
the end of the input).  The seed corpus is made from every frame of
``spec/vectors/**/*.json`` and from frames the encoder produced on synthetic
traffic.

Usage (needs ``pip install atheris``; keep runs short, the machine is shared)::

    AURA_WIRE_PURE=1 python fuzz/fuzz_decoder.py --seconds 600       # coverage-guided (atheris), pure build
    python fuzz/fuzz_decoder.py --mutate --seconds 600               # blind, structure-aware: compiled too
    python fuzz/fuzz_decoder.py --reproduce crash-1234abcd   # replay one input, no atheris needed

Both modes seed from the vectors, synthetic traffic and (``--corpora``, default ../shared/corpora)
real messages' frames.  ``--mutate`` needs no atheris and instruments nothing, so it is the way to
fuzz the compiled build; it prints the inputs run and saves findings and the 5 slowest inputs in
``--workdir``.  A short run of it is a test (tests/codec/test_fuzz_decoder_short.py, slow).
``fuzz/differential.py`` runs the same mutations through the TypeScript decoder as well.

Nothing here is imported by the package or the test suite, apart from the
pure helpers (:func:`split_input`, :func:`run_one`, :func:`build_targets`)
that ``tests/codec/test_fuzz_regressions.py`` reuses so regressions replay exactly
as the fuzzer saw them.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Final, NamedTuple, Sequence
from aura_wire import train_dictionary

REPO: Final = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: Decoded-size limit used while fuzzing: small so bombs are cheap to detect.
FUZZ_MAX_MESSAGE: Final = 1 << 16
MAX_FRAMES: Final = 16

SEL_CONTEXT: Final = 1
SEL_DICT: Final = 2
SEL_FULL: Final = 4
SEL_SESSION: Final = 8
SEL_EXTENSION: Final = 0x10  # with SEL_SESSION: Session.for_extension (permessage-aura route)
#: Without SEL_SESSION: a hostile peer that forges every check byte (CRC-32 is no MAC: it can).  The decoder's
#: check-byte comparison is bypassed (pure build only), so mutated payloads get past step 10 of spec §5.6 to
#: the commit, the UTF-8 check and the STATE instructions, where blind mutation rarely gets.
SEL_FORGE: Final = 0x20


def have_module(name: str) -> bool:
    """True when ``name`` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def have_brio() -> bool:
    return have_module("aura_wire.codec.brio")


def have_templates() -> bool:
    return have_module("aura_wire.codec.templates")


def synthetic_messages(n: int, seed: int = 7) -> list[str]:
    """Deterministic chat/market/log-like JSON messages for training and seeds."""
    rnd = random.Random(seed)
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    syms = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    out: list[str] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            words = ["hi", "ok", "lol", "deploy", "the", "build", "is", "green", "red", "again"]
            text = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 12)))
            out.append(json.dumps({"type": "chat", "id": i, "user": rnd.choice(users), "text": text}))
        elif kind == 1:
            out.append(json.dumps({"e": "trade", "E": 1700000000000 + i * 37, "s": rnd.choice(syms),
                                   "p": f"{rnd.uniform(10, 60000):.2f}", "q": f"{rnd.random():.5f}",
                                   "m": rnd.random() < 0.5}))
        elif kind == 2:
            out.append(f"2026-11-25T11:{i % 60:02d}:{rnd.randint(0, 59):02d}Z INFO svc[{rnd.randint(100, 999)}]: "
                       f"request id={rnd.getrandbits(32):08x} path=/api/v1/items/{rnd.randint(1, 9999)} "
                       f"status={rnd.choice([200, 200, 200, 404, 500])} ms={rnd.randint(1, 900)}")
        else:
            out.append(json.dumps({"op": "delta", "seq": i, "choices": [{"index": 0, "delta": {
                "content": rnd.choice(["The", " quick", " brown", " fox", ",", " jumps", "."])}}]}))
    return out


def codec_options(full: bool) -> dict[str, Any]:
    """Encoder/Decoder/Dictionary.train switches for what exists in this tree."""
    return {"brio": full and have_brio(), "templates": full and have_templates()}


class Targets:
    """Dictionaries and decoder factories shared by every fuzz iteration."""

    def __init__(self, dict_std: Any, dict_full: Any, dict_vec: Any) -> None:
        self.dict_std = dict_std
        self.dict_full = dict_full
        self.dict_vec = dict_vec

    def decoder(self, selector: int) -> Any:
        from aura_wire import Decoder

        full = bool(selector & SEL_FULL)
        d = None
        if selector & SEL_DICT:
            d = self.dict_full if full else self.dict_vec
        elif full and (selector & 0x10):
            d = self.dict_std
        dec = Decoder(d, context=bool(selector & SEL_CONTEXT), max_message_size=FUZZ_MAX_MESSAGE,
                      **codec_options(full))
        if selector & SEL_FORGE and not _compiled_decoder():
            setattr(dec, "_mismatch", _forged_check)  # noqa: B010 (an instance attribute shadows the method)
        return dec


def _forged_check(*_args: object) -> None:
    """Decoder._mismatch of a peer whose every check byte is right (SEL_FORGE)."""


def _compiled_decoder() -> bool:
    from aura_wire.codec import decoder

    return not str(getattr(decoder, "__file__", "")).endswith(".py")


def build_targets() -> Targets:
    """Train the small synthetic dictionaries (a second or two) and load the vectors' one."""
    from aura_wire import Dictionary

    samples = synthetic_messages(400)
    dict_std = train_dictionary(samples, zstd_dict_size=4096, brio_content_size=4096, **codec_options(False))
    opts = codec_options(True)
    dict_full = train_dictionary(samples, zstd_dict_size=4096, brio_content_size=4096, **opts) if any(opts.values()) \
        else dict_std
    vec_path = REPO / "spec" / "vectors" / "dict-std.aura"
    dict_vec = Dictionary.from_bytes(vec_path.read_bytes()) if vec_path.exists() else dict_std
    return Targets(dict_std, dict_full, dict_vec)


def split_input(data: bytes) -> tuple[int, list[bytes]]:
    """Decode one fuzz input into ``(selector, frames)``."""
    if not data:
        return 0, []
    selector = data[0]
    frames: list[bytes] = []
    pos = 1
    n = len(data)
    while pos < n and len(frames) < MAX_FRAMES:
        if pos + 2 > n:
            frames.append(data[pos:])
            break
        ln = data[pos] | (data[pos + 1] << 8)
        pos += 2
        frames.append(data[pos:pos + ln])
        pos += ln
    return selector, frames


def join_input(selector: int, frames: Sequence[bytes]) -> bytes:
    """Inverse of :func:`split_input` (frames longer than 65535 bytes are cut)."""
    out = bytearray([selector & 0xFF])
    for f in frames[:MAX_FRAMES]:
        f = f[:0xFFFF]
        out += len(f).to_bytes(2, "little")
        out += f
    return bytes(out)


class OracleFailure(AssertionError):
    """The decoder broke a rule the oracle checks (not an exception from the decoder itself)."""


def _decode_all(dec: Any, frames: Sequence[bytes]) -> list[object]:
    from aura_wire.errors import AuraError

    results: list[object] = []
    for f in frames:
        if f and (f[0] & 0xC7) == 4 and not have_brio():
            # Known finding F1 (see tests/codec/test_fuzz_regressions.py): a BRIO frame makes the decoder import the
            # BRIO module even when brio=False.  Skipped until aura_wire.codec.brio exists, so the fuzzer
            # keeps exploring the other paths instead of stopping on the same crash.
            results.append(("skipped", "brio-missing"))
            continue
        try:
            out = dec.decode(f)
        except AuraError as exc:
            if not isinstance(exc.close_code, int):
                raise OracleFailure(f"AuraError without a close code: {exc!r}") from exc
            results.append(("error", type(exc).__name__))
            continue
        if not isinstance(out, (str, bytes)):
            raise OracleFailure(f"decode returned {type(out).__name__}")
        size = len(out.encode("utf-8")) if isinstance(out, str) else len(out)
        if size > FUZZ_MAX_MESSAGE:
            raise OracleFailure(f"decoded {size} bytes > max_message_size {FUZZ_MAX_MESSAGE}")
        results.append(out)
    return results


VALID_CLOSE_CODES: Final = frozenset({1002, 1007, 1008, 1009, 1011})


def _session_pair_frames(targets: Targets, full: bool, fetch: bool) -> tuple[list[bytes], list[bytes]]:
    """A real conversation (server HELLO, sync, data both ways): (frames to the server, frames to the client)."""
    from aura_wire.session import DictionaryOffered, Role, Session, SessionConfig

    cfg = SessionConfig(max_message_size=FUZZ_MAX_MESSAGE, max_chunk=1024)
    opts = codec_options(full)
    srv = Session(Role.SERVER, dictionaries=[targets.dict_std], config=cfg, codec_config=opts)
    cli = Session(Role.CLIENT, config=cfg, codec_config=opts)
    to_srv: list[bytes] = []
    to_cli: list[bytes] = []
    srv.start()
    msgs = synthetic_messages(12, seed=5)
    for step in range(40):
        out = srv.data_to_send()
        to_cli += out
        for f in out:
            cli.receive_frame(f)
        for ev in cli.events():
            if isinstance(ev, DictionaryOffered):
                if fetch:
                    cli.fetch_dictionary(ev.ids[0])
                else:
                    cli.use_dictionary(targets.dict_std)
        if step in (2, 6, 12):
            for m in msgs[step % 12: step % 12 + 3]:
                cli.send_message(m)
                srv.send_message(m[::-1])
        out = cli.data_to_send()
        to_srv += out
        for f in out:
            srv.receive_frame(f)
        srv.events()
    return to_srv, to_cli


def _session_receive(targets: Targets, selector: int, frames: Sequence[bytes]) -> None:
    """Feed frames to a session core; a peer's error must become ConnectionFailed, never an exception."""
    from aura_wire.session import (
        ConnectionFailed, DictionaryOffered, MessageReceived, Role, Session, SessionConfig,
    )

    cfg = SessionConfig(max_message_size=FUZZ_MAX_MESSAGE, max_chunk=1024)
    opts = codec_options(bool(selector & SEL_FULL))
    client = bool(selector & SEL_CONTEXT)
    if selector & SEL_EXTENSION:
        # The permessage-aura route: dictionary fixed by the handshake, CONTROL frames are protocol errors.
        sess = Session.for_extension(Role.CLIENT if client else Role.SERVER,
                                     targets.dict_std if selector & SEL_DICT else None, config=cfg, codec_config=opts)
    elif client:
        sess = Session(Role.CLIENT, config=cfg, codec_config=opts)
    else:
        sess = Session(Role.SERVER, dictionaries=[targets.dict_std], config=cfg, codec_config=opts)
        sess.start()
    failed = False
    for f in frames:
        was_closed = sess.closed
        sess.receive_frame(f)
        for ev in sess.events():
            if was_closed:
                raise OracleFailure(f"event {ev!r} after the session closed")
            if isinstance(ev, MessageReceived):
                size = len(ev.data.encode("utf-8")) if isinstance(ev.data, str) else len(ev.data)
                if size > FUZZ_MAX_MESSAGE:
                    raise OracleFailure(f"session delivered {size} bytes > max_message_size")
            elif isinstance(ev, ConnectionFailed):
                if failed:
                    raise OracleFailure("two ConnectionFailed events")
                failed = True
                if ev.code not in VALID_CLOSE_CODES:
                    raise OracleFailure(f"close code {ev.code}")
                if len(ev.reason.encode("utf-8")) > 123:
                    raise OracleFailure("close reason longer than 123 bytes")
            elif isinstance(ev, DictionaryOffered) and client and not sess.closed and not selector & SEL_EXTENSION:
                if selector & SEL_DICT:
                    sess.fetch_dictionary(ev.ids[0])
                elif targets.dict_std.id in ev.ids:
                    sess.use_dictionary(targets.dict_std)
                else:
                    sess.decline()
        for out in sess.data_to_send():
            if not isinstance(out, bytes) or not out:
                raise OracleFailure(f"session queued {out!r}")
        if failed and not sess.closed:
            raise OracleFailure("ConnectionFailed but the session is not closed")


def run_one(targets: Targets, data: bytes) -> None:
    """The oracle for one fuzz input; raises on a finding."""
    selector, frames = split_input(data)
    if selector & SEL_SESSION:
        if have_module("aura_wire.session.core"):
            _session_receive(targets, selector, frames)
        return
    first = _decode_all(targets.decoder(selector), frames)
    if selector & SEL_CONTEXT:
        # Determinism of the context state: a fresh decoder fed the same frames gives the same results.
        second = _decode_all(targets.decoder(selector), frames)
        if first != second:
            raise OracleFailure("context decoder is not deterministic over the same frame sequence")


def seed_inputs(targets: Targets) -> list[bytes]:
    """Seeds: every vector frame sequence under every fitting selector, plus encoder output."""
    from aura_wire import Encoder

    seeds: list[bytes] = []
    for path in sorted((REPO / "spec" / "vectors").rglob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        frames_hex = doc.get("frames") if isinstance(doc, dict) else None
        if not isinstance(frames_hex, list):
            continue
        frames = []
        for h in frames_hex:
            if isinstance(h, str):
                try:
                    frames.append(bytes.fromhex(h)[:0xFFFF])
                except ValueError:
                    pass
        sel = (SEL_CONTEXT if doc.get("context") else 0) | (SEL_DICT if doc.get("dictionary") else 0)
        if "brio" in str(path) or "templ" in str(path):
            sel |= SEL_FULL
        if "session" in str(path):
            sel |= SEL_SESSION
        seeds.append(join_input(sel, frames))
    msgs = synthetic_messages(64, seed=11)
    for sel in range(8):
        full = bool(sel & SEL_FULL)
        d = (targets.dict_full if full else targets.dict_vec) if sel & SEL_DICT else None
        enc = Encoder(d, context=bool(sel & SEL_CONTEXT), **codec_options(full))
        frames = [enc.encode(m) for m in msgs[sel * 8:sel * 8 + 8]]
        frames.append(enc.encode(bytes(range(256)) * 4))
        seeds.append(join_input(sel, frames))
    if have_module("aura_wire.session.core"):
        for full in (False, True):
            for fetch in (False, True):
                to_srv, to_cli = _session_pair_frames(targets, full, fetch)
                base = SEL_SESSION | (SEL_FULL if full else 0) | (SEL_DICT if fetch else 0)
                seeds.append(join_input(base, to_srv))
                seeds.append(join_input(base | SEL_CONTEXT, to_cli))
        from aura_wire import Encoder as _Enc

        for sel in (SEL_SESSION | SEL_EXTENSION | SEL_DICT, SEL_SESSION | SEL_EXTENSION | SEL_DICT | SEL_FULL):
            enc = _Enc(targets.dict_std, context=True, **codec_options(bool(sel & SEL_FULL)))
            seeds.append(join_input(sel, [enc.encode(m) for m in synthetic_messages(10, seed=13)]))
    return seeds


#: ../shared/corpora beside the repository (JSONL, {"m": message}); optional seeds from real traffic.
CORPORA: Final = REPO.parent / "shared" / "corpora"


def corpus_seeds(targets: Targets, folder: Path = CORPORA, per_corpus: int = 24) -> list[bytes]:
    """Real frames: ``per_corpus`` messages spread over each corpus's first 2000, coded stateless and context,
    without and with the full dictionary (trained on synthetic traffic), 8 frames per seed, and the context
    ones again with forged checks.  Empty when the corpora are absent."""
    from aura_wire import Encoder

    seeds: list[bytes] = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        lines = path.read_text(encoding="utf-8").splitlines()[:2000]
        step = max(1, len(lines) // per_corpus)
        msgs: list[str | bytes] = []
        for line in lines[::step][:per_corpus]:
            m = json.loads(line).get("m")
            msgs.append(m if isinstance(m, str) else json.dumps(m))
        for sel in (0, SEL_DICT | SEL_FULL, SEL_CONTEXT, SEL_CONTEXT | SEL_DICT | SEL_FULL):
            full = bool(sel & SEL_FULL)
            enc = Encoder(targets.dict_full if sel & SEL_DICT else None, context=bool(sel & SEL_CONTEXT),
                          **codec_options(full))
            frames = [enc.encode(m) for m in msgs]
            for i in range(0, len(frames), 8):
                seeds.append(join_input(sel, frames[i:i + 8]))
                if sel & SEL_CONTEXT:
                    seeds.append(join_input(sel | SEL_FORGE, frames[i:i + 8]))
    return seeds


#: Values that break parsers: varint edges (2^63, 2^64 - 1, 2^64, a non-minimal zero), lengths near limits.
_EDGE_VARINTS: Final = (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", b"\xff" * 9 + b"\x01", b"\x80" * 9 + b"\x02",
                        b"\x80\x00", b"\xff\xff\x03", b"\x80\x80\x04", b"\x7f", b"\x00")
_EDGE_BYTES: Final = (0x00, 0x01, 0x07, 0x3F, 0x40, 0x7F, 0x80, 0xFE, 0xFF)


def mutate(data: bytes, rnd: random.Random, pool: Sequence[bytes]) -> bytes:
    """A structure-aware mutation of one fuzz input: 1-4 edits of its frames (bit flips, edge bytes, edge
    varints, header bytes, truncation, insertion, frames dropped, duplicated, swapped or spliced in from
    another input of ``pool``) or of its selector's context / dictionary / forge bits."""
    selector, parts = split_input(data)
    frames = [bytearray(f) for f in parts] or [bytearray(b"\x40")]
    for _ in range(rnd.randint(1, 4)):
        f = rnd.choice(frames)
        op = rnd.randrange(11)
        at = rnd.randrange(len(f) + 1)
        if op == 0 and f:
            f[min(at, len(f) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1 and f:
            f[min(at, len(f) - 1)] = rnd.choice(_EDGE_BYTES)
        elif op == 2:
            f[at:at] = rnd.choice(_EDGE_VARINTS)
        elif op == 3 and f:
            f[0] = rnd.randrange(256) if rnd.random() < 0.5 else f[0] ^ rnd.choice((0x08, 0x10, 0x20, 0xC0))
        elif op == 4:
            del f[at:]
        elif op == 5:
            f[at:at] = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 8)))
        elif op == 6 and len(frames) > 1:
            frames.remove(f)
        elif op == 7 and len(frames) < MAX_FRAMES:
            frames.insert(rnd.randrange(len(frames) + 1), bytearray(f))
        elif op == 8 and len(frames) > 1:
            i, j = rnd.randrange(len(frames)), rnd.randrange(len(frames))
            frames[i], frames[j] = frames[j], frames[i]
        elif op == 9 and pool:
            _, other = split_input(rnd.choice(pool))
            if other:
                frames[rnd.randrange(len(frames))] = bytearray(rnd.choice(other))
        else:
            selector ^= rnd.choice((SEL_CONTEXT, SEL_DICT, SEL_FORGE))
    return join_input(selector, [bytes(f) for f in frames])


class RunStats(NamedTuple):
    inputs: int
    findings: list[tuple[bytes, BaseException]]
    slowest: list[tuple[float, bytes]]  # the 5 longest single inputs (seconds, input): a CPU blow-up shows here


def mutation_run(targets: Targets, seeds: Sequence[bytes], *, seed: int, iterations: int | None = None,
                 seconds: float | None = None, on_finding: Callable[[bytes, BaseException], None] | None = None
                 ) -> RunStats:
    """Blind structure-aware fuzzing (no atheris; works on a compiled build): mutate seeds, run the oracle.

    Stops after ``iterations`` inputs or ``seconds``, whichever comes first.
    """
    rnd = random.Random(seed)
    findings: list[tuple[bytes, BaseException]] = []
    deadline = time.monotonic() + seconds if seconds is not None else None
    n = 0
    slowest: list[tuple[float, bytes]] = []
    while (iterations is None or n < iterations) and (deadline is None or time.monotonic() < deadline):
        data = mutate(rnd.choice(seeds), rnd, seeds)
        n += 1
        t0 = time.perf_counter()
        try:
            run_one(targets, data)
        except Exception as exc:  # every finding, whatever its type
            findings.append((data, exc))
            if on_finding is not None:
                on_finding(data, exc)
        took = time.perf_counter() - t0
        if len(slowest) < 5 or took > slowest[-1][0]:
            slowest = sorted([*slowest, (took, data)], key=lambda x: -x[0])[:5]
    return RunStats(n, findings, slowest)


def write_seed_corpus(targets: Targets, folder: Path, corpora: Path = CORPORA) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in seed_inputs(targets) + corpus_seeds(targets, corpora):
        name = "seed-" + hashlib.sha1(s).hexdigest()[:16]
        p = folder / name
        if not p.exists():
            p.write_bytes(s)
        n += 1
    return n


def reproduce(run: Callable[[Targets, bytes], None], paths: Sequence[Path]) -> int:
    """Replay saved inputs through an oracle (``run_one`` of a harness); print each verdict; 1 if any failed."""
    targets = build_targets()
    bad = 0
    for p in paths:
        data = p.read_bytes()
        try:
            run(targets, data)
            print(f"{p}: ok")
        except Exception as exc:  # report every finding, whatever its type
            bad += 1
            print(f"{p}: {type(exc).__name__}: {exc}\n  input hex: {data.hex()}")
    return 1 if bad else 0


def blind_main(args: argparse.Namespace, t_start: float) -> int:
    """``--mutate``: a time-bounded :func:`mutation_run`; findings are saved like libFuzzer's crash files."""
    from aura_wire._loader import is_compiled

    targets = build_targets()
    seeds = seed_inputs(targets) + corpus_seeds(targets, args.corpora)
    artifacts = args.workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)

    def save(data: bytes, exc: BaseException) -> None:
        path = artifacts / ("crash-" + hashlib.sha1(data).hexdigest()[:16])
        path.write_bytes(data)
        print(f"FINDING {type(exc).__name__}: {exc}\n  saved {path}", flush=True)

    remaining = max(5.0, args.seconds - (time.monotonic() - t_start))
    print(f"aura_wire blind fuzz: {len(seeds)} seeds, compiled={is_compiled()}, {remaining:.0f} s", flush=True)
    t0 = time.monotonic()
    stats = mutation_run(targets, seeds, seed=args.seed, seconds=remaining, on_finding=save)
    took = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"inputs {stats.inputs} in {took:.0f} s ({stats.inputs / took:.0f}/s), findings {len(stats.findings)}, "
          f"peak RSS {peak} MiB", flush=True)
    for i, (secs, data) in enumerate(stats.slowest):
        path = args.workdir / f"slowest-{i}"
        path.write_bytes(data)
        again = []  # timed alone, best of 3: a machine's scheduling noise shows in the run, not here
        for _ in range(3):
            t1 = time.perf_counter()
            try:
                run_one(targets, data)
            except Exception:  # already reported as a finding
                pass
            again.append(time.perf_counter() - t1)
        print(f"  slow input {secs * 1e3:.1f} ms in the run, {min(again) * 1e3:.2f} ms alone, {len(data)} bytes: "
              f"{path}", flush=True)
    return 1 if stats.findings else 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60,
                    help="wall-clock bound of the whole run, set-up included (the rest goes to -max_total_time)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "aura_wire_fuzz",
                    help="corpus and crash artifacts are kept here between runs")
    ap.add_argument("--reproduce", type=Path, nargs="*", help="replay these inputs through the oracle and exit")
    ap.add_argument("--max-len", type=int, default=8192, help="largest fuzz input (libFuzzer -max_len)")
    ap.add_argument("--mutate", action="store_true",
                    help="blind structure-aware mutation instead of atheris (no instrumentation: runs compiled too)")
    ap.add_argument("--seed", type=int, default=14, help="random seed of --mutate")
    ap.add_argument("--corpora", type=Path, default=CORPORA,
                    help="JSONL corpora whose messages' frames join the seeds (skipped when absent)")
    args, extra = ap.parse_known_args(argv)
    t_start = time.monotonic()

    if args.reproduce:
        return reproduce(run_one, args.reproduce)

    if args.mutate:
        return blind_main(args, t_start)

    atheris: Any = importlib.import_module("atheris")
    # aura_wire loads its codec modules through its own import finder (aura_wire/_loader.py, compiled or
    # pure), which atheris.instrument_imports() does not see: import everything, then instrument the
    # bytecode of every loaded function.  (Compiled modules, if in use, cannot be instrumented.)
    import aura_wire  # noqa: F401
    import aura_wire.codec.encoder  # noqa: F401
    for opt in ("aura_wire.codec.brio", "aura_wire.codec.templates", "aura_wire.session.core"):
        if have_module(opt):
            importlib.import_module(opt)
    atheris.instrument_all()

    targets = build_targets()
    corpus = args.workdir / "corpus"
    seeds = write_seed_corpus(targets, corpus, args.corpora)
    artifacts = args.workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    print(f"aura_wire fuzz: {seeds} seeds, corpus {corpus}, artifacts {artifacts}, "
          f"brio={have_brio()} templates={have_templates()} session={have_module('aura_wire.session')}",
          flush=True)

    def test_one(data: bytes) -> None:
        run_one(targets, data)

    # --seconds bounds the whole run: instrumenting and training the dictionaries count too.
    remaining = max(5, int(args.seconds - (time.monotonic() - t_start)))
    lf_args = [sys.argv[0], str(corpus), f"-max_total_time={remaining}", f"-max_len={args.max_len}",
               "-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
               *extra]
    atheris.Setup(lf_args, test_one)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
