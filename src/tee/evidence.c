/* Evidence envelope, verification dispatch, shared policy checks, and the
 * nonce challenge / evidence response exchange on a stream. */
#include "tee_internal.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_MAGIC "VEILEVD1"
#define EV_MAXPARTS 8
#define CHALLENGE_MAGIC "VATN"

static const char *const backend_names[] = {NULL, "sim", "sev-snp", "tdx"};
static const char *const type_names[] = {"none", "cpu-tee", "gpu-tee"};

int veil_tee_backend_parse(const char *name)
{
    for (int i = 1; i < 4; i++)
        if (name && strcmp(name, backend_names[i]) == 0) return i;
    return 0;
}

const char *veil_tee_backend_name(int b) { return b >= 1 && b <= 3 ? backend_names[b] : NULL; }

const char *veil_tee_type_name(int t) { return t >= 0 && t <= 2 ? type_names[t] : "unknown"; }

int veil_tee_type_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, type_names[i]) == 0) return i;
    return -1;
}

/* ---- envelope ---- */

int veil_evidence_parse(const uint8_t *buf, size_t n, veil_evidence *e)
{
    memset(e, 0, sizeof *e);
    if (n > VEIL_EVIDENCE_MAX)
        return veil_fail(VEIL_EINVAL, "evidence is oversized (%zu bytes, limit %d)", n,
                         VEIL_EVIDENCE_MAX);
    if (n < 16 || memcmp(buf, EV_MAGIC, 8) != 0)
        return veil_fail(VEIL_EINVAL, "not veil evidence (bad magic or truncated header)");
    e->backend = tee_le32(buf + 8);
    e->nparts = tee_le32(buf + 12);
    if (!veil_tee_backend_name((int)e->backend))
        return veil_fail(VEIL_EINVAL, "evidence names unknown backend %u", e->backend);
    if (e->nparts < 1 || e->nparts > EV_MAXPARTS)
        return veil_fail(VEIL_EINVAL, "evidence has %u parts (1..%d allowed)", e->nparts,
                         EV_MAXPARTS);
    size_t off = 16;
    for (uint32_t i = 0; i < e->nparts; i++) {
        if (n - off < 4) return veil_fail(VEIL_EINVAL, "evidence truncated before part %u", i);
        size_t len = tee_le32(buf + off);
        off += 4;
        if (len > n - off)
            return veil_fail(VEIL_EINVAL, "evidence truncated: part %u claims %zu bytes, %zu left",
                             i, len, n - off);
        e->part[i] = buf + off;
        e->len[i] = len;
        off += len;
    }
    if (off != n) return veil_fail(VEIL_EINVAL, "evidence has %zu trailing bytes", n - off);
    return 0;
}

int veil_evidence_build(uint32_t backend, const uint8_t *const *parts, const size_t *lens,
                        uint32_t nparts, uint8_t **out, size_t *n)
{
    size_t total = 16;
    if (nparts < 1 || nparts > EV_MAXPARTS) return veil_fail(VEIL_EINVAL, "bad part count");
    for (uint32_t i = 0; i < nparts; i++) total += 4 + lens[i];
    if (total > VEIL_EVIDENCE_MAX) return veil_fail(VEIL_ERANGE, "evidence would be oversized");
    uint8_t *b = malloc(total);
    if (!b) return veil_fail(VEIL_ENOMEM, "out of memory");
    memcpy(b, EV_MAGIC, 8);
    tee_put32(b + 8, backend);
    tee_put32(b + 12, nparts);
    size_t off = 16;
    for (uint32_t i = 0; i < nparts; i++) {
        tee_put32(b + off, (uint32_t)lens[i]);
        memcpy(b + off + 4, parts[i], lens[i]);
        off += 4 + lens[i];
    }
    *out = b;
    *n = total;
    return 0;
}

/* ---- verification ---- */

static int measurement_allowed(const veil_policy *p, const uint8_t m[48])
{
    if (p->any_measurement) return 1;
    for (size_t i = 0; i < p->nmeas && i < VEIL_POLICY_MAX_MEAS; i++)
        if (memcmp(p->meas[i], m, 48) == 0) return 1;
    return 0;
}

