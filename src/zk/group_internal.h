/* Private to the zk group code (group.c, msm.c): arithmetic in
 * GF(2^255-19), radix 2^51 (5 x 64-bit limbs), and the point formulas.
 *
 * Limb bounds: results of gf_mul/gf_sqr/gf_sub/gf_carry are "loose"
 * (< 2^52); gf_add of two loose values is < 2^53, still a valid input of
 * gf_mul (products stay far below 2^128) and of gf_sub (which adds 16p).
 * Nothing here branches on values. */
#ifndef VEIL_ZK_GROUP_INTERNAL_H
#define VEIL_ZK_GROUP_INTERNAL_H

#include "veil/zk_group.h"

#include <string.h>

__extension__ typedef unsigned __int128 gf_u128;
typedef struct {
    uint64_t v[5];
} gf;

#define GF_MASK51 ((uint64_t)0x7ffffffffffff)

static inline void gf_set(gf *r, const uint64_t v[5]) { memcpy(r->v, v, sizeof r->v); }
static inline void gf_copy(uint64_t r[5], const gf *a) { memcpy(r, a->v, sizeof a->v); }

static inline void gf_zero(gf *r) { memset(r, 0, sizeof *r); }
static inline void gf_one(gf *r)
{
    memset(r, 0, sizeof *r);
    r->v[0] = 1;
}

static inline void gf_add(gf *r, const gf *a, const gf *b)
{
    for (int i = 0; i < 5; i++)
        r->v[i] = a->v[i] + b->v[i];
}

/* Propagate carries so every limb is < 2^51 + 2^13 or so. */
static inline void gf_carry(gf *r)
{
    uint64_t c;
    c = r->v[0] >> 51; r->v[0] &= GF_MASK51; r->v[1] += c;
    c = r->v[1] >> 51; r->v[1] &= GF_MASK51; r->v[2] += c;
    c = r->v[2] >> 51; r->v[2] &= GF_MASK51; r->v[3] += c;
    c = r->v[3] >> 51; r->v[3] &= GF_MASK51; r->v[4] += c;
    c = r->v[4] >> 51; r->v[4] &= GF_MASK51; r->v[0] += 19 * c;
}

/* r = a - b, computed as a + 16p - b (b < 2^55 per limb). */
static inline void gf_sub(gf *r, const gf *a, const gf *b)
{
    r->v[0] = a->v[0] + 0x7ffffffffffed0ULL - b->v[0];
    r->v[1] = a->v[1] + 0x7ffffffffffff0ULL - b->v[1];
    r->v[2] = a->v[2] + 0x7ffffffffffff0ULL - b->v[2];
    r->v[3] = a->v[3] + 0x7ffffffffffff0ULL - b->v[3];
    r->v[4] = a->v[4] + 0x7ffffffffffff0ULL - b->v[4];
    gf_carry(r);
}

static inline void gf_neg(gf *r, const gf *a)
{
    gf z;
    gf_zero(&z);
    gf_sub(r, &z, a);
}

static inline void gf_reduce_wide(gf *r, gf_u128 t0, gf_u128 t1, gf_u128 t2, gf_u128 t3,
                                  gf_u128 t4)
{
    t1 += t0 >> 51;
    t2 += t1 >> 51;
    t3 += t2 >> 51;
    t4 += t3 >> 51;
    gf_u128 w = (t4 >> 51) * 19 + ((uint64_t)t0 & GF_MASK51);
    r->v[0] = (uint64_t)w & GF_MASK51;
    r->v[1] = ((uint64_t)t1 & GF_MASK51) + (uint64_t)(w >> 51);
    r->v[2] = (uint64_t)t2 & GF_MASK51;
    r->v[3] = (uint64_t)t3 & GF_MASK51;
    r->v[4] = (uint64_t)t4 & GF_MASK51;
}

