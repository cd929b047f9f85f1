/* Intel TDX quotes, version 4 (DCAP quote format, little-endian integers).
 *
 *   header (48): u16 version (4), u16 att_key_type (2 = ECDSA P-256), u32
 *     tee_type (0x81 = TDX), 4 reserved, qe_vendor_id[16], user_data[20]
 *   TD report body (584): tee_tcb_svn[16] @0, mrseam[48] @16,
 *     mrsignerseam[48] @64, seam_attributes[8] @112, td_attributes[8] @120
 *     (bit 0 = DEBUG), xfam[8] @128, mrtd[48] @136, mrconfigid @184, mrowner
 *     @232, mrownerconfig @280, rtmr0..3 @328/376/424/472, report_data[64] @520
 *   u32 signature data length, then signature data:
 *     signature[64] (r||s, big-endian; over header||body, SHA-256)
 *     attestation key[64] (x||y of P-256)
 *     u16 cert type (6 = QE report certification data), u32 size, then:
 *       qe_report[384] (SGX report body; report_data @320)
 *       qe_report_signature[64] (by the PCK key over qe_report)
 *       u16 auth size, auth data
 *       u16 cert type (5 = PCK chain, PEM), u32 size, PEM text
 * QE binding: qe_report.report_data = SHA-256(attestation key || auth data)
 * followed by 32 zero bytes. */
#include "tee_internal.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#define HDR VEIL_TDX_HEADER_LEN
#define BODY VEIL_TDX_BODY_LEN
#define QE_REPORT 384
#define MAX_CHAIN 4

/* Bounds-checked cursor over the signature data. */
typedef struct {
    const uint8_t *p;
    size_t left;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
    if (n > c->left) return NULL;
    const uint8_t *r = c->p;
    c->p += n;
    c->left -= n;
    return r;
}

static int parse_sig_data(cursor *c, veil_tdx_quote *q)
{
    const uint8_t *t;
    if (!(q->sig = take(c, 64)) || !(q->att_key = take(c, 64)) || !(t = take(c, 6)))
        return veil_fail(VEIL_EINVAL, "TDX quote truncated in its signature data");
    if (tee_le16(t) != 6)
        return veil_fail(VEIL_EINVAL, "TDX quote certification data type %u, expected 6 (QE report)",
                         tee_le16(t));
    size_t outer = tee_le32(t + 2);
    if (outer > c->left) return veil_fail(VEIL_EINVAL, "TDX quote QE certification data truncated");
    cursor in = {take(c, outer), outer};
    if (!(q->qe_report = take(&in, QE_REPORT)) || !(q->qe_sig = take(&in, 64)) || !(t = take(&in, 2)))
        return veil_fail(VEIL_EINVAL, "TDX quote QE report truncated");
    q->qe_auth_len = tee_le16(t);
    if (!(q->qe_auth = take(&in, q->qe_auth_len)) || !(t = take(&in, 6)))
        return veil_fail(VEIL_EINVAL, "TDX quote QE authentication data truncated");
    if (tee_le16(t) != 5)
        return veil_fail(VEIL_EINVAL, "TDX quote PCK certification data type %u, expected 5",
                         tee_le16(t));
    q->pck_chain_len = tee_le32(t + 2);
    if (!(q->pck_chain = take(&in, q->pck_chain_len)))
        return veil_fail(VEIL_EINVAL, "TDX quote PCK certificate chain truncated");
    if (in.left || c->left)
        return veil_fail(VEIL_EINVAL, "TDX quote has trailing bytes after its signature data");
    return 0;
}

int veil_tdx_parse(const uint8_t *b, size_t n, veil_tdx_quote *q)
{
    memset(q, 0, sizeof *q);
    if (n < HDR + BODY + 4) return veil_fail(VEIL_EINVAL, "TDX quote truncated (%zu bytes)", n);
    q->version = tee_le16(b);
    q->att_key_type = tee_le16(b + 2);
    q->tee_type = tee_le32(b + 4);
    if (q->version != 4) return veil_fail(VEIL_EINVAL, "TDX quote version %u, expected 4", q->version);
    if (q->att_key_type != 2)
        return veil_fail(VEIL_EINVAL, "TDX quote attestation key type %u is not ECDSA P-256",
                         q->att_key_type);
    if (q->tee_type != 0x81) return veil_fail(VEIL_EINVAL, "quote is not from a TDX TD (tee_type)");
    q->header = b;
    const uint8_t *body = q->body = b + HDR;
    q->tee_tcb_svn = body;
    q->td_attributes = tee_le64(body + 120);
    q->mrtd = body + 136;
    for (int i = 0; i < 4; i++) q->rtmr[i] = body + 328 + 48 * i;
    q->report_data = body + 520;
    size_t slen = tee_le32(b + HDR + BODY);
    cursor c = {b + HDR + BODY + 4, n - HDR - BODY - 4};
    if (slen != c.left)
        return veil_fail(VEIL_EINVAL, "TDX quote signature data length %zu does not match the %zu "
                                      "bytes present (%s)", slen, c.left,
                         slen > c.left ? "truncated" : "oversized");
    return parse_sig_data(&c, q);
}

/* PCK chain from the quote (PEM), leaf first; self-signed certificates in it
 * are dropped: the anchor is the root from the policy. */
