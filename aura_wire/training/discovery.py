"""Template discovery: mine JSON shapes and text templates from sample traffic (spec/templates.md §6).

:class:`TemplateDiscoveryEngine` clusters JSON messages by skeleton (at the
deepest shape level that is frequent enough) and text messages with a
Drain-style miner (token count + leading constant tokens, then similarity
merging), measures each candidate's compression advantage, and builds the
dictionary's TEMPLATES section from the promoted candidates.

Privacy guard: a dictionary goes to every peer, so a literal (template token,
slot prefix/suffix, folded JSON constant, JSON key, string-table entry) is
only kept when it occurs in at least ``min_distinct`` distinct messages and
does not look like a secret or identifier (emails, long hex/base64, high
entropy tokens, long digit runs).  Anything else stays a slot.

Runs once at training time; no I/O here.
"""

from __future__ import annotations

import math
from typing import Final

from aura_wire.codec.templates.coders import TemplateEncoder
from aura_wire.codec.templates.json_shape import (
    K_OBJ,
    K_STR,
    LEVELS,
    Node,
    gaps_of,
    holes,
    parse,
    skeleton,
)
from aura_wire.codec.templates.section import (
    KIND_JSON,
    Template,
    TemplateSet,
    build_section,
    has_digit,
)
from aura_wire.codec.templates.text import common_affixes, tokenize
from aura_wire.errors import ConfigError, LimitError

__all__ = ["TemplateDiscoveryEngine", "TemplateCandidate", "looks_sensitive"]

_HEX: Final = frozenset(b"0123456789abcdefABCDEF")


