/* TLS and attestation overhead: per-connection handshake time, handshake +
 * channel-bound sim attestation, the pieces of the attestation, and the
 * per-token latency of a 3-node loopback pipeline with plain, TLS and
 * TLS+attestation transports. Prints markdown tables.
 * Usage: bench_tee [CONNECTIONS] [TOKENS] */
#include "veil/node.h"
#include "veil/orchestrator.h"
#include "veil/secure.h"
#include "veil/synth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char dir[256];
static veil_policy pol;

/* CPU seconds of the whole process (client, server and node threads): on a
 * shared machine wall time mostly measures the other tenants, CPU time
 * measures what the work costs. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static veil_tls_ctx *identity(const char *name)
{
    char p[512];
    veil_tls_ctx *c;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (veil_tls_keygen(p, NULL) || veil_tls_ctx_new(p, NULL, &c)) {
        fprintf(stderr, "bench_tee: %s\n", veil_last_error());
        exit(1);
    }
    return c;
}

static veil_attester *attester(void)
{
    char a[512];
    static const uint8_t meas[48] = {1};
    snprintf(a, sizeof a, "%s/auth", dir);
    veil_attester_opts o = {.backend = VEIL_TEE_BACKEND_SIM, .authority_dir = a,
                            .measurement = meas, .tee_type = VEIL_TEE_TYPE_CPU};
    veil_attester *at;
    if (veil_attester_open(&o, &at)) exit(1);
    return at;
}

/* ---- per-connection cost over loopback TCP ---- */

typedef struct {
    int lfd, n;
    veil_transport *t;
    int echo; /* echo 1 KiB messages until the client closes */
} server;

static void *serve(void *p)
{
    server *s = p;
    for (int i = 0; i < s->n; i++) {
        int fd = accept(s->lfd, NULL, NULL);
        veil_stream st;
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (s->t->wrap_server(s->t->ctx, fd, &st) == 0) {
            char b[1024];
            if (!s->echo) veil_stream_read(&st, b, 1); /* wait for the client's close */
            while (s->echo && veil_stream_read(&st, b, sizeof b) == 0 &&
                   veil_stream_write(&st, b, sizeof b) == 0) {
            }
            veil_stream_close(&st);
        } else {
            close(fd);
        }
    }
    return NULL;
}

/* Median seconds from connect() to a usable stream, n connections; with
 * rtts > 0, one connection and the median round trip of a 1 KiB message
 * (a hidden state of dim 256) instead. */
static double measure(veil_transport *srv, veil_transport *cli, int n, int rtts, double *cpu)
{
    double c0 = cpu_now();
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16)) exit(1);
    getsockname(l, (struct sockaddr *)&a, &al);
    server s = {l, rtts ? 1 : n, srv, rtts > 0};
    if (rtts) n = 1;
    pthread_t th;
    pthread_create(&th, NULL, serve, &s);
    double *t = calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++) {
        double t0 = veil_now();
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        veil_stream st;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) || cli->wrap_client(cli->ctx, fd, &st)) {
            fprintf(stderr, "bench_tee: connection failed: %s\n", veil_last_error());
            exit(1);
        }
        t[i] = veil_now() - t0;
        if (rtts) {
            free(t);
            t = calloc((size_t)rtts, sizeof *t);
            char msg[1024] = {1};
            for (int r = 0; r < rtts; r++) {
                double r0 = veil_now();
                if (veil_stream_write(&st, msg, sizeof msg) || veil_stream_read(&st, msg, sizeof msg))
                    exit(1);
                t[r] = veil_now() - r0;
            }
            veil_stream_close(&st);
            n = rtts;
            break;
        }
        veil_stream_close(&st);
    }
    pthread_join(th, NULL);
    close(l);
    *cpu = (cpu_now() - c0) / n;
    double m = median(t, n);
    free(t);
    return m;
}

static double per_connection(veil_transport *srv, veil_transport *cli, int n, double *cpu)
{
    return measure(srv, cli, n, 0, cpu);
}

static int tls_client(void *c, int fd, veil_stream *o) { return veil_tls_connect(c, fd, o); }
static int tls_server(void *c, int fd, veil_stream *o) { return veil_tls_accept(c, fd, o); }
static int plain_wrap(void *c, int fd, veil_stream *o) { return veil_stream_plain(fd, o); }

