"""Load test: >= 1,000 concurrent WebSocket connections, AURA vs permessage-deflate (issue 7, part 3).

One command::

    PYTHONPATH=. python scripts/load_test.py                 # 1000 connections, both stacks (sources)
    python scripts/load_test.py                              # the same with the installed (compiled) package
    PYTHONPATH=. python scripts/load_test.py --connections 200 --messages 5 --stack aura

For each stack it starts a uvicorn server on 127.0.0.1 in a subprocess running an echo application:

* ``aura``: the echo app wrapped in :class:`aura_wire.middleware.AuraMiddleware` with a dictionary
  trained on the first half of the corpora; clients are :func:`aura_wire.client.connect` in context
  mode with the dictionary already in their cache;
* ``deflate``: the same echo app without the middleware, uvicorn's permessage-deflate on (window 15,
  context takeover); clients are plain ``websockets`` with ``compression="deflate"``.

All connections are opened and held at once; then every connection streams real corpus messages
(second half of the corpora) to the server and waits for each echo, so both directions are coded.
Every echo is compared with what was sent.  Printed per stack: connections, messages, losses
(lost or altered, must be 0), p50/p99 message latency (send to echo received), server memory per
connection (RSS delta over the idle server, divided by the connections) and, for AURA, the codec's
own per-connection state (``Encoder/Decoder.memory_bytes()``) and the wire ratio.  The whole run is
bounded by ``--deadline`` seconds; the fd limit is raised in-process with ``resource.setrlimit``.
Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, MutableMapping
from aura_wire import load_dictionary, save_dictionary, train_dictionary
from aura_wire.ops.app import answer_lifespan

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_CORPORA = ["chat_ubuntu_irc", "market_binance", "llm_stream_vercel", "logs_openssh", "market_coinbase"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(want, soft)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_bytes() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in bytes, from /proc (Linux)."""
    rss = hwm = 0
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return rss, hwm


# ---------------------------------------------------------------------------------------------------------
# server side (runs in the subprocess: ``load_test.py --serve aura|deflate --port N``)


def _codec_memory(scope: Scope) -> int:
    """Per-connection codec state of an AURA connection (0 for a plain one)."""
    aura = scope.get("extensions", {}).get("aura")
    conn = aura.get("connection") if isinstance(aura, dict) else None
    session = getattr(conn, "session", None)
    if session is None:
        return 0
    fn = getattr(session, "memory_bytes", None)
    if callable(fn):
        return int(fn())
    total = 0
    # No public Session.memory_bytes() yet: read the two codec objects' own accounting.
    for name in ("_encoder", "_decoder"):
        obj = getattr(session, name, None)
        if obj is not None:
            total += int(obj.memory_bytes())
    return total


class EchoApp:
    """Raw ASGI echo application with a /stats endpoint reporting the server's memory."""

    def __init__(self) -> None:
        self.open: dict[int, Scope] = {}
        self.accepted = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._ws(scope, receive, send)
        elif scope["type"] == "http":
            body = json.dumps(self.stats()).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        elif scope["type"] == "lifespan":
            await answer_lifespan(receive, send)

    async def _ws(self, scope: Scope, receive: Receive, send: Send) -> None:
        m = await receive()
        if m["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        key = id(scope)
        self.open[key] = scope
        self.accepted += 1
        try:
            while True:
                m = await receive()
                if m["type"] == "websocket.receive":
                    if m.get("text") is not None:
                        await send({"type": "websocket.send", "text": m["text"]})
                    else:
                        await send({"type": "websocket.send", "bytes": m.get("bytes") or b""})
                elif m["type"] == "websocket.disconnect":
                    return
        finally:
            self.open.pop(key, None)

    def stats(self) -> dict[str, Any]:
        rss, hwm = rss_bytes()
        codec = [_codec_memory(s) for s in list(self.open.values())]
        return {"rss": rss, "hwm": hwm, "open": len(self.open), "accepted": self.accepted,
                "codec_memory_total": sum(codec), "codec_memory_max": max(codec, default=0)}


def serve(stack: str, port: int, dictionary_path: str | None, connections: int) -> None:
    raise_fd_limit(connections * 2 + 256)
    import uvicorn

    echo = EchoApp()
    app: Any = echo
    if stack == "aura":
        from aura_wire.middleware import AuraMiddleware

        d = load_dictionary(dictionary_path) if dictionary_path else None
        app = AuraMiddleware(echo, dictionary=d, **_codec_options())
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            ws_per_message_deflate=(stack == "deflate"), backlog=max(2048, connections * 2),
                            ws_ping_interval=None, ws_ping_timeout=None, timeout_keep_alive=60)
    uvicorn.Server(config).run()


