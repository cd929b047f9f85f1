/* logUp lookups / range checks (eqs. 25-26) and ReLU by bit decomposition
 * (eqs. 20-24): completeness on random instances with and without
 * masking; soundness against out-of-table entries, wrong ReLU outputs,
 * non-binary bits, every altered round value and every altered claim. */
#include "harness.h"

#include "veil/zk_lookup.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rnd32(void)
{
    uint32_t x;
    RAND_bytes((unsigned char *)&x, sizeof x);
    return x;
}

/* Mask set-up as a protocol would do it (the commitment is stood in for
 * by absorbing P). */
static void mask_setup(veil_transcript *t, veil_sc_mask *m, unsigned n, unsigned deg,
                       veil_fe *claim)
{
    size_t len = veil_sc_mask_len(n, deg);
    veil_fe *y = malloc(len * sizeof *y), P;
    veil_sc_mask_random(m, n, deg);
    veil_sc_mask_sum_vector(y, n, deg);
    veil_fe_inner(&P, m->coef, y, len);
    veil_transcript_absorb_fe(t, "P", &P);
    veil_transcript_challenge(t, "rho", &m->rho);
    veil_fe_mul(claim, &P, &m->rho);
    free(y);
}

static void mask_at(const veil_sc_mask *m, const veil_fe *r, veil_fe *rho_p)
{
    if (!m) {
        veil_fe_zero(rho_p);
        return;
    }
    size_t len = veil_sc_mask_len(m->nvars, m->deg);
    veil_fe *y = malloc(len * sizeof *y);
    veil_sc_mask_eval_vector(y, r, m->nvars, m->deg);
    veil_fe_inner(rho_p, m->coef, y, len);
    veil_fe_mul(rho_p, rho_p, &m->rho);
    free(y);
}

/* Range check of 2^a values against [0, 2^b); bad >= 0 makes entry 0 of S
 * equal 2^b + bad while the prover pretends it is table entry 0. */
