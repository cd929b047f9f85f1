/* The attested transport end to end: a 3-node pipeline where every
 * connection is TLS 1.3 + channel-bound sim attestation (client -> node
 * one-way, node -> node mutual) produces the same text as a local run; the
 * claims reach the client for scheduling; a node whose evidence does not
 * verify gets no data. */
#include "harness.h"
#include "veil/node.h"
#include "veil/orchestrator.h"
#include "veil/secure.h"
#include "veil/synth.h"
#include "veil/tee.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[512];

typedef struct {
    char text[4096];
} sink;

static void emit(void *ctx, const char *piece)
{
    sink *s = ctx;
    strncat(s->text, piece, sizeof s->text - strlen(s->text) - 1);
}

static veil_tls_ctx *identity(const char *name)
{
    char p[700];
    veil_tls_ctx *c = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    CHECK(veil_tls_keygen(p, NULL) == 0);
    CHECKF(veil_tls_ctx_new(p, NULL, &c) == 0, "%s", veil_last_error());
    return c;
}

typedef struct {
    veil_tls_ctx *tls;
    veil_attester *att;
    veil_secure *sec;
    veil_transport t;
    veil_node *node;
    veil_tee *tee;
    char addr[64];
} test_node;

static int node_up(test_node *n, const char *name, const char *authority, int type,
                   const veil_policy *p)
{
    static const uint8_t meas[48] = {42};
    n->tls = identity(name);
    veil_attester_opts ao = {.backend = VEIL_TEE_BACKEND_SIM, .authority_dir = authority,
                             .measurement = meas, .tee_type = type, .capacity_bytes = 1 << 30};
    CHECK(veil_attester_open(&ao, &n->att) == 0);
    veil_secure_opts so = {.tls = n->tls, .attester = n->att, .policy = p, .name = name, .quiet = 1};
    CHECK(veil_secure_new(&so, &n->sec) == 0);
    veil_tee_opts to = {.arena_bytes = 1 << 20, .attester = veil_secure_attester(n->sec), .name = name,
                        .quiet = 1};
    CHECK(veil_tee_create(&to, &n->tee) == 0);
    veil_secure_set_tee(n->sec, n->tee);
    veil_transport_attested(n->sec, &n->t);
    veil_node_opts no = {.host = "127.0.0.1", .port = 0, .name = name, .transport = &n->t,
                         .quiet = 1};
    int rc = veil_node_start(&no, &n->node);
    CHECKF(rc == 0, "node %s: %s", name, veil_last_error());
    if (!rc) snprintf(n->addr, sizeof n->addr, "127.0.0.1:%d", veil_node_port(n->node));
    return rc;
}

static void node_down(test_node *n)
{
    if (n->node) veil_node_stop(n->node);
    CHECK(veil_tee_destroy(n->tee) == 0);
    veil_secure_free(n->sec);
    veil_attester_free(n->att);
    veil_tls_ctx_free(n->tls);
}

typedef struct {
    veil_transport *t;
    int fd, rc;
    veil_stream s;
} srv_side;

static void *srv_wrap(void *p)
{
    srv_side *x = p;
    x->rc = x->t->wrap_server(x->t->ctx, x->fd, &x->s);
    return NULL;
}

