"""The side-by-side benchmark: aura_wire against what a user would run instead.

For each corpus (a JSONL file of ``{"m": ...}`` messages, see
:func:`load_messages`) the first half trains the shared dictionaries (the
aura_wire :class:`~aura_wire.Dictionary` and a 32 KiB zstd dictionary for the
zstd peers) and the second half is coded in order as one connection, by:

==================  ==========================================================
``aura-context``    ``Encoder(d, context=True)``: one connection's state
``aura-stateless``  ``Encoder(d, context=False)``: every frame decodes alone
``deflate-w15``     permessage-deflate (RFC 7692) through the real ``websockets``
                    extension objects, ``ServerPerMessageDeflateFactory()`` with
                    its defaults: window 15, memLevel 8, context takeover (as
                    uvicorn's legacy ``ws="websockets"`` protocol negotiates it);
                    the strongest common setting, the bar the targets use
``deflate-w12``     the same at window 12, memLevel 5, context takeover: what
                    uvicorn's default ``ws="auto"`` (websockets-sansio) and
                    ``websockets.serve()`` negotiate
``zstd``            zstd level 3 per message
``zstd-dict``       zstd level 3 per message with the 32 KiB trained dictionary
``zstd-stream``     one zstd stream with the dictionary, flushed per message
                    (all zstd peers write lean frames: no magic, dictionary id
                    or checksum, like aura_wire's own ZSTD method)
``brotli``          brotli quality 5 per message
==================  ==========================================================

Every peer's output is decoded and compared with the original, byte for
byte, during the run (a mismatch raises :class:`BenchError`).  Figures: ratio
(original bytes / wire bytes, payload only: the WebSocket frame header is the
same for everybody), its geometric mean over corpora, median encode and
decode time per message, memory per connection, fan-out cost, and the
design thresholds (docs/benchmarks.md) as PASS/FAIL lines.

This module does no network I/O.  It is the engine of ``aura-wire bench``
and of ``benchmarks/run_bench.py``.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Callable, Final, Sequence

import brotli
import zstandard
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode

import aura_wire
from aura_wire.codec.decoder import Decoder
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.encoder import Encoder
from aura_wire.training import train_dictionary

__all__ = [
    "BenchError",
    "BenchReport",
    "CorpusResult",
    "PeerResult",
    "TargetResult",
    "PEERS",
    "available_features",
    "load_messages",
    "run_bench",
    "bench_corpus",
    "measure_compiled_vs_pure",
    "check_targets",
    "format_report",
    "format_markdown",
    "plot_report",
]

#: Peer ids in table order.
PEERS: Final = (
    "aura-context",
    "aura-stateless",
    "deflate-w15",
    "deflate-w12",
    "zstd",
    "zstd-dict",
    "zstd-stream",
    "brotli",
)

#: Column headings for the tables (8 characters at most).
SHORT: Final = {
    "aura-context": "aura-ctx",
    "aura-stateless": "aura-sl",
    "deflate-w15": "pmd-w15",
    "deflate-w12": "pmd-w12",
    "zstd": "zstd",
    "zstd-dict": "zstd-dct",
    "zstd-stream": "zstd-str",
    "brotli": "brotli",
}

#: Earlier peer ids, still accepted: "deflate-uvicorn" named window 15 after uvicorn's legacy
#: protocol, while uvicorn's default negotiates window 12.
ALIASES: Final = {"deflate-uvicorn": "deflate-w15", "deflate-websockets": "deflate-w12"}

ZSTD_LEVEL: Final = 3
ZSTD_DICT_SIZE: Final = 32 * 1024
BROTLI_QUALITY: Final = 5
FANOUT_RECEIVERS: Final = 1000
#: Messages replayed under tracemalloc to measure per-connection memory.
TRACEMALLOC_MESSAGES: Final = 300
#: zlib.h: inflate needs "1 << windowBits ... plus about 7 kilobytes" of state.
_ZLIB_INFLATE_STATE: Final = 7 * 1024

# Design thresholds (docs/benchmarks.md, "The thresholds").
TARGET_CONTEXT_VS_DEFLATE: Final = 1.5
TARGET_CONTEXT_PER_CORPUS: Final = 1.0
TARGET_STATELESS_VS_ZSTD_DICT: Final = 1.25
TARGET_MEMORY_BYTES: Final = 32 * 1024


class BenchError(Exception):
    """A peer did not reproduce a message exactly, or the input is unusable."""


# ---------------------------------------------------------------------------
# corpora
# ---------------------------------------------------------------------------


def load_messages(path: str | os.PathLike[str], *, limit: int | None = None,
                  field: str | None = None) -> list[str]:
    """Read messages from ``path``, in order.

    Three formats, told apart by the first non-empty line: JSONL with one
    ``{"m": "<message>"}`` per line (the corpora), JSONL audit logs with
    ``{"plaintext": "<message>"}``, or plain text with one message per line
    (trailing ``\\r``/``\\n`` removed).  ``limit`` stops after that many
    messages.  Empty lines are skipped in plain text.

    ``field`` names the JSONL field holding the message; ``""`` reads every
    line as one message, as it is.  Without it, JSON objects with neither
    ``m`` nor ``plaintext`` are messages themselves, unless the first one has
    a string field named like a message holder (``text``, ``message``, ...,
    :data:`WRAPPER_FIELDS`): that is refused with a :class:`BenchError`
    naming the field, as reading the wrapper's text would be a silent mistake.
    """
    out: list[str] = []
    key: str | None = field or None
    decided = field is not None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            if not line:
                continue
            if not decided:
                decided = True
                key = _jsonl_key(line)
                if key is None:
                    _refuse_unknown_wrapper(path, line)
            if key is None:
                out.append(line)
            else:
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise BenchError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
                if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
                    raise BenchError(f"{path}:{lineno}: expected an object with a string field {key!r}")
                out.append(obj[key])
            if limit is not None and len(out) >= limit:
                break
    return out


def _jsonl_key(line: str) -> str | None:
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if isinstance(obj, dict):
        for key in ("m", "plaintext"):
            if isinstance(obj.get(key), str):
                return key
    return None


#: Field names that, in a JSON object without "m"/"plaintext", say the line is a wrapper around the message.
WRAPPER_FIELDS: Final = ("message", "msg", "text", "data", "payload", "content", "body", "frame", "line", "raw")


def _refuse_unknown_wrapper(path: str | os.PathLike[str], line: str) -> None:
    """Refuse JSONL that wraps each message in a field we do not read by default.

    A JSON object per line is also how JSON messages themselves are stored, so only an
    object with a string field named like a message holder (:data:`WRAPPER_FIELDS`) is
    taken for a wrapper; training on its text would be a silent mistake.
    """
    if not line.startswith("{"):
        return
    try:
        obj = json.loads(line)
    except ValueError:
        return
    if not isinstance(obj, dict):
        return
    holders = [k for k in WRAPPER_FIELDS if isinstance(obj.get(k), str)]
    if not holders:
        return
    raise BenchError(f"{path}: each line is a JSON object without an \"m\" (or \"plaintext\") string field, "
                     f"and its field {holders[0]!r} looks like the message: pass --field {holders[0]} to read it, "
                     "or --field '' to read each whole line as one message")


def corpus_name(path: str | os.PathLike[str]) -> str:
    base = os.path.basename(os.fspath(path))
    for suffix in (".jsonl", ".txt", ".log"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def available_features() -> dict[str, bool]:
    """The codec methods the benchmark runs by default: all of them (``--no-brio`` and
    ``--no-templates`` turn one off)."""
    return {
        "brio": True,
        "templates": True,
    }


# ---------------------------------------------------------------------------
# peers: each is one connection (encoder + decoder of one direction)
# ---------------------------------------------------------------------------


class _Peer:
    """One codec under test.  ``stateful``: it keeps per-connection state,
    so a message sent to N receivers is encoded N times."""

    name = ""
    label = ""
    stateful = True

    def encode(self, message: str, data: bytes) -> bytes:
        raise NotImplementedError

    def decode(self, wire: bytes) -> bytes:
        raise NotImplementedError

    def memory(self) -> tuple[int, str]:
        """(bytes per connection, how it was obtained)."""
        raise NotImplementedError

    def traced_memory(self, messages: Sequence[str], datas: Sequence[bytes]) -> int | None:
        """Per-connection memory seen by tracemalloc on a fresh connection, or None."""
        return None


class _AuraPeer(_Peer):
    def __init__(self, dictionary: Dictionary, context: bool, config: dict[str, Any]) -> None:
        self.name = "aura-context" if context else "aura-stateless"
        mode = "context" if context else "stateless"
        self.label = f"aura_wire {mode} ({'compiled' if aura_wire.compiled else 'pure'})"
        self.stateful = context
        self._dictionary = dictionary
        self._context = context
        self._config = config
        self.encoder = Encoder(dictionary, context=context, **config)
        self.decoder = Decoder(dictionary, context=context, **config)

    def encode(self, message: str, data: bytes) -> bytes:
        return self.encoder.encode(message)

    def decode(self, wire: bytes) -> bytes:
        out = self.decoder.decode(wire)
        return out.encode("utf-8") if isinstance(out, str) else out

    def memory(self) -> tuple[int, str]:
        return self.encoder.memory_bytes() + self.decoder.memory_bytes(), "Encoder+Decoder.memory_bytes()"

    def traced_memory(self, messages: Sequence[str], datas: Sequence[bytes]) -> int | None:
        def make() -> object:
            return (Encoder(self._dictionary, context=self._context, **self._config),
                    Decoder(self._dictionary, context=self._context, **self._config))

        def feed(state: object, message: str, data: bytes) -> None:
            assert isinstance(state, tuple)
            enc, dec = state
            dec.decode(enc.encode(message))

        return _traced(make, feed, messages, datas)


def _negotiate(server: ServerPerMessageDeflateFactory,
               client: ClientPerMessageDeflateFactory) -> tuple[PerMessageDeflate, PerMessageDeflate]:
    """Run the RFC 7692 offer/response through the real factories; return (server, client) extensions."""
    offer = client.get_request_params()
    response, server_ext = server.process_request_params(offer, [])
    client_ext = client.process_response_params(response, [])
    assert isinstance(server_ext, PerMessageDeflate) and isinstance(client_ext, PerMessageDeflate)
    return server_ext, client_ext


class _DeflatePeer(_Peer):
    """Server-to-client direction: the server's extension encodes, the client's decodes."""

    def __init__(self, name: str, label: str, server: ServerPerMessageDeflateFactory) -> None:
        self.name = name
        self.label = label
        self.stateful = True
        # websockets' connect() default client: enable_client_permessage_deflate().
        client = ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})
        self._server, self._client = _negotiate(server, client)
        self.window_bits = self._server.local_max_window_bits
        self.mem_level = int(self._server.compress_settings.get("memLevel", zlib.DEF_MEM_LEVEL))
        self.context_takeover = not self._server.local_no_context_takeover

    def encode(self, message: str, data: bytes) -> bytes:
        return bytes(self._server.encode(Frame(Opcode.TEXT, data)).data)

    def decode(self, wire: bytes) -> bytes:
        return bytes(self._client.decode(Frame(Opcode.TEXT, wire, rsv1=True), max_size=None).data)

    def memory(self) -> tuple[int, str]:
        w, m = self.window_bits, self.mem_level
        deflate = (1 << (w + 2)) + (1 << (m + 9))
        inflate = (1 << w) + _ZLIB_INFLATE_STATE
        return deflate + inflate, f"zlib.h formula: deflate 2^(w+2)+2^(m+9), inflate 2^w+7KiB (w={w}, m={m})"

    def traced_memory(self, messages: Sequence[str], datas: Sequence[bytes]) -> int | None:
        # CPython's zlib module allocates through PyMem_RawMalloc, which tracemalloc sees.
        w, m = self.window_bits, self.mem_level

        def make() -> object:
            return (zlib.compressobj(wbits=-w, memLevel=m), zlib.decompressobj(wbits=-w))

        def feed(state: object, message: str, data: bytes) -> None:
            assert isinstance(state, tuple)
            c, d = state
            d.decompress(c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))

        return _traced(make, feed, messages, datas)


def _zstd_params() -> zstandard.ZstdCompressionParameters:
    """Lean frames, as aura_wire's own ZSTD method writes them: no magic, no dictionary id, no checksum.

    Both ends know the format and the dictionary, so these 4-12 bytes per
    frame would be pure overhead on small messages; leaving them out makes
    the zstd peers as strong as zstd gets here.
    """
    return zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=0, write_dict_id=0,
        write_content_size=1)


class _ZstdPeer(_Peer):
    def __init__(self, name: str, label: str, zdict: zstandard.ZstdCompressionDict | None) -> None:
        self.name = name
        self.label = label
        self.stateful = False
        magicless = zstandard.FORMAT_ZSTD1_MAGICLESS
        if zdict is None:
            self._c = zstandard.ZstdCompressor(compression_params=_zstd_params())
            self._d = zstandard.ZstdDecompressor(format=magicless)
        else:
            self._c = zstandard.ZstdCompressor(dict_data=zdict, compression_params=_zstd_params())
            self._d = zstandard.ZstdDecompressor(dict_data=zdict, format=magicless)

    def encode(self, message: str, data: bytes) -> bytes:
        out: bytes = self._c.compress(data)
        return out

    def decode(self, wire: bytes) -> bytes:
        out: bytes = self._d.decompress(wire)
        return out

    def memory(self) -> tuple[int, str]:
        size = int(self._c.memory_size()) + int(self._d.memory_size())
        return 0, f"stateless: one context pair per process ({size} bytes, libzstd memory_size())"


class _ZstdStreamPeer(_Peer):
    def __init__(self, zdict: zstandard.ZstdCompressionDict) -> None:
        self.name = "zstd-stream"
        self.label = f"zstd level {ZSTD_LEVEL} stream + 32 KiB dictionary, block flush per message"
        self.stateful = True
        magicless = zstandard.FORMAT_ZSTD1_MAGICLESS
        self._cctx = zstandard.ZstdCompressor(dict_data=zdict, compression_params=_zstd_params())
        self._dctx = zstandard.ZstdDecompressor(dict_data=zdict, format=magicless)
        self._cobj = self._cctx.compressobj()
        self._dobj = self._dctx.decompressobj()

    def encode(self, message: str, data: bytes) -> bytes:
        out: bytes = self._cobj.compress(data) + self._cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return out

    def decode(self, wire: bytes) -> bytes:
        out: bytes = self._dobj.decompress(wire)
        return out

    def memory(self) -> tuple[int, str]:
        size = int(self._cctx.memory_size()) + int(self._dctx.memory_size())
        return size, "libzstd memory_size() of the stream's compression + decompression contexts"


class _BrotliPeer(_Peer):
    name = "brotli"
    label = f"brotli quality {BROTLI_QUALITY} per message"
    stateful = False

    def encode(self, message: str, data: bytes) -> bytes:
        out: bytes = brotli.compress(data, quality=BROTLI_QUALITY)
        return out

    def decode(self, wire: bytes) -> bytes:
        out: bytes = brotli.decompress(wire)
        return out

    def memory(self) -> tuple[int, str]:
        return 0, "stateless: no per-connection state"


def _traced(make: Callable[[], object], feed: Callable[[object, str, bytes], None],
            messages: Sequence[str], datas: Sequence[bytes]) -> int:
    """Bytes still allocated by one fresh connection's state after ``messages`` (tracemalloc)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        state = make()
        for i in range(len(messages)):
            feed(state, messages[i], datas[i])
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        del state
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0, after - before)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


