/* veil keygen / veil tee ...: identities, simulated vendor authority, evidence. */
#include "cli.h"

#include "veil/attest.h"
#include "veil/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt keygen_opts[] = {
    {"output", 'o', "NAME", "write NAME.key (Ed25519, PEM) and NAME.crt (self-signed)"},
    {0},
};

static int run_keygen(cli_args *a)
{
    const char *name = cli_get(a, "output");
    char id[VEIL_PEER_ID_HEX];
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!name) return cli_usage_error(a, "-o NAME is required");
    if (veil_tls_keygen(name, id)) return cli_fail_lib("keygen");
    printf("%s.key %s.crt\npeer id: %s\n", name, name, id);
    return CLI_OK;
}

static const cli_opt authority_opts[] = {
    {"output", 'o', "DIR", "directory for root.key/root.crt and platform.key/platform.crt"},
    {0},
};

static int run_authority_init(cli_args *a)
{
    const char *dir = cli_get(a, "output");
    /* "init" is the only action (a word, so `veil tee authority --help` works) */
    if (a->npos != 1 || strcmp(a->pos[0], "init") != 0)
        return cli_usage_error(a, "expected 'init'");
    if (!dir) return cli_usage_error(a, "-o DIR is required");
    if (veil_sim_authority_init(dir)) return cli_fail_lib("tee authority init");
    printf("SIMULATED TEE vendor authority created in %s\n"
           "  root.crt      give to verifiers (--authority %s)\n"
           "  root.key      the simulated vendor root key: keep it away from nodes\n"
           "  platform.*    one simulated platform key certified by the root\n"
           "This authority is simulated: it proves nothing about hardware isolation.\n",
           dir, dir);
    return CLI_OK;
}

/* The sim measurement: SHA-384 over the node binary, its configuration and
 * the shard weights (binary defaults to this executable). */
static int measure_from_opts(const cli_args *a, uint8_t out[48])
{
    return veil_measure_node(cli_get(a, "binary"), cli_get(a, "config"), cli_get(a, "weights"), out);
}

#define MEASURE_OPTS                                                             \
    {"binary", 0, "FILE", "node binary to measure (default: this veil)"},        \
    {"config", 0, "FILE", "node configuration file to measure"},                 \
    {"weights", 0, "FILE", "shard weights to measure"}

static const cli_opt measure_opts[] = {MEASURE_OPTS, {0}};

static int run_measure(cli_args *a)
{
    uint8_t m[48];
    char hex[97];
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (measure_from_opts(a, m)) return cli_fail_lib("tee measure");
    veil_hex(m, 48, hex);
    printf("%s\n", hex);
    fprintf(stderr, "sim measurement (simulated TEE) of %s%s%s%s%s\n",
            cli_has(a, "binary") ? cli_get(a, "binary") : "this veil binary",
            cli_has(a, "config") ? ", config " : "", cli_has(a, "config") ? cli_get(a, "config") : "",
            cli_has(a, "weights") ? ", weights " : "",
            cli_has(a, "weights") ? cli_get(a, "weights") : "");
    return CLI_OK;
}

static int report_data_opt(cli_args *a, uint8_t rd[64])
{
    const char *h = cli_get(a, "report-data");
    if (!h) return cli_usage_error(a, "--report-data HEX is required");
    if (strlen(h) != 128 || veil_unhex(h, rd, 64))
        return cli_usage_error(a, "--report-data wants 128 hex digits (64 bytes)");
    return 0;
}

static const cli_opt evidence_opts[] = {
    {"backend", 0, "NAME", "sim, sev-snp or tdx"},
    {"authority", 0, "DIR", "sim: authority directory holding platform.key/.crt"},
    {"report-data", 0, "HEX", "64 bytes (128 hex digits) to bind into the evidence"},
    {"output", 'o', "FILE", "evidence file to write"},
    MEASURE_OPTS,
    {"tee-type", 0, "TYPE", "sim: reported TEE type none|cpu-tee|gpu-tee (default cpu-tee)"},
    {"capacity", 0, "BYTES", "sim: reported memory capacity"},
    {"gpus", 0, "N", "sim: reported GPU count"},
    {"tsm", 0, "DIR", "sev-snp/tdx: configfs-tsm report dir (default /sys/kernel/config/tsm/report)"},
    {0},
};

