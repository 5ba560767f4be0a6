"""Resource limits under hostile input (issue 7, part 2).

Decompression bombs in every method, deeply nested JSON, huge varints, runtime-template floods and
oversized dictionaries: each is refused with the right :class:`~aura_wire.errors.AuraError` (and so
the right close code), and the peak Python heap while refusing it (tracemalloc) stays within a small
multiple of the configured limit.  Nothing here depends on the attacker being polite: frames are
built by hand or by an encoder configured with a larger limit than the victim decoder.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import brotli
import pytest
import zstandard

from aura_wire import Decoder, Dictionary, Encoder, load_dictionary, train_dictionary
from aura_wire.codec.dictionary import DEFAULT_MAX_DICTIONARY_SIZE, MAGIC
from aura_wire.codec.frame import (
    frame_check,
    FLAG_CONTEXT, FLAG_DICT, FLAG_TEXT, METHOD_BRIO, METHOD_BROTLI, METHOD_RAW, METHOD_TEMPLATE, METHOD_ZSTD,
    parse_header,
)
from aura_wire.codec.varint import decode_uvarint
from aura_wire.errors import (
    CLOSE_INVALID_DATA, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, AuraError, DictionaryFormatError, FrameError, LimitError,
    PayloadError,
)


OPTS: dict[str, Any] = {"brio": True, "templates": True}
NONE: dict[str, Any] = {"brio": False, "templates": False, "zstd": False, "brotli": False}

LIMIT = 256 * 1024
#: Peak heap allowed while refusing a bomb: the limit itself (an output buffer may reach it) plus slack.
PEAK_BUDGET = 2 * LIMIT + 512 * 1024


def _peak(fn: Callable[[], object]) -> tuple[object, int]:
    """Run ``fn`` under tracemalloc; return (result or the AuraError raised, peak bytes)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        try:
            result: object = fn()
        except AuraError as exc:
            result = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _refused(frame: bytes, err: type[AuraError], *, context: bool = False, dictionary: Dictionary | None = None,
             limit: int = LIMIT, **opts: Any) -> AuraError:
    dec = Decoder(dictionary, context=context, max_message_size=limit, **(opts or OPTS))
    result, peak = _peak(lambda: dec.decode(frame))
    assert isinstance(result, err), f"expected {err.__name__}, got {result!r}"
    assert peak < PEAK_BUDGET, f"peak heap {peak} bytes while refusing a {len(frame)}-byte frame"
    return result


BOMB = b"A" * (16 * 1024 * 1024)  # 16 MiB of one byte: compresses to a few KB in every method


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    samples = [json.dumps({"type": "tick", "seq": i, "px": f"{100 + i % 13}.{i % 97:02d}", "sym": "BTC-USD"})
               for i in range(150)]
    return train_dictionary(samples, zstd_dict_size=4096, brio_content_size=4096, **OPTS)


# -- zstd -----------------------------------------------------------------------------------------------


def test_zstd_bomb_refused_before_decompressing() -> None:
    frame = Encoder(None, context=False, **{**NONE, "zstd": True}).encode(BOMB)
    assert parse_header(frame).method == METHOD_ZSTD and len(frame) < 4096
    e = _refused(frame, LimitError, brio=False, templates=False)
    assert e.close_code == CLOSE_TOO_BIG


def test_zstd_with_dictionary_bomb_refused(dictionary: Dictionary) -> None:
    frame = Encoder(dictionary, context=False, **{**NONE, "zstd": True}).encode(b'{"type":"tick"}' * 400000)
    h = parse_header(frame)
    assert h.method == METHOD_ZSTD and h.uses_dictionary
    _refused(frame, LimitError, dictionary=dictionary, **OPTS)


def _rle_block(last: bool, n: int = 131072) -> bytes:
    return ((n << 3) | (1 << 1) | int(last)).to_bytes(3, "little") + b"A"


