/* Template render speedups: the decoder's TEMPLATE payload render in C, one call per payload
 * (render.py _render_json / _render_text and atoms.py decode_atom; spec/templates.md §4).
 *
 * A fast path, not a second decoder: it renders the slot forms that carry almost every slot value
 * (SAME, COPY, RAW, UINT, NEG, ZPAD, DEC, HEX, A64, NUMS, DNUM, DDIG, TABLE, LIT and recent strings,
 * PREFIX, arrays and objects, masked slots) and gives up on anything else: digit strings
 * past 18 digits (38 for DDIG), and every malformed input.  Giving up returns None and the caller renders the same
 * payload on the Python path, which raises the error with its message, offset and field; so the two
 * paths cannot differ in their errors, and the C path only has to never succeed where Python fails
 * (tests/codec/templates/test_render_speedups.py checks that on corpus frames and hostile payloads).
 * It reads the template state and never writes it.
 *
 * Bounds: every read of the payload is checked against its length; the output is checked against
 * ``limit`` after every slot, as atoms.py does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* atom forms (forms.py; checked against it by brio/speedups.py) */
#define F_SAME 0
#define F_RAW 1
#define F_UINT 2
#define F_NEG 3
#define F_ZPAD 4
#define F_DEC 5
#define F_HEX 6
#define F_NUMS 7
#define F_DNUM 8
#define F_DDIG 9
#define F_TABLE 10
#define F_A64 11
#define F_LIT 12
#define F_ARR 13
#define F_OBJ 14
#define F_PREFIX 15
#define Q_BIT 0x80
#define MAX_ZPAD 64
#define MAX_DEPTH 32
#define MAX_DDIG_DIGITS 40
#define KEY_MIN 2
#define KEY_MAX 64

#define BAIL (-1)  /* the Python path renders this payload */
#define PYERR (-2) /* a Python exception is set (memory) */

static const char A64[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .";
static const char HEXL[] = "0123456789abcdef";
static const char HEXU[] = "0123456789ABCDEF";

typedef struct {
    uint8_t *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
} Out;

typedef struct {
    const uint8_t *p; /* the payload */
    Py_ssize_t n;
    Out o;
    Py_ssize_t limit;
    PyObject *recent;  /* dict: sequence number -> bytes */
    long long rseq;
    PyObject *strings; /* list of bytes */
    const uint8_t *K;  /* COPY's shared content and message history (spec §4.1.1) */
    Py_ssize_t Kn;
    const uint8_t *H;
    Py_ssize_t Hn;
    Py_buffer hv; /* the history's buffer (a decoder's is its BRIO history, a bytearray) */
} Ctx;

/* A slot's previous value: a bytes object (a slot's prediction) or a span of the output (an array
 * element's previous sibling); none when ``has`` is 0. */
typedef struct {
    int has;
    PyObject *obj;
    Py_ssize_t off, len;
} Last;

typedef struct {
    Py_ssize_t off, len;
} Span;

/* the elements of one decoded array, as spans of the output */
typedef struct {
    Span *v;
    Py_ssize_t n, cap;
} Spans;

static int grow(Out *o, Py_ssize_t extra) {
    Py_ssize_t need = o->len + extra;
    if (need <= o->cap) return 0;
    Py_ssize_t cap = o->cap ? o->cap : 256;
    while (cap < need) cap *= 2;
    uint8_t *b = PyMem_Realloc(o->buf, (size_t)cap);
    if (b == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    o->buf = b;
    o->cap = cap;
    return 0;
}

static inline int put(Out *o, const void *s, Py_ssize_t n) {
    if (n <= 0) return 0;
    if (o->len + n > o->cap && grow(o, n) < 0) return -1;
    memcpy(o->buf + o->len, s, (size_t)n);
    o->len += n;
    return 0;
}

static inline int put_byte(Out *o, uint8_t c) {
    if (o->len >= o->cap && grow(o, 1) < 0) return -1;
    o->buf[o->len++] = c;
    return 0;
}

static inline int put_obj(Out *o, PyObject *b) {
    return put(o, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
}

/* varint.decode_uvarint: BAIL when truncated, over 10 bytes, over 64 bits or non-minimal */
static Py_ssize_t get_uv(const Ctx *c, Py_ssize_t pos, uint64_t *value) {
    uint64_t r = 0;
    int shift = 0;
    Py_ssize_t start = pos;
    for (;;) {
        if (pos >= c->n || pos - start >= 10) return BAIL;
        uint64_t b = c->p[pos++];
        if (shift == 63 && (b & 0x7F) > 1) return BAIL;
        r |= (b & 0x7F) << shift;
        if (b < 0x80) {
            if (b == 0 && pos - start > 1) return BAIL;
            break;
        }
        shift += 7;
    }
    *value = r;
    return pos;
}

/* decimal digits of v (no sign), into s; returns the count */
static int udigits(uint64_t v, char *s) {
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) s[i] = t[n - 1 - i];
    return n;
}

/* numbers.render_decimal(m, scale), m given as sign and magnitude */
static int put_decimal(Out *o, int neg, uint64_t mag, uint64_t scale) {
    char d[24];
    int nd = udigits(mag, d);
    if (neg && put_byte(o, '-') < 0) return -1;
    if (scale == 0) return put(o, d, nd);
    /* digits right-justified to scale + 1 with zeros, then a point before the last ``scale`` */
    Py_ssize_t width = (Py_ssize_t)scale + 1 > nd ? (Py_ssize_t)scale + 1 : nd;
    if (grow(o, width + 1) < 0) return -1;
    Py_ssize_t zeros = width - nd;
    Py_ssize_t int_len = width - (Py_ssize_t)scale;
    for (Py_ssize_t i = 0; i < width; i++) {
        if (i == int_len) o->buf[o->len++] = '.';
        o->buf[o->len++] = (uint8_t)(i < zeros ? '0' : d[i - zeros]);
    }
    return 0;
}

/* numbers._parse_dec for DNUM, in int64: the canonical decimal's mantissa and scale; BAIL when not
 * canonical or past 18 digits (Python then decides) */
static int parse_dec(const uint8_t *s, Py_ssize_t n, int64_t *m, int64_t *scale) {
    if (n == 0 || n > 40) return BAIL;
    Py_ssize_t start = s[0] == '-' ? 1 : 0;
    Py_ssize_t i = start;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    Py_ssize_t int_len = i - start;
    if (int_len == 0 || (int_len > 1 && s[start] == '0')) return BAIL;
    int64_t v = 0;
    int nd = 0;
    int64_t sc = 0;
    for (Py_ssize_t j = start; j < i; j++) {
        v = v * 10 + (s[j] - '0');
        if (++nd > 18) return BAIL;
    }
    if (i < n) {
        if (s[i] != '.') return BAIL;
        Py_ssize_t j = i + 1;
        while (j < n && s[j] >= '0' && s[j] <= '9') {
            v = v * 10 + (s[j] - '0');
            if (++nd > 18) return BAIL;
            j++;
        }
        sc = j - i - 1;
        if (sc == 0 || j != n) return BAIL;
    }
    if (start) {
        if (v == 0) return BAIL;
        v = -v;
    }
    *m = v;
    *scale = sc;
    return 0;
}

/* zigzag_decode of v < 2**63 */
static inline int64_t unzz(uint64_t v) {
    return (v & 1) ? -(int64_t)((v + 1) >> 1) : (int64_t)(v >> 1);
}

static int put_signed(Out *o, int64_t v, int64_t scale) {
    if (v < 0) return put_decimal(o, 1, (uint64_t)(-(v + 1)) + 1, (uint64_t)scale);
    return put_decimal(o, 0, (uint64_t)v, (uint64_t)scale);
}

/* atoms._decode_ddig: the previous value's digits read as one number plus the delta, written back
 * zero-padded into the same positions; in 128 bits, so up to 38 digits (a timestamp with microseconds
 * has 20) */
static int ddig(Out *o, uint64_t delta, const uint8_t *l, Py_ssize_t n) {
    if (n > 64 || delta >> 63) return BAIL;
    __int128 value = 0, top = 1;
    int nd = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (l[i] >= '0' && l[i] <= '9') {
            if (nd >= 38) return BAIL;
            value = value * 10 + (l[i] - '0');
            if (nd > 0) top *= 10;
            nd++;
        }
    }
    if (nd == 0) return BAIL;
    __int128 v = value + unzz(delta);
    if (v < 0 || v >= top * 10) return BAIL;
    /* the nd digits, zero-padded, most significant first: two 64-bit halves of 18 digits and the rest */
    char d[40];
    uint64_t lo = (uint64_t)(v % 1000000000000000000LL);
    uint64_t hi = (uint64_t)(v / 1000000000000000000LL);
    for (int i = nd - 1; i >= 0; i--) {
        if (i >= nd - 18) {
            d[i] = (char)('0' + lo % 10);
            lo /= 10;
        } else {
            d[i] = (char)('0' + hi % 10);
            hi /= 10;
        }
    }
    if (grow(o, n) < 0) return PYERR;
    int j = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        uint8_t ch = l[k];
        o->buf[o->len++] = (ch >= '0' && ch <= '9') ? (uint8_t)d[j++] : ch;
    }
    return 0;
}

