"""Training of BRIO's dictionary sections: the content block and the models (spec/brio.md §8).

Runs once per dictionary, off the hot path; compiled with the codec (the
model training runs a BrioEncoder over the samples).  No I/O here.

Privacy guard: the content block goes to every peer, so it is built only
from substrings that occur in at least ``min_distinct`` distinct training
messages (k-anonymity).  Every byte string placed in the content was checked
exactly (no hashing): either it was seen as a whole in that many distinct
messages, or a search over the distinct messages found it in that many.
The models are aggregate bit statistics and carry no substring.
"""

from __future__ import annotations

from bisect import bisect_right

from librt.vecs import vec
from mypy_extensions import i16, i64

from aura_wire.codec.brio.encode import BrioEncoder
from aura_wire.codec.brio.model import (
    NPROBS,
    PROB_ONE,
    BrioShared,
    default_models,
    encode_model_section,
)
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.encoder import Encoder

#: k-gram length used to find shared substrings.
GRAM: int = 6
#: Substring length used to skip content that is already covered.
COVER: int = 12
#: Training data looked at for the content (bytes, evenly sampled messages).
CONTENT_SAMPLE_BYTES: int = 2_000_000
#: Training data run through the encoder to count model statistics.
MODEL_SAMPLE_BYTES: int = 128_000
#: Passes of model training (each pass parses with the previous pass's models).
MODEL_ROUNDS: int = 1
#: Upper bound on exact substring searches while building the content.
MAX_VERIFY: int = 3000


def even_subset(msgs: list[bytes], budget: int) -> list[bytes]:
    total = sum(len(m) for m in msgs)
    if total <= budget or not msgs:
        return list(msgs)
    step = total / budget
    out: list[bytes] = []
    acc = 0.0
    for m in msgs:
        acc += len(m)
        if acc >= step:
            acc -= step
            out.append(m)
        elif not out:
            out.append(m)
    return out


class _Corpus:
    """Distinct messages joined for exact "in how many messages" searches."""

    def __init__(self, msgs: list[bytes]) -> None:
        self.msgs = msgs
        self.starts: list[int] = []
        parts: list[bytes] = []
        pos = 0
        for m in msgs:
            self.starts.append(pos)
            parts.append(m)
            pos += len(m)
        self.big = b"".join(parts)
        self.ends = [s + len(m) for s, m in zip(self.starts, msgs)]

    def distinct_count(self, s: bytes, need: int) -> int:
        """Number of distinct messages containing ``s`` (stops counting at ``need``)."""
        big = self.big
        found = 0
        at = 0
        ln = len(s)
        while found < need:
            p = big.find(s, at)
            if p < 0:
                break
            i = bisect_right(self.starts, p) - 1
            if p + ln <= self.ends[i]:
                found += 1
                at = self.ends[i]
            else:
                at = p + 1
        return found


def build_content(samples: list[bytes], content_size: int, min_distinct: int) -> bytes:
    """Pick shared substrings (each in >= min_distinct distinct samples) worth the most (frequency x length)."""
    if content_size <= 0 or min_distinct < 1:
        return b""
    msgs = list(dict.fromkeys(bytes(s) for s in samples))
    msgs = even_subset(msgs, CONTENT_SAMPLE_BYTES)
    if len(msgs) < min_distinct:
        return b""
    k = GRAM
    gram_count: dict[bytes, int] = {}
    for m in msgs:
        for g in {m[i:i + k] for i in range(len(m) - k + 1)}:
            gram_count[g] = gram_count.get(g, 0) + 1
    # maximal runs of common k-grams, counted once per distinct message
    cand: dict[bytes, int] = {}
    for m in msgs:
        runs: set[bytes] = set()
        i = 0
        n = len(m) - k + 1
        while i < n:
            if gram_count[m[i:i + k]] >= min_distinct:
                j = i
                while j + 1 < n and gram_count[m[j + 1:j + 1 + k]] >= min_distinct:
                    j += 1
                runs.add(m[i:j + k])
                i = j + 1
            else:
                i += 1
        for r in runs:
            cand[r] = cand.get(r, 0) + 1
    corpus = _Corpus(msgs)
    # priority: an upper bound on (messages containing the run) x length; exact checks follow
    prio: list[tuple[int, bytes, int]] = []
    for seg, cnt in cand.items():
        low = min(gram_count[seg[i:i + k]] for i in range(len(seg) - k + 1))
        est = cnt if cnt >= min_distinct else low
        prio.append((est * len(seg), seg, cnt))
    prio.sort(key=lambda t: (-t[0], t[1]))
    covered: set[bytes] = set()
    joined = b""
    chosen: list[bytes] = []
    total = 0
    verifications = 0
    for relaxed, _score, seg, cnt in [(False,) + t for t in prio] + [(True,) + t for t in prio]:
        if total >= content_size:
            break
        if relaxed:
            # second pass: fill what is left with verified runs not already present verbatim
            if cnt < min_distinct or seg in joined:
                continue
            chosen.append(seg)
            total += len(seg)
            joined += seg
            continue
        work = [(seg, cnt)]
        while work and total < content_size:
            s, c = work.pop()
            if len(s) < k:
                continue
            cov = [s[i:i + COVER] for i in range(0, len(s) - COVER + 1)] if len(s) >= COVER else [s]
            fresh = sum(1 for g in cov if g not in covered)
            if fresh * 2 < len(cov):
                continue
            ok = c >= min_distinct
            if not ok and verifications < MAX_VERIFY:
                verifications += 1
                ok = corpus.distinct_count(s, min_distinct) >= min_distinct
            if ok:
                chosen.append(s)
                total += len(s)
                covered.update(cov)
                joined += s
                continue
            if verifications >= MAX_VERIFY or len(s) <= k:
                continue
            # split at the least common k-gram and retry both sides
            grams = [s[i:i + k] for i in range(len(s) - k + 1)]
            weakest = min(range(len(grams)), key=lambda i: (gram_count.get(grams[i], 0), i))
            left = s[:weakest + k - 1]
            right = s[weakest + 1:]
            work.append((right, 0))
            work.append((left, 0))
    # highest value last: closest to the history, so the shortest distances
    out = b"".join(reversed(chosen))
    if len(out) > content_size:
        out = out[len(out) - content_size:]
    return out


