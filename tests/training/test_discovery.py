"""TemplateDiscoveryEngine: mining, promotion, id ranges and the privacy guard (spec/templates.md §6)."""

from __future__ import annotations

import pytest

from aura_wire.training.discovery import TemplateDiscoveryEngine, looks_sensitive
from aura_wire.codec.templates.coders import TemplateEncoder
from aura_wire.codec.templates.section import TemplateSet
from aura_wire.errors import ConfigError, LimitError

LOGS = [f"Request {i:04x} completed in {i * 3 % 97}ms" for i in range(40)] + [
    f"Accepted password for {('root', 'admin', 'bob')[i % 3]} from 10.0.{i}.1 port {5000 + i} ssh2" for i in range(40)
]
EVENTS = [f'{{"type":"tick","sym":"{("BTC", "ETH")[i % 2]}","px":"{100 + i}.5","n":{i}}}' for i in range(30)]


def test_discover_finds_text_and_json_candidates() -> None:
    eng = TemplateDiscoveryEngine(min_frequency=5, min_compression_advantage=2.0, min_distinct=8)
    cands = eng.discover(LOGS + EVENTS)
    patterns = [c.pattern for c in cands]
    assert any("completed in {}" in p for p in patterns)
    assert any(p.startswith('{"type":"tick"') for p in patterns)
    for c in cands:
        assert c.frequency >= 5 and c.distinct >= 8
        assert c.advantage > 2.0
    freqs = [c.frequency for c in cands]
    assert freqs == sorted(freqs, reverse=True)


def test_promote_assigns_ids_in_range_and_builds_section() -> None:
    eng = TemplateDiscoveryEngine(id_range=(100, 101), min_distinct=8)
    cands = eng.discover(LOGS + EVENTS)
    assert len(cands) >= 3
    assert eng.promote_template(cands[0]) == 100
    assert eng.promote_template(cands[0]) == 100  # idempotent
    assert eng.promote_template(cands[1]) == 101
    with pytest.raises(LimitError):
        eng.promote_template(cands[2])
    ts = TemplateSet.from_section(eng.build_section())
    assert sorted(ts.templates) == [100, 101]
    enc = TemplateEncoder(ts, context=False)
    hits = sum(1 for m in LOGS + EVENTS if enc.encode(m.encode(), True) is not None)
    assert hits >= 40


def test_bad_config() -> None:
    with pytest.raises(ConfigError):
        TemplateDiscoveryEngine(min_frequency=0)
    with pytest.raises(ConfigError):
        TemplateDiscoveryEngine(id_range=(5, 1))


@pytest.mark.parametrize("tok", [
    b"alice@example.com", b"sk-proj-AbC123xYz9QwErTy77LmNoP", b"4A8FF3A94E53CF376A55F4071EC47FD3",
    b"chatcmpl-3792851e-8f1b-9182-a1dc-b84603c81344", b"123456789012", b"AKIAIOSFODNN7EXAMPLE",
    b"MDQ6VXNlcjM5NjUyMzUx",
])
def test_sensitive_literals(tok: bytes) -> None:
    assert looks_sensitive(tok)


@pytest.mark.parametrize("tok", [b"content-type", b"bookTicker", b"dfs.DataNode$PacketResponder:",
                                 b"btcusd_211231@depth@100ms", b"Network.dataReceived", b"2021"])
def test_harmless_literals(tok: bytes) -> None:
    assert not looks_sensitive(tok)


def test_repeated_identifier_stays_a_slot() -> None:
    token = "tok_8f3KqPz71LmX0aB9cD2eF4gH"
    msgs = [f"session {token} renewed after {i}s" for i in range(20)]
    eng = TemplateDiscoveryEngine(min_frequency=2, min_distinct=3)
    for c in eng.discover(msgs):
        eng.promote_template(c)
    sec = eng.build_section()
    assert b"renewed" in sec and token.encode() not in sec
