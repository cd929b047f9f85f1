/* Pedersen commitments, the opening proof of paper Algorithm 1, Hyrax
 * commitments to multilinear polynomials and the zero-knowledge
 * inner-product argument behind their evaluation proofs. */
#include "veil/zk_commit.h"
#include "veil/zk_mle.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------ */

static void absorb_point(veil_transcript *tr, const char *label, const veil_ge *p)
{
    uint8_t b[32];
    veil_ge_to_bytes(b, p);
    veil_transcript_absorb(tr, label, b, 32);
}

static int absorb_points(veil_transcript *tr, const char *label, const veil_ge *p, size_t n)
{
    uint8_t *b = malloc(n * 32 + 1);
    if (!b)
        return veil_fail(VEIL_ENOMEM, "out of memory encoding %zu points", n);
#pragma omp parallel for schedule(static) if (n >= 64)
    for (size_t i = 0; i < n; i++)
        veil_ge_to_bytes(b + 32 * i, &p[i]);
    veil_transcript_absorb(tr, label, b, n * 32);
    free(b);
    return 0;
}

static int absorb_fes(veil_transcript *tr, const char *label, const veil_fe *x, size_t n)
{
    uint8_t *b = malloc(n * 32 + 1);
    if (!b)
        return veil_fail(VEIL_ENOMEM, "out of memory encoding %zu scalars", n);
    for (size_t i = 0; i < n; i++)
        veil_fe_to_bytes(b + 32 * i, &x[i]);
    veil_transcript_absorb(tr, label, b, n * 32);
    free(b);
    return 0;
}

static void inner(veil_fe *out, const veil_fe *a, const veil_fe *b, size_t n)
{
    veil_fe acc, t;
    veil_fe_zero(&acc);
    for (size_t i = 0; i < n; i++) {
        veil_fe_mul(&t, &a[i], &b[i]);
        veil_fe_add(&acc, &acc, &t);
    }
    *out = acc;
}

/* Byte cursor for the wire formats. */
typedef struct {
    uint8_t *out;
    const uint8_t *in;
    size_t len, pos;
} cursor;

static int put_bytes(cursor *c, const void *p, size_t n)
{
    if (c->len - c->pos < n)
        return veil_fail(VEIL_ERANGE, "output buffer too small");
    memcpy(c->out + c->pos, p, n);
    c->pos += n;
    return 0;
}

static int put_point(cursor *c, const veil_ge *p)
{
    uint8_t b[32];
    veil_ge_to_bytes(b, p);
    return put_bytes(c, b, 32);
}

static int put_fe(cursor *c, const veil_fe *x)
{
    uint8_t b[32];
    veil_fe_to_bytes(b, x);
    return put_bytes(c, b, 32);
}

static int get_bytes(cursor *c, void *p, size_t n, const char *what)
{
    if (c->len - c->pos < n)
        return veil_fail(VEIL_EINVAL, "truncated input reading %s", what);
    memcpy(p, c->in + c->pos, n);
    c->pos += n;
    return 0;
}

/* The one-byte size header of a serialized object: it must be the size the
 * caller expects and no more than the object's fixed arrays hold. */
static int get_size(cursor *c, uint8_t *v, unsigned expect, unsigned max, const char *obj,
                    const char *unit)
{
    char what[64];
    snprintf(what, sizeof what, "%s header", obj);
    int rc = get_bytes(c, v, 1, what);
    if (rc)
        return rc;
    if (*v != expect || *v > max)
        return veil_fail(VEIL_EINVAL, "%s with %u %s, expected %u", obj, *v, unit, expect);
    return 0;
}

static int get_point(cursor *c, veil_ge *p, const char *what)
{
    uint8_t b[32];
    int rc = get_bytes(c, b, 32, what);
    if (rc == 0 && veil_ge_from_bytes(p, b) != 0)
        rc = veil_fail(VEIL_EINVAL, "invalid group element in %s", what);
    return rc;
}

static int get_fe(cursor *c, veil_fe *x, const char *what)
{
    uint8_t b[32];
    int rc = get_bytes(c, b, 32, what);
    if (rc == 0 && veil_fe_from_bytes(x, b) != 0)
        rc = veil_fail(VEIL_EINVAL, "non-canonical scalar in %s", what);
    return rc;
}

/* ---- generators and commitments ------------------------------------------------- */

int veil_pedersen_gens_init(veil_pedersen_gens *pg, const char *label, size_t n)
{
    memset(pg, 0, sizeof *pg);
    size_t ll = strlen(label);
    char *sub = malloc(ll + 3);
    pg->g = malloc((n ? n : 1) * sizeof *pg->g);
    pg->g_aff = malloc((n ? n : 1) * sizeof *pg->g_aff);
    if (!sub || !pg->g || !pg->g_aff) {
        free(sub);
        veil_pedersen_gens_free(pg);
        return veil_fail(VEIL_ENOMEM, "out of memory for %zu generators", n);
    }
    pg->n = n;
    memcpy(sub, label, ll);
    memcpy(sub + ll, "/g", 3);
    veil_ge_generators(sub, n, pg->g);
    memcpy(sub + ll, "/h", 3);
    veil_ge_hash(&pg->h, sub, NULL, 0);
    memcpy(sub + ll, "/u", 3);
    veil_ge_hash(&pg->u, sub, NULL, 0);
    free(sub);
    int rc = veil_ge_prepare(pg->g_aff, pg->g, n);
    if (rc)
        veil_pedersen_gens_free(pg);
    return rc;
}

void veil_pedersen_gens_free(veil_pedersen_gens *pg)
{
    free(pg->g);
    free(pg->g_aff);
    memset(pg, 0, sizeof *pg);
}

