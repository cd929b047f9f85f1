/* Zero-knowledge matrix-product proofs (eqs. 18-19): completeness on
 * random shapes (including non-powers of two and 1-wide matrices);
 * soundness against a wrong product, every altered proof element (each
 * 32-byte field of the serialized proof), changed public inputs
 * (dimensions, commitments), reordered transcript messages; the parser
 * against truncation and trailing bytes; the ZK sum-check's sigma
 * protocols directly. */
#include "harness.h"

#include "veil/zk_matmul.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static int64_t rnd_entry(unsigned bits)
{
    uint32_t x;
    RAND_bytes((unsigned char *)&x, sizeof x);
    return (int64_t)(x & ((1u << bits) - 1)) - (1 << (bits - 1));
}

typedef struct {
    veil_matmul_dims d;
    veil_pedersen_gens pg;
    veil_zk_matrix A, B, C;
    veil_matmul_proof pf;
    uint8_t *file;
    size_t len;
} mm_case;

/* Builds a random product (wrong = 1 perturbs one entry of C) and proves it. */
static int mm_make(mm_case *c, uint32_t m, uint32_t k, uint32_t n, unsigned bits, int wrong)
{
    memset(c, 0, sizeof *c);
    if (veil_matmul_dims_init(&c->d, m, k, n)) return -1;
    int64_t *A = malloc((size_t)m * k * 8), *B = malloc((size_t)k * n * 8),
            *C = calloc((size_t)m * n, 8);
    for (size_t i = 0; i < (size_t)m * k; i++)
        A[i] = rnd_entry(bits);
    for (size_t i = 0; i < (size_t)k * n; i++)
        B[i] = rnd_entry(bits);
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t j = 0; j < n; j++)
            for (uint32_t b = 0; b < k; b++)
                C[(size_t)i * n + j] += A[(size_t)i * k + b] * B[(size_t)b * n + j];
    if (wrong) C[(size_t)(m - 1) * n + (n - 1)] += 1;
    const veil_matmul_dims *d = &c->d;
    int rc = veil_pedersen_gens_init(&c->pg, VEIL_ZK_GENS_LABEL, veil_matmul_gens_needed(d));
    if (!rc) rc = veil_zk_matrix_commit_i64(&c->A, &c->pg, A, m, k, d->lm, d->lk, 0);
    if (!rc) rc = veil_zk_matrix_commit_i64(&c->B, &c->pg, B, k, n, d->lk, d->ln, 0);
    if (!rc) rc = veil_zk_matrix_commit_i64(&c->C, &c->pg, C, m, n, d->lm, d->ln, 0);
    veil_transcript t;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    if (!rc) rc = veil_matmul_prove(&c->pf, &t, &c->pg, d, &c->A, &c->B, &c->C, 0);
    veil_zkw w;
    veil_zkw_init(&w);
    if (!rc) rc = veil_matmul_file_write(&w, d, &c->A, &c->B, &c->C, &c->pf);
    c->file = w.buf;
    c->len = w.len;
    free(A), free(B), free(C);
    return rc;
}

static void mm_free(mm_case *c)
{
    veil_zk_matrix_free(&c->A), veil_zk_matrix_free(&c->B), veil_zk_matrix_free(&c->C);
    veil_matmul_proof_free(&c->pf);
    veil_pedersen_gens_free(&c->pg);
    free(c->file);
}

