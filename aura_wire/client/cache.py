"""On-disk cache of shared dictionaries for clients (spec/session.md §6.6).

One file per dictionary, named by its id, in a per-user cache directory
(``$XDG_CACHE_HOME/aura_wire``, ``~/.cache/aura_wire``, ``~/Library/Caches/aura_wire``
on macOS, ``%LOCALAPPDATA%\\aura_wire\\Cache`` on Windows).  Every load is
verified against the id (SHA-256); a corrupted entry is deleted and reported
as missing, so the caller fetches it again.  The total size is bounded:
the least recently used entries are evicted.  Writes are atomic.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path

from aura_wire.codec.dictionary import DEFAULT_MAX_DICTIONARY_SIZE, Dictionary
from aura_wire.files import atomic_write, save_dictionary
from aura_wire.errors import AuraError

__all__ = ["DictionaryCache", "default_cache_dir"]

log = logging.getLogger("aura_wire.client.cache")

#: Default bound on the cache's total size.
DEFAULT_MAX_CACHE_BYTES = 64 * 1024 * 1024
_SUFFIX = ".aurd"


def default_cache_dir() -> Path:
    """The standard per-user cache directory for aura_wire on this platform."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "aura_wire" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "aura_wire"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base_path / "aura_wire"


def _valid_id(dictionary_id: str) -> bool:
    return len(dictionary_id) == 64 and all(c in "0123456789abcdef" for c in dictionary_id)



# Verified dictionaries loaded by this process, by id, with the (size, mtime) of the file they came
# from: content-addressed and immutable, so sharing them is safe while the file is unchanged (a
# rewritten file is read and verified again); bounded, oldest dropped first.
_MAX_LOADED = 8
_LOADED: dict[str, tuple[Dictionary, tuple[int, int]]] = {}

class DictionaryCache:
    """A bounded, verified, on-disk dictionary cache.

    ``DictionaryCache(directory=None, max_bytes=64 MiB)``; ``directory=None``
    uses :func:`default_cache_dir`.  ``corrupted`` counts entries found
    corrupted and dropped.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *,
                 max_bytes: int = DEFAULT_MAX_CACHE_BYTES) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.max_bytes = max_bytes
        self.corrupted = 0

    def path_for(self, dictionary_id: str) -> Path:
        if not _valid_id(dictionary_id):
            raise ValueError(f"not a dictionary id: {dictionary_id!r}")
        return self.directory / (dictionary_id + _SUFFIX)

    def get(self, dictionary_id: str) -> Dictionary | None:
        """The cached dictionary, verified by hash; None when absent or corrupted (then deleted).

        A dictionary already loaded by this process is returned as the same object while its file
        is still in the cache, so its derived tables (BRIO index, templates) are built once per
        process, not once per connection.
        """
        if not _valid_id(dictionary_id):
            return None
        path = self.path_for(dictionary_id)
        loaded = _LOADED.get(dictionary_id)
        if loaded is not None:
            try:
                st = path.stat()
            except OSError:
                st = None
            if st is not None and (st.st_size, st.st_mtime_ns) == loaded[1]:
                return loaded[0]  # same file as verified before
        try:
            with open(path, "rb") as f:
                data = f.read(DEFAULT_MAX_DICTIONARY_SIZE + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read cached dictionary %s: %s", path, exc)
            return None
        try:
            d = Dictionary.from_bytes(data, expected_id=dictionary_id)
        except AuraError as exc:
            self.corrupted += 1
            log.error("cached dictionary %s is corrupted (%s); dropping it", path, exc)
            try:
                path.unlink()
            except OSError:
                pass
            return None
        try:
            os.utime(path)  # recently used: evicted last
            st = path.stat()
        except OSError:
            return d
        _LOADED[dictionary_id] = (d, (st.st_size, st.st_mtime_ns))
        while len(_LOADED) > _MAX_LOADED:
            del _LOADED[next(iter(_LOADED))]
        return d

    def __contains__(self, dictionary_id: object) -> bool:
        return isinstance(dictionary_id, str) and _valid_id(dictionary_id) and self.path_for(dictionary_id).exists()

    def put(self, dictionary: Dictionary) -> None:
        """Store ``dictionary`` (atomically), then evict old entries beyond ``max_bytes``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        save_dictionary(dictionary, self.path_for(dictionary.id))
        self._evict(keep=dictionary.id)

    # -- which dictionaries an origin uses (the aura.have hints, spec/session.md §3.4) ------------------
    def _origin_path(self, origin: str) -> Path:
        # Per origin, so a client names to a server only dictionaries it used with that server:
        # the hints never tell one site what another site's dictionaries are.
        return self.directory / "origins" / (hashlib.sha256(origin.encode()).hexdigest()[:32] + ".ids")

    def held_for(self, origin: str, limit: int = 4) -> list[str]:
        """Ids this client used with ``origin`` that are still cached, most recent first."""
        try:
            text = self._origin_path(origin).read_text("ascii")
        except (OSError, UnicodeDecodeError):
            return []
        return [i for i in text.split() if _valid_id(i) and i in self][:limit]

    def remember(self, origin: str, dictionary_id: str) -> None:
        """Record that ``origin`` uses ``dictionary_id`` (most recent first, at most 8 kept)."""
        if not _valid_id(dictionary_id):
            raise ValueError(f"not a dictionary id: {dictionary_id!r}")
        try:
            old = self._origin_path(origin).read_text("ascii").split()
        except (OSError, UnicodeDecodeError):
            old = []
        ids = [dictionary_id] + [i for i in old if i != dictionary_id and _valid_id(i)]
        path = self._origin_path(origin)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, ("\n".join(ids[:8]) + "\n").encode("ascii"))

    def traffic_for(self, origin: str) -> int:
        """Messages of earlier connections to ``origin`` that ended without its dictionary (spec §6.8)."""
        try:
            return max(0, int(self._origin_path(origin).with_suffix(".traffic").read_text("ascii").strip()))
        except (OSError, ValueError, UnicodeDecodeError):
            return 0

    def add_traffic(self, origin: str, messages: int) -> None:
        """Add ``messages`` to the count :meth:`traffic_for` returns (0 resets it)."""
        path = self._origin_path(origin).with_suffix(".traffic")
        path.parent.mkdir(parents=True, exist_ok=True)
        total = self.traffic_for(origin) + messages if messages > 0 else 0
        atomic_write(path, str(total).encode("ascii"))

    def entries(self) -> list[tuple[str, int, float]]:
        """``(id, size, last used)`` of every entry, most recently used first."""
        out = []
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        for name in names:
            if not name.endswith(_SUFFIX) or not _valid_id(name[: -len(_SUFFIX)]):
                continue
            try:
                st = os.stat(self.directory / name)
            except FileNotFoundError:
                continue
            out.append((name[: -len(_SUFFIX)], st.st_size, st.st_mtime))
        out.sort(key=lambda e: e[2], reverse=True)
        return out

    def _evict(self, keep: str) -> None:
        total = 0
        for did, size, _ in self.entries():
            total += size
            if total > self.max_bytes and did != keep:
                try:
                    self.path_for(did).unlink()
                except FileNotFoundError:
                    pass
                total -= size