def test_zstd_lying_content_size_is_refused() -> None:
    """Frame_Content_Size says 10 bytes, 1000 RLE blocks would give 128 MB: refused, nothing allocated."""
    payload = bytes([0x20, 10]) + b"".join(_rle_block(i == 999) for i in range(1000))
    _refused(bytes([0x40 | METHOD_ZSTD]) + payload + b"\x00", PayloadError, brio=False, templates=False)


def test_zstd_without_content_size_is_refused() -> None:
    cctx = zstandard.ZstdCompressor(write_content_size=False)
    chunks = cctx.compressobj()
    data = chunks.compress(BOMB[:1 << 20]) + chunks.flush()
    assert data[:4] == b"\x28\xb5\x2f\xfd"
    _refused(bytes([0x40 | METHOD_ZSTD]) + data[4:] + b"\x00", FrameError, brio=False, templates=False)


def test_zstd_huge_window_small_content() -> None:
    """A non-single-segment header declaring a 2 GiB window but 300 bytes of content."""
    # FHD: FCS_flag=1 (2 bytes), single_segment=0; window descriptor exponent 21 -> 2^(10+21) = 2 GiB.
    payload = bytes([0x40, 21 << 3]) + (300 - 256).to_bytes(2, "little") + _rle_block(True, 300)
    dec = Decoder(None, context=False, max_message_size=LIMIT, brio=False, templates=False)
    result, peak = _peak(lambda: dec.decode(bytes([0x40 | METHOD_ZSTD]) + payload + b"\x00"))
    assert result == b"A" * 300 or isinstance(result, AuraError)
    assert peak < PEAK_BUDGET


# -- brotli ---------------------------------------------------------------------------------------------


def test_brotli_bomb_stops_at_the_limit() -> None:
    payload = brotli.compress(BOMB, quality=5, lgwin=22)
    assert len(payload) < 4096
    e = _refused(bytes([0x40 | METHOD_BROTLI]) + payload + b"\x00", LimitError, brio=False, templates=False)
    assert e.close_code == CLOSE_TOO_BIG


def test_brotli_bomb_exactly_at_the_limit_passes() -> None:
    payload = brotli.compress(BOMB[:LIMIT], quality=5)
    dec = Decoder(None, context=False, max_message_size=LIMIT, brio=False, templates=False)
    head = bytes([0x40 | METHOD_BROTLI])
    assert dec.decode(head + payload + bytes([frame_check(0, BOMB[:LIMIT], b"", head) & 0xFF])) == BOMB[:LIMIT]
    payload = brotli.compress(BOMB[:LIMIT + 1], quality=5)
    _refused(bytes([0x40 | METHOD_BROTLI]) + payload + b"\x00", LimitError, brio=False, templates=False)


# -- every method, through the real encoder ---------------------------------------------------------------


def _method_cases() -> list[tuple[str, dict[str, Any], int, bool]]:
    cases: list[tuple[str, dict[str, Any], int, bool]] = [
        ("zstd", {**NONE, "zstd": True}, METHOD_ZSTD, False),
        ("brotli", {**NONE, "brotli": True}, METHOD_BROTLI, False),
    ]
    cases.append(("brio", {**NONE, "brio": True}, METHOD_BRIO, False))
    cases.append(("brio-context", {**NONE, "brio": True}, METHOD_BRIO, True))
    return cases


@pytest.mark.parametrize("name,opts,method,context", _method_cases(), ids=[c[0] for c in _method_cases()])
def test_bomb_in_every_method(name: str, opts: dict[str, Any], method: int, context: bool) -> None:
    # The pure-Python BRIO encoder is slow on large inputs: a 16 KiB bomb against a 2 KiB limit keeps the
    # same ratio (> 100x) at a fraction of the cost.  zstd/brotli use the 16 MiB bomb.
    msg, limit = (BOMB[:16384], 2048) if method == METHOD_BRIO else (BOMB, LIMIT)
    enc = Encoder(None, context=context, **{**opts, "templates": False})
    frame = enc.encode(msg)
    assert parse_header(frame).method == method, f"{name}: encoder chose another method"
    assert len(frame) < len(msg) // 100
    e = _refused(frame, LimitError, context=context, limit=limit, **{**opts, "templates": False})
    assert e.close_code == CLOSE_TOO_BIG


