"""Codec parameters the server announces and the client adopts (spec/session.md §4.1.1).

In context mode both peers of a connection run mirrored codec state, shaped by
the context flag, the revision of the context rules
(:data:`~aura_wire.codec.config.CONTEXT_REVISION`) and the
:data:`~aura_wire.codec.config.CONTEXT_FIELDS` of the codec configuration.
The server decides them for the connection and sends them in HELLO (or in the
``permessage-aura`` response, spec §9); the client checks each against the
bounds it accepts and then builds its Encoder and Decoder with them, so both
sides run identical context state by construction.

This module maps parameters to registered keys, builds the announced set from
a configuration and validates a received set.  Every failure is a
:class:`~aura_wire.errors.ProtocolError` (close 1002) whose message says what
differs.  No I/O here.
"""

from __future__ import annotations

from typing import Any, Final, Mapping, NamedTuple, Sequence

from aura_wire.codec.config import (
    CONTEXT_FIELD_DEFAULTS,
    CONTEXT_FIELDS,
    CONTEXT_REVISION,
    DEFAULT_LEVEL,
    LEVELS,
    CodecConfig,
)
from aura_wire.errors import ConfigError, ProtocolError

__all__ = [
    "PARAM_CONTEXT",
    "PARAM_REVISION",
    "PARAM_KEYS",
    "PARAM_NAMES",
    "OPTIONAL_PARAMS_LOW",
    "MAX_HELLO_PARAMS",
    "DEFAULT_PARAMS",
    "ContextParams",
    "announced_params",
    "adopt_params",
    "check_params",
    "context_memory",
    "codec_config_with",
    "SERVER_WINDOW",
    "SERVER_TEMPLATE_BYTES",
    "server_codec_config",
]

#: Key 0: 1 when data frames use context mode (both directions), 0 for stateless frames.
PARAM_CONTEXT: Final = 0
#: Key 1: the revision of the context rules and payload forms the server runs.
PARAM_REVISION: Final = 1
#: Registered keys, in key order: name -> key.  Keys 2-8 are the CONTEXT_FIELDS; key 8 is sent only
#: when it differs from its default (CONTEXT_FIELD_DEFAULTS), and taken as the default when absent.
PARAM_KEYS: Final[dict[str, int]] = {
    "context": PARAM_CONTEXT,
    "revision": PARAM_REVISION,
    "window": 2,
    "zstd_window": 3,
    "zstd_history_min_size": 4,
    "template_brio_window": 5,
    "max_runtime_templates": 6,
    "max_runtime_template_bytes": 7,
    "template_state_bytes": 8,
}
PARAM_NAMES: Final[dict[int, str]] = {k: n for n, k in PARAM_KEYS.items()}
#: Keys from here on are optional: a receiver that does not know one ignores it.
#: Unknown keys below it are mandatory to understand: the receiver closes with 1002.
OPTIONAL_PARAMS_LOW: Final = 64
#: At most this many (key, value) pairs in one HELLO.
MAX_HELLO_PARAMS: Final = 64

assert tuple(PARAM_KEYS)[2:] == CONTEXT_FIELDS, "one registered key per CONTEXT_FIELDS entry, in order"


class ContextParams(NamedTuple):
    """The parameters of one connection: context flag, revision, and the CONTEXT_FIELDS values."""

    context: bool
    revision: int
    values: dict[str, int]  # every name of CONTEXT_FIELDS

    def pairs(self) -> tuple[tuple[int, int], ...]:
        """The HELLO parameter block: every registered key, ascending, but those at their
        :data:`~aura_wire.codec.config.CONTEXT_FIELD_DEFAULTS` value (spec §4.1.1)."""
        out = [(PARAM_CONTEXT, int(self.context)), (PARAM_REVISION, self.revision)]
        out += [(PARAM_KEYS[name], self.values[name]) for name in CONTEXT_FIELDS
                if CONTEXT_FIELD_DEFAULTS.get(name) != self.values[name]]
        return tuple(out)