/* Checks every backend shares, in a fixed order so reasons are predictable. */
static int shared_checks(const veil_policy *p, const uint8_t expected[64], const veil_claims *c)
{
    char hex[97];
    if (c->debug && !p->allow_debug)
        return veil_fail(VEIL_EVERIFY, "guest runs with debugging enabled (policy refuses debug)");
    if (!measurement_allowed(p, c->measurement)) {
        veil_hex(c->measurement, 48, hex);
        return veil_fail(VEIL_EVERIFY, "unknown measurement %.24s... is not in the policy's allow-list",
                         hex);
    }
    if (c->tee_type < p->min_tee_type)
        return veil_fail(VEIL_EVERIFY, "attested TEE type %s is below the required %s",
                         veil_tee_type_name(c->tee_type), veil_tee_type_name(p->min_tee_type));
    if (!veil_ct_equal(c->report_data, expected, 64))
        return veil_fail(VEIL_EVERIFY, "report_data mismatch: the evidence is bound to another "
                                       "nonce or channel (replayed or relayed)");
    return 0;
}

int veil_attest_verify(const uint8_t *ev, size_t n, const veil_policy *p,
                       const uint8_t expected[64], veil_claims *out)
{
    veil_evidence e;
    veil_claims c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    int rc = veil_evidence_parse(ev, n, &e);
    if (rc) return rc;
    if (p->backend && (uint32_t)p->backend != e.backend)
        return veil_fail(VEIL_EVERIFY, "policy accepts only %s evidence, got %s",
                         veil_tee_backend_name(p->backend), veil_tee_backend_name((int)e.backend));
    c.backend = (int)e.backend;
    switch (e.backend) {
    case VEIL_TEE_BACKEND_SIM:
        if (!p->allow_sim) return veil_fail(VEIL_EVERIFY, "policy refuses simulated TEEs");
        rc = tee_sim_verify(&e, p, &c);
        break;
    case VEIL_TEE_BACKEND_SEV_SNP: rc = tee_snp_verify(&e, p, &c); break;
    default: rc = tee_tdx_verify(&e, p, &c); break;
    }
    if (!rc) rc = shared_checks(p, expected, &c);
    if (!rc) *out = c;
    return rc;
}

void veil_claims_print(const veil_claims *c, void *file)
{
    FILE *f = file;
    char hex[129];
    fprintf(f, "backend:      %s%s\n", veil_tee_backend_name(c->backend),
            c->simulated ? " (simulated: no hardware isolation)" : "");
    fprintf(f, "tee_type:     %s%s\n", veil_tee_type_name(c->tee_type),
            c->simulated ? " (simulated)" : "");
    if (c->simulated || c->capacity_bytes)
        fprintf(f, "capacity:     %llu bytes, %u GPUs%s\n", (unsigned long long)c->capacity_bytes,
                c->gpus, c->simulated ? " (simulated)" : "");
    veil_hex(c->measurement, 48, hex);
    fprintf(f, "%s  %s\n", c->backend == VEIL_TEE_BACKEND_TDX ? "mrtd:       " : "measurement:", hex);
    if (c->backend == VEIL_TEE_BACKEND_TDX)
        for (int i = 0; i < 4; i++) {
            veil_hex(c->rtmr[i], 48, hex);
            fprintf(f, "rtmr%d:        %s\n", i, hex);
        }
    veil_hex(c->report_data, 64, hex);
    fprintf(f, "report_data:  %s\n", hex);
    fprintf(f, "tcb:          0x%016llx\n", (unsigned long long)c->tcb);
    fprintf(f, "debug:        %s\n", c->debug ? "yes" : "no");
    fprintf(f, "platform:     %s\n", c->platform);
    if (c->simulated) fprintf(f, "WARNING: simulated TEE evidence: proves the measurement only "
                                 "to holders of the simulated authority root\n");
}

/* ---- attester ---- */

