/* Scalar field Z_ell of ristretto255 in Montgomery form (R = 2^256).
 * Multiplication is CIOS Montgomery on 4 x 64-bit limbs with 128-bit
 * products; every reduction is a masked (branch-free) subtraction. */
#include "veil/zk_field.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

static const uint64_t ELL[4] = {0x5812631a5cf5d3edULL, 0x14def9dea2f79cd6ULL,
                                0x0000000000000000ULL, 0x1000000000000000ULL};
/* -ell^-1 mod 2^64 */
static const uint64_t N0 = 0xd2b51da312547e1bULL;
/* R mod ell (Montgomery one), R^2 mod ell and R^3 mod ell (conversions). */
static const veil_fe FE_R1 = {{0xd6ec31748d98951dULL, 0xc6ef5bf4737dcf70ULL,
                               0xfffffffffffffffeULL, 0x0fffffffffffffffULL}};
static const veil_fe FE_R2 = {{0xa40611e3449c0f01ULL, 0xd00e1ba768859347ULL,
                               0xceec73d217f5be65ULL, 0x0399411b7c309a3dULL}};
static const veil_fe FE_R3 = {{0x2a9e49687b83a2dbULL, 0x278324e6aef7f3ecULL,
                               0x8065dc6c04ec5b65ULL, 0x0e530b773599cec7ULL}};

/* r = t - ell if t (5 limbs, t < 2 ell) >= ell, else t; branch-free. */
static inline void reduce_once(uint64_t r[4], const uint64_t t[5])
{
    uint64_t d[4], borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 x = (u128)t[i] - ELL[i] - borrow;
        d[i] = (uint64_t)x;
        borrow = (uint64_t)(x >> 64) & 1;
    }
    /* keep t when t < ell, i.e. when the 5-limb subtraction borrows */
    uint64_t keep = 0 - (uint64_t)(((u128)t[4] - borrow) >> 64 & 1);
    for (int i = 0; i < 4; i++)
        r[i] = (t[i] & keep) | (d[i] & ~keep);
}

/* r = a * b / R mod ell, for a * b < R * ell (so any a < R with b < ell). */
static inline void mont_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        uint64_t c = 0;
        for (int j = 0; j < 4; j++) {
            u128 x = (u128)a[j] * b[i] + t[j] + c;
            t[j] = (uint64_t)x;
            c = (uint64_t)(x >> 64);
        }
        u128 x = (u128)t[4] + c;
        t[4] = (uint64_t)x;
        t[5] = (uint64_t)(x >> 64);
        uint64_t m = t[0] * N0;
        x = (u128)m * ELL[0] + t[0];
        c = (uint64_t)(x >> 64);
        for (int j = 1; j < 4; j++) {
            x = (u128)m * ELL[j] + t[j] + c;
            t[j - 1] = (uint64_t)x;
            c = (uint64_t)(x >> 64);
        }
        x = (u128)t[4] + c;
        t[3] = (uint64_t)x;
        t[4] = t[5] + (uint64_t)(x >> 64);
    }
    reduce_once(r, t);
}

/* r = a * b / R mod ell for fully reduced a, b < ell: CIOS specialised to
 * the shape of ell (limb 2 is zero, limb 3 is 2^60) and to 4-limb
 * intermediates (t < 2 ell < 2^254 after every outer step). */
static inline void mont_mul_reduced(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4;
    for (int i = 0; i < 4; i++) {
        uint64_t bi = b[i], c;
        u128 x = (u128)a[0] * bi + t0;
        t0 = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)a[1] * bi + t1 + c;
        t1 = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)a[2] * bi + t2 + c;
        t2 = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)a[3] * bi + t3 + c;
        t3 = (uint64_t)x; t4 = (uint64_t)(x >> 64);
        uint64_t m = t0 * N0;
        x = (u128)m * ELL[0] + t0;
        c = (uint64_t)(x >> 64);
        x = (u128)m * ELL[1] + t1 + c;
        t0 = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)t2 + c;
        t1 = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)t3 + (m << 60) + c;
        t2 = (uint64_t)x; c = (uint64_t)(x >> 64);
        t3 = t4 + (m >> 4) + c;
    }
    uint64_t t[5] = {t0, t1, t2, t3, 0};
    reduce_once(r, t);
}

