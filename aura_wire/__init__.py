"""aura_wire: a transport codec for WebSocket messages.

Every WebSocket message becomes one AURA frame (spec/wire-format.md): a
1-byte header naming the method (RAW, ZSTD, BROTLI, TEMPLATE, BRIO, CONTROL),
then the coded payload.  Both peers hold a shared, content-addressed
:class:`Dictionary`.  Public API: :class:`Dictionary`, :class:`Encoder`,
:class:`Decoder`, :class:`CodecConfig`, :func:`train_dictionary`, :func:`load_dictionary`,
:func:`save_dictionary`, the :class:`AuraError` tree, and ``compiled`` (True
when the mypyc-compiled codec is in use).
"""

from typing import TYPE_CHECKING, Any

from aura_wire import _loader

_loader.install()

from aura_wire.codec.config import CodecConfig  # noqa: E402
from aura_wire.codec.decoder import Decoder  # noqa: E402
from aura_wire.codec.dictionary import Dictionary  # noqa: E402
from aura_wire.codec.encoder import Encoder  # noqa: E402
from aura_wire.errors import (  # noqa: E402
    AuraError,
    ConfigError,
    ContextDesyncError,
    CorpusError,
    DictionaryFormatError,
    DictionaryMismatchError,
    FrameError,
    LimitError,
    PayloadError,
    ProtocolError,
    UnknownDictionaryError,
    UnknownTemplateError,
    UnsupportedVersionError,
)
from aura_wire.files import load_dictionary, save_dictionary  # noqa: E402
from aura_wire.metrics import CompressionMetrics  # noqa: E402
from aura_wire.training import train_dictionary  # noqa: E402

__version__ = "0.1.0"


_LAZY = {"AuraMiddleware": "aura_wire.middleware", "connect": "aura_wire.client"}

if TYPE_CHECKING:  # real types for mypy users; at run time they load on first use (below)
    from aura_wire.client import connect
    from aura_wire.middleware import AuraMiddleware


def __getattr__(name: str) -> Any:
    # The adapters (asyncio, websockets for the client) load only when asked for, so that
    # ``import aura_wire`` stays the codec alone.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aura_wire' has no attribute {name!r}")


#: True exactly when the mypyc-compiled codec modules are in use.
compiled: bool = _loader.is_compiled()

__all__ = [
    "AuraError",
    "AuraMiddleware",
    "CodecConfig",
    "CompressionMetrics",
    "ConfigError",
    "ContextDesyncError",
    "CorpusError",
    "Decoder",
    "Dictionary",
    "DictionaryFormatError",
    "DictionaryMismatchError",
    "Encoder",
    "FrameError",
    "LimitError",
    "PayloadError",
    "ProtocolError",
    "UnknownDictionaryError",
    "UnknownTemplateError",
    "UnsupportedVersionError",
    "__version__",
    "compiled",
    "connect",
    "load_dictionary",
    "save_dictionary",
    "train_dictionary",
]
