/* ReLU through bit decomposition (paper eqs. 20-24); see zk_lookup.h. */
#include "veil/zk_lookup.h"

#include <stdlib.h>
#include <string.h>

enum { R_EQ, R_Z, R_A, R_BITS };

static int check_run(const veil_relu_run *lr)
{
    if (lr->a < 1 || lr->a > VEIL_MLE_MAX_VARS)
        return veil_fail(VEIL_ERANGE, "relu: 2^%u entries outside the supported sizes", lr->a);
    if (lr->Q < 1 || lr->Q > VEIL_RELU_MAX_BITS)
        return veil_fail(VEIL_ERANGE, "relu: %u magnitude bits (1..%d)", lr->Q,
                         VEIL_RELU_MAX_BITS);
    return 0;
}

int veil_relu_witness(const int64_t *z, size_t n, unsigned Q, veil_fe *Zf, veil_fe *Af,
                      veil_fe *bits)
{
    if (Q < 1 || Q > VEIL_RELU_MAX_BITS)
        return veil_fail(VEIL_ERANGE, "relu: %u magnitude bits (1..%d)", Q, VEIL_RELU_MAX_BITS);
    for (size_t x = 0; x < n; x++) {
        uint64_t mag = z[x] < 0 ? (uint64_t)0 - (uint64_t)z[x] : (uint64_t)z[x];
        if (mag >> Q)
            return veil_fail(VEIL_ERANGE, "relu: |z[%zu]| does not fit %u bits", x, Q);
        veil_fe_from_i64(&Zf[x], z[x]);
        veil_fe_from_i64(&Af[x], z[x] > 0 ? z[x] : 0);
        veil_fe_from_u64(&bits[x], z[x] >= 0);
        for (unsigned i = 1; i <= Q; i++)
            veil_fe_from_u64(&bits[(size_t)i * n + x], (mag >> (Q - i)) & 1);
    }
    return 0;
}

static int draw_challenges(veil_transcript *t, veil_relu_run *lr)
{
    int rc = check_run(lr);
    if (rc) return rc;
    veil_transcript_absorb_u64(t, "relu-a", lr->a);
    veil_transcript_absorb_u64(t, "relu-Q", lr->Q);
    veil_transcript_challenge(t, "relu-c", &lr->c);
    veil_transcript_challenges(t, "relu-tau", lr->tau, lr->a);
    return 0;
}

/* eq * [eq. 24 expanded into products of at most two bit tables]. */
static int build_terms(veil_sc_poly *p, const veil_relu_run *lr)
{
    veil_fe cp[VEIL_RELU_MAX_BITS + 1], w, two, k, one;
    veil_fe_one(&one);
    veil_fe_from_u64(&two, 2);
    veil_fe_sqr(&cp[0], &lr->c); /* cp[i] = c^(i+2) */
    for (unsigned i = 1; i <= lr->Q; i++)
        veil_fe_mul(&cp[i], &cp[i - 1], &lr->c);
    int rc = 0;
    for (unsigned i = 0; i <= lr->Q; i++) {
        int bi = R_BITS + (int)i;
        rc |= veil_sc_add_term(p, &cp[i], 3, R_EQ, bi, bi); /* c^(i+2) B_i^2 */
        veil_fe_neg(&k, &cp[i]);                            /* - c^(i+2) B_i */
        if (i >= 1) {
            veil_fe_from_u64(&w, (uint64_t)1 << (lr->Q - i));
            veil_fe_sub(&k, &k, &w); /* - 2^(Q-i) B_i from (2B_0 - 1)M */
            veil_fe c2;
            veil_fe_add(&c2, &two, &lr->c);
            veil_fe_mul(&c2, &c2, &w); /* (2 + c) 2^(Q-i) B_0 B_i */
            rc |= veil_sc_add_term(p, &c2, 3, R_EQ, R_BITS, bi);
        }
        rc |= veil_sc_add_term(p, &k, 2, R_EQ, bi);
    }
    veil_fe_neg(&k, &one);
    rc |= veil_sc_add_term(p, &k, 2, R_EQ, R_Z);
    veil_fe_neg(&k, &lr->c);
    rc |= veil_sc_add_term(p, &k, 2, R_EQ, R_A);
    return rc ? VEIL_ERANGE : 0;
}