static int logup_case(unsigned a, unsigned b, int masked, long bad, int tamper)
{
    size_t n1 = (size_t)1 << a, n2 = (size_t)1 << b;
    veil_fe *S = malloc(n1 * sizeof *S), *T = malloc(n2 * sizeof *T), *m = malloc(n2 * sizeof *m),
            *hS = malloc(n1 * sizeof *hS), *hT = malloc(n2 * sizeof *hT);
    uint32_t *idx = malloc(n1 * sizeof *idx);
    for (size_t i = 0; i < n2; i++)
        veil_fe_from_u64(&T[i], i);
    for (size_t j = 0; j < n1; j++) {
        idx[j] = rnd32() % (uint32_t)n2;
        veil_fe_from_u64(&S[j], idx[j]);
    }
    if (bad >= 0) {
        idx[0] = 0;
        veil_fe_from_u64(&S[0], n2 + (uint64_t)bad);
    }
    int ok = 1;
    CHECK(veil_logup_mults(idx, n1, m, n2) == 0);
    veil_transcript tp, tv;
    veil_transcript_init(&tp, "test/logup");
    veil_fe claim, beta, final, rho_p, T_at;
    veil_fe_zero(&claim);
    veil_sc_mask mk = {0};
    unsigned L = a > b ? a : b;
    if (masked) mask_setup(&tp, &mk, L, VEIL_LOGUP_DEG, &claim);
    tv = tp;
    veil_transcript_challenge(&tp, "beta", &beta); /* after committing m */
    CHECK(veil_logup_inverses(&beta, S, n1, T, m, n2, hS, hT) == 0);
    veil_logup_run lp = {.a = a, .b = b, .beta = beta}, lv = {.a = a, .b = b};
    veil_fe *rounds = malloc((size_t)L * 4 * sizeof *rounds);
    veil_logup_evals ev;
    CHECK(veil_logup_prove_sc(&tp, &lp, S, hS, T, m, hT, masked ? &mk : NULL, rounds, &ev) == 0);
    veil_transcript_challenge(&tv, "beta", &lv.beta);
    veil_transcript t0 = tv;
    ok &= veil_logup_verify_sc(&tv, &lv, masked ? &claim : NULL, rounds, &final) == 0;
    veil_mle_eval_identity(&T_at, veil_logup_point_b(&lv), b);
    mask_at(masked ? &mk : NULL, lv.r, &rho_p);
    ok &= veil_logup_final_check(&tv, &lv, &ev, &T_at, &rho_p, &final) == 0;
    /* the claims in ev are the committed vectors' true evaluations */
    veil_fe v;
    veil_mle_eval(&v, S, a, veil_logup_point_a(&lv));
    ok &= veil_fe_eq(&v, &ev.S);
    veil_mle_eval(&v, m, b, veil_logup_point_b(&lv));
    ok &= veil_fe_eq(&v, &ev.m);
    ok &= memcmp(&tv, &tp, sizeof tv) == 0; /* both transcripts end alike */
    if (tamper && ok) {
        veil_fe one;
        veil_fe_one(&one);
        for (size_t i = 0; i < (size_t)L * 4; i++) {
            veil_transcript tt = t0;
            veil_logup_run lt = {.a = a, .b = b, .beta = lv.beta};
            veil_fe_add(&rounds[i], &rounds[i], &one);
            int acc = veil_logup_verify_sc(&tt, &lt, masked ? &claim : NULL, rounds, &final) == 0;
            veil_mle_eval_identity(&T_at, veil_logup_point_b(&lt), b);
            mask_at(masked ? &mk : NULL, lt.r, &rho_p);
            acc = acc && veil_logup_final_check(&tt, &lt, &ev, &T_at, &rho_p, &final) == 0;
            CHECKF(!acc, "altered round value %zu accepted", i);
            veil_fe_sub(&rounds[i], &rounds[i], &one);
        }
        veil_fe *fields[] = {&ev.S, &ev.hS, &ev.hT, &ev.m};
        for (int f = 0; f < 4; f++) {
            veil_transcript tt = t0;
            veil_logup_run lt = {.a = a, .b = b, .beta = lv.beta};
            veil_fe_add(fields[f], fields[f], &one);
            int acc = veil_logup_verify_sc(&tt, &lt, masked ? &claim : NULL, rounds, &final) == 0;
            veil_mle_eval_identity(&T_at, veil_logup_point_b(&lt), b);
            mask_at(masked ? &mk : NULL, lt.r, &rho_p);
            acc = acc && veil_logup_final_check(&tt, &lt, &ev, &T_at, &rho_p, &final) == 0;
            CHECKF(!acc, "altered evaluation %d accepted", f);
            veil_fe_sub(fields[f], fields[f], &one);
        }
        /* a different table (public input) */
        veil_transcript tt = t0;
        veil_logup_run lt = {.a = a, .b = b, .beta = lv.beta};
        int acc = veil_logup_verify_sc(&tt, &lt, masked ? &claim : NULL, rounds, &final) == 0;
        veil_mle_eval_identity(&T_at, veil_logup_point_b(&lt), b);
        veil_fe_add(&T_at, &T_at, &one);
        mask_at(masked ? &mk : NULL, lt.r, &rho_p);
        acc = acc && veil_logup_final_check(&tt, &lt, &ev, &T_at, &rho_p, &final) == 0;
        CHECK(!acc);
    }
    veil_sc_mask_free(&mk);
    free(S), free(T), free(m), free(hS), free(hT), free(idx), free(rounds);
    return ok;
}