void veil_fe_zero(veil_fe *r) { memset(r, 0, sizeof *r); }
void veil_fe_one(veil_fe *r) { *r = FE_R1; }

void veil_fe_from_u64(veil_fe *r, uint64_t x)
{
    uint64_t a[4] = {x, 0, 0, 0};
    mont_mul(r->l, a, FE_R2.l);
}

static inline void fe_select(veil_fe *r, const veil_fe *a, const veil_fe *b, int flag);

void veil_fe_from_i64(veil_fe *r, int64_t x)
{
    /* branch-free (quantized weights are secret): |x| without overflow for
     * INT64_MIN, then a masked negation */
    uint64_t sign = (uint64_t)x >> 63, m = 0 - sign;
    uint64_t mag = ((uint64_t)x ^ m) + sign;
    veil_fe pos, neg;
    veil_fe_from_u64(&pos, mag);
    veil_fe_neg(&neg, &pos);
    fe_select(r, &neg, &pos, (int)sign);
}

void veil_fe_add(veil_fe *r, const veil_fe *a, const veil_fe *b)
{
    uint64_t t[5], c = 0;
    for (int i = 0; i < 4; i++) {
        u128 x = (u128)a->l[i] + b->l[i] + c;
        t[i] = (uint64_t)x;
        c = (uint64_t)(x >> 64);
    }
    t[4] = c;
    reduce_once(r->l, t);
}

void veil_fe_sub(veil_fe *r, const veil_fe *a, const veil_fe *b)
{
    uint64_t t[4], borrow = 0, c = 0;
    for (int i = 0; i < 4; i++) {
        u128 x = (u128)a->l[i] - b->l[i] - borrow;
        t[i] = (uint64_t)x;
        borrow = (uint64_t)(x >> 64) & 1;
    }
    uint64_t mask = 0 - borrow; /* add ell back when a < b */
    for (int i = 0; i < 4; i++) {
        u128 x = (u128)t[i] + (ELL[i] & mask) + c;
        r->l[i] = (uint64_t)x;
        c = (uint64_t)(x >> 64);
    }
}

void veil_fe_neg(veil_fe *r, const veil_fe *a)
{
    veil_fe z;
    veil_fe_zero(&z);
    veil_fe_sub(r, &z, a);
}

void veil_fe_mul(veil_fe *r, const veil_fe *a, const veil_fe *b)
{
    mont_mul_reduced(r->l, a->l, b->l);
}

void veil_fe_sqr(veil_fe *r, const veil_fe *a) { mont_mul_reduced(r->l, a->l, a->l); }

int veil_fe_is_zero(const veil_fe *a)
{
    uint64_t acc = a->l[0] | a->l[1] | a->l[2] | a->l[3];
    return (int)(((acc | (0 - acc)) >> 63) ^ 1);
}

int veil_fe_eq(const veil_fe *a, const veil_fe *b)
{
    uint64_t acc = 0;
    for (int i = 0; i < 4; i++)
        acc |= a->l[i] ^ b->l[i];
    return (int)(((acc | (0 - acc)) >> 63) ^ 1);
}

/* r = a^(ell-2): fixed public exponent, so square-and-multiply is constant
 * time with respect to a. */
static void fe_pow_ell_minus_2(veil_fe *r, const veil_fe *a)
{
    static const uint64_t E[4] = {0x5812631a5cf5d3ebULL, 0x14def9dea2f79cd6ULL,
                                  0x0000000000000000ULL, 0x1000000000000000ULL};
    veil_fe acc = FE_R1;
    for (int bit = 252; bit >= 0; bit--) {
        veil_fe_sqr(&acc, &acc);
        if ((E[bit / 64] >> (bit % 64)) & 1)
            veil_fe_mul(&acc, &acc, a);
    }
    *r = acc;
}

int veil_fe_inv(veil_fe *r, const veil_fe *a)
{
    int zero = veil_fe_is_zero(a);
    fe_pow_ell_minus_2(r, a); /* 0^(ell-2) = 0 */
    if (zero)
        return veil_fail(VEIL_EINVAL, "inverse of zero in Z_ell");
    return 0;
}