@dataclass
class PeerResult:
    """One peer on one corpus."""

    peer: str
    label: str
    original_bytes: int
    wire_bytes: int
    ratio: float
    encode_us_median: float
    decode_us_median: float
    encode_us_p99: float
    memory_bytes: int
    memory_method: str
    traced_memory_bytes: int | None
    stateful: bool
    fanout_encodes: int
    fanout_ms: float
    method_counts: dict[str, int] = field(default_factory=dict)
    template_hit_rate: float | None = None


@dataclass
class CorpusResult:
    corpus: str
    path: str
    messages_total: int
    train_messages: int
    measured_messages: int
    original_bytes: int
    train_seconds: float
    dictionary_bytes: int
    zstd_dictionary: str
    peers: dict[str, PeerResult]


@dataclass
class TargetResult:
    name: str
    passed: bool
    value: float
    threshold: float
    detail: str


@dataclass
class BenchReport:
    version: str
    compiled: bool
    python: str
    platform: str
    cpus: int
    features: dict[str, bool]
    limit: int | None
    settings: dict[str, Any]
    corpora: list[CorpusResult]
    geomean: dict[str, float]
    encode_us_median: dict[str, float]
    decode_us_median: dict[str, float]
    memory_bytes: dict[str, int]
    fanout_ms: dict[str, float]
    targets: list[TargetResult]
    seconds: float
    compiled_vs_pure: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def geomean(values: Sequence[float]) -> float:
    vals = [v for v in values if v > 0]
    if not vals:
        return 0.0
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------


