/* The integer forward pass: llama blocks in Q16 fixed point (see qmodel.h).
 *
 * Every operation is one of: an integer sum of products, a rounding right
 * shift (remainder in [0, 2^s)), an integer division with remainder, or a
 * table lookup.  Those are exactly the relations the layer prover proves, so
 * this file is the specification of what a shard proof attests.  Integer
 * results do not depend on the evaluation order, so threads and batching
 * cannot change a single bit. */
#include "veil/qmodel.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 64

struct veil_qshard {
    veil_config cfg;
    int first, last, max_seq;
    veil_qlayer *layers;
    int32_t *key_cache, *value_cache; /* (last-first) x max_seq x kv_dim */
    int32_t *rope_cos, *rope_sin;     /* max_seq x head_size/2 */
    int32_t attn_scale;               /* round(2^16 / sqrt(head_size)) */
    int32_t *xb, *xb2, *q, *k, *v, *hb, *hb2, *att, *io;
    size_t scratch_ints;
    int32_t *scratch;
};

/* ---- quantization -------------------------------------------------------- */

int veil_q_quantize(const float *in, int32_t *out, size_t n, int64_t limit)
{
    for (size_t i = 0; i < n; i++) {
        double v = (double)in[i] * VEIL_Q_ONE; /* exact: power-of-two scale */
        if (!(fabs(v) < (double)limit))
            return veil_fail(VEIL_ERANGE, "value %g at index %zu outside the Q16 range",
                             (double)in[i], i);
        out[i] = (int32_t)floor(v + 0.5); /* exact for |v| < 2^52 */
    }
    return 0;
}

void veil_q_dequantize(const int32_t *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)in[i] * (1.0f / VEIL_Q_ONE);
}

int veil_qlayer_quantize(const veil_config *c, const veil_layer *l, int32_t *out)
{
    size_t sizes[VEIL_LAYER_TENSORS];
    veil_layer_tensor_sizes(c, sizes);
    const float *t[VEIL_LAYER_TENSORS] = {l->rms_att, l->wq, l->wk, l->wv, l->wo,
                                          l->rms_ffn, l->w1, l->w2, l->w3};
    for (int i = 0; i < VEIL_LAYER_TENSORS; i++) {
        int rc = veil_q_quantize(t[i], out, sizes[i], VEIL_Q_WMAX);
        if (rc) return rc;
        out += sizes[i];
    }
    return 0;
}

void veil_qlayer_from_ints(const veil_config *c, const int32_t *p, veil_qlayer *out)
{
    size_t sz[VEIL_LAYER_TENSORS];
    veil_layer_tensor_sizes(c, sz);
    const int32_t **dst[VEIL_LAYER_TENSORS] = {&out->rms_att, &out->wq, &out->wk,
                                               &out->wv, &out->wo, &out->rms_ffn,
                                               &out->w1, &out->w2, &out->w3};
    for (int i = 0; i < VEIL_LAYER_TENSORS; i++) {
        *dst[i] = p;
        p += sz[i];
    }
}

