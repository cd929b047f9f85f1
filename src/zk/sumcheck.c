/* The sum-check protocol (Algorithm 2) over products of multilinear tables,
 * with Libra masking; see include/veil/zk_sumcheck.h. */
#include "veil/zk_sumcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAR_MIN (1u << 12)

void veil_sc_poly_init(veil_sc_poly *p, unsigned nvars)
{
    memset(p, 0, sizeof *p);
    p->nvars = nvars;
}

int veil_sc_add_table(veil_sc_poly *p, veil_fe *tab)
{
    if (p->ntables >= VEIL_SC_MAX_TABLES)
        return veil_fail(VEIL_ERANGE, "sumcheck: more than %d tables", VEIL_SC_MAX_TABLES);
    p->tab[p->ntables] = tab;
    return (int)p->ntables++;
}

int veil_sc_add_term(veil_sc_poly *p, const veil_fe *c, unsigned nf, ...)
{
    if (p->nterms >= VEIL_SC_MAX_TERMS || nf > VEIL_SC_MAX_DEG)
        return veil_fail(VEIL_ERANGE, "sumcheck: too many terms or factors");
    veil_sc_term *tm = &p->term[p->nterms];
    va_list ap;
    va_start(ap, nf);
    for (unsigned i = 0; i < nf; i++) {
        int idx = va_arg(ap, int);
        if (idx < 0 || (size_t)idx >= p->ntables) {
            va_end(ap);
            return veil_fail(VEIL_ERANGE, "sumcheck: term names table %d of %zu", idx,
                             p->ntables);
        }
        tm->f[i] = (uint8_t)idx;
    }
    va_end(ap);
    tm->coef = *c;
    tm->nf = (uint8_t)nf;
    p->nterms++;
    return 0;
}

unsigned veil_sc_degree(const veil_sc_poly *p)
{
    unsigned d = 0;
    for (size_t t = 0; t < p->nterms; t++)
        if (p->term[t].nf > d) d = p->term[t].nf;
    return d;
}

void veil_sc_combine(const veil_sc_poly *p, const veil_fe *vals, veil_fe *out)
{
    veil_fe acc, prod;
    veil_fe_zero(&acc);
    for (size_t t = 0; t < p->nterms; t++) {
        prod = p->term[t].coef;
        for (unsigned k = 0; k < p->term[t].nf; k++)
            veil_fe_mul(&prod, &prod, &vals[p->term[t].f[k]]);
        veil_fe_add(&acc, &acc, &prod);
    }
    *out = acc;
}

void veil_fe_inner(veil_fe *out, const veil_fe *a, const veil_fe *b, size_t n)
{
    veil_fe acc, t;
    veil_fe_zero(&acc);
    for (size_t i = 0; i < n; i++) {
        veil_fe_mul(&t, &a[i], &b[i]);
        veil_fe_add(&acc, &acc, &t);
    }
    *out = acc;
}

/* ---- masking polynomial ---- */

int veil_sc_mask_random(veil_sc_mask *m, unsigned nvars, unsigned deg)
{
    size_t n = veil_sc_mask_len(nvars, deg);
    memset(m, 0, sizeof *m);
    m->coef = malloc(n * sizeof *m->coef);
    if (!m->coef) return veil_fail(VEIL_ENOMEM, "sumcheck: out of memory");
    m->nvars = nvars;
    m->deg = deg;
    for (size_t i = 0; i < n; i++)
        veil_fe_random(&m->coef[i]);
    return 0;
}

void veil_sc_mask_free(veil_sc_mask *m)
{
    if (m->coef) {
        veil_wipe(m->coef, veil_sc_mask_len(m->nvars, m->deg) * sizeof *m->coef);
        free(m->coef);
    }
    memset(m, 0, sizeof *m);
}

static void fe_pow2(veil_fe *r, unsigned e)
{
    veil_fe_from_u64(r, (uint64_t)1 << e); /* e <= VEIL_MLE_MAX_VARS < 64 */
}

void veil_sc_mask_sum_vector(veil_fe *y, unsigned nvars, unsigned deg)
{
    /* sum_x a_0 = 2^n a_0; sum_x x_i^k = sum_x x_i = 2^(n-1) */
    fe_pow2(&y[0], nvars);
    if (nvars == 0) return;
    veil_fe h;
    fe_pow2(&h, nvars - 1);
    for (size_t i = 1; i < veil_sc_mask_len(nvars, deg); i++)
        y[i] = h;
}

void veil_sc_mask_eval_vector(veil_fe *y, const veil_fe *r, unsigned nvars, unsigned deg)
{
    veil_fe_one(&y[0]);
    for (unsigned i = 0; i < nvars; i++) {
        veil_fe pw = r[i];
        for (unsigned k = 0; k < deg; k++) {
            y[1 + (size_t)i * deg + k] = pw;
            veil_fe_mul(&pw, &pw, &r[i]);
        }
    }
}

/* G_i(x) = sum_k a_{i,k} x^k for the mask's variable i. */
static void mask_univariate(const veil_sc_mask *m, unsigned i, const veil_fe *x, veil_fe *out)
{
    veil_fe acc, pw = *x, t;
    veil_fe_zero(&acc);
    for (unsigned k = 0; k < m->deg; k++) {
        veil_fe_mul(&t, &m->coef[1 + (size_t)i * m->deg + k], &pw);
        veil_fe_add(&acc, &acc, &t);
        veil_fe_mul(&pw, &pw, x);
    }
    *out = acc;
}

