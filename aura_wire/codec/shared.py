"""Objects derived from one dictionary, built once and shared by every connection's Encoder and Decoder.

The zstd codecs, BRIO's shared content index and models, the template set;
cached on the :class:`~aura_wire.codec.dictionary.Dictionary`.  No I/O.
"""

from __future__ import annotations

from aura_wire.codec.brio.model import BrioShared
from aura_wire.codec.config import CodecConfig
from aura_wire.codec.dictionary import (
    SECTION_BRIO_CONTENT,
    SECTION_BRIO_MODEL,
    SECTION_TEMPLATE_BRIO_MODEL,
    SECTION_TEMPLATES,
    SECTION_ZSTD,
    Dictionary,
)
from aura_wire.codec.stdcodecs import ZstdCodec, ZstdHistory
from aura_wire.codec.templates.copy import ContentIndex
from aura_wire.codec.templates.section import TemplateSet


class _Shared:
    """Objects derived from one dictionary, built once and shared by every connection."""

    def __init__(self, dictionary: Dictionary | None, zstd_level: int, want_brio: bool, want_templates: bool) -> None:
        self.dictionary = dictionary
        zd = dictionary.section(SECTION_ZSTD) if dictionary is not None else None
        self.zstd_dict = ZstdCodec(zd, zstd_level) if zd else None
        # how each side keeps its ZSTD history at rest (private, not on the wire): level 1 with the
        # dictionary costs 60 % of level 3's time per committed message for 5 % larger blobs
        self.zstd_rest = ZstdCodec(zd, 1) if zd else None
        self.zstd_plain = ZstdCodec(None, zstd_level)
        # the encoder's large-message fast path: its incompressibility probe
        self.zstd_fast = ZstdCodec(None, 1)
        self.brio: BrioShared | None = None
        #: initial models of the TEMPLATE_BRIO payload context (dictionary section 6), else None
        self.template_brio: BrioShared | None = None
        self.templates: TemplateSet | None = None
        self.copy_content = b""
        #: encoder only: where the 8-byte strings of copy_content occur (COPY's whole-value lookups)
        self.copy_index: ContentIndex | None = None
        # raw content shared by context-mode ZSTD frames with D=1 (spec §4.2.1)
        self.zstd_prefix = b""
        if dictionary is not None:
            self.zstd_prefix = dictionary.section(SECTION_BRIO_CONTENT) or b""
        if dictionary is not None and want_brio:
            content = dictionary.section(SECTION_BRIO_CONTENT)
            model = dictionary.section(SECTION_BRIO_MODEL)
            if content is not None and model is not None:
                self.brio = BrioShared.from_sections(content, model)
            template_brio_model = dictionary.section(SECTION_TEMPLATE_BRIO_MODEL)
            if template_brio_model is not None and want_templates:
                # no content: the payload context matches only earlier payloads (wire-format §4.6)
                self.template_brio = BrioShared.from_sections(b"", template_brio_model)
        if dictionary is not None and want_templates:
            section = dictionary.section(SECTION_TEMPLATES)
            if section is not None:
                self.templates = TemplateSet.from_section(section)
                # COPY atoms of the dictionary's templates may copy from its BRIO content
                # (spec/templates.md §4.1.1)
                self.copy_content = dictionary.section(SECTION_BRIO_CONTENT) or b""
                if self.copy_content:
                    self.copy_index = ContentIndex(self.copy_content)

    def zstd_history(self, cfg: CodecConfig, raw: bool = False) -> ZstdHistory:
        """A new ZSTD history for one direction of a context connection (spec §4.2.1), for its
        Encoder or Decoder alike: kept at rest with this dictionary's level-1 codec, or as the
        messages themselves when ``raw`` (see :class:`ZstdHistory`)."""
        return ZstdHistory(cfg.zstd_window, cfg.zstd_history_min_size, cfg.zstd_level, self.zstd_rest, raw=raw)


def _shared_for(dictionary: Dictionary | None, cfg: CodecConfig) -> _Shared:
    if dictionary is None:
        return _Shared(None, cfg.zstd_level, cfg.brio, cfg.templates)
    key = f"shared:{cfg.zstd_level}:{cfg.brio}:{cfg.templates}"
    got = dictionary.cached(key)
    if isinstance(got, _Shared):
        return got
    shared = _Shared(dictionary, cfg.zstd_level, cfg.brio, cfg.templates)
    dictionary.set_cached(key, shared)
    return shared