static int relu_case(unsigned a, unsigned Q, int masked, int cheat, int tamper)
{
    size_t n = (size_t)1 << a;
    int64_t *z = malloc(n * sizeof *z);
    veil_fe *Z = malloc(n * sizeof *Z), *A = malloc(n * sizeof *A),
            *bits = malloc((Q + 1) * n * sizeof *bits);
    for (size_t x = 0; x < n; x++)
        z[x] = (int64_t)(rnd32() % (1u << Q)) * ((rnd32() & 1) ? 1 : -1);
    z[1] = 0;
    CHECK(veil_relu_witness(z, n, Q, Z, A, bits) == 0);
    veil_fe one;
    veil_fe_one(&one);
    if (cheat == 1) veil_fe_add(&A[2], &A[2], &one); /* wrong ReLU output */
    if (cheat == 2) { /* z = 2 encoded as bits "0..02" with sign 1: not binary */
        veil_fe_from_u64(&Z[3], 2);
        veil_fe_from_u64(&A[3], 2);
        veil_fe_one(&bits[3]);
        for (unsigned i = 1; i <= Q; i++)
            veil_fe_zero(&bits[(size_t)i * n + 3]);
        veil_fe_from_u64(&bits[(size_t)Q * n + 3], 2);
    }
    if (cheat == 3) { /* negative z passed off as positive: A = |z| */
        z[0] = -5;
        veil_relu_witness(z, n, Q, Z, A, bits);
        veil_fe_from_u64(&A[0], 5);
    }
    veil_transcript tp, tv;
    veil_transcript_init(&tp, "test/relu");
    veil_fe claim, final, rho_p;
    veil_fe_zero(&claim);
    veil_sc_mask mk = {0};
    if (masked) mask_setup(&tp, &mk, a, VEIL_RELU_DEG, &claim);
    tv = tp;
    veil_relu_run lp = {.a = a, .Q = Q}, lv = {.a = a, .Q = Q};
    veil_fe *rounds = malloc((size_t)a * 4 * sizeof *rounds);
    veil_relu_evals ev;
    CHECK(veil_relu_prove_sc(&tp, &lp, Z, A, bits, masked ? &mk : NULL, rounds, &ev) == 0);
    veil_transcript t0 = tv;
    int ok = veil_relu_verify_sc(&tv, &lv, masked ? &claim : NULL, rounds, &final) == 0;
    mask_at(masked ? &mk : NULL, lv.r, &rho_p);
    ok = ok && veil_relu_final_check(&tv, &lv, &ev, &rho_p, &final) == 0;
    /* the combined bit claim equals the bits vector's extension at (s, r) */
    unsigned q = veil_mle_log2(Q + 1);
    veil_fe s[5], pt[5 + VEIL_MLE_MAX_VARS], want, got;
    for (unsigned k = 0; k < q; k++)
        veil_fe_random(&s[k]);
    memcpy(pt, s, q * sizeof *s);
    memcpy(pt + q, lv.r, a * sizeof *s);
    veil_relu_bits_claim(&lv, &ev, s, &got);
    veil_mle_eval_padded(&want, bits, (Q + 1) * n, q + a, pt);
    if (ok) CHECKF(veil_fe_eq(&got, &want), "bits claim a=%u Q=%u cheat=%d", a, Q, cheat);
    if (tamper && ok) {
        for (size_t i = 0; i < (size_t)a * 4; i++) {
            veil_transcript tt = t0;
            veil_relu_run lt = {.a = a, .Q = Q};
            veil_fe_add(&rounds[i], &rounds[i], &one);
            int acc = veil_relu_verify_sc(&tt, &lt, masked ? &claim : NULL, rounds, &final) == 0;
            mask_at(masked ? &mk : NULL, lt.r, &rho_p);
            acc = acc && veil_relu_final_check(&tt, &lt, &ev, &rho_p, &final) == 0;
            CHECKF(!acc, "altered relu round value %zu accepted", i);
            veil_fe_sub(&rounds[i], &rounds[i], &one);
        }
        for (unsigned f = 0; f < Q + 3; f++) {
            veil_fe *e = f == 0 ? &ev.Z : f == 1 ? &ev.A : &ev.bits[f - 2];
            veil_transcript tt = t0;
            veil_relu_run lt = {.a = a, .Q = Q};
            veil_fe_add(e, e, &one);
            int acc = veil_relu_verify_sc(&tt, &lt, masked ? &claim : NULL, rounds, &final) == 0;
            mask_at(masked ? &mk : NULL, lt.r, &rho_p);
            acc = acc && veil_relu_final_check(&tt, &lt, &ev, &rho_p, &final) == 0;
            CHECKF(!acc, "altered relu evaluation %u accepted", f);
            veil_fe_sub(e, e, &one);
        }
    }
    veil_sc_mask_free(&mk);
    free(z), free(Z), free(A), free(bits), free(rounds);
    return ok;
}

