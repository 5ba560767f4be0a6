"""JSON shapes for the TEMPLATE method (spec/templates.md §3.2).

A byte-level JSON scanner that keeps exact spans (no decoding, no
re-serialisation), the *holes* of a message at each shape level, the
skeleton key used to find a shape in O(message) time, and the generic
(schema-less) coding of a container that fills one hole.  Nothing here
normalises a byte: a shape is the message with its hole spans cut out, so the
message is the shape's literal gaps interleaved with the hole values.

No I/O, no global state.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from aura_wire.codec.templates.atoms import encode_scalar
from aura_wire.codec.templates.forms import (
    F_ARR,
    F_LIT,
    F_OBJ,
    F_SAME,
    MAX_DEPTH,
    AtomCtx,
    put_uv,
)
from aura_wire.codec.templates.numbers import _digit_run_end

K_STR: Final = 0
K_NUM: Final = 1
K_LIT: Final = 2
K_ARR: Final = 3
K_OBJ: Final = 4

#: Shape levels, tried in this order: 0 expands every container (arrays with
#: their actual length); 1 expands objects only (arrays are holes); 2 expands
#: objects of depth < 2; 3 expands only the root object.
LEVELS: Final = 4
MAX_JSON_DEPTH: Final = MAX_DEPTH


class Node:
    """One JSON value: kind, exact byte span, depth, children (and object key spans).

    Scalars share one empty ``children`` / ``keys`` list (never mutated).
    """

    __slots__ = ("kind", "start", "end", "depth", "children", "keys")

    def __init__(self, kind: int, start: int, depth: int, end: int = -1,
                 children: list[Node] | None = None, keys: list[tuple[int, int]] | None = None) -> None:
        self.kind = kind
        self.start = start
        self.end = start if end < 0 else end
        self.depth = depth
        self.children: list[Node] = [] if children is None else children
        self.keys: list[tuple[int, int]] = [] if keys is None else keys  # key content spans (without quotes)


#: The children / keys of every scalar node (shared, never mutated).
_NO_KIDS: Final[list[Node]] = []
_NO_KEYS: Final[list[tuple[int, int]]] = []


class _Bad(Exception):
    pass


def _ws(s: bytes, i: i64, n: i64) -> i64:
    while i < n:
        c: i64 = s[i]
        if c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09:
            i += 1
        else:
            break
    return i


def _string_end(s: bytes, i: i64, n: i64) -> i64:
    """``s[i]`` is the opening quote; return the index after the closing quote."""
    j: i64 = i + 1
    while True:
        if j >= n:
            raise _Bad()
        c: i64 = s[j]
        if c == 0x22:
            return j + 1
        if c == 0x5C:
            j += 2
            continue
        if c < 0x20:
            raise _Bad()
        j += 1


def _number_end(s: bytes, i: i64, n: i64) -> i64:
    j: i64 = i
    if j < n and s[j] == 0x2D:
        j += 1
    if j >= n:
        raise _Bad()
    c: i64 = s[j]
    if c == 0x30:
        j += 1
    elif 0x31 <= c <= 0x39:
        j = _digit_run_end(s, j, n)
    else:
        raise _Bad()
    if j < n and s[j] == 0x2E:
        j += 1
        k: i64 = j
        j = _digit_run_end(s, j, n)
        if j == k:
            raise _Bad()
    if j < n:
        c = s[j]
        if c == 0x65 or c == 0x45:
            j += 1
            if j < n:
                c = s[j]
                if c == 0x2B or c == 0x2D:
                    j += 1
            k = j
            j = _digit_run_end(s, j, n)
            if j == k:
                raise _Bad()
    return j


def _value(s: bytes, i: i64, n: i64, depth: i64) -> Node:
    if i >= n:
        raise _Bad()
    c: i64 = s[i]
    if c == 0x22:
        return Node(K_STR, i, depth, _string_end(s, i, n), _NO_KIDS, _NO_KEYS)
    if c == 0x7B or c == 0x5B:
        if depth >= MAX_JSON_DEPTH:
            raise _Bad()
        is_obj = c == 0x7B
        close: i64 = 0x7D if is_obj else 0x5D
        j = _ws(s, i + 1, n)
        if j < n and s[j] == close:
            return Node(K_OBJ if is_obj else K_ARR, i, depth, j + 1, [], [])
        children: list[Node] = []
        keys: list[tuple[int, int]] = []
        while True:
            if is_obj:
                if j >= n or s[j] != 0x22:
                    raise _Bad()
                ke = _string_end(s, j, n)
                keys.append((int(j + 1), int(ke - 1)))
                j = _ws(s, ke, n)
                if j >= n or s[j] != 0x3A:
                    raise _Bad()
                j = _ws(s, j + 1, n)
            child = _value(s, j, n, depth + 1)
            children.append(child)
            j = _ws(s, child.end, n)
            if j >= n:
                raise _Bad()
            c = s[j]
            if c == 0x2C:
                j = _ws(s, j + 1, n)
                continue
            if c == close:
                return Node(K_OBJ if is_obj else K_ARR, i, depth, j + 1, children, keys)
            raise _Bad()
    if c == 0x74 and s[i:i + 4] == b"true":
        return Node(K_LIT, i, depth, i + 4, _NO_KIDS, _NO_KEYS)
    if c == 0x66 and s[i:i + 5] == b"false":
        return Node(K_LIT, i, depth, i + 5, _NO_KIDS, _NO_KEYS)
    if c == 0x6E and s[i:i + 4] == b"null":
        return Node(K_LIT, i, depth, i + 4, _NO_KIDS, _NO_KEYS)
    return Node(K_NUM, i, depth, _number_end(s, i, n), _NO_KIDS, _NO_KEYS)


def parse(s: bytes) -> Node | None:
    """Parse a JSON text whose root is an object or array; None when it is not one.

    Surrounding whitespace is allowed (it becomes part of the shape).
    """
    n: i64 = len(s)
    i = _ws(s, 0, n)
    if i >= n or (s[i] != 0x7B and s[i] != 0x5B):
        return None
    try:
        root = _value(s, i, n, 0)
    except (_Bad, RecursionError):
        return None
    if _ws(s, root.end, n) != n:
        return None
    return root


def _expand(node: Node, level: int) -> bool:
    if node.kind == K_OBJ:
        if level <= 1:
            return True
        return node.depth < (2 if level == 2 else 1)
    if node.kind == K_ARR:
        return level == 0
    return False


def holes(root: Node, level: int) -> list[Node] | None:
    """The hole values of the message at ``level`` (in order); None when the level does not apply."""
    if not _expand(root, level):
        return None
    out: list[Node] = []
    _collect(root, level, out)
    return out


def _collect(node: Node, level: i64, out: list[Node]) -> None:
    # pre-order walk in document order (depth is bounded by MAX_JSON_DEPTH)
    for ch in node.children:
        k = ch.kind
        if k == K_OBJ:
            if level <= 1 or ch.depth < (2 if level == 2 else 1):
                _collect(ch, level, out)
            else:
                out.append(ch)
        elif k == K_ARR and level == 0:
            _collect(ch, level, out)
        else:
            out.append(ch)


def skeleton(s: bytes, hs: list[Node]) -> bytes:
    """The shape key: the literal gaps between holes joined by NUL (NUL cannot occur in JSON)."""
    parts: list[bytes] = []
    prev = 0
    for h in hs:
        parts.append(s[prev:h.start])
        prev = h.end
    parts.append(s[prev:])
    return b"\x00".join(parts)


def gaps_of(s: bytes, hs: list[Node]) -> list[bytes]:
    parts: list[bytes] = []
    prev = 0
    for h in hs:
        parts.append(s[prev:h.start])
        prev = h.end
    parts.append(s[prev:])
    return parts


def encode_value(out: bytearray, s: bytes, node: Node, last: bytes | None,
                 atom_ctx: AtomCtx, prev_kids: list[Node] | None = None) -> bool:
    """Append the coding of one JSON value; False when it cannot be coded exactly.

    Containers are coded generically (count, then members) and only when they
    are minified (no whitespace), since the generic coding has no place for it.
    """
    k = node.kind
    if k == K_STR:
        last_content: bytes | None = None
        if last is not None and len(last) >= 2 and last[0] == 0x22:
            last_content = last[1:-1]
        elif last is not None:
            last_content = last
        atom_ctx.at = node.start + 1
        encode_scalar(out, s[node.start + 1:node.end - 1], True, last_content, atom_ctx)
        return True
    if k == K_NUM:
        last_content2: bytes | None = None
        if last is not None:
            last_content2 = last[1:-1] if (len(last) >= 2 and last[0] == 0x22) else last
        atom_ctx.at = node.start
        encode_scalar(out, s[node.start:node.end], False, last_content2, atom_ctx)
        return True
    if k == K_LIT:
        c = s[node.start]
        out.append((0 if c == 0x6E else (1 if c == 0x74 else 2)) << 4 | F_LIT)
        return True
    ch = node.children
    n = len(ch)
    # minified check: the span must equal the tight serialisation length
    if k == K_ARR:
        tight = 2 + (n - 1 if n else 0)
        for c2 in ch:
            tight += c2.end - c2.start
    else:
        tight = 2 + (n - 1 if n else 0)
        for j in range(n):
            ks, ke = node.keys[j]
            tight += (ke - ks) + 3 + ch[j].end - ch[j].start
    if tight != node.end - node.start:
        return False
    form = F_ARR if k == K_ARR else F_OBJ
    if n < 7:
        out.append((n << 4) | form)
    else:
        out.append(0x70 | form)
        put_uv(out, n - 7)
    if k == K_OBJ:
        for j in range(n):
            ks, ke = node.keys[j]
            atom_ctx.at = ks
            encode_scalar(out, s[ks:ke], True, None, atom_ctx)
            if not encode_value(out, s, ch[j], None, atom_ctx):
                return False
        return True
    # array elements: predicted by the previous sibling array's element (prev_kids), else by
    # the previous element (spec/templates.md §4.3)
    prev_el: Node | None = None
    for j in range(n):
        el = ch[j]
        pn = prev_kids[j] if (prev_kids is not None and j < len(prev_kids)) else prev_el
        lv = s[pn.start:pn.end] if pn is not None else None
        pk = prev_el.children if (prev_el is not None and prev_el.kind == K_ARR) else None
        if lv is not None and el.kind < K_ARR and s[el.start:el.end] == lv:
            out.append(F_SAME)
        elif not encode_value(out, s, el, lv, atom_ctx, pk):
            return False
        prev_el = el
    return True