static void absorb_evals(veil_transcript *t, const veil_relu_run *lr, const veil_relu_evals *ev)
{
    veil_transcript_absorb_fe(t, "relu-Z", &ev->Z);
    veil_transcript_absorb_fe(t, "relu-A", &ev->A);
    for (unsigned i = 0; i <= lr->Q; i++)
        veil_transcript_absorb_fe(t, "relu-bit", &ev->bits[i]);
}

int veil_relu_prove_sc(veil_transcript *t, veil_relu_run *lr, const veil_fe *Z,
                       const veil_fe *A, const veil_fe *bits, const veil_sc_mask *mask,
                       veil_fe *rounds, veil_relu_evals *ev)
{
    int rc = draw_challenges(t, lr);
    if (rc) return rc;
    const size_t n = (size_t)1 << lr->a, ntab = R_BITS + lr->Q + 1;
    veil_fe *buf = malloc(ntab * n * sizeof *buf), fin[R_BITS + VEIL_RELU_MAX_BITS + 1];
    if (!buf) return veil_fail(VEIL_ENOMEM, "relu: out of memory");
    veil_sc_poly p;
    veil_sc_poly_init(&p, lr->a);
    for (size_t j = 0; j < ntab; j++)
        veil_sc_add_table(&p, buf + j * n);
    veil_mle_eq_table(p.tab[R_EQ], lr->tau, lr->a);
    memcpy(p.tab[R_Z], Z, n * sizeof *buf);
    memcpy(p.tab[R_A], A, n * sizeof *buf);
    memcpy(p.tab[R_BITS], bits, (lr->Q + 1) * n * sizeof *buf);
    rc = build_terms(&p, lr);
    if (!rc) rc = veil_sc_prove(t, &p, VEIL_RELU_DEG, mask, rounds, lr->r, fin);
    veil_wipe(buf, ntab * n * sizeof *buf);
    free(buf);
    if (rc) return rc;
    ev->Z = fin[R_Z];
    ev->A = fin[R_A];
    for (unsigned i = 0; i <= lr->Q; i++)
        ev->bits[i] = fin[R_BITS + i];
    absorb_evals(t, lr, ev);
    return 0;
}

int veil_relu_verify_sc(veil_transcript *t, veil_relu_run *lr, const veil_fe *mask_claim,
                        const veil_fe *rounds, veil_fe *final)
{
    int rc = draw_challenges(t, lr);
    if (rc) return rc;
    veil_fe zero;
    veil_fe_zero(&zero);
    return veil_sc_verify(t, lr->a, VEIL_RELU_DEG, mask_claim ? mask_claim : &zero, rounds,
                          lr->r, final);
}

int veil_relu_final_check(veil_transcript *t, const veil_relu_run *lr,
                          const veil_relu_evals *ev, const veil_fe *rho_p, const veil_fe *final)
{
    if (check_run(lr)) return VEIL_ERANGE;
    absorb_evals(t, lr, ev);
    veil_fe v[R_BITS + VEIL_RELU_MAX_BITS + 1], g;
    veil_sc_poly p;
    veil_sc_poly_init(&p, lr->a);
    for (unsigned j = 0; j < R_BITS + lr->Q + 1; j++)
        veil_sc_add_table(&p, NULL);
    if (build_terms(&p, lr)) return VEIL_ERANGE;
    veil_mle_eq_eval(&v[R_EQ], lr->tau, lr->r, lr->a);
    v[R_Z] = ev->Z;
    v[R_A] = ev->A;
    memcpy(&v[R_BITS], ev->bits, (lr->Q + 1) * sizeof *v);
    veil_sc_combine(&p, v, &g);
    veil_fe_add(&g, &g, rho_p);
    if (!veil_fe_eq(&g, final))
        return veil_fail(VEIL_EVERIFY, "relu: final evaluation does not match the sum-check");
    return 0;
}

void veil_relu_bits_claim(const veil_relu_run *lr, const veil_relu_evals *ev, const veil_fe *s,
                          veil_fe *out)
{
    unsigned q = veil_mle_log2(lr->Q + 1);
    veil_fe eq[1u << 5]; /* Q + 1 <= 31 entries: q <= 5 */
    veil_mle_eq_table(eq, s, q);
    veil_fe_inner(out, eq, ev->bits, lr->Q + 1);
}
