/* The transformer block, run over a layer range with its own KV cache.
 * Same arithmetic as llama2.c's run.c forward(); see kernels.c for the
 * determinism rule that makes batched and single-token paths identical. */
#include "veil/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Prefill processes at most this many tokens per pass, bounding scratch. */
#define BATCH_MAX 64

struct veil_shard {
    veil_config cfg;
    int first, last, max_seq;
    veil_layer *layers;
    float *key_cache, *value_cache; /* (last-first) x max_seq x kv_dim */
    /* scratch, BATCH_MAX rows each */
    float *xb, *xb2, *q, *k, *v, *hb, *hb2, *att;
    size_t scratch_floats;
    float *scratch;
    veil_layer_hook hook;
    void *hook_ctx;
};

int veil_shard_params(const veil_config *cfg, int first, int last, int *max_seq)
{
    int rc = veil_config_validate(cfg);
    if (rc) return rc;
    if (first < 0 || last > cfg->n_layers || first >= last)
        return veil_fail(VEIL_ERANGE, "layer range [%d,%d) outside model of %d layers", first,
                         last, cfg->n_layers);
    if (*max_seq <= 0) *max_seq = cfg->seq_len;
    if (*max_seq > cfg->seq_len)
        return veil_fail(VEIL_ERANGE, "max_seq %d exceeds model seq_len %d", *max_seq,
                         cfg->seq_len);
    return 0;
}

int veil_shard_new(const veil_config *cfg, int first, int last, const veil_layer *layers,
                   int max_seq, veil_shard **out)
{
    *out = NULL;
    int rc = veil_shard_params(cfg, first, last, &max_seq);
    if (rc) return rc;
    veil_shard *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory for shard");
    s->cfg = *cfg;
    s->first = first;
    s->last = last;
    s->max_seq = max_seq;
    int nl = last - first, dim = cfg->dim, kv = veil_kv_dim(cfg), hd = cfg->hidden_dim;
    size_t cache = (size_t)nl * max_seq * kv;
    s->layers = malloc(sizeof *s->layers * nl);
    s->key_cache = calloc(cache, sizeof(float));
    s->value_cache = calloc(cache, sizeof(float));
    size_t B = BATCH_MAX;
    s->scratch_floats = B * (3 * (size_t)dim + 2 * (size_t)kv + 2 * (size_t)hd) +
                        B * (size_t)cfg->n_heads * max_seq;
    s->scratch = calloc(s->scratch_floats, sizeof(float));
    if (!s->layers || !s->key_cache || !s->value_cache || !s->scratch) {
        veil_shard_free(s);
        return veil_fail(VEIL_ENOMEM, "out of memory for shard KV cache (%zu floats)", cache);
    }
    memcpy(s->layers, layers, sizeof *s->layers * nl);
    float *p = s->scratch;
    s->xb = p; p += B * dim;
    s->xb2 = p; p += B * dim;
    s->q = p; p += B * dim;
    s->k = p; p += B * kv;
    s->v = p; p += B * kv;
    s->hb = p; p += B * hd;
    s->hb2 = p; p += B * hd;
    s->att = p;
    *out = s;
    return 0;
}

void veil_shard_free(veil_shard *s)
{
    if (!s) return;
    size_t cache = (size_t)(s->last - s->first) * s->max_seq * veil_kv_dim(&s->cfg);
    veil_wipe_free(s->key_cache, cache * sizeof(float));
    veil_wipe_free(s->value_cache, cache * sizeof(float));
    veil_wipe_free(s->scratch, s->scratch_floats * sizeof(float));
    free(s->layers);
    free(s);
}

int veil_shard_first(const veil_shard *s) { return s->first; }
int veil_shard_last(const veil_shard *s) { return s->last; }

size_t veil_shard_kv_bytes(const veil_shard *s)
{
    return 2 * (size_t)(s->last - s->first) * s->max_seq * veil_kv_dim(&s->cfg) * sizeof(float);
}

void veil_shard_kv_buffers(veil_shard *s, float **keys, float **values)
{
    *keys = s->key_cache;
    *values = s->value_cache;
}

void veil_shard_set_hook(veil_shard *s, veil_layer_hook hook, void *ctx)
{
    s->hook = hook;
    s->hook_ctx = ctx;
}

/* Causal attention of one query head over cache positions 0..pos. */
static void attend_head(const veil_shard *s, int li, int pos, int h, const float *q, float *att,
                        float *out)
{
    const veil_config *c = &s->cfg;
    int hs = veil_head_size(c), kv = veil_kv_dim(c);
    int kvh = h / (c->n_heads / c->n_kv_heads);
    size_t loff = (size_t)li * s->max_seq * kv;
    float scale = sqrtf((float)hs);
    for (int t = 0; t <= pos; t++) {
        const float *k = s->key_cache + loff + (size_t)t * kv + (size_t)kvh * hs;
        att[t] = veil_dot(q, k, hs) / scale;
    }
    veil_softmax(att, pos + 1);
    memset(out, 0, hs * sizeof(float));
    for (int t = 0; t <= pos; t++) {
        const float *v = s->value_cache + loff + (size_t)t * kv + (size_t)kvh * hs;
        float a = att[t];
        for (int i = 0; i < hs; i++)
            out[i] += a * v[i];
    }
}

