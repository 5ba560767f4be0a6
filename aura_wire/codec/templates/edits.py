"""The byte edit script of fuzzy TEMPLATE payloads (spec/templates.md §4.3): build and apply.
"""

from __future__ import annotations

from aura_wire.codec.templates.forms import (
    get_uv,
)
from aura_wire.errors import (
    LimitError,
    PayloadError,
)


def _apply_edits(buf: bytes, pos: int, src: bytearray, nedits: int,
                 max_size: int) -> tuple[bytearray, int]:
    """Apply a fuzzy payload's edit script to the rendered template ``src`` (spec §4.3)."""
    out = bytearray()
    c = 0
    n = len(src)
    for e in range(nedits):
        at = pos
        skip, pos = get_uv(buf, pos, "template.edit.skip")
        dl, pos = get_uv(buf, pos, "template.edit.delete")
        ins, pos = get_uv(buf, pos, "template.edit.insert")
        if e > 0 and skip == 0:
            raise PayloadError("adjacent fuzzy edits", offset=at, field="template.edit.skip")
        if dl == 0 and ins == 0:
            raise PayloadError("empty fuzzy edit", offset=at, field="template.edit")
        if skip > n - c or dl > n - c - skip:
            raise PayloadError("fuzzy edit runs past the rendered template", offset=at, field="template.edit")
        if ins > len(buf) - pos:
            raise PayloadError("inserted bytes run past the payload", offset=pos, field="template.edit.insert")
        if len(out) + skip + ins > max_size:
            raise LimitError(f"decoded message exceeds max_message_size {max_size}", offset=at,
                             field="template.edit")
        out += src[c:c + skip]
        c += skip + dl
        out += buf[pos:pos + ins]
        pos += ins
    if len(out) + n - c > max_size:
        raise LimitError(f"decoded message exceeds max_message_size {max_size}", offset=pos,
                         field="template.edit")
    out += src[c:]
    return out, pos


def _edit_script(rparts: list[bytes], mparts: list[bytes]) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """The rendered template and the edits (start, end, inserted bytes) that turn it into the
    message; pairs of parts correspond, equal pairs are kept."""
    rend = bytearray()
    edits: list[tuple[int, int, bytes]] = []
    for x in range(len(rparts)):
        r = rparts[x]
        m = mparts[x]
        pos = len(rend)
        rend += r
        if r == m:
            continue
        lim = min(len(r), len(m))
        k = 0
        while k < lim and r[k] == m[k]:
            k += 1
        s = 0
        while s < lim - k and r[len(r) - 1 - s] == m[len(m) - 1 - s]:
            s += 1
        e0 = pos + k
        e1 = pos + len(r) - s
        ins = m[k:len(m) - s]
        if edits and e0 - edits[-1][1] <= 2:
            p0, p1, pins = edits[-1]
            edits[-1] = (p0, e1, pins + bytes(rend[p1:e0]) + ins)
        else:
            edits.append((e0, e1, ins))
    return bytes(rend), edits