int veil_qmodel_new(const veil_model *m, veil_qmodel **out)
{
    *out = NULL;
    const veil_config *c = &m->cfg;
    size_t emb = (size_t)c->vocab_size * c->dim, lf = veil_layer_floats(c);
    size_t total = emb + c->dim + (c->shared_classifier ? 0 : emb) + lf * c->n_layers;
    veil_qmodel *q = calloc(1, sizeof *q);
    if (q) q->owned = malloc(total * sizeof(int32_t));
    if (q) q->layers = calloc(c->n_layers, sizeof *q->layers);
    if (!q || !q->owned || !q->layers) {
        veil_qmodel_free(q);
        return veil_fail(VEIL_ENOMEM, "out of memory quantizing the model");
    }
    q->cfg = *c;
    int32_t *p = q->owned;
    int rc = veil_q_quantize(m->tok_emb, p, emb, VEIL_Q_WMAX);
    q->tok_emb = p;
    p += emb;
    if (!rc) rc = veil_q_quantize(m->rms_final, p, c->dim, VEIL_Q_WMAX);
    q->rms_final = p;
    p += c->dim;
    q->wcls = q->tok_emb;
    if (!rc && !c->shared_classifier) {
        rc = veil_q_quantize(m->wcls, p, emb, VEIL_Q_WMAX);
        q->wcls = p;
        p += emb;
    }
    for (int l = 0; !rc && l < c->n_layers; l++) {
        rc = veil_qlayer_quantize(c, &m->layers[l], p);
        veil_qlayer_from_ints(c, p, &q->layers[l]);
        p += lf;
    }
    if (rc) {
        veil_qmodel_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

void veil_qmodel_free(veil_qmodel *q)
{
    if (!q) return;
    free(q->owned);
    free(q->layers);
    free(q);
}

/* ---- integer kernels ----------------------------------------------------- */

static inline int32_t narrow(int64_t v, int *ovf)
{
    if (v > INT32_MAX || v < INT32_MIN) {
        *ovf = 1;
        return v > 0 ? INT32_MAX : INT32_MIN;
    }
    return (int32_t)v;
}

static inline int64_t dot_i32(const int32_t *a, const int32_t *b, int n)
{
    /* unsigned accumulation: wraps instead of undefined behaviour when the
     * documented bound (|a|,|b| < 2^31, sum < 2^63) is exceeded */
    uint64_t acc = 0;
    for (int j = 0; j < n; j++)
        acc += (uint64_t)((int64_t)a[j] * b[j]);
    return (int64_t)acc;
}

int veil_q_matmul(int32_t *out, const int32_t *x, const int32_t *w, int T, int n, int d)
{
    int ovf = 0;
    int nt = (long)T * n * d < 262144 ? 1 : veil_get_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) reduction(| : ovf)
    for (int i = 0; i < d; i++)
        for (int t = 0; t < T; t++)
            out[(size_t)t * d + i] = narrow(
                veil_q_rshift(dot_i32(w + (size_t)i * n, x + (size_t)t * n, n), VEIL_Q_FRAC),
                &ovf);
    return ovf ? veil_fail(VEIL_ERANGE, "integer matmul result outside int32") : 0;
}

/* RMSNorm, per row: v = floor(sum x^2 / n) + eps (Q32); the smallest k >= 0
 * with m = floor(v / 4^k) < 2^16 (then m >= 2^14); R = rsqrt[m]
 * (2^30 / sqrt(m)); r = round(4 R / 2^k) = 2^32 / sqrt(v), the Q16
 * reciprocal RMS; out = rescale16(rescale16(x r) g).  Every step is a small
 * integer relation (docs/ARCHITECTURE.md "Integer forward pass"). */
int64_t veil_q_rms_scale(const int32_t *x, int n)
{
    const veil_qtables *tb = veil_qtables_get();
    /* sum of squares in 128 bits: n terms below 2^62 each can exceed int64
     * for hostile inputs; the mean itself stays below 2^62 */
    unsigned __int128 ss = 0;
    for (int i = 0; i < n; i++)
        ss += (uint64_t)((int64_t)x[i] * x[i]);
    int64_t v = (int64_t)(ss / (unsigned)n) + VEIL_Q_EPS_Q32;
    int k = 0;
    while ((v >> (2 * k)) >= 4 * VEIL_Q_RSQRT_LO)
        k++;
    int64_t R4 = 4 * (int64_t)tb->rsqrt[(v >> (2 * k)) - VEIL_Q_RSQRT_LO];
    return k ? veil_q_rshift(R4, k) : R4;
}

int veil_q_rmsnorm(int32_t *out, const int32_t *x, const int32_t *g, int n)
{
    int64_t r = veil_q_rms_scale(x, n);
    int ovf = 0;
    for (int i = 0; i < n; i++) {
        int64_t y = veil_q_rshift((int64_t)x[i] * r, VEIL_Q_FRAC);
        out[i] = narrow(veil_q_rshift(y * g[i], VEIL_Q_FRAC), &ovf);
    }
    return ovf ? veil_fail(VEIL_ERANGE, "integer rmsnorm result outside int32") : 0;
}

/* exp(-d) for a max-shifted score d >= 0 by two digit tables. */
static inline int32_t q_exp_digits(const veil_qtables *tb, int64_t d)
{
    if (d >= VEIL_Q_EXP_LIMIT) return 0;
    int64_t lo = tb->exp_digit[0][d & (VEIL_Q_EXP_BASE - 1)];
    int64_t hi = tb->exp_digit[1][d >> VEIL_Q_EXP_DIGIT_BITS];
    return (int32_t)veil_q_rshift(lo * hi, VEIL_Q_FRAC);
}

void veil_q_softmax(int32_t *x, int n)
{
    const veil_qtables *tb = veil_qtables_get();
    int32_t mx = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    int64_t sum = 0; /* >= 2^16: the maximum contributes exp(0) = 1 */
    for (int i = 0; i < n; i++) {
        x[i] = q_exp_digits(tb, (int64_t)mx - x[i]);
        sum += x[i];
    }
    /* p = round(e 2^16 / sum) = floor((2^17 e + sum) / (2 sum)), i.e.
     * 2^17 e + sum = 2 sum p + rem with 0 <= rem < 2 sum */
    for (int i = 0; i < n; i++)
        x[i] = (int32_t)((((int64_t)x[i] << (VEIL_Q_FRAC + 1)) + sum) / (2 * sum));
}

int32_t veil_q_swiglu(int32_t a, int32_t b)
{
    const veil_qtables *tb = veil_qtables_get();
    int64_t idx = veil_q_rshift(a, VEIL_Q_SIG_SHIFT);
    if (idx < -VEIL_Q_SIG_HALF) idx = -VEIL_Q_SIG_HALF;
    if (idx >= VEIL_Q_SIG_HALF) idx = VEIL_Q_SIG_HALF - 1;
    int64_t silu = veil_q_rshift((int64_t)a * tb->sigmoid[idx + VEIL_Q_SIG_HALF], VEIL_Q_FRAC);
    /* |silu| <= |a| < 2^31 and |b| < 2^31: the product fits int64 */
    int64_t r = veil_q_rshift(silu * b, VEIL_Q_FRAC);
    return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
}

/* ---- the shard ----------------------------------------------------------- */

static int build_rope(veil_qshard *s)
{
    int half = veil_head_size(&s->cfg) / 2;
    size_t n = (size_t)s->max_seq * half;
    s->rope_cos = malloc(n * sizeof(int32_t));
    s->rope_sin = malloc(n * sizeof(int32_t));
    if (!s->rope_cos || !s->rope_sin) return VEIL_ENOMEM;
    for (int p = 0; p < s->max_seq; p++)
        for (int j = 0; j < half; j++)
            veil_q_sincos(p, j, 2 * half, &s->rope_cos[(size_t)p * half + j],
                          &s->rope_sin[(size_t)p * half + j]);
    return 0;
}

int veil_qshard_new(const veil_config *cfg, int first, int last, const veil_qlayer *layers,
                    int max_seq, veil_qshard **out)
{
    *out = NULL;
    int rc = veil_shard_params(cfg, first, last, &max_seq);
    if (rc) return rc;
    veil_qshard *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory for shard");
    s->cfg = *cfg;
    s->first = first;
    s->last = last;
    s->max_seq = max_seq;
    s->attn_scale = veil_q_inv_sqrt_int(veil_head_size(cfg));
    int nl = last - first, dim = cfg->dim, kv = veil_kv_dim(cfg), hd = cfg->hidden_dim;
    size_t cache = (size_t)nl * max_seq * kv, B = BATCH_MAX;
    s->layers = malloc(sizeof *s->layers * nl);
    s->key_cache = calloc(cache, sizeof(int32_t));
    s->value_cache = calloc(cache, sizeof(int32_t));
    s->scratch_ints = B * (4 * (size_t)dim + 2 * (size_t)kv + 2 * (size_t)hd) +
                      B * (size_t)cfg->n_heads * max_seq;
    s->scratch = calloc(s->scratch_ints, sizeof(int32_t));
    if (!s->layers || !s->key_cache || !s->value_cache || !s->scratch || build_rope(s)) {
        veil_qshard_free(s);
        return veil_fail(VEIL_ENOMEM, "out of memory for integer shard (%zu cache ints)", cache);
    }
    memcpy(s->layers, layers, sizeof *s->layers * nl);
    int32_t *p = s->scratch;
    s->xb = p; p += B * dim;
    s->xb2 = p; p += B * dim;
    s->io = p; p += B * dim;
    s->q = p; p += B * dim;
    s->k = p; p += B * kv;
    s->v = p; p += B * kv;
    s->hb = p; p += B * hd;
    s->hb2 = p; p += B * hd;
    s->att = p;
    *out = s;
    return 0;
}

int veil_qmodel_shard(const veil_qmodel *q, int first, int last, int max_seq,
                      veil_qshard **out)
{
    *out = NULL;
    int rc = veil_shard_params(&q->cfg, first, last, &max_seq);
    return rc ? rc : veil_qshard_new(&q->cfg, first, last, q->layers + first, max_seq, out);
}

void veil_qshard_free(veil_qshard *s)
{
    if (!s) return;
    size_t cache = (size_t)(s->last - s->first) * s->max_seq * veil_kv_dim(&s->cfg);
    veil_wipe_free(s->key_cache, cache * sizeof(int32_t));
    veil_wipe_free(s->value_cache, cache * sizeof(int32_t));
    veil_wipe_free(s->scratch, s->scratch_ints * sizeof(int32_t));
    free(s->rope_cos);
    free(s->rope_sin);
    free(s->layers);
    free(s);
}

int veil_qshard_first(const veil_qshard *s) { return s->first; }
int veil_qshard_last(const veil_qshard *s) { return s->last; }

const int32_t *veil_qshard_kcache(const veil_qshard *s, int li)
{
    return s->key_cache + (size_t)li * s->max_seq * veil_kv_dim(&s->cfg);
}

const int32_t *veil_qshard_vcache(const veil_qshard *s, int li)
{
    return s->value_cache + (size_t)li * s->max_seq * veil_kv_dim(&s->cfg);
}

/* Rotate the n-wide vector v (heads of head_size) at position pos. */
static void q_rope(const veil_qshard *s, int32_t *v, int n, int pos)
{
    int half = veil_head_size(&s->cfg) / 2;
    const int32_t *cs = s->rope_cos + (size_t)pos * half, *sn = s->rope_sin + (size_t)pos * half;
    for (int i = 0; i < n; i += 2) {
        int j = (i % (2 * half)) / 2;
        int64_t a = v[i], b = v[i + 1];
        v[i] = (int32_t)veil_q_rshift(a * cs[j] - b * sn[j], VEIL_Q_FRAC);
        v[i + 1] = (int32_t)veil_q_rshift(a * sn[j] + b * cs[j], VEIL_Q_FRAC);
    }
}

/* Causal attention of one query head over cache positions 0..pos. */
static int q_attend_head(const veil_qshard *s, int li, int pos, int h, const int32_t *q,
                         int32_t *att, int32_t *out)
{
    const veil_config *c = &s->cfg;
    int hs = veil_head_size(c), kv = veil_kv_dim(c), ovf = 0;
    int kvh = h / (c->n_heads / c->n_kv_heads);
    const int32_t *kc = veil_qshard_kcache(s, li) + (size_t)kvh * hs;
    const int32_t *vc = veil_qshard_vcache(s, li) + (size_t)kvh * hs;
    for (int t = 0; t <= pos; t++) {
        int64_t s0 = veil_q_rshift(dot_i32(q, kc + (size_t)t * kv, hs), VEIL_Q_FRAC);
        att[t] = narrow(veil_q_rshift(s0 * s->attn_scale, VEIL_Q_FRAC), &ovf);
    }
    veil_q_softmax(att, pos + 1);
    for (int i = 0; i < hs; i++) {
        int64_t acc = 0; /* sum of probabilities is ~2^16, so |acc| < 2^48 */
        for (int t = 0; t <= pos; t++)
            acc += (int64_t)att[t] * vc[(size_t)t * kv + i];
        out[i] = narrow(veil_q_rshift(acc, VEIL_Q_FRAC), &ovf);
    }
    return ovf;
}

static int q_residual(int32_t *x, const int32_t *d, size_t n)
{
    int ovf = 0;
    for (size_t i = 0; i < n; i++)
        x[i] = narrow((int64_t)x[i] + d[i], &ovf);
    return ovf;
}

static int q_rmsnorm_rows(int32_t *out, const int32_t *x, const int32_t *g, int T, int n)
{
    for (int t = 0; t < T; t++) {
        int rc = veil_q_rmsnorm(out + (size_t)t * n, x + (size_t)t * n, g, n);
        if (rc) return rc;
    }
    return 0;
}

static int q_attention(veil_qshard *s, int li, int pos, int T)
{
    const veil_config *c = &s->cfg;
    int dim = c->dim, kv = veil_kv_dim(c), hs = veil_head_size(c);
    int32_t *kc = (int32_t *)veil_qshard_kcache(s, li), *vc = (int32_t *)veil_qshard_vcache(s, li);
    for (int t = 0; t < T; t++) {
        q_rope(s, s->q + (size_t)t * dim, dim, pos + t);
        q_rope(s, s->k + (size_t)t * kv, kv, pos + t);
        memcpy(kc + (size_t)(pos + t) * kv, s->k + (size_t)t * kv, kv * sizeof(int32_t));
        memcpy(vc + (size_t)(pos + t) * kv, s->v + (size_t)t * kv, kv * sizeof(int32_t));
    }
    int units = T * c->n_heads, ovf = 0;
    int nt = (long)units * (pos + T) * hs < 65536 ? 1 : veil_get_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) reduction(| : ovf)
    for (int u = 0; u < units; u++) {
        int t = u / c->n_heads, h = u % c->n_heads;
        ovf |= q_attend_head(s, li, pos + t, h, s->q + (size_t)t * dim + (size_t)h * hs,
                             s->att + (size_t)u * s->max_seq,
                             s->xb + (size_t)t * dim + (size_t)h * hs);
    }
    return ovf ? veil_fail(VEIL_ERANGE, "integer attention result outside int32") : 0;
}

