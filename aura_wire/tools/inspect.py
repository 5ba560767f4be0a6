"""Dissect one AURA frame field by field, like a protocol analyser (``aura-wire inspect``).

:func:`read_frame_arg` turns a command-line argument (hex, base64 or
``@file``) into bytes; :func:`dissect` returns a :class:`Dissection`: an
ordered list of :class:`Field` values (name, value, byte offset and length,
note) covering the header bits (spec/wire-format.md §3), the method's payload
(for ZSTD the RFC 8878 §3.1.1 frame header and block headers; for BROTLI the
RFC 7932 §9.1 window size; for TEMPLATE the reference, mask and slot values;
for BRIO the coded items, literals and matches with their source, and the
check value; for TEMPLATE_BRIO both; for STATE the instructions and the
inner frame, dissected; every data frame's check byte, spec §5.4) and, when the
frame can be decoded (a dictionary is given, or none is needed), the decoded
message.  :func:`format_dissection` renders it as text.

Dissection never raises for a malformed frame: what cannot be parsed is
reported as a field with the error, since showing a broken frame is the
point.  Only :class:`~aura_wire.errors.AuraError` is caught, so a bug in
this module still surfaces.  No network I/O here.
"""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass, field
from typing import Any

from aura_wire.codec.dictionary import SECTION_NAMES, Dictionary
from aura_wire.codec.frame import (
    FLAG_CONTEXT,
    FLAG_DICT,
    FLAG_TEXT,
    MASK_METHOD,
    METHOD_BRIO,
    METHOD_BROTLI,
    METHOD_CONTROL,
    METHOD_NAMES,
    METHOD_RAW,
    METHOD_STATE,
    METHOD_TEMPLATE,
    METHOD_TEMPLATE_BRIO,
    METHOD_ZSTD,
    STATE_COPIED_FLAGS,
    WIRE_VERSION,
    parse_header,
)
from aura_wire.errors import AuraError

from aura_wire.codec.brio.decode import BrioDecoder
from aura_wire.codec.config import DEFAULT_MAX_MESSAGE_SIZE, CodecConfig
from aura_wire.codec.decoder import Decoder
from aura_wire.codec.shared import _shared_for
from aura_wire.codec.stdcodecs import BROTLI_MAX_WBITS, brotli_window_bits
from aura_wire.codec.templates.forms import get_uv
from aura_wire.codec.templates.context import (
    MRU_SIZE,
    OP_DEFINE_JSON,
    OP_DEFINE_TEXT,
    OP_EVICT,
    REF_FUZZY,
    REF_MASK,
    parse_instructions,
)

from aura_wire.tools.inspect_dictionary import describe_dictionary, format_dictionary  # re-exported

__all__ = ["Field", "Dissection", "read_frame_arg", "dissect", "format_dissection", "InputError",
           "describe_dictionary", "format_dictionary"]

_ZSTD_BLOCK_TYPES = ("Raw_Block", "RLE_Block", "Compressed_Block", "Reserved")
_MAX_BLOCKS_SHOWN = 16


class InputError(ValueError):
    """The frame argument is neither hex, base64 nor a readable @file."""


@dataclass(frozen=True)
class Field:
    """One dissected field: ``offset``/``length`` in bytes from the start of the frame."""

    name: str
    value: str
    offset: int | None = None
    length: int | None = None
    note: str = ""


@dataclass
class Dissection:
    frame: bytes
    fields: list[Field] = field(default_factory=list)
    method: str | None = None
    message: str | bytes | None = None
    decode_error: str | None = None
    parse_error: str | None = None
    #: the decoder was run and refused the frame (``decode_error`` says why); False when decoding
    #: was not attempted (no dictionary at hand, or ``decode=False``)
    refused: bool = False
    #: the refusal was the check byte's (spec §5.4): the frame is corrupt, or a context frame was
    #: decoded without its connection's earlier frames
    check_mismatch: bool = False

    @property
    def failed(self) -> bool:
        """The frame could not be parsed, or the decoder refused it (``aura-wire inspect`` exits 1)."""
        return self.parse_error is not None or self.refused

    def add(self, name: str, value: object, offset: int | None = None, length: int | None = None,
            note: str = "") -> None:
        self.fields.append(Field(name, str(value), offset, length, note))

    def as_dict(self) -> dict[str, Any]:
        msg: Any = self.message
        if isinstance(msg, bytes):
            msg = {"hex": msg.hex()}
        return {
            "frame_hex": self.frame.hex(),
            "method": self.method,
            "fields": [f.__dict__ for f in self.fields],
            "message": msg,
            "decode_error": self.decode_error,
            "parse_error": self.parse_error,
            "refused": self.refused,
            "check_mismatch": self.check_mismatch,
        }


