/* The client side of a node pipeline: connection management, scheduling,
 * shard provisioning, the forward backend and failover. See
 * veil/orchestrator.h for the design. The orchestrator is single-threaded:
 * one instance drives one generation at a time. */
#include "veil/orchestrator.h"

#include "orch_verify.h"
#include "node_audit.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REP 8
#define MAX_ATTEMPTS 4 /* failovers tried for one forward */

typedef struct {
    char host[VEIL_PROTO_STR_MAX + 1];
    int port;
    char addr[300];
    veil_stream s;
    int up;
    veil_msg_caps caps;
    uint64_t ping_nonce;
    double ping_sent;
    int ping_out;
    veil_msg_stats stats;
    int flagged; /* verification flagged it (or the ledger did): never scheduled */
} onode;

typedef struct {
    int first, last;
    int n_rep;
    int rep[MAX_REP];        /* node indices */
    uint32_t handle[MAX_REP]; /* 0 = not loaded there */
    uint64_t sid[MAX_REP];    /* 0 = no session */
    int active;              /* index into rep */
    int fed[MAX_REP];        /* verification: positions its session has computed */
} oshard;

struct veil_orch {
    const veil_model *m;
    veil_orch_opts o;
    onode *nodes;
    int n_nodes;
    oshard *shards;
    int n_shards;
    veil_shard *local;
    int dim, max_seq, max_T, failovers;
    int broken; /* a node holding a session went down since the last rebuild */
    float *hist, *tmp, *rbuf;
    uint64_t sent, received, nonce;
    double last_ping;
    orch_verify *ver; /* opts.verify: consensus verification (orch_verify.c) */
    int usable;       /* nodes the ledger lets us schedule (the first ones) */
};

static void olog(veil_orch *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void olog(veil_orch *o, const char *fmt, ...)
{
    if (o->o.quiet) return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "veil run: %s\n", line);
}

/* ---- node connections ------------------------------------------------------ */

static int involved(const veil_orch *o, int i)
{
    for (int s = 0; s < o->n_shards; s++)
        for (int r = 0; r < o->shards[s].n_rep; r++)
            if (o->shards[s].rep[r] == i && o->shards[s].sid[r]) return 1;
    return 0;
}

/* Every replica computes every step: a replica hook, or consensus. */
static int every_replica(const veil_orch *o)
{
    return o->o.hooks.replica_result || (o->ver && orch_verify_all(o->ver));
}

/* Forget everything a node held: a node that comes back is a new process. */
static void node_down(veil_orch *o, int i, const char *why)
{
    onode *n = &o->nodes[i];
    if (!n->up) return;
    olog(o, "node %s (%s) is down: %s", n->caps.name, n->addr, why);
    if (involved(o, i)) o->broken = 1;
    veil_stream_close(&n->s);
    n->up = 0;
    n->ping_out = 0;
    for (int s = 0; s < o->n_shards; s++)
        for (int r = 0; r < o->shards[s].n_rep; r++)
            if (o->shards[s].rep[r] == i) o->shards[s].handle[r] = 0, o->shards[s].sid[r] = 0;
}

static int node_send(veil_orch *o, int i, int type, uint64_t sid, const void *p, size_t len)
{
    onode *n = &o->nodes[i];
    if (!n->up) return veil_fail(VEIL_ECLOSED, "node %s is down", n->addr);
    int rc = veil_frame_write(&n->s, type, sid, p, len);
    if (rc) {
        char why[300];
        snprintf(why, sizeof why, "%s", veil_last_error());
        node_down(o, i, why);
        return veil_fail(rc, "node %s: %s", n->addr, why);
    }
    o->sent += VEIL_FRAME_HDR + len;
    return 0;
}

static int node_read(veil_orch *o, int i, veil_frame *f)
{
    onode *n = &o->nodes[i];
    uint32_t lim = 8 + (uint32_t)o->max_T * (uint32_t)o->dim * 4 + VEIL_MSG_MAX_SMALL;
    int rc = veil_frame_read(&n->s, lim, f);
    if (rc) {
        char why[300];
        snprintf(why, sizeof why, "%s", veil_last_error());
        node_down(o, i, why);
        return veil_fail(rc, "node %s: %s", n->addr, why);
    }
    o->received += VEIL_FRAME_HDR + f->h.length;
    return 0;
}

/* Frames that may arrive at any time: PONG (heartbeat), stale RESULTs of
 * sessions closed by a failover. Returns 1 when f was consumed. */
static int async_frame(veil_orch *o, int i, const veil_frame *f)
{
    uint64_t nonce;
    if (f->h.type == VEIL_MSG_PONG) {
        if (!veil_msg_u64_decode(f->payload, f->h.length, &nonce) && nonce == o->nodes[i].ping_nonce)
            o->nodes[i].ping_out = 0;
        return 1;
    }
    return f->h.type == VEIL_MSG_RESULT;
}

static int error_frame(veil_orch *o, int i, const veil_frame *f)
{
    veil_msg_error e;
    if (veil_msg_error_decode(f->payload, f->h.length, &e)) return veil_fail(VEIL_EPROTO, "node %s sent a malformed ERROR", o->nodes[i].addr);
    return veil_fail(e.code < 0 && e.code >= VEIL_ECLOSED ? e.code : VEIL_EPROTO, "node %s: %s",
                     o->nodes[i].caps.name, e.message);
}

/* Send a request and return the first reply that is not asynchronous. */
static int node_rpc(veil_orch *o, int i, int type, uint64_t sid, const void *p, size_t len,
                    veil_frame *reply)
{
    int rc = node_send(o, i, type, sid, p, len);
    while (!rc) {
        if ((rc = node_read(o, i, reply))) break;
        if (!async_frame(o, i, reply)) {
            if (reply->h.type != VEIL_MSG_ERROR) return 0;
            rc = error_frame(o, i, reply);
        }
        veil_frame_free(reply);
    }
    return rc;
}

/* Dial and greet a node; the whole exchange is bounded by timeout_ms (a
 * stopped process still completes TCP handshakes from its backlog). */
