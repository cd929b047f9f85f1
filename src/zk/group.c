/* ristretto255 (RFC 9496) over the twisted Edwards form of Curve25519:
 * field inversion and square roots, extended-coordinate formulas,
 * canonical encoding/decoding, the one-way map, hash-to-group generators
 * and constant-time scalar multiplication.  MSM lives in msm.c. */
#include "group_internal.h"
#include "hash_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

/* Curve constants (radix 2^51; values checked against RFC 9496 section 4.1). */
static const gf GF_D = {{0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL,
                         0x739c663a03cbbULL, 0x52036cee2b6ffULL}};
static const gf GF_D2 = {{0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL,
                          0x6738cc7407977ULL, 0x2406d9dc56dffULL}};
static const gf GF_SQRT_M1 = {{0x61b274a0ea0b0ULL, 0x0d5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL,
                               0x78595a6804c9eULL, 0x2b8324804fc1dULL}};
static const gf GF_SQRT_AD_MINUS_ONE = {{0x7f6a0497b2e1bULL, 0x1836f0a97afd2ULL,
                                         0x7d747f6be7638ULL, 0x456079e7e6498ULL,
                                         0x376931bf2b834ULL}};
static const gf GF_INVSQRT_A_MINUS_D = {{0x0fdaa805d40eaULL, 0x2eb482e57d339ULL,
                                         0x007610274bc58ULL, 0x6510b613dc8ffULL,
                                         0x786c8905cfaffULL}};
static const gf GF_ONE_MINUS_D_SQ = {{0x409c1945fc176ULL, 0x719abc6a1fc4fULL,
                                      0x1c37f90b20684ULL, 0x06bccca55eedfULL,
                                      0x029072a8b2b3eULL}};
static const gf GF_D_MINUS_ONE_SQ = {{0x55aaa44ed4d20ULL, 0x59603c3332635ULL,
                                      0x26d3baf4a7928ULL, 0x120a66e6997a9ULL,
                                      0x5968b37af66c2ULL}};
/* Encoding of the ristretto255 generator (RFC 9496 4.4 / Ed25519 base). */
static const uint8_t BASE_BYTES[32] = {
    0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
    0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76};

/* ---- field helpers ---------------------------------------------------- */

static void gf_sqr_n(gf *r, const gf *a, int n)
{
    gf_sqr(r, a);
    for (int i = 1; i < n; i++)
        gf_sqr(r, r);
}

/* z^(2^250 - 1) and z^11 (ref10 addition chain). */
static void gf_pow22501(gf *out, gf *z11, const gf *z)
{
    gf z2, z9, t, z5, z10, z20, z40, z50, z100;
    gf_sqr(&z2, z);
    gf_sqr_n(&t, &z2, 2);
    gf_mul(&z9, &t, z);
    gf_mul(z11, &z9, &z2);
    gf_sqr(&t, z11);
    gf_mul(&z5, &t, &z9); /* 2^5 - 1 */
    gf_sqr_n(&t, &z5, 5);
    gf_mul(&z10, &t, &z5);
    gf_sqr_n(&t, &z10, 10);
    gf_mul(&z20, &t, &z10);
    gf_sqr_n(&t, &z20, 20);
    gf_mul(&z40, &t, &z20);
    gf_sqr_n(&t, &z40, 10);
    gf_mul(&z50, &t, &z10);
    gf_sqr_n(&t, &z50, 50);
    gf_mul(&z100, &t, &z50);
    gf_sqr_n(&t, &z100, 100);
    gf_mul(&t, &t, &z100);
    gf_sqr_n(&t, &t, 50);
    gf_mul(out, &t, &z50);
}

static void gf_invert(gf *r, const gf *z)
{
    gf t, z11;
    gf_pow22501(&t, &z11, z);
    gf_sqr_n(&t, &t, 5);
    gf_mul(r, &t, &z11); /* z^(2^255 - 21) */
}

static void gf_pow22523(gf *r, const gf *z)
{
    gf t, z11;
    gf_pow22501(&t, &z11, z);
    gf_sqr_n(&t, &t, 2);
    gf_mul(r, &t, z); /* z^(2^252 - 3) */
}

