"""Which path runs the digit scans of the relative slot forms: the optional C module ``_speedups`` or
the Python/mypyc code (numbers._ddig_delta, numbers._groups_pair).

``_speedups`` (``_speedups.c``) gives the Python path's answers
(tests/codec/templates/test_template_speedups.py).  It is built when a C
compiler works at install time and skipped otherwise, as BRIO's C module is
(aura_wire/codec/brio/speedups.py).  Not used when:

* ``AURA_WIRE_PURE=1`` (the pure-Python sources, no C at all) or
  ``AURA_WIRE_NO_SPEEDUPS=1`` (the mypyc build without the C modules) is set;
* the module is absent or was built for other constants than forms.py's.

The compiled callers read :data:`active` (an attribute read; a call of :func:`current`, an
uncompiled function, costs a Python frame per value), so :func:`use` switches the path at run time
(tests compare both in one process).  Not compiled: it only picks.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from aura_wire.codec.templates import forms

try:
    _c: ModuleType | None = importlib.import_module("aura_wire.codec.templates._speedups")
    _import_error = ""
except ImportError as e:  # not built: no compiler at install time, or AURA_WIRE_NO_SPEEDUPS=1 then
    _c = None
    _import_error = str(e)

_module: ModuleType | None = None
#: the C module when in use, else None
active: Any = None
#: why the module is not in use ("" when it is)
reason: str = ""


def _load() -> None:
    global _module, active, reason
    if os.environ.get("AURA_WIRE_PURE", "") not in ("", "0"):
        reason = "AURA_WIRE_PURE is set"
        return
    if _c is None:
        reason = f"not built ({_import_error})"
        return
    if getattr(_c, "MAX_DDIG_DIGITS", None) != forms.MAX_DDIG_DIGITS:
        reason = "built for another MAX_DDIG_DIGITS"
        return
    _module = _c
    if os.environ.get("AURA_WIRE_NO_SPEEDUPS", "") not in ("", "0"):
        reason = "AURA_WIRE_NO_SPEEDUPS is set"
        return
    active = _c


def current() -> Any:
    """The C module when in use, else None (then the Python/mypyc path runs)."""
    return active


def available() -> bool:
    """True when the C module is built and loadable (whether or not it is in use)."""
    return _module is not None


def use(enabled: bool) -> bool:
    """Turn the C path on or off at run time (for tests and benchmarks); returns the previous setting.
    Turning it on needs the module to be available."""
    global active
    previous = active is not None
    if enabled and _module is None:
        raise RuntimeError(f"template speedups not available: {reason}")
    active = _module if enabled else None
    return previous


_load()
