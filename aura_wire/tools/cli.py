"""The ``aura-wire`` command: demo, bench, inspect, train, compare, stats.

``aura-wire demo`` shows the codec at work in one command (a real server and
client on 127.0.0.1); ``bench`` compares it with permessage-deflate, zstd and
brotli on corpora; ``inspect`` dissects a frame; ``train`` builds a
dictionary; ``compare`` runs codec configurations side by side; ``stats``
reads a running server's health endpoint.  ``aura-wire --version`` says
whether the compiled codec is in use.  Each subcommand has ``--help``.

This is the only module of the package that prints.  It reports an
:class:`~aura_wire.errors.AuraError`, a bad input file or an unreachable
server as a one-line error and exit status 2; anything else is a bug and
shows its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.resources
import importlib.util
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any, AsyncIterator, Awaitable, Callable, MutableMapping, Sequence

import aura_wire
from aura_wire.codec.frame import METHOD_NAMES, METHOD_TEMPLATE, METHOD_TEMPLATE_BRIO
from aura_wire.errors import AuraError
from aura_wire.training import train_dictionary
from aura_wire.files import load_dictionary, save_dictionary

__all__ = ["main", "build_parser", "Progress", "version_text", "sample_path"]

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def version_text() -> str:
    mode = "compiled" if aura_wire.compiled else "pure"
    return f"aura-wire {aura_wire.__version__} ({mode}) Python {sys.version.split()[0]}"


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


# ---------------------------------------------------------------------------
# progress bar
# ---------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on ``stream`` (stderr), redrawn at most 20 times a second.

    On a terminal it redraws in place; otherwise it prints only the final
    line, so logs and tests stay readable.
    """

    def __init__(self, total: int, label: str, stream: IO[str] | None = None, width: int = 30) -> None:
        self.total = max(0, total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.extra = ""
        self._last = 0.0
        self._t0 = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, n: int = 1, extra: str | None = None) -> None:
        self.done += n
        if extra is not None:
            self.extra = extra
        now = time.perf_counter()
        if self._tty and (now - self._last >= 0.05 or self.done >= self.total):
            self._last = now
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def _line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(frac * self.width))
        bar = "#" * fill + "." * (self.width - fill)
        el = time.perf_counter() - self._t0
        return f"{self.label} [{bar}] {100 * frac:5.1f}% {self.done}/{self.total} {el:5.1f}s {self.extra}"

    def close(self) -> None:
        if self._tty:
            self.stream.write("\r" + self._line() + "\n")
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()


