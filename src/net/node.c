/* The node daemon: accept loop, one thread per connection, shard registry
 * and sessions. Locking: node->lock guards the lists and every refcount;
 * a session's own lock serialises its forwards; a connection's wlock
 * serialises frames written to it from several threads (its own reader and
 * the threads that deliver RESULTs of sessions it owns). */
#include "veil/critical.h"
#include "veil/fingerprint.h"
#include "node_audit.h"
#include "veil/node.h"
#include "veil/tee.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>

#include "prove_pool.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define HELD_MAX 64 /* shard handles one connection may hold */

typedef struct shard_rec {
    struct shard_rec *next;
    uint32_t handle;
    int refs;
    veil_config cfg;
    int first, last;
    uint8_t sha[32];
    float *w;
    size_t n; /* floats */
    veil_layer *layers;
} shard_rec;

typedef struct local_model {
    struct local_model *next;
    veil_model *m;
    char path[512];
} local_model;

struct veil_node;

#define UPLOADS_MAX 16

typedef struct conn {
    struct conn *next;
    struct veil_node *node;
    veil_stream s;
    pthread_mutex_t wlock;
    int refs, role, greeted;
    int zk_sent; /* ZK_FORWARD: a reply frame already went out */
    veil_crit_upload *upl[UPLOADS_MAX]; /* ZK_LOAD: transformed shards of this client */
    int n_upl;
    int64_t last_rx; /* ms, atomic: read by the reaper */
    char peer[64];
    uint32_t held[HELD_MAX];
    int n_held;
    /* a push in progress (LOAD answered with NEED) */
    veil_msg_load pending;
    float *pw;
    size_t pw_bytes, pw_got;
} conn;

typedef struct session {
    struct session *next;
    uint64_t id;
    int refs, closed;
    conn *owner;
    shard_rec *rec;
    veil_shard *sh;
    veil_adv_shard *adv; /* --adversary: runs instead of sh */
    node_audit *audit;   /* AUDIT: layer history for disputes (node_audit.c) */
    size_t audit_reserved;
    pthread_mutex_t lock;
    int next_pos, max_seq, max_T;
    size_t kv_reserved; /* bytes of the memory budget this session holds */
    int has_next;
    veil_stream out;
    uint64_t next_sid;
    int64_t last_used; /* ms, atomic */
} session;

struct veil_node {
    veil_node_opts o;
    char name[VEIL_PROTO_STR_MAX + 1];
    int lfd, port;
    int stop; /* atomic */
    pthread_t accept_th;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int n_threads, n_conns, n_sessions;
    uint32_t next_handle;
    size_t weight_bytes, kv_bytes; /* held against o.max_memory_bytes */
    conn *conns;
    session *sessions;
    shard_rec *shards;
    local_model *models;
    struct prove_pool *pool; /* deferred ZK proofs (prove_pool.h) */
    veil_msg_stats st;
};

/* ---- logging and small helpers ------------------------------------------ */