TEMPLATES_ONLY: dict[str, Any] = {**NONE, "templates": True}


def _bulk_frame(n: int) -> tuple[Encoder, Decoder, str, bytes]:
    """A context pair that learned the shape, and the TEMPLATE frame of ``n`` copies of a 1000-byte string."""
    enc = Encoder(None, context=True, **TEMPLATES_ONLY)
    dec = Decoder(None, context=True, max_message_size=LIMIT, **TEMPLATES_ONLY)
    small = '{"type":"bulk","items":["a","a","a"]}'
    for _ in range(2):  # the second message of the shape defines it at the decoder (templates.md §5.5)
        assert dec.decode(enc.encode(small)) == small
    big = json.dumps({"type": "bulk", "items": ["x" * 1000] * n}, separators=(",", ":"))
    frame = enc.encode(big)
    assert parse_header(frame).method == METHOD_TEMPLATE and len(frame) < len(big) // 50
    return enc, dec, big, frame


def test_template_huge_repeated_slots() -> None:
    """Array elements that repeat their 1000-byte prediction (SAME atoms, 1 byte each): refused at the limit."""
    _, _, big, frame = _bulk_frame(60)
    dec = Decoder(None, context=True, max_message_size=16 * 1024, **TEMPLATES_ONLY)
    enc2 = Encoder(None, context=True, **TEMPLATES_ONLY)
    for _ in range(2):
        dec.decode(enc2.encode('{"type":"bulk","items":["a","a","a"]}'))
    result, peak = _peak(lambda: dec.decode(frame))
    assert isinstance(result, LimitError), result
    assert result.close_code == CLOSE_TOO_BIG
    assert peak < PEAK_BUDGET


def test_template_crafted_bomb_beyond_what_the_encoder_makes() -> None:
    """The same frame with its ARR count raised to 60,000 and 1-byte SAME atoms appended: 60 MB from 61 KB."""
    _, dec, _, frame = _bulk_frame(60)
    arr60 = bytes([0x7D, 60 - 7])  # ARR atom, P=7 -> count = 7 + uvarint
    body = frame[:-1]  # without the check byte (spec/wire-format.md §5.2 rule 4)
    assert body.count(arr60) == 1
    n = 60000
    crafted = _with_check(body.replace(arr60, bytes([0x7D]) + _uvarint(n - 7)) + b"\x00" * (n - 60), None, dec)
    result, peak = _peak(lambda: dec.decode(crafted))
    assert isinstance(result, LimitError), result
    assert peak < PEAK_BUDGET


def _with_check(body: bytes, message: str | None, dec: Decoder) -> bytes:
    """Re-append the check byte of an edited context frame (spec/wire-format.md §5.4).

    ``message`` is what the edited frame decodes to, ``dec`` the decoder that will receive it (its
    check value chains the frames it committed); ``message=None`` when the frame must fail before
    its check byte is looked at (any byte then).
    """
    if message is None:
        return body + b"\x00"
    return body + bytes([frame_check(dec._check, message.encode(), b"", body[:1]) & 0xFF])


def _uvarint(v: int) -> bytes:
    from aura_wire.codec.varint import encode_uvarint

    return encode_uvarint(v)


