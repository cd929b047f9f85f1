/* veil zk core: the logUp lookup argument (paper eqs. 25-26) and range
 * checks, reduced to one sum-check.
 *
 * Statement: every entry of a committed vector S (2^a entries) occurs in a
 * table T (2^b entries; public, e.g. [0, 2^bits) for range checks or the
 * (input + alpha * output) column of a function table).  Protocol:
 *   1. the prover commits the multiplicities m_i = |{j : S_j = T_i}|;
 *   2. challenge beta; the prover commits hS_j = 1/(beta + S_j) and
 *      hT_i = m_i/(beta + T_i) (eq. 26, one term per side);
 *   3. challenges gamma, tau1 (a coords), tau2 (b coords); one sum-check
 *      over L = max(a, b) variables (the smaller side zero-padded) proves
 *        sum_x [hS - hT + gamma eq(tau1,x)(hS (beta + S) - 1)
 *                       + gamma^2 eq(tau2,x)(hT (beta + T) - m)] = 0,
 *      i.e. the two sides of eq. 26 agree and every hS, hT is what it
 *      claims to be (the eq-weighted zero-checks hold on the whole cube
 *      except with probability <= 2^a/|F| by Schwartz-Zippel on tau);
 *   4. the verifier's final check needs S, hS (at the last a coordinates
 *      of r), hT, m (at the last b) from the commitments and T there from
 *      the public table.
 * Callers pad S to a power of two with an element of T (e.g. 0 for
 * range checks).  The commitment steps are the caller's (zk_matmul.c and
 * the layer proofs): this module is the algebra plus the sum-check. */
#ifndef VEIL_ZK_LOOKUP_H
#define VEIL_ZK_LOOKUP_H

#include "veil/zk_proof.h"
#include "veil/zk_sumcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_LOGUP_DEG 3

/* The tables of the logUp polynomial (veil_logup_shape): hS, S and eq(tau1)
 * over the a variables, hT, T, m and eq(tau2) over the b variables. */
enum {
    VEIL_LOGUP_T_HS, VEIL_LOGUP_T_S, VEIL_LOGUP_T_EQ1, VEIL_LOGUP_T_HT, VEIL_LOGUP_T_T,
    VEIL_LOGUP_T_M, VEIL_LOGUP_T_EQ2, VEIL_LOGUP_TABLES
};

/* The evaluations the verifier's final check needs (claims on the
 * committed vectors at the points below). */
typedef struct {
    veil_fe S, hS; /* at point_a (a coordinates) */
    veil_fe hT, m; /* at point_b (b coordinates) */
} veil_logup_evals;

/* Challenges and sizes of one run, shared by prover and verifier. */
typedef struct {
    unsigned a, b, L;
    veil_fe beta, gamma;
    veil_fe tau1[VEIL_MLE_MAX_VARS], tau2[VEIL_MLE_MAX_VARS];
    veil_fe r[VEIL_MLE_MAX_VARS]; /* sum-check point, L coordinates */
} veil_logup_run;

/* The suffix of r that addresses the a-variable (resp. b-variable) side. */
static inline const veil_fe *veil_logup_point_a(const veil_logup_run *lr)
{
    return lr->r + (lr->L - lr->a);
}
static inline const veil_fe *veil_logup_point_b(const veil_logup_run *lr)
{
    return lr->r + (lr->L - lr->b);
}

/* Prover, step 1: m[i] = |{j : idx[j] = i}| for n2 table entries;
 * VEIL_ERANGE if some idx[j] >= n2 (that entry is not in the table). */
int veil_logup_mults(const uint32_t *idx, size_t n1, veil_fe *m, size_t n2);
/* Prover, step 2 (after committing m and drawing beta):
 * hS = 1/(beta + S), hT = m/(beta + T).  VEIL_EINVAL if some beta + x is
 * zero (probability about 2^a/|F|: draw again). */
int veil_logup_inverses(const veil_fe *beta, const veil_fe *S, size_t n1, const veil_fe *T,
                        const veil_fe *m, size_t n2, veil_fe *hS, veil_fe *hT);

