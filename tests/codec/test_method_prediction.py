"""Encoder method prediction per template (Encoder._tpred_skip): a JSON template whose messages keep
going BRIO by a clear margin is no longer coded for every message; frames still round-trip."""

from __future__ import annotations

import json
import random

from aura_wire import train_dictionary
from aura_wire.codec.decoder import Decoder
from aura_wire.codec.encoder import Encoder


def _messages(seed: int, count: int, start: int) -> list[str]:
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghij") for _ in range(5)) for _ in range(40)]
    # one JSON shape whose long text value BRIO codes from the history far better than a template slot
    return [json.dumps({"method": "Page.frameNavigated",
                        "params": {"id": start + i, "html": " ".join(rng.choice(words) for _ in range(60))}})
            for i in range(count)]


def _run(level: int) -> tuple[Encoder, int]:
    d = train_dictionary(_messages(7, 200, 0))
    enc = Encoder(d, context=True, level=level)
    dec = Decoder(d, context=True, level=level)
    msgs = _messages(8, 150, 1000)
    for m in msgs:
        assert dec.decode(enc.encode(m)) == m
    return enc, len(msgs)


def test_template_losing_to_brio_is_not_coded_every_time() -> None:
    enc, n = _run(3)
    assert enc.metrics.by_method["brio"][0] >= n - 5
    # after two clear losses in a row its payload is not coded for 1, 2, 4 ... up to 16 messages
    assert enc._tskipped > n // 2, enc._tskipped


def test_level_4_codes_every_template_trial() -> None:
    enc, _ = _run(4)
    assert enc._tskipped == 0 and not enc._tpred
