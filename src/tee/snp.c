/* AMD SEV-SNP attestation reports (SEV-SNP ABI spec, ATTESTATION_REPORT).
 *
 * Offsets used (little-endian): 0x000 version, 0x004 guest_svn, 0x008 policy,
 * 0x030 vmpl, 0x034 signature_algo (1 = ECDSA P-384 with SHA-384), 0x038
 * current_tcb, 0x040 platform_info, 0x048 key flags (bit 1 MASK_CHIP_KEY,
 * bits 2-4 SIGNING_KEY: 0 = VCEK), 0x050 report_data[64], 0x090
 * measurement[48], 0x0C0 host_data[32], 0x180 reported_tcb, 0x1A0 chip_id[64],
 * 0x2A0 signature: r[72] s[72] little-endian. Signed bytes: 0x000..0x29F.
 * TCB_VERSION (Milan/Genoa): byte 0 boot loader, 1 TEE, 6 SNP, 7 microcode.
 * Guest policy bit 19 = DEBUG. */
#include "tee_internal.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <string.h>

#define SNP_SIGNED 0x2A0
#define SNP_POLICY_DEBUG (1ull << 19)

int veil_snp_parse(const uint8_t *b, size_t n, veil_snp_report *r)
{
    memset(r, 0, sizeof *r);
    if (n != VEIL_SNP_REPORT_LEN)
        return veil_fail(VEIL_EINVAL, "SEV-SNP report is %zu bytes, expected %d (%s)", n,
                         VEIL_SNP_REPORT_LEN, n < VEIL_SNP_REPORT_LEN ? "truncated" : "oversized");
    r->raw = b;
    r->version = tee_le32(b + 0x00);
    r->guest_svn = tee_le32(b + 0x04);
    r->policy = tee_le64(b + 0x08);
    r->vmpl = tee_le32(b + 0x30);
    r->sig_algo = tee_le32(b + 0x34);
    r->current_tcb = tee_le64(b + 0x38);
    r->platform_info = tee_le64(b + 0x40);
    r->report_data = b + 0x50;
    r->measurement = b + 0x90;
    r->host_data = b + 0xC0;
    r->reported_tcb = tee_le64(b + 0x180);
    r->chip_id = b + 0x1A0;
    r->sig_r = b + 0x2A0;
    r->sig_s = b + 0x2A0 + 72;
    if (r->version < 2) return veil_fail(VEIL_EINVAL, "SEV-SNP report version %u unsupported", r->version);
    if (r->sig_algo != 1)
        return veil_fail(VEIL_EINVAL, "SEV-SNP report signature algorithm %u is not ECDSA P-384", r->sig_algo);
    uint32_t flags = tee_le32(b + 0x48);
    if (flags & 2) return veil_fail(VEIL_EINVAL, "SEV-SNP report has a masked chip key (no signature)");
    if ((flags >> 2) & 7)
        return veil_fail(VEIL_EINVAL, "SEV-SNP report is not VCEK-signed (VLEK unsupported)");
    return 0;
}

/* TCB components in policy order: boot loader, TEE, SNP, microcode. */
static void tcb_parts(uint64_t tcb, uint8_t out[4])
{
    out[0] = (uint8_t)tcb, out[1] = (uint8_t)(tcb >> 8), out[2] = (uint8_t)(tcb >> 48),
    out[3] = (uint8_t)(tcb >> 56);
}

/* An AMD VCEK extension (OID under 1.3.6.1.4.1.3704.1) whose value is a DER
 * INTEGER; -1 when absent or malformed. */
static long vcek_int(X509 *x, const char *oid)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int i = o ? X509_get_ext_by_OBJ(x, o, -1) : -1;
    ASN1_OBJECT_free(o);
    if (i < 0) return -1;
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, i));
    const unsigned char *p = ASN1_STRING_get0_data(d);
    ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(d));
    long v = ai ? ASN1_INTEGER_get(ai) : -1;
    ASN1_INTEGER_free(ai);
    ERR_clear_error();
    return v;
}

