"""Rebuild sample.jsonl (the demo's bundled stream) from ../shared/corpora.

Only permissively licensed corpora are used (see ATTRIBUTION.md): slices of
llm_stream_vercel (Apache-2.0) and market_coinbase / market_binance
(XFree86 1.1).  Each slice is a contiguous run of messages in their original
order; the three are interleaved in proportion (each keeps its order), so any
prefix of the file holds a proportional share of each, and the demo's
"first half trains, second half is replayed" split sees every kind in both
halves.  Each line is ``{"m": <message>, "src": <corpus>, "i": <index in the
corpus>}``.  Run from the repository root:
``python aura_wire/data/make_sample.py ../shared/corpora``.
"""

from __future__ import annotations

import json
import os
import sys

#: (corpus, first message index, end index): contiguous slices of the corpora.
SLICES: list[tuple[str, int, int]] = [
    ("llm_stream_vercel", 3400, 3530),  # Anthropic Messages stream events
    ("llm_stream_vercel", 6500, 6630),  # OpenAI-compatible chat.completion.chunk
    ("llm_stream_vercel", 8900, 9030),  # OpenAI Responses events
    ("market_coinbase", 3000, 3420),
    ("market_binance", 1000, 1240),
]
MAX_MESSAGE = 8192  # larger messages (order-book snapshots) are left out of the slices


def build(corpora: str) -> list[dict[str, object]]:
    runs: list[list[dict[str, object]]] = []
    for name, start, end in SLICES:
        with open(os.path.join(corpora, name + ".jsonl"), encoding="utf-8") as f:
            msgs = [json.loads(line)["m"] for line in f]
        runs.append([{"m": msgs[i], "src": name, "i": i} for i in range(start, end)
                     if len(msgs[i].encode("utf-8")) <= MAX_MESSAGE])
    keyed = [((j + 0.5) / len(run), k, rec) for k, run in enumerate(runs) for j, rec in enumerate(run)]
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [rec for _, _, rec in keyed]


def main(argv: list[str]) -> int:
    corpora = argv[1] if len(argv) > 1 else os.path.join("..", "shared", "corpora")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.jsonl")
    recs = build(corpora)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{out}: {len(recs)} messages, {os.path.getsize(out)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