def _counts_to_models(counts: vec[i64]) -> vec[i16]:
    models = default_models()
    for k in range(NPROBS):
        n0 = int(counts[2 * k])
        n1 = int(counts[2 * k + 1])
        if n0 + n1 == 0:
            continue
        p = int((n0 + 0.4) * PROB_ONE / (n0 + n1 + 0.8))
        models[k] = i16(max(31, min(PROB_ONE - 31, p)))
    return models


def train_models(samples: list[bytes], content: bytes) -> tuple[vec[i16], vec[i16]]:
    """Count the bits the encoder codes over the samples, in both modes, and turn them into priors."""
    sub = even_subset([bytes(s) for s in samples], MODEL_SAMPLE_BYTES)
    stateless = default_models()
    context = default_models()
    for _round in range(MODEL_ROUNDS):
        shared = BrioShared(content, stateless, context)
        enc = BrioEncoder(shared, context=False)
        enc.counts = vec[i64]([0] * (2 * NPROBS))
        for m in sub:
            enc.encode(m)
        cenc = BrioEncoder(shared, context=True)
        cenc.counts = vec[i64]([0] * (2 * NPROBS))
        for m in sub:
            cenc.encode(m)
            cenc.commit(m, True)
        assert enc.counts is not None and cenc.counts is not None
        stateless = _counts_to_models(enc.counts)
        context = _counts_to_models(cenc.counts)
    return stateless, context


def train_brio(samples: list[bytes], *, content_size: int = 32768, min_distinct: int = 8) -> tuple[bytes, bytes]:
    """Return (content_section, model_section) for the dictionary."""
    data = [bytes(s) for s in samples]
    content = build_content(data, content_size, min_distinct)
    stateless, context = train_models(data, content)
    return content, encode_model_section(stateless, context)


def start_counting(enc: BrioEncoder, prior: vec[i16] | None) -> None:
    """Make ``enc`` (a fresh context encoder) start from ``prior`` (None: its own) and count bits."""
    if prior is not None:
        enc.prior = prior
        enc.models = prior[0:NPROBS]
    enc.counts = vec[i64]([0] * (2 * NPROBS))


def stop_counting(enc: BrioEncoder) -> vec[i16]:
    """The priors from the bits ``enc`` counted since :func:`start_counting`."""
    counts = enc.counts
    assert counts is not None
    enc.counts = None
    return _counts_to_models(counts)


def payload_model_section(context: vec[i16]) -> bytes:
    """A model section (spec/brio.md §4.2 layout) whose context vector is ``context`` and whose
    stateless vector is the default (the TEMPLATE_BRIO model section, wire-format §6)."""
    return encode_model_section(default_models(), context)


def train_template_brio_model(dictionary: Dictionary, samples: list[bytes]) -> bytes | None:
    """The TEMPLATE_BRIO model section for ``dictionary`` (which lacks one), or None.

    Runs a context Encoder over an even subset of ``samples`` as one connection, counting the
    bits its payload context codes, and turns the counts into priors as BRIO's model training
    does (spec/brio.md §8): aggregate statistics of the template payloads, no substring.
    """
    sub = even_subset([bytes(s) for s in samples], MODEL_SAMPLE_BYTES)
    prior = None
    for _round in range(MODEL_ROUNDS):
        enc = Encoder(dictionary, context=True)
        tb = enc._template_brio
        if tb is None or enc._tmpl is None:
            return None
        start_counting(tb, prior)
        for m in sub:
            enc.encode(m)
        prior = stop_counting(tb)
    return payload_model_section(prior) if prior is not None else None
