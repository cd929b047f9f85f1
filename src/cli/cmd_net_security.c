/* --security presets and the NTEE wiring of veil node / run / demo (see
 * net_security.h and docs/SECURITY.md "Choosing a security mode"). */
#include "net_security.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the preset ------------------------------------------------------------ */

static int opt_slot(const cli_args *a, const char *lng)
{
    for (int i = 0; a->cmd->opts[i].lng; i++)
        if (!strcmp(a->cmd->opts[i].lng, lng)) return i;
    return -1;
}

/* A preset default: only for an option this command has and the user left
 * unset, announced on stderr so nothing changes silently. */
static void preset_default(cli_args *a, const char *mode, const char *lng, const char *val, const char *why)
{
    int i = opt_slot(a, lng);
    if (i < 0 || a->val[i]) return;
    a->val[i] = val;
    int flag = !a->cmd->opts[i].arg;
    fprintf(stderr, "veil %s: --security %s: --%s%s%s (%s)\n", a->cmd->name, mode, lng, flag ? "" : " ",
            flag ? "" : val, why);
}

static const char *const mode_names[] = {"", "general", "critical", "tee", "auto"};

static int parse_mode(cli_args *a, net_sec_mode *m)
{
    const char *s = cli_get(a, "security");
    *m = NET_SEC_NONE;
    if (!s) return 0;
    for (int i = NET_SEC_GENERAL; i <= NET_SEC_AUTO; i++)
        if (!strcmp(s, mode_names[i])) *m = (net_sec_mode)i;
    if (*m == NET_SEC_NONE)
        return cli_usage_error(a, "--security wants general, critical, tee or auto, got '%s'", s);
    if (!strcmp(a->cmd->name, "node") && *m != NET_SEC_TEE)
        return cli_usage_error(a, "a node takes --security tee only (general/critical/auto are client "
                                  "presets; a general node is `--key NAME`)");
    return 0;
}

/* Critical asks for the integer forward pass with per-shard zk proofs
 * verified by the client (veil/critical.h, behind --int); a command without
 * that pipeline says so rather than run something weaker under its name. */
static int critical_unavailable(void)
{
    return cli_fail("--security critical: not available yet in this command: it has no integer "
                    "forward pass with per-shard proofs (--int); offline proofs: veil zk commit-model / "
                    "prove-shard / verify-shard. Use --security tee or general");
}

int net_security_begin(cli_args *a, net_sec_mode *mode)
{
    int rc = parse_mode(a, mode);
    if (rc || *mode == NET_SEC_NONE) return rc;
    const char *name = mode_names[*mode];
    if (cli_has(a, "insecure"))
        return cli_usage_error(a, "--security %s and --insecure exclude each other", name);
    if (*mode == NET_SEC_CRITICAL) { /* the critical pipeline (veil/critical.h) reads --security */
        if (opt_slot(a, "int") < 0) return critical_unavailable();
        preset_default(a, name, "int", "1", "integer forward pass, every shard step proven and verified");
        return 0;
    }
    if (!strcmp(a->cmd->name, "node")) return 0;
    /* general = split inference: embedding, the first layer and the head stay
     * here (with --sve, the secret bases start after that layer) */
    preset_default(a, name, "split", "1", "the client keeps the embedding, layer 0 and the head");
    long r;
    if (cli_int(a, "replicas", 1, 1, 8, &r)) return CLI_USAGE;
    if (r >= 2) preset_default(a, name, "verify", "consensus", "replicas allow consensus verification");
    return 0;
}

int net_security_is_tee(const cli_args *a)
{
    const char *s = cli_get(a, "security");
    return s && (!strcmp(s, "tee") || !strcmp(s, "auto"));
}

/* ---- transport and node lifecycle ---------------------------------------------- */

/* For log lines: --name, else the listen address (as the node names itself). */
static const char *node_name(const cli_args *a)
{
    return cli_get(a, "name") ? cli_get(a, "name") : cli_get(a, "listen");
}