static int run_evidence(cli_args *a)
{
    veil_attester_opts o = {0};
    uint8_t rd[64], meas[48];
    const char *out = cli_get(a, "output"), *tt = cli_get(a, "tee-type");
    long gpus;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    o.backend = veil_tee_backend_parse(cli_get(a, "backend"));
    if (!o.backend) return cli_usage_error(a, "--backend must be sim, sev-snp or tdx");
    if (!out) return cli_usage_error(a, "-o FILE is required");
    int rc = report_data_opt(a, rd);
    if (rc) return rc;
    o.tee_type = tt ? veil_tee_type_parse(tt) : VEIL_TEE_TYPE_CPU;
    if (o.tee_type < 0) return cli_usage_error(a, "--tee-type must be none, cpu-tee or gpu-tee");
    if (cli_u64(a, "capacity", 0, &o.capacity_bytes) || cli_int(a, "gpus", 0, 0, 1 << 16, &gpus))
        return CLI_USAGE;
    o.gpus = (uint32_t)gpus;
    o.authority_dir = cli_get(a, "authority");
    o.tsm_dir = cli_get(a, "tsm");
    if (o.backend == VEIL_TEE_BACKEND_SIM) {
        if (!o.authority_dir) return cli_usage_error(a, "--authority DIR is required for sim");
        if (measure_from_opts(a, meas)) return cli_fail_lib("measuring");
        o.measurement = meas;
    }
    veil_attester *at;
    uint8_t *ev;
    size_t n;
    if (veil_attester_open(&o, &at)) return cli_fail_lib("tee evidence");
    rc = veil_attest_collect(at, rd, &ev, &n);
    veil_attester_free(at);
    if (rc) return cli_fail_lib("tee evidence");
    rc = cli_write_file(out, ev, n);
    free(ev);
    if (rc) return rc;
    fprintf(stderr, "wrote %s (%zu bytes of %s evidence%s)\n", out, n,
            veil_tee_backend_name(o.backend),
            o.backend == VEIL_TEE_BACKEND_SIM ? ", SIMULATED TEE" : "");
    return CLI_OK;
}

static const cli_opt verify_opts[] = {
    {"authority", 0, "DIR", "sim authority directory (its root.crt is the trust anchor)"},
    {"report-data", 0, "HEX", "the 64 bytes (128 hex digits) the evidence must carry"},
    {"policy", 0, "FILE", "policy file (trust anchors, allow-lists, minimum TCB)"},
    {0},
};

static int run_verify(cli_args *a)
{
    const char *auth = cli_get(a, "authority"), *pol = cli_get(a, "policy");
    uint8_t rd[64], *ev;
    size_t n;
    veil_policy p;
    veil_claims c;
    if (a->npos != 1) return cli_usage_error(a, "expected one evidence FILE");
    int rc = report_data_opt(a, rd);
    if (rc) return rc;
    if (!auth && !pol) return cli_usage_error(a, "--authority DIR or --policy FILE is required");
    if (pol ? veil_policy_load(pol, &p) : veil_policy_sim(auth, &p)) return cli_fail_lib("policy");
    if (pol && auth && !p.sim_root[0])
        snprintf(p.sim_root, sizeof p.sim_root, "%s/root.crt", auth);
    FILE *f = fopen(a->pos[0], "rb");
    if (!f) return cli_fail("cannot open %s", a->pos[0]);
    ev = malloc(VEIL_EVIDENCE_MAX + 1);
    n = ev ? fread(ev, 1, VEIL_EVIDENCE_MAX + 1, f) : 0;
    fclose(f);
    if (!ev) return cli_fail("out of memory");
    rc = veil_attest_verify(ev, n, &p, rd, &c);
    free(ev);
    if (rc) {
        printf("REJECTED: %s\n", veil_last_error());
        return CLI_FAIL;
    }
    veil_claims_print(&c, stdout);
    printf("VERIFIED%s\n", c.simulated ? " (simulated TEE)" : "");
    return CLI_OK;
}

const cli_cmd cli_cmds_tee[] = {
    {"keygen", "", "generate an Ed25519 identity (NAME.key, NAME.crt) for TLS", keygen_opts,
     run_keygen},
    {"tee authority", "init", "create a SIMULATED TEE vendor root and one platform key",
     authority_opts, run_authority_init},
    {"tee measure", "", "print the sim measurement (SHA-384 of binary, config, weights)",
     measure_opts, run_measure},
    {"tee evidence", "", "collect attestation evidence over --report-data", evidence_opts,
     run_evidence},
    {"tee verify", "FILE", "verify evidence; print the claims (exit 0) or the reason (exit 1)",
     verify_opts, run_verify},
    {0},
};