/* Step 3 for both sides: draws gamma, tau1, tau2 (lr->beta, a, b set by
 * the caller).  Then the sum-check with claim rho * P (0 without mask).
 * Prover: rounds[L * 4]; fills lr->r and ev, and absorbs ev (the verifier's
 * veil_logup_final_check absorbs it likewise), so the claims are bound
 * before any later challenge.  The inputs are not changed. */
int veil_logup_prove_sc(veil_transcript *t, veil_logup_run *lr, const veil_fe *S,
                        const veil_fe *hS, const veil_fe *T, const veil_fe *m, const veil_fe *hT,
                        const veil_sc_mask *mask, veil_fe *rounds, veil_logup_evals *ev);
/* For callers that commit to the rounds and evaluations themselves: the
 * same sum-check with every round handed to hook (veil_sc_prove_hooked),
 * the evaluations left unabsorbed.  Their verifier runs veil_logup_draw,
 * mirrors the rounds, and checks g(r) built from veil_logup_shape with the
 * tables' values at r: a committed vector's value times its padding
 * factor (veil_logup_pads: za for the a side, zb for the b side), T~ and
 * the eq tables likewise scaled. */
int veil_logup_prove_hooked(veil_transcript *t, veil_logup_run *lr, const veil_fe *S,
                            const veil_fe *hS, const veil_fe *T, const veil_fe *m,
                            const veil_fe *hT, veil_sc_round_fn hook, void *ctx,
                            veil_fe *rounds, veil_logup_evals *ev);
/* The sum-check's variables for sides of 2^a and 2^b entries (at least one). */
static inline unsigned veil_logup_nvars(unsigned a, unsigned b)
{
    unsigned L = a > b ? a : b;
    return L ? L : 1;
}
/* Absorbs the sizes and beta, draws gamma, tau1, tau2 (sets lr->L). */
int veil_logup_draw(veil_transcript *t, veil_logup_run *lr);
/* The polynomial's terms over VEIL_LOGUP_TABLES tables (no table data). */
void veil_logup_shape(veil_sc_poly *p, const veil_logup_run *lr);
/* The padding factors prod_{k < L-a} (1 - r_k) and likewise for b. */
void veil_logup_pads(const veil_logup_run *lr, veil_fe *za, veil_fe *zb);

/* Verifier: checks the rounds against claim (rho * P, or 0 when mask_claim
 * is NULL), fills lr->r and *final (the value g + rho p must take at r). */
int veil_logup_verify_sc(veil_transcript *t, veil_logup_run *lr, const veil_fe *mask_claim,
                         const veil_fe *rounds, veil_fe *final);
/* Verifier's last step with the evaluations in the clear: absorbs ev (as
 * the prover did), then with T_at = T~ at point_b (public table) and
 * rho_p = rho * p(r) (zero without mask) returns VEIL_EVERIFY unless
 * g(r) + rho_p == final.  The claims in ev must still be proven against the
 * commitments (veil_lookup_prove below keeps them hidden instead). */
int veil_logup_final_check(veil_transcript *t, const veil_logup_run *lr,
                           const veil_logup_evals *ev, const veil_fe *T_at, const veil_fe *rho_p,
                           const veil_fe *final);
void veil_logup_absorb_evals(veil_transcript *t, const veil_logup_evals *ev);

/* ---- the complete zero-knowledge lookup / range proof ----
 *
 * Statement: the vector committed in cS (Hyrax, a variables) has all its
 * entries in the public table T (2^b entries; T == NULL means the range
 * table T[i] = i, i.e. a range check [0, 2^b)).  The proof carries the
 * Hyrax commitments to m, hS, hT, the masked sum-check, value commitments
 * to S, hS, hT, m at the final point with a product proof for hS*S, two
 * opening proofs and four Hyrax evaluation proofs.  Nothing about S beyond
 * membership is revealed.  A multi-column (function) table is handled by
 * the caller: S = X + alpha Y and T = TX + alpha TY for a challenge alpha,
 * with the commitment to S the row-wise combination of those of X and Y. */
typedef struct {
    veil_hyrax_commitment cm;
    veil_fe *tab;    /* 2^nvars entries (prover only) */
    veil_fe *blinds; /* cm.rows entries (prover only, secret) */
    unsigned nvars;
} veil_zk_vec;

/* Commit to tab[0..2^nvars) (copied).  Free with veil_zk_vec_free (wipes). */
int veil_zk_vec_commit(veil_zk_vec *v, const veil_pedersen_gens *pg, const veil_fe *tab,
                       unsigned nvars, int threads);
