/* veil zk core: the sum-check protocol (paper Algorithm 2, eqs. 11-17) for
 * sums of products of up to four multilinear polynomials, made
 * non-interactive with the Fiat-Shamir transcript, with Libra-style
 * zero-knowledge masking.
 *
 * The polynomial g(x) = sum_t c_t prod_{j in T_t} f_j(x) is described by
 * tables f_j (2^n entries each, see zk_mle.h for the variable order) and
 * terms (coefficient, up to four table indices; a term with no factor is
 * the constant c_t).  The prover proves sum_{x in {0,1}^n} g(x) = H.
 * Round i sends g_i as its deg+1 evaluations at 0, 1, ..., deg; the
 * verifier checks g_i(0) + g_i(1) against the running claim, draws r_i
 * from the transcript after absorbing g_i, and ends with the claim
 * g(r) = g_n(r_n), which the caller must discharge with commitment
 * openings of the f_j at r (the "oracle" step of Algorithm 2).
 *
 * Masking: the prover commits (outside this module) to a random
 * p(x) = a_0 + sum_i sum_{k=1..deg} a_{i,k} x_i^k, the caller draws rho after
 * the commitment, and the sum-check runs on g + rho p with claim
 * H + rho P, P = sum_x p(x).  The round polynomials are then uniformly
 * masked (Libra, Xie et al. 2019, Thm. 3); the caller finally proves
 * p(r) = <a, y(r)> against the mask commitment (veil_sc_mask_eval_vector). */
#ifndef VEIL_ZK_SUMCHECK_H
#define VEIL_ZK_SUMCHECK_H

#include "veil/zk_commit.h"
#include "veil/zk_mle.h"
#include "veil/zk_transcript.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_SC_MAX_DEG 4
#define VEIL_SC_MAX_TABLES 48
#define VEIL_SC_MAX_TERMS 96

typedef struct {
    veil_fe coef;
    uint8_t nf;   /* number of factors, 0..VEIL_SC_MAX_DEG */
    uint8_t f[VEIL_SC_MAX_DEG];
} veil_sc_term;

typedef struct {
    unsigned nvars;
    size_t ntables, nterms;
    veil_fe *tab[VEIL_SC_MAX_TABLES]; /* borrowed; folded in place by prove */
    veil_sc_term term[VEIL_SC_MAX_TERMS];
} veil_sc_poly;

void veil_sc_poly_init(veil_sc_poly *p, unsigned nvars);
/* Register a table of 2^nvars entries; returns its index or VEIL_ERANGE. */
int veil_sc_add_table(veil_sc_poly *p, veil_fe *tab);
/* Add c * f[i0] * ... (nf factors, the indices follow); 0 or VEIL_ERANGE. */
int veil_sc_add_term(veil_sc_poly *p, const veil_fe *c, unsigned nf, ...);
/* Largest number of factors of any term (the round-polynomial degree). */
unsigned veil_sc_degree(const veil_sc_poly *p);
/* g at the point where every table has been folded to one value:
 * sum_t c_t prod f_j[0] (used by tests and by verifiers with tables). */
void veil_sc_combine(const veil_sc_poly *p, const veil_fe *vals, veil_fe *out);

/* The masking polynomial: coef[0] = a_0, coef[1 + i*deg + (k-1)] = a_{i,k}. */
typedef struct {
    unsigned nvars, deg;
    veil_fe *coef; /* 1 + nvars*deg, secret */
    veil_fe rho;   /* set by the caller after committing coef */
} veil_sc_mask;

static inline size_t veil_sc_mask_len(unsigned nvars, unsigned deg)
{
    return 1 + (size_t)nvars * deg;
}
/* Fresh uniform coefficients; VEIL_ENOMEM.  Free with veil_sc_mask_free
 * (wipes). */
