"""Text templates: tokenizing a message and matching it against a template (spec/templates.md §3.2).

Matching goes through an index on (token count, first literal position, that
token), never through a loop of regexes.  Pure functions on bytes.
"""

from __future__ import annotations

from mypy_extensions import i64

from aura_wire.codec.templates.section import (
    _SP,
    MAX_TOKENS,
    Template,
    _punct_prefix,
    _punct_suffix,
)

# -- text tokens ------------------------------------------------------------------

def tokenize(data: bytes) -> tuple[list[bytes], list[int]] | None:
    """Split on runs of spaces: (tokens, separator lengths); None if too many tokens."""
    toks: list[bytes] = []
    seps: list[int] = []
    n: i64 = len(data)
    i: i64 = 0
    while True:
        j: i64 = i
        while j < n and data[j] == _SP:
            j += 1
        seps.append(int(j - i))
        if j >= n:
            break
        k: i64 = j + 1
        while k < n and data[k] != _SP:
            k += 1
        toks.append(data[j:k])
        if len(toks) > MAX_TOKENS:
            return None
        i = k
    if not toks:
        return None
    return toks, seps


def text_matches(t: Template, toks: list[bytes], seps: list[int]) -> bool:
    if len(toks) != len(t.toks):
        return False
    for i in range(len(toks)):
        tok = toks[i]
        if t.slot[i]:
            p = t.pre[i]
            s = t.suf[i]
            if len(tok) < len(p) + len(s) or not tok.startswith(p) or not tok.endswith(s):
                return False
        elif tok != t.toks[i]:
            return False
    ts = t.seps
    for i in range(len(seps)):
        if ts[i] >= 0 and ts[i] != seps[i]:
            return False
    return True


def common_affixes(values: list[bytes]) -> tuple[bytes, bytes]:
    """Common prefix/suffix of slot values, cut at punctuation so they generalise."""
    p = values[0]
    s = values[0]
    for v in values[1:]:
        k = 0
        lim = min(len(p), len(v))
        while k < lim and p[k] == v[k]:
            k += 1
        p = p[:k]
        k = 0
        lim = min(len(s), len(v))
        while k < lim and s[len(s) - 1 - k] == v[len(v) - 1 - k]:
            k += 1
        s = s[len(s) - k:] if k else b""
    p = _punct_prefix(p)
    s = _punct_suffix(s)
    short = min(len(v) for v in values)
    if len(p) + len(s) > short:
        s = b""
        if len(p) > short:
            p = b""
    return p, s


def generalised(t: Template, toks: list[bytes], seps: list[int]) -> Template | None:
    """Text template ``t`` generalised to also match a message of the same token count, or None
    when fewer than half of its literal tokens are equal to the message's (online Drain)."""
    n = len(toks)
    same = 0
    lits = 0
    for i in range(n):
        if not t.slot[i]:
            lits += 1
            if t.toks[i] == toks[i]:
                same += 1
    if lits == 0 or same * 2 < lits:
        return None
    ntoks = list(t.toks)
    nslot = list(t.slot)
    npre = list(t.pre)
    nsuf = list(t.suf)
    for i in range(n):
        tok = toks[i]
        if nslot[i]:
            p = npre[i]
            s = nsuf[i]
            if len(tok) < len(p) + len(s) or not tok.startswith(p) or not tok.endswith(s):
                npre[i], nsuf[i] = common_affixes([p + s, tok]) if (p or s) else (b"", b"")
                if len(tok) < len(npre[i]) + len(nsuf[i]):
                    npre[i], nsuf[i] = b"", b""
        elif ntoks[i] != tok:
            npre[i], nsuf[i] = common_affixes([ntoks[i], tok])
            ntoks[i] = b""
            nslot[i] = True
    nseps = [t.seps[i] if t.seps[i] == seps[i] else -1 for i in range(n + 1)]
    return Template.text(ntoks, nslot, npre, nsuf, nseps)
