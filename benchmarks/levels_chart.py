"""The level curve: ratio vs server CPU per level, per corpus, both relative to permessage-deflate w15.

Reads the ``--json`` outputs of ``benchmarks/server_cpu.py`` run once per level, prints a
Markdown table and writes an SVG chart (no plotting library needed):

    for l in 1 2 3 4; do python benchmarks/server_cpu.py --codec level=$l --configs pmd-w15,aura-ctx \\
        --json level$l.json; done
    python benchmarks/levels_chart.py level1.json level2.json level3.json level4.json --svg docs/img/levels.svg

x: aura context server CPU per message / permessage-deflate w15's, same run; y: aura context
ratio / permessage-deflate w15's (codec pass, same messages).  Up and to the left is better.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from typing import Any

COLORS = ["#1b7837", "#5aae61", "#2166ac", "#b2182b", "#762a83", "#e08214"]


def points(res: dict[str, Any]) -> dict[str, tuple[float, float]]:
    out = {}
    for name, r in res["corpora"].items():
        cpu = r["cpu_us"]
        codec = r.get("codec") or {}
        if "aura-ctx" not in cpu or "pmd-w15" not in cpu or "aura-ctx" not in codec:
            continue
        x = cpu["aura-ctx"]["median"] / cpu["pmd-w15"]["median"]
        y = codec["aura-ctx"]["ratio"] / codec["pmd-w15"]["ratio"]
        out[name] = (x, y)
    return out


def label(res: dict[str, Any]) -> str:
    return f"level {res['codec'].get('level', 3)}"


def svg(series: list[tuple[str, dict[str, tuple[float, float]]]]) -> str:
    w, h, ml, mr, mt, mb = 760, 460, 70, 170, 30, 55
    xs = [p[0] for _, pts in series for p in pts.values()]
    ys = [p[1] for _, pts in series for p in pts.values()]
    x0, x1 = 1.0, max(xs + [2.0]) * 1.1
    y0, y1 = min(ys + [1.0]) * 0.9, max(ys + [1.5]) * 1.05

    def px(x: float) -> float:  # log scale for CPU
        return ml + (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0)) * (w - ml - mr)

    def py(y: float) -> float:
        return mt + (y1 - y) / (y1 - y0) * (h - mt - mb)

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>']
    for t in (1, 1.5, 2, 3, 5, 10, 20, 50):
        if x0 <= t <= x1:
            o.append(f'<line x1="{px(t):.1f}" y1="{mt}" x2="{px(t):.1f}" y2="{h - mb}" stroke="#ddd"/>')
            o.append(f'<text x="{px(t):.1f}" y="{h - mb + 16}" text-anchor="middle">{t:g}x</text>')
    yt = y0
    step = 0.25 if y1 - y0 < 2 else 0.5
    yt = math.ceil(y0 / step) * step
    while yt <= y1:
        o.append(f'<line x1="{ml}" y1="{py(yt):.1f}" x2="{w - mr}" y2="{py(yt):.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{ml - 6}" y="{py(yt) + 4:.1f}" text-anchor="end">{yt:.2f}x</text>')
        yt += step
    for t, color in ((1.5, "#b2182b"), (3.0, "#f4a582")):
        if x0 <= t <= x1:
            o.append(f'<line x1="{px(t):.1f}" y1="{mt}" x2="{px(t):.1f}" y2="{h - mb}" stroke="{color}" '
                     f'stroke-dasharray="4 3"/>')
    o.append(f'<line x1="{ml}" y1="{py(1.0):.1f}" x2="{w - mr}" y2="{py(1.0):.1f}" stroke="#444" stroke-dasharray="4 3"/>')
    o.append(f'<text x="{(ml + w - mr) / 2}" y="{h - 12}" text-anchor="middle">server CPU per message / '
             'permessage-deflate w15 (log)</text>')
    o.append(f'<text transform="translate(16,{(mt + h - mb) / 2}) rotate(-90)" text-anchor="middle">'
             'ratio / permessage-deflate w15</text>')
    corpora = sorted({c for _, pts in series for c in pts})
    for i, (name, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        for c, (x, y) in pts.items():
            o.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{color}" fill-opacity="0.8">'
                     f'<title>{name} {c}: {x:.2f}x CPU, {y:.2f}x ratio</title></circle>')
        if pts:
            gx = statistics.geometric_mean([p[0] for p in pts.values()])
            gy = statistics.geometric_mean([p[1] for p in pts.values()])
            o.append(f'<rect x="{px(gx) - 6:.1f}" y="{py(gy) - 6:.1f}" width="12" height="12" fill="{color}" '
                     f'stroke="black"><title>{name} geomean</title></rect>')
        ly = mt + 18 * i
        o.append(f'<rect x="{w - mr + 15}" y="{ly}" width="10" height="10" fill="{color}"/>')
        o.append(f'<text x="{w - mr + 30}" y="{ly + 9}">{name}</text>')
    ly = mt + 18 * len(series) + 10
    o.append(f'<text x="{w - mr + 15}" y="{ly}" fill="#555">dots: corpora</text>')
    o.append(f'<text x="{w - mr + 15}" y="{ly + 15}" fill="#555">squares: geomean</text>')
    o.append(f'<text x="{w - mr + 15}" y="{ly + 30}" fill="#b2182b">1.5x / 3x CPU targets</text>')
    o.append(f'<text x="{w - mr + 15}" y="{ly + 45}" fill="#555">{len(corpora)} corpora</text>')
    o.append("</svg>")
    return "\n".join(o)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", help="server_cpu.py --json outputs, one per level")
    ap.add_argument("--svg", help="write the chart here")
    args = ap.parse_args(argv)
    series = []
    for path in args.results:
        with open(path, encoding="utf-8") as f:
            res = json.load(f)
        series.append((label(res), points(res)))
    corpora = sorted({c for _, pts in series for c in pts})
    print("| level | " + " | ".join(corpora) + " | geomean |")
    print("|---|" + "---|" * (len(corpora) + 1))
    for name, pts in series:
        cells = [f"{pts[c][1]:.2f}x / {pts[c][0]:.1f}x" if c in pts else "" for c in corpora]
        gx = statistics.geometric_mean([p[0] for p in pts.values()]) if pts else 0.0
        gy = statistics.geometric_mean([p[1] for p in pts.values()]) if pts else 0.0
        print(f"| {name} | " + " | ".join(cells) + f" | {gy:.2f}x / {gx:.1f}x |")
    print("\n(each cell: ratio vs pmd-w15 / server CPU vs pmd-w15)")
    if args.svg:
        with open(args.svg, "w", encoding="utf-8") as f:
            f.write(svg(series))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
