/* veil node / veil run / veil demo: decentralized inference from the shell. */
#include "cli.h"
#include "net_critical.h"
#include "net_security.h"
#include "net_verify.h"

#include "veil/dp.h"
#include "veil/node.h"
#include "veil/sve.h"
#include "veil/orchestrator.h"
#include "veil/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECURITY_OPTS                                                                          \
    {"insecure", 0, NULL, "plaintext connections (loopback/testing only)"},                     \
        {"key", 0, "NAME", "TLS 1.3 identity NAME.key/NAME.crt (veil keygen)"},                 \
        {"allow", 0, "FILE", "with --key: peer ids or certificates allowed to connect"}

#define SAMPLING_OPTS                                                                          \
    {"model", 'm', "MODEL", "checkpoint (default: $VEIL_MODEL_DIR/stories260K.bin)"},           \
        {"tokenizer", 'z', "TOKENIZER", "tokenizer.bin (default: tok512.bin)"},                  \
        {"prompt", 'i', "PROMPT", "prompt text"},                                                \
        {"steps", 'n', "STEPS", "positions to run, prompt included (default 256)"},              \
        {"temperature", 't', "TEMP", "sampling temperature, 0 = greedy (default 1.0)"},          \
        {"topp", 'p', "TOPP", "top-p (default 0.9)"},                                            \
        {"seed", 's', "SEED", "RNG seed (default: current time)"}

#define SVE_OPTS                                                                               \
    {"sve", 0, "paper|strong", "Sequential Vector Encryption of weights and hidden states"},     \
        {"sve-hop", 0, "M", "with --sve: re-key at the client after every M shards (default 0)"}, \
        {"sve-keys", 0, "session|request", "with --sve: key policy (one request per run: both draw fresh keys)"}

#define PIPELINE_OPTS                                                                          \
    {"replicas", 0, "R", "place every shard on R distinct nodes (default 1)"},                  \
        {"split", 0, "K", "run layers 0..K-1 on this machine (default 0)"},                      \
        {"timeout", 0, "MS", "declare a node dead after MS ms without answer (default 30000)"}, \
        {"push", 0, NULL, "always push weights (never use a node's --models copy)"}

/* ---- transport selection --------------------------------------------------- */

typedef struct {
    veil_transport t;
    veil_tls_ctx *tls;
    veil_secure *sec; /* --security tee / auto (net_security.h) */
} transport_choice;

/* No --key and no --insecure: TLS 1.3 with a throwaway identity made for
 * this process (the files are removed once loaded). Traffic is encrypted
 * and both ends present certificates, but nobody can pin this identity:
 * --key NAME with --allow FILE is what authenticates peers. */
static int ephemeral_tls(cli_args *a, transport_choice *tc)
{
    char dir[] = "/tmp/veil-ephemeral-XXXXXX", name[64], path[80], id[VEIL_PEER_ID_HEX];
    if (!mkdtemp(dir)) return cli_fail("cannot create a directory for an ephemeral identity");
    snprintf(name, sizeof name, "%s/id", dir);
    int rc = veil_tls_keygen(name, id) || veil_tls_ctx_new(name, cli_get(a, "allow"), &tc->tls);
    snprintf(path, sizeof path, "%s.key", name);
    unlink(path);
    snprintf(path, sizeof path, "%s.crt", name);
    unlink(path);
    rmdir(dir);
    if (rc) return cli_fail_lib("cannot create an ephemeral TLS identity");
    fprintf(stderr, "veil: no --key: TLS 1.3 with an ephemeral identity (peer id %.16s...); "
                    "use --key NAME and --allow FILE to authenticate peers\n", id);
    veil_transport_tls(tc->tls, &tc->t);
    return 0;
}

