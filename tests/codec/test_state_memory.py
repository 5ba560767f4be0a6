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
        # the first connection warms what the dictionary builds once for all; the second is traced
        for traced in (False, True):
            if traced:
                gc.collect()
                tracemalloc.start()
                before = tracemalloc.get_traced_memory()[0]
            enc, dec = Encoder(d, context=True, **cfg), Decoder(d, context=True, **cfg)
            peak = 0
            for m in msgs:
                assert dec.decode(enc.encode(m)) == m
                peak = max(peak, enc.memory_bytes() + dec.memory_bytes())
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        state[level] = peak
        # memory_bytes() counts what the connection holds: its Python objects, not only the bytes
        # of its histories (it missed the candidate pool, COPY's index and the objects' overheads)
        acct = enc.memory_bytes() + dec.memory_bytes()
        assert 0.5 * held < acct < 1.5 * held, (level, acct, held)  # it counted 0.36x (level 1), 0.45x (3)
    # llm, 500 messages: about 105 vs 230 KiB
    assert state[1] < 0.6 * state[3], state


def test_no_second_copy_of_the_history() -> None:
    # the template coders read the BRIO history for COPY: a reference kept after the message held
    # the previous history beside the new one (a second window per side)
    msgs = [b'{"id": %d, "text": "message number %d of a stream"}' % (i, i) for i in range(60)]
    d = train_dictionary(msgs[:30])
    enc, dec = Encoder(d, context=True), Decoder(d, context=True)
    for m in msgs[30:]:
        assert dec.decode(enc.encode(m)) == m
        tenc = enc._tmpl
        assert tenc is not None
        assert tenc._state.atom_ctx.hist == b"" and dec._tmpl._state.atom_ctx.hist == b""


def test_a_closed_connection_leaves_nothing_behind() -> None:
    # compiled, str() of an int beyond 62 bits kept a reference to it (mypyc's CPyTagged_Str): every
    # 20-digit timestamp a DDIG slot decoded, or 64-bit id a UINT slot did, leaked 40 bytes
    msgs = [b'{"id": %d, "time": "2021-04-17T16:43:%02d.%06dZ", "price": "%d.%02d"}'
            % ((1 << 63) + 977 * i, i % 60, 7919 * i % 1000000, 3000 + i % 17, i % 100) for i in range(600)]
    d = train_dictionary(msgs[:200])

    def connection() -> None:
        enc, dec = Encoder(d, context=True), Decoder(d, context=True)
        for m in msgs[200:]:
            assert dec.decode(enc.encode(m)) == m

    connection()  # builds what the dictionary caches for every connection
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        connection()
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert left < 4096, left  # it was 40 bytes per message and slot
