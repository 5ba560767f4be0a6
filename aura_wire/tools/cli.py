"""The ``aura-wire`` command: demo, bench, inspect, train, compare, stats.

``aura-wire demo`` shows the codec at work in one command (a real server and
client on 127.0.0.1); ``bench`` compares it with permessage-deflate, zstd and
brotli on corpora; ``inspect`` dissects a frame; ``train`` builds a
dictionary; ``compare`` runs codec configurations side by side; ``stats``
reads a running server's health endpoint.  ``aura-wire --version`` says
whether the compiled codec is in use.  Each subcommand has ``--help``.

The tools (this package) are the only modules that print.  It reports an
:class:`~aura_wire.errors.AuraError`, a bad input file or an unreachable
server as a one-line error and exit status 2; anything else is a bug and
shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Sequence, TextIO

import msgpack

import aura_wire
from aura_wire.codec.config import LEVELS
from aura_wire.codec.dictionary import SECTION_META, SECTION_NAMES, SECTION_TEMPLATES, Dictionary
from aura_wire.codec.encoder import Encoder
from aura_wire.errors import AuraError, CorpusError
from aura_wire.files import load_dictionary, save_dictionary
from aura_wire.tools.console import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Progress,
    _features,
    _fmt_bytes,
    _load,
    _method_mix,
    _pct,
    _ticker,
)
from aura_wire.metrics import CompressionMetrics
from aura_wire.session.params import server_codec_config
from aura_wire.session.transfer import coded_form
from aura_wire.tools.demo import cmd_demo
from aura_wire.training import train_dictionary
from aura_wire.training.economics import break_even, choose_size, measure_saving
from aura_wire.training.templates import summarize


def version_text() -> str:
    mode = "compiled" if aura_wire.compiled else "pure"
    return f"aura-wire {aura_wire.__version__} ({mode}) Python {sys.version.split()[0]}"


def _add_feature_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-brio", action="store_true", help="code without BRIO")
    p.add_argument("--no-templates", action="store_true", help="code without templates")


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
                                 config={"level": args.level} if args.level else None,
                                 trace_memory=not args.no_trace, progress=sys.stderr)
    except (bench.BenchError, CorpusError) as exc:
        raise CliError(str(exc)) from exc
    if args.compare_pure:
        sys.stderr.write(f"compiled vs pure: first {args.compare_pure} messages of each corpus, twice ...\n")
        try:
            report.compiled_vs_pure = bench.measure_compiled_vs_pure(args.corpus, limit=args.compare_pure,
                                                                     features=report.features)
        except (bench.BenchError, CorpusError) as exc:
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
    return EXIT_FAIL if any(r.failed for r in results) else EXIT_OK


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    err = sys.stderr
    _check_output(args.output)  # before training, not after (training takes a while)
    msgs = _read_corpora(args, err)
    feats = _features(args)
    # Held back from training: the last messages measure what the dictionary saves per message
    # on traffic it has not seen (stored in its meta section and announced in HELLO, spec §6.8).
    hold = min(500, len(msgs) // 10) if args.hold_back is None else min(args.hold_back, len(msgs) - 1)
    held = msgs[len(msgs) - hold:] if hold > 0 else []
    d, sizes = _train(args, feats, msgs[: len(msgs) - hold], held, err)
    saving: float | None = None
    if held:
        d, saving = _with_saving(d, held, feats, err)
    try:
        save_dictionary(d, args.output)
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror}") from exc
    summary = _train_summary(args, d, msgs, held, saving, sizes)
    section = d.section(SECTION_TEMPLATES)
    if section is not None:
        summary.update(_template_summary(section, msgs, err))
    # Whole-codec figure: the stateless encoder on (a sample of) the input.
    met = _stateless_metrics(d, msgs, feats, err)
    summary["stateless_ratio"] = met.ratio
    summary["stateless_bytes_saved_on_sample"] = met.bytes_saved
    summary["stateless_sample_messages"] = met.messages
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_train_summary(args, summary, met, sizes)
    return EXIT_OK


def _check_output(output: str) -> None:
    out_dir = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(out_dir):
        raise CliError(f"the output directory {os.path.dirname(output) or out_dir} does not exist "
                       "(create it first)")
    if os.path.isdir(output):
        raise CliError(f"{output} is a directory; give a file name, e.g. {os.path.join(output, 'app.aura')}")
    if not os.access(out_dir, os.W_OK):
        raise CliError(f"cannot write to the output directory {out_dir}")


def _read_corpora(args: argparse.Namespace, err: TextIO) -> list[str]:
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
    return msgs


def _train(args: argparse.Namespace, feats: dict[str, bool], fit: list[str], held: list[str],
           err: TextIO) -> tuple[Dictionary, list[Any]]:
    """The trained dictionary and, with ``--target-messages``, the content sizes tried."""
    kwargs: dict[str, Any] = {"brio": feats["brio"], "templates": feats["templates"],
                              "name": args.name or os.path.splitext(os.path.basename(args.corpus[0]))[0]}
    if args.min_distinct is not None:
        kwargs["min_distinct"] = args.min_distinct
    if args.zstd_dict_size is not None:
        kwargs["zstd_dict_size"] = args.zstd_dict_size
    if args.target_messages is None:
        with _ticker(f"training on {len(fit):,} messages", err):
            return train_dictionary(fit, **kwargs), []
    if not held:
        raise CliError("--target-messages needs held-back messages (--hold-back > 0)")
    if args.zstd_dict_size is not None:
        raise CliError("--target-messages chooses the size; leave out --zstd-dict-size")
    with _ticker(f"training 4 sizes on {len(fit):,} messages, measured on {len(held):,} held back", err):
        best, sizes = choose_size(fit, held, target_messages=args.target_messages,
                                  transfer_size=lambda x: len(coded_form(x, "br")),
                                  codec_config=server_codec_config({"brio": feats["brio"],
                                                                    "templates": feats["templates"]}),
                                  **kwargs)
    return best.dictionary, sizes


def _with_saving(d: Dictionary, held: list[str], feats: dict[str, bool], err: TextIO) -> tuple[Dictionary, float]:
    """``d`` with the saving per message measured on ``held`` in its meta section, and that saving."""
    with _ticker(f"measuring the saving on {len(held):,} held-back messages", err):
        # what a switch saves on the connection a server runs (its window: session.params)
        saving = measure_saving(d, held, codec_config=server_codec_config({"brio": feats["brio"],
                                                                           "templates": feats["templates"]}))
    meta = dict(d.meta)
    meta["saving_per_message"] = round(saving, 3)
    meta["saving_measured_on"] = len(held)
    return Dictionary({**d.sections, SECTION_META: msgpack.packb(meta)}), saving


def _train_summary(args: argparse.Namespace, d: Dictionary, msgs: list[str], held: list[str],
                   saving: float | None, sizes: list[Any]) -> dict[str, Any]:
    coded = {c: len(coded_form(d, c)) for c in ("br", "gzip")}
    return {"output": args.output, "id": d.id, "bytes": len(d),
            "sections": ", ".join(f"{SECTION_NAMES.get(k, str(k))} {len(v):,} B" for k, v in d.sections.items()),
            "messages": len(msgs), "message_bytes": sum(len(m.encode("utf-8")) for m in msgs),
            "held_back": len(held), "transfer_bytes": coded, "saving_per_message": saving,
            "break_even_messages": (None if saving is None or saving <= 0
                                    else round(break_even(coded["br"], saving))),
            "sizes": [{"content_bytes": c.size, "transfer_bytes": c.transfer,
                       "saving_per_message": round(c.saving, 3), "net_bytes": round(c.net)}
                      for c in sizes]}


def _template_summary(section: bytes, msgs: list[str], err: TextIO) -> dict[str, Any]:
    """Templates found and how often they match the input (in-sample)."""
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
    return {"templates_found": tot.get("templates", 0), "json_templates": tot.get("json_templates", 0),
            "text_templates": tot.get("text_templates", 0),
            "template_hit_rate": tot.get("template_hits", 0) / n,
            "template_bytes_saved": tot.get("bytes_saved", 0)}


def _stateless_metrics(d: Dictionary, msgs: list[str], feats: dict[str, bool], err: TextIO) -> CompressionMetrics:
    sample = msgs[:: max(1, len(msgs) // 2000)]
    enc = Encoder(d, context=False, brio=feats["brio"], templates=feats["templates"])
    bar = Progress(len(sample), "measuring stateless ratio", err)
    for m in sample:
        enc.encode(m)
        bar.update()
    bar.close()
    return enc.metrics


def _print_train_summary(args: argparse.Namespace, summary: dict[str, Any], met: CompressionMetrics,
                         sizes: list[Any]) -> None:
    saving = summary["saving_per_message"]
    held = summary["held_back"]
    coded = summary["transfer_bytes"]
    print(f"dictionary {summary['id'][:16]}... written to {args.output} ({summary['bytes']:,} bytes: "
          f"{summary['sections']})")
    print(f"trained on {summary['messages']:,} messages ({summary['message_bytes']:,} bytes); the input is "
          "in-sample, so these figures flatter it: measure on held-back traffic with `aura-wire bench`")
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
    print(f"transfer: {coded['br']:,} bytes Brotli-coded, {coded['gzip']:,} gzip, {summary['bytes']:,} plain")
    if saving is None:
        print("saving per message: not measured (--hold-back 0); clients fetch it at once")
    elif saving <= 0:
        print(f"saving per message on {held:,} held-back messages: none; a client never fetches it "
              "(returning clients that hold it still use it)")
    else:
        print(f"saving per message on {held:,} held-back messages: {saving:.2f} bytes; break-even: "
              f"{summary['break_even_messages']:,} messages (a client fetches it once its connection has carried "
              "that many)")


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
    b.add_argument("--markdown", metavar="PATH", help="write the tables and the design thresholds as Markdown")
    b.add_argument("--plot", metavar="PNG", help="write a chart (needs matplotlib: pip install 'aura_wire[plot]')")
    b.add_argument("--peers", help="comma-separated subset of: " + ", ".join(
        ["aura-context", "aura-stateless", "deflate-w15", "deflate-w12", "zstd", "zstd-dict",
         "zstd-stream", "brotli"]))
    b.add_argument("--level", type=int, choices=sorted(LEVELS),
                   help="the aura peers' CodecConfig level (default: the codec's default, 3)")
    b.add_argument("--no-trace", action="store_true", help="skip the tracemalloc memory measurement")
    b.add_argument("--check", action="store_true", help="exit with status 1 when a design threshold fails")
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