static void test_clear(void)
{
    for (int masked = 0; masked <= 1; masked++) {
        CHECK(logup_case(6, 4, masked, -1, 1));
        CHECK(logup_case(3, 8, masked, -1, 1));
        CHECK(logup_case(5, 5, masked, -1, 0));
        CHECK(logup_case(12, 8, masked, -1, 0));
        CHECK(!logup_case(6, 4, masked, 0, 0));  /* 16 is not in [0, 16) */
        CHECK(!logup_case(3, 8, masked, 77, 0)); /* nor 333 in [0, 256) */
        CHECK(relu_case(5, 8, masked, 0, 1));
        CHECK(relu_case(10, 16, masked, 0, 0));
        CHECK(relu_case(4, 30, masked, 0, 0));
        CHECK(!relu_case(5, 8, masked, 1, 0));
        CHECK(!relu_case(5, 8, masked, 2, 0));
        CHECK(!relu_case(5, 8, masked, 3, 0));
    }
    /* witness generation bounds */
    int64_t big[2] = {1 << 8, 0};
    veil_fe Z[2], A[2], bits[18];
    CHECK(veil_relu_witness(big, 2, 8, Z, A, bits) == VEIL_ERANGE);
    CHECK(veil_relu_witness(big, 2, 31, Z, A, bits) == VEIL_ERANGE);
    uint32_t idx[2] = {0, 16};
    veil_fe m[16];
    CHECK(veil_logup_mults(idx, 2, m, 16) == VEIL_ERANGE);
}

/* ---- the complete zero-knowledge lookup proof ---- */

/* S: 2^a entries of the table (range [0, 2^b) or squares); bad: entry 0
 * replaced by a value outside the table while claiming table index 0. */
static int zk_lookup_case(unsigned a, unsigned b, int squares, int bad, int tamper)
{
    size_t n1 = (size_t)1 << a, n2 = (size_t)1 << b;
    veil_pedersen_gens pg;
    CHECK(veil_pedersen_gens_init(&pg, "test/lookup", veil_lookup_gens_needed(a, b)) == 0);
    veil_fe *T = NULL, *S = malloc(n1 * sizeof *S);
    uint32_t *idx = malloc(n1 * sizeof *idx);
    if (squares) {
        T = malloc(n2 * sizeof *T);
        for (size_t i = 0; i < n2; i++)
            veil_fe_from_u64(&T[i], i * i);
    }
    for (size_t j = 0; j < n1; j++) {
        idx[j] = rnd32() % (uint32_t)n2;
        veil_fe_from_u64(&S[j], squares ? (uint64_t)idx[j] * idx[j] : idx[j]);
    }
    if (bad) {
        idx[0] = 0;
        veil_fe_from_u64(&S[0], squares ? 2 : n2);
    }
    veil_zk_vec vS;
    CHECK(veil_zk_vec_commit(&vS, &pg, S, a, 0) == 0);
    veil_lookup_proof pf;
    veil_transcript t;
    veil_transcript_init(&t, "test/lookup");
    int ok = veil_lookup_prove(&pf, &t, &pg, &vS, idx, T, b, 0) == 0;
    veil_zkw w;
    veil_zkw_init(&w);
    veil_zkw_begin(&w, VEIL_ZKP_LOGUP);
    veil_lookup_proof_write(&w, &pf);
    ok = ok && veil_zkw_finish(&w) == 0;
    veil_lookup_proof_free(&pf);
    /* verify from the parsed bytes */
    veil_zkr r;
    uint16_t kind;
    veil_zkr_init(&r, w.buf, w.len);
    ok = ok && veil_zkr_begin(&r, &kind) == 0 && kind == VEIL_ZKP_LOGUP;
    ok = ok && veil_lookup_proof_read(&r, &pf, a, b) == 0 && veil_zkr_end(&r) == 0;
    veil_transcript_init(&t, "test/lookup");
    ok = ok && veil_lookup_verify(&pf, &t, &pg, &vS.cm, T, b, 0) == 0;
    if (tamper && ok) {
        /* a different table, a different context */
        veil_transcript_init(&t, "test/lookup");
        CHECK(veil_lookup_verify(&pf, &t, &pg, &vS.cm, T, b + 1, 0) != 0);
        veil_transcript_init(&t, "test/other");
        CHECK(veil_lookup_verify(&pf, &t, &pg, &vS.cm, T, b, 0) != 0);
        /* every 4-byte word of the serialized proof altered */
        size_t accepted = 0;
        /* stride 11 < 32: every scalar and point of the proof is hit */
        for (size_t off = VEIL_ZKP_HEADER; off < w.len; off += 11) {
            w.buf[off] ^= 0x21;
            veil_lookup_proof q;
            veil_zkr_init(&r, w.buf, w.len);
            int acc = veil_zkr_begin(&r, &kind) == 0 && veil_lookup_proof_read(&r, &q, a, b) == 0 &&
                      veil_zkr_end(&r) == 0;
            veil_transcript_init(&t, "test/lookup");
            acc = acc && veil_lookup_verify(&q, &t, &pg, &vS.cm, T, b, 0) == 0;
            accepted += acc;
            veil_lookup_proof_free(&q);
            w.buf[off] ^= 0x21;
        }
        CHECKF(accepted == 0, "%zu altered lookup proofs accepted", accepted);
    }
    veil_lookup_proof_free(&pf);
    veil_zkw_free(&w);
    veil_zk_vec_free(&vS);
    veil_pedersen_gens_free(&pg);
    free(T), free(S), free(idx);
    return ok;
}

