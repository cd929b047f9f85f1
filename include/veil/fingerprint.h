/* veil fingerprint: compact commitments to a block of hidden states
 * (TOPLOC-style), so replicas of a shard can be compared with a few hundred
 * bytes per block of tokens instead of a hidden state per token.
 *
 * A fingerprint of a block (T consecutive tokens x dim floats) holds
 *   - digest: the first 16 bytes of SHA-256 over the exact float bytes, for
 *     exact comparison when every node computes bit for bit the same floats
 *     (veil's float path does, see src/model/kernels.c);
 *   - poly: the k coefficients, modulo the prime p = 2^31 - 1, of the
 *     polynomial of degree < k through the points (x_j, y_j) where x_j is the
 *     flat index (t*dim + i) + 1 of the j-th largest |activation| of the block
 *     and y_j its value truncated to 24 bits (sign, 8 exponent bits, 15
 *     mantissa bits), for tolerant comparison: a verifier holding a reference
 *     output takes ITS top-k indices, evaluates the polynomial there and
 *     compares exponents and mantissas. Where the committed top-k set differs
 *     from the reference one the evaluation is a pseudo-random field element,
 *     which shows up as an exponent mismatch.
 * Wire size: VEIL_FP_HEADER + 4k bytes (168 bytes for k = 32). */
#ifndef VEIL_FINGERPRINT_H
#define VEIL_FINGERPRINT_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_FP_PRIME 2147483647u /* 2^31 - 1 */
#define VEIL_FP_MAX_K 256
#define VEIL_FP_DIGEST 16
#define VEIL_FP_HEADER 40 /* encoded bytes before the coefficients */
#define VEIL_FP_DEFAULT_K 32

typedef struct {
    int layer;    /* layer whose output this is (-1: unspecified) */
    uint32_t pos; /* first position of the block */
    uint32_t T;   /* tokens in the block */
    uint32_t dim; /* floats per token */
    int k;        /* committed points (<= T*dim, <= VEIL_FP_MAX_K) */
    uint8_t digest[VEIL_FP_DIGEST];
    uint32_t poly[VEIL_FP_MAX_K]; /* coefficients, constant term first */
} veil_fp;

/* Streaming builder: feed token rows in order (any chunking), then finish. */
typedef struct veil_fp_builder veil_fp_builder;
int veil_fp_builder_new(int k, int dim, veil_fp_builder **out);
void veil_fp_builder_free(veil_fp_builder *b);
/* Start a block at position pos for `layer`. */
void veil_fp_builder_begin(veil_fp_builder *b, int layer, uint32_t pos);
/* Append T rows (T x dim floats) to the current block. */
int veil_fp_builder_add(veil_fp_builder *b, int T, const float *x);
/* Tokens added since begin. */
uint32_t veil_fp_builder_tokens(const veil_fp_builder *b);
/* Close the block: digest, top-k selection and interpolation. */
int veil_fp_builder_finish(veil_fp_builder *b, veil_fp *out);

/* One-shot fingerprint of T x dim floats. */
int veil_fp_compute(const float *x, int T, int dim, int k, int layer, uint32_t pos, veil_fp *out);

/* Wire encoding (little endian); encode returns the byte count or an error
 * when cap is too small. decode validates every field (untrusted input). */
size_t veil_fp_encoded_size(const veil_fp *fp);
int veil_fp_encode(const veil_fp *fp, uint8_t *buf, size_t cap);
int veil_fp_decode(const uint8_t *buf, size_t n, veil_fp *out);

/* Exact comparison: same block shape and same digest and polynomial. */
int veil_fp_equal(const veil_fp *a, const veil_fp *b);

/* Tolerances of the tolerant comparison. */
typedef struct {
    double max_exp_mismatch;  /* fraction of the k points whose sign/exponent differ */
    double max_mant_mean;     /* mean |mantissa difference| / 2^15 over matching points */
    double max_mant_max;      /* largest |mantissa difference| / 2^15 */
} veil_fp_tol;
/* Calibrated defaults (docs/SECURITY.md, "Consensus verification"). */
veil_fp_tol veil_fp_default_tol(void);

typedef struct {
    int points;          /* points compared (k) */
    int exp_mismatch;    /* points whose sign or exponent differ */
    double mant_mean;    /* over exponent-matching points, in units of 2^-15 */
    double mant_max;
    int ok;              /* 1 = within tolerance */
} veil_fp_check;

/* Check a (possibly remote) fingerprint against the verifier's reference
 * block `x` of T x dim floats. Fills *res; a fingerprint of another shape
 * gives VEIL_EVERIFY with res->ok = 0 (never reads past x). */
int veil_fp_check_against(const veil_fp *fp, const float *x, int T, int dim,
                          const veil_fp_tol *tol, veil_fp_check *res);

/* Field helpers (exposed for tests). */
uint32_t veil_fp_eval(const veil_fp *fp, uint32_t x);
uint32_t veil_fp_value_code(float v); /* 24-bit code of a float */

#ifdef __cplusplus
}
#endif
#endif