def _have(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _codec_options() -> dict[str, Any]:
    return {"brio": _have("aura_wire.codec.brio"), "templates": _have("aura_wire.codec.templates")}


# ---------------------------------------------------------------------------------------------------------
# client side


def load_corpora(names: list[str], per_corpus: int, train_per_corpus: int) -> tuple[list[str], list[str]]:
    """(training messages, streamed messages): first and second half of each corpus, capped."""
    train: list[str] = []
    stream: list[str] = []
    for name in names:
        path = CORPORA / f"{name}.jsonl"
        if not path.exists():
            raise SystemExit(f"corpus {path} is absent (the corpora live in ../shared/corpora beside the repo)")
        msgs = [json.loads(line)["m"] for line in path.open(encoding="utf-8")]
        mid = len(msgs) // 2
        train += msgs[:mid][-train_per_corpus:]
        stream += [m for m in msgs[mid:] if len(m) <= 64 * 1024][:per_corpus]
    random.Random(1).shuffle(stream)
    return train, stream


async def http_stats(port: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /stats HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    body = data.split(b"\r\n\r\n", 1)[1]
    out: dict[str, Any] = json.loads(body)
    return out


async def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    t_end = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            return await http_stats(port)
        except (OSError, IndexError, ValueError):
            if time.monotonic() > t_end:
                raise SystemExit("server did not start in time") from None
            await asyncio.sleep(0.2)


class Result:
    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.connections_ok = 0
        self.connect_failures = 0
        self.sent = 0
        self.echoed_ok = 0
        self.altered = 0
        self.lost = 0
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.synced = 0
        self.raw_bytes = 0
        self.wire_bytes = 0
        self.server: dict[str, Any] = {}
        self.seconds = 0.0
        self.phases: dict[str, float] = {}

    def error(self, exc: BaseException) -> None:
        k = type(exc).__name__
        rcvd = getattr(exc, "rcvd", None)
        if rcvd is not None:
            k += f"({rcvd.code} {rcvd.reason.split(' (')[0]})"  # grouped without the offset
        self.errors[k] = self.errors.get(k, 0) + 1

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))]


_CACHE: Any = None


def _shared_cache(cache_dir: str) -> Any:
    """One DictionaryCache for every client connection of this driver process, returning the same
    Dictionary object for an id, so the derived codec tables (BRIO models, template sets: cached per
    Dictionary object) are built once instead of once per connection.  A real client process holds
    one connection; this driver holds a thousand and would otherwise measure its own setup cost."""
    global _CACHE
    if _CACHE is None:
        from aura_wire.client.cache import DictionaryCache

        class SharedCache(DictionaryCache):
            def __init__(self, directory: str) -> None:
                super().__init__(directory)
                self._memo: dict[str, Any] = {}

            def get(self, dictionary_id: str) -> Any:
                if dictionary_id not in self._memo:
                    d = super().get(dictionary_id)
                    if d is None:
                        return None
                    self._memo[dictionary_id] = d
                return self._memo[dictionary_id]

        _CACHE = SharedCache(cache_dir)
    return _CACHE


async def _open(stack: str, uri: str, cache_dir: str) -> Any:
    if stack == "aura":
        from aura_wire.client import connect

        conn = await connect(uri, dictionary_cache=_shared_cache(cache_dir), fetch="inband", open_timeout=60,
                             **_codec_options())
        return conn
    from websockets.asyncio.client import connect as ws_connect

    return await ws_connect(uri, compression="deflate", open_timeout=60, max_size=2 ** 24,
                            ping_interval=None, proxy=None)


