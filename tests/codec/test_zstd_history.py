"""The context-mode ZSTD history (spec/wire-format.md §4.2.1): the encoder keeps it raw, the decoder
compressed at rest; both must hold the same bytes."""

from __future__ import annotations

import json
import random

from aura_wire import Decoder, Encoder
from aura_wire.codec.stdcodecs import ZSTD_DICT_MAGIC, ZstdCodec, ZstdHistory


def test_raw_history_holds_what_the_compressed_one_holds() -> None:
    r = random.Random(11)
    for window, min_size in ((4096, 100), (32768, 512), (300, 1)):
        raw = ZstdHistory(window, min_size, 3, ZstdCodec(None, 1), raw=True)
        rest = ZstdHistory(window, min_size, 3, ZstdCodec(None, 1))
        for _ in range(80):
            n = r.choice([10, 99, 100, 600, 3000, window - 1, window, window + 7, 3 * window])
            data = bytes(r.choice(b"abcdefgh{}\":,") for _ in range(n))
            raw.commit(data)
            rest.commit(data)
            assert raw.content() == rest.content()
            assert len(raw.content()) <= window
            for shared in (b"", b"ab", ZSTD_DICT_MAGIC[:2]):
                assert raw.usable(shared) == rest.usable(shared)
        assert raw.memory_bytes() >= len(raw.content())


def test_context_zstd_frames_decode_against_the_decoders_history() -> None:
    """Large JSON messages in context mode: ZSTD frames made from the encoder's raw history decode
    with the decoder's compressed one, byte for byte."""
    r = random.Random(2)
    msgs = [json.dumps({"seq": i, "items": [{"id": r.randrange(50), "name": f"item {r.randrange(20)}",
                                             "tags": ["x" * r.randrange(1, 9)]} for _ in range(40)]})
            for i in range(60)]
    # BRIO off for messages this size (it beats ZSTD on them), so that ZSTD frames are chosen
    enc = Encoder(None, context=True, zstd_window=8192, brio_max_size=1000)
    dec = Decoder(None, context=True, zstd_window=8192)
    for m in msgs:
        assert dec.decode(enc.encode(m)) == m
    assert enc.metrics.by_method.get("zstd", [0])[0] > 10


def test_level_1_keeps_the_encoders_zstd_history_at_rest() -> None:
    """zstd_raw_history: on by default (speed), off at the lean level (state); frames decode either way."""
    msgs = [json.dumps({"seq": i, "rows": [{"k": j, "v": "value %d" % ((i * j) % 13)} for j in range(60)]})
            for i in range(12)]
    sizes = {}
    for level in (1, 3):
        enc = Encoder(None, context=True, level=level, brio_max_size=1000)
        dec = Decoder(None, context=True, level=level)
        for m in msgs:
            assert dec.decode(enc.encode(m)) == m
        sizes[level] = enc.memory_bytes()
    assert Encoder(None, context=True, level=1).config.zstd_raw_history is False
    assert Encoder(None, context=True).config.zstd_raw_history is True
    assert sizes[1] < sizes[3]
