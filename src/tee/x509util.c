/* Signature, key and certificate-chain helpers for the attestation backends. */
#include "tee_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tee_ossl_fail(int code, const char *what)
{
    char buf[256] = "";
    unsigned long e = ERR_get_error();
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return veil_fail(code, "%s%s%s", what, *buf ? ": " : "", buf);
}

static BIGNUM *bn_from(const uint8_t *p, size_t w, int le)
{
    return le ? BN_lebin2bn(p, (int)w, NULL) : BN_bin2bn(p, (int)w, NULL);
}

int tee_ecdsa_verify(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t n,
                     const uint8_t *r, const uint8_t *s, size_t width, int little_endian)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = bn_from(r, width, little_endian), *bs = bn_from(s, width, little_endian);
    unsigned char *der = NULL;
    int dlen = -1, ok = 0;
    if (sig && br && bs && ECDSA_SIG_set0(sig, br, bs)) {
        br = bs = NULL; /* owned by sig now */
        dlen = i2d_ECDSA_SIG(sig, &der);
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (dlen > 0 && ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1)
        ok = EVP_DigestVerify(ctx, der, (size_t)dlen, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return ok ? 0 : VEIL_EVERIFY;
}

static int bn_out(const BIGNUM *b, uint8_t *out, size_t w, int le)
{
    return (le ? BN_bn2lebinpad(b, out, (int)w) : BN_bn2binpad(b, out, (int)w)) == (int)w;
}

int tee_ecdsa_sign(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t n, uint8_t *r,
                   uint8_t *s, size_t width, int little_endian)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[160];
    size_t dlen = sizeof der;
    int rc = VEIL_EINVAL;
    if (ctx && EVP_DigestSignInit(ctx, NULL, md, NULL, pk) == 1 &&
        EVP_DigestSign(ctx, der, &dlen, msg, n) == 1) {
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
        if (sig && bn_out(ECDSA_SIG_get0_r(sig), r, width, little_endian) &&
            bn_out(ECDSA_SIG_get0_s(sig), s, width, little_endian))
            rc = 0;
        ECDSA_SIG_free(sig);
    }
    EVP_MD_CTX_free(ctx);
    return rc ? tee_ossl_fail(rc, "ECDSA signing failed") : 0;
}

EVP_PKEY *tee_ec_pub(const char *curve, const uint8_t *xy, size_t len)
{
    uint8_t pt[1 + 2 * 66];
    if (len > 2 * 66) return NULL;
    pt[0] = 0x04; /* uncompressed point */
    memcpy(pt + 1, xy, len);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (b && ctx && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, len + 1) &&
        (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pk;
}

/* Opens a PEM file for reading; on failure records why, naming what it holds. */
static FILE *open_pem(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    if (!f) veil_fail(VEIL_EIO, "cannot open %s %s: %s", what, path, strerror(errno));
    return f;
}

X509 *tee_read_cert(const char *path)
{
    FILE *f = open_pem(path, "certificate");
    if (!f) return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) tee_ossl_fail(VEIL_EINVAL, path);
    return x;
}

EVP_PKEY *tee_read_key(const char *path)
{
    FILE *f = open_pem(path, "key");
    if (!f) return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k) tee_ossl_fail(VEIL_EINVAL, path);
    return k;
}

X509 *tee_der_cert(const uint8_t *der, size_t n)
{
    const unsigned char *p = der;
    if (n > LONG_MAX) return NULL;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    if (x && p != der + n) { /* trailing bytes: not one certificate */
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

static int valid_now(X509 *x)
{
    return X509_cmp_current_time(X509_get0_notBefore(x)) < 0 &&
           X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
}

int tee_verify_chain(X509 *const *chain, const char *const *names, int n, int require_pss)
{
    for (int i = 0; i < n; i++) {
        if (!valid_now(chain[i]))
            return veil_fail(VEIL_EVERIFY, "%s certificate is expired or not yet valid", names[i]);
        /* the last one is the trust anchor named by the policy: trusted as
         * configured, so its self-signature proves nothing and is skipped */
        if (i == n - 1) break;
        X509 *issuer = chain[i + 1];
        const char *iname = names[i + 1];
        if (X509_check_issued(issuer, chain[i]) != X509_V_OK)
            return veil_fail(VEIL_EVERIFY, "%s certificate was not issued by the %s", names[i], iname);
        if (require_pss && X509_get_signature_nid(chain[i]) != NID_rsassaPss)
            return veil_fail(VEIL_EVERIFY, "%s certificate is not signed with RSA-PSS", names[i]);
        EVP_PKEY *ik = X509_get0_pubkey(issuer);
        if (!ik || X509_verify(chain[i], ik) != 1) {
            ERR_clear_error();
            return veil_fail(VEIL_EVERIFY, "%s certificate signature does not verify under the %s",
                             names[i], iname);
        }
    }
    return 0;
}

int tee_key_hash(EVP_PKEY *pk, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    if (n <= 0) return tee_ossl_fail(VEIL_EINVAL, "cannot encode public key");
    veil_sha256(der, (size_t)n, out);
    OPENSSL_free(der);
    return 0;
}

int tee_key_id(EVP_PKEY *pk, char out[65])
{
    uint8_t h[32];
    int rc = tee_key_hash(pk, h);
    if (!rc) veil_hex(h, 32, out);
    return rc;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* A random positive 128-bit serial: no two certificates share issuer+serial. */
static int random_serial(X509 *x)
{
    uint8_t serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return 0;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    return ok;
}

X509 *tee_make_cert(EVP_PKEY *pub, const char *org, const char *cn, X509 *issuer, EVP_PKEY *ikey,
                    int ca, const EVP_MD *md)
{
    X509 *x = X509_new();
    X509_NAME *nm = x ? X509_get_subject_name(x) : NULL;
    X509 *iss = issuer ? issuer : x;
    int ok = nm && random_serial(x) && X509_set_version(x, 2) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 10L * 366 * 24 * 3600) &&
             (!org || X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)org,
                                                 -1, -1, 0)) &&
             X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(iss)) && X509_set_pubkey(x, pub);
    if (ok && ca >= 0)
        ok = add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
             add_ext(x, iss, NID_key_usage,
                     ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (ok) ok = X509_sign(x, ikey, md) > 0;
    if (!ok) {
        X509_free(x);
        tee_ossl_fail(VEIL_EINVAL, "cannot build certificate");
        return NULL;
    }
    return x;
}

int tee_write_pem(const char *path, EVP_PKEY *key, X509 *crt)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, key ? 0600 : 0644);
    if (fd < 0) return veil_fail(VEIL_EIO, "cannot create %s: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return veil_fail(VEIL_EIO, "cannot write %s", path);
    }
    int wrote = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, crt);
    int closed = fclose(f) == 0;
    return wrote && closed ? 0 : tee_ossl_fail(VEIL_EIO, path);
}

int tee_read_file(const char *path, size_t max, uint8_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return veil_fail(VEIL_EIO, "cannot open %s: %s", path, strerror(errno));
    uint8_t *buf = malloc(max + 1);
    size_t got = buf ? fread(buf, 1, max + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!buf) return veil_fail(VEIL_ENOMEM, "out of memory");
    if (err) {
        free(buf);
        return veil_fail(VEIL_EIO, "cannot read %s", path);
    }
    if (got > max) {
        free(buf);
        return veil_fail(VEIL_ERANGE, "%s is larger than %zu bytes", path, max);
    }
    *out = buf;
    *n = got;
    return 0;
}