void veil_zk_vec_free(veil_zk_vec *v);
/* out = X + alpha Y for two committed vectors of the same size: table,
 * blindings and Hyrax rows combine linearly (commitments are additively
 * homomorphic), so no new commitment is made.  For multi-column lookups:
 * S = X + alpha Y against T = TX + alpha TY.  VEIL_EINVAL / VEIL_ENOMEM. */
int veil_zk_vec_lincomb(veil_zk_vec *out, const veil_zk_vec *X, const veil_zk_vec *Y,
                        const veil_fe *alpha);
/* The verifier's side: cout = cX + alpha cY (allocates cout->c). */
int veil_hyrax_lincomb(veil_hyrax_commitment *cout, const veil_hyrax_commitment *cX,
                       const veil_hyrax_commitment *cY, const veil_fe *alpha);

typedef struct {
    unsigned a, b;
    veil_hyrax_commitment c_m, c_hS, c_hT;
    veil_zksc_proof sc;
    veil_ge c_vS, c_vhS, c_vhT, c_vm;
    veil_sc_products prods;
    veil_zero_proof z_claim, z_final;
    veil_ipa_proof eS, ehS, ehT, em;
} veil_lookup_proof;

/* Vector generators a lookup proof of these sizes needs. */
size_t veil_lookup_gens_needed(unsigned a, unsigned b);
/* Prover: S (committed, a = S->nvars >= 1), idx[j] = position of S_j in T. */
int veil_lookup_prove(veil_lookup_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                      const veil_zk_vec *S, const uint32_t *idx, const veil_fe *T, unsigned b,
                      int threads);
int veil_lookup_verify(const veil_lookup_proof *pf, veil_transcript *t,
                       const veil_pedersen_gens *pg, const veil_hyrax_commitment *cS,
                       const veil_fe *T, unsigned b, int threads);
void veil_lookup_proof_free(veil_lookup_proof *pf);
void veil_lookup_proof_write(veil_zkw *w, const veil_lookup_proof *pf);
/* Parses a proof for the expected sizes (a, b). */
int veil_lookup_proof_read(veil_zkr *r, veil_lookup_proof *pf, unsigned a, unsigned b);

/* ---- ReLU by bit decomposition (paper eqs. 20-24) ----
 *
 * Statement: committed Z, A (2^a signed integers, |z| < 2^Q) satisfy
 * A = ReLU(Z) = sign(Z) * abs(Z).  The prover commits bit vectors B_0 (sign,
 * 1 for z >= 0, eq. 21) and B_1..B_Q (abs(z), most significant first); after
 * a challenge c and tau, one sum-check of degree 3 proves eq. 24 on every
 * entry, weighted by eq(tau, x):
 *   sum_x eq(tau,x) [(2B_0-1)M - Z + c(B_0 M - A) + sum_i c^(i+2) B_i(B_i-1)] = 0,
 *   M = sum_{i>=1} 2^(Q-i) B_i.
 * The bits are committed as one vector of (Q+1) * 2^a entries (bit i at
 * offset i * 2^a), so the Q+1 final claims B_i(r) reduce to one claim on
 * that vector (veil_relu_bits_claim). */
#define VEIL_RELU_MAX_BITS 30
#define VEIL_RELU_DEG 3

typedef struct {
    unsigned a, Q;
    veil_fe c;
    veil_fe tau[VEIL_MLE_MAX_VARS];
    veil_fe r[VEIL_MLE_MAX_VARS];
} veil_relu_run;

typedef struct {
    veil_fe Z, A, bits[VEIL_RELU_MAX_BITS + 1]; /* at r */
} veil_relu_evals;

/* Witness: Z, A as field elements and the (Q+1) * n bit vector; n a power
 * of two >= 2 (pad with zeros).  VEIL_ERANGE if some |z| >= 2^Q. */
int veil_relu_witness(const int64_t *z, size_t n, unsigned Q, veil_fe *Zf, veil_fe *Af,
                      veil_fe *bits);
/* Prover (after committing Z, A, bits; lr->a and lr->Q set): draws c, tau;
 * sum-check with claim rho P; rounds[a * 4]; fills lr->r and ev and absorbs
 * ev (veil_relu_final_check absorbs it likewise on the verifier's side);
 * veil_relu_prove keeps the evaluations hidden instead. */