int veil_sc_mask_random(veil_sc_mask *m, unsigned nvars, unsigned deg);
void veil_sc_mask_free(veil_sc_mask *m);
/* Public vectors y with <coef, y> = P (sum over the cube) and = p(r). */
void veil_sc_mask_sum_vector(veil_fe *y, unsigned nvars, unsigned deg);
void veil_sc_mask_eval_vector(veil_fe *y, const veil_fe *r, unsigned nvars, unsigned deg);
/* <a, b> over n entries. */
void veil_fe_inner(veil_fe *out, const veil_fe *a, const veil_fe *b, size_t n);

/* Prover.  Absorbs (nvars, deg) then every round polynomial; writes
 * rounds[nvars*(deg+1)], the challenges r[nvars] and the final table
 * values finals[ntables] (f_j(r)).  deg must be >= veil_sc_degree(p) and
 * >= 1; mask may be NULL (no zero knowledge) or must have the same nvars
 * and deg.  The tables are destroyed (folded). */
int veil_sc_prove(veil_transcript *t, veil_sc_poly *p, unsigned deg, const veil_sc_mask *mask,
                  veil_fe *rounds, veil_fe *r, veil_fe *finals);

/* The same with every round polynomial (its deg+1 values) handed to hook
 * instead of being absorbed in the clear, e.g. to commit to it and absorb
 * the commitments (the caller's verifier then mirrors the hook, after
 * veil_sc_absorb_header, drawing r_i as "sc-r" after each round).  A
 * nonzero return from hook stops the proof and is returned.  No mask. */
typedef int (*veil_sc_round_fn)(void *ctx, veil_transcript *t, unsigned round, const veil_fe *g,
                                unsigned deg);
int veil_sc_prove_hooked(veil_transcript *t, veil_sc_poly *p, unsigned deg, veil_sc_round_fn hook,
                         void *ctx, veil_fe *rounds, veil_fe *r, veil_fe *finals);
/* What every sum-check absorbs first: (nvars, deg). */
void veil_sc_absorb_header(veil_transcript *t, unsigned nvars, unsigned deg);

/* Verifier.  claim NULL skips the first-round check (the caller checks
 * veil_sc_first_sum(rounds) itself, e.g. against a commitment).  On
 * success r[nvars] holds the challenges and *final = g_n(r_n), the value
 * that g (+ rho p) must take at r.  VEIL_EVERIFY with a reason otherwise. */
int veil_sc_verify(veil_transcript *t, unsigned nvars, unsigned deg, const veil_fe *claim,
                   const veil_fe *rounds, veil_fe *r, veil_fe *final);
void veil_sc_first_sum(const veil_fe *rounds, veil_fe *out);

/* The polynomial of degree <= deg with values ev[0..deg] at 0..deg, at x. */
void veil_sc_interpolate(const veil_fe *ev, unsigned deg, const veil_fe *x, veil_fe *out);

/* ---- zero-knowledge sum-check over committed values ----
 *
 * Neither the claimed sum H nor the final value g(r) is revealed: the
 * caller holds Pedersen value commitments C_H (to H) and C_g (to g(r),
 * built from the committed table values, e.g. with a product proof), and
 * the mask's P and p(r) are committed too (c_sum, c_pr).  The verifier
 * then checks, besides the public round consistency:
 *   C_H + rho c_sum   opens to g_1(0) + g_1(1)      (veil_zero_proof)
 *   C_g + rho c_pr    opens to g_n(r_n)             (veil_zero_proof)
 *   <a, y_sum + lambda y(r)> = P + lambda p(r)       (Algorithm 1 on c_mask)
 * The round polynomials are uniform given the statement (the mask's
 * non-constant coefficients pad each round, a_0 pads the claim), so the
 * transcript is simulatable from the commitments alone. */
typedef struct {
    unsigned nvars, deg;
    veil_ge c_mask, c_sum, c_pr;
    veil_fe *rounds;        /* nvars * (deg + 1), heap */
    veil_open_proof open;   /* Algorithm 1 on the mask */
} veil_zksc_proof;

