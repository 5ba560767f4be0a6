"""ZSTD and BROTLI payloads (spec/wire-format.md §4.2, §4.3).

ZSTD payloads are single zstd frames (RFC 8878) in the magicless format, with
the content size present, no checksum and no dictionary id: the AURA header
already says whether the shared dictionary is used.  BROTLI payloads are one
brotli stream (RFC 7932).  Every decompression is bounded: the declared zstd
content size is checked against the limit before any allocation (and libzstd
stops at it), and brotli output is produced in steps of at most 1 MiB, refused
as soon as it passes the limit.  No I/O here.
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
        extra = {"hash_log": table_log, "chain_log": table_log, "window_log": window_log} if table_log > 0 else {}
        params = zstandard.ZstdCompressionParameters.from_level(
            level,
            format=zstandard.FORMAT_ZSTD1_MAGICLESS,
            write_checksum=0,
            write_dict_id=0,
            write_content_size=1,
            **extra,
        )
        if self._dict is not None:
            self._cctx = zstandard.ZstdCompressor(dict_data=self._dict, compression_params=params)
        else:
            self._cctx = zstandard.ZstdCompressor(compression_params=params)
        # built on first use: a context-mode encoder builds a codec per large message and never decompresses
        self._dctx_obj: zstandard.ZstdDecompressor | None = None

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


def brotli_decompress(payload: bytes, max_size: int) -> bytes:
    dec = brotli.Decompressor()
    parts: list[bytes] = []
    total = 0
    data = payload
    try:
        while True:
            out = dec.process(data, output_buffer_limit=min(_BROTLI_STEP, max_size + 1 - total))
            data = b""
            if out:
                total += len(out)
                if total > max_size:
                    raise LimitError(f"brotli output exceeds max_message_size {max_size}", field="brotli")
                parts.append(out)
            if dec.is_finished() or dec.can_accept_more_data():
                break  # done, or the decoder wants input that the payload no longer has (truncated)
            if not out:
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
    history; how each keeps it is private.  Here it is kept compressed at rest,
    one zstd blob per message, so a connection streaming large JSON documents
    holds a few KiB instead of ``window`` bytes.
    """

    def __init__(self, window: int, min_size: int, level: int, at_rest: ZstdCodec | None = None) -> None:
        self.window = window
        self.min_size = min_size
        self._blobs: list[bytes] = []
        self._lengths: list[int] = []
        self._total = 0
        self._at_rest = at_rest or ZstdCodec(None, 1)
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
        self._blobs.append(self._at_rest.compress(data))
        self._lengths.append(n)
        self._total += n
        # drop blobs no longer needed to cover the last `window` bytes
        while self._total - self._lengths[0] >= self.window:
            self._total -= self._lengths.pop(0)
            self._blobs.pop(0)

    def content(self) -> bytes:
        if not self._blobs:
            return b""
        raw = b"".join(self._at_rest.decompress(b, self.window) for b in self._blobs)
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