int net_secure_transport(cli_args *a, int node, veil_secure **sec, veil_transport *t)
{
    const char *auth = cli_get(a, "tee-authority"), *pol = cli_get(a, "tee-policy");
    if (!cli_has(a, "key")) return cli_usage_error(a, "--security %s needs --key NAME", cli_get(a, "security"));
    if (!auth && !pol) return cli_usage_error(a, "--security %s needs --tee-authority DIR or --tee-policy FILE",
                                              cli_get(a, "security"));
    veil_secure_config c = {.key = cli_get(a, "key"), .allow = cli_get(a, "allow"), .authority = auth,
                            .policy = pol, .name = node ? node_name(a) : "client", .quiet = !node};
    if (node) {
        c.backend = cli_get(a, "tee-backend") ? cli_get(a, "tee-backend") : "sim";
        const char *ty = cli_get(a, "tee-type");
        c.tee_type = ty ? veil_tee_type_parse(ty) : 0;
        if (c.tee_type <= 0 && ty) return cli_usage_error(a, "--tee-type wants cpu-tee or gpu-tee, got '%s'", ty);
        if (c.tee_type == VEIL_TEE_TYPE_GPU) c.gpus = 1;
    }
    if (veil_secure_open(&c, sec)) return cli_fail_lib("--security tee");
    veil_transport_attested(*sec, t);
    return 0;
}

int net_tee_node_begin(cli_args *a, veil_secure *sec, size_t arena_bytes, veil_tee **out)
{
    veil_tee_opts o = {.arena_bytes = arena_bytes, .attester = veil_secure_attester(sec),
                       .name = node_name(a)};
    if (veil_tee_create(&o, out)) return cli_fail_lib("cannot create the TEE");
    veil_secure_set_tee(sec, *out);
    return 0;
}

void net_tee_node_end(veil_secure *sec, veil_tee *t)
{
    if (!t) return;
    veil_secure_set_tee(sec, NULL);
    if (veil_tee_destroy(t)) fprintf(stderr, "veil node: TEE destroy: %s\n", veil_last_error());
}

/* ---- client: attested scheduling and --security auto ------------------------------ */

static void print_verified(const char *addr, const veil_claims *c)
{
    char m[97];
    veil_hex(c->measurement, 48, m);
    fprintf(stderr, "veil: attestation: node %s verified: %s%s, %s, measurement %.16s...\n", addr,
            veil_tee_backend_name(c->backend), c->simulated ? " (SIMULATED)" : "",
            veil_tee_type_name(c->tee_type), m);
}

/* Keep the verified nodes in scheduling order (GPU TEEs first). */
static int keep_verified(const veil_secure_probe_result *r, const char **nodes, int *n)
{
    int order[64];
    const char *kept[64];
    int k = veil_secure_probe_order(r, *n, order);
    for (int i = 0; i < k; i++) kept[i] = nodes[order[i]];
    for (int i = 0; i < k; i++) nodes[i] = kept[i];
    if (k < *n) fprintf(stderr, "veil: --security tee: running on the %d of %d nodes that attested\n", k, *n);
    *n = k;
    return k ? 0 : cli_fail("--security tee: no node presented verifying evidence; nothing was sent");
}

int net_client_select(cli_args *a, net_sec_mode mode, veil_secure **sec, veil_tls_ctx **tls,
                      veil_transport *t, const char **nodes, int *n, int timeout_ms)
{
    if (!*sec) return 0;
    veil_secure_probe_result r[64];
    int good = veil_secure_probe(*sec, t, nodes, *n, timeout_ms, r);
    for (int i = 0; i < *n; i++) {
        if (r[i].ok) print_verified(nodes[i], &r[i].claims);
        else fprintf(stderr, "veil: attestation: node %s refused (no data or weights sent to it): %s\n",
                     nodes[i], r[i].why);
    }
    if (mode != NET_SEC_AUTO) return keep_verified(r, nodes, n);
    if (good == *n) {
        fprintf(stderr, "veil: --security auto: every node presented verifying evidence: using tee\n");
        return keep_verified(r, nodes, n);
    }
    fprintf(stderr, "veil: --security auto: %d of %d nodes did not attest: using general (TLS 1.3 "
                    "with --key, split inference)\n", *n - good, *n);
    if (good)
        fprintf(stderr, "veil: --security auto: the %d node(s) that attested run --security tee and accept "
                        "only attested clients: expect them to refuse this run\n", good);
    veil_secure_free(*sec);
    *sec = NULL;
    if (veil_tls_ctx_new(cli_get(a, "key"), cli_get(a, "allow"), tls)) return cli_fail_lib("cannot load TLS identity");
    veil_transport_tls(*tls, t);
    return 0;
}

/* ---- veil demo --------------------------------------------------------------------- */

