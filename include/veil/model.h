/* veil model: llama2.c checkpoints and the shard-able forward pass.
 *
 * The whole forward pass is three steps, and every later part of veil (the
 * node pipeline, split inference, SVE, consensus, proofs) is built from them:
 *
 *   veil_embed(model, token, x)              x = embedding row
 *   veil_shard_forward(shard, pos, x)        layers [first, last) on x, in place
 *   veil_head(model, ws, x, logits)          final RMSNorm + classifier
 *
 * A shard owns the KV cache of its layer range and its scratch buffers; its
 * weights are borrowed (from a mapped checkpoint, from buffers received over
 * the network, or from transformed copies), so the same code runs locally and
 * on a node. */
#ifndef VEIL_MODEL_H
#define VEIL_MODEL_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits enforced on every checkpoint before any weight is touched. */
#define VEIL_MAX_DIM (1 << 16)
#define VEIL_MAX_LAYERS 1024
#define VEIL_MAX_VOCAB (1 << 21)
#define VEIL_MAX_SEQ (1 << 20)

typedef struct {
    int dim;        /* residual stream width */
    int hidden_dim; /* SwiGLU hidden width */
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int vocab_size;
    int seq_len;
    int shared_classifier; /* 1: classifier = token embedding */
} veil_config;

static inline int veil_head_size(const veil_config *c) { return c->dim / c->n_heads; }
static inline int veil_kv_dim(const veil_config *c)
{
    return c->dim / c->n_heads * c->n_kv_heads;
}

/* Check a configuration for sanity and the limits above. */
int veil_config_validate(const veil_config *c);

/* One transformer block's weights, row-major, out x in (llama2.c layout). */
typedef struct {
    const float *rms_att; /* dim */
    const float *wq;      /* dim x dim */
    const float *wk;      /* kv_dim x dim */
    const float *wv;      /* kv_dim x dim */
    const float *wo;      /* dim x dim */
    const float *rms_ffn; /* dim */
    const float *w1;      /* hidden x dim (gate) */
    const float *w2;      /* dim x hidden (down) */
    const float *w3;      /* hidden x dim (up) */
} veil_layer;

/* Number of floats in one layer, and the float count of each tensor in the
 * order rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3 (the wire/serialization
 * order of a layer). */
#define VEIL_LAYER_TENSORS 9
size_t veil_layer_floats(const veil_config *c);
void veil_layer_tensor_sizes(const veil_config *c, size_t sizes[VEIL_LAYER_TENSORS]);
/* Point a veil_layer at `floats` laid out in that order (no copy). */
void veil_layer_from_floats(const veil_config *c, const float *floats, veil_layer *out);
/* Copy a layer's tensors in that order into `out` (veil_layer_floats floats). */
void veil_layer_to_floats(const veil_config *c, const veil_layer *l, float *out);

typedef struct veil_model {
    veil_config cfg;
    const float *tok_emb;   /* vocab x dim */
    const float *rms_final; /* dim */
    const float *wcls;      /* vocab x dim (== tok_emb when shared) */
    veil_layer *layers;     /* n_layers */
    uint8_t sha256[32];     /* of the whole checkpoint file */
    int format;             /* 0 legacy, 1 ak42 version 1 */
    /* private: */
    void *map;       /* NULL unless opened from a file */
    size_t map_size; /* file size when mapped */
    float *owned; /* weights held in memory instead of a mapping */
} veil_model;

/* Open a llama2.c checkpoint (legacy or "ak42" v1) by mmap. Every dimension
 * and the exact file length are validated first. */
int veil_model_open(const char *path, veil_model **out);
/* Validate a checkpoint image in memory and point a model into it (the
 * buffer is borrowed and must outlive the model). */
int veil_model_from_memory(const void *data, size_t size, veil_model **out);
/* Build a model over weights in memory laid out in the legacy format after
 * the header (used by the synthetic generator and tests). Takes ownership. */
int veil_model_from_legacy_floats(const veil_config *c, float *floats, size_t n_floats,
                                  veil_model **out);
void veil_model_close(veil_model *m);
size_t veil_model_param_count(const veil_config *c);

/* Thread count for kernels of shards/heads created afterwards by this
 * process (default: number of online CPUs, capped at 64). */
void veil_set_threads(int n);
int veil_get_threads(void);

/* ---- the three steps ---------------------------------------------------- */

void veil_embed(const veil_model *m, int token, float *x);

typedef struct veil_shard veil_shard;

/* Check a shard's shape: a valid config, a non-empty layer range inside the
 * model, and *max_seq within seq_len (0 becomes seq_len). Shared by every
 * kind of shard (float, integer). */
int veil_shard_params(const veil_config *cfg, int first, int last, int *max_seq);

/* A shard running layers [first, last) with `layers[i]` the weights of layer
 * first+i (the array is copied, the tensors are borrowed), a KV cache for
 * max_seq positions (<= cfg->seq_len; 0 = cfg->seq_len). */
int veil_shard_new(const veil_config *cfg, int first, int last, const veil_layer *layers,
                   int max_seq, veil_shard **out);
void veil_shard_free(veil_shard *s); /* wipes KV cache and scratch */
int veil_shard_first(const veil_shard *s);
int veil_shard_last(const veil_shard *s);
/* Run the shard on one token's hidden state at position pos (in place). */
int veil_shard_forward(veil_shard *s, int pos, float *x);
/* Run T consecutive positions pos..pos+T-1 as a matrix (prefill); x is T x dim.
 * Results equal T calls of veil_shard_forward bit for bit. */
int veil_shard_forward_batch(veil_shard *s, int pos, int T, float *x);
/* Optional per-layer observer, called after each layer with the hidden
 * state(s) (T x dim); used for fingerprints and dispute bisection. */
typedef void (*veil_layer_hook)(void *ctx, int layer, int pos, int T, const float *x);
void veil_shard_set_hook(veil_shard *s, veil_layer_hook hook, void *ctx);
/* Bytes held by the KV cache (keys and values together). */
size_t veil_shard_kv_bytes(const veil_shard *s);
/* The key and value cache buffers (each veil_shard_kv_bytes / 2 bytes), so a
 * TEE can lock them in memory and account for their erasure. */
void veil_shard_kv_buffers(veil_shard *s, float **keys, float **values);

/* Final RMSNorm then classifier; x is modified (normalized in place). */
void veil_head(const veil_model *m, float *x, float *logits);

/* Convenience: a shard over layers [first,last) of a loaded model. */
int veil_model_shard(const veil_model *m, int first, int last, int max_seq, veil_shard **out);

/* ---- kernels (exposed for tests, benchmarks and other modules) ---------- */

/* out[i] = sum_j W[i*n + j] * x[j], i < d.  Multi-threaded over rows; the
 * reduction order of each row is fixed, so results do not depend on the
 * thread count. */
void veil_matmul(float *out, const float *x, const float *w, int n, int d);
/* out[t*d + i] = sum_j W[i*n+j] * X[t*n+j] for T rows of X: the same dot
 * products as veil_matmul, bit for bit, with weights reused across rows. */
void veil_matmul_batch(float *out, const float *x, const float *w, int T, int n, int d);
void veil_rmsnorm(float *out, const float *x, const float *weight, int n);
void veil_softmax(float *x, int n);
/* Rotary embedding of q (dim) and k (kv_dim) at position pos. */
void veil_rope(float *q, float *k, int dim, int kv_dim, int head_size, int pos);
float veil_dot(const float *a, const float *b, int n);

#ifdef __cplusplus
}
#endif
#endif
