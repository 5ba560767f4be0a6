"""Generate spec/vectors/dictionaries/*.json: byte strings a reader MUST refuse as a dictionary.

Run from the repo root: ``python spec/vectors/make_dictionary_vectors.py``.  Each vector holds the
bytes (hex) and the error class; a reader refuses them when it loads the dictionary or, at the
latest, when it builds a decoder with it (spec/wire-format.md §6, §8; templates.md §2; brio.md §4.2).
"""

from __future__ import annotations

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from aura_wire import Decoder, Dictionary  # noqa: E402
from aura_wire.codec.varint import encode_uvarint as uv  # noqa: E402

OUT = os.path.join(HERE, "dictionaries")


def container(sections: list[tuple[int, bytes]], *, magic: bytes = b"AURD", version: int = 1, flags: int = 0,
              tail: bytes = b"") -> bytes:
    out = magic + bytes([version, flags]) + uv(len(sections))
    for kind, body in sections:
        out += uv(kind) + uv(len(body)) + body
    return out + tail


def model(count: int = 1474, value: int = 2048, version: int = 1, n: int = 1474) -> bytes:
    return bytes([version]) + struct.pack("<H", count) + struct.pack("<H", value) * (2 * n)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    good_tmpl = bytes.fromhex("01" "00" "01" "00" "00" "01" "00" "01" "61" "01" "01")  # one text template "a"
    cases = [
        ("error-magic", "bad magic", container([], magic=b"AURX"), "DictionaryFormatError"),
        ("error-version", "container version 2", container([], version=2), "UnsupportedVersionError"),
        ("error-flags", "non-zero flags", container([], flags=1), "DictionaryFormatError"),
        ("error-section-order", "section types not ascending", container([(2, b"x" * 8), (1, b"\x80")]),
         "DictionaryFormatError"),
        ("error-section-duplicate", "the same section type twice", container([(4, b"ab"), (4, b"cd")]),
         "DictionaryFormatError"),
        ("error-section-past-end", "a section running past the end", container([])[:-1] + uv(1) + uv(4) + uv(9)
         + b"abc", "DictionaryFormatError"),
        ("error-trailing", "a byte after the last section", container([(4, b"ab")], tail=b"\x00"),
         "DictionaryFormatError"),
        ("error-templates-version", "templates section version 2", container([(3, b"\x02" + good_tmpl[1:])]),
         "DictionaryFormatError"),
        ("error-templates-trailing", "templates section with a trailing byte", container([(3, good_tmpl + b"\x00")]),
         "DictionaryFormatError"),
        ("error-templates-kind", "a template of unknown kind 2", container([(3, bytes.fromhex("0100010002"))]),
         "DictionaryFormatError"),
        ("error-model-value", "a BRIO model probability of 0",
         container([(4, b"content!"), (5, model(value=0))]), "DictionaryFormatError"),
        ("error-model-count", "a BRIO model announcing 1473 probabilities",
         container([(4, b"content!"), (5, model(count=1473))]), "DictionaryFormatError"),
        ("error-model-length", "a BRIO model one byte short", container([(4, b"content!"), (5, model()[:-1])]),
         "DictionaryFormatError"),
        ("error-template-brio-model", "a template-brio-model section with version 2",
         container([(3, good_tmpl), (4, b"content!"), (5, model()), (6, model(version=2))]),
         "DictionaryFormatError"),
    ]
    for f in os.listdir(OUT):
        if f.endswith(".json"):
            os.unlink(os.path.join(OUT, f))
    for name, desc, data, err in cases:
        try:
            Decoder(Dictionary.from_bytes(data), context=True)
        except Exception as exc:  # the reference must refuse with exactly this class
            assert type(exc).__name__ == err, (name, type(exc).__name__, exc)
        else:
            raise AssertionError(f"{name}: accepted")
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"description": desc, "dictionary": data.hex(), "error": err}, f, indent=1)
            f.write("\n")
    print(f"wrote {len(cases)} vectors to {OUT}")


if __name__ == "__main__":
    main()