/* One layer over T tokens at positions pos..pos+T-1, x is T x dim. */
static int q_layer_forward(veil_qshard *s, int li, int pos, int T, int32_t *x)
{
    const veil_config *c = &s->cfg;
    const veil_qlayer *w = &s->layers[li];
    int dim = c->dim, kv = veil_kv_dim(c), hd = c->hidden_dim;
    size_t td = (size_t)T * dim, th = (size_t)T * hd;
    int rc = q_rmsnorm_rows(s->xb, x, w->rms_att, T, dim);
    if (!rc) rc = veil_q_matmul(s->q, s->xb, w->wq, T, dim, dim);
    if (!rc) rc = veil_q_matmul(s->k, s->xb, w->wk, T, dim, kv);
    if (!rc) rc = veil_q_matmul(s->v, s->xb, w->wv, T, dim, kv);
    if (!rc) rc = q_attention(s, li, pos, T);
    if (!rc) rc = veil_q_matmul(s->xb2, s->xb, w->wo, T, dim, dim);
    if (!rc && q_residual(x, s->xb2, td)) rc = VEIL_ERANGE;
    if (!rc) rc = q_rmsnorm_rows(s->xb, x, w->rms_ffn, T, dim);
    if (!rc) rc = veil_q_matmul(s->hb, s->xb, w->w1, T, dim, hd);
    if (!rc) rc = veil_q_matmul(s->hb2, s->xb, w->w3, T, dim, hd);
    if (rc) return rc;
    for (size_t i = 0; i < th; i++)
        s->hb[i] = veil_q_swiglu(s->hb[i], s->hb2[i]);
    rc = veil_q_matmul(s->xb, s->hb, w->w2, T, hd, dim);
    if (!rc && q_residual(x, s->xb, td))
        rc = veil_fail(VEIL_ERANGE, "integer residual stream outside int32");
    return rc;
}