/* The VCEK hwID extension: 64 raw bytes, or a DER OCTET STRING of 64 bytes. */
static int vcek_hwid(X509 *x, uint8_t out[64])
{
    ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.3704.1.4", 1);
    int i = o ? X509_get_ext_by_OBJ(x, o, -1) : -1;
    ASN1_OBJECT_free(o);
    if (i < 0) return -1;
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, i));
    const unsigned char *p = ASN1_STRING_get0_data(d);
    int len = ASN1_STRING_length(d), rc = -1;
    if (len == 64) {
        memcpy(out, p, 64);
        return 0;
    }
    ASN1_OCTET_STRING *in = d2i_ASN1_OCTET_STRING(NULL, &p, len);
    if (in && ASN1_STRING_length(in) == 64) {
        memcpy(out, ASN1_STRING_get0_data(in), 64);
        rc = 0;
    }
    ASN1_OCTET_STRING_free(in);
    ERR_clear_error();
    return rc;
}

/* The VCEK is issued for one TCB: its extensions must equal REPORTED_TCB. */
static int check_vcek_tcb(X509 *vcek, const veil_snp_report *r)
{
    static const char *const oids[4] = {"1.3.6.1.4.1.3704.1.3.1", "1.3.6.1.4.1.3704.1.3.2",
                                        "1.3.6.1.4.1.3704.1.3.3", "1.3.6.1.4.1.3704.1.3.8"};
    static const char *const what[4] = {"boot loader", "TEE", "SNP", "microcode"};
    uint8_t tcb[4], hw[64];
    tcb_parts(r->reported_tcb, tcb);
    for (int i = 0; i < 4; i++) {
        long v = vcek_int(vcek, oids[i]);
        if (v < 0) return veil_fail(VEIL_EVERIFY, "VCEK lacks its %s SPL extension", what[i]);
        if (v != tcb[i])
            return veil_fail(VEIL_EVERIFY, "VCEK %s SPL %ld does not match the report's reported "
                                           "TCB (%u)", what[i], v, tcb[i]);
    }
    if (vcek_hwid(vcek, hw)) return veil_fail(VEIL_EVERIFY, "VCEK lacks its hwID extension");
    if (memcmp(hw, r->chip_id, 64) != 0)
        return veil_fail(VEIL_EVERIFY, "VCEK hwID does not match the report's chip id");
    return 0;
}

static int check_min_tcb(const veil_snp_report *r, const veil_policy *p)
{
    static const char *const what[4] = {"boot loader", "TEE", "SNP", "microcode"};
    uint8_t tcb[4];
    tcb_parts(r->reported_tcb, tcb);
    for (int i = 0; i < 4; i++)
        if (tcb[i] < p->snp_min_tcb[i])
            return veil_fail(VEIL_EVERIFY, "stale TCB: %s SPL %u is below the policy minimum %u",
                             what[i], tcb[i], p->snp_min_tcb[i]);
    return 0;
}

/* VCEK (evidence) -> ASK (evidence, or policy) -> ARK (policy). */
static int check_chain(const veil_evidence *e, const veil_policy *p, X509 **vcek_out)
{
    X509 *vcek = NULL, *ask = NULL, *ark = NULL;
    int rc = 0;
    if (!p->snp_ark[0]) return veil_fail(VEIL_EINVAL, "policy has no snp_ark (AMD root key)");
    if (e->nparts < 2) return veil_fail(VEIL_EINVAL, "SEV-SNP evidence carries no VCEK certificate");
    if (!(vcek = tee_der_cert(e->part[1], e->len[1])))
        rc = veil_fail(VEIL_EINVAL, "SEV-SNP evidence: VCEK certificate is malformed");
    if (!rc && e->nparts >= 3 && !(ask = tee_der_cert(e->part[2], e->len[2])))
        rc = veil_fail(VEIL_EINVAL, "SEV-SNP evidence: ASK certificate is malformed");
    if (!rc && !ask && !(p->snp_ask[0] && (ask = tee_read_cert(p->snp_ask))))
        rc = veil_fail(VEIL_EINVAL, "no ASK certificate (neither in the evidence nor snp_ask)");
    if (!rc && !(ark = tee_read_cert(p->snp_ark))) rc = VEIL_EINVAL;
    if (!rc) {
        X509 *chain[3] = {vcek, ask, ark};
        static const char *const names[3] = {"VCEK", "ASK", "ARK"};
        rc = tee_verify_chain(chain, names, 3, 1);
    }
    X509_free(ask);
    X509_free(ark);
    if (rc) X509_free(vcek);
    else *vcek_out = vcek;
    return rc;
}