def _train_zstd_dict(train: Sequence[bytes]) -> tuple[zstandard.ZstdCompressionDict, str]:
    """The zstd peers' dictionary: ``zstandard.train_dictionary`` (32 KiB) on the training half.

    zstd's trainer refuses too few or too uniform samples; then the peers get
    the last 32 KiB of the training half as a raw-content dictionary (said in
    the report).
    """
    try:
        if len(train) >= 8:
            return zstandard.train_dictionary(ZSTD_DICT_SIZE, list(train)), "trained"
    except zstandard.ZstdError:
        pass
    raw = b"".join(train)[-ZSTD_DICT_SIZE:] or b"\0"
    return zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT), "raw-content"


def _run_peer(peer: _Peer, messages: Sequence[str], datas: Sequence[bytes], corpus: str,
              samples: dict[str, list[int]]) -> PeerResult:
    enc_ns: list[int] = []
    dec_ns: list[int] = []
    wires: list[bytes] = []
    clock = time.perf_counter_ns
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for i in range(len(messages)):
            t0 = clock()
            w = peer.encode(messages[i], datas[i])
            t1 = clock()
            wires.append(w)
            enc_ns.append(t1 - t0)
        for i in range(len(wires)):
            t0 = clock()
            out = peer.decode(wires[i])
            t1 = clock()
            dec_ns.append(t1 - t0)
            if out != datas[i]:
                raise BenchError(f"{peer.name} did not reproduce message {i} of {corpus} exactly "
                                 f"({len(out)} bytes back for {len(datas[i])})")
    finally:
        if gc_was:
            gc.enable()
    original = sum(len(d) for d in datas)
    wire = sum(len(w) for w in wires)
    samples.setdefault(peer.name + ":enc", []).extend(enc_ns)
    samples.setdefault(peer.name + ":dec", []).extend(dec_ns)
    mem, how = peer.memory()
    enc_med = statistics.median(enc_ns) / 1000.0 if enc_ns else 0.0
    n_enc = FANOUT_RECEIVERS if peer.stateful else 1
    res = PeerResult(
        peer=peer.name,
        label=peer.label,
        original_bytes=original,
        wire_bytes=wire,
        ratio=original / wire if wire else 0.0,
        encode_us_median=enc_med,
        decode_us_median=statistics.median(dec_ns) / 1000.0 if dec_ns else 0.0,
        encode_us_p99=_quantile(enc_ns, 0.99) / 1000.0,
        memory_bytes=mem,
        memory_method=how,
        traced_memory_bytes=None,
        stateful=peer.stateful,
        fanout_encodes=n_enc,
        fanout_ms=n_enc * enc_med / 1000.0,
    )
    if isinstance(peer, _AuraPeer):
        res.method_counts = dict(peer.encoder.metrics.method_counts)
        res.template_hit_rate = peer.encoder.metrics.template_hit_rate
    return res


