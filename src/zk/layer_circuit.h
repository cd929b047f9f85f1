/* zk layer proofs, internal: the circuit of a shard of the integer forward
 * pass over the proof engine (layer_internal.h).
 *
 * Every value lives in a slice ("view") of a pool tensor, so a whole shard
 * needs few commitments: the activations pool A, the 16-bit range pool R,
 * the lookup pools (sigmoid, exp digits, reciprocal square root, powers),
 * one weight pool per layer (the registry commitment) and the two boundary
 * tensors.  Slices are 2^k entries at offsets aligned to 2^k, so a slice is
 * the pool's multilinear extension with the top coordinates fixed. */
#ifndef VEIL_ZK_LAYER_CIRCUIT_H
#define VEIL_ZK_LAYER_CIRCUIT_H

#include "layer_internal.h"
#include "veil/zk_layer.h"

enum {
    P_A,    /* activations and per-row scalars */
    P_R,    /* values range-checked in [0, 2^16) */
    P_SGI,  /* sigmoid lookups: table row, value */
    P_SGV,
    P_E0I,  /* exp low digit: digit, value */
    P_E0V,
    P_E1I,  /* exp high digit */
    P_E1V,
    P_RSM,  /* rsqrt: m, value */
    P_RSV,
    P_KK,   /* powers: k, 4^k, 2^k, half 2^k */
    P_KP,
    P_KQ,
    P_KH,
    P_XIN,  /* boundary tensors */
    P_XOUT,
    P_COS,  /* public */
    P_SIN,
    P_VALID,
    P_ROWMASK, /* 1 for the T real rows: the output boundary keeps only them */
    P_NPOOLS
};
#define P_W0 P_NPOOLS /* weight pool of local layer li is P_W0 + li */
/* The KV cache of local layer li: rotated keys P_KC0 + li, values P_VC0 + li,
 * each 2^cb positions x 2^kb (one Hyrax row per position, so the client can
 * carry the commitments of earlier positions from step to step). */
#define P_KC0 (P_W0 + VEIL_MAX_LAYERS)
#define P_VC0 (P_KC0 + VEIL_MAX_LAYERS)

typedef struct {
    int pool;
    unsigned k;  /* 2^k entries */
    size_t off;  /* aligned to 2^k */
} zv;

/* Padded shape: log2 sizes.  A proof covers the T tokens at positions
 * pos..pos+T-1 (pos a multiple of 2^tb, so the chunk is an aligned slice of
 * the cache) attending over the cache of 2^cb >= pos + 2^tb positions. */
typedef struct {
    veil_config c;
    int pos, T, hs, G;
    unsigned tb, db, hb, sb, gb, kvb, qb, kb; /* T, dim, hidden, head, group, kv heads, q, kv row */
    unsigned cb;                              /* cache positions */
} zshape;

int zshape_init(zshape *s, const veil_config *c, int pos, int T);

/* Weight pool layout of one layer. */
typedef struct {
    zv ga, wq, wk, wv, wo, gf, w1, w3, w2;
    unsigned nvars;
} zwlayout;
void zw_layout(const zshape *s, int pool, zwlayout *w);
/* The padded weight pool values (2^nvars int64, heap). */
int64_t *zw_values(const zshape *s, const zwlayout *w, const veil_qlayer *l);

#endif