static void bench_connections(int n)
{
    veil_tls_ctx *a = identity("a"), *b = identity("b");
    veil_attester *aa = attester(), *ab = attester();
    veil_transport pt = {NULL, plain_wrap, plain_wrap, "plain"};
    veil_transport ta = {a, tls_client, tls_server, "tls"}, tb = {b, tls_client, tls_server, "tls"};
    veil_secure *sa, *sb, *sc;
    veil_secure_opts oa = {.tls = a, .attester = aa, .policy = &pol, .quiet = 1};
    veil_secure_opts ob = {.tls = b, .attester = ab, .policy = &pol, .quiet = 1};
    veil_secure_opts oc = {.tls = b, .attester = NULL, .policy = &pol, .quiet = 1};
    veil_secure_new(&oa, &sa);
    veil_secure_new(&ob, &sb);
    veil_secure_new(&oc, &sc);
    veil_transport xa, xb, xc;
    veil_transport_attested(sa, &xa);
    veil_transport_attested(sb, &xb);
    veil_transport_attested(sc, &xc);

    double cp, ct, c1, cm;
    double plain = per_connection(&pt, &pt, n, &cp);
    double tls = per_connection(&ta, &tb, n, &ct);
    double one = per_connection(&xa, &xc, n, &c1);
    double mutual = per_connection(&xa, &xb, n, &cm);
    printf("| connection setup, loopback TCP, %d connections | wall ms (median) | CPU ms per "
           "connection (both ends) |\n|---|---:|---:|\n", n);
    printf("| TCP connect only (plain) | %.3f | %.3f |\n", plain * 1e3, cp * 1e3);
    printf("| TCP + TLS 1.3 handshake (Ed25519, mutual auth) | %.3f | %.3f |\n", tls * 1e3, ct * 1e3);
    printf("| + sim attestation of the node (client -> node) | %.3f | %.3f |\n", one * 1e3, c1 * 1e3);
    printf("| + mutual sim attestation (node <-> node) | %.3f | %.3f |\n\n", mutual * 1e3, cm * 1e3);

    int rt = 20 * n;
    double rcp, rct;
    double rp = measure(&pt, &pt, 1, rt, &rcp), rtls = measure(&ta, &tb, 1, rt, &rct);
    printf("| 1 KiB round trip on an open connection, %d round trips | wall us (median) | CPU us "
           "per round trip |\n|---|---:|---:|\n", rt);
    printf("| plain | %.1f | %.1f |\n", rp * 1e6, rcp * 1e6);
    printf("| TLS 1.3 (AES-256-GCM) | %.1f | %.1f |\n\n", rtls * 1e6, rct * 1e6);

    /* the pieces of one attestation */
    uint8_t rd[64] = {0}, *ev;
    size_t evn;
    double *tc = calloc((size_t)n, sizeof *tc), *tv = calloc((size_t)n, sizeof *tv);
    veil_claims c;
    double ccol = 0, cver = 0;
    for (int i = 0; i < n; i++) {
        double t0 = veil_now(), k0 = cpu_now();
        veil_attest_collect(aa, rd, &ev, &evn);
        double t1 = veil_now(), k1 = cpu_now();
        if (veil_attest_verify(ev, evn, &pol, rd, &c)) exit(1);
        tv[i] = veil_now() - t1;
        tc[i] = t1 - t0;
        cver += cpu_now() - k1;
        ccol += k1 - k0;
        free(ev);
    }
    printf("| sim attestation pieces, %d each | wall ms (median) | CPU ms |\n|---|---:|---:|\n", n);
    printf("| collect (ECDSA P-384 report signature) | %.3f | %.3f |\n", median(tc, n) * 1e3,
           ccol / n * 1e3);
    printf("| verify (platform chain + report signature + policy) | %.3f | %.3f |\n",
           median(tv, n) * 1e3, cver / n * 1e3);
    printf("| evidence size | %zu bytes | |\n\n", evn);
    free(tc);
    free(tv);
    veil_secure_free(sa);
    veil_secure_free(sb);
    veil_secure_free(sc);
    veil_attester_free(aa);
    veil_attester_free(ab);
    veil_tls_ctx_free(a);
    veil_tls_ctx_free(b);
}

/* ---- 3-node pipeline per-token latency ---- */

typedef struct {
    veil_transport t;
    veil_secure *sec;
    veil_tls_ctx *tls;
    veil_attester *att;
} tr;

static void make_tr(tr *x, const char *kind, const char *name, int attested_node)
{
    memset(x, 0, sizeof *x);
    if (!strcmp(kind, "plain")) {
        x->t = *veil_transport_plain();
        return;
    }
    x->tls = identity(name);
    if (!strcmp(kind, "tls")) {
        veil_transport_tls(x->tls, &x->t);
        return;
    }
    x->att = attested_node ? attester() : NULL;
    veil_secure_opts o = {.tls = x->tls, .attester = x->att, .policy = &pol, .quiet = 1};
    veil_secure_new(&o, &x->sec);
    veil_transport_attested(x->sec, &x->t);
}

static void free_tr(tr *x)
{
    veil_secure_free(x->sec);
    veil_attester_free(x->att);
    veil_tls_ctx_free(x->tls);
}

