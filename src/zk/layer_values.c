/* The layer engine's scalars (see layer_internal.h, "zero knowledge"):
 * every value the prover sends is a Pedersen value commitment, the
 * verifier's arithmetic on them is linear (on the commitments) or a proof
 * of product, and every equality it would check becomes a commitment that
 * must open to zero; all of those are checked at the end by one Schnorr
 * proof on a random combination. */
#include "layer_internal.h"

#include <stdlib.h>
#include <string.h>

void zc_val_pub(zc_val *x, const veil_fe *c)
{
    memset(x, 0, sizeof *x);
    x->pub = *c;
}

void zc_val_pub_i64(zc_val *x, int64_t c)
{
    veil_fe f;
    veil_fe_from_i64(&f, c);
    zc_val_pub(x, &f);
}

void zc_val_full(const zc_val *x, veil_fe *out) { veil_fe_add(out, &x->pub, &x->v); }

int zc_point_io(zc_ctx *z, veil_ge *P, int absorb, const char *label)
{
    uint8_t b[VEIL_GE_BYTES];
    if (z->prover) veil_ge_to_bytes(b, P);
    int rc = zc_bytes_io(z, b, sizeof b, absorb, label);
    if (!rc && !z->prover && veil_ge_from_bytes(P, b))
        return veil_fail(VEIL_EVERIFY, "invalid group element in proof (%s)", label);
    return rc;
}

static int scalar_io(zc_ctx *z, veil_fe *v, const char *label)
{
    uint8_t b[32];
    if (z->prover) veil_fe_to_bytes(b, v);
    int rc = zc_bytes_io(z, b, sizeof b, 0, label);
    if (!rc && !z->prover && veil_fe_from_bytes(v, b))
        return veil_fail(VEIL_EVERIFY, "non-canonical scalar in proof (%s)", label);
    return rc;
}

int zc_val_io(zc_ctx *z, const char *label, zc_val *x, const veil_fe *v)
{
    memset(x, 0, sizeof *x);
    x->com = 1;
    if (z->prover) {
        x->v = *v;
        veil_commit_value_fresh(&x->C, &x->s, z->pg, v);
    }
    return zc_point_io(z, &x->C, 1, label);
}

static int is_pm_one(const veil_fe *k, int *neg)
{
    veil_fe one, m1;
    veil_fe_one(&one);
    veil_fe_neg(&m1, &one);
    *neg = veil_fe_eq(k, &m1);
    return *neg || veil_fe_eq(k, &one);
}

void zc_val_axpy(zc_ctx *z, zc_val *y, const veil_fe *k, const zc_val *x)
{
    veil_fe t;
    veil_fe_mul(&t, k, &x->pub);
    veil_fe_add(&y->pub, &y->pub, &t);
    if (!x->com) return;
    if (z->prover) {
        veil_fe_mul(&t, k, &x->v);
        veil_fe_add(&y->v, &y->v, &t);
        veil_fe_mul(&t, k, &x->s);
        veil_fe_add(&y->s, &y->s, &t);
    } else {
        veil_ge kC;
        int neg;
        if (!is_pm_one(k, &neg)) veil_ge_mul(&kC, &x->C, k);
        else if (neg) veil_ge_neg(&kC, &x->C);
        else kC = x->C;
        if (y->com) veil_ge_add(&y->C, &y->C, &kC);
        else y->C = kC;
    }
    y->com = 1;
}

int zc_val_lincomb(zc_ctx *z, zc_val *out, const veil_fe *k, const zc_val *const *x, size_t n)
{
    zc_val r;
    zc_val_pub_i64(&r, 0);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += x[i]->com;
    if (z->prover || m <= 1) {
        for (size_t i = 0; i < n; i++)
            zc_val_axpy(z, &r, &k[i], x[i]);
        *out = r;
        return 0;
    }
    /* verifier: the public parts in the field, the commitments by one MSM */
    veil_ge *P = malloc(sizeof *P * m);
    veil_fe *w = malloc(sizeof *w * m), t;
    int rc = P && w ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    for (size_t i = 0, j = 0; !rc && i < n; i++) {
        veil_fe_mul(&t, &k[i], &x[i]->pub);
        veil_fe_add(&r.pub, &r.pub, &t);
        if (x[i]->com) P[j] = x[i]->C, w[j++] = k[i];
    }
    r.com = 1;
    if (!rc) rc = veil_ge_msm(&r.C, P, w, m, m < 64 ? 1 : z->threads);
    free(P);
    free(w);
    if (!rc) *out = r;
    return rc;
}

