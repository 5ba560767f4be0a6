"""aura_wire.tools.inspect: frame arguments, field-by-field dissection, decoding with and without the dictionary."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_wire import Encoder, load_dictionary, save_dictionary, train_dictionary
from aura_wire.codec.frame import METHOD_BROTLI, METHOD_RAW, METHOD_ZSTD
from aura_wire.tools.inspect import Dissection, InputError, dissect, format_dissection, read_frame_arg

SAMPLE = Path(__file__).resolve().parents[2] / "aura_wire" / "data" / "sample.jsonl"
PLAIN: dict[str, Any] = {"brio": False, "templates": False}


def fields(d: Dissection) -> dict[str, str]:
    return {f.name.strip(): f.value for f in d.fields}


def sample(n: int) -> list[str]:
    with open(SAMPLE, encoding="utf-8") as f:
        return [json.loads(next(f))["m"] for _ in range(n)]


# -- input forms ---------------------------------------------------------------------


def test_read_frame_arg_forms(tmp_path: Path) -> None:
    frame = bytes([0x08]) + b"hi there"
    assert read_frame_arg(frame.hex()) == frame
    assert read_frame_arg("0x" + frame.hex().upper()) == frame
    assert read_frame_arg(" ".join(f"{b:02x}" for b in frame)) == frame
    assert read_frame_arg(":".join(f"{b:02x}" for b in frame)) == frame
    assert read_frame_arg(base64.b64encode(frame).decode()) == frame
    odd = b"\x08\xfb\xff" + frame  # a RAW text frame whose base64 needs the URL-safe alphabet ("_")
    assert "_" in base64.urlsafe_b64encode(odd).decode()
    assert read_frame_arg(base64.urlsafe_b64encode(odd).decode().rstrip("=")) == odd
    p = tmp_path / "f.bin"
    p.write_bytes(frame)
    assert read_frame_arg(f"@{p}") == frame


@pytest.mark.parametrize("bad", ["@/nonexistent/frame.bin", "not a frame!", "z"])
def test_read_frame_arg_rejects(bad: str) -> None:
    with pytest.raises(InputError):
        read_frame_arg(bad)


# -- header and methods ---------------------------------------------------------------


def test_raw_frame_header_bits_and_message() -> None:
    frame = Encoder(None, context=False, **PLAIN).encode("short")
    assert frame[0] & 7 == METHOD_RAW
    d = dissect(frame)
    f = fields(d)
    assert f["header"].startswith("0x48")
    assert (f["version"], f["D dictionary"], f["C context"], f["T text"]) == ("1 (v2)", "0", "0", "1")
    assert f["stored message"] == "'short'" and f["check byte"].startswith("0x")
    assert f["method"] == "0 RAW"
    assert d.message == "short" and d.parse_error is None
    assert "decoded (text, 5 bytes" in format_dissection(d)


def test_binary_context_frame_flags() -> None:
    frame = Encoder(None, context=True, **PLAIN).encode(b"\x00\x01\x02")
    f = fields(dissect(frame))
    assert (f["C context"], f["T text"]) == ("1", "0")
    d = dissect(frame)
    assert d.message == b"\x00\x01\x02"  # the first frame of a connection decodes alone


def test_zstd_frame_header_matches_libzstd() -> None:
    msg = "".join(sample(8))
    frame = Encoder(None, context=False, brotli=False, **PLAIN).encode(msg)
    assert frame[0] & 7 == METHOD_ZSTD
    d = dissect(frame)
    f = fields(d)
    params = zstandard.get_frame_parameters(b"\x28\xb5\x2f\xfd" + frame[1:])
    assert f["Frame_Content_Size"] == f"{params.content_size} bytes" == f"{len(msg.encode())} bytes"
    assert any(k.startswith("block 0") for k in f)
    assert d.message == msg and d.parse_error is None


def test_brotli_window_bits() -> None:
    msg = "".join(sample(8))
    frame = Encoder(None, context=False, zstd=False, brotli_min_size=0, **PLAIN).encode(msg)
    assert frame[0] & 7 == METHOD_BROTLI
    d = dissect(frame)
    assert "WBITS=22" in fields(d)["brotli stream"]
    assert d.message == msg


def test_dictionary_frame_needs_the_dictionary(tmp_path: Path) -> None:
    msgs = sample(200)
    dictionary = train_dictionary(msgs[:150], brio=False, templates=False)
    frame = Encoder(dictionary, context=False, **PLAIN).encode(msgs[180])
    assert frame[0] & 0x20, "expected a frame using the dictionary"
    alone = dissect(frame)
    assert alone.message is None and "--dictionary" in (alone.decode_error or "")
    path = tmp_path / "d.aura"
    save_dictionary(dictionary, path)
    withd = dissect(frame, load_dictionary(path))
    assert withd.message == msgs[180]
    assert fields(withd)["dictionary"].startswith(dictionary.id[:16])


# -- malformed frames are shown, not raised ----------------------------------------------


def test_truncated_zstd_is_reported() -> None:
    frame = Encoder(None, context=False, brotli=False, **PLAIN).encode("".join(sample(8)))
    d = dissect(frame[:-5])
    assert d.parse_error is not None and "truncated" in d.parse_error
    assert d.message is None
    assert "PARSE ERROR" in format_dissection(d)


def test_trailing_bytes_after_zstd_frame() -> None:
    frame = Encoder(None, context=False, brotli=False, **PLAIN).encode("".join(sample(8)))
    d = dissect(frame + b"\x00\x00")
    assert d.parse_error == "2 trailing bytes after the zstd frame"


def test_version_and_empty_and_reserved() -> None:
    assert "not supported" in (dissect(b"\x08abc").parse_error or "")  # a v1 frame
    assert "not supported" in (dissect(b"\x88abc").parse_error or "")  # version 3
    assert dissect(b"").parse_error == "empty frame: no header byte"
    assert "STATE frame without the context flag" in (dissect(b"\x46abc").parse_error or "")


def test_context_frame_out_of_its_connection_says_why() -> None:
    msgs = sample(40)
    enc = Encoder(None, context=True, **PLAIN)
    frames = [enc.encode(m) for m in msgs]
    for frame, m in zip(frames[1:], msgs[1:]):
        d = dissect(frame)
        if d.message is None:
            assert d.decode_error is not None and "context frame" in d.decode_error
        else:
            assert d.message == m  # never a wrong message


def test_a_connections_frames_decode_in_order_with_one_decoder() -> None:
    from aura_wire import Decoder

    msgs = sample(40)
    d = train_dictionary(msgs[:20], brio=False, templates=False)
    enc = Encoder(d, context=True)
    frames = [enc.encode(m) for m in msgs[20:]]
    dec = Decoder(d, context=True)
    assert [dissect(f, d, decoder=dec).message for f in frames] == msgs[20:]


def _connection_frames(methods: set[int], **codec: Any) -> tuple[Any, list[str], list[bytes]]:
    """A dictionary trained on the sample and one context connection's frames, until each of
    ``methods`` coded one."""
    msgs = sample(400)
    d = train_dictionary(msgs[:200])
    enc = Encoder(d, context=True, **codec)
    sent: list[str] = []
    frames: list[bytes] = []
    for m in msgs[200:]:
        sent.append(m)
        frames.append(enc.encode(m))
        if methods <= {f[0] & 7 for f in frames}:
            break
    return d, sent, frames


def test_brio_frame_field_by_field() -> None:
    from aura_wire import Decoder
    from aura_wire.codec.frame import METHOD_BRIO

    d, sent, frames = _connection_frames({METHOD_BRIO}, templates=False)
    dec = Decoder(d, context=True)
    seen = 0
    for m, frame in zip(sent, frames):
        dis = dissect(frame, d, decoder=dec)
        assert dis.message == m and dis.parse_error is None
        if frame[0] & 7 != METHOD_BRIO:
            continue
        seen += 1
        f = fields(dis)
        names = [x.name.strip() for x in dis.fields]
        assert f["message length"] == f"{len(m.encode())} bytes"
        assert f["check value"].startswith("0x")
        assert any(n.startswith("literals x") or n in ("match", "rep", "short-rep") for n in names)
        # every byte of the message is accounted for by the listed items
        assert "matches" in f["summary"] and "match sources" in f["summary"]
        text = format_dissection(dis)
        assert "message length" in text and "check value" in text
    assert seen > 0


def test_brio_match_sources_are_named() -> None:
    from aura_wire.codec.frame import METHOD_BRIO

    msgs = sample(300)
    d = train_dictionary(msgs[:200])
    enc = Encoder(d, context=False, templates=False)
    for m in msgs[200:]:
        frame = enc.encode(m)
        if frame[0] & 7 == METHOD_BRIO:
            dis = dissect(frame, d)
            assert dis.message == m
            rows = [x for x in dis.fields if x.name.strip() == "match"]
            if any("(dictionary content)" in r.value for r in rows):
                return
    raise AssertionError("no stateless BRIO frame matched the dictionary content")


def test_template_brio_frame_field_by_field() -> None:
    from aura_wire import Decoder
    from aura_wire.codec.frame import METHOD_TEMPLATE_BRIO

    d, sent, frames = _connection_frames({METHOD_TEMPLATE_BRIO})
    dec = Decoder(d, context=True)
    seen = 0
    for m, frame in zip(sent, frames):
        dis = dissect(frame, d, decoder=dec)
        assert dis.message == m and dis.parse_error is None
        if frame[0] & 7 != METHOD_TEMPLATE_BRIO:
            continue
        seen += 1
        f = fields(dis)
        assert f["method"].endswith("TEMPLATE+BRIO") or "TEMPLATE" in f["method"]
        assert "message length" in f and "check value" in f          # the BRIO layer
        assert "TEMPLATE payload" in f and "template.ref" in f          # the TEMPLATE payload inside it
        assert "mode" in f["template.ref"] and "slot values" in f
    assert seen > 0


def test_template_frame_reference_and_slots() -> None:
    from aura_wire import Decoder
    from aura_wire.codec.frame import METHOD_TEMPLATE

    d, sent, frames = _connection_frames({METHOD_TEMPLATE}, brio=False)
    dec = Decoder(d, context=True)
    for m, frame in zip(sent, frames):
        dis = dissect(frame, d, decoder=dec)
        assert dis.message == m
        if frame[0] & 7 == METHOD_TEMPLATE:
            f = fields(dis)
            assert f["template.ref"].split(",")[0].startswith(("template id", "recent-template rank"))
            assert f["check byte"].startswith("0x") and "slot values" in f
            ref = next(x for x in dis.fields if x.name.strip() == "template.ref")
            assert ref.offset == 1 and ref.length is not None and ref.length >= 1
            return
    raise AssertionError("no TEMPLATE frame")


def test_state_frame_instructions_and_inner_frame() -> None:
    from aura_wire import Decoder
    from aura_wire.codec.frame import METHOD_STATE

    msgs = sample(300)
    enc = Encoder(None, context=True)
    dec = Decoder(None, context=True)
    seen = 0
    for m in msgs:
        frame = enc.encode(m)
        dis = dissect(frame, decoder=dec)
        assert dis.message == m and dis.parse_error is None
        if frame[0] & 7 != METHOD_STATE:
            continue
        seen += 1
        f: dict[str, str] = {}
        for x in dis.fields:  # the STATE frame's own fields come first, then the inner frame's
            f.setdefault(x.name.strip(), x.value)
        names = [x.name.strip() for x in dis.fields]
        assert f["method"] == "6 STATE" and f["version"] == "1 (v2)"
        assert int(f["instructions"].split()[0]) >= 1
        assert any(n in ("EVICT", "DEFINE_JSON", "DEFINE_TEXT") for n in names)
        inner = next(x for x in dis.fields if x.name.strip() == "inner frame")
        assert inner.offset is not None and frame[inner.offset] & 7 < METHOD_STATE
        # the inner frame's header, dissected at its own offset
        assert names.count("header") == 2
        assert [x.offset for x in dis.fields if x.name.strip() == "header"] == [0, inner.offset]
    assert seen > 0


def test_control_frame() -> None:
    from aura_wire.session.control import Use, pack_control

    frame = pack_control(Use("ab" * 32))
    d = dissect(frame)
    f = fields(d)
    assert f["method"] == "7 CONTROL"
    assert f["type"] == "USE" and f["id"] == "ab" * 32
    assert d.message is None and d.decode_error is None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_dissect_never_raises(frame: bytes) -> None:
    d = dissect(frame)
    text = format_dissection(d)
    assert text.startswith("AURA frame")
    if d.message is not None:
        assert d.parse_error is None
    json.dumps(d.as_dict())


# -- dictionary review -------------------------------------------------------------------------


def test_describe_dictionary_lists_sections_and_templates() -> None:
    from aura_wire.tools.inspect import describe_dictionary, format_dictionary

    d = train_dictionary(sample(300), brio=False, templates=True, name="review")
    info = describe_dictionary(d)
    assert info["id"] == d.id and info["bytes"] == len(d)
    assert info["meta"]["name"] == "review" and info["sections"]["zstd"] > 0
    text = format_dictionary(info)
    assert text.startswith(f"AURA dictionary {d.id}")
    assert info["templates_total"] > 0
    pats = [t["pattern"] for t in info["templates"]]
    assert any('"type":"l2update"' in p and "{}" in p for p in pats)
    assert all(t["kind"] in ("json", "text") for t in info["templates"])
    assert any(len(r) >= 12 for r in info["zstd_text"])  # what a reviewer must look at
