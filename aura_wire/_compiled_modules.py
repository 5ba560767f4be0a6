"""The modules mypyc compiles, listed once (read by setup.py and by the loader).

Modules left out, with the reason:

* ``aura_wire.errors``: exception classes, raised rarely; kept pure so
  tracebacks and pickling behave as in CPython.
* ``aura_wire.codec.config``, ``aura_wire.codec.dictionary``,
  ``aura_wire.codec.stdcodecs``: run once per connection or wrap C libraries
  (zstandard, brotli); compiling them gains nothing.
* ``aura_wire.training.dictionary``, ``aura_wire.training.economics``: run once
  per dictionary and only call the compiled codec and trainers.
* the package ``__init__`` modules: docstrings and re-exports only.
* ``aura_wire.codec.brio.speedups``: picks BRIO's path once per frame (the optional C module
  ``_speedups``, built from ``_speedups.c`` by setup.py, or the compiled Python), and the template
  decoder's (``templates/_render.c``: render and commit of a TEMPLATE payload); not hot.
  ``aura_wire.codec.templates.speedups`` picks the path of the DDIG and NUMS digit scans the same way.
* ``session``, ``middleware``, ``client``, ``extension``, ``files``, ``tools``: not
  hot, or they use asyncio/dynamic features mypyc does not speed up.
"""

COMPILED_MODULES = [
    "aura_wire/codec/varint.py",
    "aura_wire/codec/frame.py",
    "aura_wire/codec/shared.py",
    "aura_wire/codec/encoder.py",
    "aura_wire/codec/decoder.py",
    "aura_wire/codec/brio/model.py",
    "aura_wire/codec/brio/rangecoder.py",
    "aura_wire/codec/brio/matchfinder.py",
    "aura_wire/codec/brio/encode.py",
    "aura_wire/codec/brio/decode.py",
    "aura_wire/codec/templates/section.py",
    "aura_wire/codec/templates/forms.py",
    "aura_wire/codec/templates/numbers.py",
    "aura_wire/codec/templates/copy.py",
    "aura_wire/codec/templates/atoms.py",
    "aura_wire/codec/templates/json_shape.py",
    "aura_wire/codec/templates/text.py",
    "aura_wire/codec/templates/context.py",
    "aura_wire/codec/templates/render.py",
    "aura_wire/codec/templates/pool.py",
    "aura_wire/codec/templates/state.py",
    "aura_wire/codec/templates/edits.py",
    "aura_wire/codec/templates/payload.py",
    "aura_wire/codec/templates/fuzzy.py",
    "aura_wire/codec/templates/coders.py",
    "aura_wire/metrics.py",
    "aura_wire/training/brio.py",
    "aura_wire/training/templates.py",
    "aura_wire/training/discovery.py",
]