def _quantile(values: Sequence[int], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return float(s[min(len(s) - 1, int(q * (len(s) - 1)))])


def bench_corpus(
    path: str | os.PathLike[str],
    *,
    limit: int | None = None,
    peers: Sequence[str] = PEERS,
    features: dict[str, bool] | None = None,
    config: dict[str, Any] | None = None,
    trace_memory: bool = True,
    samples: dict[str, list[int]] | None = None,
) -> CorpusResult:
    """Benchmark one corpus: train on the first half, measure the second half as one connection.

    ``limit`` keeps only the first ``limit`` messages of the corpus (then
    halves them).  ``features`` forces BRIO/templates on or off (default:
    :func:`available_features`).  ``config`` are extra CodecConfig options
    for the aura peers.  ``samples`` collects per-message timings (ns) by
    ``"<peer>:enc"`` / ``"<peer>:dec"`` for pooled medians.
    """
    peers = [ALIASES.get(p, p) for p in peers]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        raise BenchError(f"unknown peer(s): {', '.join(unknown)}; known: {', '.join(PEERS)}")
    feats = available_features() if features is None else features
    msgs = load_messages(path, limit=limit)
    if len(msgs) < 2:
        raise BenchError(f"{path}: need at least 2 messages (one to train, one to measure), got {len(msgs)}")
    mid = len(msgs) // 2
    train, test = msgs[:mid], msgs[mid:]
    datas = [m.encode("utf-8") for m in test]
    train_b = [m.encode("utf-8") for m in train]
    codec_cfg: dict[str, Any] = {"brio": feats["brio"], "templates": feats["templates"]}
    codec_cfg.update(config or {})

    t0 = time.perf_counter()
    dictionary = Dictionary({})
    if "aura-context" in peers or "aura-stateless" in peers:
        dictionary = train_dictionary(train, brio=feats["brio"], templates=feats["templates"],
                                      name=corpus_name(path))
    train_s = time.perf_counter() - t0
    zdict, zkind = _train_zstd_dict(train_b)

    made: dict[str, Callable[[], _Peer]] = {
        "aura-context": lambda: _AuraPeer(dictionary, True, codec_cfg),
        "aura-stateless": lambda: _AuraPeer(dictionary, False, codec_cfg),
        "deflate-w15": lambda: _DeflatePeer(
            "deflate-w15",
            "permessage-deflate w15, memLevel 8: ServerPerMessageDeflateFactory() defaults (uvicorn ws=websockets)",
            ServerPerMessageDeflateFactory()),
        "deflate-w12": lambda: _DeflatePeer(
            "deflate-w12",
            "permessage-deflate w12, memLevel 5: uvicorn's default (ws=auto) and websockets serve()",
            ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                           compress_settings={"memLevel": 5})),
        "zstd": lambda: _ZstdPeer("zstd", f"zstd level {ZSTD_LEVEL} per message", None),
        "zstd-dict": lambda: _ZstdPeer("zstd-dict", f"zstd level {ZSTD_LEVEL} per message + 32 KiB {zkind} "
                                       "dictionary", zdict),
        "zstd-stream": lambda: _ZstdStreamPeer(zdict),
        "brotli": lambda: _BrotliPeer(),
    }
    pooled = samples if samples is not None else {}
    results: dict[str, PeerResult] = {}
    for name in PEERS:
        if name not in peers:
            continue
        peer = made[name]()
        res = _run_peer(peer, test, datas, corpus_name(path), pooled)
        if trace_memory and peer.stateful:
            k = min(TRACEMALLOC_MESSAGES, len(test))
            res.traced_memory_bytes = made[name]().traced_memory(test[:k], datas[:k])
        results[name] = res
    return CorpusResult(
        corpus=corpus_name(path),
        path=os.fspath(path),
        messages_total=len(msgs),
        train_messages=len(train),
        measured_messages=len(test),
        original_bytes=sum(len(d) for d in datas),
        train_seconds=train_s,
        dictionary_bytes=len(dictionary),
        zstd_dictionary=zkind,
        peers=results,
    )