/* veil_secure_open, as the command line would call it for --security tee. */
static void test_secure_open(const char *auth)
{
    char key_n[700], key_c[700], conf[700];
    snprintf(key_n, sizeof key_n, "%s/n4", dir);
    snprintf(key_c, sizeof key_c, "%s/client2", dir);
    snprintf(conf, sizeof conf, "%s/node.conf", dir);
    FILE *f = fopen(conf, "w");
    fputs("layers = 0-5\n", f);
    fclose(f);
    CHECK(veil_tls_keygen(key_n, NULL) == 0 && veil_tls_keygen(key_c, NULL) == 0);
    veil_secure *ns, *cs;
    veil_secure_config nc = {.key = key_n, .backend = "sim", .authority = auth, .config = conf,
                             .tee_type = VEIL_TEE_TYPE_GPU, .gpus = 1, .quiet = 1};
    veil_secure_config cc = {.key = key_c, .authority = auth, .quiet = 1};
    CHECKF(veil_secure_open(&nc, &ns) == 0, "%s", veil_last_error());
    CHECKF(veil_secure_open(&cc, &cs) == 0, "%s", veil_last_error());
    veil_secure_config bad = {.key = key_c, .quiet = 1};
    veil_secure *bs;
    CHECK(veil_secure_open(&bad, &bs) == VEIL_EINVAL);
    veil_transport nt, ct;
    veil_transport_attested(ns, &nt);
    veil_transport_attested(cs, &ct);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    srv_side x = {&nt, sv[0], 0, {0}};
    pthread_t th;
    pthread_create(&th, NULL, srv_wrap, &x);
    veil_stream c;
    int rc = ct.wrap_client(ct.ctx, sv[1], &c);
    pthread_join(th, NULL);
    CHECKF(rc == 0 && x.rc == 0, "%s", veil_last_error());
    veil_claims cl;
    char id[VEIL_PEER_ID_HEX], crt[720];
    snprintf(crt, sizeof crt, "%s.crt", key_n);
    veil_tls_cert_id(crt, id);
    CHECK(veil_secure_peer_claims(cs, id, &cl) == 0 && cl.simulated && cl.tee_type == VEIL_TEE_TYPE_GPU &&
          cl.gpus == 1);
    if (rc == 0) veil_stream_close(&c);
    if (x.rc == 0) veil_stream_close(&x.s);
    veil_secure_free(ns);
    veil_secure_free(cs);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char mpath[700], tpath[700], auth[700], auth_bad[700];
    snprintf(mpath, sizeof mpath, "%s/m.bin", dir);
    snprintf(tpath, sizeof tpath, "%s/m.tok", dir);
    snprintf(auth, sizeof auth, "%s/auth", dir);
    snprintf(auth_bad, sizeof auth_bad, "%s/auth-bad", dir);
    veil_config cfg = {64, 160, 6, 4, 2, 300, 64, 1};
    CHECK(veil_synth_model(&cfg, 7, mpath) == 0 && veil_synth_tokenizer(cfg.vocab_size, tpath) == 0);
    CHECK(veil_sim_authority_init(auth) == 0 && veil_sim_authority_init(auth_bad) == 0);
    veil_model *m = NULL;
    veil_tokenizer *tok = NULL;
    if (veil_model_open(mpath, &m) || veil_tokenizer_open(tpath, cfg.vocab_size, &tok)) {
        fprintf(stderr, "cannot open the synthetic model: %s\n", veil_last_error());
        return 1;
    }

    veil_policy pol;
    CHECK(veil_policy_sim(auth, &pol) == 0);
    pol.any_measurement = 0;
    pol.meas[0][0] = 42;
    pol.nmeas = 1;

    /* the reference: all layers locally */
    veil_gen_opts go = {.prompt = "ab", .steps = 24, .temperature = 0, .topp = 0.9f, .seed = 1};
    veil_shard *sh;
    CHECK(veil_model_shard(m, 0, cfg.n_layers, 0, &sh) == 0);
    veil_backend lb = veil_local_backend(sh);
    sink ref = {""}, got = {""};
    veil_gen_stats gs;
    CHECK(veil_generate(m, tok, &lb, &go, emit, &ref, &gs) == 0);
    veil_shard_free(sh);

    test_node nodes[3] = {0};
    const char *names[3] = {"n1", "n2", "n3"};
    int types[3] = {VEIL_TEE_TYPE_GPU, VEIL_TEE_TYPE_CPU, VEIL_TEE_TYPE_CPU};
    for (int i = 0; i < 3; i++) node_up(&nodes[i], names[i], auth, types[i], &pol);

    veil_tls_ctx *ctls = identity("client");
    veil_secure *csec;
    veil_secure_opts cso = {.tls = ctls, .attester = NULL, .policy = &pol, .name = "client", .quiet = 1};
    CHECK(veil_secure_new(&cso, &csec) == 0);
    veil_transport ct;
    veil_transport_attested(csec, &ct);
    const char *addrs[3] = {nodes[0].addr, nodes[1].addr, nodes[2].addr};
    veil_orch_opts oo = {.nodes = addrs, .n_nodes = 3, .transport = &ct, .quiet = 1, .push_only = 1};
    veil_orch *o;
    int rc = veil_orch_new(m, &oo, &o);
    CHECKF(rc == 0, "orchestrator: %s", veil_last_error());
    if (rc == 0) {
        veil_backend rb = veil_orch_backend(o);
        CHECKF(veil_generate(m, tok, &rb, &go, emit, &got, &gs) == 0, "%s", veil_last_error());
        CHECKF(strcmp(ref.text, got.text) == 0, "remote '%s' vs local '%s'", got.text, ref.text);
        veil_orch_free(o);
    }
    /* the client holds verified claims for every node it talked to */
    veil_claims c;
    for (int i = 0; i < 3; i++) {
        CHECKF(veil_secure_peer_claims(csec, veil_tls_ctx_id(nodes[i].tls), &c) == 0, "%s",
               veil_last_error());
        CHECK(c.simulated && c.tee_type == types[i] && c.capacity_bytes == 1 << 30);
    }
    /* neighbours attested each other: n2 verified n1, n3 verified n2 */
    CHECK(veil_secure_peer_claims(nodes[1].sec, veil_tls_ctx_id(nodes[0].tls), &c) == 0 &&
          c.backend == VEIL_TEE_BACKEND_SIM);
    CHECK(veil_secure_peer_claims(nodes[2].sec, veil_tls_ctx_id(nodes[1].tls), &c) == 0 &&
          c.backend == VEIL_TEE_BACKEND_SIM);
    /* the transports drove each node's lifecycle: attested to the client,
     * linked to its neighbours */
    for (int i = 0; i < 3; i++)
        CHECKF(veil_tee_state(nodes[i].tee) == VEIL_TEE_EXECUTING, "node %d in step %s", i,
               veil_tee_step_name(veil_tee_state(nodes[i].tee)));
    /* the client itself is unattested at the first node */
    CHECK(veil_secure_peer_claims(nodes[0].sec, veil_tls_ctx_id(ctls), &c) == 0 && c.backend == 0);
    veil_secure_stats st;
    veil_secure_get_stats(csec, &st);
    CHECK(st.connections >= 3);
    fprintf(stderr, "  client: %llu connections, TLS %.2f ms, attestation %.2f ms on average\n",
            (unsigned long long)st.connections, 1e3 * st.tls_seconds / (double)st.connections,
            1e3 * st.attest_seconds / (double)st.connections);

    /* a node whose platform is certified by another authority gets nothing */
    test_node evil = {0};
    node_up(&evil, "evil", auth_bad, VEIL_TEE_TYPE_GPU, &pol);
    const char *eaddr[1] = {evil.addr};
    veil_orch_opts eo = {.nodes = eaddr, .n_nodes = 1, .transport = &ct, .quiet = 1,
                         .push_only = 1, .timeout_ms = 3000};
    rc = veil_orch_new(m, &eo, &o);
    CHECKF(rc != 0, "orchestrator accepted an unverified node");
    fprintf(stderr, "  unverified node -> %s\n", veil_last_error());
    if (rc == 0) veil_orch_free(o);
    CHECK(veil_secure_peer_claims(csec, veil_tls_ctx_id(evil.tls), &c) != 0);
    node_down(&evil);

    for (int i = 0; i < 3; i++) node_down(&nodes[i]);
    test_secure_open(auth);
    veil_secure_free(csec);
    veil_tls_ctx_free(ctls);
    veil_tokenizer_free(tok);
    veil_model_close(m);
    return test_done();
}
