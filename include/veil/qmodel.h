/* veil qmodel: the deterministic integer (fixed-point) forward pass.
 *
 * The same three steps as veil/model.h (embed / shard over a layer range with
 * its own KV cache / head), computed with int32/int64 arithmetic only, so the
 * result is bit-exact on every machine and every step is an integer relation
 * that a zero-knowledge prover can prove (zkLLM-style):
 *
 *   - every weight and activation is an integer in Q16: value * 2^16;
 *   - a product of two Q16 numbers is Q32 and is brought back to Q16 by a
 *     rounding right shift  y = floor((a + 2^15) / 2^16), whose remainder
 *     r = a + 2^15 - y * 2^16 lies in [0, 2^16) (range-checked by a prover);
 *   - nonlinear functions are lookup tables built once by integer-only
 *     fixed-point math (Q60, see qtables.c): sigmoid for SiLU, exp digits for
 *     softmax (max-shift + base-2^10 digit decomposition as in zkAttn),
 *     1/sqrt for RMSNorm, cos/sin for RoPE.
 *
 * Floats appear at exactly two places: veil_q_quantize (weights once, and the
 * embedding row entering a shard: round(x * 2^16), exact for float input)
 * and veil_q_dequantize (x_q * 2^-16, for the final hidden state or logits
 * that the sampler consumes).  See docs/ARCHITECTURE.md "Integer forward
 * pass" for the full scheme and its error bounds. */
#ifndef VEIL_QMODEL_H
#define VEIL_QMODEL_H

#include "veil/generate.h"
#include "veil/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fixed-point scheme ------------------------------------------------- */

#define VEIL_Q_FRAC 16
#define VEIL_Q_ONE (1 << VEIL_Q_FRAC)
/* Largest |weight| accepted by quantization (Q16 of 256.0). */
#define VEIL_Q_WMAX (1 << 24)

/* SiLU: sigmoid table over x in [-16, 16) with step 2^-12; the index is
 * round(x_q / 2^4) clamped to [-2^16, 2^16). */
#define VEIL_Q_SIG_SHIFT 4
#define VEIL_Q_SIG_HALF (1 << 16)
#define VEIL_Q_SIG_SIZE (2 * VEIL_Q_SIG_HALF)
/* Softmax: exp(-d) for the max-shifted score d >= 0 (Q16) as a product of
 * VEIL_Q_EXP_DIGITS tables indexed by base-2^10 digits of d; d >= 2^20
 * (exp < 1.2e-7, below Q16 resolution) gives 0. */
#define VEIL_Q_EXP_DIGIT_BITS 10
#define VEIL_Q_EXP_DIGITS 2
#define VEIL_Q_EXP_BASE (1 << VEIL_Q_EXP_DIGIT_BITS)
#define VEIL_Q_EXP_LIMIT (1 << (VEIL_Q_EXP_DIGIT_BITS * VEIL_Q_EXP_DIGITS))
/* RMSNorm: 1/sqrt(m) for m in [2^14, 2^16): rsqrt[m - 2^14] = round(2^30/sqrt(m)). */
#define VEIL_Q_RSQRT_LO (1 << 14)
#define VEIL_Q_RSQRT_SIZE (3 << 14)
/* RMSNorm epsilon 1e-5 in Q32 (round(1e-5 * 2^32)). */
#define VEIL_Q_EPS_Q32 42950

typedef struct {
    int32_t sigmoid[VEIL_Q_SIG_SIZE]; /* Q16 sigmoid((i - 2^16) * 2^-12) */
    int32_t exp_digit[VEIL_Q_EXP_DIGITS][VEIL_Q_EXP_BASE]; /* Q16 exp(-j*2^(10k)*2^-16) */
    int32_t rsqrt[VEIL_Q_RSQRT_SIZE];
} veil_qtables;

/* The shared tables (built on first use, thread-safe, never freed). */
const veil_qtables *veil_qtables_get(void);

/* Integer-only fixed-point functions used to build the tables, exposed for
 * tests.  Arguments and results are Q16 unless said otherwise. */
int32_t veil_q_exp_neg(int64_t d_q16);           /* exp(-d), d >= 0 */
void veil_q_sincos(int pos, int j, int head_size, int32_t *c, int32_t *s); /* RoPE */
int32_t veil_q_inv_sqrt_int(int n);               /* round(2^16 / sqrt(n)), n >= 1 */