/* Prover state between the steps (secret; wiped by veil_zksc_state_free). */
typedef struct {
    veil_sc_mask mask;
    veil_fe r_mask, s_sum, s_pr, P;
} veil_zksc_state;

/* Step 1: commit a fresh mask and its sum, absorb both, draw rho
 * (st->mask.rho).  Allocates pf->rounds. */
int veil_zksc_begin(veil_zksc_proof *pf, veil_zksc_state *st, veil_transcript *t,
                    const veil_pedersen_gens *pg, unsigned nvars, unsigned deg);
/* Step 2: veil_sc_prove(t, poly, deg, &st->mask, pf->rounds, r, finals).
 * Step 3: commit p(r), absorb, prove the mask opening.
 * Step 4 (after committing the final values, e.g. veil_sc_final_prove):
 * veil_zksc_prove_links.  The verifier mirrors each step. */
int veil_zksc_end(veil_zksc_proof *pf, veil_zksc_state *st, veil_transcript *t,
                  const veil_pedersen_gens *pg, const veil_fe *r);
void veil_zksc_state_free(veil_zksc_state *st);
void veil_zksc_proof_free(veil_zksc_proof *pf);

/* Verifier: absorbs c_mask, c_sum and returns rho; then
 * veil_zksc_verify_rounds gives r, the first-round sum s0 and final F;
 * then veil_zksc_verify_end absorbs c_pr and checks the mask opening. */
void veil_zksc_verify_begin(const veil_zksc_proof *pf, veil_transcript *t, veil_fe *rho);
int veil_zksc_verify_rounds(const veil_zksc_proof *pf, veil_transcript *t, veil_fe *r,
                            veil_fe *s0, veil_fe *F);
int veil_zksc_verify_end(const veil_zksc_proof *pf, veil_transcript *t,
                         const veil_pedersen_gens *pg, const veil_fe *r);

/* ---- sigma protocols on value commitments C = x U + s H ---- */

/* Knowledge of s with C = s H, i.e. C opens to 0 ("C - v U opens to v"). */
typedef struct {
    veil_ge a;
    veil_fe z;
} veil_zero_proof;
void veil_zero_prove(veil_zero_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                     const veil_ge *C, const veil_fe *s);
int veil_zero_verify(const veil_zero_proof *pf, veil_transcript *t,
                     const veil_pedersen_gens *pg, const veil_ge *C);

/* The two opening proofs that tie the public rounds to the commitments
 * (after veil_zksc_end): "C_claim + rho c_sum opens to g_1(0) + g_1(1)" and
 * "C_g + rho c_pr opens to g_n(r_n)".  C_claim NULL: the claim is the
 * public 0.  s_claim, s_g: the blindings of C_claim and C_g; r: the point. */
void veil_zksc_prove_links(const veil_zksc_proof *pf, const veil_zksc_state *st,
                           veil_transcript *t, const veil_pedersen_gens *pg, const veil_fe *r,
                           const veil_ge *C_claim, const veil_fe *s_claim, const veil_ge *C_g,
                           const veil_fe *s_g, veil_zero_proof *z_claim, veil_zero_proof *z_final);
/* rho, s0, F as returned by veil_zksc_verify_begin / _rounds. */
int veil_zksc_verify_links(const veil_zksc_proof *pf, veil_transcript *t,
                           const veil_pedersen_gens *pg, const veil_fe *rho, const veil_fe *s0,
                           const veil_fe *F, const veil_ge *C_claim, const veil_ge *C_g,
                           const veil_zero_proof *z_claim, const veil_zero_proof *z_final);

/* C3 commits to the product of the values in C1 and C2 (Hyrax / Maxwell
 * proof of product): C1 = x U + s1 H, C2 = y U + s2 H, C3 = xy U + s3 H. */
