/* Zero-knowledge matrix-product proofs (eqs. 18-19); see zk_matmul.h. */
#include "veil/zk_matmul.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int veil_matmul_dims_init(veil_matmul_dims *d, uint32_t m, uint32_t k, uint32_t n)
{
    memset(d, 0, sizeof *d);
    if (!m || !k || !n || m > VEIL_MATMUL_MAX_DIM || k > VEIL_MATMUL_MAX_DIM ||
        n > VEIL_MATMUL_MAX_DIM)
        return veil_fail(VEIL_ERANGE, "matmul: dimensions %ux%u * %ux%u outside 1..%u", m, k, k,
                         n, VEIL_MATMUL_MAX_DIM);
    d->m = m, d->k = k, d->n = n;
    d->lm = veil_mle_log2(m);
    d->lk = veil_mle_log2(k);
    d->ln = veil_mle_log2(n);
    if (d->lk == 0) d->lk = 1; /* the sum-check needs one variable */
    unsigned big = d->lm + d->lk;
    if (d->lk + d->ln > big) big = d->lk + d->ln;
    if (d->lm + d->ln > big) big = d->lm + d->ln;
    if (big > VEIL_MATMUL_MAX_VARS)
        return veil_fail(VEIL_ERANGE, "matmul: a padded matrix exceeds 2^%d entries",
                         VEIL_MATMUL_MAX_VARS);
    return 0;
}

size_t veil_matmul_gens_needed(const veil_matmul_dims *d)
{
    size_t need = veil_sc_mask_len(d->lk, 2);
    unsigned nv[3] = {d->lm + d->lk, d->lk + d->ln, d->lm + d->ln};
    for (int i = 0; i < 3; i++)
        if (veil_hyrax_cols(nv[i]) > need) need = veil_hyrax_cols(nv[i]);
    return need;
}

int veil_zk_matrix_commit_i64(veil_zk_matrix *M, const veil_pedersen_gens *pg, const int64_t *v,
                              uint32_t rows, uint32_t cols, unsigned lr, unsigned lc,
                              int threads)
{
    memset(M, 0, sizeof *M);
    size_t R = (size_t)1 << lr, Cc = (size_t)1 << lc, N = R * Cc;
    if (rows > R || cols > Cc)
        return veil_fail(VEIL_EINVAL, "matmul: %ux%u does not fit 2^%u x 2^%u", rows, cols, lr, lc);
    int64_t *pad = calloc(N, sizeof *pad);
    M->tab = calloc(N, sizeof *M->tab);
    M->blinds = calloc((size_t)1 << veil_hyrax_row_vars(lr + lc), sizeof *M->blinds);
    M->lr = lr, M->lc = lc;
    int rc = 0;
    if (!pad || !M->tab || !M->blinds) rc = veil_fail(VEIL_ENOMEM, "matmul: out of memory");
    for (size_t i = 0; !rc && i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            pad[i * Cc + j] = v[i * cols + j];
            veil_fe_from_i64(&M->tab[i * Cc + j], v[i * cols + j]);
        }
    if (!rc) rc = veil_hyrax_commit_i64(&M->cm, M->blinds, pg, pad, N, lr + lc, threads);
    if (pad) veil_wipe(pad, N * sizeof *pad);
    free(pad);
    if (rc) veil_zk_matrix_free(M);
    return rc;
}

void veil_zk_matrix_free(veil_zk_matrix *M)
{
    size_t N = (size_t)1 << (M->lr + M->lc);
    if (M->tab) veil_wipe(M->tab, N * sizeof *M->tab);
    if (M->blinds) veil_wipe(M->blinds, M->cm.rows * sizeof *M->blinds);
    free(M->tab);
    free(M->blinds);
    veil_hyrax_commitment_free(&M->cm);
    memset(M, 0, sizeof *M);
}

/* Absorbs a commitment's rows as one record: their canonical encodings,
 * taken from enc when the caller has them (a parsed file) to save the
 * re-encoding. */
static int absorb_commitment(veil_transcript *t, const veil_hyrax_commitment *cm,
                             const uint8_t *enc)
{
    uint8_t *buf = NULL;
    if (!enc) {
        buf = malloc(cm->rows * 32);
        if (!buf) return veil_fail(VEIL_ENOMEM, "matmul: out of memory");
        for (size_t j = 0; j < cm->rows; j++)
            veil_ge_to_bytes(buf + 32 * j, &cm->c[j]);
        enc = buf;
    }
    veil_transcript_absorb(t, "matmul-com", enc, cm->rows * 32);
    free(buf);
    return 0;
}