/* C += r H (constant time in r). */
static void add_blinding(veil_ge *C, const veil_ge *h, const veil_fe *r)
{
    if (!r)
        return;
    veil_ge t;
    veil_ge_mul(&t, h, r);
    veil_ge_add(C, C, &t);
}

int veil_pedersen_commit(veil_ge *C, const veil_pedersen_gens *pg, const veil_fe *v, size_t n,
                         const veil_fe *r, int threads)
{
    if (n > pg->n)
        return veil_fail(VEIL_EINVAL, "commitment of %zu values needs more than the %zu generators",
                         n, pg->n);
    int rc = veil_msm(C, pg->g_aff, v, n, 0, threads);
    if (rc == 0)
        add_blinding(C, &pg->h, r);
    return rc;
}

int veil_pedersen_commit_i64(veil_ge *C, const veil_pedersen_gens *pg, const int64_t *v,
                             size_t n, const veil_fe *r, int threads)
{
    if (n > pg->n)
        return veil_fail(VEIL_EINVAL, "commitment of %zu values needs more than the %zu generators",
                         n, pg->n);
    int rc = veil_msm_i64(C, pg->g_aff, v, n, threads);
    if (rc == 0)
        add_blinding(C, &pg->h, r);
    return rc;
}

void veil_pedersen_commit_value(veil_ge *C, const veil_pedersen_gens *pg, const veil_fe *t,
                                const veil_fe *r)
{
    veil_ge_mul(C, &pg->u, t);
    add_blinding(C, &pg->h, r);
}

/* ---- Algorithm 1 -------------------------------------------------------------------- */

static int open_absorb_statement(veil_transcript *tr, const veil_ge *c_s, const veil_ge *c_t,
                                 const veil_fe *y, size_t d)
{
    veil_transcript_absorb_u64(tr, "open/d", d);
    absorb_point(tr, "open/c_s", c_s);
    absorb_point(tr, "open/c_t", c_t);
    return absorb_fes(tr, "open/y", y, d);
}

static void open_absorb_mask(veil_transcript *tr, const veil_open_proof *pf, veil_fe *e)
{
    absorb_point(tr, "open/c_d", &pf->c_d);
    absorb_point(tr, "open/c_dy", &pf->c_dy);
    veil_transcript_challenge(tr, "open/e", e);
}

int veil_open_prove(veil_open_proof *pf, veil_transcript *tr, const veil_pedersen_gens *pg,
                    const veil_ge *c_s, const veil_ge *c_t, const veil_fe *S, size_t d,
                    const veil_fe *r_s, const veil_fe *y, const veil_fe *r_t, int threads)
{
    memset(pf, 0, sizeof *pf);
    if (d == 0 || d > pg->n)
        return veil_fail(VEIL_EINVAL, "opening proof: d = %zu outside [1, %zu]", d, pg->n);
    veil_fe *D = malloc(d * sizeof *D);
    pf->s = malloc(d * sizeof *pf->s);
    if (!D || !pf->s) {
        free(D);
        veil_open_proof_free(pf);
        return veil_fail(VEIL_ENOMEM, "out of memory in opening proof (d = %zu)", d);
    }
    pf->d = d;
    veil_fe r1, r2, dy, e, t, zero;
    veil_fe_zero(&zero);
    for (size_t i = 0; i < d; i++)
        veil_fe_random(&D[i]);
    veil_fe_random(&r1);
    veil_fe_random(&r2);
    inner(&dy, D, y, d);
    int rc = veil_pedersen_commit(&pf->c_d, pg, D, d, &r1, threads);
    if (rc == 0)
        rc = open_absorb_statement(tr, c_s, c_t, y, d);
    if (rc == 0) {
        veil_pedersen_commit_value(&pf->c_dy, pg, &dy, &r2);
        open_absorb_mask(tr, pf, &e);
        for (size_t i = 0; i < d; i++) { /* S' = e S + D */
            veil_fe_mul(&t, &e, &S[i]);
            veil_fe_add(&pf->s[i], &t, &D[i]);
        }
        veil_fe_mul(&t, &e, r_s);
        veil_fe_add(&pf->r_s, &t, &r1);
        veil_fe_mul(&t, &e, r_t ? r_t : &zero);
        veil_fe_add(&pf->r_t, &t, &r2);
    }
    veil_wipe(D, d * sizeof *D);
    veil_wipe(&r1, sizeof r1);
    veil_wipe(&r2, sizeof r2);
    veil_wipe(&dy, sizeof dy);
    free(D);
    if (rc)
        veil_open_proof_free(pf);
    return rc;
}

/* sum k_i P_i == identity for public points and scalars. */
static int msm_is_identity(const veil_ge *pts, const veil_fe *k, size_t n, int threads, int *ok)
{
    veil_ge r;
    int rc = veil_ge_msm(&r, pts, k, n, threads);
    *ok = rc == 0 && veil_ge_is_identity(&r);
    return rc;
}

