/* BRIO speedups: the frame encoder (match finder, prices, range coder), the frame decoder and the
 * index updates in C, one call per frame (spec/brio.md).
 *
 * A line-by-line port of encode.py / matchfinder.py / rangecoder.py / decode.py: the frames are
 * byte-identical to the Python path and the models, indexes and reps end in the same state
 * (tests/codec/brio/test_speedups.py checks both on corpus messages and on malformed payloads).
 * Optional: the package works without it (aura_wire/codec/brio/speedups.py picks the path).
 *
 * The state lives in librt ``vec`` objects owned by the caller (models, history index, reps): they
 * export their live storage through the buffer protocol, read-only only because librt does not offer
 * writable exports; the callers pass vecs they own (trial copies), which this module updates in place.
 *
 * Bounds: every read of the payload, the content, the history and the output is checked against
 * its length; the decoder's output is bounded by max_size before it is allocated, and grows with
 * what is decoded.  Malformed input is reported to the caller as an error code (the Python side
 * raises the same AuraError as the Python path, with the same message, offset and field).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* -- format constants (model.py; checked against it by speedups.py) ---------------------------- */
#define P_IS_MATCH 0
#define P_IS_REP 12
#define P_IS_REP0 24
#define P_IS_REP0_LONG 36
#define P_IS_REP1 48
#define P_IS_REP2 60
#define P_LIT 72
#define LIT_CTX 3
#define P_MLEN (P_LIT + LIT_CTX * 256)
#define LEN_SIZE 82
#define P_RLEN (P_MLEN + LEN_SIZE)
#define P_SLOT (P_RLEN + LEN_SIZE)
#define SLOT_STATES 2
#define P_SPEC (P_SLOT + SLOT_STATES * 64)
#define P_ALIGN (P_SPEC + 114)
#define P_NLEN (P_ALIGN + 16)
#define P_NSUB (P_NLEN + 64)
#define P_MLIT (P_NSUB + 33 * 4)
#define NPROBS (P_MLIT + 16)

#define PROB_BITS 12
#define PROB_ONE 4096
#define MOVE_BITS 5
#define TOP ((int64_t)1 << 24)
#define MASK32 ((int64_t)0xFFFFFFFF)
#define MIN_LEN 2
#define MAX_LEN 81
#define MAX_MSG_SLOT 32
#define CHECK_BITS 8
#define CONTENT_HASH_BITS 15
#define HASH_MUL 2654435761u
#define FNV_OFFSET 0x811C9DC5u
#define FNV_PRIME 0x01000193u

/* matchfinder.py / encode.py (encoder search parameters) */
#define HIST_HASH_BITS 10
#define CHAIN_DEPTH 16
#define MCHAIN_DEPTH 32
#define PCHAIN_MAX_WINDOW 32767
#define PCHAIN_MIN_SPAN 2
#define LONG_MESSAGE 1024
#define RECENT_FACTOR 8
#define RECENT_MIN 2048

#define K_LITERAL 0
#define K_SHORT_REP 1
#define K_REP 2
#define K_MATCH 3

/* error codes of decode_frame (speedups.py turns them into the Python path's errors) */
#define E_OK 0
#define E_INITIAL_CODE 1
#define E_LENGTH_SLOT 2
#define E_MAX_SIZE 3
#define E_DIRECT 4
#define E_MATCH_END 5
#define E_DISTANCE 6
#define E_TRAILING 7
#define E_ZERO_END 8
#define E_MEMORY 9
#define E_PAST_END 10
/* rangecoder.py MAX_READ_PAST_END: the zero bytes a decoder reads past the payload, at most (brio.md §2) */
#define MAX_READ_PAST_END 16

static uint8_t PRICE[256];
static uint8_t LIT_CLASS[256];
static int tables_ready = 0;

/* -- buffers --------------------------------------------------------------------------------- */
typedef struct {
    uint8_t *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
} Out;

static int out_reserve(Out *o, Py_ssize_t extra) {
    if (o->len + extra <= o->cap) return 0;
    Py_ssize_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + extra) cap *= 2;
    uint8_t *nb = (uint8_t *)PyMem_Realloc(o->buf, (size_t)cap);
    if (nb == NULL) return -1;
    o->buf = nb;
    o->cap = cap;
    return 0;
}

static inline int out_byte(Out *o, int64_t v) {
    if (o->len >= o->cap && out_reserve(o, 1) < 0) return -1;
    o->buf[o->len++] = (uint8_t)(v & 0xFF);
    return 0;
}

/* A vec (or any buffer) with the item size ``itemsize``; ``pylen`` its length in items. */
static int get_vec(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) return -1;
    if (view->len % itemsize != 0) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s: a buffer of %zd-byte items expected", what, itemsize);
        return -1;
    }
    return 0;
}

/* Buffers of ``n`` objects with the item sizes ``sizes``: all of them, or none and -1. */
static int get_vecs(PyObject *const *objs, Py_buffer *views, const Py_ssize_t *sizes, int n) {
    for (int i = 0; i < n; i++) {
        if (get_vec(objs[i], &views[i], sizes[i], "BRIO speedups argument") < 0) {
            while (i-- > 0) PyBuffer_Release(&views[i]);
            return -1;
        }
    }
    return 0;
}

static void release_vecs(Py_buffer *views, int n) {
    for (int i = 0; i < n; i++) PyBuffer_Release(&views[i]);
}

/* -- range encoder (rangecoder.py _RangeEncoder) ---------------------------------------------- */
typedef struct {
    int64_t low;
    int64_t range;
    int64_t cache;
    int64_t cache_size;
    Out out;
    int16_t *p;
    int failed;
} RC;

static inline void rc_shift_low(RC *rc) {
    int64_t low = rc->low;
    if (low < 0xFF000000LL || low >= 0x100000000LL) {
        int64_t carry = low >> 32;
        int64_t temp = rc->cache;
        for (;;) {
            if (out_byte(&rc->out, (temp + carry) & 0xFF) < 0) rc->failed = 1;
            temp = 0xFF;
            rc->cache_size -= 1;
            if (rc->cache_size == 0) break;
        }
        rc->cache = (low >> 24) & 0xFF;
    }
    rc->cache_size += 1;
    rc->low = (low & 0x00FFFFFF) << 8;
}

static inline void rc_bit(RC *rc, int64_t idx, int64_t b) {
    int64_t p = rc->p[idx];
    int64_t bound = (rc->range >> PROB_BITS) * p;
    if (b == 0) {
        rc->range = bound;
        rc->p[idx] = (int16_t)(p + ((PROB_ONE - p) >> MOVE_BITS));
    } else {
        rc->low += bound;
        rc->range -= bound;
        rc->p[idx] = (int16_t)(p - (p >> MOVE_BITS));
    }
    while (rc->range < TOP) {
        rc->range <<= 8;
        rc_shift_low(rc);
    }
}

static void rc_direct(RC *rc, int64_t value, int64_t nbits) {
    for (int64_t k = nbits - 1; k >= 0; k--) {
        rc->range >>= 1;
        if ((value >> k) & 1) rc->low += rc->range;
        while (rc->range < TOP) {
            rc->range <<= 8;
            rc_shift_low(rc);
        }
    }
}

