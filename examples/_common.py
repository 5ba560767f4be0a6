"""Helpers shared by the examples: where the dictionary comes from, and sample messages.

A dictionary is loaded from ``--dictionary PATH`` when given, else trained on the
first messages of a corpus in ``../shared/corpora/`` (next to the repository), else on
a small built-in sample.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from aura_wire import Dictionary, load_dictionary as read_dictionary_file, train_dictionary

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


def sample_messages(corpus: str, n: int, skip: int = 0) -> list[str]:
    path = CORPORA / f"{corpus}.jsonl"
    if path.exists():
        out = []
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= skip + n:
                    break
                if i >= skip:
                    out.append(json.loads(line)["m"])
        return out
    rng = random.Random(skip)
    users = ["alice", "bob", "carol", "dave", "erin"]
    words = "hello there how is the deploy going today it works on my machine ship it".split()
    return [json.dumps({"type": "message", "room": "general", "user": rng.choice(users),
                        "text": " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))),
                        "ts": 1700000000 + skip + i}) for i in range(n)]


def load_dictionary(path: str | None, corpus: str, n: int = 150) -> Dictionary:
    if path:
        return read_dictionary_file(path)
    print(f"training a dictionary on {n} messages of {corpus!r} (pass --dictionary to skip this)...")
    return train_dictionary(sample_messages(corpus, n), templates=False, name=corpus)
