/* Hostile and concurrent use of nodes: malformed, oversized, truncated and
 * out-of-order frames each get an ERROR and lose only their own connection;
 * shards whose SHA-256 does not match are refused (pushed or local); the
 * session limit holds; 8 concurrent clients on 3 nodes all get exact results. */
#include "net_util.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static veil_model *g_model;

static int dial(net_cluster *c, int i, veil_stream *s)
{
    return veil_dial(veil_transport_plain(), "127.0.0.1", veil_node_port(c->node[i]), 5000, s);
}

/* The next frame is an ERROR and then the node closes the connection. */
static int error_then_closed(veil_stream *s)
{
    veil_frame f;
    int ok = veil_frame_read(s, 1 << 20, &f) == 0 && f.h.type == VEIL_MSG_ERROR;
    veil_frame_free(&f);
    uint8_t b;
    return ok && veil_stream_read(s, &b, 1) == VEIL_ECLOSED;
}

static int send_raw(net_cluster *c, const void *bytes, size_t n, int half_close)
{
    veil_stream s;
    if (dial(c, 0, &s)) return 0;
    veil_stream_write(&s, bytes, n);
    if (half_close) shutdown(s.fd, SHUT_WR);
    int ok = error_then_closed(&s);
    veil_stream_close(&s);
    return ok;
}

static int hello(veil_stream *s)
{
    uint8_t b[VEIL_MSG_MAX_SMALL];
    veil_msg_hello h = {VEIL_ROLE_CLIENT, "tester"};
    veil_frame f;
    if (veil_frame_write(s, VEIL_MSG_HELLO, 0, b, veil_msg_hello_encode(&h, b)) ||
        veil_frame_read(s, 4096, &f))
        return 0;
    int ok = f.h.type == VEIL_MSG_CAPS;
    veil_frame_free(&f);
    return ok;
}

static void load_msg(const veil_model *m, int first, int last, veil_msg_load *l, float **w, size_t *nf)
{
    *nf = veil_layer_floats(&m->cfg) * (last - first);
    *w = malloc(*nf * sizeof(float));
    for (int i = first; i < last; i++)
        veil_layer_to_floats(&m->cfg, &m->layers[i], *w + veil_layer_floats(&m->cfg) * (i - first));
    *l = (veil_msg_load){0, m->cfg, first, last, {0}, {0}};
    memcpy(l->model_sha256, m->sha256, 32);
    veil_shard_hash(*w, *nf, l->shard_sha256);
}

/* LOAD (and push when asked); returns the reply frame type. */
static int load(veil_stream *s, const veil_msg_load *l, const float *w, size_t nf, int32_t *err)
{
    uint8_t b[VEIL_MSG_MAX_SMALL];
    veil_frame f;
    if (veil_frame_write(s, VEIL_MSG_LOAD, 0, b, veil_msg_load_encode(l, b)) || veil_frame_read(s, 4096, &f))
        return -1;
    int type = f.h.type;
    veil_frame_free(&f);
    if (type == VEIL_MSG_NEED) {
        uint8_t *p = malloc(8 + nf * 4);
        memset(p, 0, 8);
        memcpy(p + 8, w, nf * 4);
        if (veil_frame_write(s, VEIL_MSG_WEIGHTS, 0, p, 8 + nf * 4) || veil_frame_read(s, 4096, &f)) type = -1;
        else type = f.h.type;
        veil_msg_error e;
        if (type == VEIL_MSG_ERROR && !veil_msg_error_decode(f.payload, f.h.length, &e)) *err = e.code;
        if (type >= 0) veil_frame_free(&f);
        free(p);
    } else if (type == VEIL_MSG_ERROR)
        *err = VEIL_EVERIFY;
    return type;
}

static int ping_ok(veil_stream *s)
{
    uint8_t b[8];
    veil_frame f;
    if (veil_frame_write(s, VEIL_MSG_PING, 0, b, veil_msg_u64_encode(5, b)) || veil_frame_read(s, 4096, &f)) return 0;
    int ok = f.h.type == VEIL_MSG_PONG;
    veil_frame_free(&f);
    return ok;
}