@pytest.mark.parametrize("depth,ok", [(5, True), (32, True), (33, False), (5000, False)])
def test_template_nesting_depth_in_a_frame(depth: int, ok: bool) -> None:
    """templates.md §4.1: container nesting deeper than 32 is a LimitError (crafted ARR atoms)."""
    enc = Encoder(None, context=True, **TEMPLATES_ONLY)
    dec = Decoder(None, context=True, **TEMPLATES_ONLY)
    teach = '{"type":"deep","seq":1,"v":[1,2]}'
    for _ in range(2):
        assert dec.decode(enc.encode(teach)) == teach
    model = enc.encode('{"type":"deep","seq":2,"v":[[[[[7]]]]]}')
    arr1 = bytes([0x1D])  # atom tag: F=13 (ARR), P=1 (count 1)
    body = model[:-1]  # without the check byte (spec/wire-format.md §5.2 rule 4)
    assert parse_header(model).method == METHOD_TEMPLATE and arr1 * 5 + b"\x117" in body
    want = '{"type":"deep","seq":2,"v":' + "[" * depth + "7" + "]" * depth + "}"
    frame = _with_check(body.replace(arr1 * 5 + b"\x117", arr1 * depth + b"\x117"), want if ok else None, dec)
    if ok:
        assert dec.decode(frame) == want
    else:
        result, peak = _peak(lambda: dec.decode(frame))
        assert isinstance(result, LimitError), result
        assert peak < 1 << 20


# -- deeply nested JSON ------------------------------------------------------------------------------------


def _nesting_round_trip(depth: int, context: bool, opts: dict[str, Any]) -> None:
    limit = sys.getrecursionlimit()
    msgs = ["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, json.dumps({"ok": 1}),
            '{"type":"deep","v":' + "[" * depth + "1" + "]" * depth + "}", "[" * depth]  # the last is not JSON
    enc = Encoder(None, context=context, **opts)
    dec = Decoder(None, context=context, **opts)
    for m in msgs:
        assert dec.decode(enc.encode(m)) == m
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize("depth", [40, 5000, 100000])
@pytest.mark.parametrize("context", [False, True])
def test_deeply_nested_json_round_trips_without_recursion_error(depth: int, context: bool) -> None:
    # BRIO (pure Python) only on the small case: the depth matters to the template JSON parser.
    _nesting_round_trip(depth, context, OPTS if depth <= 40 else {**OPTS, "brio": False})


@pytest.mark.slow
@pytest.mark.parametrize("context", [False, True])
def test_deeply_nested_json_every_method(context: bool) -> None:
    _nesting_round_trip(200000, context, OPTS)


# -- huge varints -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,err", [
    (b"\xff" * 10 + b"\x01", "longer than 10"),
    (b"\xff" * 9 + b"\x7f", "exceeds 64 bits"),
    (b"\x80\x00", "non-minimal"),
    (b"\xff\xff\xff", "truncated"),
])
def test_varint_decoder_refuses(raw: bytes, err: str) -> None:
    with pytest.raises(FrameError, match=err):
        decode_uvarint(raw, 0, "x")


def _varint_frames() -> list[bytes]:
    huge = [b"\xff" * 9 + b"\x01", b"\xff" * 8 + b"\x7f", b"\x80" * 10 + b"\x01", b"\xff" * 4 + b"\x0f"]
    out = []
    methods = [METHOD_TEMPLATE, METHOD_ZSTD, METHOD_BROTLI]
    methods.append(METHOD_BRIO)
    for method in methods:
        for flags in (0, FLAG_CONTEXT, FLAG_DICT | FLAG_CONTEXT, FLAG_DICT, FLAG_TEXT | FLAG_CONTEXT):
            for h in huge:
                for tail in (b"", b"\x00" * 8, h, b"\x01\x02\x03"):
                    out.append(bytes([method | flags]) + h + tail)
    return out


@pytest.mark.parametrize("context", [False, True])
def test_huge_varints_in_every_method_are_refused_cheaply(dictionary: Dictionary, context: bool) -> None:
    frames = _varint_frames()
    dec_opts = {**OPTS}

    def run() -> int:
        n = 0
        for f in frames:
            dec = Decoder(dictionary, context=context, max_message_size=LIMIT, **dec_opts)
            try:
                out = dec.decode(f)
            except AuraError:
                n += 1
                continue
            assert len(out) <= LIMIT
        return n

    refused, peak = _peak(run)
    assert isinstance(refused, int) and refused >= len(frames) * 0.9
    assert peak < PEAK_BUDGET


# -- runtime-template floods -------------------------------------------------------------------------------


