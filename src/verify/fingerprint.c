/* TOPLOC-style block fingerprints: streaming top-k selection, SHA-256 digest
 * and polynomial interpolation over GF(2^31 - 1). */
#include "veil/fingerprint.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define P VEIL_FP_PRIME

struct veil_fp_builder {
    int k, dim, layer;
    uint32_t pos, tokens;
    int heap_n;
    float *heap_mag;      /* min-heap on (magnitude, -index) */
    uint32_t *heap_idx;   /* flat index within the block */
    float *heap_val;
    EVP_MD_CTX *sha;
};

/* ---- field arithmetic -------------------------------------------------- */

/* p = 2^31 - 1 is a Mersenne prime: reduce by folding the high bits. */
static uint32_t gf_red(uint64_t x)
{
    x = (x & P) + (x >> 31);
    x = (x & P) + (x >> 31);
    return (uint32_t)(x >= P ? x - P : x);
}
static uint32_t gf_mul(uint32_t a, uint32_t b) { return gf_red((uint64_t)a * b); }
static uint32_t gf_add(uint32_t a, uint32_t b)
{
    uint32_t s = a + b; /* both < 2^31: no overflow */
    return s >= P ? s - P : s;
}
static uint32_t gf_sub(uint32_t a, uint32_t b) { return a >= b ? a - b : P - (b - a); }

static uint32_t gf_pow(uint32_t a, uint32_t e)
{
    uint32_t r = 1;
    while (e) {
        if (e & 1) r = gf_mul(r, a);
        a = gf_mul(a, a);
        e >>= 1;
    }
    return r;
}

static uint32_t gf_inv(uint32_t a) { return gf_pow(a, P - 2); }

uint32_t veil_fp_eval(const veil_fp *fp, uint32_t x)
{
    uint32_t r = 0;
    x %= P;
    for (int i = fp->k - 1; i >= 0; i--)
        r = gf_add(gf_mul(r, x), fp->poly[i] % P);
    return r;
}

/* q = m / (x - r) for a degree-n polynomial m with root r (synthetic division). */
static void divide_root(const uint32_t *m, int n, uint32_t r, uint32_t *q)
{
    uint32_t carry = 0;
    for (int d = n; d >= 1; d--) {
        carry = gf_add(m[d], gf_mul(carry, r));
        q[d - 1] = carry;
    }
}

/* Coefficients of the polynomial of degree < n through (xs[j], ys[j]) with
 * distinct xs: sum_j y_j * prod_{m!=j} (x - x_m) / (x_j - x_m). */
static void interpolate(int n, const uint32_t *xs, const uint32_t *ys, uint32_t *coef)
{
    uint32_t master[VEIL_FP_MAX_K + 1] = {1};
    for (int j = 0; j < n; j++) { /* master *= (x - xs[j]) */
        for (int d = j + 1; d >= 1; d--)
            master[d] = gf_sub(master[d - 1], gf_mul(master[d], xs[j]));
        master[0] = gf_sub(0, gf_mul(master[0], xs[j]));
    }
    /* Pass 1: denominators q_j(xs[j]) with q_j = master / (x - xs[j]), then
     * all their inverses from one field inversion (Montgomery's batch trick);
     * pass 2 rebuilds each q_j (cheaper than storing k x k coefficients). */
    uint32_t q[VEIL_FP_MAX_K], denom[VEIL_FP_MAX_K], prefix[VEIL_FP_MAX_K + 1];
    prefix[0] = 1;
    for (int j = 0; j < n; j++) {
        divide_root(master, n, xs[j], q);
        uint32_t dj = 0;
        for (int d = n - 1; d >= 0; d--)
            dj = gf_add(gf_mul(dj, xs[j]), q[d]);
        denom[j] = dj;
        prefix[j + 1] = gf_mul(prefix[j], dj);
    }
    uint32_t inv = gf_inv(prefix[n]); /* 1 / (product of all denominators) */
    memset(coef, 0, sizeof(uint32_t) * n);
    for (int j = n - 1; j >= 0; j--) {
        uint32_t w = gf_mul(ys[j], gf_mul(inv, prefix[j])); /* y_j / denom[j] */
        inv = gf_mul(inv, denom[j]);
        divide_root(master, n, xs[j], q);
        for (int d = 0; d < n; d++)
            coef[d] = gf_add(coef[d], gf_mul(w, q[d]));
    }
}

