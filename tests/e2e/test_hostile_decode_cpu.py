"""Issue 19 item 4: a hostile context frame must not drive the server's decode CPU far above normal.

A 64 KiB message of nested arrays, sent again and again as a context frame, shrinks to a few dozen
bytes on the wire (BRIO codes each repeat against the previous one).  A v1 decoder re-parsed every
decoded message to mirror the encoder's template learner, so each such frame cost the server
milliseconds: hundreds of times the CPU per received byte of normal traffic.  Wire v2 decoders do
no such work (spec/wire-format.md §1, §7).  Measured over a real socket: uvicorn + AuraMiddleware
in a separate process (its own CPU clock), the real client.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from aura_wire.client import connect

if __name__ == "__main__":  # run as a script: conftest's helpers are one folder up
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import bound_socket

HERE = Path(__file__).resolve().parent

#: hostile over normal decode CPU per received byte must stay below this (issue 19: at most 20x)
MAX_RATIO = 20.0


def normal_messages(n: int) -> list[str]:
    """Market-feed-like JSON events (the shape of ../shared/corpora/market_binance.jsonl), deterministic."""
    out = []
    price = 42000.0
    for i in range(n):
        price += ((i * 7919) % 13 - 6) * 0.01
        out.append(json.dumps({"e": "trade", "E": 1700000000000 + 37 * i, "s": "BTCUSDT", "t": 3000000 + i,
                               "p": f"{price:.2f}", "q": f"{((i * 104729) % 997) / 1000:.5f}",
                               "T": 1700000000000 + 37 * i - 2, "m": i % 3 == 0, "M": True},
                              separators=(",", ":")))
    return out


def hostile_message(size: int = 64 * 1024) -> str:
    """Nested arrays, about ``size`` bytes of JSON: a parse-heavy shape that repeats exactly."""
    unit = "[[0,[1,[2,[3]]]],[4,5],[[6]]]"
    return "[" + ",".join([unit] * (size // (len(unit) + 1))) + "]"


async def _server_cpu(conn: object) -> float:
    await conn.send("cpu?")  # type: ignore[attr-defined]
    return float(await conn.recv())  # type: ignore[attr-defined]


async def _phase(conn: object, messages: list[str]) -> tuple[float, int]:
    """(server CPU seconds, wire bytes the server received) for sending ``messages`` one by one."""
    stats = conn.stats  # type: ignore[attr-defined]
    cpu0 = await _server_cpu(conn)
    wire0 = stats.sent_wire_bytes
    for m in messages:
        await conn.send(m)  # type: ignore[attr-defined]
        assert await conn.recv() == "ok"  # type: ignore[attr-defined]
    wire = stats.sent_wire_bytes - wire0
    cpu = await _server_cpu(conn) - cpu0
    return cpu, wire


async def measure(normal: list[str], hostile_repeats: int) -> dict[str, float]:
    sock = bound_socket()
    port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(HERE / "cpu_probe_server.py"), str(sock.fileno())],
                            pass_fds=[sock.fileno()], stdout=subprocess.PIPE, env=dict(os.environ))
    sock.close()
    try:
        assert proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        assert line.strip() == b"ready"
        async with connect(f"ws://127.0.0.1:{port}/", dictionary_cache=False) as conn:
            assert conn.aura
            # warm up both sides (imports, first frames) before measuring
            await _phase(conn, normal[:50])
            cpu_n, wire_n = await _phase(conn, normal)
            hostile = hostile_message()
            await _phase(conn, [hostile])
            cpu_h, wire_h = await _phase(conn, [hostile] * hostile_repeats)
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    per_n = cpu_n / wire_n
    per_h = cpu_h / wire_h
    return {"normal_us_per_byte": 1e6 * per_n, "hostile_us_per_byte": 1e6 * per_h,
            "ratio": per_h / per_n, "hostile_bytes_per_frame": wire_h / hostile_repeats,
            "hostile_ms_per_frame": 1e3 * cpu_h / hostile_repeats}


async def test_hostile_context_frame_costs_bounded_cpu_per_byte() -> None:
    normal = normal_messages(400)
    got = await measure(normal, hostile_repeats=20)
    print(json.dumps(got))
    assert got["ratio"] <= MAX_RATIO, got


if __name__ == "__main__":  # figures for the closing note: python tests/e2e/test_hostile_decode_cpu.py
    print(json.dumps(asyncio.run(measure(normal_messages(1000), 40)), indent=1))
