"""``aura-wire demo``: a real uvicorn server with AuraMiddleware and an aura_wire client on
127.0.0.1 exchange the bundled sample, beside permessage-deflate (window 15 and 12) on the same
messages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
from typing import Any, AsyncIterator, Awaitable, Callable, MutableMapping, Sequence

import aura_wire
from aura_wire.codec.frame import METHOD_NAMES, METHOD_TEMPLATE, METHOD_TEMPLATE_BRIO
from aura_wire.errors import AuraError
from aura_wire.ops.app import answer_lifespan
from aura_wire.tools.console import (
    EXIT_OK,
    CliError,
    Progress,
    _features,
    _fmt_bytes,
    _load,
    _method_mix,
    _pct,
    _ticker,
    sample_path,
)
from aura_wire.training import train_dictionary

# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


_Scope = MutableMapping[str, Any]


async def echo_app(scope: _Scope, receive: Callable[[], Awaitable[_Scope]],
                   send: Callable[[_Scope], Awaitable[None]]) -> None:
    """The demo's application, also the tests' echo server: a plain ASGI app (no framework) that sends every
    WebSocket message back as it came (text as text, binary as binary), on any path; HTTP gets a line of text."""
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    if scope["type"] == "http":
        await receive()
        body = b"aura_wire demo: connect a WebSocket to /echo\n"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["type"] != "websocket":
        return
    m = await receive()
    if m["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        m = await receive()
        if m["type"] == "websocket.disconnect":
            return
        if m["type"] == "websocket.receive":
            if m.get("text") is not None:
                await send({"type": "websocket.send", "text": m["text"]})
            else:
                await send({"type": "websocket.send", "bytes": m.get("bytes") or b""})


@contextlib.asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[int]:
    """Run ``app`` under uvicorn on 127.0.0.1 (a free port) in this event loop; yield the port."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(1000):
            if server.started:
                break
            if task.done():
                task.result()
                raise CliError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        else:
            raise CliError("uvicorn did not start within 10 s")
        yield port
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        sock.close()


def _deflate_bytes(messages: Sequence[str]) -> dict[str, int]:
    """Wire bytes of the same stream through the real websockets permessage-deflate extension."""
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    from aura_wire.tools.peers import _DeflatePeer

    out = {}
    for name, factory in (
        # window 15, memLevel 8: the strongest common setting (uvicorn's legacy ws="websockets")
        ("w15", ServerPerMessageDeflateFactory()),
        # window 12, memLevel 5: uvicorn's default (ws="auto", websockets-sansio) and websockets.serve()
        ("w12 (uvicorn default)", ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                                            compress_settings={"memLevel": 5})),
    ):
        peer = _DeflatePeer(name, name, factory)
        total = 0
        for m in messages:
            d = m.encode("utf-8")
            w = peer.encode(m, d)
            if peer.decode(w) != d:
                raise AuraError(f"permessage-deflate ({name}) did not round-trip a message")
            total += len(w)
        out[name] = total
    return out