int veil_open_verify(const veil_open_proof *pf, veil_transcript *tr, const veil_pedersen_gens *pg,
                     const veil_ge *c_s, const veil_ge *c_t, const veil_fe *y, size_t d,
                     int threads)
{
    if (d == 0 || d > pg->n || pf->d != d || !pf->s)
        return veil_fail(VEIL_EVERIFY, "opening proof: length %zu, expected %zu", pf->d, d);
    veil_fe e, t, minus_one;
    int rc = open_absorb_statement(tr, c_s, c_t, y, d);
    if (rc)
        return rc;
    open_absorb_mask(tr, pf, &e);
    veil_fe_one(&minus_one);
    veil_fe_neg(&minus_one, &minus_one);

    /* line 8: <S', G> + r_S' H - e c_S - c_D == 0 */
    veil_ge *pts = malloc((d + 3) * sizeof *pts);
    veil_fe *k = malloc((d + 3) * sizeof *k);
    if (!pts || !k) {
        free(pts);
        free(k);
        return veil_fail(VEIL_ENOMEM, "out of memory verifying an opening proof");
    }
    memcpy(pts, pg->g, d * sizeof *pts);
    memcpy(k, pf->s, d * sizeof *k);
    pts[d] = pg->h, k[d] = pf->r_s;
    pts[d + 1] = *c_s, veil_fe_neg(&k[d + 1], &e);
    pts[d + 2] = pf->c_d, k[d + 2] = minus_one;
    int ok1 = 0, ok2 = 0;
    rc = msm_is_identity(pts, k, d + 3, threads, &ok1);
    /* line 9: <S', y> U + r_t' H - e c_t - c_Dy == 0 */
    inner(&t, pf->s, y, d);
    pts[0] = pg->u, k[0] = t;
    pts[1] = pg->h, k[1] = pf->r_t;
    pts[2] = *c_t, veil_fe_neg(&k[2], &e);
    pts[3] = pf->c_dy, k[3] = minus_one;
    if (rc == 0)
        rc = msm_is_identity(pts, k, 4, threads, &ok2);
    free(pts);
    free(k);
    if (rc)
        return rc;
    if (!ok1)
        return veil_fail(VEIL_EVERIFY, "opening proof: c_S^e c_D does not open to S'");
    if (!ok2)
        return veil_fail(VEIL_EVERIFY, "opening proof: <S', y> does not match c_t^e c_Dy");
    return 0;
}

void veil_open_proof_free(veil_open_proof *pf)
{
    free(pf->s);
    memset(pf, 0, sizeof *pf);
}

size_t veil_open_proof_size(size_t d) { return 4 + 64 + 32 * d + 64; }

int veil_open_proof_write(const veil_open_proof *pf, uint8_t *out, size_t cap, size_t *written)
{
    cursor c = {out, NULL, cap, 0};
    uint8_t hdr[4] = {(uint8_t)pf->d, (uint8_t)(pf->d >> 8), (uint8_t)(pf->d >> 16),
                      (uint8_t)(pf->d >> 24)};
    if (pf->d > 0xffffffffu)
        return veil_fail(VEIL_ERANGE, "opening proof too long");
    int rc = put_bytes(&c, hdr, 4);
    if (rc == 0) rc = put_point(&c, &pf->c_d);
    if (rc == 0) rc = put_point(&c, &pf->c_dy);
    for (size_t i = 0; rc == 0 && i < pf->d; i++)
        rc = put_fe(&c, &pf->s[i]);
    if (rc == 0) rc = put_fe(&c, &pf->r_s);
    if (rc == 0) rc = put_fe(&c, &pf->r_t);
    if (rc == 0 && written)
        *written = c.pos;
    return rc;
}

int veil_open_proof_read(veil_open_proof *pf, const uint8_t *in, size_t len, size_t expect_d,
                         size_t *consumed)
{
    memset(pf, 0, sizeof *pf);
    cursor c = {NULL, in, len, 0};
    uint8_t hdr[4];
    int rc = get_bytes(&c, hdr, 4, "opening proof header");
    if (rc)
        return rc;
    size_t d = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
    if (d != expect_d || d == 0)
        return veil_fail(VEIL_EINVAL, "opening proof has length %zu, expected %zu", d, expect_d);
    if ((len - c.pos) / 32 < d + 4)
        return veil_fail(VEIL_EINVAL, "truncated opening proof");
    pf->s = malloc(d * sizeof *pf->s);
    if (!pf->s)
        return veil_fail(VEIL_ENOMEM, "out of memory reading an opening proof");
    pf->d = d;
    rc = get_point(&c, &pf->c_d, "opening proof c_D");
    if (rc == 0) rc = get_point(&c, &pf->c_dy, "opening proof c_Dy");
    for (size_t i = 0; rc == 0 && i < d; i++)
        rc = get_fe(&c, &pf->s[i], "opening proof S'");
    if (rc == 0) rc = get_fe(&c, &pf->r_s, "opening proof r_S'");
    if (rc == 0) rc = get_fe(&c, &pf->r_t, "opening proof r_t'");
    if (rc) {
        veil_open_proof_free(pf);
        return rc;
    }
    if (consumed)
        *consumed = c.pos;
    return 0;
}

/* ---- Hyrax commitments ------------------------------------------------------------------ */

static unsigned log2_exact(size_t n)
{
    unsigned k = 0;
    while (((size_t)1 << k) < n)
        k++;
    return k;
}

static int hyrax_check_shape(const veil_pedersen_gens *pg, unsigned nvars, unsigned row_vars,
                             size_t len)
{
    if (nvars > 2 * VEIL_IPA_MAX_ROUNDS || nvars > 62 || nvars - row_vars > VEIL_IPA_MAX_ROUNDS)
        return veil_fail(VEIL_EINVAL, "polynomial with %u variables is too large", nvars);
    if (len > (size_t)1 << nvars)
        return veil_fail(VEIL_EINVAL, "table of %zu entries exceeds 2^%u", len, nvars);
    if (((size_t)1 << (nvars - row_vars)) > pg->n)
        return veil_fail(VEIL_EINVAL, "Hyrax rows of %zu entries need more than %zu generators",
                         (size_t)1 << (nvars - row_vars), pg->n);
    return 0;
}

static int hyrax_alloc(veil_hyrax_commitment *cm, unsigned nvars, unsigned row_vars)
{
    cm->nvars = nvars;
    cm->rows = (size_t)1 << row_vars;
    cm->cols = (size_t)1 << (nvars - row_vars);
    cm->c = malloc(cm->rows * sizeof *cm->c);
    if (!cm->c)
        return veil_fail(VEIL_ENOMEM, "out of memory for %zu row commitments", cm->rows);
    return 0;
}