def run_bench(
    paths: Sequence[str | os.PathLike[str]],
    *,
    limit: int | None = None,
    peers: Sequence[str] = PEERS,
    features: dict[str, bool] | None = None,
    config: dict[str, Any] | None = None,
    trace_memory: bool = True,
    progress: IO[str] | None = None,
) -> BenchReport:
    """Benchmark every corpus in ``paths`` and summarise (see the module docstring)."""
    if not paths:
        raise BenchError("no corpus given")
    feats = available_features() if features is None else features
    t0 = time.perf_counter()
    samples: dict[str, list[int]] = {}
    corpora: list[CorpusResult] = []
    for i, p in enumerate(paths):
        if progress is not None:
            progress.write(f"[{i + 1}/{len(paths)}] {corpus_name(p)} ...")
            progress.flush()
        t1 = time.perf_counter()
        corpora.append(bench_corpus(p, limit=limit, peers=peers, features=feats, config=config,
                                    trace_memory=trace_memory, samples=samples))
        if progress is not None:
            progress.write(f" {time.perf_counter() - t1:.1f}s\n")
            progress.flush()
    peers = [ALIASES.get(p, p) for p in peers]
    present: list[str] = [p for p in PEERS if p in peers]
    gm = {p: geomean([c.peers[p].ratio for c in corpora]) for p in present}
    enc = {p: _median_us(samples.get(p + ":enc", [])) for p in present}
    dec = {p: _median_us(samples.get(p + ":dec", [])) for p in present}
    mem = {p: max(c.peers[p].memory_bytes for c in corpora) for p in present}
    fan = {p: (FANOUT_RECEIVERS if corpora[0].peers[p].stateful else 1) * enc[p] / 1000.0 for p in present}
    report = BenchReport(
        version=aura_wire.__version__,
        compiled=aura_wire.compiled,
        python=platform.python_version(),
        platform=platform.platform(),
        cpus=os.cpu_count() or 1,
        features=feats,
        limit=limit,
        settings={
            "split": "first half trains, second half measured in order as one connection",
            "zstd_level": ZSTD_LEVEL,
            "zstd_dict_size": ZSTD_DICT_SIZE,
            "brotli_quality": BROTLI_QUALITY,
            "fanout_receivers": FANOUT_RECEIVERS,
            "aura_config": dict(config or {}),
            "peers": {c.peers[p].peer: c.peers[p].label for c in corpora[:1] for p in present},
        },
        corpora=corpora,
        geomean=gm,
        encode_us_median=enc,
        decode_us_median=dec,
        memory_bytes=mem,
        fanout_ms=fan,
        targets=[],
        seconds=time.perf_counter() - t0,
    )
    report.targets = check_targets(report)
    return report


