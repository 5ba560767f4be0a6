"""The AURA WebSocket client (websockets adapter of :mod:`aura_wire.session`).

``async with aura_wire.client.connect("ws://host/ws") as conn: ...``.  I/O
adapter only; it also holds the on-disk dictionary cache.
"""

from aura_wire.client.cache import DictionaryCache, default_cache_dir
from aura_wire.client.connection import ClientStats, Connection, connect
from aura_wire.client.http import fetch_dictionary

__all__ = ["ClientStats", "Connection", "DictionaryCache", "connect", "default_cache_dir", "fetch_dictionary"]
