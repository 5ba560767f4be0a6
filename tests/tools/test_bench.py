"""aura_wire.tools.bench: corpus formats, the peers are the real thing, every output is checked, targets, report."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import pytest
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

import aura_wire
from aura_wire.tools import bench, peers
from aura_wire.tools.bench_results import geomean
from aura_wire.tools.bench import (
    PEERS,
    BenchError,
    BenchReport,
    CorpusResult,
    PeerResult,
    available_features,
    bench_corpus,
    check_targets,
    format_report,
    run_bench,
)
from aura_wire.errors import CorpusError
from aura_wire.files import load_messages

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "aura_wire" / "data" / "sample.jsonl"
CORPORA = REPO.parent / "shared" / "corpora"
OFF = {"brio": False, "templates": False}


# -- corpus formats ------------------------------------------------------------------


def test_load_messages_three_formats(tmp_path: Path) -> None:
    msgs = ["a \"quoted\" line", "second\tline", "ünïcode ✓"]
    m = tmp_path / "m.jsonl"
    m.write_text("".join(json.dumps({"m": x}) + "\n" for x in msgs), encoding="utf-8")
    a = tmp_path / "audit.jsonl"
    a.write_text("".join(json.dumps({"ts": 1, "plaintext": x}) + "\n" for x in msgs), encoding="utf-8")
    t = tmp_path / "plain.txt"
    t.write_text("\n".join(msgs) + "\r\n\n", encoding="utf-8")
    assert load_messages(m) == load_messages(a) == load_messages(t) == msgs
    assert load_messages(m, limit=2) == msgs[:2]
    j = tmp_path / "json-lines-without-m.jsonl"
    j.write_text('{"x": 1}\n{"x": 2}\n', encoding="utf-8")
    assert load_messages(j) == ['{"x": 1}', '{"x": 2}']  # JSON messages themselves, one a line


def test_load_messages_rejects_broken_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"m": "ok"}\n{"m": 3}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=":2:"):
        load_messages(p)


# -- the peers are what they claim ----------------------------------------------------


def test_deflate_peers_negotiate_the_documented_settings() -> None:
    uv = peers._DeflatePeer("u", "u", ServerPerMessageDeflateFactory())
    assert (uv.window_bits, uv.mem_level, uv.context_takeover) == (15, 8, True)
    ws = peers._DeflatePeer("w", "w", ServerPerMessageDeflateFactory(
        server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}))
    assert (ws.window_bits, ws.mem_level, ws.context_takeover) == (12, 5, True)
    mem, how = uv.memory()
    assert mem == (1 << 17) + (1 << 17) + (1 << 15) + 7 * 1024 and "zlib" in how


def test_deflate_peer_output_is_rfc7692_with_context_takeover() -> None:
    """Same bytes as a raw zlib stream with sync flush minus the 00 00 ff ff tail (RFC 7692 §7.2.1)."""
    peer = peers._DeflatePeer("u", "u", ServerPerMessageDeflateFactory())
    z = zlib.compressobj(wbits=-15)
    msgs = [b'{"type":"ticker","price":"1.25"}', b'{"type":"ticker","price":"1.26"}']
    for m in msgs:
        expect = z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH)
        assert expect.endswith(b"\x00\x00\xff\xff")
        w = peer.encode(m.decode(), m)
        assert w == expect[:-4]
        assert peer.decode(w) == m
    assert len(peer.encode(msgs[1].decode(), msgs[1])) < len(msgs[1]) // 2  # the history is used


def test_a_wrong_round_trip_fails_the_bench() -> None:
    class Lossy(peers._BrotliPeer):
        def decode(self, wire: bytes) -> bytes:
            return super().decode(wire)[:-1]

    with pytest.raises(BenchError, match="did not reproduce message 0"):
        bench._run_peer(Lossy(), ["hello"], [b"hello"], "t", {})


# -- running -------------------------------------------------------------------------------


def test_bench_corpus_on_the_bundled_sample() -> None:
    res = bench_corpus(SAMPLE, limit=80, features=OFF, trace_memory=True)
    assert (res.train_messages, res.measured_messages) == (40, 40)
    assert list(res.peers) == list(PEERS)
    for p in res.peers.values():
        assert p.original_bytes == res.original_bytes > 0
        assert 0 < p.wire_bytes and p.ratio == pytest.approx(p.original_bytes / p.wire_bytes)
        assert p.encode_us_median > 0 and p.decode_us_median > 0
        assert p.fanout_encodes == (peers.FANOUT_RECEIVERS if p.stateful else 1)
    assert not res.peers["aura-stateless"].stateful and res.peers["aura-context"].stateful
    assert sum(res.peers["aura-context"].method_counts.values()) == 40
    assert res.peers["deflate-w15"].traced_memory_bytes is not None
    assert res.peers["deflate-w15"].traced_memory_bytes > 100_000  # w15/memLevel 8 really allocates
    assert res.peers["zstd"].traced_memory_bytes is None  # stateless: not traced


def test_run_bench_with_installed_features_and_report(tmp_path: Path) -> None:
    feats = available_features()
    # "deflate-uvicorn", the earlier id of the window-15 peer, is still accepted
    rep = run_bench([SAMPLE], limit=40, peers=("aura-context", "aura-stateless", "deflate-uvicorn", "zstd-dict"),
                    trace_memory=False)
    assert rep.features == feats and rep.compiled == aura_wire.compiled
    assert set(rep.geomean) == {"aura-context", "aura-stateless", "deflate-w15", "zstd-dict"}
    names = [t.name for t in rep.targets]
    assert len(names) == 5 and any("1.5x" in n for n in names) and any("32 KiB" in n for n in names)
    text = format_report(rep)
    assert "sample" in text and "geomean" in text
    assert sum(line.strip().startswith(("PASS", "FAIL")) for line in text.splitlines()) == 5
    out = tmp_path / "r.json"
    bench.write_json(rep, out)
    data = json.loads(out.read_text())
    assert data["corpora"][0]["peers"]["aura-context"]["wire_bytes"] == rep.corpora[0].peers["aura-context"].wire_bytes


def test_unknown_peer_and_tiny_corpus(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="unknown peer"):
        bench_corpus(SAMPLE, limit=10, peers=("gzip",), features=OFF)
    p = tmp_path / "one.txt"
    p.write_text("only\n")
    with pytest.raises(BenchError, match="at least 2"):
        bench_corpus(p, features=OFF)


# -- targets ------------------------------------------------------------------------------


def _peer(name: str, ratio: float, enc: float = 1.0, mem: int = 0) -> PeerResult:
    return PeerResult(peer=name, label=name, original_bytes=1000, wire_bytes=int(1000 / ratio), ratio=ratio,
                      encode_us_median=enc, decode_us_median=1.0, encode_us_p99=enc, memory_bytes=mem,
                      memory_method="", traced_memory_bytes=None, stateful=True, fanout_encodes=1, fanout_ms=0.0)


def _report(rows: list[tuple[float, float, float, float]], mem: int, enc: tuple[float, float]) -> BenchReport:
    corpora = []
    for i, (ctx, sl, pmd, zd) in enumerate(rows):
        peers = {"aura-context": _peer("aura-context", ctx, enc[0], mem), "aura-stateless": _peer("aura-stateless", sl),
                 "deflate-w15": _peer("deflate-w15", pmd, enc[1]), "zstd-dict": _peer("zstd-dict", zd)}
        corpora.append(CorpusResult(f"c{i}", "", 2, 1, 1, 1000, 0.0, 0, "trained", peers))
    names = ["aura-context", "aura-stateless", "deflate-w15", "zstd-dict"]
    gm = {p: geomean([c.peers[p].ratio for c in corpora]) for p in names}
    return BenchReport("0", True, "3", "x", 2, OFF, None, {}, corpora, gm,
                       {"aura-context": enc[0], "aura-stateless": 1.0, "deflate-w15": enc[1], "zstd-dict": 1.0},
                       {p: 1.0 for p in names}, {"aura-context": mem, "aura-stateless": 0, "deflate-w15": 0,
                                                 "zstd-dict": 0}, {p: 0.0 for p in names}, [], 0.0)


def test_targets_pass_and_fail_at_their_thresholds() -> None:
    ok = check_targets(_report([(16.0, 5.1, 8.0, 4.0), (9.0, 5.1, 6.0, 4.0)], 32 * 1024, (5.0, 5.0)))
    assert [t.passed for t in ok] == [True, True, True, True, True]
    bad = check_targets(_report([(16.0, 4.9, 8.0, 4.0), (5.9, 4.9, 6.0, 4.0)], 32 * 1024 + 1, (5.1, 5.0)))
    by = {t.name.split(" ")[0] + t.name.split(" ")[1]: t for t in bad}
    assert [t.passed for t in bad] == [False, False, False, False, False]
    assert by["contextratio"].detail == "worst: c1"
    assert math.isclose(bad[0].value, math.sqrt(16 * 5.9) / math.sqrt(48))


def test_geomean() -> None:
    assert geomean([2.0, 8.0]) == pytest.approx(4.0)
    assert geomean([]) == 0.0


def test_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    rep = run_bench([SAMPLE], limit=20, features=OFF, trace_memory=False)
    out = tmp_path / "b.png"
    bench.plot_report(rep, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.corpora
def test_real_corpora_slices() -> None:
    paths = [CORPORA / "logs_hdfs.jsonl", CORPORA / "market_binance.jsonl"]
    if not all(p.exists() for p in paths):
        pytest.skip(f"corpora folder {CORPORA} is absent (it sits next to the repository in CI)")
    rep = run_bench(paths, limit=60, features=OFF, trace_memory=False)
    assert [c.corpus for c in rep.corpora] == ["logs_hdfs", "market_binance"]
    for c in rep.corpora:
        assert c.peers["deflate-w15"].ratio > 1.5  # repetitive traffic compresses with context takeover
        assert c.peers["aura-context"].ratio > 1.0
