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

/* Verifier.  claim NULL skips the first-round check (the caller checks
 * veil_sc_first_sum(rounds) itself, e.g. against a commitment).  On
 * success r[nvars] holds the challenges and *final = g_n(r_n), the value
 * that g (+ rho p) must take at r.  VEIL_EVERIFY with a reason otherwise. */
int veil_sc_verify(veil_transcript *t, unsigned nvars, unsigned deg, const veil_fe *claim,
                   const veil_fe *rounds, veil_fe *r, veil_fe *final);
void veil_sc_first_sum(const veil_fe *rounds, veil_fe *out);

/* The polynomial of degree <= deg with values ev[0..deg] at 0..deg, at x. */
void veil_sc_interpolate(const veil_fe *ev, unsigned deg, const veil_fe *x, veil_fe *out);

#ifdef __cplusplus
}
#endif
#endif