@contextlib.contextmanager
def _ticker(label: str, stream: IO[str]) -> Any:
    """Show elapsed time while a step with no progress callback (dictionary training) runs."""
    stop = threading.Event()
    t0 = time.perf_counter()
    tty = bool(getattr(stream, "isatty", lambda: False)())

    def run() -> None:
        spin = "|/-\\"
        i = 0
        while not stop.wait(0.2):
            if tty:
                stream.write(f"\r{label} {spin[i % 4]} {time.perf_counter() - t0:5.1f}s")
                stream.flush()
            i += 1

    th = threading.Thread(target=run, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
        stream.write(("\r" if tty else "") + f"{label} done in {time.perf_counter() - t0:.1f}s\n")
        stream.flush()


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def sample_path() -> str:
    """Path of the bundled sample stream (package data)."""
    return str(importlib.resources.files("aura_wire").joinpath("data", "sample.jsonl"))


def _features(args: argparse.Namespace) -> dict[str, bool]:
    from aura_wire.tools.bench import available_features

    f = available_features()
    if getattr(args, "no_brio", False):
        f["brio"] = False
    if getattr(args, "no_templates", False):
        f["templates"] = False
    return f


def _load(path: str, limit: int | None = None, field: str | None = None) -> list[str]:
    from aura_wire.tools.bench import BenchError, load_messages

    try:
        return load_messages(path, limit=limit, field=field)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    except BenchError as exc:
        raise CliError(str(exc)) from exc


def _fmt_bytes(n: float) -> str:
    return f"{int(n):,}"


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def _method_mix(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return ", ".join(f"{k} {100.0 * v / total:.0f}%" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def _add_feature_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-brio", action="store_true", help="do not use BRIO even when it is installed")
    p.add_argument("--no-templates", action="store_true", help="do not use templates even when installed")


# ---------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> int:
    from aura_wire.tools import bench

    for p in args.corpus:
        if not os.path.exists(p):
            raise CliError(f"corpus {p} does not exist")
    failed = False
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise CliError("--plot needs matplotlib: pip install 'aura_wire[plot]'")
    peers = bench.PEERS if not args.peers else tuple(x.strip() for x in args.peers.split(",") if x.strip())
    try:
        report = bench.run_bench(args.corpus, limit=args.limit, peers=peers, features=_features(args),
                                 trace_memory=not args.no_trace, progress=sys.stderr)
    except bench.BenchError as exc:
        raise CliError(str(exc)) from exc
    if args.compare_pure:
        sys.stderr.write(f"compiled vs pure: first {args.compare_pure} messages of each corpus, twice ...\n")
        try:
            report.compiled_vs_pure = bench.measure_compiled_vs_pure(args.corpus, limit=args.compare_pure,
                                                                     features=report.features)
        except bench.BenchError as exc:
            # Keep the main results: report the failure and go on.
            sys.stderr.write(f"aura-wire bench: compiled vs pure comparison skipped: {exc}\n")
            failed = True
    print(bench.format_report(report))
    if args.json:
        bench.write_json(report, args.json)
        print(f"\nJSON written to {args.json}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(bench.format_markdown(report))
        print(f"Markdown tables written to {args.markdown}")
    if args.plot:
        try:
            bench.plot_report(report, args.plot)
        except bench.BenchError as exc:
            raise CliError(str(exc)) from exc
        print(f"chart written to {args.plot}")
    if args.check and not all(t.passed for t in report.targets):
        return EXIT_FAIL
    return EXIT_USAGE if failed else EXIT_OK


# ---------------------------------------------------------------------------
# inspect
# ---------------------------------------------------------------------------


def cmd_inspect(args: argparse.Namespace) -> int:
    from aura_wire.tools.inspect import (
        InputError,
        describe_dictionary,
        dissect,
        format_dictionary,
        format_dissection,
        read_frame_arg,
    )

    if not args.frame and not args.dictionary:
        raise CliError("give a FRAME, or --dictionary FILE alone to review a dictionary")
    dictionary = None
    if args.dictionary:
        try:
            dictionary = load_dictionary(args.dictionary)
        except OSError as exc:
            raise CliError(f"cannot read {args.dictionary}: {exc.strerror}") from exc
    if not args.frame:
        assert dictionary is not None
        info = describe_dictionary(dictionary)
        print(json.dumps(info, indent=2, ensure_ascii=False) if args.json else format_dictionary(info))
        return EXIT_OK
    frames: list[bytes] = []
    for arg in args.frame:
        try:
            frames.append(read_frame_arg(arg))
        except InputError as exc:
            raise CliError(f"{arg[:40]}: {exc}") from exc
    # Several frames are one connection's, in order: one decoder decodes them all, so context
    # frames after the first decode too.
    decoder = None
    if len(frames) > 1:
        from aura_wire.codec.decoder import Decoder

        ctx = args.context or any(f and f[0] & 0x10 for f in frames)
        decoder = Decoder(dictionary, context=ctx)
    results = [dissect(f, dictionary, context=True if args.context else None, decoder=decoder) for f in frames]
    if args.json:
        out = [r.as_dict() for r in results]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2, ensure_ascii=False))
    else:
        for n, r in enumerate(results):
            if len(results) > 1:
                print(("\n" if n else "") + f"=== frame {n + 1} of {len(results)} ===")
            print(format_dissection(r))
    return EXIT_FAIL if any(r.parse_error for r in results) else EXIT_OK


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from aura_wire.codec.dictionary import SECTION_NAMES, SECTION_TEMPLATES, Dictionary

    err = sys.stderr
    # Check where the dictionary goes before training, not after (training takes a while).
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        raise CliError(f"the output directory {os.path.dirname(args.output) or out_dir} does not exist "
                       "(create it first)")
    if os.path.isdir(args.output):
        raise CliError(f"{args.output} is a directory; give a file name, e.g. {os.path.join(args.output, 'app.aura')}")
    if not os.access(out_dir, os.W_OK):
        raise CliError(f"cannot write to the output directory {out_dir}")
    msgs: list[str] = []
    for path in args.corpus:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        bar = Progress(1, f"reading {os.path.basename(path)}", err)
        got = _load(path, args.limit, args.field)
        bar.update(1, f"{len(got)} messages, {size:,} bytes")
        bar.close()
        msgs += got
    if not msgs:
        raise CliError("no messages to train on")
    feats = _features(args)
    kwargs: dict[str, Any] = {"brio": feats["brio"], "templates": feats["templates"],
                              "name": args.name or os.path.splitext(os.path.basename(args.corpus[0]))[0]}
    if args.min_distinct is not None:
        kwargs["min_distinct"] = args.min_distinct
    if args.zstd_dict_size is not None:
        kwargs["zstd_dict_size"] = args.zstd_dict_size
    # Held back from training: the last messages measure what the dictionary saves per message
    # on traffic it has not seen (stored in its meta section and announced in HELLO, spec §6.8).
    hold = min(500, len(msgs) // 10) if args.hold_back is None else min(args.hold_back, len(msgs) - 1)
    held = msgs[len(msgs) - hold:] if hold > 0 else []
    fit = msgs[: len(msgs) - hold]
    sizes: list[Any] = []
    if args.target_messages is not None:
        if not held:
            raise CliError("--target-messages needs held-back messages (--hold-back > 0)")
        if args.zstd_dict_size is not None:
            raise CliError("--target-messages chooses the size; leave out --zstd-dict-size")
        from aura_wire.session.transfer import coded_form as _coded
        from aura_wire.training.economics import choose_size

        with _ticker(f"training 4 sizes on {len(fit):,} messages, measured on {len(held):,} held back", err):
            best, sizes = choose_size(fit, held, target_messages=args.target_messages,
                                      transfer_size=lambda x: len(_coded(x, "br")),
                                      codec_config={"brio": feats["brio"], "templates": feats["templates"]},
                                      **kwargs)
        d = best.dictionary
    else:
        with _ticker(f"training on {len(fit):,} messages", err):
            d = train_dictionary(fit, **kwargs)
    saving: float | None = None
    if held:
        import msgpack

        from aura_wire.codec.dictionary import SECTION_META
        from aura_wire.training.economics import measure_saving

        with _ticker(f"measuring the saving on {len(held):,} held-back messages", err):
            saving = measure_saving(d, held, codec_config={"brio": feats["brio"], "templates": feats["templates"]})
        meta = dict(d.meta)
        meta["saving_per_message"] = round(saving, 3)
        meta["saving_measured_on"] = len(held)
        d = Dictionary({**d.sections, SECTION_META: msgpack.packb(meta)})
    try:
        save_dictionary(d, args.output)
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror}") from exc
    raw = sum(len(m.encode("utf-8")) for m in msgs)
    secs = ", ".join(f"{SECTION_NAMES.get(k, str(k))} {len(v):,} B" for k, v in d.sections.items())
    from aura_wire.training.economics import break_even
    from aura_wire.session.transfer import coded_form

    coded = {c: len(coded_form(d, c)) for c in ("br", "gzip")}
    summary: dict[str, Any] = {"output": args.output, "id": d.id, "bytes": len(d), "sections": secs,
                               "messages": len(msgs), "message_bytes": raw, "held_back": len(held),
                               "transfer_bytes": coded, "saving_per_message": saving,
                               "break_even_messages": (None if saving is None or saving <= 0
                                                       else round(break_even(coded["br"], saving))),
                               "sizes": [{"content_bytes": c.size, "transfer_bytes": c.transfer,
                                          "saving_per_message": round(c.saving, 3), "net_bytes": round(c.net)}
                                         for c in sizes]}
    section = d.section(SECTION_TEMPLATES)
    if section is not None:
        from aura_wire.training.templates import summarize

        tot: dict[str, Any] = {}
        step = max(1, len(msgs) // 50)
        bar = Progress(len(msgs), "measuring template hit rate", err)
        for i in range(0, len(msgs), step):
            part = summarize(section, msgs[i:i + step])
            for k in ("messages", "template_hits", "bytes_in", "bytes_saved"):
                tot[k] = tot.get(k, 0) + int(str(part[k]))
            for k in ("templates", "json_templates", "text_templates"):
                tot[k] = part[k]
            bar.update(len(msgs[i:i + step]))
        bar.close()
        n = tot.get("messages", 0) or 1
        summary["templates_found"] = tot.get("templates", 0)
        summary["json_templates"] = tot.get("json_templates", 0)
        summary["text_templates"] = tot.get("text_templates", 0)
        summary["template_hit_rate"] = tot.get("template_hits", 0) / n
        summary["template_bytes_saved"] = tot.get("bytes_saved", 0)
    # Whole-codec figure: the stateless encoder on (a sample of) the input.
    from aura_wire.codec.encoder import Encoder

    sample = msgs[:: max(1, len(msgs) // 2000)]
    enc = Encoder(d, context=False, brio=feats["brio"], templates=feats["templates"])
    bar = Progress(len(sample), "measuring stateless ratio", err)
    for m in sample:
        enc.encode(m)
        bar.update()
    bar.close()
    met = enc.metrics
    summary["stateless_ratio"] = met.ratio
    summary["stateless_bytes_saved_on_sample"] = met.bytes_saved
    summary["stateless_sample_messages"] = met.messages
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    print(f"dictionary {d.id[:16]}... written to {args.output} ({len(d):,} bytes: {secs})")
    print(f"trained on {len(msgs):,} messages ({raw:,} bytes); the input is in-sample, so these figures "
          "flatter it: measure on held-back traffic with `aura-wire bench`")
    if "templates_found" in summary:
        print(f"templates found: {summary['templates_found']} ({summary['json_templates']} JSON shapes, "
              f"{summary['text_templates']} text)")
        print(f"template hit rate on the input: {_pct(summary['template_hit_rate'])}; bytes saved by templates: "
              f"{_fmt_bytes(summary['template_bytes_saved'])}")
    else:
        print("templates: none (templates section absent)")
    print(f"stateless encoder on {met.messages:,} sampled messages: ratio {met.ratio:.2f}, "
          f"bytes saved {_fmt_bytes(met.bytes_saved)}; methods {_method_mix(met.method_counts)}")
    kept = max(sizes, key=lambda c: (c.net, -c.transfer)).size if sizes else 0
    for c in sizes:
        print(f"size {c.size:>6,}: transfer {c.transfer:>7,} B, saves {c.saving:6.2f} B/message, net over "
              f"{args.target_messages:,} messages {c.net:>+10,.0f} B{'  <- kept' if c.size == kept else ''}")
    print(f"transfer: {coded['br']:,} bytes Brotli-coded, {coded['gzip']:,} gzip, {len(d):,} plain")
    if saving is None:
        print("saving per message: not measured (--hold-back 0); clients fetch it at once")
    elif saving <= 0:
        print(f"saving per message on {len(held):,} held-back messages: none; a client never fetches it "
              "(returning clients that hold it still use it)")
    else:
        print(f"saving per message on {len(held):,} held-back messages: {saving:.2f} bytes; break-even: "
              f"{summary['break_even_messages']:,} messages (a client fetches it once its connection has carried "
              "that many)")
    return EXIT_OK


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    from aura_wire.ops.compare import compare, format_table, load_config, validate_config

    configs = []
    for i, path in enumerate(args.config):
        try:
            configs.append(load_config(path, index=i))
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    if not configs:
        configs = [validate_config({"name": "default", "train_fraction": 0.5}, index=0)]
    msgs = _load(args.corpus, args.limit)
    rows = compare(msgs, configs)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(format_table(rows))
    return EXIT_OK if all(r.get("roundtrip_ok", True) for r in rows) else EXIT_FAIL


# ---------------------------------------------------------------------------
# stats
# ---------------------------------------------------------------------------


def cmd_stats(args: argparse.Namespace) -> int:
    url = args.url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise CliError(f"stats needs an http(s) URL, got {url!r}")
    if parts.path in ("", "/"):
        url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/aura/health", parts.query, ""))
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as resp:
            body = resp.read(16 * 1024 * 1024)
    except urllib.error.HTTPError as exc:
        # The health endpoint answers 503 with its JSON report when the status is critical.
        body = exc.read(16 * 1024 * 1024)
        if exc.code != 503 or not body.lstrip().startswith(b"{"):
            raise CliError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise CliError(f"{url} did not return JSON (is it the health endpoint?)") from exc
    if args.metrics_only and isinstance(data, dict) and "metrics" in data:
        data = data["metrics"]
    print(json.dumps(data, indent=2, sort_keys=False))
    if isinstance(data, dict) and data.get("status") == "critical":
        return EXIT_FAIL
    return EXIT_OK


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


_Scope = MutableMapping[str, Any]


async def _echo_app(scope: _Scope, receive: Callable[[], Awaitable[_Scope]],
                    send: Callable[[_Scope], Awaitable[None]]) -> None:
    """The example application: a plain ASGI app that echoes every WebSocket message."""
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif m["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
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

    from aura_wire.tools.bench import _DeflatePeer

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
    app = AuraMiddleware(_echo_app, dictionary=d, **codec)
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


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aura-wire",
        description="aura_wire: a WebSocket transport codec (shared dictionaries, templates, BRIO).",
        epilog="Run 'aura-wire demo' to see it work; 'aura-wire COMMAND --help' for each command.",
    )
    p.add_argument("--version", action="version", version=version_text(),
                   help="print the version and whether the compiled codec is in use")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="replay the bundled sample through a real server and client",
                       description="Start uvicorn with AuraMiddleware on 127.0.0.1 (a free port), connect with "
                       "aura_wire.client, replay the second half of the bundled sample (the first half trains "
                       "the dictionary) and print bytes, ratio, method mix and latency beside permessage-deflate.")
    d.add_argument("--sample", help="a JSONL/plain-text stream to use instead of the bundled sample")
    d.add_argument("--limit", type=_positive, help="use only the first N messages")
    d.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_feature_flags(d)
    d.set_defaults(func=cmd_demo)

    b = sub.add_parser("bench", help="side-by-side benchmark against permessage-deflate, zstd, brotli",
                       description="For each corpus: train on the first half, code the second half in order as "
                       "one connection with aura_wire (context and stateless) and the peers; print ratio, "
                       "encode/decode time, memory, fan-out and the design thresholds (docs/benchmarks.md).")
    b.add_argument("corpus", nargs="+", help="JSONL ({\"m\": ...}) or plain-text corpora")
    b.add_argument("--limit", type=_positive, help="use only the first N messages of each corpus")
    b.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    b.add_argument("--markdown", metavar="PATH", help="write the tables and targets as Markdown")
    b.add_argument("--plot", metavar="PNG", help="write a chart (needs matplotlib: pip install 'aura_wire[plot]')")
    b.add_argument("--peers", help="comma-separated subset of: " + ", ".join(
        ["aura-context", "aura-stateless", "deflate-w15", "deflate-w12", "zstd", "zstd-dict",
         "zstd-stream", "brotli"]))
    b.add_argument("--no-trace", action="store_true", help="skip the tracemalloc memory measurement")
    b.add_argument("--check", action="store_true", help="exit with status 1 when a target fails")
    b.add_argument("--compare-pure", type=_positive, metavar="N",
                   help="also time the aura peers compiled vs pure Python (AURA_WIRE_PURE=1) on the first N "
                   "messages of each corpus (needs the compiled build)")
    _add_feature_flags(b)
    b.set_defaults(func=cmd_bench)

    i = sub.add_parser("inspect", help="dissect one frame field by field (or review a dictionary)",
                       description="Dissect an AURA frame like a protocol analyser: header bits, method, payload "
                       "fields, and the decoded message when the dictionary is at hand.  With --dictionary and "
                       "no FRAME: list what the dictionary holds (sections, templates, printable content) for "
                       "review before shipping it.")
    i.add_argument("frame", nargs="*", help="the frame as hex, base64, or @FILE (raw bytes); several frames "
                   "are taken as one connection's frames in order, so context frames decode")
    i.add_argument("--dictionary", metavar="FILE", help="the dictionary file (needed when the D flag is set)")
    i.add_argument("--context", action="store_true",
                   help="decode with a context-mode decoder (for a connection's frames given in order)")
    i.add_argument("--json", action="store_true", help="print the dissection as JSON")
    i.set_defaults(func=cmd_inspect)

    t = sub.add_parser("train", help="train a dictionary from sample messages",
                       description="Build a dictionary (zstd, BRIO content and models, templates) from messages: "
                       "JSONL {\"m\": ...}, JSONL audit logs {\"plaintext\": ...}, or plain text, one a line.")
    t.add_argument("corpus", nargs="+", help="input files")
    t.add_argument("-o", "--output", required=True, help="dictionary file to write (e.g. dict.aura)")
    t.add_argument("--limit", type=_positive, help="use only the first N messages of each file")
    t.add_argument("--field", metavar="NAME", help="JSONL: the field that holds the message (default: m, or "
                   "plaintext); '' reads each whole line as one message")
    t.add_argument("--name", help="name stored in the dictionary's metadata")
    t.add_argument("--min-distinct", type=_positive,
                   help="privacy threshold: a literal must occur in at least this many distinct messages")
    t.add_argument("--zstd-dict-size", type=_positive, help="size of the zstd section in bytes (default 32768)")
    t.add_argument("--hold-back", type=int, metavar="N",
                   help="messages kept out of training (the last N) to measure the saving per message and the "
                   "break-even point (default: a tenth, at most 500; 0: none)")
    t.add_argument("--target-messages", type=_positive, metavar="N",
                   help="right-size the dictionary: train 8, 16, 32 and 64 KiB content budgets and keep the one "
                   "that saves the most over N messages of a connection, its Brotli-coded transfer subtracted")
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_feature_flags(t)
    t.set_defaults(func=cmd_train)

    c = sub.add_parser("compare", help="run codec configurations over a corpus side by side",
                       description="A/B comparison (aura_wire.ops.compare): each --config is a TOML file with "
                       "name, context, messages_per_connection, dictionary, train_fraction, [codec], [train].")
    c.add_argument("corpus", help="JSONL corpus")
    c.add_argument("--config", action="append", default=[], metavar="TOML", help="a configuration (repeat)")
    c.add_argument("--limit", type=_positive, help="use only the first N messages")
    c.add_argument("--json", action="store_true", help="print the rows as JSON")
    c.set_defaults(func=cmd_compare)

    s = sub.add_parser("stats", help="print a running server's metrics (health endpoint JSON)",
                       description="GET the JSON health endpoint of a server running AuraMiddleware with the "
                       "ops app (default path /aura/health when the URL has none) and print it.")
    s.add_argument("url", help="e.g. http://127.0.0.1:8000/aura/health")
    s.add_argument("--metrics-only", action="store_true", help="print only the metrics object")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    s.set_defaults(func=cmd_stats)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        rc: int = args.func(args)
    except CliError as exc:
        print(f"aura-wire {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AuraError as exc:
        print(f"aura-wire {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
