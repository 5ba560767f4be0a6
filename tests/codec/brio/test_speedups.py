"""BRIO's optional C module (aura_wire/codec/brio/_speedups.c) against the Python/mypyc path.

The two paths must write byte-identical frames, leave the same state behind
(models, history index, persistent links) and decode every payload, valid or
hostile, to the same message or the same AuraError (type, message, offset,
field).  The compiled test pass (AURA_WIRE_EXPECT_COMPILED=1) must run the C
path; the pure pass (AURA_WIRE_PURE=1) must run the Python one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from _corpora import load
from _speedups import check_expected_path, with_c_path

from aura_wire import Decoder, Encoder
from aura_wire.codec.brio import speedups
from aura_wire.codec.brio.decode import BrioDecoder
from aura_wire.codec.brio.encode import BrioEncoder
from aura_wire.codec.brio.model import BrioShared, check_value, trim_history
from aura_wire.errors import AuraError, ContextDesyncError
from aura_wire.training.brio import train_brio
from aura_wire.training.dictionary import train_dictionary

CORPORA = ["cdp_devtools_cnn", "llm_stream_vercel", "market_coinbase", "json_github_webhooks", "logs_hdfs"]


def test_the_build_runs_the_expected_path() -> None:
    check_expected_path(speedups)


@pytest.fixture
def both() -> Iterator[None]:
    yield from with_c_path(speedups, "BRIO")


def _outcome(dec: BrioDecoder, payload: bytes, max_size: int) -> tuple[object, ...]:
    try:
        data, check = dec.decode_unchecked(payload, max_size)
    except AuraError as e:
        return (type(e).__name__, str(e), e.offset, e.field)
    return ("ok", data, int(check), bytes(memoryview(dec.models)))


def _state(enc: BrioEncoder) -> tuple[bytes, ...]:
    return (bytes(memoryview(enc.models)), bytes(memoryview(enc.idx)), bytes(memoryview(enc.plink)), enc.hist)


def _run(shared: BrioShared | None, msgs: list[bytes], context: bool, c: bool, window: int = 8192
         ) -> tuple[list[bytes], list[tuple[bytes, ...]]]:
    """Encode, commit and decode ``msgs`` on one path: the frames and the state after each message."""
    speedups.use(c)
    enc = BrioEncoder(shared, context=context, window=window)
    dec = BrioDecoder(shared, context=context, window=window)
    enc.conn_hash = dec.conn_hash = 0x1234567
    frames = []
    states = []
    for i, m in enumerate(msgs):
        f = enc.encode(m)
        # in context mode, every third message goes "another method" (observed, not BRIO-coded)
        chosen = i % 3 != 2
        if context:
            enc.commit(m, chosen)
        if chosen:
            assert dec.decode(f, len(m)) == m
        else:
            dec.observe(m)
        frames.append(f)
        states.append(_state(enc) + (bytes(memoryview(dec.models)), bytes(dec.hist)))  # a copy: hist is kept in place
    return frames, states


@pytest.fixture(scope="module", params=CORPORA)
def corpus(request: pytest.FixtureRequest) -> tuple[BrioShared, list[bytes]]:
    msgs = [m.encode() for m in load(request.param, limit=1200)]
    content, model = train_brio(msgs[:400], content_size=16384)
    return BrioShared.from_sections(content, model), msgs[600:800]


@pytest.mark.corpora
@pytest.mark.parametrize("context", [True, False])
def test_frames_and_state_identical_on_corpora(both: None, corpus: tuple[BrioShared, list[bytes]],
                                               context: bool) -> None:
    shared, msgs = corpus
    py = _run(shared, msgs, context, c=False)
    cc = _run(shared, msgs, context, c=True)
    assert py[0] == cc[0]
    assert py[1] == cc[1]


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("window", [8192, 0, 40000])
def test_frames_identical_without_dictionary(both: None, context: bool, window: int) -> None:
    rnd = random.Random(5)
    msgs = [b"", b"z", bytes(range(256)), b"abc" * 200, "unicode: żółć 漢字 🙂".encode(),
            bytes(rnd.randrange(256) for _ in range(3000)),
            b"".join(b'{"seq":%d,"v":"%s"}' % (i, b"x" * (i % 17)) for i in range(600)),  # > LONG_MESSAGE
            b"A" * 70000 + b"tail"]  # longer than the window + the commit's index tail
    msgs += [b'{"type":"tick","seq":%d,"price":"%d.%02d"}' % (i, 100 + i % 7, i % 100) for i in range(80)]
    py = _run(None, msgs, context, c=False, window=window)
    cc = _run(None, msgs, context, c=True, window=window)
    assert py[0] == cc[0]
    assert py[1] == cc[1]


@pytest.mark.corpora
def test_whole_codec_frames_identical(both: None) -> None:
    msgs = load("llm_stream_vercel", limit=900)
    d = train_dictionary(msgs[:500], name="llm")
    out = []
    for c in (False, True):
        speedups.use(c)
        enc = Encoder(d, context=True)
        dec = Decoder(d, context=True)
        frames = [enc.encode(m) for m in msgs[500:900]]
        assert [dec.decode(f) for f in frames] == msgs[500:900]
        out.append(frames)
    assert out[0] == out[1]


def _hostile(payloads: list[bytes], rnd: random.Random) -> Iterator[bytes]:
    for p in payloads:
        for k in range(len(p) + 1):  # every truncation
            yield p[:k]
        yield p + b"\x00"
        yield p + b"\x01\x02\x03\x04\x05"
        for _ in range(30):
            q = bytearray(p)
            q[rnd.randrange(len(q))] ^= 1 << rnd.randrange(8)
            yield bytes(q)
            q = bytearray(p)
            q.insert(rnd.randrange(len(q) + 1), rnd.randrange(256))
            yield bytes(q)
    for n in range(1, 60):  # garbage, including the patterns that decode to long matches
        yield bytes(rnd.randrange(256) for _ in range(n))
        yield b"\xff" * n
        yield b"\x7f" + b"\xff" * n
        yield b"\x00" * n + b"\x01"


@pytest.mark.parametrize("context", [True, False])
def test_hostile_payloads_same_outcome(both: None, context: bool) -> None:
    rnd = random.Random(77)
    msgs = [b'{"type":"l2update","product_id":"BTC-EUR","changes":[["buy","%d.%02d","0.%04d"]]}'
            % (25000 + i * 13, i % 100, i * 37 % 10000) for i in range(40)]
    content, model = train_brio(msgs[:30], content_size=2048, min_distinct=4)
    shared = BrioShared.from_sections(content, model)
    speedups.use(False)
    enc = BrioEncoder(shared, context=context)
    payloads = []
    for m in msgs[30:] + [b"A" * 3000, bytes(range(256)) * 3]:
        payloads.append(enc.encode(m))
        enc.commit(m, True)

    def fresh() -> BrioDecoder:
        # each payload decodes from the same state: a context decoder adapts its models in place
        # and is unusable after an error (test_context_decoder_refuses_after_an_error)
        dec = BrioDecoder(shared, context=context)
        for m in msgs[:12]:  # some history, so matches may reach into it
            dec.observe(m)
        return dec

    seen = 0
    for q in _hostile(payloads, rnd):
        for max_size in (4096, 40):
            results = []
            for c in (False, True):
                speedups.use(c)
                results.append(_outcome(fresh(), q, max_size))
            assert results[0] == results[1], q.hex()
            seen += 1
    assert seen > 2000


@pytest.mark.parametrize("c", [False, True])
def test_context_decoder_refuses_after_an_error(c: bool) -> None:
    """Context BRIO decodes in place, so a failed payload leaves the models half-adapted: the decoder
    must refuse every later payload, even one that would decode, on both paths."""
    if c and not speedups.available():
        pytest.skip(f"BRIO speedups not in this build: {speedups.reason}")
    previous = speedups.current() is not None
    speedups.use(c)
    try:
        msgs = [b'{"seq":%d,"price":"%d.5"}' % (i, 100 + i) for i in range(6)]
        enc = BrioEncoder(None, context=True)
        good = []
        for m in msgs:
            good.append(enc.encode(m))
            enc.commit(m, True)
        dec = BrioDecoder(None, context=True)
        assert dec.decode(good[0], 100) == msgs[0]
        with pytest.raises(AuraError):
            dec.decode_unchecked(b"\x7f" + b"\xff" * 8, 100)
        for p in good[1:3]:
            with pytest.raises(ContextDesyncError):
                dec.decode_unchecked(p, 100)
        bad_check = bytearray(good[1])
        dec2 = BrioDecoder(None, context=True)
        assert dec2.decode(good[0], 100) == msgs[0]
        bad_check[-1] ^= 0x40
        with pytest.raises(AuraError):
            dec2.decode(bytes(bad_check), 100)
        with pytest.raises(ContextDesyncError):
            dec2.decode(good[1], 100)
        # stateless decoders keep no models between payloads: an error does not stop them
        sl = BrioDecoder(None, context=False)
        p = BrioEncoder(None, context=False).encode(msgs[0])
        with pytest.raises(AuraError):
            sl.decode(p[:-1] + b"\x00", 100)
        assert sl.decode(p, 100) == msgs[0]
    finally:
        speedups.use(previous)


def test_check_value_and_trace_unchanged(both: None) -> None:
    # the trace (aura-wire inspect) and the check value stay on the Python path; they must agree with
    # what the C path decodes
    speedups.use(True)
    enc = BrioEncoder(None, context=False)
    m = b"hello hello hello, world"
    p = enc.encode(m)
    dec = BrioDecoder(None, context=False)
    data, check = dec.decode_unchecked(p, 100)
    assert data == m and check == check_value(dec.conn_hash, m)
    rows = dec.trace(p, 100)
    assert rows[0][:2] == ("length", len(m)) and rows[-1][:2] == ("check", check)


def test_use_refuses_a_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speedups, "_module", None)
    monkeypatch.setattr(speedups, "_active", None)
    monkeypatch.setattr(speedups, "_render", None)  # use(False) turns the template render off too
    with pytest.raises(RuntimeError):
        speedups.use(True)
    assert speedups.use(False) is False


@pytest.mark.parametrize("window", [-1, 0, 1, 5, 8, 9, 16])
def test_append_history_is_trim_history(window: int) -> None:
    if not speedups.available():
        pytest.skip(f"BRIO speedups not in this build: {speedups.reason}")
    c = speedups.current() or speedups._module
    assert c is not None
    for hist in (b"", b"abc", b"0123456789"):
        for data in (b"", b"x", b"uvwxyz", b"ABCDEFGHIJKLMNOPQRST"):
            assert c.append_history(hist, data, window) == trim_history(hist, data, window)
