"""The TypeScript client's context-mode frames (client -> server) decoded by the Python Decoder.

Node runs the built bundle's ``ContextEncoder`` over a corpus stream (with and without a trained
dictionary, with a window small enough for the history to wrap); the reference ``Decoder`` in
context mode, built as the server builds the client direction's decoder from HELLO, decodes every
frame in order and must return each message byte for byte. Every frame must be a context frame,
and the stream smaller than the same client's stateless frames. Needs ``npm ci && npm run build``
in clients/typescript (no browser).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from aura_wire import Decoder, train_dictionary
from _browser import TS, need_browser
from conftest import load_corpus

# reads {"dict": path | null, "window": n, "messages": [str]} on stdin; prints [[context hex, stateless hex]]
NODE = """
import { readFileSync } from "node:fs";
const lib = await import(process.argv[1]);
const job = JSON.parse(readFileSync(0, "utf8"));
const d = job.dict ? await lib.Dictionary.fromBytes(new Uint8Array(readFileSync(job.dict))) : null;
const e = new lib.ContextEncoder(d, job.window);
const enc = new TextEncoder();
const out = job.messages.map((m) => enc.encode(m))
  .map((b) => [lib.hex(e.encode(b, true)), lib.hex(lib.encodeStateless(b, true, d))]);
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.parametrize(("corpus", "trained", "window"), [
    ("market_binance", True, 8192), ("logs_openssh", True, 8192), ("chat_ubuntu_irc", False, 8192),
    ("cdp_devtools_cnn", True, 1024)])
def test_typescript_context_frames_decode_in_python(corpus: str, trained: bool, window: int) -> None:
    need_browser()
    stream = load_corpus(corpus, 300, skip=400)
    d = train_dictionary(load_corpus(corpus, 400), name=corpus) if trained else None
    with tempfile.TemporaryDirectory() as tmp:
        path = None
        if d is not None:
            path = str(Path(tmp) / "d.aura")
            Path(path).write_bytes(d.to_bytes())
        job = json.dumps({"dict": path, "window": window, "messages": stream})
        done = subprocess.run(["node", "--input-type=module", "-e", NODE, (TS / "dist" / "aura-wire.js").as_uri()],
                              input=job, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    frames = [(bytes.fromhex(c), bytes.fromhex(s)) for c, s in json.loads(done.stdout)]
    assert len(frames) == len(stream)
    dec = Decoder(d, context=True, window=window)
    brio = 0
    for i, (m, (frame, _)) in enumerate(zip(stream, frames)):
        assert frame[0] & 0x10, f"message {i}: not a context frame"
        assert len(frame) <= len(m.encode()) + 2
        brio += (frame[0] & 7) == 4
        got = dec.decode(frame)
        assert got == m, f"message {i} differs"
    assert brio > len(stream) // 2
    context_bytes = sum(len(c) for c, _ in frames)
    stateless_bytes = sum(len(s) for _, s in frames)
    assert context_bytes < stateless_bytes, (context_bytes, stateless_bytes)
