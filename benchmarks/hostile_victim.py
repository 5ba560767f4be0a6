"""A victim's echo latency while another connection floods the server with hostile frames (issue 19, item 4).

One uvicorn + AuraMiddleware server in its own process (tests/e2e/cpu_probe_server.py) serves two
kinds of clients, all with the real aura_wire client:

* the **victim**: one connection on ``/echo`` that sends a market-feed JSON message every
  ``--interval`` seconds and measures the round trip until the same message comes back (every
  echoed message is compared with the one sent);
* the **attacker**: another process, one connection on ``/sink`` (the server acknowledges every
  message with "ok"), sending as fast as it can:

  ==========  ==================================================================================
  hostile     issue 19 item 4's frame: a 64 KiB message of nested arrays, sent again and again as a
              context frame, 24 bytes on the wire.  The client's encoder takes ~100 ms to code each
              repeat in pure Python, so the attacker crafts the repeats itself: after the first three
              (coded by the real encoder), repeat k+1 is repeat k with its last byte, the check byte,
              replaced by the next link of the check chain (spec/wire-format.md §5.4, computed with
              ``frame_check`` over the known message).  The first crafted frame is compared with the
              encoder's own before the attack starts.
  normal      the same flood with ordinary market-feed messages coded by the real client (for
              comparison: any flood competes for the server's one event loop).
  ==========  ==================================================================================

Phases of ``--seconds`` each, interleaved in one run: idle (no attacker), hostile, normal, repeated
``--rounds`` times.  Reported per kind, pooled over rounds: the victim's round-trip p50/p95/p99/max,
the attacker's frames and wire bytes per second, and the server's CPU (fraction of one core, read
inside the server process).  The machine may be shared: compare the phases of one run, not runs.

    python benchmarks/hostile_victim.py                       # 3 rounds of 6 s phases
    python benchmarks/hostile_victim.py --seconds 10 --rounds 2 --json out.json

Run from a compiled build for honest absolute numbers; the report says which build ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# run as a script from anywhere: the package (when not installed) and the tests' helpers
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "e2e")]

import aura_wire  # noqa: E402
from aura_wire.client import connect  # noqa: E402
from aura_wire.codec.frame import frame_check  # noqa: E402
from conftest import bound_socket  # noqa: E402
from test_hostile_decode_cpu import hostile_message, normal_messages  # noqa: E402

SERVER = REPO / "tests" / "e2e" / "cpu_probe_server.py"
KINDS = ("idle", "hostile", "normal")


# ---------------------------------------------------------------------------
# attacker (its own process)
# ---------------------------------------------------------------------------


async def _crafted_hostile(conn: Any) -> Any:
    """Yield hostile frames forever: three coded by the client's encoder, then crafted repeats."""
    msg = hostile_message()
    data = msg.encode()
    encoder = conn.session._encoder  # the connection's own encoder: the chain continues from its state
    frames = []
    for _ in range(3):
        check = encoder._check
        frames.append(conn.session.encode(msg))
    # repeat 3 crafted from repeat 2 and the chain value before it must be the encoder's own frame
    crafted = frames[1][:-1] + bytes([frame_check(check, data, b"", frames[1][:1]) & 0xFF])
    if crafted != frames[2] or len(frames[2]) != len(frames[1]):
        raise RuntimeError("the hostile repeat is not its predecessor with a new check byte: cannot craft it")
    for f in frames:
        yield f
    prefix, header, chain = frames[2][:-1], frames[2][:1], encoder._check
    while True:
        chain = frame_check(chain, data, b"", header)
        yield prefix + bytes([chain & 0xFF])


async def _normal_frames(conn: Any) -> Any:
    msgs = normal_messages(2000)
    i = 0
    while True:
        yield conn.session.encode(msgs[i % len(msgs)])
        i += 1