/* The statement: shape and the three commitments; then the challenges. */
static int statement(veil_transcript *t, const veil_matmul_dims *d,
                     const veil_hyrax_commitment *cm[3], const uint8_t *const enc[3], veil_fe *u,
                     veil_fe *v)
{
    unsigned nv[3] = {d->lm + d->lk, d->lk + d->ln, d->lm + d->ln};
    veil_transcript_absorb_u64(t, "matmul-m", d->m);
    veil_transcript_absorb_u64(t, "matmul-k", d->k);
    veil_transcript_absorb_u64(t, "matmul-n", d->n);
    for (int i = 0; i < 3; i++) {
        if (cm[i]->nvars != nv[i] || !cm[i]->c)
            return veil_fail(VEIL_EINVAL, "matmul: commitment %d has the wrong shape", i);
        int rc = absorb_commitment(t, cm[i], enc ? enc[i] : NULL);
        if (rc) return rc;
    }
    veil_transcript_challenges(t, "matmul-u", u, d->lm);
    veil_transcript_challenges(t, "matmul-v", v, d->ln);
    return 0;
}

/* au[b] = sum_i eu[i] A[i][b]; bv[b] = sum_j B[b][j] ev[j]; H = eu^T C ev. */
static void reduce(const veil_matmul_dims *d, const veil_fe *A, const veil_fe *B,
                   const veil_fe *C, const veil_fe *eu, const veil_fe *ev, veil_fe *au,
                   veil_fe *bv, veil_fe *H)
{
    const size_t M = (size_t)1 << d->lm, K = (size_t)1 << d->lk, N = (size_t)1 << d->ln;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < K; b++) {
        veil_fe acc, tmp;
        veil_fe_zero(&acc);
        for (size_t i = 0; i < M; i++) {
            veil_fe_mul(&tmp, &eu[i], &A[i * K + b]);
            veil_fe_add(&acc, &acc, &tmp);
        }
        au[b] = acc;
        veil_fe_inner(&bv[b], &B[b * N], ev, N);
    }
    veil_fe *row = malloc(M * sizeof *row);
    veil_fe_zero(H);
    if (!row) return; /* caller checks H against the sum-check: fails loudly there */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < M; i++)
        veil_fe_inner(&row[i], &C[i * N], ev, N);
    veil_fe_inner(H, row, eu, M);
    free(row);
}

/* The final phase both sides share the order of: value commitments, the
 * product proof, the two opening checks and the three evaluations. */
static void absorb_values(veil_transcript *t, const veil_matmul_proof *pf)
{
    veil_zk_absorb_ge(t, "matmul-vA", &pf->c_vA);
    veil_zk_absorb_ge(t, "matmul-vB", &pf->c_vB);
    veil_zk_absorb_ge(t, "matmul-prod", &pf->c_prod);
}

typedef struct {
    veil_fe *eu, *ev, *au, *bv;
    veil_fe u[VEIL_MLE_MAX_VARS], v[VEIL_MLE_MAX_VARS], r[VEIL_MLE_MAX_VARS];
    veil_fe pt[2 * VEIL_MLE_MAX_VARS];
} prover_ws;

static void ws_free(prover_ws *w)
{
    free(w->eu), free(w->ev), free(w->au), free(w->bv);
}

/* point = (x || y) */
static const veil_fe *cat_point(veil_fe *pt, const veil_fe *x, unsigned nx, const veil_fe *y,
                                unsigned ny)
{
    memcpy(pt, x, nx * sizeof *pt);
    memcpy(pt + nx, y, ny * sizeof *pt);
    return pt;
}

