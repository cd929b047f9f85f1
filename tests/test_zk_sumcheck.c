/* Sum-check (Algorithm 2): completeness on random products of up to four
 * multilinear tables, with and without Libra masking; soundness against
 * every altered round value, a changed claim, a changed public input and
 * reordered transcripts; MLE and eq-table identities. */
#include "harness.h"

#include "veil/zk_sumcheck.h"

#include <stdlib.h>
#include <string.h>

static veil_fe *rand_tab(unsigned n)
{
    veil_fe *t = malloc(((size_t)1 << n) * sizeof *t);
    for (size_t i = 0; i < ((size_t)1 << n); i++)
        veil_fe_random(&t[i]);
    return t;
}

static void test_mle(void)
{
    unsigned n = 5;
    veil_fe *t = rand_tab(n), r[5], eq[32], v, w;
    for (unsigned k = 0; k < n; k++)
        veil_fe_random(&r[k]);
    /* eval == <tab, eq(r, .)> */
    veil_mle_eq_table(eq, r, n);
    CHECK(veil_mle_eval(&v, t, n, r) == 0);
    veil_fe_inner(&w, t, eq, 32);
    CHECK(veil_fe_eq(&v, &w));
    /* on a Boolean point the extension is the table entry (eq. 10) */
    veil_fe b[5];
    for (unsigned k = 0; k < n; k++)
        veil_fe_from_u64(&b[k], (19u >> (n - 1 - k)) & 1);
    CHECK(veil_mle_eval(&v, t, n, b) == 0);
    CHECK(veil_fe_eq(&v, &t[19]));
    /* eq(r, b) from the table and the closed form agree */
    veil_mle_eq_eval(&w, r, b, n);
    CHECK(veil_fe_eq(&w, &eq[19]));
    /* identity table */
    veil_fe id[32];
    for (unsigned i = 0; i < 32; i++)
        veil_fe_from_u64(&id[i], i);
    CHECK(veil_mle_eval(&v, id, n, r) == 0);
    veil_mle_eval_identity(&w, r, n);
    CHECK(veil_fe_eq(&v, &w));
    /* zero padding */
    CHECK(veil_mle_eval_padded(&v, t, 20, n, r) == 0);
    memset(t + 20, 0, 12 * sizeof *t);
    CHECK(veil_mle_eval(&w, t, n, r) == 0);
    CHECK(veil_fe_eq(&v, &w));
    CHECK(veil_mle_eval_padded(&v, t, 33, n, r) == VEIL_EINVAL);
    CHECK(veil_mle_log2(1) == 0 && veil_mle_log2(2) == 1 && veil_mle_log2(288) == 9);
    free(t);
    /* a table long enough for the threaded path (2^17) against eq(r, b) */
    unsigned nb = 17;
    veil_fe *big = malloc(((size_t)1 << nb) * sizeof *big), rb[17], pt[17], w2;
    for (unsigned k = 0; k < nb; k++)
        veil_fe_random(&rb[k]);
    veil_mle_eq_table(big, rb, nb);
    size_t bad = 0;
    for (size_t i = 0; i < ((size_t)1 << nb); i += 4099) {
        for (unsigned k = 0; k < nb; k++)
            veil_fe_from_u64(&pt[k], (i >> (nb - 1 - k)) & 1);
        veil_mle_eq_eval(&w2, rb, pt, nb);
        bad += !veil_fe_eq(&w2, &big[i]);
    }
    CHECKF(bad == 0, "%zu entries of a 2^17 eq-table wrong", bad);
    free(big);
}

/* A random instance: nt tables, terms given as factor counts. */
typedef struct {
    unsigned n, nt, deg;
    veil_fe *orig[8], *work[8];
    veil_sc_poly p;
    veil_fe claim;
} inst;