def _flood(n: int, opts: dict[str, Any]) -> None:
    cfg: dict[str, Any] = {"max_runtime_templates": 16, "max_runtime_template_bytes": 4096}
    enc = Encoder(None, context=True, **opts, **cfg)
    dec = Decoder(None, context=True, **opts, **cfg)
    peak_mem = 0
    for i in range(n):
        m = json.dumps({f"k{i}": 1, f"f{i % 7}": [i, str(i)], "t": "x"})
        assert dec.decode(enc.encode(m)) == m
        peak_mem = max(peak_mem, enc.memory_bytes(), dec.memory_bytes())
    window = int(enc.config.window) if opts.get("brio") else 0
    assert peak_mem <= 4 * (cfg["max_runtime_template_bytes"] + window) + 65536


def test_runtime_template_flood_is_bounded() -> None:
    """2,000 distinct JSON shapes: the per-connection template state stays within its limits."""
    _flood(2000, TEMPLATES_ONLY)


@pytest.mark.slow
def test_runtime_template_flood_every_method() -> None:
    _flood(3000, OPTS)


# -- dictionaries -----------------------------------------------------------------------------------------


def test_dictionary_larger_than_allowed_is_refused() -> None:
    d = Dictionary({1: b"\x80", 9: b"z" * 70000})
    raw = d.to_bytes()
    with pytest.raises(LimitError) as ei:
        Dictionary.from_bytes(raw, max_size=65536)
    assert ei.value.close_code == CLOSE_TOO_BIG
    assert Dictionary.from_bytes(raw, max_size=len(raw)) == d


def test_dictionary_default_limit_and_load(tmp_path: Path) -> None:
    import os

    big = Dictionary({9: b"\x00" * DEFAULT_MAX_DICTIONARY_SIZE})
    with pytest.raises(LimitError):
        Dictionary.from_bytes(big.to_bytes())
    path = os.path.join(os.fspath(tmp_path), "big.aura")
    with open(path, "wb") as f:
        f.write(big.to_bytes())
    result, peak = _peak(lambda: load_dictionary(path))
    assert isinstance(result, LimitError)
    assert peak < DEFAULT_MAX_DICTIONARY_SIZE * 2 + 65536


def test_dictionary_section_length_lies() -> None:
    raw = MAGIC + bytes([1, 0, 1, 9]) + b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f" + b"abc"
    result, peak = _peak(lambda: Dictionary.from_bytes(raw))
    assert isinstance(result, DictionaryFormatError)
    assert peak < 65536
    raw = MAGIC + bytes([1, 0]) + b"\xff\xff\xff\xff\x0f"  # 2^32 sections announced, none present
    result, peak = _peak(lambda: Dictionary.from_bytes(raw))
    assert isinstance(result, DictionaryFormatError)
    assert peak < 65536


def test_close_codes_of_limit_errors() -> None:
    assert LimitError("x").close_code == CLOSE_TOO_BIG
    assert FrameError("x").close_code == CLOSE_PROTOCOL_ERROR
    assert PayloadError("x").close_code == CLOSE_INVALID_DATA


def test_raw_frame_over_the_limit() -> None:
    frame = bytes([0x40 | METHOD_RAW]) + b"x" * (LIMIT + 1) + b"\x00"
    _refused(frame, LimitError, brio=False, templates=False)


# -- session: dictionary transfer limits ----------------------------------------------------------------------


def _session_api() -> Any:
    import aura_wire.session as session
    import aura_wire.session.control as control

    return session, control


def test_client_declines_a_dictionary_larger_than_allowed() -> None:
    session, control = _session_api()
    cfg = session.SessionConfig(max_dictionary_size=65536)
    cli = session.Session(session.Role.CLIENT, config=cfg)
    huge = ("ab" * 32, 1 << 40)  # a 1 TiB dictionary announced
    cli.receive_frame(control.pack_control(control.Hello(1, 16384, (huge,))))
    evs = cli.events()
    assert not any(isinstance(e, session.DictionaryOffered) for e in evs)
    assert not any(isinstance(e, session.ConnectionFailed) for e in evs)
    assert cli.data_to_send() == []  # no GET: nothing is fetched or allocated