/* Canonical little-endian encoding (fully reduced mod p). */
static void gf_tobytes(uint8_t out[32], const gf *a)
{
    gf h = *a;
    gf_carry(&h);
    gf_carry(&h);
    /* h < 2p now; subtract p if h >= p, detected by adding 19 */
    uint64_t q = (h.v[0] + 19) >> 51;
    q = (h.v[1] + q) >> 51;
    q = (h.v[2] + q) >> 51;
    q = (h.v[3] + q) >> 51;
    q = (h.v[4] + q) >> 51;
    h.v[0] += 19 * q;
    h.v[1] += h.v[0] >> 51; h.v[0] &= GF_MASK51;
    h.v[2] += h.v[1] >> 51; h.v[1] &= GF_MASK51;
    h.v[3] += h.v[2] >> 51; h.v[2] &= GF_MASK51;
    h.v[4] += h.v[3] >> 51; h.v[3] &= GF_MASK51;
    h.v[4] &= GF_MASK51;
    uint64_t w[4] = {h.v[0] | h.v[1] << 51, h.v[1] >> 13 | h.v[2] << 38,
                     h.v[2] >> 26 | h.v[3] << 25, h.v[3] >> 39 | h.v[4] << 12};
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(w[i / 8] >> (8 * (i % 8)));
}

/* Decode 255 bits (the top bit is ignored; value may be >= p). */
static void gf_frombytes(gf *r, const uint8_t in[32])
{
    uint64_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = 0;
        for (int j = 7; j >= 0; j--)
            w[i] = w[i] << 8 | in[8 * i + j];
    }
    r->v[0] = w[0] & GF_MASK51;
    r->v[1] = (w[0] >> 51 | w[1] << 13) & GF_MASK51;
    r->v[2] = (w[1] >> 38 | w[2] << 26) & GF_MASK51;
    r->v[3] = (w[2] >> 25 | w[3] << 39) & GF_MASK51;
    r->v[4] = (w[3] >> 12) & GF_MASK51;
}

static int gf_is_negative(const gf *a)
{
    uint8_t b[32];
    gf_tobytes(b, a);
    return b[0] & 1;
}

static int gf_is_zero(const gf *a)
{
    uint8_t b[32], acc = 0;
    gf_tobytes(b, a);
    for (int i = 0; i < 32; i++)
        acc |= b[i];
    return (int)(((unsigned)acc - 1) >> 8 & 1);
}

static int gf_eq(const gf *a, const gf *b)
{
    gf d;
    gf_sub(&d, a, b);
    return gf_is_zero(&d);
}

/* r = a if flag (0/1) else r. */
static void gf_cmov(gf *r, const gf *a, int flag)
{
    uint64_t m = 0 - (uint64_t)flag;
    for (int i = 0; i < 5; i++)
        r->v[i] ^= m & (r->v[i] ^ a->v[i]);
}

static void gf_cneg(gf *r, const gf *a, int flag)
{
    gf n;
    gf_neg(&n, a);
    *r = *a;
    gf_cmov(r, &n, flag);
}

static void gf_abs(gf *r, const gf *a) { gf_cneg(r, a, gf_is_negative(a)); }

/* RFC 9496 SQRT_RATIO_M1: (was_square, r) with r = +sqrt(u/v) or
 * +sqrt(i*u/v); constant time. */
static int gf_sqrt_ratio_m1(gf *r, const gf *u, const gf *v)
{
    gf v3, v7, t, check, nu, nui, rp;
    gf_sqr(&v3, v);
    gf_mul(&v3, &v3, v);  /* v^3 */
    gf_sqr(&v7, &v3);
    gf_mul(&v7, &v7, v);  /* v^7 */
    gf_mul(&t, u, &v7);
    gf_pow22523(&t, &t);  /* (u v^7)^((p-5)/8) */
    gf_mul(&t, &t, &v3);
    gf_mul(&t, &t, u);    /* r = u v^3 (u v^7)^((p-5)/8) */
    gf_sqr(&check, &t);
    gf_mul(&check, &check, v);
    gf_neg(&nu, u);
    gf_mul(&nui, &nu, &GF_SQRT_M1);
    int correct = gf_eq(&check, u);
    int flipped = gf_eq(&check, &nu);
    int flipped_i = gf_eq(&check, &nui);
    gf_mul(&rp, &t, &GF_SQRT_M1);
    gf_cmov(&t, &rp, flipped | flipped_i);
    gf_abs(r, &t);
    return correct | flipped;
}