static int load_pck_chain(const veil_tdx_quote *q, const char *root_path, X509 **chain, int *n)
{
    if (!root_path[0]) return veil_fail(VEIL_EINVAL, "policy has no tdx_root (Intel root CA)");
    if (q->pck_chain_len > (size_t)VEIL_EVIDENCE_MAX) return veil_fail(VEIL_EINVAL, "PCK chain too long");
    BIO *bio = BIO_new_mem_buf(q->pck_chain, (int)q->pck_chain_len);
    X509 *x;
    *n = 0;
    while (bio && *n < MAX_CHAIN - 1 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        if (*n > 0 && X509_check_issued(x, x) == X509_V_OK) X509_free(x);
        else chain[(*n)++] = x;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (*n == 0) return veil_fail(VEIL_EINVAL, "TDX quote carries no PCK certificate");
    if (!(chain[*n] = tee_read_cert(root_path))) return VEIL_EINVAL;
    (*n)++;
    return 0;
}

static int check_qe(const veil_tdx_quote *q, EVP_PKEY *pck)
{
    if (tee_ecdsa_verify(pck, EVP_sha256(), q->qe_report, QE_REPORT, q->qe_sig, q->qe_sig + 32, 32, 0))
        return veil_fail(VEIL_EVERIFY, "bad signature: QE report does not verify under the PCK key");
    uint8_t h[32];
    unsigned int hl = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, q->att_key, 64) == 1 &&
             EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) == 1 &&
             EVP_DigestFinal_ex(md, h, &hl) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) return tee_ossl_fail(VEIL_ENOMEM, "SHA-256 failed");
    static const uint8_t zero[32] = {0};
    if (memcmp(q->qe_report + 320, h, 32) || memcmp(q->qe_report + 352, zero, 32))
        return veil_fail(VEIL_EVERIFY, "QE report does not bind the attestation key");
    return 0;
}

static int check_quote_sig(const veil_tdx_quote *q)
{
    EVP_PKEY *ak = tee_ec_pub("prime256v1", q->att_key, 64);
    if (!ak) return veil_fail(VEIL_EVERIFY, "attestation key is not a P-256 point");
    int bad = tee_ecdsa_verify(ak, EVP_sha256(), q->header, HDR + BODY, q->sig, q->sig + 32, 32, 0);
    EVP_PKEY_free(ak);
    return bad ? veil_fail(VEIL_EVERIFY, "bad signature: TD quote does not verify under the "
                                         "attestation key") : 0;
}

static int check_tdx_policy(const veil_tdx_quote *q, const veil_policy *p)
{
    for (int i = 0; i < 16; i++)
        if (q->tee_tcb_svn[i] < p->tdx_min_svn[i])
            return veil_fail(VEIL_EVERIFY, "stale TCB: TEE_TCB_SVN[%d] = %u is below the policy "
                                           "minimum %u", i, q->tee_tcb_svn[i], p->tdx_min_svn[i]);
    for (int i = 0; i < 4; i++)
        if (p->rtmr_set[i] && memcmp(q->rtmr[i], p->rtmr[i], 48))
            return veil_fail(VEIL_EVERIFY, "RTMR%d does not match the policy", i);
    return 0;
}

int tee_tdx_verify(const veil_evidence *e, const veil_policy *p, veil_claims *c)
{
    veil_tdx_quote q;
    X509 *chain[MAX_CHAIN] = {0};
    static const char *const names[MAX_CHAIN] = {"PCK", "PCK issuer", "PCK issuer", "root"};
    const char *nm[MAX_CHAIN];
    int n = 0;
    if (e->nparts != 1) return veil_fail(VEIL_EINVAL, "TDX evidence must have exactly one part");
    int rc = veil_tdx_parse(e->part[0], e->len[0], &q);
    if (!rc) rc = load_pck_chain(&q, p->tdx_root, chain, &n);
    if (!rc) {
        for (int i = 0; i < n; i++) nm[i] = i == n - 1 ? "configured Intel root" : names[i];
        rc = tee_verify_chain(chain, nm, n, 0);
    }
    EVP_PKEY *pck = chain[0] ? X509_get0_pubkey(chain[0]) : NULL;
    if (!rc && (!pck || !EVP_PKEY_is_a(pck, "EC") || EVP_PKEY_get_bits(pck) != 256))
        rc = veil_fail(VEIL_EVERIFY, "PCK key is not ECDSA P-256");
    if (!rc) rc = check_qe(&q, pck);
    if (!rc) rc = check_quote_sig(&q);
    if (!rc) rc = check_tdx_policy(&q, p);
    if (!rc) {
        c->tee_type = VEIL_TEE_TYPE_CPU;
        c->debug = (int)(q.td_attributes & 1);
        c->tcb = tee_le64(q.tee_tcb_svn);
        memcpy(c->measurement, q.mrtd, 48);
        for (int i = 0; i < 4; i++) memcpy(c->rtmr[i], q.rtmr[i], 48);
        memcpy(c->report_data, q.report_data, 64);
        rc = tee_key_id(pck, c->platform);
    }
    for (int i = 0; i < MAX_CHAIN; i++) X509_free(chain[i]);
    return rc;
}