static int node_connect(veil_orch *o, int i, int timeout_ms)
{
    onode *n = &o->nodes[i];
    int rc = veil_dial(o->o.transport, n->host, n->port, timeout_ms, &n->s);
    if (rc) return rc;
    veil_msg_hello h = {VEIL_ROLE_CLIENT, ""};
    snprintf(h.name, sizeof h.name, "%s", o->o.name ? o->o.name : "client");
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    veil_frame f = {0};
    rc = veil_frame_write(&n->s, VEIL_MSG_HELLO, 0, buf, veil_msg_hello_encode(&h, buf));
    if (!rc) rc = veil_frame_read(&n->s, VEIL_MSG_MAX_SMALL, &f);
    if (!rc) rc = f.h.type == VEIL_MSG_CAPS ? veil_msg_caps_decode(f.payload, f.h.length, &n->caps)
                                            : veil_fail(VEIL_EPROTO, "node %s answered HELLO with %s",
                                                        n->addr, veil_msg_name(f.h.type));
    veil_frame_free(&f);
    if (rc) {
        veil_stream_close(&n->s);
        return veil_fail(rc, "node %s: %s", n->addr, veil_last_error());
    }
    veil_set_timeout(n->s.fd, o->o.timeout_ms);
    n->up = 1;
    return 0;
}

/* ---- provisioning ------------------------------------------------------------ */

static int default_weights(const veil_model *m, int first, int last, float *out)
{
    size_t per = veil_layer_floats(&m->cfg);
    for (int l = first; l < last; l++) veil_layer_to_floats(&m->cfg, &m->layers[l], out + per * (size_t)(l - first));
    return 0;
}

static int push_weights(veil_orch *o, int i, const float *w, size_t bytes, veil_frame *reply)
{
    uint8_t *chunk = malloc(8 + VEIL_WEIGHT_CHUNK);
    if (!chunk) return veil_fail(VEIL_ENOMEM, "out of memory");
    int rc = 0;
    size_t step = o->nodes[i].caps.max_frame - 8 < VEIL_WEIGHT_CHUNK ? o->nodes[i].caps.max_frame - 8 : VEIL_WEIGHT_CHUNK;
    step &= ~(size_t)3; /* whole floats, within the node's frame limit */
    for (size_t off = 0; off < bytes && !rc; off += step) {
        size_t len = bytes - off < step ? bytes - off : step;
        for (int b = 0; b < 8; b++) chunk[b] = (uint8_t)((uint64_t)off >> (8 * b));
        memcpy(chunk + 8, (const uint8_t *)w + off, len);
        if (off + len < bytes) rc = node_send(o, i, VEIL_MSG_WEIGHTS, 0, chunk, 8 + len);
        else rc = node_rpc(o, i, VEIL_MSG_WEIGHTS, 0, chunk, 8 + len, reply);
    }
    veil_wipe(chunk, 8 + VEIL_WEIGHT_CHUNK);
    free(chunk);
    return rc;
}

/* Provision shard s on its replica slot r (LOAD, then push when asked). */
static int load_shard(veil_orch *o, int s, int r)
{
    oshard *sh = &o->shards[s];
    int i = sh->rep[r];
    const veil_config *c = &o->m->cfg;
    size_t nf = veil_layer_floats(c) * (size_t)(sh->last - sh->first), bytes = nf * sizeof(float);
    float *w = malloc(bytes);
    if (!w) return veil_fail(VEIL_ENOMEM, "out of memory for shard weights");
    const veil_orch_hooks *hk = &o->o.hooks;
    int rc = hk->shard_weights ? hk->shard_weights(hk->ctx, s, sh->first, sh->last, w)
                               : default_weights(o->m, sh->first, sh->last, w);
    veil_msg_load l = {.flags = o->o.push_only || hk->shard_weights ? 0 : VEIL_LOAD_MAY_USE_LOCAL,
                       .cfg = *c, .first = sh->first, .last = sh->last};
    memcpy(l.model_sha256, o->m->sha256, 32);
    veil_shard_hash(w, nf, l.shard_sha256);
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    veil_frame f = {0};
    uint64_t need;
    if (!rc) rc = node_rpc(o, i, VEIL_MSG_LOAD, 0, buf, veil_msg_load_encode(&l, buf), &f);
    if (!rc && f.h.type == VEIL_MSG_NEED) {
        rc = veil_msg_u64_decode(f.payload, f.h.length, &need);
        if (!rc && need != bytes) rc = veil_fail(VEIL_EPROTO, "node asked for %llu bytes, shard has %zu", (unsigned long long)need, bytes);
        veil_frame_free(&f);
        if (!rc) rc = push_weights(o, i, w, bytes, &f);
    }
    veil_msg_loaded ld;
    if (!rc) rc = f.h.type == VEIL_MSG_LOADED ? veil_msg_loaded_decode(f.payload, f.h.length, &ld)
                                             : veil_fail(VEIL_EPROTO, "LOAD answered with %s", veil_msg_name(f.h.type));
    veil_frame_free(&f);
    if (hk->shard_weights) veil_wipe(w, bytes); /* transformed weights are key material */
    free(w);
    if (rc) return rc;
    sh->handle[r] = ld.handle;
    olog(o, "layers %d..%d on %s (%s)", sh->first, sh->last - 1, o->nodes[i].caps.name,
         ld.source ? "from its own --models copy" : "pushed and verified");
    return 0;
}

/* ---- scheduling and sessions -------------------------------------------------- */

int veil_partition(int layers, const double *cap, int n, int *counts)
{
    if (n < 1 || layers < n) return veil_fail(VEIL_EINVAL, "cannot split %d layers into %d shards", layers, n);
    double total = 0;
    for (int i = 0; i < n; i++) {
        if (!(cap[i] > 0)) return veil_fail(VEIL_EINVAL, "capacity must be positive");
        total += cap[i];
    }
    int sum = 0;
    for (int i = 0; i < n; i++) {
        counts[i] = (int)(layers * cap[i] / total);
        if (counts[i] < 1) counts[i] = 1;
        sum += counts[i];
    }
    /* largest remainder: move single layers where they are most over/under */
    while (sum != layers) {
        int best = -1;
        double bd = 0;
        for (int i = 0; i < n; i++) {
            double d = counts[i] - layers * cap[i] / total; /* > 0: has too many */
            if (sum > layers ? counts[i] > 1 && (best < 0 || d > bd) : (best < 0 || d < bd)) best = i, bd = d;
        }
        counts[best] += sum > layers ? -1 : 1;
        sum += sum > layers ? -1 : 1;
    }
    return 0;
}