static void rc_tree(RC *rc, int64_t base, int64_t nbits, int64_t value) {
    int64_t m = 1;
    for (int64_t k = nbits - 1; k >= 0; k--) {
        int64_t b = (value >> k) & 1;
        rc_bit(rc, base + m, b);
        m = (m << 1) | b;
    }
}

static void rc_rtree(RC *rc, int64_t base, int64_t nbits, int64_t value) {
    int64_t m = 1;
    for (int64_t k = 0; k < nbits; k++) {
        int64_t b = (value >> k) & 1;
        rc_bit(rc, base + m, b);
        m = (m << 1) | b;
    }
}

/* The value with the most trailing zero bits in the final interval; returns the payload. */
static PyObject *rc_finish(RC *rc) {
    int64_t low = rc->low;
    int64_t hi = low + rc->range - 1;
    int64_t mask = MASK32;
    int64_t v = low;
    while (mask > 0) {
        int64_t cand = (low + mask) & ~mask;
        if (cand <= hi) {
            v = cand;
            break;
        }
        mask >>= 1;
    }
    rc->low = v;
    for (int i = 0; i < 5; i++) rc_shift_low(rc);
    if (rc->failed) return PyErr_NoMemory();
    Py_ssize_t end = rc->out.len;
    while (end > 1 && rc->out.buf[end - 1] == 0) end--;
    if (end < 1) end = 1;
    return PyBytes_FromStringAndSize((const char *)rc->out.buf + 1, end - 1);
}

static int64_t dist_slot(int64_t d) {
    if (d < 4) return d;
    int64_t nb = 0, t = d;
    while (t > 1) {
        t >>= 1;
        nb++;
    }
    return (nb << 1) | ((d >> (nb - 1)) & 1);
}

static void encode_len(RC *rc, int64_t base, int64_t length) {
    int64_t v = length - MIN_LEN;
    if (v < 8) {
        rc_bit(rc, base, 0);
        rc_tree(rc, base + 2, 3, v);
    } else if (v < 16) {
        rc_bit(rc, base, 1);
        rc_bit(rc, base + 1, 0);
        rc_tree(rc, base + 10, 3, v - 8);
    } else {
        rc_bit(rc, base, 1);
        rc_bit(rc, base + 1, 1);
        rc_tree(rc, base + 18, 6, v - 16);
    }
}

static void encode_dist(RC *rc, int64_t length, int64_t dist0) {
    int64_t ls = length < 5 ? 0 : 1;
    int64_t slot = dist_slot(dist0);
    rc_tree(rc, P_SLOT + ls * 64, 6, slot);
    if (slot >= 4) {
        int64_t footer = (slot >> 1) - 1;
        int64_t base = (2 | (slot & 1)) << footer;
        int64_t rem = dist0 - base;
        if (slot < 14) {
            rc_rtree(rc, P_SPEC + base - slot - 1, footer, rem);
        } else {
            rc_direct(rc, rem >> 4, footer - 4);
            rc_rtree(rc, P_ALIGN, 4, rem & 15);
        }
    }
}

static void encode_msg_len(RC *rc, int64_t n) {
    int64_t slot = 0, t = n;
    while (t > 0) {
        t >>= 1;
        slot++;
    }
    rc_tree(rc, P_NLEN, 6, slot);
    if (slot >= 2) {
        int64_t rest = slot - 1;
        int64_t top = rest < 2 ? rest : 2;
        rc_tree(rc, P_NSUB + slot * 4, top, (n >> (rest - top)) & (((int64_t)1 << top) - 1));
        if (rest > top) rc_direct(rc, n & (((int64_t)1 << (rest - top)) - 1), rest - top);
    }
}

static void encode_lit(RC *rc, int64_t prev, int64_t b, int64_t mbyte) {
    int64_t base = P_LIT + (int64_t)LIT_CLASS[prev & 0xFF] * 256;
    if (mbyte < 0) {
        rc_tree(rc, base, 8, b);
        return;
    }
    int64_t m = 1;
    int matching = 1;
    for (int64_t k = 7; k >= 0; k--) {
        int64_t bit = (b >> k) & 1;
        if (matching) {
            int64_t mb = (mbyte >> k) & 1;
            rc_bit(rc, P_MLIT + (mb << 3) + k, bit);
            if (bit != mb) matching = 0;
        } else {
            rc_bit(rc, base + m, bit);
        }
        m = (m << 1) | bit;
    }
}

static uint32_t msg_hash(uint32_t seed, const uint8_t *data, Py_ssize_t n) {
    uint32_t h = FNV_OFFSET ^ seed ^ (uint32_t)(((uint64_t)n * 0x9E3779B1u) & 0xFFFFFFFFu);
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ data[i]) * FNV_PRIME;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* -- prices (matchfinder.py) ----------------------------------------------------------------- */
static inline int64_t price_bit(const int16_t *probs, int64_t idx, int64_t b) {
    int64_t p = probs[idx];
    if (b) p = PROB_ONE - p;
    return PRICE[(p >> 4) & 0xFF];
}

static int64_t price_tree(const int16_t *probs, int64_t base, int64_t nbits, int64_t value) {
    int64_t m = 1, t = 0;
    for (int64_t k = nbits - 1; k >= 0; k--) {
        int64_t b = (value >> k) & 1;
        t += price_bit(probs, base + m, b);
        m = (m << 1) | b;
    }
    return t;
}

static int64_t price_len(const int16_t *probs, int64_t base, int64_t length) {
    int64_t v = length - MIN_LEN;
    if (v < 8) return price_bit(probs, base, 0) + price_tree(probs, base + 2, 3, v);
    int64_t t = price_bit(probs, base, 1);
    if (v < 16) return t + price_bit(probs, base + 1, 0) + price_tree(probs, base + 10, 3, v - 8);
    return t + price_bit(probs, base + 1, 1) + price_tree(probs, base + 18, 6, v - 16);
}

static int64_t price_dist(const int16_t *probs, int64_t length, int64_t dist0) {
    int64_t ls = length < 5 ? 0 : 1;
    int64_t slot = dist_slot(dist0);
    int64_t t = price_tree(probs, P_SLOT + ls * 64, 6, slot);
    if (slot >= 4) {
        int64_t footer = (slot >> 1) - 1;
        if (slot < 14) t += footer * 16;
        else t += (footer - 4) * 16 + 64;
    }
    return t;
}

static int64_t price_rep(const int16_t *probs, int64_t state, int64_t ridx, int64_t rlen) {
    int64_t rp = price_bit(probs, P_IS_MATCH + state, 1) + price_bit(probs, P_IS_REP + state, 1);
    if (ridx == 0) {
        rp += price_bit(probs, P_IS_REP0 + state, 0) + price_bit(probs, P_IS_REP0_LONG + state, 1);
    } else {
        rp += price_bit(probs, P_IS_REP0 + state, 1);
        if (ridx == 1) rp += price_bit(probs, P_IS_REP1 + state, 0);
        else rp += price_bit(probs, P_IS_REP1 + state, 1) + 16;
    }
    return rp + price_len(probs, P_RLEN, rlen);
}

