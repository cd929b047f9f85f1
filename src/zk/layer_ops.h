/* zk layer proofs, internal: the per-operation gadgets of the shard circuit
 * (layer_ops.c) and the views of one layer. */
#ifndef VEIL_ZK_LAYER_OPS_H
#define VEIL_ZK_LAYER_OPS_H

#include "layer_circuit.h"

#define ZK_MAX_POOLS (P_VC0 + VEIL_MAX_LAYERS)

/* The circuit under construction (prover: with values). */
typedef struct {
    zc_ctx *z;
    const zshape *s;
    int prover;
    size_t used[P_NPOOLS];          /* allocation cursor of each allocated pool */
    unsigned nv[ZK_MAX_POOLS];      /* pool sizes (log2) */
    int tid[ZK_MAX_POOLS];          /* engine tensor of each pool */
    int64_t *val[P_NPOOLS];         /* prover values of allocated pools */
    int64_t *wval[ZK_MAX_POOLS - P_W0]; /* prover: weight and KV-cache pools (pool - P_W0) */
    /* values that only a division-like relation defines (rescale outputs,
     * quotients) are bounded by 16-bit limbs: v + 2^(16n-1) = sum_j 2^16j l_j,
     * so every relation holds over the integers, not just mod ell */
    struct zbound {
        zv v, limb[4];
        int n;
    } *bnd;
    size_t nbnd, capbnd;
} zcirc;

/* RMSNorm gadget views. */
typedef struct {
    zv ss, mean, r, y, xn;
    zv m, rs, kk, kp, kq, kh;                  /* lookup pools (rows) */
    zv dr, dru, rest[4], restu[4], remr[2], remru[2], remy, remxn;
} zrms;

typedef struct {
    zv out, rem;
} zmm;

typedef struct {
    zv x, xm, xo;
    zrms n1, n2;
    zmm q, k, v, wo, w1, w3, w2;
    zv qr, kr, remq, remk;                  /* RoPE (kr: this chunk's rows of kc) */
    zv kc, vc;                              /* the whole KV cache [tau kvh i] */
    zv s0, rems0, sc, remsc;                /* scores [t kvh g tau] */
    zv mx, sum;                             /* per query row */
    zv d2, dz, zf, sel, e, reme, pp;        /* softmax [t kvh g tau] */
    zv e0i, e0v, e1i, e1v;
    zv remp[2], rempu[2];
    zv o, remo;                             /* attention output [t kvh g i] */
    zv idx, remi, ovp, ovn, ovpl[2], ovnl[2], sgi, sgv, sl, remsl, g, remg; /* SwiGLU */
} zlayer;

/* Bound a view to [-2^(16n-1), 2^(16n-1)) by n 16-bit limbs (n = 4: [0, 2^64)). */
void zk_bound(zcirc *C, zv v, int n);
/* Views of local layer li; its new K/V rows go to this chunk's slice of
 * the layer's cache pools. */
void zk_alloc_layer(zcirc *C, zlayer *L, int li, zv x_in, int last, zv x_out);
/* Prover: fill the values of a layer from its input view; w: its weight
 * pool layout; cs/sn: the RoPE table (T x head_size/2). */
int zk_witness_layer(zcirc *C, const zlayer *L, const zwlayout *w, const int32_t *cs,
                     const int32_t *sn, int32_t attn_scale);
/* Both sides: the relations of layer li (weight pool views wl). */
int zk_relations_layer(zcirc *C, const zlayer *L, const zwlayout *wl, int32_t attn_scale);
/* Prover: the limbs of every bounded value; both sides: their relations. */
void zk_witness_bounds(zcirc *C);
int zk_relations_bounds(zcirc *C);
/* Prover: fill the lookup pools with a valid default row. */
void zk_pool_defaults(zcirc *C);
/* Both sides: the shard's lookups (after all relations). */
int zk_lookups(zcirc *C);

/* Value of a view entry (prover). */
static inline int64_t *zk_at(zcirc *C, zv v, size_t i) { return &C->val[v.pool][v.off + i]; }

#endif
