"""Dictionary economics (spec/session.md §6.8): what a dictionary saves per message, and when it pays.

A dictionary saves bytes only on messages coded after the switch, while its
transfer costs bytes at once.  :func:`measure_saving` measures the saving per
message on held-back traffic (the same coding with and without the dictionary,
context mode as on a connection); :func:`break_even` turns a saving and a
transfer size into the number of messages after which the dictionary has paid
for itself.  The server announces the saving in HELLO (key 96 + i) and the
client fetches once its traffic passes the break-even point.
:func:`choose_size` trains candidate sizes and keeps the one that saves the most
over a target number of messages, transfer included.

Pure functions over the codec and training; no I/O here.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.encoder import Encoder
from aura_wire.training.dictionary import train_dictionary

__all__ = ["measure_saving", "break_even", "choose_size", "SizeCandidate"]


def measure_saving(dictionary: Dictionary, messages: Sequence[str | bytes], *, context: bool = True,
                   warmup: int | None = None, codec_config: Mapping[str, Any] | None = None) -> float:
    """Bytes per message a switch to the dictionary saves on ``messages`` (held-back traffic), >= 0.

    Models what a client that fetches mid-connection buys: one encoder codes every
    message without the dictionary; the other switches to the dictionary after the
    first ``warmup`` messages (default: a third) and, as a switch does (spec/session.md
    §6.4), starts there from fresh context state, so the history the connection had
    built is lost.  The saving is the difference over the messages after the switch
    point, per message: the restart's cost is in it, and a dictionary that only helps
    a cold start, which the connection's own history soon gives as well, announces
    little.  0.0 when the switch does not pay.  Pass the ``codec_config`` the server
    runs (its window shapes what the connection's own history gives).
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
        n = len(without.encode(m))
        if i >= warmup:
            diff += n - len(with_dict.encode(m))
    return max(0.0, diff / counted)


def break_even(transfer_bytes: int, saving_per_message: float) -> float:
    """Messages after which a transfer of ``transfer_bytes`` has paid for itself (inf if it never does)."""
    if saving_per_message <= 0:
        return math.inf
    return transfer_bytes / saving_per_message


class SizeCandidate(NamedTuple):
    """One trained size: content budget, dictionary, its transfer size, saving and net gain."""

    size: int
    dictionary: Dictionary
    transfer: int
    saving: float
    net: float  # saving x target_messages - transfer: bytes gained over the target session


def choose_size(fit: Sequence[str | bytes], held: Sequence[str | bytes], *, target_messages: int,
                transfer_size: Callable[[Dictionary], int], sizes: Sequence[int] = (8192, 16384, 32768, 65536),
                context: bool = True, codec_config: Mapping[str, Any] | None = None,
                **train_options: Any) -> tuple[SizeCandidate, list[SizeCandidate]]:
    """Train one dictionary per content budget in ``sizes`` (zstd and BRIO sections alike) and pick the one
    with the largest net gain over ``target_messages``: saving per message on ``held`` times the target,
    minus ``transfer_size`` (the bytes a client downloads).  Returns (best, every candidate).
    """
    out = []
    for size in sizes:
        d = train_dictionary(fit, zstd_dict_size=size, brio_content_size=size, **train_options)
        saving = measure_saving(d, held, context=context, codec_config=codec_config)
        transfer = transfer_size(d)
        out.append(SizeCandidate(size, d, transfer, saving, saving * target_messages - transfer))
    best = max(out, key=lambda c: (c.net, -c.transfer))
    return best, out