/* Any split rows x cols = 2^nvars (both powers of two) is valid: the
 * default one of veil_hyrax_row_vars, or one a caller assembled row by row
 * (e.g. one row per KV-cache position). */
static int hyrax_split_ok(const veil_hyrax_commitment *cm, const veil_pedersen_gens *pg)
{
    if (!cm->c || cm->nvars > 2 * VEIL_IPA_MAX_ROUNDS || !cm->rows || !cm->cols ||
        (cm->rows & (cm->rows - 1)) || (cm->cols & (cm->cols - 1)) ||
        log2_exact(cm->rows) + log2_exact(cm->cols) != cm->nvars ||
        log2_exact(cm->cols) > VEIL_IPA_MAX_ROUNDS)
        return veil_fail(VEIL_EINVAL, "malformed Hyrax commitment");
    if (cm->cols > pg->n)
        return veil_fail(VEIL_EINVAL, "Hyrax rows need more than %zu generators", pg->n);
    return 0;
}

/* One Pedersen commitment per row; rows past the table commit to zero
 * (pure blinding).  Parallel over rows, each MSM single-threaded. */
static int hyrax_commit_any(veil_hyrax_commitment *cm, veil_fe *blinds,
                            const veil_pedersen_gens *pg, const veil_fe *tab,
                            const int64_t *itab, size_t len, unsigned nvars, unsigned row_vars,
                            int threads)
{
    memset(cm, 0, sizeof *cm);
    int rc = row_vars > nvars ? veil_fail(VEIL_EINVAL, "Hyrax split 2^%u rows of 2^%u entries",
                                          row_vars, nvars)
                              : hyrax_check_shape(pg, nvars, row_vars, len);
    if (rc == 0)
        rc = hyrax_alloc(cm, nvars, row_vars);
    if (rc)
        return rc;
    size_t rows = cm->rows, cols = cm->cols;
    for (size_t i = 0; i < rows; i++)
        veil_fe_random(&blinds[i]);
    int nt = threads > 0 ? threads : 0;
    int fail = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt ? nt : omp_get_max_threads()) \
    reduction(| : fail) if (rows > 1)
    for (size_t i = 0; i < rows; i++) {
        size_t start = i * cols;
        size_t n = start >= len ? 0 : (len - start < cols ? len - start : cols);
        int r = itab ? veil_pedersen_commit_i64(&cm->c[i], pg, itab + start, n, &blinds[i], 1)
                     : veil_pedersen_commit(&cm->c[i], pg, tab + start, n, &blinds[i], 1);
        fail |= r != 0;
    }
    if (fail) {
        veil_hyrax_commitment_free(cm);
        return veil_fail(VEIL_ENOMEM, "out of memory committing rows");
    }
    return 0;
}

int veil_hyrax_commit(veil_hyrax_commitment *cm, veil_fe *blinds, const veil_pedersen_gens *pg,
                      const veil_fe *tab, size_t len, unsigned nvars, int threads)
{
    return hyrax_commit_any(cm, blinds, pg, tab, NULL, len, nvars, veil_hyrax_row_vars(nvars),
                            threads);
}

int veil_hyrax_commit_i64(veil_hyrax_commitment *cm, veil_fe *blinds,
                          const veil_pedersen_gens *pg, const int64_t *tab, size_t len,
                          unsigned nvars, int threads)
{
    return hyrax_commit_any(cm, blinds, pg, NULL, tab, len, nvars, veil_hyrax_row_vars(nvars),
                            threads);
}

int veil_hyrax_commit_split(veil_hyrax_commitment *cm, veil_fe *blinds,
                            const veil_pedersen_gens *pg, const veil_fe *tab, const int64_t *itab,
                            size_t len, unsigned nvars, unsigned row_vars, int threads)
{
    return hyrax_commit_any(cm, blinds, pg, tab, itab, len, nvars, row_vars, threads);
}

void veil_hyrax_commitment_free(veil_hyrax_commitment *cm)
{
    free(cm->c);
    memset(cm, 0, sizeof *cm);
}

size_t veil_hyrax_commitment_size(unsigned nvars)
{
    return 1 + 32 * ((size_t)1 << veil_hyrax_row_vars(nvars));
}

size_t veil_hyrax_commitment_size_split(unsigned row_vars) { return 1 + 32 * ((size_t)1 << row_vars); }

int veil_hyrax_commitment_write(const veil_hyrax_commitment *cm, uint8_t *out, size_t cap,
                                size_t *written)
{
    cursor c = {out, NULL, cap, 0};
    uint8_t nv = (uint8_t)cm->nvars;
    int rc = put_bytes(&c, &nv, 1);
    for (size_t i = 0; rc == 0 && i < cm->rows; i++)
        rc = put_point(&c, &cm->c[i]);
    if (rc == 0 && written)
        *written = c.pos;
    return rc;
}

int veil_hyrax_commitment_read(veil_hyrax_commitment *cm, const uint8_t *in, size_t len,
                               unsigned expect_nvars, size_t *consumed)
{
    return veil_hyrax_commitment_read_split(cm, in, len, expect_nvars,
                                            veil_hyrax_row_vars(expect_nvars), consumed);
}