static int schedule(veil_orch *o)
{
    int R = o->o.replicas, L = o->m->cfg.n_layers - o->o.split;
    int P = (o->usable ? o->usable : o->n_nodes) / R;
    if (P < 1) return veil_fail(VEIL_EINVAL, "%d replicas need at least %d nodes, got %d", R, R, o->n_nodes);
    if (P > L) P = L; /* more nodes than layers: the rest are spares */
    double cap[VEIL_MAX_LAYERS];
    int counts[VEIL_MAX_LAYERS];
    for (int p = 0; p < P; p++) cap[p] = o->nodes[p].caps.capacity_milli / 1000.0;
    int rc = veil_partition(L, cap, P, counts);
    if (rc) return rc;
    if (!(o->shards = calloc((size_t)P, sizeof *o->shards))) return veil_fail(VEIL_ENOMEM, "out of memory");
    o->n_shards = P;
    int first = o->o.split;
    for (int p = 0; p < P; p++) {
        oshard *sh = &o->shards[p];
        sh->first = first;
        sh->last = first += counts[p];
        sh->n_rep = R;
        for (int r = 0; r < R; r++) sh->rep[r] = p + r * P; /* distinct nodes */
    }
    return 0;
}

static int shard_has_node(const oshard *sh, int i)
{
    for (int r = 0; r < sh->n_rep; r++)
        if (sh->rep[r] == i) return 1;
    return 0;
}

static int layers_on(const veil_orch *o, int i)
{
    int n = 0;
    for (int s = 0; s < o->n_shards; s++)
        for (int r = 0; r < o->shards[s].n_rep; r++)
            if (o->shards[s].rep[r] == i && o->shards[s].handle[r]) n += o->shards[s].last - o->shards[s].first;
    return n;
}

/* A live node not yet holding shard s, preferring the least loaded. */
static int pick_spare(const veil_orch *o, const oshard *sh)
{
    int best = -1;
    for (int i = 0; i < o->n_nodes; i++)
        if (o->nodes[i].up && !o->nodes[i].flagged && !shard_has_node(sh, i) && (best < 0 || layers_on(o, i) < layers_on(o, best)))
            best = i;
    return best;
}

/* Move shard s to a spare (every replica is gone); returns its slot. */
static int move_to_spare(veil_orch *o, int s)
{
    oshard *sh = &o->shards[s];
    for (;;) {
        int i = pick_spare(o, sh);
        if (i < 0) return veil_fail(VEIL_EIO, "no live node left for layers %d..%d", sh->first, sh->last - 1);
        int r = -1;
        for (int k = 0; k < sh->n_rep && r < 0; k++)
            if (!o->nodes[sh->rep[k]].up) r = k; /* reuse a dead replica's slot */
        if (r < 0) {
            if (sh->n_rep == MAX_REP) return veil_fail(VEIL_ERANGE, "too many replicas");
            r = sh->n_rep++;
        }
        sh->rep[r] = i;
        sh->handle[r] = sh->sid[r] = 0;
        olog(o, "moving layers %d..%d to %s", sh->first, sh->last - 1, o->nodes[i].caps.name);
        int rc = load_shard(o, s, r);
        if (!rc) return r;
        if (o->nodes[i].up) return rc; /* a live node refused: give up */
    }
}

/* Make sure every shard has a loaded, live active replica (and, with a
 * replica hook, that every live replica is loaded, rejoined ones included). */
static int ensure_placement(veil_orch *o)
{
    int all = every_replica(o);
    for (int s = 0; s < o->n_shards; s++) {
        oshard *sh = &o->shards[s];
        int a = -1;
        for (int r = 0; r < sh->n_rep; r++) {
            if (!o->nodes[sh->rep[r]].up) continue;
            if (!sh->handle[r] && (all || a < 0)) {
                int rc = load_shard(o, s, r);
                if (rc && o->nodes[sh->rep[r]].up) return rc;
            }
            if (a < 0 && sh->handle[r]) a = r;
        }
        if (a < 0 && (a = move_to_spare(o, s)) < 0) return a;
        sh->active = a;
    }
    return 0;
}

/* Whether the chain returns to the client after shard s (a stage ends). */
static int stage_ends(const veil_orch *o, int s)
{
    const veil_orch_hooks *hk = &o->o.hooks;
    if (s == o->n_shards - 1 || hk->replica_result || o->ver) return 1;
    return hk->relay && (!hk->relay_at || hk->relay_at(hk->ctx, s));
}

static void close_sessions(veil_orch *o)
{
    for (int s = 0; s < o->n_shards; s++)
        for (int r = 0; r < o->shards[s].n_rep; r++) {
            uint64_t *sid = &o->shards[s].sid[r];
            if (*sid && o->nodes[o->shards[s].rep[r]].up) node_send(o, o->shards[s].rep[r], VEIL_MSG_CLOSE, *sid, NULL, 0);
            *sid = 0;
        }
}

static int open_session(veil_orch *o, int s, int r, const onode *next, uint64_t next_sid)
{
    oshard *sh = &o->shards[s];
    veil_msg_open m = {sh->handle[r], (uint32_t)o->max_seq, next ? next_sid : 0,
                       next ? (uint16_t)next->port : 0, ""};
    if (next) snprintf(m.host, sizeof m.host, "%s", next->host);
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    veil_frame f;
    int rc = node_rpc(o, sh->rep[r], VEIL_MSG_OPEN, 0, buf, veil_msg_open_encode(&m, buf), &f);
    if (rc) return rc;
    if (f.h.type != VEIL_MSG_OPENED || f.h.session == 0) rc = veil_fail(VEIL_EPROTO, "OPEN answered with %s", veil_msg_name(f.h.type));
    else sh->sid[r] = f.h.session;
    veil_frame_free(&f);
    /* --fingerprints: the node keeps the layer history disputes ask about */
    if (!rc && o->ver && orch_verify_fingerprints(o->ver)) rc = node_send(o, sh->rep[r], VEIL_MSG_AUDIT, sh->sid[r], NULL, 0);
    return rc;
}