static int64_t lit_price(const int16_t *probs, int64_t prev, int64_t b, int64_t mbyte) {
    int64_t base = P_LIT + (int64_t)LIT_CLASS[prev & 0xFF] * 256;
    if (mbyte < 0) return price_tree(probs, base, 8, b);
    int64_t m = 1, t = 0;
    int matching = 1;
    for (int64_t k = 7; k >= 0; k--) {
        int64_t bit = (b >> k) & 1;
        if (matching) {
            int64_t mb = (mbyte >> k) & 1;
            t += price_bit(probs, P_MLIT + (mb << 3) + k, bit);
            if (bit != mb) matching = 0;
        } else {
            t += price_bit(probs, base + m, bit);
        }
        m = (m << 1) | bit;
    }
    return t;
}

static int64_t price_match(const int16_t *probs, int64_t state, int64_t length, int64_t dist) {
    return price_bit(probs, P_IS_MATCH + state, 1) + price_bit(probs, P_IS_REP + state, 0)
        + price_len(probs, P_MLEN, length) + price_dist(probs, length, dist - 1);
}

static int64_t price_short_rep(const int16_t *probs, int64_t state) {
    return price_bit(probs, P_IS_MATCH + state, 1) + price_bit(probs, P_IS_REP + state, 1)
        + price_bit(probs, P_IS_REP0 + state, 0) + price_bit(probs, P_IS_REP0_LONG + state, 0);
}

static inline int64_t next_state_lit(int64_t s) {
    if (s < 4) return 0;
    if (s < 10) return s - 3;
    return s - 6;
}

/* -- indexes (matchfinder.py _index) --------------------------------------------------------- */
static inline uint32_t mix4(const uint8_t *b, int64_t i) {
    uint32_t v = (uint32_t)b[i] | ((uint32_t)b[i + 1] << 8) | ((uint32_t)b[i + 2] << 16) | ((uint32_t)b[i + 3] << 24);
    return v * HASH_MUL;
}

/* Positions start..end-1 of hb into the history index idx (abs position abs_base + j), the persistent
 * links plink (rmask > 0) and the per-frame chain mhead/mchain (mbits > 0, mchain[j - cbase]). */
static void index_positions(const uint8_t *hb, int64_t n, int64_t start, int64_t end, int16_t *idx, int64_t abs_base,
                            int16_t *plink, int64_t rmask, int32_t *mhead, int32_t *mchain, int64_t mbits,
                            int64_t cbase) {
    const int hshift = 32 - HIST_HASH_BITS;
    for (int64_t j = start; j < end && j + 4 <= n; j++) {
        uint32_t hx = mix4(hb, j);
        if (idx != NULL) {
            int64_t h = hx >> hshift;
            int64_t pos = abs_base + j;
            if (rmask > 0) {
                int64_t d = (pos - ((int64_t)idx[h] + 32768)) & 0xFFFF;
                int64_t link = 0;
                if (d > 0 && d <= j && d <= PCHAIN_MAX_WINDOW && (int64_t)(mix4(hb, j - d) >> hshift) == h) link = d;
                plink[pos & rmask] = (int16_t)link;
            }
            idx[h] = (int16_t)((pos & 0xFFFF) - 32768);
        }
        if (mbits > 0) {
            int64_t h = hx >> (32 - mbits);
            mchain[j - cbase] = mhead[h];
            mhead[h] = (int32_t)j;
        }
    }
}

/* -- match finder (matchfinder.py MatchFinder) ----------------------------------------------- */
typedef struct {
    int64_t mlen, mdist, mscore, unc, rlen, ridx;
} Cand;

typedef struct {
    const int16_t *probs_ro;
    int16_t *probs;
    int16_t *idx;
    const uint8_t *hb;
    int64_t hb_len;
    int64_t abs_base;
    int64_t *reps;
    const int16_t *pidx;
    const int16_t *plink;
    int64_t rmask;
    int use_content;
    const uint8_t *content;
    int64_t c_len;
    const int32_t *head;
    const int32_t *chain;
    int64_t chain_len;
    int64_t end, mbase, mbits, fbase, fbits, pfirst;
    int32_t *mhead;
    int32_t *mchain;
} Finder;

static inline int64_t vbyte(const Finder *f, int64_t src) {
    return src < f->c_len ? f->content[src] : f->hb[src - f->c_len];
}

static int64_t mlen(const Finder *f, int64_t src, int64_t j, int64_t maxlen) {
    const uint8_t *hb = f->hb;
    int64_t n = 0;
    if (src < f->c_len) {
        int64_t lim = f->c_len - src;
        if (lim > maxlen) lim = maxlen;
        const uint8_t *c = f->content + src;
        while (n < lim && c[n] == hb[j + n]) n++;
        if (n < lim || n >= maxlen) return n;
        int64_t s = -n;
        while (n < maxlen && hb[s + n] == hb[j + n]) n++;
        return n;
    }
    const uint8_t *s2 = hb + (src - f->c_len);
    while (n < maxlen && s2[n] == hb[j + n]) n++;
    return n;
}

static inline void consider(Cand *s, const int16_t *probs, int64_t ln, int64_t dist) {
    if (ln < 4) return;
    int64_t sc = price_len(probs, P_MLEN, ln) + price_dist(probs, ln, dist - 1) - s->unc * ln;
    if (s->mlen == 0 || sc < s->mscore) {
        s->mlen = ln;
        s->mdist = dist;
        s->mscore = sc;
    }
}

static int64_t walk_chains(const Finder *f, Cand *s, int64_t j, uint32_t hx, int64_t lng, int64_t maxlen) {
    const uint8_t *hb = f->hb;
    const int16_t *probs = f->probs;
    int64_t fbase = f->fbase, mbase = f->mbase;
    int mshift = (int)(32 - f->mbits);
    int64_t hm = hx >> mshift;
    int filt = f->fbits < f->mbits;
    int64_t q = f->mhead[hx >> (32 - f->fbits)];
    int64_t mdepth = 0;
    while (q >= 0 && mdepth < MCHAIN_DEPTH) {
        if (filt && (int64_t)(mix4(hb, q) >> mshift) != hm) {
            q = f->mchain[q - fbase];
            continue;
        }
        if (hb[q + lng] != hb[j + lng]) {
            q = f->mchain[q - fbase];
            mdepth++;
            continue;
        }
        int64_t ln4 = mlen(f, f->c_len + q, j, maxlen);
        if (ln4 > lng) {
            lng = ln4;
            consider(s, probs, ln4, j - q);
            if (ln4 >= maxlen) break;
        }
        q = f->mchain[q - fbase];
        mdepth++;
    }
    int64_t pfirst = f->pfirst;
    if (pfirst >= mbase && lng < maxlen && mdepth < MCHAIN_DEPTH) {
        int64_t abs_base = f->abs_base;
        int64_t rmask = f->rmask;
        const int hshift = 32 - HIST_HASH_BITS;
        int64_t h10 = hx >> hshift;
        int64_t pp = pfirst - (((abs_base + pfirst) - ((int64_t)f->pidx[h10] + 32768)) & 0xFFFF);
        if (pp >= mbase && (int64_t)(mix4(hb, pp) >> hshift) == h10) {
            for (;;) {
                if ((int64_t)(mix4(hb, pp) >> mshift) == hm) {
                    if (hb[pp + lng] == hb[j + lng]) {
                        int64_t ln5 = mlen(f, f->c_len + pp, j, maxlen);
                        if (ln5 > lng) {
                            lng = ln5;
                            consider(s, probs, ln5, j - pp);
                            if (ln5 >= maxlen) break;
                        }
                    }
                    mdepth++;
                    if (mdepth >= MCHAIN_DEPTH) break;
                }
                int64_t dl = f->plink[(abs_base + pp) & rmask];
                if (dl <= 0) break;
                pp -= dl;
                if (pp < mbase) break;
            }
        }
    }
    return lng;
}