# ---------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------


#: Header ``ver`` values some spec defines (spec/wire-format.md §2: 0 = v1, 1 = v2).
_DEFINED_VERSIONS = 2


def read_frame_arg(arg: str) -> bytes:
    """Frame bytes from ``@path`` (raw file), hex (spaces/colons allowed, optional 0x) or base64."""
    if arg.startswith("@"):
        path = arg[1:]
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    text = "".join(arg.split()).replace(":", "")
    if text.lower().startswith("0x"):
        text = text[2:]
    if text and len(text) % 2 == 0 and all(c in string.hexdigits for c in text):
        return bytes.fromhex(text)
    try:
        padded = text + "=" * (-len(text) % 4)
        if "-" in text or "_" in text:
            data = base64.urlsafe_b64decode(padded)
        else:
            data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("frame is neither hex, base64 nor @file") from exc
    # Many typos are valid base64 ("zzzz" is 3 bytes): accept base64 only when it gives a header
    # byte of a version some spec defines, else say what the argument was taken for.
    if not data or data[0] >> 6 >= _DEFINED_VERSIONS:
        first = f"header byte 0x{data[0]:02x} (version {(data[0] >> 6) + 1}, which no spec defines)" if data else "nothing"
        raise InputError(f"not hex, and as base64 it gives {len(data)} byte(s) starting with {first}: "
                         "not an AURA frame; give the frame as hex, base64 or @file")
    return data


# ---------------------------------------------------------------------------
# dissection
# ---------------------------------------------------------------------------


def dissect(frame: bytes, dictionary: Dictionary | None = None, *, context: bool | None = None,
            decode: bool = True, decoder: Decoder | None = None) -> Dissection:
    """Dissect ``frame``.

    ``context``: decode with a context-mode decoder (default: what the
    header's C flag says).  A context frame depends on the frames before it
    on its connection; decoding it alone is only right for the first frame
    of a connection, and a mismatch shows as a decode error, not wrong text.
    ``decoder``: decode with this one instead (pass the same Decoder for the
    frames of one connection, in order, to decode context frames).
    """
    d = Dissection(bytes(frame))
    if not frame:
        d.parse_error = "empty frame: no header byte"
        d.add("header", "(missing)", 0, 0, d.parse_error)
        return d
    b = frame[0]
    method = b & MASK_METHOD
    d.method = METHOD_NAMES.get(method, str(method))
    _header_fields(d, b, 0)
    payload = bytes(frame[1:])
    d.add("payload", f"{len(payload)} bytes", 1, len(payload))
    try:
        parse_header(frame)  # the codec's own version rule (CONTROL frames have version 0)
    except AuraError as exc:
        d.parse_error = str(exc)
        return d
    if method == METHOD_STATE:
        _state_fields(d, frame, dictionary, decoder)
    elif method == METHOD_CONTROL:
        _control_fields(d)
    else:
        _data_fields(d, method, b, payload, dictionary, decoder)
    if dictionary is not None:
        secs = ", ".join(f"{SECTION_NAMES.get(k, str(k))} {len(v)} B" for k, v in dictionary.sections.items())
        d.add("dictionary", f"{dictionary.id[:16]}... ({len(dictionary)} bytes: {secs})")
    if decode and method != METHOD_CONTROL and d.parse_error is None:
        _decode_into(d, dictionary, bool(b & FLAG_CONTEXT) if context is None else context, decoder)
    return d