def measure_compiled_vs_pure(paths: Sequence[str | os.PathLike[str]], *, limit: int = 100,
                             features: dict[str, bool] | None = None,
                             timeout: float = 1800.0) -> dict[str, Any]:
    """Median encode/decode time of the aura peers, compiled and pure, on identical work.

    Runs ``aura-wire bench`` twice in subprocesses on the first ``limit``
    messages of each corpus, once as installed and once with
    ``AURA_WIRE_PURE=1`` (the pure-Python sources of the same package), and
    returns both builds' figures and the speed-up.  Raises
    :class:`BenchError` when the installed package is not compiled (there
    is then nothing to compare).
    """
    if not aura_wire.compiled:
        raise BenchError("the compiled build is not in use (install with pip install .); nothing to compare")
    feats = available_features() if features is None else features
    peers = "aura-context,aura-stateless"
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for build, pure in (("compiled", "0"), ("pure", "1")):
            out = os.path.join(tmp, build + ".json")
            cmd = [sys.executable, "-m", "aura_wire.cli", "bench", *[os.path.abspath(p) for p in paths], "--limit",
                   str(limit), "--peers", peers, "--no-trace", "--json", out]
            if not feats["brio"]:
                cmd.append("--no-brio")
            if not feats["templates"]:
                cmd.append("--no-templates")
            # Run this very package (not whatever the working directory would shadow it with).
            pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(aura_wire.__file__ or "")))
            env = dict(os.environ, AURA_WIRE_PURE=pure, PYTHONPATH=pkg_parent)
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp)
            if proc.returncode != 0:
                raise BenchError(f"the {build} run failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
            with open(out, encoding="utf-8") as f:
                runs[build] = json.load(f)
    if runs["pure"]["compiled"] or not runs["compiled"]["compiled"]:
        raise BenchError("AURA_WIRE_PURE did not switch builds as expected")
    result: dict[str, Any] = {"limit": limit, "peers": {}}
    for p in peers.split(","):
        c_enc, p_enc = runs["compiled"]["encode_us_median"][p], runs["pure"]["encode_us_median"][p]
        c_dec, p_dec = runs["compiled"]["decode_us_median"][p], runs["pure"]["decode_us_median"][p]
        result["peers"][p] = {
            "compiled_encode_us": c_enc, "pure_encode_us": p_enc,
            "encode_speedup": p_enc / c_enc if c_enc else 0.0,
            "compiled_decode_us": c_dec, "pure_decode_us": p_dec,
            "decode_speedup": p_dec / c_dec if c_dec else 0.0,
            "same_wire_bytes": [c["peers"][p]["wire_bytes"] for c in runs["compiled"]["corpora"]]
            == [c["peers"][p]["wire_bytes"] for c in runs["pure"]["corpora"]],
        }
    return result


def _median_us(ns: Sequence[int]) -> float:
    return statistics.median(ns) / 1000.0 if ns else 0.0


def check_targets(report: BenchReport) -> list[TargetResult]:
    """The design thresholds (docs/benchmarks.md), each as PASS/FAIL with the measured value.

    Ratio thresholds compare against ``deflate-w15`` (window 15, the larger
    and better-compressing of the two deflate settings).
    """
    out: list[TargetResult] = []
    gm = report.geomean
    if "aura-context" in gm and "deflate-w15" in gm and gm["deflate-w15"] > 0:
        v = gm["aura-context"] / gm["deflate-w15"]
        out.append(TargetResult(
            "context geomean ratio >= 1.5x permessage-deflate (w15)", v >= TARGET_CONTEXT_VS_DEFLATE, v,
            TARGET_CONTEXT_VS_DEFLATE, f"{gm['aura-context']:.2f} vs {gm['deflate-w15']:.2f}"))
        worst_name, worst = "", math.inf
        for c in report.corpora:
            r = c.peers["aura-context"].ratio / c.peers["deflate-w15"].ratio
            if r < worst:
                worst_name, worst = c.corpus, r
        out.append(TargetResult(
            "context ratio >= 1.0x permessage-deflate (w15) on every corpus",
            worst >= TARGET_CONTEXT_PER_CORPUS, worst, TARGET_CONTEXT_PER_CORPUS, f"worst: {worst_name}"))
    if "aura-stateless" in gm and "zstd-dict" in gm and gm["zstd-dict"] > 0:
        v = gm["aura-stateless"] / gm["zstd-dict"]
        out.append(TargetResult(
            "stateless geomean ratio >= 1.25x zstd + 32 KiB dictionary", v >= TARGET_STATELESS_VS_ZSTD_DICT, v,
            TARGET_STATELESS_VS_ZSTD_DICT, f"{gm['aura-stateless']:.2f} vs {gm['zstd-dict']:.2f}"))
    if "aura-context" in report.memory_bytes:
        m = report.memory_bytes["aura-context"]
        worst_c = max(report.corpora, key=lambda c: c.peers["aura-context"].memory_bytes)
        out.append(TargetResult(
            "context memory per connection <= 32 KiB", m <= TARGET_MEMORY_BYTES, float(m),
            float(TARGET_MEMORY_BYTES), f"max over corpora ({worst_c.corpus}), encoder+decoder memory_bytes()"))
    enc = report.encode_us_median
    if "aura-context" in enc and "deflate-w15" in enc:
        a, d = enc["aura-context"], enc["deflate-w15"]
        slower = [c.corpus for c in report.corpora
                  if c.peers["aura-context"].encode_us_median > c.peers["deflate-w15"].encode_us_median]
        detail = f"{a:.1f} vs {d:.1f} us, all messages pooled" + (
            "" if report.compiled else "; PURE build (the target is for the compiled build)")
        if slower:
            detail += f"; slower on {', '.join(slower)}"
        out.append(TargetResult("context median encode time <= permessage-deflate (w15)", a <= d, a, d,
                                detail))
    return out


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


def _kib(n: int) -> str:
    if n == 0:
        return "0"
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB"


def format_report(report: BenchReport) -> str:
    """The human-readable tables and the PASS/FAIL lines."""
    present = list(report.geomean)
    lines: list[str] = []
    feats = ", ".join(f"{k} {'on' if v else 'off (module absent)'}" for k, v in report.features.items())
    lines.append(f"aura_wire {report.version} bench: {'compiled (mypyc)' if report.compiled else 'pure Python'}; "
                 f"{feats}; Python {report.python}; {report.cpus} CPUs; "
                 f"limit {report.limit if report.limit else 'none'}; {report.seconds:.0f} s")
    lines.append("ratio = original bytes / wire bytes (payload), dictionaries trained on the first half, "
                 "second half measured as one connection")
    lines.append("")
    w = max([len("corpus")] + [len(c.corpus) for c in report.corpora] + [len("geomean")])
    head = f"{'corpus':<{w}} {'msgs':>6} " + " ".join(f"{SHORT[p]:>8}" for p in present)
    lines.append(head)
    lines.append("-" * len(head))
    for c in report.corpora:
        cells = " ".join(f"{c.peers[p].ratio:>8.2f}" for p in present)
        lines.append(f"{c.corpus:<{w}} {c.measured_messages:>6} {cells}")
    lines.append("-" * len(head))
    lines.append(f"{'geomean':<{w}} {'':>6} " + " ".join(f"{report.geomean[p]:>8.2f}" for p in present))
    lines.append("")
    head2 = (f"{'peer':<19} {'geomean':>8} {'enc us':>8} {'dec us':>8} {'mem/conn':>10} {'traced':>10} "
             f"{'fan-out 1000':>13}")
    lines.append(head2 + "   (enc/dec: median per message, all corpora pooled)")
    lines.append("-" * len(head2))
    for p in present:
        traced = [c.peers[p].traced_memory_bytes for c in report.corpora]
        tvals = [t for t in traced if t is not None]
        tcell = _kib(max(tvals)) if tvals else "-"
        lines.append(f"{p:<19} {report.geomean[p]:>8.2f} {report.encode_us_median[p]:>8.1f} "
                     f"{report.decode_us_median[p]:>8.1f} {_kib(report.memory_bytes[p]):>10} {tcell:>10} "
                     f"{report.fanout_ms[p]:>10.2f} ms")
    lines.append("")
    lines.append("mem/conn: per-connection encoder+decoder state (max over corpora); aura: memory_bytes(); deflate: "
                 "zlib.h formula; zstd-stream: libzstd memory_size(); stateless peers: 0.")
    lines.append("traced: tracemalloc on a fresh connection after "
                 f"{TRACEMALLOC_MESSAGES} messages (zlib allocates via PyMem_RawMalloc; libzstd is not traced).")
    lines.append(f"fan-out: one message to {FANOUT_RECEIVERS} receivers = median encode x "
                 f"{FANOUT_RECEIVERS} for per-connection codecs, x 1 for stateless ones (derived).")
    aura = [p for p in ("aura-context", "aura-stateless") if p in present]
    for p in aura:
        mix: dict[str, int] = {}
        hits = 0.0
        for c in report.corpora:
            for k, v in c.peers[p].method_counts.items():
                mix[k] = mix.get(k, 0) + v
            hits += (c.peers[p].template_hit_rate or 0.0) * c.measured_messages
        total = sum(mix.values()) or 1
        mixs = ", ".join(f"{k} {100.0 * v / total:.1f}%" for k, v in sorted(mix.items(), key=lambda kv: -kv[1]))
        n = sum(c.measured_messages for c in report.corpora) or 1
        lines.append(f"{p} method mix: {mixs}; template hit rate {100.0 * hits / n:.1f}%")
    cvp = report.compiled_vs_pure
    if cvp:
        lines.append("")
        lines.append(f"compiled vs pure Python (same package, AURA_WIRE_PURE=1; first {cvp['limit']} messages of "
                     "each corpus; median us per message):")
        for p, v in cvp["peers"].items():
            lines.append(f"  {p:<15} encode {v['compiled_encode_us']:8.1f} vs {v['pure_encode_us']:9.1f} "
                         f"({v['encode_speedup']:.0f}x)   decode {v['compiled_decode_us']:7.1f} vs "
                         f"{v['pure_decode_us']:8.1f} ({v['decode_speedup']:.0f}x)   identical frames: "
                         f"{'yes' if v['same_wire_bytes'] else 'NO'}")
    if report.targets:
        lines.append("")
        lines.append("thresholds (docs/benchmarks.md):")
        for t in report.targets:
            lines.append(f"  {'PASS' if t.passed else 'FAIL'}  {t.name}: {t.value:.2f} "
                         f"(threshold {t.threshold:.2f}; {t.detail})")
    return "\n".join(lines)


def format_markdown(report: BenchReport) -> str:
    """The ratio table, the performance table and the targets as Markdown (for docs and READMEs)."""
    present = list(report.geomean)
    out: list[str] = []
    out.append("| corpus | messages | " + " | ".join(present) + " |")
    out.append("|---|---:|" + "---:|" * len(present))
    for c in report.corpora:
        best = max(c.peers[p].ratio for p in present)
        cells = [(f"**{c.peers[p].ratio:.2f}**" if c.peers[p].ratio == best else f"{c.peers[p].ratio:.2f}")
                 for p in present]
        out.append(f"| {c.corpus} | {c.measured_messages:,} | " + " | ".join(cells) + " |")
    out.append("| **geomean** | | " + " | ".join(f"**{report.geomean[p]:.2f}**" for p in present) + " |")
    out.append("")
    out.append("| peer | geomean ratio | encode µs (median) | decode µs (median) | memory / connection | "
               "traced (tracemalloc) | one message to 1000 receivers |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for p in present:
        tvals = [c.peers[p].traced_memory_bytes for c in report.corpora
                 if c.peers[p].traced_memory_bytes is not None]
        traced = _kib(max(t for t in tvals if t is not None)) if tvals else "-"
        out.append(f"| {p} | {report.geomean[p]:.2f} | {report.encode_us_median[p]:.1f} | "
                   f"{report.decode_us_median[p]:.1f} | {_kib(report.memory_bytes[p])} | {traced} | "
                   f"{report.fanout_ms[p]:.2f} ms |")
    if report.targets:
        out.append("")
        for t in report.targets:
            out.append(f"* **{'PASS' if t.passed else 'FAIL'}** {t.name}: {t.value:.2f} "
                       f"(threshold {t.threshold:.2f}; {t.detail})")
    return "\n".join(out) + "\n"


def write_json(report: BenchReport, path: str | os.PathLike[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report.to_json(), f, indent=2, sort_keys=False)
        f.write("\n")


def plot_report(report: BenchReport, path: str | os.PathLike[str]) -> None:
    """Write a chart: ratio per corpus, one bar per peer, log scale.

    Needs matplotlib (``pip install 'aura_wire[plot]'``).
    """
    if importlib.util.find_spec("matplotlib") is None:
        raise BenchError("--plot needs matplotlib: pip install 'aura_wire[plot]'")
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")

    present = list(report.geomean)
    groups = [c.corpus for c in report.corpora] + ["geomean"]
    n = len(present)
    width = 0.8 / n
    colors = {
        "aura-context": "#1b7837", "aura-stateless": "#7fbf7b", "deflate-w15": "#2166ac",
        "deflate-w12": "#92c5de", "zstd": "#b2abd2", "zstd-dict": "#8073ac", "zstd-stream": "#542788",
        "brotli": "#e08214",
    }
    fig, ax = plt.subplots(figsize=(max(10.0, 1.3 * len(groups)), 5.5), dpi=110)
    for j, p in enumerate(present):
        vals = [c.peers[p].ratio for c in report.corpora] + [report.geomean[p]]
        xs = [i + (j - (n - 1) / 2) * width for i in range(len(groups))]
        ax.bar(xs, vals, width=width, label=p, color=colors.get(p, None), edgecolor="white", linewidth=0.4)
    ax.set_yscale("log")
    ax.set_xticks(list(range(len(groups))))
    ax.set_xticklabels(groups, rotation=25, ha="right", fontsize=9)
    ax.set_ylabel("compression ratio (original / wire), log scale")
    mode = "compiled" if report.compiled else "pure Python"
    ax.set_title(f"aura_wire {report.version} ({mode}) vs permessage-deflate, zstd, brotli: "
                 "second half of each corpus as one connection", fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.set_axisbelow(True)
    ax.axvline(len(groups) - 1.5, color="#999999", linewidth=0.8)
    ax.legend(ncol=4, fontsize=8, loc="upper left", frameon=False)
    ymin = min([c.peers[p].ratio for c in report.corpora for p in present] + [1.0])
    ymax = max(c.peers[p].ratio for c in report.corpora for p in present)
    ax.set_ylim(max(0.5, ymin * 0.8), ymax * 2.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

