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
 * (reads the same messages from the proof bytes and checks).
 *
 * Zero knowledge (Hyrax style, Wahby et al. 2018 sec. 4): no value the
 * prover computes is sent in the clear.  Sum-check rounds and tensor
 * evaluations are Pedersen value commitments (zc_val), the verifier's
 * arithmetic on them is linear on the commitments, a product of two
 * committed values comes with a proof of product, the openings prove a
 * committed value, and every equality the verifier would check is a
 * commitment that must open to zero: one Schnorr proof on a random
 * combination of all of them ends the proof (zc_zero_finish). */
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

/* A scalar of the proof (layer_values.c): pub + the value committed in C.
 * Both sides agree on pub and com; the verifier holds C, the prover the
 * committed part v and its blinding s (C = v U + s H).  Nothing the prover
 * knows reaches the verifier except through such commitments. */
typedef struct {
    veil_fe pub;
    int com;     /* has a committed part */
    veil_ge C;   /* verifier (and the prover for values it sent) */
    veil_fe v, s;
} zc_val;

typedef struct {
    unsigned nvars;
    int kind;
    veil_fe *f;                /* values (prover: all; verifier: public only) */
    veil_hyrax_commitment cm;  /* committed tensors */
    veil_fe *blinds;           /* prover: row blindings */
    int external;              /* commitment supplied by the caller (not in the proof) */
    size_t nclaims, cap;
    veil_fe *pts;              /* claims: nclaims x nvars points */
    zc_val *vals;              /* and their values */
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
        zc_val v;
    } ev[ZC_EVCACHE];
    /* values that must be zero (zc_val_zero): prover blindings, verifier points */
    veil_fe *zs;
    veil_ge *zp;
    size_t nzero, capzero;
    const veil_pedersen_gens *pg;
    unsigned cols;  /* log2 of the row width of the proof's own tensors (0: the smallest) */
    zc_tensor t[ZC_MAX_TENSORS];
    int nt;
    uint8_t *buf; /* proof bytes: prover appends, verifier reads */
    size_t len, cap, pos;
} zc_ctx;

void zc_init(zc_ctx *z, int prover, const veil_pedersen_gens *pg, const char *domain,
             uint8_t *proof, size_t proof_len);
void zc_free(zc_ctx *z);

/* Before the first tensor: size the rows of the proof's own tensors for a
 * largest tensor of 2^max_nvars entries (both sides must agree). */
void zc_set_row_width(zc_ctx *z, unsigned max_nvars);

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
int zc_bytes_io(zc_ctx *z, uint8_t *p, size_t n, int absorb, const char *label);
/* A group element on the wire (32 bytes; the verifier's is validated). */
int zc_point_io(zc_ctx *z, veil_ge *P, int absorb, const char *label);

/* ---- committed scalars (layer_values.c) ---- */
void zc_val_pub(zc_val *x, const veil_fe *c);
void zc_val_pub_i64(zc_val *x, int64_t c);
/* Prover: the value pub + v. */
void zc_val_full(const zc_val *x, veil_fe *out);
/* Send (prover: value *v, fresh blinding) or receive a committed scalar. */
int zc_val_io(zc_ctx *z, const char *label, zc_val *x, const veil_fe *v);
/* y += k x (k public). */
void zc_val_axpy(zc_ctx *z, zc_val *y, const veil_fe *k, const zc_val *x);
/* out = sum k_i x_i (the verifier's commitments by one MSM). */
int zc_val_lincomb(zc_ctx *z, zc_val *out, const veil_fe *k, const zc_val *const *x, size_t n);
/* c prod f_i: public factors are folded into *c, committed ones multiplied
 * (zc_val_mul) into *P (public 1 when there are none). */
int zc_val_product(zc_ctx *z, const zc_val *const *f, int n, veil_fe *c, zc_val *P);
/* Both sides: the commitment to the full value (pub U + C). */
void zc_val_point(const zc_ctx *z, const zc_val *x, veil_ge *P);
/* out = a b: linear when a factor is public, else a committed product with
 * its proof of product. */
int zc_val_mul(zc_ctx *z, zc_val *out, const zc_val *a, const zc_val *b);
/* The check "x = 0", deferred to zc_zero_finish (prover: fails now with
 * "prover: what" if it does not hold). */
int zc_val_zero(zc_ctx *z, const zc_val *x, const char *what);
/* One proof that every deferred check holds (a random combination of the
 * commitments opens to 0). */
int zc_zero_finish(zc_ctx *z);

/* A sum-check whose rounds are committed: the prover runs
 * veil_sc_prove_hooked (or veil_logup_prove_hooked) with zc_round_hook
 * and the state; the verifier calls zc_rounds_read; both then get the
 * final claim from zc_rounds_final. */
typedef struct {
    zc_ctx *z;
    unsigned n, deg;
    zc_val *c; /* n x deg: g_i(0), g_i(2), .., g_i(deg) */
    veil_fe *g; /* prover: the rounds in full, n x (deg + 1), for the hooked prover */
} zc_rounds;
int zc_rounds_init(zc_ctx *z, zc_rounds *rs, unsigned n, unsigned deg);
void zc_rounds_free(zc_rounds *rs);
int zc_round_hook(void *ctx, veil_transcript *t, unsigned i, const veil_fe *g, unsigned deg);
int zc_rounds_read(zc_rounds *rs, veil_fe *rho);
int zc_rounds_final(zc_rounds *rs, const zc_val *claim, const veil_fe *rho, zc_val *final);

void zc_fe_i64(veil_fe *r, int64_t v);

#endif
