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
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import IO, Any, Callable, Final, Sequence

from websockets.extensions.permessage_deflate import (
    ServerPerMessageDeflateFactory,
)

import aura_wire
from aura_wire.codec.dictionary import Dictionary
from aura_wire.tools.bench_report import format_markdown, format_report, plot_report, write_json
from aura_wire.tools.bench_results import BenchReport, CorpusResult, PeerResult, TargetResult, geomean
from aura_wire.tools.corpus import BenchError, corpus_name, load_messages
from aura_wire.tools.peers import (
    ALIASES,
    BROTLI_QUALITY,
    FANOUT_RECEIVERS,
    PEERS,
    TRACEMALLOC_MESSAGES,
    ZSTD_DICT_SIZE,
    ZSTD_LEVEL,
    _AuraPeer,
    _BrotliPeer,
    _DeflatePeer,
    _Peer,
    _train_zstd_dict,
    _ZstdPeer,
    _ZstdStreamPeer,
)
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
    "write_json",
]


# Design thresholds (docs/benchmarks.md, "The thresholds").
TARGET_CONTEXT_VS_DEFLATE: Final = 1.5
TARGET_CONTEXT_PER_CORPUS: Final = 1.0
TARGET_STATELESS_VS_ZSTD_DICT: Final = 1.25
TARGET_MEMORY_BYTES: Final = 32 * 1024


def available_features() -> dict[str, bool]:
    """The codec methods the benchmark runs by default: all of them (``--no-brio`` and
    ``--no-templates`` turn one off)."""
    return {
        "brio": True,
        "templates": True,
    }


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
            cmd = [sys.executable, "-m", "aura_wire.tools.cli", "bench", *[os.path.abspath(p) for p in paths], "--limit",
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