/* Adds rho * s_i(e), e = 0..deg, where s_i(X) is p summed over the
 * variables after i with the earlier ones bound:
 *   s_i(X) = 2^left (prefix + G_i(X)) + 2^(left-1) suffix,
 * prefix = a_0 + sum_{j<i} G_j(r_j), suffix = sum_{j>i} G_j(1), left = n-1-i. */
static void mask_round(const veil_sc_mask *m, unsigned i, const veil_fe *prefix,
                       const veil_fe *suffix, veil_fe *g)
{
    unsigned left = m->nvars - 1 - i;
    veil_fe scale, tail, s, x, gx;
    fe_pow2(&scale, left);
    veil_fe_zero(&tail);
    if (left > 0) {
        fe_pow2(&tail, left - 1);
        veil_fe_mul(&tail, &tail, suffix);
    }
    for (unsigned e = 0; e <= m->deg; e++) {
        veil_fe_from_u64(&x, e);
        mask_univariate(m, i, &x, &gx);
        veil_fe_add(&s, prefix, &gx);
        veil_fe_mul(&s, &s, &scale);
        veil_fe_add(&s, &s, &tail);
        veil_fe_mul(&s, &s, &m->rho);
        veil_fe_add(&g[e], &g[e], &s);
    }
}

/* ---- prover rounds ---- */

/* Accumulates, for every term and e = 0..deg, sum over x < half of
 * prod_j (f_j[x] + e (f_j[x+half] - f_j[x])) into acc[term*(deg+1)+e];
 * skip1: leave out e = 1 (the caller derives it from the running claim). */
static void round_terms(const veil_sc_poly *p, size_t half, unsigned deg, int skip1,
                        veil_fe *acc)
{
    const size_t d1 = deg + 1, nt = p->nterms, ntab = p->ntables;
    for (size_t i = 0; i < nt * d1; i++)
        veil_fe_zero(&acc[i]);
#pragma omp parallel if (half >= PAR_MIN)
    {
        veil_fe loc[VEIL_SC_MAX_TERMS * (VEIL_SC_MAX_DEG + 1)];
        /* e = 0 and 1 are read in place; ext[j][e-2] = f_j at e >= 2 */
        const veil_fe *at[VEIL_SC_MAX_DEG + 1][VEIL_SC_MAX_TABLES];
        veil_fe ext[VEIL_SC_MAX_TABLES][VEIL_SC_MAX_DEG - 1];
        for (size_t i = 0; i < nt * d1; i++)
            veil_fe_zero(&loc[i]);
        for (size_t j = 0; j < ntab; j++)
            for (unsigned e = 2; e <= deg; e++)
                at[e][j] = &ext[j][e - 2];
#pragma omp for schedule(static)
        for (size_t x = 0; x < half; x++) {
            for (size_t j = 0; j < ntab; j++) {
                at[0][j] = &p->tab[j][x];
                at[1][j] = &p->tab[j][x + half];
                if (deg < 2) continue;
                veil_fe dlt;
                veil_fe_sub(&dlt, at[1][j], at[0][j]);
                veil_fe_add(&ext[j][0], at[1][j], &dlt);
                for (unsigned e = 3; e <= deg; e++)
                    veil_fe_add(&ext[j][e - 2], &ext[j][e - 3], &dlt);
            }
            for (size_t t = 0; t < nt; t++) {
                const veil_sc_term *tm = &p->term[t];
                if (tm->nf == 0) continue;
                for (unsigned e = 0; e <= deg; e++) {
                    if (e == 1 && skip1) continue;
                    const veil_fe *const *v = at[e];
                    veil_fe prod;
                    if (tm->nf == 1) {
                        veil_fe_add(&loc[t * d1 + e], &loc[t * d1 + e], v[tm->f[0]]);
                        continue;
                    }
                    veil_fe_mul(&prod, v[tm->f[0]], v[tm->f[1]]);
                    for (unsigned k = 2; k < tm->nf; k++)
                        veil_fe_mul(&prod, &prod, v[tm->f[k]]);
                    veil_fe_add(&loc[t * d1 + e], &loc[t * d1 + e], &prod);
                }
            }
        }
#pragma omp critical
        for (size_t i = 0; i < nt * d1; i++)
            veil_fe_add(&acc[i], &acc[i], &loc[i]);
    }
}

/* g = the round polynomial of the tables' part at 0..deg.  fclaim (the
 * running claim of that part) non-NULL: g(1) = fclaim - g(0), one product
 * evaluation per term and point saved. */