uint32_t veil_fp_value_code(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return bits >> 8;
}

/* ---- streaming top-k --------------------------------------------------- */

static float magnitude(float v) { return isnan(v) ? INFINITY : fabsf(v); }

/* a ranks below b: smaller magnitude, or equal magnitude and larger index */
static int below(float ma, uint32_t ia, float mb, uint32_t ib)
{
    return ma < mb || (ma == mb && ia > ib);
}

static void heap_swap(veil_fp_builder *b, int i, int j)
{
    float m = b->heap_mag[i], v = b->heap_val[i];
    uint32_t x = b->heap_idx[i];
    b->heap_mag[i] = b->heap_mag[j], b->heap_val[i] = b->heap_val[j], b->heap_idx[i] = b->heap_idx[j];
    b->heap_mag[j] = m, b->heap_val[j] = v, b->heap_idx[j] = x;
}

static void heap_down(veil_fp_builder *b, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, s = i;
        if (l < b->heap_n && below(b->heap_mag[l], b->heap_idx[l], b->heap_mag[s], b->heap_idx[s])) s = l;
        if (r < b->heap_n && below(b->heap_mag[r], b->heap_idx[r], b->heap_mag[s], b->heap_idx[s])) s = r;
        if (s == i) return;
        heap_swap(b, i, s);
        i = s;
    }
}

static void heap_up(veil_fp_builder *b, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!below(b->heap_mag[i], b->heap_idx[i], b->heap_mag[p], b->heap_idx[p])) return;
        heap_swap(b, i, p);
        i = p;
    }
}

static void heap_offer(veil_fp_builder *b, float v, uint32_t idx)
{
    float m = magnitude(v);
    if (b->heap_n < b->k) {
        b->heap_mag[b->heap_n] = m, b->heap_val[b->heap_n] = v, b->heap_idx[b->heap_n] = idx;
        heap_up(b, b->heap_n++);
    } else if (below(b->heap_mag[0], b->heap_idx[0], m, idx)) {
        b->heap_mag[0] = m, b->heap_val[0] = v, b->heap_idx[0] = idx;
        heap_down(b, 0);
    }
}