static void test_malformed(net_cluster *c)
{
    uint8_t hdr[VEIL_FRAME_HDR];
    CHECK(send_raw(c, "GET / HTTP/1.1\r\n\r\n", 18, 0)); /* bad magic */
    veil_frame_hdr h = {VEIL_PROTO_VERSION, VEIL_MSG_HELLO, 1u << 30, 0};
    veil_frame_hdr_encode(&h, hdr);
    CHECK(send_raw(c, hdr, sizeof hdr, 0)); /* oversized */
    h.length = 100;
    veil_frame_hdr_encode(&h, hdr);
    uint8_t trunc[VEIL_FRAME_HDR + 10] = {0};
    memcpy(trunc, hdr, sizeof hdr);
    CHECK(send_raw(c, trunc, sizeof trunc, 1)); /* truncated, then EOF */
    h = (veil_frame_hdr){VEIL_PROTO_VERSION, VEIL_MSG_FORWARD, 0, 7};
    veil_frame_hdr_encode(&h, hdr);
    CHECK(send_raw(c, hdr, sizeof hdr, 0)); /* FORWARD before HELLO */
    hdr[3] = 200;
    CHECK(send_raw(c, hdr, sizeof hdr, 0)); /* unknown type */

    veil_stream s;
    CHECK(dial(c, 0, &s) == 0 && hello(&s)); /* WEIGHTS with no LOAD */
    uint8_t w[12] = {0};
    veil_frame_write(&s, VEIL_MSG_WEIGHTS, 0, w, sizeof w);
    CHECK(error_then_closed(&s));
    veil_stream_close(&s);

    /* out-of-order positions in a real session */
    CHECK(dial(c, 0, &s) == 0 && hello(&s));
    veil_msg_load l;
    float *wt;
    size_t nf;
    int32_t err = 0;
    load_msg(g_model, 0, 2, &l, &wt, &nf);
    CHECK(load(&s, &l, wt, nf, &err) == VEIL_MSG_LOADED);
    uint8_t b[VEIL_MSG_MAX_SMALL];
    veil_msg_open o = {1, 0, 0, 0, ""};
    veil_frame f;
    uint64_t sid = 0;
    CHECK(veil_frame_write(&s, VEIL_MSG_OPEN, 0, b, veil_msg_open_encode(&o, b)) == 0);
    CHECK(veil_frame_read(&s, 4096, &f) == 0 && f.h.type == VEIL_MSG_OPENED);
    sid = f.h.session;
    veil_frame_free(&f);
    int dim = g_model->cfg.dim;
    uint8_t *p = calloc(1, 8 + dim * 4);
    veil_msg_hidden_encode(0, 1, dim, (float[64]){0}, p);
    CHECK(veil_frame_write(&s, VEIL_MSG_FORWARD, sid, p, 8 + dim * 4) == 0);
    CHECK(veil_frame_read(&s, 1 << 20, &f) == 0 && f.h.type == VEIL_MSG_RESULT);
    veil_frame_free(&f);
    veil_msg_hidden_encode(5, 1, dim, (float[64]){0}, p); /* skips positions 1..4 */
    CHECK(veil_frame_write(&s, VEIL_MSG_FORWARD, sid, p, 8 + dim * 4) == 0);
    CHECK(error_then_closed(&s));
    veil_stream_close(&s);
    free(p);
    free(wt);
}