static void walk_content(const Finder *f, Cand *s, int64_t j, uint32_t hx, int64_t lng, int64_t maxlen) {
    const uint8_t *content = f->content;
    const uint8_t *hb = f->hb;
    int64_t c_len = f->c_len;
    int64_t cur = c_len + j;
    int64_t p = f->head[hx >> (32 - CONTENT_HASH_BITS)];
    int64_t depth = 0;
    while (p >= 0 && p < f->chain_len && depth < CHAIN_DEPTH) {
        if (p + lng < c_len && content[p + lng] != hb[j + lng]) {
            p = f->chain[p];
            depth++;
            continue;
        }
        int64_t ln3 = mlen(f, p, j, maxlen);
        if (ln3 > lng) {
            lng = ln3;
            consider(s, f->probs, ln3, cur - p);
            if (ln3 >= maxlen) break;
        }
        p = f->chain[p];
        depth++;
    }
}

static void find(const Finder *f, Cand *s, int64_t j) {
    const uint8_t *hb = f->hb;
    int64_t c_len = f->c_len;
    int64_t cur = c_len + j;
    int64_t maxlen = f->end - j;
    if (maxlen > MAX_LEN) maxlen = MAX_LEN;
    s->mlen = 0;
    s->mdist = 0;
    s->mscore = 0;
    s->rlen = 0;
    s->ridx = 0;
    if (maxlen < MIN_LEN) return;
    for (int64_t r = 0; r < 4; r++) {
        int64_t d = f->reps[r];
        if (d <= cur && d > 0) {
            int64_t rs = cur - d;
            if (vbyte(f, rs) != hb[j]) continue;
            int64_t ln = mlen(f, rs, j, maxlen);
            if (ln > s->rlen) {
                s->rlen = ln;
                s->ridx = r;
            }
        }
    }
    if (maxlen < 4 || j + 4 > f->hb_len) return;
    int64_t lng = 0;
    uint32_t hx = mix4(hb, j);
    int64_t h = hx >> (32 - HIST_HASH_BITS);
    int64_t stored = (int64_t)f->idx[h] + 32768;
    int64_t delta = ((f->abs_base + j) - stored) & 0xFFFF;
    if (delta > 0 && delta <= j) {
        int64_t ln2 = mlen(f, cur - delta, j, maxlen);
        if (ln2 > lng) {
            lng = ln2;
            consider(s, f->probs, ln2, delta);
        }
    }
    if (lng < maxlen) lng = walk_chains(f, s, j, hx, lng, maxlen);
    if (f->use_content && lng < maxlen) walk_content(f, s, j, hx, lng, maxlen);
}

/* -- the parse (encode.py) -------------------------------------------------------------------- */
static int later_wins(const Finder *f, Cand *s2, int64_t j, int64_t state, int64_t unc, int64_t best_cost,
                      int64_t lmax, int64_t blen, int64_t lit_p) {
    const int16_t *probs = f->probs;
    find(f, s2, j + 1);
    int64_t st2 = next_state_lit(state);
    int64_t l2 = 0, c2 = 0;
    if (s2->rlen >= MIN_LEN) {
        l2 = s2->rlen;
        c2 = price_rep(probs, st2, s2->ridx, s2->rlen);
    }
    if (s2->mlen >= 4) {
        int64_t mc2 = price_match(probs, st2, s2->mlen, s2->mdist);
        if (l2 == 0 || mc2 - unc * s2->mlen < c2 - unc * l2) {
            l2 = s2->mlen;
            c2 = mc2;
        }
    }
    if (l2 == 0) return 0;
    int64_t span = blen > l2 + 1 ? blen : l2 + 1;
    int64_t now = best_cost - unc * (lmax - blen) + unc * (span - blen);
    int64_t later = lit_p + c2 + unc * (span - 1 - l2);
    return later < now;
}

/* *s2_next is set when the literal is chosen by the lazy step: s2 then holds what find() gave at j + 1. */
static int choose(const Finder *f, Cand *s, Cand *s2, int64_t j, int64_t state, int64_t lit_p, int64_t cur_byte,
                  int *s2_next) {
    const int16_t *probs = f->probs;
    const int64_t *reps = f->reps;
    int64_t unc = s->unc;
    int64_t cur = f->c_len + j;
    int64_t lmax = s->mlen > s->rlen ? s->mlen : s->rlen;
    if (lmax < 1) lmax = 1;
    int best_kind = K_LITERAL;
    int64_t best_cost = lit_p + unc * (lmax - 1);
    if (reps[0] <= cur && reps[0] > 0) {
        if (vbyte(f, cur - reps[0]) == cur_byte) {
            int64_t sr = price_short_rep(probs, state) + unc * (lmax - 1);
            if (sr < best_cost) {
                best_cost = sr;
                best_kind = K_SHORT_REP;
            }
        }
    }
    if (s->rlen >= MIN_LEN) {
        int64_t rp = price_rep(probs, state, s->ridx, s->rlen) + unc * (lmax - s->rlen);
        if (rp < best_cost) {
            best_cost = rp;
            best_kind = K_REP;
        }
    }
    if (s->mlen >= 4) {
        int64_t mp = price_match(probs, state, s->mlen, s->mdist) + unc * (lmax - s->mlen);
        if (mp < best_cost) {
            best_cost = mp;
            best_kind = K_MATCH;
        }
    }
    if (best_kind >= K_REP && j + 1 < f->end) {
        int64_t blen = best_kind == K_REP ? s->rlen : s->mlen;
        if (blen < 64 && later_wins(f, s2, j, state, unc, best_cost, lmax, blen, lit_p)) {
            best_kind = K_LITERAL;
            *s2_next = 1;
        }
    }
    return best_kind;
}

