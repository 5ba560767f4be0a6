"""Dictionary files: read one, write one atomically.

The codec's :class:`~aura_wire.codec.dictionary.Dictionary` is a value over
bytes and does no I/O; the adapters (middleware, client cache, ops worker,
command line) read and write dictionary files through this module.
"""

from __future__ import annotations

import os
import tempfile

from aura_wire.codec.dictionary import DEFAULT_MAX_DICTIONARY_SIZE, Dictionary


def load_dictionary(path: str | os.PathLike[str], *, expected_id: str | None = None) -> Dictionary:
    """Read a dictionary file (see :func:`save_dictionary`); verify ``expected_id`` when given."""
    with open(path, "rb") as f:
        data = f.read(DEFAULT_MAX_DICTIONARY_SIZE + 1)
    return Dictionary.from_bytes(data, expected_id=expected_id)


def save_dictionary(dictionary: Dictionary, path: str | os.PathLike[str]) -> None:
    """Write atomically: a temporary file in the same folder, fsync, rename, fsync the folder."""
    atomic_write(path, dictionary.to_bytes())


def atomic_write(path: str | os.PathLike[str], data: bytes, *, prefix: str = ".aura-dict-") -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old file or the new one, never a mix.

    The data goes to a temporary file in the same folder, is fsynced, renamed over ``path``, and
    the folder is fsynced so the rename survives a power loss.  A process killed mid-write leaves
    at most a ``prefix*`` temporary file behind, and the old file intact.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(folder)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable (best effort where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