static int pick_transport(cli_args *a, int default_plain, transport_choice *tc)
{
    memset(tc, 0, sizeof *tc);
    if (net_security_is_tee(a)) return net_secure_transport(a, !strcmp(a->cmd->name, "node"), &tc->sec, &tc->t);
    const char *key = cli_get(a, "key");
    if (key && cli_has(a, "insecure")) return cli_usage_error(a, "--key and --insecure exclude each other");
    if (!key && !cli_has(a, "insecure") && !default_plain) return ephemeral_tls(a, tc);
    if (!key) {
        if (!default_plain)
            fprintf(stderr, "veil: warning: --insecure: plaintext connections; anyone on the path "
                            "can read and alter hidden states and weights\n");
        tc->t = *veil_transport_plain();
        return 0;
    }
    if (veil_tls_ctx_new(key, cli_get(a, "allow"), &tc->tls)) return cli_fail_lib("cannot load TLS identity");
    veil_transport_tls(tc->tls, &tc->t);
    return 0;
}

static void transport_free(transport_choice *tc)
{
    veil_secure_free(tc->sec);
    veil_tls_ctx_free(tc->tls);
}

/* ---- veil node ------------------------------------------------------------------ */

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static const cli_opt node_opts[] = {
    {"listen", 'l', "HOST:PORT", "address to serve on (port 0 = any free port)"},
    {"name", 0, "NAME", "node name shown to clients and in logs"},
    {"models", 0, "DIR", "checkpoints this node may load layers from by SHA-256"},
    {"threads", 0, "N", "kernel threads (default: all cores)"},
    {"capacity", 0, "X", "advertised relative speed for scheduling (default 1)"},
    {"max-sessions", 0, "N", "concurrent sessions (default 64)"},
    {"max-frame", 0, "BYTES", "largest frame payload accepted (default 64 MiB)"},
    {"idle-timeout", 0, "SECONDS", "close idle connections and sessions (default 300)"},
    {"max-memory", 0, "MB", "shard weights + KV caches held at once (default 16384)"},
    {"port-file", 0, "PATH", "write the bound port here once listening"},
    {"prove-workers", 0, "N", "critical mode: proofs run on N workers sharing the threads, "
                              "while the connection keeps serving rows (default 1)"},
    SECURITY_OPTS,
    NET_NODE_SECURITY_OPTS,
    NET_ADVERSARY_OPT,
    {0},
};

static int write_port_file(const char *path, int port)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%d\n", port);
    fclose(f);
    return rename(tmp, path); /* readers never see a partial number */
}

static int run_node(cli_args *a)
{
    char host[256];
    int port;
    long threads, sessions, frame, idle, weights_mb, workers;
    double cap;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    const char *listen = cli_get(a, "listen");
    if (!listen) return cli_usage_error(a, "--listen HOST:PORT is required");
    if (veil_parse_hostport(listen, host, sizeof host, &port)) return cli_usage_error(a, "%s", veil_last_error());
    if (cli_int(a, "threads", 0, 0, 64, &threads) || cli_float(a, "capacity", 1, 0.001, 1e6, &cap) ||
        cli_int(a, "max-sessions", 64, 1, 100000, &sessions) ||
        cli_int(a, "max-frame", VEIL_DEFAULT_MAX_FRAME, 4096, 1L << 30, &frame) ||
        cli_int(a, "idle-timeout", 300, 1, 86400 * 7, &idle) ||
        cli_int(a, "max-memory", 16384, 1, 1L << 30, &weights_mb) ||
        cli_int(a, "prove-workers", 1, 1, 64, &workers))
        return CLI_USAGE;
    veil_adv_mode adv;
    int adv_on;
    if (net_adversary_opt(a, &adv, &adv_on)) return CLI_USAGE;
    transport_choice tc;
    net_sec_mode mode;
    veil_tee *tee = NULL;
    int rc = net_security_begin(a, &mode);
    if (!rc) rc = pick_transport(a, 0, &tc);
    if (rc) return rc;
    if (tc.sec && (rc = net_tee_node_begin(a, tc.sec, 1u << 20, &tee))) { /* TEE step 1 */
        transport_free(&tc);
        return rc;
    }
    if (threads) veil_set_threads((int)threads);
    veil_node_opts o = {.host = host, .port = port, .name = cli_get(a, "name"),
                        .models_dir = cli_get(a, "models"), .capacity = cap,
                        .max_sessions = (int)sessions, .max_frame = (uint32_t)frame,
                        .idle_timeout_ms = (int)(idle * 1000), .transport = &tc.t,
                        .max_memory_bytes = (size_t)weights_mb << 20, .tee = tee,
                        .adversary = adv_on ? &adv : NULL, .prove_workers = (int)workers};
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    veil_node *n;
    if (veil_node_start(&o, &n)) {
        rc = cli_fail_lib("cannot start node");
        net_tee_node_end(tc.sec, tee);
        transport_free(&tc);
        return rc;
    }
    const char *pf = cli_get(a, "port-file");
    if (pf && write_port_file(pf, veil_node_port(n)))
        fprintf(stderr, "veil node: cannot write --port-file %s: %s\n", pf, strerror(errno));
    while (!g_stop) pause();
    fprintf(stderr, "veil node %s: %s received, shutting down\n", veil_node_name(n),
            g_stop == SIGTERM ? "SIGTERM" : "SIGINT");
    veil_node_stop(n);
    net_tee_node_end(tc.sec, tee); /* TEE step 6, after every buffer's owner is gone */
    transport_free(&tc);
    return CLI_OK;
}

