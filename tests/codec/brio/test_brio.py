"""Tests of BRIO (aura_wire/codec/brio/, spec/brio.md): round trips, trial/commit
semantics, vectors, hostile input, desync detection, privacy of the content block."""

from __future__ import annotations

import glob
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_wire.codec.brio.model import CHECK_BITS, MODEL_VERSION, NPROBS, BrioShared
from aura_wire.codec.brio.decode import BrioDecoder
from aura_wire.codec.brio.encode import BrioEncoder
from aura_wire.training.brio import train_brio
from aura_wire.training.brio import build_content
from aura_wire.errors import (
    AuraError,
    ContextDesyncError,
    DictionaryFormatError,
    LimitError,
    PayloadError,
)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
VECTORS = sorted(glob.glob(os.path.join(ROOT, "spec", "vectors", "brio", "*.json")))
CORPORA = os.path.join(ROOT, "..", "shared", "corpora")


def _samples() -> list[bytes]:
    out = []
    for i in range(60):
        out.append(b'{"type":"l2update","product_id":"BTC-EUR","changes":[["buy","%d.%02d","0.%04d"]],"t":%d}'
                   % (25000 + i * 13, i % 100, i * 37 % 10000, 1600000000 + i))
        out.append(b"081109 2036%02d %d INFO dfs.DataNode$PacketResponder: PacketResponder %d for block "
                   b"blk_%d terminating" % (i % 60, 100 + i, i % 3, 3886504906413966 + i * 1013))
    return out


@pytest.fixture(scope="module")
def shared() -> BrioShared:
    content, model = train_brio(_samples(), content_size=2048, min_distinct=4)
    return BrioShared.from_sections(content, model)


MESSAGES = [
    b'{"type":"l2update","product_id":"BTC-EUR","changes":[["sell","25111.05","0.0042"]],"t":1600000099}',
    b"081109 203700 222 INFO dfs.DataNode$PacketResponder: PacketResponder 2 for block blk_-77 terminating",
    b"",
    b"z",
    bytes(range(256)),
    b"abc" * 200,
    "unicode: żółć 漢字 🙂".encode(),
]


# -- round trips ---------------------------------------------------------------------
@pytest.mark.parametrize("use_dict", [True, False])
def test_stateless_round_trip(shared: BrioShared, use_dict: bool) -> None:
    sh = shared if use_dict else None
    enc = BrioEncoder(sh, context=False)
    dec = BrioDecoder(sh, context=False)
    for m in MESSAGES:
        p = enc.encode(m)
        assert dec.decode(p, len(m)) == m
        # stateless frames depend only on the shared part: a fresh decoder decodes them too
        assert BrioDecoder(sh, context=False).decode(p, len(m)) == m


def test_dictionary_makes_frames_smaller(shared: BrioShared) -> None:
    m = MESSAGES[0]
    with_dict = BrioEncoder(shared, context=False).encode(m)
    without = BrioEncoder(None, context=False).encode(m)
    assert len(with_dict) < len(without) < len(m) + 8


@pytest.mark.parametrize("use_dict", [True, False])
def test_context_round_trip_and_history(shared: BrioShared, use_dict: bool) -> None:
    sh = shared if use_dict else None
    enc = BrioEncoder(sh, context=True, window=512)
    dec = BrioDecoder(sh, context=True, window=512)
    rnd = random.Random(7)
    sizes = []
    for i in range(40):
        m = b'{"seq":%d,"user":"alice","text":"%s"}' % (i, bytes(rnd.choice(b"abcdef ") for _ in range(i % 9)))
        p = enc.encode(m)
        chosen = i % 5 != 3
        enc.commit(m, chosen)
        if chosen:
            assert dec.decode(p, 1 << 16) == m
            sizes.append(len(p))
        else:
            dec.observe(m)  # coded by another method: history only
    # history makes the repeated structure cheap
    assert sum(sizes[-5:]) / 5 < 14


def test_encode_is_a_trial(shared: BrioShared) -> None:
    enc = BrioEncoder(shared, context=True)
    enc.commit(MESSAGES[0], False)
    a = enc.encode(MESSAGES[1])
    b = enc.encode(MESSAGES[1])
    enc.encode(MESSAGES[5])
    assert enc.encode(MESSAGES[1]) == a == b


def test_commit_chosen_without_encode_reencodes(shared: BrioShared) -> None:
    e1 = BrioEncoder(shared, context=True)
    e2 = BrioEncoder(shared, context=True)
    e1.encode(MESSAGES[0])
    e1.commit(MESSAGES[0], True)
    e2.encode(MESSAGES[5])  # trial of another message, then commit of a different one
    e2.commit(MESSAGES[0], True)
    assert e1.encode(MESSAGES[1]) == e2.encode(MESSAGES[1])


