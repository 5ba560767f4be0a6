"""Dictionary storage: the store protocol and its folder backend (atomic file writes).

A *store* keeps the shared dictionaries of a deployment: content-addressed
blobs (the id is the SHA-256 of the bytes), the ordered list of adopted
versions (the last ``keep``), and the current one.  :class:`Store` is the
protocol the middleware, the discovery worker and the cluster node program
against; it names no file, socket or key, so a backend is free to keep the
data where it likes:

* :class:`FolderStore` (this module, the default): a folder of ``<id>.aura``
  files plus ``versions.json``; one process, or several on one host sharing
  the folder.  No server needed.
* ``aura_wire.cluster.redis.RedisStore``: the same on a Redis server, for
  replicas on many hosts (extra ``aura_wire[redis]``).

The protocol is async because a network backend must not block the event
loop; the folder backend runs its file I/O in a thread.  ``adopt`` is
atomic in every backend: a reader sees the old current version or the new
one, with its blob present.

File writes here are atomic (temporary file in the same folder, fsync,
rename, fsync of the folder): a crash or SIGKILL mid-write leaves the
previous files intact, and leftover temporary files are removed when the
store is opened.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Protocol, runtime_checkable

from aura_wire.codec.dictionary import Dictionary
from aura_wire.errors import AuraError, ConfigError
from aura_wire.files import atomic_write, fsync_dir, load_dictionary, save_dictionary

__all__ = ["FolderStore", "Store", "atomic_write", "fsync_dir", "write_atomic"]

log = logging.getLogger("aura_wire.ops.storage")

_MANIFEST = "versions.json"
_SUFFIX = ".aura"
_TMP_PREFIXES = (".aura-tmp-", ".aura-dict-")


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_write`); temporary files are ``.aura-tmp-*``."""
    atomic_write(path, data, prefix=_TMP_PREFIXES[0])


@runtime_checkable
class Store(Protocol):
    """Where a deployment keeps its dictionaries (see the module docstring).

    ``keep``: how many adopted versions are kept (older blobs may be dropped).
    """

    keep: int

    async def load_dictionary(self, dict_id: str) -> Dictionary | None:
        """The dictionary ``dict_id``, verified against its id; None when missing or corrupted."""
        ...

    async def adopt(self, dictionary: Dictionary, *, origin: str = "") -> None:
        """Store ``dictionary``, append it to the versions and make it current, atomically.

        ``origin`` names who adopted it (a replica id), for the announcement.
        """
        ...

    async def current_id(self) -> str | None:
        """The id of the current dictionary (None: none adopted yet)."""
        ...

    async def version_ids(self) -> list[str]:
        """Kept version ids in adoption order, oldest first."""
        ...


class FolderStore:
    """A folder of ``<id>.aura`` dictionary files plus ``versions.json`` (adoption order).

    Writes are atomic, so a crash mid-write leaves the previous files intact;
    leftover temporary files are removed when the store is opened.  Only the
    last ``keep`` versions are kept.  The synchronous methods (:meth:`save`,
    :meth:`load`, :meth:`versions`, :meth:`latest`) are for threads and
    scripts; the :class:`Store` methods run them off the event loop.
    """

    def __init__(self, directory: str | os.PathLike[str], *, keep: int = 5) -> None:
        if keep < 1:
            raise ConfigError("keep must be >= 1", field="keep_versions")
        self.directory = os.fspath(directory)
        self.keep = keep
        os.makedirs(self.directory, exist_ok=True)
        for name in os.listdir(self.directory):
            if name.startswith(_TMP_PREFIXES):
                try:
                    os.unlink(os.path.join(self.directory, name))
                except OSError:
                    pass

    def path_for(self, dict_id: str) -> str:
        return os.path.join(self.directory, dict_id + _SUFFIX)

    def versions(self) -> list[str]:
        """Ids in adoption order, oldest first (from the manifest; falls back to file mtimes)."""
        try:
            with open(os.path.join(self.directory, _MANIFEST), "rb") as f:
                ids = json.loads(f.read())
            if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
                return list(ids)
            log.error("dictionary store manifest %s is malformed; using file times", self.directory)
        except FileNotFoundError:
            pass
        except ValueError:
            log.error("dictionary store manifest %s is not JSON; using file times", self.directory)
        files = [n for n in os.listdir(self.directory) if n.endswith(_SUFFIX)]
        files.sort(key=lambda n: os.path.getmtime(os.path.join(self.directory, n)))
        return [n[: -len(_SUFFIX)] for n in files]

    def save(self, dictionary: Dictionary) -> str:
        """Write ``dictionary`` (atomically), record it as newest, prune old versions; return its path.

        The blob is written before the manifest names it, so a reader never
        finds a current id without its file.
        """
        path = self.path_for(dictionary.id)
        save_dictionary(dictionary, path)
        fsync_dir(self.directory)
        ids = [i for i in self.versions() if i != dictionary.id] + [dictionary.id]
        keep, drop = ids[-self.keep:], ids[: -self.keep]
        write_atomic(os.path.join(self.directory, _MANIFEST), json.dumps(keep).encode("ascii"))
        for old in drop:
            try:
                os.unlink(self.path_for(old))
            except FileNotFoundError:
                pass
        return path

    def load(self, dict_id: str) -> Dictionary | None:
        """The dictionary ``dict_id``, or None (with a logged error) when missing or corrupted."""
        try:
            return load_dictionary(self.path_for(dict_id), expected_id=dict_id)
        except FileNotFoundError:
            log.error("dictionary %s is listed but its file is missing", dict_id)
        except (AuraError, OSError) as exc:
            log.error("dictionary file %s is corrupted and ignored: %s", self.path_for(dict_id), exc)
        return None

    def load_all(self) -> list[Dictionary]:
        """Every valid kept version, oldest first; corrupted files are logged and skipped."""
        out = []
        for i in self.versions():
            d = self.load(i)
            if d is not None:
                out.append(d)
        return out

    def latest(self) -> Dictionary | None:
        """The newest valid version (an older one when the newest is corrupted)."""
        for i in reversed(self.versions()):
            d = self.load(i)
            if d is not None:
                return d
        return None

    # -- the Store protocol -------------------------------------------------
    async def load_dictionary(self, dict_id: str) -> Dictionary | None:
        return await asyncio.to_thread(self.load, dict_id)

    async def adopt(self, dictionary: Dictionary, *, origin: str = "") -> None:
        await asyncio.to_thread(self.save, dictionary)

    async def current_id(self) -> str | None:
        ids = await asyncio.to_thread(self.versions)
        return ids[-1] if ids else None

    async def version_ids(self) -> list[str]:
        return await asyncio.to_thread(self.versions)