/* atoms._decode_nums: the previous value's digit groups (numbers._groups) replaced, by delta (mode 0)
 * or by value (1) */
static Py_ssize_t nums(Ctx *c, Py_ssize_t pos, uint64_t mode, const uint8_t *l, Py_ssize_t n) {
    Py_ssize_t gs[17], ge[16]; /* group i: digits l[gs[i]:ge[i]]; the separators between them */
    int64_t gv[16];
    int ng = 0;
    if (l == NULL || mode > 1 || n == 0 || n > 128) return BAIL;
    Py_ssize_t i = 0;
    while (i < n) {
        if (l[i] >= '0' && l[i] <= '9') {
            Py_ssize_t j = i;
            int64_t v = 0;
            while (j < n && l[j] >= '0' && l[j] <= '9') {
                v = v * 10 + (l[j] - '0');
                if (++j - i > 18) return BAIL;
            }
            if (j - i > 1 && l[i] == '0') return BAIL;
            if (ng == 16) return BAIL;
            gs[ng] = i;
            ge[ng] = j;
            gv[ng++] = v;
            i = j;
        } else {
            i++;
        }
    }
    if (ng == 0) return BAIL;
    int64_t nv[16];
    for (int g = 0; g < ng; g++) {
        uint64_t d;
        pos = get_uv(c, pos, &d);
        if (pos < 0) return BAIL;
        int64_t v;
        if (mode == 0) {
            if (d >> 62) return BAIL;
            v = gv[g] + unzz(d);
        } else {
            if (d >> 62) return BAIL;
            v = (int64_t)d;
        }
        if (v < 0 || v >= 1000000000000000000LL) return BAIL;
        nv[g] = v;
    }
    Out *o = &c->o;
    char d[24];
    Py_ssize_t prev = 0;
    if (grow(o, n + 20 * ng) < 0) return PYERR;
    for (int g = 0; g < ng; g++) {
        memcpy(o->buf + o->len, l + prev, (size_t)(gs[g] - prev));
        o->len += gs[g] - prev;
        int nd = udigits((uint64_t)nv[g], d);
        memcpy(o->buf + o->len, d, (size_t)nd);
        o->len += nd;
        prev = ge[g];
    }
    memcpy(o->buf + o->len, l + prev, (size_t)(n - prev));
    o->len += n - prev;
    return pos;
}

