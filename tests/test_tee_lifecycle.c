/* Attested channels and the six-step TEE lifecycle: challenge/response bound
 * to the TLS exporter, replayed and relayed evidence refused, mutual
 * attestation between neighbours, provisioning only over the attested
 * channel, and destruction that leaves every region reading zero. */
#include "harness.h"
#include "veil/tee.h"
#include "veil/tls.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[512], auth[600], auth_bad[600];
static veil_tls_ctx *ctx_orch, *ctx_n1, *ctx_n2, *ctx_evil;
static veil_policy pol;
static uint8_t M[48];

/* A TLS pair: a accepts, b connects. */
typedef struct {
    veil_tls_ctx *ctx;
    int fd, rc;
    veil_stream s;
} acc;

static void *acc_thread(void *p)
{
    acc *a = p;
    a->rc = veil_tls_accept(a->ctx, a->fd, &a->s);
    return NULL;
}

static int tls_pair(veil_tls_ctx *server, veil_tls_ctx *client, veil_stream *srv, veil_stream *cli)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    acc a = {server, sv[0], 0, {0}};
    pthread_t th;
    pthread_create(&th, NULL, acc_thread, &a);
    int rc = veil_tls_connect(client, sv[1], cli);
    pthread_join(th, NULL);
    *srv = a.s;
    return rc || a.rc ? -1 : 0;
}

/* Run fn(arg) on a thread while the caller does its side. */
typedef struct {
    int (*fn)(void *);
    void *arg;
    int rc;
    char err[300];
} job;

static void *job_thread(void *p)
{
    job *j = p;
    j->rc = j->fn(j->arg);
    snprintf(j->err, sizeof j->err, "%s", veil_last_error());
    return NULL;
}

static veil_attester *sim_attester(const char *authority, int type, uint64_t cap)
{
    veil_attester *a = NULL;
    veil_attester_opts o = {.backend = VEIL_TEE_BACKEND_SIM, .authority_dir = authority,
                            .measurement = M, .tee_type = type, .capacity_bytes = cap};
    CHECKF(veil_attester_open(&o, &a) == 0, "%s", veil_last_error());
    return a;
}

/* ---- step 2 over a real channel; replay and relay refused ---- */

typedef struct {
    veil_tee *t;
    veil_stream *s;
} tee_on;

static int do_attest(void *p)
{
    tee_on *x = p;
    return veil_tee_attest(x->t, x->s);
}

/* A malicious node that answers with evidence recorded elsewhere. */
typedef struct {
    veil_stream *s;
    const uint8_t *ev;
    size_t n;
} replayer;

static int do_replay(void *p)
{
    replayer *r = p;
    uint8_t chal[4 + VEIL_NONCE_LEN], hdr[4];
    if (veil_stream_read(r->s, chal, sizeof chal)) return -1;
    for (int i = 0; i < 4; i++) hdr[i] = (uint8_t)(r->n >> (8 * i));
    return veil_stream_write(r->s, hdr, 4) || veil_stream_write(r->s, r->ev, r->n);
}

/* Record genuine evidence bound to a channel the attacker controls. */
static uint8_t *record_evidence(veil_attester *genuine, size_t *n)
{
    veil_stream s1, c1;
    CHECK(tls_pair(ctx_n1, ctx_evil, &s1, &c1) == 0);
    uint8_t nonce[VEIL_NONCE_LEN] = {1}, ex[32], rd[64], *ev = NULL;
    c1.ops->binding(c1.impl, ex);
    veil_attest_binding(nonce, ex, rd);
    CHECK(veil_attest_collect(genuine, rd, &ev, n) == 0);
    veil_stream_close(&s1);
    veil_stream_close(&c1);
    return ev;
}

/* The attacker sits between the verifier and a genuine TEE and forwards the
 * verifier's nonce to it: the evidence is bound to the attacker's channel. */
typedef struct {
    veil_stream *to_verifier, *to_genuine;
} relay;

static int do_relay(void *p)
{
    relay *r = p;
    uint8_t chal[4 + VEIL_NONCE_LEN], hdr[4], buf[VEIL_EVIDENCE_MAX];
    if (veil_stream_read(r->to_verifier, chal, sizeof chal) ||
        veil_stream_write(r->to_genuine, chal, sizeof chal) || veil_stream_read(r->to_genuine, hdr, 4))
        return -1;
    size_t n = hdr[0] | hdr[1] << 8 | hdr[2] << 16;
    if (n > sizeof buf || veil_stream_read(r->to_genuine, buf, n)) return -1;
    return veil_stream_write(r->to_verifier, hdr, 4) || veil_stream_write(r->to_verifier, buf, n);
}

