"""ZSTD and BROTLI payloads (spec/wire-format.md §4.2, §4.3).

ZSTD payloads are single zstd frames (RFC 8878) in the magicless format, with
the content size present, no checksum and no dictionary id: the AURA header
already says whether the shared dictionary is used.  BROTLI payloads are one
brotli stream (RFC 7932).  Every decompression is bounded: the declared zstd
content size is checked against the limit before any allocation (and libzstd
stops at it); a brotli stream's window is checked (22 bits at most) and its output
produced in steps of about 1 MiB, refused as soon as it passes the limit.  No I/O here.
"""

from __future__ import annotations

from typing import Final

import brotli
import zstandard

from aura_wire.errors import FrameError, LimitError, PayloadError

_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
#: The zstd dictionary magic (RFC 8878 §5): a context prefix must not start with it (spec §4.2).
ZSTD_DICT_MAGIC: Final = b"\x37\xa4\x30\xec"


class ZstdCodec:
    """Reusable zstd compressor/decompressor pair for one dictionary (or none)."""

    def __init__(self, dict_bytes: bytes | None, level: int, raw_content: bool = False, *,
                 table_log: int = 0, window_log: int = 17) -> None:
        self._dict: zstandard.ZstdCompressionDict | None = None
        if dict_bytes:
            kind = zstandard.DICT_TYPE_RAWCONTENT if raw_content else zstandard.DICT_TYPE_AUTO
            self._dict = zstandard.ZstdCompressionDict(dict_bytes, dict_type=kind)
        # table_log > 0: hash and chain tables of 2**table_log entries and a window of 2**window_log
        # bytes, for a codec built for one message (context-mode ZSTD): clearing and filling level
        # 3's default tables for a 64 KiB dictionary costs more than the compression itself
        self._level = level
        self._extra = {"hash_log": table_log, "chain_log": table_log, "window_log": window_log} if table_log > 0 else {}
        # both built on first use: a context-mode encoder builds a codec per large message and never
        # decompresses, a decoder builds one per context ZSTD frame and never compresses (the
        # compression parameters alone cost ~9 us to make)
        self._cctx_obj: zstandard.ZstdCompressor | None = None
        self._dctx_obj: zstandard.ZstdDecompressor | None = None

    @property
    def _cctx(self) -> zstandard.ZstdCompressor:
        c = self._cctx_obj
        if c is None:
            params = zstandard.ZstdCompressionParameters.from_level(
                self._level,
                format=zstandard.FORMAT_ZSTD1_MAGICLESS,
                write_checksum=0,
                write_dict_id=0,
                write_content_size=1,
                **self._extra,
            )
            if self._dict is not None:
                c = zstandard.ZstdCompressor(dict_data=self._dict, compression_params=params)
            else:
                c = zstandard.ZstdCompressor(compression_params=params)
            self._cctx_obj = c
        return c

    @property
    def _dctx(self) -> zstandard.ZstdDecompressor:
        d = self._dctx_obj
        if d is None:
            if self._dict is not None:
                d = zstandard.ZstdDecompressor(dict_data=self._dict, format=zstandard.FORMAT_ZSTD1_MAGICLESS)
            else:
                d = zstandard.ZstdDecompressor(format=zstandard.FORMAT_ZSTD1_MAGICLESS)
            self._dctx_obj = d
        return d

    def compress(self, data: bytes) -> bytes:
        return self._cctx.compress(data)

    def decompress(self, payload: bytes, max_size: int) -> bytes:
        try:
            params = zstandard.get_frame_parameters(_ZSTD_MAGIC + payload)
        except zstandard.ZstdError as exc:
            raise FrameError(f"bad zstd frame header: {exc}", offset=1, field="zstd.header") from exc
        size = params.content_size
        if size == zstandard.CONTENTSIZE_UNKNOWN or size < 0:
            raise FrameError("zstd frame lacks the content size", offset=1, field="zstd.content_size")
        if size > max_size:
            raise LimitError(f"zstd content size {size} exceeds max_message_size {max_size}", field="zstd.content_size")
        if size > 0 and _ONE_SHOT_MAGICLESS:
            # One allocation of exactly the declared size, filled in place: libzstd stops at its end
            # ("Destination buffer is too small") whatever the payload claims.  The streaming object
            # below keeps its chunks and joins them, twice the declared size at its peak.
            try:
                out: bytes = self._dctx.decompress(payload, allow_extra_data=False)
            except zstandard.ZstdError as exc:
                if "unused data" not in str(exc):
                    raise PayloadError(f"corrupt zstd payload: {exc}", field="zstd") from exc
                # trailing bytes: the streaming path below says how many
            else:
                if len(out) != size:
                    raise PayloadError(f"zstd produced {len(out)} bytes, header says {size}", field="zstd")
                return out
        # Streaming (an empty frame, or zstandard without the one-shot magicless path): libzstd
        # still refuses output past the declared Frame_Content_Size, checked above against max_size.
        dobj = self._dctx.decompressobj()
        try:
            out = dobj.decompress(payload)
        except zstandard.ZstdError as exc:
            raise PayloadError(f"corrupt zstd payload: {exc}", field="zstd") from exc
        if not dobj.eof:
            raise PayloadError("truncated zstd payload", offset=1 + len(payload), field="zstd")
        if dobj.unused_data:
            raise FrameError(f"{len(dobj.unused_data)} trailing bytes after the zstd frame", field="zstd")
        if len(out) != size:
            raise PayloadError(f"zstd produced {len(out)} bytes, header says {size}", field="zstd")
        return out


