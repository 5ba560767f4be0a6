"""Browser end to end: uvicorn + AuraMiddleware serve a page; headless Chromium runs AuraSocket.

The server streams a corpus slice to the page, the page checks every message against the corpus
and echoes it back, the server checks every echo: byte for byte on both sides. The WebSocket goes
through a counting TCP proxy (handshake and framing included); the page and the dictionary are
fetched from the server directly. Each corpus runs its pages in one browser profile:

* ``aura-warm``: AuraSocket on a fresh profile: fetches the dictionary over HTTP, caches it;
* then ``--reps`` times, interleaved:
  * ``aura``: AuraSocket again, the dictionary cached (named with ``aura.have``): a measured run;
  * ``plain``: the same page with a plain ``WebSocket``: Chromium's permessage-deflate.

Socket bytes: server -> client, the same for every repetition (checked: ``exact`` is False otherwise);
``aura up`` / ``pmd up``: client -> server (the echo: AuraSocket's stateless frames against Chromium's
permessage-deflate), handshake included.

Timing (``--stall``): the page holds its main thread after ``open`` until the whole stream is
queued (checked: the server's last send precedes the page's unblock, ``queued``), and echoes only
once the whole stream has arrived. The time between two onmessage calls is then what the page
spends receiving a message that is already there: for the plain page, Chromium's whole receive path
with permessage-deflate (inflate, IPC, event dispatch: socket arrival to onmessage; ``pmd rx``),
for the AURA page the same path without inflate plus AuraSocket's work (``aura rx``). ``decode`` is
the time inside AuraSocket's decode alone. ``dec/pmd`` = decode / pmd rx, the figure of the
issue's target (<= 2x). All three are means per message from the second message on (the page is
cross-origin isolated, so ``performance.now()`` resolves 5 us); the table shows each one's fastest
repetition (other processes on a shared machine only add time) and ``med``, the median over
repetitions of that repetition's decode / pmd rx. (Not the per-message minimum over repetitions:
Chromium delivers permessage-deflate messages in bursts, so single intervals vary a lot and their
minimum is biased low.) Every page is a fresh document, so the JavaScript decoder starts cold (JIT)
in every repetition.

Run: ``PYTHONPATH=. python benchmarks/browser_e2e.py [--n 1000] [--reps 3] [--ws sansio|websockets] [corpus ...]``
(needs ``npm ci && npm run build`` in clients/typescript and the Debian chromium).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TS = REPO / "clients" / "typescript"
CORPORA = REPO.parent / "shared" / "corpora"
if __name__ == "__main__":
    # run as a script from anywhere; imported by tests, pytest has set both paths (the tests' helpers are top-level modules)
    sys.path[:0] = [str(REPO), str(REPO / "tests")]

from aura_wire import AuraMiddleware, Dictionary  # noqa: E402
from conftest import count_bytes, serve_app  # noqa: E402
from aura_wire import train_dictionary  # noqa: E402
from aura_wire.files import load_messages  # noqa: E402

WS_IMPL = {
    "sansio": "aura_wire.middleware.servers:WebSocketsSansIOProtocol",  # pmd window 12, memLevel 5
    "websockets": "aura_wire.middleware.servers:WebSocketsProtocol",  # pmd window 15
}


def make_app(messages: list[str], results: dict[str, Any]) -> Any:
    """The page, the bundles, the corpus and the streaming echo endpoint (a Starlette app)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocket

    async def page(_request: Any) -> Any:
        # cross-origin isolated: performance.now() resolves to 5 us instead of 100 us (the page loads
        # only same-origin resources; its WebSocket is not subject to COEP)
        return FileResponse(TS / "test" / "e2e-page.html", headers={
            "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"})

    async def corpus(_request: Any) -> Any:
        return JSONResponse([{"t": m} for m in messages])

    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        run: dict[str, Any] = {"echo_mismatches": 0, "echoed": 0}
        results.setdefault("runs", []).append(run)
        for m in messages:
            await ws.send_text(m)
        run["sent_all_at"] = time.time() * 1000
        for m in messages:
            got = await ws.receive_text()
            run["echoed"] += 1
            if got != m:
                run["echo_mismatches"] += 1
        await ws.close(1000)
        run["closed"] = True

    return Starlette(routes=[Route("/", page), Route("/corpus.json", corpus),
                             Mount("/dist", app=StaticFiles(directory=TS / "dist")),
                             WebSocketRoute("/ws", stream)])


MODES = ("aura-warm", "aura", "plain")


