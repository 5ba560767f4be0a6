"""Learning from sample messages: dictionaries, BRIO models, templates (offline, off the hot path).

The only room that may import both codec internals and learning code; the
codec never imports it.  :func:`train_dictionary` is the entry point.  No
network I/O here.
"""

from aura_wire.training.dictionary import train_dictionary

__all__ = ["train_dictionary"]
