"""Access to ../shared/corpora for tests: skip with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import aura_wire
from aura_wire.files import load_messages

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"
NAMES = [
    "cdp_devtools_cnn", "chat_ubuntu_irc", "json_github_webhooks", "llm_stream_vercel", "logs_android",
    "logs_hdfs", "logs_openssh", "market_binance", "market_coinbase",
]


def have_corpora() -> bool:
    return (CORPORA / "manifest.json").exists()


def load(name: str, limit: int | None = None) -> list[str]:
    """Messages of one corpus in order; skips the test when the corpora are absent."""
    path = CORPORA / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"corpus {path} is absent (the corpora live in ../shared/corpora beside the repo)")
    return load_messages(path, limit=limit, field="m")


def halves(name: str) -> tuple[list[str], list[str]]:
    """(training half, measured half); both are cut short in the pure build (it is ~50x slower)."""
    msgs = load(name)
    mid = len(msgs) // 2
    train, test = msgs[:mid], msgs[mid:]
    if not aura_wire.compiled:
        limit = int(os.environ.get("AURA_WIRE_PURE_CORPUS_LIMIT", "150"))
        train, test = train[-4 * limit :], test[:limit]
    return train, test