/* ---- point formulas ------------------------------------------------------ */

typedef struct {
    gf ypx, ymx, z2, t2d;
} ge_cached;

static void ge_to_cached(ge_cached *c, const veil_ge *p)
{
    gf X, Y, Z, T;
    gf_of(&X, p->X); gf_of(&Y, p->Y); gf_of(&Z, p->Z); gf_of(&T, p->T);
    gf_add(&c->ypx, &Y, &X);
    gf_sub(&c->ymx, &Y, &X);
    gf_add(&c->z2, &Z, &Z);
    gf_mul(&c->t2d, &T, &GF_D2);
}

static void ge_add_cached(veil_ge *r, const veil_ge *p, const ge_cached *q)
{
    gf X, Y, Z, T, A, B, C, D, E, F, G, H;
    gf_of(&X, p->X); gf_of(&Y, p->Y); gf_of(&Z, p->Z); gf_of(&T, p->T);
    gf_sub(&A, &Y, &X); gf_mul(&A, &A, &q->ymx);
    gf_add(&B, &Y, &X); gf_mul(&B, &B, &q->ypx);
    gf_mul(&C, &T, &q->t2d);
    gf_mul(&D, &Z, &q->z2);
    gf_sub(&E, &B, &A);
    gf_sub(&F, &D, &C);
    gf_add(&G, &D, &C);
    gf_add(&H, &B, &A);
    gf_mul(&X, &E, &F); gf_mul(&Y, &G, &H); gf_mul(&T, &E, &H); gf_mul(&Z, &F, &G);
    gf_copy(r->X, &X); gf_copy(r->Y, &Y); gf_copy(r->Z, &Z); gf_copy(r->T, &T);
}

static void ge_from_gf(veil_ge *r, const gf *X, const gf *Y, const gf *Z, const gf *T)
{
    gf_copy(r->X, X); gf_copy(r->Y, Y); gf_copy(r->Z, Z); gf_copy(r->T, T);
}

void veil_ge_identity(veil_ge *r)
{
    memset(r, 0, sizeof *r);
    r->Y[0] = 1;
    r->Z[0] = 1;
}

void veil_ge_base(veil_ge *r)
{
    if (veil_ge_from_bytes(r, BASE_BYTES) != 0)
        abort(); /* unreachable: constant encoding */
}

void veil_ge_add(veil_ge *r, const veil_ge *a, const veil_ge *b)
{
    ge_cached c;
    ge_to_cached(&c, b);
    ge_add_cached(r, a, &c);
}

void veil_ge_neg(veil_ge *r, const veil_ge *a)
{
    gf X, T;
    gf_of(&X, a->X); gf_of(&T, a->T);
    gf_neg(&X, &X);
    gf_neg(&T, &T);
    memcpy(r->Y, a->Y, sizeof r->Y);
    memcpy(r->Z, a->Z, sizeof r->Z);
    gf_copy(r->X, &X);
    gf_copy(r->T, &T);
}

void veil_ge_sub(veil_ge *r, const veil_ge *a, const veil_ge *b)
{
    veil_ge nb;
    veil_ge_neg(&nb, b);
    veil_ge_add(r, a, &nb);
}

void veil_ge_dbl(veil_ge *r, const veil_ge *p)
{
    gf X, Y, Z, A, B, C, S, E, YpX, YmX, T;
    gf_of(&X, p->X); gf_of(&Y, p->Y); gf_of(&Z, p->Z);
    gf_sqr(&A, &X);
    gf_sqr(&B, &Y);
    gf_sqr(&C, &Z);
    gf_add(&C, &C, &C);
    gf_add(&S, &X, &Y);
    gf_sqr(&S, &S);
    gf_add(&YpX, &B, &A);   /* Y^2 + X^2 */
    gf_sub(&YmX, &B, &A);   /* Y^2 - X^2 */
    gf_sub(&E, &S, &YpX);   /* 2XY */
    gf_sub(&T, &C, &YmX);
    gf_mul(&X, &E, &T);
    gf_mul(&Y, &YpX, &YmX);
    gf_mul(&Z, &YmX, &T);
    gf_mul(&T, &E, &YpX);
    ge_from_gf(r, &X, &Y, &Z, &T);
}

