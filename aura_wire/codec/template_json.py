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

from aura_wire.codec.template_atoms import (
    F_ARR,
    F_SAME,
    AtomCtx,
    F_LIT,
    F_OBJ,
    MAX_DEPTH,
    encode_scalar,
    put_uv,
)

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
    """One JSON value: kind, exact byte span, depth, children (and object key spans)."""

    __slots__ = ("kind", "start", "end", "depth", "children", "keys")

    def __init__(self, kind: int, start: int, depth: int) -> None:
        self.kind = kind
        self.start = start
        self.end = start
        self.depth = depth
        self.children: list[Node] = []
        self.keys: list[tuple[int, int]] = []  # key content spans (without quotes)


class _Bad(Exception):
    pass


def _ws(s: bytes, i: int, n: int) -> int:
    while i < n:
        c = s[i]
        if c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09:
            i += 1
        else:
            break
    return i


def _string_end(s: bytes, i: int, n: int) -> int:
    """``s[i]`` is the opening quote; return the index after the closing quote."""
    j: i64 = i + 1
    while True:
        if j >= n:
            raise _Bad()
        c: i64 = s[j]
        if c == 0x22:
            return int(j + 1)
        if c == 0x5C:
            j += 2
            continue
        if c < 0x20:
            raise _Bad()
        j += 1


def _number_end(s: bytes, i: int, n: int) -> int:
    j = i
    if j < n and s[j] == 0x2D:
        j += 1
    if j >= n:
        raise _Bad()
    if s[j] == 0x30:
        j += 1
    elif 0x31 <= s[j] <= 0x39:
        while j < n and 0x30 <= s[j] <= 0x39:
            j += 1
    else:
        raise _Bad()
    if j < n and s[j] == 0x2E:
        j += 1
        k = j
        while j < n and 0x30 <= s[j] <= 0x39:
            j += 1
        if j == k:
            raise _Bad()
    if j < n and (s[j] == 0x65 or s[j] == 0x45):
        j += 1
        if j < n and (s[j] == 0x2B or s[j] == 0x2D):
            j += 1
        k = j
        while j < n and 0x30 <= s[j] <= 0x39:
            j += 1
        if j == k:
            raise _Bad()
    return j


def _value(s: bytes, i: int, n: int, depth: int) -> Node:
    if i >= n:
        raise _Bad()
    c = s[i]
    if c == 0x22:
        node = Node(K_STR, i, depth)
        node.end = _string_end(s, i, n)
        return node
    if c == 0x7B or c == 0x5B:
        if depth >= MAX_JSON_DEPTH:
            raise _Bad()
        is_obj = c == 0x7B
        node = Node(K_OBJ if is_obj else K_ARR, i, depth)
        close = 0x7D if is_obj else 0x5D
        j = _ws(s, i + 1, n)
        if j < n and s[j] == close:
            node.end = j + 1
            return node
        while True:
            if is_obj:
                if j >= n or s[j] != 0x22:
                    raise _Bad()
                ke = _string_end(s, j, n)
                node.keys.append((j + 1, ke - 1))
                j = _ws(s, ke, n)
                if j >= n or s[j] != 0x3A:
                    raise _Bad()
                j = _ws(s, j + 1, n)
            child = _value(s, j, n, depth + 1)
            node.children.append(child)
            j = _ws(s, child.end, n)
            if j >= n:
                raise _Bad()
            if s[j] == 0x2C:
                j = _ws(s, j + 1, n)
                continue
            if s[j] == close:
                node.end = j + 1
                return node
            raise _Bad()
    if c == 0x74 and s[i:i + 4] == b"true":
        node = Node(K_LIT, i, depth)
        node.end = i + 4
        return node
    if c == 0x66 and s[i:i + 5] == b"false":
        node = Node(K_LIT, i, depth)
        node.end = i + 5
        return node
    if c == 0x6E and s[i:i + 4] == b"null":
        node = Node(K_LIT, i, depth)
        node.end = i + 4
        return node
    node = Node(K_NUM, i, depth)
    node.end = _number_end(s, i, n)
    return node


def parse(s: bytes) -> Node | None:
    """Parse a JSON text whose root is an object or array; None when it is not one.

    Surrounding whitespace is allowed (it becomes part of the shape).
    """
    n = len(s)
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
    stack: list[Node] = [root]
    # iterative pre-order walk, children pushed in reverse to keep document order
    while stack:
        node = stack.pop()
        if node is not root and not _expand(node, level):
            out.append(node)
            continue
        ch = node.children
        for k in range(len(ch) - 1, -1, -1):
            stack.append(ch[k])
    return out


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
                 cx: AtomCtx, prev_kids: list[Node] | None = None) -> bool:
    """Append the coding of one JSON value; False when it cannot be coded exactly.

    Containers are coded generically (count, then members) and only when they
    are minified (no whitespace), since the generic coding has no place for it.
    """
    k = node.kind
    if k == K_STR:
        lc: bytes | None = None
        if last is not None and len(last) >= 2 and last[0] == 0x22:
            lc = last[1:-1]
        elif last is not None:
            lc = last
        encode_scalar(out, s[node.start + 1:node.end - 1], True, lc, cx)
        return True
    if k == K_NUM:
        lc2: bytes | None = None
        if last is not None:
            lc2 = last[1:-1] if (len(last) >= 2 and last[0] == 0x22) else last
        encode_scalar(out, s[node.start:node.end], False, lc2, cx)
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
            encode_scalar(out, s[ks:ke], True, None, cx)
            if not encode_value(out, s, ch[j], None, cx):
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
        elif not encode_value(out, s, el, lv, cx, pk):
            return False
        prev_el = el
    return True