static int64_t emit_match(RC *rc, int kind, const Cand *s, int64_t *reps, int64_t state) {
    rc_bit(rc, P_IS_MATCH + state, 1);
    if (kind == K_SHORT_REP) {
        rc_bit(rc, P_IS_REP + state, 1);
        rc_bit(rc, P_IS_REP0 + state, 0);
        rc_bit(rc, P_IS_REP0_LONG + state, 0);
        return state < 7 ? 9 : 11;
    }
    if (kind == K_REP) {
        rc_bit(rc, P_IS_REP + state, 1);
        int64_t ri = s->ridx;
        if (ri == 0) {
            rc_bit(rc, P_IS_REP0 + state, 0);
            rc_bit(rc, P_IS_REP0_LONG + state, 1);
        } else {
            rc_bit(rc, P_IS_REP0 + state, 1);
            if (ri == 1) {
                rc_bit(rc, P_IS_REP1 + state, 0);
            } else {
                rc_bit(rc, P_IS_REP1 + state, 1);
                rc_bit(rc, P_IS_REP2 + state, ri - 2);
            }
            int64_t d = reps[ri];
            while (ri > 0) {
                reps[ri] = reps[ri - 1];
                ri--;
            }
            reps[0] = d;
        }
        encode_len(rc, P_RLEN, s->rlen);
        return state < 7 ? 8 : 11;
    }
    rc_bit(rc, P_IS_REP + state, 0);
    encode_len(rc, P_MLEN, s->mlen);
    encode_dist(rc, s->mlen, s->mdist - 1);
    reps[3] = reps[2];
    reps[2] = reps[1];
    reps[1] = reps[0];
    reps[0] = s->mdist;
    return state < 7 ? 7 : 10;
}

static void finder_insert(Finder *f, int64_t start, int64_t end) {
    index_positions(f->hb, f->hb_len, start, end, f->idx, f->abs_base, NULL, 0, f->mhead, f->mchain, f->fbits,
                    f->fbase);
}

static void encode_frame(Finder *f, RC *rc, int64_t H, int64_t unc) {
    const uint8_t *hb = f->hb;
    const uint8_t *content = f->content;
    int64_t c_len = f->c_len;
    int64_t *reps = f->reps;
    const int16_t *probs = f->probs;
    int64_t end = f->end;
    int64_t state = 0;
    int64_t prev = H > 0 ? hb[H - 1] : 0;
    int64_t j = H;
    Cand s = {0, 0, 0, unc, 0, 0};
    Cand s2 = {0, 0, 0, unc, 0, 0};
    int reuse = 0;
    while (j < end) {
        /* After a literal chosen by the lazy step, the lazy step's find at this position is what find()
         * gives now when indexing the literal's position changed neither index entry find() reads here
         * (its hashes differ in both keys, or it was not indexed, or find() reads no index here): a
         * literal moves no rep, and match scores use no probability a literal updates.  The Python
         * path finds again; the frames are the same (test_speedups). */
        if (reuse) s = s2;
        else find(f, &s, j);
        reuse = 0;
        int64_t cur_byte = hb[j];
        int64_t mbyte = -1;
        if (state >= 7) {
            int64_t msrc = c_len + j - reps[0];
            if (msrc >= 0) mbyte = msrc < c_len ? content[msrc] : hb[msrc - c_len];
        }
        int64_t lit_p = price_bit(probs, P_IS_MATCH + state, 0) + lit_price(probs, prev, cur_byte, mbyte);
        int s2_next = 0;
        int kind = choose(f, &s, &s2, j, state, lit_p, cur_byte, &s2_next);
        if (kind == K_LITERAL) {
            if (s2_next) {
                if (j + 5 > f->hb_len) {
                    reuse = 1;  /* j is not indexed, or find() at j + 1 reads no index */
                } else {
                    uint32_t ha = mix4(hb, j), hn = mix4(hb, j + 1);
                    reuse = (ha >> (32 - HIST_HASH_BITS)) != (hn >> (32 - HIST_HASH_BITS))
                            && (ha >> (32 - f->fbits)) != (hn >> (32 - f->fbits));
                }
            }
            rc_bit(rc, P_IS_MATCH + state, 0);
            encode_lit(rc, prev, cur_byte, mbyte);
            state = next_state_lit(state);
            finder_insert(f, j, j + 1);
            prev = cur_byte;
            j += 1;
            continue;
        }
        int64_t length = kind == K_SHORT_REP ? 1 : (kind == K_REP ? s.rlen : s.mlen);
        state = emit_match(rc, kind, &s, reps, state);
        finder_insert(f, j, j + length);
        j += length;
        prev = hb[j - 1];
    }
}

/* encode_frame(content, head, chain, use_content, models, idx, hb, hist_len, abs_base, reps, pidx, plink,
 *              rmask, unc, check, seed) -> payload
 * check < 0: the check value is msg_hash(seed, message) >> 24.  models, idx and reps are updated in
 * place (the caller passes copies it owns). */
