"""Build: compile the codec modules with mypyc unless AURA_WIRE_NO_COMPILE=1, and the C speedups.

The compiled set is listed once, in aura_wire/_compiled_modules.py, with the
reason for each module left out.  The same sources ship as .py files and are
the pure-Python fallback (see aura_wire/_loader.py).

BRIO's C module (aura_wire/codec/brio/_speedups.c) and the template render's
(aura_wire/codec/templates/_render.c) are optional, as websockets'
speedups.c is: when it fails to build, the install goes on without it and the
mypyc/Python path runs (aura_wire/codec/brio/speedups.py).  AURA_WIRE_NO_SPEEDUPS=1
skips them at build time (and turns them off at run time).  The templates' C module
(aura_wire/codec/templates/_speedups.c, the digit scans of DDIG and NUMS) is built and picked the
same way (aura_wire/codec/templates/speedups.py).
"""

import ast
import os

from setuptools import Extension, setup


def compiled_modules() -> list[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "aura_wire", "_compiled_modules.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED_MODULES":
            return list(ast.literal_eval(node.value))
    raise RuntimeError("COMPILED_MODULES not found")


ext_modules = []
if os.environ.get("AURA_WIRE_NO_COMPILE", "") in ("", "0"):
    from mypyc.build import mypycify

    # The build environment holds only the build requirements: the adapters'
    # libraries (websockets, redis, ...) are absent there.  mypy reaches the
    # adapters through the package's typed public API (aura_wire/__init__.py),
    # so it follows imports silently: the compiled modules are checked in full,
    # the modules they merely reach report nothing (mypy --strict over the whole
    # package runs in the test suite, where every dependency is installed).
    ext_modules = mypycify(
        ["--follow-imports=silent", *compiled_modules()],
        opt_level=os.environ.get("MYPYC_OPT_LEVEL", "3"),
        group_name="aura_wire_codec",
    )

if os.environ.get("AURA_WIRE_NO_SPEEDUPS", "") in ("", "0"):
    ext_modules.append(Extension(
        "aura_wire.codec.brio._speedups",
        sources=["aura_wire/codec/brio/_speedups.c"],
        optional=True,  # a failed build is a warning: the package then runs the mypyc/Python path
    ))
    ext_modules.append(Extension(
        "aura_wire.codec.templates._speedups",  # DDIG and NUMS digit scans (aura_wire/codec/templates/speedups.py)
        sources=["aura_wire/codec/templates/_speedups.c"],
        optional=True,
    ))
    ext_modules.append(Extension(
        "aura_wire.codec.templates._render",
        sources=["aura_wire/codec/templates/_render.c"],
        optional=True,  # likewise: templates/render.py renders every payload itself then
    ))

setup(ext_modules=ext_modules)