/* Fresh sessions on the current placement, opened from the last shard
 * backwards so each node learns its successor's session id. */
static int build_sessions(veil_orch *o)
{
    close_sessions(o);
    int all = every_replica(o);
    for (int s = o->n_shards - 1; s >= 0; s--) {
        oshard *sh = &o->shards[s];
        const oshard *nx = stage_ends(o, s) ? NULL : &o->shards[s + 1];
        for (int r = 0; r < sh->n_rep; r++) {
            if (r != sh->active && !(all && sh->handle[r] && o->nodes[sh->rep[r]].up)) continue;
            int rc = open_session(o, s, r, nx ? &o->nodes[nx->rep[nx->active]] : NULL, nx ? nx->sid[nx->active] : 0);
            if (rc) return rc;
        }
    }
    return 0;
}

/* ---- the forward path ----------------------------------------------------------- */

typedef struct {
    int node, rep;
    uint64_t sid;
    float *out; /* NULL: FP_FORWARD, the answer is a fingerprint */
    int got;
    uint8_t fp[VEIL_FP_HEADER + 4 * VEIL_FP_MAX_K];
    size_t fp_len;
} want;

static void heartbeat(veil_orch *o, double now)
{
    if (now - o->last_ping < o->o.heartbeat_ms / 1000.0) return;
    o->last_ping = now;
    for (int i = 0; i < o->n_nodes; i++) {
        onode *n = &o->nodes[i];
        if (!n->up) continue;
        if (n->ping_out) {
            if (now - n->ping_sent > o->o.timeout_ms / 1000.0) node_down(o, i, "heartbeat not answered");
            continue;
        }
        uint8_t buf[8];
        n->ping_nonce = ++o->nonce;
        n->ping_sent = now;
        n->ping_out = 1;
        node_send(o, i, VEIL_MSG_PING, 0, buf, veil_msg_u64_encode(n->ping_nonce, buf));
    }
}

static int current_session(const veil_orch *o, uint64_t sid)
{
    for (int s = 0; s < o->n_shards; s++)
        for (int r = 0; r < o->shards[s].n_rep; r++)
            if (o->shards[s].sid[r] == sid) return 1;
    return 0;
}

/* FP_RESULT from node i: the raw encoding for the replica that asked for one
 * (an oversized one is kept truncated, so the verifier flags it). */
static void take_fp(want *w, int nw, int i, const veil_frame *f, int *left)
{
    for (int k = 0; k < nw; k++) {
        if (w[k].got || w[k].out || w[k].node != i || w[k].sid != f->h.session) continue;
        w[k].fp_len = f->h.length < sizeof w[k].fp ? f->h.length : sizeof w[k].fp;
        memcpy(w[k].fp, f->payload, w[k].fp_len);
        w[k].got = 1, (*left)--;
    }
}

/* Handle one frame from node i while results are awaited. */
static int await_frame(veil_orch *o, int i, want *w, int nw, int pos, int T, int *left)
{
    veil_frame f;
    int rc = node_read(o, i, &f);
    if (rc) return rc;
    if (f.h.type == VEIL_MSG_ERROR && f.h.session && !current_session(o, f.h.session))
        olog(o, "ignoring an error about an earlier session from %s", o->nodes[i].addr);
    else if (f.h.type == VEIL_MSG_ERROR) rc = error_frame(o, i, &f);
    else if (f.h.type == VEIL_MSG_RESULT) {
        for (int k = 0; k < nw; k++) {
            if (w[k].got || !w[k].out || w[k].node != i || w[k].sid != f.h.session) continue;
            int p, t;
            rc = veil_msg_hidden_decode(f.payload, f.h.length, o->dim, o->max_seq, o->max_T, &p, &t, w[k].out);
            if (!rc && (p != pos || t != T)) rc = veil_fail(VEIL_EPROTO, "result for %d+%d, expected %d+%d", p, t, pos, T);
            if (!rc) w[k].got = 1, (*left)--;
        }
    } else if (f.h.type == VEIL_MSG_FP_RESULT) {
        take_fp(w, nw, i, &f, left); /* checked by the verifier (malformed = flagged) */
    } else if (!async_frame(o, i, &f))
        rc = veil_fail(VEIL_EPROTO, "node %s sent an unexpected %s", o->nodes[i].addr, veil_msg_name(f.h.type));
    veil_frame_free(&f);
    return rc;
}

static int await_results(veil_orch *o, want *w, int nw, int pos, int T)
{
    double deadline = veil_now() + o->o.timeout_ms / 1000.0;
    int left = nw;
    struct pollfd pf[64];
    int idx[64];
    while (left) {
        double now = veil_now();
        if (now > deadline) return veil_fail(VEIL_ETIMEOUT, "no result within %d ms", o->o.timeout_ms);
        heartbeat(o, now);
        int k = 0;
        if (o->broken) return veil_fail(VEIL_ECLOSED, "a pipeline node went down");
        for (int i = 0; i < o->n_nodes && k < 64; i++)
            if (o->nodes[i].up) pf[k] = (struct pollfd){o->nodes[i].s.fd, POLLIN, 0}, idx[k++] = i;
        int wait = (int)((deadline - now) * 1000) + 1;
        if (wait > o->o.heartbeat_ms) wait = o->o.heartbeat_ms;
        int r = poll(pf, (nfds_t)k, wait);
        if (r < 0 && errno != EINTR) return veil_fail(VEIL_EIO, "poll: %s", strerror(errno));
        for (int j = 0; r > 0 && j < k; j++) {
            if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int rc = await_frame(o, idx[j], w, nw, pos, T, &left);
            if (rc && (o->broken || o->nodes[idx[j]].up)) return rc; /* a dead spare is no failure */
        }
        if (o->broken) return veil_fail(VEIL_ECLOSED, "a pipeline node went down");
    }
    return 0;
}