static PyObject *py_encode_frame(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o_content, *o_head, *o_chain, *o_models, *o_idx, *o_hb, *o_reps, *o_pidx, *o_plink;
    int use_content;
    long long hist_len, abs_base, rmask, unc, check, seed;
    if (!tables_ready) {
        PyErr_SetString(PyExc_RuntimeError, "BRIO speedups: init() not called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOOpOOOLLOOOLLLL", &o_content, &o_head, &o_chain, &use_content, &o_models, &o_idx,
                          &o_hb, &hist_len, &abs_base, &o_reps, &o_pidx, &o_plink, &rmask, &unc, &check, &seed))
        return NULL;
    Py_buffer v[9];
    int got = 0;
    PyObject *result = NULL;
    int32_t *mhead = NULL, *mchain = NULL;
    RC rc = {0, MASK32, 0, 1, {NULL, 0, 0}, NULL, 0};
    PyObject *const objs[9] = {o_content, o_head, o_chain, o_models, o_idx, o_hb, o_reps, o_pidx, o_plink};
    static const Py_ssize_t sizes[9] = {1, 4, 4, 2, 2, 1, 8, 2, 2};
    if (get_vecs(objs, v, sizes, 9) < 0) return NULL;
    got = 9;
    Finder f;
    f.content = (const uint8_t *)v[0].buf;
    f.c_len = v[0].len;
    f.head = (const int32_t *)v[1].buf;
    f.chain = (const int32_t *)v[2].buf;
    f.chain_len = v[2].len / 4;
    f.use_content = use_content;
    f.probs = (int16_t *)v[3].buf;
    f.idx = (int16_t *)v[4].buf;
    f.hb = (const uint8_t *)v[5].buf;
    f.hb_len = v[5].len;
    f.reps = (int64_t *)v[6].buf;
    f.pidx = (const int16_t *)v[7].buf;
    f.plink = (const int16_t *)v[8].buf;
    f.rmask = rmask;
    f.abs_base = abs_base;
    if (v[3].len != 2 * NPROBS || v[4].len != 2 << HIST_HASH_BITS || v[6].len < 4 * 8
        || (use_content && v[1].len != 4 << CONTENT_HASH_BITS) || hist_len < 0 || hist_len > f.hb_len
        || (rmask > 0 && (v[7].len != 2 << HIST_HASH_BITS || v[8].len != 2 * (rmask + 1)))) {
        PyErr_SetString(PyExc_ValueError, "BRIO speedups: encode_frame state of the wrong size");
        goto done;
    }
    {
        int64_t H = hist_len;
        int64_t end = f.hb_len;
        int64_t n = end - H;
        f.end = end;
        int64_t mbase = H - (RECENT_FACTOR * n + RECENT_MIN);
        if (mbase < 0 || n >= LONG_MESSAGE) mbase = 0;
        int64_t mbits = 8;
        while (mbits < 16 && ((int64_t)1 << mbits) < 2 * (end - mbase)) mbits++;
        int64_t fbase = mbase, fbits = mbits, pfirst = -1;
        int64_t pspan = H - 3 - mbase;
        if (rmask > 0 && mbits >= HIST_HASH_BITS && pspan > PCHAIN_MIN_SPAN * n && pspan <= rmask + 1) {
            fbase = H - 3;
            pfirst = H - 4;
            fbits = 8;
            while (fbits < mbits && ((int64_t)1 << fbits) < 2 * (end - fbase)) fbits++;
        }
        f.mbase = mbase;
        f.mbits = mbits;
        f.fbase = fbase;
        f.fbits = fbits;
        f.pfirst = pfirst;
        int64_t hsize = (int64_t)1 << fbits;
        int64_t csize = end - fbase + 1;
        mhead = (int32_t *)PyMem_Malloc((size_t)hsize * 4);
        mchain = (int32_t *)PyMem_Malloc((size_t)csize * 4);
        if (mhead == NULL || mchain == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        memset(mhead, 0xFF, (size_t)hsize * 4);
        f.mhead = mhead;
        f.mchain = mchain;
        rc.p = f.probs;
        encode_msg_len(&rc, n);
        index_positions(f.hb, f.hb_len, H >= 3 ? H - 3 : 0, H, f.idx, abs_base, NULL, 0, NULL, NULL, 0, 0);
        index_positions(f.hb, f.hb_len, fbase, H, NULL, 0, NULL, 0, mhead, mchain, fbits, fbase);
        encode_frame(&f, &rc, H, unc);
        if (check < 0) check = msg_hash((uint32_t)(seed & 0xFFFFFFFF), f.hb + H, (Py_ssize_t)n) >> (32 - CHECK_BITS);
        rc_direct(&rc, check, CHECK_BITS);
        result = rc_finish(&rc);
    }
done:
    release_vecs(v, got);
    PyMem_Free(mhead);
    PyMem_Free(mchain);
    PyMem_Free(rc.out.buf);
    return result;
}

/* index(hb, start, end, idx, abs_base, plink, rmask): commit positions to the history index (and the
 * persistent links when rmask > 0); idx and plink are updated in place. */
static PyObject *py_index(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o_hb, *o_idx, *o_plink;
    long long start, end, abs_base, rmask;
    if (!PyArg_ParseTuple(args, "OLLOLOL", &o_hb, &start, &end, &o_idx, &abs_base, &o_plink, &rmask)) return NULL;
    Py_buffer v[3];
    PyObject *const objs[3] = {o_hb, o_idx, o_plink};
    static const Py_ssize_t sizes[3] = {1, 2, 2};
    if (get_vecs(objs, v, sizes, 3) < 0) return NULL;
    PyObject *r = Py_None;
    if (v[1].len != 2 << HIST_HASH_BITS || start < 0 || (rmask > 0 && v[2].len != 2 * (rmask + 1))) {
        PyErr_SetString(PyExc_ValueError, "BRIO speedups: index state of the wrong size");
        r = NULL;
    } else {
        index_positions((const uint8_t *)v[0].buf, v[0].len, start, end, (int16_t *)v[1].buf, abs_base,
                        rmask > 0 ? (int16_t *)v[2].buf : NULL, rmask > 0 ? rmask : 0, NULL, NULL, 0, 0);
        Py_INCREF(r);
    }
    release_vecs(v, 3);
    return r;
}

static PyObject *py_msg_hash(PyObject *self, PyObject *args) {
    (void)self;
    long long seed;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "Ly*", &seed, &data)) return NULL;
    uint32_t h = msg_hash((uint32_t)(seed & 0xFFFFFFFF), (const uint8_t *)data.buf, data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(h);
}

/* -- decoder (decode.py, rangecoder.py _RangeDecoder) ----------------------------------------- */
typedef struct {
    const uint8_t *data;
    int64_t n;
    int64_t pos;
    int64_t range;
    int64_t code;
    int16_t *p;
    int err;
    int64_t err_pos;
} RD;

static inline int64_t rd_byte(RD *rd) {
    int64_t pos = rd->pos;
    rd->pos = pos + 1;
    return pos < rd->n ? rd->data[pos] : 0;
}

static inline int64_t rd_bit(RD *rd, int64_t idx) {
    /* branch-free (the bit is unpredictable): b = code >= bound; mask = b ? ~0 : 0 */
    int64_t p = rd->p[idx];
    int64_t range = rd->range, code = rd->code;
    int64_t bound = (range >> PROB_BITS) * p;
    int64_t b = code >= bound;
    int64_t mask = -b;
    range = (bound & ~mask) | ((range - bound) & mask);
    code -= bound & mask;
    rd->p[idx] = (int16_t)(p + ((((PROB_ONE - p) >> MOVE_BITS) & ~mask) - ((p >> MOVE_BITS) & mask)));
    while (range < TOP) {
        range <<= 8;
        code = (code << 8) | rd_byte(rd);
    }
    rd->range = range;
    rd->code = code;
    return b;
}

static int64_t rd_direct(RD *rd, int64_t nbits) {
    int64_t v = 0;
    for (int64_t k = 0; k < nbits; k++) {
        rd->range >>= 1;
        int64_t b = 0;
        if (rd->code >= rd->range) {
            rd->code -= rd->range;
            b = 1;
            if (rd->code >= rd->range) {
                if (!rd->err) {
                    rd->err = E_DIRECT;
                    rd->err_pos = rd->pos;
                }
                return 0;
            }
        }
        v = (v << 1) | b;
        while (rd->range < TOP) {
            rd->range <<= 8;
            rd->code = (rd->code << 8) | rd_byte(rd);
        }
    }
    return v;
}

static int64_t rd_tree(RD *rd, int64_t base, int64_t nbits) {
    int64_t m = 1;
    for (int64_t k = 0; k < nbits; k++) m = (m << 1) | rd_bit(rd, base + m);
    return m - ((int64_t)1 << nbits);
}

static int64_t rd_rtree(RD *rd, int64_t base, int64_t nbits) {
    int64_t m = 1, v = 0;
    for (int64_t k = 0; k < nbits; k++) {
        int64_t b = rd_bit(rd, base + m);
        m = (m << 1) | b;
        v |= b << k;
    }
    return v;
}

static int64_t decode_lit(RD *rd, int64_t prev, int64_t mbyte) {
    int64_t base = P_LIT + (int64_t)LIT_CLASS[prev & 0xFF] * 256;
    if (mbyte < 0) return rd_tree(rd, base, 8);
    int64_t m = 1;
    int matching = 1;
    for (int64_t k = 7; k >= 0; k--) {
        int64_t bit;
        if (matching) {
            int64_t mb = (mbyte >> k) & 1;
            bit = rd_bit(rd, P_MLIT + (mb << 3) + k);
            if (bit != mb) matching = 0;
        } else {
            bit = rd_bit(rd, base + m);
        }
        m = (m << 1) | bit;
    }
    return m - 256;
}

static int64_t decode_len(RD *rd, int64_t base) {
    if (rd_bit(rd, base) == 0) return MIN_LEN + rd_tree(rd, base + 2, 3);
    if (rd_bit(rd, base + 1) == 0) return MIN_LEN + 8 + rd_tree(rd, base + 10, 3);
    return MIN_LEN + 16 + rd_tree(rd, base + 18, 6);
}