int veil_hyrax_commitment_read_split(veil_hyrax_commitment *cm, const uint8_t *in, size_t len,
                                     unsigned expect_nvars, unsigned row_vars, size_t *consumed)
{
    memset(cm, 0, sizeof *cm);
    cursor c = {NULL, in, len, 0};
    uint8_t nv = 0;
    int rc = get_size(&c, &nv, expect_nvars, 2 * VEIL_IPA_MAX_ROUNDS, "Hyrax commitment",
                      "variables");
    if (rc)
        return rc;
    if (row_vars > nv)
        return veil_fail(VEIL_EINVAL, "Hyrax split 2^%u rows of 2^%u entries", row_vars, nv);
    size_t rows = (size_t)1 << row_vars;
    if ((len - c.pos) / 32 < rows)
        return veil_fail(VEIL_EINVAL, "truncated Hyrax commitment");
    rc = hyrax_alloc(cm, nv, row_vars);
    if (rc)
        return rc;
    /* decoding costs a square root per point: spread it over threads */
    const uint8_t *base = in + c.pos;
    size_t bad = rows;
#pragma omp parallel for schedule(static) reduction(min : bad) if (rows >= 64)
    for (size_t i = 0; i < rows; i++)
        if (veil_ge_from_bytes(&cm->c[i], base + 32 * i) != 0 && i < bad)
            bad = i;
    if (bad < rows) {
        veil_hyrax_commitment_free(cm);
        return veil_fail(VEIL_EINVAL, "invalid group element in Hyrax row commitment %zu", bad);
    }
    if (consumed)
        *consumed = c.pos + 32 * rows;
    return 0;
}

/* ---- evaluation proofs: statement --------------------------------------------------------- */

/* The row and column tensors of the point: f(z) = L^T M R. */
static int hyrax_tensors(const veil_hyrax_commitment *cm, const veil_fe *point, veil_fe **L,
                         veil_fe **R)
{
    unsigned a = log2_exact(cm->rows), b = cm->nvars - a;
    *L = malloc(cm->rows * sizeof **L);
    *R = malloc(cm->cols * sizeof **R);
    if (!*L || !*R) {
        free(*L);
        free(*R);
        *L = *R = NULL;
        return veil_fail(VEIL_ENOMEM, "out of memory for eq tables");
    }
    veil_mle_eq_table(*L, point, a);
    veil_mle_eq_table(*R, point + a, b);
    return 0;
}

/* Absorbs the statement and returns the challenge x that scales U (so a
 * prover cannot smuggle a U component into the row commitments). */
static int hyrax_statement(veil_transcript *tr, const veil_hyrax_commitment *cm,
                           const veil_fe *point, const veil_ge *c_v, const veil_fe *v,
                           veil_fe *x)
{
    veil_transcript_absorb_u64(tr, "hyrax/nvars", cm->nvars);
    int rc = absorb_points(tr, "hyrax/rows", cm->c, cm->rows);
    if (rc == 0)
        rc = absorb_fes(tr, "hyrax/point", point, cm->nvars);
    if (rc)
        return rc;
    if (c_v)
        absorb_point(tr, "hyrax/c_v", c_v);
    else
        veil_transcript_absorb_fe(tr, "hyrax/v", v);
    veil_transcript_challenge(tr, "hyrax/x", x);
    return 0;
}


/* ---- inner-product argument: prover -------------------------------------------------------- */

/* X = <a, G> + c U + r H, the vector part by (variable-time) MSM. */
static int ipa_message(veil_ge *X, const veil_ge *G, const veil_fe *a, size_t n, const veil_ge *U,
                       const veil_fe *c, const veil_ge *H, const veil_fe *r, int threads)
{
    veil_ge t;
    int rc = veil_ge_msm(X, G, a, n, threads);
    if (rc)
        return rc;
    veil_ge_mul(&t, U, c);
    veil_ge_add(X, X, &t);
    veil_ge_mul(&t, H, r);
    veil_ge_add(X, X, &t);
    return 0;
}

/* a' = x a_lo + x^-1 a_hi, b' = x^-1 b_lo + x b_hi, and the generators
 * G' = x^-1 G_lo + x G_hi = x^-1 (G_lo + x^2 G_hi): G is kept without the
 * common factor (one scalar multiplication per element instead of two);
 * the caller tracks the factor f (the product of the x^-1 so far). */
static void ipa_fold(veil_fe *a, veil_fe *b, veil_ge *G, size_t h, const veil_fe *x,
                     const veil_fe *xi, int threads)
{
    int nt = threads > 0 ? threads : omp_get_max_threads();
    veil_fe x2;
    veil_fe_sqr(&x2, x);
#pragma omp parallel for schedule(static) num_threads(nt) if (h >= 16)
    for (size_t i = 0; i < h; i++) {
        veil_fe t, u;
        veil_ge q;
        veil_fe_mul(&t, x, &a[i]);
        veil_fe_mul(&u, xi, &a[i + h]);
        veil_fe_add(&a[i], &t, &u);
        veil_fe_mul(&t, xi, &b[i]);
        veil_fe_mul(&u, x, &b[i + h]);
        veil_fe_add(&b[i], &t, &u);
        veil_ge_mul(&q, &G[i + h], &x2);
        veil_ge_add(&G[i], &G[i], &q);
    }
}

/* X = f <a, G> + c U + r H for the unscaled generators G. */
static int ipa_message_scaled(veil_ge *X, const veil_ge *G, const veil_fe *a, size_t n,
                              const veil_fe *f, const veil_ge *U, const veil_fe *c,
                              const veil_ge *H, const veil_fe *r, int threads)
{
    veil_fe *fa = malloc(n * sizeof *fa);
    if (!fa)
        return veil_fail(VEIL_ENOMEM, "out of memory in IPA prover");
    for (size_t i = 0; i < n; i++)
        veil_fe_mul(&fa[i], f, &a[i]);
    int rc = ipa_message(X, G, fa, n, U, c, H, r, threads);
    veil_wipe(fa, n * sizeof *fa);
    free(fa);
    return rc;
}