int veil_ge_eq(const veil_ge *a, const veil_ge *b)
{
    gf X1, Y1, X2, Y2, l, rr;
    gf_of(&X1, a->X); gf_of(&Y1, a->Y); gf_of(&X2, b->X); gf_of(&Y2, b->Y);
    gf_mul(&l, &X1, &Y2);
    gf_mul(&rr, &Y1, &X2);
    int e1 = gf_eq(&l, &rr);
    gf_mul(&l, &Y1, &Y2);
    gf_mul(&rr, &X1, &X2);
    int e2 = gf_eq(&l, &rr);
    return e1 | e2;
}

int veil_ge_is_identity(const veil_ge *a)
{
    gf X, Y;
    gf_of(&X, a->X); gf_of(&Y, a->Y);
    return gf_is_zero(&X) | gf_is_zero(&Y);
}

/* ---- encoding ------------------------------------------------------------ */

void veil_ge_to_bytes(uint8_t out[32], const veil_ge *p)
{
    gf X, Y, Z, T, u1, u2, t, inv, den1, den2, zinv, ix, iy, ench, den_inv, s;
    gf_of(&X, p->X); gf_of(&Y, p->Y); gf_of(&Z, p->Z); gf_of(&T, p->T);
    gf_add(&t, &Z, &Y);
    gf_sub(&u1, &Z, &Y);
    gf_mul(&u1, &u1, &t);              /* (Z+Y)(Z-Y) */
    gf_mul(&u2, &X, &Y);
    gf_sqr(&t, &u2);
    gf_mul(&t, &t, &u1);
    gf one;
    gf_one(&one);
    gf_sqrt_ratio_m1(&inv, &one, &t);  /* 1/sqrt(u1 u2^2) */
    gf_mul(&den1, &inv, &u1);
    gf_mul(&den2, &inv, &u2);
    gf_mul(&zinv, &den1, &den2);
    gf_mul(&zinv, &zinv, &T);
    gf_mul(&ix, &X, &GF_SQRT_M1);
    gf_mul(&iy, &Y, &GF_SQRT_M1);
    gf_mul(&ench, &den1, &GF_INVSQRT_A_MINUS_D);
    gf_mul(&t, &T, &zinv);
    int rotate = gf_is_negative(&t);
    gf_cmov(&X, &iy, rotate);
    gf_cmov(&Y, &ix, rotate);
    den_inv = den2;
    gf_cmov(&den_inv, &ench, rotate);
    gf_mul(&t, &X, &zinv);
    gf_cneg(&Y, &Y, gf_is_negative(&t));
    gf_sub(&s, &Z, &Y);
    gf_mul(&s, &s, &den_inv);
    gf_abs(&s, &s);
    gf_tobytes(out, &s);
}

int veil_ge_from_bytes(veil_ge *r, const uint8_t in[32])
{
    gf s, ss, u1, u2, u2sq, v, t, inv, denx, deny, x, y, tt, one;
    uint8_t check[32];
    gf_frombytes(&s, in);
    gf_tobytes(check, &s);
    /* public data: early exits are fine here */
    if (!veil_ct_equal(check, in, 32))
        return veil_fail(VEIL_EINVAL, "ristretto255: non-canonical field encoding");
    if (gf_is_negative(&s))
        return veil_fail(VEIL_EINVAL, "ristretto255: negative s in encoding");
    gf_one(&one);
    gf_sqr(&ss, &s);
    gf_sub(&u1, &one, &ss);
    gf_add(&u2, &one, &ss);
    gf_sqr(&u2sq, &u2);
    gf_sqr(&t, &u1);
    gf_mul(&t, &t, &GF_D);
    gf_neg(&t, &t);
    gf_sub(&v, &t, &u2sq);             /* -(d u1^2) - u2^2 */
    gf_mul(&t, &v, &u2sq);
    int was_square = gf_sqrt_ratio_m1(&inv, &one, &t);
    gf_mul(&denx, &inv, &u2);
    gf_mul(&deny, &inv, &denx);
    gf_mul(&deny, &deny, &v);
    gf_mul(&x, &s, &denx);
    gf_add(&x, &x, &x);
    gf_abs(&x, &x);
    gf_mul(&y, &u1, &deny);
    gf_mul(&tt, &x, &y);
    if (!was_square || gf_is_negative(&tt) || gf_is_zero(&y))
        return veil_fail(VEIL_EINVAL, "ristretto255: encoding is not a valid group element");
    ge_from_gf(r, &x, &y, &one, &tt);
    return 0;
}