/* ---- consensus verification (the decisions live in orch_verify.c) ------------------ */

/* Bring replica slot r of shard s up to pos+T on its own session (opened on
 * demand, no next hop) by replaying the shard's recorded inputs; the rows of
 * pos..pos+T-1 land in out. Late sample:P replicas and re-executions. */
static int catch_up(veil_orch *o, int s, int r, int pos, int T, float *out)
{
    oshard *sh = &o->shards[s];
    int i = sh->rep[r], rc = 0;
    if (!sh->handle[r] && (rc = load_shard(o, s, r))) return rc;
    if (!sh->sid[r]) {
        if ((rc = open_session(o, s, r, NULL, 0))) return rc;
        sh->fed[r] = 0;
    }
    const float *in = orch_verify_inputs(o->ver, s);
    size_t row = (size_t)o->dim;
    uint8_t *pay = malloc(8 + (size_t)o->max_T * row * 4);
    float *skip = malloc((size_t)o->max_T * row * sizeof(float));
    if (!pay || !skip) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    for (int p = sh->fed[r] < pos ? sh->fed[r] : pos; !rc && p < pos + T;) {
        int t = p < pos ? (pos - p < o->max_T ? pos - p : o->max_T) : T; /* the last chunk is the step */
        veil_msg_hidden_encode(p, t, o->dim, in + (size_t)p * row, pay);
        want w = {i, r, sh->sid[r], p < pos ? skip : out, 0, {0}, 0};
        rc = node_send(o, i, VEIL_MSG_FORWARD, sh->sid[r], pay, 8 + (size_t)t * row * 4);
        if (!rc) rc = await_results(o, &w, 1, p, t);
        p += t;
    }
    if (!rc) sh->fed[r] = pos + T;
    if (skip) veil_wipe(skip, (size_t)o->max_T * row * sizeof(float));
    free(skip);
    free(pay);
    return rc;
}

static int verify_extra(void *ctx, int s, uint64_t used, int pos, int T, float *out, int *node)
{
    veil_orch *o = ctx;
    oshard *sh = &o->shards[s];
    int r = -1;
    for (int k = 0; k < sh->n_rep && r < 0; k++) {
        int i = sh->rep[k];
        if (o->nodes[i].up && !o->nodes[i].flagged && !(used >> i & 1)) r = k;
    }
    if (r < 0) { /* every replica has answered: load the shard on one more node */
        int i = pick_spare(o, sh);
        if (i < 0 || sh->n_rep == MAX_REP)
            return veil_fail(VEIL_EVERIFY, "no other node can run layers %d..%d", sh->first, sh->last - 1);
        r = sh->n_rep++;
        sh->rep[r] = i;
        sh->handle[r] = 0, sh->sid[r] = 0, sh->fed[r] = 0;
    }
    olog(o, "layers %d..%d at %d+%d on %s (%s)", sh->first, sh->last - 1, pos, T,
         o->nodes[sh->rep[r]].caps.name, r < o->o.replicas ? "replica check" : "re-execution");
    *node = sh->rep[r];
    return catch_up(o, s, r, pos, T, out);
}

/* A flagged node leaves the shard (its session closed); the winner takes
 * over if it was the active replica, and pick_spare never offers it again. */
static void verify_drop(void *ctx, int s, int node, int winner)
{
    veil_orch *o = ctx;
    oshard *sh = &o->shards[s];
    o->nodes[node].flagged = 1;
    for (int r = 0; r < sh->n_rep; r++) {
        if (sh->rep[r] != node) continue;
        if (sh->sid[r] && o->nodes[node].up) node_send(o, node, VEIL_MSG_CLOSE, sh->sid[r], NULL, 0);
        int was_active = sh->active == r, tail = sh->n_rep - r - 1;
        memmove(&sh->rep[r], &sh->rep[r + 1], (size_t)tail * sizeof sh->rep[0]);
        memmove(&sh->handle[r], &sh->handle[r + 1], (size_t)tail * sizeof sh->handle[0]);
        memmove(&sh->sid[r], &sh->sid[r + 1], (size_t)tail * sizeof sh->sid[0]);
        memmove(&sh->fed[r], &sh->fed[r + 1], (size_t)tail * sizeof sh->fed[0]);
        sh->n_rep--;
        if (sh->active > r) sh->active--;
        for (int k = 0; was_active && k < sh->n_rep; k++)
            if (sh->rep[k] == winner) sh->active = k;
        olog(o, "node %s no longer runs layers %d..%d (flagged)", o->nodes[node].caps.name, sh->first, sh->last - 1);
        return;
    }
}

static const char *verify_name(void *ctx, int node) { return ((veil_orch *)ctx)->nodes[node].caps.name; }

/* One LAYER_REQ round trip on node's session of shard s (orch_verify_ops.layer). */
static int layer_rpc(veil_orch *o, int s, int node, const node_audit_req *q, veil_frame *f)
{
    oshard *sh = &o->shards[s];
    uint64_t sid = 0;
    for (int r = 0; r < sh->n_rep; r++)
        if (sh->rep[r] == node) sid = sh->sid[r];
    if (!sid) return veil_fail(VEIL_EINVAL, "node %s has no session of layers %d..%d", o->nodes[node].caps.name, sh->first, sh->last - 1);
    uint8_t buf[16];
    int rc = node_rpc(o, node, VEIL_MSG_LAYER_REQ, sid, buf, node_audit_req_encode(q, buf), f);
    int type = q->what ? VEIL_MSG_LAYER_ROWS : VEIL_MSG_LAYER_FP;
    if (!rc && (f->h.type != type || f->h.session != sid)) {
        veil_frame_free(f);
        rc = veil_fail(VEIL_EPROTO, "LAYER_REQ answered with %s", veil_msg_name(f->h.type));
    }
    return rc;
}

