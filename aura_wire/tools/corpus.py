"""Message files for the tools: the reader is :func:`aura_wire.files.load_messages` (re-exported here).

Used by ``aura-wire bench``, ``train`` and ``inspect``; a file that cannot be read raises
:class:`~aura_wire.errors.CorpusError` with the file and line.
"""

from __future__ import annotations

import os

from aura_wire.errors import CorpusError as CorpusError
from aura_wire.files import WRAPPER_FIELDS as WRAPPER_FIELDS
from aura_wire.files import load_messages as load_messages


class BenchError(Exception):
    """A peer did not reproduce a message exactly, or the input is unusable."""


# ---------------------------------------------------------------------------
# corpora
# ---------------------------------------------------------------------------


def corpus_name(path: str | os.PathLike[str]) -> str:
    base = os.path.basename(os.fspath(path))
    for suffix in (".jsonl", ".txt", ".log"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base