def _header_fields(d: Dissection, b: int, at: int, indent: str = "") -> None:
    """The header byte's bits (wire-format §3) at frame offset ``at``."""
    version = b >> 6
    method = b & MASK_METHOD
    name = METHOD_NAMES.get(method, str(method))
    control = method == METHOD_CONTROL
    d.add(f"{indent}header", f"0x{b:02x} = {b:08b}b", at, 1, "ver(2) | D | C | T | method(3)  (wire-format §3)")
    d.add(f"{indent}  version", f"{version} (v{version + 1})", at, 1,
          "" if version == WIRE_VERSION or (control and version == 0)
          else f"unsupported: this peer speaks v{WIRE_VERSION + 1} only")
    d.add(f"{indent}  D dictionary", int(bool(b & FLAG_DICT)), at, 1,
          "payload uses the shared dictionary" if b & FLAG_DICT else "no shared dictionary")
    d.add(f"{indent}  C context", int(bool(b & FLAG_CONTEXT)), at, 1,
          "coded against, and updates, the connection's state" if b & FLAG_CONTEXT else "decodes alone")
    d.add(f"{indent}  T text", int(bool(b & FLAG_TEXT)), at, 1,
          "UTF-8 text message" if b & FLAG_TEXT else "binary message")
    d.add(f"{indent}  method", f"{method} {name.upper()}", at, 1)


_CHECK_NOTE = "crc32(F, crc32(I, crc32(m, s))) & 0xFF (wire-format §5.4)"


def _data_fields(d: Dissection, method: int, b: int, payload: bytes, dictionary: Dictionary | None,
                 decoder: Decoder | None) -> None:
    """A data frame's payload (methods 0-5); every method but BRIO ends with the check byte."""
    context = bool(b & FLAG_CONTEXT)
    if method in (METHOD_RAW, METHOD_ZSTD, METHOD_BROTLI, METHOD_TEMPLATE):
        if not payload:
            d.parse_error = "frame too short for its check byte"
            d.add("  check byte", "(missing)", 1, 0, d.parse_error)
            return
        body = payload[:-1]
        if method == METHOD_RAW:
            d.add("  stored message", _preview(body), 1, len(body))
        elif method == METHOD_ZSTD:
            _zstd_fields(d, body)
        elif method == METHOD_BROTLI:
            _brotli_fields(d, body)
        else:
            _template_fields(d, body, 1, context)
        d.add("  check byte", f"0x{payload[-1]:02x}", len(payload), 1, _CHECK_NOTE)
    elif method in (METHOD_BRIO, METHOD_TEMPLATE_BRIO):
        _method_fields(d, method, payload, dictionary, context, bool(b & FLAG_DICT), decoder)
    else:
        d.parse_error = f"reserved method tag {method}"
        d.add("  payload", "(reserved method)", 1, len(payload), d.parse_error)


_OP_NAMES = {OP_EVICT: "EVICT", OP_DEFINE_JSON: "DEFINE_JSON", OP_DEFINE_TEXT: "DEFINE_TEXT"}


def _state_fields(d: Dissection, frame: bytes, dictionary: Dictionary | None, decoder: Decoder | None) -> None:
    """A STATE frame (wire-format §4.7): its instructions, then the inner frame dissected."""
    if not frame[0] & FLAG_CONTEXT:
        d.parse_error = "STATE frame without the context flag"
        d.add("  state", "(malformed)", 0, 1, d.parse_error)
        return
    try:
        instructions, pos = parse_instructions(frame, 1)
    except AuraError as exc:
        d.parse_error = f"{type(exc).__name__}: {exc}"
        d.add("  instructions", "(malformed)", 1, None, d.parse_error)
        return
    d.add("  instructions", f"{len(instructions)} ({pos - 1} bytes)", 1, pos - 1,
          "applied after the inner frame's message is decoded (templates §5.5)")
    for ins in instructions:
        name = _OP_NAMES.get(ins.op, str(ins.op))
        if ins.op == OP_EVICT:
            what = f"runtime template {ins.k}"
        elif ins.op == OP_DEFINE_JSON:
            holes = list(zip(ins.args[1::2], ins.args[2::2]))
            what = f"runtime template {ins.k} from this message, {ins.args[0]} holes (skip, length) {holes}"
        else:
            what = f"runtime template {ins.k} from this message's {ins.args[0]} tokens"
        d.add(f"  {name}", what, None, None, f"args {ins.args}" if ins.args and ins.op == OP_DEFINE_TEXT else "")
    if pos >= len(frame):
        d.parse_error = "STATE frame ends before its inner frame"
        d.add("  inner frame", "(missing)", pos, 0, d.parse_error)
        return
    inner = frame[pos:]
    ib = inner[0]
    if (ib & MASK_METHOD) >= METHOD_STATE or not ib & FLAG_CONTEXT:
        d.parse_error = (f"STATE frame around a {METHOD_NAMES.get(ib & MASK_METHOD, '?')} frame "
                         "or a stateless one")
    elif (frame[0] ^ ib) & STATE_COPIED_FLAGS:
        d.parse_error = "STATE header flags differ from its inner frame's"
    d.add("  inner frame", f"{len(inner)} bytes, method {METHOD_NAMES.get(ib & MASK_METHOD, '?')}", pos,
          len(inner), "its check byte also covers the STATE header and instructions")
    sub = dissect(inner, dictionary, decode=False, decoder=decoder)
    for f in sub.fields:
        d.fields.append(Field("  " + f.name, f.value, None if f.offset is None else f.offset + pos,
                              f.length, f.note))
    if d.parse_error is None:
        d.parse_error = sub.parse_error
    else:
        d.add("  inner frame", "(refused)", pos, len(inner), d.parse_error)


