"""End to end over real sockets: what a new, returning, short-lived or dictionary-less client pays.

For every corpus, uvicorn + AuraMiddleware serves an echo app and aura_wire.client talks to it
through a TCP relay that counts every byte on the socket (HTTP upgrade, WebSocket framing,
CONTROL frames, in-band and HTTP dictionary transfers): the bytes are not aura_wire's own stats.
permessage-deflate runs through the same relay on a websockets server with explicit settings:
w15 (window 15, memLevel 8, context takeover: the strongest common setting) and w12 (window 12,
memLevel 5: websockets' and uvicorn's default).  The client sends each measured message and the
server echoes it, so N messages travel each way.

The dictionary is trained on the first half of the corpus (its last messages but the final 300,
which are held back to measure the saving the server announces, spec/session.md §6.8); the
measured messages come from the second half, never seen in training.

Scenarios: ``new`` (empty cache; fetches in-band when the announced saving pays, the default),
``returning`` (the dictionary cached from an earlier visit: named in the offer, used from the
first message), ``short`` (a new client, the first 200 messages), ``nodict`` (the server has no
dictionary), ``generic`` (item 8 of issue 18, measured, not shipped: the server's only dictionary is a
small generic prior built from ``generic_prior.txt`` beside this script, written from general knowledge
of JSON APIs, HTTP, logs and chat without reading any corpus, and the client holds it, as every peer
would if it were built in: named with ``aura.have``, used from the first message),
``pmd15``/``pmd12`` (and ``pmd15s`` for the short session).  Ratios are
pmd-w15 bytes / scenario bytes (> 1: fewer bytes than permessage-deflate w15).

    PYTHONPATH=. python benchmarks/e2e_sessions.py [--corpora ../shared/corpora] [--n 2000] [--only a,b]

The relay, the uvicorn server and the echo app are the tests' own (tests/conftest.py: count_bytes, serve_app;
aura_wire.tools.demo.echo_app), so the benchmark counts bytes exactly as the tests do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

from aura_wire.client import DictionaryCache, connect
from aura_wire.middleware import AuraMiddleware
from aura_wire.training.economics import break_even, measure_saving
from aura_wire.session.transfer import coded_form
from aura_wire.codec.brio.model import encode_model_section
from aura_wire.codec.dictionary import SECTION_BRIO_CONTENT, SECTION_BRIO_MODEL, Dictionary
from aura_wire.session.params import server_codec_config
from aura_wire.training import train_dictionary
from aura_wire.training.brio import train_models
from aura_wire.files import load_messages
from aura_wire.tools.bench_results import geomean
from aura_wire.tools.demo import echo_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' helpers, as pytest sets it
from conftest import count_bytes, port_of, serve_app  # noqa: E402

GENERIC_PRIOR = Path(__file__).resolve().parent / "generic_prior.txt"
HOLD_BACK = 300  # at most; a quarter of the training half for short corpora
MAX_TRAIN = 2000


def generic_prior() -> Dictionary:
    """The generic prior of the ``generic`` scenario: the text as BRIO content, and BRIO models counted
    over its lines as messages of one connection (aggregate bit statistics, spec/brio.md §8)."""
    text = GENERIC_PRIOR.read_bytes()
    stateless, context = train_models([line for line in text.split(b"\n") if line], b"")
    return Dictionary({SECTION_BRIO_CONTENT: text, SECTION_BRIO_MODEL: encode_model_section(stateless, context)})


async def aura_session(port: int, msgs: list[str], **options: Any) -> tuple[int, dict[str, Any]]:
    async with count_bytes(port) as r:
        async with connect(f"ws://127.0.0.1:{r.port}/echo", **options) as c:
            for m in msgs:
                await c.send(m)
                if await c.recv() != m:
                    raise AssertionError("echo altered a message")
            st = c.stats.as_dict()
        await r.settled()  # the closing handshake is counted too
    return r.total, st


async def pmd_session(msgs: list[str], window: int, mem_level: int) -> int:
    async def handler(ws: ServerConnection) -> None:
        async for m in ws:
            await ws.send(m)

    server_ext = ServerPerMessageDeflateFactory(server_max_window_bits=window, client_max_window_bits=window,
                                                compress_settings={"memLevel": mem_level})
    client_ext = ClientPerMessageDeflateFactory(server_max_window_bits=window, client_max_window_bits=window,
                                                compress_settings={"memLevel": mem_level})
    async with serve(handler, "127.0.0.1", 0, extensions=[server_ext], compression=None) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        async with count_bytes(port) as r:
            async with ws_connect(f"ws://127.0.0.1:{r.port}/", extensions=[client_ext], compression=None,
                                  max_size=None) as ws:
                for m in msgs:
                    await ws.send(m)
                    if await ws.recv() != m:
                        raise AssertionError("pmd echo altered a message")
            await r.settled()
    return r.total


async def bench_corpus(path: Path, n: int, short: int, generic: Dictionary) -> dict[str, Any]:
    msgs = load_messages(path)
    half = len(msgs) // 2
    train, test = msgs[:half], msgs[half: half + n]
    hold = min(HOLD_BACK, len(train) // 4)
    fit, held = train[:-hold][-MAX_TRAIN:], train[-hold:]
    t0 = time.perf_counter()
    d = train_dictionary(fit, name=path.stem)
    saving = measure_saving(d, held, codec_config=server_codec_config({}))  # what the server runs
    coded = len(coded_form(d, "br"))
    row: dict[str, Any] = {"corpus": path.stem, "messages": len(test), "dictionary": len(d), "coded_br": coded,
                           "coded_gzip": len(coded_form(d, "gzip")), "saving_per_message": round(saving, 2),
                           "break_even": break_even(coded, saving), "train_s": round(time.perf_counter() - t0, 1)}
    mw = AuraMiddleware(echo_app)
    mw.set_dictionary(d, saving_per_message=saving)
    bare = AuraMiddleware(echo_app)
    gen = AuraMiddleware(echo_app, generic)
    with tempfile.TemporaryDirectory() as tmp:
        async with serve_app(mw, ws="websockets-sansio") as base, serve_app(bare, ws="websockets-sansio") as bare_base, \
                serve_app(gen, ws="websockets-sansio") as gen_base:
            port, bare_port = port_of(base), port_of(bare_base)
            row["new"], st = await aura_session(port, test, dictionary_cache=Path(tmp) / "new")
            row["new_fetched"] = st["dictionary"] is not None
            cache = DictionaryCache(Path(tmp) / "ret")
            cache.put(d)
            row["short"], st = await aura_session(port, test[:short], dictionary_cache=Path(tmp) / "short")
            row["short_fetched"] = st["dictionary"] is not None
            row["nodict"], _ = await aura_session(bare_port, test, dictionary_cache=False)
            row["returning"] = await returning(port, test, cache)
            gen_cache = DictionaryCache(Path(tmp) / "generic")
            gen_cache.put(generic)
            row["generic"] = await returning(port_of(gen_base), test, gen_cache)
            row["generic_short"] = await returning(port_of(gen_base), test[:short], gen_cache)
    row["pmd15"] = await pmd_session(test, 15, 8)
    row["pmd12"] = await pmd_session(test, 12, 5)
    row["pmd15s"] = await pmd_session(test[:short], 15, 8)
    return row


async def returning(port: int, msgs: list[str], cache: DictionaryCache) -> int:
    """A client that used the dictionary with this origin before: it names it in its offer."""
    async with count_bytes(port) as r:
        cache.remember(f"http://127.0.0.1:{r.port}", next(iter(cache.entries()))[0])
        async with connect(f"ws://127.0.0.1:{r.port}/echo", dictionary_cache=cache) as c:
            if c.dictionary_id is None:
                raise AssertionError("the returning client did not switch at HELLO")
            for m in msgs:
                await c.send(m)
                if await c.recv() != m:
                    raise AssertionError("echo altered a message")
        await r.settled()
    return r.total


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| corpus | N | new | returning | short (200) | no dictionary | generic prior | generic, short | "
            "pmd w15 | pmd w12 | dictionary (br / raw) | saving B/msg | break-even msgs |")
    out = [head, "|" + "---|" * 13]
    for r in rows:
        def cell(key: str, base: str = "pmd15", r: dict[str, Any] = r) -> str:
            return f"{r[key]:,} ({r[base] / r[key]:.3f}x)"
        out.append(f"| {r['corpus']} | {r['messages']} | {cell('new')}{'' if r['new_fetched'] else ' nf'} | "
                   f"{cell('returning')} | {cell('short', 'pmd15s')}{'' if r['short_fetched'] else ' nf'} | "
                   f"{cell('nodict')} | {cell('generic')} | {cell('generic_short', 'pmd15s')} | "
                   f"{r['pmd15']:,} | {r['pmd12']:,} ({r['pmd15'] / r['pmd12']:.2f}x) | "
                   f"{r['coded_br']:,} / {r['dictionary']:,} | {r['saving_per_message']} | "
                   f"{r['break_even']:.0f} |")
    g = {k: geomean([r[b] / r[k] for r in rows]) for k, b in (("new", "pmd15"), ("returning", "pmd15"),
                                                              ("short", "pmd15s"), ("nodict", "pmd15"),
                                                              ("generic", "pmd15"), ("generic_short", "pmd15s"),
                                                              ("pmd12", "pmd15"))}
    out.append(f"| geomean | | {g['new']:.3f}x | {g['returning']:.3f}x | {g['short']:.3f}x | {g['nodict']:.3f}x | "
               f"{g['generic']:.3f}x | {g['generic_short']:.3f}x | 1.00x | {g['pmd12']:.2f}x | | | |")
    mins = {k: min(r[b] / r[k] for r in rows) for k, b in (("new", "pmd15"), ("returning", "pmd15"),
                                                           ("short", "pmd15s"), ("nodict", "pmd15"),
                                                           ("generic", "pmd15"), ("generic_short", "pmd15s"))}
    out.append(f"| minimum | | {mins['new']:.3f}x | {mins['returning']:.3f}x | {mins['short']:.3f}x | "
               f"{mins['nodict']:.3f}x | {mins['generic']:.3f}x | {mins['generic_short']:.3f}x | | | | | |")
    return "\n".join(out)


async def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"))
    ap.add_argument("--n", type=int, default=2000, help="messages each way (at most half the corpus)")
    ap.add_argument("--short", type=int, default=200)
    ap.add_argument("--only", default="", help="comma-separated corpus names")
    ap.add_argument("--json", default="", help="write the rows here")
    args = ap.parse_args(argv)
    paths = sorted(Path(args.corpora).glob("*.jsonl"))
    if args.only:
        keep = set(args.only.split(","))
        paths = [p for p in paths if p.stem in keep]
    rows = []
    generic = generic_prior()
    for p in paths:
        row = await bench_corpus(p, args.n, args.short, generic)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(rows))
    print("\nBytes counted by a TCP relay on the socket (handshake, framing, CONTROL frames and dictionary "
          "transfers included); (x) = pmd w15 bytes / these bytes; nf = the client did not fetch.")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