/* one scalar form's content (atoms._decode_scalar); returns the new pos, BAIL or PYERR */
static Py_ssize_t scalar(Ctx *c, Py_ssize_t pos, int form, uint64_t param, const uint8_t *lc, Py_ssize_t ln) {
    Out *o = &c->o;
    uint64_t v;
    char d[24];
    switch (form) {
    case F_RAW:
        if (param > (uint64_t)(c->n - pos)) return BAIL;
        if (put(o, c->p + pos, (Py_ssize_t)param) < 0) return PYERR;
        return pos + (Py_ssize_t)param;
    case F_UINT:
        if (put(o, d, udigits(param, d)) < 0) return PYERR;
        return pos;
    case F_NEG:
        if (put_byte(o, '-') < 0 || put(o, d, udigits(param, d)) < 0) return PYERR;
        return pos;
    case F_ZPAD: {
        if (param > MAX_ZPAD) return BAIL;
        pos = get_uv(c, pos, &v);
        if (pos < 0) return BAIL;
        int nd = udigits(v, d);
        if ((uint64_t)nd >= param) return BAIL;
        if (grow(o, (Py_ssize_t)param) < 0) return PYERR;
        for (uint64_t i = nd; i < param; i++) o->buf[o->len++] = '0';
        memcpy(o->buf + o->len, d, (size_t)nd);
        o->len += nd;
        return pos;
    }
    case F_DEC:
        if (param == 0 || param > 40) return BAIL;
        pos = get_uv(c, pos, &v);
        if (pos < 0) return BAIL;
        /* unzz(v): the sign, and the magnitude (v + 1) >> 1 for a negative, without overflow */
        if (put_decimal(o, (int)(v & 1), (v & 1) ? (v >> 1) + 1 : (v >> 1), param) < 0) return PYERR;
        return pos;
    case F_HEX: {
        const char *alpha = (param & 1) ? HEXU : HEXL;
        uint64_t ndigits = param >> 1;
        uint64_t nb = (ndigits + 1) >> 1;
        if (ndigits == 0 || nb > (uint64_t)(c->n - pos)) return BAIL;
        if (grow(o, (Py_ssize_t)ndigits) < 0) return PYERR;
        if (ndigits & 1) {
            uint8_t b0 = c->p[pos];
            if (b0 > 15) return BAIL;
            o->buf[o->len++] = (uint8_t)alpha[b0];
            pos++;
            nb--;
        }
        for (uint64_t i = 0; i < nb; i++) {
            uint8_t b = c->p[pos + (Py_ssize_t)i];
            o->buf[o->len++] = (uint8_t)alpha[b >> 4];
            o->buf[o->len++] = (uint8_t)alpha[b & 15];
        }
        return pos + (Py_ssize_t)nb;
    }
    case F_A64: {
        if (param == 0 || param > ((uint64_t)1 << 40)) return BAIL;
        uint64_t bits = 6 * param;
        uint64_t nb = (bits + 7) >> 3;
        if (nb > (uint64_t)(c->n - pos)) return BAIL;
        int pad = (int)(nb * 8 - bits);
        if (c->p[pos + (Py_ssize_t)nb - 1] & ((1 << pad) - 1)) return BAIL;
        if (grow(o, (Py_ssize_t)param) < 0) return PYERR;
        /* 6 bits a character, most significant first */
        uint32_t acc = 0;
        int have = 0;
        Py_ssize_t at = pos;
        for (uint64_t i = 0; i < param; i++) {
            if (have < 6) {
                acc = (acc << 8) | c->p[at++];
                have += 8;
            }
            have -= 6;
            o->buf[o->len++] = (uint8_t)A64[(acc >> have) & 63];
        }
        return pos + (Py_ssize_t)nb;
    }
    case F_DNUM: {
        int64_t m, scale;
        if (lc == NULL || param >> 63 || parse_dec(lc, ln, &m, &scale) < 0) return BAIL;
        int64_t r;
        if (__builtin_add_overflow(m, unzz(param), &r) || r == INT64_MIN) return BAIL;
        if (put_signed(o, r, scale) < 0) return PYERR;
        return pos;
    }
    case F_DDIG: {
        if (lc == NULL) return BAIL;
        int e = ddig(o, param, lc, ln);
        return e < 0 ? e : pos;
    }
    case F_TABLE: {
        if (param >= (uint64_t)PyList_GET_SIZE(c->strings)) return BAIL;
        PyObject *s = PyList_GET_ITEM(c->strings, (Py_ssize_t)param);
        if (!PyBytes_Check(s)) return BAIL;
        if (put_obj(o, s) < 0) return PYERR;
        return pos;
    }
    case F_PREFIX: {
        if (lc == NULL || param > (uint64_t)ln) return BAIL;
        pos = get_uv(c, pos, &v);
        if (pos < 0 || v > (uint64_t)(c->n - pos)) return BAIL;
        if (put(o, lc, (Py_ssize_t)param) < 0 || put(o, c->p + pos, (Py_ssize_t)v) < 0) return PYERR;
        return pos + (Py_ssize_t)v;
    }
    case F_NUMS:
        return nums(c, pos, param, lc, ln);
    default: /* the forms decode_atom handles itself */
        return BAIL;
    }
}

static int push_span(Spans *s, Py_ssize_t off, Py_ssize_t len) {
    if (s->n == s->cap) {
        Py_ssize_t cap = s->cap ? 2 * s->cap : 8;
        Span *v = PyMem_Realloc(s->v, (size_t)cap * sizeof(Span));
        if (v == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].off = off;
    s->v[s->n].len = len;
    s->n++;
    return 0;
}

/* copy._decode_copy: ``count`` pieces, each literal bytes or a run copied from K ++ P ++ H ++ out, P
 * being the slot's prediction's content (spec §4.1.1) */
static Py_ssize_t copy_pieces(Ctx *c, Py_ssize_t pos, uint64_t count, int q, const uint8_t *P, Py_ssize_t Pn) {
    Out *o = &c->o;
    if (count > (uint64_t)((c->n - pos) / 2)) return BAIL;
    Py_ssize_t fixed = c->Kn + Pn + c->Hn;
    if (q && put_byte(o, '"') < 0) return PYERR;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t h, d;
        pos = get_uv(c, pos, &h);
        if (pos < 0) return BAIL;
        uint64_t n = h >> 1;
        if (n == 0) return BAIL;
        if ((h & 1) == 0) {
            if (n > (uint64_t)(c->n - pos)) return BAIL;
            if (put(o, c->p + pos, (Py_ssize_t)n) < 0) return PYERR;
            pos += (Py_ssize_t)n;
        } else {
            pos = get_uv(c, pos, &d);
            if (pos < 0) return BAIL;
            Py_ssize_t cur = fixed + o->len;
            if (n > d || d > (uint64_t)cur) return BAIL;
            if (grow(o, (Py_ssize_t)n) < 0) return PYERR;
            Py_ssize_t src = cur - (Py_ssize_t)d, end = src + (Py_ssize_t)n;
            /* the parts in order: K, P, H, then the output so far (n <= d: no overlap with the copy) */
            const uint8_t *part[4] = {c->K, P, c->H, o->buf};
            Py_ssize_t plen[4] = {c->Kn, Pn, c->Hn, o->len};
            Py_ssize_t base = 0;
            for (int k = 0; k < 4 && src < end; k++) {
                if (src < base + plen[k]) {
                    Py_ssize_t stop = end < base + plen[k] ? end : base + plen[k];
                    memcpy(o->buf + o->len, part[k] + (src - base), (size_t)(stop - src));
                    o->len += stop - src;
                    src = stop;
                }
                base += plen[k];
            }
        }
        if (o->len > c->limit) return BAIL;
    }
    if (q && put_byte(o, '"') < 0) return PYERR;
    return pos;
}

static Py_ssize_t atom(Ctx *c, Py_ssize_t pos, const Last *last, int json, int depth, const Spans *prev_kids,
                       Spans *kids_out);

/* atoms._decode_array: element i predicted by element i of the previous sibling array (``prev_kids``),
 * else by element i - 1; the elements are pushed to ``kids_out`` when given */