static void test_complete(void)
{
    static const uint32_t shapes[][3] = {{1, 1, 1}, {3, 5, 2}, {8, 8, 8}, {16, 33, 7}, {2, 1, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        mm_case c;
        CHECK(mm_make(&c, shapes[s][0], shapes[s][1], shapes[s][2], 16, 0) == 0);
        veil_matmul_dims d;
        int rc = veil_matmul_file_verify(c.file, c.len, &d, 0);
        CHECKF(rc == 0, "%ux%ux%u: %s", shapes[s][0], shapes[s][1], shapes[s][2],
               veil_last_error());
        CHECK(d.m == shapes[s][0] && d.k == shapes[s][1] && d.n == shapes[s][2]);
        mm_free(&c);
    }
}

static void test_wrong_product(void)
{
    mm_case c;
    CHECK(mm_make(&c, 4, 6, 3, 8, 1) == 0);
    CHECK(veil_matmul_file_verify(c.file, c.len, NULL, 0) == VEIL_EVERIFY);
    mm_free(&c);
}

/* Every 32-byte element (and every u32 field) of the file altered. */
static void test_tamper(void)
{
    mm_case c;
    CHECK(mm_make(&c, 4, 6, 3, 8, 0) == 0);
    CHECK(veil_matmul_file_verify(c.file, c.len, NULL, 0) == 0);
    size_t accepted = 0, tried = 0;
    for (size_t off = 0; off < c.len; off += 4) {
        /* alter one byte per 4-byte word: hits every element and length */
        c.file[off] ^= 0x5a;
        int rc = veil_matmul_file_verify(c.file, c.len, NULL, 0);
        if (rc == 0) accepted++;
        tried++;
        c.file[off] ^= 0x5a;
    }
    CHECKF(accepted == 0, "%zu of %zu altered proofs accepted", accepted, tried);
    /* truncation and trailing bytes */
    for (size_t cut = 0; cut < c.len; cut += 97)
        CHECK(veil_matmul_file_verify(c.file, cut, NULL, 0) == VEIL_EINVAL);
    uint8_t *big = malloc(c.len + 1);
    memcpy(big, c.file, c.len);
    big[c.len] = 0;
    CHECK(veil_matmul_file_verify(big, c.len + 1, NULL, 0) == VEIL_EINVAL);
    free(big);
    mm_free(&c);
}

/* Changed public inputs and reordered messages, at the API level. */
static void test_statement(void)
{
    mm_case c, o;
    CHECK(mm_make(&c, 4, 4, 4, 8, 0) == 0);
    CHECK(mm_make(&o, 4, 4, 4, 8, 0) == 0); /* same shape, other matrices */
    veil_transcript t;
    const veil_hyrax_commitment *A = &c.A.cm, *B = &c.B.cm, *C = &c.C.cm;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_verify(&c.pf, &t, &c.pg, &c.d, A, B, C, 0) == 0);
    /* other commitments for A, B or C; A and B swapped (same shape here) */
    const veil_hyrax_commitment *alt[][3] = {
        {&o.A.cm, B, C}, {A, &o.B.cm, C}, {A, B, &o.C.cm}, {B, A, C}};
    for (size_t i = 0; i < 4; i++) {
        veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
        CHECKF(veil_matmul_verify(&c.pf, &t, &c.pg, &c.d, alt[i][0], alt[i][1], alt[i][2], 0) != 0,
               "changed commitment %zu accepted", i);
    }
    /* another domain / context */
    veil_transcript_init(&t, "veil/zk/matmul/v0");
    CHECK(veil_matmul_verify(&c.pf, &t, &c.pg, &c.d, A, B, C, 0) != 0);
    /* other dimensions with the same padded shape */
    veil_matmul_dims d2;
    veil_matmul_dims_init(&d2, 3, 4, 4);
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_verify(&c.pf, &t, &c.pg, &d2, A, B, C, 0) != 0);
    /* reordered messages: the two round polynomials, the A/B evaluation
     * proofs, the value commitments, the two opening proofs */
    veil_matmul_proof *p = &c.pf;
    veil_fe tmp[3];
    memcpy(tmp, p->sc.rounds, sizeof tmp);
    memcpy(p->sc.rounds, p->sc.rounds + 3, sizeof tmp);
    memcpy(p->sc.rounds + 3, tmp, sizeof tmp);
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_verify(p, &t, &c.pg, &c.d, A, B, C, 0) != 0);
    memcpy(p->sc.rounds + 3, p->sc.rounds, sizeof tmp);
    memcpy(p->sc.rounds, tmp, sizeof tmp);
    veil_ipa_proof ip = p->eA;
    p->eA = p->eB, p->eB = ip;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_verify(p, &t, &c.pg, &c.d, A, B, C, 0) != 0);
    ip = p->eA, p->eA = p->eB, p->eB = ip;
    veil_ge g = p->c_vA;
    p->c_vA = p->c_vB, p->c_vB = g;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_verify(p, &t, &c.pg, &c.d, A, B, C, 0) != 0);
    g = p->c_vA, p->c_vA = p->c_vB, p->c_vB = g;
    veil_zero_proof z = p->z_claim;
    p->z_claim = p->z_final, p->z_final = z;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_verify(p, &t, &c.pg, &c.d, A, B, C, 0) != 0);
    z = p->z_claim, p->z_claim = p->z_final, p->z_final = z;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_verify(p, &t, &c.pg, &c.d, A, B, C, 0) == 0); /* restored */
    /* proofs are randomized: a second proof of the same statement differs */
    veil_matmul_proof p2;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    CHECK(veil_matmul_prove(&p2, &t, &c.pg, &c.d, &c.A, &c.B, &c.C, 0) == 0);
    CHECK(!veil_ge_eq(&p2.c_H, &p->c_H) && !veil_fe_eq(&p2.sc.rounds[0], &p->sc.rounds[0]));
    veil_matmul_proof_free(&p2);
    mm_free(&c);
    mm_free(&o);
}