int zc_val_product(zc_ctx *z, const zc_val *const *f, int n, veil_fe *c, zc_val *P)
{
    zc_val_pub_i64(P, 1);
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (!f[i]->com) {
            veil_fe_mul(c, c, &f[i]->pub);
            continue;
        }
        int rc = first ? 0 : zc_val_mul(z, P, P, f[i]);
        if (rc) return rc;
        if (first) *P = *f[i];
        first = 0;
    }
    return 0;
}

/* The commitment to the full value pub + v (blinding s). */
void zc_val_point(const zc_ctx *z, const zc_val *x, veil_ge *P)
{
    veil_fe full;
    zc_val_full(x, &full);
    if (z->prover) {
        veil_pedersen_commit_value(P, z->pg, &full, &x->s);
        return;
    }
    if (x->com && veil_fe_is_zero(&x->pub)) {
        *P = x->C;
        return;
    }
    veil_ge pU;
    veil_ge_mul(&pU, &z->pg->u, &x->pub);
    if (x->com) veil_ge_add(P, &x->C, &pU);
    else *P = pU;
}

int zc_val_mul(zc_ctx *z, zc_val *out, const zc_val *a, const zc_val *b)
{
    if (!a->com || !b->com) { /* a public factor: linear */
        const zc_val *p = a->com ? b : a, *c = a->com ? a : b;
        zc_val r;
        zc_val_pub_i64(&r, 0);
        zc_val_axpy(z, &r, &p->pub, c);
        *out = r;
        return 0;
    }
    veil_ge C1, C2;
    veil_fe x, y, xy;
    zc_val_point(z, a, &C1);
    zc_val_point(z, b, &C2);
    zc_val_full(a, &x);
    zc_val_full(b, &y);
    veil_fe_mul(&xy, &x, &y);
    zc_val r;
    int rc = zc_val_io(z, "prod", &r, &xy);
    veil_prod_proof pf;
    if (!rc && z->prover)
        veil_prod_prove(&pf, &z->tr, z->pg, &C1, &C2, &r.C, &x, &a->s, &y, &b->s, &r.s);
    if (!rc) rc = zc_point_io(z, &pf.alpha, 0, "prod-proof");
    if (!rc) rc = zc_point_io(z, &pf.beta, 0, "prod-proof");
    if (!rc) rc = zc_point_io(z, &pf.delta, 0, "prod-proof");
    for (int i = 0; !rc && i < 5; i++)
        rc = scalar_io(z, &pf.z[i], "prod-proof");
    if (!rc && !z->prover && veil_prod_verify(&pf, &z->tr, z->pg, &C1, &C2, &r.C))
        rc = veil_fail(VEIL_EVERIFY, "proof of product rejected: %s", veil_last_error());
    veil_wipe(&x, sizeof x);
    veil_wipe(&y, sizeof y);
    veil_wipe(&xy, sizeof xy);
    if (!rc) *out = r;
    return rc;
}

int zc_val_zero(zc_ctx *z, const zc_val *x, const char *what)
{
    if (z->prover) {
        veil_fe full;
        zc_val_full(x, &full);
        if (!veil_fe_is_zero(&full)) return veil_fail(VEIL_EINVAL, "prover: %s", what);
    }
    if (z->nzero == z->capzero) {
        size_t cap = z->capzero ? 2 * z->capzero : 256;
        veil_fe *ns = realloc(z->zs, sizeof *ns * cap);
        if (ns) z->zs = ns;
        veil_ge *np = realloc(z->zp, sizeof *np * cap);
        if (np) z->zp = np;
        if (!ns || !np) return veil_fail(VEIL_ENOMEM, "out of memory");
        z->capzero = cap;
    }
    z->zs[z->nzero] = x->s;
    if (!z->prover) zc_val_point(z, x, &z->zp[z->nzero]);
    z->nzero++;
    return 0;
}

int zc_zero_finish(zc_ctx *z)
{
    veil_transcript_absorb_u64(&z->tr, "zero-checks", z->nzero);
    if (!z->nzero) return 0;
    veil_fe rho, w, s, t;
    veil_transcript_challenge(&z->tr, "zero-rho", &rho);
    veil_fe *ws = malloc(sizeof *ws * z->nzero);
    if (!ws) return veil_fail(VEIL_ENOMEM, "out of memory");
    veil_fe_one(&w);
    veil_fe_zero(&s);
    for (size_t i = 0; i < z->nzero; i++) {
        ws[i] = w;
        veil_fe_mul(&t, &w, &z->zs[i]);
        veil_fe_add(&s, &s, &t);
        veil_fe_mul(&w, &w, &rho);
    }
    veil_ge E;
    veil_zero_proof pf;
    int rc = 0;
    if (z->prover) {
        veil_ge_mul(&E, &z->pg->h, &s);
        veil_zero_prove(&pf, &z->tr, z->pg, &E, &s);
    } else {
        rc = veil_ge_msm(&E, z->zp, ws, z->nzero, z->threads);
    }
    if (!rc) rc = zc_point_io(z, &pf.a, 0, "zero-proof");
    if (!rc) rc = scalar_io(z, &pf.z, "zero-proof");
    if (!rc && !z->prover && veil_zero_verify(&pf, &z->tr, z->pg, &E))
        rc = veil_fail(VEIL_EVERIFY, "a relation, lookup or claim check failed");
    veil_wipe(&s, sizeof s);
    free(ws);
    return rc;
}

