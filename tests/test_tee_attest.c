/* Attestation verification: sim, synthetic SEV-SNP reports and TDX quotes
 * signed by test chains; every rejection path. */
#include "harness.h"
#include "tee_testca.h"

static char dir[512];
static uint8_t RD[64], M[48];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* VEIL_TEE_WRITE_SEEDS=DIR writes valid inputs as fuzzing seeds:
 * DIR/fuzz_snp_report/, DIR/fuzz_tdx_quote/, DIR/fuzz_tee_evidence/. */
static void seed(const char *target, const char *name, const uint8_t *b, size_t n)
{
    const char *d = getenv("VEIL_TEE_WRITE_SEEDS");
    char p[1024];
    if (!d) return;
    snprintf(p, sizeof p, "mkdir -p '%s/%s'", d, target);
    if (system(p) != 0) return;
    snprintf(p, sizeof p, "%s/%s/%s", d, target, name);
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Verify and check the outcome: want == NULL means success, else the reason
 * must contain want. */
static void expect(const char *what, const uint8_t *ev, size_t n, const veil_policy *p,
                   const uint8_t *rd, const char *want)
{
    veil_claims c;
    int rc = veil_attest_verify(ev, n, p, rd, &c);
    if (!want) {
        CHECKF(rc == 0, "%s: %s", what, veil_last_error());
    } else {
        CHECKF(rc != 0 && strstr(veil_last_error(), want), "%s: rc %d, reason '%s', wanted '%s'",
               what, rc, veil_last_error(), want);
        if (rc) fprintf(stderr, "  %-28s -> %s\n", what, veil_last_error());
    }
}

static void test_envelope(void)
{
    const uint8_t a[3] = {1, 2, 3}, *parts[1] = {a};
    size_t lens[1] = {3}, n;
    uint8_t *ev;
    veil_evidence e;
    CHECK(veil_evidence_build(VEIL_TEE_BACKEND_SIM, parts, lens, 1, &ev, &n) == 0);
    CHECK(veil_evidence_parse(ev, n, &e) == 0 && e.nparts == 1 && e.len[0] == 3);
    for (size_t k = 0; k < n; k++) CHECK(veil_evidence_parse(ev, k, &e) != 0);
    CHECK(veil_evidence_parse(ev, VEIL_EVIDENCE_MAX + 1, &e) == VEIL_EINVAL &&
          strstr(veil_last_error(), "oversized"));
    ev[12] = 9; /* nparts */
    CHECK(veil_evidence_parse(ev, n, &e) == VEIL_EINVAL);
    free(ev);
}

/* ---------------- sim ---------------- */

static void test_sim(void)
{
    char auth[600], auth2[600];
    path_of(auth, sizeof auth, "authority");
    path_of(auth2, sizeof auth2, "authority2");
    CHECKF(veil_sim_authority_init(auth) == 0, "%s", veil_last_error());
    CHECK(veil_sim_authority_init(auth2) == 0);
    CHECK(veil_sim_authority_init(auth) != 0); /* never overwrites */

    veil_attester *a;
    veil_attester_opts o = {.backend = VEIL_TEE_BACKEND_SIM, .authority_dir = auth,
                            .measurement = M, .tee_type = VEIL_TEE_TYPE_GPU,
                            .capacity_bytes = 1 << 30, .gpus = 2};
    CHECKF(veil_attester_open(&o, &a) == 0, "%s", veil_last_error());
    uint8_t *ev;
    size_t n;
    CHECK(veil_attest_collect(a, RD, &ev, &n) == 0);
    veil_policy p;
    CHECK(veil_policy_sim(auth, &p) == 0);
    veil_claims c;
    CHECKF(veil_attest_verify(ev, n, &p, RD, &c) == 0, "%s", veil_last_error());
    seed("fuzz_tee_evidence", "sim", ev, n);
    CHECK(c.simulated && c.tee_type == VEIL_TEE_TYPE_GPU && c.gpus == 2 &&
          c.capacity_bytes == 1 << 30 && !memcmp(c.measurement, M, 48));

    uint8_t rd2[64];
    memcpy(rd2, RD, 64);
    rd2[5] ^= 1;
    expect("sim report_data mismatch", ev, n, &p, rd2, "report_data mismatch");
    p.any_measurement = 0;
    expect("sim unknown measurement", ev, n, &p, RD, "unknown measurement");
    memcpy(p.meas[0], M, 48);
    p.nmeas = 1;
    expect("sim allow-listed measurement", ev, n, &p, RD, NULL);
    veil_policy p2;
    veil_policy_sim(auth2, &p2);
    expect("sim wrong authority", ev, n, &p2, RD, "platform certificate");
    p2 = p;
    p2.allow_sim = 0;
    expect("sim refused by policy", ev, n, &p2, RD, "refuses simulated");
    p2 = p;
    p2.min_tee_type = VEIL_TEE_TYPE_GPU;
    expect("sim gpu-tee required", ev, n, &p2, RD, NULL);
    ev[16 + 4 + 40] ^= 1; /* a measurement byte inside the signed report */
    expect("sim bad signature", ev, n, &p, RD, "bad signature");
    ev[16 + 4 + 40] ^= 1;
    expect("sim truncated", ev, n - 1, &p, RD, "truncated");
    free(ev);
    veil_attester_free(a);
}

/* ---------------- SEV-SNP ---------------- */

typedef struct {
    EVP_PKEY *ark_k, *ask_k, *vcek_k;
    X509 *ark, *ask, *vcek;
    uint8_t chip[64];
} snp_ca;

static const uint8_t TCB[4] = {3, 0, 8, 115}; /* boot loader, tee, snp, microcode */

static X509 *make_vcek(snp_ca *ca, int pss, const uint8_t tcb[4])
{
    tca_ext ext[5] = {tca_int_ext("1.3.6.1.4.1.3704.1.3.1", tcb[0]),
                      tca_int_ext("1.3.6.1.4.1.3704.1.3.2", tcb[1]),
                      tca_int_ext("1.3.6.1.4.1.3704.1.3.3", tcb[2]),
                      tca_int_ext("1.3.6.1.4.1.3704.1.3.8", tcb[3]),
                      {"1.3.6.1.4.1.3704.1.4", {0}, 64}};
    memcpy(ext[4].der, ca->chip, 64);
    return tca_cert(ca->vcek_k, "SEV-VCEK", ca->ask, ca->ask_k, 0, pss, NULL, ext, 5);
}

static void snp_ca_init(snp_ca *ca)
{
    ca->ark_k = tca_rsa();
    ca->ask_k = tca_rsa();
    ca->vcek_k = tca_ec("P-384");
    ca->ark = tca_cert(ca->ark_k, "ARK-Test", NULL, ca->ark_k, 1, 1, NULL, NULL, 0);
    ca->ask = tca_cert(ca->ask_k, "SEV-Test", ca->ark, ca->ark_k, 1, 1, NULL, NULL, 0);
    for (int i = 0; i < 64; i++) ca->chip[i] = (uint8_t)(i * 3 + 1);
    ca->vcek = make_vcek(ca, 1, TCB);
}

/* A signed report with the given policy bits and reported TCB. */
static void snp_report(const snp_ca *ca, uint8_t rep[VEIL_SNP_REPORT_LEN], uint64_t policy,
                       const uint8_t tcb[4])
{
    memset(rep, 0, VEIL_SNP_REPORT_LEN);
    tee_put32(rep + 0x00, 2);
    tee_put64(rep + 0x08, policy);
    tee_put32(rep + 0x34, 1);
    uint64_t t = (uint64_t)tcb[0] | (uint64_t)tcb[1] << 8 | (uint64_t)tcb[2] << 48 |
                 (uint64_t)tcb[3] << 56;
    tee_put64(rep + 0x38, t);
    tee_put64(rep + 0x180, t);
    memcpy(rep + 0x50, RD, 64);
    memcpy(rep + 0x90, M, 48);
    memcpy(rep + 0x1A0, ca->chip, 64);
    tee_ecdsa_sign(ca->vcek_k, EVP_sha384(), rep, 0x2A0, rep + 0x2A0, rep + 0x2A0 + 72, 72, 1);
}

static size_t snp_evidence(const uint8_t *rep, size_t replen, X509 *vcek, X509 *ask, uint8_t **ev)
{
    static uint8_t vder[4096], ader[4096];
    const uint8_t *parts[3] = {rep, vder, ader};
    size_t lens[3] = {replen, tca_der(vcek, vder), ask ? tca_der(ask, ader) : 0}, n = 0;
    veil_evidence_build(VEIL_TEE_BACKEND_SEV_SNP, parts, lens, ask ? 3 : 2, ev, &n);
    return n;
}

static void test_snp(void)
{
    snp_ca ca, other;
    snp_ca_init(&ca);
    snp_ca_init(&other);
    char ark[600], ask[600];
    path_of(ark, sizeof ark, "ark.pem");
    path_of(ask, sizeof ask, "ask.pem");
    tca_write_pem(ark, ca.ark);
    tca_write_pem(ask, ca.ask);
    veil_policy p = {0};
    snprintf(p.snp_ark, sizeof p.snp_ark, "%s", ark);
    memcpy(p.meas[0], M, 48);
    p.nmeas = 1;
    memcpy(p.snp_min_tcb, TCB, 4);

    uint8_t rep[VEIL_SNP_REPORT_LEN + 1], *ev;
    const uint64_t good_policy = 0x30000; /* SMT allowed, reserved bit 17 set */
    snp_report(&ca, rep, good_policy, TCB);
    size_t n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    veil_claims c;
    CHECKF(veil_attest_verify(ev, n, &p, RD, &c) == 0, "snp valid: %s", veil_last_error());
    seed("fuzz_snp_report", "report", rep, VEIL_SNP_REPORT_LEN);
    seed("fuzz_tee_evidence", "snp", ev, n);
    CHECK(!c.simulated && c.tee_type == VEIL_TEE_TYPE_CPU && !memcmp(c.measurement, M, 48));
    free(ev);

    /* ASK from the policy when the evidence omits it */
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, NULL, &ev);
    expect("snp without ASK, no snp_ask", ev, n, &p, RD, "no ASK");
    veil_policy pa = p;
    snprintf(pa.snp_ask, sizeof pa.snp_ask, "%s", ask);
    expect("snp ASK from policy", ev, n, &pa, RD, NULL);
    free(ev);

    /* bad signature: a measurement byte changed after signing */
    rep[0x90] ^= 1;
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    expect("snp bad signature", ev, n, &p, RD, "bad signature");
    free(ev);
    rep[0x90] ^= 1;

    /* wrong chain: the policy trusts another ARK; a VCEK from another ASK;
     * a chain link signed with PKCS#1 v1.5 instead of PSS */
    veil_policy pw = p;
    path_of(pw.snp_ark, sizeof pw.snp_ark, "ark-other.pem");
    tca_write_pem(pw.snp_ark, other.ark);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    expect("snp wrong ARK", ev, n, &pw, RD, "ASK certificate");
    free(ev);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, other.vcek, ca.ask, &ev);
    expect("snp VCEK from another ASK", ev, n, &p, RD, "VCEK certificate");
    free(ev);
    X509 *v15 = make_vcek(&ca, 0, TCB);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, v15, ca.ask, &ev);
    expect("snp VCEK not RSA-PSS", ev, n, &p, RD, "RSA-PSS");
    free(ev);
    X509_free(v15);

    /* unknown measurement */
    veil_policy pm = p;
    pm.meas[0][0] ^= 1;
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    expect("snp unknown measurement", ev, n, &pm, RD, "unknown measurement");
    /* report_data mismatch (a replay for another nonce/channel) */
    uint8_t rd2[64];
    memcpy(rd2, RD, 64);
    rd2[63] ^= 0x80;
    expect("snp report_data mismatch", ev, n, &p, rd2, "report_data mismatch");
    /* truncated / oversized */
    free(ev);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN - 1, ca.vcek, ca.ask, &ev);
    expect("snp truncated report", ev, n, &p, RD, "truncated");
    free(ev);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN + 1, ca.vcek, ca.ask, &ev);
    expect("snp oversized report", ev, n, &p, RD, "oversized");
    free(ev);

    /* debug policy */
    snp_report(&ca, rep, good_policy | (1ull << 19), TCB);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    expect("snp debug guest", ev, n, &p, RD, "debugging");
    free(ev);

    /* stale TCB: the policy wants a newer SNP firmware than reported */
    snp_report(&ca, rep, good_policy, TCB);
    veil_policy pt = p;
    pt.snp_min_tcb[2] = 9;
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    expect("snp stale TCB", ev, n, &pt, RD, "stale TCB");
    free(ev);
    /* the report claims a TCB its VCEK was not issued for */
    const uint8_t newer[4] = {3, 0, 9, 115};
    snp_report(&ca, rep, good_policy, newer);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    expect("snp VCEK TCB mismatch", ev, n, &p, RD, "does not match the report's reported TCB");
    free(ev);
    /* chip id of another machine */
    snp_report(&ca, rep, good_policy, TCB);
    rep[0x1A0] ^= 1;
    tee_ecdsa_sign(ca.vcek_k, EVP_sha384(), rep, 0x2A0, rep + 0x2A0, rep + 0x2A0 + 72, 72, 1);
    n = snp_evidence(rep, VEIL_SNP_REPORT_LEN, ca.vcek, ca.ask, &ev);
    expect("snp chip id mismatch", ev, n, &p, RD, "chip id");
    free(ev);

    /* extended-report certificate table */
    uint8_t tab[24 * 3 + 8] = {0};
    static const uint8_t vg[16] = {0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
                                   0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    memcpy(tab, vg, 16);
    tee_put32(tab + 16, 72);
    tee_put32(tab + 20, 8);
    const uint8_t *vc, *ak;
    size_t nv, na;
    CHECK(tee_snp_cert_table(tab, sizeof tab, &vc, &nv, &ak, &na) == 0 && vc == tab + 72 && nv == 8 &&
          !ak);
    tee_put32(tab + 20, 9);
    CHECK(tee_snp_cert_table(tab, sizeof tab, &vc, &nv, &ak, &na) == VEIL_EINVAL);
    memset(tab, 0xff, 24 * 3);
    CHECK(tee_snp_cert_table(tab, 24 * 3, &vc, &nv, &ak, &na) == VEIL_EINVAL);

    EVP_PKEY *ks[] = {ca.ark_k, ca.ask_k, ca.vcek_k, other.ark_k, other.ask_k, other.vcek_k};
    X509 *xs[] = {ca.ark, ca.ask, ca.vcek, other.ark, other.ask, other.vcek};
    for (int i = 0; i < 6; i++) EVP_PKEY_free(ks[i]), X509_free(xs[i]);
}