static void round_poly(const veil_sc_poly *p, size_t half, unsigned deg, veil_fe *acc,
                       const veil_fe *fclaim, veil_fe *g)
{
    round_terms(p, half, deg, fclaim != NULL, acc);
    veil_fe nhalf;
    veil_fe_from_u64(&nhalf, half);
    for (unsigned e = 0; e <= deg; e++)
        veil_fe_zero(&g[e]);
    for (size_t t = 0; t < p->nterms; t++) {
        const veil_sc_term *tm = &p->term[t];
        for (unsigned e = 0; e <= deg; e++) {
            veil_fe v;
            if (tm->nf == 0) /* a constant summed over half points */
                veil_fe_mul(&v, &tm->coef, &nhalf);
            else
                veil_fe_mul(&v, &tm->coef, &acc[t * (deg + 1) + e]);
            veil_fe_add(&g[e], &g[e], &v);
        }
    }
    if (fclaim) veil_fe_sub(&g[1], fclaim, &g[0]);
}

/* Bind the first variable of every table to r in one parallel pass (one
 * thread team per round instead of one per table). */
static void fold_tables(veil_sc_poly *p, size_t half, const veil_fe *r)
{
    const size_t ntab = p->ntables;
#pragma omp parallel for if (half >= PAR_MIN) schedule(static)
    for (size_t x = 0; x < half; x++)
        for (size_t j = 0; j < ntab; j++) {
            veil_fe d, *tab = p->tab[j];
            veil_fe_sub(&d, &tab[x + half], &tab[x]);
            veil_fe_mul(&d, &d, r);
            veil_fe_add(&tab[x], &tab[x], &d);
        }
}

void veil_sc_absorb_header(veil_transcript *t, unsigned nvars, unsigned deg)
{
    veil_transcript_absorb_u64(t, "sc-nvars", nvars);
    veil_transcript_absorb_u64(t, "sc-deg", deg);
}

static void absorb_round(veil_transcript *t, const veil_fe *g, unsigned deg)
{
    uint8_t buf[(VEIL_SC_MAX_DEG + 1) * 32];
    for (unsigned e = 0; e <= deg; e++)
        veil_fe_to_bytes(buf + 32 * e, &g[e]);
    veil_transcript_absorb(t, "sc-round", buf, 32 * (size_t)(deg + 1));
}

static int check_shape(unsigned nvars, unsigned deg)
{
    if (nvars > VEIL_MLE_MAX_VARS)
        return veil_fail(VEIL_ERANGE, "sumcheck: %u variables (max %d)", nvars,
                         VEIL_MLE_MAX_VARS);
    if (deg < 1 || deg > VEIL_SC_MAX_DEG)
        return veil_fail(VEIL_ERANGE, "sumcheck: degree %u outside 1..%d", deg,
                         VEIL_SC_MAX_DEG);
    return 0;
}

static int sc_prove(veil_transcript *t, veil_sc_poly *p, unsigned deg, const veil_sc_mask *mask,
                    veil_sc_round_fn hook, void *ctx, veil_fe *rounds, veil_fe *r, veil_fe *finals)
{
    const unsigned n = p->nvars;
    int rc = check_shape(n, deg);
    if (rc) return rc;
    if (deg < veil_sc_degree(p))
        return veil_fail(VEIL_EINVAL, "sumcheck: degree %u below the polynomial's %u", deg,
                         veil_sc_degree(p));
    if (mask && (mask->nvars != n || mask->deg != deg))
        return veil_fail(VEIL_EINVAL, "sumcheck: mask shape differs from the polynomial");
    veil_fe *acc = malloc(VEIL_SC_MAX_TERMS * (VEIL_SC_MAX_DEG + 1) * sizeof *acc);
    if (!acc) return veil_fail(VEIL_ENOMEM, "sumcheck: out of memory");
    veil_fe prefix, suffix, one, gi;
    veil_fe_one(&one);
    veil_fe_zero(&suffix);
    if (mask) {
        prefix = mask->coef[0];
        for (unsigned i = 1; i < n; i++) {
            mask_univariate(mask, i, &one, &gi);
            veil_fe_add(&suffix, &suffix, &gi);
        }
    }
    veil_sc_absorb_header(t, n, deg);
    veil_fe fclaim, gf[VEIL_SC_MAX_DEG + 1];
    for (unsigned i = 0; i < n; i++) {
        size_t half = (size_t)1 << (n - 1 - i);
        veil_fe *g = rounds + (size_t)i * (deg + 1);
        round_poly(p, half, deg, acc, i ? &fclaim : NULL, g);
        memcpy(gf, g, (deg + 1) * sizeof *gf);
        if (mask) mask_round(mask, i, &prefix, &suffix, g);
        if (hook) rc = hook(ctx, t, i, g, deg);
        else absorb_round(t, g, deg);
        if (rc) break;
        veil_transcript_challenge(t, "sc-r", &r[i]);
        veil_sc_interpolate(gf, deg, &r[i], &fclaim);
        fold_tables(p, half, &r[i]);
        if (mask) { /* move variable i from "free" to "bound" */
            mask_univariate(mask, i, &r[i], &gi);
            veil_fe_add(&prefix, &prefix, &gi);
            if (i + 1 < n) {
                mask_univariate(mask, i + 1, &one, &gi);
                veil_fe_sub(&suffix, &suffix, &gi);
            }
        }
    }
    for (size_t j = 0; j < p->ntables; j++)
        finals[j] = p->tab[j][0];
    veil_wipe(acc, VEIL_SC_MAX_TERMS * (VEIL_SC_MAX_DEG + 1) * sizeof *acc);
    free(acc);
    veil_wipe(&prefix, sizeof prefix);
    return rc;
}