def test_server_refuses_a_dictionary_larger_than_its_limit() -> None:
    session, _ = _session_api()
    d = Dictionary({9: b"x" * 70000})
    with pytest.raises(LimitError):
        session.Session(session.Role.SERVER, dictionaries=[d], config=session.SessionConfig(max_dictionary_size=65536))


def _fetching_pair(d: Dictionary, max_chunk: int) -> tuple[Any, Any]:
    session, control = _session_api()
    cfg = session.SessionConfig(max_chunk=max_chunk)
    srv = session.Session(session.Role.SERVER, dictionaries=[d], config=cfg)
    cli = session.Session(session.Role.CLIENT, config=cfg)
    srv.start()
    for f in srv.data_to_send():
        cli.receive_frame(f)
    offered = [e for e in cli.events() if isinstance(e, session.DictionaryOffered)]
    assert offered
    cli.fetch_dictionary(d.id)
    return srv, cli


def test_server_bounds_bytes_served_to_one_connection() -> None:
    """A client asking for the same chunk again and again is cut off (1009), not served without bound."""
    session, control = _session_api()
    d = Dictionary({9: bytes(range(256)) * 64})
    srv, _ = _fetching_pair(d, 4096)
    failed = None
    served = 0
    for _ in range(1000):
        srv.receive_frame(control.pack_control(control.Get(d.id, 0, 4096)))
        served += sum(len(f) for f in srv.data_to_send())
        evs = [e for e in srv.events() if isinstance(e, session.ConnectionFailed)]
        if evs:
            failed = evs[0]
            break
    assert failed is not None and failed.code == CLOSE_TOO_BIG
    assert served <= 3 * len(d) + 4096 * 2


def test_client_refuses_an_oversized_chunk_and_a_lying_dictionary() -> None:
    session, control = _session_api()
    d = Dictionary({9: bytes(range(256)) * 64})
    srv, cli = _fetching_pair(d, 1024)
    gets = [control.parse_control(f) for f in cli.data_to_send()]
    assert gets and all(isinstance(g, control.Get) for g in gets)
    # A CHUNK carrying more than was asked for: protocol error, nothing buffered beyond the request.
    g = gets[0]
    cli.receive_frame(control.pack_control(control.Chunk(d.id, g.offset, b"z" * (g.length + 1))))
    evs = [e for e in cli.events() if isinstance(e, session.ConnectionFailed)]
    assert evs and evs[0].code == CLOSE_PROTOCOL_ERROR and cli.closed
    # A server answering every GET with the right sizes but wrong bytes: refused by the SHA-256 check.
    srv, cli = _fetching_pair(d, 1024)
    failed = None

    def run() -> None:
        nonlocal failed
        for _ in range(100):
            out = cli.data_to_send()
            if not out:
                break
            for f in out:
                req = control.parse_control(f)
                cli.receive_frame(control.pack_control(control.Chunk(d.id, req.offset, b"\x00" * req.length)))
            evs = [e for e in cli.events() if isinstance(e, session.ConnectionFailed)]
            if evs:
                failed = evs[0]
                return

    _, peak = _peak(run)
    assert failed is not None and failed.code == CLOSE_INVALID_DATA and "SHA-256" in failed.reason
    assert peak < 4 * len(d) + 65536


def test_session_refuses_a_frame_over_the_message_limit() -> None:
    session, _ = _session_api()
    srv = session.Session(session.Role.SERVER, config=session.SessionConfig(max_message_size=1024))
    srv.start()
    srv.data_to_send()
    srv.receive_frame(bytes([0x40 | METHOD_RAW]) + b"x" * 5000 + b"\x00")
    evs = [e for e in srv.events() if isinstance(e, session.ConnectionFailed)]
    assert evs and evs[0].code == CLOSE_TOO_BIG
