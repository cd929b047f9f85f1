/* Private layout of SVE keys, shared by sve_keys.c (drawing, client-side
 * basis changes) and sve_fold.c (folding the keys into layer weights). */
#ifndef VEIL_SVE_INTERNAL_H
#define VEIL_SVE_INTERNAL_H

#include "veil/sve.h"

/* Secrets of one transformer layer.  "src" arrays map a transformed position
 * to the original index it holds. */
typedef struct {
    int *kvsrc;     /* n_kv_heads: original KV head at transformed KV slot */
    int *qsrc;      /* n_heads: original query head at transformed slot */
    double *pair;   /* n_kv_heads * hs/2 * 3: (s, cos, sin): k' = R k / s, q' = s R q */
    double *vmap;   /* n_kv_heads * hs * hs: V_g (v' = V_g v), row-major */
    double *vinv;   /* n_kv_heads * hs * hs: V_g^-1 */
    int *hsrc;      /* hidden_dim: original SwiGLU unit at transformed unit */
    double *hscale; /* hidden_dim: d_i, up' = d_i up, so h' = d_i h */
} sve_layer_keys;

struct veil_sve_keys {
    veil_config cfg;
    veil_sve_variant variant;
    int n_shards, hop, n_seg;
    int *bounds;           /* n_shards + 1 */
    double *q;             /* n_seg * dim * dim, x' = Q x, row-major */
    sve_layer_keys *layer; /* n_layers */
};

/* Residual basis of shard s (dim x dim, row-major). */
const double *sve_basis(const veil_sve_keys *k, int shard_idx);

#endif
