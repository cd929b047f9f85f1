/* Private to the zk core (group.c, transcript.c): the hashing primitives
 * both use to frame their inputs, so hash-to-group and the Fiat-Shamir
 * transcript cannot drift apart in how they encode integers and strings. */
#ifndef VEIL_ZK_HASH_INTERNAL_H
#define VEIL_ZK_HASH_INTERNAL_H

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Little-endian 64-bit encoding. */
static inline void zk_put_u64(uint8_t out[8], uint64_t x)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(x >> (8 * i));
}

/* A digest context for md; aborts if OpenSSL lacks it, since neither the
 * generators nor a sound transcript exist without the hash. */
static inline EVP_MD_CTX *zk_md_begin(const EVP_MD *md, const char *name)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        fprintf(stderr, "veil: %s unavailable in OpenSSL\n", name);
        abort();
    }
    return ctx;
}

/* Hashes the 64-bit length n, then the n bytes: a length-prefixed field. */
static inline void zk_md_field(EVP_MD_CTX *ctx, const void *p, size_t n)
{
    uint8_t len[8];
    zk_put_u64(len, n);
    EVP_DigestUpdate(ctx, len, 8);
    if (n)
        EVP_DigestUpdate(ctx, p, n);
}

#endif
