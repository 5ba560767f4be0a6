"""Every ``aura-wire`` subcommand through its real entry point (``python -m aura_wire.tools.cli`` in a subprocess).

The subprocess runs the same aura_wire package as this test process (the
installed, compiled one in CI; the source tree in development), from a
temporary folder, and inherits AURA_WIRE_PURE.
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

import aura_wire
from aura_wire import Encoder, load_dictionary, save_dictionary, train_dictionary

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "aura_wire" / "data" / "sample.jsonl"
PKG_PARENT = str(Path(aura_wire.__file__).resolve().parent.parent)
OFF = ["--no-brio", "--no-templates"]


def run(*args: str, cwd: Path, timeout: float = 120, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "aura_wire.tools.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if ok:
        assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def sample(n: int) -> list[str]:
    with open(SAMPLE, encoding="utf-8") as f:
        return [json.loads(next(f))["m"] for _ in range(n)]


def test_version_says_compiled_or_pure(tmp_path: Path) -> None:
    out = run("--version", cwd=tmp_path).stdout
    assert out.startswith(f"aura-wire {aura_wire.__version__} ")
    assert ("(compiled)" if aura_wire.compiled else "(pure)") in out


def test_console_script(tmp_path: Path) -> None:
    exe = shutil.which("aura-wire")
    if exe is None:
        pytest.skip("the aura-wire console script is not installed (pip install . installs it)")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("aura-wire ")


@pytest.mark.parametrize(("cmd", "words"), [
    ("demo", ["--sample", "--limit"]),
    ("bench", ["--plot", "--json", "--limit", "corpus"]),
    ("inspect", ["--dictionary", "--context", "hex, base64"]),
    ("train", ["--output", "plaintext"]),
    ("compare", ["--config"]),
    ("stats", ["url"]),
])
def test_help_for_each_subcommand(cmd: str, words: list[str], tmp_path: Path) -> None:
    out = run(cmd, "--help", cwd=tmp_path).stdout
    for w in words:
        assert w in out


def test_no_command_prints_usage(tmp_path: Path) -> None:
    proc = run(cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "demo" in proc.stdout and "bench" in proc.stdout


def test_inspect_hex_base64_file_and_dictionary(tmp_path: Path) -> None:
    msgs = sample(160)
    d = train_dictionary(msgs[:120], brio=False, templates=False)
    dpath = tmp_path / "d.aura"
    save_dictionary(d, dpath)
    frame = Encoder(d, context=False, brio=False, templates=False).encode(msgs[150])
    assert frame[0] & 0x20
    (tmp_path / "f.bin").write_bytes(frame)
    for arg in (frame.hex(), base64.b64encode(frame).decode(), "@f.bin"):
        out = run("inspect", arg, "--dictionary", "d.aura", cwd=tmp_path).stdout
        assert "D dictionary" in out and "decoded (text" in out and repr(msgs[150])[:40] in out
    review = run("inspect", "--dictionary", "d.aura", cwd=tmp_path).stdout
    assert review.startswith(f"AURA dictionary {d.id}") and "section zstd" in review
    neither = run("inspect", cwd=tmp_path, ok=False)
    assert neither.returncode == 2 and "--dictionary FILE alone" in neither.stderr
    without = run("inspect", frame.hex(), cwd=tmp_path).stdout
    assert "not decoded" in without and "--dictionary" in without
    js = json.loads(run("inspect", frame.hex(), "--dictionary", "d.aura", "--json", cwd=tmp_path).stdout)
    assert js["message"] == msgs[150] and js["method"] in ("zstd", "brotli")


def test_inspect_a_connections_frames(tmp_path: Path) -> None:
    msgs = sample(30)
    d = train_dictionary(msgs[:20], brio=False, templates=False)
    save_dictionary(d, tmp_path / "d.aura")
    enc = Encoder(d, context=True, brio=False, templates=False)
    frames = [enc.encode(m).hex() for m in msgs[20:]]
    js = json.loads(run("inspect", *frames, "--dictionary", "d.aura", "--json", cwd=tmp_path).stdout)
    assert [x["message"] for x in js] == msgs[20:]
    text = run("inspect", *frames[:2], "--dictionary", "d.aura", cwd=tmp_path).stdout
    assert "=== frame 2 of 2 ===" in text


def test_inspect_errors(tmp_path: Path) -> None:
    bad = run("inspect", "not a frame!", cwd=tmp_path, ok=False)
    assert bad.returncode == 2 and "neither hex, base64" in bad.stderr
    broken = run("inspect", "08ffff", cwd=tmp_path, ok=False)  # version 1 (v1), refused by v2
    assert broken.returncode == 1 and "PARSE ERROR" in broken.stdout


@pytest.mark.parametrize("fmt", ["m", "plaintext", "text"])
def test_train_each_input_format(fmt: str, tmp_path: Path) -> None:
    msgs = sample(120)
    p = tmp_path / ("in.txt" if fmt == "text" else "in.jsonl")
    if fmt == "text":
        p.write_text("\n".join(m.replace("\n", " ") for m in msgs) + "\n", encoding="utf-8")
    else:
        p.write_text("".join(json.dumps({fmt: m}) + "\n" for m in msgs), encoding="utf-8")
    proc = run("train", p.name, "-o", "dict.aura", "--no-brio", cwd=tmp_path)
    d = load_dictionary(tmp_path / "dict.aura")
    assert d.id[:16] in proc.stdout
    assert "120 messages" in proc.stdout and "stateless encoder" in proc.stdout
    if d.section(3) is not None:  # templates section
        assert "templates found:" in proc.stdout and "template hit rate on the input" in proc.stdout
    assert "measuring" in proc.stderr  # the progress lines


def test_train_json_summary(tmp_path: Path) -> None:
    proc = run("train", str(SAMPLE), "-o", "d.aura", "--limit", "100", "--json", *OFF, cwd=tmp_path)
    js = json.loads(proc.stdout)
    assert js["messages"] == 100 and js["id"] == load_dictionary(tmp_path / "d.aura").id
    assert js["stateless_ratio"] > 1.0


def test_train_missing_file(tmp_path: Path) -> None:
    proc = run("train", "nope.jsonl", "-o", "d.aura", cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "cannot read nope.jsonl" in proc.stderr


def test_bench_table_json_and_targets(tmp_path: Path) -> None:
    proc = run("bench", str(SAMPLE), "--limit", "60", "--json", "r.json", "--markdown", "r.md", "--no-trace", *OFF,
               cwd=tmp_path)
    md = (tmp_path / "r.md").read_text()
    assert md.startswith("| corpus | messages | aura-context |") and "| **geomean** |" in md
    assert md.count("**PASS**") + md.count("**FAIL**") == 5
    out = proc.stdout
    for peer in ("aura-ctx", "pmd-w15", "pmd-w12", "zstd-dct", "zstd-str", "brotli"):
        assert peer in out
    assert sum(line.strip().startswith(("PASS", "FAIL")) for line in out.splitlines()) == 5
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["corpora"][0]["measured_messages"] == 30 and data["compiled"] == aura_wire.compiled
    missing = run("bench", "absent.jsonl", cwd=tmp_path, ok=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_bench_plot(tmp_path: Path) -> None:
    proc = run("bench", str(SAMPLE), "--limit", "20", "--no-trace", "--plot", "b.png", *OFF, cwd=tmp_path, ok=False)
    if importlib.util.find_spec("matplotlib") is None:
        assert proc.returncode == 2 and "pip install 'aura_wire[plot]'" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_compiled_vs_pure(tmp_path: Path) -> None:
    proc = run("bench", str(SAMPLE), "--limit", "20", "--no-trace", "--peers", "aura-context,deflate-w15",
               "--compare-pure", "16", "--json", "r.json", cwd=tmp_path, ok=False, timeout=300)
    if not aura_wire.compiled:
        assert proc.returncode == 2 and "compiled build is not in use" in proc.stderr
        assert "aura-ctx" in proc.stdout  # the main results are still printed
        return
    assert proc.returncode == 0, proc.stderr
    cvp = json.loads((tmp_path / "r.json").read_text())["compiled_vs_pure"]
    ctx = cvp["peers"]["aura-context"]
    assert ctx["same_wire_bytes"] is True  # the compiled and pure builds code identically
    assert ctx["pure_encode_us"] > ctx["compiled_encode_us"] > 0
    assert "compiled vs pure Python" in proc.stdout


def test_compare_two_configs(tmp_path: Path) -> None:
    off = "[codec]\nbrio = false\ntemplates = false\n[train]\nbrio = false\ntemplates = false\n"
    (tmp_path / "a.toml").write_text('name = "ctx"\ncontext = true\ntrain_fraction = 0.5\n' + off)
    (tmp_path / "b.toml").write_text('name = "stateless"\ncontext = false\ntrain_fraction = 0.5\n' + off)
    out = run("compare", str(SAMPLE), "--config", "a.toml", "--config", "b.toml", "--limit", "80",
              cwd=tmp_path).stdout
    assert "ctx" in out and "stateless" in out
    bad = run("compare", str(SAMPLE), "--config", "missing.toml", cwd=tmp_path, ok=False)
    assert bad.returncode == 2 and "missing.toml" in bad.stderr


class _Health(http.server.BaseHTTPRequestHandler):
    body = json.dumps({"status": "ok", "metrics": {"messages": 7, "ratio": 3.5}, "alerts": []}).encode()

    def do_GET(self) -> None:
        if self.path != "/aura/health":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield int(srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()
        th.join()


def test_stats(health_server: int, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{health_server}"
    full = json.loads(run("stats", base, cwd=tmp_path).stdout)  # no path: /aura/health
    assert full["status"] == "ok" and full["metrics"]["messages"] == 7
    only = json.loads(run("stats", base + "/aura/health", "--metrics-only", cwd=tmp_path).stdout)
    assert only == {"messages": 7, "ratio": 3.5}
    nf = run("stats", base + "/nothing", cwd=tmp_path, ok=False)
    assert nf.returncode == 2 and "HTTP 404" in nf.stderr
    srv_port = health_server
    down = run("stats", f"http://127.0.0.1:{srv_port + 1 if srv_port < 65535 else 1}/", "--timeout", "3",
               cwd=tmp_path, ok=False)
    assert down.returncode == 2


async def test_stats_from_a_real_middleware_server(tmp_path: Path) -> None:
    """uvicorn + AuraMiddleware with the ops app; traffic through aura_wire.client; then `stats` reads it."""
    from aura_wire.tools.demo import echo_app, _serve
    from aura_wire.client import connect
    from aura_wire.middleware import AuraMiddleware
    from aura_wire.ops.app import make_ops_app

    msgs = sample(40)
    d = train_dictionary(msgs[:20], brio=False, templates=False)
    mw = AuraMiddleware(echo_app, dictionary=d, ops_paths=("/aura",), brio=False, templates=False)
    mw.ops_app = make_ops_app(mw.metrics)
    async with _serve(mw) as port:
        async with connect(f"ws://127.0.0.1:{port}/echo", dictionary_cache=False, brio=False,
                           templates=False) as conn:
            for m in msgs[20:]:
                await conn.send(m)
                assert await conn.recv() == m
        env = dict(os.environ, PYTHONPATH=PKG_PARENT)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "aura_wire.tools.cli", "stats", f"http://127.0.0.1:{port}/aura/health", "--metrics-only",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode in (0, 1), err.decode()
    metrics = json.loads(out)
    assert metrics["messages"] == 40  # 20 each way, counted by the server
    assert metrics["original_bytes"] == 2 * sum(len(m.encode()) for m in msgs[20:])


def test_demo_through_a_real_server(tmp_path: Path) -> None:
    proc = run("demo", "--limit", "60", *OFF, cwd=tmp_path, timeout=180)
    table = proc.stdout
    for row in ("messages", "raw bytes", "AURA wire bytes", "permessage-deflate w15",
                "permessage-deflate w12 (uvicorn default)", "template hit rate", "method mix", "latency p50 / p99"):
        assert row in table
    assert "replaying" in proc.stderr and "listening on 127.0.0.1:" in proc.stderr
    r = json.loads(run("demo", "--limit", "40", "--json", *OFF, cwd=tmp_path, timeout=180).stdout)
    assert r["messages"] == 20 and r["synced"] is True
    assert r["raw_bytes"] == sum(len(m.encode()) for m in sample(40)[20:])
    assert 0 < r["wire_bytes_server_to_client"] < r["raw_bytes"]
    assert set(r["deflate_bytes"]) == {"w15", "w12 (uvicorn default)"}
    assert r["latency_p99_ms"] >= r["latency_p50_ms"] > 0


def test_demo_table_counts_both_template_methods() -> None:
    from aura_wire.tools.demo import _demo_table

    r = {"raw_bytes": 1000, "messages": 10, "wire_bytes_client_to_server": 200, "wire_bytes_server_to_client": 200,
         "deflate_bytes": {"w15": 300}, "methods_server_to_client": {"template": 3, "template+brio": 5,
                                                                                "brio": 2},
         "latency_p50_ms": 1.0, "latency_p99_ms": 2.0, "dictionary_id": "ab" * 32, "dictionary_bytes": 10,
         "train_seconds": 0.1, "train_messages": 10, "control_bytes": 12, "features": {"brio": True, "templates": True},
         "compiled": False}
    row = next(line for line in _demo_table(r).splitlines() if line.startswith("template hit rate"))
    assert row.split()[-1] == "80.0%"


# -- errors a new user hits (issue 19) -------------------------------------------------------------------------


def test_train_into_a_missing_directory_fails_before_training(tmp_path: Path) -> None:
    proc = run("train", str(SAMPLE), "-o", "missing_dir/x.aura", *OFF, cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "output directory missing_dir does not exist" in proc.stderr
    assert "training on" not in proc.stderr  # refused before the (long) training


def test_train_on_jsonl_with_another_field(tmp_path: Path) -> None:
    msgs = sample(60)
    corpus = tmp_path / "wrapped.jsonl"
    corpus.write_text("".join(json.dumps({"wrapper_ts_zq": i, "text": m, "user": "u"}) + "\n" for i, m in enumerate(msgs)))
    proc = run("train", str(corpus), "-o", "x.aura", *OFF, cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "without an \"m\"" in proc.stderr and "--field text" in proc.stderr, proc.stderr
    assert not (tmp_path / "x.aura").exists()
    run("train", str(corpus), "-o", "x.aura", "--field", "text", *OFF, cwd=tmp_path)
    d = load_dictionary(str(tmp_path / "x.aura"))
    # trained on the messages, not on the wrapper: nothing of the wrapper's keys in it
    assert b"wrapper_ts_zq" not in d.to_bytes() and len(d) > 0
    run("train", str(corpus), "-o", "whole.aura", "--field", "", *OFF, cwd=tmp_path)  # whole lines on purpose


@pytest.mark.parametrize("arg", ["zzzz", "////", "zzzzzzzz"])
def test_inspect_refuses_a_typo_that_happens_to_be_base64(tmp_path: Path, arg: str) -> None:
    proc = run("inspect", arg, cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not an AURA frame" in proc.stderr and "version 4" not in proc.stderr.split("(")[0], proc.stderr
