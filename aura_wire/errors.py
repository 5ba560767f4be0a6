"""The exception tree of aura_wire.

Every error the package raises on purpose is an :class:`AuraError`.  Each one
says whose fault it was (``remote``: the peer sent something wrong; otherwise
it is a local misuse), what was wrong and where, and which WebSocket close
code (RFC 6455 §7.4.1) an adapter should send when the error ends a
connection::

    AuraError
    ├── FrameError                 malformed or truncated frame        1002
    │   └── UnsupportedVersionError  frame of a version we do not know 1002
    ├── PayloadError               payload does not decode             1007
    ├── UnknownDictionaryError     dictionary not held / not matching  1007
    │   └── DictionaryMismatchError  frame coded with another dictionary 1007
    ├── UnknownTemplateError       template id not defined             1007
    ├── LimitError                 a configured limit was exceeded     1009
    ├── ContextDesyncError         context-mode state diverged         1007
    ├── DictionaryFormatError      dictionary file malformed / bad hash
    ├── ConfigError                invalid configuration (local)       1011
    │   └── CorpusError              a message file cannot be read
    └── ProtocolError              session protocol violated           1002

No I/O here.
"""

from __future__ import annotations

from typing import Final

CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_INVALID_DATA: Final = 1007
CLOSE_POLICY_VIOLATION: Final = 1008
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL_ERROR: Final = 1011

__all__ = [
    "AuraError",
    "FrameError",
    "UnsupportedVersionError",
    "PayloadError",
    "UnknownDictionaryError",
    "DictionaryMismatchError",
    "UnknownTemplateError",
    "LimitError",
    "ContextDesyncError",
    "DictionaryFormatError",
    "ConfigError",
    "CorpusError",
    "ProtocolError",
]


class AuraError(Exception):
    """Base class of every error raised by aura_wire.

    ``remote`` is True when the peer (or the input) is at fault, False for a
    local misuse.  ``offset`` and ``field`` locate the problem in the input
    when known.  ``close_code`` is the WebSocket close code that fits.
    """

    close_code: int = CLOSE_INVALID_DATA
    remote: bool = True

    def __init__(
        self, message: str, *, offset: int | None = None, field: str | None = None
    ) -> None:
        where = []
        if field is not None:
            where.append(f"field {field}")
        if offset is not None:
            where.append(f"offset {offset}")
        text = f"{message} ({', '.join(where)})" if where else message
        super().__init__(text)
        self.reason = message
        self.offset = offset
        self.field = field


class FrameError(AuraError):
    """A frame is malformed or truncated."""

    close_code = CLOSE_PROTOCOL_ERROR


class UnsupportedVersionError(FrameError):
    """A frame or dictionary carries a version this implementation does not know."""


class PayloadError(AuraError):
    """A payload does not decode (corrupt compressed data, bad UTF-8, ...)."""

    close_code = CLOSE_INVALID_DATA


class UnknownDictionaryError(AuraError):
    """A frame needs a dictionary the decoder does not hold, or the ids differ."""

    close_code = CLOSE_INVALID_DATA


class DictionaryMismatchError(UnknownDictionaryError):
    """A stateless frame that uses the dictionary failed its check byte: it was coded with
    another dictionary than the one this decoder holds, or corrupted (spec/wire-format.md §5.4)."""


class UnknownTemplateError(AuraError):
    """A frame references a template id that is not defined."""

    close_code = CLOSE_INVALID_DATA


class LimitError(AuraError):
    """A configured limit (message size, dictionary size, ...) was exceeded."""

    close_code = CLOSE_TOO_BIG


class ContextDesyncError(AuraError):
    """The context-mode state of encoder and decoder no longer agrees."""

    close_code = CLOSE_INVALID_DATA


class DictionaryFormatError(AuraError):
    """A dictionary file is malformed, of an unknown version, or fails its hash."""

    close_code = CLOSE_INVALID_DATA


class ConfigError(AuraError):
    """Invalid configuration given by the local application."""

    close_code = CLOSE_INTERNAL_ERROR
    remote = False


class CorpusError(ConfigError):
    """A message file (a JSONL corpus, an audit log, text) cannot be read as messages; the text names file and line."""


class ProtocolError(AuraError):
    """The session protocol (negotiation, dictionary sync) was violated."""

    close_code = CLOSE_PROTOCOL_ERROR