static void inst_make(inst *I, unsigned n, unsigned nt, const unsigned *nf, unsigned nterm)
{
    memset(I, 0, sizeof *I);
    I->n = n;
    I->nt = nt;
    veil_sc_poly_init(&I->p, n);
    for (unsigned j = 0; j < nt; j++) {
        I->orig[j] = rand_tab(n);
        I->work[j] = malloc(((size_t)1 << n) * sizeof(veil_fe));
        memcpy(I->work[j], I->orig[j], ((size_t)1 << n) * sizeof(veil_fe));
        veil_sc_add_table(&I->p, I->work[j]);
    }
    for (unsigned t = 0; t < nterm; t++) {
        veil_fe c;
        veil_fe_random(&c);
        int f[4];
        for (int k = 0; k < 4; k++)
            f[k] = (int)((t + 3 * k) % nt);
        CHECK(veil_sc_add_term(&I->p, &c, nf[t], f[0], f[1], f[2], f[3]) == 0);
    }
    I->deg = veil_sc_degree(&I->p);
    if (I->deg == 0) I->deg = 1;
    /* the true sum, by brute force over the cube */
    veil_fe_zero(&I->claim);
    veil_fe vals[8], g;
    for (size_t x = 0; x < ((size_t)1 << n); x++) {
        for (unsigned j = 0; j < nt; j++)
            vals[j] = I->orig[j][x];
        veil_sc_combine(&I->p, vals, &g);
        veil_fe_add(&I->claim, &I->claim, &g);
    }
}

static void inst_free(inst *I)
{
    for (unsigned j = 0; j < I->nt; j++) {
        free(I->orig[j]);
        free(I->work[j]);
    }
}

/* Verifier's final check with oracle access to the tables and the mask. */
static int oracle_final(const inst *I, const veil_sc_mask *m, const veil_fe *r,
                        const veil_fe *final)
{
    veil_fe vals[8], g;
    for (unsigned j = 0; j < I->nt; j++)
        if (veil_mle_eval(&vals[j], I->orig[j], I->n, r)) return 0;
    veil_sc_combine(&I->p, vals, &g);
    if (m) {
        size_t len = veil_sc_mask_len(I->n, I->deg);
        veil_fe *y = malloc(len * sizeof *y), pr;
        veil_sc_mask_eval_vector(y, r, I->n, I->deg);
        veil_fe_inner(&pr, m->coef, y, len);
        veil_fe_mul(&pr, &pr, &m->rho);
        veil_fe_add(&g, &g, &pr);
        free(y);
    }
    return veil_fe_eq(&g, final);
}