/* ---------------- TDX ---------------- */

typedef struct {
    EVP_PKEY *root_k, *inter_k, *pck_k, *ak;
    X509 *root, *inter, *pck;
} tdx_ca;

static void tdx_ca_init(tdx_ca *ca)
{
    ca->root_k = tca_ec("P-256");
    ca->inter_k = tca_ec("P-256");
    ca->pck_k = tca_ec("P-256");
    ca->ak = tca_ec("P-256");
    ca->root = tca_cert(ca->root_k, "Test SGX Root CA", NULL, ca->root_k, 1, 0, EVP_sha256(), NULL, 0);
    ca->inter = tca_cert(ca->inter_k, "Test SGX PCK Platform CA", ca->root, ca->root_k, 1, 0,
                         EVP_sha256(), NULL, 0);
    ca->pck = tca_cert(ca->pck_k, "Test SGX PCK Certificate", ca->inter, ca->inter_k, 0, 0,
                       EVP_sha256(), NULL, 0);
}

typedef struct {
    uint64_t td_attributes;
    uint8_t svn0;
    int break_binding;
    X509 *pck_override; /* a PCK from another chain */
} quote_opts;

static size_t tdx_quote(tdx_ca *ca, const quote_opts *o, uint8_t *q, size_t cap)
{
    static char pem[16384];
    size_t pl = 0;
    tca_append_pem(pem, sizeof pem, &pl, o->pck_override ? o->pck_override : ca->pck);
    tca_append_pem(pem, sizeof pem, &pl, ca->inter);
    tca_append_pem(pem, sizeof pem, &pl, ca->root);
    uint8_t akxy[65];
    size_t akl = 0;
    EVP_PKEY_get_octet_string_param(ca->ak, OSSL_PKEY_PARAM_PUB_KEY, akxy, sizeof akxy, &akl);
    static const uint8_t auth[32] = {7, 7, 7};
    uint8_t qe[384] = {0}, h[96];
    memcpy(h, akxy + 1, 64);
    memcpy(h + 64, auth, 32);
    veil_sha256(h, 96, qe + 320);
    if (o->break_binding) qe[320] ^= 1;

    memset(q, 0, cap);
    tee_put32(q, 4 | 2 << 16);     /* version 4, att key type 2 */
    tee_put32(q + 4, 0x81);        /* TDX */
    uint8_t *body = q + 48;
    body[0] = o->svn0;
    tee_put64(body + 120, o->td_attributes);
    memcpy(body + 136, M, 48);
    for (int i = 0; i < 4; i++) memset(body + 328 + 48 * i, 0x10 + i, 48);
    memcpy(body + 520, RD, 64);
    uint8_t *s = q + 48 + 584 + 4;
    tee_ecdsa_sign(ca->ak, EVP_sha256(), q, 48 + 584, s, s + 32, 32, 0);
    memcpy(s + 64, akxy + 1, 64);
    uint8_t *cd = s + 128;
    size_t inner = 384 + 64 + 2 + sizeof auth + 6 + pl;
    cd[0] = 6, cd[1] = 0;
    tee_put32(cd + 2, (uint32_t)inner);
    uint8_t *in = cd + 6;
    memcpy(in, qe, 384);
    tee_ecdsa_sign(ca->pck_k, EVP_sha256(), qe, 384, in + 384, in + 384 + 32, 32, 0);
    in[448] = sizeof auth, in[449] = 0;
    memcpy(in + 450, auth, sizeof auth);
    uint8_t *c5 = in + 450 + sizeof auth;
    c5[0] = 5, c5[1] = 0;
    tee_put32(c5 + 2, (uint32_t)pl);
    memcpy(c5 + 6, pem, pl);
    size_t slen = 128 + 6 + inner;
    tee_put32(q + 48 + 584, (uint32_t)slen);
    return 48 + 584 + 4 + slen;
}