/* The complete ReLU proof; cheat = 1 commits a wrong A entry. */
static int zk_relu_case(unsigned a, unsigned Q, int cheat, int tamper)
{
    size_t n = (size_t)1 << a;
    veil_pedersen_gens pg;
    CHECK(veil_pedersen_gens_init(&pg, "test/relu", veil_relu_gens_needed(a, Q)) == 0);
    int64_t *z = malloc(n * sizeof *z);
    veil_fe *Zf = malloc(n * sizeof *Zf), *Af = malloc(n * sizeof *Af),
            *bits = malloc((Q + 1) * n * sizeof *bits);
    for (size_t x = 0; x < n; x++)
        z[x] = (int64_t)(rnd32() % (1u << Q)) * ((rnd32() & 1) ? 1 : -1);
    veil_relu_witness(z, n, Q, Zf, Af, bits);
    if (cheat) veil_fe_from_i64(&Af[n - 1], z[n - 1] < 0 ? z[n - 1] : z[n - 1] + 1);
    veil_zk_vec vZ, vA;
    CHECK(veil_zk_vec_commit(&vZ, &pg, Zf, a, 0) == 0);
    CHECK(veil_zk_vec_commit(&vA, &pg, Af, a, 0) == 0);
    veil_relu_proof pf;
    veil_transcript t;
    veil_transcript_init(&t, "test/relu");
    int ok = veil_relu_prove(&pf, &t, &pg, &vZ, &vA, z, Q, 0) == 0;
    veil_zkw w;
    veil_zkw_init(&w);
    veil_zkw_begin(&w, VEIL_ZKP_RELU);
    veil_relu_proof_write(&w, &pf);
    ok = ok && veil_zkw_finish(&w) == 0;
    veil_relu_proof_free(&pf);
    veil_zkr r;
    uint16_t kind;
    veil_zkr_init(&r, w.buf, w.len);
    ok = ok && veil_zkr_begin(&r, &kind) == 0 && veil_relu_proof_read(&r, &pf, a, Q) == 0 &&
         veil_zkr_end(&r) == 0;
    veil_transcript_init(&t, "test/relu");
    ok = ok && veil_relu_verify(&pf, &t, &pg, &vZ.cm, &vA.cm, Q, 0) == 0;
    if (tamper && ok) {
        veil_transcript_init(&t, "test/relu"); /* Z and A swapped */
        CHECK(veil_relu_verify(&pf, &t, &pg, &vA.cm, &vZ.cm, Q, 0) != 0);
        size_t accepted = 0;
        /* stride 11 < 32: every scalar and point of the proof is hit */
        for (size_t off = VEIL_ZKP_HEADER; off < w.len; off += 11) {
            w.buf[off] ^= 0x11;
            veil_relu_proof q;
            veil_zkr_init(&r, w.buf, w.len);
            int acc = veil_zkr_begin(&r, &kind) == 0 && veil_relu_proof_read(&r, &q, a, Q) == 0 &&
                      veil_zkr_end(&r) == 0;
            veil_transcript_init(&t, "test/relu");
            acc = acc && veil_relu_verify(&q, &t, &pg, &vZ.cm, &vA.cm, Q, 0) == 0;
            accepted += acc;
            veil_relu_proof_free(&q);
            w.buf[off] ^= 0x11;
        }
        CHECKF(accepted == 0, "%zu altered relu proofs accepted", accepted);
    }
    veil_relu_proof_free(&pf);
    veil_zkw_free(&w);
    veil_zk_vec_free(&vZ), veil_zk_vec_free(&vA);
    veil_pedersen_gens_free(&pg);
    free(z), free(Zf), free(Af), free(bits);
    return ok;
}