async def attacker(url: str, kind: str, window: int) -> None:
    loop = asyncio.get_running_loop()
    go, stop = asyncio.Event(), asyncio.Event()

    def control() -> None:  # "go" then "stop" (or EOF) on stdin
        for line in sys.stdin:
            loop.call_soon_threadsafe((go if line.strip() == "go" else stop).set)
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=control, daemon=True).start()
    async with connect(url, dictionary_cache=False, websocket_options={"ping_interval": None}) as conn:
        assert conn.aura and conn.session is not None
        gen = _crafted_hostile(conn) if kind == "hostile" else _normal_frames(conn)
        first = await gen.__anext__()  # crafting checked (hostile) before the attack starts
        acks = 0
        acked = asyncio.Event()

        async def drain() -> None:
            nonlocal acks
            while True:
                got = await conn.recv()
                if got != "ok":
                    raise RuntimeError(f"unexpected answer {got!r}")
                acks += 1
                acked.set()

        print("ready", flush=True)
        await go.wait()
        reader = asyncio.ensure_future(drain())
        sent = wire = 0
        t0 = time.perf_counter()
        frame = first
        error = None
        try:
            while not stop.is_set():
                if sent - acks >= window:  # the server has enough of our frames queued: wait for it
                    acked.clear()
                    waiter = asyncio.ensure_future(acked.wait())
                    await asyncio.wait([waiter, reader], return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    if reader.done():
                        reader.result()
                    continue
                await conn.ws.send(frame)
                sent += 1
                wire += len(frame)
                if sent % 16 == 0:
                    await asyncio.sleep(0)  # let the ack reader and the stop signal run
                frame = await gen.__anext__()
        except Exception as exc:  # the server refused a frame: report it, the phase is void
            error = repr(exc)
        elapsed = time.perf_counter() - t0
        reader.cancel()
        print(json.dumps({"sent": sent, "acked": acks, "wire_bytes": wire, "seconds": elapsed, "error": error}),
              flush=True)


# ---------------------------------------------------------------------------
# victim and orchestration (this process)
# ---------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def _server_cpu(probe: Any) -> float:
    await probe.send("cpu?")
    return float(await probe.recv())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sock = bound_socket()
    port = sock.getsockname()[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(aura_wire.__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    server = subprocess.Popen([sys.executable, str(SERVER), str(sock.fileno())], pass_fds=[sock.fileno()],
                              stdout=subprocess.PIPE, env=env)
    sock.close()
    loop = asyncio.get_running_loop()
    samples: list[tuple[float, float]] = []  # (send time, round trip)
    windows: list[tuple[str, float, float]] = []
    attacks: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    try:
        assert server.stdout is not None
        line = await loop.run_in_executor(None, server.stdout.readline)
        assert line.strip() == b"ready", line
        base = f"ws://127.0.0.1:{port}"
        opts = {"dictionary_cache": False, "websocket_options": {"ping_interval": None}}
        async with connect(base + "/echo", **opts) as victim, connect(base + "/sink", **opts) as probe:
            assert victim.aura and probe.aura
            stop = asyncio.Event()

            async def ping() -> None:
                msgs = normal_messages(1000)
                i = 0
                while not stop.is_set():
                    m = msgs[i % len(msgs)]
                    i += 1
                    t = time.perf_counter()
                    await victim.send(m)
                    got = await victim.recv()
                    rtt = time.perf_counter() - t
                    if got != m:
                        raise RuntimeError("the victim's echo differs from what it sent")
                    samples.append((t, rtt))
                    await asyncio.sleep(max(0.0, args.interval - rtt))

            pinger = asyncio.ensure_future(ping())
            await asyncio.sleep(1.0)  # warm up both sides
            for r in range(args.rounds):
                for kind in KINDS:
                    proc = None
                    if kind != "idle":
                        proc = subprocess.Popen([sys.executable, __file__, "--attack", base + "/sink", "--kind", kind,
                                                 "--window", str(args.window)],
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
                        assert proc.stdout is not None and proc.stdin is not None
                        ready = await loop.run_in_executor(None, proc.stdout.readline)
                        if ready.strip() != "ready":
                            raise RuntimeError(f"attacker did not start: {ready!r}")
                        await asyncio.sleep(0.5)  # its setup's CPU out of the window
                    c0 = await _server_cpu(probe)
                    t0 = time.perf_counter()
                    if proc is not None:
                        assert proc.stdin is not None
                        proc.stdin.write("go\n")
                        proc.stdin.flush()
                    await asyncio.sleep(args.seconds)
                    t1 = time.perf_counter()
                    c1 = await _server_cpu(probe)
                    windows.append((kind, t0, t1))
                    cpu[kind].append((c1 - c0) / (t1 - t0))
                    if proc is not None:
                        assert proc.stdin is not None and proc.stdout is not None
                        proc.stdin.close()
                        out = await loop.run_in_executor(None, proc.stdout.read)
                        proc.wait(30)
                        stats = json.loads(out.strip().splitlines()[-1])
                        if stats["error"]:
                            raise RuntimeError(f"{kind} attacker failed: {stats['error']}")
                        attacks[kind].append(stats)
                    print(f"  round {r + 1} {kind}: {sum(1 for t, _ in samples if t0 <= t < t1)} pings, server cpu "
                          f"{cpu[kind][-1]:.2f}", file=sys.stderr, flush=True)
            stop.set()
            await pinger
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    res: dict[str, Any] = {"build": "compiled" if aura_wire.compiled else "pure", "seconds": args.seconds,
                           "rounds": args.rounds, "interval_ms": 1e3 * args.interval, "load": os.getloadavg()}
    for kind in KINDS:
        rtts = [1e3 * rtt for (t, rtt) in samples for (k, t0, t1) in windows if k == kind and t0 <= t < t1]
        row: dict[str, Any] = {"pings": len(rtts), "p50_ms": pct(rtts, 0.50), "p95_ms": pct(rtts, 0.95),
                               "p99_ms": pct(rtts, 0.99), "max_ms": max(rtts, default=float("nan")),
                               "server_cpu": statistics.mean(cpu[kind])}
        if attacks[kind]:
            secs = sum(a["seconds"] for a in attacks[kind])
            row["attack_frames_per_s"] = sum(a["sent"] for a in attacks[kind]) / secs
            row["attack_wire_bytes_per_s"] = sum(a["wire_bytes"] for a in attacks[kind]) / secs
            row["attack_acked_per_s"] = sum(a["acked"] for a in attacks[kind]) / secs
        res[kind] = row
    return res


def report(res: dict[str, Any]) -> str:
    lines = [f"# victim echo round trip while another connection floods the server ({res['build']} build, "
             f"{res['rounds']} rounds x {res['seconds']} s per phase, a ping every {res['interval_ms']:.0f} ms; "
             f"load {res['load'][0]:.1f})",
             f"{'phase':<8} {'pings':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'server cpu':>10} "
             f"{'attack fr/s':>11} {'acked fr/s':>10} {'attack B/s':>10}"]
    for kind in KINDS:
        r = res[kind]
        lines.append(f"{kind:<8} {r['pings']:>6} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                     f"{r['max_ms']:>8.1f} {r['server_cpu']:>10.2f} {r.get('attack_frames_per_s', 0):>11.0f} "
                     f"{r.get('attack_acked_per_s', 0):>10.0f} "
                     f"{r.get('attack_wire_bytes_per_s', 0):>10.0f}")
    h, i = res["hostile"], res["idle"]
    lines.append(f"p95 under the hostile flood: {h['p95_ms']:.1f} ms ({h['p95_ms'] / i['p95_ms']:.1f}x idle; "
                 f"issue 19 target <= 100 ms: {'met' if h['p95_ms'] <= 100 else 'NOT met'})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each phase")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--interval", type=float, default=0.01, help="the victim's ping interval (s)")
    ap.add_argument("--window", type=int, default=64,
                    help="frames the attacker keeps unacknowledged: enough to keep the server busy with its "
                    "connection at all times, without spinning on full socket buffers")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--attack", metavar="URL", help=argparse.SUPPRESS)  # internal: run as the attacker
    ap.add_argument("--kind", choices=KINDS[1:], default="hostile", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.attack:
        asyncio.run(attacker(args.attack, args.kind, args.window))
        return 0
    res = asyncio.run(run(args))
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