static inline void gf_mul(gf *r, const gf *a, const gf *b)
{
    const uint64_t *x = a->v, *y = b->v;
    uint64_t y1 = y[1] * 19, y2 = y[2] * 19, y3 = y[3] * 19, y4 = y[4] * 19;
    gf_u128 t0 = (gf_u128)x[0] * y[0] + (gf_u128)x[1] * y4 + (gf_u128)x[2] * y3 +
                 (gf_u128)x[3] * y2 + (gf_u128)x[4] * y1;
    gf_u128 t1 = (gf_u128)x[0] * y[1] + (gf_u128)x[1] * y[0] + (gf_u128)x[2] * y4 +
                 (gf_u128)x[3] * y3 + (gf_u128)x[4] * y2;
    gf_u128 t2 = (gf_u128)x[0] * y[2] + (gf_u128)x[1] * y[1] + (gf_u128)x[2] * y[0] +
                 (gf_u128)x[3] * y4 + (gf_u128)x[4] * y3;
    gf_u128 t3 = (gf_u128)x[0] * y[3] + (gf_u128)x[1] * y[2] + (gf_u128)x[2] * y[1] +
                 (gf_u128)x[3] * y[0] + (gf_u128)x[4] * y4;
    gf_u128 t4 = (gf_u128)x[0] * y[4] + (gf_u128)x[1] * y[3] + (gf_u128)x[2] * y[2] +
                 (gf_u128)x[3] * y[1] + (gf_u128)x[4] * y[0];
    gf_reduce_wide(r, t0, t1, t2, t3, t4);
}

static inline void gf_sqr(gf *r, const gf *a)
{
    const uint64_t *x = a->v;
    uint64_t d0 = 2 * x[0], d1 = 2 * x[1];
    uint64_t x3_19 = 19 * x[3], x4_19 = 19 * x[4], d4_19 = 2 * x4_19;
    gf_u128 t0 = (gf_u128)x[0] * x[0] + (gf_u128)d1 * x4_19 + (gf_u128)(2 * x[2]) * x3_19;
    gf_u128 t1 = (gf_u128)d0 * x[1] + (gf_u128)(2 * x[2]) * x4_19 + (gf_u128)x[3] * x3_19;
    gf_u128 t2 = (gf_u128)d0 * x[2] + (gf_u128)x[1] * x[1] + (gf_u128)x[3] * d4_19;
    gf_u128 t3 = (gf_u128)d0 * x[3] + (gf_u128)d1 * x[2] + (gf_u128)x[4] * x4_19;
    gf_u128 t4 = (gf_u128)d0 * x[4] + (gf_u128)d1 * x[3] + (gf_u128)x[2] * x[2];
    gf_reduce_wide(r, t0, t1, t2, t3, t4);
}

static inline void gf_of(gf *r, const uint64_t v[5]) { memcpy(r->v, v, 40); }

/* r = p + q (q in affine Niels form); negate: r = p - q. negate must be a
 * public bit here (MSM only). */
static inline void ge_add_affine(veil_ge *r, const veil_ge *p, const veil_ge_affine *q, int negate)
{
    gf X, Y, Z, T, A, B, C, D, E, F, G, H, qp, qm, qt;
    gf_of(&X, p->X); gf_of(&Y, p->Y); gf_of(&Z, p->Z); gf_of(&T, p->T);
    gf_of(&qp, negate ? q->ymx : q->ypx);
    gf_of(&qm, negate ? q->ypx : q->ymx);
    gf_of(&qt, q->xy2d);
    gf_sub(&A, &Y, &X); gf_mul(&A, &A, &qm);
    gf_add(&B, &Y, &X); gf_mul(&B, &B, &qp);
    gf_mul(&C, &T, &qt);
    gf_add(&D, &Z, &Z);
    gf_sub(&E, &B, &A);
    gf_add(&H, &B, &A);
    if (negate) {
        gf_add(&F, &D, &C);
        gf_sub(&G, &D, &C);
    } else {
        gf_sub(&F, &D, &C);
        gf_add(&G, &D, &C);
    }
    gf_mul(&X, &E, &F); gf_mul(&Y, &G, &H); gf_mul(&T, &E, &H); gf_mul(&Z, &F, &G);
    gf_copy(r->X, &X); gf_copy(r->Y, &Y); gf_copy(r->Z, &Z); gf_copy(r->T, &T);
}

#endif
