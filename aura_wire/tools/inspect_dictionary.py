"""Review a dictionary before it is shipped to every peer (``aura-wire inspect --dictionary FILE``).

:func:`describe_dictionary` lists what a dictionary holds (sections, metadata, template patterns,
the printable runs of its content sections); :func:`format_dictionary` renders it as text.  Split
from :mod:`aura_wire.tools.inspect` (frames), which re-exports both.  No I/O here.
"""

from __future__ import annotations

from typing import Any

from aura_wire.codec.dictionary import SECTION_NAMES, Dictionary
from aura_wire.codec.templates.section import KIND_JSON, TemplateSet
from aura_wire.errors import AuraError

__all__ = ["describe_dictionary", "format_dictionary"]


def describe_dictionary(dictionary: Dictionary, *, max_templates: int = 200) -> dict[str, Any]:
    """What a dictionary holds, for review before it is shipped to every peer (wire-format §6, Privacy).

    Sections with sizes, the metadata, every template's pattern (up to
    ``max_templates``), and the printable runs of the BRIO content and zstd
    sections, which is where one user's data would show if it leaked in.
    """
    from aura_wire.codec.dictionary import SECTION_BRIO_CONTENT, SECTION_TEMPLATES, SECTION_ZSTD

    out: dict[str, Any] = {
        "id": dictionary.id,
        "bytes": len(dictionary),
        "sections": {SECTION_NAMES.get(k, str(k)): len(v) for k, v in dictionary.sections.items()},
        "meta": {str(k): v for k, v in dictionary.meta.items()},
    }
    section = dictionary.section(SECTION_TEMPLATES)
    if section is not None:

        try:
            ts = TemplateSet.from_section(section)
        except AuraError as exc:
            out["templates_error"] = f"{type(exc).__name__}: {exc}"
        else:
            ids = sorted(ts.templates)
            out["templates"] = [{"id": tid, "kind": "json" if ts.templates[tid].kind == KIND_JSON else "text",
                                 "slots": ts.templates[tid].nslots, "pattern": ts.templates[tid].pattern()}
                                for tid in ids[:max_templates]]
            out["templates_total"] = len(ids)
            out["template_strings"] = len(ts.strings)
    for kind, key in ((SECTION_BRIO_CONTENT, "brio_content_text"), (SECTION_ZSTD, "zstd_text")):
        body = dictionary.section(kind)
        if body is not None:
            out[key] = _printable_runs(body)
    return out


def _printable_runs(data: bytes, min_len: int = 12, limit: int = 40) -> list[str]:
    """The longest printable ASCII runs (like ``strings``), longest first."""
    runs: list[str] = []
    start = -1
    for i in range(len(data) + 1):
        c = data[i] if i < len(data) else 0
        if 32 <= c < 127:
            if start < 0:
                start = i
        elif start >= 0:
            if i - start >= min_len:
                runs.append(data[start:i].decode("ascii"))
            start = -1
    runs.sort(key=len, reverse=True)
    return runs[:limit]


def format_dictionary(info: dict[str, Any]) -> str:
    lines = [f"AURA dictionary {info['id']}", f"  {info['bytes']:,} bytes"]
    for name, size in info["sections"].items():
        lines.append(f"  section {name:<19} {size:>9,} bytes")
    if info["meta"]:
        lines.append("  meta: " + ", ".join(f"{k}={v!r}" for k, v in info["meta"].items()))
    if "templates" in info:
        lines.append("")
        lines.append(f"templates ({info['templates_total']}, {info['template_strings']} shared strings; "
                     "{} marks a slot):")
        for t in info["templates"]:
            pat = t["pattern"] if len(t["pattern"]) <= 160 else t["pattern"][:160] + "..."
            lines.append(f"  #{t['id']:<5} {t['kind']:<4} {t['slots']:>3} slots  {pat}")
        if info["templates_total"] > len(info["templates"]):
            lines.append(f"  ... {info['templates_total'] - len(info['templates'])} more")
    if "templates_error" in info:
        lines.append(f"templates: {info['templates_error']}")
    for key, title in (("brio_content_text", "BRIO content"), ("zstd_text", "zstd dictionary")):
        if info.get(key):
            lines.append("")
            lines.append(f"{title}: longest printable runs (review them for user data before shipping):")
            for r in info[key][:20]:
                lines.append("  " + (r if len(r) <= 160 else r[:160] + "..."))
    return "\n".join(lines)
