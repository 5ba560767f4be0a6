"""CompressionMetrics arithmetic and the LatencySketch's accuracy (aura_wire/metrics.py)."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_wire.metrics import CompressionMetrics, LatencySketch


def exact_quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[int(q * (len(s) - 1))]


def test_counters_and_derived_values() -> None:
    m = CompressionMetrics()
    m.record("zstd", 1000, 250, 1e-4, False)
    m.record("template", 300, 30, 2e-5, True)
    m.record("raw", 5, 6, 1e-6, False)
    assert m.messages == 3
    assert m.original_bytes == 1305
    assert m.wire_bytes == 286
    assert m.ratio == pytest.approx(1305 / 286)  # original / wire, never inverted
    assert m.ratio > 1
    assert m.bytes_saved == 1305 - 286
    assert m.savings == pytest.approx(1 - 286 / 1305)
    assert m.template_hits == 1
    assert m.template_hit_rate == pytest.approx(1 / 3)
    assert m.expansions == 1  # the RAW frame is one byte longer than its message
    assert m.expansion_rate == pytest.approx(1 / 3)
    assert m.method_counts == {"zstd": 1, "template": 1, "raw": 1}
    assert m.method_ratio("zstd") == pytest.approx(4.0)
    assert m.method_ratio("template") == pytest.approx(10.0)
    assert m.method_ratio("brio") == 0.0
    assert m.encode_latency.count == 3 and m.decode_latency.count == 0
    assert m.encode_latency.mean == pytest.approx((1e-4 + 2e-5 + 1e-6) / 3)


def test_equal_sizes_are_not_expansions_and_errors_count_separately() -> None:
    m = CompressionMetrics("decode")
    m.record("raw", 10, 10, 1e-6, False)
    m.record_error()
    m.record_error()
    assert m.expansions == 0
    assert m.errors == 2
    assert m.messages == 1
    assert m.error_rate == pytest.approx(2 / 3)
    assert m.decode_latency.count == 1 and m.encode_latency.count == 0


def test_empty_metrics_have_zero_rates() -> None:
    m = CompressionMetrics()
    assert (m.ratio, m.savings, m.template_hit_rate, m.expansion_rate, m.error_rate) == (0, 0, 0, 0, 0)
    snap = m.snapshot()
    assert snap["latency"]["encode"]["p95"] == 0.0
    assert snap["methods"] == {}


def test_expanding_traffic_has_ratio_below_one_and_negative_savings() -> None:
    m = CompressionMetrics()
    m.record("raw", 100, 101, 1e-6, False)
    assert m.ratio < 1.0
    assert m.savings < 0
    assert m.bytes_saved == -1


def test_bad_role_is_refused() -> None:
    with pytest.raises(ValueError):
        CompressionMetrics("both")


def test_merge_equals_recording_everything_in_one() -> None:
    rng = random.Random(1)
    parts = [CompressionMetrics(rng.choice(["encode", "decode"])) for _ in range(4)]
    whole_enc = CompressionMetrics("encode")
    whole_dec = CompressionMetrics("decode")
    for _ in range(2000):
        p = rng.choice(parts)
        args = (rng.choice(["raw", "zstd", "brio"]), rng.randrange(1, 500), rng.randrange(1, 500),
                rng.lognormvariate(-10, 1), rng.random() < 0.3)
        p.record(*args)
        (whole_enc if p.role == "encode" else whole_dec).record(*args)
    parts[0].record_error()
    agg = CompressionMetrics.aggregate(parts)
    whole = whole_enc.copy().merge(whole_dec)
    whole.record_error()
    a, b = agg.snapshot(), whole.snapshot()
    for k in ("messages", "original_bytes", "wire_bytes", "template_hits", "expansions", "errors", "methods"):
        assert a[k] == b[k], k
    for role in ("encode", "decode"):
        for q in ("p50", "p95", "p99", "max", "count"):
            assert a["latency"][role][q] == b["latency"][role][q]
        assert a["latency"][role]["avg"] == pytest.approx(b["latency"][role]["avg"])


def test_snapshot_is_json_ready_and_complete() -> None:
    import json

    m = CompressionMetrics()
    for i in range(100):
        m.record("brio", 200, 50, (i + 1) * 1e-5, i % 4 == 0)
    s = json.loads(json.dumps(m.snapshot(), allow_nan=False))
    assert s["messages"] == 100
    assert s["ratio"] == pytest.approx(4.0)
    assert s["savings"] == pytest.approx(0.75)
    assert s["template_hit_rate"] == pytest.approx(0.25)
    assert s["methods"]["brio"] == {"count": 100, "share": 1.0, "original_bytes": 20000, "wire_bytes": 5000,
                                     "ratio": 4.0}
    lat = s["latency"]["encode"]
    assert lat["p50"] == pytest.approx(5e-4, rel=0.02)
    assert lat["p95"] == pytest.approx(9.5e-4, rel=0.02)
    assert lat["p99"] == pytest.approx(9.9e-4, rel=0.02)
    assert lat["max"] == pytest.approx(1e-3)


@pytest.mark.parametrize("dist", ["lognormal", "uniform", "bimodal"])
def test_sketch_quantiles_within_relative_error(dist: str) -> None:
    rng = random.Random(7)
    if dist == "lognormal":
        vals = [rng.lognormvariate(math.log(5e-5), 1.5) for _ in range(20000)]
    elif dist == "uniform":
        vals = [rng.uniform(1e-5, 3e-3) for _ in range(20000)]
    else:
        vals = [rng.gauss(2e-5, 2e-6) if rng.random() < 0.9 else rng.gauss(5e-3, 5e-4) for _ in range(20000)]
    sk = LatencySketch(0.02)
    for v in vals:
        sk.add(v)
    for q in (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
        x = exact_quantile(vals, q)
        assert abs(sk.quantile(q) - x) <= 0.02 * x + 1e-15, (q, sk.quantile(q), x)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1e-6, max_value=50.0), min_size=1, max_size=300),
       st.sampled_from([0.01, 0.02, 0.05]))
def test_sketch_relative_error_property(values: list[float], alpha: float) -> None:
    sk = LatencySketch(alpha)
    for v in values:
        sk.add(v)
    for q in (0.0, 0.5, 0.95, 0.99, 1.0):
        x = exact_quantile(values, q)
        assert abs(sk.quantile(q) - x) <= alpha * x * (1 + 1e-9)


def test_sketch_memory_is_bounded_by_the_range_seen() -> None:
    sk = LatencySketch()
    assert sk.memory_bytes() == 0
    sk.add(1e-4)
    assert sk.memory_bytes() == 32 * 8  # a small window around the first value
    for i in range(50000):
        sk.add((i % 997 + 1) * 1e-6)  # 1 us .. 1 ms: 170 buckets of the 464
    size = sk.memory_bytes()
    assert 170 * 8 <= size <= 2 * 170 * 8
    for i in range(50000):
        sk.add((i % 997 + 1) * 1e-6)
    assert sk.memory_bytes() == size  # the same range: nothing more
    sk.add(99.0)
    sk.add(1e-9)
    assert sk.memory_bytes() == sk.nbuckets * 8 < 4096  # never more than the whole sketch
    assert sk.count == 100003


def test_sketch_values_just_inside_the_range_keep_the_relative_error() -> None:
    """A value just below max_seconds (or above min_seconds) is not reported as the max (min) seen."""
    sk = LatencySketch()
    for v in (sk.max_seconds * 0.9975, sk.max_seconds * 1.02):
        sk.add(v)
    assert abs(sk.quantile(0.0) - sk.max_seconds * 0.9975) <= 0.02 * sk.max_seconds * 0.9975
    sk = LatencySketch()
    for v in (sk.min_seconds * 0.5, sk.min_seconds * 1.0025):
        sk.add(v)
    assert abs(sk.quantile(1.0) - sk.min_seconds * 1.0025) <= 0.02 * sk.min_seconds * 1.0025


@given(st.lists(st.floats(min_value=1e-7, max_value=200.0), min_size=1, max_size=200),
       st.lists(st.floats(min_value=1e-7, max_value=200.0), max_size=200))
def test_sketch_window_keeps_every_count(first: list[float], second: list[float]) -> None:
    """Whatever order the bucket window grows in, no count is lost: merged and sequential sketches agree."""
    a, b, both = LatencySketch(), LatencySketch(), LatencySketch()
    for v in first:
        a.add(v)
        both.add(v)
    for v in second:
        b.add(v)
        both.add(v)
    merged = a.copy()
    merged.merge(b)
    values = first + second
    assert sum(both.bucket_counts()) == len(values)
    assert merged.bucket_counts() == both.bucket_counts()
    for q in (0.0, 0.5, 0.95, 1.0):
        x = exact_quantile(values, q)
        if both.min_seconds < x < both.max_seconds:
            assert abs(both.quantile(q) - x) <= 0.02 * x * (1 + 1e-9)
    for q in (0.0, 0.5, 0.99, 1.0):
        assert merged.quantile(q) == both.quantile(q)


def test_sketch_clamps_out_of_range_values() -> None:
    sk = LatencySketch(0.02, 1e-6, 1.0)
    sk.add(0.0)
    sk.add(-1.0)
    sk.add(1e-9)
    sk.add(500.0)
    assert sk.count == 4
    assert sk.quantile(1.0) == 500.0  # the exact max clamps the end bucket
    assert sk.quantile(0.0) == -1.0
    with pytest.raises(ValueError):
        sk.quantile(1.5)


def test_record_never_raises_and_keeps_the_snapshot_finite() -> None:
    import json

    m = CompressionMetrics()
    for v in (float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e300):
        m.record("raw", 1, 2, v, False)
    assert m.encode_latency.count == 6
    json.dumps(m.snapshot(), allow_nan=False)


def test_sketch_merge_requires_same_parameters() -> None:
    with pytest.raises(ValueError):
        LatencySketch(0.02).merge(LatencySketch(0.01))


def test_interval_quantiles_from_bucket_differences() -> None:
    sk = LatencySketch()
    for _ in range(1000):
        sk.add(1e-5)
    before = sk.bucket_counts()
    for _ in range(100):
        sk.add(1e-3)
    p50, p99 = sk.quantiles_since(before, (0.5, 0.99))
    assert p50 == pytest.approx(1e-3, rel=0.02)
    assert p99 == pytest.approx(1e-3, rel=0.02)
    assert sk.quantiles_since(sk.bucket_counts(), (0.5,)) == [0.0]


def test_encoder_and_decoder_feed_their_metrics() -> None:
    from aura_wire import Decoder, Encoder

    opts: dict[str, Any] = {"templates": False, "brio": False}
    enc = Encoder(None, **opts)
    dec = Decoder(None, **opts)
    msgs = ["hello " * 50, "x", '{"a": 1, "b": [1, 2, 3]}' * 30]
    for m in msgs:
        assert dec.decode(enc.encode(m)) == m
    assert enc.metrics.messages == dec.metrics.messages == 3
    assert enc.metrics.original_bytes == sum(len(m.encode()) for m in msgs)
    assert enc.metrics.wire_bytes == dec.metrics.wire_bytes
    assert enc.metrics.encode_latency.count == 3
    assert enc.metrics.ratio > 1.0