async def run_stack(stack: str, args: argparse.Namespace, stream: list[str], dict_path: str | None,
                    cache_dir: str) -> Result:
    res = Result(stack)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", stack, "--port", str(port),
           "--connections", str(args.connections)]
    if dict_path:
        cmd += ["--dictionary", dict_path]
    env = dict(os.environ)
    import aura_wire

    # The server imports the same aura_wire as this driver: the repository's sources with PYTHONPATH=.,
    # or an installed (compiled) package when run without it.
    pkg_root = str(Path(aura_wire.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(cmd, env=env)
    t0 = time.monotonic()
    try:
        idle = await wait_ready(port, proc, 60)
        uri = f"ws://127.0.0.1:{port}/echo"
        sem = asyncio.Semaphore(args.handshake_concurrency)

        async def open_one() -> Any:
            async with sem:
                try:
                    c = await _open(stack, uri, cache_dir)
                except Exception as exc:  # a load test counts every failure, whatever its type
                    res.connect_failures += 1
                    res.error(exc)
                    return None
                if stack == "aura":
                    with contextlib.suppress(Exception):
                        if await c.wait_synced(timeout=30):
                            res.synced += 1
                return c

        t_open = time.monotonic()
        conns = await asyncio.gather(*(open_one() for _ in range(args.connections)))
        live = [c for c in conns if c is not None]
        res.phases["open"] = time.monotonic() - t_open
        res.connections_ok = len(live)
        held = await http_stats(port)
        m = args.messages

        async def stream_one(k: int, c: Any) -> None:
            for j in range(m):
                msg = stream[(k * m + j) % len(stream)]
                t = time.perf_counter()
                try:
                    await c.send(msg)
                    res.sent += 1
                    echo = await asyncio.wait_for(c.recv(), args.message_timeout)
                except Exception as exc:  # lost: timeout, closed connection, protocol error
                    res.error(exc)
                    res.lost += m - j
                    return
                res.latencies.append(time.perf_counter() - t)
                if echo == msg and type(echo) is type(msg):
                    res.echoed_ok += 1
                else:
                    res.altered += 1
                if args.think > 0:
                    await asyncio.sleep(random.random() * args.think)

        t_stream = time.monotonic()
        await asyncio.gather(*(stream_one(k, c) for k, c in enumerate(live)))
        res.phases["stream"] = time.monotonic() - t_stream
        busy = await http_stats(port)
        if stack == "aura":
            for c in live:
                st = c.stats
                res.raw_bytes += st.sent_raw_bytes + st.received_raw_bytes
                res.wire_bytes += st.sent_wire_bytes + st.received_wire_bytes
        res.lost += (args.connections - len(live)) * m
        await asyncio.gather(*(c.close() for c in live), return_exceptions=True)
        res.server = {"idle_rss": idle["rss"], "held_rss": held["rss"], "busy_rss": busy["rss"],
                      "busy_hwm": busy["hwm"], "open_at_peak": busy["open"],
                      "codec_memory_total": busy["codec_memory_total"], "codec_memory_max": busy["codec_memory_max"]}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    res.seconds = time.monotonic() - t0
    return res


def report(res: Result, connections: int, messages: int) -> str:
    s = res.server
    n = max(1, s.get("open_at_peak", 0) or res.connections_ok)
    per_conn = (s.get("busy_rss", 0) - s.get("idle_rss", 0)) / n
    lines = [
        f"[{res.stack}] connections: {res.connections_ok}/{connections} open at once "
        f"(server saw {s.get('open_at_peak', 0)}; connect failures {res.connect_failures})",
        f"[{res.stack}] messages: {res.echoed_ok} echoed exactly of {connections * messages} "
        f"({res.sent} sent, each coded client->server and server->client)",
        f"[{res.stack}] losses: {res.lost + res.altered} (lost {res.lost}, altered {res.altered})"
        + (f"  errors {res.errors}" if res.errors else ""),
        f"[{res.stack}] latency: p50 {res.quantile(0.5) * 1000:.1f} ms, p99 {res.quantile(0.99) * 1000:.1f} ms "
        f"(all connections streaming at once, closed loop: {res.echoed_ok / max(res.phases.get('stream', 0), 1e-9):.0f}"
        f" round trips/s)",
        f"[{res.stack}] server memory per connection: {per_conn / 1024:.1f} KiB "
        f"(RSS {s.get('idle_rss', 0) / 2**20:.1f} MiB idle -> {s.get('busy_rss', 0) / 2**20:.1f} MiB with "
        f"{n} connections)",
    ]
    if res.stack == "aura":
        lines.append(f"[{res.stack}] codec state per connection (memory_bytes): "
                     f"{s.get('codec_memory_total', 0) / n / 1024:.1f} KiB mean, "
                     f"{s.get('codec_memory_max', 0) / 1024:.1f} KiB max; dictionary in use on {res.synced} "
                     f"connections; wire ratio {res.raw_bytes / max(1, res.wire_bytes):.2f} "
                     f"({res.raw_bytes} app bytes / {res.wire_bytes} wire bytes)")
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in res.phases.items())
    lines.append(f"[{res.stack}] run time {res.seconds:.1f} s ({phases})")
    return "\n".join(lines)


def trained_dictionary(train: list[str]) -> Any:
    """Train (pure-Python training takes tens of seconds) or reuse the copy cached for the same inputs."""
    import hashlib

    import aura_wire

    h = hashlib.sha256(json.dumps([train, _codec_options(), aura_wire.__version__]).encode())
    for src in sorted([*(REPO / "aura_wire" / "codec").rglob("*.py"), *(REPO / "aura_wire" / "training").rglob("*.py")]):
        h.update(src.read_bytes())
    path = Path(tempfile.gettempdir()) / f"aura-load-dict-{h.hexdigest()[:20]}.aurd"
    if path.exists():
        with contextlib.suppress(Exception):
            return load_dictionary(path)
    d = train_dictionary(train, **_codec_options())
    save_dictionary(d, path)
    return d


async def main_async(args: argparse.Namespace) -> int:
    fds = raise_fd_limit(args.connections * 2 + 256)
    import aura_wire

    print(f"load test: {args.connections} connections x {args.messages} messages each way, stacks {args.stack}, "
          f"aura_wire compiled={aura_wire.compiled}, fd limit {fds}", flush=True)
    train, stream = load_corpora(args.corpora, args.per_corpus, args.train_per_corpus)
    stacks = ["aura", "deflate"] if args.stack == "both" else [args.stack]
    tmp = tempfile.mkdtemp(prefix="aura-load-")
    dict_path: str | None = None
    if "aura" in stacks:

        from aura_wire.client.cache import DictionaryCache

        t = time.perf_counter()
        d = trained_dictionary(train)
        dict_path = os.path.join(tmp, "dict.aurd")
        save_dictionary(d, dict_path)

        DictionaryCache(os.path.join(tmp, "cache")).put(d)
        print(f"dictionary {d.id[:12]} {len(d)} bytes trained on {len(train)} messages (or reused) in "
              f"{time.perf_counter() - t:.1f} s; {len(stream)} messages to stream; options {_codec_options()}",
              flush=True)
    failed = 0
    results = []
    for stack in stacks:
        res = await run_stack(stack, args, stream, dict_path, os.path.join(tmp, "cache"))
        results.append(res)
        print(report(res, args.connections, args.messages), flush=True)
        if res.lost or res.altered or res.connections_ok < args.connections:
            failed += 1
    if len(results) == 2:
        a, b = results
        print(f"summary: p99 aura {a.quantile(0.99) * 1000:.1f} ms vs deflate {b.quantile(0.99) * 1000:.1f} ms; "
              f"losses aura {a.lost + a.altered} deflate {b.lost + b.altered}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=None,
                    help="messages each connection sends, each echoed (default 10 compiled, 2 pure Python)")
    ap.add_argument("--stack", choices=["both", "aura", "deflate"], default="both")
    ap.add_argument("--corpora", nargs="+", default=DEFAULT_CORPORA)
    ap.add_argument("--per-corpus", type=int, default=400, help="messages streamed per corpus (second half)")
    ap.add_argument("--train-per-corpus", type=int, default=200, help="training messages per corpus (first half)")
    ap.add_argument("--handshake-concurrency", type=int, default=64)
    ap.add_argument("--message-timeout", type=float, default=60.0)
    ap.add_argument("--think", type=float, default=0.0, help="max random pause between messages (s)")
    ap.add_argument("--deadline", type=float, default=170.0, help="abort the whole run after this many seconds")
    ap.add_argument("--serve", choices=["aura", "deflate"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dictionary", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.messages is None:
        import aura_wire

        args.messages = 10 if aura_wire.compiled else 2
    if args.serve:
        serve(args.serve, args.port, args.dictionary, args.connections)
        return 0
    try:
        return asyncio.run(asyncio.wait_for(main_async(args), args.deadline))
    except TimeoutError:
        print(f"load test aborted: exceeded the {args.deadline:.0f} s deadline", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
