/* logUp lookups and range checks (paper eqs. 25-26); see zk_lookup.h. */
#include "veil/zk_lookup.h"

#include <stdlib.h>
#include <string.h>

enum { T_HS, T_S, T_EQ1, T_HT, T_T, T_M, T_EQ2, T_COUNT };

int veil_logup_mults(const uint32_t *idx, size_t n1, veil_fe *m, size_t n2)
{
    uint64_t *cnt = calloc(n2 ? n2 : 1, sizeof *cnt);
    if (!cnt) return veil_fail(VEIL_ENOMEM, "logup: out of memory");
    for (size_t j = 0; j < n1; j++) {
        if (idx[j] >= n2) {
            free(cnt);
            return veil_fail(VEIL_ERANGE, "logup: entry %zu is not in the table (index %u of %zu)",
                             j, idx[j], n2);
        }
        cnt[idx[j]]++;
    }
    for (size_t i = 0; i < n2; i++)
        veil_fe_from_u64(&m[i], cnt[i]);
    free(cnt);
    return 0;
}

/* out[i] = num[i] / (beta + x[i]) (num NULL = 1); one batched inversion. */
static int shifted_inverses(const veil_fe *beta, const veil_fe *x, const veil_fe *num, size_t n,
                            veil_fe *out)
{
    for (size_t i = 0; i < n; i++) {
        veil_fe_add(&out[i], beta, &x[i]);
        if (veil_fe_is_zero(&out[i]))
            return veil_fail(VEIL_EINVAL, "logup: beta hits -x[%zu]; draw a new challenge", i);
    }
    veil_fe_batch_inv(out, out, n);
    if (num)
        for (size_t i = 0; i < n; i++)
            veil_fe_mul(&out[i], &out[i], &num[i]);
    return 0;
}

int veil_logup_inverses(const veil_fe *beta, const veil_fe *S, size_t n1, const veil_fe *T,
                        const veil_fe *m, size_t n2, veil_fe *hS, veil_fe *hT)
{
    int rc = shifted_inverses(beta, S, NULL, n1, hS);
    return rc ? rc : shifted_inverses(beta, T, m, n2, hT);
}

static void absorb_evals(veil_transcript *t, const veil_logup_evals *ev)
{
    veil_transcript_absorb_fe(t, "logup-S", &ev->S);
    veil_transcript_absorb_fe(t, "logup-hS", &ev->hS);
    veil_transcript_absorb_fe(t, "logup-hT", &ev->hT);
    veil_transcript_absorb_fe(t, "logup-m", &ev->m);
}

static int draw_challenges(veil_transcript *t, veil_logup_run *lr)
{
    if (lr->a > VEIL_MLE_MAX_VARS || lr->b > VEIL_MLE_MAX_VARS)
        return veil_fail(VEIL_ERANGE, "logup: sizes 2^%u / 2^%u too large", lr->a, lr->b);
    lr->L = lr->a > lr->b ? lr->a : lr->b;
    if (lr->L == 0) lr->L = 1; /* a sum-check needs one variable */
    veil_transcript_absorb_u64(t, "logup-a", lr->a);
    veil_transcript_absorb_u64(t, "logup-b", lr->b);
    veil_transcript_absorb_fe(t, "logup-beta", &lr->beta);
    veil_transcript_challenge(t, "logup-gamma", &lr->gamma);
    veil_transcript_challenges(t, "logup-tau1", lr->tau1, lr->a);
    veil_transcript_challenges(t, "logup-tau2", lr->tau2, lr->b);
    return 0;
}

/* The eight terms of the logUp polynomial over the tables T_*. */
static int build_terms(veil_sc_poly *p, const veil_logup_run *lr)
{
    veil_fe one, g2, c;
    veil_fe_one(&one);
    veil_fe_sqr(&g2, &lr->gamma);
    int rc = 0;
    rc |= veil_sc_add_term(p, &one, 1, T_HS);
    veil_fe_neg(&c, &one);
    rc |= veil_sc_add_term(p, &c, 1, T_HT);
    veil_fe_mul(&c, &lr->gamma, &lr->beta);
    rc |= veil_sc_add_term(p, &c, 2, T_EQ1, T_HS);
    rc |= veil_sc_add_term(p, &lr->gamma, 3, T_EQ1, T_HS, T_S);
    veil_fe_neg(&c, &lr->gamma);
    rc |= veil_sc_add_term(p, &c, 1, T_EQ1);
    veil_fe_mul(&c, &g2, &lr->beta);
    rc |= veil_sc_add_term(p, &c, 2, T_EQ2, T_HT);
    rc |= veil_sc_add_term(p, &g2, 3, T_EQ2, T_HT, T_T);
    veil_fe_neg(&c, &g2);
    rc |= veil_sc_add_term(p, &c, 2, T_EQ2, T_M);
    return rc ? VEIL_ERANGE : 0;
}

