/* veil zk core: the versioned binary proof format and a bounds-checked
 * reader for untrusted proof bytes.
 *
 * Every proof file is
 *   magic "VZKP" | u16 format version | u16 proof kind | u32 body length |
 *   body
 * with little-endian integers, 32-byte canonical scalars (veil_fe_to_bytes)
 * and 32-byte canonical ristretto255 encodings.  The reader never reads past
 * its buffer, rejects non-canonical scalars and invalid points, bounds every
 * count by the caller's maximum before allocating, and requires that the
 * body is consumed exactly.  Errors are sticky: after the first failure
 * every read fails and returns zeros, so parsers can read a whole structure
 * and check once. */
#ifndef VEIL_ZK_PROOF_H
#define VEIL_ZK_PROOF_H

#include "veil/zk_commit.h"
#include "veil/zk_sumcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_ZKP_MAGIC "VZKP"
#define VEIL_ZKP_VERSION 1
#define VEIL_ZKP_HEADER 12
/* No proof of ours comes near this; larger inputs are refused unread. */
#define VEIL_ZKP_MAX_BYTES (64u << 20)

enum { VEIL_ZKP_MATMUL = 1, VEIL_ZKP_LOGUP = 2, VEIL_ZKP_RELU = 3 };

/* Generator label shared by every proof file (zk_commit.h generators). */
#define VEIL_ZK_GENS_LABEL "veil/zk/gens/v1"

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int err; /* VEIL_ENOMEM once an allocation failed */
} veil_zkw;

void veil_zkw_init(veil_zkw *w);
void veil_zkw_free(veil_zkw *w);
void veil_zkw_bytes(veil_zkw *w, const void *p, size_t n);
void veil_zkw_u32(veil_zkw *w, uint32_t x);
void veil_zkw_fe(veil_zkw *w, const veil_fe *x);
void veil_zkw_fes(veil_zkw *w, const veil_fe *x, size_t n);
void veil_zkw_ge(veil_zkw *w, const veil_ge *p);
/* Starts a proof: writes the header with a body length patched by
 * veil_zkw_finish (which returns 0 or the sticky error). */
void veil_zkw_begin(veil_zkw *w, uint16_t kind);
int veil_zkw_finish(veil_zkw *w);

typedef struct {
    const uint8_t *p;
    size_t len, off;
    int err;           /* first error code, sticky */
    const char *what;  /* what was being read when it failed */
} veil_zkr;

void veil_zkr_init(veil_zkr *r, const uint8_t *p, size_t len);
/* Reads and checks the header; fills *kind.  0 or VEIL_EINVAL. */
int veil_zkr_begin(veil_zkr *r, uint16_t *kind);
int veil_zkr_bytes(veil_zkr *r, void *out, size_t n, const char *what);
/* A u32 in [lo, hi]. */
int veil_zkr_u32(veil_zkr *r, uint32_t *x, uint32_t lo, uint32_t hi, const char *what);
/* A canonical scalar / a valid group element. */
int veil_zkr_fe(veil_zkr *r, veil_fe *x, const char *what);
int veil_zkr_fes(veil_zkr *r, veil_fe *x, size_t n, const char *what);
int veil_zkr_ge(veil_zkr *r, veil_ge *p, const char *what);
/* 0 if no error and every byte was consumed; else records the reason
 * with veil_fail and returns VEIL_EINVAL. */
int veil_zkr_end(veil_zkr *r);

/* Pieces shared by every protocol's format (zk A's wire formats for the
 * commitment-layer objects, framed inside our body). */
void veil_zkw_hyrax(veil_zkw *w, const veil_hyrax_commitment *cm);
void veil_zkw_ipa(veil_zkw *w, const veil_ipa_proof *pf);
void veil_zkw_open(veil_zkw *w, const veil_open_proof *pf);
void veil_zkw_zksc(veil_zkw *w, const veil_zksc_proof *pf);
void veil_zkw_zero(veil_zkw *w, const veil_zero_proof *pf);
void veil_zkw_prod(veil_zkw *w, const veil_prod_proof *pf);
/* Readers with the sizes the verifier expects (anything else fails).
 * veil_zkr_hyrax and veil_zkr_zksc allocate: free with the usual
 * veil_hyrax_commitment_free / veil_zksc_proof_free even on failure. */
int veil_zkr_hyrax(veil_zkr *r, veil_hyrax_commitment *cm, unsigned nvars, const char *what);
int veil_zkr_ipa(veil_zkr *r, veil_ipa_proof *pf, unsigned rounds, const char *what);
int veil_zkr_zksc(veil_zkr *r, veil_zksc_proof *pf, unsigned nvars, unsigned deg);
int veil_zkr_zero(veil_zkr *r, veil_zero_proof *pf, const char *what);
int veil_zkr_prod(veil_zkr *r, veil_prod_proof *pf, const char *what);

/* Whole-file helpers: VEIL_EIO / VEIL_ERANGE (over VEIL_ZKP_MAX_BYTES). */
int veil_zkp_write_file(const char *path, const uint8_t *p, size_t n);
int veil_zkp_read_file(const char *path, uint8_t **p, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
