"""Decode CPU per message beside zlib inflate (issue 17: "decode within 2x of inflate").

Split as ``aura-wire bench``: the first half of each corpus trains the dictionary (loaded from
``--dict-dir`` when ``benchmarks/frame_digest.py`` saved it there), the first ``--limit`` messages
of the second half are encoded in order as one connection, in context and in stateless mode, and
once by zlib as permessage-deflate w15 with context takeover (RFC 7692: raw deflate, window 15,
memLevel 8 as websockets' default, the 4-byte tail stripped).  Only decoding is timed:

* ``aura-ctx`` / ``aura-sl``: ``Decoder.decode`` (returns ``str`` for text frames, as the
  client gets it);
* ``inflate``: ``zlib.decompressobj(wbits=-15)`` kept over the connection, fed
  ``payload + b"\\x00\\x00\\xff\\xff"`` (RFC 7692 §7.2.2) and the result decoded as UTF-8:
  the work any permessage-deflate receiver does, with no framework around it.
* ``ws-pmd``: the same deflated frames through websockets' own permessage-deflate extension
  (``PerMessageDeflate.decode``, negotiated as a handshake would; what ``benchmarks/server_cpu.py``'s
  codec pass compares with), for reference: it adds the framework's per-frame work to inflate.

Rounds are interleaved (aura context, aura stateless, inflate, next round ...), each a fresh
decoder over the whole stream, timed as thread CPU time (the machine is shared); per corpus the
median over rounds of the mean µs per message is printed, and the ratios aura / inflate and
aura context / ws-pmd.  The last
line gives the geomean of the ratios over the corpora.

    python benchmarks/decode_time.py [--corpora ../shared/corpora] [--dict-dir DIR] [--limit 1000] [--rounds 5]
                                     [--frames-dir DIR]

``--frames-dir``: the aura frames are saved there on the first run and read back on later ones, so
two builds of the decoder (an A/B) decode the very same frames, whatever their encoders would send.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import zlib
import aura_wire
from aura_wire import Decoder, Dictionary, Encoder
from aura_wire.tools.corpus import load_messages

sys.path.insert(0, os.path.dirname(__file__))
from frame_digest import dictionary_for  # noqa: E402

_TAIL = b"\x00\x00\xff\xff"


def _frames(d: Dictionary, stream: list[str | bytes], context: bool, path: str | None) -> list[bytes]:
    """The stream's frames: read from ``path`` when it exists (4-byte big-endian length, frame), else
    encoded, and saved there when ``path`` is given."""
    if path is not None and os.path.exists(path):
        out = []
        with open(path, "rb") as f:
            blob = f.read()
        pos = 0
        while pos < len(blob):
            n = int.from_bytes(blob[pos:pos + 4], "big")
            out.append(blob[pos + 4:pos + 4 + n])
            pos += 4 + n
        return out
    enc = Encoder(d, context=context)
    out = [enc.encode(m) for m in stream]
    if path is not None:
        with open(path, "wb") as f:
            for w in out:
                f.write(len(w).to_bytes(4, "big") + w)
    return out


def _deflate_stream(datas: list[bytes]) -> list[bytes]:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    out = []
    for d in datas:
        w = comp.compress(d) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert w.endswith(_TAIL)
        out.append(w[:-4])
    return out


def _time_inflate(frames: list[bytes]) -> int:
    dec = zlib.decompressobj(wbits=-15)
    clock = time.thread_time_ns
    t0 = clock()
    for w in frames:
        dec.decompress(w + _TAIL).decode("utf-8")
    return clock() - t0


def _time_ws_pmd(frames: list[bytes]) -> int:
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        ServerPerMessageDeflateFactory,
    )
    from websockets.frames import Frame, Opcode

    cli = ClientPerMessageDeflateFactory()
    response, _ = ServerPerMessageDeflateFactory().process_request_params(cli.get_request_params(), [])
    ext = cli.process_response_params(response, [])
    clock = time.thread_time_ns
    t0 = clock()
    for w in frames:
        ext.decode(Frame(Opcode.TEXT, w, rsv1=True), max_size=None).data.decode("utf-8")
    return clock() - t0


def _time_aura(d: Dictionary, context: bool, frames: list[bytes]) -> int:
    decode = Decoder(d, context=context).decode  # a fresh connection
    clock = time.thread_time_ns
    t0 = clock()
    for w in frames:
        decode(w)
    return clock() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpora"))
    ap.add_argument("--dict-dir", default=None, help="load/save trained dictionaries here")
    ap.add_argument("--limit", type=int, default=1000, help="messages per corpus (from the second half)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated corpus names (default: all)")
    ap.add_argument("--frames-dir", default=None, help="save the aura frames here, or decode those saved here")
    args = ap.parse_args()
    only = {s for s in args.only.split(",") if s}
    ratios: dict[str, list[float]] = {"ctx": [], "sl": [], "ws": []}
    print(f"# decode CPU per message (µs, median of {args.rounds} interleaved rounds); "
          f"codec {'compiled' if aura_wire.compiled else 'pure'}")
    print(f"{'corpus':24s} {'inflate':>8s} {'ws-pmd':>8s} {'ctx':>8s} {'sl':>8s} {'ctx/infl':>9s} {'sl/infl':>8s} "
          f"{'ctx/ws-pmd':>10s}")
    for fname in sorted(n for n in os.listdir(args.corpora) if n.endswith(".jsonl")):
        name = fname[: -len(".jsonl")]
        if only and name not in only:
            continue
        msgs = load_messages(os.path.join(args.corpora, fname))
        mid = len(msgs) // 2
        d = dictionary_for(msgs[:mid], name, args.dict_dir)
        stream = msgs[mid:mid + args.limit]
        datas = [m.encode("utf-8") if isinstance(m, str) else m for m in stream]
        deflated = _deflate_stream(datas)
        frames = {}
        for mode, context in (("ctx", True), ("sl", False)):
            path = None
            if args.frames_dir is not None:
                os.makedirs(args.frames_dir, exist_ok=True)
                path = os.path.join(args.frames_dir, f"{name}.{args.limit}.{mode}.frames")
            frames[mode] = _frames(d, stream, context, path)
            dec = Decoder(d, context=context)  # round trip checked once, untimed
            for w, m in zip(frames[mode], stream):
                if dec.decode(w) != m:
                    raise RuntimeError(f"{name} {mode}: round trip differs")
        times: dict[str, list[int]] = {"inflate": [], "ws": [], "ctx": [], "sl": []}
        for _ in range(args.rounds):
            times["ctx"].append(_time_aura(d, True, frames["ctx"]))
            times["sl"].append(_time_aura(d, False, frames["sl"]))
            times["inflate"].append(_time_inflate(deflated))
            times["ws"].append(_time_ws_pmd(deflated))
        n = len(stream)
        us = {k: statistics.median(v) / n / 1000 for k, v in times.items()}
        rc, rs, rw = us["ctx"] / us["inflate"], us["sl"] / us["inflate"], us["ctx"] / us["ws"]
        ratios["ctx"].append(rc)
        ratios["sl"].append(rs)
        ratios["ws"].append(rw)
        print(f"{name:24s} {us['inflate']:8.2f} {us['ws']:8.2f} {us['ctx']:8.2f} {us['sl']:8.2f} {rc:8.2f}x {rs:7.2f}x "
              f"{rw:9.2f}x", flush=True)
    gm = {k: math.exp(sum(math.log(r) for r in v) / len(v)) for k, v in ratios.items() if v}
    print(f"{'geomean':24s} {'':8s} {'':8s} {'':8s} {'':8s} {gm['ctx']:8.2f}x {gm['sl']:7.2f}x {gm['ws']:9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