/* ---- veil run ---------------------------------------------------------------------- */

static void print_piece(void *ctx, const char *piece)
{
    (void)ctx;
    fputs(piece, stdout);
    fflush(stdout);
}

static void print_table(veil_orch *o, const int *killed)
{
    fprintf(stderr, "%-4s %-10s %-22s %-10s %8s %10s %11s  %s\n", "#", "node", "address", "layers",
            "tokens", "compute_ms", "bytes_out", "status");
    for (int i = 0; i < veil_orch_n_nodes(o); i++) {
        veil_orch_node_info in;
        veil_orch_node_query(o, i, &in);
        const char *st = in.alive ? (in.flagged ? "flagged" : in.active ? "active" : "spare")
                                  : killed && killed[i] ? "killed" : "down";
        fprintf(stderr, "%-4d %-10.10s %-22.22s %-10.10s %8llu %10.2f %11llu  %s\n", i, in.name, in.addr,
                in.layers, (unsigned long long)in.stats.tokens, in.stats.compute_ns / 1e6,
                (unsigned long long)in.stats.bytes_out, st);
    }
    uint64_t sent, recv;
    veil_orch_bytes(o, &sent, &recv);
    fprintf(stderr, "client: %llu bytes sent, %llu received, %d failover(s)\n", (unsigned long long)sent,
            (unsigned long long)recv, veil_orch_failovers(o));
}

/* Options shared by run and demo (everything but the node list). */
static int pipeline_opts(cli_args *a, veil_orch_opts *po, veil_gen_opts *go)
{
    long replicas, split, timeout;
    if (cli_sampling_opts(a, go) || cli_int(a, "replicas", 1, 1, 8, &replicas) ||
        cli_int(a, "split", 0, 0, VEIL_MAX_LAYERS, &split) || cli_int(a, "timeout", 30000, 100, 3600000, &timeout))
        return -1;
    *po = (veil_orch_opts){.replicas = (int)replicas, .split = (int)split, .timeout_ms = (int)timeout,
                           .push_only = cli_has(a, "push"), .name = "veil-run"};
    return 0;
}

typedef struct {
    veil_backend inner;
    int kill_node, kill_after, sig, decode_calls;
    pid_t *pids;
    int *killed;
} kill_backend;

/* The demo's --kill I@T (SIGKILL: a crash) and --hang I@T (SIGSTOP: a node
 * that stops answering), sent right before the T-th decode step. */
static int kill_forward(void *ctx, int pos, int T, float *x)
{
    kill_backend *k = ctx;
    if (T == 1 && ++k->decode_calls == k->kill_after && k->kill_node >= 0 && !k->killed[k->kill_node]) {
        fprintf(stderr, "veil demo: %s node %d after %d tokens\n", k->sig == SIGKILL ? "kill -9" : "kill -STOP",
                k->kill_node, k->kill_after);
        kill(k->pids[k->kill_node], k->sig);
        if (k->sig == SIGKILL) waitpid(k->pids[k->kill_node], NULL, 0);
        k->killed[k->kill_node] = 1;
    }
    return k->inner.forward(k->inner.ctx, pos, T, x);
}