static Py_ssize_t array(Ctx *c, Py_ssize_t pos, uint64_t count, int depth, const Spans *prev_kids,
                        Spans *kids_out) {
    Spans a = {NULL, 0, 0}, b = {NULL, 0, 0}; /* a: the previous element's elements; b: this one's */
    const Spans *prev_el_kids = NULL;
    Last prev_el = {0, NULL, 0, 0};
    if (put_byte(&c->o, '[') < 0) return PYERR;
    for (uint64_t i = 0; i < count; i++) {
        if (i && put_byte(&c->o, ',') < 0) {
            pos = PYERR;
            break;
        }
        Last lv = prev_el;
        if (prev_kids != NULL && (Py_ssize_t)i < prev_kids->n) {
            lv.has = 1;
            lv.obj = NULL;
            lv.off = prev_kids->v[i].off;
            lv.len = prev_kids->v[i].len;
        }
        int is_arr = pos < c->n && (c->p[pos] & 0x8F) == F_ARR;
        b.n = 0;
        Py_ssize_t start = c->o.len;
        pos = atom(c, pos, &lv, 1, depth + 1, prev_el_kids, is_arr ? &b : NULL);
        if (pos < 0) break;
        prev_el.has = 1;
        prev_el.off = start;
        prev_el.len = c->o.len - start;
        if (is_arr) {
            Spans t = a;
            a = b;
            b = t;
            prev_el_kids = &a;
        } else {
            prev_el_kids = NULL;
        }
        if (kids_out != NULL && push_span(kids_out, start, prev_el.len) < 0) {
            pos = PYERR;
            break;
        }
    }
    PyMem_Free(a.v);
    PyMem_Free(b.v);
    if (pos >= 0 && put_byte(&c->o, ']') < 0) return PYERR;
    return pos;
}

/* atoms._decode_object: ``count`` members, a string atom (the key) and an atom each */
static Py_ssize_t object(Ctx *c, Py_ssize_t pos, uint64_t count, int depth) {
    static const Last none = {0, NULL, 0, 0};
    if (put_byte(&c->o, '{') < 0) return PYERR;
    for (uint64_t i = 0; i < count; i++) {
        if (i && put_byte(&c->o, ',') < 0) return PYERR;
        Py_ssize_t kstart = c->o.len;
        pos = atom(c, pos, &none, 1, depth + 1, NULL, NULL);
        if (pos < 0) return pos;
        if (c->o.len - kstart < 2 || c->o.buf[kstart] != '"') return BAIL;
        if (put_byte(&c->o, ':') < 0) return PYERR;
        pos = atom(c, pos, &none, 1, depth + 1, NULL, NULL);
        if (pos < 0) return pos;
    }
    if (put_byte(&c->o, '}') < 0) return PYERR;
    return pos;
}

/* atoms.decode_atom: one value appended to the output; the new pos, BAIL or PYERR */
static Py_ssize_t atom(Ctx *c, Py_ssize_t pos, const Last *last, int json, int depth, const Spans *prev_kids,
                       Spans *kids_out) {
    if (pos >= c->n) return BAIL;
    uint8_t tag = c->p[pos++];
    int q = (tag & Q_BIT) != 0;
    int form = tag & 0x0F;
    uint64_t param = (tag >> 4) & 7;
    if (param == 7) {
        uint64_t v;
        pos = get_uv(c, pos, &v);
        if (pos < 0 || v > UINT64_MAX - 7) return BAIL;
        param = v + 7;
    }
    if (q && !json) return BAIL;
    Out *o = &c->o;
    if (form == F_SAME && param == 0) {
        if (q || !last->has) return BAIL;
        if (last->obj != NULL) {
            if (put_obj(o, last->obj) < 0) return PYERR;
        } else {
            if (grow(o, last->len) < 0) return PYERR;
            memcpy(o->buf + o->len, o->buf + last->off, (size_t)last->len);
            o->len += last->len;
        }
    } else if (form == F_LIT && param >= 3) {
        if (c->rseq < 1 || param - 3 > (uint64_t)(c->rseq - 1)) return BAIL; /* before the first: undefined */
        long long seq = c->rseq - 1 - (long long)(param - 3);
        PyObject *key = PyLong_FromLongLong(seq);
        if (key == NULL) return PYERR;
        PyObject *got = PyDict_GetItemWithError(c->recent, key);
        Py_DECREF(key);
        if (got == NULL) return PyErr_Occurred() ? PYERR : BAIL;
        if (!PyBytes_Check(got)) return BAIL;
        if ((q && put_byte(o, '"') < 0) || put_obj(o, got) < 0 || (q && put_byte(o, '"') < 0)) return PYERR;
    } else if (form == F_LIT || form == F_ARR || form == F_OBJ) {
        if (!json || q) return BAIL;
        if (form == F_LIT) {
            static const char *lits[3] = {"null", "true", "false"};
            if (put(o, lits[param], (Py_ssize_t)strlen(lits[param])) < 0) return PYERR;
        } else {
            if (depth >= MAX_DEPTH || param > (uint64_t)(c->n - pos)) return BAIL;
            pos = form == F_ARR ? array(c, pos, param, depth, prev_kids, kids_out) : object(c, pos, param, depth);
            if (pos < 0) return pos;
        }
    } else {
        /* the previous value's content (forms.content_of), copied when it lies in the output: the
         * output may move as it grows */
        uint8_t small[256];
        uint8_t *copy = NULL;
        const uint8_t *lc = NULL;
        Py_ssize_t ln = 0;
        if (last->has) {
            ln = last->len;
            if (last->obj != NULL) {
                lc = (const uint8_t *)PyBytes_AS_STRING(last->obj);
                ln = PyBytes_GET_SIZE(last->obj);
            } else {
                if (ln > (Py_ssize_t)sizeof(small)) {
                    copy = PyMem_Malloc((size_t)ln);
                    if (copy == NULL) {
                        PyErr_NoMemory();
                        return PYERR;
                    }
                }
                uint8_t *to = copy != NULL ? copy : small;
                memcpy(to, o->buf + last->off, (size_t)ln);
                lc = to;
            }
            if (json && ln >= 2 && lc[0] == '"' && lc[ln - 1] == '"') {
                lc++;
                ln -= 2;
            }
        }
        if (form == F_SAME) {
            pos = copy_pieces(c, pos, param, q, lc, ln);
        } else {
            if (q && put_byte(o, '"') < 0) pos = PYERR;
            if (pos >= 0) pos = scalar(c, pos, form, param, lc, ln);
            if (pos >= 0 && q && put_byte(o, '"') < 0) pos = PYERR;
        }
        PyMem_Free(copy);
        if (pos < 0) return pos;
    }
    if (o->len > c->limit) return BAIL;
    return pos;
}

static inline Last slot_last(PyObject *lv) {
    Last l = {lv != NULL, lv, 0, 0};
    return l;
}