def test_memory_budget_after_traffic(shared: BrioShared) -> None:
    enc = BrioEncoder(shared, context=True, window=8192)
    dec = BrioDecoder(shared, context=True, window=8192)
    for i in range(120):
        m = _samples()[i % 120] + b"%d" % i
        enc.commit(m, True)
        dec.observe(m)
    # history 8192 x 2, models 2 x 2948, index 2048, search ring 4096 x 2 (encoder only)
    assert enc.memory_bytes() + dec.memory_bytes() <= 32 * 1024
    assert len(enc.hist) == 8192 and len(dec.hist) == 8192
    lean = BrioEncoder(shared, context=True, window=8192, search_ring=0)
    for i in range(120):
        lean.commit(_samples()[i % 120] + b"%d" % i, True)
    assert lean.memory_bytes() + dec.memory_bytes() <= 24 * 1024


@pytest.mark.parametrize("window,ring", [(8192, 4096), (8192, 8192), (3000, 8192), (20000, 8192)])
def test_search_ring_does_not_change_payloads(shared: BrioShared, window: int, ring: int) -> None:
    """The persistent search chain visits exactly the candidates of a per-frame chain: same payloads."""
    rnd = random.Random(window + ring)
    pool = _samples()
    msgs = []
    for _ in range(70):
        k = rnd.randrange(4)
        if k == 0:
            msgs.append(pool[rnd.randrange(len(pool))])
        elif k == 1:
            msgs.append(pool[rnd.randrange(len(pool))][: rnd.randrange(1, 60)] + b"%d" % rnd.randrange(10**6))
        elif k == 2:
            msgs.append(b"".join(pool[rnd.randrange(len(pool))] for _ in range(rnd.randrange(2, 8))))
        else:
            msgs.append(bytes(rnd.randrange(40, 48) for _ in range(rnd.randrange(1, 200))))
    fast = BrioEncoder(shared, context=True, window=window, search_ring=ring)
    plain = BrioEncoder(shared, context=True, window=window, search_ring=0)
    assert plain.rmask == 0 and (fast.rmask > 0) == (window <= 32767)
    for i, m in enumerate(msgs):
        p = fast.encode(m)
        assert p == plain.encode(m), i
        chosen = i % 3 != 0
        fast.commit(m, chosen)
        plain.commit(m, chosen)
        assert fast.idx == plain.idx


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=5), st.booleans())
def test_property_round_trip(shared: BrioShared, msgs: list[bytes], context: bool) -> None:
    enc = BrioEncoder(shared, context=context, window=300)
    dec = BrioDecoder(shared, context=context, window=300)
    for m in msgs:
        p = enc.encode(m)
        if context:
            enc.commit(m, True)
        assert dec.decode(p, len(m)) == m


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_property_round_trip_text_no_dictionary(s: str) -> None:
    m = s.encode("utf-8")
    p = BrioEncoder(None, context=False).encode(m)
    assert BrioDecoder(None, context=False).decode(p, len(m)) == m


# -- vectors ---------------------------------------------------------------------------
def test_vectors_exist() -> None:
    names = {os.path.basename(v) for v in VECTORS}
    assert {"dictionary_match.json", "history_match.json", "literal_runs.json", "no_dictionary.json"} <= names