/* ---- sum-checks over committed rounds ------------------------------------ */

/* Round i sends g_i(0), g_i(2), .., g_i(deg) committed (g_i(1) is the claim
 * minus g_i(0)), so the claim after the last round is a public linear
 * combination of the first claim and those commitments. */
int zc_rounds_init(zc_ctx *z, zc_rounds *rs, unsigned n, unsigned deg)
{
    memset(rs, 0, sizeof *rs);
    rs->z = z, rs->n = n, rs->deg = deg;
    rs->c = calloc((size_t)n * deg + 1, sizeof *rs->c);
    if (z->prover) rs->g = malloc(sizeof *rs->g * ((size_t)n * (deg + 1) + 1));
    return rs->c && (rs->g || !z->prover) ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
}

void zc_rounds_free(zc_rounds *rs)
{
    if (rs->c) veil_wipe_free(rs->c, sizeof *rs->c * ((size_t)rs->n * rs->deg + 1));
    if (rs->g) veil_wipe_free(rs->g, sizeof *rs->g * ((size_t)rs->n * (rs->deg + 1) + 1));
    rs->c = NULL, rs->g = NULL;
}

int zc_round_hook(void *ctx, veil_transcript *t, unsigned i, const veil_fe *g, unsigned deg)
{
    (void)t;
    zc_rounds *rs = ctx;
    for (unsigned e = 0, k = 0; e <= deg; e++) {
        if (e == 1) continue;
        int rc = zc_val_io(rs->z, "round", &rs->c[(size_t)i * deg + k++], &g[e]);
        if (rc) return rc;
    }
    return 0;
}

int zc_rounds_read(zc_rounds *rs, veil_fe *rho)
{
    zc_ctx *z = rs->z;
    veil_sc_absorb_header(&z->tr, rs->n, rs->deg);
    for (unsigned i = 0; i < rs->n; i++) {
        for (unsigned k = 0; k < rs->deg; k++) {
            int rc = zc_val_io(z, "round", &rs->c[(size_t)i * rs->deg + k], NULL);
            if (rc) return rc;
        }
        veil_transcript_challenge(&z->tr, "sc-r", &rho[i]);
    }
    return 0;
}

/* L_e(x) for the nodes 0..deg. */
static void lagrange(unsigned deg, const veil_fe *x, veil_fe *L)
{
    veil_fe unit[VEIL_SC_MAX_DEG + 1];
    for (unsigned e = 0; e <= deg; e++) {
        for (unsigned j = 0; j <= deg; j++)
            zc_fe_i64(&unit[j], j == e);
        veil_sc_interpolate(unit, deg, x, &L[e]);
    }
}

/* claim_{i+1} = L1 claim_i + (L0 - L1) g_i(0) + sum_{e>=2} L_e g_i(e), unrolled
 * from the last round back: one combination (one MSM for the verifier). */
int zc_rounds_final(zc_rounds *rs, const zc_val *claim, const veil_fe *rho, zc_val *final)
{
    unsigned n = rs->n, d = rs->deg;
    size_t m = (size_t)n * d;
    veil_fe *w = malloc(sizeof *w * (m + 1)), acc, L[VEIL_SC_MAX_DEG + 1];
    const zc_val **x = malloc(sizeof *x * (m + 1));
    int rc = w && x ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    veil_fe_one(&acc);
    for (unsigned i = n; !rc && i-- > 0;) {
        lagrange(d, &rho[i], L);
        veil_fe_sub(&L[0], &L[0], &L[1]);
        for (unsigned e = 0, k = 0; e <= d; e++)
            if (e != 1) veil_fe_mul(&w[(size_t)i * d + k++], &acc, &L[e]);
        veil_fe_mul(&acc, &acc, &L[1]);
    }
    for (size_t j = 0; !rc && j < m; j++)
        x[j] = &rs->c[j];
    if (!rc) {
        w[m] = acc, x[m] = claim;
        rc = zc_val_lincomb(rs->z, final, w, x, m + 1);
    }
    free(w);
    free(x);
    return rc;
}