async def _demo(args: argparse.Namespace) -> dict[str, Any]:
    from aura_wire.client import connect
    from aura_wire.middleware import AuraMiddleware

    err = sys.stderr
    path = args.sample or sample_path()
    msgs = _load(path, args.limit)
    if len(msgs) < 2:
        raise CliError(f"{path}: need at least 2 messages")
    mid = len(msgs) // 2
    train, replay = msgs[:mid], msgs[mid:]
    feats = _features(args)
    t0 = time.perf_counter()
    with _ticker(f"training a dictionary on the first {len(train)} messages", err):
        d = train_dictionary(train, brio=feats["brio"], templates=feats["templates"], name="demo")
    train_s = time.perf_counter() - t0
    codec: dict[str, Any] = {"brio": feats["brio"], "templates": feats["templates"]}
    app = AuraMiddleware(echo_app, dictionary=d, **codec)
    lat: list[float] = []
    async with _serve(app) as port:
        url = f"ws://127.0.0.1:{port}/echo"
        err.write(f"uvicorn with AuraMiddleware listening on 127.0.0.1:{port}\n")
        async with connect(url, dictionary_cache=False, **codec) as conn:
            if not conn.aura:
                raise CliError("the server did not select AURA")
            synced = await conn.wait_synced(10)
            bar = Progress(len(replay), "replaying", err)
            clock = time.perf_counter
            for m in replay:
                t1 = clock()
                await conn.send(m)
                got = await conn.recv()
                lat.append(clock() - t1)
                if got != m:
                    raise AuraError("a message came back different from what was sent")
                bar.update(1, f"ratio {conn.stats.sent_raw_bytes / max(1, conn.stats.sent_wire_bytes):.2f}")
            bar.close()
            stats = conn.stats
            result = {
                "sample": path,
                "port": port,
                "compiled": aura_wire.compiled,
                "features": feats,
                "dictionary_id": d.id,
                "dictionary_bytes": len(d),
                "train_messages": len(train),
                "train_seconds": train_s,
                "synced": synced,
                "messages": stats.sent_messages,
                "raw_bytes": stats.sent_raw_bytes,
                "wire_bytes_client_to_server": stats.sent_wire_bytes,
                "wire_bytes_server_to_client": stats.received_wire_bytes,
                "control_bytes": stats.control_bytes,
                "methods_client_to_server": stats.sent_methods,
                "methods_server_to_client": stats.received_methods,
            }
    result["deflate_bytes"] = _deflate_bytes(replay)
    lat.sort()
    result["latency_p50_ms"] = 1000.0 * lat[len(lat) // 2] if lat else 0.0
    result["latency_p99_ms"] = 1000.0 * lat[min(len(lat) - 1, int(0.99 * (len(lat) - 1)))] if lat else 0.0
    return result


def _demo_table(r: dict[str, Any]) -> str:
    raw = r["raw_bytes"]
    n = r["messages"]
    rows: list[tuple[str, str]] = []
    rows.append(("messages", f"{n:,} (each sent by the client and echoed by the server)"))
    rows.append(("raw bytes", _fmt_bytes(raw) + " each way"))

    def wire(label: str, b: int) -> None:
        rows.append((label, f"{_fmt_bytes(b)}   ratio {raw / max(1, b):.2f}x   savings {_pct(1 - b / max(1, raw))}"))

    wire("AURA wire bytes c->s", r["wire_bytes_client_to_server"])
    wire("AURA wire bytes s->c", r["wire_bytes_server_to_client"])
    for name, b in r["deflate_bytes"].items():
        wire(f"permessage-deflate {name}", b)
    pmd = r["deflate_bytes"].get("w15", 0)
    if pmd:
        rows.append(("AURA vs permessage-deflate", f"{pmd / max(1, r['wire_bytes_server_to_client']):.2f}x "
                     "fewer bytes (server->client vs deflate w15)"))
    mc = r["methods_server_to_client"]
    hits = sum(mc.get(METHOD_NAMES[m], 0) for m in (METHOD_TEMPLATE, METHOD_TEMPLATE_BRIO))
    rows.append(("template hit rate", _pct(hits / max(1, sum(mc.values())))))
    rows.append(("method mix s->c", _method_mix(mc)))
    rows.append(("latency p50 / p99", f"{r['latency_p50_ms']:.2f} ms / {r['latency_p99_ms']:.2f} ms "
                 "(round trip: encode, socket, decode, echo, encode, decode)"))
    rows.append(("dictionary", f"{r['dictionary_id'][:12]}... {_fmt_bytes(r['dictionary_bytes'])} bytes, trained in "
                 f"{r['train_seconds']:.1f} s on {r['train_messages']} messages; sent in-band "
                 f"({_fmt_bytes(r['control_bytes'])} control bytes, not counted above)"))
    feats = r["features"]
    rows.append(("codec", f"{'compiled' if r['compiled'] else 'pure Python'}; BRIO "
                 f"{'on' if feats['brio'] else 'off'}; templates {'on' if feats['templates'] else 'off'}"))
    w = max(len(k) for k, _ in rows)
    head = "aura-wire demo: uvicorn + AuraMiddleware on 127.0.0.1, aura_wire.client over a real socket"
    return "\n".join([head, "-" * len(head)] + [f"{k:<{w}}  {v}" for k, v in rows])


def cmd_demo(args: argparse.Namespace) -> int:
    result = asyncio.run(_demo(args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_demo_table(result))
    return EXIT_OK