int veil_sc_prove(veil_transcript *t, veil_sc_poly *p, unsigned deg, const veil_sc_mask *mask,
                  veil_fe *rounds, veil_fe *r, veil_fe *finals)
{
    return sc_prove(t, p, deg, mask, NULL, NULL, rounds, r, finals);
}

int veil_sc_prove_hooked(veil_transcript *t, veil_sc_poly *p, unsigned deg, veil_sc_round_fn hook,
                         void *ctx, veil_fe *rounds, veil_fe *r, veil_fe *finals)
{
    return sc_prove(t, p, deg, NULL, hook, ctx, rounds, r, finals);
}

void veil_sc_first_sum(const veil_fe *rounds, veil_fe *out)
{
    veil_fe_add(out, &rounds[0], &rounds[1]);
}

void veil_sc_interpolate(const veil_fe *ev, unsigned deg, const veil_fe *x, veil_fe *out)
{
    /* Lagrange over the nodes 0..deg: weight_e = prod_{j!=e} (x-j)/(e-j) */
    veil_fe den[VEIL_SC_MAX_DEG + 1], acc, num, xj, t;
    for (unsigned e = 0; e <= deg; e++) {
        int64_t d = 1;
        for (unsigned j = 0; j <= deg; j++)
            if (j != e) d *= (int64_t)e - (int64_t)j;
        veil_fe_from_i64(&den[e], d);
    }
    veil_fe_batch_inv(den, den, deg + 1);
    veil_fe_zero(&acc);
    for (unsigned e = 0; e <= deg; e++) {
        veil_fe_mul(&num, &ev[e], &den[e]);
        for (unsigned j = 0; j <= deg; j++) {
            if (j == e) continue;
            veil_fe_from_u64(&xj, j);
            veil_fe_sub(&t, x, &xj);
            veil_fe_mul(&num, &num, &t);
        }
        veil_fe_add(&acc, &acc, &num);
    }
    *out = acc;
}

int veil_sc_verify(veil_transcript *t, unsigned nvars, unsigned deg, const veil_fe *claim,
                   const veil_fe *rounds, veil_fe *r, veil_fe *final)
{
    int rc = check_shape(nvars, deg);
    if (rc) return rc;
    veil_fe cur, s;
    if (claim) cur = *claim;
    veil_sc_absorb_header(t, nvars, deg);
    for (unsigned i = 0; i < nvars; i++) {
        const veil_fe *g = rounds + (size_t)i * (deg + 1);
        veil_fe_add(&s, &g[0], &g[1]);
        if ((i > 0 || claim) && !veil_fe_eq(&s, &cur))
            return veil_fail(VEIL_EVERIFY, "sumcheck: round %u: g(0)+g(1) differs from the claim",
                             i + 1);
        absorb_round(t, g, deg);
        veil_transcript_challenge(t, "sc-r", &r[i]);
        veil_sc_interpolate(g, deg, &r[i], &cur);
    }
    if (nvars == 0 && !claim)
        return veil_fail(VEIL_EINVAL, "sumcheck: zero variables need an explicit claim");
    *final = cur;
    return 0;
}

/* ---- sigma protocols on value commitments ---- */

int veil_zk_refail(int code, const char *context)
{
    char msg[256]; /* veil_fail must not read the buffer it writes */
    snprintf(msg, sizeof msg, "%s", veil_last_error());
    return veil_fail(code, "%s: %s", context, msg);
}

void veil_zk_absorb_ge(veil_transcript *t, const char *label, const veil_ge *p)
{
    uint8_t b[32];
    veil_ge_to_bytes(b, p);
    veil_transcript_absorb(t, label, b, 32);
}

void veil_zk_absorb_hyrax(veil_transcript *t, const char *label, const veil_hyrax_commitment *cm)
{
    veil_transcript_absorb_u64(t, label, cm->nvars);
    for (size_t i = 0; i < cm->rows; i++)
        veil_zk_absorb_ge(t, label, &cm->c[i]);
}

void veil_zk_combine(veil_ge *out, const veil_pedersen_gens *pg, const veil_ge *C,
                     const veil_fe *rho, const veil_ge *D, const veil_fe *x)
{
    veil_ge t;
    veil_ge_mul(&t, D, rho);
    veil_ge_add(out, C, &t);
    veil_ge_mul(&t, &pg->u, x);
    veil_ge_sub(out, out, &t);
}

void veil_commit_value_fresh(veil_ge *C, veil_fe *s, const veil_pedersen_gens *pg,
                             const veil_fe *x)
{
    veil_fe_random(s);
    veil_pedersen_commit_value(C, pg, x, s);
}

/* r = a P + b Q */
static void ge_lin2(veil_ge *r, const veil_fe *a, const veil_ge *P, const veil_fe *b,
                    const veil_ge *Q)
{
    veil_ge t;
    veil_ge_mul(r, P, a);
    veil_ge_mul(&t, Q, b);
    veil_ge_add(r, r, &t);
}

