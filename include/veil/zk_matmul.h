/* veil zk core: zero-knowledge proof of a committed matrix product
 * C = A B (paper eqs. 18-19).
 *
 * A (m x k), B (k x n) and C (m x n) are committed as multilinear tables
 * (Hyrax, zk_commit.h) with every dimension zero-padded to a power of two
 * (row-major: A~(row bits, column bits)).  After the commitments, the
 * verifier's random u (row coordinates) and v (column coordinates) reduce
 * the m*n equations to one (eq. 19):
 *     C~(u, v) = sum_{b in {0,1}^lk} A~(u, b) B~(b, v),
 * a degree-2 sum-check over lk = log2(k) variables.  Nothing is revealed
 * about A, B or C: the prover commits H = C~(u, v), runs the masked
 * zero-knowledge sum-check (zk_sumcheck.h), commits vA = A~(u, r),
 * vB = B~(r, v) and vA*vB with a product proof, and proves the three
 * evaluations with Hyrax inner-product arguments against those value
 * commitments.  Soundness error <= (2 lk + lm + ln)/|F| plus that of the
 * commitment layer. */
#ifndef VEIL_ZK_MATMUL_H
#define VEIL_ZK_MATMUL_H

#include "veil/zk_proof.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_MATMUL_MAX_DIM (1u << 16)
/* Bound on every committed table (2^24 entries = 512 MiB of scalars). */
#define VEIL_MATMUL_MAX_VARS 24

typedef struct {
    uint32_t m, k, n;
    unsigned lm, lk, ln; /* log2 of the padded dimensions (lk >= 1) */
} veil_matmul_dims;

/* VEIL_ERANGE for zero or oversized dimensions. */
int veil_matmul_dims_init(veil_matmul_dims *d, uint32_t m, uint32_t k, uint32_t n);
/* Vector generators a proof for these dimensions needs. */
size_t veil_matmul_gens_needed(const veil_matmul_dims *d);

/* A committed matrix: Hyrax commitment plus, on the prover's side, the
 * padded table and the row blindings (secret). */
typedef struct {
    veil_hyrax_commitment cm;
    veil_fe *tab;    /* 2^(lr + lc) entries */
    veil_fe *blinds; /* cm.rows entries */
    unsigned lr, lc;
} veil_zk_matrix;

/* Commit to a rows x cols row-major integer matrix padded to 2^lr x 2^lc. */
int veil_zk_matrix_commit_i64(veil_zk_matrix *M, const veil_pedersen_gens *pg, const int64_t *v,
                              uint32_t rows, uint32_t cols, unsigned lr, unsigned lc,
                              int threads);
void veil_zk_matrix_free(veil_zk_matrix *M);

typedef struct {
    veil_ge c_H, c_vA, c_vB, c_prod;
    veil_zksc_proof sc;
    veil_prod_proof prod;
    veil_zero_proof z_claim, z_final;
    veil_ipa_proof eA, eB, eC;
} veil_matmul_proof;

/* Prove C = A B for the committed matrices (which must have the padded
 * shapes of d).  The caller's transcript should already hold whatever
 * context binds this product (the statement itself is absorbed here). */
int veil_matmul_prove(veil_matmul_proof *pf, veil_transcript *t, const veil_pedersen_gens *pg,
                      const veil_matmul_dims *d, const veil_zk_matrix *A, const veil_zk_matrix *B,
                      const veil_zk_matrix *C, int threads);
/* 0 if pf proves that the committed matrices satisfy C = A B; VEIL_EVERIFY
 * (reason in veil_last_error) otherwise. */
int veil_matmul_verify(const veil_matmul_proof *pf, veil_transcript *t,
                       const veil_pedersen_gens *pg, const veil_matmul_dims *d,
                       const veil_hyrax_commitment *cA, const veil_hyrax_commitment *cB,
                       const veil_hyrax_commitment *cC, int threads);
void veil_matmul_proof_free(veil_matmul_proof *pf);
void veil_matmul_proof_write(veil_zkw *w, const veil_matmul_proof *pf);
int veil_matmul_proof_read(veil_zkr *r, veil_matmul_proof *pf, const veil_matmul_dims *d);

/* The self-contained proof file of `veil zk matmul`: header, dimensions,
 * the three commitments and the proof, under the transcript domain
 * "veil/zk/matmul/v1" and the generator label "veil/zk/gens/v1". */
#define VEIL_MATMUL_DOMAIN "veil/zk/matmul/v1"
int veil_matmul_file_write(veil_zkw *w, const veil_matmul_dims *d, const veil_zk_matrix *A,
                           const veil_zk_matrix *B, const veil_zk_matrix *C,
                           const veil_matmul_proof *pf);
/* Parses untrusted bytes and verifies; *d receives the dimensions once
 * parsed (may be NULL).  VEIL_EINVAL for malformed input, VEIL_EVERIFY for
 * a well-formed proof that does not verify. */
int veil_matmul_file_verify(const uint8_t *buf, size_t len, veil_matmul_dims *d, int threads);

#ifdef __cplusplus
}
#endif
#endif
