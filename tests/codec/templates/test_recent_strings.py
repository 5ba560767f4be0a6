"""The connection's recent strings (spec/templates.md §4.4): AtomCtx.add_recent against a plain model.

Encoder and decoder share AtomCtx, so a round trip cannot tell a wrong eviction
order; this checks the order itself: oldest first, a string used again moves to
the newest place, bounded by RECENT_MAX strings and RECENT_BYTES bytes.
"""

from __future__ import annotations

import random

from aura_wire.codec.templates.forms import RECENT_BYTES, RECENT_MAX, AtomCtx


def test_recent_strings_evict_the_oldest_first() -> None:
    r = random.Random(3)
    pool = [bytes(r.choice(b"abcdef") for _ in range(r.randrange(4, 129))) for _ in range(300)]
    ctx = AtomCtx([], {})
    model: list[tuple[int, bytes]] = []  # (sequence number, string), oldest first
    seq = 0
    evictions = 0
    for _ in range(5000):
        s = r.choice(pool[:40]) if r.random() < 0.5 else r.choice(pool)
        ctx.add_recent(s)
        model = [(q, v) for q, v in model if v != s] + [(seq, s)]
        seq += 1
        while len(model) > RECENT_MAX or sum(len(v) for _, v in model) > RECENT_BYTES:
            model.pop(0)
            evictions += 1
        assert ctx.recent == {v: q for q, v in model}
        assert ctx.recent_by_seq == dict(model)
        assert list(ctx.recent_by_seq) == [q for q, _ in model]
        assert ctx.recent_bytes == sum(len(v) for _, v in model) and ctx.rseq == seq
    assert evictions > 1000
