"""Numbers and packed text in slot values (spec/templates.md §4.2): decimals, digit groups, hex, A64.

Every parser here returns what renders back to the exact input bytes, or None;
nothing is normalised away (leading zeros, case, number spelling).  Pure
functions on bytes.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from aura_wire.codec.templates.forms import _A64_INDEX, MAX_DDIG_DIGITS, int_str, zz
from aura_wire.codec.templates import speedups

# -- number parsing ----------------------------------------------------------

def parse_decimal(s: bytes) -> tuple[int, int] | None:
    """Return (signed mantissa, scale) when ``s`` is a canonically spelled decimal.

    Canonical: optional '-', integer part without leading zeros ("0" alone is
    allowed), optional '.' and at least one fraction digit.  "-0" and "-0.00"
    are not canonical (the sign of zero would be lost).
    """
    m, scale = _parse_dec(s)
    return None if scale < 0 else (m, int(scale))


def render_decimal(m: int, scale: int) -> bytes:
    """Inverse of :func:`parse_decimal`."""
    if scale == 0:
        return int_str(m).encode()
    digits = int_str(-m if m < 0 else m).rjust(scale + 1, "0")
    s = digits[:-scale] + "." + digits[-scale:]
    return ("-" + s).encode() if m < 0 else s.encode()


def _digit_skeleton(s: bytes) -> tuple[bytes, int, int] | None:
    """Return (mask, digit value, digit count) for DDIG, the mask being ``s`` with every digit
    replaced by ``0``; None without digits."""
    n: i64 = len(s)
    if n == 0 or n > 64:
        return None
    mask = bytearray(s)
    digits = bytearray()
    i: i64 = 0
    while i < n:
        c: i64 = s[i]
        if 0x30 <= c <= 0x39:
            digits.append(c)
            mask[i] = 0x30
        i += 1
    nd = len(digits)
    if nd == 0 or nd > MAX_DDIG_DIGITS:
        return None
    return bytes(mask), int(digits), nd


def _groups(s: bytes) -> tuple[list[bytes], list[int]] | None:
    """Split into (non-digit runs, canonical digit groups) for NUMS; None when a group has a
    leading zero, a group exceeds 18 digits, or there are no / too many groups."""
    n = len(s)
    if n == 0 or n > 128:
        return None
    seps: list[bytes] = []
    vals: list[int] = []
    i = 0
    prev = 0
    while i < n:
        c = s[i]
        if 0x30 <= c <= 0x39:
            j = i
            while j < n and 0x30 <= s[j] <= 0x39:
                j += 1
            if (j - i > 1 and c == 0x30) or j - i > 18:
                return None
            seps.append(s[prev:i])
            vals.append(int(s[i:j]))
            prev = j
            i = j
        else:
            i += 1
    if not vals or len(vals) > 16:
        return None
    seps.append(s[prev:])
    return seps, vals


def _render_groups(seps: list[bytes], vals: list[int]) -> bytes:
    out = bytearray(seps[0])
    for j in range(len(vals)):
        out += int_str(vals[j]).encode()
        out += seps[j + 1]
    return bytes(out)


def _hex_case(s: bytes) -> int:
    """1: lowercase hex digits only (some letters), 2: uppercase, 3: digits only, 0: not hex."""
    letters_l = False
    letters_u = False
    n: i64 = len(s)
    i: i64 = 0
    while i < n:
        c: i64 = s[i]
        i += 1
        if 0x30 <= c <= 0x39:
            continue
        if 0x61 <= c <= 0x66:
            letters_l = True
        elif 0x41 <= c <= 0x46:
            letters_u = True
        else:
            return 0
    if letters_l and letters_u:
        return 0
    if letters_l:
        return 1
    if letters_u:
        return 2
    return 3


#: Placeholder digit-group list (never appended to).
_NO_GROUPS: Final[list[int]] = []
_E18: Final = 10 ** 18
#: Powers of ten up to a 40-character decimal's largest scale.
_POW10: Final = [10 ** k for k in range(41)]


def _digit_run_end(s: bytes, i: i64, n: i64) -> i64:
    """The end of the run of ASCII digits at ``s[i:n]``."""
    while i < n:
        c: i64 = s[i]
        if c < 0x30 or c > 0x39:
            break
        i += 1
    return i


def _digits_value(s: bytes, start: i64, end: i64) -> int:
    """The value of the all-digit string ``s[start:end]`` (-1 when another byte occurs), without
    allocation: digits are summed 18 at a time in an i64."""
    m = 0
    acc: i64 = 0
    nacc: i64 = 0
    i: i64 = start
    while i < end:
        c: i64 = s[i]
        if c < 0x30 or c > 0x39:
            return -1
        acc = acc * 10 + (c - 0x30)
        nacc += 1
        if nacc == 18:
            m = m * _E18 + int(acc)
            acc = 0
            nacc = 0
        i += 1
    if nacc:
        m = m * _POW10[nacc] + int(acc)
    return m


def _parse_dec(s: bytes) -> tuple[int, i64]:
    """The decimal parser (see :func:`parse_decimal`), without allocation: (mantissa, scale), scale -1
    when ``s`` is not a canonically spelled decimal."""
    n: i64 = len(s)
    if n == 0 or n > 40:
        return 0, -1
    start: i64 = 1 if s[0] == 0x2D else 0
    int_end = _digit_run_end(s, start, n)
    int_len: i64 = int_end - start
    if int_len == 0 or (int_len > 1 and s[start] == 0x30):
        return 0, -1
    m = _digits_value(s, start, int_end)
    scale: i64 = 0
    if int_end < n:
        if s[int_end] != 0x2E:
            return 0, -1
        scale = _digit_run_end(s, int_end + 1, n) - int_end - 1
        if scale == 0 or int_end + 1 + scale != n:
            return 0, -1
        m = m * _POW10[scale] + _digits_value(s, int_end + 1, n)
    if start:
        if m == 0:
            return 0, -1
        m = -m
    return m, scale


def _a64_ok(s: bytes) -> bool:
    idx = _A64_INDEX
    n: i64 = len(s)
    i: i64 = 0
    while i < n:
        if idx[s[i]] == 255:
            return False
        i += 1
    return True


def _ddig_delta(a: bytes, b: bytes) -> int:
    """zz(digits(a) - digits(b)) when both have the same DDIG skeleton (spec §4.2), else -1."""
    sp = speedups.active
    if sp is not None:
        # the C module (speedups.py): the same answer, without boxed integers beyond 18 digits
        got = sp.ddig_delta(a, b)
        if got is not None:  # None: beyond its 128-bit sums or 64-bit result
            res: int = got
            return res
    n: i64 = len(a)
    if n == 0 or n > 64 or n != len(b):
        return -1
    va = 0
    vb = 0
    nda: i64 = 0
    ndb: i64 = 0
    i: i64 = 0
    while i < n:
        x: i64 = a[i]
        y: i64 = b[i]
        mx: i64 = x
        my: i64 = y
        if 0x30 <= x <= 0x39:
            va = va * 10 + int(x - 0x30)
            nda += 1
            mx = -1  # not 0: a NUL byte is not a digit position
        if 0x30 <= y <= 0x39:
            vb = vb * 10 + int(y - 0x30)
            ndb += 1
            my = -1
        if mx != my:
            return -1
        i += 1
    if nda == 0 or nda > MAX_DDIG_DIGITS or ndb == 0 or ndb > MAX_DDIG_DIGITS:
        return -1
    return zz(va - vb)


def _groups_pair(a: bytes, b: bytes) -> list[int]:
    """When :func:`_groups` accepts both and their non-digit runs are equal: the digit groups,
    interleaved (a0, b0, a1, b1, ...); else the empty ``_NO_GROUPS`` (never mutated)."""
    sp = speedups.active
    if sp is not None:
        pairs: list[int] = sp.groups_pair(a, b)  # the C module (speedups.py): the same groups
        return pairs if pairs else _NO_GROUPS
    na: i64 = len(a)
    nb: i64 = len(b)
    if na == 0 or na > 128 or nb == 0 or nb > 128:
        return _NO_GROUPS
    i: i64 = 0
    j: i64 = 0
    ng: i64 = 0
    out: list[int] = _NO_GROUPS
    while True:
        i2: i64 = i
        while i2 < na and not (0x30 <= a[i2] <= 0x39):
            i2 += 1
        j2: i64 = j
        while j2 < nb and not (0x30 <= b[j2] <= 0x39):
            j2 += 1
        if i2 - i != j2 - j:
            return _NO_GROUPS
        k: i64 = 0
        while k < i2 - i:
            if a[i + k] != b[j + k]:
                return _NO_GROUPS
            k += 1
        if i2 == na or j2 == nb:
            if i2 != na or j2 != nb:
                return _NO_GROUPS
            break
        i3 = _digit_run_end(a, i2, na)
        if (i3 - i2 > 1 and a[i2] == 0x30) or i3 - i2 > 18:
            return _NO_GROUPS
        j3 = _digit_run_end(b, j2, nb)
        if (j3 - j2 > 1 and b[j2] == 0x30) or j3 - j2 > 18:
            return _NO_GROUPS
        ng += 1
        if ng > 16:
            return _NO_GROUPS
        if ng == 1:
            out = []
        out.append(_digits_value(a, i2, i3))
        out.append(_digits_value(b, j2, j3))
        i = i3
        j = j3
    return out


def _pack_a64(s: bytes) -> bytes | None:
    """Pack 6-bit codes MSB-first, zero-padded to whole bytes; None outside the alphabet."""
    if not _a64_ok(s):
        return None
    out = bytearray()
    _put_a64(out, s)
    return bytes(out)


def _put_a64(out: bytearray, s: bytes) -> None:
    """Append the A64 packing of ``s`` (every byte in the alphabet)."""
    idx = _A64_INDEX
    n: i64 = len(s)
    buf = bytearray((6 * n + 7) >> 3)
    acc: i64 = 0
    bits: i64 = 0
    k: i64 = 0
    i: i64 = 0
    while i < n:
        v: i64 = idx[s[i]]
        acc = ((acc & 0xFF) << 6) | v
        bits += 6
        if bits >= 8:
            bits -= 8
            buf[k] = (acc >> bits) & 0xFF
            k += 1
        i += 1
    if bits > 0:
        buf[k] = (acc << (8 - bits)) & 0xFF
    out += buf


def _nib(c: int) -> int:
    if c <= 0x39:
        return c - 0x30
    if c >= 0x61:
        return c - 0x61 + 10
    return c - 0x41 + 10


def _pack_hex(out: bytearray, s: bytes) -> None:
    n = len(s)
    i = 0
    if n & 1:
        out.append(_nib(s[0]))
        i = 1
    while i < n:
        out.append((_nib(s[i]) << 4) | _nib(s[i + 1]))
        i += 2