static int prove_evals(veil_matmul_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                       const veil_matmul_dims *d, const veil_zk_matrix *A,
                       const veil_zk_matrix *B, const veil_zk_matrix *C, prover_ws *w,
                       const veil_fe *s_vA, const veil_fe *s_vB, const veil_fe *s_H, int threads)
{
    size_t nA = (size_t)1 << (d->lm + d->lk), nB = (size_t)1 << (d->lk + d->ln),
           nC = (size_t)1 << (d->lm + d->ln);
    int rc = veil_hyrax_prove(&pf->eA, NULL, t, pg, &A->cm, A->tab, nA, A->blinds,
                              cat_point(w->pt, w->u, d->lm, w->r, d->lk), s_vA, threads);
    if (!rc)
        rc = veil_hyrax_prove(&pf->eB, NULL, t, pg, &B->cm, B->tab, nB, B->blinds,
                              cat_point(w->pt, w->r, d->lk, w->v, d->ln), s_vB, threads);
    if (!rc)
        rc = veil_hyrax_prove(&pf->eC, NULL, t, pg, &C->cm, C->tab, nC, C->blinds,
                              cat_point(w->pt, w->u, d->lm, w->v, d->ln), s_H, threads);
    return rc;
}

int veil_matmul_prove(veil_matmul_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                      const veil_matmul_dims *d, const veil_zk_matrix *A, const veil_zk_matrix *B,
                      const veil_zk_matrix *C, int threads)
{
    memset(pf, 0, sizeof *pf);
    const veil_hyrax_commitment *cm[3] = {&A->cm, &B->cm, &C->cm};
    prover_ws w = {0};
    veil_zksc_state st = {0};
    veil_fe H, s_H, s_vA, s_vB, s_prod, prod, finals[2];
    int rc = statement(t, d, cm, NULL, w.u, w.v);
    if (rc) return rc;
    const size_t K = (size_t)1 << d->lk;
    w.eu = malloc(((size_t)1 << d->lm) * sizeof *w.eu);
    w.ev = malloc(((size_t)1 << d->ln) * sizeof *w.ev);
    w.au = malloc(K * sizeof *w.au);
    w.bv = malloc(K * sizeof *w.bv);
    if (!w.eu || !w.ev || !w.au || !w.bv) {
        ws_free(&w);
        return veil_fail(VEIL_ENOMEM, "matmul: out of memory");
    }
    veil_mle_eq_table(w.eu, w.u, d->lm);
    veil_mle_eq_table(w.ev, w.v, d->ln);
    reduce(d, A->tab, B->tab, C->tab, w.eu, w.ev, w.au, w.bv, &H);
    veil_commit_value_fresh(&pf->c_H, &s_H, pg, &H);
    veil_zk_absorb_ge(t, "matmul-H", &pf->c_H);
    /* masked sum-check of eq. 19 */
    rc = veil_zksc_begin(&pf->sc, &st, t, pg, d->lk, 2);
    veil_sc_poly p;
    veil_sc_poly_init(&p, d->lk);
    veil_fe one;
    veil_fe_one(&one);
    veil_sc_add_table(&p, w.au);
    veil_sc_add_table(&p, w.bv);
    veil_sc_add_term(&p, &one, 2, 0, 1);
    if (!rc) rc = veil_sc_prove(t, &p, 2, &st.mask, pf->sc.rounds, w.r, finals);
    if (!rc) rc = veil_zksc_end(&pf->sc, &st, t, pg, w.r);
    if (rc) goto out;
    /* committed final values and their relation */
    veil_commit_value_fresh(&pf->c_vA, &s_vA, pg, &finals[0]);
    veil_commit_value_fresh(&pf->c_vB, &s_vB, pg, &finals[1]);
    veil_fe_mul(&prod, &finals[0], &finals[1]);
    veil_commit_value_fresh(&pf->c_prod, &s_prod, pg, &prod);
    absorb_values(t, pf);
    veil_prod_prove(&pf->prod, t, pg, &pf->c_vA, &pf->c_vB, &pf->c_prod, &finals[0], &s_vA,
                    &finals[1], &s_vB, &s_prod);
    veil_zksc_prove_links(&pf->sc, &st, t, pg, w.r, &pf->c_H, &s_H, &pf->c_prod, &s_prod,
                          &pf->z_claim, &pf->z_final);
    rc = prove_evals(pf, t, pg, d, A, B, C, &w, &s_vA, &s_vB, &s_H, threads);
out:
    veil_zksc_state_free(&st);
    ws_free(&w);
    veil_wipe(&H, sizeof H), veil_wipe(finals, sizeof finals), veil_wipe(&prod, sizeof prod);
    veil_wipe(&s_H, sizeof s_H), veil_wipe(&s_vA, sizeof s_vA), veil_wipe(&s_vB, sizeof s_vB);
    veil_wipe(&s_prod, sizeof s_prod);
    if (rc) veil_matmul_proof_free(pf);
    return rc;
}