/* RFC 9496 MAP: 32 bytes (top bit masked, reduced mod p) to a point. */
static void ge_elligator(veil_ge *out, const uint8_t in[32])
{
    gf t, r, u, v, s, sp, c, N, w0, w1, w2, w3, one, tmp;
    gf_frombytes(&t, in);
    gf_one(&one);
    gf_sqr(&r, &t);
    gf_mul(&r, &r, &GF_SQRT_M1);
    gf_add(&u, &r, &one);
    gf_mul(&u, &u, &GF_ONE_MINUS_D_SQ);
    gf_mul(&tmp, &r, &GF_D);
    gf_add(&tmp, &tmp, &one);
    gf_neg(&v, &tmp);                  /* -1 - r d */
    gf_add(&tmp, &r, &GF_D);
    gf_mul(&v, &v, &tmp);              /* (-1 - r d)(r + d) */
    int was_square = gf_sqrt_ratio_m1(&s, &u, &v);
    gf_mul(&sp, &s, &t);
    gf_abs(&sp, &sp);
    gf_neg(&sp, &sp);
    gf_cmov(&s, &sp, !was_square);
    gf_neg(&c, &one);
    gf_cmov(&c, &r, !was_square);
    gf_sub(&tmp, &r, &one);
    gf_mul(&N, &c, &tmp);
    gf_mul(&N, &N, &GF_D_MINUS_ONE_SQ);
    gf_sub(&N, &N, &v);
    gf_mul(&w0, &s, &v);
    gf_add(&w0, &w0, &w0);
    gf_mul(&w1, &N, &GF_SQRT_AD_MINUS_ONE);
    gf_sqr(&tmp, &s);
    gf_sub(&w2, &one, &tmp);
    gf_add(&w3, &one, &tmp);
    gf X, Y, Z, T;
    gf_mul(&X, &w0, &w3);
    gf_mul(&Y, &w2, &w1);
    gf_mul(&Z, &w1, &w3);
    gf_mul(&T, &w0, &w2);
    ge_from_gf(out, &X, &Y, &Z, &T);
}

void veil_ge_from_uniform(veil_ge *r, const uint8_t in[64])
{
    veil_ge a, b;
    ge_elligator(&a, in);
    ge_elligator(&b, in + 32);
    veil_ge_add(r, &a, &b);
}

void veil_ge_hash(veil_ge *r, const char *label, const void *data, size_t n)
{
    static const char tag[] = "veil-hash-to-ristretto255-v1";
    uint8_t h[64];
    unsigned int hl = 64;
    EVP_MD_CTX *ctx = zk_md_begin(EVP_sha512(), "SHA-512");
    EVP_DigestUpdate(ctx, tag, sizeof tag);
    zk_md_field(ctx, label, label ? strlen(label) : 0);
    zk_md_field(ctx, data, n);
    EVP_DigestFinal_ex(ctx, h, &hl);
    EVP_MD_CTX_free(ctx);
    veil_ge_from_uniform(r, h);
}

void veil_ge_generators(const char *label, size_t n, veil_ge *out)
{
#pragma omp parallel for schedule(static) if (n >= 256)
    for (size_t i = 0; i < n; i++) {
        uint8_t idx[8];
        zk_put_u64(idx, (uint64_t)i);
        veil_ge_hash(&out[i], label, idx, 8);
    }
}

/* ---- scalar multiplication ------------------------------------------------- */

static void cached_identity(ge_cached *c)
{
    memset(c, 0, sizeof *c);
    c->ypx.v[0] = 1;
    c->ymx.v[0] = 1;
    c->z2.v[0] = 2;
}

