"""Server CPU per message on a real uvicorn: aura_wire beside permessage-deflate (issue 17).

What it measures, for each corpus (first half trains the dictionary, the server sends the second
half in order over one connection to a warm client that already holds the dictionary):

* ``stream``: server process CPU per message (``time.process_time_ns()`` read inside the server
  process, all threads, from the client's "go" until it has received every message) for

  ==========  ==============================================================================
  plain       no compression (uvicorn ``ws="websockets"``, client offers no extension)
  pmd-w15     permessage-deflate as uvicorn ``ws="websockets"`` negotiates it (window 15,
              memLevel 8, context takeover; about 295 KiB per connection)
  pmd-w12     permessage-deflate with websockets' own defaults, which uvicorn's default
              ``ws="auto"`` implementation uses (window 12, memLevel 5; about 43 KiB)
  aura-ctx    ``AuraMiddleware(context=True)`` + the aura_wire client
  aura-sl     ``AuraMiddleware(context=False)``
  aura-*-py   the same without BRIO's C speedups (the mypyc path; not in the default set): the
              server turns them off for these connections only, so both paths run interleaved
              in one process (``--configs plain,pmd-w15,pmd-w12,aura-ctx,aura-sl,aura-ctx-py,aura-sl-py``)
  ==========  ==============================================================================

  Every configuration runs on the same uvicorn process (ws="websockets", the permessage-deflate
  variant picked per connection from the client's offer), one connection after the other in a
  shuffled order, for ``--runs`` rounds; figures are the median over rounds and the spread
  (max - min) / median.  Every received message is compared with the one sent.
* ``codec``: the same messages through the codec alone in this process: wire bytes (ratio
  vs pmd-w15), encode time per message p50/p95/p99, decode time per message beside zlib inflate.
* ``--fanout``: N clients (default 200) on one broadcast stream; server CPU per broadcast message,
  aura (``AuraMiddleware.broadcast``) beside a plain loop of ``send`` per connection.
* ``--stall``: a 5 MB message (random bytes, and corpus text) sent on one connection while
  another process measures echo round trips on another connection of the same server: the
  largest round trip while the big message is in flight, beside the same without compression.

Run from a compiled build for honest numbers (``python setup.py build_ext --inplace`` or
``pip install .``); the report says which build ran.  The machine is shared: quote ratios.

    python benchmarks/server_cpu.py                               # the five corpora of issue 17
    python benchmarks/server_cpu.py --runs 3 --limit 1000 --fanout --stall
    python benchmarks/server_cpu.py ../shared/corpora/logs_hdfs.jsonl --codec level=2 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import aura_wire  # the installed package (compiled when pip-installed)
except ImportError:  # pragma: no cover - running from a checkout
    sys.path.insert(0, REPO)
    import aura_wire

from websockets.exceptions import ConnectionClosed  # noqa: E402

from aura_wire.codec.dictionary import Dictionary  # noqa: E402
from aura_wire.codec.decoder import Decoder  # noqa: E402
from aura_wire.codec.encoder import Encoder  # noqa: E402
from aura_wire import load_dictionary, save_dictionary, train_dictionary

DEFAULT_CORPORA = ("market_coinbase", "llm_stream_vercel", "cdp_devtools_cnn", "json_github_webhooks", "logs_hdfs")
CONFIGS = ("plain", "pmd-w15", "pmd-w12", "aura-ctx", "aura-sl")
#: Also known: aura without BRIO's C speedups (the mypyc / Python path).
PY_CONFIGS = ("aura-ctx-py", "aura-sl-py")
#: URL prefix per configuration: /ctx and /sl are wrapped in AuraMiddleware, /raw is the bare app.
PREFIX = {"plain": "raw", "pmd-w15": "raw", "pmd-w12": "raw", "aura-ctx": "ctx", "aura-sl": "sl",
          "aura-ctx-py": "ctxpy", "aura-sl-py": "slpy", "aura-frames": "ctx"}
#: Fan-out configurations: ``aura-frames`` (diagnostic, not in the default set) sends the frames
#: AuraMiddleware.broadcast would send, to the same aura clients, by a bare loop of the server's send.
FANOUT_CONFIGS = ("plain", "pmd-w15", "pmd-w12", "aura-ctx")
STALL_SIZE = 5 * 1024 * 1024
PING_EVERY = 0.005


def corpus_path(name: str) -> str:
    if os.path.exists(name):
        return name
    return os.path.join(REPO, "..", "shared", "corpora", name + ".jsonl")


def load(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["m"] for line in f if line.strip()]


def parse_codec(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        v: Any = value
        if value in ("true", "false"):
            v = value == "true"
        else:
            for conv in (int, float):
                try:
                    v = conv(value)
                    break
                except ValueError:
                    pass
        out[key] = v
    return out


# ---------------------------------------------------------------------------
# server process
# ---------------------------------------------------------------------------


def serve(workdir: str) -> None:
    """Child process: uvicorn on a free port serving the benchmark app; prints ``PORT n``."""
    import warnings

    import uvicorn

    warnings.simplefilter("ignore", DeprecationWarning)  # ws="websockets" is deprecated but is what issue 17 measures
    from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    from aura_wire.codec.brio import speedups
    from aura_wire.middleware import AuraMiddleware

    with open(os.path.join(workdir, "setup.json"), encoding="utf-8") as f:
        setup = json.load(f)
    stream: list[str] = setup["stream"]
    codec: dict[str, Any] = setup["codec"]
    dictionary = load_dictionary(os.path.join(workdir, "dictionary.aurd"))

    class DeflateFactory(ServerPerMessageDeflateFactory):
        """uvicorn ws="websockets" (w15, memLevel 8), or websockets' defaults (w12, memLevel 5)
        for a client that asks for server_max_window_bits=12."""

        def __init__(self) -> None:
            super().__init__()
            self.w12 = ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                                      compress_settings={"memLevel": 5})

        def process_request_params(self, params: Any, accepted: Any) -> Any:
            if ("server_max_window_bits", "12") in list(params):
                return self.w12.process_request_params(params, accepted)
            return super().process_request_params(params, accepted)

    class Protocol(WebSocketProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.available_extensions = [DeflateFactory()]

    fans: dict[str, list[Any]] = {"raw": [], "ctx": [], "sl": [], "ctxpy": [], "slpy": []}

    def text(m: dict[str, Any]) -> str:
        return str(m.get("text") or "")

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        prefix, _, kind = scope["path"].strip("/").partition("/")
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        if kind == "fan":
            aura = (scope.get("extensions") or {}).get("aura") or {}
            entry = aura.get("connection") if aura.get("connection") is not None and \
                aura["connection"].aura else send
            fans[prefix].append(entry)
        while True:
            m = await receive()
            if m["type"] == "websocket.disconnect":
                if kind == "fan":
                    with contextlib.suppress(ValueError):
                        fans[prefix].remove(entry)
                return
            cmd = text(m).split()
            if kind == "echo":
                await send({"type": "websocket.send", "text": text(m), "bytes": m.get("bytes")})
                continue
            if not cmd or cmd[0] != "go":
                continue
            n = int(cmd[1])
            t0, u0 = time.process_time_ns(), resource.getrusage(resource.RUSAGE_SELF)
            if kind == "stream":
                for x in stream[:n]:
                    await send({"type": "websocket.send", "text": x})
            elif kind == "fanctl":
                targets = fans[prefix][-int(cmd[2]):]
                if len(targets) != int(cmd[2]):
                    raise RuntimeError(f"fan-out: {len(targets)} connections registered, expected {cmd[2]}")
                if prefix == "raw":
                    for x in stream[:n]:
                        for s in targets:
                            await s({"type": "websocket.send", "text": x})
                elif cmd[3:] == ["frames"]:
                    # aura-frames: the frames AuraMiddleware.broadcast would send, encoded once each, sent by
                    # a bare loop of the server's send (no session, no middleware): aura's floor on the wire
                    mw = scope["extensions"]["aura"]["middleware"]
                    encoder = mw._broadcast_encoder(mw.dictionary)
                    for x in stream[:n]:
                        frame = encoder.encode(x)
                        for c in targets:
                            await c._raw_send({"type": "websocket.send", "bytes": frame})
                else:
                    mw = scope["extensions"]["aura"]["middleware"]
                    for x in stream[:n]:
                        await mw.broadcast(x, targets)
            elif kind == "big":
                if cmd[2] == "random":
                    payload: Any = random.Random(17).randbytes(n)
                    await send({"type": "websocket.send", "bytes": payload})
                else:
                    joined = "\n".join(stream)
                    payload = (joined * (n // max(1, len(joined)) + 1))[:n]
                    await send({"type": "websocket.send", "text": payload})
            done = await receive()  # the client has everything
            t1, u1 = time.process_time_ns(), resource.getrusage(resource.RUSAGE_SELF)
            if done["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send",
                        "text": f"cpu {t1 - t0} {u1.ru_utime - u0.ru_utime:.6f} {u1.ru_stime - u0.ru_stime:.6f}"})

    # no shadow permessage-deflate sample (AuraMiddleware's operations estimate, 5 % of connections by
    # default): a sampled connection would add permessage-deflate's own CPU to aura's figure
    import inspect

    extra = {"shadow_sample": 0.0} if "shadow_sample" in inspect.signature(AuraMiddleware).parameters else {}
    mws = {name: AuraMiddleware(inner, dictionary, context=name.startswith("ctx"), **extra, **codec)
           for name in ("ctx", "sl", "ctxpy", "slpy")}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        prefix = scope.get("path", "/").strip("/").partition("/")[0]
        if speedups.available():  # streams run one connection at a time: the path follows the connection
            speedups.use(not prefix.endswith("py"))
        target = mws.get(prefix)
        await (target or inner)(scope, receive, send)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)  # connections wait in the backlog until uvicorn accepts them
    config = uvicorn.Config(app, ws=Protocol, log_level="warning", lifespan="off", ws_max_size=64 << 20)
    server = uvicorn.Server(config)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


@contextlib.contextmanager
def server_process(dictionary: Dictionary, stream: list[str], codec: dict[str, Any]) -> Any:
    workdir = tempfile.mkdtemp(prefix="aura-cpu-")
    try:
        save_dictionary(dictionary, os.path.join(workdir, "dictionary.aurd"))
        with open(os.path.join(workdir, "setup.json"), "w", encoding="utf-8") as f:
            json.dump({"stream": stream, "codec": codec}, f)
        env = dict(os.environ)
        # the child imports the same aura_wire as this process
        env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(aura_wire.__file__)),
                                             env.get("PYTHONPATH", "")])
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", workdir],
                                stdout=subprocess.PIPE, env=env, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("PORT "):
                raise RuntimeError(f"server did not start: {line!r}")
            yield int(line.split()[1]), workdir
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# clients
# ---------------------------------------------------------------------------


async def open_client(port: int, config: str, kind: str, cache_dir: str) -> Any:
    """A connected client (aura_wire Connection or websockets ClientConnection) for ``config``."""
    url = f"ws://127.0.0.1:{port}/{PREFIX[config]}/{kind}"
    if config.startswith("aura"):
        from aura_wire.client import DictionaryCache, connect

        # no keepalive pings: a server stalled by a long encode must not be cut off by the client
        conn = await connect(url, dictionary_cache=DictionaryCache(cache_dir), open_timeout=60,
                             websocket_options={"ping_interval": None})
        if not await conn.wait_synced(60):
            raise RuntimeError(f"{config}: the client did not sync the dictionary")
        return conn
    from websockets.asyncio.client import connect as ws_connect
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    ext: Any = None
    if config == "pmd-w15":
        ext = [ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})]
    elif config == "pmd-w12":
        ext = [ClientPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                              compress_settings={"memLevel": 5})]
    ws = await ws_connect(url, compression=None, extensions=ext, max_size=None, open_timeout=60, proxy=None,
                          ping_interval=None)
    negotiated = [e.name for e in ws.protocol.extensions]
    if (ext is None) != (not negotiated):
        raise RuntimeError(f"{config}: negotiated extensions {negotiated}")
    return ws


async def finish(conn: Any) -> int:
    """Tell the server the stream arrived; return the server CPU (ns) it reports."""
    await conn.send("done")
    reply = await conn.recv()
    return int(str(reply).split()[1])


async def measure_stream(port: int, config: str, stream: list[str], cache_dir: str) -> float:
    """Server CPU in microseconds per message for one connection's stream."""
    conn = await open_client(port, config, "stream", cache_dir)
    try:
        await conn.send(f"go {len(stream)}")
        for i, expected in enumerate(stream):
            got = await conn.recv()
            if got != expected:
                raise RuntimeError(f"{config}: message {i} differs from the one sent")
        cpu = await finish(conn)
    finally:
        await conn.close()
    return cpu / 1000 / len(stream)