def _decode_into(d: Dissection, dictionary: Dictionary | None, context: bool, decoder: Decoder | None) -> None:
    if d.frame[0] & FLAG_DICT and dictionary is None:
        d.decode_error = "needs the shared dictionary: pass --dictionary FILE"
        return
    dec = decoder if decoder is not None else Decoder(dictionary, context=context)
    try:
        d.message = dec.decode(d.frame)
    except AuraError as exc:
        d.refused = True
        d.check_mismatch = exc.field == "check"
        d.decode_error = f"{type(exc).__name__}: {exc}"
        if d.frame[0] & FLAG_CONTEXT and decoder is None:
            d.decode_error += (" (a context frame decodes only with the state of its connection; "
                               "alone, only the first frame of a connection decodes: give the "
                               "connection's frames in order)")


def _preview(data: bytes, limit: int = 120) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        shown = data[:limit // 2].hex()
        return shown + ("..." if len(data) > limit // 2 else "") + " (binary)"
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _zstd_fields(d: Dissection, p: bytes) -> None:
    """RFC 8878 §3.1.1.1 frame header (magicless: the 4-byte magic is omitted) and §3.1.1.2 block headers."""
    base = 1
    d.add("  zstd frame", "magicless (RFC 8878 §3.1.1 without Magic_Number)", 1, len(p))
    if not p:
        d.parse_error = "zstd payload is empty"
        d.add("  Frame_Header_Descriptor", "(missing)", 1, 0, d.parse_error)
        return
    fhd = p[0]
    fcs_flag = fhd >> 6
    single = (fhd >> 5) & 1
    checksum = (fhd >> 2) & 1
    did_flag = fhd & 3
    d.add("  Frame_Header_Descriptor", f"0x{fhd:02x}", base, 1,
          f"FCS_flag={fcs_flag} Single_Segment={single} Checksum={checksum} DID_flag={did_flag}"
          + ("; reserved bit set!" if fhd & 0x08 else ""))
    pos = 1
    if not single:
        if pos >= len(p):
            return _truncated(d, "Window_Descriptor", base + pos)
        wd = p[pos]
        exp, mant = wd >> 3, wd & 7
        wbase = 1 << (10 + exp)
        d.add("  Window_Descriptor", f"0x{wd:02x}: window {wbase + (wbase // 8) * mant} bytes", base + pos, 1)
        pos += 1
    did_size = (0, 1, 2, 4)[did_flag]
    if did_size:
        if pos + did_size > len(p):
            return _truncated(d, "Dictionary_ID", base + pos)
        d.add("  Dictionary_ID", int.from_bytes(p[pos:pos + did_size], "little"), base + pos, did_size,
              "AURA frames should not carry one (the header's D flag says it)")
        pos += did_size
    fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if fcs_size:
        if pos + fcs_size > len(p):
            return _truncated(d, "Frame_Content_Size", base + pos)
        fcs = int.from_bytes(p[pos:pos + fcs_size], "little") + (256 if fcs_size == 2 else 0)
        d.add("  Frame_Content_Size", f"{fcs} bytes", base + pos, fcs_size, "decoded message size")
        pos += fcs_size
    else:
        d.add("  Frame_Content_Size", "absent", None, None, "AURA requires it: such a frame is refused")
    nblocks = 0
    while True:
        if pos + 3 > len(p):
            return _truncated(d, "Block_Header", base + pos)
        bh = int.from_bytes(p[pos:pos + 3], "little")
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        content = 1 if btype == 1 else bsize
        if nblocks < _MAX_BLOCKS_SHOWN:
            d.add(f"  block {nblocks}", f"{_ZSTD_BLOCK_TYPES[btype]} size {bsize}" + (" (last)" if last else ""),
                  base + pos, 3 + content)
        pos += 3 + content
        nblocks += 1
        if pos > len(p):
            return _truncated(d, "block content", len(d.frame))
        if last:
            break
    if nblocks > _MAX_BLOCKS_SHOWN:
        d.add("  blocks", f"{nblocks} in all ({nblocks - _MAX_BLOCKS_SHOWN} not shown)")
    if checksum:
        if pos + 4 > len(p):
            return _truncated(d, "Content_Checksum", base + pos)
        d.add("  Content_Checksum", p[pos:pos + 4].hex(), base + pos, 4)
        pos += 4
    if pos != len(p):
        d.parse_error = f"{len(p) - pos} trailing bytes after the zstd frame"
        d.add("  trailing", f"{len(p) - pos} bytes", base + pos, len(p) - pos, "refused by the decoder")


def _truncated(d: Dissection, what: str, offset: int) -> None:
    d.parse_error = f"zstd frame truncated in {what}"
    d.add(f"  {what}", "(truncated)", offset, None, d.parse_error)


def _brotli_fields(d: Dissection, p: bytes) -> None:
    """RFC 7932 §9.1: the stream header's WBITS (window size)."""
    if not p:
        d.parse_error = "brotli payload is empty"
        d.add("  brotli stream", "(empty)", 1, 0, d.parse_error)
        return
    wbits = brotli_window_bits(p)
    if not wbits:
        d.parse_error = "brotli stream with an invalid window code"
        d.add("  brotli stream", "WBITS invalid (reserved, or RFC 9841 large window)", 1, len(p), d.parse_error)
    elif wbits > BROTLI_MAX_WBITS:
        d.parse_error = f"brotli window of {wbits} bits exceeds the {BROTLI_MAX_WBITS} bits of wire-format §4.3"
        d.add("  brotli stream", f"WBITS={wbits} (window {(1 << wbits) - 16} bytes)", 1, len(p), d.parse_error)
    else:
        d.add("  brotli stream", f"WBITS={wbits} (window {(1 << wbits) - 16} bytes)", 1, len(p), "RFC 7932 §9.1")


#: BRIO items listed one by one; the rest are counted.
_MAX_ITEMS_SHOWN = 48
_REF_MODES = ("plain", "slot mask", "last mask", "fuzzy")


def _brio_decoder(method: int, context: bool, uses_dict: bool, dictionary: Dictionary | None,
                  decoder: Decoder | None) -> BrioDecoder:
    """The BRIO decoder the frame is coded against: the connection's (``decoder``, a replay) or a fresh
    one, i.e. the state at the first frame of a connection."""
    cfg = decoder.config if decoder is not None else CodecConfig()
    if decoder is not None and context:
        held = decoder._template_brio if method == METHOD_TEMPLATE_BRIO else decoder._brio
        if held is not None:
            return held
    shared = _shared_for(dictionary, cfg) if dictionary is not None else None
    if method == METHOD_TEMPLATE_BRIO:
        return BrioDecoder(shared.template_brio if shared is not None else None, context=True, window=cfg.window)
    content = shared.brio if shared is not None and uses_dict else None
    return BrioDecoder(content, context=context, window=cfg.window if context else 0)


def _brio_fields(d: Dissection, method: int, payload: bytes, dictionary: Dictionary | None, context: bool,
                 uses_dict: bool, decoder: Decoder | None) -> bytes | None:
    """BRIO's coded items (spec/brio.md §5): message length, literals, matches with their source, rep
    matches, the check value.  Range-coded, so an item has no byte boundary: the offset shown is the
    payload byte the decoder had reached.  Returns the decoded bytes, or None when malformed."""
    bdec = _brio_decoder(method, context, uses_dict, dictionary, decoder)
    try:
        rows = bdec.trace(payload, DEFAULT_MAX_MESSAGE_SIZE)
    except AuraError as exc:
        d.parse_error = f"{type(exc).__name__}: {exc}"
        d.add("  brio", "(malformed)", 1, len(payload), d.parse_error)
        return None
    content_len = len(bdec.content)
    hist_len = len(bdec.hist) if bdec.context else 0
    pos = hist_len
    shown = 0
    items = 0
    counts = {"literal": 0, "match": 0, "rep": 0, "short-rep": 0}
    sources = {"dictionary content": 0, "history": 0, "this message": 0}
    lit_run = bytearray()
    lit_at = 0

    def flush_literals() -> None:
        nonlocal shown
        if lit_run and shown < _MAX_ITEMS_SHOWN:
            d.add(f"  literals x{len(lit_run)}", _preview(bytes(lit_run), 60), lit_at, None)
            shown += 1
        lit_run.clear()

    whole = bytearray(bdec.hist if bdec.context else b"")
    last = max(0, len(payload) - 1)
    for kind, a, b, at in rows:
        # the range decoder reads ahead: the byte it had reached can be past the payload's last
        # one, where the frame ends, so the offset shown is clamped to the payload
        off = 1 + min(int(at), last)
        if kind == "length":
            d.add("  message length", f"{a} bytes", 1, None, "range-coded (spec/brio.md §5.1)")
        elif kind == "literal":
            if not lit_run:
                lit_at = off
                items += 1
            lit_run.append(int(a))
            whole.append(int(a))
            counts["literal"] += 1
            pos += 1
        elif kind == "check":
            flush_literals()
            d.add("  check value", f"0x{int(a):02x}", len(d.frame) - 1, None,
                  f"{b} bits: the frame's check byte, {_CHECK_NOTE} (spec/brio.md §7)")
        else:
            flush_literals()
            length, dist = int(a), int(b)
            src = content_len + pos - dist
            where = ("dictionary content" if src < content_len else
                     "history" if src < content_len + hist_len else "this message")
            counts[kind] += 1
            sources[where] += 1
            items += 1
            for k in range(length):
                at_src = src + k
                whole.append(bdec.content[at_src] if at_src < content_len else whole[at_src - content_len])
            if shown < _MAX_ITEMS_SHOWN:
                d.add(f"  {kind}", f"{length} bytes at distance {dist} ({where})", off, None,
                      _preview(bytes(whole[-length:]), 40))
                shown += 1
            pos += length
    out = whole[hist_len:]
    if items > shown:
        d.add("  items", f"{items} in all (literal runs and matches; {items - shown} not listed)")
    d.add("  summary", f"{counts['literal']} literal bytes, {counts['match']} matches, {counts['rep']} rep matches, "
          f"{counts['short-rep']} short reps; match sources: "
          + ", ".join(f"{k} {v}" for k, v in sources.items()))
    return bytes(out)


def _template_fields(d: Dissection, payload: bytes, base: int, context: bool) -> None:
    """A TEMPLATE payload's reference, fuzzy and mask fields (spec/templates.md §4); ``base`` is the
    payload's offset in the frame (None-like -1: inside a BRIO-coded payload)."""
    def at(off: int) -> int | None:
        return base + off if base >= 0 else None

    try:
        ref, pos = get_uv(payload, 0, "template.ref")
    except AuraError as exc:
        d.parse_error = f"{type(exc).__name__}: {exc}"
        d.add("  template.ref", "(malformed)", at(0), None, d.parse_error)
        return
    mode, r = ref & 3, ref >> 2
    if context:
        what = f"recent-template rank {r}" if r < MRU_SIZE else f"template id {r - MRU_SIZE}"
    else:
        what = f"template id {r}"
    d.add("  template.ref", f"{what}, mode {mode} ({_REF_MODES[mode]})", at(0), pos, "uvarint r << 2 | mode")
    if mode == REF_FUZZY:
        start = pos
        try:
            sub, pos = get_uv(payload, pos, "template.fuzzy")
        except AuraError as exc:
            d.parse_error = f"{type(exc).__name__}: {exc}"
            d.add("  template.fuzzy", "(malformed)", at(start), None, d.parse_error)
            return
        mode = sub & 3
        d.add("  template.fuzzy", f"{sub >> 2} edits, slot mode {mode} ({_REF_MODES[mode]})", at(start),
              pos - start, "the edit script follows the slot values (spec/templates.md §4.3)")
    if mode == REF_MASK:
        start = pos
        try:
            mask, pos = get_uv(payload, pos, "template.mask")
        except AuraError as exc:
            d.parse_error = f"{type(exc).__name__}: {exc}"
            d.add("  template.mask", "(malformed)", at(start), None, d.parse_error)
            return
        d.add("  template.mask", f"{mask:#b}", at(start), pos - start, "slots that differ from the last mask")
    d.add("  slot values", f"{len(payload) - pos} bytes: {payload[pos:pos + 24].hex()}"
          + ("..." if len(payload) - pos > 24 else ""), at(pos), len(payload) - pos,
          "one atom per slot: tag byte Q|PPP|FFFF, then the value (spec/templates.md §4.1)")


def _method_fields(d: Dissection, method: int, payload: bytes, dictionary: Dictionary | None, context: bool,
                   uses_dict: bool, decoder: Decoder | None) -> None:
    """BRIO and TEMPLATE_BRIO payloads, field by field."""
    decoded = _brio_fields(d, method, payload, dictionary, context, uses_dict, decoder)
    if method == METHOD_TEMPLATE_BRIO and decoded is not None:
        d.add("  TEMPLATE payload", f"{len(decoded)} bytes (BRIO-coded, spec/wire-format.md §4.6)")
        _template_fields(d, decoded, -1, True)


def _control_fields(d: Dissection) -> None:
    from aura_wire.session.control import describe, parse_control

    payload = d.frame[1:]
    d.add("  control payload", f"{len(payload)} bytes (session layer, spec/session.md)", 1, len(payload))
    try:
        msg = parse_control(d.frame)
    except AuraError as exc:
        d.parse_error = f"{type(exc).__name__}: {exc}"
        d.add("  control", "(malformed)", 1, len(payload), d.parse_error)
        return
    for k, v in describe(msg).items():
        d.add(f"  {k}", v)


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------


def _hexdump(data: bytes, limit: int = 256) -> list[str]:
    out = []
    for i in range(0, min(len(data), limit), 16):
        chunk = data[i:i + 16]
        hx = " ".join(f"{c:02x}" for c in chunk)
        asc = "".join(chr(c) if 32 <= c < 127 else "." for c in chunk)
        out.append(f"  {i:04x}  {hx:<47}  {asc}")
    if len(data) > limit:
        out.append(f"  ... {len(data) - limit} more bytes")
    return out


def format_dissection(d: Dissection, *, hexdump: bool = True) -> str:
    lines = [f"AURA frame, {len(d.frame)} bytes" + (f", method {d.method}" if d.method else "")]
    if hexdump:
        lines += _hexdump(d.frame)
    lines.append("")
    w = max([len(f.name) for f in d.fields] + [8])
    for f in d.fields:
        where = ""
        if f.offset is not None:
            where = f"@{f.offset}" + (f"+{f.length}" if f.length is not None else "")
        lines.append(f"{f.name:<{w}}  {where:<10} {f.value}" + (f"   ; {f.note}" if f.note else ""))
    if d.parse_error:
        lines.append(f"PARSE ERROR: {d.parse_error}")
    if d.message is not None:
        m = d.message
        size = len(m.encode("utf-8")) if isinstance(m, str) else len(m)
        kind = "text" if isinstance(m, str) else "binary"
        shown = repr(m) if isinstance(m, str) else m.hex()
        if len(shown) > 2000:
            shown = shown[:2000] + "..."
        lines.append(f"decoded ({kind}, {size} bytes, ratio {size / max(1, len(d.frame)):.2f}): {shown}")
    elif d.check_mismatch:
        lines.append(f"CHECK BYTE MISMATCH: refused, the frame is corrupt or (a context frame) decoded without its "
                     f"connection's earlier frames: {d.decode_error}")
    elif d.refused:
        lines.append(f"REFUSED by the decoder: {d.decode_error}")
    elif d.decode_error:
        lines.append(f"not decoded: {d.decode_error}")
    return "\n".join(lines)