static size_t tdx_evidence(const uint8_t *q, size_t n, uint8_t **ev)
{
    const uint8_t *parts[1] = {q};
    size_t lens[1] = {n}, en = 0;
    veil_evidence_build(VEIL_TEE_BACKEND_TDX, parts, lens, 1, ev, &en);
    return en;
}

static void tdx_case(tdx_ca *ca, const char *what, const quote_opts *o, const veil_policy *p,
                     const uint8_t *rd, const char *want)
{
    static uint8_t q[20000];
    uint8_t *ev;
    size_t qn = tdx_quote(ca, o, q, sizeof q), n = tdx_evidence(q, qn, &ev);
    expect(what, ev, n, p, rd, want);
    free(ev);
}

static void test_tdx(void)
{
    tdx_ca ca, other;
    tdx_ca_init(&ca);
    tdx_ca_init(&other);
    veil_policy p = {0};
    path_of(p.tdx_root, sizeof p.tdx_root, "intel-root.pem");
    tca_write_pem(p.tdx_root, ca.root);
    memcpy(p.meas[0], M, 48);
    p.nmeas = 1;
    p.tdx_min_svn[0] = 2;
    const quote_opts good = {0, 3, 0, NULL};

    static uint8_t q[20000];
    size_t qn = tdx_quote(&ca, &good, q, sizeof q);
    veil_tdx_quote tq;
    CHECKF(veil_tdx_parse(q, qn, &tq) == 0, "%s", veil_last_error());
    CHECK(tq.version == 4 && !memcmp(tq.mrtd, M, 48) && !memcmp(tq.report_data, RD, 64));
    uint8_t *ev;
    size_t n = tdx_evidence(q, qn, &ev);
    veil_claims c;
    CHECKF(veil_attest_verify(ev, n, &p, RD, &c) == 0, "tdx valid: %s", veil_last_error());
    seed("fuzz_tdx_quote", "quote", q, qn);
    seed("fuzz_tee_evidence", "tdx", ev, n);
    CHECK(c.backend == VEIL_TEE_BACKEND_TDX && !c.simulated && c.rtmr[2][0] == 0x12);
    free(ev);

    /* bad signature: body changed after signing */
    q[48 + 200] ^= 1;
    n = tdx_evidence(q, qn, &ev);
    expect("tdx bad signature", ev, n, &p, RD, "bad signature: TD quote");
    free(ev);
    q[48 + 200] ^= 1;
    /* truncated and oversized quotes */
    n = tdx_evidence(q, qn - 1, &ev);
    expect("tdx truncated", ev, n, &p, RD, "truncated");
    free(ev);
    q[qn] = 0;
    n = tdx_evidence(q, qn + 1, &ev);
    expect("tdx oversized", ev, n, &p, RD, "oversized");
    free(ev);
    n = tdx_evidence(q, 600, &ev);
    expect("tdx header only", ev, n, &p, RD, "truncated");
    free(ev);

    veil_policy pw = p;
    path_of(pw.tdx_root, sizeof pw.tdx_root, "intel-root-other.pem");
    tca_write_pem(pw.tdx_root, other.root);
    tdx_case(&ca, "tdx wrong root", &good, &pw, RD, "PCK issuer certificate");
    quote_opts o = good;
    o.pck_override = other.pck;
    tdx_case(&ca, "tdx PCK from another CA", &o, &p, RD, "PCK certificate");
    o = good;
    o.break_binding = 1;
    tdx_case(&ca, "tdx QE binding", &o, &p, RD, "does not bind the attestation key");
    veil_policy pm = p;
    pm.meas[0][47] ^= 1;
    tdx_case(&ca, "tdx unknown MRTD", &good, &pm, RD, "unknown measurement");
    pm = p;
    pm.rtmr_set[1] = 1;
    memset(pm.rtmr[1], 0x11, 48);
    tdx_case(&ca, "tdx RTMR1 allowed", &good, &pm, RD, NULL);
    pm.rtmr[1][0] = 0;
    tdx_case(&ca, "tdx RTMR1 mismatch", &good, &pm, RD, "RTMR1");
    o = good;
    o.td_attributes = 1;
    tdx_case(&ca, "tdx debug TD", &o, &p, RD, "debugging");
    o = good;
    o.svn0 = 1;
    tdx_case(&ca, "tdx stale TCB", &o, &p, RD, "stale TCB");
    uint8_t rd2[64];
    memcpy(rd2, RD, 64);
    rd2[0] ^= 1;
    tdx_case(&ca, "tdx report_data mismatch", &good, &p, rd2, "report_data mismatch");
    veil_policy pb = p;
    pb.backend = VEIL_TEE_BACKEND_SEV_SNP;
    tdx_case(&ca, "tdx backend not accepted", &good, &pb, RD, "accepts only");

    EVP_PKEY *ks[] = {ca.root_k, ca.inter_k, ca.pck_k, ca.ak, other.root_k, other.inter_k,
                      other.pck_k, other.ak};
    for (int i = 0; i < 8; i++) EVP_PKEY_free(ks[i]);
    X509 *xs[] = {ca.root, ca.inter, ca.pck, other.root, other.inter, other.pck};
    for (int i = 0; i < 6; i++) X509_free(xs[i]);
}

