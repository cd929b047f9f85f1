/* Internal helpers shared by the attestation backends (and their tests). */
#ifndef VEIL_TEE_INTERNAL_H
#define VEIL_TEE_INTERNAL_H

#include "veil/attest.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Little-endian readers/writers for report fields. */
static inline uint16_t tee_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t tee_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tee_le64(const uint8_t *p)
{
    return (uint64_t)tee_le32(p) | (uint64_t)tee_le32(p + 4) << 32;
}
static inline void tee_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void tee_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Record the pending OpenSSL error (if any) after `what`. */
int tee_ossl_fail(int code, const char *what);

/* ECDSA over msg with digest md; the signature is given as fixed-width r and
 * s (width bytes each, big- or little-endian). 0 when valid. */
int tee_ecdsa_verify(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t n,
                     const uint8_t *r, const uint8_t *s, size_t width, int little_endian);
/* Sign and write fixed-width r and s (used by the sim backend and tests). */
int tee_ecdsa_sign(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t n, uint8_t *r,
                   uint8_t *s, size_t width, int little_endian);
/* EC public key from an uncompressed point x||y on the named curve. */
EVP_PKEY *tee_ec_pub(const char *curve, const uint8_t *xy, size_t len);

/* PEM / DER loading. */
X509 *tee_read_cert(const char *path);
EVP_PKEY *tee_read_key(const char *path);
X509 *tee_der_cert(const uint8_t *der, size_t n);

/* Verify chain[0] <- chain[1] <- ... <- chain[n-1] (the trusted root from
 * the policy: only its validity period is checked). names[i] names chain[i] in reasons. require_pss: every
 * link must be signed with RSASSA-PSS. Checks issuer names, signatures and
 * validity periods. */
int tee_verify_chain(X509 *const *chain, const char *const *names, int n, int require_pss);

/* SHA-256 of a public key's DER SubjectPublicKeyInfo: raw, or hex (65 bytes). */
int tee_key_hash(EVP_PKEY *pk, uint8_t out[32]);
int tee_key_id(EVP_PKEY *pk, char out[65]);

/* A certificate for pub (10 years, random serial) signed by ikey, issued by
 * issuer or self-signed when issuer is NULL. org may be NULL. ca: 1 = CA,
 * 0 = end entity (basicConstraints + keyUsage), -1 = no extensions. md NULL
 * for Ed25519 keys. */
X509 *tee_make_cert(EVP_PKEY *pub, const char *org, const char *cn, X509 *issuer, EVP_PKEY *ikey,
                    int ca, const EVP_MD *md);
/* Write a private key (mode 0600) or a certificate as PEM to a new file;
 * never overwrites. */
int tee_write_pem(const char *path, EVP_PKEY *key, X509 *crt);

/* Backend verifiers: check signature, chain and backend-specific policy, and
 * fill the claims; the shared checks (report_data, measurement allow-list,
 * debug, TEE type) are done by veil_attest_verify afterwards. */
int tee_sim_verify(const veil_evidence *e, const veil_policy *p, veil_claims *c);
int tee_snp_verify(const veil_evidence *e, const veil_policy *p, veil_claims *c);
int tee_tdx_verify(const veil_evidence *e, const veil_policy *p, veil_claims *c);

/* Backend collectors. */
int tee_sim_collect(veil_attester *a, const uint8_t rd[64], uint8_t **ev, size_t *n);
int tee_tsm_collect(const char *tsm_dir, const char *provider, const uint8_t rd[64],
                    uint8_t **out, size_t *nout, uint8_t **aux, size_t *naux);
/* SEV-SNP extended-report certificate table (GUID table) -> VCEK/ASK DER. */
int tee_snp_cert_table(const uint8_t *aux, size_t n, const uint8_t **vcek, size_t *nvcek,
                       const uint8_t **ask, size_t *nask);

/* Read a whole small file (at most max bytes) into a malloc'ed buffer. */
int tee_read_file(const char *path, size_t max, uint8_t **out, size_t *n);

struct veil_attester {
    veil_attester_opts o;
    uint8_t measurement[48];
    EVP_PKEY *platform_key; /* sim */
    uint8_t *platform_der;  /* sim: platform certificate */
    size_t platform_der_len;
    char tsm_dir[4096];
};

#endif