static void test_channel_attestation(veil_attester *genuine)
{
    veil_stream s, c;
    veil_claims cl;
    pthread_t th;
    /* an honest exchange */
    veil_tee_opts to = {.arena_bytes = 1 << 16, .attester = genuine, .name = "n1", .quiet = 1};
    veil_tee *t;
    CHECK(veil_tee_create(&to, &t) == 0);
    CHECK(tls_pair(ctx_n1, ctx_orch, &s, &c) == 0);
    tee_on x = {t, &s};
    job j = {do_attest, &x, 0, ""};
    pthread_create(&th, NULL, job_thread, &j);
    int rc = veil_attest_challenge(&c, &pol, 0, &cl);
    pthread_join(th, NULL);
    CHECKF(rc == 0 && j.rc == 0, "verifier: %s / node: %s", veil_last_error(), j.err);
    CHECK(cl.simulated && veil_tee_state(t) == VEIL_TEE_ATTESTED);
    veil_stream_close(&s);
    veil_stream_close(&c);
    veil_tee_destroy(t);

    /* replay: evidence from an earlier connection */
    size_t n;
    uint8_t *old = record_evidence(genuine, &n);
    CHECK(tls_pair(ctx_evil, ctx_orch, &s, &c) == 0);
    replayer r = {&s, old, n};
    j = (job){do_replay, &r, 0, ""};
    pthread_create(&th, NULL, job_thread, &j);
    rc = veil_attest_challenge(&c, &pol, 0, &cl);
    pthread_join(th, NULL);
    CHECKF(rc == VEIL_EVERIFY && strstr(veil_last_error(), "report_data mismatch"), "replay: %s",
           veil_last_error());
    fprintf(stderr, "  replayed evidence -> %s\n", veil_last_error());
    veil_stream_close(&s);
    veil_stream_close(&c);
    free(old);

    /* relay: verifier <-> attacker <-> genuine node */
    veil_stream vs, vc, gs, gc;
    CHECK(tls_pair(ctx_evil, ctx_orch, &vs, &vc) == 0);
    CHECK(tls_pair(ctx_n1, ctx_evil, &gs, &gc) == 0);
    relay rl = {&vs, &gc};
    job jr = {do_relay, &rl, 0, ""};
    veil_tee *t2;
    CHECK(veil_tee_create(&to, &t2) == 0);
    tee_on g = {t2, &gs};
    job jg = {do_attest, &g, 0, ""};
    pthread_t th2;
    pthread_create(&th, NULL, job_thread, &jr);
    pthread_create(&th2, NULL, job_thread, &jg);
    rc = veil_attest_challenge(&vc, &pol, 0, &cl);
    pthread_join(th, NULL);
    pthread_join(th2, NULL);
    CHECKF(rc == VEIL_EVERIFY && strstr(veil_last_error(), "report_data mismatch"), "relay: %s",
           veil_last_error());
    fprintf(stderr, "  relayed evidence -> %s\n", veil_last_error());
    veil_stream *all[4] = {&vs, &vc, &gs, &gc};
    for (int i = 0; i < 4; i++) veil_stream_close(all[i]);
    veil_tee_destroy(t2);

    /* attestation needs TLS */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    veil_stream_plain(sv[0], &s);
    CHECK(veil_attest_challenge(&s, &pol, 0, &cl) != 0 && strstr(veil_last_error(), "TLS"));
    veil_stream_close(&s);
    close(sv[1]);
}

/* ---- the six steps, with two nodes linked by mutual attestation ---- */

typedef struct {
    veil_tee *t;
    veil_stream *s;
    int initiator;
    veil_claims peer;
} linker;

static int do_link(void *p)
{
    linker *l = p;
    return veil_tee_link(l->t, l->s, l->initiator, &pol, &l->peer);
}

