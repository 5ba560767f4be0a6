"""Every message of every corpus round-trips exactly, in both modes (issue: codec core, done-when).

The dictionary is trained on the first half of each corpus and the second half
is coded in order as one connection.  In the pure-Python build the measured
half is cut short (AURA_WIRE_PURE_CORPUS_LIMIT, default 150 messages).
"""

from __future__ import annotations

import pytest

import _corpora
from aura_wire import Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.codec.frame import MASK_METHOD, METHOD_STATE

pytestmark = pytest.mark.corpora

_DICTS: dict[str, Dictionary] = {}


def trained(name: str, train: list[str]) -> Dictionary:
    if name not in _DICTS:
        _DICTS[name] = train_dictionary(train, name=name)
    return _DICTS[name]


@pytest.mark.parametrize("name", _corpora.NAMES)
@pytest.mark.parametrize("context", [True, False], ids=["context", "stateless"])
def test_corpus_round_trip(name: str, context: bool) -> None:
    train, test = _corpora.halves(name)
    d = trained(name, train)
    enc, dec = Encoder(d, context=context), Decoder(d, context=context)
    for i, m in enumerate(test):
        f = enc.encode(m)
        # wire-format §3 expansion bound: header + check byte, plus a STATE frame's instruction block
        if f[0] & MASK_METHOD != METHOD_STATE:
            assert len(f) <= len(m.encode()) + 2, f"message {i} expanded by more than 2 bytes"
        out = dec.decode(f)
        assert out == m, f"message {i} of {name} did not round-trip"
    assert enc.metrics.wire_bytes < enc.metrics.original_bytes