int veil_qshard_forward_batch(veil_qshard *s, int pos, int T, int32_t *x)
{
    if (pos < 0 || T < 1 || pos > s->max_seq - T)
        return veil_fail(VEIL_ERANGE, "positions %d..%d outside the KV cache of %d", pos,
                         pos + T - 1, s->max_seq);
    for (int done = 0; done < T;) {
        int n = T - done < BATCH_MAX ? T - done : BATCH_MAX;
        int32_t *xc = x + (size_t)done * s->cfg.dim;
        for (int li = 0; li < s->last - s->first; li++) {
            int rc = q_layer_forward(s, li, pos + done, n, xc);
            if (rc) return rc;
        }
        done += n;
    }
    return 0;
}

int veil_qshard_forward(veil_qshard *s, int pos, int32_t *x)
{
    return veil_qshard_forward_batch(s, pos, 1, x);
}

void veil_qembed(const veil_qmodel *q, int token, int32_t *x)
{
    int dim = q->cfg.dim;
    if (token < 0 || token >= q->cfg.vocab_size) token = 0; /* callers validate */
    memcpy(x, q->tok_emb + (size_t)token * dim, dim * sizeof(int32_t));
}

int veil_qhead(const veil_qmodel *q, int32_t *x, int32_t *logits)
{
    int rc = veil_q_rmsnorm(x, x, q->rms_final, q->cfg.dim);
    return rc ? rc : veil_q_matmul(logits, x, q->wcls, 1, q->cfg.dim, q->cfg.vocab_size);
}

/* ---- float-interface backend -------------------------------------------- */

static int qbackend_forward(void *ctx, int pos, int T, float *x)
{
    veil_qshard *s = ctx;
    int dim = s->cfg.dim;
    for (int done = 0; done < T;) {
        int n = T - done < BATCH_MAX ? T - done : BATCH_MAX;
        float *xc = x + (size_t)done * dim;
        int rc = veil_q_quantize(xc, s->io, (size_t)n * dim, INT32_MAX);
        if (!rc) rc = veil_qshard_forward_batch(s, pos + done, n, s->io);
        if (rc) return rc;
        veil_q_dequantize(s->io, xc, (size_t)n * dim);
        done += n;
    }
    return 0;
}

veil_backend veil_qbackend(veil_qshard *s)
{
    return (veil_backend){.ctx = s, .forward = qbackend_forward};
}
