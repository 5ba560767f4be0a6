"""A/B comparison of codec configurations over a corpus, and their TOML files.

``compare(corpus_messages, configs)`` codes the corpus once per
configuration (Encoder, then Decoder to check every round trip) and returns
one metrics row per configuration; :func:`format_table` prints them side by
side.  A configuration is a mapping (from keyword arguments or a TOML file,
:func:`load_config`) with these keys, all optional:

``name`` (str, default "config-<n>")
    the column title.
``context`` (bool, true)
    context mode (one Encoder/Decoder pair per simulated connection).
``messages_per_connection`` (int >= 1, 100)
    messages per simulated connection; each starts with fresh state.
``dictionary`` (str)
    path of a dictionary file to use.
``train_fraction`` (float in [0, 1), 0)
    when > 0 and no ``dictionary``: train one on the first fraction of the
    corpus and measure on the rest (every configuration is measured on the
    same messages: the part after the largest ``train_fraction``).
``[codec]`` (table)
    :class:`~aura_wire.codec.config.CodecConfig` fields.
``[train]`` (table)
    keyword arguments of :meth:`Dictionary.train`.

Unknown keys and wrong types raise :class:`ConfigError` naming the field.
This module reads files only in :func:`load_config` and :func:`load_corpus`.
"""

from __future__ import annotations

import os
import time
from typing import Any, Final, Mapping, Sequence

from aura_wire.codec.config import CodecConfig
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.decoder import Decoder
from aura_wire.codec.encoder import Encoder
from aura_wire.errors import AuraError, ConfigError
from aura_wire.metrics import ROLE_DECODE, CompressionMetrics
from aura_wire.ops.config import read_toml
from aura_wire.training import train_dictionary
from aura_wire.files import load_dictionary, load_messages

__all__ = ["compare", "compare_files", "format_table", "load_config", "load_corpus", "validate_config"]

_TRAIN_KEYS: Final = {"zstd_dict_size": int, "brio_content_size": int, "templates": bool, "brio": bool,
                      "min_distinct": int, "name": str}
_TOP_KEYS: Final = {"name", "context", "messages_per_connection", "dictionary", "train_fraction", "codec", "train"}


def _bare(exc: ConfigError) -> str:
    msg = str(exc)
    suffix = f" (field {exc.field})"
    return msg[: -len(suffix)] if msg.endswith(suffix) else msg