static int verify_layer(void *ctx, int s, int node, int what, int layer, int pos, int T, void *out)
{
    veil_orch *o = ctx;
    veil_frame f;
    int rc = 0;
    if (!what) {
        node_audit_req q = {0, layer, (uint32_t)pos, (uint32_t)T};
        veil_fp *fp = out;
        if ((rc = layer_rpc(o, s, node, &q, &f))) return rc;
        rc = veil_fp_decode(f.payload, f.h.length, fp);
        if (!rc && (fp->layer != layer || fp->pos != (uint32_t)pos || fp->T != (uint32_t)T || fp->dim != (uint32_t)o->dim))
            rc = veil_fail(VEIL_EPROTO, "LAYER_FP for another block");
        veil_frame_free(&f);
        return rc;
    }
    for (int p = pos; !rc && p < pos + T;) { /* rows: chunked by the frame limit */
        int t = pos + T - p < o->max_T ? pos + T - p : o->max_T, gp, gt;
        node_audit_req q = {1, layer, (uint32_t)p, (uint32_t)t};
        if ((rc = layer_rpc(o, s, node, &q, &f))) return rc;
        rc = veil_msg_hidden_decode(f.payload, f.h.length, o->dim, o->max_seq, o->max_T, &gp, &gt,
                                    (float *)out + (size_t)(p - pos) * o->dim);
        if (!rc && (gp != p || gt != t)) rc = veil_fail(VEIL_EPROTO, "LAYER_ROWS for %d+%d, asked %d+%d", gp, gt, p, t);
        veil_frame_free(&f);
        p += t;
    }
    return rc;
}

/* After a shard's replicas answered: decide, re-execute if needed, and put
 * the accepted output in x. */
static int verify_chunk(veil_orch *o, int s, const want *w, int nw, int pos, int T, float *x)
{
    oshard *sh = &o->shards[s];
    orch_verify_answer ans[MAX_REP];
    for (int k = 0; k < nw; k++) {
        ans[k] = (orch_verify_answer){w[k].node, w[k].out, w[k].fp, w[k].fp_len};
        sh->fed[w[k].rep] = pos + T;
    }
    int need = orch_verify_needed(o->ver, pos, T, o->o.replicas);
    orch_verify_ops ops = {o, verify_extra, verify_drop, verify_name, verify_layer};
    return orch_verify_step(o->ver, &ops, s, sh->first, sh->last, pos, T, nw, ans,
                            need > nw ? need - nw : 0, x);
}

/* Scheduling with a reputation ledger: the usable nodes first, best first;
 * the ones it drops are marked flagged and never get a shard. */
static int rank_nodes(veil_orch *o)
{
    const char *names[64];
    int order[64], n = o->n_nodes;
    for (int i = 0; i < n; i++) names[i] = o->nodes[i].caps.name;
    int ok = orch_verify_rank(o->o.verify, names, n, order);
    if (ok < 0) return ok;
    if (ok < o->o.replicas)
        return veil_fail(VEIL_EINVAL, "the ledger leaves %d unflagged node(s), %d replicas needed", ok, o->o.replicas);
    onode *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) return veil_fail(VEIL_ENOMEM, "out of memory");
    int k = 0;
    char taken[64] = {0};
    for (; k < ok; k++) sorted[k] = o->nodes[order[k]], taken[order[k]] = 1;
    for (int i = 0; i < n; i++)
        if (!taken[i]) {
            olog(o, "node %s is flagged in the ledger: not scheduled", o->nodes[i].caps.name);
            sorted[k] = o->nodes[i];
            sorted[k++].flagged = 1;
        }
    memcpy(o->nodes, sorted, (size_t)n * sizeof *sorted);
    free(sorted);
    o->usable = ok;
    return 0;
}

/* One chunk (T <= max_T rows) through every stage. */
static int run_chunk(veil_orch *o, int pos, int T, float *x)
{
    const veil_orch_hooks *hk = &o->o.hooks;
    size_t len = 8 + (size_t)T * o->dim * 4;
    uint8_t *pay = malloc(len);
    if (!pay) return veil_fail(VEIL_ENOMEM, "out of memory");
    int rc = 0;
    for (int s = 0, last; s < o->n_shards && !rc; s = last + 1) {
        for (last = s; !stage_ends(o, last);) last++;
        oshard *a = &o->shards[s], *z = &o->shards[last];
        want w[MAX_REP];
        int nw = 0;
        veil_msg_hidden_encode(pos, T, o->dim, x, pay);
        if (o->ver) orch_verify_record(o->ver, s, pos, T, x);
        if (o->broken) rc = veil_fail(VEIL_ECLOSED, "a pipeline node went down");
        else if (!every_replica(o)) {
            rc = node_send(o, a->rep[a->active], VEIL_MSG_FORWARD, a->sid[a->active], pay, len);
            w[nw++] = (want){z->rep[z->active], z->active, z->sid[z->active], x, 0, {0}, 0};
        } else { /* one stage per shard: every replica with a session computes */
            for (int r = 0; r < a->n_rep && !rc; r++) {
                if (!a->sid[r]) continue;
                /* --fingerprints: only the active replica returns rows */
                int fp = r != a->active && o->ver && orch_verify_fingerprints(o->ver) && !hk->replica_result;
                rc = node_send(o, a->rep[r], fp ? VEIL_MSG_FP_FORWARD : VEIL_MSG_FORWARD, a->sid[r], pay, len);
                float *out = fp ? NULL : r == a->active ? x : o->rbuf + (size_t)r * o->max_T * o->dim;
                w[nw++] = (want){a->rep[r], r, a->sid[r], out, 0, {0}, 0};
            }
        }
        if (!rc) rc = await_results(o, w, nw, pos, T);
        for (int k = 0; !rc && hk->replica_result && k < nw; k++)
            rc = hk->replica_result(hk->ctx, s, w[k].rep, w[k].node, pos, T, w[k].out);
        if (!rc && o->ver) rc = verify_chunk(o, s, w, nw, pos, T, x);
        if (!rc && hk->relay && last + 1 < o->n_shards) rc = hk->relay(hk->ctx, last, pos, T, x);
    }
    free(pay);
    return rc;
}

