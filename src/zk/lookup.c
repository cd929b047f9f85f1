/* logUp lookups and range checks (paper eqs. 25-26); see zk_lookup.h. */
#include "veil/zk_lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    T_HS = VEIL_LOGUP_T_HS, T_S = VEIL_LOGUP_T_S, T_EQ1 = VEIL_LOGUP_T_EQ1, T_HT = VEIL_LOGUP_T_HT,
    T_T = VEIL_LOGUP_T_T, T_M = VEIL_LOGUP_T_M, T_EQ2 = VEIL_LOGUP_T_EQ2, T_COUNT = VEIL_LOGUP_TABLES
};

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

void veil_logup_absorb_evals(veil_transcript *t, const veil_logup_evals *ev)
{
    veil_transcript_absorb_fe(t, "logup-S", &ev->S);
    veil_transcript_absorb_fe(t, "logup-hS", &ev->hS);
    veil_transcript_absorb_fe(t, "logup-hT", &ev->hT);
    veil_transcript_absorb_fe(t, "logup-m", &ev->m);
}

int veil_logup_draw(veil_transcript *t, veil_logup_run *lr)
{
    if (lr->a > VEIL_MLE_MAX_VARS || lr->b > VEIL_MLE_MAX_VARS)
        return veil_fail(VEIL_ERANGE, "logup: sizes 2^%u / 2^%u too large", lr->a, lr->b);
    lr->L = veil_logup_nvars(lr->a, lr->b);
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

/* The sum-check and the evaluations, without absorbing them (the
 * zero-knowledge wrapper commits to them instead). */
static int logup_prove_core(veil_transcript *t, veil_logup_run *lr, const veil_fe *S,
                            const veil_fe *hS, const veil_fe *T, const veil_fe *m,
                            const veil_fe *hT, const veil_sc_mask *mask, veil_sc_round_fn hook,
                            void *ctx, veil_fe *rounds, veil_logup_evals *ev)
{
    int rc = veil_logup_draw(t, lr);
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
    if (!rc && hook) rc = veil_sc_prove_hooked(t, &p, VEIL_LOGUP_DEG, hook, ctx, rounds, lr->r, fin);
    else if (!rc) rc = veil_sc_prove(t, &p, VEIL_LOGUP_DEG, mask, rounds, lr->r, fin);
    veil_wipe(buf, T_COUNT * N * sizeof *buf);
    free(buf);
    if (rc) return rc;
    /* the unpadded vectors' values at the suffix points (padding only
     * multiplies by eq(0, prefix), which the verifier recomputes) */
    rc = veil_mle_eval(&ev->S, S, lr->a, veil_logup_point_a(lr));
    if (!rc) rc = veil_mle_eval(&ev->hS, hS, lr->a, veil_logup_point_a(lr));
    if (!rc) rc = veil_mle_eval(&ev->hT, hT, lr->b, veil_logup_point_b(lr));
    if (!rc) rc = veil_mle_eval(&ev->m, m, lr->b, veil_logup_point_b(lr));
    return rc;
}

int veil_logup_prove_sc(veil_transcript *t, veil_logup_run *lr, const veil_fe *S,
                        const veil_fe *hS, const veil_fe *T, const veil_fe *m, const veil_fe *hT,
                        const veil_sc_mask *mask, veil_fe *rounds, veil_logup_evals *ev)
{
    int rc = logup_prove_core(t, lr, S, hS, T, m, hT, mask, NULL, NULL, rounds, ev);
    if (!rc) veil_logup_absorb_evals(t, ev); /* bound before any later challenge */
    return rc;
}

int veil_logup_prove_hooked(veil_transcript *t, veil_logup_run *lr, const veil_fe *S,
                            const veil_fe *hS, const veil_fe *T, const veil_fe *m,
                            const veil_fe *hT, veil_sc_round_fn hook, void *ctx,
                            veil_fe *rounds, veil_logup_evals *ev)
{
    return logup_prove_core(t, lr, S, hS, T, m, hT, NULL, hook, ctx, rounds, ev);
}

int veil_logup_verify_sc(veil_transcript *t, veil_logup_run *lr, const veil_fe *mask_claim,
                         const veil_fe *rounds, veil_fe *final)
{
    int rc = veil_logup_draw(t, lr);
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

void veil_logup_pads(const veil_logup_run *lr, veil_fe *za, veil_fe *zb)
{
    pad_factor(za, lr->r, lr->L, lr->a);
    pad_factor(zb, lr->r, lr->L, lr->b);
}

int veil_logup_final_check(veil_transcript *t, const veil_logup_run *lr,
                           const veil_logup_evals *ev, const veil_fe *T_at, const veil_fe *rho_p,
                           const veil_fe *final)
{
    veil_logup_absorb_evals(t, ev); /* as the prover did */
    veil_fe za, zb, v[T_COUNT], g;
    veil_logup_pads(lr, &za, &zb);
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

/* ---- the complete zero-knowledge lookup / range proof ---- */

int veil_zk_vec_commit(veil_zk_vec *v, const veil_pedersen_gens *pg, const veil_fe *tab,
                       unsigned nvars, int threads)
{
    memset(v, 0, sizeof *v);
    size_t n = (size_t)1 << nvars;
    v->nvars = nvars;
    v->tab = malloc(n * sizeof *v->tab);
    v->blinds = malloc(((size_t)1 << veil_hyrax_row_vars(nvars)) * sizeof *v->blinds);
    if (!v->tab || !v->blinds) {
        veil_zk_vec_free(v);
        return veil_fail(VEIL_ENOMEM, "lookup: out of memory");
    }
    memcpy(v->tab, tab, n * sizeof *v->tab);
    int rc = veil_hyrax_commit(&v->cm, v->blinds, pg, tab, n, nvars, threads);
    if (rc) veil_zk_vec_free(v);
    return rc;
}

void veil_zk_vec_free(veil_zk_vec *v)
{
    if (v->tab) veil_wipe(v->tab, ((size_t)1 << v->nvars) * sizeof *v->tab);
    if (v->blinds) veil_wipe(v->blinds, v->cm.rows * sizeof *v->blinds);
    free(v->tab);
    free(v->blinds);
    veil_hyrax_commitment_free(&v->cm);
    memset(v, 0, sizeof *v);
}

int veil_hyrax_lincomb(veil_hyrax_commitment *cout, const veil_hyrax_commitment *cX,
                       const veil_hyrax_commitment *cY, const veil_fe *alpha)
{
    memset(cout, 0, sizeof *cout);
    if (cX->nvars != cY->nvars || cX->rows != cY->rows || !cX->c || !cY->c)
        return veil_fail(VEIL_EINVAL, "lookup: commitments of different shapes");
    cout->c = malloc(cX->rows * sizeof *cout->c);
    if (!cout->c) return veil_fail(VEIL_ENOMEM, "lookup: out of memory");
    cout->nvars = cX->nvars, cout->rows = cX->rows, cout->cols = cX->cols;
    for (size_t i = 0; i < cX->rows; i++) {
        veil_ge t;
        veil_ge_mul(&t, &cY->c[i], alpha);
        veil_ge_add(&cout->c[i], &cX->c[i], &t);
    }
    return 0;
}

int veil_zk_vec_lincomb(veil_zk_vec *out, const veil_zk_vec *X, const veil_zk_vec *Y,
                        const veil_fe *alpha)
{
    memset(out, 0, sizeof *out);
    int rc = veil_hyrax_lincomb(&out->cm, &X->cm, &Y->cm, alpha);
    if (rc) return rc;
    size_t n = (size_t)1 << X->nvars, rows = X->cm.rows;
    out->nvars = X->nvars;
    out->tab = malloc(n * sizeof *out->tab);
    out->blinds = malloc(rows * sizeof *out->blinds);
    if (!out->tab || !out->blinds) {
        veil_zk_vec_free(out);
        return veil_fail(VEIL_ENOMEM, "lookup: out of memory");
    }
    veil_fe t;
    for (size_t i = 0; i < n; i++) {
        veil_fe_mul(&t, &Y->tab[i], alpha);
        veil_fe_add(&out->tab[i], &X->tab[i], &t);
    }
    for (size_t i = 0; i < rows; i++) {
        veil_fe_mul(&t, &Y->blinds[i], alpha);
        veil_fe_add(&out->blinds[i], &X->blinds[i], &t);
    }
    return 0;
}

size_t veil_lookup_gens_needed(unsigned a, unsigned b)
{
    size_t need = veil_sc_mask_len(veil_logup_nvars(a, b), VEIL_LOGUP_DEG);
    if (veil_hyrax_cols(a) > need) need = veil_hyrax_cols(a);
    if (veil_hyrax_cols(b) > need) need = veil_hyrax_cols(b);
    return need;
}

/* The statement: sizes, the commitment to S and the table (if explicit). */
static int lookup_statement(veil_transcript *t, const veil_hyrax_commitment *cS,
                            const veil_fe *T, unsigned a, unsigned b)
{
    if (a < 1 || a > VEIL_MLE_MAX_VARS || b < 1 || b > VEIL_MLE_MAX_VARS || cS->nvars != a ||
        !cS->c)
        return veil_fail(VEIL_EINVAL, "lookup: sizes 2^%u in 2^%u do not fit the commitment", a, b);
    veil_transcript_absorb_u64(t, "lookup-stmt-a", a);
    veil_transcript_absorb_u64(t, "lookup-stmt-b", b);
    veil_transcript_absorb(t, "lookup-table", T ? "explicit" : "range", T ? 8 : 5);
    if (T) {
        uint8_t buf[32];
        for (size_t i = 0; i < ((size_t)1 << b); i++) {
            veil_fe_to_bytes(buf, &T[i]);
            veil_transcript_absorb(t, "lookup-T", buf, 32);
        }
    }
    veil_zk_absorb_hyrax(t, "lookup-S", cS);
    return 0;
}

/* The leaves of the final check (see veil_logup_final_check for the
 * clear-value version): committed S, hS, hT, m with their padding scales. */
static void lookup_leaves(const veil_logup_run *lr, const veil_fe *T_at, veil_sc_leaf *lf,
                          const veil_ge *C[4])
{
    veil_fe za, zb;
    veil_logup_pads(lr, &za, &zb);
    static const int com[4] = {T_S, T_HS, T_HT, T_M};
    for (int q = 0; q < 4; q++) {
        veil_sc_leaf *l = &lf[com[q]];
        l->committed = 1;
        l->scale = q < 2 ? za : zb;
        l->C = *C[q];
    }
    lf[T_EQ1].committed = lf[T_T].committed = lf[T_EQ2].committed = 0;
    veil_mle_eq_eval(&lf[T_EQ1].val, lr->tau1, veil_logup_point_a(lr), lr->a);
    veil_fe_mul(&lf[T_EQ1].val, &lf[T_EQ1].val, &za);
    veil_fe_mul(&lf[T_T].val, T_at, &zb);
    veil_mle_eq_eval(&lf[T_EQ2].val, lr->tau2, veil_logup_point_b(lr), lr->b);
    veil_fe_mul(&lf[T_EQ2].val, &lf[T_EQ2].val, &zb);
}

static int table_at(const veil_fe *T, unsigned b, const veil_fe *pt, veil_fe *out)
{
    if (!T) {
        veil_mle_eval_identity(out, pt, b);
        return 0;
    }
    return veil_mle_eval(out, T, b, pt);
}

void veil_logup_shape(veil_sc_poly *p, const veil_logup_run *lr)
{
    veil_sc_poly_init(p, lr->L);
    for (int j = 0; j < T_COUNT; j++)
        veil_sc_add_table(p, NULL);
    build_terms(p, lr);
}

typedef struct {
    size_t n1, n2;
    veil_fe *T, *m, *hS, *hT;
    veil_zk_vec vm, vhS, vhT;
    veil_zksc_state st;
} lookup_ws;

static void lookup_ws_free(lookup_ws *w, int own_T)
{
    if (own_T) free(w->T);
    /* multiplicities and inverses are functions of the secret S */
    if (w->m) veil_wipe(w->m, w->n2 * sizeof *w->m);
    if (w->hS) veil_wipe(w->hS, w->n1 * sizeof *w->hS);
    if (w->hT) veil_wipe(w->hT, w->n2 * sizeof *w->hT);
    free(w->m), free(w->hS), free(w->hT);
    veil_zk_vec_free(&w->vm), veil_zk_vec_free(&w->vhS), veil_zk_vec_free(&w->vhT);
    veil_zksc_state_free(&w->st);
}

/* Step 1-3 of the protocol: commitments to m, then hS, hT. */
static int lookup_commit_phase(veil_lookup_proof *pf, lookup_ws *w, veil_transcript *t,
                               const veil_pedersen_gens *pg, const veil_zk_vec *S,
                               const uint32_t *idx, unsigned b, veil_logup_run *lr, int threads)
{
    size_t n1 = (size_t)1 << S->nvars, n2 = (size_t)1 << b;
    int rc = veil_logup_mults(idx, n1, w->m, n2);
    if (!rc) rc = veil_zk_vec_commit(&w->vm, pg, w->m, b, threads);
    if (rc) return rc;
    veil_zk_absorb_hyrax(t, "lookup-m", &w->vm.cm);
    veil_transcript_challenge(t, "lookup-beta", &lr->beta);
    rc = veil_logup_inverses(&lr->beta, S->tab, n1, w->T, w->m, n2, w->hS, w->hT);
    if (!rc) rc = veil_zk_vec_commit(&w->vhS, pg, w->hS, S->nvars, threads);
    if (!rc) rc = veil_zk_vec_commit(&w->vhT, pg, w->hT, b, threads);
    if (rc) return rc;
    veil_zk_absorb_hyrax(t, "lookup-hS", &w->vhS.cm);
    veil_zk_absorb_hyrax(t, "lookup-hT", &w->vhT.cm);
    /* the proof keeps copies of the public commitments */
    pf->c_m = w->vm.cm, pf->c_hS = w->vhS.cm, pf->c_hT = w->vhT.cm;
    memset(&w->vm.cm, 0, sizeof w->vm.cm);
    memset(&w->vhS.cm, 0, sizeof w->vhS.cm);
    memset(&w->vhT.cm, 0, sizeof w->vhT.cm);
    return 0;
}

static void absorb_values(veil_transcript *t, const veil_lookup_proof *pf)
{
    veil_zk_absorb_ge(t, "lookup-vS", &pf->c_vS);
    veil_zk_absorb_ge(t, "lookup-vhS", &pf->c_vhS);
    veil_zk_absorb_ge(t, "lookup-vhT", &pf->c_vhT);
    veil_zk_absorb_ge(t, "lookup-vm", &pf->c_vm);
}

int veil_lookup_prove(veil_lookup_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                      const veil_zk_vec *S, const uint32_t *idx, const veil_fe *T, unsigned b,
                      int threads)
{
    memset(pf, 0, sizeof *pf);
    const unsigned a = S->nvars;
    int rc = lookup_statement(t, &S->cm, T, a, b);
    if (rc) return rc;
    size_t n1 = (size_t)1 << a, n2 = (size_t)1 << b;
    lookup_ws w;
    memset(&w, 0, sizeof w);
    w.n1 = n1, w.n2 = n2;
    w.T = T ? (veil_fe *)T : malloc(n2 * sizeof *w.T);
    w.m = malloc(n2 * sizeof *w.m), w.hS = malloc(n1 * sizeof *w.hS);
    w.hT = malloc(n2 * sizeof *w.hT);
    if (!w.T || !w.m || !w.hS || !w.hT) rc = veil_fail(VEIL_ENOMEM, "lookup: out of memory");
    for (size_t i = 0; !rc && !T && i < n2; i++)
        veil_fe_from_u64(&w.T[i], i);
    veil_logup_run lr = {.a = a, .b = b};
    pf->a = a, pf->b = b;
    if (!rc) rc = lookup_commit_phase(pf, &w, t, pg, S, idx, b, &lr, threads);
    unsigned L = veil_logup_nvars(a, b);
    if (!rc) rc = veil_zksc_begin(&pf->sc, &w.st, t, pg, L, VEIL_LOGUP_DEG);
    veil_logup_evals ev;
    if (!rc)
        rc = logup_prove_core(t, &lr, S->tab, w.hS, w.T, w.m, w.hT, &w.st.mask, NULL, NULL, pf->sc.rounds,
                              &ev);
    if (!rc) rc = veil_zksc_end(&pf->sc, &w.st, t, pg, lr.r);
    if (rc) goto out;
    /* hidden final values, then the committed final check */
    veil_sc_leaf lf[T_COUNT];
    veil_fe T_at, sg;
    memset(lf, 0, sizeof lf);
    veil_commit_value_fresh(&pf->c_vS, &lf[T_S].s, pg, &ev.S);
    veil_commit_value_fresh(&pf->c_vhS, &lf[T_HS].s, pg, &ev.hS);
    veil_commit_value_fresh(&pf->c_vhT, &lf[T_HT].s, pg, &ev.hT);
    veil_commit_value_fresh(&pf->c_vm, &lf[T_M].s, pg, &ev.m);
    absorb_values(t, pf);
    const veil_ge *C[4] = {&pf->c_vS, &pf->c_vhS, &pf->c_vhT, &pf->c_vm};
    table_at(w.T, b, veil_logup_point_b(&lr), &T_at);
    lookup_leaves(&lr, &T_at, lf, C);
    lf[T_S].val = ev.S, lf[T_HS].val = ev.hS, lf[T_HT].val = ev.hT, lf[T_M].val = ev.m;
    veil_sc_poly shape;
    veil_logup_shape(&shape, &lr);
    veil_ge Cg;
    rc = veil_sc_final_prove(&shape, lf, t, pg, &pf->prods, &Cg, &sg);
    if (!rc)
        veil_zksc_prove_links(&pf->sc, &w.st, t, pg, lr.r, NULL, NULL, &Cg, &sg, &pf->z_claim,
                              &pf->z_final);
    const veil_fe *pa = veil_logup_point_a(&lr), *pb = veil_logup_point_b(&lr);
    if (!rc)
        rc = veil_hyrax_prove(&pf->eS, NULL, t, pg, &S->cm, S->tab, n1, S->blinds, pa, &lf[T_S].s,
                          threads);
    if (!rc)
        rc = veil_hyrax_prove(&pf->ehS, NULL, t, pg, &pf->c_hS, w.vhS.tab, n1, w.vhS.blinds, pa,
                              &lf[T_HS].s, threads);
    if (!rc)
        rc = veil_hyrax_prove(&pf->ehT, NULL, t, pg, &pf->c_hT, w.vhT.tab, n2, w.vhT.blinds, pb,
                              &lf[T_HT].s, threads);
    if (!rc)
        rc = veil_hyrax_prove(&pf->em, NULL, t, pg, &pf->c_m, w.vm.tab, n2, w.vm.blinds, pb,
                              &lf[T_M].s, threads);
    veil_wipe(lf, sizeof lf), veil_wipe(&ev, sizeof ev), veil_wipe(&sg, sizeof sg);
out:
    lookup_ws_free(&w, !T);
    if (rc) veil_lookup_proof_free(pf);
    return rc;
}

int veil_lookup_verify(const veil_lookup_proof *pf, veil_transcript *t,
                       const veil_pedersen_gens *pg, const veil_hyrax_commitment *cS,
                       const veil_fe *T, unsigned b, int threads)
{
    const unsigned a = pf->a;
    int rc = lookup_statement(t, cS, T, a, b);
    if (rc) return rc;
    unsigned L = veil_logup_nvars(a, b);
    if (pf->b != b || pf->c_m.nvars != b || pf->c_hS.nvars != a || pf->c_hT.nvars != b ||
        !pf->c_m.c || !pf->c_hS.c || !pf->c_hT.c || pf->sc.nvars != L ||
        pf->sc.deg != VEIL_LOGUP_DEG || !pf->sc.rounds)
        return veil_fail(VEIL_EVERIFY, "lookup: proof has the wrong shape");
    veil_logup_run lr = {.a = a, .b = b};
    veil_zk_absorb_hyrax(t, "lookup-m", &pf->c_m);
    veil_transcript_challenge(t, "lookup-beta", &lr.beta);
    veil_zk_absorb_hyrax(t, "lookup-hS", &pf->c_hS);
    veil_zk_absorb_hyrax(t, "lookup-hT", &pf->c_hT);
    veil_fe rho, s0, F, T_at;
    veil_zksc_verify_begin(&pf->sc, t, &rho);
    if ((rc = veil_logup_draw(t, &lr)) ||
        (rc = veil_zksc_verify_rounds(&pf->sc, t, lr.r, &s0, &F)) ||
        (rc = veil_zksc_verify_end(&pf->sc, t, pg, lr.r)))
        return veil_zk_refail(VEIL_EVERIFY, "lookup");
    absorb_values(t, pf);
    veil_sc_leaf lf[T_COUNT];
    memset(lf, 0, sizeof lf);
    const veil_ge *C[4] = {&pf->c_vS, &pf->c_vhS, &pf->c_vhT, &pf->c_vm};
    if (table_at(T, b, veil_logup_point_b(&lr), &T_at)) return VEIL_ENOMEM;
    lookup_leaves(&lr, &T_at, lf, C);
    veil_sc_poly shape;
    veil_logup_shape(&shape, &lr);
    veil_ge Cg;
    if (veil_sc_final_verify(&shape, lf, t, pg, &pf->prods, &Cg))
        return veil_zk_refail(VEIL_EVERIFY, "lookup");
    if (veil_zksc_verify_links(&pf->sc, t, pg, &rho, &s0, &F, NULL, &Cg, &pf->z_claim,
                               &pf->z_final))
        return veil_zk_refail(VEIL_EVERIFY, "lookup");
    const veil_fe *pa = veil_logup_point_a(&lr), *pb = veil_logup_point_b(&lr);
    if (veil_hyrax_verify(&pf->eS, t, pg, cS, pa, &pf->c_vS, threads) ||
        veil_hyrax_verify(&pf->ehS, t, pg, &pf->c_hS, pa, &pf->c_vhS, threads) ||
        veil_hyrax_verify(&pf->ehT, t, pg, &pf->c_hT, pb, &pf->c_vhT, threads) ||
        veil_hyrax_verify(&pf->em, t, pg, &pf->c_m, pb, &pf->c_vm, threads))
        return veil_zk_refail(VEIL_EVERIFY, "lookup: evaluation proof");
    return 0;
}

void veil_lookup_proof_free(veil_lookup_proof *pf)
{
    veil_hyrax_commitment_free(&pf->c_m);
    veil_hyrax_commitment_free(&pf->c_hS);
    veil_hyrax_commitment_free(&pf->c_hT);
    veil_zksc_proof_free(&pf->sc);
}

void veil_lookup_proof_write(veil_zkw *w, const veil_lookup_proof *pf)
{
    veil_zkw_hyrax(w, &pf->c_m);
    veil_zkw_hyrax(w, &pf->c_hS);
    veil_zkw_hyrax(w, &pf->c_hT);
    veil_zkw_zksc(w, &pf->sc);
    veil_zkw_ge(w, &pf->c_vS);
    veil_zkw_ge(w, &pf->c_vhS);
    veil_zkw_ge(w, &pf->c_vhT);
    veil_zkw_ge(w, &pf->c_vm);
    for (size_t q = 0; q < pf->prods.n; q++) {
        veil_zkw_ge(w, &pf->prods.C[q]);
        veil_zkw_prod(w, &pf->prods.pf[q]);
    }
    veil_zkw_zero(w, &pf->z_claim);
    veil_zkw_zero(w, &pf->z_final);
    veil_zkw_ipa(w, &pf->eS);
    veil_zkw_ipa(w, &pf->ehS);
    veil_zkw_ipa(w, &pf->ehT);
    veil_zkw_ipa(w, &pf->em);
}

int veil_lookup_proof_read(veil_zkr *r, veil_lookup_proof *pf, unsigned a, unsigned b)
{
    memset(pf, 0, sizeof *pf);
    if (a < 1 || a > VEIL_MLE_MAX_VARS || b < 1 || b > VEIL_MLE_MAX_VARS) {
        veil_zkr_u32(r, &(uint32_t){0}, 1, 0, "lookup sizes"); /* records the failure */
        return VEIL_EINVAL;
    }
    unsigned L = veil_logup_nvars(a, b);
    pf->a = a, pf->b = b;
    veil_zkr_hyrax(r, &pf->c_m, b, "commitment to m");
    veil_zkr_hyrax(r, &pf->c_hS, a, "commitment to hS");
    veil_zkr_hyrax(r, &pf->c_hT, b, "commitment to hT");
    veil_zkr_zksc(r, &pf->sc, L, VEIL_LOGUP_DEG);
    veil_zkr_ge(r, &pf->c_vS, "value commitment");
    veil_zkr_ge(r, &pf->c_vhS, "value commitment");
    veil_zkr_ge(r, &pf->c_vhT, "value commitment");
    veil_zkr_ge(r, &pf->c_vm, "value commitment");
    pf->prods.n = 1; /* the shape has exactly one committed pair: hS * S */
    veil_zkr_ge(r, &pf->prods.C[0], "product commitment");
    veil_zkr_prod(r, &pf->prods.pf[0], "product proof");
    veil_zkr_zero(r, &pf->z_claim, "claim opening");
    veil_zkr_zero(r, &pf->z_final, "final opening");
    veil_zkr_ipa(r, &pf->eS, a - veil_hyrax_row_vars(a), "evaluation proof of S");
    veil_zkr_ipa(r, &pf->ehS, a - veil_hyrax_row_vars(a), "evaluation proof of hS");
    veil_zkr_ipa(r, &pf->ehT, b - veil_hyrax_row_vars(b), "evaluation proof of hT");
    veil_zkr_ipa(r, &pf->em, b - veil_hyrax_row_vars(b), "evaluation proof of m");
    return r->err ? VEIL_EINVAL : 0;
}

/* ---- proof files ---- */

int veil_range_file_write(veil_zkw *w, const veil_hyrax_commitment *cS, unsigned b,
                          const veil_lookup_proof *pf)
{
    veil_zkw_begin(w, VEIL_ZKP_LOGUP);
    veil_zkw_u32(w, cS->nvars);
    veil_zkw_u32(w, b);
    veil_zkw_hyrax(w, cS);
    veil_lookup_proof_write(w, pf);
    return veil_zkw_finish(w);
}

int veil_range_file_verify(const uint8_t *buf, size_t len, unsigned *ao, unsigned *bo, int threads)
{
    veil_zkr r;
    uint16_t kind;
    uint32_t a, b;
    veil_hyrax_commitment cS;
    veil_lookup_proof pf;
    veil_pedersen_gens pg;
    memset(&cS, 0, sizeof cS), memset(&pf, 0, sizeof pf), memset(&pg, 0, sizeof pg);
    veil_zkr_init(&r, buf, len);
    if (veil_zkr_begin(&r, &kind)) return VEIL_EINVAL;
    if (kind != VEIL_ZKP_LOGUP)
        return veil_fail(VEIL_EINVAL, "proof: kind %u is not a range proof", kind);
    veil_zkr_u32(&r, &a, 1, VEIL_ZK_FILE_MAX_VARS, "log2 of the vector size");
    veil_zkr_u32(&r, &b, 1, VEIL_ZK_FILE_MAX_VARS, "range bits");
    if (r.err) return veil_zkr_end(&r);
    if (ao) *ao = a;
    if (bo) *bo = b;
    veil_zkr_hyrax(&r, &cS, a, "commitment to S");
    veil_lookup_proof_read(&r, &pf, a, b);
    int rc = veil_zkr_end(&r);
    if (!rc) rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_lookup_gens_needed(a, b));
    if (!rc) {
        veil_transcript t;
        veil_transcript_init(&t, VEIL_RANGE_DOMAIN);
        rc = veil_lookup_verify(&pf, &t, &pg, &cS, NULL, b, threads);
    }
    veil_pedersen_gens_free(&pg);
    veil_lookup_proof_free(&pf);
    veil_hyrax_commitment_free(&cS);
    return rc;
}
