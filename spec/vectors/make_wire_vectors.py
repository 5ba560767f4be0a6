"""Generate spec/vectors/wire/*.json: frame vectors of wire format v2 (spec/wire-format.md §8).

Run from the repo root: ``python spec/vectors/make_wire_vectors.py``.  The dictionaries used by the
vectors are trained on synthetic messages only (nothing from real users).  Frames come from the
reference Encoder, or are built by hand (with the check byte of spec §5.4 computed here) where a
vector needs a frame the encoder never sends: every error vector, and the rarer framings.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import brotli  # noqa: E402
import zstandard  # noqa: E402

from aura_wire import (  # noqa: E402
    Decoder,
    Dictionary,
    Encoder,
    load_dictionary,
    save_dictionary,
    train_dictionary,
)
from aura_wire.codec.brio.model import (  # noqa: E402
    P_IS_MATCH,
    P_IS_REP,
    P_MLEN,
    P_NLEN,
    default_models,
)
from aura_wire.codec.brio.rangecoder import (  # noqa: E402
    _encode_dist,
    _encode_len,
    _encode_lit,
    _encode_msg_len,
    _RangeEncoder,
)
from aura_wire.codec.dictionary import (  # noqa: E402
    SECTION_META,
    SECTION_TEMPLATE_BRIO_MODEL,
    SECTION_ZSTD,
)
from aura_wire.codec.frame import STATE_HEADER, dictionary_seed, frame_check, pack_header  # noqa: E402
from aura_wire.codec.varint import encode_uvarint as uv  # noqa: E402
from aura_wire.errors import ContextDesyncError, PayloadError  # noqa: E402

STD = {"brio": False, "templates": False}
OUT = os.path.join(HERE, "wire")
RAW, ZSTD, BROTLI, TEMPLATE, BRIO, TBRIO, STATE = range(7)


def synthetic(n: int) -> list[str]:
    return [
        f'{{"op":"tick","seq":{i},"sym":"{("AAA", "BBB", "CCC")[i % 3]}","px":"{100 + i % 17}.{i % 100:02d}"}}'
        for i in range(n)
    ]


def loglines(n: int, start: int = 0) -> list[str]:
    return [f"2026-12-03 08:{i % 60:02d}:{(7 * i) % 60:02d} worker-{i % 4} {'INFO' if i < 5 else 'WARN'} job "
            f"{1000 + i} {'done' if i % 3 else 'failed'} in {i % 97} ms" for i in range(start, start + n)]


def rule_msgs(n: int) -> list[str]:
    """Text lines whose tokens exercise every branch of DEFINE_TEXT_RULE's rule (templates.md §5.5)."""
    l32 = "abcdefghijklmnopqrstuvwxyzABCDEF"
    return [f"pid={4711 + i}, ({12 + 3 * i}ms) v{i}-beta org.example.service.LongClassNameWithoutDigits {l32} "
            f"h\u00e9llo:{i * 7} x_y#{i}{'  ' if i == 5 else ' '}[a]{i * 9}{{b}} {'start' if i < 4 else 'stop'} "
            f"{'a' * 33} /{i}/ :{i}: @{i}@ `{i}` {{{i}}} ~{i}~ a/b:c \u00fc{i} {i}\u00fc" for i in range(n)]


def msg_json(m: str | bytes) -> dict[str, str]:
    return {"text": m} if isinstance(m, str) else {"hex": m.hex()}


def write(name: str, case: dict[str, object]) -> None:
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, indent=1, ensure_ascii=False)
        f.write("\n")


def hdr(method: int, text: bool = False, ctx: bool = False, d: bool = False) -> bytes:
    return bytes([pack_header(method, text, ctx, d)])


def sealed(seed: int, header: bytes, payload: bytes, message: bytes, instr: bytes = b"") -> bytes:
    """A RAW/ZSTD/BROTLI/TEMPLATE frame: header (and a STATE wrapper when ``instr``), payload, check byte."""
    if instr:
        outer = bytes([STATE_HEADER | (header[0] & 0x28)])
        x = frame_check(seed, message, instr, outer + header) & 0xFF
        return outer + instr + header + payload + bytes([x])
    return header + payload + bytes([frame_check(seed, message, b"", header) & 0xFF])


