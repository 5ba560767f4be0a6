"""Cluster broadcast: server CPU summed over three uvicorn replicas, aura_wire beside permessage-deflate.

Starts a redis-server (free port on 127.0.0.1, no persistence) and three uvicorn
replica processes running the same app: ``AuraMiddleware`` with
``enable_cluster(redis://...)``, every ``/fan`` connection subscribed to
channel ``news``.  ``--clients`` connections per replica, then replica 1
broadcasts the stream (``await mw.broadcast(m, channel="news")``) and every
client checks every message byte for byte.  Configurations, interleaved over
``--runs`` rounds:

==========  =====================================================================================
aura        aura_wire clients (dictionary cached): replica 1 encodes once per message and
            publishes the prepared frame; every replica forwards it unchanged
pmd-w15     plain websocket clients negotiating permessage-deflate as uvicorn ``ws="websockets"``
            does (window 15, memLevel 8, context takeover): each replica compresses per connection
pmd-w12     the client asks for server_max_window_bits=12 (websockets' default window; memLevel 8
            here, where websockets' own default is 5)
==========  =====================================================================================

The pmd rows take the same path through the cluster (the message is published
once with its prepared frame, which plain clients never receive), so they
include that one encode per message: at most a few percent of their figure.
CPU is user+system time of each replica process from /proc (all threads),
from "go" until every client has every message; Redis's own CPU is reported
apart.  Also reported: the encode count (must equal the message count for
aura) and the adoption latency: a dictionary adopted through the store
(the trainer's atomic adopt + announcement) until each replica announces it.

    python benchmarks/cluster_broadcast.py --clients 200 --messages 200 --runs 3
    python benchmarks/cluster_broadcast.py --corpus cdp_devtools_cnn --skip 1000 --messages 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from aura_wire import Dictionary, load_dictionary, save_dictionary, train_dictionary

TICK = os.sysconf("SC_CLK_TCK")
CONFIGS = ("aura", "pmd-w15", "pmd-w12")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


CORPUS = "market_coinbase"


def corpus_file() -> str:
    """``CORPUS`` as a path, or a name in ../shared/corpora; the bundled sample when neither exists."""
    if os.path.exists(CORPUS):
        return CORPUS
    corpus = os.path.join(REPO, "..", "shared", "corpora", CORPUS + ".jsonl")
    return corpus if os.path.exists(corpus) else os.path.join(REPO, "aura_wire", "data", "sample.jsonl")


def load_messages(n: int, skip: int) -> list[str]:
    path = corpus_file()
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= skip:
                out.append(json.loads(line)["m"])
            if len(out) >= n:
                break
    return out


# -- the replica (child process) ------------------------------------------------------------
def serve(workdir: str, redis_url: str, name: str, port: int) -> None:
    import warnings

    import uvicorn
    from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    from aura_wire.middleware.asgi import AuraMiddleware

    warnings.simplefilter("ignore", DeprecationWarning)  # ws="websockets": the implementation that negotiates w15
    with open(os.path.join(workdir, "setup.json"), encoding="utf-8") as f:
        stream: list[str] = json.load(f)["stream"]
    dictionary = load_dictionary(os.path.join(workdir, "dictionary.aurd"))

    class Protocol(WebSocketProtocol):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            self.available_extensions = [ServerPerMessageDeflateFactory()]

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            snap = mw.metrics_snapshot(per_connection=False)
            node = mw.cluster
            assert node is not None
            body = json.dumps({"subscribers": len(mw.subscribers("news")), "encodes": snap["broadcast"]["messages"],
                               "encode_seconds": snap["broadcast"]["latency"]["encode"]["avg"],
                               "dictionary": snap["dictionary"], "started": node.started,
                               "adoptions": node.adoptions}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        if scope["path"] == "/fan":
            mw.subscribe(scope, "news")
        while True:
            m = await receive()
            if m["type"] == "websocket.disconnect":
                return
            cmd = str(m.get("text") or "").split()
            if cmd and cmd[0] == "go":
                for x in stream[:int(cmd[1])]:
                    await mw.broadcast(x, channel="news")
                await send({"type": "websocket.send", "text": "sent"})

    mw = AuraMiddleware(inner, dictionary)
    mw.enable_cluster(redis_url, replica_id=name, poll_interval=0.5, snapshot_interval=1.0)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    config = uvicorn.Config(mw, ws=Protocol, log_level="warning", lifespan="on", ws_ping_interval=None)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


# -- the driver ---------------------------------------------------------------------------
def get(port: int, path: str = "/stats") -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return json.loads(r.read())


async def wait_for(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            v = await asyncio.to_thread(cond)
            if v:
                return v
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def open_client(port: int, config: str, cache_dir: str) -> Any:
    url = f"ws://127.0.0.1:{port}/fan"
    if config == "aura":
        from aura_wire.client import DictionaryCache, connect

        # no keepalive pings: 600 clients in one (pure-Python) driver process must not time out each other
        c = await connect(url, dictionary_cache=DictionaryCache(cache_dir), open_timeout=60,
                          websocket_options={"ping_interval": None})
        if not await c.wait_synced(60):
            raise RuntimeError("aura client did not sync")
        return c
    from websockets.asyncio.client import connect as ws_connect
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    ext = ([ClientPerMessageDeflateFactory()] if config == "pmd-w15" else
           [ClientPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12)])
    ws = await ws_connect(url, compression=None, extensions=ext, max_size=None, open_timeout=60, proxy=None,
                          ping_interval=None)
    if not ws.protocol.extensions:
        raise RuntimeError(f"{config}: permessage-deflate not negotiated")
    return ws


async def one_run(ports: list[int], pids: list[int], redis_pid: int, config: str, stream: list[str],
                  clients: int, cache_dir: str) -> dict[str, float]:
    from websockets.asyncio.client import connect as ws_connect

    conns: list[Any] = []
    try:
        for p in ports:
            for _ in range(clients):
                conns.append(await open_client(p, config, cache_dir))
        for p in ports:
            await wait_for(lambda p=p: get(p)["subscribers"] == clients, 60, "subscribers")
        enc0 = sum(get(p)["encodes"] for p in ports)
        ctl = await ws_connect(f"ws://127.0.0.1:{ports[0]}/ctl", compression=None, proxy=None)

        async def drain(c: Any) -> None:
            for i, expected in enumerate(stream):
                if await c.recv() != expected:
                    raise RuntimeError(f"{config}: message {i} differs")

        cpu0 = [cpu_seconds(x) for x in pids]
        r0 = cpu_seconds(redis_pid)
        readers = [asyncio.ensure_future(drain(c)) for c in conns]
        await ctl.send(f"go {len(stream)}")
        await asyncio.gather(*readers)
        cpu = sum(cpu_seconds(x) - c0 for x, c0 in zip(pids, cpu0, strict=True))
        rcpu = cpu_seconds(redis_pid) - r0
        await ctl.recv()
        await ctl.close()
        enc = sum(get(p)["encodes"] for p in ports) - enc0
        enc_s = get(ports[0])["encode_seconds"]
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    for p in ports:
        await wait_for(lambda p=p: get(p)["subscribers"] == 0, 60, "clients to leave")
    n = len(stream)
    return {"cpu_us_per_message": cpu / n * 1e6, "redis_us_per_message": rcpu / n * 1e6, "encodes": enc,
            "encode_us": enc_s * 1e6}


async def adoption_latency(redis_url: str, ports: list[int], d: Dictionary) -> list[float]:
    from aura_wire.cluster.redis_store import RedisStore

    store = RedisStore(redis_url)
    try:
        t0 = time.time()
        await store.adopt(d, origin="bench")
        t_adopted = time.time()
    finally:
        await store.close()
    seen: dict[int, float] = {}
    deadline = time.monotonic() + 30
    while len(seen) < len(ports) and time.monotonic() < deadline:
        for p in ports:
            if p not in seen and get(p, "/_aura/dict/")["current"] == d.id:
                seen[p] = time.time()
        await asyncio.sleep(0.005)
    # each replica's own record of when it switched (same clock: one machine)
    applied = []
    for p in ports:
        recs = [t for t, i in get(p)["adoptions"] if i == d.id]
        applied.append((recs[-1] if recs else seen.get(p, float("nan"))) - t0)
    print(f"  adopt() call took {(t_adopted - t0) * 1e3:.1f} ms")
    return applied


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    work = tempfile.mkdtemp(prefix="aura-cluster-bench-")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        rport = free_port()
        argv = [exe, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work]
        redis = subprocess.Popen(argv, stdout=subprocess.DEVNULL)  # noqa: ASYNC220 - set-up
        procs.append(redis)
        url = f"redis://127.0.0.1:{rport}/0"

        def redis_up() -> bool:
            with socket.create_connection(("127.0.0.1", rport), timeout=0.5) as sk:
                sk.sendall(b"PING\r\n")
                return sk.recv(16).startswith(b"+PONG")
        await wait_for(redis_up, 10, "redis-server")
        train = load_messages(400, 0)
        stream = load_messages(args.messages, args.skip)  # after the training slice
        print(f"  {corpus_file()}: mean message {sum(len(m.encode()) for m in stream) / len(stream):.0f} bytes", flush=True)
        d = train_dictionary(train)
        save_dictionary(d, os.path.join(work, "dictionary.aurd"))
        with open(os.path.join(work, "setup.json"), "w", encoding="utf-8") as f:  # noqa: ASYNC230 - set-up
            json.dump({"stream": stream}, f)
        ports = [free_port() for _ in range(3)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
        for i, p in enumerate(ports):
            argv = [sys.executable, os.path.abspath(__file__), "--serve", work, url, f"r{i + 1}", str(p)]
            procs.append(subprocess.Popen(argv, env=env))  # noqa: ASYNC220 - set-up
        for p in ports:
            await wait_for(lambda p=p: get(p)["started"], 60, "replica start")
        pids = [x.pid for x in procs[1:]]
        cache = os.path.join(work, "cache")
        res: dict[str, list[dict[str, float]]] = {c: [] for c in CONFIGS}
        for r in range(args.runs):
            order = CONFIGS if r % 2 == 0 else tuple(reversed(CONFIGS))
            for c in order:
                out = await one_run(ports, pids, redis.pid, c, stream, args.clients, cache)
                res[c].append(out)
                print(f"  run {r + 1} {c:8} {out['cpu_us_per_message']:9.0f} us/msg (replicas)  "
                      f"redis {out['redis_us_per_message']:6.0f}  encodes {out['encodes']:.0f} "
                      f"(mean encode {out['encode_us']:.0f} us)", flush=True)
        summary: dict[str, Any] = {}
        for c, runs in res.items():
            v = [x["cpu_us_per_message"] for x in runs]
            med = statistics.median(v)
            summary[c] = {"median": med, "spread": (max(v) - min(v)) / med,
                          "redis": statistics.median([x["redis_us_per_message"] for x in runs]),
                          "encodes": [x["encodes"] for x in runs]}
        d2 = train_dictionary(load_messages(200, 200))  # another dictionary, for the adoption latency
        lat = await adoption_latency(url, ports, d2)
        return {"summary": summary, "messages": len(stream), "clients": args.clients, "adoption_seconds": lat}
    finally:
        for pr in reversed(procs):
            pr.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                pr.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=200, help="clients per replica (default 200)")
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--corpus", default=CORPUS, help="corpus name in ../shared/corpora (default market_coinbase; "
                   "the bundled sample when absent)")
    p.add_argument("--skip", type=int, default=400, help="first stream message (the first 400 train; default 400)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    globals()["CORPUS"] = args.corpus
    res = asyncio.run(amain(args))
    s = res["summary"]
    print(f"\n{args.corpus}: 3 replicas x {res['clients']} clients, {res['messages']} broadcast messages "
          f"(server CPU summed over the replicas, median of runs)")
    for c in CONFIGS:
        v = s[c]
        print(f"  {c:8} {v['median']:9.0f} us/msg  ±{v['spread'] * 100:.0f}%  "
              f"{v['median'] / s['pmd-w15']['median']:.2f}x pmd-w15  redis {v['redis']:.0f} us/msg  "
              f"encodes {v['encodes']}")
    print("  adoption visible (s after the adopt call): " + ", ".join(f"{x:.3f}" for x in res["adoption_seconds"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