/* enc: the commitments' row encodings when already at hand, else NULL. */
static int verify_core(const veil_matmul_proof *pf, veil_transcript *t,
                       const veil_pedersen_gens *pg, const veil_matmul_dims *d,
                       const veil_hyrax_commitment *cA, const veil_hyrax_commitment *cB,
                       const veil_hyrax_commitment *cC, const uint8_t *const enc[3], int threads)
{
    const veil_hyrax_commitment *cm[3] = {cA, cB, cC};
    veil_fe u[VEIL_MLE_MAX_VARS], v[VEIL_MLE_MAX_VARS], r[VEIL_MLE_MAX_VARS],
        pt[2 * VEIL_MLE_MAX_VARS], rho, s0, F;
    int rc = statement(t, d, cm, enc, u, v);
    if (rc) return rc;
    if (pf->sc.nvars != d->lk || pf->sc.deg != 2 || !pf->sc.rounds)
        return veil_fail(VEIL_EVERIFY, "matmul: sum-check has the wrong shape");
    veil_zk_absorb_ge(t, "matmul-H", &pf->c_H);
    veil_zksc_verify_begin(&pf->sc, t, &rho);
    if ((rc = veil_zksc_verify_rounds(&pf->sc, t, r, &s0, &F)) ||
        (rc = veil_zksc_verify_end(&pf->sc, t, pg, r)))
        return veil_zk_refail(VEIL_EVERIFY, "matmul");
    absorb_values(t, pf);
    if (veil_prod_verify(&pf->prod, t, pg, &pf->c_vA, &pf->c_vB, &pf->c_prod))
        return veil_zk_refail(VEIL_EVERIFY, "matmul: A(u,r) B(r,v)");
    if (veil_zksc_verify_links(&pf->sc, t, pg, &rho, &s0, &F, &pf->c_H, &pf->c_prod,
                               &pf->z_claim, &pf->z_final))
        return veil_zk_refail(VEIL_EVERIFY, "matmul");
    if (veil_hyrax_verify(&pf->eA, t, pg, cA, cat_point(pt, u, d->lm, r, d->lk), &pf->c_vA,
                          threads))
        return veil_zk_refail(VEIL_EVERIFY, "matmul: evaluation of A");
    if (veil_hyrax_verify(&pf->eB, t, pg, cB, cat_point(pt, r, d->lk, v, d->ln), &pf->c_vB,
                          threads))
        return veil_zk_refail(VEIL_EVERIFY, "matmul: evaluation of B");
    if (veil_hyrax_verify(&pf->eC, t, pg, cC, cat_point(pt, u, d->lm, v, d->ln), &pf->c_H,
                          threads))
        return veil_zk_refail(VEIL_EVERIFY, "matmul: evaluation of C");
    return 0;
}

int veil_matmul_verify(const veil_matmul_proof *pf, veil_transcript *t,
                       const veil_pedersen_gens *pg, const veil_matmul_dims *d,
                       const veil_hyrax_commitment *cA, const veil_hyrax_commitment *cB,
                       const veil_hyrax_commitment *cC, int threads)
{
    return verify_core(pf, t, pg, d, cA, cB, cC, NULL, threads);
}

void veil_matmul_proof_free(veil_matmul_proof *pf)
{
    veil_zksc_proof_free(&pf->sc);
}

void veil_matmul_proof_write(veil_zkw *w, const veil_matmul_proof *pf)
{
    veil_zkw_ge(w, &pf->c_H);
    veil_zkw_zksc(w, &pf->sc);
    veil_zkw_ge(w, &pf->c_vA);
    veil_zkw_ge(w, &pf->c_vB);
    veil_zkw_ge(w, &pf->c_prod);
    veil_zkw_prod(w, &pf->prod);
    veil_zkw_zero(w, &pf->z_claim);
    veil_zkw_zero(w, &pf->z_final);
    veil_zkw_ipa(w, &pf->eA);
    veil_zkw_ipa(w, &pf->eB);
    veil_zkw_ipa(w, &pf->eC);
}

static unsigned cols_log(unsigned nvars) { return nvars - veil_hyrax_row_vars(nvars); }