static int64_t decode_dist(RD *rd, int64_t length) {
    int64_t ls = length < 5 ? 0 : 1;
    int64_t dslot = rd_tree(rd, P_SLOT + ls * 64, 6);
    if (dslot < 4) return dslot;
    int64_t footer = (dslot >> 1) - 1;
    int64_t base = (2 | (dslot & 1)) << footer;
    if (dslot < 14) return base + rd_rtree(rd, P_SPEC + base - dslot - 1, footer);
    int64_t mid = rd_direct(rd, footer - 4);
    return base + (mid << 4) + rd_rtree(rd, P_ALIGN, 4);
}

/* The byte at ``v`` of content ++ history ++ output (the window a match or a matched literal reads). */
static inline uint8_t window_byte(const uint8_t *content, int64_t c_len, const uint8_t *hist, int64_t H,
                                  const uint8_t *out, int64_t v) {
    if (v < c_len) return content[v];
    if (v < c_len + H) return hist[v - c_len];
    return out[v - c_len - H];
}

/* Append ``length`` bytes read from ``src`` in content ++ history ++ output (room reserved by the caller):
 * whole runs from the content and the history, byte by byte from the output (the source may overlap
 * the copy). */
static void copy_match(Out *w, const uint8_t *content, int64_t c_len, const uint8_t *hist, int64_t H, int64_t src,
                       int64_t length) {
    while (length > 0) {
        int64_t n;
        if (src < c_len || src < c_len + H) {
            const uint8_t *from = src < c_len ? content + src : hist + (src - c_len);
            int64_t avail = src < c_len ? c_len - src : c_len + H - src;
            n = length < avail ? length : avail;
            memcpy(w->buf + w->len, from, (size_t)n);
        } else {
            const uint8_t *from = w->buf + (src - c_len - H);
            uint8_t *to = w->buf + w->len;
            n = length;
            for (int64_t k = 0; k < n; k++) to[k] = from[k];
        }
        w->len += n;
        src += n;
        length -= n;
    }
}

/* decode_frame(content, models, hist, payload, max_size, reps)
 *   -> (0, data, check, 0, 0) or (error code, None, 0, value, offset)
 * models and reps are updated in place (the caller passes copies it owns).  The history is read where it
 * is, not copied in front of the output. */
static PyObject *py_decode_frame(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (!tables_ready) {
        PyErr_SetString(PyExc_RuntimeError, "BRIO speedups: init() not called");
        return NULL;
    }
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "decode_frame expects 6 arguments");
        return NULL;
    }
    PyObject *o_content = args[0], *o_models = args[1], *o_hist = args[2], *o_payload = args[3],
             *o_reps = args[5];
    long long max_size = PyLong_AsLongLong(args[4]);
    if (max_size == -1 && PyErr_Occurred()) return NULL;
    Py_buffer v[5];
    int got = 0;
    PyObject *result = NULL;
    Out w = {NULL, 0, 0};
    int err = E_OK;
    int64_t err_value = 0, err_offset = 0;
    RD rd = {NULL, 0, 0, 0, 0, NULL, E_OK, 0};
    PyObject *const objs[5] = {o_content, o_models, o_hist, o_payload, o_reps};
    static const Py_ssize_t sizes[5] = {1, 2, 1, 1, 8};
    if (get_vecs(objs, v, sizes, 5) < 0) return NULL;
    got = 5;
    if (v[1].len != 2 * NPROBS || v[4].len < 4 * 8) {
        PyErr_SetString(PyExc_ValueError, "BRIO speedups: decode_frame state of the wrong size");
        goto done;
    }
    {
        const uint8_t *content = (const uint8_t *)v[0].buf;
        int64_t c_len = v[0].len;
        const uint8_t *hist = (const uint8_t *)v[2].buf;
        int64_t H = v[2].len;
        int64_t *reps = (int64_t *)v[4].buf;
        rd = (RD){(const uint8_t *)v[3].buf, v[3].len, 0, MASK32, 0, (int16_t *)v[1].buf, E_OK, 0};
        for (int i = 0; i < 4; i++) rd.code = (rd.code << 8) | rd_byte(&rd);
        if (rd.code >= rd.range) {
            err = E_INITIAL_CODE;
            goto fail;
        }
        /* message length (decode.py _decode_msg_len) */
        int64_t slot = rd_tree(&rd, P_NLEN, 6);
        if (slot > MAX_MSG_SLOT) {
            err = E_LENGTH_SLOT;
            err_value = slot;
            goto fail;
        }
        int64_t n = 0;
        if (slot == 1) {
            n = 1;
        } else if (slot >= 2) {
            int64_t rest = slot - 1;
            int64_t top = rest < 2 ? rest : 2;
            n = ((int64_t)1 << top) | rd_tree(&rd, P_NSUB + slot * 4, top);
            if (rest > top) {
                int64_t low = rd_direct(&rd, rest - top);
                if (rd.err) {
                    err = rd.err;
                    err_offset = rd.err_pos;
                    goto fail;
                }
                n = (n << (rest - top)) | low;
            }
        }
        if (n > max_size) {
            err = E_MAX_SIZE;
            err_value = n;
            goto fail;
        }
        if (out_reserve(&w, (Py_ssize_t)(n < 65536 ? n : 65536)) < 0) {
            PyErr_NoMemory();
            goto done;
        }
        int64_t state = 0;
        int64_t prev = H > 0 ? hist[H - 1] : 0;
        /* w.len: the message bytes decoded so far; c_len + H + w.len: the next byte's place in the window */
        while (w.len < n) {
            if (rd.pos > rd.n + MAX_READ_PAST_END) { /* the Python path raises from _byte(): same outcome */
                err = E_PAST_END;
                err_offset = rd.n;
                goto fail;
            }
            if (rd_bit(&rd, P_IS_MATCH + state) == 0) {
                int64_t mbyte = -1;
                if (state >= 7) {
                    int64_t msrc = c_len + H + w.len - reps[0];
                    if (msrc >= 0) mbyte = window_byte(content, c_len, hist, H, w.buf, msrc);
                }
                int64_t b = decode_lit(&rd, prev, mbyte);
                if (w.len >= w.cap && out_reserve(&w, 1) < 0) {
                    PyErr_NoMemory();
                    goto done;
                }
                w.buf[w.len++] = (uint8_t)b;
                prev = b;
                state = next_state_lit(state);
                continue;
            }
            int64_t length = 0, dist = 0;
            if (rd_bit(&rd, P_IS_REP + state) == 1) {
                if (rd_bit(&rd, P_IS_REP0 + state) == 0) {
                    if (rd_bit(&rd, P_IS_REP0_LONG + state) == 0) {
                        length = 1;
                        state = state < 7 ? 9 : 11;
                    }
                    dist = reps[0];
                } else {
                    int64_t ri = 1;
                    if (rd_bit(&rd, P_IS_REP1 + state) == 1) ri = 2 + rd_bit(&rd, P_IS_REP2 + state);
                    dist = reps[ri];
                    while (ri > 0) {
                        reps[ri] = reps[ri - 1];
                        ri--;
                    }
                    reps[0] = dist;
                }
                if (length == 0) {
                    length = decode_len(&rd, P_RLEN);
                    state = state < 7 ? 8 : 11;
                }
            } else {
                length = decode_len(&rd, P_MLEN);
                int64_t d0 = decode_dist(&rd, length);
                if (rd.err) {
                    err = rd.err;
                    err_offset = rd.err_pos;
                    goto fail;
                }
                dist = d0 + 1;
                reps[3] = reps[2];
                reps[2] = reps[1];
                reps[1] = reps[0];
                reps[0] = dist;
                state = state < 7 ? 7 : 10;
            }
            if (length > n - w.len) {
                err = E_MATCH_END;
                err_value = length;
                err_offset = rd.pos;
                goto fail;
            }
            int64_t cur = c_len + H + w.len;
            if (dist > cur || dist < 1) {
                err = E_DISTANCE;
                err_value = dist;
                err_offset = rd.pos;
                goto fail;
            }
            if (out_reserve(&w, (Py_ssize_t)length) < 0) {
                PyErr_NoMemory();
                goto done;
            }
            copy_match(&w, content, c_len, hist, H, cur - dist, length);
            prev = w.buf[w.len - 1];
        }
        int64_t check = rd_direct(&rd, CHECK_BITS);
        if (rd.err) {
            err = rd.err;
            err_offset = rd.err_pos;
            goto fail;
        }
        if (rd.pos > rd.n + MAX_READ_PAST_END) {
            err = E_PAST_END;
            err_offset = rd.n;
            goto fail;
        }
        /* the payload ends with the fewest bytes that pin the final interval (decode.py _check_end) */
        if (v[3].len > rd.pos - 3) {
            err = E_TRAILING;
            err_offset = rd.pos - 3;
            goto fail;
        }
        if (v[3].len > 0 && ((const uint8_t *)v[3].buf)[v[3].len - 1] == 0) {
            err = E_ZERO_END;
            err_offset = v[3].len - 1;
            goto fail;
        }
        PyObject *data = PyBytes_FromStringAndSize((const char *)w.buf, (Py_ssize_t)n);
        if (data == NULL) goto done;
        result = Py_BuildValue("(iNLii)", 0, data, (long long)check, 0, 0);
        goto done;
    }