/* --dp-eps: noise on every hidden state leaving the client (the egress
 * hook), after the --split layers; the accountant reports the spend. */
typedef struct {
    veil_dp_mech mech;
    veil_dp_rng *rng;
    veil_dp_accountant acc;
    /* the hooks DP is layered under (SVE): noise first, then their egress */
    veil_orch_hooks inner;
} dp_egress;

static int dp_egress_fn(void *ctx, int pos, int T, float *x)
{
    dp_egress *d = ctx;
    int rc = veil_dp_apply(&d->mech, d->rng, x, T);
    if (!rc) veil_dp_accountant_add(&d->acc, T);
    if (!rc && d->inner.egress) rc = d->inner.egress(d->inner.ctx, pos, T, x);
    return rc;
}

/* The other hooks pass through to the inner set. */
static int dp_plan(void *c, int n, const int *b) { dp_egress *d = c; return d->inner.plan(d->inner.ctx, n, b); }
static int dp_weights(void *c, int s, int f, int l, float *o)
{
    dp_egress *d = c;
    return d->inner.shard_weights(d->inner.ctx, s, f, l, o);
}
static int dp_ingress(void *c, int p, int T, float *x) { dp_egress *d = c; return d->inner.ingress(d->inner.ctx, p, T, x); }
static int dp_relay(void *c, int s, int p, int T, float *x)
{
    dp_egress *d = c;
    return d->inner.relay(d->inner.ctx, s, p, T, x);
}
static int dp_relay_at(void *c, int s) { dp_egress *d = c; return d->inner.relay_at(d->inner.ctx, s); }

/* DP's egress over whatever hooks are already set in *h. */
static void dp_layer(dp_egress *d, veil_orch_hooks *h)
{
    d->inner = *h;
    *h = (veil_orch_hooks){.ctx = d, .egress = dp_egress_fn};
    if (d->inner.plan) h->plan = dp_plan;
    if (d->inner.shard_weights) h->shard_weights = dp_weights;
    if (d->inner.ingress) h->ingress = dp_ingress;
    if (d->inner.relay) h->relay = dp_relay;
    if (d->inner.relay_at) h->relay_at = dp_relay_at;
}

/* --sve VARIANT [--sve-hop M]: 0 = off, 1 = on (*out set), <0 = usage. */
static int sve_setup(cli_args *a, const veil_model *m, veil_orch_sve **out)
{
    const char *v = cli_get(a, "sve");
    long hop;
    veil_sve_variant var;
    *out = NULL;
    if (!v)
        return cli_has(a, "sve-hop") || cli_has(a, "sve-keys")
                   ? cli_usage_error(a, "--sve-hop and --sve-keys need --sve"), -1 : 0;
    if (veil_sve_variant_parse(v, &var)) return cli_usage_error(a, "--sve wants paper or strong, got '%s'", v), -1;
    /* A run serves one request, so session and request keys are both fresh
     * per run. Reusing keys across runs would mean keeping them at rest; that
     * setting exists only to measure its weakness (veil attack invert). */
    const char *keys = cli_get(a, "sve-keys");
    veil_sve_policy pol;
    if (keys && (veil_sve_policy_parse(keys, &pol) || pol.kind == VEIL_SVE_KEYS_REUSE))
        return cli_usage_error(a, "--sve-keys wants session or request here (reuse:N is for "
                               "veil attack invert), got '%s'", keys), -1;
    if (cli_int(a, "sve-hop", 0, 0, VEIL_MAX_LAYERS, &hop)) return -1;
    if (veil_orch_sve_new(m, var, (int)hop, out)) return cli_fail_lib("cannot set up SVE"), -1;
    return 1;
}

static void dp_report(dp_egress *d)
{
    char line[512];
    if (!veil_dp_accountant_format(&d->acc, line, sizeof line)) fprintf(stderr, "%s\n", line);
}

