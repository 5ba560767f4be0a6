"""The TEMPLATE method: templates with typed slots ("binary semantic" frames), spec/templates.md.

A template is literal bytes with typed slots.  Two kinds exist:

* **JSON shapes**: a JSON message with its values (the *holes* of one shape
  level) cut out; matched by a hash of the skeleton, in O(message).
* **Text templates**: space-separated tokens, each a literal or a slot with a
  literal prefix/suffix; matched through an index on (token count, first
  literal position, that token), never by a loop of regexes.

A TEMPLATE payload is ``uvarint template_id`` then the slot values (see
:mod:`~aura_wire.codec.templates.atoms`).  The decoder rebuilds the message by
interleaving literals and values, so the round trip is exact by construction;
where the encoder cannot guarantee it, :meth:`~aura_wire.codec.templates.coders.TemplateEncoder.encode` returns
None and the Encoder uses another method.

A message no template matches but one nearly does ("do not" vs "don't") may be
coded as a *fuzzy* payload (reference mode 3): that template's slots plus a
byte edit script over its output, verified by decoding before use; its state
update is that of a frame of another method (spec §4.3).

In context mode both sides keep mirrored per-connection state: each slot's
previous value (for SAME / delta forms) and *runtime templates* learned from
messages no template matched.  The state changes only in ``commit`` (encoder),
``decode``/``observe`` (decoder), with the same rules on both sides.

Modules, from the bottom up: ``section`` (the dictionary section, :class:`Template`,
:class:`TemplateSet`), ``forms``/``numbers``/``copy``/``atoms`` (slot values),
``json_shape`` and ``text`` (matching), ``state`` (per-connection state),
``edits``, ``payload`` and ``fuzzy`` (payloads), ``coders`` (:class:`TemplateEncoder`,
:class:`TemplateDecoder`).  Training lives in :mod:`aura_wire.training.templates`.
No I/O here.
"""
