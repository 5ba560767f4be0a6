"""TEMPLATE_BRIO frames (spec/wire-format.md §4.6): TEMPLATE payloads coded by BRIO in a payload context."""

from __future__ import annotations

import random
import zlib
from typing import Any

import pytest

from aura_wire import Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.codec.frame import METHOD_TEMPLATE, METHOD_TEMPLATE_BRIO, parse_header
from aura_wire.errors import AuraError, ContextDesyncError, FrameError

from _corpora import halves

TICKS = [
    f'{{"e":"trade","s":"{("BTCUSDT", "ETHUSDT", "SOLUSDT")[i % 3]}","t":{7_000_000 + i * 3},'
    f'"p":"{20000 + (i * 37) % 500}.{i % 100:02d}","q":"0.{i % 9}{i % 7}","m":{"true" if i % 2 else "false"}}}'
    for i in range(160)
]


def methods(frames: list[bytes]) -> list[int]:
    return [parse_header(f).method for f in frames]


def run(msgs: list[str], d: Dictionary | None = None, **cfg: Any) -> tuple[Encoder, Decoder, list[bytes]]:
    enc, dec = Encoder(d, context=True, **cfg), Decoder(d, context=True, **cfg)
    frames = []
    for m in msgs:
        f = enc.encode(m)
        assert dec.decode(f) == m
        frames.append(f)
    return enc, dec, frames


def test_round_trip_and_used_without_dictionary() -> None:
    enc, dec, frames = run(TICKS)
    ms = methods(frames)
    # v2: BRIO wins some frames a v1 encoder sent as TEMPLATE_BRIO (slot predictions follow only
    # template frames, templates.md §5.1), but the payload context still carries most of them
    assert ms.count(METHOD_TEMPLATE_BRIO) > len(TICKS) // 4, ms
    # every TEMPLATE_BRIO frame is a context frame and counts as a template hit on both sides
    assert all(parse_header(f).context for f in frames)
    hits = ms.count(METHOD_TEMPLATE) + ms.count(METHOD_TEMPLATE_BRIO)
    assert enc.metrics.template_hits == hits == dec.metrics.template_hits


def test_smaller_than_template_frames_alone() -> None:
    _, _, with_tb = run(TICKS)
    _, _, without = run(TICKS, template_brio_window=0)
    assert METHOD_TEMPLATE_BRIO not in methods(without)
    assert sum(map(len, with_tb)) < 0.9 * sum(map(len, without))


def test_decoder_without_it_refuses_the_frame() -> None:
    _, _, frames = run(TICKS[:40])
    i = methods(frames).index(METHOD_TEMPLATE_BRIO)
    dec = Decoder(None, context=True, template_brio_window=0)
    for f in frames[:i]:
        dec.decode(f)
    with pytest.raises(FrameError):
        dec.decode(frames[i])


def test_stateless_frame_refused() -> None:
    with pytest.raises(FrameError):
        Decoder(None, context=False).decode(bytes([0x0D, 0x80, 0x01]))
    with pytest.raises(FrameError):  # C = 0 on a context decoder
        Decoder(None, context=True).decode(bytes([0x0D, 0x80, 0x01]))


def test_wrong_check_value_is_a_desync_and_breaks_the_decoder() -> None:
    enc = Encoder(None, context=True)
    dec = Decoder(None, context=True)
    for m in TICKS[:30]:
        dec.decode(enc.encode(m))
    data = TICKS[30].encode()
    assert enc._tmpl is not None and enc._template_brio is not None
    template_payload = enc._tmpl.encode(data, True)
    assert template_payload is not None
    good = zlib.crc32(data, enc._check) & 0xFF
    # v2 header: context, text, TEMPLATE_BRIO
    frame = bytes([0x5D]) + enc._template_brio.encode(template_payload, good ^ 0x01)
    with pytest.raises(ContextDesyncError):
        dec.decode(frame)
    with pytest.raises(ContextDesyncError):  # unusable from now on
        dec.decode(enc.encode(TICKS[30]))


def test_desynchronised_template_state_is_caught_on_the_frame() -> None:
    """Same messages, but the decoder lost one frame: the first TEMPLATE_BRIO frame after it fails."""
    enc, dec = Encoder(None, context=True), Decoder(None, context=True)
    frames = [enc.encode(m) for m in TICKS[:60]]
    for k, f in enumerate(frames):
        if k == 20:
            continue  # lost
        try:
            dec.decode(f)
        except AuraError:
            break
        assert k < 20 or parse_header(f).method not in (METHOD_TEMPLATE, METHOD_TEMPLATE_BRIO), \
            "a context frame decoded against the wrong state"
    else:
        pytest.fail("the lost frame was never detected")


@pytest.mark.parametrize("seed", range(4))
def test_mutated_frames_raise_aura_errors(seed: int) -> None:
    rng = random.Random(seed)
    enc = Encoder(None, context=True)
    frames = [enc.encode(m) for m in TICKS[:50]]
    tb = [i for i, f in enumerate(frames) if parse_header(f).method == METHOD_TEMPLATE_BRIO]
    for _ in range(40):
        i = rng.choice(tb)
        dec = Decoder(None, context=True)
        for f in frames[:i]:
            dec.decode(f)
        bad = bytearray(frames[i])
        pos = rng.randrange(1, len(bad))
        bad[pos] ^= 1 << rng.randrange(8)
        try:
            out = dec.decode(bytes(bad))
        except AuraError:
            continue
        assert out == TICKS[i]  # a flip that changes nothing the decoder reads may decode fine