/* Load the model, build the orchestrator over `nodes`, generate. */
static int generate_remote(cli_args *a, const char *const *nodes, int n, const veil_transport *t,
                           kill_backend *kb, int table)
{
    char mpath[4096], zpath[4096];
    veil_orch_opts po;
    veil_gen_opts go;
    if (net_critical_mode(a)) return net_critical_generate(a, nodes, n, t, table); /* --int, critical */
    if (cli_model_paths(a, mpath, zpath) || pipeline_opts(a, &po, &go)) return CLI_USAGE;
    po.nodes = nodes;
    po.n_nodes = n;
    po.transport = t;
    veil_model *m = NULL;
    veil_tokenizer *tk = NULL;
    veil_orch *o = NULL;
    dp_egress dp = {0};
    veil_orch_sve *sve = NULL;
    veil_verifier_opts vo;
    int rc = CLI_FAIL, dp_on = 0, verify_on = 0;
    if (veil_model_open(mpath, &m)) {
        cli_fail_lib("cannot load model");
        goto done;
    }
    if ((rc = net_verify_setup(a, m, &vo, &verify_on))) goto done;
    if (verify_on) po.verify = &vo;
    if ((rc = cli_dp_setup(a, m->cfg.dim, &dp.mech, &dp.rng, &dp_on))) goto done;
    int sv = sve_setup(a, m, &sve);
    rc = sv < 0 ? CLI_USAGE : CLI_FAIL;
    if (sv < 0) goto done;
    if (sve) veil_orch_sve_hooks(sve, &po.hooks);
    if (dp_on) {
        veil_dp_accountant_init(&dp.acc, &dp.mech);
        dp_layer(&dp, &po.hooks);
    }
    if (veil_tokenizer_open(zpath, m->cfg.vocab_size, &tk)) {
        cli_fail_lib("cannot load tokenizer");
        goto done;
    }
    if (veil_orch_new(m, &po, &o)) {
        cli_fail_lib("cannot build the pipeline");
        goto done;
    }
    veil_backend b = veil_orch_backend(o);
    if (kb) {
        kb->inner = b;
        b = (veil_backend){kb, kill_forward};
    }
    veil_gen_stats st;
    if (veil_generate(m, tk, &b, &go, print_piece, NULL, &st)) {
        printf("\n");
        cli_fail_lib("generation failed");
        goto done;
    }
    printf("\n");
    fflush(stdout);
    if (st.generated > 1 && st.decode_s > 0)
        fprintf(stderr, "achieved tok/s: %f\n", (st.generated - 1) / st.decode_s);
    if (table) print_table(o, kb ? kb->killed : NULL);
    if (dp_on) dp_report(&dp);
    if (verify_on)
        fprintf(stderr, "verification (--verify %s): %d node flag(s)\n", cli_get(a, "verify"),
                veil_orch_verify_flags(o));
    rc = CLI_OK;
done:
    veil_dp_rng_free(dp.rng);
    veil_orch_free(o);
    if (verify_on) veil_verifier_opts_release(&vo);
    veil_orch_sve_free(sve);
    veil_tokenizer_free(tk);
    veil_model_close(m);
    return rc;
}

static const cli_opt run_opts[] = {
    {"nodes", 0, "HOST:PORT,...", "the nodes to run the layers on"},
    SAMPLING_OPTS,
    PIPELINE_OPTS,
    {"stats", 0, NULL, "print the per-node table on stderr"},
    {"threads", 0, "N", "kernel threads for --split layers"},
    SECURITY_OPTS,
    NET_SECURITY_OPTS,
    NET_VERIFY_OPTS,
    NET_CRITICAL_OPTS,
    SVE_OPTS,
    CLI_DP_OPTS,
    {0},
};

