/* ReLU through bit decomposition (paper eqs. 20-24); see zk_lookup.h. */
#include "veil/zk_lookup.h"

#include <stdio.h>
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

void veil_relu_absorb_evals(veil_transcript *t, const veil_relu_run *lr, const veil_relu_evals *ev)
{
    veil_transcript_absorb_fe(t, "relu-Z", &ev->Z);
    veil_transcript_absorb_fe(t, "relu-A", &ev->A);
    for (unsigned i = 0; i <= lr->Q; i++)
        veil_transcript_absorb_fe(t, "relu-bit", &ev->bits[i]);
}

/* The sum-check and the evaluations without absorbing them (the
 * zero-knowledge wrapper commits to them instead). */
static int relu_prove_core(veil_transcript *t, veil_relu_run *lr, const veil_fe *Z,
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
    return 0;
}

int veil_relu_prove_sc(veil_transcript *t, veil_relu_run *lr, const veil_fe *Z,
                       const veil_fe *A, const veil_fe *bits, const veil_sc_mask *mask,
                       veil_fe *rounds, veil_relu_evals *ev)
{
    int rc = relu_prove_core(t, lr, Z, A, bits, mask, rounds, ev);
    if (!rc) veil_relu_absorb_evals(t, lr, ev); /* bound before any later challenge */
    return rc;
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
    veil_relu_absorb_evals(t, lr, ev); /* as the prover did */
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

/* ---- the complete zero-knowledge ReLU proof ---- */

static unsigned bit_vars(unsigned Q) { return veil_mle_log2(Q + 1); }

size_t veil_relu_gens_needed(unsigned a, unsigned Q)
{
    size_t need = veil_sc_mask_len(a, VEIL_RELU_DEG);
    if (veil_hyrax_cols(a) > need) need = veil_hyrax_cols(a);
    if (veil_hyrax_cols(a + bit_vars(Q)) > need) need = veil_hyrax_cols(a + bit_vars(Q));
    return need;
}

static int relu_statement(veil_transcript *t, const veil_hyrax_commitment *cZ,
                          const veil_hyrax_commitment *cA, unsigned a, unsigned Q)
{
    veil_relu_run lr = {.a = a, .Q = Q};
    int rc = check_run(&lr);
    if (rc) return rc;
    if (cZ->nvars != a || cA->nvars != a || !cZ->c || !cA->c)
        return veil_fail(VEIL_EINVAL, "relu: commitments do not have 2^%u entries", a);
    veil_transcript_absorb_u64(t, "relu-stmt-a", a);
    veil_transcript_absorb_u64(t, "relu-stmt-Q", Q);
    veil_zk_absorb_hyrax(t, "relu-Z", cZ);
    veil_zk_absorb_hyrax(t, "relu-A", cA);
    return 0;
}

static void relu_absorb_values(veil_transcript *t, const veil_relu_proof *pf)
{
    veil_zk_absorb_ge(t, "relu-vZ", &pf->c_vZ);
    veil_zk_absorb_ge(t, "relu-vA", &pf->c_vA);
    for (unsigned i = 0; i <= pf->Q; i++)
        veil_zk_absorb_ge(t, "relu-vbit", &pf->c_vbits[i]);
}

/* Leaves of the committed final check; C (prover: also val, s) filled by
 * the caller for the committed ones. */
static void relu_leaves(const veil_relu_run *lr, const veil_relu_proof *pf, veil_sc_leaf *lf)
{
    veil_fe one;
    veil_fe_one(&one);
    lf[R_EQ].committed = 0;
    veil_mle_eq_eval(&lf[R_EQ].val, lr->tau, lr->r, lr->a);
    const veil_ge *C[2] = {&pf->c_vZ, &pf->c_vA};
    for (unsigned j = R_Z; j < R_BITS + lr->Q + 1; j++) {
        lf[j].committed = 1;
        lf[j].scale = one;
        lf[j].C = j < R_BITS ? *C[j - R_Z] : pf->c_vbits[j - R_BITS];
    }
}

static void relu_shape(veil_sc_poly *p, const veil_relu_run *lr)
{
    veil_sc_poly_init(p, lr->a);
    for (unsigned j = 0; j < R_BITS + lr->Q + 1; j++)
        veil_sc_add_table(p, NULL);
    build_terms(p, lr);
}

/* The bits claim: point (s, r) and C = sum_i eq(s, i) C_i (and blinding). */
static void bits_claim(veil_transcript *t, const veil_relu_run *lr, const veil_relu_proof *pf,
                       const veil_fe *s_bits, veil_fe *pt, veil_ge *C, veil_fe *blind)
{
    unsigned q = bit_vars(lr->Q);
    veil_fe eq[32];
    veil_transcript_challenges(t, "relu-s", pt, q);
    memcpy(pt + q, lr->r, lr->a * sizeof *pt);
    veil_mle_eq_table(eq, pt, q);
    veil_ge_identity(C);
    if (blind) veil_fe_zero(blind);
    for (unsigned i = 0; i <= lr->Q; i++) {
        veil_ge tmp;
        veil_ge_mul(&tmp, &pf->c_vbits[i], &eq[i]);
        veil_ge_add(C, C, &tmp);
        if (blind) {
            veil_fe x;
            veil_fe_mul(&x, &eq[i], &s_bits[i]);
            veil_fe_add(blind, blind, &x);
        }
    }
}

int veil_relu_prove(veil_relu_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                    const veil_zk_vec *Z, const veil_zk_vec *A, const int64_t *z, unsigned Q,
                    int threads)
{
    memset(pf, 0, sizeof *pf);
    const unsigned a = Z->nvars, q = bit_vars(Q);
    int rc = relu_statement(t, &Z->cm, &A->cm, a, Q);
    if (rc) return rc;
    const size_t n = (size_t)1 << a, nb = (size_t)1 << (a + q);
    veil_fe *Zc = malloc(n * sizeof *Zc), *Ac = malloc(n * sizeof *Ac),
            *bits = calloc(nb, sizeof *bits);
    veil_zk_vec vb = {0};
    veil_zksc_state st = {0};
    veil_relu_run lr = {.a = a, .Q = Q};
    veil_relu_evals ev;
    if (!Zc || !Ac || !bits) rc = veil_fail(VEIL_ENOMEM, "relu: out of memory");
    if (!rc) rc = veil_relu_witness(z, n, Q, Zc, Ac, bits);
    if (!rc) rc = veil_zk_vec_commit(&vb, pg, bits, a + q, threads);
    if (rc) goto out;
    veil_zk_absorb_hyrax(t, "relu-bits", &vb.cm);
    pf->a = a, pf->Q = Q;
    rc = veil_zksc_begin(&pf->sc, &st, t, pg, a, VEIL_RELU_DEG);
    if (!rc) rc = relu_prove_core(t, &lr, Z->tab, A->tab, bits, &st.mask, pf->sc.rounds, &ev);
    if (!rc) rc = veil_zksc_end(&pf->sc, &st, t, pg, lr.r);
    if (rc) goto out;
    veil_sc_leaf lf[R_BITS + VEIL_RELU_MAX_BITS + 1];
    veil_fe s_bits[VEIL_RELU_MAX_BITS + 1], sg, bl;
    memset(lf, 0, sizeof lf);
    veil_commit_value_fresh(&pf->c_vZ, &lf[R_Z].s, pg, &ev.Z);
    veil_commit_value_fresh(&pf->c_vA, &lf[R_A].s, pg, &ev.A);
    for (unsigned i = 0; i <= Q; i++)
        veil_commit_value_fresh(&pf->c_vbits[i], &s_bits[i], pg, &ev.bits[i]);
    relu_absorb_values(t, pf);
    relu_leaves(&lr, pf, lf);
    lf[R_Z].val = ev.Z, lf[R_A].val = ev.A;
    for (unsigned i = 0; i <= Q; i++)
        lf[R_BITS + i].val = ev.bits[i], lf[R_BITS + i].s = s_bits[i];
    veil_sc_poly shape;
    relu_shape(&shape, &lr);
    veil_ge Cg;
    rc = veil_sc_final_prove(&shape, lf, t, pg, &pf->prods, &Cg, &sg);
    if (!rc)
        veil_zksc_prove_links(&pf->sc, &st, t, pg, lr.r, NULL, NULL, &Cg, &sg, &pf->z_claim,
                              &pf->z_final);
    veil_fe pt[5 + VEIL_MLE_MAX_VARS];
    veil_ge Cb;
    if (!rc) bits_claim(t, &lr, pf, s_bits, pt, &Cb, &bl);
    if (!rc)
        rc = veil_hyrax_prove(&pf->eZ, NULL, t, pg, &Z->cm, Z->tab, n, Z->blinds, lr.r,
                              &lf[R_Z].s, threads);
    if (!rc)
        rc = veil_hyrax_prove(&pf->eA, NULL, t, pg, &A->cm, A->tab, n, A->blinds, lr.r,
                              &lf[R_A].s, threads);
    if (!rc)
        rc = veil_hyrax_prove(&pf->ebits, NULL, t, pg, &vb.cm, vb.tab, nb, vb.blinds, pt, &bl,
                              threads);
    /* blindings and final values; bl / sg may be unset on failure paths */
    veil_wipe(lf, sizeof lf), veil_wipe(s_bits, sizeof s_bits), veil_wipe(&ev, sizeof ev);
    veil_wipe(&bl, sizeof bl), veil_wipe(&sg, sizeof sg);
    if (!rc) { /* the proof keeps the public commitment to the bits */
        pf->c_bits = vb.cm;
        memset(&vb.cm, 0, sizeof vb.cm);
    }
out:
    if (bits) veil_wipe(bits, nb * sizeof *bits);
    free(Zc), free(Ac), free(bits);
    veil_zk_vec_free(&vb);
    veil_zksc_state_free(&st);
    if (rc) veil_relu_proof_free(pf);
    return rc;
}

int veil_relu_verify(const veil_relu_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                     const veil_hyrax_commitment *cZ, const veil_hyrax_commitment *cA,
                     unsigned Q, int threads)
{
    const unsigned a = pf->a;
    int rc = relu_statement(t, cZ, cA, a, Q);
    if (rc) return rc;
    if (pf->Q != Q || pf->c_bits.nvars != a + bit_vars(Q) || !pf->c_bits.c ||
        pf->sc.nvars != a || pf->sc.deg != VEIL_RELU_DEG || !pf->sc.rounds)
        return veil_fail(VEIL_EVERIFY, "relu: proof has the wrong shape");
    veil_zk_absorb_hyrax(t, "relu-bits", &pf->c_bits);
    veil_relu_run lr = {.a = a, .Q = Q};
    veil_fe rho, s0, F;
    veil_zksc_verify_begin(&pf->sc, t, &rho);
    if ((rc = draw_challenges(t, &lr)) ||
        (rc = veil_zksc_verify_rounds(&pf->sc, t, lr.r, &s0, &F)) ||
        (rc = veil_zksc_verify_end(&pf->sc, t, pg, lr.r)))
        return veil_zk_refail(VEIL_EVERIFY, "relu");
    relu_absorb_values(t, pf);
    veil_sc_leaf lf[R_BITS + VEIL_RELU_MAX_BITS + 1];
    memset(lf, 0, sizeof lf);
    relu_leaves(&lr, pf, lf);
    veil_sc_poly shape;
    relu_shape(&shape, &lr);
    veil_ge Cg, Cb;
    if (veil_sc_final_verify(&shape, lf, t, pg, &pf->prods, &Cg))
        return veil_zk_refail(VEIL_EVERIFY, "relu");
    if (veil_zksc_verify_links(&pf->sc, t, pg, &rho, &s0, &F, NULL, &Cg, &pf->z_claim,
                               &pf->z_final))
        return veil_zk_refail(VEIL_EVERIFY, "relu");
    veil_fe pt[5 + VEIL_MLE_MAX_VARS];
    bits_claim(t, &lr, pf, NULL, pt, &Cb, NULL);
    if (veil_hyrax_verify(&pf->eZ, t, pg, cZ, lr.r, &pf->c_vZ, threads) ||
        veil_hyrax_verify(&pf->eA, t, pg, cA, lr.r, &pf->c_vA, threads) ||
        veil_hyrax_verify(&pf->ebits, t, pg, &pf->c_bits, pt, &Cb, threads))
        return veil_zk_refail(VEIL_EVERIFY, "relu: evaluation proof");
    return 0;
}

void veil_relu_proof_free(veil_relu_proof *pf)
{
    veil_hyrax_commitment_free(&pf->c_bits);
    veil_zksc_proof_free(&pf->sc);
}

void veil_relu_proof_write(veil_zkw *w, const veil_relu_proof *pf)
{
    veil_zkw_hyrax(w, &pf->c_bits);
    veil_zkw_zksc(w, &pf->sc);
    veil_zkw_ge(w, &pf->c_vZ);
    veil_zkw_ge(w, &pf->c_vA);
    for (unsigned i = 0; i <= pf->Q; i++)
        veil_zkw_ge(w, &pf->c_vbits[i]);
    for (size_t q = 0; q < pf->prods.n; q++) {
        veil_zkw_ge(w, &pf->prods.C[q]);
        veil_zkw_prod(w, &pf->prods.pf[q]);
    }
    veil_zkw_zero(w, &pf->z_claim);
    veil_zkw_zero(w, &pf->z_final);
    veil_zkw_ipa(w, &pf->eZ);
    veil_zkw_ipa(w, &pf->eA);
    veil_zkw_ipa(w, &pf->ebits);
}

int veil_relu_proof_read(veil_zkr *r, veil_relu_proof *pf, unsigned a, unsigned Q)
{
    memset(pf, 0, sizeof *pf);
    veil_relu_run lr = {.a = a, .Q = Q};
    if (check_run(&lr)) {
        veil_zkr_u32(r, &(uint32_t){0}, 1, 0, "relu sizes"); /* records the failure */
        return VEIL_EINVAL;
    }
    unsigned nb = a + bit_vars(Q);
    pf->a = a, pf->Q = Q;
    veil_zkr_hyrax(r, &pf->c_bits, nb, "commitment to the bits");
    veil_zkr_zksc(r, &pf->sc, a, VEIL_RELU_DEG);
    veil_zkr_ge(r, &pf->c_vZ, "value commitment");
    veil_zkr_ge(r, &pf->c_vA, "value commitment");
    for (unsigned i = 0; i <= Q; i++)
        veil_zkr_ge(r, &pf->c_vbits[i], "bit value commitment");
    pf->prods.n = 2 * (size_t)Q + 1; /* B_i^2 for i = 0..Q and B_0 B_i for i = 1..Q */
    for (size_t q = 0; q < pf->prods.n; q++) {
        veil_zkr_ge(r, &pf->prods.C[q], "product commitment");
        veil_zkr_prod(r, &pf->prods.pf[q], "product proof");
    }
    veil_zkr_zero(r, &pf->z_claim, "claim opening");
    veil_zkr_zero(r, &pf->z_final, "final opening");
    veil_zkr_ipa(r, &pf->eZ, a - veil_hyrax_row_vars(a), "evaluation proof of Z");
    veil_zkr_ipa(r, &pf->eA, a - veil_hyrax_row_vars(a), "evaluation proof of A");
    veil_zkr_ipa(r, &pf->ebits, nb - veil_hyrax_row_vars(nb), "evaluation proof of the bits");
    return r->err ? VEIL_EINVAL : 0;
}

/* ---- proof files ---- */

int veil_relu_file_write(veil_zkw *w, const veil_hyrax_commitment *cZ,
                         const veil_hyrax_commitment *cA, const veil_relu_proof *pf)
{
    veil_zkw_begin(w, VEIL_ZKP_RELU);
    veil_zkw_u32(w, pf->a);
    veil_zkw_u32(w, pf->Q);
    veil_zkw_hyrax(w, cZ);
    veil_zkw_hyrax(w, cA);
    veil_relu_proof_write(w, pf);
    return veil_zkw_finish(w);
}

int veil_relu_file_verify(const uint8_t *buf, size_t len, unsigned *ao, unsigned *Qo, int threads)
{
    veil_zkr r;
    uint16_t kind;
    uint32_t a, Q;
    veil_hyrax_commitment cZ, cA;
    veil_relu_proof pf;
    veil_pedersen_gens pg;
    memset(&cZ, 0, sizeof cZ), memset(&cA, 0, sizeof cA);
    memset(&pf, 0, sizeof pf), memset(&pg, 0, sizeof pg);
    veil_zkr_init(&r, buf, len);
    if (veil_zkr_begin(&r, &kind)) return VEIL_EINVAL;
    if (kind != VEIL_ZKP_RELU)
        return veil_fail(VEIL_EINVAL, "proof: kind %u is not a ReLU proof", kind);
    veil_zkr_u32(&r, &a, 1, VEIL_ZK_FILE_MAX_VARS, "log2 of the vector size");
    veil_zkr_u32(&r, &Q, 1, VEIL_RELU_MAX_BITS, "magnitude bits");
    if (r.err) return veil_zkr_end(&r);
    if (ao) *ao = a;
    if (Qo) *Qo = Q;
    veil_zkr_hyrax(&r, &cZ, a, "commitment to Z");
    veil_zkr_hyrax(&r, &cA, a, "commitment to A");
    veil_relu_proof_read(&r, &pf, a, Q);
    int rc = veil_zkr_end(&r);
    if (!rc) rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_relu_gens_needed(a, Q));
    if (!rc) {
        veil_transcript t;
        veil_transcript_init(&t, VEIL_RELU_DOMAIN);
        rc = veil_relu_verify(&pf, &t, &pg, &cZ, &cA, Q, threads);
    }
    veil_pedersen_gens_free(&pg);
    veil_relu_proof_free(&pf);
    veil_hyrax_commitment_free(&cZ);
    veil_hyrax_commitment_free(&cA);
    return rc;
}