/* preds[k] as a borrowed bytes or NULL (None); BAIL through *bad when out of range */
static inline PyObject *pred_at(PyObject *preds, Py_ssize_t k, int *bad) {
    if (preds == NULL) return NULL;
    if (k >= PyList_GET_SIZE(preds)) {
        *bad = 1;
        return NULL;
    }
    PyObject *p = PyList_GET_ITEM(preds, k);
    if (p == Py_None) return NULL;
    if (!PyBytes_Check(p)) *bad = 1;
    return p;
}

static PyObject *slot_value(Ctx *c, Py_ssize_t start) {
    return PyBytes_FromStringAndSize((const char *)c->o.buf + start, c->o.len - start);
}

static inline int bytes_eq(PyObject *a, PyObject *b) {
    Py_ssize_t n = PyBytes_GET_SIZE(a);
    return n == PyBytes_GET_SIZE(b) && memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), (size_t)n) == 0;
}

static PyObject *finish(Ctx *c, PyObject *values, int64_t eq, Py_ssize_t pos) {
    PyObject *data = PyBytes_FromStringAndSize((const char *)c->o.buf, c->o.len);
    if (data == NULL) return NULL;
    return Py_BuildValue("(NOLn)", data, values, (long long)eq, pos);
}

static int list_of_bytes(PyObject *o) {
    if (!PyList_Check(o)) return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(o); i++) {
        if (!PyBytes_Check(PyList_GET_ITEM(o, i))) return 0;
    }
    return 1;
}

static void release(Ctx *c) {
    PyMem_Free(c->o.buf);
    c->o.buf = NULL;
    if (c->hv.obj != NULL) PyBuffer_Release(&c->hv);
}

static int setup(Ctx *c, PyObject *const *args, PyObject *content, PyObject *hist) {
    /* payload, pos, ..., limit, recent, rseq, strings at the same places for both renders */
    c->o.buf = NULL;
    c->hv.obj = NULL;
    if (!PyBytes_Check(args[0]) || !PyDict_Check(args[9]) || !PyList_Check(args[11]) || !PyBytes_Check(content)) {
        PyErr_SetString(PyExc_TypeError, "template render speedups: wrong argument types");
        return -1;
    }
    if (PyObject_GetBuffer(hist, &c->hv, PyBUF_SIMPLE) < 0) return -1;
    c->p = (const uint8_t *)PyBytes_AS_STRING(args[0]);
    c->n = PyBytes_GET_SIZE(args[0]);
    c->o.len = c->o.cap = 0;
    c->limit = PyLong_AsSsize_t(args[5]);
    c->recent = args[9];
    c->rseq = PyLong_AsLongLong(args[10]);
    c->strings = args[11];
    c->K = (const uint8_t *)PyBytes_AS_STRING(content);
    c->Kn = PyBytes_GET_SIZE(content);
    c->H = (const uint8_t *)c->hv.buf;
    c->Hn = c->hv.len;
    if (PyErr_Occurred()) return -1;
    return grow(&c->o, c->n * 4 + 64 < 4096 ? c->n * 4 + 64 : 4096);
}

/* render_json(payload, pos, gaps, consts, mask, limit, base, lasts, tid, recent, rseq, strings, content, hist)
 *   -> None (the Python path renders it) or (message, values, eq, pos)
 * render._render_json plus the mask of slots equal to their prediction (context.same_mask); ``lasts``
 * is None in stateless mode, ``consts`` None when the template has none. */
static PyObject *py_render_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 14) {
        PyErr_SetString(PyExc_TypeError, "render_json expects 14 arguments");
        return NULL;
    }
    Ctx c;
    if (setup(&c, args, args[12], args[13]) < 0) {
        release(&c);
        return NULL;
    }
    PyObject *gaps = args[2], *consts = args[3], *base = args[6], *lasts = args[7], *tid = args[8];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    long long mask = PyLong_AsLongLong(args[4]);
    PyObject *values = NULL, *result = NULL;
    if (PyErr_Occurred()) goto done;
    if (!list_of_bytes(gaps) || PyList_GET_SIZE(gaps) < 1 || (consts != Py_None && !PyDict_Check(consts))
        || (base != Py_None && !PyList_Check(base)) || (lasts != Py_None && !PyDict_Check(lasts)) || mask < 0) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    if (base == Py_None) base = NULL;
    if (consts == Py_None) consts = NULL;
    values = PyList_New(0);
    if (values == NULL) goto done;
    PyObject *keyed = NULL; /* borrowed from lasts: the predictions of slots 1.. given slot 0 */
    Py_ssize_t ngaps = PyList_GET_SIZE(gaps);
    Py_ssize_t k = 0;
    int bad = 0;
    for (Py_ssize_t i = 0; i < ngaps - 1; i++) {
        if (put_obj(&c.o, PyList_GET_ITEM(gaps, i)) < 0) goto done;
        if (consts != NULL) {
            PyObject *key = PyLong_FromSsize_t(i);
            if (key == NULL) goto done;
            PyObject *cv = PyDict_GetItemWithError(consts, key);
            Py_DECREF(key);
            if (cv == NULL && PyErr_Occurred()) goto done;
            if (cv != NULL) {
                if (!PyBytes_Check(cv)) goto bail;
                if (put_obj(&c.o, cv) < 0) goto done;
                continue;
            }
        }
        if (k == 1 && lasts != Py_None) {
            /* context.predictions given the first value: keyed by it when it is a short JSON string */
            PyObject *first = PyList_GET_ITEM(values, 0);
            Py_ssize_t fl = PyBytes_GET_SIZE(first);
            if (fl >= KEY_MIN && fl <= KEY_MAX && PyBytes_AS_STRING(first)[0] == '"') {
                PyObject *key = PyTuple_Pack(2, tid, first);
                if (key == NULL) goto done;
                keyed = PyDict_GetItemWithError(lasts, key);
                Py_DECREF(key);
                if (keyed == NULL && PyErr_Occurred()) goto done;
                if (keyed != NULL && !PyList_Check(keyed)) goto bail;
            }
        }
        PyObject *lv = pred_at(k >= 1 && keyed != NULL ? keyed : base, k, &bad);
        if (bad) goto bail;
        PyObject *v;
        if ((mask >> (k < 63 ? k : 63)) & 1) {
            if (lv == NULL) goto bail;
            if (put_obj(&c.o, lv) < 0) goto done;
            v = lv;
            Py_INCREF(v);
        } else {
            Py_ssize_t start = c.o.len;
            Last l = slot_last(lv);
            pos = atom(&c, pos, &l, 1, 0, NULL, NULL);
            if (pos == PYERR) goto done;
            if (pos == BAIL) goto bail;
            v = slot_value(&c, start);
            if (v == NULL) goto done;
        }
        int e = PyList_Append(values, v);
        Py_DECREF(v);
        if (e < 0) goto done;
        k++;
    }
    if (put_obj(&c.o, PyList_GET_ITEM(gaps, ngaps - 1)) < 0) goto done;
    int64_t eq = 0;
    if (lasts != Py_None && (base != NULL || keyed != NULL)) {
        Py_ssize_t nv = PyList_GET_SIZE(values);
        for (Py_ssize_t i = 0; i < nv && i < 63; i++) {
            PyObject *p = pred_at(i >= 1 && keyed != NULL ? keyed : base, i, &bad);
            if (bad) goto bail;
            if (p != NULL && bytes_eq(p, PyList_GET_ITEM(values, i))) eq |= (int64_t)1 << i;
        }
    }
    result = finish(&c, values, eq, pos);
    goto done;
