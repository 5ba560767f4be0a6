"""aura-wire inspect on frames the decoder refuses, and field offsets that stay inside the frame.

* A frame whose check byte does not match used to be shown with "not decoded: ... check byte
  mismatch" and exit status 0, so a script could not tell it from a good frame: it is now named
  ("CHECK BYTE MISMATCH") and the command exits 1, as for a frame that does not parse.
* BRIO items are range-coded; their offset is the payload byte the decoder had reached, which can
  be one past the last byte (the range decoder reads ahead): it showed past the end of the frame.
* A BROTLI stream's window above 22 bits is refused by the decoder (wire-format §4.3): inspect says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import brotli
import pytest

import aura_wire
from aura_wire import Encoder
from aura_wire.codec.frame import METHOD_BRIO, METHOD_BROTLI, METHOD_TEMPLATE_BRIO, frame_check
from aura_wire.tools.inspect import dissect, format_dissection

SAMPLE = Path(__file__).resolve().parents[2] / "aura_wire" / "data" / "sample.jsonl"
PKG_PARENT = str(Path(aura_wire.__file__).resolve().parent.parent)


def inspect_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "aura_wire.tools.cli", "inspect", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def sample(n: int) -> list[str]:
    with open(SAMPLE, encoding="utf-8") as f:
        return [json.loads(next(f))["m"] for _ in range(n)]


@pytest.mark.parametrize("opts", [{"brio": False, "templates": False}, {}], ids=["raw", "brio"])
def test_a_check_byte_mismatch_is_named_and_exits_1(opts: dict[str, Any], tmp_path: Path) -> None:
    msg = '{"a":1,"b":"hello world hello world hello"}' * 3
    frame = Encoder(None, context=False, **opts).encode(msg)
    good = dissect(frame)
    assert good.message == msg and not good.failed and not good.check_mismatch
    # RAW: the check byte is the last byte; BRIO: the last byte holds the 8 check bits (brio.md §7)
    bad = frame[:-1] + bytes([frame[-1] ^ 0x01])
    d = dissect(bad)
    assert d.message is None and d.refused and d.check_mismatch and d.failed and d.parse_error is None
    assert "CHECK BYTE MISMATCH" in format_dissection(d)
    assert json.loads(json.dumps(d.as_dict()))["check_mismatch"] is True
    ok = inspect_cli(frame.hex(), cwd=tmp_path)
    assert ok.returncode == 0 and "decoded (text" in ok.stdout
    refused = inspect_cli(bad.hex(), cwd=tmp_path)
    assert refused.returncode == 1 and "CHECK BYTE MISMATCH" in refused.stdout, refused
    # several frames: one refused frame fails the whole command
    assert inspect_cli(frame.hex(), bad.hex(), cwd=tmp_path).returncode == 1


def test_a_frame_that_needs_the_dictionary_is_not_a_failure(tmp_path: Path) -> None:
    from aura_wire import train_dictionary

    msgs = sample(160)
    d = train_dictionary(msgs[:120], brio=False, templates=False)
    frame = Encoder(d, context=False, brio=False, templates=False).encode(msgs[150])
    dis = dissect(frame)  # no dictionary at hand: not decoded, not refused
    assert dis.decode_error and not dis.refused and not dis.failed
    assert inspect_cli(frame.hex(), cwd=tmp_path).returncode == 0


def test_brio_offsets_stay_inside_the_frame() -> None:
    msgs = sample(120) + ['{"a":1,"b":"hello world hello world hello"}' * 3]
    seen = 0
    for context in (False, True):
        enc = Encoder(None, context=context)
        for m in msgs:
            frame = enc.encode(m)
            if frame[0] & 7 not in (METHOD_BRIO, METHOD_TEMPLATE_BRIO):
                continue
            seen += 1
            for f in dissect(frame, decode=False).fields:
                if f.offset is not None:
                    assert 0 <= f.offset < len(frame), (f, len(frame), frame.hex())
                    assert f.length is None or f.offset + f.length <= len(frame), (f, len(frame))
    assert seen > 20
    # the case found by hand: a match item at offset 36 of a 36-byte frame
    frame = Encoder(None, context=False).encode(msgs[-1])
    assert frame[0] & 7 == METHOD_BRIO
    assert max(f.offset for f in dissect(frame).fields if f.offset is not None) == len(frame) - 1


def test_a_brotli_window_above_22_bits_is_shown_as_refused(tmp_path: Path) -> None:
    head = bytes([0x40 | 0x08 | METHOD_BROTLI])
    msg = b"window " * 100
    for lgwin, refused in ((22, False), (24, True)):
        frame = head + brotli.compress(msg, quality=5, lgwin=lgwin) + bytes([frame_check(0, msg, b"", head) & 0xFF])
        d = dissect(frame)
        stream = [f for f in d.fields if f.name.strip() == "brotli stream"]
        assert stream and f"WBITS={lgwin}" in stream[0].value
        assert (d.parse_error is not None) is refused and (d.message is None) is refused
        if refused:
            assert "22 bits" in (d.parse_error or "")
        assert inspect_cli(frame.hex(), cwd=tmp_path).returncode == (1 if refused else 0)
