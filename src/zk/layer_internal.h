/* zk layer proofs, internal: a small proof engine over committed tensors.
 *
 * A tensor is a table of 2^nvars integers or field elements (zk_mle.h
 * order), either committed (Hyrax, zk_commit.h) or public (the verifier
 * knows it, e.g. the RoPE table).  Statements are:
 *
 *  - relations  L[A] = sum_C sum_p coef_p prod_k op_pk[A, C]  where L and op
 *    are linear forms over tensors (with a constant), every tensor's
 *    coordinates being mapped to relation variables (or fixed to 0/1, which
 *    slices a tensor).  This covers matrix products, reductions, elementwise
 *    products (all variables in A), broadcasts and linear identities.  The
 *    verifier draws r_A; one sum-check over C and the A variables shared by
 *    two or more factors (weighted by eq(r_A, .)) reduces the relation to
 *    evaluation claims on the tensors;
 *  - lookups  (in[x], out[x]) in a public table, and range checks, by logUp
 *    (zk_lookup.h), whose multiplicities and inverses are committed too.
 *
 * All claims on one tensor are finally reduced to one point by a sum-check
 * and opened by a Hyrax inner-product argument.  The same code runs the
 * prover (ctx.prover = 1: computes, writes messages) and the verifier
 * (reads the same messages from the proof bytes and checks). */
#ifndef VEIL_ZK_LAYER_INTERNAL_H
#define VEIL_ZK_LAYER_INTERNAL_H

#include "veil/zk_commit.h"
#include "veil/zk_lookup.h"

#define ZC_MAX_TENSORS 160
#define ZC_MAX_VARS 30
#define ZC_C0 0xFE /* map entry: coordinate fixed to 0 */
#define ZC_C1 0xFF /* coordinate fixed to 1 */
#define ZC_MAX_TERMS 6

enum { ZC_COMMITTED = 1, ZC_PUBLIC = 2 };

typedef struct {
    unsigned nvars;
    int kind;
    veil_fe *f;                /* values (prover: all; verifier: public only) */
    veil_hyrax_commitment cm;  /* committed tensors */
    veil_fe *blinds;           /* prover: row blindings */
    int external;              /* commitment supplied by the caller (not in the proof) */
    size_t nclaims, cap;
    veil_fe *pts, *vals;       /* claims: nclaims x nvars points, values */
} zc_tensor;

typedef struct {
    int t;                       /* tensor index */
    veil_fe c;                   /* coefficient */
    uint8_t map[ZC_MAX_VARS];    /* tensor coordinate k -> relation variable */
} zc_term;

typedef struct {
    int n;
    zc_term term[ZC_MAX_TERMS];
    veil_fe cst;
} zc_lin;

typedef struct {
    veil_fe coef;
    int nops; /* 1..3 */
    zc_lin op[3];
} zc_prod;

typedef struct {
    unsigned nA, nC; /* relation variables 0..nA-1 are free, nA..nA+nC-1 summed */
    zc_lin lhs;      /* over the free variables */
    int nprod;       /* 1..3 products */
    zc_prod prod[3];
} zc_rel;

#define ZC_EVCACHE 96 /* distinct evaluations remembered at one point */

typedef struct {
    int prover;
    int threads;
    veil_transcript tr;
    zc_rel *pend; /* relations waiting for their sum-checks (zc_relation) */
    int npend, cappend;
    /* while a batch evaluates its forms at one point: the tensor evaluations
     * already sent there, so a view used by several relations is sent once */
    const veil_fe *ev_at;
    int nev;
    struct zc_ev {
        int t;
        uint8_t map[ZC_MAX_VARS];
        veil_fe v;
    } ev[ZC_EVCACHE];
    const veil_pedersen_gens *pg;
    zc_tensor t[ZC_MAX_TENSORS];
    int nt;
    uint8_t *buf; /* proof bytes: prover appends, verifier reads */
    size_t len, cap, pos;
} zc_ctx;

void zc_init(zc_ctx *z, int prover, const veil_pedersen_gens *pg, const char *domain,
             uint8_t *proof, size_t proof_len);
void zc_free(zc_ctx *z);

/* New tensors.  Prover: values given (copied; ints zero-padded to 2^nvars).
 * Verifier: NULL values for committed tensors.  Committed tensors are
 * committed and the commitment written/read (absorbed either way), unless
 * `external` is given (then it is copied and only absorbed). */
int zc_tensor_i64(zc_ctx *z, unsigned nvars, const int64_t *v, size_t len,
                  const veil_hyrax_commitment *external, const veil_fe *ext_blinds);
int zc_tensor_fe(zc_ctx *z, unsigned nvars, const veil_fe *v, size_t len);
int zc_tensor_public(zc_ctx *z, unsigned nvars, const int64_t *v, size_t len);

/* Linear-form helpers. */
void zc_lin_init(zc_lin *l, int64_t cst);
/* Add c * tensor t, whose coordinates map to relation variables `map`
 * (nvars entries; ZC_C0/ZC_C1 fix a coordinate). */
void zc_lin_add(zc_lin *l, int t, int64_t c, const uint8_t *map, unsigned nvars);
/* map helper: dst[i] = first + i for i < n */
void zc_map_range(uint8_t *dst, unsigned first, unsigned n);

/* Relations are deferred and batched: before the next lookup (or at
 * zc_finish) the pending relations are grouped by shape (the same free,
 * summed and shared variables), and each group is reduced by one sum-check
 * on a random combination of its relations (powers of a challenge drawn
 * after their left-hand sides), so a proof carries far fewer rounds.  A
 * failure therefore surfaces at that later call. */
int zc_relation(zc_ctx *z, const zc_rel *r);

/* Lookup of tuples (col_0[x], .., col_{nc-1}[x]) in a public table of 2^b
 * rows (nc = 1 with identity: a range check [0, 2^b)), x over the a
 * variables of S.  idx (prover) gives the table row of each of the 2^a
 * entries.  The columns are combined with powers of a challenge. */
#define ZC_MAX_COLS 4
typedef struct {
    unsigned a, b;
    int ncols;
    zc_lin col[ZC_MAX_COLS];
    const veil_fe *tcol[ZC_MAX_COLS]; /* public columns; tcol[0] NULL = identity */
    const uint32_t *idx;              /* prover */
} zc_lookup;

int zc_lookup_prove_verify(zc_ctx *z, const zc_lookup *lk);

/* Reduce every tensor's claims to one and open it. */
int zc_finish(zc_ctx *z);

/* Raw message IO (absorbed unless raw). */
int zc_fe_io(zc_ctx *z, const char *label, veil_fe *v);
int zc_bytes_io(zc_ctx *z, uint8_t *p, size_t n, int absorb, const char *label);

void zc_fe_i64(veil_fe *r, int64_t v);

#endif