static void cached_cmov(ge_cached *r, const ge_cached *a, int flag)
{
    gf_cmov(&r->ypx, &a->ypx, flag);
    gf_cmov(&r->ymx, &a->ymx, flag);
    gf_cmov(&r->z2, &a->z2, flag);
    gf_cmov(&r->t2d, &a->t2d, flag);
}

/* table[j] = (j+1) P; picks |d| P (d in [-8, 8]) touching every entry. */
static void cached_select(ge_cached *r, const ge_cached table[8], int d)
{
    unsigned neg = (unsigned)d >> 31 & 1;
    unsigned mag = (unsigned)((d ^ -(int)neg) + (int)neg);
    cached_identity(r);
    for (unsigned j = 0; j < 8; j++) {
        unsigned diff = mag ^ (j + 1);
        cached_cmov(r, &table[j], (int)((diff - 1) >> 31 & 1));
    }
    /* -Q: swap y+x and y-x, negate 2dT */
    gf tmp = r->ypx, nt;
    gf_cmov(&r->ypx, &r->ymx, (int)neg);
    gf_cmov(&r->ymx, &tmp, (int)neg);
    gf_neg(&nt, &r->t2d);
    gf_cmov(&r->t2d, &nt, (int)neg);
}

void veil_ge_mul(veil_ge *r, const veil_ge *p, const veil_fe *k)
{
    uint64_t limbs[4];
    int8_t e[64];
    ge_cached table[8], sel;
    veil_ge acc, q = *p;

    veil_fe_to_limbs(limbs, k);
    /* signed radix-16 digits: k = sum e[i] 16^i, e[i] in [-8, 8) (e[63] <= 8) */
    int carry = 0;
    for (int i = 0; i < 64; i++) {
        int nib = (int)((limbs[i / 16] >> (4 * (i % 16))) & 15) + carry;
        carry = (nib + 8) >> 4;
        e[i] = (int8_t)(nib - (carry << 4));
    }
    ge_to_cached(&table[0], &q);
    for (int j = 1; j < 8; j++) {
        ge_add_cached(&acc, &q, &table[j - 1]);  /* (j+1) P */
        ge_to_cached(&table[j], &acc);
    }
    veil_ge_identity(&acc);
    for (int i = 63; i >= 0; i--) {
        for (int d = 0; d < 4; d++)
            veil_ge_dbl(&acc, &acc);
        cached_select(&sel, table, e[i]);
        ge_add_cached(&acc, &acc, &sel);
    }
    *r = acc;
    veil_wipe(limbs, sizeof limbs);
    veil_wipe(e, sizeof e);
    veil_wipe(table, sizeof table);
}

/* ---- normalisation for MSM --------------------------------------------------- */

int veil_ge_prepare(veil_ge_affine *out, const veil_ge *in, size_t n)
{
    if (n == 0)
        return 0;
    gf *prefix = malloc(n * sizeof *prefix);
    if (!prefix)
        return veil_fail(VEIL_ENOMEM, "out of memory normalising %zu points", n);
    gf acc, inv, zi, x, y, z;
    gf_one(&acc);
    for (size_t i = 0; i < n; i++) {
        prefix[i] = acc;
        gf_of(&z, in[i].Z);
        gf_mul(&acc, &acc, &z);
    }
    gf_invert(&inv, &acc);
    for (size_t i = n; i-- > 0;) {
        gf_mul(&zi, &inv, &prefix[i]); /* 1/Z_i */
        gf_of(&z, in[i].Z);
        gf_mul(&inv, &inv, &z);
        gf_of(&x, in[i].X);
        gf_of(&y, in[i].Y);
        gf_mul(&x, &x, &zi);
        gf_mul(&y, &y, &zi);
        gf s, d, t;
        gf_add(&s, &y, &x);
        gf_carry(&s);
        gf_sub(&d, &y, &x);
        gf_mul(&t, &x, &y);
        gf_mul(&t, &t, &GF_D2);
        gf_copy(out[i].ypx, &s);
        gf_copy(out[i].ymx, &d);
        gf_copy(out[i].xy2d, &t);
    }
    free(prefix);
    return 0;
}