static void nlog(veil_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void nlog(veil_node *n, const char *fmt, ...)
{
    if (n->o.quiet) return;
    char line[768];
    int k = snprintf(line, sizeof line, "veil node %s: ", n->name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line); /* one write per line: threads do not interleave */
}

static void stamp(int64_t *t) { __atomic_store_n(t, (int64_t)(veil_now() * 1000), __ATOMIC_RELAXED); }
static int stopping(veil_node *n) { return __atomic_load_n(&n->stop, __ATOMIC_RELAXED); }

static void stat_add(veil_node *n, uint64_t *field, uint64_t v)
{
    __atomic_fetch_add(field, v, __ATOMIC_RELAXED);
    (void)n;
}

static int send_frame(conn *c, int type, uint64_t sid, const void *p, size_t len)
{
    pthread_mutex_lock(&c->wlock);
    int rc = veil_frame_write(&c->s, type, sid, p, len);
    pthread_mutex_unlock(&c->wlock);
    if (!rc) stat_add(c->node, &c->node->st.bytes_out, VEIL_FRAME_HDR + len);
    return rc;
}

static void send_error(conn *c, uint64_t sid, int code, const char *msg)
{
    veil_msg_error e = {code, ""};
    snprintf(e.message, sizeof e.message, "%s", msg);
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    send_frame(c, VEIL_MSG_ERROR, sid, buf, veil_msg_error_encode(&e, buf));
}

/* ---- refcounted objects (node->lock held by callers of *_put_locked) ----- */

static void conn_put_locked(conn *c)
{
    if (--c->refs) return;
    veil_node *n = c->node;
    for (conn **pp = &n->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    n->n_conns--;
    for (int i = 0; i < c->n_upl; i++) {
        n->weight_bytes -= veil_crit_upload_bytes(c->upl[i]);
        veil_crit_upload_free(c->upl[i]);
    }
    veil_stream_close(&c->s);
    pthread_mutex_destroy(&c->wlock);
    free(c->pw);
    free(c);
}

static void shard_put_locked(veil_node *n, shard_rec *r)
{
    if (--r->refs) return;
    for (shard_rec **pp = &n->shards; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    n->weight_bytes -= r->n * sizeof(float);
    if (n->o.tee) veil_tee_untrack(n->o.tee, r->w);
    veil_wipe(r->w, r->n * sizeof(float)); /* may be SVE-transformed secret weights */
    free(r->w);
    free(r->layers);
    free(r);
}

static void session_put_locked(veil_node *n, session *s)
{
    if (--s->refs) return;
    if (n->o.tee && s->sh) {
        float *keys, *values;
        veil_shard_kv_buffers(s->sh, &keys, &values);
        veil_tee_untrack(n->o.tee, keys);
        veil_tee_untrack(n->o.tee, values);
    }
    veil_shard_free(s->sh);
    veil_adv_free(s->adv);
    node_audit_free(s->audit);
    n->kv_bytes -= s->kv_reserved + s->audit_reserved;
    if (s->has_next) veil_stream_close(&s->out);
    pthread_mutex_destroy(&s->lock);
    shard_put_locked(n, s->rec);
    conn_put_locked(s->owner);
    free(s);
}

/* Unlink a session from the table (its memory goes with the last ref). */
static void session_close_locked(veil_node *n, session *s, const char *why)
{
    for (session **pp = &n->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            n->n_sessions--;
            __atomic_store_n(&s->closed, 1, __ATOMIC_RELAXED);
            nlog(n, "session %016llx closed (%s)", (unsigned long long)s->id, why);
            session_put_locked(n, s);
            return;
        }
}

static session *session_get(veil_node *n, uint64_t id)
{
    pthread_mutex_lock(&n->lock);
    session *s = n->sessions;
    while (s && s->id != id) s = s->next;
    if (s) s->refs++;
    pthread_mutex_unlock(&n->lock);
    return s;
}

static void session_put(veil_node *n, session *s)
{
    pthread_mutex_lock(&n->lock);
    session_put_locked(n, s);
    pthread_mutex_unlock(&n->lock);
}

/* ---- shard provisioning ---------------------------------------------------- */

static shard_rec *find_shard_locked(veil_node *n, const veil_msg_load *l)
{
    for (shard_rec *r = n->shards; r; r = r->next)
        if (r->first == l->first && r->last == l->last &&
            memcmp(&r->cfg, &l->cfg, sizeof r->cfg) == 0 && veil_ct_equal(r->sha, l->shard_sha256, 32))
            return r;
    return NULL;
}

/* Register verified weights (or reuse an identical shard already held) and
 * give the connection a handle on it. Takes ownership of w. */
static int hold_shard(conn *c, const veil_msg_load *l, float *w, size_t nf, uint32_t *handle)
{
    veil_node *n = c->node;
    if (c->n_held >= HELD_MAX) {
        free(w);
        return veil_fail(VEIL_ERANGE, "connection holds %d shards already", HELD_MAX);
    }
    pthread_mutex_lock(&n->lock);
    shard_rec *r = find_shard_locked(n, l);
    if (r) {
        r->refs++;
        free(w);
    } else if (!w) {
        pthread_mutex_unlock(&n->lock);
        return veil_fail(VEIL_EINVAL, "shard was released while being shared; load it again");
    } else {
        r = calloc(1, sizeof *r);
        int nl = l->last - l->first;
        veil_layer *ls = r ? malloc(sizeof *ls * (size_t)nl) : NULL;
        if (!ls) {
            pthread_mutex_unlock(&n->lock);
            free(r);
            free(w);
            return veil_fail(VEIL_ENOMEM, "out of memory");
        }
        size_t per = veil_layer_floats(&l->cfg);
        for (int i = 0; i < nl; i++) veil_layer_from_floats(&l->cfg, w + per * (size_t)i, &ls[i]);
        *r = (shard_rec){n->shards, n->next_handle++, 1, l->cfg, l->first, l->last, {0}, w, nf, ls};
        memcpy(r->sha, l->shard_sha256, 32);
        n->shards = r;
        n->weight_bytes += nf * sizeof(float);
        /* TEE step 6 wipes what is still held (on a full table, freeing wipes) */
        if (n->o.tee) (void)veil_tee_track(n->o.tee, VEIL_REGION_WEIGHTS, w, nf * sizeof(float));
    }
    c->held[c->n_held++] = r->handle;
    *handle = r->handle;
    pthread_mutex_unlock(&n->lock);
    return 0;
}

static size_t shard_floats(const veil_msg_load *l)
{
    return veil_layer_floats(&l->cfg) * (size_t)(l->last - l->first);
}

/* Copy the requested layers out of a checkpoint in --models; 1 = not held. */
static int load_local(veil_node *n, const veil_msg_load *l, float **out)
{
    local_model *lm = n->models;
    while (lm && memcmp(lm->m->sha256, l->model_sha256, 32)) lm = lm->next;
    if (!lm) return 1;
    if (memcmp(&lm->m->cfg, &l->cfg, sizeof l->cfg))
        return veil_fail(VEIL_EVERIFY, "shape in LOAD differs from local checkpoint %s", lm->path);
    size_t per = veil_layer_floats(&l->cfg), nf = shard_floats(l);
    float *w = malloc(nf * sizeof(float));
    if (!w) return veil_fail(VEIL_ENOMEM, "out of memory for shard");
    for (int i = l->first; i < l->last; i++)
        veil_layer_to_floats(&l->cfg, &lm->m->layers[i], w + per * (size_t)(i - l->first));
    uint8_t h[32];
    veil_shard_hash(w, nf, h);
    if (!veil_ct_equal(h, l->shard_sha256, 32)) {
        free(w);
        return veil_fail(VEIL_EVERIFY, "layers %d..%d of %s do not match the requested shard hash",
                         l->first, l->last - 1, lm->path);
    }
    *out = w;
    return 0;
}

static int reply_loaded(conn *c, uint32_t handle, int source)
{
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    veil_msg_loaded m = {handle, (uint8_t)source};
    const veil_msg_load *l = &c->pending;
    nlog(c->node, "shard %u: layers %d..%d %s for %s", handle, l->first, l->last - 1,
         source ? "loaded from --models" : "received and verified", c->peer);
    if (c->node->o.tee) { /* TEE step 3: only over a channel this TEE attested on */
        char what[64];
        snprintf(what, sizeof what, "shard layers %d..%d", l->first, l->last - 1);
        int rc = veil_tee_provision(c->node->o.tee, &c->s, what);
        if (rc) return rc;
    }
    return send_frame(c, VEIL_MSG_LOADED, 0, buf, veil_msg_loaded_encode(&m, buf));
}

static int on_load(conn *c, const veil_frame *f)
{
    veil_node *n = c->node;
    veil_msg_load *l = &c->pending;
    if (c->pw) return veil_fail(VEIL_EPROTO, "LOAD while a weight push is in progress");
    int rc = veil_msg_load_decode(f->payload, f->h.length, l);
    if (rc) return rc;
    uint32_t handle;
    pthread_mutex_lock(&n->lock);
    shard_rec *r = find_shard_locked(n, l);
    pthread_mutex_unlock(&n->lock);
    if (r) { /* identical weights already verified here */
        if ((rc = hold_shard(c, l, NULL, 0, &handle))) return rc;
        return reply_loaded(c, handle, 0);
    }
    float *w = NULL;
    if (l->flags & VEIL_LOAD_MAY_USE_LOCAL) {
        rc = load_local(n, l, &w);
        if (rc < 0) { /* a refusal, not a protocol violation: keep the connection */
            nlog(n, "refused shard for %s: %s", c->peer, veil_last_error());
            send_error(c, 0, rc, veil_last_error());
            return 1;
        }
        if (rc == 0) {
            if ((rc = hold_shard(c, l, w, shard_floats(l), &handle))) return rc;
            return reply_loaded(c, handle, 1);
        }
    }
    size_t bytes = shard_floats(l) * sizeof(float);
    pthread_mutex_lock(&n->lock);
    int over = n->weight_bytes + n->kv_bytes + bytes > n->o.max_memory_bytes;
    pthread_mutex_unlock(&n->lock);
    if (over || !(c->pw = malloc(bytes))) { /* a refusal: the connection stays */
        char msg[128];
        snprintf(msg, sizeof msg, "shard of %zu bytes %s", bytes,
                 over ? "exceeds the node's weight budget" : "does not fit in memory");
        nlog(n, "refused shard for %s: %s", c->peer, msg);
        send_error(c, 0, VEIL_ERANGE, msg);
        return 1;
    }
    c->pw_bytes = bytes;
    c->pw_got = 0;
    uint8_t buf[8];
    return send_frame(c, VEIL_MSG_NEED, 0, buf, veil_msg_u64_encode(bytes, buf));
}

static void drop_push(conn *c)
{
    free(c->pw);
    c->pw = NULL;
}

/* Returns 1 for "refused, keep the connection" (hash mismatch). */
static int on_weights(conn *c, const veil_frame *f)
{
    uint64_t off;
    const uint8_t *d;
    size_t len;
    if (!c->pw) return veil_fail(VEIL_EPROTO, "WEIGHTS without a LOAD asking for them");
    int rc = veil_msg_weights_decode(f->payload, f->h.length, &off, &d, &len);
    if (rc) return rc;
    if (off != c->pw_got || len > c->pw_bytes - c->pw_got)
        return veil_fail(VEIL_EPROTO, "WEIGHTS chunk at %llu+%zu, expected offset %zu of %zu",
                         (unsigned long long)off, len, c->pw_got, c->pw_bytes);
    memcpy((uint8_t *)c->pw + off, d, len);
    c->pw_got += len;
    if (c->pw_got < c->pw_bytes) return 0;
    uint8_t h[32];
    size_t nf = c->pw_bytes / sizeof(float);
    veil_shard_hash(c->pw, nf, h);
    if (!veil_ct_equal(h, c->pending.shard_sha256, 32)) {
        drop_push(c);
        nlog(c->node, "refused shard from %s: SHA-256 mismatch", c->peer);
        send_error(c, 0, VEIL_EVERIFY, "shard weights do not match their SHA-256: refused");
        return 1;
    }
    float *w = c->pw;
    c->pw = NULL;
    uint32_t handle;
    if ((rc = hold_shard(c, &c->pending, w, nf, &handle))) return rc;
    return reply_loaded(c, handle, 0);
}

/* ---- sessions -------------------------------------------------------------- */

static shard_rec *held_shard_locked(conn *c, uint32_t handle)
{
    for (int i = 0; i < c->n_held; i++)
        if (c->held[i] == handle)
            for (shard_rec *r = c->node->shards; r; r = r->next)
                if (r->handle == handle) return r;
    return NULL;
}

/* Connect to the next node of the chain and introduce ourselves as a peer. */
static int dial_next(veil_node *n, const veil_msg_open *m, veil_stream *out)
{
    int rc = veil_dial(n->o.transport, m->host, m->port, 10000, out);
    if (rc) return rc;
    veil_msg_hello h = {VEIL_ROLE_PEER, ""};
    snprintf(h.name, sizeof h.name, "%s", n->name);
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    veil_frame f;
    veil_msg_caps caps;
    if (!(rc = veil_frame_write(out, VEIL_MSG_HELLO, 0, buf, veil_msg_hello_encode(&h, buf))) &&
        !(rc = veil_frame_read(out, VEIL_MSG_MAX_SMALL, &f))) {
        rc = f.h.type == VEIL_MSG_CAPS ? veil_msg_caps_decode(f.payload, f.h.length, &caps)
                                       : veil_fail(VEIL_EPROTO, "next hop answered %s", veil_msg_name(f.h.type));
        veil_frame_free(&f);
    }
    if (rc) veil_stream_close(out);
    return rc;
}

static int session_setup(conn *c, const veil_msg_open *m, session *s)
{
    veil_node *n = c->node;
    const veil_config *cfg = &s->rec->cfg;
    s->max_seq = m->max_seq && (int)m->max_seq < cfg->seq_len ? (int)m->max_seq : cfg->seq_len;
    size_t row = (size_t)cfg->dim * 4;
    s->max_T = (int)((n->o.max_frame - 8) / row);
    if (s->max_T > s->max_seq) s->max_T = s->max_seq;
    if (s->max_T < 1) return veil_fail(VEIL_ERANGE, "frame limit too small for one hidden state");
    /* the KV cache counts against the memory budget before it is allocated */
    size_t kv = 2 * (size_t)(s->rec->last - s->rec->first) * (size_t)s->max_seq * (size_t)veil_kv_dim(cfg) * 4;
    pthread_mutex_lock(&n->lock);
    int over = n->weight_bytes + n->kv_bytes + kv > n->o.max_memory_bytes;
    if (!over) n->kv_bytes += s->kv_reserved = kv;
    pthread_mutex_unlock(&n->lock);
    if (over) return veil_fail(VEIL_ERANGE, "KV cache of %zu bytes exceeds the node's memory budget", kv);
    int rc;
    if (n->o.adversary) { /* tests and demos of verification: misbehaves on purpose */
        uint64_t seed;
        RAND_bytes((uint8_t *)&seed, sizeof seed);
        rc = veil_adv_new(cfg, s->rec->first, s->rec->last, s->rec->layers, s->max_seq, n->o.adversary, seed, &s->adv);
        if (!rc) nlog(n, "%s", veil_adv_banner(s->adv));
    } else
        rc = veil_shard_new(cfg, s->rec->first, s->rec->last, s->rec->layers, s->max_seq, &s->sh);
    if (rc) return rc;
    if (n->o.tee && s->sh) { /* the KV cache holds user data: lock it, account for its erasure */
        float *keys, *values;
        veil_shard_kv_buffers(s->sh, &keys, &values);
        (void)veil_tee_track(n->o.tee, VEIL_REGION_KV, keys, kv / 2);
        (void)veil_tee_track(n->o.tee, VEIL_REGION_KV, values, kv / 2);
    }
    if (m->host[0]) {
        if ((rc = dial_next(n, m, &s->out))) return rc;
        s->has_next = 1;
        s->next_sid = m->next_session;
    }
    do RAND_bytes((uint8_t *)&s->id, sizeof s->id);
    while (s->id == 0);
    return 0;
}

static int on_open(conn *c, const veil_frame *f)
{
    veil_node *n = c->node;
    veil_msg_open m;
    int rc = veil_msg_open_decode(f->payload, f->h.length, &m);
    if (rc) return rc;
    session *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory");
    pthread_mutex_lock(&n->lock);
    shard_rec *r = held_shard_locked(c, m.handle);
    if (!r || n->n_sessions >= n->o.max_sessions) {
        pthread_mutex_unlock(&n->lock);
        free(s);
        if (!r) return veil_fail(VEIL_EPROTO, "OPEN of shard handle %u not loaded here", m.handle);
        send_error(c, 0, VEIL_ERANGE, "node busy: session limit reached");
        nlog(n, "refused session for %s: %d sessions open", c->peer, n->o.max_sessions);
        return 1;
    }
    r->refs++;
    c->refs++;
    n->n_sessions++; /* reserved; released by session_put on failure */
    pthread_mutex_unlock(&n->lock);
    *s = (session){.refs = 1, .owner = c, .rec = r};
    stamp(&s->last_used);
    pthread_mutex_init(&s->lock, NULL);
    rc = session_setup(c, &m, s);
    pthread_mutex_lock(&n->lock);
    if (rc) {
        n->n_sessions--;
        session_put_locked(n, s);
    } else {
        s->next = n->sessions;
        n->sessions = s;
    }
    pthread_mutex_unlock(&n->lock);
    if (rc) {
        nlog(n, "session refused for %s: %s", c->peer, veil_last_error());
        send_error(c, 0, rc, veil_last_error());
        return 1;
    }
    nlog(n, "session %016llx opened: layers %d..%d, next %s%s%.0d", (unsigned long long)s->id,
         r->first, r->last - 1, m.host[0] ? m.host : "client", m.host[0] ? ":" : "", m.host[0] ? m.port : 0);
    return send_frame(c, VEIL_MSG_OPENED, s->id, NULL, 0);
}

/* RELEASE: the connection gives up one hold on a shard; sessions still
 * running on it keep their own references. */
static int on_release(conn *c, const veil_frame *f)
{
    veil_node *n = c->node;
    uint32_t handle;
    int rc = veil_msg_u32_decode(f->payload, f->h.length, &handle);
    if (rc) return rc;
    pthread_mutex_lock(&n->lock);
    shard_rec *r = held_shard_locked(c, handle);
    if (r) {
        for (int i = 0; i < c->n_held; i++)
            if (c->held[i] == handle) {
                c->held[i] = c->held[--c->n_held];
                break;
            }
        shard_put_locked(n, r);
    }
    pthread_mutex_unlock(&n->lock);
    if (!r) return veil_fail(VEIL_EPROTO, "RELEASE of shard handle %u not held", handle);
    nlog(n, "shard %u released by %s", handle, c->peer);
    return 0;
}

static int on_close(conn *c, const veil_frame *f)
{
    veil_node *n = c->node;
    if (f->h.length) return veil_fail(VEIL_EPROTO, "CLOSE with a payload");
    pthread_mutex_lock(&n->lock);
    session *s = n->sessions;
    while (s && s->id != f->h.session) s = s->next;
    if (s && s->owner == c) session_close_locked(n, s, "client closed it");
    pthread_mutex_unlock(&n->lock);
    return 0;
}

/* FP_FORWARD at the end of a chain: a consensus replica answers with the
 * 168-byte fingerprint of its output block instead of the rows
 * (docs/PROTOCOL.md, FP_RESULT). */
static int send_fp_result(session *s, int pos, int T, const float *x)
{
    veil_fp fp;
    uint8_t buf[VEIL_FP_HEADER + 4 * VEIL_FP_MAX_K];
    int rc = veil_fp_compute(x, T, s->rec->cfg.dim, VEIL_FP_DEFAULT_K, s->rec->last - 1, (uint32_t)pos, &fp);
    if (rc) return rc;
    rc = veil_fp_encode(&fp, buf, sizeof buf);
    if (rc < 0) return rc;
    rc = send_frame(s->owner, VEIL_MSG_FP_RESULT, s->id, buf, (size_t)rc);
    return rc ? 1 : 0;
}

/* Run the shard on the states in place in the payload and pass the same
 * buffer on. Returns 1 for a reported, non-fatal error. */
static int session_forward(conn *c, session *s, veil_frame *f)
{
    veil_node *n = c->node;
    int pos, T, dim = s->rec->cfg.dim;
    float *x;
    int rc = veil_msg_hidden_view(f->payload, f->h.length, dim, s->max_seq, s->max_T, &pos, &T, &x);
    if (rc) return rc;
    if (pos > s->next_pos)
        return veil_fail(VEIL_EPROTO, "FORWARD at position %d before position %d was seen", pos, s->next_pos);
    double t0 = veil_now();
    if (s->audit) node_audit_input(s->audit, pos, T, x);
    rc = s->adv ? veil_adv_forward(s->adv, pos, T, x) : veil_shard_forward_batch(s->sh, pos, T, x);
    if (rc) return rc;
    if (s->audit) node_audit_done(s->audit, pos, T);
    stat_add(n, &n->st.compute_ns, (uint64_t)((veil_now() - t0) * 1e9));
    stat_add(n, &n->st.tokens, (uint64_t)T);
    s->next_pos = pos + T;
    stamp(&s->last_used);
    if (!s->has_next) {
        /* TEE step 5, checked and logged once per session (TLS only) */
        if (n->o.tee && pos == 0 && (rc = veil_tee_result(n->o.tee, &s->owner->s))) return rc;
        if (f->h.type == VEIL_MSG_FP_FORWARD) return send_fp_result(s, pos, T, x);
        rc = send_frame(s->owner, VEIL_MSG_RESULT, s->id, f->payload, f->h.length);
        return rc ? 1 : 0; /* client gone: its reader cleans up */
    }
    /* FP_FORWARD stays FP_FORWARD down the chain: its last hop answers */
    rc = veil_frame_write(&s->out, f->h.type, s->next_sid, f->payload, f->h.length);
    if (!rc) {
        stat_add(n, &n->st.bytes_out, VEIL_FRAME_HDR + f->h.length);
        return 0;
    }
    char msg[VEIL_PROTO_STR_MAX + 1];
    snprintf(msg, sizeof msg, "next hop failed: %s", veil_last_error());
    nlog(n, "session %016llx: %s", (unsigned long long)s->id, msg);
    send_error(s->owner, s->id, rc, msg);
    return 1;
}

/* AUDIT: from now on the session keeps its layer history (counted against
 * the memory budget) for LAYER_REQ. Replies only to refuse. */
static int session_audit(veil_node *n, session *s)
{
    if (s->audit) return 0;
    size_t need = node_audit_bytes(s->rec->first, s->rec->last, s->rec->cfg.dim, s->max_seq);
    pthread_mutex_lock(&n->lock);
    int over = n->weight_bytes + n->kv_bytes + need > n->o.max_memory_bytes;
    if (!over) n->kv_bytes += s->audit_reserved = need;
    pthread_mutex_unlock(&n->lock);
    if (over) return veil_fail(VEIL_ERANGE, "audit history of %zu bytes exceeds the node's memory budget", need);
    int rc = node_audit_new(s->rec->first, s->rec->last, s->rec->cfg.dim, s->max_seq, &s->audit);
    if (rc) return rc;
    if (s->adv) veil_adv_set_hook(s->adv, node_audit_hook, s->audit);
    else veil_shard_set_hook(s->sh, node_audit_hook, s->audit);
    return 0;
}

static int session_layer(conn *c, session *s, const veil_frame *f)
{
    node_audit_req r;
    int type, rc = s->audit ? node_audit_req_decode(f->payload, f->h.length, &r)
                            : veil_fail(VEIL_EINVAL, "LAYER_REQ on a session without AUDIT");
    uint8_t *pay = NULL;
    size_t len = 0;
    if (!rc) rc = node_audit_answer(s->audit, &r, s->max_T, &type, &pay, &len);
    if (!rc) rc = send_frame(c, type, s->id, pay, len) ? 1 : 0;
    free(pay);
    return rc;
}

/* AUDIT and LAYER_REQ of the client that owns the session: a refusal is an
 * ERROR about that session; the connection stays. */
static int on_audit(conn *c, const veil_frame *f)
{
    session *s = session_get(c->node, f->h.session);
    int rc = s && s->owner == c ? 0 : veil_fail(VEIL_EINVAL, "no such session");
    if (s) pthread_mutex_lock(&s->lock);
    if (!rc && f->h.type == VEIL_MSG_AUDIT)
        rc = f->h.length ? veil_fail(VEIL_EPROTO, "AUDIT with a payload") : session_audit(c->node, s);
    else if (!rc)
        rc = session_layer(c, s, f);
    if (s) {
        pthread_mutex_unlock(&s->lock);
        session_put(c->node, s);
    }
    if (rc < 0) {
        send_error(c, f->h.session, rc, veil_last_error());
        return 1;
    }
    return rc;
}

static int on_forward(conn *c, veil_frame *f)
{
    session *s = session_get(c->node, f->h.session);
    if (!s) {
        send_error(c, f->h.session, VEIL_EINVAL, "no such session");
        return 1;
    }
    pthread_mutex_lock(&s->lock);
    int rc = __atomic_load_n(&s->closed, __ATOMIC_RELAXED) ? 1 : session_forward(c, s, f);
    pthread_mutex_unlock(&s->lock);
    session_put(c->node, s);
    return rc;
}

/* ---- critical inference (veil/critical.h) --------------------------------- */

static int zk_send(void *ctx, int type, const void *p, size_t len)
{
    conn *c = ctx;
    int rc = send_frame(c, type, 0, p, len);
    return rc ? rc : (c->zk_sent = 1, 0);
}

/* A proof queued on the pool: it holds a reference to its connection. */
typedef struct {
    conn *c;
    veil_crit_job *job;
    double queued;
} zk_task;

static int zk_send_async(void *ctx, int type, const void *p, size_t len) { return send_frame(ctx, type, 0, p, len); }

static void zk_task_run(void *arg)
{
    zk_task *t = arg;
    veil_node *n = t->c->node;
    double t0 = veil_now();
    size_t len = 0;
    if (stopping(n)) veil_crit_job_free(t->job);
    else if (veil_crit_job_run(t->job, zk_send_async, t->c, &len)) {
        nlog(n, "ZK proof for %s failed: %s", t->c->peer, veil_last_error());
        send_error(t->c, 0, VEIL_EINVAL, veil_last_error());
    } else {
        stat_add(n, &n->st.compute_ns, (uint64_t)((veil_now() - t0) * 1e9));
        nlog(n, "ZK proof for %s: %zu bytes in %.2f s (queued %.2f s)", t->c->peer, len, veil_now() - t0,
             t0 - t->queued);
    }
    pthread_mutex_lock(&n->lock);
    conn_put_locked(t->c);
    pthread_mutex_unlock(&n->lock);
    free(t);
}

/* veil_crit_defer_fn: queue the proof, keeping the connection alive. */
static int zk_defer(void *ctx, veil_crit_job *job)
{
    conn *c = ctx;
    veil_node *n = c->node;
    zk_task *t = n->pool ? malloc(sizeof *t) : NULL;
    if (!t) return 1;
    *t = (zk_task){c, job, veil_now()};
    pthread_mutex_lock(&n->lock);
    c->refs++;
    pthread_mutex_unlock(&n->lock);
    if (!prove_pool_submit(n->pool, zk_task_run, t)) return 0;
    pthread_mutex_lock(&n->lock);
    conn_put_locked(c);
    pthread_mutex_unlock(&n->lock);
    free(t);
    return 1;
}

/* ZK_FORWARD: layers of a checkpoint from --models (or of an upload) over the rows so far, with
 * a proof when asked (in early mode queued on the proving pool, so this
 * connection keeps serving). A refusal before any reply is an ERROR frame
 * and the connection stays; a failure after a reply went out closes it. */
static int on_zk_forward(conn *c, const veil_frame *f)
{
    veil_node *n = c->node;
    uint8_t sha[32];
    double t0 = veil_now();
    int rc = veil_crit_payload_model(f->payload, f->h.length, sha);
    local_model *lm = n->models;
    while (!rc && lm && memcmp(lm->m->sha256, sha, 32)) lm = lm->next;
    veil_crit_upload *u = NULL;
    for (int i = 0; !rc && !lm && !u && i < c->n_upl; i++)
        if (!memcmp(veil_crit_upload_id(c->upl[i]), sha, 32)) u = c->upl[i];
    if (!rc && !lm && !u)
        rc = veil_fail(VEIL_EINVAL, "ZK_FORWARD: that checkpoint is not in this node's --models, nor uploaded");
    c->zk_sent = 0;
    if (!rc && lm) rc = veil_crit_serve(lm->m, n->o.adversary, f->payload, f->h.length, zk_send, c, zk_defer);
    else if (!rc) rc = veil_crit_serve_upload(u, n->o.adversary, f->payload, f->h.length, zk_send, c, zk_defer);
    if (rc && c->zk_sent) return rc;
    if (rc) {
        nlog(n, "ZK_FORWARD from %s refused: %s", c->peer, veil_last_error());
        send_error(c, 0, rc, veil_last_error());
        return 1;
    }
    stat_add(n, &n->st.compute_ns, (uint64_t)((veil_now() - t0) * 1e9));
    nlog(n, "ZK_FORWARD from %s served in %.2f s", c->peer, veil_now() - t0);
    return 0;
}

/* ZK_LOAD: keep the client's transformed integer shard for this
 * connection (counted against --max-memory) and answer its id. */
static int on_zk_load(conn *c, const veil_frame *f)
{
    veil_node *n = c->node;
    veil_crit_upload *u;
    int rc = c->n_upl < UPLOADS_MAX ? veil_crit_upload_parse(f->payload, f->h.length, n->o.adversary, &u)
                                    : veil_fail(VEIL_ERANGE, "ZK_LOAD: at most %d uploads per connection", UPLOADS_MAX);
    if (!rc) {
        pthread_mutex_lock(&n->lock);
        size_t b = veil_crit_upload_bytes(u);
        if (n->weight_bytes + n->kv_bytes + b > n->o.max_memory_bytes)
            rc = veil_fail(VEIL_ERANGE, "ZK_LOAD: %zu bytes exceed this node's --max-memory", b);
        else {
            n->weight_bytes += b;
            c->upl[c->n_upl++] = u;
        }
        pthread_mutex_unlock(&n->lock);
        if (rc) veil_crit_upload_free(u);
    }
    if (rc) {
        nlog(n, "ZK_LOAD from %s refused: %s", c->peer, veil_last_error());
        send_error(c, 0, rc, veil_last_error());
        return 1;
    }
    nlog(n, "ZK_LOAD from %s: transformed layers uploaded (%zu bytes)", c->peer, veil_crit_upload_bytes(u));
    return send_frame(c, VEIL_MSG_ZK_LOADED, 0, veil_crit_upload_id(u), 32);
}

/* ---- connection thread ----------------------------------------------------- */

static int on_hello(conn *c, const veil_frame *f)
{
    veil_node *n = c->node;
    veil_msg_hello h;
    int rc = veil_msg_hello_decode(f->payload, f->h.length, &h);
    if (rc) return rc;
    c->role = h.role;
    c->greeted = 1;
    char who[64];
    snprintf(who, sizeof who, "%s", c->peer);
    snprintf(c->peer, sizeof c->peer, "%.24s@%.32s", h.name[0] ? h.name : "?", who);
    nlog(n, "%s %s connected", h.role == VEIL_ROLE_PEER ? "peer" : "client", c->peer);
    veil_msg_caps caps = {(uint32_t)(n->o.capacity * 1000 + 0.5), (uint32_t)n->o.max_sessions,
                          n->o.max_frame, (uint32_t)veil_get_threads(), ""};
    snprintf(caps.name, sizeof caps.name, "%s", n->name);
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    return send_frame(c, VEIL_MSG_CAPS, 0, buf, veil_msg_caps_encode(&caps, buf));
}

static int on_small(conn *c, veil_frame *f)
{
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    uint64_t nonce;
    int rc;
    switch (f->h.type) {
    case VEIL_MSG_PING:
        if ((rc = veil_msg_u64_decode(f->payload, f->h.length, &nonce))) return rc;
        return send_frame(c, VEIL_MSG_PONG, 0, buf, veil_msg_u64_encode(nonce, buf));
    case VEIL_MSG_STATS_REQ: {
        if (f->h.length) return veil_fail(VEIL_EPROTO, "STATS_REQ with a payload");
        veil_msg_stats st;
        veil_node_stats(c->node, &st);
        return send_frame(c, VEIL_MSG_STATS, 0, buf, veil_msg_stats_encode(&st, buf));
    }
    default:
        return veil_fail(VEIL_EPROTO, "unexpected %s frame", veil_msg_name(f->h.type));
    }
}

/* Dispatch one frame: 0 ok, 1 refused but the connection stays, <0 fatal. */
static int dispatch(conn *c, veil_frame *f)
{
    if (!c->greeted) {
        if (f->h.type != VEIL_MSG_HELLO) return veil_fail(VEIL_EPROTO, "%s before HELLO", veil_msg_name(f->h.type));
        return on_hello(c, f);
    }
    int client = c->role == VEIL_ROLE_CLIENT;
    switch (f->h.type) {
    case VEIL_MSG_FORWARD: return on_forward(c, f);
    case VEIL_MSG_FP_FORWARD: return on_forward(c, f);
    case VEIL_MSG_AUDIT:
    case VEIL_MSG_LAYER_REQ: return client ? on_audit(c, f) : veil_fail(VEIL_EPROTO, "%s from a peer", veil_msg_name(f->h.type));
    case VEIL_MSG_PING: return on_small(c, f);
    case VEIL_MSG_LOAD: return client ? on_load(c, f) : veil_fail(VEIL_EPROTO, "LOAD from a peer");
    case VEIL_MSG_WEIGHTS: return client ? on_weights(c, f) : veil_fail(VEIL_EPROTO, "WEIGHTS from a peer");
    case VEIL_MSG_OPEN: return client ? on_open(c, f) : veil_fail(VEIL_EPROTO, "OPEN from a peer");
    case VEIL_MSG_CLOSE: return client ? on_close(c, f) : veil_fail(VEIL_EPROTO, "CLOSE from a peer");
    case VEIL_MSG_RELEASE: return client ? on_release(c, f) : veil_fail(VEIL_EPROTO, "RELEASE from a peer");
    case VEIL_MSG_STATS_REQ: return on_small(c, f);
    case VEIL_MSG_ZK_FORWARD: return client ? on_zk_forward(c, f) : veil_fail(VEIL_EPROTO, "ZK_FORWARD from a peer");
    case VEIL_MSG_ZK_LOAD: return client ? on_zk_load(c, f) : veil_fail(VEIL_EPROTO, "ZK_LOAD from a peer");
    default: return veil_fail(VEIL_EPROTO, "unexpected %s frame", veil_msg_name(f->h.type));
    }
}

static void conn_finish(conn *c, const char *why)
{
    veil_node *n = c->node;
    nlog(n, "connection %s closed (%s)", c->peer, why);
    shutdown(c->s.fd, SHUT_RDWR); /* writers on other threads fail fast */
    pthread_mutex_lock(&n->lock);
    for (session *s = n->sessions, *nx; s; s = nx) {
        nx = s->next;
        if (s->owner == c) session_close_locked(n, s, "its client left");
    }
    for (int i = 0; i < c->n_held; i++)
        for (shard_rec *r = n->shards; r; r = r->next)
            if (r->handle == c->held[i]) {
                shard_put_locked(n, r);
                break;
            }
    c->n_held = 0;
    n->n_threads--;
    conn_put_locked(c);
    pthread_cond_broadcast(&n->idle);
    pthread_mutex_unlock(&n->lock);
}

/* The transport handshake (TLS) runs here, not in the accept loop, so a
 * slow peer cannot stall other connections; it gets 10 s. */
static int conn_wrap(conn *c)
{
    veil_node *n = c->node;
    int fd = c->s.fd;
    veil_set_timeout(fd, 10000);
    veil_stream t;
    if (n->o.transport->wrap_server(n->o.transport->ctx, fd, &t)) {
        nlog(n, "connection %s refused by the %s transport: %s", c->peer, n->o.transport->kind, veil_last_error());
        return -1; /* c->s is still the plain stream that owns fd */
    }
    c->s = t;
    veil_set_timeout(fd, n->o.idle_timeout_ms);
    const char *id = c->s.ops->peer_id(c->s.impl);
    if (id) snprintf(c->peer, sizeof c->peer, "fd%d/key:%.16s", fd, id);
    return 0;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    veil_node *n = c->node;
    char why[300] = "peer closed";
    if (conn_wrap(c)) {
        pthread_mutex_lock(&n->lock);
        shutdown(c->s.fd, SHUT_RDWR);
        n->n_threads--;
        conn_put_locked(c);
        pthread_cond_broadcast(&n->idle);
        pthread_mutex_unlock(&n->lock);
        return NULL;
    }
    while (!stopping(n)) {
        veil_frame f;
        int rc = veil_frame_read(&c->s, n->o.max_frame, &f);
        if (rc) {
            if (rc == VEIL_ETIMEOUT) snprintf(why, sizeof why, "idle for %d ms", n->o.idle_timeout_ms);
            else if (rc != VEIL_ECLOSED) {
                snprintf(why, sizeof why, "%s", veil_last_error());
                if (!stopping(n)) send_error(c, 0, rc, veil_last_error());
            }
            break;
        }
        stamp(&c->last_rx);
        stat_add(n, &n->st.bytes_in, VEIL_FRAME_HDR + f.h.length);
        rc = dispatch(c, &f);
        veil_frame_free(&f);
        if (rc < 0) {
            snprintf(why, sizeof why, "%s", veil_last_error());
            send_error(c, 0, rc, why);
            break;
        }
    }
    if (stopping(n)) snprintf(why, sizeof why, "node stopping");
    conn_finish(c, why);
    return NULL;
}

static void accept_one(veil_node *n)
{
    int fd = accept4(n->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1; /* RESULT frames must not wait for Nagle + delayed ACK */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    veil_stream_plain(fd, &c->s); /* replaced by the transport's stream in conn_wrap */
    c->node = n;
    c->refs = 1;
    stamp(&c->last_rx);
    pthread_mutex_init(&c->wlock, NULL);
    snprintf(c->peer, sizeof c->peer, "fd%d", fd);
    pthread_mutex_lock(&n->lock);
    int full = n->n_conns >= n->o.max_conns;
    if (!full) {
        c->next = n->conns;
        n->conns = c;
        n->n_conns++;
        n->n_threads++;
    }
    pthread_mutex_unlock(&n->lock);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (full) {
        nlog(n, "connection refused: %d connections open", n->o.max_conns);
        veil_frame_send_error(&c->s, 0, VEIL_ERANGE, "node busy: connection limit reached");
    } else if (pthread_create(&th, &at, conn_main, c)) {
        conn_finish(c, "no thread");
        c = NULL;
    } else {
        c = NULL;
    }
    pthread_attr_destroy(&at);
    if (c) {
        veil_stream_close(&c->s);
        pthread_mutex_destroy(&c->wlock);
        free(c);
    }
}

/* Close sessions nobody used (and whose client said nothing) for too long. */
static void reap_idle(veil_node *n)
{
    int64_t now = (int64_t)(veil_now() * 1000), lim = n->o.idle_timeout_ms;
    pthread_mutex_lock(&n->lock);
    for (session *s = n->sessions, *nx; s; s = nx) {
        nx = s->next;
        int64_t used = __atomic_load_n(&s->last_used, __ATOMIC_RELAXED),
                rx = __atomic_load_n(&s->owner->last_rx, __ATOMIC_RELAXED);
        int64_t last = used > rx ? used : rx;
        if (now - last > lim) session_close_locked(n, s, "idle timeout");
    }
    pthread_mutex_unlock(&n->lock);
}

static void *accept_main(void *arg)
{
    veil_node *n = arg;
    double last_reap = veil_now();
    while (!stopping(n)) {
        struct pollfd p = {n->lfd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) accept_one(n);
        if (veil_now() - last_reap > 1.0) {
            reap_idle(n);
            last_reap = veil_now();
        }
    }
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------------- */

static void index_models(veil_node *n)
{
    DIR *d = n->o.models_dir ? opendir(n->o.models_dir) : NULL;
    if (n->o.models_dir && !d) nlog(n, "cannot read --models %s: %s", n->o.models_dir, strerror(errno));
    for (struct dirent *e; d && (e = readdir(d));) {
        local_model *lm = calloc(1, sizeof *lm);
        if (!lm) break;
        snprintf(lm->path, sizeof lm->path, "%s/%s", n->o.models_dir, e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || stat(lm->path, &st) || !S_ISREG(st.st_mode) ||
            veil_model_open(lm->path, &lm->m)) {
            free(lm);
            continue;
        }
        char hex[65];
        veil_hex(lm->m->sha256, 32, hex);
        nlog(n, "model %s sha256 %.16s... (%d layers)", e->d_name, hex, lm->m->cfg.n_layers);
        lm->next = n->models;
        n->models = lm;
    }
    if (d) closedir(d);
}

static void defaults(veil_node_opts *o)
{
    if (!o->host) o->host = "127.0.0.1";
    if (o->capacity <= 0) o->capacity = 1;
    if (o->max_sessions <= 0) o->max_sessions = 64;
    if (o->max_frame < 4096) o->max_frame = VEIL_DEFAULT_MAX_FRAME;
    if (!o->max_memory_bytes) o->max_memory_bytes = (size_t)16 << 30;
    if (o->idle_timeout_ms <= 0) o->idle_timeout_ms = 300000;
    if (o->max_conns <= 0) o->max_conns = 4 * o->max_sessions + 16;
    if (!o->transport) o->transport = veil_transport_plain();
    if (o->prove_workers <= 0) o->prove_workers = 1;
}

int veil_node_start(const veil_node_opts *o, veil_node **out)
{
    *out = NULL;
    veil_node *n = calloc(1, sizeof *n);
    if (!n) return veil_fail(VEIL_ENOMEM, "out of memory");
    n->o = *o;
    defaults(&n->o);
    n->next_handle = 1;
    n->lfd = veil_listen(n->o.host, n->o.port, 64, &n->port);
    if (n->lfd < 0) {
        int rc = n->lfd;
        free(n);
        return rc;
    }
    if (o->name && *o->name) snprintf(n->name, sizeof n->name, "%s", o->name);
    else snprintf(n->name, sizeof n->name, "%s:%d", n->o.host, n->port);
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->idle, NULL);
    index_models(n);
    if (prove_pool_new(n->o.prove_workers, veil_get_threads(), &n->pool)) {
        close(n->lfd);
        free(n);
        return veil_fail(VEIL_ENOMEM, "cannot start the proving workers: %s", veil_last_error());
    }
    if (pthread_create(&n->accept_th, NULL, accept_main, n)) {
        prove_pool_free(n->pool);
        close(n->lfd);
        free(n);
        return veil_fail(VEIL_ENOMEM, "cannot start the accept thread");
    }
    nlog(n, "listening on %s:%d (%s, capacity %g, max %d sessions, frame limit %u)", n->o.host,
         n->port, n->o.transport->kind, n->o.capacity, n->o.max_sessions, n->o.max_frame);
    if (n->o.adversary) {
        char mode[128];
        nlog(n, "ADVERSARIAL node: mode %s -- it returns wrong results on purpose (verification tests only)",
             veil_adv_name(n->o.adversary, mode, sizeof mode));
    }
    *out = n;
    return 0;
}

int veil_node_port(const veil_node *n) { return n->port; }
const char *veil_node_name(const veil_node *n) { return n->name; }

void veil_node_stats(veil_node *n, veil_msg_stats *out)
{
    pthread_mutex_lock(&n->lock);
    *out = (veil_msg_stats){__atomic_load_n(&n->st.tokens, __ATOMIC_RELAXED),
                            __atomic_load_n(&n->st.compute_ns, __ATOMIC_RELAXED),
                            __atomic_load_n(&n->st.bytes_in, __ATOMIC_RELAXED),
                            __atomic_load_n(&n->st.bytes_out, __ATOMIC_RELAXED),
                            (uint32_t)n->n_sessions, 0};
    for (shard_rec *r = n->shards; r; r = r->next) out->shards++;
    pthread_mutex_unlock(&n->lock);
}

void veil_node_stop(veil_node *n)
{
    if (!n) return;
    __atomic_store_n(&n->stop, 1, __ATOMIC_RELAXED);
    pthread_join(n->accept_th, NULL);
    close(n->lfd);
    pthread_mutex_lock(&n->lock);
    for (conn *c = n->conns; c; c = c->next) shutdown(c->s.fd, SHUT_RDWR);
    while (n->n_threads > 0) pthread_cond_wait(&n->idle, &n->lock);
    pthread_mutex_unlock(&n->lock);
    prove_pool_free(n->pool); /* queued proofs are dropped, a running one finishes */
    for (local_model *lm = n->models, *nx; lm; lm = nx) {
        nx = lm->next;
        veil_crit_forget(lm->m);
        veil_model_close(lm->m);
        free(lm);
    }
    nlog(n, "stopped");
    pthread_mutex_destroy(&n->lock);
    pthread_cond_destroy(&n->idle);
    free(n);
}
