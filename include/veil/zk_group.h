/* veil zk core: the prime-order group ristretto255 (RFC 9496) built on the
 * twisted Edwards form of Curve25519, with multi-scalar multiplication.
 *
 * Points are kept in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
 * xy = T/Z, over GF(2^255-19) in radix 2^51.  Several Edwards points
 * represent the same ristretto element; veil_ge_eq and veil_ge_to_bytes
 * respect that (never compare limbs).  Group order: ell (see zk_field.h).
 *
 * Constant time: add, dbl, neg, veil_ge_mul, encoding and the hash maps.
 * Variable time (use only where the timing of the scalars may leak, see
 * docs/SECURITY.md): the multi-scalar multiplications veil_msm*. */
#ifndef VEIL_ZK_GROUP_H
#define VEIL_ZK_GROUP_H

#include "veil/zk_field.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t X[5], Y[5], Z[5], T[5];
} veil_ge;

/* A point normalised for fast mixed addition (affine Niels form:
 * y+x, y-x, 2dxy); made by veil_ge_prepare, used as MSM bases. */
typedef struct {
    uint64_t ypx[5], ymx[5], xy2d[5];
} veil_ge_affine;

#define VEIL_GE_BYTES 32

void veil_ge_identity(veil_ge *r);
/* The ristretto255 standard generator (the Ed25519 base point). */
void veil_ge_base(veil_ge *r);
void veil_ge_add(veil_ge *r, const veil_ge *a, const veil_ge *b);
void veil_ge_sub(veil_ge *r, const veil_ge *a, const veil_ge *b);
void veil_ge_neg(veil_ge *r, const veil_ge *a);
void veil_ge_dbl(veil_ge *r, const veil_ge *a);
/* r = k * p in constant time (signed 4-bit fixed window). */
void veil_ge_mul(veil_ge *r, const veil_ge *p, const veil_fe *k);
/* 1 if a and b are the same ristretto255 element; constant time. */
int veil_ge_eq(const veil_ge *a, const veil_ge *b);
int veil_ge_is_identity(const veil_ge *a);

/* Canonical 32-byte ristretto255 encoding. */
void veil_ge_to_bytes(uint8_t out[32], const veil_ge *a);
/* Decode with full validation (RFC 9496 4.3.1): VEIL_EINVAL for
 * non-canonical field encodings, negative s, non-square cases and
 * encodings of points outside the group. */
int veil_ge_from_bytes(veil_ge *r, const uint8_t in[32]);
/* One-way map of 64 uniform bytes to an element (RFC 9496 4.3.4; the same
 * as libsodium's crypto_core_ristretto255_from_hash). */
void veil_ge_from_uniform(veil_ge *r, const uint8_t in[64]);
/* Hash to the group: SHA-512 of a framed (label, data), then the map. */
void veil_ge_hash(veil_ge *r, const char *label, const void *data, size_t n);
/* n generators derived from a domain label: out[i] = hash(label, i).
 * Nobody knows a discrete-log relation between them or with the base. */
void veil_ge_generators(const char *label, size_t n, veil_ge *out);

/* Normalise n points (one shared field inversion) for use as MSM bases;
 * in and out may not alias.  VEIL_ENOMEM on allocation failure. */
int veil_ge_prepare(veil_ge_affine *out, const veil_ge *in, size_t n);

/* r = sum scalars[i] * bases[i] (Pippenger, signed digits, window chosen
 * from n and the scalar size).  bits: an upper bound on the bit length of
 * every scalar's integer value (0 = detect by scanning; scalars are read
 * as integers in [0, ell), so a small negative value is a 253-bit number:
 * use veil_msm_i64 for signed small values).  threads: 0 = OpenMP's
 * default (omp_get_max_threads()).  VEIL_ENOMEM / VEIL_EINVAL on failure. */
int veil_msm(veil_ge *r, const veil_ge_affine *bases, const veil_fe *scalars, size_t n,
             unsigned bits, int threads);
/* Same for signed machine integers (quantized weights and activations):
 * r = sum vals[i] * bases[i]; fast path, bits detected from max |vals[i]|. */
int veil_msm_i64(veil_ge *r, const veil_ge_affine *bases, const int64_t *vals, size_t n,
                 int threads);
/* Convenience: prepares the points, then veil_msm (bits detected). */
int veil_ge_msm(veil_ge *r, const veil_ge *points, const veil_fe *scalars, size_t n,
                int threads);

#ifdef __cplusplus
}
#endif
#endif