int veil_logup_prove_sc(veil_transcript *t, veil_logup_run *lr, const veil_fe *S,
                        const veil_fe *hS, const veil_fe *T, const veil_fe *m, const veil_fe *hT,
                        const veil_sc_mask *mask, veil_fe *rounds, veil_logup_evals *ev)
{
    int rc = draw_challenges(t, lr);
    if (rc) return rc;
    const size_t N = (size_t)1 << lr->L, n1 = (size_t)1 << lr->a, n2 = (size_t)1 << lr->b;
    veil_fe *buf = calloc(T_COUNT * N, sizeof *buf), fin[T_COUNT];
    if (!buf) return veil_fail(VEIL_ENOMEM, "logup: out of memory");
    veil_sc_poly p;
    veil_sc_poly_init(&p, lr->L);
    for (int j = 0; j < T_COUNT; j++)
        veil_sc_add_table(&p, buf + (size_t)j * N);
    /* zero-padded copies: the sum-check folds them in place */
    memcpy(p.tab[T_HS], hS, n1 * sizeof *buf);
    memcpy(p.tab[T_S], S, n1 * sizeof *buf);
    veil_mle_eq_table(p.tab[T_EQ1], lr->tau1, lr->a);
    memcpy(p.tab[T_HT], hT, n2 * sizeof *buf);
    memcpy(p.tab[T_T], T, n2 * sizeof *buf);
    memcpy(p.tab[T_M], m, n2 * sizeof *buf);
    veil_mle_eq_table(p.tab[T_EQ2], lr->tau2, lr->b);
    rc = build_terms(&p, lr);
    if (!rc) rc = veil_sc_prove(t, &p, VEIL_LOGUP_DEG, mask, rounds, lr->r, fin);
    veil_wipe(buf, T_COUNT * N * sizeof *buf);
    free(buf);
    if (rc) return rc;
    /* the unpadded vectors' values at the suffix points (padding only
     * multiplies by eq(0, prefix), which the verifier recomputes) */
    rc = veil_mle_eval(&ev->S, S, lr->a, veil_logup_point_a(lr));
    if (!rc) rc = veil_mle_eval(&ev->hS, hS, lr->a, veil_logup_point_a(lr));
    if (!rc) rc = veil_mle_eval(&ev->hT, hT, lr->b, veil_logup_point_b(lr));
    if (!rc) rc = veil_mle_eval(&ev->m, m, lr->b, veil_logup_point_b(lr));
    if (!rc) absorb_evals(t, ev);
    return rc;
}

int veil_logup_verify_sc(veil_transcript *t, veil_logup_run *lr, const veil_fe *mask_claim,
                         const veil_fe *rounds, veil_fe *final)
{
    int rc = draw_challenges(t, lr);
    if (rc) return rc;
    veil_fe zero;
    veil_fe_zero(&zero);
    return veil_sc_verify(t, lr->L, VEIL_LOGUP_DEG, mask_claim ? mask_claim : &zero, rounds,
                          lr->r, final);
}

/* prod_{k < L - a} (1 - r_k): the extension of "the top L-a bits are 0". */
static void pad_factor(veil_fe *out, const veil_fe *r, unsigned L, unsigned a)
{
    veil_fe one, t;
    veil_fe_one(out);
    veil_fe_one(&one);
    for (unsigned k = 0; k + a < L; k++) {
        veil_fe_sub(&t, &one, &r[k]);
        veil_fe_mul(out, out, &t);
    }
}

int veil_logup_final_check(veil_transcript *t, const veil_logup_run *lr,
                           const veil_logup_evals *ev, const veil_fe *T_at, const veil_fe *rho_p,
                           const veil_fe *final)
{
    absorb_evals(t, ev);
    veil_fe za, zb, v[T_COUNT], g;
    pad_factor(&za, lr->r, lr->L, lr->a);
    pad_factor(&zb, lr->r, lr->L, lr->b);
    veil_fe_mul(&v[T_HS], &ev->hS, &za);
    veil_fe_mul(&v[T_S], &ev->S, &za);
    veil_mle_eq_eval(&v[T_EQ1], lr->tau1, veil_logup_point_a(lr), lr->a);
    veil_fe_mul(&v[T_EQ1], &v[T_EQ1], &za);
    veil_fe_mul(&v[T_HT], &ev->hT, &zb);
    veil_fe_mul(&v[T_T], T_at, &zb);
    veil_fe_mul(&v[T_M], &ev->m, &zb);
    veil_mle_eq_eval(&v[T_EQ2], lr->tau2, veil_logup_point_b(lr), lr->b);
    veil_fe_mul(&v[T_EQ2], &v[T_EQ2], &zb);
    veil_sc_poly p;
    veil_sc_poly_init(&p, lr->L);
    for (int j = 0; j < T_COUNT; j++)
        veil_sc_add_table(&p, NULL);
    if (build_terms(&p, lr)) return VEIL_ERANGE;
    veil_sc_combine(&p, v, &g);
    veil_fe_add(&g, &g, rho_p);
    if (!veil_fe_eq(&g, final))
        return veil_fail(VEIL_EVERIFY, "logup: final evaluation does not match the sum-check");
    return 0;
}

