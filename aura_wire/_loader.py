"""Choose between the mypyc-compiled codec and its pure-Python sources.

The compiled modules are extension modules next to their ``.py`` sources.
Python prefers the extension; this finder steps in only to (a) force the
pure sources when ``AURA_WIRE_PURE=1`` is set, and (b) fall back to the
sources when an extension module exists but cannot be loaded (wrong ABI, a
partial install).  ``is_compiled()`` reports what actually got loaded.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Sequence

from aura_wire._compiled_modules import COMPILED_MODULES

MODULE_NAMES = [p[:-3].replace("/", ".") for p in COMPILED_MODULES]
_fallbacks: list[str] = []


def pure_requested() -> bool:
    return os.environ.get("AURA_WIRE_PURE", "") not in ("", "0")


def _source_spec(name: str, origin: str) -> importlib.machinery.ModuleSpec | None:
    folder = os.path.dirname(origin)
    source = os.path.join(folder, name.rsplit(".", 1)[1] + ".py")
    if not os.path.exists(source):
        return None
    return importlib.util.spec_from_file_location(name, source)


class _FallbackLoader(importlib.abc.Loader):
    def __init__(self, name: str, ext_spec: importlib.machinery.ModuleSpec) -> None:
        self._name = name
        self._ext_spec = ext_spec
        self._src_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        loader = self._ext_spec.loader
        assert loader is not None
        try:
            return loader.create_module(self._ext_spec)
        except ImportError:
            self._src_spec = _source_spec(self._name, self._ext_spec.origin or "")
            if self._src_spec is None:
                raise
            _fallbacks.append(self._name)
            return None

    def exec_module(self, module: ModuleType) -> None:
        if self._src_spec is not None:
            module.__file__ = self._src_spec.origin
            assert self._src_spec.loader is not None
            self._src_spec.loader.exec_module(module)
            return
        loader = self._ext_spec.loader
        assert loader is not None
        loader.exec_module(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULE_NAMES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return spec
        if not spec.origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            return spec
        if pure_requested():
            return _source_spec(fullname, spec.origin) or spec
        return importlib.util.spec_from_loader(fullname, _FallbackLoader(fullname, spec), origin=spec.origin)


def install() -> None:
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def is_compiled() -> bool:
    """True exactly when every listed codec module was loaded from its compiled extension."""
    for name in MODULE_NAMES:
        mod = sys.modules.get(name)
        if mod is None:
            mod = importlib.import_module(name)
        f = getattr(mod, "__file__", "") or ""
        if not f.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            return False
    return True