void veil_zero_prove(veil_zero_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                     const veil_ge *C, const veil_fe *s)
{
    veil_fe k, e;
    veil_fe_random(&k);
    veil_ge_mul(&pf->a, &pg->h, &k);
    veil_zk_absorb_ge(t, "zero-C", C);
    veil_zk_absorb_ge(t, "zero-a", &pf->a);
    veil_transcript_challenge(t, "zero-e", &e);
    veil_fe_mul(&pf->z, &e, s);
    veil_fe_add(&pf->z, &pf->z, &k);
    veil_wipe(&k, sizeof k);
}

int veil_zero_verify(const veil_zero_proof *pf, veil_transcript *t,
                     const veil_pedersen_gens *pg, const veil_ge *C)
{
    veil_fe e;
    veil_ge lhs, rhs;
    veil_zk_absorb_ge(t, "zero-C", C);
    veil_zk_absorb_ge(t, "zero-a", &pf->a);
    veil_transcript_challenge(t, "zero-e", &e);
    veil_ge_mul(&lhs, &pg->h, &pf->z); /* z H = a + e C */
    veil_ge_mul(&rhs, C, &e);
    veil_ge_add(&rhs, &rhs, &pf->a);
    if (!veil_ge_eq(&lhs, &rhs))
        return veil_fail(VEIL_EVERIFY, "commitment does not open to the claimed value");
    return 0;
}

static void prod_absorb(veil_transcript *t, const veil_prod_proof *pf, const veil_ge *C1,
                        const veil_ge *C2, const veil_ge *C3, veil_fe *e)
{
    veil_zk_absorb_ge(t, "prod-C1", C1);
    veil_zk_absorb_ge(t, "prod-C2", C2);
    veil_zk_absorb_ge(t, "prod-C3", C3);
    veil_zk_absorb_ge(t, "prod-alpha", &pf->alpha);
    veil_zk_absorb_ge(t, "prod-beta", &pf->beta);
    veil_zk_absorb_ge(t, "prod-delta", &pf->delta);
    veil_transcript_challenge(t, "prod-e", e);
}

void veil_prod_prove(veil_prod_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                     const veil_ge *C1, const veil_ge *C2, const veil_ge *C3, const veil_fe *x,
                     const veil_fe *s1, const veil_fe *y, const veil_fe *s2, const veil_fe *s3)
{
    veil_fe b[5], e, w[5], tmp;
    for (int i = 0; i < 5; i++)
        veil_fe_random(&b[i]);
    ge_lin2(&pf->alpha, &b[0], &pg->u, &b[1], &pg->h);
    ge_lin2(&pf->beta, &b[2], &pg->u, &b[3], &pg->h);
    ge_lin2(&pf->delta, &b[2], C1, &b[4], &pg->h);
    prod_absorb(t, pf, C1, C2, C3, &e);
    /* witnesses answered by z_i = b_i + e w_i; w_5 = s3 - s1 y */
    w[0] = *x, w[1] = *s1, w[2] = *y, w[3] = *s2;
    veil_fe_mul(&tmp, s1, y);
    veil_fe_sub(&w[4], s3, &tmp);
    for (int i = 0; i < 5; i++) {
        veil_fe_mul(&pf->z[i], &e, &w[i]);
        veil_fe_add(&pf->z[i], &pf->z[i], &b[i]);
    }
    veil_wipe(b, sizeof b);
    veil_wipe(w, sizeof w);
}

int veil_prod_verify(const veil_prod_proof *pf, veil_transcript *t,
                     const veil_pedersen_gens *pg, const veil_ge *C1, const veil_ge *C2,
                     const veil_ge *C3)
{
    veil_fe e;
    prod_absorb(t, pf, C1, C2, C3, &e);
    /* the three equations z_a B + z_b H == com + e C, each weighted by a
     * fresh random w_i (w_0 = 1) and checked together by one MSM: a false
     * equation survives with probability 1/ell */
    veil_fe w[3], k[8], tmp;
    veil_fe_one(&w[0]);
    veil_fe_random(&w[1]);
    veil_fe_random(&w[2]);
    veil_ge P[8] = {pg->u, pg->h, *C1, *C2, *C3, pf->alpha, pf->beta, pf->delta};
    veil_fe_mul(&k[0], &w[1], &pf->z[2]); /* U: z1 + w1 z3 */
    veil_fe_add(&k[0], &k[0], &pf->z[0]);
    veil_fe_mul(&k[1], &w[1], &pf->z[3]); /* H: z2 + w1 z4 + w2 z5 */
    veil_fe_add(&k[1], &k[1], &pf->z[1]);
    veil_fe_mul(&tmp, &w[2], &pf->z[4]);
    veil_fe_add(&k[1], &k[1], &tmp);
    veil_fe_mul(&k[2], &w[2], &pf->z[2]); /* C1: w2 z3 - e */
    veil_fe_sub(&k[2], &k[2], &e);
    for (int i = 1; i < 3; i++) { /* C2, C3: -w_i e */
        veil_fe_mul(&k[2 + i], &w[i], &e);
        veil_fe_neg(&k[2 + i], &k[2 + i]);
    }
    for (int i = 0; i < 3; i++) /* alpha, beta, delta: -w_i */
        veil_fe_neg(&k[5 + i], &w[i]);
    veil_ge sum;
    if (veil_ge_msm(&sum, P, k, 8, 1)) return VEIL_ENOMEM;
    if (!veil_ge_is_identity(&sum)) return veil_fail(VEIL_EVERIFY, "product proof fails");
    return 0;
}