/* Steps 1-3 for one node: attest to the orchestrator, receive a shard. */
static veil_tee *provisioned_node(veil_tls_ctx *nctx, veil_attester *a, const char *name,
                                  float **weights)
{
    veil_tee_opts to = {.arena_bytes = 1 << 20, .attester = a, .name = name};
    veil_tee *t;
    veil_stream s, c;
    veil_claims cl;
    pthread_t th;
    CHECK(veil_tee_create(&to, &t) == 0 && veil_tee_state(t) == VEIL_TEE_BLANK);
    CHECK(tls_pair(nctx, ctx_orch, &s, &c) == 0);
    CHECK(veil_tee_provision(t, &s, "too early") == VEIL_EPROTO); /* out of order: refused */
    tee_on x = {t, &s};
    job j = {do_attest, &x, 0, ""};
    pthread_create(&th, NULL, job_thread, &j);
    CHECK(veil_attest_challenge(&c, &pol, 0, &cl) == 0);
    pthread_join(th, NULL);
    CHECK(j.rc == 0);
    /* the orchestrator sends the shard over the attested channel */
    float shard[256];
    for (int i = 0; i < 256; i++) shard[i] = (float)i + 0.5f;
    CHECK(veil_stream_write(&c, shard, sizeof shard) == 0);
    *weights = veil_tee_alloc(t, VEIL_REGION_WEIGHTS, sizeof shard);
    CHECK(*weights && veil_stream_read(&s, *weights, sizeof shard) == 0);
    /* provisioning over any other channel is refused */
    veil_stream s2, c2;
    CHECK(tls_pair(nctx, ctx_orch, &s2, &c2) == 0);
    CHECK(veil_tee_provision(t, &s2, "shard") == VEIL_EVERIFY && strstr(veil_last_error(), "not attested"));
    veil_stream_close(&s2);
    veil_stream_close(&c2);
    CHECKF(veil_tee_provision(t, &s, "shard 0 (256 floats)") == 0, "%s", veil_last_error());
    CHECK(veil_tee_state(t) == VEIL_TEE_PROVISIONED);
    veil_stream_close(&s);
    veil_stream_close(&c);
    return t;
}

static void test_lifecycle(veil_attester *a1, veil_attester *a2, veil_attester *bad)
{
    float *w1, *w2;
    veil_tee *t1 = provisioned_node(ctx_n1, a1, "node1", &w1);
    veil_tee *t2 = provisioned_node(ctx_n2, a2, "node2", &w2);
    CHECK(w1[3] == 3.5f);

    /* step 4: node1 connects to node2; both attest each other */
    veil_stream s, c;
    pthread_t th;
    CHECK(tls_pair(ctx_n2, ctx_n1, &s, &c) == 0);
    linker l2 = {t2, &s, 0, {0}}, l1 = {t1, &c, 1, {0}};
    job j = {do_link, &l2, 0, ""};
    pthread_create(&th, NULL, job_thread, &j);
    int rc = do_link(&l1);
    pthread_join(th, NULL);
    CHECKF(rc == 0 && j.rc == 0, "%s / %s", veil_last_error(), j.err);
    CHECK(l1.peer.tee_type == VEIL_TEE_TYPE_CPU && l2.peer.tee_type == VEIL_TEE_TYPE_GPU);
    CHECK(veil_tee_state(t1) == VEIL_TEE_EXECUTING && veil_tee_state(t2) == VEIL_TEE_EXECUTING);

    /* activations and KV cache live in the arena; an outside buffer is tracked */
    float *act = veil_tee_alloc(t1, VEIL_REGION_ACTIVATIONS, 4096);
    float *kv = veil_tee_alloc(t1, VEIL_REGION_KV, 8192);
    uint8_t *key = veil_tee_alloc(t1, VEIL_REGION_KEYS, 32);
    uint8_t *outside = malloc(5000);
    CHECK(act && kv && key && outside);
    CHECK(veil_tee_track(t1, VEIL_REGION_KV, outside, 5000) == 0);
    memset(act, 0xAA, 4096);
    memset(kv, 0xBB, 8192);
    memset(key, 0xCC, 32);
    memset(outside, 0xDD, 5000);
    CHECK(veil_stream_write(&c, act, 64) == 0); /* hidden state to the neighbour */
    float got[16];
    CHECK(veil_stream_read(&s, got, 64) == 0 && !memcmp(got, act, 64));
    CHECK(veil_tee_alloc(t1, VEIL_REGION_WEIGHTS, 1 << 21) == NULL &&
          strstr(veil_last_error(), "arena full"));

    /* step 5 over the attested TLS stream; not over plaintext */
    int sv[2];
    veil_stream plain;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    veil_stream_plain(sv[0], &plain);
    CHECK(veil_tee_result(t2, &plain) != 0);
    veil_stream_close(&plain);
    close(sv[1]);
    CHECK(veil_tee_result(t2, &s) == 0 && veil_tee_state(t2) == VEIL_TEE_RESULT);

    /* a neighbour with evidence from an untrusted authority is refused */
    veil_stream s3, c3;
    CHECK(tls_pair(ctx_evil, ctx_n1, &s3, &c3) == 0);
    veil_tee *tb;
    veil_tee_opts bo = {.arena_bytes = 4096, .attester = bad, .quiet = 1};
    CHECK(veil_tee_create(&bo, &tb) == 0);
    /* the impostor answers with its own (untrusted) evidence */
    tee_on bx = {tb, &s3};
    job ja = {do_attest, &bx, 0, ""};
    pthread_create(&th, NULL, job_thread, &ja);
    veil_claims pc;
    rc = veil_tee_link(t1, &c3, 1, &pol, &pc);
    pthread_join(th, NULL);
    CHECKF(rc == VEIL_EVERIFY, "impostor neighbour: %s", veil_last_error());
    fprintf(stderr, "  impostor neighbour -> %s\n", veil_last_error());
    veil_stream_close(&s3);
    veil_stream_close(&c3);
    veil_tee_destroy(tb);

    /* step 6: wipe, prove every region reads zero, then unmap */
    CHECK(veil_tee_used(t1, VEIL_REGION_KV) == 8192 + 5000);
    CHECK(veil_tee_wipe(t1) == 0);
    size_t nz = 0;
    for (int i = 0; i < 256; i++) nz += w1[i] != 0.0f;
    for (int i = 0; i < 1024; i++) nz += act[i] != 0.0f;
    for (int i = 0; i < 2048; i++) nz += kv[i] != 0.0f;
    for (int i = 0; i < 32; i++) nz += key[i] != 0;
    for (int i = 0; i < 5000; i++) nz += outside[i] != 0;
    CHECKF(nz == 0, "%zu values survived the wipe", nz);
    CHECK(veil_tee_destroy(t1) == 0);
    free(outside);
    CHECK(veil_tee_destroy(t2) == 0);
    veil_stream_close(&s);
    veil_stream_close(&c);
}