int veil_relu_prove_sc(veil_transcript *t, veil_relu_run *lr, const veil_fe *Z,
                       const veil_fe *A, const veil_fe *bits, const veil_sc_mask *mask,
                       veil_fe *rounds, veil_relu_evals *ev);
int veil_relu_verify_sc(veil_transcript *t, veil_relu_run *lr, const veil_fe *mask_claim,
                        const veil_fe *rounds, veil_fe *final);
/* Absorbs ev; VEIL_EVERIFY unless the eq. 24 combination at r plus rho_p
 * equals final. */
int veil_relu_final_check(veil_transcript *t, const veil_relu_run *lr,
                          const veil_relu_evals *ev, const veil_fe *rho_p, const veil_fe *final);
void veil_relu_absorb_evals(veil_transcript *t, const veil_relu_run *lr,
                            const veil_relu_evals *ev);
/* The bits vector's extension at (s, r) implied by ev: sum_i eq(s, i) B_i(r),
 * s having veil_mle_log2(Q+1) coordinates. */
void veil_relu_bits_claim(const veil_relu_run *lr, const veil_relu_evals *ev, const veil_fe *s,
                          veil_fe *out);

/* The complete zero-knowledge ReLU proof: A = ReLU(Z) for the committed
 * Z, A (a variables, a >= 1) with |z| < 2^Q.  Carries the Hyrax commitment
 * to the bits, the masked sum-check, value commitments to Z, A and every
 * B_i at r, 2Q+1 product proofs (B_0 B_i and B_i^2), two opening proofs and
 * three Hyrax evaluation proofs (the bit values folded into one claim on
 * the bits vector at a random (s, r)). */
typedef struct {
    unsigned a, Q;
    veil_hyrax_commitment c_bits;
    veil_zksc_proof sc;
    veil_ge c_vZ, c_vA, c_vbits[VEIL_RELU_MAX_BITS + 1];
    veil_sc_products prods;
    veil_zero_proof z_claim, z_final;
    veil_ipa_proof eZ, eA, ebits;
} veil_relu_proof;

size_t veil_relu_gens_needed(unsigned a, unsigned Q);
/* z: the 2^a integers committed (as field elements) in Z. */
int veil_relu_prove(veil_relu_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                    const veil_zk_vec *Z, const veil_zk_vec *A, const int64_t *z, unsigned Q,
                    int threads);
int veil_relu_verify(const veil_relu_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                     const veil_hyrax_commitment *cZ, const veil_hyrax_commitment *cA,
                     unsigned Q, int threads);
void veil_relu_proof_free(veil_relu_proof *pf);
void veil_relu_proof_write(veil_zkw *w, const veil_relu_proof *pf);
int veil_relu_proof_read(veil_zkr *r, veil_relu_proof *pf, unsigned a, unsigned Q);

/* Self-contained proof files (zk_proof.h framing) for `veil zk range`,
 * `veil zk relu` and `veil zk verify`: sizes, the statement's commitments,
 * the proof; generators "veil/zk/gens/v1", transcript domains below.
 * Range files check S in [0, 2^b).  The verifiers parse untrusted bytes
 * (sizes bounded by VEIL_ZK_FILE_MAX_VARS) and return VEIL_EINVAL for
 * malformed input, VEIL_EVERIFY for a proof that does not verify. */
#define VEIL_RANGE_DOMAIN "veil/zk/range/v1"
#define VEIL_RELU_DOMAIN "veil/zk/relu/v1"
#define VEIL_ZK_FILE_MAX_VARS 22
int veil_range_file_write(veil_zkw *w, const veil_hyrax_commitment *cS, unsigned b,
                          const veil_lookup_proof *pf);
int veil_range_file_verify(const uint8_t *buf, size_t len, unsigned *a, unsigned *b, int threads);
int veil_relu_file_write(veil_zkw *w, const veil_hyrax_commitment *cZ,
                         const veil_hyrax_commitment *cA, const veil_relu_proof *pf);
int veil_relu_file_verify(const uint8_t *buf, size_t len, unsigned *a, unsigned *Q, int threads);

#ifdef __cplusplus
}
#endif
#endif
