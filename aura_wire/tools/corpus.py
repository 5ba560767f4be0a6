"""Reading message files for the tools: JSONL corpora (``{"m": ...}``), audit logs, plain text.

Used by ``aura-wire bench``, ``train`` and ``inspect``.  Errors are
:class:`BenchError` with the file and line.
"""

from __future__ import annotations

import json
import os
from typing import Final


class BenchError(Exception):
    """A peer did not reproduce a message exactly, or the input is unusable."""


# ---------------------------------------------------------------------------
# corpora
# ---------------------------------------------------------------------------


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
    :data:`WRAPPER_FIELDS`): that is refused with a :class:`BenchError`
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
                    raise BenchError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
                if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
                    raise BenchError(f"{path}:{lineno}: expected an object with a string field {key!r}")
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
    raise BenchError(f"{path}: each line is a JSON object without an \"m\" (or \"plaintext\") string field, "
                     f"and its field {holders[0]!r} looks like the message: pass --field {holders[0]} to read it, "
                     "or --field '' to read each whole line as one message")


def corpus_name(path: str | os.PathLike[str]) -> str:
    base = os.path.basename(os.fspath(path))
    for suffix in (".jsonl", ".txt", ".log"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base