bail:
    result = Py_None;
    Py_INCREF(result);
done:
    Py_XDECREF(values);
    release(&c);
    return result;
}

static int put_spaces(Out *o, Py_ssize_t n) {
    if (n <= 0) return 0;
    if (grow(o, n) < 0) return -1;
    memset(o->buf + o->len, ' ', (size_t)n);
    o->len += n;
    return 0;
}

/* render_text(payload, pos, toks, seps, mask, limit, preds, slot, pre, suf, recent, rseq, strings, spaces,
 *             content, hist)
 *   -> None (the Python path renders it) or (message, values, eq, pos)
 * render._render_text plus context.same_mask; ``preds`` is None in stateless mode; ``spaces`` the
 * separator values of up to len(spaces) - 1 spaces, shared. */
static PyObject *py_render_text(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 16) {
        PyErr_SetString(PyExc_TypeError, "render_text expects 16 arguments");
        return NULL;
    }
    /* setup() reads recent, rseq and strings at 9, 10, 11: pass them there */
    PyObject *a[12] = {args[0], args[1], NULL, NULL, NULL, args[5], NULL, NULL, NULL, args[10], args[11], args[12]};
    Ctx c;
    if (setup(&c, a, args[14], args[15]) < 0) {
        release(&c);
        return NULL;
    }
    PyObject *toks = args[2], *seps = args[3], *preds = args[6], *slot = args[7], *pre = args[8],
             *suf = args[9], *spaces = args[13];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    long long mask = PyLong_AsLongLong(args[4]);
    PyObject *values = NULL, *result = NULL;
    if (PyErr_Occurred()) goto done;
    Py_ssize_t n = PyList_Check(toks) ? PyList_GET_SIZE(toks) : -1;
    if (n < 0 || !list_of_bytes(toks) || !PyList_Check(seps) || PyList_GET_SIZE(seps) != n + 1
        || !PyList_Check(slot) || PyList_GET_SIZE(slot) != n || !list_of_bytes(pre) || PyList_GET_SIZE(pre) != n
        || !list_of_bytes(suf) || PyList_GET_SIZE(suf) != n || !list_of_bytes(spaces)
        || (preds != Py_None && !PyList_Check(preds)) || mask < 0) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    if (preds == Py_None) preds = NULL;
    Py_ssize_t nspaces = PyList_GET_SIZE(spaces);
    values = PyList_New(0);
    if (values == NULL) goto done;
    Py_ssize_t k = 0;
    int bad = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        long long s = PyLong_AsLongLong(PyList_GET_ITEM(seps, i));
        if (s == -1 && PyErr_Occurred()) goto done;
        if (s < 0) {
            PyObject *lv = pred_at(preds, k, &bad);
            if (bad) goto bail;
            uint64_t sv;
            if ((mask >> (k < 63 ? k : 63)) & 1) {
                if (lv == NULL) goto bail;
                sv = (uint64_t)PyBytes_GET_SIZE(lv);
            } else {
                pos = get_uv(&c, pos, &sv);
                if (pos < 0) goto bail;
            }
            if (sv > (uint64_t)PY_SSIZE_T_MAX || (Py_ssize_t)sv > c.limit - c.o.len) goto bail;
            if (0 < i && i < n && sv == 0) goto bail;
            PyObject *sp;
            if ((Py_ssize_t)sv < nspaces) {
                sp = PyList_GET_ITEM(spaces, (Py_ssize_t)sv);
                Py_INCREF(sp);
            } else {
                sp = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sv);
                if (sp == NULL) goto done;
                memset(PyBytes_AS_STRING(sp), ' ', (size_t)sv);
            }
            int e = PyList_Append(values, sp);
            Py_DECREF(sp);
            if (e < 0 || put_spaces(&c.o, (Py_ssize_t)sv) < 0) goto done;
            k++;
        } else if (put_spaces(&c.o, (Py_ssize_t)s) < 0) {
            goto done;
        }
        if (i == n) break;
        PyObject *is_slot = PyList_GET_ITEM(slot, i);
        if (is_slot == Py_True) {
            if (put_obj(&c.o, PyList_GET_ITEM(pre, i)) < 0) goto done;
            PyObject *lv = pred_at(preds, k, &bad);
            if (bad) goto bail;
            PyObject *v;
            Py_ssize_t start = c.o.len;
            if ((mask >> (k < 63 ? k : 63)) & 1) {
                if (lv == NULL) goto bail;
                if (put_obj(&c.o, lv) < 0) goto done;
                v = lv;
                Py_INCREF(v);
            } else {
                Last l = slot_last(lv);
                pos = atom(&c, pos, &l, 0, 0, NULL, NULL);
                if (pos == PYERR) goto done;
                if (pos == BAIL) goto bail;
                v = slot_value(&c, start);
                if (v == NULL) goto done;
            }
            if (memchr(c.o.buf + start, ' ', (size_t)(c.o.len - start)) != NULL) {
                Py_DECREF(v);
                goto bail;
            }
            int e = PyList_Append(values, v);
            Py_DECREF(v);
            if (e < 0 || put_obj(&c.o, PyList_GET_ITEM(suf, i)) < 0) goto done;
            k++;
        } else if (is_slot == Py_False) {
            if (put_obj(&c.o, PyList_GET_ITEM(toks, i)) < 0) goto done;
        } else {
            goto bail;
        }
    }
    int64_t eq = 0;
    if (preds != NULL) {
        Py_ssize_t nv = PyList_GET_SIZE(values);
        for (Py_ssize_t i = 0; i < nv && i < 63; i++) {
            PyObject *p = pred_at(preds, i, &bad);
            if (bad) goto bail;
            if (p != NULL && bytes_eq(p, PyList_GET_ITEM(values, i))) eq |= (int64_t)1 << i;
        }
    }
    result = finish(&c, values, eq, pos);
    goto done;