static int run_pipeline(veil_orch *o, int pos, int T, float *x)
{
    int rc = 0;
    for (int done = 0; done < T && !rc; done += o->max_T) {
        int t = T - done < o->max_T ? T - done : o->max_T;
        rc = run_chunk(o, pos + done, t, x + (size_t)done * o->dim);
    }
    return rc;
}

/* Liveness check: a PING answered within timeout_ms (stale frames skipped). */
static void ping_sync(veil_orch *o, int i)
{
    uint8_t buf[8];
    uint64_t nonce = ++o->nonce, got;
    if (node_send(o, i, VEIL_MSG_PING, 0, buf, veil_msg_u64_encode(nonce, buf))) return;
    for (;;) {
        veil_frame f;
        if (node_read(o, i, &f)) return; /* marked down */
        int done = f.h.type == VEIL_MSG_PONG && !veil_msg_u64_decode(f.payload, f.h.length, &got) && got == nonce;
        veil_frame_free(&f);
        if (done) return;
    }
}

/* Find dead nodes, let restarted ones rejoin, re-place shards, open fresh
 * sessions and replay positions 0..pos-1. */
static int recover(veil_orch *o, int pos)
{
    o->failovers++;
    for (int i = 0; i < o->n_nodes; i++) {
        int was_down = !o->nodes[i].up; /* down since an earlier failure: try a rejoin */
        if (o->nodes[i].up) ping_sync(o, i);
        int t = o->o.timeout_ms < 1000 ? o->o.timeout_ms : 1000;
        if (was_down && !node_connect(o, i, t))
            olog(o, "node %s (%s) rejoined as a spare", o->nodes[i].caps.name, o->nodes[i].addr);
        o->nodes[i].ping_out = 0;
    }
    o->broken = 0;
    int rc = ensure_placement(o);
    if (!rc) rc = build_sessions(o);
    if (!rc && pos > 0) {
        memcpy(o->tmp, o->hist, (size_t)pos * o->dim * sizeof(float));
        rc = run_pipeline(o, 0, pos, o->tmp);
    }
    if (!rc) olog(o, "pipeline rebuilt, %d positions replayed", pos);
    return rc;
}

static int orch_forward(void *ctx, int pos, int T, float *x)
{
    veil_orch *o = ctx;
    const veil_orch_hooks *hk = &o->o.hooks;
    size_t rows = (size_t)T * o->dim;
    if (pos < 0 || T < 1 || pos + T > o->max_seq)
        return veil_fail(VEIL_ERANGE, "positions %d+%d outside the pipeline's %d", pos, T, o->max_seq);
    int rc = o->local ? veil_shard_forward_batch(o->local, pos, T, x) : 0;
    if (!rc && hk->egress) rc = hk->egress(hk->ctx, pos, T, x);
    if (rc) return rc;
    memcpy(o->hist + (size_t)pos * o->dim, x, rows * sizeof(float));
    for (int attempt = 0;; attempt++) {
        rc = run_pipeline(o, pos, T, x);
        if (!rc) break;
        if (attempt >= MAX_ATTEMPTS || (o->ver && rc == VEIL_EVERIFY)) return rc; /* a verdict, not a failure */
        olog(o, "pipeline broken at position %d: %s; failing over", pos, veil_last_error());
        while ((rc = recover(o, pos)) && ++attempt < MAX_ATTEMPTS)
            olog(o, "recovery failed: %s", veil_last_error());
        if (rc) return rc;
        memcpy(x, o->hist + (size_t)pos * o->dim, rows * sizeof(float));
    }
    return hk->ingress ? hk->ingress(hk->ctx, pos, T, x) : 0;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static int setup(veil_orch *o)
{
    const veil_config *c = &o->m->cfg;
    int rc = 0;
    for (int i = 0; i < o->n_nodes && !rc; i++) {
        onode *n = &o->nodes[i];
        rc = veil_parse_hostport(o->o.nodes[i], n->host, sizeof n->host, &n->port);
        snprintf(n->addr, sizeof n->addr, "%s", o->o.nodes[i]);
        if (!rc) rc = node_connect(o, i, o->o.timeout_ms);
        if (!rc) {
            int t = (int)((n->caps.max_frame - 8) / ((uint32_t)o->dim * 4));
            if (t < o->max_T) o->max_T = t;
        }
    }
    if (rc) return rc;
    if (o->max_T < 1) return veil_fail(VEIL_ERANGE, "nodes' frame limit is below one hidden state");
    if ((o->o.hooks.replica_result || o->o.verify) &&
        !(o->rbuf = malloc((size_t)MAX_REP * o->max_T * o->dim * sizeof(float))))
        return veil_fail(VEIL_ENOMEM, "out of memory");
    if (o->o.split && (rc = veil_model_shard(o->m, 0, o->o.split, o->max_seq, &o->local))) return rc;
    if (o->o.verify && (rc = rank_nodes(o))) return rc;
    if ((rc = schedule(o))) return rc;
    if (o->o.verify && (rc = orch_verify_new(o->o.verify, o->n_shards, o->dim, o->max_seq, &o->ver))) return rc;
    if (o->ver) orch_verify_set_model(o->ver, o->m);
    if (o->o.hooks.plan) {
        int bounds[VEIL_MAX_LAYERS + 1];
        for (int s = 0; s < o->n_shards; s++) bounds[s] = o->shards[s].first;
        bounds[o->n_shards] = c->n_layers;
        if ((rc = o->o.hooks.plan(o->o.hooks.ctx, o->n_shards, bounds))) return rc;
    }
    for (int s = 0; s < o->n_shards && !rc; s++)
        for (int r = 0; r < o->shards[s].n_rep && !rc; r++) rc = load_shard(o, s, r);
    if (!rc) rc = ensure_placement(o);
    if (!rc) rc = build_sessions(o);
    return rc;
}

int veil_orch_new(const veil_model *m, const veil_orch_opts *opts, veil_orch **out)
{
    *out = NULL;
    const veil_config *c = &m->cfg;
    if (opts->n_nodes < 1 || opts->n_nodes > 64) return veil_fail(VEIL_EINVAL, "need 1..64 nodes, got %d", opts->n_nodes);
    if (opts->split < 0 || opts->split >= c->n_layers)
        return veil_fail(VEIL_EINVAL, "--split %d: must leave at least one of %d layers to the nodes", opts->split, c->n_layers);
    if (opts->replicas < 0 || opts->replicas > MAX_REP) return veil_fail(VEIL_EINVAL, "replicas must be 1..%d", MAX_REP);
    veil_orch *o = calloc(1, sizeof *o);
    if (!o) return veil_fail(VEIL_ENOMEM, "out of memory");
    o->m = m;
    o->o = *opts;
    if (!o->o.replicas) o->o.replicas = 1;
    if (o->o.timeout_ms <= 0) o->o.timeout_ms = 30000;
    if (o->o.heartbeat_ms <= 0) o->o.heartbeat_ms = 1000;
    if (!o->o.transport) o->o.transport = veil_transport_plain();
    o->dim = c->dim;
    o->max_seq = opts->max_seq > 0 && opts->max_seq < c->seq_len ? opts->max_seq : c->seq_len;
    o->max_T = o->max_seq;
    o->n_nodes = opts->n_nodes;
    o->nodes = calloc((size_t)o->n_nodes, sizeof *o->nodes);
    o->hist = malloc((size_t)o->max_seq * o->dim * sizeof(float));
    o->tmp = malloc((size_t)o->max_seq * o->dim * sizeof(float)); /* replays */
    int rc = o->nodes && o->hist && o->tmp ? setup(o) : veil_fail(VEIL_ENOMEM, "out of memory");
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", veil_last_error());
        veil_orch_free(o);
        return veil_fail(rc, "%s", why);
    }
    *out = o;
    return 0;
}