async def measure_fanout(port: int, config: str, stream: list[str], clients: int, cache_dir: str,
                         delay: float = 0.0) -> dict[str, float]:
    """Server CPU in microseconds per broadcast message (all ``clients`` deliveries), its user/system
    split, the wall time of the broadcast and this (client) process's CPU over it: a client process
    near 100 % of the wall time would be the bottleneck.  ``delay``: seconds of busy work per message
    per client."""
    conns = []
    try:
        for _ in range(clients):
            conns.append(await open_client(port, config, "fan", cache_dir))
        ctl = await _fan_control(port, config)

        async def drain(c: Any) -> None:
            for i, expected in enumerate(stream):
                got = await c.recv()
                if got != expected:
                    raise RuntimeError(f"{config}: fan-out message {i} differs")
                if delay:  # --fanout-client-delay-us: slower clients (does the server's CPU depend on them?)
                    end = time.perf_counter() + delay
                    while time.perf_counter() < end:
                        pass

        readers = [asyncio.ensure_future(drain(c)) for c in conns]
        w0, c0 = time.perf_counter(), time.process_time()
        await ctl.send(f"go {len(stream)} {clients}" + (" frames" if config == "aura-frames" else ""))
        await asyncio.gather(*readers)
        wall, client = time.perf_counter() - w0, time.process_time() - c0
        await ctl.send("done")
        _, cpu, user, system = str(await ctl.recv()).split()
        await ctl.close()
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    n = len(stream)
    return {"cpu": int(cpu) / 1000 / n, "user": float(user) * 1e6 / n, "sys": float(system) * 1e6 / n,
            "wall": wall * 1e6 / n, "client": client * 1e6 / n}