bail:
    result = Py_None;
    Py_INCREF(result);
done:
    Py_XDECREF(values);
    release(&c);
    return result;
}

/* -- the commit after an exact payload (context.TemplateState.update, spec/templates.md §5.1) -------- */
#define MAX_MASKS 256
#define MRU_SIZE 8
#define LAST_BUDGET_TEMPLATES 128
#define MAX_LAST 128
#define RECENT_MIN_LEN 4
#define RECENT_MAX_LEN 128
#define RECENT_MAX 64
#define RECENT_BYTES 2048
#define PREV_TEXT_SLOTS 2

/* del d[next(iter(d))], the oldest entry; its value (a new reference) in *value when asked */
static int drop_first(PyObject *d, PyObject **value) {
    Py_ssize_t i = 0;
    PyObject *k, *v;
    if (!PyDict_Next(d, &i, &k, &v)) {
        PyErr_SetString(PyExc_RuntimeError, "template state: empty dict");
        return -1;
    }
    Py_INCREF(k);
    if (value != NULL) {
        Py_INCREF(v);
        *value = v;
    }
    int e = PyDict_DelItem(d, k);
    Py_DECREF(k);
    return e;
}

static Py_ssize_t lasts_len(PyObject *vs) {
    Py_ssize_t nb = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(vs); i++) {
        PyObject *v = PyList_GET_ITEM(vs, i);
        if (v != Py_None) nb += PyBytes_GET_SIZE(v);
    }
    return nb;
}

/* TemplateState._put_lasts: the slot values (those of at most MAX_LAST bytes) become the last values of
 * ``key``, then the oldest entries go while over the budgets */
static int put_lasts(PyObject *lasts, PyObject *key, PyObject *values, Py_ssize_t *nb, Py_ssize_t budget) {
    PyObject *old = PyDict_GetItemWithError(lasts, key);
    if (old == NULL && PyErr_Occurred()) return -1;
    if (old != NULL) {
        if (!PyList_Check(old)) {
            PyErr_SetString(PyExc_TypeError, "template state: lasts entry is not a list");
            return -1;
        }
        *nb -= lasts_len(old);
        if (PyDict_DelItem(lasts, key) < 0) return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(values);
    PyObject *fresh = PyList_New(n);
    if (fresh == NULL) return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        if (PyBytes_GET_SIZE(v) <= MAX_LAST) {
            *nb += PyBytes_GET_SIZE(v);
        } else {
            v = Py_None;
        }
        Py_INCREF(v);
        PyList_SET_ITEM(fresh, i, v);
    }
    int e = PyDict_SetItem(lasts, key, fresh);
    Py_DECREF(fresh);
    if (e < 0) return -1;
    while (*nb > budget || PyDict_GET_SIZE(lasts) > LAST_BUDGET_TEMPLATES) {
        PyObject *vs;
        if (drop_first(lasts, &vs) < 0) return -1;
        if (PyList_Check(vs)) *nb -= lasts_len(vs);
        Py_DECREF(vs);
    }
    return 0;
}

/* AtomCtx.add_recent; ``rlow``: no recent string has a lower sequence number (the oldest is found by
 * counting up from it, as forms.py does, not by iterating a dict whose front was deleted) */
static int add_recent(PyObject *recent, PyObject *by_seq, PyObject *s, long long *rseq, Py_ssize_t *nb,
                      long long *rlow, Py_ssize_t rmax, Py_ssize_t rlimit) {
    PyObject *old = PyDict_GetItemWithError(recent, s);
    if (old == NULL && PyErr_Occurred()) return -1;
    if (old != NULL) {
        /* its entry in recent is overwritten below (only by_seq's order is the age order) */
        if (PyDict_DelItem(by_seq, old) < 0) return -1;
        *nb -= PyBytes_GET_SIZE(s);
    }
    PyObject *seq = PyLong_FromLongLong(*rseq);
    if (seq == NULL) return -1;
    int e = PyDict_SetItem(recent, s, seq);
    if (e == 0) e = PyDict_SetItem(by_seq, seq, s);
    Py_DECREF(seq);
    if (e < 0) return -1;
    *rseq += 1;
    *nb += PyBytes_GET_SIZE(s);
    long long lo = *rlow;
    while (PyDict_GET_SIZE(recent) > rmax || *nb > rlimit) {
        PyObject *v = NULL;
        while (v == NULL) { /* sequence numbers are given in increasing order: the lowest present is the oldest */
            if (lo >= *rseq) {
                PyErr_SetString(PyExc_RuntimeError, "template state: recent strings out of order");
                return -1;
            }
            PyObject *k = PyLong_FromLongLong(lo++);
            if (k == NULL) return -1;
            v = PyDict_GetItemWithError(by_seq, k);
            if (v != NULL) {
                Py_INCREF(v);
                e = PyDict_DelItem(by_seq, k);
            } else {
                e = PyErr_Occurred() ? -1 : 0;
            }
            Py_DECREF(k);
            if (e < 0) {
                Py_XDECREF(v);
                return -1;
            }
        }
        e = PyBytes_Check(v) ? PyDict_DelItem(recent, v) : -1;
        if (e == 0) *nb -= PyBytes_GET_SIZE(v);
        Py_DECREF(v);
        if (e < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "template state: recent string is not bytes");
            return -1;
        }
    }
    *rlow = lo;
    return 0;
}

/* update(masks, mru, lasts, tid, mask, values, is_json, last_bytes, last_budget, recent, by_seq, rseq,
 *        recent_bytes, rlow, recent_max, recent_limit) -> (last_bytes, rseq, recent_bytes, rlow, prev_text or None)
 * context.TemplateState.update (steps 1-5 of spec/templates.md §5.1) on the state's own dicts and lists;
 * the counters come back for the caller to store, and prev_text is None for a JSON template. */