/* ---- zero-knowledge sum-check wrapper ---- */

/* y = y_sum + lambda y(r) over the mask's coefficient vector. */
static int mask_open_vector(veil_fe **y, unsigned nvars, unsigned deg, const veil_fe *r,
                            const veil_fe *lambda)
{
    size_t d = veil_sc_mask_len(nvars, deg);
    veil_fe *a = malloc(2 * d * sizeof *a);
    if (!a) return veil_fail(VEIL_ENOMEM, "sumcheck: out of memory");
    veil_sc_mask_sum_vector(a, nvars, deg);
    veil_sc_mask_eval_vector(a + d, r, nvars, deg);
    for (size_t i = 0; i < d; i++) {
        veil_fe_mul(&a[d + i], &a[d + i], lambda);
        veil_fe_add(&a[i], &a[i], &a[d + i]);
    }
    *y = a;
    return 0;
}

/* Shared by prover and verifier once c_pr is set: absorb it, draw lambda, and
 * form the opening vector y (caller frees) against c_t = c_sum + lambda c_pr. */
static int mask_combine(const veil_zksc_proof *pf, veil_transcript *t, const veil_fe *r,
                        veil_fe *lambda, veil_fe **y, veil_ge *c_t)
{
    veil_zk_absorb_ge(t, "zksc-c_pr", &pf->c_pr);
    veil_transcript_challenge(t, "zksc-lambda", lambda);
    int rc = mask_open_vector(y, pf->nvars, pf->deg, r, lambda);
    if (rc) return rc;
    veil_ge tmp;
    veil_ge_mul(&tmp, &pf->c_pr, lambda);
    veil_ge_add(c_t, &pf->c_sum, &tmp);
    return 0;
}

int veil_zksc_begin(veil_zksc_proof *pf, veil_zksc_state *st, veil_transcript *t,
                    const veil_pedersen_gens *pg, unsigned nvars, unsigned deg)
{
    memset(pf, 0, sizeof *pf);
    memset(st, 0, sizeof *st);
    int rc = check_shape(nvars, deg);
    if (rc) return rc;
    size_t d = veil_sc_mask_len(nvars, deg);
    if (pg->n < d)
        return veil_fail(VEIL_EINVAL, "sumcheck: %zu generators, the mask needs %zu", pg->n, d);
    pf->nvars = nvars;
    pf->deg = deg;
    pf->rounds = malloc((size_t)nvars * (deg + 1) * sizeof *pf->rounds + 1);
    if (!pf->rounds || veil_sc_mask_random(&st->mask, nvars, deg))
        return veil_fail(VEIL_ENOMEM, "sumcheck: out of memory");
    veil_fe_random(&st->r_mask);
    /* masks have at most 1 + 30 * 4 entries: one thread beats a team */
    rc = veil_pedersen_commit(&pf->c_mask, pg, st->mask.coef, d, &st->r_mask, 1);
    if (rc) return rc;
    veil_fe *y = malloc(d * sizeof *y);
    if (!y) return veil_fail(VEIL_ENOMEM, "sumcheck: out of memory");
    veil_sc_mask_sum_vector(y, nvars, deg);
    veil_fe_inner(&st->P, st->mask.coef, y, d);
    free(y);
    veil_commit_value_fresh(&pf->c_sum, &st->s_sum, pg, &st->P);
    veil_fe rho;
    veil_zksc_verify_begin(pf, t, &rho);
    st->mask.rho = rho;
    return 0;
}

int veil_zksc_end(veil_zksc_proof *pf, veil_zksc_state *st, veil_transcript *t,
                  const veil_pedersen_gens *pg, const veil_fe *r)
{
    size_t d = veil_sc_mask_len(pf->nvars, pf->deg);
    veil_fe pr, lambda, r_t, *y = malloc(d * sizeof *y);
    if (!y) return veil_fail(VEIL_ENOMEM, "sumcheck: out of memory");
    veil_sc_mask_eval_vector(y, r, pf->nvars, pf->deg);
    veil_fe_inner(&pr, st->mask.coef, y, d);
    free(y);
    veil_commit_value_fresh(&pf->c_pr, &st->s_pr, pg, &pr);
    veil_ge c_t;
    int rc = mask_combine(pf, t, r, &lambda, &y, &c_t);
    if (rc) return rc;
    veil_fe_mul(&r_t, &st->s_pr, &lambda);
    veil_fe_add(&r_t, &r_t, &st->s_sum);
    rc = veil_open_prove(&pf->open, t, pg, &pf->c_mask, &c_t, st->mask.coef, d, &st->r_mask, y,
                         &r_t, 1);
    free(y);
    veil_wipe(&pr, sizeof pr);
    veil_wipe(&r_t, sizeof r_t);
    return rc;
}

void veil_zksc_state_free(veil_zksc_state *st)
{
    veil_sc_mask_free(&st->mask);
    veil_wipe(st, sizeof *st);
}

void veil_zksc_proof_free(veil_zksc_proof *pf)
{
    free(pf->rounds);
    veil_open_proof_free(&pf->open);
    memset(pf, 0, sizeof *pf);
}