def test_memory_counts_the_payload_context() -> None:
    enc, dec, _ = run(TICKS)
    enc0, dec0, _ = run(TICKS, template_brio_window=0)
    assert enc.memory_bytes() > enc0.memory_bytes()
    assert dec.memory_bytes() > dec0.memory_bytes()
    # bounded by the configured window (history) plus the fixed models and index
    assert dec.memory_bytes() - dec0.memory_bytes() <= 4096 + 4096


def test_corpus_slice_round_trip_with_dictionary() -> None:
    train, test = halves("market_binance")
    d = train_dictionary(train[:400])
    _, _, frames = run(test[:150], d)
    ms = methods(frames)
    assert METHOD_TEMPLATE_BRIO in ms
    assert all(parse_header(f).uses_dictionary for f in frames if parse_header(f).method == METHOD_TEMPLATE_BRIO)


# -- the dictionary's template-brio-model section (wire-format §4.6, §6) ----------------------------

def _without(d: Dictionary, section: int) -> Dictionary:
    return Dictionary({k: s for k in range(1, 16) if (s := d.section(k)) is not None and k != section})


def test_dictionary_trains_the_payload_model_section() -> None:
    from aura_wire.codec.brio.model import PROB_ONE, parse_model_section
    from aura_wire.codec.dictionary import SECTION_TEMPLATE_BRIO_MODEL

    d = train_dictionary(TICKS)
    sec = d.section(SECTION_TEMPLATE_BRIO_MODEL)
    assert sec is not None
    stateless, context = parse_model_section(sec)
    # the stateless vector is stored as the default; the context vector was learned (not all 2048)
    assert all(int(p) == PROB_ONE // 2 for p in stateless)
    assert sum(1 for p in context if int(p) != PROB_ONE // 2) > 50
    # no section without templates or without BRIO
    assert train_dictionary(TICKS, templates=False).section(SECTION_TEMPLATE_BRIO_MODEL) is None
    assert train_dictionary(TICKS, brio=False).section(SECTION_TEMPLATE_BRIO_MODEL) is None


def test_payload_model_makes_template_brio_frames_smaller() -> None:
    from aura_wire.codec.dictionary import SECTION_TEMPLATE_BRIO_MODEL

    train = TICKS[:100]
    test = [m.replace('"trade"', '"trade"') for m in TICKS[100:]]
    d = train_dictionary(train)
    plain = _without(d, SECTION_TEMPLATE_BRIO_MODEL)
    _, _, primed = run(test, d)
    _, _, unprimed = run(test, plain)

    def tb_bytes(frames: list[bytes]) -> int:
        return sum(len(f) for f in frames if parse_header(f).method == METHOD_TEMPLATE_BRIO)

    assert METHOD_TEMPLATE_BRIO in methods(primed)
    # the first frames of a connection are where priors matter: compare the first 20 TB frames
    first = [f for f in primed if parse_header(f).method == METHOD_TEMPLATE_BRIO][:20]
    first0 = [f for f in unprimed if parse_header(f).method == METHOD_TEMPLATE_BRIO][:20]
    k = min(len(first), len(first0))
    assert k >= 3, (len(first), len(first0))
    # per frame: the priors make the early TEMPLATE_BRIO frames smaller
    assert sum(map(len, first[:k])) < sum(map(len, first0[:k])), (tb_bytes(primed), tb_bytes(unprimed))


def test_decoder_without_the_section_cannot_read_primed_frames() -> None:
    from aura_wire.codec.dictionary import SECTION_TEMPLATE_BRIO_MODEL

    d = train_dictionary(TICKS[:100])
    _, _, frames = run(TICKS[100:], d)
    dec = Decoder(_without(d, SECTION_TEMPLATE_BRIO_MODEL), context=True)
    with pytest.raises(AuraError):
        # the dictionaries differ (ids too), and the payload context starts from other models:
        # the first TEMPLATE_BRIO frame fails (its check) instead of delivering other text
        for f in frames:
            dec.decode(f)


def test_malformed_payload_model_section_is_refused() -> None:
    from aura_wire.codec.dictionary import SECTION_TEMPLATE_BRIO_MODEL
    from aura_wire.errors import DictionaryFormatError

    d = train_dictionary(TICKS[:100])
    secs = {k: s for k in range(1, 16) if (s := d.section(k)) is not None}
    bad = bytearray(secs[SECTION_TEMPLATE_BRIO_MODEL])
    bad[0] = 9  # unknown version
    with pytest.raises(DictionaryFormatError):
        Encoder(Dictionary({**secs, SECTION_TEMPLATE_BRIO_MODEL: bytes(bad)}), context=True)
    with pytest.raises(DictionaryFormatError):
        Decoder(Dictionary({**secs, SECTION_TEMPLATE_BRIO_MODEL: bytes(bad[:-1])}), context=True)