static void test_arena_and_schedule(void)
{
    veil_tee *t;
    veil_tee_opts o = {.arena_bytes = 10000, .quiet = 1, .no_mlock = 1};
    CHECK(veil_tee_create(&o, &t) == 0 && !veil_tee_locked(t));
    CHECK(veil_tee_alloc(t, VEIL_REGION_COUNT, 1) == NULL);
    CHECK(veil_tee_destroy(t) == 0);
    o.arena_bytes = 0;
    CHECK(veil_tee_create(&o, &t) == VEIL_ERANGE);

    veil_claims nodes[5] = {0};
    int types[5] = {VEIL_TEE_TYPE_CPU, VEIL_TEE_TYPE_GPU, VEIL_TEE_TYPE_NONE, VEIL_TEE_TYPE_CPU,
                    VEIL_TEE_TYPE_GPU};
    uint64_t caps[5] = {8, 4, 100, 16, 2};
    for (int i = 0; i < 5; i++) {
        nodes[i].backend = VEIL_TEE_BACKEND_SIM;
        nodes[i].tee_type = types[i];
        nodes[i].capacity_bytes = caps[i];
    }
    int order[5];
    CHECK(veil_tee_schedule_order(nodes, 5, order) == 4);
    CHECK(order[0] == 1 && order[1] == 4 && order[2] == 3 && order[3] == 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    for (int i = 0; i < 48; i++) M[i] = (uint8_t)(i * 5);
    snprintf(auth, sizeof auth, "%s/auth", dir);
    snprintf(auth_bad, sizeof auth_bad, "%s/auth-bad", dir);
    CHECK(veil_sim_authority_init(auth) == 0 && veil_sim_authority_init(auth_bad) == 0);
    const char *names[4] = {"orch", "n1", "n2", "evil"};
    veil_tls_ctx **ctxs[4] = {&ctx_orch, &ctx_n1, &ctx_n2, &ctx_evil};
    for (int i = 0; i < 4; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        CHECK(veil_tls_keygen(p, NULL) == 0 && veil_tls_ctx_new(p, NULL, ctxs[i]) == 0);
    }
    CHECK(veil_policy_sim(auth, &pol) == 0);
    pol.any_measurement = 0;
    memcpy(pol.meas[0], M, 48);
    pol.nmeas = 1;
    veil_attester *a1 = sim_attester(auth, VEIL_TEE_TYPE_GPU, 1 << 30);
    veil_attester *a2 = sim_attester(auth, VEIL_TEE_TYPE_CPU, 1 << 28);
    veil_attester *bad = sim_attester(auth_bad, VEIL_TEE_TYPE_GPU, 1 << 30);

    test_channel_attestation(a1);
    test_lifecycle(a1, a2, bad);
    test_arena_and_schedule();

    veil_attester_free(a1);
    veil_attester_free(a2);
    veil_attester_free(bad);
    for (int i = 0; i < 4; i++) veil_tls_ctx_free(*ctxs[i]);
    return test_done();
}
