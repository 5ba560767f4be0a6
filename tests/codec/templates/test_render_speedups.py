"""The template render's C module (aura_wire/codec/templates/_render.c) against the Python/mypyc path.

The C render takes the common slot forms and returns None for the rest and for every malformed
payload, which the Python path then renders (and raises the error of).  So the two paths must give
the same message, slot values and mask, or the same AuraError (type, message, offset, field), on
every payload; and the C path must render most corpus payloads itself, or it buys nothing.
The compiled test pass must have the module; the pure pass runs none of this.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from _corpora import load

from aura_wire import Decoder, Encoder
from aura_wire.codec.brio import speedups
from aura_wire.codec.frame import METHOD_TEMPLATE, parse_header
from aura_wire.codec.templates import context, render
from aura_wire.codec.templates.context import REF_FUZZY, REF_MASK, REF_PLAIN
from aura_wire.codec.templates.forms import get_uv
from aura_wire.codec.templates.render import TemplateDecoder
from aura_wire.errors import AuraError
from aura_wire.training.dictionary import train_dictionary

CORPORA = ["market_coinbase", "market_binance", "logs_hdfs", "logs_openssh", "logs_android", "chat_ubuntu_irc",
           "cdp_devtools_cnn", "json_github_webhooks", "llm_stream_vercel"]


def test_the_module_was_built_for_these_bounds() -> None:
    if not speedups.render_available():
        pytest.skip("no template render module in this build")
    assert context._C_UPDATE  # else the C update would be skipped silently


def test_the_build_has_the_render_module() -> None:
    if os.environ.get("AURA_WIRE_PURE"):
        assert speedups._render is None and not speedups.render_available()
    elif os.environ.get("AURA_WIRE_EXPECT_COMPILED"):
        # built, and switched with BRIO's module (the default is on: speedups._load)
        assert speedups.render_available()
        previous = speedups.use(True)
        assert speedups._render is not None
        speedups.use(False)
        assert speedups._render is None
        speedups.use(previous)


@pytest.fixture
def both() -> Iterator[None]:
    if not speedups.available() or not speedups.render_available():
        pytest.skip(f"C speedups not in this build: {speedups.reason or 'no template render module'}")
    previous = speedups.use(True)
    yield
    speedups.use(previous)


def _outcome(tdec: TemplateDecoder, payload: bytes, max_size: int, hist: bytes | bytearray, c: bool
             ) -> tuple[object, ...]:
    speedups.use(c)
    try:
        got = tdec.decode_payload(payload, max_size, hist)
    except AuraError as e:
        return (type(e).__name__, str(e), e.offset, e.field)
    return ("ok", got.data, got.tid, got.values, got.mask)


def _mutations(p: bytes, rnd: random.Random) -> Iterator[bytes]:
    for k in range(len(p)):  # every truncation
        yield p[:k]
    yield p + b"\x00"
    yield p + b"\x07\x81"
    for _ in range(12):
        q = bytearray(p)
        q[rnd.randrange(len(q))] ^= 1 << rnd.randrange(8)
        yield bytes(q)
        q = bytearray(p)
        q[rnd.randrange(len(q))] = rnd.randrange(256)
        yield bytes(q)
        q = bytearray(p)
        q.insert(rnd.randrange(len(q) + 1), rnd.randrange(256))
        yield bytes(q)


@pytest.mark.corpora
@pytest.mark.parametrize("name", CORPORA)
@pytest.mark.parametrize("context", [True, False])
def test_same_outcome_as_python_on_corpus_and_hostile_payloads(both: None, name: str, context: bool) -> None:
    msgs = load(name, limit=900)
    d = train_dictionary(msgs[:400], name=name)
    # no TEMPLATE_BRIO: every template frame is a plain TEMPLATE payload this test can take apart
    enc = Encoder(d, context=context, template_brio_window=0)
    dec = Decoder(d, context=context, template_brio_window=0)
    py = Decoder(d, context=context, template_brio_window=0)  # the same frames on the Python path
    rnd = random.Random(len(name))
    tried = fast = hostile = 0
    for m in msgs[400:900]:
        f = enc.encode(m)
        h = parse_header(f)
        if h.method == METHOD_TEMPLATE:
            payload = f[1:-1]
            tdec = dec._tmpl
            hist = dec._history() if context else b""
            for max_size in (1 << 20, 24):
                a = _outcome(tdec, payload, max_size, hist, False)
                b = _outcome(tdec, payload, max_size, hist, True)
                assert a == b, payload.hex()
            tried += 1
            fast += _renders_fast(tdec, payload, hist)
            if hostile < 2500:
                for q in _mutations(payload, rnd):
                    assert _outcome(tdec, q, 1 << 20, hist, False) == _outcome(tdec, q, 1 << 20, hist, True), q.hex()
                    hostile += 1
        speedups.use(True)
        assert dec.decode(f) == m
        speedups.use(False)
        assert py.decode(f) == m
        assert _state(dec) == _state(py)  # the C update (context.TemplateState.update) left the same state
    if tried >= 20:
        # the C path must carry the corpus, not hand it back (cdp and webhooks use COPY, which it leaves)
        assert fast >= 0.5 * tried, (fast, tried)


def _state(dec: Decoder) -> tuple[object, ...]:
    """The template state a decoder mirrors (spec/templates.md §5), with the order of each dict."""
    st = dec._tmpl._state
    ctx = st.atom_ctx
    return (list(st.lasts.items()), st.last_bytes, list(st.masks.items()), list(st.mru), list(st.prev_text),
            list(ctx.recent.items()), list(ctx.recent_by_seq.items()), ctx.rseq, ctx.recent_bytes, ctx.rlow)


def _renders_fast(tdec: TemplateDecoder, payload: bytes, hist: bytes | bytearray) -> bool:
    """True when the C render renders this exact payload itself (what decode_payload reads first:
    the reference and the mask, spec §4)."""
    st = tdec._state
    ref, pos = get_uv(payload, 0, "template.ref")
    mode = ref & 3
    if mode == REF_FUZZY:
        return False
    tid, t = render._resolve_ref(st, ref >> 2)
    mask = 0
    if mode == REF_MASK:
        mask, pos = get_uv(payload, pos, "template.mask")
    if mode != REF_PLAIN:
        mask ^= st.masks.get(tid, 0)
    return render._render_fast(speedups._render_module, st, payload, pos, tid, t, mask, 1 << 20, hist) is not None


def test_forms_and_hostile_payloads_without_corpora(both: None) -> None:
    """Messages that use arrays, objects, NUMS, DNUM, DDIG, HEX, A64, ZPAD and text slots, then
    their payloads mutated: both paths agree on each (context mode: a stateless encoder sends these
    as BRIO; the corpus test covers stateless template frames)."""
    context = True
    rnd = random.Random(3)
    msgs: list[str] = []
    for i in range(300):
        msgs.append('{"type":"l2update","product_id":"%s","changes":[["buy","%d.%02d","0.%04d"],["sell","%d",'
                    '"%d"]],"time":"2024-01-%02dT10:%02d:%02d.%06dZ","id":"%012x","n":%d,"neg":-%d,"z":"%05d",'
                    '"o":{"k":"v%d","b":true},"a64":"%s"}'
                    % (rnd.choice(["BTC-EUR", "ETH-USD"]), 25000 + i * 13, i % 100, i * 37 % 10000, 1000 - i, i * 7,
                       i % 28 + 1, i % 60, (i * 7) % 60, i * 991, i * 77777, i * 3, i % 9, i * 5, i % 4,
                       "".join(rnd.choice("abcXYZ09") for _ in range(12))))
        msgs.append("081109 %06d %d INFO dfs.DataNode$PacketResponder: block blk_-%d of size %d from /10.250.%d.%d"
                    % (203518 + i, 140 + i % 9, 1608999687919862906 + i * 3, 67108864 - i, i % 20, i % 200))
    d = train_dictionary(msgs[:300], name="forms")
    enc = Encoder(d, context=context, template_brio_window=0)
    dec = Decoder(d, context=context, template_brio_window=0)
    py = Decoder(d, context=context, template_brio_window=0)
    compared = 0
    for m in msgs[300:]:
        f = enc.encode(m)
        if parse_header(f).method == METHOD_TEMPLATE:
            tdec = dec._tmpl
            hist = dec._history() if context else b""
            for q in [f[1:-1], *_mutations(f[1:-1], rnd)]:
                for max_size in (1 << 16, 60):
                    assert _outcome(tdec, q, max_size, hist, False) == _outcome(tdec, q, max_size, hist, True), q.hex()
                    compared += 1
        speedups.use(True)
        assert dec.decode(f) == m
        speedups.use(False)
        assert py.decode(f) == m
        assert _state(dec) == _state(py)
    assert compared > 1000