static int demo_path(const net_demo *d, char *out, const char *fmt, int i)
{
    char leaf[64];
    snprintf(leaf, sizeof leaf, fmt, i);
    int k = snprintf(out, 4200, "%s/%s", d->dir, leaf);
    return k < 0 || k >= 4200 ? -1 : 0;
}

/* A policy pinning this binary's measurement: the demo's nodes run it. */
static int demo_policy(const net_demo *d)
{
    uint8_t meas[48];
    char hex[97], path[4200];
    if (veil_measure_node(NULL, NULL, NULL, meas)) return -1;
    veil_hex(meas, 48, hex);
    demo_path(d, path, "tee.policy", 0);
    FILE *f = fopen(path, "w");
    if (!f) return veil_fail(VEIL_EIO, "cannot write %s", path);
    fprintf(f, "# veil demo: nodes must run this binary\nbackend = sim\nsim_root = auth/root.crt\n"
               "measurement = %s\n", hex);
    return fclose(f) ? veil_fail(VEIL_EIO, "cannot write %s", path) : 0;
}

int net_demo_setup(cli_args *a, const char *dir, int n, net_demo *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    d->n = n;
    int rc = net_security_begin(a, &d->mode);
    if (rc) return rc;
    d->insecure = cli_has(a, "insecure");
    if (d->insecure) return 0;
    char path[4200], id[VEIL_PEER_ID_HEX];
    for (int i = 0; i <= n; i++) { /* node0..node{n-1}, then the client */
        if (demo_path(d, path, i < n ? "node%d" : "client", i) || veil_tls_keygen(path, id))
            return cli_fail_lib("demo: cannot create throwaway TLS identities");
    }
    if (d->mode != NET_SEC_TEE && d->mode != NET_SEC_AUTO) return 0;
    demo_path(d, path, "auth", 0);
    if (veil_sim_authority_init(path) || demo_policy(d))
        return cli_fail_lib("demo: cannot create the simulated TEE authority");
    return 0;
}

int net_demo_node_args(net_demo *d, int i, char **argv)
{
    int k = 0;
    if (d->insecure) {
        argv[k++] = "--insecure";
        return k;
    }
    demo_path(d, d->store[0], "node%d", i);
    argv[k++] = "--key";
    argv[k++] = d->store[0];
    if (d->mode != NET_SEC_TEE && d->mode != NET_SEC_AUTO) return k;
    demo_path(d, d->store[1], "auth", 0);
    demo_path(d, d->store[2], "tee.policy", 0);
    argv[k++] = "--security";
    argv[k++] = "tee";
    argv[k++] = "--tee-authority";
    argv[k++] = d->store[1];
    argv[k++] = "--tee-policy";
    argv[k++] = d->store[2];
    return k;
}

int net_demo_client(net_demo *d, veil_secure **sec, veil_tls_ctx **tls, veil_transport *t)
{
    char key[4200], auth[4200], pol[4200];
    *sec = NULL;
    *tls = NULL;
    if (d->insecure) {
        fprintf(stderr, "veil: warning: --insecure: plaintext connections between the demo's "
                        "processes\n");
        *t = *veil_transport_plain();
        return 0;
    }
    demo_path(d, key, "client", 0);
    if (d->mode == NET_SEC_TEE || d->mode == NET_SEC_AUTO) {
        demo_path(d, auth, "auth", 0);
        demo_path(d, pol, "tee.policy", 0);
        veil_secure_config c = {.key = key, .authority = auth, .policy = pol, .name = "client", .quiet = 1};
        if (veil_secure_open(&c, sec)) return cli_fail_lib("demo: --security tee");
        veil_transport_attested(*sec, t);
        return 0;
    }
    if (veil_tls_ctx_new(key, NULL, tls)) return cli_fail_lib("demo: cannot load TLS identity");
    veil_transport_tls(*tls, t);
    return 0;
}

static void unlink_in(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char p[4600];
    while (dp && (e = readdir(dp)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (dp) closedir(dp);
}

void net_demo_cleanup(const net_demo *d)
{
    char p[4200];
    demo_path(d, p, "auth", 0);
    unlink_in(p);
    rmdir(p);
    for (int i = 0; i <= d->n; i++) {
        static const char *const ext[] = {".key", ".crt"};
        for (int e = 0; e < 2; e++) {
            char q[4300];
            demo_path(d, p, i < d->n ? "node%d" : "client", i);
            snprintf(q, sizeof q, "%s%s", p, ext[e]);
            unlink(q);
        }
    }
    demo_path(d, p, "tee.policy", 0);
    unlink(p);
}
