"""Session limits: one dataclass with documented, validated defaults (spec/session.md §7).

No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass

from aura_wire.codec.config import DEFAULT_MAX_MESSAGE_SIZE
from aura_wire.codec.dictionary import DEFAULT_MAX_DICTIONARY_SIZE
from aura_wire.errors import ConfigError

__all__ = ["SessionConfig", "DEFAULT_MAX_CHUNK", "DEFAULT_MAX_CONTEXT_MEMORY"]

#: Default largest CHUNK payload a server sends (and announces in HELLO).
DEFAULT_MAX_CHUNK = 16384
#: Default largest context history per direction a client accepts from a server (8 MiB).
DEFAULT_MAX_CONTEXT_MEMORY = 8 * 1024 * 1024


@dataclass(frozen=True)
class SessionConfig:
    """Limits and knobs of one session.

    * ``context`` (True): server: context mode for data frames in both directions, announced
      in HELLO.  Client: whether it accepts context mode (the server decides; a client with
      False closes with 1002 when the server announces context mode).
    * ``max_message_size`` (16 MiB): largest decoded message; larger ones close with 1009.
    * ``max_dictionary_size`` (4 MiB): a client declines a larger announced dictionary;
      a server refuses to announce one.
    * ``max_chunk`` (16 KiB): server: largest CHUNK payload, announced in HELLO.
    * ``fetch_window`` (4): client: GETs outstanding at once during an in-band fetch.
    * ``max_context_memory`` (8 MiB): client: the largest context history per direction it
      accepts from a server's HELLO (``window + zstd_window + template_brio_window +
      max_runtime_template_bytes``); above it the client closes with 1002 (spec §4.1.1).
    * ``max_fetch_factor`` (3): server: bytes of one dictionary served to one connection
      are at most this many times its size (1009 beyond: a client cannot make the
      server send without bound).
    """

    context: bool = True
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_dictionary_size: int = DEFAULT_MAX_DICTIONARY_SIZE
    max_chunk: int = DEFAULT_MAX_CHUNK
    fetch_window: int = 4
    max_fetch_factor: int = 3
    max_context_memory: int = DEFAULT_MAX_CONTEXT_MEMORY

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("max_message_size", 1, 1 << 31),
            ("max_dictionary_size", 1, 1 << 31),
            ("max_chunk", 1, 1 << 24),
            ("fetch_window", 1, 64),
            ("max_fetch_factor", 1, 1000),
            ("max_context_memory", 0, 1 << 40),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}", field=name)
        if not isinstance(self.context, bool):
            raise ConfigError("context must be a bool", field="context")
