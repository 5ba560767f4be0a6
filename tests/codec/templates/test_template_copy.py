"""COPY atoms (spec/templates.md §4.1.1): slot values copied from the prediction, the direction's
message history and the message rendered so far."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_wire import Decoder, Encoder, train_dictionary
from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder
from aura_wire.codec.templates.section import TemplateSet
from aura_wire.training.templates import train_templates
from aura_wire.errors import PayloadError

BIG = 1 << 20


def deletes(n: int, start: int = 0) -> list[bytes]:
    out = []
    for i in range(start, start + n):
        blk = (-1) ** i * (4411589101766563890 - 7919 * i * i)
        out.append(f"081111 0{i % 10}4612 19 INFO dfs.FSDataset: Deleting block blk_{blk} file "
                   f"/mnt/hadoop/dfs/data/current/subdir{i % 64}/blk_{blk}".encode())
    return out


def test_repeat_inside_a_message_is_copied_stateless() -> None:
    ts = TemplateSet.from_section(train_templates(deletes(40), min_frequency=5, min_distinct=8))
    enc, dec = TemplateEncoder(ts, context=False), TemplateDecoder(ts, context=False)
    for m in deletes(10, 100):
        p = enc.encode(m, True)
        assert p is not None
        assert dec.decode(p, True, BIG) == m
        blk = m.rsplit(b"blk_", 1)[1]
        # the second occurrence of the block id is a copy: its digits are not in the payload
        assert blk.lstrip(b"-") not in p
        assert len(p) < 40, (len(p), p.hex())


AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def events(n: int, seed: int = 1) -> list[str]:
    """JSON events naming 40 long URLs at random: a URL recurs within the 8 KiB history but is
    usually gone from the 2 KiB of recent strings (templates.md §5.4)."""
    rnd = random.Random(seed)
    urls = [f"https://cdn.example.org/assets/v{k}/" + "/".join(f"{rnd.randrange(16**8):08x}" for _ in range(20))
            for k in range(40)]
    out = []
    for i in range(n):
        u = urls[rnd.randrange(len(urls))]
        if i % 2:
            out.append(json.dumps({"method": "send", "id": f"{i}.{i % 5}", "url": u}, separators=(",", ":")))
        else:
            out.append(json.dumps({"method": "recv", "id": i, "status": 200, "headers": {"location": u}},
                                  separators=(",", ":")))
    return out


def test_history_copies_make_template_payloads_smaller_and_round_trip() -> None:
    msgs = events(300)
    d = train_dictionary(msgs[:150])
    sizes = {}
    for window in (8192, 0):
        enc, dec = Encoder(d, context=True, window=window), Decoder(d, context=True, window=window)
        tp = 0
        for m in msgs[150:]:
            t = enc._tmpl.encode(m.encode(), True, enc._history()) if enc._tmpl is not None else None
            tp += len(t) if t is not None else len(m)
            f = enc.encode(m)
            assert dec.decode(f) == m
        sizes[window] = tp
    # with a history the URLs recur as copies; without one (window 0) they are literals
    assert sizes[8192] < 0.6 * sizes[0], sizes


def test_own_history_without_brio() -> None:
    msgs = events(200, seed=2)
    d = train_dictionary(msgs[:100], brio=False)
    enc, dec = Encoder(d, context=True, brio=False), Decoder(d, context=True, brio=False)
    for m in msgs[100:]:
        assert dec.decode(enc.encode(m)) == m
    assert enc._history() == dec._history()
    assert 0 < len(enc._history()) <= enc.config.window
    # the history COPY refers to is part of the per-connection state
    assert enc._tmpl is not None and enc._brio is None and enc._template_brio is None
    parts = enc._tmpl.memory_bytes() + (enc._zhist.memory_bytes() if enc._zhist is not None else 0)
    assert enc.memory_bytes() == parts + len(enc._history())
    # brio=False shapes the encoder only: a decoder accepts every method (docs/tuning.md)
    assert dec._brio is not None


def _learned(first: bytes) -> tuple[TemplateEncoder, TemplateDecoder]:
    """An encoder and decoder (context, no dictionary) that defined the runtime shape of ``first``
    and then saw ``first`` once more, so its slot has ``first``'s value as prediction."""
    enc, dec = TemplateEncoder(None, context=True), TemplateDecoder(None, context=True)
    for _ in range(2):  # the shape's first message makes a candidate, its second defines it (§5.5)
        assert enc.encode(first, True) is None
        enc.commit(first, False)
        dec.follow(enc.last_instructions, first)
    p = enc.encode(first, True)
    assert p is not None
    enc.commit(first, True)
    assert dec.decode(p, True, BIG, b"", enc.last_instructions) == first
    return enc, dec


