/* veil zk core: Fiat-Shamir transcript over SHA-256 (OpenSSL EVP).
 *
 * The state is a 32-byte chaining value.  Every operation hashes the old
 * state with a one-byte operation tag, the length-prefixed label and the
 * length-prefixed data, so no two different sequences of (label, data)
 * absorptions can collide by re-splitting bytes.  Challenges are 64 bytes
 * (two SHA-256 blocks) reduced mod ell, then absorbed back into the state,
 * so later challenges depend on earlier ones.
 *
 * Prover and verifier must absorb exactly the same public inputs and prover
 * messages in the same order; protocols absorb every prover message before
 * drawing the challenge that depends on it. */
#ifndef VEIL_ZK_TRANSCRIPT_H
#define VEIL_ZK_TRANSCRIPT_H

#include "veil/zk_field.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint8_t state[32];
    uint64_t counter; /* operations so far (bound into every hash) */
} veil_transcript;

/* Start a transcript for a protocol named by domain (e.g. "veil/matmul/v1"). */
void veil_transcript_init(veil_transcript *t, const char *domain);
void veil_transcript_absorb(veil_transcript *t, const char *label, const void *data, size_t n);
/* Absorbs the canonical 32-byte encoding. */
void veil_transcript_absorb_fe(veil_transcript *t, const char *label, const veil_fe *x);
void veil_transcript_absorb_u64(veil_transcript *t, const char *label, uint64_t x);
/* A challenge in Z_ell: 64 pseudo-random bytes by wide reduction; the
 * challenge is also absorbed, so the next one differs. */
void veil_transcript_challenge(veil_transcript *t, const char *label, veil_fe *out);
/* n challenges with the same label (each one absorbed in turn). */
void veil_transcript_challenges(veil_transcript *t, const char *label, veil_fe *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
