"""BRIO: aura_wire's codec for small messages sent one after another (spec/brio.md).

LZ77 whose matches reach into a shared, trained content block (from the
dictionary) and, in context mode, into the connection's recent history;
entropy-coded with an adaptive binary range coder (LZMA-style 12-bit
probabilities, shift-5 adaptation, bit trees, rep matches).  The models start
from probabilities stored in the dictionary (or from a fixed default without
one) and, in context mode, keep adapting per connection in lock-step on both
sides, so no frame carries a table.  A frame ends with the fewest bytes that
pin the final interval: the decoder knows where the payload ends and reads
zeros past it.

Pure functions and small classes over bytes; no I/O.  Written for mypyc:
probabilities live in ``librt.vecs.vec[i16]`` and output in
``librt.strings.BytesWriter`` (native, compact, fast when compiled; the same
sources run uncompiled).  Every decoder path rejects malformed input with an
:class:`~aura_wire.errors.AuraError`; decoded output is bounded by
``max_size`` before anything is allocated.

Modules: ``model`` (format constants, models, :class:`BrioShared`), ``rangecoder``,
``matchfinder`` (encoder only), ``encode`` (:class:`BrioEncoder`), ``decode``
(:class:`BrioDecoder`).  Training lives in :mod:`aura_wire.training.brio`.
"""
