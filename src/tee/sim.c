/* The sim backend: a software TEE with a simulated vendor root.
 *
 * Report layout (VEIL_SIM_REPORT_LEN = 256 bytes, little-endian integers):
 *   0   "VEILSIM1"        8    u32 version (1)   12  u32 tee_type
 *   16  u64 capacity      24   u32 gpus          28  u32 flags (bit 0 debug)
 *   32  measurement[48]   80   report_data[64]
 *   144 signature r[48] s[48] (ECDSA P-384, SHA-384 over bytes 0..143, big-endian)
 *   240 reserved[16] (zero)
 * The platform key that signs it is certified by the authority root. */
#include "tee_internal.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_MAGIC "VEILSIM1"
#define SIM_SIGNED 144

/* ---- measurement ---- */

struct veil_measure {
    EVP_MD_CTX *md;
};

int veil_measure_new(veil_measure **out)
{
    veil_measure *m = calloc(1, sizeof *m);
    if (!m || !(m->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(m->md, EVP_sha384(), NULL) != 1) {
        if (m) EVP_MD_CTX_free(m->md);
        free(m);
        return veil_fail(VEIL_ENOMEM, "cannot start SHA-384");
    }
    static const char domain[] = "veil-sim-measurement-v1";
    EVP_DigestUpdate(m->md, domain, sizeof domain);
    *out = m;
    return 0;
}

/* Each input is framed as label NUL, u64 length, bytes, so no two different
 * sets of inputs hash the same. */
static void frame(veil_measure *m, const char *label, uint64_t n)
{
    uint8_t len[8];
    tee_put64(len, n);
    EVP_DigestUpdate(m->md, label, strlen(label) + 1);
    EVP_DigestUpdate(m->md, len, 8);
}

int veil_measure_add(veil_measure *m, const char *label, const void *data, size_t n)
{
    frame(m, label, n);
    EVP_DigestUpdate(m->md, data, n);
    return 0;
}

int veil_measure_file(veil_measure *m, const char *label, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return veil_fail(VEIL_EIO, "cannot measure %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        fclose(f);
        return veil_fail(VEIL_EIO, "cannot measure %s: not a regular file", path);
    }
    frame(m, label, (uint64_t)st.st_size);
    static _Thread_local uint8_t buf[1 << 16];
    size_t r, total = 0;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(m->md, buf, r);
        total += r;
    }
    int err = ferror(f);
    fclose(f);
    if (err || total != (size_t)st.st_size)
        return veil_fail(VEIL_EIO, "cannot measure %s: short read", path);
    return 0;
}

int veil_measure_final(veil_measure *m, uint8_t out[48])
{
    unsigned int len = 0;
    int ok = EVP_DigestFinal_ex(m->md, out, &len) == 1 && len == 48;
    EVP_MD_CTX_free(m->md);
    free(m);
    return ok ? 0 : veil_fail(VEIL_EINVAL, "SHA-384 failed");
}

int veil_measure_node(const char *binary, const char *config, const char *weights, uint8_t out[48])
{
    veil_measure *m;
    uint8_t tmp[48];
    int rc = veil_measure_new(&m);
    if (rc) return rc;
    rc = veil_measure_file(m, "binary", binary ? binary : "/proc/self/exe");
    if (!rc && config) rc = veil_measure_file(m, "config", config);
    if (!rc && weights) rc = veil_measure_file(m, "weights", weights);
    int frc = veil_measure_final(m, tmp); /* always: it frees m */
    if (!rc) rc = frc;
    if (!rc) memcpy(out, tmp, 48);
    return rc;
}

/* ---- authority ---- */

#define SIM_ORG "veil SIMULATED TEE vendor"

static int issue_platform(EVP_PKEY *root_key, X509 *root, const char *prefix)
{
    char kp[4200], cp[4200];
    if (snprintf(kp, sizeof kp, "%s.key", prefix) >= (int)sizeof kp ||
        snprintf(cp, sizeof cp, "%s.crt", prefix) >= (int)sizeof cp)
        return veil_fail(VEIL_EINVAL, "path too long");
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    X509 *x = pk ? tee_make_cert(pk, SIM_ORG, "veil simulated platform key (SIMULATED)", root, root_key, 0,
                               EVP_sha384()) : NULL;
    int rc = x ? tee_write_pem(kp, pk, NULL) : VEIL_EINVAL;
    if (!rc) rc = tee_write_pem(cp, NULL, x);
    EVP_PKEY_free(pk);
    X509_free(x);
    return rc;
}