fail:
    /* The Python path raises as it reads the 17th byte past the end, before any later fault: so does this one
     * whatever fault it met after that read (brio.md §2; test_speedups compares the outcomes). */
    if (rd.data != NULL && rd.pos > rd.n + MAX_READ_PAST_END) {
        err = E_PAST_END;
        err_offset = rd.n;
    }
    result = Py_BuildValue("(iOiLL)", err, Py_None, 0, (long long)err_value, (long long)err_offset);
done:
    release_vecs(v, got);
    PyMem_Free(w.buf);
    return result;
}

/* append_history(hist, data, window) -> bytes: the last ``window`` bytes of hist + data, copied once
 * (model.trim_history, which slices then concatenates: two copies of the history per frame). */
static PyObject *py_append_history(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer h, d;
    long long window;
    if (!PyArg_ParseTuple(args, "y*y*L", &h, &d, &window)) return NULL;
    PyObject *res = NULL;
    if (window <= 0) {
        res = PyBytes_FromStringAndSize(NULL, 0);
    } else {
        Py_ssize_t from_d = d.len < window ? d.len : (Py_ssize_t)window;
        Py_ssize_t from_h = (Py_ssize_t)window - from_d;
        if (from_h > h.len) from_h = h.len;
        res = PyBytes_FromStringAndSize(NULL, from_h + from_d);
        if (res != NULL) {
            char *o = PyBytes_AS_STRING(res);
            if (from_h > 0) memcpy(o, (const char *)h.buf + (h.len - from_h), (size_t)from_h);
            if (from_d > 0) memcpy(o + from_h, (const char *)d.buf + (d.len - from_d), (size_t)from_d);
        }
    }
    PyBuffer_Release(&h);
    PyBuffer_Release(&d);
    return res;
}

/* init(price, lit_class): the price table and the literal classes, computed once by the Python side. */
static PyObject *py_init(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer price, lit;
    if (!PyArg_ParseTuple(args, "y*y*", &price, &lit)) return NULL;
    if (price.len != 256 || lit.len != 256) {
        PyBuffer_Release(&price);
        PyBuffer_Release(&lit);
        PyErr_SetString(PyExc_ValueError, "BRIO speedups: tables of 256 bytes expected");
        return NULL;
    }
    memcpy(PRICE, price.buf, 256);
    memcpy(LIT_CLASS, lit.buf, 256);
    for (int i = 0; i < 256; i++) {
        if (LIT_CLASS[i] >= LIT_CTX) LIT_CLASS[i] = LIT_CTX - 1;
    }
    tables_ready = 1;
    PyBuffer_Release(&price);
    PyBuffer_Release(&lit);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"init", py_init, METH_VARARGS, "init(price, lit_class): the tables shared with the Python path."},
    {"encode_frame", py_encode_frame, METH_VARARGS, "One BRIO frame (encode.py BrioEncoder._code)."},
    {"decode_frame", (PyCFunction)(void (*)(void))py_decode_frame, METH_FASTCALL, "One BRIO frame decoded (decode.py _decode_frame)."},
    {"index", py_index, METH_VARARGS, "Commit positions to the history index and links (matchfinder._index)."},
    {"msg_hash", py_msg_hash, METH_VARARGS, "The 32-bit message hash (model._msg_hash)."},
    {"append_history", py_append_history, METH_VARARGS,
     "The last window bytes of hist + data, copied once (model.trim_history)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "aura_wire.codec.brio._speedups",
    "BRIO's inner loops in C (optional; byte-identical to the Python path).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    /* the layout and search parameters this file was written for; speedups.py refuses the module when
     * model.py / matchfinder.py say otherwise */
    static const struct { const char *name; long value; } layout[] = {
        {"NPROBS", NPROBS}, {"P_LIT", P_LIT}, {"P_MLEN", P_MLEN}, {"P_RLEN", P_RLEN}, {"P_SLOT", P_SLOT},
        {"P_SPEC", P_SPEC}, {"P_ALIGN", P_ALIGN}, {"P_NLEN", P_NLEN}, {"P_NSUB", P_NSUB}, {"P_MLIT", P_MLIT},
        {"MIN_LEN", MIN_LEN}, {"MAX_LEN", MAX_LEN}, {"MAX_MSG_SLOT", MAX_MSG_SLOT}, {"CHECK_BITS", CHECK_BITS},
        {"CONTENT_HASH_BITS", CONTENT_HASH_BITS}, {"HIST_HASH_BITS", HIST_HASH_BITS}, {"CHAIN_DEPTH", CHAIN_DEPTH},
        {"MCHAIN_DEPTH", MCHAIN_DEPTH}, {"PCHAIN_MAX_WINDOW", PCHAIN_MAX_WINDOW}, {"PCHAIN_MIN_SPAN", PCHAIN_MIN_SPAN},
        {"LONG_MESSAGE", LONG_MESSAGE}, {"RECENT_FACTOR", RECENT_FACTOR}, {"RECENT_MIN", RECENT_MIN},
    };
    for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
        if (PyModule_AddIntConstant(m, layout[i].name, layout[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