#: The BRIO history (``window``) a server announces when its configuration does not choose one:
#: 32 KiB, the window of permessage-deflate w15, the incumbent a connection is compared with.
#: The codec's own default (8 KiB) is sized for many connections per process; on real sockets
#: it lost to deflate on large JSON messages (DevTools traffic: 0.94x deflate w15 without a
#: dictionary, 1.11x with 32 KiB; logs 0.91x -> 0.95x; benchmarks/e2e_sessions.py, docs/benchmarks.md).
#: Cost: about 40 KiB more per connection (encoder and decoder), far below deflate w15's ~295 KiB.
SERVER_WINDOW: Final = 32768

#: The runtime-template limit (``max_runtime_template_bytes``) a server announces when its
#: configuration does not choose one: 16 KiB, four times the codec default.  It is a ceiling, not
#: a size: each encoder starts its own budget at 4 KiB and grows it only to keep templates that
#: have coded template frames (codec/templates/state.py, BUDGET_START), so connections whose
#: templates do not pay (large JSON events) stay at 4 KiB and pay nothing for the higher limit.
#: Logs with many paying formats keep them (Android logs: 0.96x -> 1.08x deflate w15 with the
#: BRIO trial rule; docs/benchmarks.md).  Cost: up to 12 KiB more per direction, only where used.
SERVER_TEMPLATE_BYTES: Final = 16384

#: CodecConfig fields the server sets when neither the user nor the chosen level does.
_SERVER_DEFAULTS: Final = (("window", SERVER_WINDOW), ("max_runtime_template_bytes", SERVER_TEMPLATE_BYTES))


def server_codec_config(codec_config: Mapping[str, Any]) -> dict[str, Any]:
    """The codec configuration a server session runs for ``codec_config``: the user's knobs, and
    :data:`SERVER_WINDOW` as ``window`` and :data:`SERVER_TEMPLATE_BYTES` as
    ``max_runtime_template_bytes`` unless the user or the chosen ``level`` sets them."""
    cfg = dict(codec_config)
    preset = LEVELS.get(int(cfg.get("level", DEFAULT_LEVEL)), {})
    for name, value in _SERVER_DEFAULTS:
        if name not in cfg and name not in preset:
            cfg[name] = value
    return cfg


def announced_params(context: bool, codec_config: Mapping[str, Any]) -> ContextParams:
    """What a server announces for ``codec_config`` (defaults filled in; raises ConfigError if invalid)."""
    cfg = CodecConfig.from_mapping(codec_config)
    return ContextParams(context, CONTEXT_REVISION, cfg.context_params())


#: The reference defaults (context mode, this revision, CodecConfig defaults) as a HELLO parameter block.
DEFAULT_PARAMS: Final[tuple[tuple[int, int], ...]] = announced_params(True, {}).pairs()


def context_memory(values: Mapping[str, int]) -> int:
    """Bytes of history one direction may hold under ``values`` (the quantity ``max_context_memory`` bounds).

    The sum of the BRIO window, the ZSTD history, the TEMPLATE_BRIO window and
    the runtime-template budget; the fixed-size models come on top.
    """
    return (values["window"] + values["zstd_window"] + values["template_brio_window"]
            + values["max_runtime_template_bytes"])


def adopt_params(pairs: Sequence[tuple[int, int]]) -> ContextParams:
    """Read a HELLO parameter block (keys ascending, as :func:`~.control.parse_control` checks).

    Unknown keys below :data:`OPTIONAL_PARAMS_LOW` and missing registered
    keys raise :class:`ProtocolError` (a key of CONTEXT_FIELD_DEFAULTS left out takes its
    default); optional keys are ignored.  Values are
    not range-checked here (see :func:`check_params`).
    """
    got: dict[str, int] = {}
    for key, value in pairs:
        name = PARAM_NAMES.get(key)
        if name is not None:
            got[name] = value
        elif key < OPTIONAL_PARAMS_LOW:
            raise ProtocolError(f"HELLO has unknown mandatory parameter key {key}", field="hello.params")
    missing = [n for n in PARAM_KEYS if n not in got and n not in CONTEXT_FIELD_DEFAULTS]
    if missing:
        raise ProtocolError(f"HELLO lacks parameter(s) {', '.join(missing)}", field="hello.params")
    got = {**CONTEXT_FIELD_DEFAULTS, **got}
    if got["context"] > 1:
        raise ProtocolError(f"HELLO context flag must be 0 or 1, got {got['context']}", field="hello.context")
    return ContextParams(got["context"] == 1, got["revision"], {n: got[n] for n in CONTEXT_FIELDS})