static void test_hash_refused(net_cluster *c, const char *models_dir)
{
    veil_stream s;
    veil_msg_load l;
    float *w;
    size_t nf;
    int32_t err = 0;
    load_msg(g_model, 2, 4, &l, &w, &nf);
    l.shard_sha256[0] ^= 1; /* claims other weights than those pushed */
    CHECK(dial(c, 0, &s) == 0 && hello(&s));
    CHECK(load(&s, &l, w, nf, &err) == VEIL_MSG_ERROR && err == VEIL_EVERIFY);
    CHECK(ping_ok(&s)); /* refused, but the connection stays */
    l.shard_sha256[0] ^= 1;
    float keep = w[3];
    w[3] += 1.0f; /* corrupted in transit */
    CHECK(load(&s, &l, w, nf, &err) == VEIL_MSG_ERROR && err == VEIL_EVERIFY);
    veil_stream_close(&s);
    /* a node with the checkpoint in --models refuses a hash it cannot match */
    net_cluster m;
    CHECK(net_start(&m, 1, NULL, models_dir) == 0);
    w[3] = keep;
    veil_shard_hash(w, nf, l.shard_sha256);
    l.flags = VEIL_LOAD_MAY_USE_LOCAL;
    CHECK(dial(&m, 0, &s) == 0 && hello(&s));
    CHECK(load(&s, &l, w, nf, &err) == VEIL_MSG_LOADED); /* from its own copy */
    l.shard_sha256[5] ^= 0x40;
    l.first = 1; /* a range it has not been asked for yet */
    CHECK(load(&s, &l, w, nf, &err) == VEIL_MSG_ERROR);
    veil_stream_close(&s);
    net_stop(&m);
    free(w);
}

/* ---- concurrency ------------------------------------------------------------- */

typedef struct {
    net_cluster *c;
    int id, ok;
} worker;

static void *client_main(void *arg)
{
    worker *wk = arg;
    const veil_model *m = g_model;
    veil_orch_opts po = net_opts(wk->c, 3);
    veil_orch *o;
    if (veil_orch_new(m, &po, &o)) {
        fprintf(stderr, "client %d: %s\n", wk->id, veil_last_error());
        return NULL;
    }
    veil_backend b = veil_orch_backend(o);
    int dim = m->cfg.dim, T = 12;
    float *a = malloc(sizeof(float) * dim * T), *r = malloc(sizeof(float) * dim * T);
    uint64_t st = 1000 + wk->id; /* every client its own inputs */
    for (int i = 0; i < dim * T; i++) a[i] = r[i] = veil_random_f32(&st) * 2 - 1;
    veil_shard *s;
    veil_model_shard(m, 0, m->cfg.n_layers, 0, &s);
    int ok = veil_shard_forward_batch(s, 0, 4, a) == 0 && b.forward(b.ctx, 0, 4, r) == 0;
    for (int p = 4; ok && p < T; p++)
        ok = veil_shard_forward(s, p, a + p * dim) == 0 && b.forward(b.ctx, p, 1, r + p * dim) == 0;
    wk->ok = ok && memcmp(a, r, sizeof(float) * dim * T) == 0;
    veil_shard_free(s);
    free(a);
    free(r);
    veil_orch_free(o);
    return NULL;
}

static void test_concurrent(net_cluster *c)
{
    pthread_t th[8];
    worker wk[8];
    for (int i = 0; i < 8; i++) {
        wk[i] = (worker){c, i, 0};
        pthread_create(&th[i], NULL, client_main, &wk[i]);
    }
    int good = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        good += wk[i].ok;
    }
    CHECKF(good == 8, "%d of 8 concurrent clients got exact results", good);
    veil_msg_stats st;
    /* the node closes sessions as their CLOSE frames arrive: allow it a moment */
    for (int tries = 0; tries < 300; tries++) {
        veil_node_stats(c->node[1], &st);
        if (st.sessions == 0) break;
        usleep(10000);
    }
    CHECK(st.tokens >= 8 * 12 && st.sessions == 0);
}