/* Proves P = <a, G> + <a, b> U + rho H for P implied by the transcript.
 * a, b, G (n = 2^k entries) are destroyed. */
static int ipa_prove(veil_ipa_proof *pf, veil_transcript *tr, veil_fe *a, veil_fe *b, veil_ge *G,
                     size_t n, const veil_ge *U, const veil_ge *H, veil_fe rho, int threads)
{
    unsigned k = log2_exact(n);
    pf->rounds = k;
    int rc = 0;
    veil_fe f; /* the true generators are f * G */
    veil_fe_one(&f);
    for (unsigned j = 0; j < k && rc == 0; j++) {
        size_t h = n >> (j + 1);
        veil_fe cl, cr, l, r, x, xi, x2, xi2, t;
        inner(&cl, a, b + h, h);
        inner(&cr, a + h, b, h);
        veil_fe_random(&l);
        veil_fe_random(&r);
        rc = ipa_message_scaled(&pf->l[j], G + h, a, h, &f, U, &cl, H, &l, threads);
        if (rc == 0)
            rc = ipa_message_scaled(&pf->r[j], G, a + h, h, &f, U, &cr, H, &r, threads);
        if (rc)
            break;
        absorb_point(tr, "ipa/L", &pf->l[j]);
        absorb_point(tr, "ipa/R", &pf->r[j]);
        veil_transcript_challenge(tr, "ipa/x", &x);
        if (veil_fe_inv(&xi, &x) != 0) {
            rc = veil_fail(VEIL_EINVAL, "zero IPA challenge");
            break;
        }
        ipa_fold(a, b, G, h, &x, &xi, threads);
        veil_fe_mul(&f, &f, &xi);
        veil_fe_sqr(&x2, &x);
        veil_fe_sqr(&xi2, &xi);
        veil_fe_mul(&t, &x2, &l);
        veil_fe_add(&rho, &rho, &t);
        veil_fe_mul(&t, &xi2, &r);
        veil_fe_add(&rho, &rho, &t);
        veil_wipe(&l, sizeof l);
        veil_wipe(&r, sizeof r);
    }
    if (rc == 0) {
        /* Schnorr proof of (a, rho) with P = a (G + b U) + rho H */
        veil_fe k1, k2, c, t;
        veil_ge Q, T;
        veil_ge_mul(&Q, &G[0], &f);
        veil_ge_mul(&T, U, &b[0]);
        veil_ge_add(&Q, &Q, &T);
        veil_fe_random(&k1);
        veil_fe_random(&k2);
        veil_ge_mul(&pf->a, &Q, &k1);
        veil_ge_mul(&T, H, &k2);
        veil_ge_add(&pf->a, &pf->a, &T);
        absorb_point(tr, "ipa/A", &pf->a);
        veil_transcript_challenge(tr, "ipa/c", &c);
        veil_fe_mul(&t, &c, &a[0]);
        veil_fe_add(&pf->z1, &k1, &t);
        veil_fe_mul(&t, &c, &rho);
        veil_fe_add(&pf->z2, &k2, &t);
        veil_wipe(&k1, sizeof k1);
        veil_wipe(&k2, sizeof k2);
    }
    veil_wipe(&rho, sizeof rho);
    return rc;
}

/* Schnorr proof of knowledge of (v, r) with C_v = v U + r H (r = 0 for a
 * public value): without it the inner-product argument alone would also
 * accept a C_v carrying a G component orthogonal to the column tensor. */
static void value_pok_prove(veil_ipa_proof *pf, veil_transcript *tr,
                            const veil_pedersen_gens *pg, const veil_fe *v, const veil_fe *r)
{
    veil_fe k1, k2, e, t, zero;
    veil_ge T;
    veil_fe_zero(&zero);
    if (!r)
        r = &zero;
    veil_fe_random(&k1);
    veil_fe_random(&k2);
    veil_ge_mul(&pf->t_v, &pg->u, &k1);
    veil_ge_mul(&T, &pg->h, &k2);
    veil_ge_add(&pf->t_v, &pf->t_v, &T);
    absorb_point(tr, "hyrax/t_v", &pf->t_v);
    veil_transcript_challenge(tr, "hyrax/e", &e);
    veil_fe_mul(&t, &e, v);
    veil_fe_add(&pf->s_v, &k1, &t);
    veil_fe_mul(&t, &e, r);
    veil_fe_add(&pf->s_r, &k2, &t);
    veil_wipe(&k1, sizeof k1);
    veil_wipe(&k2, sizeof k2);
}

/* s_v U + s_r H - t_v - e C_v == 0 */
static int value_pok_verify(const veil_ipa_proof *pf, veil_transcript *tr,
                            const veil_pedersen_gens *pg, const veil_ge *c_v, int threads,
                            int *ok)
{
    veil_fe e, k[4];
    veil_ge pts[4] = {pg->u, pg->h, pf->t_v, *c_v};
    absorb_point(tr, "hyrax/t_v", &pf->t_v);
    veil_transcript_challenge(tr, "hyrax/e", &e);
    k[0] = pf->s_v;
    k[1] = pf->s_r;
    veil_fe_one(&k[2]);
    veil_fe_neg(&k[2], &k[2]);
    veil_fe_neg(&k[3], &e);
    return msm_is_identity(pts, k, 4, threads, ok);
}