/* r = a if flag else b (flag in {0,1}), branch-free. */
static inline void fe_select(veil_fe *r, const veil_fe *a, const veil_fe *b, int flag)
{
    uint64_t m = 0 - (uint64_t)flag;
    for (int i = 0; i < 4; i++)
        r->l[i] = (a->l[i] & m) | (b->l[i] & ~m);
}

void veil_fe_batch_inv(veil_fe *out, const veil_fe *in, size_t n)
{
    if (n == 0)
        return;
    veil_fe *prefix = malloc(n * sizeof *prefix);
    if (!prefix) {
        for (size_t i = 0; i < n; i++)
            veil_fe_inv(&out[i], &in[i]);
        return;
    }
    /* prefix[i] = product of in[0..i-1] with zeros replaced by one */
    veil_fe acc = FE_R1, one = FE_R1, x, inv;
    for (size_t i = 0; i < n; i++) {
        prefix[i] = acc;
        fe_select(&x, &one, &in[i], veil_fe_is_zero(&in[i]));
        veil_fe_mul(&acc, &acc, &x);
    }
    fe_pow_ell_minus_2(&inv, &acc); /* acc is never zero */
    for (size_t i = n; i-- > 0;) {
        veil_fe v = in[i], zero;
        int z = veil_fe_is_zero(&v);
        fe_select(&x, &one, &v, z);
        veil_fe_mul(&out[i], &inv, &prefix[i]); /* 1/in[i] (or 1/1) */
        veil_fe_mul(&inv, &inv, &x);
        veil_fe_zero(&zero);
        fe_select(&out[i], &zero, &out[i], z);
    }
    veil_wipe(prefix, n * sizeof *prefix);
    free(prefix);
}

void veil_fe_to_limbs(uint64_t out[4], const veil_fe *a)
{
    static const uint64_t one[4] = {1, 0, 0, 0};
    mont_mul(out, a->l, one);
}

void veil_fe_to_bytes(uint8_t out[32], const veil_fe *a)
{
    uint64_t v[4];
    veil_fe_to_limbs(v, a);
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(v[i / 8] >> (8 * (i % 8)));
}

static void load_limbs(uint64_t v[4], const uint8_t *in)
{
    for (int i = 0; i < 4; i++) {
        v[i] = 0;
        for (int j = 7; j >= 0; j--)
            v[i] = v[i] << 8 | in[8 * i + j];
    }
}

int veil_fe_from_bytes(veil_fe *r, const uint8_t in[32])
{
    uint64_t v[4], borrow = 0;
    load_limbs(v, in);
    for (int i = 0; i < 4; i++) {
        u128 x = (u128)v[i] - ELL[i] - borrow;
        borrow = (uint64_t)(x >> 64) & 1;
    }
    if (!borrow) { /* v >= ell */
        veil_fe_zero(r);
        return veil_fail(VEIL_EINVAL, "non-canonical scalar encoding (>= group order)");
    }
    mont_mul(r->l, v, FE_R2.l);
    return 0;
}

void veil_fe_from_wide(veil_fe *r, const uint8_t in[64])
{
    /* lo + hi 2^256  ->  Montgomery: lo R + hi R^2 = mont(lo, R^2) + mont(hi, R^3) */
    uint64_t lo[4], hi[4];
    veil_fe a, b;
    load_limbs(lo, in);
    load_limbs(hi, in + 32);
    mont_mul(a.l, lo, FE_R2.l);
    mont_mul(b.l, hi, FE_R3.l);
    veil_fe_add(r, &a, &b);
    veil_wipe(lo, sizeof lo);
    veil_wipe(hi, sizeof hi);
}

void veil_fe_random(veil_fe *r)
{
    uint8_t buf[64];
    if (RAND_bytes(buf, sizeof buf) != 1) {
        fprintf(stderr, "veil: RAND_bytes failed; refusing to continue without randomness\n");
        abort();
    }
    veil_fe_from_wide(r, buf);
    veil_wipe(buf, sizeof buf);
}

unsigned veil_fe_bits(const veil_fe *a)
{
    uint64_t v[4];
    veil_fe_to_limbs(v, a);
    for (int i = 3; i >= 0; i--)
        if (v[i])
            return (unsigned)(64 * i + 64 - __builtin_clzll(v[i]));
    return 0;
}
