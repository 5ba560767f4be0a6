"""Generate spec/vectors/wire/*.json: frame vectors for RAW, ZSTD, BROTLI and error cases.

Run from the repo root: ``python spec/vectors/make_wire_vectors.py``.  The
dictionary used by the vectors is written to spec/vectors/dict-std.aura and is
trained on synthetic messages only (nothing from real users).
"""

from __future__ import annotations

import json
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from aura_wire import Dictionary, Encoder  # noqa: E402
from aura_wire.codec.dictionary import SECTION_META, SECTION_TEMPLATE_BRIO_MODEL, SECTION_ZSTD  # noqa: E402
from aura_wire import load_dictionary, save_dictionary, train_dictionary

STD = {"brio": False, "templates": False}
OUT = os.path.join(HERE, "wire")


def synthetic(n: int) -> list[str]:
    return [
        f'{{"op":"tick","seq":{i},"sym":"{("AAA", "BBB", "CCC")[i % 3]}","px":"{100 + i % 17}.{i % 100:02d}"}}'
        for i in range(n)
    ]


def msg_json(m: str | bytes) -> dict[str, str]:
    return {"text": m} if isinstance(m, str) else {"hex": m.hex()}


def write(name: str, case: dict[str, object]) -> None:
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    dpath = os.path.join(HERE, "dict-std.aura")
    if os.path.exists(dpath):
        d = load_dictionary(dpath)
    else:
        d = train_dictionary(synthetic(400), brio=False, templates=False, zstd_dict_size=2048, name="vectors")
        d = Dictionary({k: v for k, v in d.sections.items() if k in (SECTION_META, SECTION_ZSTD)})
        save_dictionary(d, dpath)

    def case(name: str, desc: str, msgs: list[str | bytes], dictionary: bool, context: bool, **cfg: object) -> None:
        enc = Encoder(d if dictionary else None, context=context, **STD, **cfg)
        frames = [enc.encode(m).hex() for m in msgs]
        write(name, {"description": desc, "dictionary": "dict-std.aura" if dictionary else None,
                     "context": context, "messages": [msg_json(m) for m in msgs], "frames": frames})

    case("raw-text", "short text messages stored RAW (header 0x08)", ["", "a", "hello"], False, False)
    case("raw-binary", "binary stored RAW (header 0x00)", [b"\x00\xff\x10"], False, False)
    case("raw-context", "RAW frames in context mode (C set)", ["hi", "ok"], False, True)
    case("zstd-nodict", "ZSTD without dictionary (header 0x09)", ["abc" * 300], False, False, brotli=False)
    case("zstd-dict", "ZSTD with the dictionary's zstd section (header 0x29)",
         synthetic(1000)[900:903], True, False, brotli=False, zstd_min_size=0)
    case("zstd-dict-binary", "binary ZSTD with dictionary (header 0x21)",
         [m.encode() for m in synthetic(1000)[950:952]], True, False, brotli=False, zstd_min_size=0)
    case("brotli", "BROTLI stream (header 0x0a)", ["The quick brown fox. " * 120], False, False, zstd=False)
    big = ["\n".join(synthetic(1000)[i:i + 12]) for i in (100, 112, 124)]
    case("zstd-context", "context ZSTD frames (header 0x19): the second and third refer to the zstd history "
         "(messages >= 512 bytes) of the first; no dictionary", big, False, True, brotli=False)
    # TEMPLATE_BRIO (wire-format §4.6): runtime templates (no dictionary) learned from the first tick, then
    # TEMPLATE payloads coded in the payload context
    ticks = synthetic(14)
    enc = Encoder(None, context=True, brio=True, templates=True, zstd=False, brotli=False)
    tb_frames = [enc.encode(m) for m in ticks]
    assert any(f[0] & 7 == 5 for f in tb_frames), "no TEMPLATE_BRIO frame in the vector"
    write("template-brio-context", {
        "description": "context frames without dictionary: RAW/BRIO first, then TEMPLATE and TEMPLATE_BRIO "
                       "(header 0x1d) frames over runtime templates",
        "dictionary": None, "context": True, "messages": [msg_json(m) for m in ticks],
        "frames": [f.hex() for f in tb_frames]})
    # TEMPLATE_BRIO with a dictionary: its templates, and its template-brio-model section as the payload
    # context's initial models (wire-format §4.6, §6)
    tpath = os.path.join(HERE, "dict-templates.aura")
    if os.path.exists(tpath):
        dt = load_dictionary(tpath)
    else:
        dt = train_dictionary(synthetic(400), zstd_dict_size=2048, name="vectors-templates")
        save_dictionary(dt, tpath)
    assert dt.section(SECTION_TEMPLATE_BRIO_MODEL) is not None
    enc = Encoder(dt, context=True, zstd=False, brotli=False)
    msgs = synthetic(1000)[500:516]
    dframes = [enc.encode(m) for m in msgs]
    assert any(f[0] & 0x27 == 0x25 for f in dframes), "no TEMPLATE_BRIO frame with D in the vector"
    write("template-brio-dictionary", {
        "description": "context frames with a dictionary (templates, BRIO, template-brio-model): TEMPLATE_BRIO "
                       "frames (header 0x3d) whose payload context starts from the dictionary's models",
        "dictionary": "dict-templates.aura", "context": True, "messages": [msg_json(m) for m in msgs],
        "frames": [f.hex() for f in dframes]})
    # the same conversation, but the last TEMPLATE_BRIO frame carries a wrong check value
    first_tb = next(i for i, f in enumerate(tb_frames) if f[0] & 7 == 5)
    enc = Encoder(None, context=True, brio=True, templates=True, zstd=False, brotli=False)
    frames = [enc.encode(m) for m in ticks[:first_tb]]
    tpay = enc._tmpl.encode(ticks[first_tb].encode(), True) if enc._tmpl is not None else None
    assert tpay is not None and enc._tb is not None
    wrong = (zlib.crc32(ticks[first_tb].encode(), enc._check) & 0xFF) ^ 0x5A
    frames.append(bytes([tb_frames[first_tb][0]]) + enc._tb.encode(tpay, wrong))
    write("error-template-brio-check", {
        "description": "a TEMPLATE_BRIO frame whose check bits do not match the message it decodes to",
        "dictionary": None, "context": True, "max_message_size": 1 << 20,
        "frames": [f.hex() for f in frames], "error": "ContextDesyncError"})
    errors = [
        ("error-empty", "empty frame", "", "FrameError", False),
        ("error-version", "version 2 header", "48616263", "UnsupportedVersionError", False),
        ("error-reserved-method", "method 6 is reserved", "0e00", "FrameError", False),
        ("error-template-brio", "TEMPLATE_BRIO without the context flag", "0d00", "FrameError", False),
        ("error-control-as-message", "CONTROL frames belong to the session layer", "0700", "FrameError", False),
        ("error-raw-with-dict", "RAW with D set", "2861", "FrameError", False),
        ("error-bad-utf8", "text frame that is not UTF-8", "08fffe", "PayloadError", False),
        ("error-zstd-trailing", "bytes after the zstd frame",
         Encoder(None, context=False, **STD, brotli=False).encode("abc" * 300).hex() + "00", "FrameError", False),
        ("error-zstd-truncated", "zstd frame cut short",
         Encoder(None, context=False, **STD, brotli=False).encode("abc" * 300)[:-3].hex(), "PayloadError", False),
        ("error-zstd-bomb", "zstd frame declaring 100 MB (max_message_size 1 MiB)",
         Encoder(None, context=False, **STD, brotli=False).encode(b"\0" * 100_000_000).hex(), "LimitError", False),
        ("error-context-in-stateless", "C frame given to a stateless decoder", "1868", "ContextDesyncError", False),
        ("error-dict-missing", "D frame given to a decoder without dictionary",
         Encoder(d, context=False, **STD, brotli=False, zstd_min_size=0).encode(synthetic(1000)[999]).hex(),
         "UnknownDictionaryError", False),
    ]
    for name, desc, frame, err, ctx in errors:
        write(name, {"description": desc, "dictionary": None, "context": ctx, "max_message_size": 1 << 20,
                     "frames": [frame], "error": err})
    print(f"wrote {len(os.listdir(OUT))} vectors to {OUT}")


if __name__ == "__main__":
    main()