int veil_hyrax_prove(veil_ipa_proof *pf, veil_fe *v_out, veil_transcript *tr,
                     const veil_pedersen_gens *pg, const veil_hyrax_commitment *cm,
                     const veil_fe *tab, size_t len, const veil_fe *blinds,
                     const veil_fe *point, const veil_fe *v_blind, int threads)
{
    memset(pf, 0, sizeof *pf);
    int rc = hyrax_split_ok(cm, pg);
    if (rc == 0 && len > (size_t)1 << cm->nvars)
        rc = veil_fail(VEIL_EINVAL, "table of %zu entries exceeds 2^%u", len, cm->nvars);
    if (rc)
        return rc;
    size_t rows = cm->rows, cols = cm->cols;
    veil_fe *L, *R, v, x, rho, t;
    veil_fe *w = calloc(cols, sizeof *w);
    veil_ge *G = malloc(cols * sizeof *G);
    if (!w || !G || hyrax_tensors(cm, point, &L, &R) != 0) {
        free(w);
        free(G);
        return veil_fail(VEIL_ENOMEM, "out of memory in Hyrax prover");
    }
    /* w = L^T M (the row combination), rho = <L, blinds>, v = <w, R> */
    veil_fe_zero(&rho);
    for (size_t i = 0; i < rows; i++) {
        size_t start = i * cols;
        for (size_t j = 0; j < cols && start + j < len; j++) {
            veil_fe_mul(&t, &L[i], &tab[start + j]);
            veil_fe_add(&w[j], &w[j], &t);
        }
        veil_fe_mul(&t, &L[i], &blinds[i]);
        veil_fe_add(&rho, &rho, &t);
    }
    inner(&v, w, R, cols);
    if (v_out)
        *v_out = v;
    veil_ge c_v, U;
    if (v_blind) {
        veil_pedersen_commit_value(&c_v, pg, &v, v_blind);
        rc = hyrax_statement(tr, cm, point, &c_v, NULL, &x);
        veil_fe_mul(&t, &x, v_blind);
        veil_fe_add(&rho, &rho, &t);
    } else {
        rc = hyrax_statement(tr, cm, point, NULL, &v, &x);
    }
    if (rc == 0)
        value_pok_prove(pf, tr, pg, &v, v_blind);
    if (rc == 0) {
        veil_ge_mul(&U, &pg->u, &x);
        memcpy(G, pg->g, cols * sizeof *G);
        rc = ipa_prove(pf, tr, w, R, G, cols, &U, &pg->h, rho, threads);
    }
    veil_wipe(w, cols * sizeof *w);
    veil_wipe(&rho, sizeof rho);
    free(w);
    free(G);
    free(L);
    free(R);
    return rc;
}

/* ---- inner-product argument: verifier ------------------------------------------------------- */

/* The verifier's side of the transcript: challenges x_j, their inverses
 * and the final c. */
static int ipa_replay(const veil_ipa_proof *pf, veil_transcript *tr, unsigned k, veil_fe *xs,
                      veil_fe *xis, veil_fe *c)
{
    for (unsigned j = 0; j < k; j++) {
        absorb_point(tr, "ipa/L", &pf->l[j]);
        absorb_point(tr, "ipa/R", &pf->r[j]);
        veil_transcript_challenge(tr, "ipa/x", &xs[j]);
        if (veil_fe_is_zero(&xs[j]))
            return veil_fail(VEIL_EVERIFY, "zero IPA challenge");
    }
    absorb_point(tr, "ipa/A", &pf->a);
    veil_transcript_challenge(tr, "ipa/c", c);
    veil_fe_batch_inv(xis, xs, k);
    return 0;
}

/* s_i = prod_j x_j^(+1 or -1) by bit j of i counted from the top (round 0
 * folds the top half), so that the folded generator is <s, G>. */
static void ipa_s_vector(veil_fe *s, const veil_fe *xs, const veil_fe *xis, unsigned k)
{
    veil_fe_one(&s[0]);
    for (unsigned j = 0; j < k; j++) {
        size_t m = (size_t)1 << j;
        for (size_t i = m; i-- > 0;) { /* in place, from the end */
            veil_fe_mul(&s[2 * i + 1], &s[i], &xs[j]);
            veil_fe_mul(&s[2 * i], &s[i], &xis[j]);
        }
    }
}

/* Checks the whole evaluation proof with one MSM:
 *   z1 <s, G> + z1 b_f x U + z2 H - A
 *     - c (sum L_i C_i + x C_v  [or x v U] + sum x_j^2 L_j + x_j^-2 R_j) == 0
 * where s_i = prod_j x_j^(+-1) by the bits of i (round 0 = top bit). */
