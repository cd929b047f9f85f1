/* Test certificate chains and synthetic SEV-SNP reports / TDX quotes, built
 * with OpenSSL inside the tests (no hardware, no vendor keys). */
#ifndef VEIL_TEE_TESTCA_H
#define VEIL_TEE_TESTCA_H

#include "tee/tee_internal.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *oid;
    uint8_t der[80];
    int len;
} tca_ext;

static inline EVP_PKEY *tca_ec(const char *curve) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve); }
static inline EVP_PKEY *tca_rsa(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); }

static inline tca_ext tca_int_ext(const char *oid, unsigned v)
{
    tca_ext e = {oid, {0x02, 0x01, (uint8_t)v}, 3};
    if (v >= 0x80) e = (tca_ext){oid, {0x02, 0x02, 0x00, (uint8_t)v}, 4};
    return e;
}

static inline void tca_conf(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, val);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* Certificate for subj signed by ikey (issuer NULL = self-signed). pss: sign
 * with RSASSA-PSS (SHA-384); md selects the digest otherwise. */
static inline X509 *tca_cert(EVP_PKEY *subj, const char *cn, X509 *issuer, EVP_PKEY *ikey, int ca,
                             int pss, const EVP_MD *md, const tca_ext *ext, int next)
{
    static long serial = 1000;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 30);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    X509_set_pubkey(x, subj);
    tca_conf(x, issuer ? issuer : x, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca) tca_conf(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
    for (int i = 0; i < next; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(ext[i].oid, 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, ext[i].der, ext[i].len);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    EVP_DigestSignInit(mc, &pc, md ? md : EVP_sha384(), NULL, ikey);
    if (pss) {
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
    }
    X509_sign_ctx(x, mc);
    EVP_MD_CTX_free(mc);
    return x;
}

static inline void tca_write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    PEM_write_X509(f, x);
    fclose(f);
}

static inline size_t tca_der(X509 *x, uint8_t *out)
{
    unsigned char *p = out;
    return (size_t)i2d_X509(x, &p);
}

static inline void tca_append_pem(char *buf, size_t cap, size_t *len, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    if (*len + (size_t)n <= cap) {
        memcpy(buf + *len, data, (size_t)n);
        *len += (size_t)n;
    }
    BIO_free(b);
}

#endif
