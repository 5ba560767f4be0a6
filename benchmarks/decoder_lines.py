"""Lines of code a decoder runs, and which encoder heuristics it runs, for one checkout.

Encodes the first messages of each corpus as one context connection (with a dictionary trained on
the messages before them), then decodes the frames under a line tracer that records every line of
``aura_wire`` executed inside ``Decoder.decode``.  Prints the number of distinct lines, per module,
and whether the matcher and learner of the template method ran (v1 decoders re-ran them after
every frame; v2 decoders must not).  Run once per checkout (pure Python):

    PYTHONPATH=/tmp/aura-v1 python benchmarks/decoder_lines.py ../shared/corpora/*.jsonl
    PYTHONPATH=. python benchmarks/decoder_lines.py ../shared/corpora/*.jsonl
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

#: functions of the template matcher and learner (encoder heuristics), by name, in v1 and v2
HEURISTICS = ("match", "_match_json", "_match_text", "_learn_json", "_learn_text", "_add_runtime",
              "_replace_runtime", "parse", "holes", "skeleton", "tokenize", "text_matches", "common_affixes")


def main() -> int:
    os.environ.setdefault("AURA_WIRE_PURE", "1")
    import aura_wire
    from aura_wire import Decoder, Encoder

    try:
        from aura_wire.training.dictionary import train_dictionary

        def trainer(msgs: list[str]) -> Any:
            return train_dictionary(msgs)
    except ImportError:
        from aura_wire import Dictionary

        def trainer(msgs: list[str]) -> Any:
            return Dictionary.train(msgs)

    root = str(Path(aura_wire.__file__).resolve().parent)
    lines: set[tuple[str, int]] = set()
    funcs: Counter[str] = Counter()

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        f = frame.f_code.co_filename
        if not f.startswith(root):
            return None
        if event == "call":
            funcs[frame.f_code.co_name] += 1
        elif event == "line":
            lines.add((f[len(root) + 1:], frame.f_lineno))
        return tracer

    for corpus in sys.argv[1:]:
        with open(corpus, encoding="utf-8") as f:
            msgs = [json.loads(line)["m"] for line in f.readlines()[:400]]
        d = trainer(msgs[:200])
        enc = Encoder(d, context=True)
        frames = [enc.encode(m) for m in msgs[200:]]
        dec = Decoder(d, context=True)
        sys.settrace(tracer)
        try:
            for fr in frames:
                dec.decode(fr)
        finally:
            sys.settrace(None)
    per_module = Counter(f for f, _ in lines)
    print(json.dumps({"version": getattr(aura_wire, "__version__", "?"), "distinct_lines": len(lines),
                      "per_module": dict(sorted(per_module.items())),
                      "heuristic_calls": {k: funcs[k] for k in HEURISTICS if funcs[k]}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
