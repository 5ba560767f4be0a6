"""Dictionary economics (spec/session.md §6.8): what a dictionary saves per message, and when it pays.

A dictionary saves bytes only on messages coded after the switch, while its
transfer costs bytes at once.  :func:`measure_saving` measures the saving per
message on held-back traffic (the same coding with and without the dictionary,
context mode as on a connection); :func:`break_even` turns a saving and a
transfer size into the number of messages after which the dictionary has paid
for itself.  The server announces the saving in HELLO (key 96 + i) and the
client fetches once its traffic passes the break-even point.

Pure functions over the codec; no I/O here.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.encoder import Encoder

__all__ = ["measure_saving", "break_even"]


def measure_saving(dictionary: Dictionary, messages: Sequence[str | bytes], *, context: bool = True,
                   warmup: int | None = None, codec_config: Mapping[str, Any] | None = None) -> float:
    """Bytes per message the dictionary saves on ``messages`` (held-back traffic), >= 0.

    Both encoders code the messages in order; the first ``warmup`` (default: a
    third) are not counted, so the figure is the saving on a connection that
    already has a history, which is what a client that fetches mid-connection
    buys (the connection's own history gives much of the gain a dictionary
    gives to a cold start).  0.0 when the dictionary does not help.
    """
    if warmup is None:
        warmup = len(messages) // 3
    counted = len(messages) - warmup
    if counted <= 0:
        return 0.0
    cfg = dict(codec_config or {})
    without = Encoder(None, context=context, **cfg)
    with_dict = Encoder(dictionary, context=context, **cfg)
    diff = 0
    for i, m in enumerate(messages):
        d = len(without.encode(m)) - len(with_dict.encode(m))
        if i >= warmup:
            diff += d
    return max(0.0, diff / counted)


def break_even(transfer_bytes: int, saving_per_message: float) -> float:
    """Messages after which a transfer of ``transfer_bytes`` has paid for itself (inf if it never does)."""
    if saving_per_message <= 0:
        return math.inf
    return transfer_bytes / saving_per_message