def validate_config(values: Mapping[str, Any], *, index: int = 0, source: str = "config") -> dict[str, Any]:
    """A normalised copy of one configuration; raises ConfigError naming the bad field."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source}: a configuration must be a table", field="config")
    unknown = sorted(set(values) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}",
                          field=unknown[0])
    out: dict[str, Any] = {}
    name = values.get("name", f"config-{index + 1}")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{source}: name must be a non-empty string", field="name")
    out["name"] = name
    ctx = values.get("context", True)
    if not isinstance(ctx, bool):
        raise ConfigError(f"{source}: context must be true or false", field="context")
    out["context"] = ctx
    mpc = values.get("messages_per_connection", 100)
    if isinstance(mpc, bool) or not isinstance(mpc, int) or mpc < 1:
        raise ConfigError(f"{source}: messages_per_connection must be an integer >= 1", field="messages_per_connection")
    out["messages_per_connection"] = mpc
    dic = values.get("dictionary")
    if dic is not None and not isinstance(dic, str):
        raise ConfigError(f"{source}: dictionary must be a file path", field="dictionary")
    out["dictionary"] = dic
    tf = values.get("train_fraction", 0.0)
    if isinstance(tf, bool) or not isinstance(tf, (int, float)) or not 0.0 <= tf < 1.0:
        raise ConfigError(f"{source}: train_fraction must be a number in [0, 1)", field="train_fraction")
    out["train_fraction"] = float(tf)
    codec = values.get("codec", {})
    if not isinstance(codec, Mapping):
        raise ConfigError(f"{source}: [codec] must be a table", field="codec")
    try:
        CodecConfig.from_mapping(codec)
    except ConfigError as exc:
        name = f"codec.{exc.field}" if exc.field else "codec"
        raise ConfigError(f"{source}: [codec] {_bare(exc)}", field=name) from exc
    out["codec"] = dict(codec)
    train = values.get("train", {})
    if not isinstance(train, Mapping):
        raise ConfigError(f"{source}: [train] must be a table", field="train")
    for k, v in train.items():
        want = _TRAIN_KEYS.get(k)
        if want is None:
            raise ConfigError(f"{source}: unknown [train] option {k}; known: {', '.join(sorted(_TRAIN_KEYS))}",
                              field=f"train.{k}")
        if not isinstance(v, want) or (want is int and isinstance(v, bool)):
            raise ConfigError(f"{source}: train.{k} must be of type {want.__name__}", field=f"train.{k}")
    out["train"] = dict(train)
    return out


def load_config(path: str | os.PathLike[str], *, index: int = 0) -> dict[str, Any]:
    """Read and validate one configuration TOML file (a relative ``dictionary`` is relative to the file)."""
    p = os.fspath(path)
    raw = read_toml(p)
    raw.setdefault("name", os.path.splitext(os.path.basename(p))[0])
    cfg = validate_config(raw, index=index, source=p)
    if cfg["dictionary"] is not None and not os.path.isabs(cfg["dictionary"]):
        cfg["dictionary"] = os.path.join(os.path.dirname(os.path.abspath(p)), cfg["dictionary"])
    return cfg


def load_corpus(path: str | os.PathLike[str], *, limit: int | None = None) -> list[str]:
    """Messages of a JSONL corpus, strictly one ``{"m": "..."}`` per line (:func:`aura_wire.files.load_messages`
    with ``field="m"``); a line that is not raises :class:`~aura_wire.errors.CorpusError`, a ConfigError."""
    return load_messages(path, limit=limit, field="m")


def compare(corpus_messages: Sequence[str | bytes], configs: Sequence[Mapping[str, Any]], *,
            verify: bool = True) -> list[dict[str, Any]]:
    """Run every configuration over the corpus; one result row per configuration, in order.

    Each row: name, messages, original_bytes, wire_bytes, ratio, savings,
    bytes_saved, template_hit_rate, expansion_rate, methods (name -> share),
    encode/decode latency (avg, p50, p95, p99 in seconds), encode_seconds,
    dictionary_id / dictionary_bytes, roundtrip_ok (every message decoded
    back to itself; False also when a decode raised, with ``error`` set).
    """
    cfgs = [validate_config(c, index=i) for i, c in enumerate(configs)]
    if not cfgs:
        raise ConfigError("compare needs at least one configuration", field="config")
    msgs = list(corpus_messages)
    split = int(len(msgs) * max(c["train_fraction"] for c in cfgs))
    test = msgs[split:]
    if not test:
        raise ConfigError("the corpus has no messages left to measure", field="corpus")
    rows = []
    for cfg in cfgs:
        dictionary: Dictionary | None = None
        if cfg["dictionary"] is not None:
            dictionary = load_dictionary(cfg["dictionary"])
        elif cfg["train_fraction"] > 0:
            dictionary = train_dictionary(msgs[: int(len(msgs) * cfg["train_fraction"])], **cfg["train"])
        rows.append(_run(cfg, dictionary, test, verify))
    return rows


def compare_files(corpus_path: str | os.PathLike[str], config_paths: Sequence[str | os.PathLike[str]], *,
                  limit: int | None = None, verify: bool = True) -> list[dict[str, Any]]:
    """``aura-wire compare CORPUS --config a.toml --config b.toml`` in one call.

    With no config file, one default configuration is run.
    """
    configs = [load_config(p, index=i) for i, p in enumerate(config_paths)] or [{"name": "default"}]
    return compare(load_corpus(corpus_path, limit=limit), configs, verify=verify)


def _run(cfg: dict[str, Any], dictionary: Dictionary | None, msgs: list[str | bytes], verify: bool) -> dict[str, Any]:
    enc_m = CompressionMetrics()
    dec_m = CompressionMetrics(ROLE_DECODE)
    ok = True
    error: str | None = None
    mpc = cfg["messages_per_connection"]
    ctx = cfg["context"]
    enc: Encoder | None = None
    dec: Decoder | None = None
    state = 0  # largest per-connection codec state seen (encoder + decoder memory_bytes())
    t0 = time.perf_counter()
    for i, m in enumerate(msgs):
        if enc is None or (ctx and i % mpc == 0):
            if enc is not None:
                state = max(state, _state_bytes(enc, dec))
                enc_m.merge(enc.metrics)
            enc = Encoder(dictionary, context=ctx, **cfg["codec"])
            if verify:
                if dec is not None:
                    dec_m.merge(dec.metrics)
                dec = Decoder(dictionary, context=ctx, **cfg["codec"])
                dec.metrics = CompressionMetrics(ROLE_DECODE)  # its latency is decode latency
        frame = enc.encode(m)
        if verify and dec is not None and ok:
            try:
                if dec.decode(frame) != m:
                    ok, error = False, f"message {i} did not round-trip"
            except AuraError as exc:
                ok, error = False, f"message {i}: {type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - t0
    if enc is not None:
        state = max(state, _state_bytes(enc, dec))
        enc_m.merge(enc.metrics)
    if dec is not None:
        dec_m.merge(dec.metrics)
    s = enc_m.snapshot()
    return {
        "name": cfg["name"],
        "messages": s["messages"],
        "original_bytes": s["original_bytes"],
        "wire_bytes": s["wire_bytes"],
        "ratio": s["ratio"],
        "savings": s["savings"],
        "bytes_saved": s["bytes_saved"],
        "template_hit_rate": s["template_hit_rate"],
        "expansion_rate": s["expansion_rate"],
        "methods": {k: v["share"] for k, v in s["methods"].items()},
        "encode_latency": {k: s["latency"]["encode"][k] for k in ("avg", "p50", "p95", "p99")},
        "decode_latency": {k: dec_m.decode_latency.summary()[k] for k in ("avg", "p50", "p95", "p99")},
        "seconds": elapsed,
        "dictionary_id": dictionary.id if dictionary is not None else None,
        "dictionary_bytes": len(dictionary) if dictionary is not None else 0,
        "roundtrip_ok": ok if verify else None,
        "error": error,
        "state_bytes": state,
    }


def _state_bytes(enc: Encoder, dec: Decoder | None) -> int:
    return enc.memory_bytes() + (dec.memory_bytes() if dec is not None else 0)


def _fmt_lat(s: float) -> str:
    return f"{s * 1e6:.0f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def format_table(results: Sequence[Mapping[str, Any]]) -> str:
    """The results side by side: one row per metric, one column per configuration."""
    if not results:
        return "(no results)\n"
    methods = sorted({m for r in results for m in r["methods"]})
    rows: list[tuple[str, list[str]]] = [
        ("messages", [f"{r['messages']:,}" for r in results]),
        ("original bytes", [f"{r['original_bytes']:,}" for r in results]),
        ("wire bytes", [f"{r['wire_bytes']:,}" for r in results]),
        ("ratio (orig/wire)", [f"{r['ratio']:.3f}" for r in results]),
        ("savings", [f"{r['savings']:.1%}" for r in results]),
        ("template hit rate", [f"{r['template_hit_rate']:.1%}" for r in results]),
        ("expansions", [f"{r['expansion_rate']:.2%}" for r in results]),
    ]
    rows += [(f"method {m}", [f"{r['methods'].get(m, 0.0):.1%}" for r in results]) for m in methods]
    for role in ("encode", "decode"):
        for q in ("p50", "p95", "p99"):
            rows.append((f"{role} {q}", [_fmt_lat(r[f"{role}_latency"][q]) for r in results]))
    rows.append(("dictionary bytes", [f"{r['dictionary_bytes']:,}" for r in results]))
    rows.append(("state / connection", [f"{r.get('state_bytes', 0) / 1024:.1f} KiB" for r in results]))
    rows.append(("round trip", ["-" if r["roundtrip_ok"] is None else ("ok" if r["roundtrip_ok"] else "FAILED")
                                for r in results]))
    head = ["metric"] + [str(r["name"]) for r in results]
    w0 = max(len(head[0]), max(len(k) for k, _ in rows))
    widths = [max(len(head[i + 1]), max(len(v[i]) for _, v in rows)) for i in range(len(results))]
    lines = ["  ".join([head[0].ljust(w0)] + [h.rjust(w) for h, w in zip(head[1:], widths)])]
    lines.append("  ".join(["-" * w0] + ["-" * w for w in widths]))
    for k, vals in rows:
        lines.append("  ".join([k.ljust(w0)] + [v.rjust(w) for v, w in zip(vals, widths)]))
    return "\n".join(lines) + "\n"