static int run_run(cli_args *a)
{
    long threads;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    const char *list = cli_get(a, "nodes");
    if (!list || !*list) return cli_usage_error(a, "--nodes HOST:PORT[,HOST:PORT...] is required");
    if (cli_int(a, "threads", 0, 0, 64, &threads)) return CLI_USAGE;
    if (threads) veil_set_threads((int)threads);
    char *copy = strdup(list);
    const char *nodes[64];
    int n = 0;
    for (char *sv, *tok = strtok_r(copy, ",", &sv); tok; tok = strtok_r(NULL, ",", &sv)) {
        if (n == 64) {
            free(copy);
            return cli_usage_error(a, "at most 64 nodes");
        }
        nodes[n++] = tok;
    }
    transport_choice tc;
    net_sec_mode mode;
    long timeout;
    int rc = n ? net_security_begin(a, &mode) : cli_usage_error(a, "--nodes is empty");
    if (!rc) rc = cli_int(a, "timeout", 30000, 100, 3600000, &timeout) ? CLI_USAGE : pick_transport(a, 0, &tc);
    if (!rc && (rc = net_client_select(a, mode, &tc.sec, &tc.tls, &tc.t, nodes, &n, (int)timeout)))
        transport_free(&tc);
    if (!rc) {
        signal(SIGPIPE, SIG_IGN);
        rc = generate_remote(a, nodes, n, &tc.t, NULL, cli_has(a, "stats"));
        transport_free(&tc);
    }
    free(copy);
    return rc;
}

/* ---- veil demo ------------------------------------------------------------------------ */

static const cli_opt demo_opts[] = {
    {"nodes", 0, "N", "local node processes to start (default 3)"},
    SAMPLING_OPTS,
    PIPELINE_OPTS,
    {"kill", 0, "I@T", "SIGKILL node I (0-based) after T generated tokens"},
    {"hang", 0, "I@T", "SIGSTOP node I after T tokens (detected by --timeout)"},
    {"capacities", 0, "C0,C1,...", "advertised capacity of each node (default all 1)"},
    {"verbose", 0, NULL, "show the nodes' own log lines"},
    {"insecure", 0, NULL, "plaintext connections (default: TLS 1.3 with throwaway keys)"},
    NET_SECURITY_OPTS,
    NET_VERIFY_OPTS,
    NET_DEMO_ADVERSARY_OPTS,
    NET_CRITICAL_OPTS,
    SVE_OPTS,
    CLI_DP_OPTS,
    {0},
};

/* Start `veil node` on a free loopback port; returns its pid, port in *port. */
/* --int / --security critical: the nodes load the checkpoint from here. */
static char demo_models[4096];

static pid_t spawn_node(int i, const char *dir, const char *cap, int verbose, const char *adversary, net_demo *d,
                        int *port)
{
    char pf[4200], name[32], threads[16];
    snprintf(pf, sizeof pf, "%s/node%d.port", dir, i);
    snprintf(name, sizeof name, "node%d", i);
    snprintf(threads, sizeof threads, "%d", veil_get_threads());
    pid_t pid = fork();
    if (pid == 0) {
        if (!verbose) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) dup2(fd, 2);
        }
        char *argv[28] = {"veil", "node", "--listen", "127.0.0.1:0", "--name", name, "--port-file", pf,
                          "--threads", threads, "--capacity", (char *)cap};
        int k = 12 + net_demo_node_args(d, i, argv + 12); /* transport: TLS, TEE or --insecure */
        if (adversary) argv[k++] = "--adversary", argv[k++] = (char *)adversary;
        if (demo_models[0]) argv[k++] = "--models", argv[k++] = demo_models;
        argv[k] = NULL;
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    for (int tries = 0; pid > 0 && tries < 200; tries++) { /* up to 10 s */
        FILE *f = fopen(pf, "r");
        if (f) {
            int ok = fscanf(f, "%d", port) == 1;
            fclose(f);
            if (ok) return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) return -1;
        usleep(50000);
    }
    if (pid > 0) kill(pid, SIGKILL);
    return -1;
}

static int parse_kill(cli_args *a, int n, int *node, int *after, int *sig)
{
    const char *k = cli_get(a, "kill"), *h = cli_get(a, "hang");
    *node = -1;
    *after = 0;
    *sig = h ? SIGSTOP : SIGKILL;
    if (k && h) return cli_usage_error(a, "--kill and --hang exclude each other");
    if (h) k = h;
    if (!k) return 0;
    char end;
    if (sscanf(k, "%d@%d%c", node, after, &end) != 2 || *node < 0 || *node >= n || *after < 1)
        return cli_usage_error(a, "--%s wants I@T with 0 <= I < %d and T >= 1, got '%s'", h ? "hang" : "kill", n, k);
    return 0;
}