veil_backend veil_orch_backend(veil_orch *o) { return (veil_backend){.ctx = o, .forward = orch_forward}; }

void veil_orch_free(veil_orch *o)
{
    if (!o) return;
    if (o->shards) close_sessions(o);
    for (int i = 0; o->nodes && i < o->n_nodes; i++)
        if (o->nodes[i].up) veil_stream_close(&o->nodes[i].s);
    veil_shard_free(o->local);
    orch_verify_free(o->ver);
    size_t hist = (size_t)o->max_seq * o->dim * sizeof(float);
    if (o->hist) veil_wipe(o->hist, hist); /* hidden states reveal the prompt */
    if (o->tmp) veil_wipe(o->tmp, hist);
    free(o->hist);
    free(o->tmp);
    free(o->rbuf);
    free(o->shards);
    free(o->nodes);
    free(o);
}

int veil_orch_reprovision(veil_orch *o)
{
    const veil_orch_hooks *hk = &o->o.hooks;
    int rc = 0;
    if (hk->plan) {
        int bounds[VEIL_MAX_LAYERS + 1];
        for (int s = 0; s < o->n_shards; s++) bounds[s] = o->shards[s].first;
        bounds[o->n_shards] = o->m->cfg.n_layers;
        rc = hk->plan(hk->ctx, o->n_shards, bounds);
    }
    for (int s = 0; s < o->n_shards && !rc; s++)
        for (int r = 0; r < o->shards[s].n_rep && !rc; r++) {
            oshard *sh = &o->shards[s];
            int i = sh->rep[r];
            uint32_t old = sh->handle[r];
            if (!old || !o->nodes[i].up) continue;
            rc = load_shard(o, s, r); /* a new hold; sessions on the old one end below */
            uint8_t buf[4];
            if (!rc) /* drop the old hold (the same handle when the weights did not change) */
                node_send(o, i, VEIL_MSG_RELEASE, 0, buf, veil_msg_u32_encode(old, buf));
        }
    if (!rc) rc = ensure_placement(o);
    if (!rc) rc = build_sessions(o);
    return rc;
}

int veil_orch_n_nodes(const veil_orch *o) { return o->n_nodes; }
int veil_orch_n_shards(const veil_orch *o) { return o->n_shards; }
int veil_orch_failovers(const veil_orch *o) { return o->failovers; }
int veil_orch_verify_flags(const veil_orch *o) { return o->ver ? orch_verify_flags(o->ver) : 0; }

void veil_orch_bytes(const veil_orch *o, uint64_t *sent, uint64_t *received)
{
    *sent = o->sent;
    *received = o->received;
}

void veil_orch_shard(const veil_orch *o, int s, int *first, int *last, int *node)
{
    const oshard *sh = &o->shards[s];
    *first = sh->first;
    *last = sh->last;
    *node = sh->rep[sh->active];
}

int veil_orch_node_query(veil_orch *o, int i, veil_orch_node_info *out)
{
    onode *n = &o->nodes[i];
    memset(out, 0, sizeof *out);
    snprintf(out->addr, sizeof out->addr, "%s", n->addr);
    snprintf(out->name, sizeof out->name, "%s", n->caps.name);
    out->capacity = n->caps.capacity_milli / 1000.0;
    size_t k = 0;
    for (int s = 0; s < o->n_shards; s++)
        for (int r = 0; r < o->shards[s].n_rep; r++)
            if (o->shards[s].rep[r] == i && o->shards[s].handle[r] && k + 24 < sizeof out->layers) {
                k += (size_t)snprintf(out->layers + k, sizeof out->layers - k, "%s%d-%d", k ? "," : "",
                                      o->shards[s].first, o->shards[s].last - 1);
                out->active += r == o->shards[s].active;
            }
    if (!k) snprintf(out->layers, sizeof out->layers, "-");
    veil_frame f;
    if (n->up && !node_rpc(o, i, VEIL_MSG_STATS_REQ, 0, NULL, 0, &f)) {
        if (f.h.type == VEIL_MSG_STATS) veil_msg_stats_decode(f.payload, f.h.length, &n->stats);
        veil_frame_free(&f);
    }
    out->alive = n->up;
    out->flagged = n->flagged;
    out->stats = n->stats;
    return 0;
}
