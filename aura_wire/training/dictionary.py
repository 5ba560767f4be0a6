"""Training a shared dictionary from sample messages (spec/wire-format.md §6).

:func:`train_dictionary` builds every section: BRIO content and models, the
zstd raw-content dictionary, the templates and the TEMPLATE_BRIO payload
model.  It runs once per dictionary, off the hot path.  No I/O here.

Privacy guard: a dictionary goes to every peer, so content and template
literals are only taken from substrings seen in at least ``min_distinct``
distinct samples.
"""

from __future__ import annotations

from typing import Sequence

import msgpack

from aura_wire.codec.dictionary import (
    FORMAT_VERSION,
    SECTION_BRIO_CONTENT,
    SECTION_BRIO_MODEL,
    SECTION_META,
    SECTION_TEMPLATE_BRIO_MODEL,
    SECTION_TEMPLATES,
    SECTION_ZSTD,
    Dictionary,
)
from aura_wire.training.brio import build_content, train_brio, train_template_brio_model
from aura_wire.training.templates import train_templates


def train_dictionary(
    samples: Sequence[str | bytes],
    *,
    zstd_dict_size: int = 32768,
    brio_content_size: int = 32768,
    templates: bool = True,
    brio: bool = True,
    min_distinct: int = 8,
    name: str = "",
) -> Dictionary:
    """Build a dictionary from sample messages.

    ``min_distinct`` is the privacy threshold: content and template
    literals are only taken from substrings seen in at least that many
    distinct samples.  ``templates`` and ``brio`` switch those sections
    off.
    """
    data = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in samples]
    if not data:
        raise ValueError("train_dictionary needs at least one sample")
    sections: dict[int, bytes] = {}
    meta = {"name": name, "samples": len(data), "format": FORMAT_VERSION}
    sections[SECTION_META] = msgpack.packb(meta)
    content = b""
    if brio:
        content, model = train_brio(data, content_size=brio_content_size, min_distinct=min_distinct)
        sections[SECTION_BRIO_CONTENT] = content
        sections[SECTION_BRIO_MODEL] = model
    zd = _train_zstd(data, zstd_dict_size, content, min_distinct)
    if zd:
        sections[SECTION_ZSTD] = zd
    if templates:
        sections[SECTION_TEMPLATES] = train_templates(data, min_distinct=min_distinct)
    if templates and brio:
        # the TEMPLATE_BRIO payload context's priors: bit statistics of the template payloads
        # this dictionary gives the training messages (aggregate counts, no substring)
        template_brio_model = train_template_brio_model(Dictionary(dict(sections)), data)
        if template_brio_model is not None:
            sections[SECTION_TEMPLATE_BRIO_MODEL] = template_brio_model
    return Dictionary(sections)


def _train_zstd(data: list[bytes], size: int, content: bytes, min_distinct: int) -> bytes:
    """The zstd section: raw content built only from substrings seen in ``min_distinct`` distinct samples.

    zstd's own COVER trainer copies segments of single samples into the
    dictionary, which would ship one user's data to every peer (the privacy
    guard of spec/wire-format.md §6), so it is not used.  The BRIO content is
    reused when it was built; it already obeys the same threshold.
    """
    if size <= 0:
        return b""
    if not content:
        content = build_content(data, size, min_distinct)
    return content[-size:] if len(content) >= 8 else b""