def check_params(params: ContextParams, *, allow_context: bool, max_context_memory: int,
                 codec_config: Mapping[str, Any], field: str = "hello") -> dict[str, Any]:
    """Client: accept the server's parameters or raise :class:`ProtocolError` saying why.

    Returns the codec configuration to build the Encoder and Decoder with: the
    client's own ``codec_config`` (encoder-only knobs such as ``zstd_level``)
    with every CONTEXT_FIELDS value replaced by the server's.

    * A revision other than :data:`CONTEXT_REVISION`: refused whatever the
      context flag (the revision also covers payload forms of stateless frames).
    * Context mode when the client does not allow it (``allow_context`` False).
    * A value outside the :class:`CodecConfig` range of its field.
    * In context mode, :func:`context_memory` above ``max_context_memory``.
    """
    if params.revision != CONTEXT_REVISION:
        raise ProtocolError(f"server runs context revision {params.revision}, this client runs "
                            f"{CONTEXT_REVISION}", field=f"{field}.revision")
    if params.context and not allow_context:
        raise ProtocolError("server uses context mode, which this client was configured to refuse",
                            field=f"{field}.context")
    merged = codec_config_with(codec_config, params.values)
    try:
        CodecConfig.from_mapping(merged)
    except ConfigError as exc:
        raise ProtocolError(f"server parameter out of range: {exc.reason}", field=f"{field}.params") from exc
    if params.context:
        need = context_memory(params.values)
        if need > max_context_memory:
            raise ProtocolError(f"server context needs {need} bytes per direction, above this client's "
                                f"max_context_memory {max_context_memory}", field=f"{field}.params")
    return merged


def codec_config_with(codec_config: Mapping[str, Any], values: Mapping[str, int]) -> dict[str, Any]:
    """``codec_config`` with the CONTEXT_FIELDS taken from ``values``."""
    merged = dict(codec_config)
    for name in CONTEXT_FIELDS:
        merged[name] = values[name]
    return merged


#: HELLO transfer keys (spec §4.1.2): the coding of in-band transfers, then one key per listed dictionary.
PARAM_TRANSFER_CODING: Final = 64
PARAM_CODED_SIZE_BASE: Final = 80
PARAM_SAVING_BASE: Final = 96

#: Method bit (spec/wire-format.md §3) -> the CodecConfig switch that turns the method off.
_METHOD_SWITCHES: Final = ((1, "zstd"), (2, "brotli"), (3, "templates"), (4, "brio"))
_METHOD_TEMPLATE_BRIO: Final = 5


def restrict_methods(codec_config: Mapping[str, Any], decodes: int | None) -> dict[str, Any]:
    """The server's codec options for a client that decodes only the methods in ``decodes`` (spec §3.5).

    Each missing method is switched off; without TEMPLATE_BRIO (bit 5) or TEMPLATE
    (bit 3) ``template_brio_window`` is 0, so the announced context state matches
    the frames that can occur.  ``None`` (no ``aura.decodes`` hint) changes nothing.
    """
    out = dict(codec_config)
    if decodes is None:
        return out
    for bit, name in _METHOD_SWITCHES:
        if not decodes >> bit & 1:
            out[name] = False
    if not decodes >> _METHOD_TEMPLATE_BRIO & 1 or not decodes >> 3 & 1:
        out["template_brio_window"] = 0
    return out
