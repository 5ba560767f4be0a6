"""Which path runs BRIO's inner loops: the optional C module ``_speedups`` or the Python/mypyc code;
and likewise for the template decoder's render (``templates/_render.c``, which renders the common slot
forms and leaves the rest, and every error, to the Python path: tests/codec/templates/test_render_speedups.py).

``_speedups`` (``_speedups.c``) codes and decodes one whole frame per call
and commits positions to the history index; its frames are byte-identical to
the Python path's (tests/codec/brio/test_speedups.py).  It is built when a C
compiler works at install time and skipped otherwise, as websockets does with
its ``speedups.c``.  Not used when:

* ``AURA_WIRE_PURE=1`` (the pure-Python sources, no C at all) or
  ``AURA_WIRE_NO_SPEEDUPS=1`` (the mypyc build without the C module) is set;
* the module is absent or was built for another layout than model.py's.

:func:`current` is read once per frame, so :func:`use` switches the path at
run time (tests compare both in one process).  Not compiled: it only picks.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from aura_wire.codec.brio import matchfinder, model
from aura_wire.codec.brio.rangecoder import MAX_READ_PAST_END
from aura_wire.codec.templates import forms
from aura_wire.errors import LimitError, PayloadError

try:
    _c: ModuleType | None = importlib.import_module("aura_wire.codec.brio._speedups")
    _import_error = ""
except ImportError as e:  # not built: no compiler at install time, or AURA_WIRE_NO_SPEEDUPS=1 then
    _c = None
    _import_error = str(e)
try:
    # the template decoder's render (templates/_render.c): built, switched and checked with BRIO's
    _rc: ModuleType | None = importlib.import_module("aura_wire.codec.templates._render")
except ImportError:
    _rc = None

_module: ModuleType | None = None
_active: Any = None
_render_module: ModuleType | None = None
#: the template render module when in use (read by templates/render.py per payload), else None
_render: Any = None
#: why the module is not in use ("" when it is)
reason: str = ""


def _layout_ok(mod: ModuleType) -> bool:
    for name in ("NPROBS", "P_LIT", "P_MLEN", "P_RLEN", "P_SLOT", "P_SPEC", "P_ALIGN", "P_NLEN", "P_NSUB", "P_MLIT",
                 "MIN_LEN", "MAX_LEN", "MAX_MSG_SLOT", "CHECK_BITS", "CONTENT_HASH_BITS"):
        if getattr(mod, name, None) != getattr(model, name):
            return False
    for name in ("HIST_HASH_BITS", "CHAIN_DEPTH", "MCHAIN_DEPTH", "PCHAIN_MAX_WINDOW", "PCHAIN_MIN_SPAN",
                 "LONG_MESSAGE", "RECENT_FACTOR", "RECENT_MIN"):
        if getattr(mod, name, None) != getattr(matchfinder, name):
            return False
    return True


def _render_layout_ok(mod: ModuleType) -> bool:
    names = [n for n in dir(forms) if n.startswith("F_")] + ["Q_BIT", "MAX_ZPAD", "MAX_DEPTH", "MAX_DDIG_DIGITS"]
    return all(getattr(mod, n, None) == getattr(forms, n) for n in names)


def _load() -> None:
    global _module, _active, _render_module, _render, reason
    if os.environ.get("AURA_WIRE_PURE", "") not in ("", "0"):
        reason = "AURA_WIRE_PURE is set"
        return
    if _rc is not None and _render_layout_ok(_rc):
        _render_module = _rc
        if os.environ.get("AURA_WIRE_NO_SPEEDUPS", "") in ("", "0"):
            _render = _rc
    if _c is None:
        reason = f"not built ({_import_error})"
        return
    if not _layout_ok(_c):
        reason = "built for another BRIO layout"
        return
    _c.init(matchfinder.PRICE, model.LIT_CLASS)
    _module = _c
    if os.environ.get("AURA_WIRE_NO_SPEEDUPS", "") not in ("", "0"):
        reason = "AURA_WIRE_NO_SPEEDUPS is set"
        return
    _active = _c


def current() -> Any:
    """The C module when in use, else None (then the Python/mypyc path runs)."""
    return _active


def available() -> bool:
    """True when the C module is built and loadable (whether or not it is in use)."""
    return _module is not None


def render_available() -> bool:
    """True when the template render module is built and loadable (whether or not it is in use)."""
    return _render_module is not None


def use(enabled: bool) -> bool:
    """Turn the C paths (BRIO's, and the template render's when built) on or off at run time (for tests
    and benchmarks); returns the previous setting of BRIO's.  Turning it on needs BRIO's module."""
    global _active, _render
    previous = _active is not None
    if enabled and _module is None:
        raise RuntimeError(f"BRIO speedups not available: {reason}")
    _active = _module if enabled else None
    _render = _render_module if enabled else None
    return previous


# decode_frame's error codes -> the errors of the Python path (decode.py, rangecoder.py)
def raise_decode_error(code: int, value: int, offset: int, max_size: int) -> None:
    if code == 1:
        raise PayloadError("BRIO range coder: invalid initial code", offset=0, field="brio.payload")
    if code == 2:
        raise PayloadError(f"BRIO message length slot {value} out of range", offset=0, field="brio.length")
    if code == 3:
        raise LimitError(f"BRIO message of {value} bytes exceeds max_size {max_size}", field="brio.length")
    if code == 4:
        raise PayloadError("BRIO range coder: corrupt direct bits", offset=offset, field="brio.payload")
    if code == 5:
        raise PayloadError(f"BRIO match of {value} bytes runs past the message end", offset=offset,
                           field="brio.match")
    if code == 6:
        raise PayloadError(f"BRIO match distance {value} reaches before the window", offset=offset,
                           field="brio.distance")
    if code == 7:
        raise PayloadError("BRIO payload has bytes the decoder did not need", offset=offset, field="brio.payload")
    if code == 8:
        raise PayloadError("BRIO payload ends with a zero byte (not canonical)", offset=offset,
                           field="brio.payload")
    if code == 10:
        raise PayloadError(f"BRIO payload read more than {MAX_READ_PAST_END} bytes past its end", offset=offset,
                           field="brio.payload")
    raise PayloadError(f"BRIO decoder error {code}", offset=offset, field="brio.payload")


_load()