int tee_snp_verify(const veil_evidence *e, const veil_policy *p, veil_claims *c)
{
    veil_snp_report r;
    int rc = veil_snp_parse(e->part[0], e->len[0], &r);
    X509 *vcek = NULL;
    if (!rc) rc = check_chain(e, p, &vcek);
    EVP_PKEY *pk = vcek ? X509_get0_pubkey(vcek) : NULL;
    if (!rc && (!pk || !EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_get_bits(pk) != 384))
        rc = veil_fail(VEIL_EVERIFY, "VCEK key is not ECDSA P-384");
    if (!rc && tee_ecdsa_verify(pk, EVP_sha384(), r.raw, SNP_SIGNED, r.sig_r, r.sig_s, 72, 1))
        rc = veil_fail(VEIL_EVERIFY, "bad signature: SEV-SNP report does not verify under the VCEK");
    if (!rc) rc = check_vcek_tcb(vcek, &r);
    if (!rc) rc = check_min_tcb(&r, p);
    if (!rc) {
        c->tee_type = VEIL_TEE_TYPE_CPU;
        c->debug = (r.policy & SNP_POLICY_DEBUG) != 0;
        c->tcb = r.reported_tcb;
        memcpy(c->measurement, r.measurement, 48);
        memcpy(c->report_data, r.report_data, 64);
        uint8_t h[32];
        veil_sha256(r.chip_id, 64, h);
        veil_hex(h, 32, c->platform);
    }
    X509_free(vcek);
    return rc;
}

/* Extended-report certificate table: entries of GUID[16] | u32 offset |
 * u32 length (offsets from the table start), ended by an all-zero entry.
 * GUIDs in their on-wire (little-endian first three fields) byte order. */
int tee_snp_cert_table(const uint8_t *aux, size_t n, const uint8_t **vcek, size_t *nvcek,
                       const uint8_t **ask, size_t *nask)
{
    static const uint8_t vcek_guid[16] = {0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
                                          0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    static const uint8_t ask_guid[16] = {0x79, 0xb3, 0xb7, 0x4a, 0xac, 0xbb, 0xe4, 0x4f,
                                         0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
    static const uint8_t zero[24] = {0};
    *vcek = *ask = NULL;
    *nvcek = *nask = 0;
    for (size_t off = 0;; off += 24) {
        if (n < 24 || off > n - 24)
            return veil_fail(VEIL_EINVAL, "SEV-SNP certificate table is not terminated");
        const uint8_t *ent = aux + off;
        if (memcmp(ent, zero, 24) == 0) break;
        size_t o = tee_le32(ent + 16), l = tee_le32(ent + 20);
        if (o > n || l > n - o)
            return veil_fail(VEIL_EINVAL, "SEV-SNP certificate table entry points outside the blob");
        if (!memcmp(ent, vcek_guid, 16)) *vcek = aux + o, *nvcek = l;
        if (!memcmp(ent, ask_guid, 16)) *ask = aux + o, *nask = l;
    }
    if (!*vcek) return veil_fail(VEIL_EINVAL, "SEV-SNP certificate table has no VCEK");
    return 0;
}
