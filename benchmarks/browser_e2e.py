"""Browser end to end: uvicorn + AuraMiddleware serve a page; headless Chromium runs AuraSocket.

The server streams a corpus slice to the page, the page checks every message against the corpus
and echoes it back, the server checks every echo: byte for byte on both sides. The WebSocket goes
through a counting TCP proxy (handshake and framing included); the page and the dictionary are
fetched from the server directly. Each corpus runs three pages in one browser profile:

* ``aura-warm``: AuraSocket on a fresh profile: fetches the dictionary over HTTP, caches it;
* ``aura``: AuraSocket again, the dictionary cached (named with ``aura.have``): the measured run;
* ``plain``: the same page with a plain ``WebSocket``: Chromium's permessage-deflate.

Timing (``--stall``): the page holds its main thread after ``open`` until the whole stream is
queued (checked: the server's last send precedes the page's unblock), then the dispatch interval
per message is its receive work (``aura us/msg``, ``pmd us/msg``: everything the page does per
message, the echo included). ``decode us`` is the time inside AuraSocket's decode alone;
``dec/pmd`` = decode us / pmd us/msg: AURA's decode against the whole per-message cost of the
permessage-deflate page (an upper bound of its arrival-to-onmessage time).

Run: ``PYTHONPATH=. python benchmarks/browser_e2e.py [--n 400] [--ws sansio|websockets] [corpus ...]``
(needs ``npm ci && npm run build`` in clients/typescript and the Debian chromium).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
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
        return FileResponse(TS / "test" / "e2e-page.html")

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
                     stall_ms: int = 0) -> dict[str, Any]:
    """Run the three pages in one browser; per mode: the page's report, the server's, socket bytes."""
    results: dict[str, Any] = {}
    app = AuraMiddleware(make_app(messages, results), dictionary)
    out: dict[str, Any] = {}
    async with serve_app(app, "uvicorn", ws=WS_IMPL[ws_impl]) as base:
        port = int(base.rsplit(":", 1)[1])
        async with count_bytes(port) as counter:
            ws_url = f"ws://127.0.0.1:{counter.port}/ws"
            urls = [f"{base}/?mode={'plain' if m == 'plain' else 'aura'}&ws={ws_url}&stall={stall_ms}" for m in MODES]
            proc = await asyncio.create_subprocess_exec(
                "node", str(TS / "test" / "drive.mjs"), *urls, cwd=TS, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            assert proc.stdout is not None and proc.stdin is not None
            try:
                before = (0, 0)
                for k, mode in enumerate(MODES):
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
                    out[mode] = {"page": json.loads(line), "server": results["runs"][k],
                                 "down": now[0] - before[0], "up": now[1] - before[1]}
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
    ap.add_argument("--n", type=int, default=400, help="messages streamed per corpus")
    ap.add_argument("--train", type=int, default=1000, help="messages the dictionary is trained on (before them)")
    ap.add_argument("--ws", choices=sorted(WS_IMPL), default="sansio")
    ap.add_argument("--stall", type=int, default=3000, help="ms the page holds its main thread after open")
    args = ap.parse_args()
    names = args.corpora or sorted(p.stem for p in CORPORA.glob("*.jsonl"))
    print(f"uvicorn ws={args.ws}, up to {args.n} messages per corpus, dictionary trained on up to {args.train} "
          "before them (at most half the corpus)")
    print(f"{'corpus':24} {'aura B':>9} {'pmd B':>9} {'pmd/aura':>8} {'decode us':>9} {'aura us/msg':>11} "
          f"{'pmd us/msg':>10} {'dec/pmd':>7}  exact queued  ext(aura|pmd)", flush=True)
    rows = []
    for name in names:
        with open(CORPORA / f"{name}.jsonl", encoding="utf-8") as f:
            total = sum(1 for _ in f)
        n_train = min(args.train, total // 2)
        train = load(name, n_train)
        stream = load(name, min(args.n, total - n_train), skip=n_train)
        d = train_dictionary(train, name=name)
        r = asyncio.run(run_corpus(stream, d, ws_impl=args.ws, stall_ms=args.stall))
        a, p = r["aura"], r["plain"]
        ok = all(r[m]["page"]["nMismatches"] == 0 and r[m]["page"]["received"] == len(stream)
                 and r[m]["server"]["echo_mismatches"] == 0 and r[m]["server"]["echoed"] == len(stream) for m in MODES)
        queued = all(r[m]["page"]["unblockedAt"] is None or r[m]["page"]["unblockedAt"] >= r[m]["server"]["sent_all_at"]
                     for m in ("aura", "plain"))
        st = a["page"]["stats"]
        row = (name, a["down"], p["down"], p["down"] / a["down"], st["decodeMs"] * 1000 / len(stream),
               a["page"]["perMessageMs"] * 1000, p["page"]["perMessageMs"] * 1000, ok, queued,
               a["page"]["extensions"], p["page"]["extensions"], st["dictionaryState"])
        rows.append(row)
        print(f"{row[0]:24} {row[1]:9d} {row[2]:9d} {row[3]:8.2f} {row[4]:9.1f} {row[5]:11.1f} {row[6]:10.1f} "
              f"{row[4] / row[6]:7.2f}  {str(row[7]):5} {str(row[8]):6}  {row[9] or '-'} | {row[10] or '-'}  {row[11]}",
              flush=True)
    gm = math.exp(sum(math.log(r[3]) for r in rows) / len(rows))
    print(f"geomean socket bytes, permessage-deflate / aura (server->client): {gm:.2f}x")


if __name__ == "__main__":
    main()