void veil_zksc_verify_begin(const veil_zksc_proof *pf, veil_transcript *t, veil_fe *rho)
{
    veil_transcript_absorb_u64(t, "zksc-nvars", pf->nvars);
    veil_transcript_absorb_u64(t, "zksc-deg", pf->deg);
    veil_zk_absorb_ge(t, "zksc-c_mask", &pf->c_mask);
    veil_zk_absorb_ge(t, "zksc-c_sum", &pf->c_sum);
    veil_transcript_challenge(t, "zksc-rho", rho);
}

int veil_zksc_verify_rounds(const veil_zksc_proof *pf, veil_transcript *t, veil_fe *r,
                            veil_fe *s0, veil_fe *F)
{
    if (pf->nvars < 1) return veil_fail(VEIL_EINVAL, "sumcheck: no variables");
    int rc = veil_sc_verify(t, pf->nvars, pf->deg, NULL, pf->rounds, r, F);
    if (rc) return rc;
    veil_sc_first_sum(pf->rounds, s0);
    return 0;
}

int veil_zksc_verify_end(const veil_zksc_proof *pf, veil_transcript *t,
                         const veil_pedersen_gens *pg, const veil_fe *r)
{
    size_t d = veil_sc_mask_len(pf->nvars, pf->deg);
    veil_fe lambda, *y;
    veil_ge c_t;
    int rc = mask_combine(pf, t, r, &lambda, &y, &c_t);
    if (rc) return rc;
    rc = veil_open_verify(&pf->open, t, pg, &pf->c_mask, &c_t, y, d, 1);
    free(y);
    if (rc) return veil_zk_refail(VEIL_EVERIFY, "sumcheck mask opening");
    return 0;
}

/* ---- final check over committed table values ---- */

/* Committed factors of term t (at most two); returns their count or -1. */
static int term_committed(const veil_sc_term *tm, const veil_sc_leaf *leaf, int idx[2])
{
    int n = 0;
    for (unsigned k = 0; k < tm->nf; k++)
        if (leaf[tm->f[k]].committed) {
            if (n == 2) return -1;
            idx[n++] = tm->f[k];
        }
    return n;
}

static int pair_index(const veil_sc_products *pr, int a, int b)
{
    for (size_t q = 0; q < pr->n; q++)
        if (pr->i[q] == a && pr->j[q] == b) return (int)q;
    return -1;
}

int veil_sc_product_pairs(const veil_sc_poly *shape, const veil_sc_leaf *leaf,
                          veil_sc_products *pr)
{
    pr->n = 0;
    for (size_t t = 0; t < shape->nterms; t++) {
        int idx[2], n = term_committed(&shape->term[t], leaf, idx);
        if (n < 0)
            return veil_fail(VEIL_EINVAL, "sumcheck: term %zu has 3+ committed factors", t);
        if (n < 2) continue;
        if (idx[0] > idx[1]) {
            int x = idx[0];
            idx[0] = idx[1], idx[1] = x;
        }
        if (pair_index(pr, idx[0], idx[1]) >= 0) continue;
        pr->i[pr->n] = (uint8_t)idx[0];
        pr->j[pr->n] = (uint8_t)idx[1];
        pr->n++;
    }
    return 0;
}

/* C_g (and, for the prover, its blinding): each term contributes
 * coef * prod(public values) * prod(scales) times 1 (U), C_j or C_ij. */
static int final_combine(const veil_sc_poly *shape, const veil_sc_leaf *leaf,
                         const veil_pedersen_gens *pg, const veil_sc_products *pr,
                         const veil_fe *prod_s, veil_ge *Cg, veil_fe *sg)
{
    veil_ge acc, tmp;
    veil_fe k, bl, constant;
    veil_ge_identity(&acc);
    veil_fe_zero(&bl);
    veil_fe_zero(&constant);
    for (size_t t = 0; t < shape->nterms; t++) {
        const veil_sc_term *tm = &shape->term[t];
        int idx[2], n = term_committed(tm, leaf, idx);
        k = tm->coef;
        for (unsigned f = 0; f < tm->nf; f++) {
            const veil_sc_leaf *l = &leaf[tm->f[f]];
            veil_fe_mul(&k, &k, l->committed ? &l->scale : &l->val);
        }
        if (n == 0) {
            veil_fe_add(&constant, &constant, &k);
            continue;
        }
        const veil_ge *C;
        const veil_fe *s;
        if (n == 1) {
            C = &leaf[idx[0]].C, s = &leaf[idx[0]].s;
        } else {
            int lo = idx[0] < idx[1] ? idx[0] : idx[1];
            int hi = idx[0] < idx[1] ? idx[1] : idx[0];
            int q = pair_index(pr, lo, hi);
            if (q < 0) return veil_fail(VEIL_EINVAL, "sumcheck: product pair missing");
            C = &pr->C[q], s = prod_s ? &prod_s[q] : NULL;
        }
        veil_ge_mul(&tmp, C, &k);
        veil_ge_add(&acc, &acc, &tmp);
        if (sg && s) {
            veil_fe x;
            veil_fe_mul(&x, &k, s);
            veil_fe_add(&bl, &bl, &x);
        }
    }
    veil_ge_mul(&tmp, &pg->u, &constant);
    veil_ge_add(Cg, &acc, &tmp);
    if (sg) *sg = bl;
    return 0;
}

