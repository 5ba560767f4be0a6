"""Per-connection state: what the codec accounts (``memory_bytes()``) is what it holds, and the lean
level holds much less than the default (issue 17: "a lean level at most 32 KiB")."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from _corpora import have_corpora, load
from aura_wire import Decoder, Encoder, train_dictionary
from aura_wire.codec.stdcodecs import ZstdHistory
from aura_wire.session.params import server_codec_config


def test_zstd_history_at_rest_holds_its_compressed_size() -> None:
    # zstandard hands back its output in a buffer of ZSTD_compressBound(n) bytes: kept as it is,
    # a 4 KiB message compressed to 40 bytes held 4 KiB for as long as it stayed in the history
    doc = b"".join(b'{"id": %d, "name": "item", "tags": ["a", "b"]}\n' % (i % 7) for i in range(100))
    h = ZstdHistory(32768, 512, 3)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(6):
            h.commit(doc)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert h.content() == (doc * 6)[-32768:]
    assert h.memory_bytes() < len(doc)  # six compressed copies of a repetitive document
    assert held < 2 * h.memory_bytes() + 2048, (held, h.memory_bytes())


@pytest.mark.skipif(not have_corpora(), reason="needs ../shared/corpora")
def test_lean_level_holds_much_less_state_than_the_default() -> None:
    msgs = load("llm_stream_vercel", 1000)
    d = train_dictionary(msgs[:500], name="llm")
    msgs = msgs[500:]
    state = {}
    for level in (1, 3):
        cfg = server_codec_config({"level": level})  # as AuraMiddleware(level=...) builds its sessions
        enc, dec = Encoder(d, context=True, **cfg), Decoder(d, context=True, **cfg)
        peak = 0
        for m in msgs:
            assert dec.decode(enc.encode(m)) == m
            peak = max(peak, enc.memory_bytes() + dec.memory_bytes())
        state[level] = peak
    # llm, 500 messages: about 81 vs 151 KiB, 32 KiB of each being the COPY search index (HistIndex)
    assert state[1] < 0.6 * state[3], state