static void test_policy_file(void)
{
    char pf[600], text[1024], hex[97];
    path_of(pf, sizeof pf, "policy.conf");
    veil_hex(M, 48, hex);
    snprintf(text, sizeof text,
             "# test policy\nsim_root = authority/root.crt\nmeasurement = %s\n"
             "snp_min_tcb = 3.0.8.115\nmin_tee_type = cpu-tee\nbackend = sim\n", hex);
    FILE *f = fopen(pf, "w");
    fputs(text, f);
    fclose(f);
    veil_policy p;
    CHECKF(veil_policy_load(pf, &p) == 0, "%s", veil_last_error());
    CHECK(p.nmeas == 1 && !memcmp(p.meas[0], M, 48) && p.snp_min_tcb[3] == 115 &&
          p.min_tee_type == 1 && p.backend == VEIL_TEE_BACKEND_SIM && strstr(p.sim_root, dir));
    f = fopen(pf, "w");
    fputs("measurement = abc\n", f);
    fclose(f);
    CHECK(veil_policy_load(pf, &p) == VEIL_EINVAL && strstr(veil_last_error(), ":1:"));
    f = fopen(pf, "w");
    fputs("bogus = 1\n", f);
    fclose(f);
    CHECK(veil_policy_load(pf, &p) == VEIL_EINVAL && strstr(veil_last_error(), "unknown key"));
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    for (int i = 0; i < 64; i++) RD[i] = (uint8_t)(0xA0 ^ i);
    for (int i = 0; i < 48; i++) M[i] = (uint8_t)(0x5C + i);
    test_envelope();
    test_sim();
    test_snp();
    test_tdx();
    test_policy_file();
    return test_done();
}