async def _fan_control(port: int, config: str) -> Any:
    from websockets.asyncio.client import connect as ws_connect

    # a plain control connection under the configuration's prefix (AuraMiddleware passes it through)
    return await ws_connect(f"ws://127.0.0.1:{port}/{PREFIX[config]}/fanctl", compression=None, proxy=None)


PINGER = r"""
import asyncio, json, sys, threading, time
from websockets.asyncio.client import connect
async def main(url, every):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True).start()
    out = []
    async with connect(url, compression=None, proxy=None, ping_interval=None) as ws:
        print("ready", flush=True)
        while not stop.is_set():
            t = time.monotonic()
            await ws.send("ping")
            await ws.recv()
            out.append((t, time.monotonic() - t))
            try:
                await asyncio.wait_for(stop.wait(), every)
            except asyncio.TimeoutError:
                pass
    print(json.dumps(out), flush=True)
asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


async def measure_stall(port: int, config: str, kind: str, size: int, cache_dir: str) -> dict[str, float]:
    """Largest echo round trip (ms) on another connection while a ``size``-byte message is sent."""
    pinger = subprocess.Popen([sys.executable, "-c", PINGER, f"ws://127.0.0.1:{port}/raw/echo", str(PING_EVERY)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert pinger.stdout is not None and pinger.stdin is not None
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, pinger.stdout.readline)
    if line.strip() != "ready":
        raise RuntimeError(f"pinger did not start: {line!r}")
    conn = await open_client(port, config, "big", cache_dir)
    try:
        t0 = time.monotonic()
        await conn.send(f"go {size} {kind}")
        handshake = asyncio.ensure_future(_handshake_time(port))
        got = await asyncio.wait_for(conn.recv(), 600)
        t1 = time.monotonic()
        if len(got) != size:
            raise RuntimeError(f"{config}: big message of {len(got)} bytes, expected {size}")
        hs = await handshake
        cpu = await finish(conn)
    finally:
        await conn.close()
        pinger.stdin.close()
    out = await loop.run_in_executor(None, pinger.stdout.read)
    pinger.wait(10)
    pings = json.loads(out.strip().splitlines()[-1])
    during = [rtt for (t, rtt) in pings if t + rtt >= t0 and t <= t1]
    before = [rtt for (t, rtt) in pings if t + rtt < t0]
    return {
        "max_rtt_ms": 1000 * max(during, default=0.0),
        "idle_rtt_ms": 1000 * (statistics.median(before) if before else 0.0),
        "pings": len(during),
        "delivery_ms": 1000 * (t1 - t0),
        "handshake_ms": 1000 * hs,
        "server_cpu_ms": cpu / 1e6,
    }


async def _handshake_time(port: int) -> float:
    from websockets.asyncio.client import connect as ws_connect

    t = time.monotonic()
    ws = await ws_connect(f"ws://127.0.0.1:{port}/raw/echo", compression=None, proxy=None, open_timeout=600)
    dt = time.monotonic() - t
    await ws.close()
    return dt


# ---------------------------------------------------------------------------
# codec pass (this process)
# ---------------------------------------------------------------------------


def codec_pass(dictionary: Dictionary, stream: list[str], codec: dict[str, Any],
               configs: list[str]) -> dict[str, dict[str, float]]:
    """Wire bytes and encode/decode time per message for aura (both modes; with and without BRIO's C
    speedups when ``configs`` name the -py variants) and permessage-deflate."""
    from aura_wire.codec.brio import speedups

    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        ServerPerMessageDeflateFactory,
    )
    from websockets.frames import Frame, Opcode

    out: dict[str, dict[str, float]] = {}
    datas = [m.encode("utf-8") for m in stream]
    raw = sum(len(d) for d in datas)
    peers: list[tuple[str, Any, Any]] = []
    for name, srv, cli in (
            ("pmd-w15", ServerPerMessageDeflateFactory(), ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})),
            ("pmd-w12", ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                                       compress_settings={"memLevel": 5}),
             ClientPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                            compress_settings={"memLevel": 5}))):
        # the real websockets extension objects, negotiated as a handshake would
        response, sx = srv.process_request_params(cli.get_request_params(), [])
        cx = cli.process_response_params(response, [])
        peers.append((name, lambda m, d, sx=sx: bytes(sx.encode(Frame(Opcode.TEXT, d)).data),
                      lambda w, cx=cx: bytes(cx.decode(Frame(Opcode.TEXT, w, rsv1=True), max_size=None).data)))
    for name, ctx in (("aura-ctx", True), ("aura-sl", False), ("aura-ctx-py", True), ("aura-sl-py", False)):
        if name.endswith("-py") and (name not in configs or not speedups.available()):
            continue
        enc = Encoder(dictionary, context=ctx, **codec)
        dec = Decoder(dictionary, context=ctx, **codec)
        peers.append((name, lambda m, d, e=enc: e.encode(m), lambda w, dd=dec: dd.decode(w)))
    for name, encode, decode in peers:
        if speedups.available():
            speedups.use(not name.endswith("-py"))
        times: list[int] = []
        dtimes: list[int] = []
        wire = 0
        clock = time.thread_time_ns  # CPU time: the machine is shared
        for m, d in zip(stream, datas):
            t = clock()
            w = encode(m, d)
            t1 = clock()
            got = decode(w)
            t2 = clock()
            times.append(t1 - t)
            dtimes.append(t2 - t1)
            wire += len(w)
            if (got.encode("utf-8") if isinstance(got, str) else got) != d:
                raise RuntimeError(f"{name}: round trip differs")
        times.sort()
        n = len(times)
        out[name] = {
            "ratio": raw / max(1, wire),
            "enc_mean_us": sum(times) / n / 1000,
            "enc_p50_us": times[n // 2] / 1000,
            "enc_p95_us": times[min(n - 1, int(n * 0.95))] / 1000,
            "enc_p99_us": times[min(n - 1, int(n * 0.99))] / 1000,
            "enc_max_us": times[-1] / 1000,
            "dec_mean_us": sum(dtimes) / n / 1000,
        }
    return out


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


def summarize(values: list[float]) -> dict[str, float]:
    med = statistics.median(values)
    return {"median": med, "spread": (max(values) - min(values)) / med if med else 0.0, "runs": len(values)}


def geomean(xs: list[float]) -> float:
    xs = [x for x in xs if x > 0]
    return float(statistics.geometric_mean(xs)) if xs else 0.0


async def run_corpus(name: str, args: argparse.Namespace, codec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    msgs = load(corpus_path(name))
    mid = len(msgs) // 2
    train, stream = msgs[:mid], msgs[mid:]
    if args.limit:
        stream = stream[: args.limit]
    t = time.perf_counter()
    dictionary = train_dictionary(train, name=os.path.basename(name).removesuffix(".jsonl"))
    print(f"  {name}: {len(stream)} messages, dictionary {len(dictionary)} B trained in "
          f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
    cache_dir = tempfile.mkdtemp(prefix="aura-cpu-cache-")
    from aura_wire.client import DictionaryCache

    DictionaryCache(cache_dir).put(dictionary)
    cpu: dict[str, list[float]] = {c: [] for c in args.configs}
    codec_runs: list[dict[str, dict[str, float]]] = []
    try:
        with server_process(dictionary, stream, codec) as (port, _):
            for warm in args.configs:  # one connection each first: imports, code paths, dictionary objects
                await measure_stream(port, warm, stream[:50], cache_dir)
            for r in range(args.runs):
                order = list(args.configs)
                rng.shuffle(order)
                for config in order:
                    cpu[config].append(await measure_stream(port, config, stream, cache_dir))
                if args.codec_pass:
                    codec_runs.append(codec_pass(dictionary, stream, codec, args.configs))
                print(f"  {name} run {r + 1}: " + "  ".join(f"{c} {cpu[c][-1]:.1f}" for c in args.configs),
                      file=sys.stderr)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    result: dict[str, Any] = {"messages": len(stream), "cpu_us": {c: summarize(v) for c, v in cpu.items()}}
    if codec_runs:
        result["codec"] = {p: {k: statistics.median(run[p][k] for run in codec_runs) for k in codec_runs[0][p]}
                           for p in codec_runs[0]}
    return result


async def run_fanout(args: argparse.Namespace, codec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    msgs = load(corpus_path(args.fanout_corpus))
    mid = len(msgs) // 2
    dictionary = train_dictionary(msgs[:mid], name="fanout")
    stream = msgs[mid: mid + args.fanout_messages]
    cache_dir = tempfile.mkdtemp(prefix="aura-cpu-cache-")
    from aura_wire.client import DictionaryCache

    DictionaryCache(cache_dir).put(dictionary)
    configs = tuple(args.fanout_configs)
    cpu: dict[str, list[float]] = {c: [] for c in configs}
    diag: dict[str, dict[str, list[float]]] = {c: {k: [] for k in ("cpu", "user", "sys", "wall", "client")}
                                               for c in configs}
    try:
        with server_process(dictionary, stream, codec) as (port, _):
            for r in range(args.runs):
                order = list(configs)
                rng.shuffle(order)  # the machine's load drifts: no config always first or last
                for config in order:
                    m = await measure_fanout(port, config, stream, args.fanout_clients, cache_dir,
                                             args.fanout_client_delay_us / 1e6)
                    for k, v in m.items():
                        diag[config][k].append(v)
                    cpu[config].append(m["cpu"])
                    print(f"  fan-out run {r + 1} {config}: " + "  ".join(f"{k} {v:.0f}" for k, v in m.items()),
                          file=sys.stderr)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return {"corpus": args.fanout_corpus, "clients": args.fanout_clients, "messages": len(stream),
            "client_delay_us": args.fanout_client_delay_us,
            "cpu_us_per_broadcast": {c: summarize(v) for c, v in cpu.items()},
            # aura / pmd-w15 within each round (the same few seconds of machine load), median and range
            "paired_vs_pmd_w15": {c: sorted(a / b for a, b in zip(cpu[c], cpu["pmd-w15"])) for c in configs},
            "diagnostics": {c: {k: statistics.median(v) for k, v in d.items()} for c, d in diag.items()}}


async def run_stall(args: argparse.Namespace, codec: dict[str, Any]) -> dict[str, Any]:
    msgs = load(corpus_path(args.stall_corpus))
    mid = len(msgs) // 2
    dictionary = train_dictionary(msgs[:mid], name="stall")
    stream = msgs[mid:]
    cache_dir = tempfile.mkdtemp(prefix="aura-cpu-cache-")
    from aura_wire.client import DictionaryCache

    DictionaryCache(cache_dir).put(dictionary)
    out: dict[str, Any] = {"size": args.stall_size, "corpus": args.stall_corpus}
    try:
        with server_process(dictionary, stream, codec) as (port, _):
            for kind in ("random", "text"):
                for config in ("plain", "pmd-w15", "aura-ctx", "aura-sl"):
                    try:
                        res = await measure_stall(port, config, kind, args.stall_size, cache_dir)
                    except (OSError, asyncio.TimeoutError, RuntimeError, ConnectionClosed) as exc:
                        print(f"  stall {kind} {config}: failed: {exc!r}", file=sys.stderr)
                        out[f"{kind}/{config}"] = {"error": repr(exc)}
                        continue
                    out[f"{kind}/{config}"] = res
                    print(f"  stall {kind} {config}: " + "  ".join(f"{k} {v:.1f}" for k, v in res.items()),
                          file=sys.stderr)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return out


def report(res: dict[str, Any]) -> str:
    lines = [f"# server CPU per message, {res['build']} build, uvicorn ws=websockets; {res['runs']} interleaved "
             f"runs, median (spread = (max-min)/median)", f"# codec options: {res['codec'] or 'defaults'}", ""]
    auras = [c for c in res["configs"] if c.startswith("aura")]
    bases = [b for b in ("pmd-w15", "pmd-w12") if b in res["configs"]]
    rels = [(c, b) for b in bases for c in auras]
    head = "| corpus | msgs | " + " | ".join(res["configs"]) + "".join(f" | {c} / {b}" for c, b in rels) + " |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    rel: dict[tuple[str, str], list[float]] = {k: [] for k in rels}
    for name, r in res["corpora"].items():
        cpu = r["cpu_us"]
        cells = [f"{cpu[c]['median']:.1f} ±{100 * cpu[c]['spread']:.0f}%" for c in res["configs"]]
        for c, b in rels:
            rel[(c, b)].append(cpu[c]["median"] / cpu[b]["median"] if cpu[b]["median"] else 0.0)
        lines.append(f"| {name} | {r['messages']} | " + " | ".join(cells) +
                     "".join(f" | {rel[k][-1]:.2f}x" for k in rels) + " |")
    lines.append("| geomean | | " + " | ".join("" for _ in res["configs"]) +
                 "".join(f" | {geomean(rel[k]):.2f}x" for k in rels) + " |")
    if any("codec" in r for r in res["corpora"].values()):
        lines += ["", "# codec alone (this process): ratio = original / wire bytes; encode/decode per message (us)", ""]
        head = ("| corpus | peer | ratio | vs pmd-w15 | enc mean | p50 | p95 | p99 | max | dec mean | "
                "dec / pmd-w15 |")
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for name, r in res["corpora"].items():
            c = r.get("codec")
            if not c:
                continue
            for peer, v in c.items():
                lines.append(f"| {name} | {peer} | {v['ratio']:.2f} | {v['ratio'] / c['pmd-w15']['ratio']:.2f}x | "
                             f"{v['enc_mean_us']:.1f} | {v['enc_p50_us']:.1f} | {v['enc_p95_us']:.1f} | "
                             f"{v['enc_p99_us']:.1f} | {v['enc_max_us']:.0f} | {v['dec_mean_us']:.1f} | "
                             f"{v['dec_mean_us'] / c['pmd-w15']['dec_mean_us']:.2f}x |")
        for peer in [p for p in next(r["codec"] for r in res["corpora"].values() if "codec" in r)
                     if p.startswith("aura")]:
            rr = [r["codec"][peer]["ratio"] / r["codec"]["pmd-w15"]["ratio"] for r in res["corpora"].values()
                  if "codec" in r]
            dd = [r["codec"][peer]["dec_mean_us"] / r["codec"]["pmd-w15"]["dec_mean_us"]
                  for r in res["corpora"].values() if "codec" in r]
            lines.append(f"| geomean | {peer} | | {geomean(rr):.2f}x | | | | | | | {geomean(dd):.2f}x |")
    if "fanout" in res:
        f = res["fanout"]
        lines += ["", f"# fan-out: {f['clients']} clients, {f['messages']} broadcast messages of {f['corpus']}; "
                  "server CPU per broadcast message (us, all deliveries)"
                  + (f"; clients busy {f['client_delay_us']:.0f} us per message" if f.get("client_delay_us") else ""),
                  ""]
        base = f["cpu_us_per_broadcast"]["pmd-w15"]["median"]
        diag = f.get("diagnostics", {})
        for c, v in f["cpu_us_per_broadcast"].items():
            d = diag.get(c)
            extra = (f"   (wall {d['wall']:.0f} us, client process CPU {100 * d['client'] / d['wall']:.0f} % of wall)"
                     if d and d.get("wall") else "")
            lines.append(f"  {c:11} {v['median']:9.0f} ±{100 * v['spread']:.0f}%  {v['median'] / base:.2f}x pmd-w15"
                         + extra)
        for c, rr in f.get("paired_vs_pmd_w15", {}).items():
            if c != "pmd-w15" and rr:
                lines.append(f"  {c:11} / pmd-w15 within each round: median {statistics.median(rr):.2f}x, "
                             f"range {rr[0]:.2f}-{rr[-1]:.2f}x")
    if "stall" in res:
        s = res["stall"]
        lines += ["", f"# stall: one {s['size']} B message while another connection echoes every "
                  f"{PING_EVERY * 1000:.0f} ms", ""]
        lines.append("| payload / config | max echo RTT ms | idle RTT ms | delivery ms | new handshake ms | "
                     "server CPU ms |")
        lines.append("|---|---|---|---|---|---|")
        for k, v in s.items():
            if isinstance(v, dict) and "error" in v:
                lines.append(f"| {k} | failed: {v['error']} | | | | |")
            elif isinstance(v, dict):
                lines.append(f"| {k} | {v['max_rtt_ms']:.1f} | {v['idle_rtt_ms']:.2f} | {v['delivery_ms']:.0f} | "
                             f"{v['handshake_ms']:.1f} | {v['server_cpu_ms']:.0f} |")
    lines += ["", "# issue 17 targets (aura context unless named)", ""]
    lines += [f"  {'PASS' if ok else 'FAIL'}  {text}" for ok, text in targets(res)]
    return "\n".join(lines)


def targets(res: dict[str, Any]) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    corpora = res["corpora"]
    cpu = {n: r["cpu_us"] for n, r in corpora.items() if "aura-ctx" in r["cpu_us"] and "pmd-w15" in r["cpu_us"]}
    if cpu:
        rel = {n: c["aura-ctx"]["median"] / c["pmd-w15"]["median"] for n, c in cpu.items()}
        g = geomean(list(rel.values()))
        out.append((g <= 1.5, f"server CPU within 1.5x of pmd-w15 on the geomean: {g:.2f}x"))
        worst = max(rel, key=lambda n: rel[n])
        out.append((rel[worst] <= 3.0, f"server CPU within 3x on every corpus: worst {worst} {rel[worst]:.2f}x"))
    codec = {n: r["codec"] for n, r in corpora.items() if "codec" in r}
    if codec:
        rr = {n: c["aura-ctx"]["ratio"] / c["pmd-w15"]["ratio"] for n, c in codec.items()}
        out.append((geomean(list(rr.values())) >= 1.4, f"ratio >= 1.4x pmd-w15 on the geomean: "
                    f"{geomean(list(rr.values())):.2f}x"))
        low = min(rr, key=lambda n: rr[n])
        out.append((rr[low] >= 1.0, f"ratio >= 1.0x pmd-w15 on every corpus: lowest {low} {rr[low]:.2f}x"))
        p95 = {n: c["aura-ctx"]["enc_p95_us"] for n, c in codec.items()}
        p99 = {n: c["aura-ctx"]["enc_p99_us"] for n, c in codec.items()}
        w95, w99 = max(p95, key=lambda n: p95[n]), max(p99, key=lambda n: p99[n])
        out.append((p95[w95] < 1000, f"encode p95 < 1 ms on every corpus: worst {w95} {p95[w95]:.0f} us"))
        out.append((p99[w99] < 3000, f"encode p99 < 3 ms on every corpus: worst {w99} {p99[w99]:.0f} us"))
        dd = [c["aura-ctx"]["dec_mean_us"] / c["pmd-w15"]["dec_mean_us"] for c in codec.values()]
        out.append((geomean(dd) <= 2.0, f"decode within 2x of inflate on the geomean: {geomean(dd):.2f}x"))
    if "fanout" in res:
        f = res["fanout"]["cpu_us_per_broadcast"]
        r = f["aura-ctx"]["median"] / f["pmd-w15"]["median"] if "aura-ctx" in f else math.nan
        out.append((r <= 0.5, f"fan-out at most half of pmd-w15's server CPU: {r:.2f}x"))
    if "stall" in res:
        worst_rtt = max(v.get("max_rtt_ms", math.inf) for k, v in res["stall"].items()
                        if isinstance(v, dict) and "aura" in k)
        out.append((worst_rtt < 50, f"5 MB message: other connections' echo RTT < 50 ms: worst {worst_rtt:.0f} ms"))
    return out


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    from aura_wire._loader import is_compiled

    codec = parse_codec(args.codec)
    Encoder(None, **codec)  # options checked before anything starts
    rng = random.Random(args.seed)
    from aura_wire.codec.brio import speedups

    build = "compiled" if is_compiled() else "pure"
    build += ", BRIO C speedups " + ("on" if speedups.current() is not None else f"off ({speedups.reason})")
    res: dict[str, Any] = {"build": build, "runs": args.runs,
                           "configs": list(args.configs), "codec": codec, "corpora": {}}
    if not args.no_stream:
        for name in args.corpora:
            res["corpora"][os.path.basename(name).removesuffix(".jsonl")] = await run_corpus(name, args, codec, rng)
    if args.fanout:
        res["fanout"] = await run_fanout(args, codec, rng)
    if args.stall:
        res["stall"] = await run_stall(args, codec)
    return res


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        serve(argv[1])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="*", default=list(DEFAULT_CORPORA),
                    help="corpus names in ../shared/corpora or paths to JSONL files")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="stream at most this many messages per corpus")
    ap.add_argument("--configs", default=",".join(CONFIGS), type=lambda s: [c for c in s.split(",") if c])
    ap.add_argument("--codec", action="append", default=[], metavar="KEY=VALUE",
                    help="codec option for aura (repeatable), e.g. level=2")
    ap.add_argument("--no-codec-pass", dest="codec_pass", action="store_false",
                    help="skip the in-process ratio / encode-percentile pass")
    ap.add_argument("--no-stream", action="store_true", help="only the fan-out / stall parts")
    ap.add_argument("--fanout", action="store_true")
    ap.add_argument("--fanout-clients", type=int, default=200)
    ap.add_argument("--fanout-messages", type=int, default=100)
    ap.add_argument("--fanout-corpus", default="market_coinbase")
    ap.add_argument("--fanout-configs", default=",".join(FANOUT_CONFIGS),
                    type=lambda s: [c for c in s.split(",") if c],
                    help="fan-out configurations (pmd-w15 required); aura-frames: aura's frames by a bare send loop")
    ap.add_argument("--fanout-client-delay-us", type=float, default=0.0,
                    help="busy work per message per fan-out client (checks that client speed does not move "
                         "the server's figure)")
    ap.add_argument("--stall", action="store_true")
    ap.add_argument("--stall-size", type=int, default=STALL_SIZE)
    ap.add_argument("--stall-corpus", default="logs_hdfs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if "pmd-w15" not in args.fanout_configs or set(args.fanout_configs) - set(FANOUT_CONFIGS + ("aura-frames",)):
        ap.error(f"--fanout-configs: pmd-w15 and any of {', '.join(FANOUT_CONFIGS + ('aura-frames',))}")
    unknown = [c for c in args.configs if c not in CONFIGS + PY_CONFIGS]
    if unknown:
        ap.error(f"unknown config(s) {unknown}; known: {', '.join(CONFIGS + PY_CONFIGS)}")
    res = asyncio.run(amain(args))
    print(report(res))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