def test_copy_reads_prediction_history_and_output_across_their_borders() -> None:
    _, dec = _learned(b'{"a":"predicted"}')
    hist = b"HISTORY-BYTES"
    # B = P (b"predicted", 9) ++ H (13) ++ out (b'{"a":"', 6 with the Q quote) = 28 bytes.
    # A copy of 12 at distance 26 starts at P[2]: 7 bytes of P, then 5 of H: b"edictedHISTO"; then a
    # copy of 4 at distance 4 reads the last 4 output bytes: b"ISTO"
    atom = bytes([0x80 | (2 << 4), 12 << 1 | 1, 26, 4 << 1 | 1, 4])
    out = dec.decode(bytes([(8 + 0) << 2]) + atom, True, BIG, hist)
    assert out == b'{"a":"edictedHISTOISTO"}'


def test_copy_distance_beyond_the_buffer_is_refused() -> None:
    # B = P (b"x") ++ H (b"HHHH") ++ out (b'{"a":', 5) = 10 bytes: distance 10 reads P's byte,
    # distance 11 is outside
    _, dec = _learned(b'{"a":"x"}')
    assert dec.decode(bytes([(8 + 0) << 2, 0x10, 1 << 1 | 1, 10]), True, BIG, b"HHHH") == b'{"a":x}'
    _, dec = _learned(b'{"a":"x"}')
    with pytest.raises(PayloadError):
        dec.decode(bytes([(8 + 0) << 2, 0x10, 1 << 1 | 1, 11]), True, BIG, b"HHHH")


def test_copy_output_is_bounded_by_the_limit() -> None:
    from aura_wire.codec.varint import encode_uvarint
    from aura_wire.errors import LimitError

    _, dec = _learned(b'{"a":"x"}')
    # 60 pieces, each copying the 4000-byte history: 240 KB from a ~240-byte payload
    piece = encode_uvarint(4000 << 1 | 1) + encode_uvarint(4000 + 1 + 5)
    atom = bytes([0x70]) + encode_uvarint(60 - 7) + piece * 60
    with pytest.raises(LimitError):
        dec.decode(bytes([(8 + 0) << 2]) + atom, True, 100_000, b"h" * 4000)


TEXT = st.text(alphabet="abcXYZ-_/.:0123456789", min_size=0, max_size=40)


@given(st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=2, max_size=25), st.integers(0, 3))
@settings(max_examples=80, deadline=None)
def test_round_trip_with_random_repeats(rows: list[tuple[str, str, str]], seed: int) -> None:
    rnd = random.Random(seed)
    enc, dec = TemplateEncoder(None, context=True), TemplateDecoder(None, context=True)
    hist = b""
    pool: list[str] = []
    for a, b, c in rows:
        if pool and rnd.random() < 0.5:
            a = rnd.choice(pool) + a
        if pool and rnd.random() < 0.5:
            c = c + rnd.choice(pool)
        pool += [a, b, c]
        m = json.dumps({"k": a, "v": [b, a + c], "w": {"x": c + b}}, separators=(",", ":")).encode()
        p = enc.encode(m, True, hist)
        enc.commit(m, p is not None)
        if p is None:
            dec.follow(enc.last_instructions, m)
        else:
            assert dec.decode(p, True, BIG, hist, enc.last_instructions) == m
        hist = (hist + m)[-256:]


def test_copy_from_the_dictionary_content_in_stateless_payloads() -> None:
    from aura_wire.codec.dictionary import SECTION_BRIO_CONTENT, SECTION_TEMPLATES

    words = [f"update{w}VisibilityLocked" for w in ("Panel", "Status", "Dimmed", "Notification", "Wallpaper")]
    lines = [f"081109 2036{i % 60:02d} {140 + i % 9} INFO ui.Panel: {words[(i * 7) % 5]} id={i}" for i in range(300)]
    d = train_dictionary(lines[:200])
    content = d.section(SECTION_BRIO_CONTENT) or b""
    enc, dec = Encoder(d, context=False), Decoder(d, context=False)
    assert enc._tmpl is not None and dec._tmpl is not None
    ts = TemplateSet.from_section(d.section(SECTION_TEMPLATES) or b"")
    copied = in_content = 0
    for m in lines[200:]:
        data = m.encode()
        word = next(w for w in words if w in m).encode()
        in_content += word in content
        p = enc._tmpl.encode(data, True)
        assert p is not None
        assert dec._tmpl.decode(p, True, BIG) == data
        if word in content and word not in p:
            copied += 1
            # the payload refers to the dictionary's content: without it, it does not decode
            with pytest.raises(PayloadError):
                TemplateDecoder(ts, context=False).decode(p, True, BIG)
    # the word is a slot value (it varies); when it is in the shared content (k-anonymous: in many
    # messages) the stateless payload copies it from there instead of spelling it
    assert in_content > 0 and copied == in_content, (copied, in_content)


