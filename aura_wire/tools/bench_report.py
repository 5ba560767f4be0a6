"""The benchmark report as text, Markdown, JSON or a plot (matplotlib, optional).
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any

from aura_wire.tools.bench_results import BenchReport
from aura_wire.tools.corpus import BenchError
from aura_wire.tools.peers import FANOUT_RECEIVERS, SHORT, TRACEMALLOC_MESSAGES

# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


def _kib(n: int) -> str:
    if n == 0:
        return "0"
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB"


def format_report(report: BenchReport) -> str:
    """The human-readable tables and the PASS/FAIL lines."""
    present = list(report.geomean)
    lines: list[str] = []
    feats = ", ".join(f"{k} {'on' if v else 'off (module absent)'}" for k, v in report.features.items())
    lines.append(f"aura_wire {report.version} bench: {'compiled (mypyc)' if report.compiled else 'pure Python'}; "
                 f"{feats}; Python {report.python}; {report.cpus} CPUs; "
                 f"limit {report.limit if report.limit else 'none'}; {report.seconds:.0f} s")
    lines.append("ratio = original bytes / wire bytes (payload), dictionaries trained on the first half, "
                 "second half measured as one connection")
    lines.append("")
    w = max([len("corpus")] + [len(c.corpus) for c in report.corpora] + [len("geomean")])
    head = f"{'corpus':<{w}} {'msgs':>6} " + " ".join(f"{SHORT[p]:>8}" for p in present)
    lines.append(head)
    lines.append("-" * len(head))
    for c in report.corpora:
        cells = " ".join(f"{c.peers[p].ratio:>8.2f}" for p in present)
        lines.append(f"{c.corpus:<{w}} {c.measured_messages:>6} {cells}")
    lines.append("-" * len(head))
    lines.append(f"{'geomean':<{w}} {'':>6} " + " ".join(f"{report.geomean[p]:>8.2f}" for p in present))
    lines.append("")
    head2 = (f"{'peer':<19} {'geomean':>8} {'enc us':>8} {'dec us':>8} {'mem/conn':>10} {'traced':>10} "
             f"{'fan-out 1000':>13}")
    lines.append(head2 + "   (enc/dec: median per message, all corpora pooled)")
    lines.append("-" * len(head2))
    for p in present:
        traced = [c.peers[p].traced_memory_bytes for c in report.corpora]
        tvals = [t for t in traced if t is not None]
        tcell = _kib(max(tvals)) if tvals else "-"
        lines.append(f"{p:<19} {report.geomean[p]:>8.2f} {report.encode_us_median[p]:>8.1f} "
                     f"{report.decode_us_median[p]:>8.1f} {_kib(report.memory_bytes[p]):>10} {tcell:>10} "
                     f"{report.fanout_ms[p]:>10.2f} ms")
    lines.append("")
    lines.append("mem/conn: per-connection encoder+decoder state (max over corpora); aura: memory_bytes(); deflate: "
                 "zlib.h formula; zstd-stream: libzstd memory_size(); stateless peers: 0.")
    lines.append("traced: tracemalloc on a fresh connection after "
                 f"{TRACEMALLOC_MESSAGES} messages (zlib allocates via PyMem_RawMalloc; libzstd is not traced).")
    lines.append(f"fan-out: one message to {FANOUT_RECEIVERS} receivers = median encode x "
                 f"{FANOUT_RECEIVERS} for per-connection codecs, x 1 for stateless ones (derived).")
    aura = [p for p in ("aura-context", "aura-stateless") if p in present]
    for p in aura:
        mix: dict[str, int] = {}
        hits = 0.0
        for c in report.corpora:
            for k, v in c.peers[p].method_counts.items():
                mix[k] = mix.get(k, 0) + v
            hits += (c.peers[p].template_hit_rate or 0.0) * c.measured_messages
        total = sum(mix.values()) or 1
        mixs = ", ".join(f"{k} {100.0 * v / total:.1f}%" for k, v in sorted(mix.items(), key=lambda kv: -kv[1]))
        n = sum(c.measured_messages for c in report.corpora) or 1
        lines.append(f"{p} method mix: {mixs}; template hit rate {100.0 * hits / n:.1f}%")
    cvp = report.compiled_vs_pure
    if cvp:
        lines.append("")
        lines.append(f"compiled vs pure Python (same package, AURA_WIRE_PURE=1; first {cvp['limit']} messages of "
                     "each corpus; median us per message):")
        for p, v in cvp["peers"].items():
            lines.append(f"  {p:<15} encode {v['compiled_encode_us']:8.1f} vs {v['pure_encode_us']:9.1f} "
                         f"({v['encode_speedup']:.0f}x)   decode {v['compiled_decode_us']:7.1f} vs "
                         f"{v['pure_decode_us']:8.1f} ({v['decode_speedup']:.0f}x)   identical frames: "
                         f"{'yes' if v['same_wire_bytes'] else 'NO'}")
    if report.targets:
        lines.append("")
        lines.append("thresholds (docs/benchmarks.md):")
        for t in report.targets:
            lines.append(f"  {'PASS' if t.passed else 'FAIL'}  {t.name}: {t.value:.2f} "
                         f"(threshold {t.threshold:.2f}; {t.detail})")
    return "\n".join(lines)


def format_markdown(report: BenchReport) -> str:
    """The ratio table, the performance table and the targets as Markdown (for docs and READMEs)."""
    present = list(report.geomean)
    out: list[str] = []
    out.append("| corpus | messages | " + " | ".join(present) + " |")
    out.append("|---|---:|" + "---:|" * len(present))
    for c in report.corpora:
        best = max(c.peers[p].ratio for p in present)
        cells = [(f"**{c.peers[p].ratio:.2f}**" if c.peers[p].ratio == best else f"{c.peers[p].ratio:.2f}")
                 for p in present]
        out.append(f"| {c.corpus} | {c.measured_messages:,} | " + " | ".join(cells) + " |")
    out.append("| **geomean** | | " + " | ".join(f"**{report.geomean[p]:.2f}**" for p in present) + " |")
    out.append("")
    out.append("| peer | geomean ratio | encode µs (median) | decode µs (median) | memory / connection | "
               "traced (tracemalloc) | one message to 1000 receivers |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for p in present:
        tvals = [c.peers[p].traced_memory_bytes for c in report.corpora
                 if c.peers[p].traced_memory_bytes is not None]
        traced = _kib(max(t for t in tvals if t is not None)) if tvals else "-"
        out.append(f"| {p} | {report.geomean[p]:.2f} | {report.encode_us_median[p]:.1f} | "
                   f"{report.decode_us_median[p]:.1f} | {_kib(report.memory_bytes[p])} | {traced} | "
                   f"{report.fanout_ms[p]:.2f} ms |")
    if report.targets:
        out.append("")
        for t in report.targets:
            out.append(f"* **{'PASS' if t.passed else 'FAIL'}** {t.name}: {t.value:.2f} "
                       f"(threshold {t.threshold:.2f}; {t.detail})")
    return "\n".join(out) + "\n"


def write_json(report: BenchReport, path: str | os.PathLike[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report.to_json(), f, indent=2, sort_keys=False)
        f.write("\n")


def plot_report(report: BenchReport, path: str | os.PathLike[str]) -> None:
    """Write a chart: ratio per corpus, one bar per peer, log scale.

    Needs matplotlib (``pip install 'aura_wire[plot]'``).
    """
    if importlib.util.find_spec("matplotlib") is None:
        raise BenchError("--plot needs matplotlib: pip install 'aura_wire[plot]'")
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")

    present = list(report.geomean)
    groups = [c.corpus for c in report.corpora] + ["geomean"]
    n = len(present)
    width = 0.8 / n
    colors = {
        "aura-context": "#1b7837", "aura-stateless": "#7fbf7b", "deflate-w15": "#2166ac",
        "deflate-w12": "#92c5de", "zstd": "#b2abd2", "zstd-dict": "#8073ac", "zstd-stream": "#542788",
        "brotli": "#e08214",
    }
    fig, ax = plt.subplots(figsize=(max(10.0, 1.3 * len(groups)), 5.5), dpi=110)
    for j, p in enumerate(present):
        vals = [c.peers[p].ratio for c in report.corpora] + [report.geomean[p]]
        xs = [i + (j - (n - 1) / 2) * width for i in range(len(groups))]
        ax.bar(xs, vals, width=width, label=p, color=colors.get(p, None), edgecolor="white", linewidth=0.4)
    ax.set_yscale("log")
    ax.set_xticks(list(range(len(groups))))
    ax.set_xticklabels(groups, rotation=25, ha="right", fontsize=9)
    ax.set_ylabel("compression ratio (original / wire), log scale")
    mode = "compiled" if report.compiled else "pure Python"
    ax.set_title(f"aura_wire {report.version} ({mode}) vs permessage-deflate, zstd, brotli: "
                 "second half of each corpus as one connection", fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.set_axisbelow(True)
    ax.axvline(len(groups) - 1.5, color="#999999", linewidth=0.8)
    ax.legend(ncol=4, fontsize=8, loc="upper left", frameon=False)
    ymin = min([c.peers[p].ratio for c in report.corpora for p in present] + [1.0])
    ymax = max(c.peers[p].ratio for c in report.corpora for p in present)
    ax.set_ylim(max(0.5, ymin * 0.8), ymax * 2.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