int veil_attester_open(const veil_attester_opts *o, veil_attester **out)
{
    *out = NULL;
    if (!veil_tee_backend_name(o->backend)) return veil_fail(VEIL_EINVAL, "unknown TEE backend");
    veil_attester *a = calloc(1, sizeof *a);
    if (!a) return veil_fail(VEIL_ENOMEM, "out of memory");
    a->o = *o;
    a->o.authority_dir = NULL; /* not kept: the caller's string */
    snprintf(a->tsm_dir, sizeof a->tsm_dir, "%s",
             o->tsm_dir ? o->tsm_dir : "/sys/kernel/config/tsm/report");
    a->o.tsm_dir = a->tsm_dir;
    int rc = 0;
    if (o->backend == VEIL_TEE_BACKEND_SIM) {
        char kp[4200], cp[4200];
        if (!o->authority_dir) rc = veil_fail(VEIL_EINVAL, "the sim backend needs an authority dir");
        if (!rc && (snprintf(kp, sizeof kp, "%s/platform.key", o->authority_dir) >= (int)sizeof kp ||
                    snprintf(cp, sizeof cp, "%s/platform.crt", o->authority_dir) >= (int)sizeof cp))
            rc = veil_fail(VEIL_EINVAL, "authority path too long");
        X509 *x = rc ? NULL : tee_read_cert(cp);
        if (!rc && !x) rc = VEIL_EINVAL;
        if (!rc && !(a->platform_key = tee_read_key(kp))) rc = VEIL_EINVAL;
        if (!rc) {
            int dl = i2d_X509(x, &a->platform_der);
            if (dl <= 0) rc = tee_ossl_fail(VEIL_EINVAL, "cannot encode platform certificate");
            else a->platform_der_len = (size_t)dl;
        }
        X509_free(x);
        if (!rc && o->measurement) memcpy(a->measurement, o->measurement, 48);
        if (!rc && !o->measurement) rc = veil_measure_node(NULL, NULL, NULL, a->measurement);
    }
    if (rc) {
        veil_attester_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void veil_attester_free(veil_attester *a)
{
    if (!a) return;
    EVP_PKEY_free(a->platform_key);
    OPENSSL_free(a->platform_der);
    free(a);
}

static int hw_collect(veil_attester *a, const uint8_t rd[64], uint8_t **ev, size_t *n)
{
    int snp = a->o.backend == VEIL_TEE_BACKEND_SEV_SNP;
    uint8_t *rep = NULL, *aux = NULL;
    size_t nrep = 0, naux = 0;
    int rc = tee_tsm_collect(a->tsm_dir, snp ? "sev_guest" : "tdx_guest", rd, &rep, &nrep, &aux,
                             &naux);
    if (rc) return rc;
    const uint8_t *parts[3] = {rep, NULL, NULL};
    size_t lens[3] = {nrep, 0, 0};
    uint32_t np = 1;
    if (snp && aux && naux) {
        rc = tee_snp_cert_table(aux, naux, &parts[1], &lens[1], &parts[2], &lens[2]);
        np = !rc && parts[2] ? 3 : 2;
    }
    if (!rc)
        rc = veil_evidence_build((uint32_t)a->o.backend, parts, lens, np, ev, n);
    free(rep);
    free(aux);
    return rc;
}

int veil_attest_collect(veil_attester *a, const uint8_t rd[64], uint8_t **ev, size_t *n)
{
    *ev = NULL;
    *n = 0;
    if (a->o.backend == VEIL_TEE_BACKEND_SIM) return tee_sim_collect(a, rd, ev, n);
    return hw_collect(a, rd, ev, n);
}

/* ---- binding and exchange ---- */

void veil_attest_binding(const uint8_t nonce[VEIL_NONCE_LEN], const uint8_t exporter[32],
                         uint8_t rd[64])
{
    uint8_t buf[VEIL_NONCE_LEN + 32];
    memcpy(buf, nonce, VEIL_NONCE_LEN);
    memcpy(buf + VEIL_NONCE_LEN, exporter, 32);
    SHA512(buf, sizeof buf, rd);
}

/* The exchange is built from messages so that the accepting side of a mutual
 * attestation sends its answer and its own challenge in one write (two small
 * writes in a row would wait on Nagle + delayed ACK for ~40 ms). */

/* A challenge message and the report_data it demands on this stream. */
static int make_challenge(veil_stream *s, uint8_t msg[4 + VEIL_NONCE_LEN], uint8_t rd[64])
{
    uint8_t exporter[32];
    int rc = s->ops->binding(s->impl, exporter);
    if (rc) return veil_fail(rc, "attestation needs a TLS channel: %s", veil_last_error());
    memcpy(msg, CHALLENGE_MAGIC, 4);
    if (RAND_bytes(msg + 4, VEIL_NONCE_LEN) != 1)
        return tee_ossl_fail(VEIL_EIO, "no randomness for the nonce");
    veil_attest_binding(msg + 4, exporter, rd);
    return 0;
}

/* Read the peer's answer and verify it against rd. */
static int read_answer(veil_stream *s, const veil_policy *p, int optional, const uint8_t rd[64],
                       veil_claims *out)
{
    uint8_t hdr[4];
    memset(out, 0, sizeof *out);
    int rc = veil_stream_read(s, hdr, 4);
    if (rc) return veil_fail(rc, "attestation exchange: %s", veil_last_error());
    size_t len = tee_le32(hdr);
    if (len == 0)
        return optional ? 0 : veil_fail(VEIL_EVERIFY, "peer produced no attestation evidence");
    if (len > VEIL_EVIDENCE_MAX)
        return veil_fail(VEIL_EPROTO, "peer sent oversized evidence (%zu bytes)", len);
    uint8_t *ev = malloc(len);
    if (!ev) return veil_fail(VEIL_ENOMEM, "out of memory");
    rc = veil_stream_read(s, ev, len);
    if (rc) rc = veil_fail(rc, "reading evidence: %s", veil_last_error());
    if (!rc) rc = veil_attest_verify(ev, len, p, rd, out);
    free(ev);
    return rc;
}

/* Read a challenge and build the answer: u32 length | evidence (length 0 =
 * no evidence), with `extra` bytes of room left at the end. */
static int build_answer(veil_stream *s, veil_attester *a, size_t extra, uint8_t **msg, size_t *n)
{
    uint8_t chal[4 + VEIL_NONCE_LEN], exporter[32], rd[64], *ev = NULL;
    size_t evn = 0;
    int rc = s->ops->binding(s->impl, exporter);
    if (rc) return veil_fail(rc, "attestation needs a TLS channel: %s", veil_last_error());
    if ((rc = veil_stream_read(s, chal, sizeof chal)))
        return veil_fail(rc, "waiting for the attestation challenge: %s", veil_last_error());
    if (memcmp(chal, CHALLENGE_MAGIC, 4) != 0)
        return veil_fail(VEIL_EPROTO, "peer sent something other than an attestation challenge");
    veil_attest_binding(chal + 4, exporter, rd);
    int crc = a ? veil_attest_collect(a, rd, &ev, &evn) : 0;
    char why[400];
    snprintf(why, sizeof why, "%s", veil_last_error());
    *msg = malloc(4 + evn + extra);
    if (!*msg) {
        free(ev);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    /* on a collection failure the answer still goes out, saying "none" */
    tee_put32(*msg, (uint32_t)evn);
    if (evn) memcpy(*msg + 4, ev, evn);
    *n = 4 + evn;
    free(ev);
    return crc ? veil_fail(crc, "collecting evidence: %s", why) : 0;
}

int veil_attest_challenge(veil_stream *s, const veil_policy *p, int optional, veil_claims *out)
{
    uint8_t msg[4 + VEIL_NONCE_LEN], rd[64];
    memset(out, 0, sizeof *out);
    int rc = make_challenge(s, msg, rd);
    if (!rc && (rc = veil_stream_write(s, msg, sizeof msg)))
        rc = veil_fail(rc, "attestation exchange: %s", veil_last_error());
    return rc ? rc : read_answer(s, p, optional, rd, out);
}

int veil_attest_respond(veil_stream *s, veil_attester *a)
{
    uint8_t *msg = NULL;
    size_t n = 0;
    int rc = build_answer(s, a, 0, &msg, &n);
    if (!msg) return rc;
    char why[512];
    snprintf(why, sizeof why, "%s", veil_last_error());
    int wrc = veil_stream_write(s, msg, n);
    free(msg);
    return rc ? veil_fail(rc, "%s", why) : wrc;
}

int veil_attest_mutual(veil_stream *s, int initiator, veil_attester *a, const veil_policy *p,
                       int flags, veil_claims *peer)
{
    int rc;
    memset(peer, 0, sizeof *peer);
    if (initiator) {
        rc = veil_attest_challenge(s, p, 0, peer);
        return rc ? rc : veil_attest_respond(s, a);
    }
    /* answer and own challenge in a single write */
    uint8_t *msg = NULL, rd[64];
    size_t n = 0;
    rc = build_answer(s, a, 4 + VEIL_NONCE_LEN, &msg, &n);
    if (rc && msg) { /* could not collect: say so, then fail */
        char why[512];
        snprintf(why, sizeof why, "%s", veil_last_error());
        veil_stream_write(s, msg, n);
        free(msg);
        return veil_fail(rc, "%s", why);
    }
    if (rc) return rc;
    rc = make_challenge(s, msg + n, rd);
    if (!rc) rc = veil_stream_write(s, msg, n + 4 + VEIL_NONCE_LEN);
    free(msg);
    if (rc) return veil_fail(rc, "attestation exchange: %s", veil_last_error());
    return read_answer(s, p, !(flags & VEIL_ATTEST_REQUIRE_PEER), rd, peer);
}