int veil_sc_final_prove(const veil_sc_poly *shape, const veil_sc_leaf *leaf, veil_transcript *t,
                        const veil_pedersen_gens *pg, veil_sc_products *pr, veil_ge *Cg,
                        veil_fe *sg)
{
    int rc = veil_sc_product_pairs(shape, leaf, pr);
    if (rc) return rc;
    veil_fe s[VEIL_SC_MAX_TERMS];
    for (size_t q = 0; q < pr->n; q++) {
        const veil_sc_leaf *a = &leaf[pr->i[q]], *b = &leaf[pr->j[q]];
        veil_fe v;
        veil_fe_mul(&v, &a->val, &b->val);
        veil_commit_value_fresh(&pr->C[q], &s[q], pg, &v);
        veil_prod_prove(&pr->pf[q], t, pg, &a->C, &b->C, &pr->C[q], &a->val, &a->s, &b->val,
                        &b->s, &s[q]);
        veil_wipe(&v, sizeof v);
    }
    rc = final_combine(shape, leaf, pg, pr, s, Cg, sg);
    veil_wipe(s, sizeof s);
    return rc;
}

int veil_sc_final_verify(const veil_sc_poly *shape, const veil_sc_leaf *leaf,
                         veil_transcript *t, const veil_pedersen_gens *pg,
                         const veil_sc_products *pr, veil_ge *Cg)
{
    /* the pairs come from the shape, never from the proof: pr supplies only
     * the commitments and proofs, in that order */
    veil_sc_products *want = malloc(sizeof *want);
    if (!want) return veil_fail(VEIL_ENOMEM, "sumcheck: out of memory");
    int rc = veil_sc_product_pairs(shape, leaf, want);
    if (!rc && want->n != pr->n)
        rc = veil_fail(VEIL_EVERIFY, "sumcheck: %zu product proofs, expected %zu", pr->n,
                       want->n);
    for (size_t q = 0; !rc && q < want->n; q++) {
        if (veil_prod_verify(&pr->pf[q], t, pg, &leaf[want->i[q]].C, &leaf[want->j[q]].C,
                             &pr->C[q]))
            rc = veil_zk_refail(VEIL_EVERIFY, "sumcheck final value");
        want->C[q] = pr->C[q];
    }
    if (!rc) rc = final_combine(shape, leaf, pg, want, NULL, Cg, NULL);
    free(want);
    return rc;
}

/* ---- the links between rounds and commitments ---- */

void veil_zksc_prove_links(const veil_zksc_proof *pf, const veil_zksc_state *st,
                           veil_transcript *t, const veil_pedersen_gens *pg, const veil_fe *r,
                           const veil_ge *C_claim, const veil_fe *s_claim, const veil_ge *C_g,
                           const veil_fe *s_g, veil_zero_proof *z_claim, veil_zero_proof *z_final)
{
    const veil_fe *rho = &st->mask.rho;
    veil_ge id, Cz;
    veil_fe s0, F, bl;
    veil_ge_identity(&id);
    veil_sc_first_sum(pf->rounds, &s0); /* = claim + rho P */
    veil_zk_combine(&Cz, pg, C_claim ? C_claim : &id, rho, &pf->c_sum, &s0);
    veil_fe_mul(&bl, rho, &st->s_sum);
    if (C_claim) veil_fe_add(&bl, &bl, s_claim);
    veil_zero_prove(z_claim, t, pg, &Cz, &bl);
    const unsigned n = pf->nvars;
    veil_sc_interpolate(pf->rounds + (size_t)(n - 1) * (pf->deg + 1), pf->deg, &r[n - 1], &F);
    veil_zk_combine(&Cz, pg, C_g, rho, &pf->c_pr, &F); /* = g(r) + rho p(r) - F */
    veil_fe_mul(&bl, rho, &st->s_pr);
    veil_fe_add(&bl, &bl, s_g);
    veil_zero_prove(z_final, t, pg, &Cz, &bl);
    veil_wipe(&bl, sizeof bl);
}

int veil_zksc_verify_links(const veil_zksc_proof *pf, veil_transcript *t,
                           const veil_pedersen_gens *pg, const veil_fe *rho, const veil_fe *s0,
                           const veil_fe *F, const veil_ge *C_claim, const veil_ge *C_g,
                           const veil_zero_proof *z_claim, const veil_zero_proof *z_final)
{
    veil_ge id, Cz;
    veil_ge_identity(&id);
    veil_zk_combine(&Cz, pg, C_claim ? C_claim : &id, rho, &pf->c_sum, s0);
    if (veil_zero_verify(z_claim, t, pg, &Cz))
        return veil_fail(VEIL_EVERIFY, "the sum-check's claim is not the committed one");
    veil_zk_combine(&Cz, pg, C_g, rho, &pf->c_pr, F);
    if (veil_zero_verify(z_final, t, pg, &Cz))
        return veil_fail(VEIL_EVERIFY, "the sum-check's final value is not the committed one");
    return 0;
}