static PyObject *py_update(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 16) {
        PyErr_SetString(PyExc_TypeError, "update expects 16 arguments");
        return NULL;
    }
    PyObject *masks = args[0], *mru = args[1], *lasts = args[2], *tid = args[3], *mask = args[4],
             *values = args[5], *recent = args[9], *by_seq = args[10];
    int is_json = PyObject_IsTrue(args[6]);
    Py_ssize_t last_bytes = PyLong_AsSsize_t(args[7]);
    Py_ssize_t budget = PyLong_AsSsize_t(args[8]);
    long long rseq = PyLong_AsLongLong(args[11]);
    Py_ssize_t recent_bytes = PyLong_AsSsize_t(args[12]);
    long long rlow = PyLong_AsLongLong(args[13]);
    /* the recent-string table's bounds, from the template state budget (AtomCtx.recent_max/limit) */
    Py_ssize_t rmax = PyLong_AsSsize_t(args[14]);
    Py_ssize_t rlimit = PyLong_AsSsize_t(args[15]);
    if (PyErr_Occurred()) return NULL;
    if (!PyDict_Check(masks) || !PyList_Check(mru) || !PyDict_Check(lasts) || !list_of_bytes(values)
        || !PyDict_Check(recent) || !PyDict_Check(by_seq)) {
        PyErr_SetString(PyExc_TypeError, "update: wrong argument types");
        return NULL;
    }
    /* step 1: the mask, most recent last; the oldest goes past MAX_MASKS */
    if (PyDict_Contains(masks, tid) == 1 && PyDict_DelItem(masks, tid) < 0) return NULL;
    if (PyErr_Occurred() || PyDict_SetItem(masks, tid, mask) < 0) return NULL;
    if (PyDict_GET_SIZE(masks) > MAX_MASKS && drop_first(masks, NULL) < 0) return NULL;
    /* step 2: the template goes to the front of the MRU list */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(mru); i++) {
        int eq = PyObject_RichCompareBool(PyList_GET_ITEM(mru, i), tid, Py_EQ);
        if (eq < 0) return NULL;
        if (eq) {
            if (PyList_SetSlice(mru, i, i + 1, NULL) < 0) return NULL;
            break;
        }
    }
    if (PyList_Insert(mru, 0, tid) < 0) return NULL;
    if (PyList_GET_SIZE(mru) > MRU_SIZE && PyList_SetSlice(mru, MRU_SIZE, PyList_GET_SIZE(mru), NULL) < 0)
        return NULL;
    /* steps 3-4: the last values, of the template and, for a JSON message whose first slot is a short
     * string, of the template and that string (context.key_of) */
    Py_ssize_t nv = PyList_GET_SIZE(values);
    PyObject *key = PyTuple_Pack(2, tid, Py_None);
    if (key == NULL) return NULL;
    int e = put_lasts(lasts, key, values, &last_bytes, budget);
    Py_DECREF(key);
    if (e < 0) return NULL;
    if (nv > 0 && is_json) {
        PyObject *first = PyList_GET_ITEM(values, 0);
        Py_ssize_t fl = PyBytes_GET_SIZE(first);
        if (fl >= KEY_MIN && fl <= KEY_MAX && PyBytes_AS_STRING(first)[0] == '"') {
            key = PyTuple_Pack(2, tid, first);
            if (key == NULL) return NULL;
            e = put_lasts(lasts, key, values, &last_bytes, budget);
            Py_DECREF(key);
            if (e < 0) return NULL;
        }
    }
    /* step 5: the recent strings (a JSON string's content, without its quotes) */
    for (Py_ssize_t i = 0; i < nv; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        Py_ssize_t n = PyBytes_GET_SIZE(v);
        const char *b = PyBytes_AS_STRING(v);
        if (is_json) {
            if (n < 2 || b[0] != '"') continue;
            b++;
            n -= 2;
        }
        if (n < RECENT_MIN_LEN || n > RECENT_MAX_LEN) continue;
        PyObject *sv = v;
        if (is_json) {
            sv = PyBytes_FromStringAndSize(b, n);
            if (sv == NULL) return NULL;
        } else {
            Py_INCREF(sv);
        }
        e = add_recent(recent, by_seq, sv, &rseq, &recent_bytes, &rlow, rmax, rlimit);
        Py_DECREF(sv);
        if (e < 0) return NULL;
    }
    PyObject *prev = Py_None;
    if (!is_json) {
        prev = PyList_New(0);
        if (prev == NULL) return NULL;
        for (Py_ssize_t i = 0; i < nv && i < PREV_TEXT_SLOTS; i++) {
            PyObject *v = PyList_GET_ITEM(values, i);
            if (PyBytes_GET_SIZE(v) > MAX_LAST) break;
            if (PyList_Append(prev, v) < 0) {
                Py_DECREF(prev);
                return NULL;
            }
        }
    } else {
        Py_INCREF(prev);
    }
    return Py_BuildValue("(nLnLN)", last_bytes, rseq, recent_bytes, rlow, prev);
}

static PyMethodDef methods[] = {
    {"render_json", (PyCFunction)(void (*)(void))py_render_json, METH_FASTCALL,
     "A JSON template payload rendered (render._render_json), or None: the Python path renders it."},
    {"render_text", (PyCFunction)(void (*)(void))py_render_text, METH_FASTCALL,
     "A text template payload rendered (render._render_text), or None: the Python path renders it."},
    {"update", (PyCFunction)(void (*)(void))py_update, METH_FASTCALL,
     "The template state's update after an exact payload (context.TemplateState.update)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "aura_wire.codec.templates._render",
    "The template decoder's render in C (optional; the same messages as the Python path).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__render(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    /* the forms this file was written for; speedups.py refuses the module when forms.py says otherwise */
    static const struct { const char *name; long value; } layout[] = {
        {"F_SAME", F_SAME}, {"F_RAW", F_RAW}, {"F_UINT", F_UINT}, {"F_NEG", F_NEG}, {"F_ZPAD", F_ZPAD},
        {"F_DEC", F_DEC}, {"F_HEX", F_HEX}, {"F_NUMS", F_NUMS}, {"F_DNUM", F_DNUM}, {"F_DDIG", F_DDIG},
        {"F_TABLE", F_TABLE}, {"F_A64", F_A64}, {"F_LIT", F_LIT}, {"F_ARR", F_ARR}, {"F_OBJ", F_OBJ},
        {"F_PREFIX", F_PREFIX}, {"Q_BIT", Q_BIT}, {"MAX_ZPAD", MAX_ZPAD}, {"MAX_DEPTH", MAX_DEPTH},
        {"MAX_DDIG_DIGITS", MAX_DDIG_DIGITS}, {"MAX_MASKS", MAX_MASKS}, {"MRU_SIZE", MRU_SIZE},
        {"LAST_BUDGET_TEMPLATES", LAST_BUDGET_TEMPLATES}, {"MAX_LAST", MAX_LAST}, {"RECENT_MIN_LEN", RECENT_MIN_LEN},
        {"RECENT_MAX_LEN", RECENT_MAX_LEN}, {"RECENT_MAX", RECENT_MAX}, {"RECENT_BYTES", RECENT_BYTES},
        {"PREV_TEXT_SLOTS", PREV_TEXT_SLOTS},
    };
    for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
        if (PyModule_AddIntConstant(m, layout[i].name, layout[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
