"""Training the templates section of a dictionary, and summarizing one over sample messages.
"""

from __future__ import annotations

from aura_wire.codec.templates.coders import TemplateEncoder
from aura_wire.codec.templates.section import KIND_JSON, TemplateSet
from aura_wire.errors import (
    LimitError,
)
from aura_wire.training.discovery import TemplateDiscoveryEngine

# -- training and summary ---------------------------------------------------------

def train_templates(samples: list[bytes], *, min_frequency: int = 5, min_distinct: int = 8,
                    max_templates: int = 4096) -> bytes:
    """Mine templates from ``samples`` and return the TEMPLATES dictionary section."""
    eng = TemplateDiscoveryEngine(min_frequency=min_frequency, min_compression_advantage=1.5,
                                  min_distinct=min_distinct, id_range=(0, max(0, max_templates - 1)))
    for cand in eng.discover(list(samples)):
        if cand.advantage >= eng.min_compression_advantage:
            try:
                eng.promote_template(cand)
            except LimitError:
                break
    return eng.build_section()


def summarize(section: bytes, samples: list[bytes] | list[str]) -> dict[str, object]:
    """Templates found, stateless hit rate on ``samples`` and bytes saved (for ``aura-wire train``).

    A sample is a hit when its TEMPLATE payload (+1 header byte) is smaller than the sample.
    """
    ts = TemplateSet.from_section(section)
    enc = TemplateEncoder(ts, context=False)
    n = 0
    hits = 0
    raw = 0
    saved = 0
    for s in samples:
        b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
        n += 1
        raw += len(b)
        p = enc.encode(b, isinstance(s, str))
        if p is not None and len(p) + 1 < len(b):
            hits += 1
            saved += len(b) - len(p) - 1
    nj = sum(1 for t in ts.templates.values() if t.kind == KIND_JSON)
    return {
        "templates": len(ts),
        "json_templates": nj,
        "text_templates": len(ts) - nj,
        "strings": len(ts.strings),
        "section_bytes": len(section),
        "messages": n,
        "template_hits": hits,
        "hit_rate": hits / n if n else 0.0,
        "bytes_in": raw,
        "bytes_saved": saved,
    }
