"""The benchmark's peers: each is one connection (encoder + decoder of one direction) of a codec
under test: aura_wire in both modes, permessage-deflate through the real websockets extension
objects, zstd (plain, with a dictionary, streaming) and brotli.  No network I/O.
"""

from __future__ import annotations

import gc
import tracemalloc
import zlib
from typing import Any, Callable, Final, Sequence

import brotli
import zstandard
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode

import aura_wire
from aura_wire.codec.decoder import Decoder
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.encoder import Encoder

#: Peer ids in table order.
FANOUT_RECEIVERS: Final = 1000
#: Messages replayed under tracemalloc to measure per-connection memory.
TRACEMALLOC_MESSAGES: Final = 300

PEERS: Final = (
    "aura-context",
    "aura-stateless",
    "deflate-w15",
    "deflate-w12",
    "zstd",
    "zstd-dict",
    "zstd-stream",
    "brotli",
)

#: Column headings for the tables (8 characters at most).
SHORT: Final = {
    "aura-context": "aura-ctx",
    "aura-stateless": "aura-sl",
    "deflate-w15": "pmd-w15",
    "deflate-w12": "pmd-w12",
    "zstd": "zstd",
    "zstd-dict": "zstd-dct",
    "zstd-stream": "zstd-str",
    "brotli": "brotli",
}

#: Earlier peer ids, still accepted: "deflate-uvicorn" named window 15 after uvicorn's legacy
#: protocol, while uvicorn's default negotiates window 12.
ALIASES: Final = {"deflate-uvicorn": "deflate-w15", "deflate-websockets": "deflate-w12"}

ZSTD_LEVEL: Final = 3
ZSTD_DICT_SIZE: Final = 32 * 1024
BROTLI_QUALITY: Final = 5
#: zlib.h: inflate needs "1 << windowBits ... plus about 7 kilobytes" of state.
_ZLIB_INFLATE_STATE: Final = 7 * 1024


# ---------------------------------------------------------------------------
# peers: each is one connection (encoder + decoder of one direction)
# ---------------------------------------------------------------------------


class _Peer:
    """One codec under test.  ``stateful``: it keeps per-connection state,
    so a message sent to N receivers is encoded N times."""

    name = ""
    label = ""
    stateful = True

    def encode(self, message: str, data: bytes) -> bytes:
        raise NotImplementedError

    def decode(self, wire: bytes) -> bytes:
        raise NotImplementedError

    def memory(self) -> tuple[int, str]:
        """(bytes per connection, how it was obtained)."""
        raise NotImplementedError

    def traced_memory(self, messages: Sequence[str], datas: Sequence[bytes]) -> int | None:
        """Per-connection memory seen by tracemalloc on a fresh connection, or None."""
        return None


class _AuraPeer(_Peer):
    def __init__(self, dictionary: Dictionary, context: bool, config: dict[str, Any]) -> None:
        self.name = "aura-context" if context else "aura-stateless"
        mode = "context" if context else "stateless"
        self.label = f"aura_wire {mode} ({'compiled' if aura_wire.compiled else 'pure'})"
        self.stateful = context
        self._dictionary = dictionary
        self._context = context
        self._config = config
        self.encoder = Encoder(dictionary, context=context, **config)
        self.decoder = Decoder(dictionary, context=context, **config)

    def encode(self, message: str, data: bytes) -> bytes:
        return self.encoder.encode(message)

    def decode(self, wire: bytes) -> bytes:
        out = self.decoder.decode(wire)
        return out.encode("utf-8") if isinstance(out, str) else out

    def memory(self) -> tuple[int, str]:
        return self.encoder.memory_bytes() + self.decoder.memory_bytes(), "Encoder+Decoder.memory_bytes()"

    def traced_memory(self, messages: Sequence[str], datas: Sequence[bytes]) -> int | None:
        def make() -> object:
            return (Encoder(self._dictionary, context=self._context, **self._config),
                    Decoder(self._dictionary, context=self._context, **self._config))

        def feed(state: object, message: str, data: bytes) -> None:
            assert isinstance(state, tuple)
            enc, dec = state
            dec.decode(enc.encode(message))

        return _traced(make, feed, messages, datas)


def _negotiate(server: ServerPerMessageDeflateFactory,
               client: ClientPerMessageDeflateFactory) -> tuple[PerMessageDeflate, PerMessageDeflate]:
    """Run the RFC 7692 offer/response through the real factories; return (server, client) extensions."""
    offer = client.get_request_params()
    response, server_ext = server.process_request_params(offer, [])
    client_ext = client.process_response_params(response, [])
    assert isinstance(server_ext, PerMessageDeflate) and isinstance(client_ext, PerMessageDeflate)
    return server_ext, client_ext


