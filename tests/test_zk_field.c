/* Scalar field Z_ell and transcript: arithmetic against GMP on random values,
 * canonical serialization, wide reduction, batch inversion, transcript
 * determinism and domain separation. */
#include "harness.h"
#include "veil/zk_field.h"
#include "veil/zk_transcript.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#ifdef VEIL_HAVE_GMP
#include <gmp.h>
#endif

static void test_basics(void)
{
    veil_fe a, b, c, one, zero;
    veil_fe_one(&one);
    veil_fe_zero(&zero);
    veil_fe_from_u64(&a, 1);
    CHECK(veil_fe_eq(&a, &one));
    CHECK(veil_fe_is_zero(&zero) && !veil_fe_is_zero(&one));
    veil_fe_from_i64(&a, -5);
    veil_fe_from_u64(&b, 5);
    veil_fe_add(&c, &a, &b);
    CHECK(veil_fe_is_zero(&c));
    veil_fe_from_i64(&a, INT64_MIN);
    veil_fe_from_u64(&b, (uint64_t)1 << 63);
    veil_fe_add(&c, &a, &b);
    CHECK(veil_fe_is_zero(&c));
    CHECK(veil_fe_inv(&c, &zero) == VEIL_EINVAL);
    CHECK(veil_fe_bits(&zero) == 0 && veil_fe_bits(&one) == 1);
    veil_fe_from_u64(&a, 65535);
    CHECK(veil_fe_bits(&a) == 16);

    /* ell itself and ell + anything are rejected; ell - 1 is accepted */
    uint8_t ell[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                       0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                       0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    CHECK(veil_fe_from_bytes(&a, ell) == VEIL_EINVAL);
    ell[0]--;
    CHECK(veil_fe_from_bytes(&a, ell) == 0);
    veil_fe_add(&b, &a, &one);
    CHECK(veil_fe_is_zero(&b));
    uint8_t ff[32];
    memset(ff, 0xff, 32);
    CHECK(veil_fe_from_bytes(&a, ff) == VEIL_EINVAL);

    /* batch inversion with zeros and aliasing */
    veil_fe v[7], w[7];
    for (int i = 0; i < 7; i++) {
        if (i % 3 == 0) veil_fe_zero(&v[i]);
        else veil_fe_random(&v[i]);
    }
    memcpy(w, v, sizeof v);
    veil_fe_batch_inv(w, w, 7);
    for (int i = 0; i < 7; i++) {
        if (i % 3 == 0) {
            CHECK(veil_fe_is_zero(&w[i]));
        } else {
            veil_fe_mul(&c, &w[i], &v[i]);
            CHECK(veil_fe_eq(&c, &one));
        }
    }
}

#ifdef VEIL_HAVE_GMP
static void rand_bytes(void *p, size_t n) { RAND_bytes(p, (int)n); }

static void fe_to_mpz(mpz_t z, const veil_fe *a)
{
    uint8_t b[32];
    veil_fe_to_bytes(b, a);
    mpz_import(z, 32, -1, 1, 0, 0, b);
}

static int mpz_eq_fe(const mpz_t z, const veil_fe *a)
{
    mpz_t t;
    mpz_init(t);
    fe_to_mpz(t, a);
    int eq = mpz_cmp(t, z) == 0;
    mpz_clear(t);
    return eq;
}

static void test_against_gmp(void)
{
    mpz_t ell, x, y, r, t;
    mpz_inits(ell, x, y, r, t, NULL);
    mpz_set_str(ell, "27742317777372353535851937790883648493", 10);
    mpz_setbit(ell, 252);
    enum { N = 3000 };
    int bad = 0;
    for (int it = 0; it < N; it++) {
        uint8_t wide[64], bx[32], by[32];
        rand_bytes(wide, 64);
        /* wide reduction */
        veil_fe a, b, c;
        veil_fe_from_wide(&a, wide);
        mpz_import(x, 64, -1, 1, 0, 0, wide);
        mpz_mod(x, x, ell);
        bad += !mpz_eq_fe(x, &a);
        /* edge-biased second operand: small, ell-1, or random */
        if (it % 5 == 0) veil_fe_from_u64(&b, (uint64_t)it);
        else if (it % 5 == 1) veil_fe_from_i64(&b, -1 - it);
        else veil_fe_random(&b);
        fe_to_mpz(y, &b);
        veil_fe_add(&c, &a, &b);
        mpz_add(r, x, y); mpz_mod(r, r, ell);
        bad += !mpz_eq_fe(r, &c);
        veil_fe_sub(&c, &a, &b);
        mpz_sub(r, x, y); mpz_mod(r, r, ell);
        bad += !mpz_eq_fe(r, &c);
        veil_fe_mul(&c, &a, &b);
        mpz_mul(r, x, y); mpz_mod(r, r, ell);
        bad += !mpz_eq_fe(r, &c);
        veil_fe_sqr(&c, &a);
        mpz_mul(r, x, x); mpz_mod(r, r, ell);
        bad += !mpz_eq_fe(r, &c);
        veil_fe_neg(&c, &b);
        mpz_neg(r, y); mpz_mod(r, r, ell);
        bad += !mpz_eq_fe(r, &c);
        if (it % 10 == 0 && !veil_fe_is_zero(&a)) {
            bad += veil_fe_inv(&c, &a) != 0;
            mpz_invert(r, x, ell);
            bad += !mpz_eq_fe(r, &c);
        }
        /* serialization round trip and rejection of x + ell when it fits */
        veil_fe_to_bytes(bx, &a);
        bad += veil_fe_from_bytes(&c, bx) != 0 || !veil_fe_eq(&c, &a);
        mpz_add(t, x, ell);
        if (mpz_sizeinbase(t, 2) <= 256) {
            memset(by, 0, 32);
            mpz_export(by, NULL, -1, 1, 0, 0, t);
            bad += veil_fe_from_bytes(&c, by) != VEIL_EINVAL;
        }
    }
    CHECKF(bad == 0, "%d mismatches against GMP", bad);

    /* batch inversion against GMP */
    veil_fe v[64], w[64];
    for (int i = 0; i < 64; i++) veil_fe_random(&v[i]);
    veil_fe_batch_inv(w, v, 64);
    bad = 0;
    for (int i = 0; i < 64; i++) {
        fe_to_mpz(x, &v[i]);
        mpz_invert(r, x, ell);
        bad += !mpz_eq_fe(r, &w[i]);
    }
    CHECKF(bad == 0, "%d batch-inverse mismatches", bad);
    mpz_clears(ell, x, y, r, t, NULL);
}
#endif

static void test_transcript(void)
{
    veil_transcript t1, t2, t3;
    veil_fe c1, c2, c3, x;
    veil_fe_from_u64(&x, 42);
    veil_transcript_init(&t1, "test/v1");
    veil_transcript_init(&t2, "test/v1");
    veil_transcript_init(&t3, "test/v2");
    veil_transcript_absorb(&t1, "a", "xy", 2);
    veil_transcript_absorb(&t2, "a", "xy", 2);
    veil_transcript_absorb(&t3, "a", "xy", 2);
    veil_transcript_absorb_fe(&t1, "x", &x);
    veil_transcript_absorb_fe(&t2, "x", &x);
    veil_transcript_absorb_fe(&t3, "x", &x);
    veil_transcript_challenge(&t1, "c", &c1);
    veil_transcript_challenge(&t2, "c", &c2);
    veil_transcript_challenge(&t3, "c", &c3);
    CHECK(veil_fe_eq(&c1, &c2));
    CHECK(!veil_fe_eq(&c1, &c3)); /* domain separation */
    veil_transcript_challenge(&t1, "c", &c2);
    CHECK(!veil_fe_eq(&c1, &c2)); /* successive challenges differ */

    /* re-splitting bytes between label and data, or between absorbs, differs */
    veil_transcript_init(&t1, "d");
    veil_transcript_init(&t2, "d");
    veil_transcript_absorb(&t1, "ab", "c", 1);
    veil_transcript_absorb(&t2, "a", "bc", 2);
    veil_transcript_challenge(&t1, "c", &c1);
    veil_transcript_challenge(&t2, "c", &c2);
    CHECK(!veil_fe_eq(&c1, &c2));
    veil_transcript_init(&t1, "d");
    veil_transcript_init(&t2, "d");
    veil_transcript_absorb(&t1, "a", "xy", 2);
    veil_transcript_absorb(&t2, "a", "x", 1);
    veil_transcript_absorb(&t2, "a", "y", 1);
    veil_transcript_challenge(&t1, "c", &c1);
    veil_transcript_challenge(&t2, "c", &c2);
    CHECK(!veil_fe_eq(&c1, &c2));
    /* order matters */
    veil_transcript_init(&t1, "d");
    veil_transcript_init(&t2, "d");
    veil_transcript_absorb(&t1, "a", "x", 1);
    veil_transcript_absorb(&t1, "b", "y", 1);
    veil_transcript_absorb(&t2, "b", "y", 1);
    veil_transcript_absorb(&t2, "a", "x", 1);
    veil_transcript_challenge(&t1, "c", &c1);
    veil_transcript_challenge(&t2, "c", &c2);
    CHECK(!veil_fe_eq(&c1, &c2));
}

int main(void)
{
    test_basics();
#ifdef VEIL_HAVE_GMP
    test_against_gmp();
#else
    fprintf(stderr, "GMP not available: oracle comparison skipped\n");
#endif
    test_transcript();
    return test_done();
}