def _one_shot_magicless() -> bool:
    """Whether this zstandard's one-shot decompress reads magicless frames (0.25 does, 0.22 does not)."""
    params = zstandard.ZstdCompressionParameters.from_level(1, format=zstandard.FORMAT_ZSTD1_MAGICLESS,
                                                          write_content_size=1)
    frame = zstandard.ZstdCompressor(compression_params=params).compress(b"aura")
    try:
        dctx = zstandard.ZstdDecompressor(format=zstandard.FORMAT_ZSTD1_MAGICLESS)
        return bool(dctx.decompress(frame, allow_extra_data=False) == b"aura")
    except (zstandard.ZstdError, TypeError):
        return False


_ONE_SHOT_MAGICLESS: Final = _one_shot_magicless()


def brotli_compress(data: bytes, quality: int) -> bytes:
    out: bytes = brotli.compress(data, quality=quality, lgwin=22)
    return out


#: Output produced per brotli step: a bomb is refused once ``max_size`` is passed, never after a
#: large buffer was grown for it (one unbounded ``process`` call grew ~80 MiB for a 12 KB frame).
_BROTLI_STEP: Final = 1 << 20
#: The largest brotli window a BROTLI payload may use (spec §4.3); the encoder uses it.
BROTLI_MAX_WBITS: Final = 22


def brotli_window_bits(payload: bytes) -> int:
    """WBITS of a brotli stream, from its first bits (RFC 7932 §9.1); 0 when the code is invalid
    (the reserved value, or the large-window marker of RFC 9841)."""
    if not payload:
        return 0
    bits = payload[0] | (payload[1] << 8 if len(payload) > 1 else 0)
    if bits & 1 == 0:
        return 16
    n = (bits >> 1) & 7
    if n:
        return 17 + n
    m = (bits >> 4) & 7
    if m == 1:
        return 0  # 1000 001: large window (RFC 9841), or invalid in RFC 7932
    return 8 + m if m else 17