def _is_alnum(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _entropy(run: bytes) -> float:
    counts: dict[int, int] = {}
    for c in run:
        counts[c] = counts.get(c, 0) + 1
    h = 0.0
    n = len(run)
    for v in counts.values():
        p = v / n
        h -= p * math.log2(p)
    return h


def looks_sensitive(tok: bytes) -> bool:
    """True when a literal looks like a secret or a personal identifier.

    The token is split into alphanumeric runs.  Sensitive: an email address;
    hex runs totalling >= 16 hex digits (ids, UUIDs, hashes); a run of >= 16
    characters mixing letters and digits, or mixed-case with > 3.5 bits of
    entropy per character (API keys, base64); a run of >= 9 digits (account,
    phone or card numbers).
    """
    n = len(tok)
    if n == 0:
        return False
    at = tok.find(b"@")
    if at > 0 and tok.find(b".", at) > at + 1:
        return True
    runs: list[bytes] = []
    i = 0
    while i < n:
        if _is_alnum(tok[i]):
            j = i
            while j < n and _is_alnum(tok[j]):
                j += 1
            runs.append(tok[i:j])
            i = j
        else:
            i += 1
    hex_total = 0
    for r in runs:
        digits = sum(1 for c in r if 0x30 <= c <= 0x39)
        if digits >= 9 and digits == len(r):
            return True
        if digits and all(c in _HEX for c in r):
            hex_total += len(r)
        if len(r) >= 16:
            upper = any(0x41 <= c <= 0x5A for c in r)
            lower = any(0x61 <= c <= 0x7A for c in r)
            if digits and (upper or lower) and _entropy(r) > 3.0:
                return True
            if upper and lower and _entropy(r) > 3.5:
                return True
    if hex_total >= 16:
        return True
    return False


class TemplateCandidate:
    """A mined template: ``pattern`` (readable), ``frequency`` (messages), ``distinct``
    (distinct messages), ``advantage`` (raw bytes / TEMPLATE frame bytes, stateless)."""

    __slots__ = ("template", "pattern", "frequency", "distinct", "advantage", "template_id")

    def __init__(self, template: Template, frequency: int, distinct: int) -> None:
        self.template = template
        self.pattern = template.pattern()
        self.frequency = frequency
        self.distinct = distinct
        self.advantage = 0.0
        self.template_id: int | None = None

    def __repr__(self) -> str:
        return (f"TemplateCandidate({self.pattern[:60]!r}, frequency={self.frequency}, "
                f"advantage={self.advantage:.2f})")


def _gap_strings_safe(gaps: list[bytes]) -> bool:
    """Every quoted string (keys) inside the literal gaps must look harmless."""
    for g in gaps:
        parts = g.split(b'"')
        for j in range(1, len(parts), 2):
            if looks_sensitive(parts[j]):
                return False
    return True


class TemplateDiscoveryEngine:
    """Mine template candidates and build a TEMPLATES section.

    ``min_frequency``: messages a candidate must cover; ``min_distinct``: the
    privacy threshold (distinct messages a literal must occur in);
    ``min_compression_advantage``: used by :func:`train_templates` to decide
    what to promote; ``id_range``: inclusive range of ids :meth:`promote_template`
    assigns; ``similarity``: Drain merge threshold; ``max_strings`` /
    ``max_string_bytes``: size of the shared string table.
    """

    def __init__(self, min_frequency: int = 5, min_compression_advantage: float = 2.0, *,
                 min_distinct: int = 8, id_range: tuple[int, int] = (0, 4095), similarity: float = 0.5,
                 max_strings: int = 1024, max_string_bytes: int = 16384) -> None:
        if min_frequency < 1:
            raise ConfigError("min_frequency must be >= 1", field="min_frequency")
        if min_distinct < 1:
            raise ConfigError("min_distinct must be >= 1", field="min_distinct")
        if id_range[0] < 0 or id_range[1] < id_range[0]:
            raise ConfigError(f"bad id_range {id_range}", field="id_range")
        if not 0.0 < similarity <= 1.0:
            raise ConfigError("similarity must be in (0, 1]", field="similarity")
        self.min_frequency = min_frequency
        self.min_compression_advantage = min_compression_advantage
        self.min_distinct = min_distinct
        self.id_range = id_range
        self.similarity = similarity
        self.max_strings = max_strings
        self.max_string_bytes = max_string_bytes
        self.strings: list[bytes] = []
        self.promoted: dict[int, Template] = {}
        self._next_id = id_range[0]

    # -- discovery --
    def discover(self, messages: list[str | bytes] | list[bytes] | list[str]) -> list[TemplateCandidate]:
        """Mine candidates (sorted by frequency, most frequent first); also builds the string table."""
        freq: dict[bytes, int] = {}
        for m in messages:
            b = m.encode("utf-8") if isinstance(m, str) else bytes(m)
            if b:
                freq[b] = freq.get(b, 0) + 1
        uniq = list(freq)
        json_msgs: list[tuple[bytes, Node]] = []
        text_msgs: list[bytes] = []
        for b in uniq:
            root = parse(b) if b[:1] in (b"{", b"[", b" ", b"\n", b"\r", b"\t") else None
            if root is not None:
                json_msgs.append((b, root))
            else:
                text_msgs.append(b)
        self.strings = self._string_table(json_msgs, text_msgs)
        cands = self._json_candidates(json_msgs, freq) + self._text_candidates(text_msgs, freq)
        self._measure(cands, json_msgs, text_msgs)
        cands.sort(key=lambda c: (-c.frequency, c.pattern))
        return cands

    def _ok(self, frequency: int, distinct: int) -> bool:
        return frequency >= self.min_frequency and distinct >= self.min_distinct

    def _string_table(self, json_msgs: list[tuple[bytes, Node]], text_msgs: list[bytes]) -> list[bytes]:
        counts: dict[bytes, int] = {}
        for b, root in json_msgs:
            seen: set[bytes] = set()
            stack = [root]
            while stack:
                n = stack.pop()
                if n.kind == K_STR:
                    seen.add(b[n.start + 1:n.end - 1])
                elif n.kind == K_OBJ:
                    for ks, ke in n.keys:
                        seen.add(b[ks:ke])
                stack.extend(n.children)
            for s in seen:
                if 2 <= len(s) <= 64:
                    counts[s] = counts.get(s, 0) + 1
        for b in text_msgs:
            tk = tokenize(b)
            if tk is None:
                continue
            for s in set(tk[0]):
                if 2 <= len(s) <= 64:
                    counts[s] = counts.get(s, 0) + 1
        keep = [s for s, c in counts.items() if c >= max(self.min_distinct, 2) and not looks_sensitive(s)]
        keep.sort(key=lambda s: (-counts[s] * (len(s) - 1), s))
        out: list[bytes] = []
        total = 0
        for s in keep:
            if len(out) >= self.max_strings or total + len(s) > self.max_string_bytes:
                break
            out.append(s)
            total += len(s)
        out.sort(key=lambda s: (-counts[s], s))
        return out

    def _json_candidates(self, json_msgs: list[tuple[bytes, Node]], freq: dict[bytes, int]) -> list[TemplateCandidate]:
        kfreq: dict[tuple[int, bytes], int] = {}
        kdist: dict[tuple[int, bytes], int] = {}
        keys: list[list[tuple[int, bytes] | None]] = []
        for b, root in json_msgs:
            row: list[tuple[int, bytes] | None] = []
            for level in range(LEVELS):
                hs = holes(root, level)
                if hs is None:
                    row.append(None)
                    continue
                k = (level, skeleton(b, hs))
                kfreq[k] = kfreq.get(k, 0) + freq[b]
                kdist[k] = kdist.get(k, 0) + 1
                row.append(k)
            keys.append(row)
        groups: dict[tuple[int, bytes], list[int]] = {}
        for i in range(len(json_msgs)):
            for k2 in keys[i]:
                if k2 is not None and self._ok(kfreq[k2], kdist[k2]):
                    groups.setdefault(k2, []).append(i)
                    break
        out: list[TemplateCandidate] = []
        for (level, _key), members in groups.items():
            b0, r0 = json_msgs[members[0]]
            hs0 = holes(r0, level)
            assert hs0 is not None
            gaps = gaps_of(b0, hs0)
            if not _gap_strings_safe(gaps):
                continue
            consts: dict[int, bytes] = {}
            if len(members) >= self.min_distinct:
                vals: list[bytes | None] = [b0[h.start:h.end] for h in hs0]
                for i in members[1:]:
                    b, r = json_msgs[i]
                    hs = holes(r, level)
                    assert hs is not None
                    for j in range(len(vals)):
                        v = vals[j]
                        if v is not None and b[hs[j].start:hs[j].end] != v:
                            vals[j] = None
                for j in range(len(vals)):
                    v = vals[j]
                    if v is not None and len(v) <= 64 and not looks_sensitive(v.strip(b'"')) \
                            and not (len(v) >= 2 and v[0] in (0x5B, 0x7B)):
                        consts[j] = v
            t = Template.json(level, gaps, consts)
            out.append(TemplateCandidate(t, sum(freq[json_msgs[i][0]] for i in members), len(members)))
        return out

    def _text_candidates(self, text_msgs: list[bytes], freq: dict[bytes, int]) -> list[TemplateCandidate]:
        # Drain: bucket by (token count, first two plain tokens), then merge by similarity
        buckets: dict[tuple[int, bytes], list[int]] = {}
        clusters: list[tuple[list[bytes | None], list[int], list[tuple[list[bytes], list[int]]]]] = []
        for b in text_msgs:
            tk = tokenize(b)
            if tk is None:
                continue
            toks, seps = tk
            masked: list[bytes | None] = [
                None if (has_digit(t) or len(t) > 32 or looks_sensitive(t)) else t for t in toks]
            lead = [t for t in masked if t is not None][:2]
            bkey = (len(toks), b"\x00".join(lead))
            bucket = buckets.setdefault(bkey, [])
            best = -1
            best_sim = -1.0
            for idx in bucket:
                ct = clusters[idx][0]
                same = 0
                for j in range(len(toks)):
                    if ct[j] == masked[j]:
                        same += 1
                sim = same / len(toks)
                if sim > best_sim:
                    best_sim = sim
                    best = idx
            if best >= 0 and best_sim >= self.similarity:
                ct = clusters[best][0]
                for j in range(len(toks)):
                    if ct[j] != masked[j]:
                        ct[j] = None
                clusters[best][1].append(freq[b])
                clusters[best][2].append((toks, seps))
            else:
                clusters.append((list(masked), [freq[b]], [(toks, seps)]))
                bucket.append(len(clusters) - 1)
        out: list[TemplateCandidate] = []
        for ct, freqs, members in clusters:
            if not self._ok(sum(freqs), len(members)):
                continue
            n = len(ct)
            if all(t is None for t in ct):
                continue
            slot = [t is None for t in ct]
            ltoks = [t if t is not None else b"" for t in ct]
            pre: list[bytes] = []
            suf: list[bytes] = []
            for j in range(n):
                if slot[j]:
                    p, s = common_affixes([m[0][j] for m in members])
                    if looks_sensitive(p) or looks_sensitive(s):
                        p, s = b"", b""
                    pre.append(p)
                    suf.append(s)
                else:
                    pre.append(b"")
                    suf.append(b"")
            seps = list(members[0][1])
            for _toks, ms in members[1:]:
                for j in range(n + 1):
                    if seps[j] != ms[j]:
                        seps[j] = -1
            t = Template.text(ltoks, slot, pre, suf, seps)
            out.append(TemplateCandidate(t, sum(freqs), len(members)))
        return out

    def _measure(self, cands: list[TemplateCandidate], json_msgs: list[tuple[bytes, Node]],
                 text_msgs: list[bytes]) -> None:
        """Advantage of each candidate: raw bytes / (payload + 1 header byte), stateless, on its members."""
        if not cands:
            return
        ts = TemplateSet(self.strings, {i: c.template for i, c in enumerate(cands)})
        enc = TemplateEncoder(ts, context=False)
        raw = [0] * len(cands)
        coded = [0] * len(cands)
        seen = [0] * len(cands)
        for b in [m[0] for m in json_msgs] + text_msgs:
            m = enc._state.match(b)
            if m is None or seen[m.tid] >= 64:
                continue
            p = enc.encode(b, True)
            if p is None:
                continue
            seen[m.tid] += 1
            raw[m.tid] += len(b)
            coded[m.tid] += len(p) + 1
        for i, c in enumerate(cands):
            c.advantage = raw[i] / coded[i] if coded[i] else 0.0

    # -- promotion and output --
    def promote_template(self, candidate: TemplateCandidate) -> int:
        """Give ``candidate`` the next id in ``id_range``; LimitError when the range is full."""
        if candidate.template_id is not None:
            return candidate.template_id
        if self._next_id > self.id_range[1]:
            raise LimitError(f"template id range {self.id_range} is full", field="id_range")
        tid = self._next_id
        self._next_id += 1
        self.promoted[tid] = candidate.template
        candidate.template_id = tid
        return tid

    def build_section(self) -> bytes:
        """The TEMPLATES section holding the string table and the promoted templates."""
        return build_section(self.strings, self.promoted)

    @property
    def json_count(self) -> int:
        return sum(1 for t in self.promoted.values() if t.kind == KIND_JSON)
