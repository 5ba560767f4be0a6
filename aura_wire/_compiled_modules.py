"""The modules mypyc compiles, listed once (read by setup.py and by the loader).

Modules left out, with the reason:

* ``aura_wire.errors``: exception classes, raised rarely; kept pure so
  tracebacks and pickling behave as in CPython.
* ``aura_wire.codec.config``, ``aura_wire.codec.dictionary``,
  ``aura_wire.codec.stdcodecs``: run once per connection or wrap C libraries
  (zstandard, brotli); compiling them gains nothing.
* ``aura_wire.metrics``, ``session``, ``middleware``, ``client``, ``cli``: not
  hot, or they use asyncio/dynamic features mypyc does not speed up.
"""

COMPILED_MODULES = [
    "aura_wire/codec/varint.py",
    "aura_wire/codec/frame.py",
    "aura_wire/codec/encoder.py",
    "aura_wire/codec/brio.py",
    "aura_wire/codec/brio_train.py",
    "aura_wire/codec/templates.py",
    "aura_wire/codec/template_atoms.py",
    "aura_wire/codec/template_json.py",
    "aura_wire/codec/discovery.py",
]
