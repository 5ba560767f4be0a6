"""Take a PNG of the ops dashboard from a running example server, in headless Chromium.

    python scripts/dashboard_screenshot.py [--out docs/img/dashboard.png] [--points 48]

Steps: code synthetic traffic (slices of ../shared/corpora when present,
generated messages otherwise) through real Encoders, sampling the metrics
into a MetricsHistory with a simulated 10-second clock; start uvicorn on
127.0.0.1 (random port) serving the ops app; run
``chromium --headless --screenshot`` against the dashboard page; stop the
server.  Needs /usr/bin/chromium (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import uvicorn  # noqa: E402

from aura_wire import Encoder  # noqa: E402
from aura_wire.metrics import CompressionMetrics  # noqa: E402
from aura_wire.ops import CanarySplitter, HealthTargets, MetricsHistory, make_ops_app  # noqa: E402
from aura_wire import train_dictionary

CORPORA = REPO.parent / "shared" / "corpora"


def _have_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def load_streams(limit: int) -> dict[str, list[str]]:
    """A few message streams: corpora slices, or generated look-alikes when the corpora are absent."""
    out: dict[str, list[str]] = {}
    for name in ("logs_openssh", "market_binance", "chat_ubuntu_irc", "logs_hdfs"):
        p = CORPORA / f"{name}.jsonl"
        if p.exists():
            with open(p, encoding="utf-8") as f:
                out[name] = [json.loads(line)["m"] for _, line in zip(range(limit), f)]
    if not out:
        rng = random.Random(0)
        out["generated_logs"] = [f"Dec 10 06:55:{rng.randrange(60):02d} host sshd[{rng.randrange(9999)}]: "
                                 f"Failed password for user{rng.randrange(50)} from 10.0.{rng.randrange(255)}."
                                 f"{rng.randrange(255)} port {rng.randrange(1024, 65535)} ssh2" for _ in range(limit)]
        out["generated_json"] = [json.dumps({"e": "trade", "s": "BTCUSDT", "p": f"{37000 + rng.random() * 50:.2f}",
                                             "q": f"{rng.random():.4f}", "T": 1700000000000 + i})
                                 for i in range(limit)]
    return out


def synthetic_history(points: int, interval: float) -> tuple[CompressionMetrics, MetricsHistory, CanarySplitter]:
    streams = load_streams(400)
    names = sorted(streams)
    train = [m for n in names for m in streams[n][:80]]
    templates = _have_module("aura_wire.codec.templates")
    print(f"training a dictionary on {len(train)} messages (templates={templates}) ...", flush=True)
    dictionary = train_dictionary(train, templates=templates, zstd_dict_size=8192)
    codec = {"templates": templates, "brio": True}
    total = CompressionMetrics()
    now = [time.time() - points * interval]
    history = MetricsHistory(capacity=max(points, 2), interval=interval, clock=lambda: now[0])
    rng = random.Random(1)
    # A canary: 25 % of connections try zstd level 1 without BRIO.
    splitter = CanarySplitter(25, {}, {"brio": False, "zstd_level": 1}, seed=3)
    # A live server samples once before any traffic (the dashboard opened at start-up): a point with
    # no messages, which the charts must not draw as a ratio of 0.
    history.sample(total)
    now[0] += interval
    for step in range(points - 1):
        # The traffic mix drifts over time; in the middle third a "bad deploy" sends
        # connections without the dictionary, so ratio and savings dip.
        name = names[(step * len(names)) // points]
        stream = streams[name]
        use_dict = not (points // 3 <= step < points // 2)
        arm = splitter.choose(f"connection-{step}")
        enc = Encoder(dictionary if use_dict else None, **{**codec, **arm.config})
        start = rng.randrange(80, max(81, len(stream) - 30))
        for m in stream[start:start + 12]:
            enc.encode(m)
        if step % 5 == 0:
            enc.encode(os.urandom(64))  # incompressible binary: an expansion
        total.merge(enc.metrics)
        splitter.record(arm, enc.metrics)
        history.sample(total)
        now[0] += interval
    return total, history, splitter


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "docs" / "img" / "dashboard.png"))
    ap.add_argument("--points", type=int, default=48)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    if not os.path.exists(args.chromium):
        print(f"chromium not found at {args.chromium} (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    metrics, history, splitter = synthetic_history(args.points, 10.0)
    print(f"{metrics.messages} messages, ratio {metrics.ratio:.2f}", flush=True)
    # illustrative connection counts (AuraMiddleware.connection_counts gives the real ones)
    conns = {"open": 15, "open_aura": 12, "total": 60, "total_aura": 48}
    app = make_ops_app(lambda: metrics, history=history, refresh=0, arms=splitter.arm_metrics,
                       connections=lambda: conns,
                       targets=HealthTargets(min_template_hit_rate=None, min_messages=50))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}/aura/dashboard"
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        cmd = [args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               "--disable-dev-shm-usage", "--virtual-time-budget=3000", f"--screenshot={os.path.abspath(args.out)}",
               "--window-size=1200,900", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 or not os.path.exists(args.out):
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
