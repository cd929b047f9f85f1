/* Fiat-Shamir transcript: a SHA-256 hash chain with tagged, length-prefixed
 * records (see include/veil/zk_transcript.h for the framing argument). */
#include "veil/zk_transcript.h"

#include "hash_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* state = SHA256(state || tag || counter || len(label) || label ||
 *                len(data) || data); optionally also writes the digest of
 * the same record with an extra index byte into out (challenge blocks). */
static void hash_record(const uint8_t state[32], uint8_t tag, uint64_t counter,
                        const char *label, const void *data, size_t n, uint8_t out[32])
{
    uint8_t hdr[8];
    unsigned int outlen = 32;
    EVP_MD_CTX *ctx = zk_md_begin(EVP_sha256(), "SHA-256");
    EVP_DigestUpdate(ctx, state, 32);
    EVP_DigestUpdate(ctx, &tag, 1);
    zk_put_u64(hdr, counter);
    EVP_DigestUpdate(ctx, hdr, 8);
    zk_md_field(ctx, label, label ? strlen(label) : 0);
    zk_md_field(ctx, data, n);
    EVP_DigestFinal_ex(ctx, out, &outlen);
    EVP_MD_CTX_free(ctx);
}

enum { TAG_INIT = 'I', TAG_ABSORB = 'A', TAG_CHAL0 = 'C', TAG_CHAL1 = 'D', TAG_CHALBACK = 'R' };

void veil_transcript_init(veil_transcript *t, const char *domain)
{
    static const uint8_t zero[32] = {0};
    t->counter = 0;
    hash_record(zero, TAG_INIT, 0, "veil-transcript-v1", domain, domain ? strlen(domain) : 0,
                t->state);
}

void veil_transcript_absorb(veil_transcript *t, const char *label, const void *data, size_t n)
{
    uint8_t next[32];
    hash_record(t->state, TAG_ABSORB, ++t->counter, label, data, n, next);
    memcpy(t->state, next, 32);
}

void veil_transcript_absorb_fe(veil_transcript *t, const char *label, const veil_fe *x)
{
    uint8_t b[32];
    veil_fe_to_bytes(b, x);
    veil_transcript_absorb(t, label, b, 32);
}

void veil_transcript_absorb_u64(veil_transcript *t, const char *label, uint64_t x)
{
    uint8_t b[8];
    zk_put_u64(b, x);
    veil_transcript_absorb(t, label, b, 8);
}

void veil_transcript_challenge(veil_transcript *t, const char *label, veil_fe *out)
{
    uint8_t wide[64], next[32];
    uint64_t c = ++t->counter;
    hash_record(t->state, TAG_CHAL0, c, label, NULL, 0, wide);
    hash_record(t->state, TAG_CHAL1, c, label, NULL, 0, wide + 32);
    veil_fe_from_wide(out, wide);
    hash_record(t->state, TAG_CHALBACK, c, label, wide, 64, next);
    memcpy(t->state, next, 32);
}

void veil_transcript_challenges(veil_transcript *t, const char *label, veil_fe *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        veil_transcript_challenge(t, label, &out[i]);
}