/* A two-column function table: pairs (x, f(x)) with f(x) = 3x^2 + 1 mod 97,
 * looked up as S = X + alpha Y against T = TX + alpha TY; cheat = 1 puts a
 * wrong f value in Y. */
static int zk_function_case(int cheat)
{
    const unsigned a = 5, b = 6;
    size_t n1 = (size_t)1 << a, n2 = (size_t)1 << b;
    veil_pedersen_gens pg;
    CHECK(veil_pedersen_gens_init(&pg, "test/fn", veil_lookup_gens_needed(a, b)) == 0);
    veil_fe X[32], Y[32], TX[64], TY[64], T[64], alpha, t;
    uint32_t idx[32];
    for (size_t i = 0; i < n2; i++) {
        veil_fe_from_u64(&TX[i], i);
        veil_fe_from_u64(&TY[i], (3 * i * i + 1) % 97);
    }
    for (size_t j = 0; j < n1; j++) {
        idx[j] = rnd32() % (uint32_t)n2;
        X[j] = TX[idx[j]], Y[j] = TY[idx[j]];
    }
    if (cheat) veil_fe_add(&Y[3], &Y[3], &TX[1]);
    veil_zk_vec vX, vY, vS;
    CHECK(veil_zk_vec_commit(&vX, &pg, X, a, 0) == 0);
    CHECK(veil_zk_vec_commit(&vY, &pg, Y, a, 0) == 0);
    /* alpha after both column commitments (both sides) */
    veil_transcript tp, tv;
    veil_transcript_init(&tp, "test/fn");
    veil_transcript_absorb(&tp, "cols", "X,Y", 3); /* stands in for absorbing vX, vY */
    tv = tp;
    veil_transcript_challenge(&tp, "alpha", &alpha);
    for (size_t i = 0; i < n2; i++) {
        veil_fe_mul(&t, &TY[i], &alpha);
        veil_fe_add(&T[i], &TX[i], &t);
    }
    CHECK(veil_zk_vec_lincomb(&vS, &vX, &vY, &alpha) == 0);
    veil_lookup_proof pf;
    int ok = veil_lookup_prove(&pf, &tp, &pg, &vS, idx, T, b, 0) == 0;
    veil_hyrax_commitment cS;
    veil_transcript_challenge(&tv, "alpha", &alpha);
    ok = ok && veil_hyrax_lincomb(&cS, &vX.cm, &vY.cm, &alpha) == 0;
    ok = ok && veil_lookup_verify(&pf, &tv, &pg, &cS, T, b, 0) == 0;
    veil_hyrax_commitment_free(&cS);
    veil_lookup_proof_free(&pf);
    veil_zk_vec_free(&vX), veil_zk_vec_free(&vY), veil_zk_vec_free(&vS);
    veil_pedersen_gens_free(&pg);
    return ok;
}

int main(void)
{
    test_clear();
    CHECK(zk_function_case(0));
    CHECK(!zk_function_case(1));
    CHECK(zk_relu_case(3, 4, 0, 1));
    CHECK(zk_relu_case(6, 16, 0, 0));
    CHECK(!zk_relu_case(4, 8, 1, 0));
    CHECK(zk_lookup_case(4, 3, 0, 0, 1));
    CHECK(zk_lookup_case(6, 8, 0, 0, 0));
    CHECK(zk_lookup_case(5, 2, 1, 0, 0));
    CHECK(zk_lookup_case(1, 4, 0, 0, 0));
    CHECK(!zk_lookup_case(4, 3, 0, 1, 0));
    CHECK(!zk_lookup_case(5, 4, 1, 1, 0));
    return test_done();
}
