"""Codec configuration: one dataclass with documented, validated defaults.

Passed as an object (``Encoder(dictionary, config=CodecConfig(window=4096))``,
typed for mypy users), as keyword arguments (``Encoder(dictionary, window=4096)``)
or as a TOML table (:func:`CodecConfig.from_mapping`).  Every field is checked on
construction; errors name the field.  No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from aura_wire.errors import ConfigError

#: Default maximum size of one decoded message (16 MiB), as websockets' max_size is 1 MiB
#: by default and ASGI servers accept up to 16 MiB.
DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024


#: Revision of the context-mode update rules and payload forms this implementation runs
#: (spec/session.md §8). Two peers whose revisions differ cannot share context state.
#: Revision 2 is wire format v2 (STATE instructions, a check byte on every frame).
CONTEXT_REVISION = 2

#: CodecConfig fields that shape the mirrored context state: both peers of a connection MUST use
#: the same values (the session layer negotiates them, spec/session.md).
CONTEXT_FIELDS = (
    "window",
    "zstd_window",
    "zstd_history_min_size",
    "template_brio_window",
    "max_runtime_templates",
    "max_runtime_template_bytes",
    "template_state_bytes",
)

#: The default of ``CodecConfig.template_state_bytes``: the budget of predicted values (spec/templates.md
#: §5.6) that every peer ran before it was a parameter (templates/context.py LAST_BUDGET_BYTES).
DEFAULT_TEMPLATE_STATE_BYTES = 6144

#: CONTEXT_FIELDS a HELLO (or a ``permessage-aura`` response) leaves out when they hold this value,
#: which a receiver then takes (spec/session.md §4.1.1): peers that predate the parameter keep
#: working at the default, and refuse any other value (an unknown mandatory key) instead of
#: running diverging state.
CONTEXT_FIELD_DEFAULTS: dict[str, int] = {"template_state_bytes": DEFAULT_TEMPLATE_STATE_BYTES}


#: The default of ``CodecConfig.level``.
DEFAULT_LEVEL = 3

#: ``level`` -> the knobs it sets (``CodecConfig.from_mapping`` applies them under the explicit ones).
#: Per-connection state below is what benchmarks/level_state.py measures for a server (its encoder
#: and the decoder of the client's direction, tracemalloc, 2000 messages of each of 9 corpora);
#: permessage-deflate w12 holds about 43 KiB, w15 about 295 KiB.
#: 0 "lean": at most 32 KiB per connection (30 KiB measured): BRIO history 1 KiB, ZSTD history
#: 4 KiB compressed at rest, no TEMPLATE_BRIO and no BRIO search ring, and the encoder sends no
#: templates (at this size their mirrored state cost more than it saved: level 0 with them held
#: 38-92 KiB for a lower ratio); the template limits it announces (8 templates, 512 bytes, a
#: template state budget of 1024 bytes) bound what a peer that does send templates makes the
#: decoder hold.  Ratio 1.07x permessage-deflate w15, 1.66x w12 on the geomean.
#: 1 "small": BRIO history 2 KiB, ZSTD history 8 KiB, TEMPLATE_BRIO 512 B, a quarter of the runtime
#: templates, a third of the template state budget (``template_state_bytes``: -24 to -64 KiB for
#: -0.3 to -0.6 % ratio), no BRIO search ring, ZSTD histories compressed at rest, the cheapest
#: trials.  2 "fast": full state, cheap trials; 3 "default": the dataclass defaults; 4 "best": every
#: method on every message, the exhaustive COPY search and zstd's own tables (the encoder before
#: levels existed).  Figures: docs/benchmarks.md.
LEVELS: dict[int, dict[str, Any]] = {
    0: {"window": 1024, "zstd_window": 4096, "template_brio_window": 0, "brio_search_ring": 0,
        "max_runtime_templates": 8, "max_runtime_template_bytes": 512, "template_state_bytes": 1024,
        "templates": False, "explore_interval": 32, "brio_max_size": 2048, "zstd_table_log": 12,
        "brotli": False, "zstd_raw_history": False},
    1: {"window": 2048, "zstd_window": 8192, "template_brio_window": 512, "brio_search_ring": 0,
        "max_runtime_templates": 16, "max_runtime_template_bytes": 1024, "template_state_bytes": 2048,
        "explore_interval": 32, "brio_max_size": 2048, "copy_searches": 2, "zstd_table_log": 12,
        "brotli": False, "fuzzy_templates": False, "zstd_raw_history": False},
    2: {"explore_interval": 32, "brio_max_size": 2048, "copy_searches": 2, "zstd_table_log": 12, "brotli": False},
    3: {},
    4: {"explore_interval": 0, "brio_max_size": 1 << 31, "copy_searches": 24, "zstd_table_log": 0,
        "brio_probe_every": 8, "large_message_size": 1 << 31},
}


@dataclass(frozen=True)
class CodecConfig:
    """Knobs of the method selection (spec/wire-format.md §5).

    Defaults are chosen for 20-byte to 1-MB messages:

    * ``min_compression_size`` (8): shorter messages go RAW (1 byte overhead).
    * ``zstd`` / ``brotli`` / ``brio`` / ``templates`` (True): per-method switches.
    * ``zstd_level`` (3), ``brotli_quality`` (5): zstd level and brotli quality.
    * ``zstd_min_size`` (512): zstd is tried from this size on when BRIO is on
      (below it zstd's frame overhead makes it lose to BRIO).
    * ``brotli_min_size`` (1024): brotli is tried from this size on.
    * ``template_shortcut`` (0.0625): when a template codes a message in at most
      this fraction of its size, the byte-level candidates are not tried (0 turns
      the shortcut off; it saves most of the encode time on templated traffic).
    * In context mode brotli is only tried while the best candidate is above half
      the message size (history-based methods nearly always beat it).
    * ``slow_method_margin`` (0.03): brotli must beat the best other candidate
      by this fraction of its size to be chosen (it is the slowest to encode).
    * ``window`` (8192): context-mode BRIO history kept per direction, in bytes.
    * ``zstd_window`` (32768): context-mode history of large messages (those of
      ``zstd_history_min_size`` bytes or more) that ZSTD frames may refer to; the
      peers keep it raw (up to this many bytes: compressing every large message would cost
      the decoder more than inflating it) unless ``zstd_raw_history`` is off.
    * ``zstd_history_min_size`` (512): messages at least this long enter the ZSTD history.
    * ``brio_search_ring`` (4096): links kept between frames by the BRIO encoder's match
      search (2 bytes each); 0 rebuilds the search per frame: 8 KiB less per connection,
      20-40 % slower BRIO encoding, identical frames. Encoder only.
    * ``fuzzy_templates`` (True): also code a message that is close to a text template
      as that template plus a small edit (spec/templates.md §4.3); encoder only.
    * ``template_brio_window`` (2048): context-mode history of TEMPLATE payloads that
      TEMPLATE_BRIO frames code against (spec/wire-format.md §4.6); 0 turns TEMPLATE_BRIO off.
    * ``window``, ``zstd_window``, ``zstd_history_min_size``, ``template_brio_window`` and
      the runtime template limits shape the context state: both peers of a connection
      MUST use the same values: the server announces them in HELLO and the client adopts them
      (spec/session.md §4.1.1).
    * ``max_message_size``: largest decoded message accepted.
    * ``max_runtime_templates`` (64), ``max_runtime_template_bytes`` (4096):
      runtime templates per connection direction.
    * ``template_state_bytes`` (6144): the template state budget per direction: bytes of
      predicted values kept (spec/templates.md §5.6); the recent-string table keeps a third of
      it and one string per 96 bytes (§4.4: 2048 bytes, 64 strings at the default).  Context
      state: announced in HELLO like the fields above.  The lean level (0) sets 1024.

    Speed knobs (encoder only; any value decodes the same):

    * ``level`` (3): a named set of the knobs below and, for levels 0 and 1, of the memory knobs
      (see :data:`LEVELS`); knobs given explicitly win over the level's
      (:meth:`from_mapping`, which ``Encoder``/``Decoder`` use).
    * ``explore_interval``: method prediction. Messages fall in slots (size class x
      template matched or not); a slot's next message gets a full trial (every eligible
      method) only every so many messages (doubling while the same method keeps winning,
      back to 1 when another one wins); the others try only the predicted method.
      0: a full trial for every message.
    * ``brio_max_size``: BRIO (about 100 ns per byte) is not tried above this size while zstd is on.
    * ``large_message_size``: from this size on, only ZSTD or RAW, after an
      incompressibility probe on a 4 KiB sample (bounded time: never BRIO, templates or brotli).
    * ``copy_searches``: substring searches of the history per COPY value (spec/templates.md §4.1.1).
    * ``zstd_table_log``: hash/chain table size (log2) of the context-mode ZSTD codec that
      is built for each trial (0: zstd's for ``zstd_level``).
    * ``brio_probe_every``: the BRIO encoder parses twice (both nominal prices) every this
      many frames (0: never).
    * ``zstd_raw_history`` (True; level 1: False): the encoder and the decoder keep their ZSTD
      history raw (up to ``zstd_window`` bytes) rather than compressed at rest (frames are the
      same either way): each ZSTD trial reads all of it, and
      decompressing it then plus compressing every large message at commit cost DevTools events
      11 % of their encode time.
    * ``regime_bonus`` (True): a template frame may lose to BRIO by what refreshing its template's
      slot predictions is measured to save later (TemplateEncoder.regime_bonus).
    """

    min_compression_size: int = 8
    zstd: bool = True
    brotli: bool = True
    brio: bool = True
    templates: bool = True
    zstd_level: int = 3
    brotli_quality: int = 5
    zstd_min_size: int = 512
    brotli_min_size: int = 1024
    slow_method_margin: float = 0.03
    template_shortcut: float = 0.0625
    window: int = 8192
    zstd_window: int = 32768
    zstd_history_min_size: int = 512
    template_brio_window: int = 2048
    fuzzy_templates: bool = True
    brio_search_ring: int = 4096
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_runtime_templates: int = 64
    max_runtime_template_bytes: int = 4096
    template_state_bytes: int = DEFAULT_TEMPLATE_STATE_BYTES
    level: int = DEFAULT_LEVEL
    explore_interval: int = 16
    brio_max_size: int = 8192
    large_message_size: int = 65536
    copy_searches: int = 4
    zstd_table_log: int = 14
    brio_probe_every: int = 0
    zstd_raw_history: bool = True
    regime_bonus: bool = True
    #: the fields given explicitly (from_mapping, resolve): the level's preset leaves them alone
    _explicit: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.level, int) or isinstance(self.level, bool) or self.level not in LEVELS:
            raise ConfigError(f"level must be one of {', '.join(map(str, sorted(LEVELS)))}, got {self.level!r}",
                              field="level")
        # the level's knobs, for every field left at its default and not given explicitly
        # (CodecConfig(level=1, window=8192) cannot say it means 8192: use from_mapping for that)
        defaults = type(self).__dataclass_fields__
        for name, value in LEVELS[self.level].items():
            if name not in self._explicit and getattr(self, name) == defaults[name].default:
                object.__setattr__(self, name, value)
        _check_range("min_compression_size", self.min_compression_size, 0, 1 << 30)
        _check_range("zstd_level", self.zstd_level, -7, 22)
        _check_range("brotli_quality", self.brotli_quality, 0, 11)
        _check_range("zstd_min_size", self.zstd_min_size, 0, 1 << 30)
        _check_range("brotli_min_size", self.brotli_min_size, 0, 1 << 30)
        _check_range("window", self.window, 0, 1 << 20)
        _check_range("zstd_window", self.zstd_window, 0, 1 << 22)
        _check_range("zstd_history_min_size", self.zstd_history_min_size, 1, 1 << 30)
        _check_range("template_brio_window", self.template_brio_window, 0, 1 << 20)
        _check_range("brio_search_ring", self.brio_search_ring, 0, 1 << 16)
        _check_range("max_message_size", self.max_message_size, 1, 1 << 31)
        _check_range("max_runtime_templates", self.max_runtime_templates, 0, 1 << 16)
        _check_range("max_runtime_template_bytes", self.max_runtime_template_bytes, 0, 1 << 24)
        _check_range("template_state_bytes", self.template_state_bytes, 0, 1 << 16)
        _check_range("explore_interval", self.explore_interval, 0, 255)
        _check_range("brio_max_size", self.brio_max_size, 0, 1 << 31)
        _check_range("large_message_size", self.large_message_size, 1, 1 << 31)
        _check_range("copy_searches", self.copy_searches, 2, 1 << 16)
        if self.zstd_table_log != 0:
            _check_range("zstd_table_log", self.zstd_table_log, 6, 20)
        _check_range("brio_probe_every", self.brio_probe_every, 0, 1 << 16)
        if not (0.0 <= self.template_shortcut <= 1.0):
            raise ConfigError(f"template_shortcut must be in [0, 1], got {self.template_shortcut!r}",
                              field="template_shortcut")
        if not (0.0 <= self.slow_method_margin < 1.0):
            raise ConfigError(f"slow_method_margin must be in [0, 1), got {self.slow_method_margin!r}",
                              field="slow_method_margin")
        for name in ("zstd", "brotli", "brio", "templates", "fuzzy_templates", "zstd_raw_history"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be a bool", field=name)

    def context_params(self) -> dict[str, int]:
        """The values of :data:`CONTEXT_FIELDS` (what both peers must agree on)."""
        return {name: int(getattr(self, name)) for name in CONTEXT_FIELDS}

    @classmethod
    def resolve(cls, config: CodecConfig | None, options: Mapping[str, Any]) -> CodecConfig:
        """``config`` (default: the defaults) with ``options`` (keyword arguments) applied on top;
        an unknown option is a :class:`~aura_wire.errors.ConfigError` naming it.  A new ``level``
        in ``options`` keeps the knobs ``config`` set itself and takes the level's for the rest."""
        if config is None:
            return cls.from_mapping(options)
        if not options:
            return config
        base = {f.name: getattr(config, f.name) for f in fields(cls) if not f.name.startswith("_")}
        if "level" in options:
            preset = LEVELS[config.level]
            defaults = cls.__dataclass_fields__
            base = {name: v for name, v in base.items()
                    if name in config._explicit
                    or (v != defaults[name].default and (name not in preset or v != preset[name]))}
        return cls.from_mapping({**base, **options})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> CodecConfig:
        """Build from keyword arguments or a parsed TOML table; unknown keys are errors.

        ``level`` selects a preset (:data:`LEVELS`); the other keys given override it."""
        known = {f.name for f in fields(cls) if not f.name.startswith("_")}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown codec option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                              field=unknown[0])
        explicit = frozenset(values)
        if len(_EXPLICIT) < 256:
            explicit = _EXPLICIT.setdefault(explicit, explicit)
        try:
            cfg = cls(**dict(values), _explicit=explicit)
        except TypeError as exc:
            raise ConfigError(str(exc)) from exc
        # one instance per distinct configuration, shared by the connections that run it (frozen): each
        # Encoder and Decoder held its own, 1.6 KiB per side
        key = (cfg, explicit)
        got = _CONFIGS.get(key)
        if got is not None:
            return got
        if len(_CONFIGS) < 256:
            _CONFIGS[key] = cfg
        return cfg


#: One frozenset of explicit fields per distinct set, shared by the configs of every connection (one
#: made from each HELLO's own key strings held 2.8 KiB per connection); only known field names get here.
_EXPLICIT: dict[frozenset[str], frozenset[str]] = {}
#: The configurations built so far (at most 256), by value and explicit fields (from_mapping).
_CONFIGS: dict[tuple[CodecConfig, frozenset[str]], CodecConfig] = {}


def _check_range(name: str, value: object, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer, got {value!r}", field=name)
    if not (lo <= value <= hi):
        raise ConfigError(f"{name} must be in [{lo}, {hi}], got {value}", field=name)