static void run_case(unsigned n, unsigned nt, const unsigned *nf, unsigned nterm, int masked,
                     int tamper)
{
    inst I;
    inst_make(&I, n, nt, nf, nterm);
    veil_sc_mask m = {0};
    veil_fe claim = I.claim;
    veil_transcript tp, tv;
    veil_transcript_init(&tp, "test/sc");
    if (masked) {
        CHECK(veil_sc_mask_random(&m, n, I.deg) == 0);
        size_t len = veil_sc_mask_len(n, I.deg);
        veil_fe *y = malloc(len * sizeof *y), P;
        veil_sc_mask_sum_vector(y, n, I.deg);
        veil_fe_inner(&P, m.coef, y, len);
        free(y);
        veil_transcript_absorb_fe(&tp, "P", &P); /* stands in for the commitment */
        veil_transcript_challenge(&tp, "rho", &m.rho);
        veil_fe_mul(&P, &P, &m.rho);
        veil_fe_add(&claim, &claim, &P);
    }
    tv = tp;
    size_t nr = (size_t)n * (I.deg + 1);
    veil_fe *rounds = malloc((nr + 1) * sizeof *rounds), rp[32], rv[32], finals[8], fin;
    CHECK(veil_sc_prove(&tp, &I.p, I.deg, masked ? &m : NULL, rounds, rp, finals) == 0);
    veil_transcript t0 = tv;
    CHECK(veil_sc_verify(&tv, n, I.deg, &claim, rounds, rv, &fin) == 0);
    CHECK(memcmp(rp, rv, n * sizeof *rp) == 0);
    CHECK(oracle_final(&I, masked ? &m : NULL, rv, &fin));
    /* prover's finals are the tables' values at r */
    veil_fe v;
    CHECK(veil_mle_eval(&v, I.orig[0], n, rv) == 0 && veil_fe_eq(&v, &finals[0]));
    if (tamper) {
        veil_fe one;
        veil_fe_one(&one);
        /* every round value altered: the round check or the final check fails */
        for (size_t i = 0; i < nr; i++) {
            veil_transcript tt = t0;
            veil_fe_add(&rounds[i], &rounds[i], &one);
            int ok = veil_sc_verify(&tt, n, I.deg, &claim, rounds, rv, &fin) == 0 &&
                     oracle_final(&I, masked ? &m : NULL, rv, &fin);
            CHECKF(!ok, "altered round value %zu accepted", i);
            veil_fe_sub(&rounds[i], &rounds[i], &one);
        }
        /* wrong claim */
        veil_fe bad;
        veil_fe_add(&bad, &claim, &one);
        veil_transcript tt = t0;
        CHECK(veil_sc_verify(&tt, n, I.deg, &bad, rounds, rv, &fin) == VEIL_EVERIFY);
        /* a different public input absorbed before the sum-check (with one
         * round an honest proof verifies at any challenge: skip n = 1) */
        tt = t0;
        veil_transcript_absorb_u64(&tt, "other", 1);
        int ok = veil_sc_verify(&tt, n, I.deg, &claim, rounds, rv, &fin) == 0 &&
                 oracle_final(&I, masked ? &m : NULL, rv, &fin);
        CHECK(n < 2 || !ok);
        /* swapping two rounds (transcript reordered) */
        if (n >= 2) {
            veil_fe tmp[VEIL_SC_MAX_DEG + 1];
            size_t d1 = I.deg + 1;
            memcpy(tmp, rounds, d1 * sizeof *tmp);
            memcpy(rounds, rounds + d1, d1 * sizeof *tmp);
            memcpy(rounds + d1, tmp, d1 * sizeof *tmp);
            tt = t0;
            ok = veil_sc_verify(&tt, n, I.deg, &claim, rounds, rv, &fin) == 0 &&
                 oracle_final(&I, masked ? &m : NULL, rv, &fin);
            CHECKF(!ok, "swapped rounds accepted n=%u deg=%u masked=%d", n, I.deg, masked);
        }
        /* wrong shape */
        tt = t0;
        CHECK(veil_sc_verify(&tt, n, 9, &claim, rounds, rv, &fin) == VEIL_ERANGE);
    }
    free(rounds);
    veil_sc_mask_free(&m);
    inst_free(&I);
}

static void test_interp(void)
{
    /* g(x) = 3x^4 - x^2 + 7 from its values at 0..4 */
    veil_fe ev[5], x, out, want;
    for (int e = 0; e <= 4; e++)
        veil_fe_from_i64(&ev[e], 3LL * e * e * e * e - e * e + 7);
    veil_fe_from_u64(&x, 11);
    veil_sc_interpolate(ev, 4, &x, &out);
    veil_fe_from_i64(&want, 3LL * 14641 - 121 + 7);
    CHECK(veil_fe_eq(&out, &want));
}

int main(void)
{
    test_mle();
    test_interp();
    static const unsigned one[] = {1}, two[] = {2}, mix[] = {3, 1, 0, 2}, four[] = {4, 2};
    for (int masked = 0; masked <= 1; masked++) {
        run_case(1, 1, one, 1, masked, 1);
        run_case(4, 2, two, 1, masked, 1);
        run_case(6, 4, mix, 4, masked, 1);
        run_case(5, 5, four, 2, masked, 1);
        run_case(13, 3, mix, 4, masked, 0); /* exercises the threaded path */
    }
    return test_done();
}