async def run_corpus(messages: list[str], dictionary: Dictionary, *, ws_impl: str = "sansio",
                     stall_ms: int = 0, reps: int = 1, echo_after: bool = False) -> dict[str, Any]:
    """Run the pages in one browser: ``aura-warm``, then ``reps`` times ``aura`` and ``plain``.

    Returns, per mode, the page's report, the server's and the socket bytes (``aura`` and ``plain``: the
    first repetition), and under ``"reps"`` the list of (aura, plain) pairs of every repetition.
    """
    results: dict[str, Any] = {}
    app = AuraMiddleware(make_app(messages, results), dictionary)
    out: dict[str, Any] = {"reps": []}
    modes = ["aura-warm", *(["aura", "plain"] * reps)]
    async with serve_app(app, "uvicorn", ws=WS_IMPL[ws_impl]) as base:
        port = int(base.rsplit(":", 1)[1])
        async with count_bytes(port) as counter:
            ws_url = f"ws://127.0.0.1:{counter.port}/ws"
            echo = "&echo=after" if echo_after else ""
            urls = [f"{base}/?mode={'plain' if m == 'plain' else 'aura'}&ws={ws_url}&stall={stall_ms}{echo}" for m in modes]
            proc = await asyncio.create_subprocess_exec(
                "node", str(TS / "test" / "drive.mjs"), *urls, cwd=TS, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            assert proc.stdout is not None and proc.stdin is not None
            try:
                before = (0, 0)
                for k, mode in enumerate(modes):
                    line = await asyncio.wait_for(proc.stdout.readline(), 300)
                    if not line:
                        err = await proc.stderr.read() if proc.stderr else b""
                        raise RuntimeError(f"browser driver ended early: {err.decode()[-3000:]}")
                    # the page reports after its socket closed; wait until the server saw the close
                    for _ in range(500):
                        if len(results.get("runs", [])) > k and results["runs"][k].get("closed"):
                            break
                        await asyncio.sleep(0.01)
                    now = (counter.downstream, counter.upstream)
                    got = {"page": json.loads(line), "server": results["runs"][k],
                           "down": now[0] - before[0], "up": now[1] - before[1]}
                    out.setdefault(mode, got)
                    if mode == "aura":
                        out["reps"].append([got])
                    elif mode == "plain":
                        out["reps"][-1].append(got)
                    before = now
                    proc.stdin.write(b"next\n")
                    await proc.stdin.drain()
                proc.stdin.close()
                await asyncio.wait_for(proc.wait(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    return out


def load(name: str, n: int, skip: int = 0) -> list[str]:
    return load_messages(CORPORA / f"{name}.jsonl", limit=skip + n, field="m")[skip:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="*")
    ap.add_argument("--n", type=int, default=1000, help="messages streamed per corpus")
    ap.add_argument("--train", type=int, default=500, help="messages the dictionary is trained on (before them)")
    ap.add_argument("--ws", choices=sorted(WS_IMPL), default="sansio")
    ap.add_argument("--stall", type=int, default=4000, help="ms the page holds its main thread after open")
    ap.add_argument("--reps", type=int, default=4, help="aura and plain pages per corpus (interleaved)")
    args = ap.parse_args()
    names = args.corpora or sorted(p.stem for p in CORPORA.glob("*.jsonl"))
    print(f"uvicorn ws={args.ws}, up to {args.n} messages per corpus, dictionary trained on up to {args.train} "
          f"before them (at most half the corpus), {args.reps} repetitions; us per message, fastest repetition; "
          "med: median over repetitions of decode / pmd rx")
    print(f"{'corpus':22} {'msgs':>5} {'aura B':>9} {'pmd B':>9} {'pmd/aura':>8} {'decode':>7} {'aura rx':>7} "
          f"{'pmd rx':>7} {'dec/pmd':>7} {'med':>5} {'aura up':>8} {'pmd up':>8}  exact queued  ext(aura|pmd)", flush=True)
    rows = []
    for name in names:
        with open(CORPORA / f"{name}.jsonl", encoding="utf-8") as f:
            total = sum(1 for _ in f)
        n_train = min(args.train, total // 2)
        train = load(name, n_train)
        stream = load(name, min(args.n, total - n_train), skip=n_train)
        n = len(stream)
        d = train_dictionary(train, name=name)
        r = asyncio.run(run_corpus(stream, d, ws_impl=args.ws, stall_ms=args.stall, reps=args.reps, echo_after=True))
        pages = [r["aura-warm"], *(x for pair in r["reps"] for x in pair)]
        ok = all(x["page"]["nMismatches"] == 0 and x["page"]["received"] == n and x["page"]["pageErrors"] == []
                 and x["server"]["echo_mismatches"] == 0 and x["server"]["echoed"] == n for x in pages)
        queued = all(x["page"]["unblockedAt"] is None or x["page"]["unblockedAt"] >= x["server"]["sent_all_at"]
                     for pair in r["reps"] for x in pair)
        same_bytes = len({(a["down"], p["down"]) for a, p in r["reps"]}) == 1
        # per repetition, the mean per message; the table shows each side's fastest repetition (noise
        # from other processes only adds) and "med", the median over repetitions of decode / pmd rx
        decs = [statistics.mean(a["page"]["decodeUs"][1:]) for a, _ in r["reps"]]
        arxs = [statistics.mean(a["page"]["intervalsUs"]) for a, _ in r["reps"]]
        prxs = [statistics.mean(p["page"]["intervalsUs"]) for _, p in r["reps"]]
        dec, arx, prx = min(decs), min(arxs), min(prxs)
        med = statistics.median(x / y for x, y in zip(decs, prxs))
        a, p = r["aura"], r["plain"]
        row = (name, n, a["down"], p["down"], p["down"] / a["down"], dec, arx, prx, dec / prx, med, ok and same_bytes,
               queued, a["page"]["extensions"], p["page"]["extensions"], a["page"]["stats"]["dictionaryState"],
               a["up"], p["up"])
        rows.append(row)
        print(f"{row[0]:22} {row[1]:5d} {row[2]:9d} {row[3]:9d} {row[4]:8.2f} {row[5]:7.1f} {row[6]:7.1f} {row[7]:7.1f} "
              f"{row[8]:7.2f} {row[9]:5.2f} {row[15]:8d} {row[16]:8d}  {str(row[10]):5} {str(row[11]):6}  "
              f"{row[12] or '-'} | {row[13] or '-'}  {row[14]}", flush=True)
    gm = math.exp(sum(math.log(r[4]) for r in rows) / len(rows))
    print(f"geomean socket bytes, permessage-deflate / aura (server->client): {gm:.2f}x; "
          f"decode / pmd receive time <= 2x on {sum(r[8] <= 2 for r in rows)} of {len(rows)} corpora")


if __name__ == "__main__":
    main()