static void test_sigma(void)
{
    veil_pedersen_gens pg;
    CHECK(veil_pedersen_gens_init(&pg, "test/sigma", 4) == 0);
    veil_fe x, y, xy, s1, s2, s3, one;
    veil_fe_random(&x), veil_fe_random(&y), veil_fe_one(&one);
    veil_fe_mul(&xy, &x, &y);
    veil_ge C1, C2, C3;
    veil_commit_value_fresh(&C1, &s1, &pg, &x);
    veil_commit_value_fresh(&C2, &s2, &pg, &y);
    veil_commit_value_fresh(&C3, &s3, &pg, &xy);
    veil_transcript tp, tv;
    veil_transcript_init(&tp, "t");
    tv = tp;
    veil_prod_proof pp;
    veil_prod_prove(&pp, &tp, &pg, &C1, &C2, &C3, &x, &s1, &y, &s2, &s3);
    veil_transcript t0 = tv;
    CHECK(veil_prod_verify(&pp, &tv, &pg, &C1, &C2, &C3) == 0);
    for (int i = 0; i < 5; i++) {
        veil_transcript tt = t0;
        veil_fe_add(&pp.z[i], &pp.z[i], &one);
        CHECK(veil_prod_verify(&pp, &tt, &pg, &C1, &C2, &C3) == VEIL_EVERIFY);
        veil_fe_sub(&pp.z[i], &pp.z[i], &one);
    }
    /* a false product cannot be proven */
    veil_fe bad;
    veil_fe_add(&bad, &xy, &one);
    veil_commit_value_fresh(&C3, &s3, &pg, &bad);
    tp = t0;
    veil_prod_prove(&pp, &tp, &pg, &C1, &C2, &C3, &x, &s1, &y, &s2, &s3);
    tv = t0;
    CHECK(veil_prod_verify(&pp, &tv, &pg, &C1, &C2, &C3) == VEIL_EVERIFY);
    /* zero-opening: C = s H verifies, C = 1 U + s H does not */
    veil_zero_proof zp;
    veil_ge Z;
    veil_pedersen_commit_value(&Z, &pg, &(veil_fe){{0}}, &s1);
    tp = t0;
    veil_zero_prove(&zp, &tp, &pg, &Z, &s1);
    tv = t0;
    CHECK(veil_zero_verify(&zp, &tv, &pg, &Z) == 0);
    veil_pedersen_commit_value(&Z, &pg, &one, &s1);
    tp = t0;
    veil_zero_prove(&zp, &tp, &pg, &Z, &s1);
    tv = t0;
    CHECK(veil_zero_verify(&zp, &tv, &pg, &Z) == VEIL_EVERIFY);
    /* the same value with different blinding commits differently */
    veil_ge D1, D2;
    veil_commit_value_fresh(&D1, &s1, &pg, &x);
    veil_commit_value_fresh(&D2, &s2, &pg, &x);
    CHECK(!veil_ge_eq(&D1, &D2));
    veil_pedersen_gens_free(&pg);
}

/* The container: magic, version, kind and length are checked first. */
static void test_header(void)
{
    mm_case c;
    CHECK(mm_make(&c, 2, 2, 2, 4, 0) == 0);
    static const struct {
        size_t off;
        uint8_t val;
        const char *why;
    } bad[] = {{0, 'X', "magic"}, {4, 2, "version"}, {6, 9, "kind"}, {8, 0xff, "body bytes"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t old = c.file[bad[i].off];
        c.file[bad[i].off] = bad[i].val;
        int rc = veil_matmul_file_verify(c.file, c.len, NULL, 0);
        CHECKF(rc == VEIL_EINVAL && strstr(veil_last_error(), bad[i].why),
               "%s: rc %d, '%s'", bad[i].why, rc, veil_last_error());
        c.file[bad[i].off] = old;
    }
    /* the reader's sticky error and bounds */
    veil_zkr r;
    uint32_t x;
    veil_fe f;
    uint8_t ones[32];
    memset(ones, 0xff, sizeof ones);
    veil_zkr_init(&r, ones, sizeof ones);
    CHECK(veil_zkr_fe(&r, &f, "scalar") == VEIL_EINVAL); /* 2^256 - 1 >= ell */
    CHECK(veil_zkr_u32(&r, &x, 0, 10, "after") == VEIL_EINVAL && x == 0);
    CHECK(veil_zkr_end(&r) == VEIL_EINVAL && strstr(veil_last_error(), "scalar"));
    veil_zkr_init(&r, ones, 4);
    CHECK(veil_zkr_u32(&r, &x, 0, 10, "bounded") == VEIL_EINVAL); /* 2^32 - 1 > 10 */
    veil_zkr_init(&r, ones, 3);
    CHECK(veil_zkr_u32(&r, &x, 0, ~0u, "short") == VEIL_EINVAL);
    mm_free(&c);
}

int main(void)
{
    test_header();
    test_sigma();
    test_complete();
    test_wrong_product();
    test_tamper();
    test_statement();
    return test_done();
}