int veil_matmul_proof_read(veil_zkr *r, veil_matmul_proof *pf, const veil_matmul_dims *d)
{
    memset(pf, 0, sizeof *pf);
    veil_zkr_ge(r, &pf->c_H, "commitment to C(u,v)");
    veil_zkr_zksc(r, &pf->sc, d->lk, 2);
    veil_zkr_ge(r, &pf->c_vA, "commitment to A(u,r)");
    veil_zkr_ge(r, &pf->c_vB, "commitment to B(r,v)");
    veil_zkr_ge(r, &pf->c_prod, "commitment to the product");
    veil_zkr_prod(r, &pf->prod, "product proof");
    veil_zkr_zero(r, &pf->z_claim, "claim opening");
    veil_zkr_zero(r, &pf->z_final, "final opening");
    veil_zkr_ipa(r, &pf->eA, cols_log(d->lm + d->lk), "evaluation proof of A");
    veil_zkr_ipa(r, &pf->eB, cols_log(d->lk + d->ln), "evaluation proof of B");
    veil_zkr_ipa(r, &pf->eC, cols_log(d->lm + d->ln), "evaluation proof of C");
    return r->err ? VEIL_EINVAL : 0;
}

int veil_matmul_file_write(veil_zkw *w, const veil_matmul_dims *d, const veil_zk_matrix *A,
                           const veil_zk_matrix *B, const veil_zk_matrix *C,
                           const veil_matmul_proof *pf)
{
    veil_zkw_begin(w, VEIL_ZKP_MATMUL);
    veil_zkw_u32(w, d->m);
    veil_zkw_u32(w, d->k);
    veil_zkw_u32(w, d->n);
    veil_zkw_hyrax(w, &A->cm);
    veil_zkw_hyrax(w, &B->cm);
    veil_zkw_hyrax(w, &C->cm);
    veil_matmul_proof_write(w, pf);
    return veil_zkw_finish(w);
}

int veil_matmul_file_verify(const uint8_t *buf, size_t len, veil_matmul_dims *dout, int threads)
{
    veil_zkr r;
    uint16_t kind;
    uint32_t m, k, n;
    veil_matmul_dims d;
    veil_hyrax_commitment cm[3];
    veil_matmul_proof pf;
    veil_pedersen_gens pg;
    memset(cm, 0, sizeof cm);
    memset(&pf, 0, sizeof pf);
    memset(&pg, 0, sizeof pg);
    veil_zkr_init(&r, buf, len);
    if (veil_zkr_begin(&r, &kind)) return VEIL_EINVAL;
    if (kind != VEIL_ZKP_MATMUL)
        return veil_fail(VEIL_EINVAL, "proof: kind %u is not a matrix-product proof", kind);
    veil_zkr_u32(&r, &m, 1, VEIL_MATMUL_MAX_DIM, "m");
    veil_zkr_u32(&r, &k, 1, VEIL_MATMUL_MAX_DIM, "k");
    veil_zkr_u32(&r, &n, 1, VEIL_MATMUL_MAX_DIM, "n");
    if (r.err) return veil_zkr_end(&r);
    int rc = veil_matmul_dims_init(&d, m, k, n);
    if (rc) return veil_zk_refail(VEIL_EINVAL, "proof");
    if (dout) *dout = d;
    /* wire format of a commitment: u8 nvars, then its rows' encodings */
    const uint8_t *enc[3];
    static const char *what[3] = {"commitment to A", "commitment to B", "commitment to C"};
    unsigned nv[3] = {d.lm + d.lk, d.lk + d.ln, d.lm + d.ln};
    for (int i = 0; i < 3; i++) {
        enc[i] = r.off < r.len ? r.p + r.off + 1 : NULL; /* used only if all parses */
        veil_zkr_hyrax(&r, &cm[i], nv[i], what[i]);
    }
    veil_matmul_proof_read(&r, &pf, &d);
    rc = veil_zkr_end(&r);
    if (!rc) rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_matmul_gens_needed(&d));
    if (!rc) {
        veil_transcript t;
        veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
        rc = verify_core(&pf, &t, &pg, &d, &cm[0], &cm[1], &cm[2], enc, threads);
    }
    veil_pedersen_gens_free(&pg);
    veil_matmul_proof_free(&pf);
    for (int i = 0; i < 3; i++)
        veil_hyrax_commitment_free(&cm[i]);
    return rc;
}