def brio_stream(check: int, *, n: int | None = None, ops: list[tuple[str, int, int]] = (),  # type: ignore[assignment]
                slot: int | None = None) -> bytes:
    """A hand-assembled stateless BRIO payload with default models (spec/brio.md §5): the length
    (or a raw length ``slot``), literals ('lit', byte, 0) and matches ('match', length, distance),
    then the 8 check bits."""
    rc = _RangeEncoder(default_models(), None)
    if slot is not None:
        rc.tree(P_NLEN, 6, slot)
    else:
        _encode_msg_len(rc, n if n is not None else 0)
    state = 0
    prev = 0
    for kind, a, b in ops:
        if kind == "lit":
            rc.bit(P_IS_MATCH + state, 0)
            _encode_lit(rc, prev, a, -1)
            prev = a
            state = 0
        else:
            rc.bit(P_IS_MATCH + state, 1)
            rc.bit(P_IS_REP + state, 0)
            _encode_len(rc, P_MLEN, a)
            _encode_dist(rc, a, b - 1)
            state = 7
    rc.direct(check, 8)
    return rc.finish()


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".json"):
            os.unlink(os.path.join(OUT, f))
    dpath = os.path.join(HERE, "dict-std.aura")
    if os.path.exists(dpath):
        d = load_dictionary(dpath)
    else:
        d = train_dictionary(synthetic(400), brio=False, templates=False, zstd_dict_size=2048, name="vectors")
        d = Dictionary({k: v for k, v in d.sections.items() if k in (SECTION_META, SECTION_ZSTD)})
        save_dictionary(d, dpath)
    tpath = os.path.join(HERE, "dict-templates.aura")
    if os.path.exists(tpath):
        dt = load_dictionary(tpath)
    else:
        dt = train_dictionary(synthetic(400), zstd_dict_size=2048, name="vectors-templates")
        save_dictionary(dt, tpath)
    assert dt.section(SECTION_TEMPLATE_BRIO_MODEL) is not None
    dicts = {"dict-std.aura": d, "dict-templates.aura": dt}
    count = [0]

    def vector(name: str, desc: str, msgs: list[str | bytes], frames: list[bytes], dictionary: str | None,
               context: bool, params: dict[str, int] | None = None, max_size: int | None = None) -> None:
        # every success vector is checked against the reference decoder before it is written
        dec = Decoder(dicts[dictionary] if dictionary else None, context=context,
                      max_message_size=max_size or (1 << 24), **(params or {}))
        for f, m in zip(frames, msgs, strict=True):
            assert dec.decode(f) == m, name
        body: dict[str, object] = {"description": desc, "dictionary": dictionary, "context": context}
        if max_size is not None:
            body["max_message_size"] = max_size
        if params:
            body["params"] = params
        body["messages"] = [msg_json(m) for m in msgs]
        body["frames"] = [f.hex() for f in frames]
        write(name, body)
        count[0] += 1

    def coded(name: str, desc: str, msgs: list[str | bytes], dictionary: str | None, context: bool,
              params: dict[str, int] | None = None, sensitive: tuple[int, ...] = (), **cfg: object) -> list[bytes]:
        enc = Encoder(dicts[dictionary] if dictionary else None, context=context, **(params or {}), **cfg)
        frames = [enc.encode(m, sensitive=i in sensitive) for i, m in enumerate(msgs)]
        vector(name, desc, msgs, frames, dictionary, context, params)
        return frames

    def error(name: str, desc: str, frames: list[bytes], err: str, dictionary: str | None = None,
              context: bool = False, later: list[bytes] | None = None, params: dict[str, int] | None = None,
              max_size: int = 1 << 20) -> None:
        dec = Decoder(dicts[dictionary] if dictionary else None, context=context, max_message_size=max_size,
                      **(params or {}))
        for f in frames[:-1]:
            dec.decode(f)
        try:
            dec.decode(frames[-1])
        except Exception as exc:  # the reference must raise exactly the named error
            assert type(exc).__name__ == err, (name, type(exc).__name__, exc)
        else:
            raise AssertionError(f"{name}: no error")
        body: dict[str, object] = {"description": desc, "dictionary": dictionary, "context": context,
                                   "max_message_size": max_size}
        if params:
            body["params"] = params
        body["frames"] = [f.hex() for f in frames]
        body["error"] = err
        if later:
            for f in later:
                try:
                    dec.decode(f)
                except Exception as exc:
                    assert type(exc).__name__ == "ContextDesyncError", (name, exc)
                else:
                    raise AssertionError(f"{name}: a later frame decoded")
            body["later"] = [f.hex() for f in later]
        write(name, body)
        count[0] += 1

    # -- RAW, ZSTD, BROTLI -------------------------------------------------------------------
    coded("raw-text", "short text messages stored RAW (header 0x48), each with its check byte", ["", "a", "hello"],
          None, False)
    coded("raw-binary", "binary stored RAW (header 0x40)", [b"\x00\xff\x10"], None, False)
    coded("raw-context", "RAW frames in context mode (header 0x58): the check value chains the frames",
          ["hi", "ok", "hi"], None, True)
    coded("zstd-nodict", "ZSTD without dictionary (header 0x49)", ["abc" * 300], None, False, brotli=False)
    coded("zstd-dict", "stateless ZSTD with the dictionary's zstd section (header 0x69); the check byte is "
          "seeded with the dictionary", synthetic(1000)[900:903], "dict-std.aura", False, brotli=False,
          zstd_min_size=0, **STD)
    coded("zstd-dict-binary", "binary ZSTD with dictionary (header 0x61)",
          [m.encode() for m in synthetic(1000)[950:952]], "dict-std.aura", False, brotli=False, zstd_min_size=0,
          **STD)
    coded("brotli", "BROTLI stream (header 0x4a)", ["The quick brown fox. " * 120], None, False, zstd=False)
    coded("brotli-context", "context BROTLI frame (header 0x5a) then a RAW one: both enter the history",
          ["The quick brown fox. " * 120, "hi"], None, True, zstd=False, brio=False)
    big = ["\n".join(synthetic(1000)[i:i + 12]) for i in (100, 112, 124)]
    coded("zstd-context", "context ZSTD frames (header 0x59): the second and third refer to the zstd history "
          "(messages >= 512 bytes) of the first; no dictionary", big, None, True, brotli=False)
    mixed = [big[0], "x" * 40 + "short message below zstd_history_min_size", big[1] + "\nlast", big[2]]
    coded("zstd-context-min-size", "context ZSTD with short messages between: only messages of at least "
          "zstd_history_min_size (here 100) bytes enter the ZSTD history", mixed, None, True,
          params={"zstd_history_min_size": 100, "zstd_window": 1024}, brotli=False, brio=False, templates=False)
    coded("zstd-context-dict", "context ZSTD with D = 1 (header 0x79): the prefix is the dictionary's "
          "brio-content section followed by the history", ["\n".join(synthetic(1000)[i:i + 14]) for i in (300, 400)],
          "dict-templates.aura", True, brotli=False, brio=False, templates=False)
    # -- BRIO, mixed with the other methods --------------------------------------------------
    coded("brio-stateless", "stateless BRIO frames without dictionary (header 0x4c): default models",
          synthetic(3), None, False, zstd=False, templates=False)
    coded("brio-stateless-dict", "stateless BRIO frames with the dictionary's content and stateless models "
          "(header 0x6c)", synthetic(700)[600:603], "dict-templates.aura", False, zstd=False, templates=False)
    coded("brio-context-mixed", "context BRIO frames without dictionary mixed with RAW, BROTLI and ZSTD: every "
          "frame enters BRIO's history whatever its method", ["hi"] + synthetic(4) + ["The quick brown fox. " * 60]
          + synthetic(8)[4:], None, True, templates=False)
    coded("brio-context-dict", "context BRIO frames with the dictionary (header 0x7c): content block, context "
          "models adapting across frames", synthetic(900)[800:806], "dict-templates.aura", True, templates=False,
          zstd=False)
    coded("brio-small-window", "context BRIO with a non-default window of 64 bytes", synthetic(6), None, True,
          params={"window": 64}, templates=False, zstd=False)
    # -- TEMPLATE, TEMPLATE_BRIO, STATE ------------------------------------------------------
    coded("template-stateless", "stateless TEMPLATE frames with the dictionary's templates (header 0x6b)",
          synthetic(1000)[700:704], "dict-templates.aura", False, brio=False, zstd=False, brotli=False)
    coded("template-on-context-connection", "a stateless TEMPLATE frame (broadcast) between context frames: it "
          "changes no state", synthetic(1000)[710:714], "dict-templates.aura", True, sensitive=(),
          zstd=False, brotli=False)
    ticks = synthetic(14)
    frames = coded("template-brio-context", "context frames without dictionary: a STATE frame defines a "
                   "runtime JSON shape (DEFINE_JSON) around the second tick, then TEMPLATE and TEMPLATE_BRIO "
                   "(header 0x5d) frames use it", ticks, None, True, zstd=False, brotli=False)
    assert frames[1][0] == 0x5e and any(f[0] & 7 == TBRIO for f in frames)
    coded("template-brio-dictionary", "context frames with a dictionary (templates, BRIO, template-brio-model): "
          "TEMPLATE_BRIO frames (header 0x7d) whose payload context starts from the dictionary's models",
          synthetic(1000)[500:516], "dict-templates.aura", True, zstd=False, brotli=False)
    logs = loglines(12)
    frames = coded("state-define-text", "context text messages without dictionary: DEFINE_TEXT instructions "
                   "define and then generalise a runtime text template (slots with affixes)", logs, None, True,
                   zstd=False, brotli=False)
    assert sum(1 for f in frames if f[0] & 7 == STATE) >= 2
    frames = coded("state-define-text-rule", "context text messages without dictionary: DEFINE_TEXT_RULE defines a "
                   "runtime text template by the fixed rule (digits, more than 32 bytes, punctuation prefix and "
                   "suffix, bytes >= 0x80 count as letters), then generalises it with overrides and a variable "
                   "separator", rule_msgs(9), None, True, zstd=False, brotli=False)
    assert sum(1 for f in frames if f[0] & 7 == STATE and f[2] == 3) >= 2
    shapes = [f'{{"k{i % 5}":{i},"v":"{i}"}}' for i in range(14)]
    frames = coded("state-evict", "max_runtime_templates = 2: defining a third runtime shape evicts the least "
                   "recently used (EVICT, or a DEFINE over its id)", shapes, None, True,
                   params={"max_runtime_templates": 2}, zstd=False, brotli=False)
    assert any(f[0] & 7 == STATE for f in frames[3:])
    coded("state-template-bytes", "max_runtime_template_bytes = 60: templates are evicted to fit the byte budget",
          shapes, None, True, params={"max_runtime_template_bytes": 60}, zstd=False, brotli=False)
    # template_state_bytes (session.md §4.1.1 key 8): the keyed previous values of symbols not seen
    # lately are dropped at 192 bytes (templates.md §5.6), so their quotes are predicted from the shape's
    # last message instead; a decoder that keeps the default 6144 bytes predicts otherwise and fails
    quotes = [f'{{"s":"SYM{i * 7 % 12:02d}","p":"{100 + i * 7 % 12}.25","q":{i % 3}}}' for i in range(40)]
    budget = {"template_state_bytes": 192}
    frames = coded("state-budget", "template_state_bytes = 192 (key 8): the previous values of quotes of twelve "
                   "symbols, keyed by symbol, are dropped oldest first beyond 192 bytes and the recent strings "
                   "beyond 64 bytes / 2 strings, so later quotes are predicted from what is left",
                   quotes, None, True, params=budget, zstd=False, brotli=False)
    wrong = Decoder(None, context=True)
    try:
        assert [wrong.decode(f) for f in frames] != quotes
    except (PayloadError, ContextDesyncError):
        pass  # a decoder that ignores the budget fails: a check byte, or a prediction it lacks
    coded("sensitive-between", "sensitive messages (C = 0, D = 0) between context frames change no state",
          synthetic(6), "dict-templates.aura", True, sensitive=(1, 3), zstd=False)
    coded("params-non-default", "every connection parameter non-default: window 512, zstd_window 2048, "
          "zstd_history_min_size 64, template_brio_window 256, max_runtime_templates 4, "
          "max_runtime_template_bytes 1024", synthetic(10) + ["\n".join(synthetic(30))] * 2, None, True,
          params={"window": 512, "zstd_window": 2048, "zstd_history_min_size": 64, "template_brio_window": 256,
                  "max_runtime_templates": 4, "max_runtime_template_bytes": 1024}, brotli=False)
    # hand-made framings: a STATE frame around a RAW frame; a text STATE frame carries T in both headers
    m0 = b'{"a":1,"b":"xy"}'
    instr = b"\x01" + b"\x01\x00" + uv(2) + uv(5) + uv(1) + uv(5) + uv(4)  # DEFINE_JSON 0: holes "1", "\"xy\""
    f0 = sealed(0, hdr(RAW, True, True), m0, m0, instr)
    vector("state-around-raw", "a STATE frame (0x5e) around a RAW frame defines runtime template 0 from the "
           "message; the next frame is a TEMPLATE payload using it (id 8, no mask, UINT 2, RAW \"zz\" quoted)",
           [m0.decode(), '{"a":2,"b":"zz"}'],
           [f0, sealed(frame_check(0, m0, instr, bytes([0x5e, 0x58])), hdr(TEMPLATE, True, True),
                       bytes([8 << 2, 0x22, 0xA1]) + b"zz", b'{"a":2,"b":"zz"}')], None, True)

    # -- errors: header, flags, framing ----------------------------------------------------
    error("error-empty", "empty frame", [b""], "FrameError")
    error("error-version-v1", "a v1 data frame (version bits 0): refused, never misread", [b"\x08hi"],
          "UnsupportedVersionError")
    error("error-version-4", "version bits 3", [b"\xc8hi"], "UnsupportedVersionError")
    error("error-control-as-message", "CONTROL frames belong to the session layer", [b"\x07\x00"], "FrameError")
    error("error-raw-with-dict", "RAW with D set (0x68)", [sealed(0, b"\x68", b"a", b"a")], "FrameError",
          dictionary="dict-std.aura")
    error("error-brotli-with-dict", "BROTLI with D set (0x6a)", [b"\x6a\x0b\x00\x80\x61\x03\x00"], "FrameError",
          dictionary="dict-std.aura")
    error("error-template-brio-stateless", "TEMPLATE_BRIO without the context flag (0x4d)", [b"\x4d\x00\x00"],
          "FrameError", context=True)
    error("error-context-in-stateless", "C frame given to a stateless decoder", [sealed(0, b"\x58", b"h", b"h")],
          "ContextDesyncError")
    error("error-dict-missing", "D frame given to a decoder without dictionary",
          [Encoder(d, context=False, **STD, brotli=False, zstd_min_size=0).encode(synthetic(1000)[999])],
          "UnknownDictionaryError")
    error("error-template-dict-flag", "a TEMPLATE frame with D = 0 on a decoder whose dictionary has templates",
          [sealed(0, hdr(TEMPLATE), b"\x00", b"")], "UnknownDictionaryError", dictionary="dict-templates.aura")
    error("error-brio-dict-flag-context", "a context BRIO frame with D = 0 on a connection whose dictionary has "
          "BRIO sections", [b"\x5c" + brio_stream(0, n=0)], "ContextDesyncError", dictionary="dict-templates.aura",
          context=True)
    error("error-template-brio-disabled", "TEMPLATE_BRIO when template_brio_window is 0", [b"\x5d\x00\x00"],
          "FrameError", context=True, params={"template_brio_window": 0})
    error("error-no-check-byte", "a RAW frame too short to hold its check byte", [b"\x48"], "FrameError")
    error("error-state-stateless-header", "a STATE header without the context flag (0x46)",
          [b"\x46\x01\x00\x00\x50a\x00"], "FrameError", context=True)
    error("error-state-in-stateless", "a STATE frame given to a stateless decoder", [b"\x56\x01\x00\x00\x50a\x00"],
          "ContextDesyncError")
    error("error-state-count-zero", "STATE with an instruction count of 0", [b"\x56\x00\x50a\x00"], "FrameError",
          context=True)
    error("error-state-count-17", "STATE with 17 instructions (at most 16)", [b"\x56\x11" + b"\x00\x00" * 17 +
                                                                              b"\x50a\x00"], "FrameError", context=True)
    error("error-state-opcode", "STATE instruction with opcode 4", [b"\x56\x01\x04\x00\x50a\x00"], "FrameError",
          context=True)
    error("error-state-truncated", "STATE frame ending inside its instruction", [b"\x56\x01\x01"], "FrameError",
          context=True)
    error("error-state-no-inner", "STATE frame without an inner frame", [b"\x56\x01\x00\x00"], "FrameError",
          context=True)
    error("error-state-inner-state", "STATE frame around another STATE frame", [b"\x56\x01\x00\x00\x56\x01"],
          "FrameError", context=True)
    error("error-state-inner-stateless", "STATE frame around a stateless frame (inner 0x40)",
          [b"\x56\x01\x00\x00\x40a\x00"], "FrameError", context=True)
    error("error-state-flags-differ", "STATE header without T around a text frame (inner 0x58)",
          [b"\x56\x01\x00\x00\x58a\x00"], "FrameError", context=True)
    error("error-state-inner-version", "STATE frame around a v1 header (inner 0x10)", [b"\x56\x01\x00\x00\x10a"],
          "UnsupportedVersionError", context=True)
    # -- errors: the check byte ------------------------------------------------------------
    good = sealed(0, hdr(RAW, True, True), b"hello", b"hello")
    error("error-check-context", "context RAW frame with a wrong check byte", [good[:-1] + bytes([good[-1] ^ 1])],
          "ContextDesyncError", context=True)
    error("error-check-chain", "the second frame's check byte computed as if the first had not been committed",
          [good, good], "ContextDesyncError", context=True)
    bad = sealed(0, hdr(RAW, True), b"hello", b"hello")
    error("error-check-stateless", "stateless RAW frame with a wrong check byte", [bad[:-1] + bytes([bad[-1] ^ 0x80])],
          "PayloadError")
    error("error-check-text-flag", "a stateless RAW frame whose T flag was flipped (check computed for T = 1)",
          [bytes([bad[0] ^ 0x08]) + bad[1:]], "PayloadError")
    error("error-check-context-flag", "a context frame's header turned into RAW (the payload is a BRIO stream)",
          [bytes([0x58]) + Encoder(None, context=True, zstd=False, templates=False).encode("hello hello hello")[1:]],
          "ContextDesyncError", context=True)
    zf = Encoder(d, context=False, **STD, brotli=False, zstd_min_size=0).encode(synthetic(1000)[998])
    m998 = synthetic(1000)[998].encode()
    x0 = frame_check(0, m998, b"", zf[:1]) & 0xFF
    assert x0 != zf[-1]
    error("error-check-dictionary-seed", "a stateless ZSTD frame with D = 1 whose check byte is seeded with 0, "
          "as if coded with another dictionary: a dictionary mismatch", [zf[:-1] + bytes([x0])],
          "DictionaryMismatchError", dictionary="dict-std.aura")
    error("error-check-wrong-dictionary", "a stateless ZSTD frame coded with dict-templates.aura's zstd section "
          "given to a decoder holding dict-std.aura",
          [Encoder(dt, context=False, **STD, brotli=False, zstd_min_size=0).encode(synthetic(1000)[997])],
          "DictionaryMismatchError", dictionary="dict-std.aura")
    error("error-check-context-seed", "context chains start at the dictionary seed: a first frame checked "
          "with seed 0 fails on a connection with a dictionary", [good], "ContextDesyncError",
          dictionary="dict-std.aura", context=True)
    error("error-later", "after a failed context frame every later frame is refused",
          [good, good[:-1] + bytes([good[-1] ^ 1])], "ContextDesyncError", context=True,
          later=[sealed(frame_check(0, b"hello", b"", good[:1]), hdr(RAW, True, True), b"hi", b"hi")])
    ok_then = sealed(0, hdr(RAW, False, True), b"\xff\xfe", b"\xff\xfe")
    utf = sealed(0, hdr(RAW, True), b"\xff\xfe", b"\xff\xfe")
    error("error-bad-utf8", "text frame that is not UTF-8 (its check byte is right)", [utf], "PayloadError")
    bad_ctx = sealed(frame_check(0, b"\xff\xfe", b"", ok_then[:1]), hdr(RAW, True, True), b"\xc3", b"\xc3")
    error("error-bad-utf8-context", "context text frame that is not UTF-8: refused, and the decoder is broken",
          [ok_then, bad_ctx], "PayloadError", context=True,
          later=[sealed(frame_check(frame_check(0, b"\xff\xfe", b"", ok_then[:1]), b"\xc3", b"", bad_ctx[:1]),
                        hdr(RAW, False, True), b"x", b"x")])
    # -- errors: limits, ZSTD, BROTLI --------------------------------------------------------
    error("error-raw-limit", "RAW message of 101 bytes, max_message_size 100",
          [sealed(0, hdr(RAW), b"r" * 101, b"r" * 101)], "LimitError", max_size=100)
    z = Encoder(None, context=False, **STD, brotli=False).encode("abc" * 300)
    zc = Encoder(None, context=True, **STD, brotli=False).encode("abc" * 300)
    error("error-zstd-trailing", "a byte after the zstd frame, before the check byte (check right for the message)",
          [z[:-1] + b"\x00" + z[-1:]], "FrameError")
    error("error-zstd-truncated", "zstd frame cut short", [z[:-4] + z[-1:]], "PayloadError")
    error("error-zstd-bomb", "zstd frame declaring 100 MB (max_message_size 1 MiB)",
          [Encoder(None, context=False, **STD, brotli=False).encode(b"\0" * 100_000_000)], "LimitError")
    error("error-zstd-size-limit", "zstd content size 1000 with max_message_size 999",
          [Encoder(None, context=False, **STD, brotli=False).encode(b"z" * 1000)], "LimitError", max_size=999)
    cparams = zstandard.ZstdCompressionParameters.from_level(3, format=zstandard.FORMAT_ZSTD1_MAGICLESS,
                                                             write_content_size=0, write_checksum=0, write_dict_id=0)
    error("error-zstd-no-content-size", "a zstd frame without Frame_Content_Size",
          [sealed(0, hdr(ZSTD), _no_fcs(cparams), b"abc" * 300)], "FrameError")
    br = Encoder(None, context=False, zstd=False).encode("The quick brown fox. " * 120)
    msg_br = ("The quick brown fox. " * 120).encode()
    error("error-brotli-truncated", "brotli stream cut short", [sealed(0, br[:1], br[1:-9], msg_br)], "PayloadError")
    error("error-brotli-trailing", "bytes after the end of the brotli stream",
          [sealed(0, br[:1], br[1:-1] + b"\x00\x01", msg_br)], "PayloadError")
    error("error-brotli-limit", "brotli output of 2520 bytes, max_message_size 2500", [br], "LimitError",
          max_size=2500)
    error("error-brotli-window", "a well-formed brotli stream with a 24-bit window (WBITS above 22, §4.3): refused "
          "before decoding", [sealed(0, br[:1], brotli.compress(msg_br, quality=5, lgwin=24), msg_br)], "PayloadError")
    # -- errors: BRIO (spec/brio.md §11) -------------------------------------------------------
    x_a = frame_check(0, b"a", b"", hdr(BRIO)) & 0xFF
    error("error-brio-ffff", "BRIO payload starting FF FF FF FF", [hdr(BRIO) + b"\xff\xff\xff\xff\x00\x01"],
          "PayloadError")
    error("error-brio-length-slot", "BRIO length slot 33", [hdr(BRIO, ctx=True) + brio_stream(0, slot=33)],
          "PayloadError", context=True)
    error("error-brio-limit", "BRIO message length 100 with max_message_size 99 (before any output)",
          [hdr(BRIO, ctx=True) + brio_stream(0, n=100, ops=[("lit", 0x61, 0)] + [("match", 81, 1), ("match", 18, 1)])],
          "LimitError", context=True, max_size=99)
    error("error-brio-match-too-long", "a BRIO match longer than the rest of the message",
          [hdr(BRIO, ctx=True) + brio_stream(0, n=3, ops=[("lit", 0x61, 0), ("match", 5, 1)])], "PayloadError",
          context=True)
    error("error-brio-distance", "a BRIO match reaching before the buffer (distance 10 after one byte)",
          [hdr(BRIO, ctx=True) + brio_stream(0, n=4, ops=[("lit", 0x61, 0), ("match", 3, 10)])], "PayloadError",
          context=True)
    okb = hdr(BRIO) + brio_stream(x_a, n=1, ops=[("lit", 0x61, 0)])
    vector("brio-hand-made", "a hand-assembled stateless BRIO frame: one literal 'a'", [b"a"], [okb], None, False)
    error("error-brio-unread", "a BRIO payload with an unread byte at the end", [okb + b"\x01"], "PayloadError")
    error("error-brio-trailing-zero", "a BRIO payload ending with a zero byte", [okb + b"\x00"], "PayloadError")
    error("error-brio-check", "a stateless BRIO frame whose check bits are wrong",
          [hdr(BRIO) + brio_stream(x_a ^ 0x10, n=1, ops=[("lit", 0x61, 0)])], "PayloadError")
    # -- errors: STATE instructions (templates.md §5.5) ------------------------------------------
    m1 = b'{"a":1}'

    def state_raw(instr: bytes, m: bytes = m1) -> bytes:
        return sealed(0, hdr(RAW, True, True), m, m, instr)

    error("error-evict-missing", "EVICT of a runtime template that is not defined", [state_raw(b"\x01\x00\x03")],
          "PayloadError", context=True)
    error("error-define-k-limit", "DEFINE_JSON k = 64 with max_runtime_templates 64",
          [state_raw(b"\x01\x01\x40\x01\x05\x01")], "LimitError", context=True)
    error("error-define-bytes-limit", "DEFINE_JSON of a template larger than max_runtime_template_bytes 8",
          [state_raw(b"\x01\x01\x00\x01\x05\x01")], "LimitError", context=True,
          params={"max_runtime_template_bytes": 8})
    error("error-define-hole-past", "DEFINE_JSON hole running past the message", [state_raw(b"\x01\x01\x00\x01\x05\x05")],
          "PayloadError", context=True)
    error("error-define-text-count", "DEFINE_TEXT for 1 token, the message has 2",
          [state_raw(b"\x01\x02\x00\x01\x00\x00", b"two tokens")], "PayloadError", context=True)
    error("error-state-varint-nonminimal", "a non-minimal varint (80 00) in a STATE instruction",
          [state_raw(b"\x01\x00\x80\x00")], "FrameError", context=True)
    error("error-state-varint-long", "an 11-byte varint in a STATE instruction",
          [state_raw(b"\x01\x00" + b"\x80" * 10 + b"\x01")], "FrameError", context=True)
    error("error-state-varint-overflow", "a 10-byte varint above 2^64 - 1 in a STATE instruction",
          [state_raw(b"\x01\x00" + b"\xff" * 9 + b"\x7f")], "FrameError", context=True)
    error("error-zstd-truncated-context", "context zstd frame cut short (its check byte right for the message)",
          [sealed(0, hdr(ZSTD, True, True), zc[1:-5], b"abc" * 300)], "PayloadError", context=True)
    error("error-brotli-truncated-context", "context brotli stream cut short",
          [sealed(0, hdr(BROTLI, True, True), br[1:-9], msg_br)], "PayloadError", context=True)
    m2 = bytes(range(0x80, 0x90))
    vector("state-around-raw-binary", "a binary message (invalid UTF-8 bytes) in a STATE frame around RAW (0x56 "
           "around 0x50): both headers say binary", [m2],
           [sealed(0, hdr(RAW, False, True), m2, m2, b"\x01\x01\x00\x01\x00\x02")], None, True)
    error("error-define-text-affix", "DEFINE_TEXT slot affixes longer than the token",
          [state_raw(b"\x01\x02\x00\x02\x04\x02\x00\x00", b"two tokens")], "PayloadError", context=True)
    error("error-define-text-seps", "DEFINE_TEXT variable separators not ascending",
          [state_raw(b"\x01\x02\x00\x02\x00\x00\x02\x02\x01", b"two tokens")], "PayloadError", context=True)
    # DEFINE_TEXT_RULE 0 on "a1 b2 cc key=v3": token 1 overridden to a literal, token 3 to a slot without affixes
    m3 = b"a1 b2 cc key=v3"
    ri = b"\x01\x03\x00\x02\x01\x00\x01\x01\x00\x00"
    vector("state-define-text-rule-overrides", "DEFINE_TEXT_RULE with overrides: a literal over a rule slot (b2) "
           "and a slot without affixes over a rule slot with the prefix key= (skips 1 and 1); the next TEMPLATE "
           "frame (id 8, RAW \"x9\", RAW \"key=v4\") uses it", [m3.decode(), "x9 b2 cc key=v4"],
           [sealed(0, hdr(RAW, True, True), m3, m3, ri),
            sealed(frame_check(0, m3, ri, bytes([0x5e, 0x58])), hdr(TEMPLATE, True, True),
                   bytes([8 << 2, 0x21]) + b"x9" + bytes([0x61]) + b"key=v4", b"x9 b2 cc key=v4")], None, True)
    error("error-define-rule-override-past", "DEFINE_TEXT_RULE overriding token 2 of a 2-token message",
          [state_raw(b"\x01\x03\x00\x01\x02\x00\x00", b"two tokens")], "PayloadError", context=True)
    error("error-define-rule-no-tokens", "DEFINE_TEXT_RULE on a message of spaces only (0 tokens)",
          [state_raw(b"\x01\x03\x00\x00\x00", b"   ")], "PayloadError", context=True)
    error("error-define-rule-129-tokens", "DEFINE_TEXT_RULE on a message of 129 tokens (at most 128)",
          [state_raw(b"\x01\x03\x00\x00\x00", b"a " * 129)], "PayloadError", context=True)
    vector("state-define-text-rule-128-tokens", "DEFINE_TEXT_RULE on a message of 128 tokens (the most)",
           [("a " * 128)], [state_raw(b"\x01\x03\x00\x00\x00", b"a " * 128)], None, True)
    error("error-define-rule-affix", "DEFINE_TEXT_RULE override whose affixes are longer than the token",
          [state_raw(b"\x01\x03\x00\x01\x00\x04\x01\x00", b"two tokens")], "PayloadError", context=True)
    error("error-define-rule-seps", "DEFINE_TEXT_RULE variable separator 3 of a 2-token message",
          [state_raw(b"\x01\x03\x00\x00\x01\x03", b"two tokens")], "PayloadError", context=True)
    error("error-define-rule-overrides-129", "DEFINE_TEXT_RULE with 129 overrides (at most 128)",
          [state_raw(b"\x01\x03\x00\x81\x01" + b"\x00\x00" * 129 + b"\x00")], "FrameError", context=True)
    error("error-define-rule-seps-130", "DEFINE_TEXT_RULE with 130 variable separators (at most 129)",
          [state_raw(b"\x01\x03\x00\x00\x82\x01" + bytes(130))], "FrameError", context=True)
    error("error-template-unknown", "a context TEMPLATE frame naming runtime template 0 before any DEFINE",
          [sealed(0, hdr(TEMPLATE, True, True), bytes([8 << 2]), b"")], "UnknownTemplateError", context=True)
    # -- v2 additions pinned by mutation testing (spec/mutation/) -------------------------------
    prev_msgs = [f"{c}{i} worker alpha finished job {1000 + 7 * i} in {i * 13 % 97} ms and wrote {i * 31 % 1000} "
                 f"rows to table events{' ok' if i % 2 else ' 7'}" for i, c in zip(range(8), "QWERTYUI")]
    frames = coded("brio-prev-class", "context BRIO frames after messages ending in a letter or a digit: the "
                   "first literal of each frame is coded with class(prev) of the previous message's last byte "
                   "(brio.md §4.1), not of 0", prev_msgs, None, True, zstd=False, brotli=False, templates=False)
    assert all(f[0] & 7 == BRIO for f in frames[1:])
    # a zstd frame whose content is complete but whose last block is missing: only the end-of-frame
    # check refuses it (Frame_Content_Size 0, no block at all)
    error("error-zstd-no-last-block", "a zstd frame with Frame_Content_Size 0 and no block: truncated (its "
          "check byte is right for the empty message)", [sealed(0, hdr(ZSTD), b"\x20\x00", b"")], "PayloadError")
    # a 5-byte ZSTD prefix: decoded without a dictionary (§4.2.1), so a sequence reaching into it is corrupt
    hello = b"hello"
    zp = _prefix_frame(hello, hello * 20)
    c_hello = frame_check(0, hello, b"", hdr(RAW, False, True))
    error("error-zstd-short-prefix", "context ZSTD after one 5-byte message (zstd_history_min_size 1): a "
          "prefix shorter than 8 bytes is no dictionary, so a match into it is corrupt (the frame would decode "
          "to 'hello' * 20 with the 5 bytes as a raw-content dictionary)",
          [sealed(0, hdr(RAW, False, True), hello, hello), sealed(c_hello, hdr(ZSTD, False, True), zp, hello * 20)],
          "PayloadError", context=True, params={"zstd_history_min_size": 1})
    # a brotli stream cut by its last byte, a zero byte: a decoder that reads zero bits past the end of
    # its input (as some ports do) decodes the same message; the stream does not end within the payload
    zm, zs = _zero_ending_brotli()
    error("error-brotli-truncated-zero", "a brotli stream without its last byte (0x00): the stream does not "
          "end (ISLAST) within the payload, even if zero bits past the end would complete it",
          [sealed(0, hdr(BROTLI, True), zs[:-1], zm)], "PayloadError")
    # a fuzzy payload (templates.md §4.3) whose rendered template is longer than max_message_size while
    # its output after the edits fits: R may reach max_message_size + 4096
    tick = synthetic(1000)[720].encode()
    exact = Encoder(dt, context=False, brio=False, zstd=False, brotli=False).encode(tick.decode())
    assert exact[0] & 7 == TEMPLATE and exact[1] & 3 == 0 and exact[1] < 0x80, "a one-byte stateless reference"
    fz = bytes([exact[1] | 3]) + uv(1 << 2) + exact[2:-1] + uv(0) + uv(6) + uv(0)  # one edit: delete 6 bytes
    vector("template-fuzzy-slack", "a stateless fuzzy TEMPLATE frame: the template renders the whole tick (longer "
           "than max_message_size), the edit deletes its first 6 bytes, and the message fits",
           [tick[6:].decode()], [sealed(dictionary_seed(dt), hdr(TEMPLATE, True, d=True), fz, tick[6:])],
           "dict-templates.aura", False, max_size=len(tick) - 6)
    # error precedence (§5.6): each vector has two faults and names the error of the earlier step
    error("error-precedence-broken-before-empty", "step 1 before step 2: an empty frame after a failed context "
          "frame is a context-desync error", [good[:-1] + bytes([good[-1] ^ 1])], "ContextDesyncError",
          context=True, later=[b"", b"\x07\x00"])
    error("error-precedence-version-before-control", "step 3 before step 4: a CONTROL method with version bits 3 "
          "(0xc7) is an unsupported version", [b"\xc7\x00"], "UnsupportedVersionError")
    error("error-precedence-state-context-before-stateless", "step 5: a STATE header with C = 0 (frame error) "
          "given to a stateless decoder", [b"\x46\x01\x00\x00\x50a\x00"], "FrameError")
    error("error-precedence-state-stateless-before-instructions", "step 5 before step 8: a STATE frame whose "
          "instruction count is 0, given to a stateless decoder", [b"\x56\x00\x50a\x00"], "ContextDesyncError")
    error("error-precedence-raw-dict-before-context", "step 5 order: RAW with D = 1 (frame error) before C = 1 "
          "in a stateless decoder", [sealed(0, hdr(RAW, ctx=True, d=True), b"a", b"a")], "FrameError")
    error("error-precedence-context-before-dict", "step 5 order: C = 1 in a stateless decoder before D = 1 "
          "without a dictionary", [sealed(0, hdr(ZSTD, ctx=True, d=True), b"\x20\x00\x01\x00\x00", b"")],
          "ContextDesyncError")
    error("error-precedence-dict-before-brio-flag", "step 5 before step 6: a context BRIO frame with D = 1 on a "
          "connection without dictionary is an unknown dictionary, not a context desync",
          [hdr(BRIO, ctx=True, d=True) + brio_stream(0, n=0)], "UnknownDictionaryError", context=True)
    error("error-precedence-brio-flag-before-payload", "step 6 before step 9: a context BRIO frame with D = 0 "
          "on a connection whose dictionary has BRIO sections, its payload also malformed (FF FF FF FF)",
          [hdr(BRIO, ctx=True) + b"\xff\xff\xff\xff\x00\x01"], "ContextDesyncError",
          dictionary="dict-templates.aura", context=True)
    error("error-precedence-template-brio-disabled-before-short", "step 6 before step 7: TEMPLATE_BRIO with "
          "template_brio_window 0 and no payload", [b"\x5d"], "FrameError", context=True,
          params={"template_brio_window": 0})
    error("error-precedence-dict-before-short", "step 5 before step 7: a ZSTD frame with D = 1 and no payload, "
          "no dictionary held", [hdr(ZSTD, d=True)], "UnknownDictionaryError")
    error("error-precedence-state-syntax-before-inner", "step 8 order: a STATE frame whose instruction is "
          "malformed (opcode 3) around an inner frame of method 7", [b"\x56\x01\x03\x00\x57a\x00"], "FrameError",
          context=True)
    error("error-precedence-inner-version-before-method", "step 8: the inner header's version is checked before "
          "its method (inner 0x16: version 0, STATE)", [b"\x56\x01\x00\x00\x16a\x00"], "UnsupportedVersionError",
          context=True)
    # a context BRIO frame holding only its length (65536): the rest would decode from zeros past the end
    rc = _RangeEncoder(default_models(), None)
    _encode_msg_len(rc, 65536)
    past = hdr(BRIO, ctx=True) + rc.finish()
    try:
        Decoder(None, context=True, max_message_size=1 << 20).decode(past)
    except Exception as exc:
        assert "past its end" in str(exc), exc
    error("error-brio-past-end", "a context BRIO frame whose payload is its message length only (65536): "
          "decoding reads more than 16 zero bytes past the payload's end (brio.md §2), a payload error (a decoder "
          "without the bound produces the whole message from zeros and fails the check: context desync)",
          [past], "PayloadError", context=True)
    # FHD 0x80 (4-byte content size, not single segment), Window_Descriptor 0xb0 (window log 32), size 5, RLE block
    error("error-zstd-window-too-large", "a zstd frame header whose Window_Descriptor announces a window log of 32 "
          "(above 31): a frame error, like any unreadable header", [sealed(0, hdr(ZSTD), b"\x80\xb0\x05\x00\x00\x00"
          b"\x2b\x00\x00a", b"aaaaa")], "FrameError")
    # an RLE block of 8 bytes in a frame declaring 5 (FHD 0x20: single segment, 1-byte content size), then bytes
    # after the frame: decoding from the first byte meets the overflow first (found by differential fuzzing)
    error("error-precedence-zstd-corrupt-before-trailing", "step 9: a ZSTD frame whose RLE block overflows its "
          "content size, followed by trailing bytes: the fault inside the frame is met first (payload error), not "
          "the trailing bytes (frame error)", [sealed(0, hdr(ZSTD), b"\x20\x05\x43\x00\x00a" + b"xyz", b"aaaaa")],
          "PayloadError")
    error("error-precedence-payload-before-check", "step 9 before step 10: a stateless RAW frame over "
          "max_message_size whose check byte is also wrong", [sealed(0, hdr(RAW), b"r" * 11, b"r" * 10)],
          "LimitError", max_size=10)
    error("error-precedence-check-before-utf8", "step 10 before step 11: a stateless text RAW frame with invalid "
          "UTF-8 and a wrong check byte", [sealed(0, hdr(RAW, True), b"\xff", b"\xfe")], "PayloadError")
    error("error-precedence-check-before-instructions", "step 10 before step 12: a STATE frame with a wrong check "
          "byte whose instruction (EVICT 3) would also fail", [state_raw(b"\x01\x00\x03", b"x")[:-1]
                                                               + bytes([state_raw(b"\x01\x00\x03", b"x")[-1] ^ 1])],
          "ContextDesyncError", context=True)
    error("error-precedence-utf8-before-instructions", "step 11 before step 12: a text STATE frame with invalid "
          "UTF-8 whose instruction (EVICT 3) would also fail", [state_raw(b"\x01\x00\x03", b"\xff")],
          "PayloadError", context=True)
    print(f"wrote {count[0]} vectors to {OUT}")


