/* Template speedups: the digit scans of the relative slot forms (templates/numbers.py) in C.
 *
 * A line-by-line port of numbers._ddig_delta (DDIG) and numbers._groups_pair (NUMS): the same
 * answers as the Python path's (tests/codec/templates/test_template_speedups.py compares both on
 * random and corpus values), so the same frames.  Optional: the package works without it
 * (aura_wire/codec/templates/speedups.py picks the path).
 *
 * Compiled, the Python path sums a value of more than 18 digits (a timestamp such as
 * 2021-04-17T16:43:37.132833Z has 20) in boxed integers; here 38 digits fit an unsigned __int128, and
 * what does not fit (more digits, a delta beyond 64 bits) is left to the Python path (None).
 *
 * Bounds: every read stays inside the two values; they are at most 64 (DDIG) and 128 (NUMS) bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* forms.MAX_DDIG_DIGITS (checked against it by speedups.py) */
#define MAX_DDIG_DIGITS 40
/* the most digits summed here (10**38 < 2**127) */
#define WIDE_DIGITS 38

static inline int is_digit(int c) { return c >= 0x30 && c <= 0x39; }

/* ddig_delta(a, b): numbers._ddig_delta's answer, -1 when the skeletons differ; None when it needs more
 * than 128-bit arithmetic or is beyond 64 bits (the caller runs the Python path then). */
static PyObject *py_ddig_delta(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "ddig_delta(a: bytes, b: bytes)");
        return NULL;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    if (n == 0 || n > 64 || n != PyBytes_GET_SIZE(args[1])) return PyLong_FromLong(-1);
    const unsigned char *a = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    unsigned __int128 va = 0, vb = 0;
    int nd = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int x = a[i], y = b[i];
        int dx = is_digit(x), dy = is_digit(y);
        if (dx != dy || (!dx && x != y)) return PyLong_FromLong(-1);
        if (dx) {
            if (nd < WIDE_DIGITS) {
                va = va * 10 + (unsigned)(x - 0x30);
                vb = vb * 10 + (unsigned)(y - 0x30);
            }
            nd++;
        }
    }
    if (nd == 0 || nd > MAX_DDIG_DIGITS) return PyLong_FromLong(-1);
    if (nd > WIDE_DIGITS) Py_RETURN_NONE;
    /* zigzag of va - vb */
    unsigned __int128 z = va >= vb ? (va - vb) << 1 : ((vb - va) << 1) - 1;
    if (z > (unsigned __int128)UINT64_MAX) Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong((unsigned long long)z);
}

/* the end of the digit run at s[i:n] */
static inline Py_ssize_t run_end(const unsigned char *s, Py_ssize_t i, Py_ssize_t n) {
    while (i < n && is_digit(s[i])) i++;
    return i;
}

static inline long long digits_value(const unsigned char *s, Py_ssize_t i, Py_ssize_t end) {
    long long v = 0;
    for (; i < end; i++) v = v * 10 + (s[i] - 0x30);
    return v;
}

static int append_ll(PyObject *out, long long v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL) return -1;
    int rc = PyList_Append(out, o);
    Py_DECREF(o);
    return rc;
}

/* groups_pair(a, b): numbers._groups_pair's list (an empty one where it returns _NO_GROUPS) */
static PyObject *py_groups_pair(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "groups_pair(a: bytes, b: bytes)");
        return NULL;
    }
    Py_ssize_t na = PyBytes_GET_SIZE(args[0]), nb = PyBytes_GET_SIZE(args[1]);
    const unsigned char *a = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    if (na == 0 || na > 128 || nb == 0 || nb > 128) return PyList_New(0);
    /* first pass: check and find the groups (at most 16 pairs), then build the list */
    Py_ssize_t ga[16][2], gb[16][2];
    int ng = 0;
    Py_ssize_t i = 0, j = 0;
    for (;;) {
        Py_ssize_t i2 = i, j2 = j;
        while (i2 < na && !is_digit(a[i2])) i2++;
        while (j2 < nb && !is_digit(b[j2])) j2++;
        if (i2 - i != j2 - j || memcmp(a + i, b + j, (size_t)(i2 - i)) != 0) return PyList_New(0);
        if (i2 == na || j2 == nb) {
            if (i2 != na || j2 != nb) return PyList_New(0);
            break;
        }
        Py_ssize_t i3 = run_end(a, i2, na);
        if ((i3 - i2 > 1 && a[i2] == 0x30) || i3 - i2 > 18) return PyList_New(0);
        Py_ssize_t j3 = run_end(b, j2, nb);
        if ((j3 - j2 > 1 && b[j2] == 0x30) || j3 - j2 > 18) return PyList_New(0);
        if (ng >= 16) return PyList_New(0);
        ga[ng][0] = i2;
        ga[ng][1] = i3;
        gb[ng][0] = j2;
        gb[ng][1] = j3;
        ng++;
        i = i3;
        j = j3;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (int k = 0; k < ng; k++) {
        if (append_ll(out, digits_value(a, ga[k][0], ga[k][1])) < 0 ||
            append_ll(out, digits_value(b, gb[k][0], gb[k][1])) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

static PyMethodDef methods[] = {
    {"ddig_delta", (PyCFunction)(void (*)(void))py_ddig_delta, METH_FASTCALL,
     "numbers._ddig_delta (None: beyond 64 bits, the Python path answers)."},
    {"groups_pair", (PyCFunction)(void (*)(void))py_groups_pair, METH_FASTCALL, "numbers._groups_pair."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "aura_wire.codec.templates._speedups",
    "The templates' digit scans in C (optional; the same answers as the Python path).", -1, methods, NULL, NULL,
    NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    /* the constant this file was written for; speedups.py refuses the module when forms.py says otherwise */
    if (PyModule_AddIntConstant(m, "MAX_DDIG_DIGITS", MAX_DDIG_DIGITS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