static int run_demo(cli_args *a)
{
    long n;
    int kill_node, kill_after, sig;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (cli_int(a, "nodes", 3, 1, 32, &n)) return CLI_USAGE;
    int rc = parse_kill(a, (int)n, &kill_node, &kill_after, &sig), adv_on;
    veil_adv_mode adv;
    uint32_t adv_nodes;
    if (rc || (rc = net_adversary_opt(a, &adv, &adv_on)) || (rc = net_adversary_node(a, (int)n, &adv_nodes)))
        return rc;
    char caps[32][32];
    const char *cl = cli_get(a, "capacities");
    for (int i = 0; i < n; i++) snprintf(caps[i], sizeof caps[i], "1");
    for (int i = 0; cl && *cl && i < n; i++) {
        size_t len = strcspn(cl, ",");
        snprintf(caps[i], sizeof caps[i], "%.*s", (int)(len < 31 ? len : 31), cl);
        cl += len + (cl[len] == ',');
    }
    char dir[] = "/tmp/veil-demo-XXXXXX";
    if (!mkdtemp(dir)) return cli_fail("cannot create a temporary directory: %s", strerror(errno));
    net_critical_models_dir(a, demo_models, sizeof demo_models);
    signal(SIGPIPE, SIG_IGN);
    pid_t pids[32];
    int killed[32] = {0}, ports[32], started = 0;
    char addrs[32][32];
    const char *nodes[32];
    static net_demo sec; /* throwaway keys (and sim TEE authority) in dir */
    transport_choice tc = {0};
    if ((rc = net_demo_setup(a, dir, (int)n, &sec))) started = -1;
    for (; started >= 0 && started < n; started++) {
        const char *am = adv_nodes >> started & 1 ? cli_get(a, "adversary") : NULL;
        if (am) fprintf(stderr, "veil demo: node %d (node%d) is ADVERSARIAL: --adversary %s\n", started, started, am);
        pids[started] = spawn_node(started, dir, caps[started], cli_has(a, "verbose"), am, &sec, &ports[started]);
        if (pids[started] < 0) break;
        snprintf(addrs[started], sizeof addrs[started], "127.0.0.1:%d", ports[started]);
        nodes[started] = addrs[started];
    }
    int nn = (int)n;
    if (started < 0) started = 0; /* rc set by net_demo_setup */
    else if (started < n) rc = cli_fail("node %d did not start (run with --verbose to see why)", started);
    else if (!(rc = net_demo_client(&sec, &tc.sec, &tc.tls, &tc.t)) &&
             !(rc = net_client_select(a, sec.mode, &tc.sec, &tc.tls, &tc.t, nodes, &nn, 30000))) {
        kill_backend kb = {.kill_node = kill_node, .kill_after = kill_after, .sig = sig, .pids = pids,
                           .killed = killed};
        rc = generate_remote(a, nodes, nn, &tc.t, &kb, 1);
    }
    transport_free(&tc);
    for (int i = 0; i < started; i++) {
        if (!killed[i]) kill(pids[i], SIGTERM);
        else if (sig == SIGSTOP) kill(pids[i], SIGKILL); /* a stopped node cannot act on SIGTERM */
        waitpid(pids[i], NULL, 0);
        char pf[64];
        snprintf(pf, sizeof pf, "%s/node%d.port", dir, i);
        unlink(pf);
    }
    net_demo_cleanup(&sec);
    rmdir(dir);
    return rc;
}

const cli_cmd cli_cmds_net[] = {
    {"node", "", "serve layer shards to remote clients (a long-running daemon)", node_opts, run_node},
    {"run", "", "generate text with the layers running on remote nodes", run_opts, run_run},
    {"demo", "", "start local nodes, run a prompt through them, print the per-node table", demo_opts,
     run_demo},
    {0},
};
