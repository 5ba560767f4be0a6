"""Issue 19 item 5: no mutated frame header is ever delivered as an altered message.

In wire v1 the header byte was outside every check: flipping the text flag, or turning a context
frame into RAW, delivered the message altered (as bytes instead of text, or with trailing bytes).
Wire v2 puts the header bytes under the frame's check byte, hashed last, so a change of the header
alone is always detected and any other outcome passes with probability 2^-8 at most
(spec/wire-format.md §5.4).  Over a real socket: uvicorn + AuraMiddleware echoing every message,
the real client sending one context frame with its header byte mutated per connection, then one
ordinary frame.

The ordinary frame is what would catch a mutated header that is neither decoded nor refused: a
header turned into 0x07 makes the frame a CONTROL message, and many payloads then read as an optional
control type (0x40-0x7F).  An optional message must pass its CRC-32 before a receiver ignores it
(spec/session.md §4.4), so such a frame is refused (1002) at once; before that check it was lost and
only the next context frame's check noticed (1007).  A connection that went on after a lost frame
would count as ``lost``; one that answers nothing as ``unanswered``.  Both must stay 0, like
``altered``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from websockets.exceptions import ConnectionClosed

from aura_wire import AuraMiddleware
from aura_wire.client import connect

if __name__ == "__main__":  # run as a script: conftest's helpers are one folder up
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import serve_app

HERE = Path(__file__).resolve().parent


async def echo(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
               send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        ev = await receive()
        if ev["type"] == "websocket.disconnect":
            return
        if ev.get("text") is not None:
            await send({"type": "websocket.send", "text": ev["text"]})
        else:
            await send({"type": "websocket.send", "bytes": ev["bytes"]})


def traffic(n: int) -> list[str | bytes]:
    """A mix that exercises RAW, BRIO, TEMPLATE and ZSTD frames: JSON events, log lines, short and
    binary messages."""
    out: list[str | bytes] = []
    for i in range(n):
        k = i % 5
        if k == 0:
            out.append(json.dumps({"e": "trade", "s": "BTCUSDT", "t": 3000000 + i, "p": f"{42000 + i * 0.37:.2f}",
                                   "q": f"{(i * 104729 % 997) / 1000:.5f}", "m": i % 3 == 0},
                                  separators=(",", ":")))
        elif k == 1:
            out.append(f"081109 2035{i % 60:02d} {143 + i} INFO dfs.DataNode$PacketResponder: PacketResponder {i % 3} "
                       f"for block blk_{-1608999687919862906 + i * 7} terminating")
        elif k == 2:
            out.append("ok" if i % 2 else "ping")
        elif k == 3:
            out.append(bytes((i * 31 + j) & 0xFF for j in range(40 + i % 17)))
        else:
            out.append("{\"rows\":[" + ",".join(f"[{j},\"item-{j % 7}\",{j * 1.5}]" for j in range(60 + i % 9)) + "]}")
    return out


def mutate(header: int, rng: random.Random, trial: int) -> int:
    """Even trials flip one bit (all eight in turn), odd trials put a random other byte."""
    if trial % 2 == 0:
        return header ^ (1 << ((trial // 2) % 8))
    b = rng.randrange(255)
    return b if b < header else b + 1


async def run_mutations(url: str, trials: int, seed: int = 2026, start: int = 0,
                        progress: bool = False) -> dict[str, int]:
    """Trials ``start`` .. ``start + trials - 1``; each trial's mutation depends on its index only, so
    ranges of trials can run in parallel and add up."""
    msgs = traffic(40)
    counts = {"refused": 0, "intact": 0, "altered": 0, "lost": 0, "unanswered": 0}
    ws_url = url.replace("http", "ws") + "/"
    for trial in range(start, start + trials):
        rng = random.Random(seed * 1_000_003 + trial)
        warm = 1 + trial % 7
        target = msgs[(trial * 13 + warm) % len(msgs)]
        after = msgs[(trial * 13 + warm + 1) % len(msgs)]
        async with connect(ws_url, dictionary_cache=False) as conn:
            assert conn.aura and conn.session is not None
            for j in range(warm):
                m = msgs[(trial + j) % len(msgs)]
                await conn.send(m)
                assert await conn.recv() == m
            frame = conn.session.encode(target)
            await conn.ws.send(bytes([mutate(frame[0], rng, trial)]) + frame[1:])
            await conn.send(after)
            try:
                got = await asyncio.wait_for(conn.recv(), 10)
                if type(got) is type(target) and got == target:
                    got = await asyncio.wait_for(conn.recv(), 10)
                    counts["intact" if got == after else "altered"] += 1
                elif type(got) is type(after) and got == after:
                    counts["lost"] += 1
                else:
                    counts["altered"] += 1
            except ConnectionClosed:
                counts["refused"] += 1
            except TimeoutError:
                counts["unanswered"] += 1
        if progress and (trial + 1 - start) % 500 == 0:
            print(f"  {trial + 1 - start} of {trials}: {json.dumps(counts)}", file=sys.stderr, flush=True)
    return counts


async def test_no_header_mutation_is_delivered_altered() -> None:
    async with serve_app(AuraMiddleware(echo)) as url:
        counts = await run_mutations(url, 320)
    print(counts)
    assert counts["altered"] == counts["lost"] == counts["unanswered"] == 0, counts
    assert counts["refused"] + counts["intact"] == 320


if __name__ == "__main__":  # the figure for the closing note: python tests/e2e/test_header_mutations.py 10000 [--jobs 2]
    import argparse
    import subprocess

    ap = argparse.ArgumentParser(description="mutated frame headers over a real socket: how many were delivered altered")
    ap.add_argument("trials", type=int, nargs="?", default=10000)
    ap.add_argument("--start", type=int, default=0, help="index of the first trial")
    ap.add_argument("--jobs", type=int, default=1, help="processes, each with its own server and a range of trials")
    args = ap.parse_args()

    async def _main(n: int, start: int) -> dict[str, int]:
        async with serve_app(AuraMiddleware(echo)) as url:
            return await run_mutations(url, n, start=start, progress=True)

    if args.jobs <= 1:
        print(json.dumps(asyncio.run(_main(args.trials, args.start))))
    else:
        step = -(-args.trials // args.jobs)
        procs = [subprocess.Popen([sys.executable, __file__, str(min(step, args.trials - k * step)),
                                   "--start", str(args.start + k * step)], stdout=subprocess.PIPE, text=True)
                 for k in range(args.jobs) if k * step < args.trials]
        total: dict[str, int] = {}
        for p in procs:
            out, _ = p.communicate()
            if p.returncode:
                raise SystemExit(f"a job failed (exit {p.returncode})")
            for k, v in json.loads(out.strip().splitlines()[-1]).items():
                total[k] = total.get(k, 0) + v
        print(json.dumps(total))