/* Rounding right shift by s >= 1 (floor((a + 2^(s-1)) / 2^s)); the prover's
 * remainder is a + 2^(s-1) - (result << s). */
static inline int64_t veil_q_rshift(int64_t a, int s)
{
    return (a + ((int64_t)1 << (s - 1))) >> s;
}

/* ---- quantization (the only float -> int step) -------------------------- */

/* out[i] = round(in[i] * 2^16); VEIL_ERANGE for non-finite values or
 * |in| >= limit / 2^16 (limit = VEIL_Q_WMAX for weights, INT32_MAX for
 * activations). */
int veil_q_quantize(const float *in, int32_t *out, size_t n, int64_t limit);
/* out[i] = in[i] * 2^-16 (exact when |in| < 2^24). */
void veil_q_dequantize(const int32_t *in, float *out, size_t n);

/* One block's quantized weights, same layout as veil_layer. */
typedef struct {
    const int32_t *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3;
} veil_qlayer;

/* Quantize a float layer into `out` (veil_layer_floats(c) ints, in the
 * wire order of veil_layer_to_floats). */
int veil_qlayer_quantize(const veil_config *c, const veil_layer *l, int32_t *out);
/* Point a veil_qlayer at ints laid out in that order (no copy). */
void veil_qlayer_from_ints(const veil_config *c, const int32_t *ints, veil_qlayer *out);

typedef struct {
    veil_config cfg;
    const int32_t *tok_emb;   /* vocab x dim */
    const int32_t *rms_final; /* dim */
    const int32_t *wcls;      /* vocab x dim */
    veil_qlayer *layers;
    /* private: */
    int32_t *owned;
} veil_qmodel;

/* Quantize a whole model once. */
int veil_qmodel_new(const veil_model *m, veil_qmodel **out);
void veil_qmodel_free(veil_qmodel *q);

/* ---- the three steps, in integers --------------------------------------- */

void veil_qembed(const veil_qmodel *q, int token, int32_t *x);

typedef struct veil_qshard veil_qshard;

/* As veil_shard_new: layers [first, last), weights borrowed, own KV cache. */
int veil_qshard_new(const veil_config *cfg, int first, int last, const veil_qlayer *layers,
                    int max_seq, veil_qshard **out);
int veil_qmodel_shard(const veil_qmodel *q, int first, int last, int max_seq,
                      veil_qshard **out);
void veil_qshard_free(veil_qshard *s);
int veil_qshard_first(const veil_qshard *s);
int veil_qshard_last(const veil_qshard *s);
/* Positions pos..pos+T-1 (x is T x dim Q16, in place).  Bit-identical to T
 * single-token calls.  VEIL_ERANGE if an activation leaves int32. */
int veil_qshard_forward_batch(veil_qshard *s, int pos, int T, int32_t *x);
int veil_qshard_forward(veil_qshard *s, int pos, int32_t *x);
/* Read-only view of the KV cache of local layer li (max_seq x kv_dim Q16). */
const int32_t *veil_qshard_kcache(const veil_qshard *s, int li);
const int32_t *veil_qshard_vcache(const veil_qshard *s, int li);

/* Final integer RMSNorm and classifier: logits in Q16 (x normalized in place). */
int veil_qhead(const veil_qmodel *q, int32_t *x, int32_t *logits);

/* A veil_backend running a veil_qshard behind the float interface of
 * veil_generate: the float embedding rows are quantized (exactly the Q16
 * embedding), the integer layers run, and the final hidden state is
 * dequantized for the client's head. */
veil_backend veil_qbackend(veil_qshard *s);

/* ---- integer building blocks (exposed for tests and the layer prover) --- */

/* out[t*d+i] = rshift16(sum_j W[i*n+j] * X[t*n+j]); 0 or VEIL_ERANGE. */
int veil_q_matmul(int32_t *out, const int32_t *x, const int32_t *w, int T, int n, int d);
/* The Q16 reciprocal RMS of x (see qforward.c). */
int64_t veil_q_rms_scale(const int32_t *x, int n);
/* out = rmsnorm(x) * g, all Q16; 0 or VEIL_ERANGE. */
int veil_q_rmsnorm(int32_t *out, const int32_t *x, const int32_t *g, int n);
/* Softmax of n Q16 scores into Q16 probabilities (in place). */
void veil_q_softmax(int32_t *x, int n);
/* silu(a) * b for Q16 a, b. */
int32_t veil_q_swiglu(int32_t a, int32_t b);

#ifdef __cplusplus
}
#endif
#endif