int veil_fp_builder_new(int k, int dim, veil_fp_builder **out)
{
    *out = NULL;
    if (k < 1 || k > VEIL_FP_MAX_K || dim < 1)
        return veil_fail(VEIL_EINVAL, "fingerprint k %d (1..%d) or dim %d invalid", k,
                         VEIL_FP_MAX_K, dim);
    veil_fp_builder *b = calloc(1, sizeof *b);
    if (!b) return veil_fail(VEIL_ENOMEM, "out of memory");
    b->k = k;
    b->dim = dim;
    b->heap_mag = malloc(sizeof(float) * k);
    b->heap_val = malloc(sizeof(float) * k);
    b->heap_idx = malloc(sizeof(uint32_t) * k);
    b->sha = EVP_MD_CTX_new();
    if (!b->heap_mag || !b->heap_val || !b->heap_idx || !b->sha) {
        veil_fp_builder_free(b);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    veil_fp_builder_begin(b, -1, 0);
    *out = b;
    return 0;
}

void veil_fp_builder_free(veil_fp_builder *b)
{
    if (!b) return;
    free(b->heap_mag);
    free(b->heap_val);
    free(b->heap_idx);
    EVP_MD_CTX_free(b->sha);
    free(b);
}

void veil_fp_builder_begin(veil_fp_builder *b, int layer, uint32_t pos)
{
    b->layer = layer;
    b->pos = pos;
    b->tokens = 0;
    b->heap_n = 0;
    EVP_DigestInit_ex(b->sha, EVP_sha256(), NULL);
}

uint32_t veil_fp_builder_tokens(const veil_fp_builder *b) { return b->tokens; }

int veil_fp_builder_add(veil_fp_builder *b, int T, const float *x)
{
    if (T < 0) return veil_fail(VEIL_EINVAL, "negative token count");
    if (((uint64_t)b->tokens + T) * b->dim >= P - 1)
        return veil_fail(VEIL_ERANGE, "fingerprint block too large (%u tokens)", b->tokens + T);
    size_t n = (size_t)T * b->dim;
    uint32_t base = b->tokens * (uint32_t)b->dim;
    for (size_t i = 0; i < n; i++)
        heap_offer(b, x[i], base + (uint32_t)i);
    EVP_DigestUpdate(b->sha, x, n * sizeof(float));
    b->tokens += T;
    return 0;
}

int veil_fp_builder_finish(veil_fp_builder *b, veil_fp *out)
{
    if (b->tokens == 0) return veil_fail(VEIL_EINVAL, "empty fingerprint block");
    memset(out, 0, sizeof *out);
    out->layer = b->layer;
    out->pos = b->pos;
    out->T = b->tokens;
    out->dim = (uint32_t)b->dim;
    out->k = b->heap_n;
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(b->sha, full, &len);
    memcpy(out->digest, full, VEIL_FP_DIGEST);
    uint32_t xs[VEIL_FP_MAX_K], ys[VEIL_FP_MAX_K];
    for (int j = 0; j < b->heap_n; j++) {
        xs[j] = b->heap_idx[j] + 1; /* x = 0 would be the constant term: avoid */
        ys[j] = veil_fp_value_code(b->heap_val[j]);
    }
    interpolate(out->k, xs, ys, out->poly);
    veil_fp_builder_begin(b, b->layer, b->pos + b->tokens);
    return 0;
}

int veil_fp_compute(const float *x, int T, int dim, int k, int layer, uint32_t pos, veil_fp *out)
{
    veil_fp_builder *b;
    int rc = veil_fp_builder_new(k, dim, &b);
    if (rc) return rc;
    veil_fp_builder_begin(b, layer, pos);
    rc = veil_fp_builder_add(b, T, x);
    if (!rc) rc = veil_fp_builder_finish(b, out);
    veil_fp_builder_free(b);
    return rc;
}

/* ---- wire format -------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t veil_fp_encoded_size(const veil_fp *fp) { return VEIL_FP_HEADER + 4 * (size_t)fp->k; }

int veil_fp_encode(const veil_fp *fp, uint8_t *buf, size_t cap)
{
    if (fp->k < 1 || fp->k > VEIL_FP_MAX_K) return veil_fail(VEIL_EINVAL, "bad fingerprint k");
    size_t need = veil_fp_encoded_size(fp);
    if (cap < need) return veil_fail(VEIL_ERANGE, "fingerprint needs %zu bytes", need);
    memcpy(buf, "VFP1", 4);
    buf[4] = (uint8_t)fp->k, buf[5] = (uint8_t)(fp->k >> 8), buf[6] = buf[7] = 0;
    put32(buf + 8, (uint32_t)fp->layer);
    put32(buf + 12, fp->pos);
    put32(buf + 16, fp->T);
    put32(buf + 20, fp->dim);
    memcpy(buf + 24, fp->digest, VEIL_FP_DIGEST);
    for (int i = 0; i < fp->k; i++) put32(buf + VEIL_FP_HEADER + 4 * i, fp->poly[i]);
    return (int)need;
}

int veil_fp_decode(const uint8_t *buf, size_t n, veil_fp *out)
{
    memset(out, 0, sizeof *out);
    if (n < VEIL_FP_HEADER || memcmp(buf, "VFP1", 4) != 0)
        return veil_fail(VEIL_EPROTO, "fingerprint: bad magic or %zu-byte truncated header", n);
    int k = buf[4] | buf[5] << 8;
    if (k < 1 || k > VEIL_FP_MAX_K || buf[6] || buf[7])
        return veil_fail(VEIL_EPROTO, "fingerprint: k %d outside 1..%d", k, VEIL_FP_MAX_K);
    if (n != VEIL_FP_HEADER + 4 * (size_t)k)
        return veil_fail(VEIL_EPROTO, "fingerprint: %zu bytes, expected %zu", n,
                         VEIL_FP_HEADER + 4 * (size_t)k);
    out->k = k;
    out->layer = (int32_t)get32(buf + 8);
    out->pos = get32(buf + 12);
    out->T = get32(buf + 16);
    out->dim = get32(buf + 20);
    if (out->T == 0 || out->dim == 0 || (uint64_t)out->T * out->dim >= P - 1 ||
        (uint64_t)k > (uint64_t)out->T * out->dim)
        return veil_fail(VEIL_EPROTO, "fingerprint: block shape %u x %u invalid for k %d",
                         out->T, out->dim, k);
    memcpy(out->digest, buf + 24, VEIL_FP_DIGEST);
    for (int i = 0; i < k; i++) {
        out->poly[i] = get32(buf + VEIL_FP_HEADER + 4 * i);
        if (out->poly[i] >= P) return veil_fail(VEIL_EPROTO, "fingerprint: coefficient >= p");
    }
    return 0;
}

/* ---- comparison ----------------------------------------------------------- */

int veil_fp_equal(const veil_fp *a, const veil_fp *b)
{
    if (a->T != b->T || a->dim != b->dim || a->k != b->k || a->pos != b->pos) return 0;
    return memcmp(a->digest, b->digest, VEIL_FP_DIGEST) == 0 &&
           memcmp(a->poly, b->poly, sizeof(uint32_t) * a->k) == 0;
}

veil_fp_tol veil_fp_default_tol(void)
{
    /* Calibrated by bench_verify: honest runs whose float results differ
     * (per-layer relative jitter 1e-6, as another reduction order gives) stay
     * below 1 unit mean / 4 units max; 10x margin on the mantissa bounds, and
     * up to 1/8 of the points may leave the top-k set near its boundary. */
    return (veil_fp_tol){.max_exp_mismatch = 0.125, .max_mant_mean = 3, .max_mant_max = 32};
}

int veil_fp_check_against(const veil_fp *fp, const float *x, int T, int dim,
                          const veil_fp_tol *tol, veil_fp_check *res)
{
    memset(res, 0, sizeof *res);
    if (fp->T != (uint32_t)T || fp->dim != (uint32_t)dim || fp->k < 1 || fp->k > T * dim ||
        fp->k > VEIL_FP_MAX_K)
        return veil_fail(VEIL_EVERIFY, "fingerprint of a %u x %u block (k %d), expected %d x %d",
                         fp->T, fp->dim, fp->k, T, dim);
    veil_fp_builder *b;
    int rc = veil_fp_builder_new(fp->k, (int)fp->dim, &b);
    if (rc) return rc;
    veil_fp_builder_begin(b, fp->layer, fp->pos);
    if ((rc = veil_fp_builder_add(b, (int)fp->T, x))) {
        veil_fp_builder_free(b);
        return rc;
    }
    /* the verifier's own top-k points, before finish() resets the heap */
    uint32_t idx[VEIL_FP_MAX_K];
    float val[VEIL_FP_MAX_K];
    int n = b->heap_n;
    memcpy(idx, b->heap_idx, sizeof(uint32_t) * n);
    memcpy(val, b->heap_val, sizeof(float) * n);
    veil_fp ref;
    rc = veil_fp_builder_finish(b, &ref);
    veil_fp_builder_free(b);
    if (rc) return rc;
    double sum = 0;
    int matched = 0;
    res->points = n;
    for (int j = 0; j < n; j++) {
        uint32_t want = veil_fp_value_code(val[j]);
        uint32_t got = veil_fp_eval(fp, idx[j] + 1);
        int64_t d = (int64_t)got - (int64_t)want;
        if (d < 0) d = -d;
        if (got >= (1u << 24) || (got >> 23) != (want >> 23) || d >= (1 << 15)) {
            res->exp_mismatch++;
            continue;
        }
        matched++;
        sum += (double)d;
        if ((double)d > res->mant_max) res->mant_max = (double)d;
    }
    res->mant_mean = matched ? sum / matched : 0;
    res->ok = res->exp_mismatch <= tol->max_exp_mismatch * res->points &&
              res->mant_mean <= tol->max_mant_mean && res->mant_max <= tol->max_mant_max;
    if (veil_fp_equal(&ref, fp)) res->ok = 1; /* bit-identical block */
    return 0;
}