def _zero_ending_brotli() -> tuple[bytes, bytes]:
    """The first of a fixed series of messages whose brotli stream (quality 5) ends with a zero byte."""
    import brotli

    words = ["alpha", "beta", "gamma", "delta", "fox", "quick", "brown", "lazy", "dog", "jumps"]
    for i in range(1, 5000):
        m = " ".join(words[(i * 7 + j * j) % 10] for j in range(5 + i % 60)).encode()
        c = brotli.compress(m, quality=5)
        if c[-1] == 0:
            d = brotli.Decompressor()
            d.process(c[:-1])
            assert not d.is_finished()
            return m, c
    raise AssertionError("no brotli stream ending with a zero byte")


def _prefix_frame(prefix: bytes, message: bytes) -> bytes:
    """A magicless zstd frame of ``message`` whose first sequence refers to ``prefix``, the bytes
    before the frame: libzstd never codes against a dictionary under 8 bytes, so the frame is the
    second block of a frame that starts with ``prefix`` as its own block, behind a new header
    (single segment, one-byte Frame_Content_Size)."""
    assert len(message) < 256
    co = zstandard.ZstdCompressor(level=3, write_content_size=False, write_checksum=False).compressobj()
    first = co.compress(prefix) + co.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    rest = co.compress(message) + co.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)
    head = 4 + 2 + 3  # magic, descriptor and window byte, the raw block's header
    assert first[head:] == prefix and first[head - 3] & 7 == 0, "the prefix is one raw block"
    frame = bytes([0x20, len(message)]) + rest
    plain = zstandard.ZstdDecompressor(format=zstandard.FORMAT_ZSTD1_MAGICLESS)
    try:
        plain.decompress(frame)
    except zstandard.ZstdError:
        pass
    else:
        raise AssertionError("the frame does not refer to the prefix")
    with_prefix = zstandard.ZstdDecompressor(
        dict_data=zstandard.ZstdCompressionDict(prefix, dict_type=zstandard.DICT_TYPE_RAWCONTENT),
        format=zstandard.FORMAT_ZSTD1_MAGICLESS)
    assert with_prefix.decompress(frame) == message
    return frame


def _no_fcs(cparams: zstandard.ZstdCompressionParameters) -> bytes:
    """A magicless zstd frame of ``abc * 300`` without Frame_Content_Size (streaming compression)."""
    c = zstandard.ZstdCompressor(compression_params=cparams).compressobj()
    return c.compress(b"abc" * 300) + c.flush()


if __name__ == "__main__":
    main()