@pytest.mark.parametrize("path", VECTORS, ids=[os.path.basename(v) for v in VECTORS])
def test_vector(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        vec = json.load(f)
    ds = vec["dictionary_sections"]
    sh = None if ds is None else BrioShared.from_sections(bytes.fromhex(ds["content"]), bytes.fromhex(ds["model"]))
    ctx = vec["context"]
    dec = BrioDecoder(sh, context=ctx, window=vec["window"])
    for m_hex, p_hex, check in zip(vec["messages"], vec["payloads"], vec["checks"], strict=True):
        m, p = bytes.fromhex(m_hex), bytes.fromhex(p_hex)
        assert dec.decode_unchecked(p, len(m)) == (m, check)  # payload -> message and check bits
        dec.observe(m)


@pytest.mark.parametrize("path", VECTORS, ids=[os.path.basename(v) for v in VECTORS])
def test_vector_encodes(path: str) -> None:
    """This encoder's choices: message -> exactly the vector's payload."""
    with open(path, encoding="utf-8") as f:
        vec = json.load(f)
    ds = vec["dictionary_sections"]
    sh = None if ds is None else BrioShared.from_sections(bytes.fromhex(ds["content"]), bytes.fromhex(ds["model"]))
    ctx = vec["context"]
    enc = BrioEncoder(sh, context=ctx, window=vec["window"])
    for m_hex, p_hex, check in zip(vec["messages"], vec["payloads"], vec["checks"], strict=True):
        m = bytes.fromhex(m_hex)
        assert enc.encode(m, check).hex() == p_hex
        if ctx:
            enc.commit(m, True)


# -- hostile input ---------------------------------------------------------------------
def test_max_size_checked_before_decoding(shared: BrioShared) -> None:
    m = b"x" * 5000
    p = BrioEncoder(shared, context=False).encode(m)
    with pytest.raises(LimitError):
        BrioDecoder(shared, context=False).decode(p, 4999)


def test_trailing_and_zero_bytes_rejected(shared: BrioShared) -> None:
    m = MESSAGES[0]
    p = BrioEncoder(shared, context=False).encode(m)
    dec = BrioDecoder(shared, context=False)
    with pytest.raises(PayloadError):
        dec.decode(p + b"\x00", 1000)
    with pytest.raises(PayloadError):
        dec.decode(p + b"\x01\x02\x03\x04\x05", 1000)


def test_fuzz_mutations_raise_aura_errors_only(shared: BrioShared) -> None:
    rnd = random.Random(1234)
    enc = BrioEncoder(shared, context=False)
    payloads = [(enc.encode(m), m) for m in MESSAGES if m]
    wrong = 0
    errors = 0
    for _ in range(1500):
        p, m = payloads[rnd.randrange(len(payloads))]
        q = bytearray(p)
        kind = rnd.randrange(4)
        if kind == 0 and q:
            q[rnd.randrange(len(q))] ^= 1 << rnd.randrange(8)
        elif kind == 1 and q:
            del q[rnd.randrange(len(q)):]
        elif kind == 2:
            q = bytearray(rnd.randrange(256) for _ in range(rnd.randrange(1, 40)))
        else:
            q.insert(rnd.randrange(len(q) + 1), rnd.randrange(256))
        try:
            out = BrioDecoder(shared, context=False).decode(bytes(q), 4096)
        except AuraError:
            errors += 1
            continue
        if bytes(q) != p and out != m:
            wrong += 1
    # every failure is an AuraError; silent wrong output is rare (check bits: about 2**-CHECK_BITS)
    assert errors > 1300
    assert wrong <= 1500 * 4 / (1 << CHECK_BITS) + 3


def test_desync_is_detected(shared: BrioShared) -> None:
    enc = BrioEncoder(shared, context=True)
    dec = BrioDecoder(shared, context=True)
    msgs = [b'{"type":"l2update","product_id":"BTC-EUR","changes":[["buy","%d","1"]],"n":%d}' % (i * 7, i)
            for i in range(30)]
    for m in msgs[:10]:
        p = enc.encode(m)
        enc.commit(m, True)
        dec.decode(p, 1000)
    enc.commit(b"a frame the decoder never saw", False)
    detected = False
    for m in msgs[10:]:
        p = enc.encode(m)
        enc.commit(m, True)
        try:
            out = dec.decode(p, 1000)
        except (ContextDesyncError, PayloadError):
            detected = True
            break
        assert out == m  # wrong bytes are never returned silently in this run
    assert detected


# -- dictionary sections -----------------------------------------------------------------
def test_model_section_validation(shared: BrioShared) -> None:
    content, model = train_brio(_samples()[:40], content_size=256, min_distinct=4)
    BrioShared.from_sections(content, model)
    assert model[0] == MODEL_VERSION and len(model) == 3 + 4 * NPROBS
    bad_version = bytes([99]) + model[1:]
    zero_prob = model[:3] + b"\x00\x00" + model[5:]
    for bad in (b"", bad_version, model[:-2], model + b"\x00", zero_prob):
        with pytest.raises(DictionaryFormatError):
            BrioShared.from_sections(content, bad)
    with pytest.raises(DictionaryFormatError):
        BrioShared.from_sections(b"\x00" * ((1 << 20) + 1), model)


def test_privacy_rare_secrets_stay_out_of_content() -> None:
    rnd = random.Random(5)
    key = b"sk_live_9fQ2xT7LmP4vR8zK1wY6"
    email = b"jane.roe.private@example.org"
    common = b"Authorization: Bearer-shared-header-value-for-all"
    samples = []
    for i in range(200):
        body = b"%s req=%d pad=%s" % (common, i, bytes(rnd.choice(b"0123456789") for _ in range(6)))
        if i < 7:  # in 7 distinct messages (< min_distinct=8), repeated inside each
            body += b" key=" + key + b" again " + key + b" mail=" + email
        samples.append(body)
    samples += samples[:7] * 5  # exact duplicates do not count as distinct messages
    content = build_content(samples, 4096, 8)
    assert common in content  # positive control: a frequent substring is kept
    for secret in (key, email):
        for i in range(len(secret) - 5):
            assert secret[i:i + 6] not in content, secret[i:i + 6]


def test_privacy_threshold_is_exact() -> None:
    token = b"TOKEN-abcdef-0123456789"
    samples = [b"msg %d filler text here %s" % (i, token if i < 8 else b"") for i in range(40)]
    assert token in build_content(samples, 4096, 8)
    assert token not in build_content(samples, 4096, 9)


# -- corpora -----------------------------------------------------------------------------
def test_corpus_slice_round_trip() -> None:
    path = os.path.join(CORPORA, "market_coinbase.jsonl")
    if not os.path.exists(path):
        pytest.skip("../shared/corpora/ not present (only in the project checkout / CI)")
    with open(path, encoding="utf-8") as f:
        msgs = [json.loads(line)["m"].encode() for _, line in zip(range(1160), f)][1000:]
    sh = BrioShared.from_sections(*train_brio(msgs[:100], content_size=4096, min_distinct=4))
    enc = BrioEncoder(sh, context=True)
    dec = BrioDecoder(sh, context=True)
    total = coded = 0
    for m in msgs[100:]:
        p = enc.encode(m)
        enc.commit(m, True)
        assert dec.decode(p, len(m)) == m
        total += len(m)
        coded += len(p) + 1
    assert total / coded > 3.0