/* One layer over T tokens at positions pos..pos+T-1, x is T x dim. */
static void layer_forward(veil_shard *s, int li, int pos, int T, float *x)
{
    const veil_config *c = &s->cfg;
    const veil_layer *w = &s->layers[li];
    int dim = c->dim, kv = veil_kv_dim(c), hd = c->hidden_dim, hs = veil_head_size(c);
    size_t loff = (size_t)li * s->max_seq * kv;

    for (int t = 0; t < T; t++)
        veil_rmsnorm(s->xb + (size_t)t * dim, x + (size_t)t * dim, w->rms_att, dim);
    veil_matmul_batch(s->q, s->xb, w->wq, T, dim, dim);
    veil_matmul_batch(s->k, s->xb, w->wk, T, dim, kv);
    veil_matmul_batch(s->v, s->xb, w->wv, T, dim, kv);
    for (int t = 0; t < T; t++) {
        float *kt = s->k + (size_t)t * kv;
        veil_rope(s->q + (size_t)t * dim, kt, dim, kv, hs, pos + t);
        memcpy(s->key_cache + loff + (size_t)(pos + t) * kv, kt, kv * sizeof(float));
        memcpy(s->value_cache + loff + (size_t)(pos + t) * kv, s->v + (size_t)t * kv,
               kv * sizeof(float));
    }
    int units = T * c->n_heads;
    int nt = (long)units * (pos + T) * hs < 65536 ? 1 : veil_get_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int u = 0; u < units; u++) {
        int t = u / c->n_heads, h = u % c->n_heads;
        attend_head(s, li, pos + t, h, s->q + (size_t)t * dim + (size_t)h * hs,
                    s->att + (size_t)u * s->max_seq, s->xb + (size_t)t * dim + (size_t)h * hs);
    }
    veil_matmul_batch(s->xb2, s->xb, w->wo, T, dim, dim);
    for (size_t i = 0; i < (size_t)T * dim; i++)
        x[i] += s->xb2[i];

    for (int t = 0; t < T; t++)
        veil_rmsnorm(s->xb + (size_t)t * dim, x + (size_t)t * dim, w->rms_ffn, dim);
    veil_matmul_batch(s->hb, s->xb, w->w1, T, dim, hd);
    veil_matmul_batch(s->hb2, s->xb, w->w3, T, dim, hd);
    for (size_t i = 0; i < (size_t)T * hd; i++) {
        float val = s->hb[i];
        val *= 1.0f / (1.0f + expf(-val)); /* SiLU */
        s->hb[i] = val * s->hb2[i];
    }
    veil_matmul_batch(s->xb, s->hb, w->w2, T, hd, dim);
    for (size_t i = 0; i < (size_t)T * dim; i++)
        x[i] += s->xb[i];
}

int veil_shard_forward_batch(veil_shard *s, int pos, int T, float *x)
{
    if (pos < 0 || T < 1 || pos > s->max_seq - T)
        return veil_fail(VEIL_ERANGE, "positions %d..%d outside the KV cache of %d", pos,
                         pos + T - 1, s->max_seq);
    for (int done = 0; done < T;) {
        int n = T - done < BATCH_MAX ? T - done : BATCH_MAX;
        float *xc = x + (size_t)done * s->cfg.dim;
        for (int li = 0; li < s->last - s->first; li++) {
            layer_forward(s, li, pos + done, n, xc);
            if (s->hook) s->hook(s->hook_ctx, s->first + li, pos + done, n, xc);
        }
        done += n;
    }
    return 0;
}

int veil_shard_forward(veil_shard *s, int pos, float *x)
{
    return veil_shard_forward_batch(s, pos, 1, x);
}

void veil_embed(const veil_model *m, int token, float *x)
{
    int dim = m->cfg.dim;
    if (token < 0 || token >= m->cfg.vocab_size) token = 0; /* callers validate; stay in bounds */
    memcpy(x, m->tok_emb + (size_t)token * dim, dim * sizeof(float));
}

void veil_head(const veil_model *m, float *x, float *logits)
{
    veil_rmsnorm(x, x, m->rms_final, m->cfg.dim);
    veil_matmul(logits, x, m->wcls, m->cfg.dim, m->cfg.vocab_size);
}

int veil_model_shard(const veil_model *m, int first, int last, int max_seq, veil_shard **out)
{
    *out = NULL;
    int rc = veil_shard_params(&m->cfg, first, last, &max_seq);
    return rc ? rc : veil_shard_new(&m->cfg, first, last, m->layers + first, max_seq, out);
}
