/* veil zk core: the scalar field Z_ell of ristretto255,
 * ell = 2^252 + 27742317777372353535851937790883648493 (the group order).
 *
 * Elements are kept in Montgomery form (x * 2^256 mod ell) on four 64-bit
 * little-endian limbs, always fully reduced (< ell), so equal values have
 * equal limbs and veil_fe_eq can compare limbs directly.
 *
 * add, sub, neg, mul, sqr and inv run in constant time (no branch or memory
 * access depends on the values): scalars such as blindings and witnesses are
 * secret.  Only veil_fe_from_bytes branches, and only on the public fact of
 * whether an encoding is canonical. */
#ifndef VEIL_ZK_FIELD_H
#define VEIL_ZK_FIELD_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t l[4];
} veil_fe;

#define VEIL_FE_BYTES 32

void veil_fe_zero(veil_fe *r);
void veil_fe_one(veil_fe *r);
void veil_fe_from_u64(veil_fe *r, uint64_t x);
/* Negative x maps to ell - |x|. */
void veil_fe_from_i64(veil_fe *r, int64_t x);

/* r may alias a or b in all arithmetic. */
void veil_fe_add(veil_fe *r, const veil_fe *a, const veil_fe *b);
void veil_fe_sub(veil_fe *r, const veil_fe *a, const veil_fe *b);
void veil_fe_mul(veil_fe *r, const veil_fe *a, const veil_fe *b);
void veil_fe_neg(veil_fe *r, const veil_fe *a);
void veil_fe_sqr(veil_fe *r, const veil_fe *a);

/* r = 1/a.  VEIL_EINVAL (and r = 0) for a = 0.  Constant time (Fermat,
 * a^(ell-2)); the zero test is the only data-dependent outcome. */
int veil_fe_inv(veil_fe *r, const veil_fe *a);
/* out[i] = 1/in[i] with one inversion (Montgomery's trick); zeros map to
 * zero.  in may alias out.  Uses a heap scratch buffer of n elements; on
 * allocation failure falls back to n single inversions. */
void veil_fe_batch_inv(veil_fe *out, const veil_fe *in, size_t n);

/* 1 if equal / zero, else 0; constant time. */
int veil_fe_eq(const veil_fe *a, const veil_fe *b);
int veil_fe_is_zero(const veil_fe *a);

/* Canonical 32-byte little-endian encoding of the integer in [0, ell). */
void veil_fe_to_bytes(uint8_t out[32], const veil_fe *a);
/* Decode; VEIL_EINVAL for values >= ell (non-canonical encodings). */
int veil_fe_from_bytes(veil_fe *r, const uint8_t in[32]);
/* r = (512-bit little-endian integer) mod ell: bias < 2^-259. */
void veil_fe_from_wide(veil_fe *r, const uint8_t in[64]);
/* Uniform random element from OpenSSL RAND_bytes (aborts if the CSPRNG
 * fails: continuing with predictable blindings would break zero knowledge). */
void veil_fe_random(veil_fe *r);

/* The plain (non-Montgomery) integer value as 4 little-endian limbs, for
 * MSM digit extraction.  Secret-safe (constant time). */
void veil_fe_to_limbs(uint64_t out[4], const veil_fe *a);
/* Number of significant bits of the plain integer value (0 for zero).
 * Branches on the value: use for public or non-secret data only. */
unsigned veil_fe_bits(const veil_fe *a);

#ifdef __cplusplus
}
#endif
#endif