class _DeflatePeer(_Peer):
    """Server-to-client direction: the server's extension encodes, the client's decodes."""

    def __init__(self, name: str, label: str, server: ServerPerMessageDeflateFactory) -> None:
        self.name = name
        self.label = label
        self.stateful = True
        # websockets' connect() default client: enable_client_permessage_deflate().
        client = ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})
        self._server, self._client = _negotiate(server, client)
        self.window_bits = self._server.local_max_window_bits
        self.mem_level = int(self._server.compress_settings.get("memLevel", zlib.DEF_MEM_LEVEL))
        self.context_takeover = not self._server.local_no_context_takeover

    def encode(self, message: str, data: bytes) -> bytes:
        return bytes(self._server.encode(Frame(Opcode.TEXT, data)).data)

    def decode(self, wire: bytes) -> bytes:
        return bytes(self._client.decode(Frame(Opcode.TEXT, wire, rsv1=True), max_size=None).data)

    def memory(self) -> tuple[int, str]:
        w, m = self.window_bits, self.mem_level
        deflate = (1 << (w + 2)) + (1 << (m + 9))
        inflate = (1 << w) + _ZLIB_INFLATE_STATE
        return deflate + inflate, f"zlib.h formula: deflate 2^(w+2)+2^(m+9), inflate 2^w+7KiB (w={w}, m={m})"

    def traced_memory(self, messages: Sequence[str], datas: Sequence[bytes]) -> int | None:
        # CPython's zlib module allocates through PyMem_RawMalloc, which tracemalloc sees.
        w, m = self.window_bits, self.mem_level

        def make() -> object:
            return (zlib.compressobj(wbits=-w, memLevel=m), zlib.decompressobj(wbits=-w))

        def feed(state: object, message: str, data: bytes) -> None:
            assert isinstance(state, tuple)
            c, d = state
            d.decompress(c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))

        return _traced(make, feed, messages, datas)


def _zstd_params() -> zstandard.ZstdCompressionParameters:
    """Lean frames, as aura_wire's own ZSTD method writes them: no magic, no dictionary id, no checksum.

    Both ends know the format and the dictionary, so these 4-12 bytes per
    frame would be pure overhead on small messages; leaving them out makes
    the zstd peers as strong as zstd gets here.
    """
    return zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=0, write_dict_id=0,
        write_content_size=1)


class _ZstdPeer(_Peer):
    def __init__(self, name: str, label: str, zdict: zstandard.ZstdCompressionDict | None) -> None:
        self.name = name
        self.label = label
        self.stateful = False
        magicless = zstandard.FORMAT_ZSTD1_MAGICLESS
        if zdict is None:
            self._c = zstandard.ZstdCompressor(compression_params=_zstd_params())
            self._d = zstandard.ZstdDecompressor(format=magicless)
        else:
            self._c = zstandard.ZstdCompressor(dict_data=zdict, compression_params=_zstd_params())
            self._d = zstandard.ZstdDecompressor(dict_data=zdict, format=magicless)

    def encode(self, message: str, data: bytes) -> bytes:
        out: bytes = self._c.compress(data)
        return out

    def decode(self, wire: bytes) -> bytes:
        out: bytes = self._d.decompress(wire)
        return out

    def memory(self) -> tuple[int, str]:
        size = int(self._c.memory_size()) + int(self._d.memory_size())
        return 0, f"stateless: one context pair per process ({size} bytes, libzstd memory_size())"


class _ZstdStreamPeer(_Peer):
    def __init__(self, zdict: zstandard.ZstdCompressionDict) -> None:
        self.name = "zstd-stream"
        self.label = f"zstd level {ZSTD_LEVEL} stream + 32 KiB dictionary, block flush per message"
        self.stateful = True
        magicless = zstandard.FORMAT_ZSTD1_MAGICLESS
        self._cctx = zstandard.ZstdCompressor(dict_data=zdict, compression_params=_zstd_params())
        self._dctx = zstandard.ZstdDecompressor(dict_data=zdict, format=magicless)
        self._cobj = self._cctx.compressobj()
        self._dobj = self._dctx.decompressobj()

    def encode(self, message: str, data: bytes) -> bytes:
        out: bytes = self._cobj.compress(data) + self._cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return out

    def decode(self, wire: bytes) -> bytes:
        out: bytes = self._dobj.decompress(wire)
        return out

    def memory(self) -> tuple[int, str]:
        size = int(self._cctx.memory_size()) + int(self._dctx.memory_size())
        return size, "libzstd memory_size() of the stream's compression + decompression contexts"


class _BrotliPeer(_Peer):
    name = "brotli"
    label = f"brotli quality {BROTLI_QUALITY} per message"
    stateful = False

    def encode(self, message: str, data: bytes) -> bytes:
        out: bytes = brotli.compress(data, quality=BROTLI_QUALITY)
        return out

    def decode(self, wire: bytes) -> bytes:
        out: bytes = brotli.decompress(wire)
        return out

    def memory(self) -> tuple[int, str]:
        return 0, "stateless: no per-connection state"


def _traced(make: Callable[[], object], feed: Callable[[object, str, bytes], None],
            messages: Sequence[str], datas: Sequence[bytes]) -> int:
    """Bytes still allocated by one fresh connection's state after ``messages`` (tracemalloc)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        state = make()
        for i in range(len(messages)):
            feed(state, messages[i], datas[i])
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        del state
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0, after - before)


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------


def _train_zstd_dict(train: Sequence[bytes]) -> tuple[zstandard.ZstdCompressionDict, str]:
    """The zstd peers' dictionary: ``zstandard.train_dictionary`` (32 KiB) on the training half.

    zstd's trainer refuses too few or too uniform samples; then the peers get
    the last 32 KiB of the training half as a raw-content dictionary (said in
    the report).
    """
    try:
        if len(train) >= 8:
            return zstandard.train_dictionary(ZSTD_DICT_SIZE, list(train)), "trained"
    except zstandard.ZstdError:
        pass
    raw = b"".join(train)[-ZSTD_DICT_SIZE:] or b"\0"
    return zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT), "raw-content"
