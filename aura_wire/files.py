"""Files: dictionaries (read one, write one atomically) and message files (corpora, audit logs, text).

The codec's :class:`~aura_wire.codec.dictionary.Dictionary` is a value over
bytes and does no I/O; the adapters (middleware, client cache, ops worker,
command line) read and write dictionary files through this module.  Message
files are read by :func:`load_messages`, the one reader of the command line,
``ops.compare`` and the tests; its errors are :class:`~aura_wire.errors.CorpusError`
with the file and line.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Final

from aura_wire.codec.dictionary import DEFAULT_MAX_DICTIONARY_SIZE, Dictionary
from aura_wire.errors import CorpusError


def load_dictionary(path: str | os.PathLike[str], *, expected_id: str | None = None) -> Dictionary:
    """Read a dictionary file (see :func:`save_dictionary`) and verify it.

    Pin the dictionary you mean with ``expected_id`` (its SHA-256, as served by the
    dictionary endpoint and announced in HELLO): a file that differs is refused with
    :class:`~aura_wire.errors.DictionaryFormatError` instead of loading under a new id.
    A file named by its id (``<64 hex digits>.aura``, as caches store them) is verified
    against that name even without ``expected_id`` (spec/wire-format.md §6).
    """
    if expected_id is None:
        stem = os.path.basename(os.fspath(path))
        if stem.endswith(".aura"):
            stem = stem[:-5]
        if len(stem) == 64 and all(c in "0123456789abcdef" for c in stem):
            expected_id = stem
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


def load_messages(path: str | os.PathLike[str], *, limit: int | None = None,
                  field: str | None = None) -> list[str]:
    """Read messages from ``path``, in order.

    Three formats, told apart by the first non-empty line: JSONL with one
    ``{"m": "<message>"}`` per line (the corpora), JSONL audit logs with
    ``{"plaintext": "<message>"}``, or plain text with one message per line
    (trailing ``\\r``/``\\n`` removed).  ``limit`` stops after that many
    messages.  Empty lines are skipped in plain text.

    ``field`` names the JSONL field holding the message; ``""`` reads every
    line as one message, as it is.  Without it, JSON objects with neither
    ``m`` nor ``plaintext`` are messages themselves, unless the first one has
    a string field named like a message holder (``text``, ``message``, ...,
    :data:`WRAPPER_FIELDS`): that is refused with a :class:`CorpusError`
    naming the field, as reading the wrapper's text would be a silent mistake.
    """
    out: list[str] = []
    key: str | None = field or None
    decided = field is not None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            if not line:
                continue
            if not decided:
                decided = True
                key = _jsonl_key(line)
                if key is None:
                    _refuse_unknown_wrapper(path, line)
            if key is None:
                out.append(line)
            else:
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise CorpusError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
                if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
                    raise CorpusError(f"{path}:{lineno}: expected an object with a string field {key!r}")
                out.append(obj[key])
            if limit is not None and len(out) >= limit:
                break
    return out


def _jsonl_key(line: str) -> str | None:
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if isinstance(obj, dict):
        for key in ("m", "plaintext"):
            if isinstance(obj.get(key), str):
                return key
    return None


#: Field names that, in a JSON object without "m"/"plaintext", say the line is a wrapper around the message.
WRAPPER_FIELDS: Final = ("message", "msg", "text", "data", "payload", "content", "body", "frame", "line", "raw")


def _refuse_unknown_wrapper(path: str | os.PathLike[str], line: str) -> None:
    """Refuse JSONL that wraps each message in a field we do not read by default.

    A JSON object per line is also how JSON messages themselves are stored, so only an
    object with a string field named like a message holder (:data:`WRAPPER_FIELDS`) is
    taken for a wrapper; training on its text would be a silent mistake.
    """
    if not line.startswith("{"):
        return
    try:
        obj = json.loads(line)
    except ValueError:
        return
    if not isinstance(obj, dict):
        return
    holders = [k for k in WRAPPER_FIELDS if isinstance(obj.get(k), str)]
    if not holders:
        return
    raise CorpusError(f"{path}: each line is a JSON object without an \"m\" (or \"plaintext\") string field, "
                     f"and its field {holders[0]!r} looks like the message: pass --field {holders[0]} to read it, "
                     "or --field '' to read each whole line as one message")