# -- COPY's history index (encoder only) --------------------------------------------------------------

def test_history_index_answers_as_rfind() -> None:
    """HistIndex.find gives ref.rfind's answer over the positions its ring covers (from low() on)
    across a stream of messages: chains carried from message to message, long chains (a small
    alphabet), strings that occur only before the ring, messages longer than the ring, ends out
    of order, and a history that does not continue the committed one (it starts afresh); with a
    history the ring covers, that is rfind's answer over the whole reference."""
    from aura_wire.codec.templates.copy import HistIndex

    r = random.Random(5)
    outside = 0
    for trial in range(60):
        index = HistIndex()
        hist = b""
        window = r.choice([50, 300, 9000, 20000])
        for _ in range(12):
            size = r.choice([10, 100, 700, 30, 9000 if trial % 6 == 0 else 40])
            msg = bytes(r.choice(b"abcde") for _ in range(size))
            if hist and r.random() < 0.05:
                hist = hist[:-1] + b"z"  # not the committed history
            ref = hist + msg
            if hist:
                index.begin(hist, msg)
                for _ in range(25):
                    end = r.randrange(len(hist), len(ref) + 1)
                    m = r.choice([6, 7, 8, 12])
                    at = r.randrange(0, len(ref) - m + 1)
                    s = ref[at:at + m] if r.random() < 0.8 else bytes(r.choice(b"abcde") for _ in range(m))
                    got = index.find(ref, s, end)
                    assert got == ref.rfind(s, index.low(), end), (trial, end, s)
                    if len(ref) <= index.ring:
                        assert index.low() == 0 and got == ref.rfind(s, 0, end)
                    else:
                        older = ref.rfind(s, 0, end)
                        assert got == older or (got == -1 and older < index.low()), (trial, end, s)
                        outside += older >= 0 and got == -1
            index.commit(msg)
            extra = b"xyzab"[:r.randrange(0, 5)] if r.random() < 0.2 else b""
            if extra:  # a message committed without a lookup
                index.commit(extra)
            hist = (hist + msg + extra)[-window:]
    assert outside > 0  # some strings occurred only before the ring: not searched there


def test_history_index_gives_the_pieces_of_plain_search() -> None:
    """_copy_pieces with the history index (kept across messages as the encoder keeps it) finds
    the same pieces as with bytes.rfind alone while its ring covers the history (6000 bytes of
    it here, the ring 8192), and the encoder's frames round-trip."""
    from aura_wire.codec.templates.copy import HistIndex, _copy_pieces

    r = random.Random(7)
    words = ["network", "request", "response", "loading", "finished", "document", "stylesheet", "script"]
    msgs = [json.dumps({"id": i, "text": " ".join(r.choice(words) for _ in range(r.randrange(3, 9))),
                        "url": f"https://cdn.example.com/{r.choice(words)}/{r.choice(words)}.js"}).encode()
            for i in range(200)]
    index = HistIndex()
    hist = b""
    copies = 0
    for m in msgs:
        if hist:
            index.begin(hist, m)
        ref = hist + m
        for at in range(0, len(m) - 8, 5):
            value = m[at:at + r.randrange(8, 40)]
            prediction = msgs[r.randrange(len(msgs))][:30] if r.random() < 0.3 else None
            for searches in (4, 24):
                got = _copy_pieces(b"", ref, len(hist) + at, value, prediction, None, searches,
                                   index if hist else None)
                assert got == _copy_pieces(b"", ref, len(hist) + at, value, prediction, None, searches)
                copies += got is not None
        index.commit(m)
        hist = (hist + m)[-6000:]
    assert copies > 1000
    d = train_dictionary(msgs[:100])
    enc, dec = Encoder(d, context=True), Decoder(d, context=True)
    for m in msgs[100:]:
        assert dec.decode(enc.encode(m)) == m
