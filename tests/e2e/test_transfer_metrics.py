"""Every byte counts (issue: "count everything"): CONTROL frames and dictionary transfers, in-band and over
HTTP, appear in the server's metrics, Prometheus text and the client's stats, and the ratio includes them.

Real uvicorn + AuraMiddleware + aura_wire.client on 127.0.0.1; bytes also counted by a TCP relay.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_wire.client import connect
from aura_wire.middleware import AuraMiddleware
from aura_wire.ops.prometheus import render_prometheus
from aura_wire.session.transfer import coded_form
from conftest import count_bytes, echo_app, port_of, serve_app, trained_dictionary

MSGS = [f'{{"type":"ticker","product_id":"BTC-USD","price":"{40000 + i}.12","seq":{i}}}' for i in range(40)]


@pytest.mark.parametrize("fetch", ["inband", "http"])
async def test_control_frames_and_dictionary_transfers_are_counted(tmp_path: Path, fetch: str) -> None:
    d = trained_dictionary("market_coinbase", 300)
    mw = AuraMiddleware(echo_app, dictionary=d)
    async with serve_app(mw) as base:
        port = port_of(base)
        async with count_bytes(port) as relay:
            async with connect(f"ws://127.0.0.1:{relay.port}/echo", dictionary_cache=tmp_path, fetch=fetch,
                               fetch_when="now") as c:
                assert await c.wait_synced(30)
                for m in MSGS:
                    await c.send(m)
                    assert await c.recv() == m
                stats = c.stats
        server = mw.metrics()
    coded = len(coded_form(d, "br"))
    # Client: the transfer is in its stats and its ratio.
    assert stats.dictionary_bytes == coded
    assert stats.total_bytes == (stats.sent_wire_bytes + stats.received_wire_bytes + stats.control_bytes
                                 + (coded if fetch == "http" else 0))
    assert stats.ratio == pytest.approx((stats.sent_raw_bytes + stats.received_raw_bytes) / stats.total_bytes)
    # Server: both directions' CONTROL frames, the in-band CHUNK payloads or the HTTP body.
    assert server.control_bytes == stats.control_bytes
    if fetch == "inband":
        assert server.dictionary_inband_bytes == coded and server.dictionary_http_bytes == 0
        assert server.control_bytes > coded
    else:
        assert server.dictionary_http_bytes == coded and server.dictionary_inband_bytes == 0
    assert server.total_bytes == server.wire_bytes + server.control_bytes + server.dictionary_http_bytes
    assert server.ratio == pytest.approx(server.original_bytes / server.total_bytes) and server.ratio < server.data_ratio
    text = render_prometheus(server)
    route = "inband" if fetch == "inband" else "http"
    assert f'aura_wire_dictionary_transfer_bytes_total{{route="{route}"}} {coded}' in text
    assert f"aura_wire_control_bytes_total {server.control_bytes}" in text
    snap = mw.metrics_snapshot()["total"]
    assert snap["control_bytes"] == server.control_bytes and snap["dictionary_bytes"][route] == coded
    # The socket saw at least everything the metrics count (plus WebSocket and HTTP framing).
    assert relay.total >= server.total_bytes


def _deflate_sizes(messages: list[str]) -> int:
    import zlib

    c = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    total = 0
    for m in messages:
        out = c.compress(m.encode()) + c.flush(zlib.Z_SYNC_FLUSH)
        total += len(out) - 4
    return total


async def test_shadow_deflate_estimates_the_gain_over_permessage_deflate(tmp_path: Path) -> None:
    from aura_wire.ops.history import MetricsHistory

    mw = AuraMiddleware(echo_app, shadow_sample=1.0, shadow_max=1)
    async with serve_app(mw) as base:
        uri = base.replace("http://", "ws://") + "/echo"
        async with connect(uri, dictionary_cache=False) as c1, connect(uri, dictionary_cache=False) as c2:
            for m in MSGS:
                await c1.send(m)
                assert await c1.recv() == m
                await c2.send(m)
                assert await c2.recv() == m
            total = c1.stats.total_bytes  # the sampled connection (the first; shadow_max=1 leaves c2 out)
        server = mw.metrics()
    # Both directions of the one sampled connection, exactly as RFC 7692 would code them.
    assert server.shadow_messages == 2 * len(MSGS)
    assert server.shadow_deflate_bytes == 2 * _deflate_sizes(MSGS)
    assert server.shadow_aura_bytes <= total and server.shadow_aura_bytes > total - 200  # frames + CONTROL (HELLO)
    assert server.vs_deflate == pytest.approx(server.shadow_deflate_bytes / server.shadow_aura_bytes)
    assert server.vs_deflate > 1
    text = render_prometheus(server)
    assert f"aura_wire_vs_permessage_deflate_ratio {server.vs_deflate!r}" in text
    point = MetricsHistory().sample(server)
    assert point["vs_deflate"] == server.vs_deflate and point["interval"]["vs_deflate"] == server.vs_deflate
    assert mw.metrics_snapshot()["total"]["vs_deflate"]["messages"] == 2 * len(MSGS)


def test_shadow_options_are_checked() -> None:
    from aura_wire.errors import ConfigError

    with pytest.raises(ConfigError):
        AuraMiddleware(echo_app, shadow_sample=2.0)
    with pytest.raises(ConfigError):
        AuraMiddleware(echo_app, shadow_max=-1)
    with pytest.raises(ConfigError):
        AuraMiddleware(echo_app, shadow_budget=0)


def test_shadow_deflate_cpu_is_bounded() -> None:
    from aura_wire.metrics import ShadowDeflate

    s = ShadowDeflate(budget=1000, max_message=100)
    assert s.deflate_size("sent", "x" * 101) is None  # too long: not coded, budget untouched
    assert s.budget == 1000 and not s.spent
    sizes = [s.deflate_size("sent", MSGS[i]) for i in range(20)]
    assert sizes[0] == _deflate_sizes(MSGS[:1])  # the first message as RFC 7692 codes it
    after = s  # a new name: mypy keeps ``s.spent`` narrowed to False from the assert above
    assert after.spent and after.budget == 1000 - sum(len(m) for m in MSGS[:20])


async def test_shadow_sample_ends_after_its_budget(tmp_path: Path) -> None:
    big = "y" * 70000  # above the shadow's 64 KiB message limit: left out of both sides
    budget = sum(len(m) for m in MSGS[:10])  # both directions: spent after the 5th echo
    mw = AuraMiddleware(echo_app, shadow_sample=1.0, shadow_max=1, shadow_budget=budget)
    async with serve_app(mw) as base:
        uri = base.replace("http://", "ws://") + "/echo"
        async with connect(uri, dictionary_cache=False) as c1:
            await c1.send(big)
            assert await c1.recv() == big
            for m in MSGS:
                await c1.send(m)
                assert await c1.recv() == m
            conn = next(iter(mw.connections.values()))
            assert conn.shadow is None  # dropped: its zlib state freed
            # a later connection may be sampled again
            async with connect(uri, dictionary_cache=False) as c2:
                await c2.send(MSGS[0])
                assert await c2.recv() == MSGS[0]
                assert any(c.shadow is not None for c in mw.connections.values())
        server = mw.metrics()
    # 5 echoes on the first connection, 1 on the second, both directions each
    assert server.shadow_deflate_bytes == 2 * _deflate_sizes(MSGS[:5]) + 2 * _deflate_sizes(MSGS[:1])
    assert server.shadow_messages == 12
    assert server.shadow_aura_bytes < 2000  # the big echo's frames are not counted