static void test_session_limit(void)
{
    net_cluster c;
    signal(SIGPIPE, SIG_IGN);
    veil_node_opts no = {.max_sessions = 2, .quiet = 1};
    CHECK(veil_node_start(&no, &c.node[0]) == 0);
    c.n = 1;
    snprintf(c.addr[0], sizeof c.addr[0], "127.0.0.1:%d", veil_node_port(c.node[0]));
    c.addrs[0] = c.addr[0];
    veil_orch_opts po = net_opts(&c, 1);
    veil_orch *a, *b, *d;
    CHECK(veil_orch_new(g_model, &po, &a) == 0);
    CHECK(veil_orch_new(g_model, &po, &b) == 0);
    CHECK(veil_orch_new(g_model, &po, &d) != 0 && strstr(veil_last_error(), "busy"));
    veil_orch_free(a);
    CHECK(veil_orch_new(g_model, &po, &d) == 0); /* a freed slot is reusable */
    veil_orch_free(b);
    veil_orch_free(d);
    net_stop(&c);
    /* memory budget: room for the weights but not for a KV cache */
    no = (veil_node_opts){.quiet = 1};
    no.max_memory_bytes = veil_layer_floats(&g_model->cfg) * g_model->cfg.n_layers * sizeof(float) + 16;
    CHECK(veil_node_start(&no, &c.node[0]) == 0);
    c.n = 1;
    snprintf(c.addr[0], sizeof c.addr[0], "127.0.0.1:%d", veil_node_port(c.node[0]));
    CHECK(veil_orch_new(g_model, &po, &d) != 0 && strstr(veil_last_error(), "memory budget"));
    no.max_memory_bytes = 16; /* not even the weights */
    veil_node_stop(c.node[0]);
    CHECK(veil_node_start(&no, &c.node[0]) == 0);
    snprintf(c.addr[0], sizeof c.addr[0], "127.0.0.1:%d", veil_node_port(c.node[0]));
    CHECK(veil_orch_new(g_model, &po, &d) != 0 && strstr(veil_last_error(), "budget"));
    net_stop(&c);
}

/* A connection that goes quiet is closed after the idle timeout; a limit
 * below the frame header size is refused at once. */
static void test_idle(void)
{
    net_cluster c = {0};
    veil_node_opts no = {.idle_timeout_ms = 300, .max_frame = 8192, .quiet = 1};
    CHECK(veil_node_start(&no, &c.node[0]) == 0);
    c.n = 1;
    veil_stream s;
    CHECK(dial(&c, 0, &s) == 0 && hello(&s));
    double t0 = veil_now();
    uint8_t b;
    CHECK(veil_stream_read(&s, &b, 1) == VEIL_ECLOSED); /* closed by the node, no frame */
    double dt = veil_now() - t0;
    CHECKF(dt > 0.25 && dt < 3, "idle close after %.2f s", dt);
    veil_stream_close(&s);
    /* a FORWARD above --max-frame: ERROR and close */
    CHECK(dial(&c, 0, &s) == 0 && hello(&s));
    veil_frame_hdr h = {VEIL_PROTO_VERSION, VEIL_MSG_FORWARD, 8193, 1};
    uint8_t hdr[VEIL_FRAME_HDR];
    veil_frame_hdr_encode(&h, hdr);
    veil_stream_write(&s, hdr, sizeof hdr);
    CHECK(error_then_closed(&s));
    veil_stream_close(&s);
    net_stop(&c);
}

int main(void)
{
    g_model = net_synth(16, 32, 6, 2, 1, 40, 24, 11);
    if (!g_model) return test_skip("cannot build the synthetic model");
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/models", test_tmpdir());
    mkdir(dir, 0700);
    char path[4300];
    snprintf(path, sizeof path, "%s/syn.bin", dir);
    veil_config cfg = g_model->cfg;
    CHECK(veil_synth_model(&cfg, 11, path) == 0); /* the same weights, as a file */
    veil_model *fm;
    CHECK(veil_model_open(path, &fm) == 0);
    memcpy(g_model->sha256, fm->sha256, 32); /* name the checkpoint by its file hash */
    veil_model_close(fm);

    net_cluster c;
    CHECK(net_start(&c, 3, NULL, NULL) == 0);
    test_malformed(&c);
    test_hash_refused(&c, dir);
    test_concurrent(&c);
    test_session_limit();
    test_idle();
    net_stop(&c);
    veil_model_close(g_model);
    return test_done();
}