static int hyrax_verify_any(const veil_ipa_proof *pf, veil_transcript *tr,
                            const veil_pedersen_gens *pg, const veil_hyrax_commitment *cm,
                            const veil_fe *point, const veil_ge *c_v, const veil_fe *v,
                            int threads)
{
    int rc = hyrax_split_ok(cm, pg);
    if (rc)
        return rc;
    unsigned k = log2_exact(cm->cols);
    if (pf->rounds != k)
        return veil_fail(VEIL_EVERIFY, "IPA proof has %u rounds, expected %u", pf->rounds, k);
    size_t rows = cm->rows, cols = cm->cols;
    size_t total = cols + rows + 2 * (size_t)k + 4;
    veil_fe x, c, xs[VEIL_IPA_MAX_ROUNDS], xis[VEIL_IPA_MAX_ROUNDS], *L, *R;
    veil_ge vU;
    int pok = 0;
    rc = hyrax_statement(tr, cm, point, c_v, v, &x);
    if (rc == 0) {
        if (!c_v)
            veil_pedersen_commit_value(&vU, pg, v, NULL);
        rc = value_pok_verify(pf, tr, pg, c_v ? c_v : &vU, threads, &pok);
    }
    if (rc)
        return rc;
    if (!pok)
        return veil_fail(VEIL_EVERIFY, "Hyrax proof: the value commitment does not open over (U, H)");
    if (ipa_replay(pf, tr, k, xs, xis, &c) != 0)
        return VEIL_EVERIFY;

    veil_ge *pts = malloc(total * sizeof *pts);
    veil_fe *sc = malloc(total * sizeof *sc);
    if (!pts || !sc || hyrax_tensors(cm, point, &L, &R) != 0) {
        free(pts);
        free(sc);
        return veil_fail(VEIL_ENOMEM, "out of memory in Hyrax verifier");
    }
    ipa_s_vector(sc, xs, xis, k);
    veil_fe bf, t, negc, one;
    inner(&bf, sc, R, cols);
    for (size_t i = 0; i < cols; i++)
        veil_fe_mul(&sc[i], &sc[i], &pf->z1);
    memcpy(pts, pg->g, cols * sizeof *pts);
    size_t at = cols;
    veil_fe_neg(&negc, &c);
    for (size_t i = 0; i < rows; i++, at++) {
        pts[at] = cm->c[i];
        veil_fe_mul(&sc[at], &negc, &L[i]);
    }
    for (unsigned j = 0; j < k; j++, at += 2) {
        pts[at] = pf->l[j];
        veil_fe_sqr(&t, &xs[j]);
        veil_fe_mul(&sc[at], &negc, &t);
        pts[at + 1] = pf->r[j];
        veil_fe_sqr(&t, &xis[j]);
        veil_fe_mul(&sc[at + 1], &negc, &t);
    }
    veil_fe_one(&one);
    pts[at] = pf->a;
    veil_fe_neg(&sc[at++], &one);
    pts[at] = pg->h;
    sc[at++] = pf->z2;
    /* U: z1 b_f x, minus c x v for a public value */
    pts[at] = pg->u;
    veil_fe_mul(&t, &pf->z1, &bf);
    veil_fe_mul(&sc[at], &t, &x);
    if (!c_v) {
        veil_fe_mul(&t, &negc, &x);
        veil_fe_mul(&t, &t, v);
        veil_fe_add(&sc[at], &sc[at], &t);
    }
    at++;
    if (c_v) {
        pts[at] = *c_v;
        veil_fe_mul(&sc[at++], &negc, &x);
    }
    int ok = 0;
    rc = msm_is_identity(pts, sc, at, threads, &ok);
    free(pts);
    free(sc);
    free(L);
    free(R);
    if (rc)
        return rc;
    if (!ok)
        return veil_fail(VEIL_EVERIFY, "Hyrax evaluation proof does not verify");
    return 0;
}

int veil_hyrax_verify(const veil_ipa_proof *pf, veil_transcript *tr,
                      const veil_pedersen_gens *pg, const veil_hyrax_commitment *cm,
                      const veil_fe *point, const veil_ge *c_v, int threads)
{
    return hyrax_verify_any(pf, tr, pg, cm, point, c_v, NULL, threads);
}

int veil_hyrax_verify_public(const veil_ipa_proof *pf, veil_transcript *tr,
                             const veil_pedersen_gens *pg, const veil_hyrax_commitment *cm,
                             const veil_fe *point, const veil_fe *v, int threads)
{
    return hyrax_verify_any(pf, tr, pg, cm, point, NULL, v, threads);
}

size_t veil_ipa_proof_size(unsigned rounds) { return 1 + 64 * (size_t)rounds + 192; }

int veil_ipa_proof_write(const veil_ipa_proof *pf, uint8_t *out, size_t cap, size_t *written)
{
    if (pf->rounds > VEIL_IPA_MAX_ROUNDS)
        return veil_fail(VEIL_EINVAL, "IPA proof with %u rounds", pf->rounds);
    cursor c = {out, NULL, cap, 0};
    uint8_t k = (uint8_t)pf->rounds;
    int rc = put_bytes(&c, &k, 1);
    for (unsigned j = 0; rc == 0 && j < pf->rounds; j++) {
        rc = put_point(&c, &pf->l[j]);
        if (rc == 0)
            rc = put_point(&c, &pf->r[j]);
    }
    if (rc == 0) rc = put_point(&c, &pf->a);
    if (rc == 0) rc = put_fe(&c, &pf->z1);
    if (rc == 0) rc = put_fe(&c, &pf->z2);
    if (rc == 0) rc = put_point(&c, &pf->t_v);
    if (rc == 0) rc = put_fe(&c, &pf->s_v);
    if (rc == 0) rc = put_fe(&c, &pf->s_r);
    if (rc == 0 && written)
        *written = c.pos;
    return rc;
}

int veil_ipa_proof_read(veil_ipa_proof *pf, const uint8_t *in, size_t len,
                        unsigned expect_rounds, size_t *consumed)
{
    memset(pf, 0, sizeof *pf);
    cursor c = {NULL, in, len, 0};
    uint8_t k = 0;
    int rc = get_size(&c, &k, expect_rounds, VEIL_IPA_MAX_ROUNDS, "IPA proof", "rounds");
    if (rc)
        return rc;
    pf->rounds = k;
    for (unsigned j = 0; rc == 0 && j < k; j++) {
        rc = get_point(&c, &pf->l[j], "IPA L");
        if (rc == 0)
            rc = get_point(&c, &pf->r[j], "IPA R");
    }
    if (rc == 0) rc = get_point(&c, &pf->a, "IPA A");
    if (rc == 0) rc = get_fe(&c, &pf->z1, "IPA z1");
    if (rc == 0) rc = get_fe(&c, &pf->z2, "IPA z2");
    if (rc == 0) rc = get_point(&c, &pf->t_v, "value proof t_v");
    if (rc == 0) rc = get_fe(&c, &pf->s_v, "value proof s_v");
    if (rc == 0) rc = get_fe(&c, &pf->s_r, "value proof s_r");
    if (rc == 0 && consumed)
        *consumed = c.pos;
    return rc;
}