int veil_sim_authority_init(const char *dir)
{
    char p[4200], q[4200];
    if (mkdir(dir, 0700) && errno != EEXIST)
        return veil_fail(VEIL_EIO, "cannot create %s: %s", dir, strerror(errno));
    if (snprintf(p, sizeof p, "%s/root.key", dir) >= (int)sizeof p)
        return veil_fail(VEIL_EINVAL, "path too long");
    if (access(p, F_OK) == 0) return veil_fail(VEIL_EINVAL, "%s already exists; not overwriting", p);
    EVP_PKEY *rk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    X509 *root = rk ? tee_make_cert(rk, SIM_ORG, "veil simulated TEE vendor root (SIMULATED)", NULL, rk,
                                      1, EVP_sha384()) : NULL;
    int rc = root ? tee_write_pem(p, rk, NULL) : VEIL_EINVAL;
    snprintf(q, sizeof q, "%s/root.crt", dir);
    if (!rc) rc = tee_write_pem(q, NULL, root);
    snprintf(q, sizeof q, "%s/platform", dir);
    if (!rc) rc = issue_platform(rk, root, q);
    EVP_PKEY_free(rk);
    X509_free(root);
    return rc;
}

int veil_sim_platform_issue(const char *dir, const char *prefix)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/root.key", dir);
    EVP_PKEY *rk = tee_read_key(p);
    snprintf(p, sizeof p, "%s/root.crt", dir);
    X509 *root = rk ? tee_read_cert(p) : NULL;
    int rc = root ? issue_platform(rk, root, prefix) : VEIL_EINVAL;
    EVP_PKEY_free(rk);
    X509_free(root);
    return rc;
}

/* ---- collect / verify ---- */

int tee_sim_collect(veil_attester *a, const uint8_t rd[64], uint8_t **ev, size_t *n)
{
    uint8_t rep[VEIL_SIM_REPORT_LEN] = {0};
    memcpy(rep, SIM_MAGIC, 8);
    tee_put32(rep + 8, 1);
    tee_put32(rep + 12, (uint32_t)a->o.tee_type);
    tee_put64(rep + 16, a->o.capacity_bytes);
    tee_put32(rep + 24, a->o.gpus);
    memcpy(rep + 32, a->measurement, 48);
    memcpy(rep + 80, rd, 64);
    int rc = tee_ecdsa_sign(a->platform_key, EVP_sha384(), rep, SIM_SIGNED, rep + 144, rep + 192,
                            48, 0);
    if (rc) return rc;
    const uint8_t *parts[2] = {rep, a->platform_der};
    size_t lens[2] = {sizeof rep, a->platform_der_len};
    return veil_evidence_build(VEIL_TEE_BACKEND_SIM, parts, lens, 2, ev, n);
}

int tee_sim_verify(const veil_evidence *e, const veil_policy *p, veil_claims *c)
{
    const uint8_t *r = e->part[0];
    if (e->nparts != 2) return veil_fail(VEIL_EINVAL, "sim evidence must have 2 parts");
    if (e->len[0] != VEIL_SIM_REPORT_LEN)
        return veil_fail(VEIL_EINVAL, "sim report is %zu bytes, expected %d (truncated or oversized)",
                         e->len[0], VEIL_SIM_REPORT_LEN);
    if (memcmp(r, SIM_MAGIC, 8) != 0 || tee_le32(r + 8) != 1)
        return veil_fail(VEIL_EINVAL, "not a version-1 sim report");
    if (!p->sim_root[0]) return veil_fail(VEIL_EINVAL, "policy has no sim_root (authority root.crt)");
    X509 *root = tee_read_cert(p->sim_root);
    if (!root) return VEIL_EINVAL;
    X509 *plat = tee_der_cert(e->part[1], e->len[1]);
    int rc = plat ? 0 : veil_fail(VEIL_EINVAL, "sim evidence carries no valid platform certificate");
    if (!rc) {
        X509 *chain[2] = {plat, root};
        static const char *const names[2] = {"platform", "simulated authority root"};
        rc = tee_verify_chain(chain, names, 2, 0);
    }
    EVP_PKEY *pk = plat ? X509_get0_pubkey(plat) : NULL;
    if (!rc && (!pk || EVP_PKEY_get_bits(pk) != 384 || !EVP_PKEY_is_a(pk, "EC")))
        rc = veil_fail(VEIL_EVERIFY, "platform key is not ECDSA P-384");
    if (!rc && tee_ecdsa_verify(pk, EVP_sha384(), r, SIM_SIGNED, r + 144, r + 192, 48, 0))
        rc = veil_fail(VEIL_EVERIFY, "bad signature: sim report does not verify under the platform key");
    if (!rc) {
        uint32_t type = tee_le32(r + 12);
        if (type > VEIL_TEE_TYPE_GPU) rc = veil_fail(VEIL_EINVAL, "sim report has unknown TEE type");
        c->simulated = 1;
        c->tee_type = (int)type;
        c->capacity_bytes = tee_le64(r + 16);
        c->gpus = tee_le32(r + 24);
        c->debug = tee_le32(r + 28) & 1;
        memcpy(c->measurement, r + 32, 48);
        memcpy(c->report_data, r + 80, 64);
        if (!rc) rc = tee_key_id(pk, c->platform);
    }
    X509_free(plat);
    X509_free(root);
    return rc;
}