typedef struct {
    veil_ge alpha, beta, delta;
    veil_fe z[5];
} veil_prod_proof;
void veil_prod_prove(veil_prod_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                     const veil_ge *C1, const veil_ge *C2, const veil_ge *C3, const veil_fe *x,
                     const veil_fe *s1, const veil_fe *y, const veil_fe *s2, const veil_fe *s3);
int veil_prod_verify(const veil_prod_proof *pf, veil_transcript *t,
                     const veil_pedersen_gens *pg, const veil_ge *C1, const veil_ge *C2,
                     const veil_ge *C3);

/* ---- the final check over committed table values ----
 *
 * At the end of a zero-knowledge sum-check the verifier needs a commitment
 * C_g to g(r) = sum_t c_t prod_j f_j(r) where each table value f_j(r) is
 * either public (eq-tables, public lookup tables) or scale_j * v_j for a
 * committed v_j (scale_j: e.g. the zero-padding factor).  Every term may
 * hold at most two committed factors: for each distinct pair the prover
 * commits v_i v_j and proves the product; the rest is linear, so C_g is a
 * public combination of commitments and its blinding is known to the
 * prover.  The caller then links C_g to the rounds (veil_zksc_prove_links)
 * and proves the evaluations v_j against the vector commitments. */
typedef struct {
    int committed;  /* 1: value committed in C (blinding s); 0: public val */
    veil_fe val;    /* public value; for the prover also the committed v_j */
    veil_fe scale;  /* committed: f_j(r) = scale * v_j */
    veil_ge C;
    veil_fe s;      /* prover only (secret) */
} veil_sc_leaf;

typedef struct {
    size_t n;                          /* number of product pairs */
    uint8_t i[VEIL_SC_MAX_TERMS], j[VEIL_SC_MAX_TERMS];
    veil_ge C[VEIL_SC_MAX_TERMS];      /* commitments to v_i v_j */
    veil_prod_proof pf[VEIL_SC_MAX_TERMS];
} veil_sc_products;

/* The distinct committed pairs of shape's terms, in term order (both sides
 * derive the list; VEIL_EINVAL if a term has 3+ committed factors). */
int veil_sc_product_pairs(const veil_sc_poly *shape, const veil_sc_leaf *leaf,
                          veil_sc_products *pr);
/* Prover: commits and proves every pair's product (absorbing them), then
 * returns C_g and its blinding s_g. */
int veil_sc_final_prove(const veil_sc_poly *shape, const veil_sc_leaf *leaf, veil_transcript *t,
                        const veil_pedersen_gens *pg, veil_sc_products *pr, veil_ge *Cg,
                        veil_fe *sg);
/* Verifier: pr holds the parsed product commitments and proofs (n of them,
 * in the order veil_sc_product_pairs derives; pr->i/j are ignored);
 * checks them and returns C_g. */
int veil_sc_final_verify(const veil_sc_poly *shape, const veil_sc_leaf *leaf,
                         veil_transcript *t, const veil_pedersen_gens *pg,
                         const veil_sc_products *pr, veil_ge *Cg);

/* Helpers shared by the protocols. */
/* Absorb a point's canonical encoding. */
void veil_zk_absorb_ge(veil_transcript *t, const char *label, const veil_ge *p);
/* Absorb a Hyrax commitment: nvars, then each row (same label). */
void veil_zk_absorb_hyrax(veil_transcript *t, const char *label, const veil_hyrax_commitment *cm);
/* out = C + rho D - x U: "C + rho D opens to x" becomes "out opens to 0". */
void veil_zk_combine(veil_ge *out, const veil_pedersen_gens *pg, const veil_ge *C,
                     const veil_fe *rho, const veil_ge *D, const veil_fe *x);
/* Re-raise the last failure as "context: reason" and return code. */
int veil_zk_refail(int code, const char *context);

/* C = x U + s H with fresh s (written to *s). */
void veil_commit_value_fresh(veil_ge *C, veil_fe *s, const veil_pedersen_gens *pg,
                             const veil_fe *x);

#ifdef __cplusplus
}
#endif
#endif