def brotli_decompress(payload: bytes, max_size: int) -> bytes:
    """One brotli stream, output bounded by ``max_size``.

    The window is checked first: libbrotli allocates it as its ring buffer, so a stream declaring
    16 MiB (WBITS 24) would cost that much beside the output; spec §4.3 allows at most 22 bits."""
    wbits = brotli_window_bits(payload)
    if wbits > BROTLI_MAX_WBITS or (wbits == 0 and payload):
        raise PayloadError(f"brotli window of {wbits} bits exceeds the {BROTLI_MAX_WBITS} bits spec §4.3 allows"
                           if wbits else "brotli stream with an invalid window code", offset=1, field="brotli.window")
    dec = brotli.Decompressor()
    parts: list[bytes] = []
    total = 0
    data = payload
    try:
        while True:
            # the limit is where the binding stops growing its buffer: a step may pass it a little
            out = dec.process(data, output_buffer_limit=min(_BROTLI_STEP, max_size + 1 - total))
            data = b""
            if not out:
                # Finished, or the decoder needs input the payload no longer has (truncated).
                # Not can_accept_more_data(): it only says the input was consumed, while output may
                # still be pending (a stream of more than one step failed as "truncated").
                break
            total += len(out)
            if total > max_size:
                raise LimitError(f"brotli output exceeds max_message_size {max_size}", field="brotli")
            parts.append(out)
            if dec.is_finished():
                break
    except brotli.error as exc:
        raise PayloadError(f"corrupt brotli payload: {exc}", field="brotli") from exc
    if not dec.is_finished():
        raise PayloadError("truncated brotli payload", offset=1 + len(payload), field="brotli")
    return parts[0] if len(parts) == 1 else b"".join(parts)


class ZstdHistory:
    """The large-message history of one direction, for context-mode ZSTD (spec §4.2.1).

    The history is the last ``window`` bytes of the concatenation of every
    committed message of at least ``min_size`` bytes.  Both peers hold the same
    history; how each keeps it is private.  By default it is kept compressed at
    rest, one zstd blob per message, so a connection streaming large JSON
    documents holds a few KiB instead of ``window`` bytes.  ``raw=True`` keeps
    the messages themselves (a decoder: compressing every committed message
    at rest costs more than inflating it, and the history is read only when a
    context ZSTD frame arrives); it then holds about ``window`` bytes, as an
    inflate window does.
    """

    def __init__(self, window: int, min_size: int, level: int, at_rest: ZstdCodec | None = None, *,
                 raw: bool = False) -> None:
        self.window = window
        self.min_size = min_size
        self._blobs: list[bytes] = []
        self._lengths: list[int] = []
        self._total = 0
        self._at_rest: ZstdCodec | None = None if raw else (at_rest or ZstdCodec(None, 1))
        self._level = level

    def commit(self, data: bytes) -> None:
        n = len(data)
        if self.window <= 0 or n < self.min_size:
            return
        if n >= self.window:
            data = data[n - self.window :]
            self._blobs.clear()
            self._lengths.clear()
            self._total = 0
            n = len(data)
        # compressed: a copy of exact size (zstandard returns its output in a buffer of
        # ZSTD_compressBound(n) bytes, so the blob would hold about n bytes, not its compressed size)
        self._blobs.append(bytes(memoryview(self._at_rest.compress(data))) if self._at_rest is not None else data)
        self._lengths.append(n)
        self._total += n
        # drop blobs no longer needed to cover the last `window` bytes
        while self._total - self._lengths[0] >= self.window:
            self._total -= self._lengths.pop(0)
            self._blobs.pop(0)

    def content(self) -> bytes:
        if not self._blobs:
            return b""
        at_rest = self._at_rest
        if at_rest is None:
            raw = b"".join(self._blobs)
        else:
            raw = b"".join([at_rest.decompress(b, self.window) for b in self._blobs])
        return raw[-self.window :]

    def memory_bytes(self) -> int:
        return sum(len(b) for b in self._blobs) + 16 * len(self._blobs)

    def codec(self, shared: bytes, table_log: int = 0, size: int = 0) -> ZstdCodec | None:
        """A codec whose raw-content dictionary is ``shared + history`` (None when both are empty).

        ``table_log``: see :class:`ZstdCodec`, for compressing ``size`` bytes (encoders; any
        value decodes the same)."""
        prefix = shared + self.content()
        if len(prefix) < 8:
            return None
        # the window covers the dictionary and the message
        wl = max(10, min(27, (len(prefix) + size).bit_length()))
        return ZstdCodec(prefix, self._level, raw_content=True, table_log=table_log, window_log=wl)

    def usable(self, shared: bytes) -> bool:
        """An encoder may send a context ZSTD frame: the prefix does not start with the zstd
        dictionary magic, which a stock decoder would misread (spec/wire-format.md §4.2)."""
        head = shared[:4]
        if len(head) < 4 and self._blobs:
            head = (head + self.content()[:4])[:4]
        return head != ZSTD_DICT_MAGIC