/* Decode seconds per token and setup seconds for one transport kind. */
static void pipeline(const veil_model *m, const char *kind, int tokens,
                     double *per_token, double *cpu_token, double *setup)
{
    static int gen;
    char nm[64];
    tr nodes_tr[3], cl;
    veil_node *nodes[3];
    char addr[3][64];
    const char *addrs[3];
    for (int i = 0; i < 3; i++) {
        snprintf(nm, sizeof nm, "%s-n%d-%d", kind, i, gen);
        make_tr(&nodes_tr[i], kind, nm, 1);
        veil_node_opts no = {.host = "127.0.0.1", .transport = &nodes_tr[i].t, .quiet = 1};
        if (veil_node_start(&no, &nodes[i])) exit(1);
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", veil_node_port(nodes[i]));
        addrs[i] = addr[i];
    }
    snprintf(nm, sizeof nm, "%s-client-%d", kind, gen++);
    make_tr(&cl, kind, nm, 0);
    veil_orch_opts oo = {.nodes = addrs, .n_nodes = 3, .transport = &cl.t, .quiet = 1, .push_only = 1};
    veil_orch *o;
    double t0 = veil_now();
    if (veil_orch_new(m, &oo, &o)) {
        fprintf(stderr, "bench_tee: %s pipeline: %s\n", kind, veil_last_error());
        exit(1);
    }
    *setup = veil_now() - t0;
    /* one position at a time through the whole chain, as decoding does */
    veil_backend b = veil_orch_backend(o);
    float *x = malloc((size_t)m->cfg.dim * sizeof *x);
    double t1 = veil_now(), k1 = cpu_now();
    for (int pos = 0; pos < tokens; pos++) {
        veil_embed(m, 1 + pos % (m->cfg.vocab_size - 1), x);
        if (b.forward(b.ctx, pos, 1, x)) {
            fprintf(stderr, "bench_tee: forward: %s\n", veil_last_error());
            exit(1);
        }
    }
    *per_token = (veil_now() - t1) / tokens;
    *cpu_token = (cpu_now() - k1) / tokens;
    free(x);
    veil_orch_free(o);
    for (int i = 0; i < 3; i++) {
        veil_node_stop(nodes[i]);
        free_tr(&nodes_tr[i]);
    }
    free_tr(&cl);
}

static void bench_pipeline(int tokens)
{
    char mp[512];
    snprintf(mp, sizeof mp, "%s/m.bin", dir);
    veil_config cfg = {256, 688, 6, 8, 8, 512, 256, 1};
    veil_model *m;
    if (veil_synth_model(&cfg, 3, mp) || veil_model_open(mp, &m)) {
        fprintf(stderr, "bench_tee: %s\n", veil_last_error());
        exit(1);
    }
    const char *kinds[3] = {"plain", "tls", "tls+attest"};
    enum { REPEATS = 5 };
    double pt[3][REPEATS], su[3][REPEATS], ck[3][REPEATS];
    /* one kernel thread per node: three nodes share this machine's cores */
    veil_set_threads(1);
    for (int r = 0; r < REPEATS; r++) /* interleaved repeats: the machine is shared */
        for (int k = 0; k < 3; k++) pipeline(m, kinds[k], tokens, &pt[k][r], &ck[k][r], &su[k][r]);
    printf("| 3-node loopback pipeline, synthetic dim 256 x 6 layers (%zu params), %d positions "
           "one at a time, 1 thread per node, median of %d | wall ms per token | vs plain | CPU ms "
           "per token (client + 3 nodes, all threads) | vs plain | setup ms (connect, attest, push "
           "weights) |\n|---|---:|---:|---:|---:|---:|\n",
           veil_model_param_count(&cfg), tokens, REPEATS);
    double base = median(pt[0], REPEATS), cbase = median(ck[0], REPEATS);
    for (int k = 0; k < 3; k++) {
        double p = median(pt[k], REPEATS), c = median(ck[k], REPEATS), s = median(su[k], REPEATS);
        printf("| %s | %.3f | %.2fx | %.3f | %.2fx | %.1f |\n", kinds[k], p * 1e3, p / base,
               c * 1e3, c / cbase, s * 1e3);
    }
    veil_model_close(m);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50, tokens = argc > 2 ? atoi(argv[2]) : 64;
    if (n < 1 || tokens < 2) {
        fprintf(stderr, "usage: bench_tee [CONNECTIONS] [TOKENS]\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "/tmp/veil-bench-tee-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char a[512];
    snprintf(a, sizeof a, "%s/auth", dir);
    if (veil_sim_authority_init(a) || veil_policy_sim(a, &pol)) {
        fprintf(stderr, "bench_tee: %s\n", veil_last_error());
        return 1;
    }
    bench_connections(n);
    bench_pipeline(tokens);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
