/* Client side of critical inference (veil/critical.h): the integer layers
 * run on nodes, every shard step comes back with a zkDPS proof, and nothing
 * is used before its proof verified. */
#include "veil/critical.h"
#include "veil/orchestrator.h"
#include "veil/sve.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char addr[300];
    char name[VEIL_PROTO_STR_MAX + 1];
    double cap;
    veil_stream s;
    int up, dead, flagged;
    uint8_t loaded[VEIL_MAX_LAYERS]; /* SVE: shard s's weights uploaded on this connection */
} cnode;

struct veil_crit {
    const veil_model *m;
    veil_crit_opts o;
    veil_zk_registry own_reg;
    const veil_zk_registry *reg;
    cnode *nodes;
    int n, n_shards;
    int bounds[VEIL_MAX_LAYERS + 1];
    int shard_node[VEIL_MAX_LAYERS];
    uint8_t key[VEIL_ZK_KEY_BYTES]; /* derives the boundary and cache blindings */
    int32_t *in[VEIL_MAX_LAYERS];   /* per shard: the Q16 rows that entered it (verified) */
    veil_zk_kv *kv[VEIL_MAX_LAYERS]; /* per shard: its verified KV-cache commitments */
    int n_prefix;
    veil_crit_stats st;
    /* SVE: the session's keys and, per shard, the ZK_LOAD payload of its
     * transformed integer weights and that payload's SHA-256 (its name) */
    veil_sve_keys *keys;
    uint8_t *load[VEIL_MAX_LAYERS], load_id[VEIL_MAX_LAYERS][32];
    size_t load_len[VEIL_MAX_LAYERS];
    int32_t *xf_ints; /* all transformed layers (the registry's weights) */
};

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- connections ------------------------------------------------------------ */

static int send_counted(veil_crit *c, cnode *nd, int type, const void *p, size_t len)
{
    c->st.bytes_sent += VEIL_FRAME_HDR + len;
    return veil_frame_write(&nd->s, type, 0, p, len);
}

/* The next frame from nd, counted; the ZK_LOADED acknowledgement of an
 * upload of ours is consumed here (the request sent right after the upload
 * is what the caller waits for). */
static int read_frame(veil_crit *c, cnode *nd, veil_frame *f)
{
    for (;;) {
        int rc = veil_frame_read(&nd->s, VEIL_DEFAULT_MAX_FRAME, f);
        if (rc) return rc;
        c->st.bytes_received += VEIL_FRAME_HDR + f->h.length;
        int ours = 0;
        for (int s = 0; f->h.type == VEIL_MSG_ZK_LOADED && f->h.length == 32 && s < c->n_shards; s++)
            ours |= c->load[s] && !memcmp(f->payload, c->load_id[s], 32);
        if (!ours) return 0;
        veil_frame_free(f);
    }
}

/* The next frame, which must be `want`; any other frame (an ERROR, or a
 * wrong type) becomes rc with *refused set: the node answered, but without
 * a result. A broken connection leaves *refused clear. */
static int recv_counted(veil_crit *c, cnode *nd, int want, veil_frame *f, int *refused)
{
    int rc = read_frame(c, nd, f);
    if (rc) return rc;
    if (f->h.type == want) return 0;
    veil_msg_error e;
    if (f->h.type == VEIL_MSG_ERROR && !veil_msg_error_decode(f->payload, f->h.length, &e))
        rc = veil_fail(VEIL_EPROTO, "no result, node error: %s", e.message);
    else rc = veil_fail(VEIL_EPROTO, "no result: expected %s, got %s", veil_msg_name(want), veil_msg_name(f->h.type));
    if (refused) *refused = 1;
    veil_frame_free(f);
    return rc;
}

static int dial(veil_crit *c, cnode *nd)
{
    char host[256];
    int port;
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    veil_frame f;
    veil_msg_caps caps;
    const veil_transport *t = c->o.transport ? c->o.transport : veil_transport_plain();
    int rc = veil_parse_hostport(nd->addr, host, sizeof host, &port);
    if (!rc) rc = veil_dial(t, host, port, c->o.timeout_ms, &nd->s);
    if (rc) return rc;
    veil_msg_hello h = {VEIL_ROLE_CLIENT, ""};
    snprintf(h.name, sizeof h.name, "%s", c->o.name ? c->o.name : "veil-critical");
    rc = send_counted(c, nd, VEIL_MSG_HELLO, buf, veil_msg_hello_encode(&h, buf));
    if (!rc) rc = recv_counted(c, nd, VEIL_MSG_CAPS, &f, NULL);
    if (!rc) {
        rc = veil_msg_caps_decode(f.payload, f.h.length, &caps);
        veil_frame_free(&f);
    }
    if (rc) {
        veil_stream_close(&nd->s);
        return rc;
    }
    snprintf(nd->name, sizeof nd->name, "%.255s", caps.name[0] ? caps.name : nd->addr);
    nd->cap = caps.capacity_milli ? caps.capacity_milli / 1000.0 : 1.0;
    nd->up = 1;
    memset(nd->loaded, 0, sizeof nd->loaded); /* uploads live as long as a connection */
    return 0;
}

static void node_down(veil_crit *c, cnode *nd, const char *why)
{
    if (!c->o.quiet) fprintf(stderr, "veil critical: node %s unreachable: %s\n", nd->name, why);
    if (nd->up) veil_stream_close(&nd->s);
    nd->up = 0;
    nd->dead = 1;
}

/* A failed or missing proof: never scheduled again in this run, and a FLAG
 * event in the reputation ledger. */
static void flag(veil_crit *c, cnode *nd, int s, int pos, const char *why)
{
    fprintf(stderr, "node %s flagged: %s (layers %d:%d, position %d)\n", nd->name, why, c->bounds[s],
            c->bounds[s + 1], pos);
    if (c->o.ledger)
        veil_ledger_record(c->o.ledger, nd->name, VEIL_EV_FLAG, c->bounds[s], c->bounds[s + 1], pos, why);
    if (nd->up) veil_stream_close(&nd->s); /* it may still be busy: drop it */
    nd->up = 0;
    nd->flagged = 1;
    c->st.flags++;
}

/* The next usable node after shard s's current one (any node holds the
 * checkpoint, so any can serve any shard); -1 when none is left. */
static int next_node(veil_crit *c, int s)
{
    for (int k = 1; k <= c->n; k++) {
        int i = (c->shard_node[s] + k) % c->n;
        cnode *nd = &c->nodes[i];
        if (nd->flagged || nd->dead) continue;
        if (nd->up || !dial(c, nd)) return i;
        node_down(c, nd, veil_last_error());
    }
    return -1;
}

/* ---- one shard step ---------------------------------------------------------- */

typedef struct {
    int s, pos, N;
    const int32_t *x_in;
    uint8_t nonce[VEIL_ZK_NONCE_BYTES];
    uint8_t *in_cm; /* client's commitment to x_in (NULL until needed) */
    size_t in_len;
} step;

/* Send the request of step st (early: rows now, ZK_PROOF later): the
 * shard's verified input rows of positions 0..pos-1, then the new ones. */
static int send_req(veil_crit *c, cnode *nd, const step *st, int early)
{
    const veil_config *cfg = &c->m->cfg;
    size_t old = (size_t)st->pos * cfg->dim, rows = old + (size_t)st->N * cfg->dim;
    size_t len = VEIL_CRIT_FWD_HDR + 4 * rows;
    if (c->keys && !nd->loaded[st->s]) { /* SVE: the node gets this shard's transformed weights */
        int rc = send_counted(c, nd, VEIL_MSG_ZK_LOAD, c->load[st->s], c->load_len[st->s]);
        if (rc) return rc;
        nd->loaded[st->s] = 1;
    }
    uint8_t *p = malloc(len);
    if (!p) return veil_fail(VEIL_ENOMEM, "out of memory");
    memcpy(p, c->keys ? c->load_id[st->s] : c->m->sha256, 32);
    put32(p + 32, (uint32_t)c->bounds[st->s]);
    put32(p + 36, (uint32_t)c->bounds[st->s + 1]);
    put32(p + 40, (uint32_t)st->pos);
    put32(p + 44, (uint32_t)st->N);
    put32(p + 48, (c->o.prove ? VEIL_CRIT_PROVE : 0) | (early ? VEIL_CRIT_EARLY : 0));
    memcpy(p + 52, c->key, VEIL_ZK_KEY_BYTES);
    memcpy(p + 84, st->nonce, VEIL_ZK_NONCE_BYTES);
    uint8_t *q = p + VEIL_CRIT_FWD_HDR;
    for (size_t i = 0; i < rows; i++)
        put32(q + 4 * i, (uint32_t)(i < old ? c->in[st->s][i] : st->x_in[i - old]));
    int rc = send_counted(c, nd, VEIL_MSG_ZK_FORWARD, p, len);
    veil_wipe(p + 52, VEIL_ZK_KEY_BYTES);
    free(p);
    return rc;
}

static int ask(veil_crit *c, cnode *nd, const step *st, veil_frame *reply, int *refused)
{
    int rc = send_req(c, nd, st, 0);
    return rc ? rc : recv_counted(c, nd, VEIL_MSG_ZK_RESULT, reply, refused);
}

/* Check the proof of a reply whose rows y the client will use; on success
 * *out_cm is the client's commitment to y (the next shard's input). */
static int check_proof(veil_crit *c, step *st, const int32_t *y, const uint8_t *pb, size_t pl,
                       uint8_t **out_cm, size_t *out_len)
{
    const veil_config *cfg = &c->m->cfg;
    int first = c->bounds[st->s], last = c->bounds[st->s + 1], rc;
    veil_zk_shard_proof pf = {0};
    double t0 = veil_now();
    if (!pl) return veil_fail(VEIL_EVERIFY, "no proof attached");
    if ((rc = veil_zk_shard_proof_read(pb, pl, &pf))) return veil_fail(rc, "malformed proof: %s", veil_last_error());
    if (pf.first != first || pf.last != last || pf.pos != st->pos || pf.T != st->N)
        rc = veil_fail(VEIL_EVERIFY, "proof is for layers %d:%d at %d+%d, not %d:%d at %d+%d", pf.first,
                       pf.last, pf.pos, pf.T, first, last, st->pos, st->N);
    if (!rc && !st->in_cm)
        rc = veil_zk_boundary_commit(cfg, st->pos, st->N, st->x_in, c->key, first, &st->in_cm, &st->in_len);
    if (!rc && veil_zk_shard_input_is(&pf, st->in_cm, st->in_len))
        rc = veil_fail(VEIL_EVERIFY, "proof input is not the hidden state sent");
    if (!rc) rc = veil_zk_boundary_commit(cfg, st->pos, st->N, y, c->key, last, out_cm, out_len);
    if (!rc && veil_zk_shard_output_is(&pf, *out_cm, *out_len))
        rc = veil_fail(VEIL_EVERIFY, "proof output is not the hidden state returned");
    if (!rc && (rc = veil_zk_verify_shard(c->reg, c->kv[st->s], &pf, st->nonce)))
        rc = veil_fail(rc, "proof rejected: %s", veil_last_error());
    if (!rc) {
        c->st.proofs++;
        c->st.proof_bytes += pl;
    }
    c->st.verify_s += veil_now() - t0;
    veil_zk_shard_proof_free(&pf);
    return rc;
}

/* The rows of a ZK_RESULT into y (N x dim); *pl = its inline proof length. */
static int parse_rows(veil_crit *c, const step *st, const veil_frame *f, int32_t *y, size_t *pl)
{
    const uint8_t *p = f->payload;
    size_t n = f->h.length, rows = (size_t)st->N * (size_t)c->m->cfg.dim;
    if (n < 12 + 4 * rows || get32(p) != (uint32_t)st->N || get32(p + 4) != (uint32_t)c->m->cfg.dim)
        return veil_fail(VEIL_EVERIFY, "result has the wrong shape");
    *pl = get32(p + 8 + 4 * rows);
    if (n != 12 + 4 * rows + *pl) return veil_fail(VEIL_EVERIFY, "result length does not match its proof length");
    for (size_t i = 0; i < rows; i++) y[i] = (int32_t)get32(p + 8 + 4 * i);
    return 0;
}

/* Parse ZK_RESULT into y (N x dim) and check its inline proof. */
static int check_reply(veil_crit *c, step *st, const veil_frame *f, int32_t *y, uint8_t **out_cm,
                       size_t *out_len)
{
    size_t pl = 0, rows = (size_t)st->N * (size_t)c->m->cfg.dim;
    int rc = parse_rows(c, st, f, y, &pl);
    if (rc || !c->o.prove) return rc;
    return check_proof(c, st, y, f->payload + 12 + 4 * rows, pl, out_cm, out_len);
}

/* Run shard st->s until a node returns a verified result (flagging the
 * others); y receives the output rows, *out_cm their commitment. */
/* The node to run shard s on: its current one while usable, else the next
 * (counted as a re-run). NULL when none is left. */
static cnode *shard_node(veil_crit *c, int s)
{
    for (;;) {
        int i = c->shard_node[s];
        cnode *nd = &c->nodes[i];
        if (!nd->flagged && !nd->dead && (nd->up || !dial(c, nd))) return nd;
        if (!nd->flagged && !nd->dead) node_down(c, nd, veil_last_error());
        if ((i = next_node(c, s)) < 0) {
            veil_fail(VEIL_EVERIFY, "no usable node left for layers %d:%d", c->bounds[s], c->bounds[s + 1]);
            return NULL;
        }
        c->shard_node[s] = i;
        c->st.reruns++;
    }
}

static int run_shard(veil_crit *c, step *st, int32_t *y, uint8_t **out_cm, size_t *out_len)
{
    for (;;) {
        cnode *nd = shard_node(c, st->s);
        if (!nd) return VEIL_EVERIFY;
        if (RAND_bytes(st->nonce, sizeof st->nonce) != 1) return veil_fail(VEIL_EIO, "no randomness");
        veil_frame f;
        int refused = 0, rc = ask(c, nd, st, &f, &refused);
        if (refused) { /* no result, hence no proof */
            flag(c, nd, st->s, st->pos, veil_last_error());
            continue;
        }
        if (rc) {
            node_down(c, nd, veil_last_error());
            continue;
        }
        rc = check_reply(c, st, &f, y, out_cm, out_len);
        veil_frame_free(&f);
        if (!rc) {
            if (c->o.ledger && c->o.prove) veil_ledger_credit(c->o.ledger, nd->name, 1);
            return 0;
        }
        free(*out_cm);
        *out_cm = NULL;
        flag(c, nd, st->s, st->pos, veil_last_error());
    }
}

/* ---- pipelined proving (early rows) ------------------------------------------- *
 * Every shard's node sends its rows as soon as they are computed and proves
 * afterwards, so the shards of one step prove at the same time: the step
 * waits for the slowest proof instead of the sum of all. Nothing is used
 * before every proof of the step verified; the first shard whose proof
 * fails is flagged and the step resumes from it (later shards ran on
 * unverified input and are run again). */

enum { P_OK = 0, P_FLAG = 1, P_DOWN = 2 };

typedef struct {
    int start, sent; /* shards start..sent were asked in this attempt */
    int32_t *rows[VEIL_MAX_LAYERS];  /* each shard's output */
    int32_t *in[VEIL_MAX_LAYERS];    /* each shard's input as sent (after an SVE hop) */
    uint8_t *proof[VEIL_MAX_LAYERS];
    size_t plen[VEIL_MAX_LAYERS];
    int node[VEIL_MAX_LAYERS], bad[VEIL_MAX_LAYERS];
    uint8_t nonce[VEIL_MAX_LAYERS][VEIL_ZK_NONCE_BYTES];
    char why[VEIL_MAX_LAYERS][160];
} pipe_t;

static void pipe_fail(pipe_t *p, int s, int kind, const char *why)
{
    if (p->bad[s]) return;
    p->bad[s] = kind;
    snprintf(p->why[s], sizeof p->why[s], "%s", why);
}

/* The shard of this attempt that a ZK_PROOF from node i answers: the one
 * whose request nonce the proof carries (a node's proving workers may
 * finish out of order); -1 if none. */
static int proof_owner(const pipe_t *p, int i, const veil_frame *f)
{
    uint8_t nonce[VEIL_ZK_NONCE_BYTES];
    if (f->h.length < 4 || veil_zk_shard_proof_nonce(f->payload + 4, f->h.length - 4, nonce)) return -1;
    int owner = -1;
    for (int s = p->start; s <= p->sent && owner < 0; s++)
        if (p->node[s] == i && !p->proof[s] && !p->bad[s] && veil_ct_equal(nonce, p->nonce[s], VEIL_ZK_NONCE_BYTES))
            owner = s;
    return owner;
}

/* File a ZK_PROOF frame (u32 length, proof) under shard s. */
static void file_proof(veil_crit *c, pipe_t *p, int s, const veil_frame *f)
{
    if (f->h.length < 4 || get32(f->payload) != f->h.length - 4 || f->h.length == 4)
        return pipe_fail(p, s, P_FLAG, "malformed ZK_PROOF frame");
    if (!(p->proof[s] = malloc(f->h.length - 4))) return pipe_fail(p, s, P_DOWN, "out of memory");
    memcpy(p->proof[s], f->payload + 4, f->h.length - 4);
    p->plen[s] = f->h.length - 4;
    (void)c;
}

/* Every shard of this attempt waiting on node i fails the same way. */
static void node_lost(pipe_t *p, int i, int kind, const char *why)
{
    for (int s = p->start; s <= p->sent; s++)
        if (p->node[s] == i && !p->proof[s]) pipe_fail(p, s, kind, why);
}

/* Read one frame from node i: ZK_PROOFs are filed (returns 0), a ZK_RESULT
 * is left in *f (returns 1); errors fail the node's waiting shards. */
static int pipe_read(veil_crit *c, pipe_t *p, int i, veil_frame *f)
{
    /* a frame that arrived but is not an answer (ERROR, unexpected type) is a
     * missing result: flag; a broken connection is not: down */
    int refused = 0, rc = read_frame(c, &c->nodes[i], f);
    if (!rc) {
        if (f->h.type == VEIL_MSG_ZK_RESULT) return 1;
        int s = f->h.type == VEIL_MSG_ZK_PROOF ? proof_owner(p, i, f) : -1;
        refused = s < 0;
        if (s >= 0) file_proof(c, p, s, f);
        else if (f->h.type == VEIL_MSG_ERROR) {
            veil_msg_error e;
            rc = veil_msg_error_decode(f->payload, f->h.length, &e)
                     ? veil_fail(VEIL_EPROTO, "no result, malformed ERROR")
                     : veil_fail(VEIL_EPROTO, "no result, node error: %s", e.message);
        } else rc = veil_fail(VEIL_EPROTO, "unexpected %s", veil_msg_name(f->h.type));
        veil_frame_free(f);
    }
    if (rc) node_lost(p, i, refused ? P_FLAG : P_DOWN, veil_last_error());
    return rc ? rc : 0;
}

/* SVE with hops: rows leaving shard s move into the next segment's basis
 * at the client (dequantize, rekey, quantize). 1 when it did, 0 when no
 * hop follows s, < 0 on error. */
static int sve_hop(veil_crit *c, int s, int32_t *x, int N)
{
    if (!c->keys || s + 1 >= c->n_shards || !veil_sve_hop_after(c->keys, s)) return 0;
    size_t n = (size_t)N * c->m->cfg.dim;
    float *f = malloc(sizeof *f * n);
    if (!f) return veil_fail(VEIL_ENOMEM, "out of memory");
    veil_q_dequantize(x, f, n);
    int rc = veil_sve_rekey_hop(c->keys, s, f, N);
    if (!rc) rc = veil_q_quantize(f, x, n, INT32_MAX);
    veil_wipe_free(f, sizeof *f * n);
    return rc ? rc : 1;
}

/* Phase 1: ask shards start.. in order, each on the rows of the previous,
 * until one gives no rows. */
static void pipe_ask(veil_crit *c, pipe_t *p, const int32_t *x_in, int pos, int N)
{
    for (int s = p->start; s < c->n_shards; s++) {
        cnode *nd = shard_node(c, s);
        p->sent = s;
        p->node[s] = nd ? (int)(nd - c->nodes) : -1;
        if (!nd) return pipe_fail(p, s, P_DOWN, veil_last_error());
        int i = p->node[s];
        size_t rows = (size_t)N * c->m->cfg.dim, pl = 1;
        if (!(p->rows[s] = malloc(4 * rows)) || !(p->in[s] = malloc(4 * rows)))
            return pipe_fail(p, s, P_DOWN, "out of memory");
        memcpy(p->in[s], s == p->start ? x_in : p->rows[s - 1], 4 * rows);
        if (s && sve_hop(c, s - 1, p->in[s], N) < 0) return pipe_fail(p, s, P_DOWN, veil_last_error());
        step st = {.s = s, .pos = pos, .N = N, .x_in = p->in[s]};
        if (RAND_bytes(p->nonce[s], VEIL_ZK_NONCE_BYTES) != 1) return pipe_fail(p, s, P_DOWN, "no randomness");
        memcpy(st.nonce, p->nonce[s], sizeof st.nonce);
        if (send_req(c, nd, &st, 1)) return node_lost(p, i, P_DOWN, veil_last_error());
        veil_frame f;
        int rc;
        while (!(rc = pipe_read(c, p, i, &f))) {}
        if (rc < 0) return;
        rc = parse_rows(c, &st, &f, p->rows[s], &pl);
        veil_frame_free(&f);
        if (rc || pl) return pipe_fail(p, s, P_FLAG, rc ? veil_last_error() : "inline proof in early mode");
    }
}

/* Phase 2: wait for every proof of the attempt (this also drains the
 * connections), then verify in chain order. Returns the first failed
 * shard, or -1. */
static int pipe_verify(veil_crit *c, pipe_t *p, const int32_t *x_in, int pos, int N)
{
    double t0 = veil_now();
    for (int s = p->start; s <= p->sent; s++) {
        veil_frame f;
        int rc = 0;
        while (!p->bad[s] && !p->proof[s] && !(rc = pipe_read(c, p, p->node[s], &f))) {}
        if (rc == 1) {
            veil_frame_free(&f);
            node_lost(p, p->node[s], P_FLAG, "a second result instead of the proof");
        }
    }
    c->st.proof_wait_s += veil_now() - t0;
    step st = {.pos = pos, .N = N};
    int failed = -1;
    for (int s = p->start; s <= p->sent && failed < 0; s++) {
        uint8_t *out_cm = NULL;
        size_t out_len = 0;
        st.s = s;
        st.x_in = p->in[s];
        if (s && c->keys && veil_sve_hop_after(c->keys, s - 1)) { /* another basis: its own commitment */
            free(st.in_cm);
            st.in_cm = NULL;
        }
        memcpy(st.nonce, p->nonce[s], sizeof st.nonce);
        if (!p->bad[s] && check_proof(c, &st, p->rows[s], p->proof[s], p->plen[s], &out_cm, &out_len))
            pipe_fail(p, s, P_FLAG, veil_last_error());
        if (p->bad[s]) failed = s;
        else if (c->o.ledger) veil_ledger_credit(c->o.ledger, c->nodes[p->node[s]].name, 1);
        free(st.in_cm);
        st.in_cm = out_cm, st.in_len = out_len;
    }
    free(st.in_cm);
    return failed;
}

static void pipe_clear(pipe_t *p, int from, int n_shards)
{
    for (int s = from; s < n_shards; s++) {
        free(p->rows[s]);
        free(p->in[s]);
        p->in[s] = NULL;
        free(p->proof[s]);
        p->rows[s] = NULL, p->proof[s] = NULL, p->bad[s] = 0, p->plen[s] = 0;
    }
}

/* Shard s accepted rows at pos..pos+N-1: they join its verified input. */
static void keep_input(veil_crit *c, int s, int pos, int N, const int32_t *x)
{
    size_t dim = (size_t)c->m->cfg.dim;
    memcpy(c->in[s] + pos * dim, x, sizeof *x * N * dim);
}

/* One step through every shard, pipelined; cur (N x dim) in, out in place. */
static int run_pipelined(veil_crit *c, int pos, int N, int32_t *cur)
{
    pipe_t *p = calloc(1, sizeof *p);
    if (!p) return veil_fail(VEIL_ENOMEM, "out of memory");
    int32_t *in = cur;
    int rc = 0;
    for (;;) {
        p->sent = p->start - 1;
        pipe_ask(c, p, in, pos, N);
        int f = pipe_verify(c, p, in, pos, N);
        if (f < 0) break;
        if (p->node[f] < 0) { /* no usable node was left for it */
            rc = veil_fail(VEIL_EVERIFY, "%s", p->why[f]);
            break;
        }
        cnode *nd = &c->nodes[p->node[f]];
        if (p->bad[f] == P_FLAG) flag(c, nd, f, pos, p->why[f]);
        else if (!nd->dead && !nd->flagged) node_down(c, nd, p->why[f]);
        if (!shard_node(c, f)) {
            rc = VEIL_EVERIFY;
            break;
        }
        pipe_clear(p, f, c->n_shards);
        p->start = f;
        in = f ? p->rows[f - 1] : cur;
    }
    for (int s = 0; !rc && s < c->n_shards; s++) keep_input(c, s, pos, N, p->in[s]);
    if (!rc) memcpy(cur, p->rows[c->n_shards - 1], sizeof(int32_t) * (size_t)N * c->m->cfg.dim);
    pipe_clear(p, 0, c->n_shards);
    free(p);
    return rc;
}

/* ---- the backend --------------------------------------------------------------- */

/* One step shard after shard, each reply checked before the next request
 * (--int, and critical with sync proving). cur (N x dim) in, out in place. */
static int run_chain(veil_crit *c, int pos, int N, int32_t *cur)
{
    size_t rows = (size_t)N * c->m->cfg.dim;
    int32_t *y = malloc(4 * rows);
    step st = {.pos = pos, .N = N, .x_in = cur};
    int rc = y ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    for (int s = 0; !rc && s < c->n_shards; s++) {
        uint8_t *out_cm = NULL;
        size_t out_len = 0;
        st.s = s;
        rc = run_shard(c, &st, y, &out_cm, &out_len);
        if (!rc) keep_input(c, s, pos, N, cur);
        free(st.in_cm);
        st.in_cm = out_cm; /* the output commitment is the next shard's input commitment */
        st.in_len = out_len;
        memcpy(cur, y, 4 * rows);
        int h = rc ? 0 : sve_hop(c, s, cur, N);
        if (h < 0) rc = h;
        if (h > 0) { /* rekeyed: the next input has a commitment of its own */
            free(st.in_cm);
            st.in_cm = NULL;
        }
    }
    free(st.in_cm);
    free(y);
    return rc;
}

/* Positions pos..pos+T-1: with proofs in provable chunks (veil_zk_chunk),
 * each through every shard before the next. */
static int crit_forward(void *ctx, int pos, int T, float *x)
{
    veil_crit *c = ctx;
    int dim = c->m->cfg.dim, rc = 0;
    if (pos != c->n_prefix || T < 1 || T > c->m->cfg.seq_len - pos)
        return veil_fail(VEIL_ERANGE, "critical: positions %d..%d (prefix %d, context %d)", pos, pos + T - 1,
                         c->n_prefix, c->m->cfg.seq_len);
    int32_t *cur = malloc(sizeof(int32_t) * (size_t)T * dim);
    if (!cur) return veil_fail(VEIL_ENOMEM, "out of memory");
    if (c->keys) rc = veil_sve_enter(c->keys, x, T); /* the nodes see only the secret basis */
    if (!rc) rc = veil_q_quantize(x, cur, (size_t)T * dim, INT32_MAX);
    for (int done = 0, n; !rc && done < T; done += n) {
        n = c->o.prove ? veil_zk_chunk(pos + done, T - done) : T - done;
        int32_t *rows = cur + (size_t)done * dim;
        veil_crit_stats before = c->st;
        double t0 = veil_now();
        rc = c->o.prove && !c->o.sync ? run_pipelined(c, pos + done, n, rows) : run_chain(c, pos + done, n, rows);
        if (!rc) c->n_prefix = pos + done + n;
        if (!rc && c->o.prove && !c->o.quiet) /* progress: one line per proven chunk */
            fprintf(stderr, "veil critical: positions %d..%d: %d proof(s) verified, %.1f KiB, %.2f s (%.2f s waiting for proofs)\n",
                    pos + done, pos + done + n - 1, c->st.proofs - before.proofs,
                    (double)(c->st.proof_bytes - before.proof_bytes) / 1024, veil_now() - t0,
                    c->st.proof_wait_s - before.proof_wait_s);
    }
    if (!rc) {
        veil_q_dequantize(cur, x, (size_t)T * dim);
        if (c->keys) rc = veil_sve_exit(c->keys, x, T);
        c->st.steps++;
    }
    veil_wipe_free(cur, sizeof(int32_t) * (size_t)T * dim);
    return rc;
}

veil_backend veil_crit_backend(veil_crit *c) { return (veil_backend){.ctx = c, .forward = crit_forward}; }

/* ---- setup ---------------------------------------------------------------------- */

/* SVE: keys for the schedule's shards, each shard's weights transformed
 * and quantized (the ZK_LOAD payloads), and the qmodel of all of them (the
 * weights the registry commits to). */
static int setup_sve(veil_crit *c, veil_qmodel *qxf, veil_qlayer *ql)
{
    const veil_config *cfg = &c->m->cfg;
    size_t per = veil_layer_floats(cfg);
    int rc = veil_sve_keys_new(cfg, (veil_sve_variant)c->o.sve, c->n_shards, c->bounds, c->o.sve_hop, &c->keys);
    float *f = rc ? NULL : malloc(sizeof *f * per * cfg->n_layers);
    if (!rc && !(c->xf_ints = malloc(sizeof(int32_t) * per * cfg->n_layers))) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && !f) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    for (int s = 0; !rc && s < c->n_shards; s++) {
        int first = c->bounds[s], last = c->bounds[s + 1];
        rc = veil_sve_transform_shard(c->keys, s, c->m->layers + first, first, last, f + per * first);
        for (int l = first; !rc && l < last; l++) {
            veil_layer lf;
            veil_layer_from_floats(cfg, f + per * l, &lf);
            rc = veil_qlayer_quantize(cfg, &lf, c->xf_ints + per * l);
            veil_qlayer_from_ints(cfg, c->xf_ints + per * l, &ql[l]);
        }
        size_t n = VEIL_CRIT_LOAD_HDR + 4 * per * (last - first);
        if (!rc && !(c->load[s] = malloc(n))) rc = veil_fail(VEIL_ENOMEM, "out of memory");
        if (rc) break;
        const int cf[8] = {cfg->dim, cfg->hidden_dim, cfg->n_layers, cfg->n_heads, cfg->n_kv_heads,
                           cfg->vocab_size, cfg->seq_len, cfg->shared_classifier};
        for (int i = 0; i < 8; i++) put32(c->load[s] + 4 * i, (uint32_t)cf[i]);
        put32(c->load[s] + 32, (uint32_t)first);
        put32(c->load[s] + 36, (uint32_t)last);
        for (size_t i = 0; i < per * (last - first); i++)
            put32(c->load[s] + VEIL_CRIT_LOAD_HDR + 4 * i, (uint32_t)c->xf_ints[per * first + i]);
        c->load_len[s] = n;
        veil_sha256(c->load[s], n, c->load_id[s]);
    }
    if (f) veil_wipe_free(f, sizeof *f * per * cfg->n_layers);
    *qxf = (veil_qmodel){.cfg = *cfg, .layers = ql};
    return rc;
}

static int setup_registry(veil_crit *c)
{
    if (!c->o.prove) return 0;
    if (c->o.sve) { /* the session's transformed weights: committed here, by their maker */
        veil_qlayer *ql = calloc((size_t)c->m->cfg.n_layers, sizeof *ql);
        veil_qmodel qxf;
        int rc = ql ? setup_sve(c, &qxf, ql) : veil_fail(VEIL_ENOMEM, "out of memory");
        if (!rc) rc = veil_zk_commit_model(c->m, &qxf, &c->own_reg, c->o.quiet ? NULL : veil_progress,
                                          "veil critical: committing layer weights");
        if (!rc) c->reg = &c->own_reg;
        if (c->xf_ints)
            veil_wipe_free(c->xf_ints, sizeof(int32_t) * veil_layer_floats(&c->m->cfg) * c->m->cfg.n_layers);
        c->xf_ints = NULL;
        free(ql);
        return rc;
    }
    if (c->o.registry) {
        c->reg = c->o.registry;
        if (memcmp(c->reg->model_sha256, c->m->sha256, 32) || c->reg->n_layers != c->m->cfg.n_layers)
            return veil_fail(VEIL_EINVAL, "the commitments are for another checkpoint");
        return 0;
    }
    veil_qmodel *q;
    int rc = veil_qmodel_new(c->m, &q);
    if (!rc) rc = veil_zk_commit_model(c->m, q, &c->own_reg, c->o.quiet ? NULL : veil_progress,
                                          "veil critical: committing layer weights");
    veil_qmodel_free(q);
    if (!rc) c->reg = &c->own_reg;
    return rc;
}

/* Dial every node (ledger-flagged ones are skipped) and cut the layers over
 * the first min(nodes, layers) usable ones by capacity. */
static int schedule(veil_crit *c)
{
    int order[64], P = 0, L = c->m->cfg.n_layers, counts[64];
    double cap[64];
    for (int i = 0; i < c->n; i++) {
        cnode *nd = &c->nodes[i];
        snprintf(nd->addr, sizeof nd->addr, "%s", c->o.nodes[i]);
        snprintf(nd->name, sizeof nd->name, "%.255s", nd->addr);
        if (dial(c, nd)) {
            node_down(c, nd, veil_last_error());
            continue;
        }
        veil_node_rep rep;
        if (c->o.ledger && !veil_ledger_get(c->o.ledger, nd->name, &rep) && rep.flagged) {
            if (!c->o.quiet) fprintf(stderr, "veil critical: node %s skipped: flagged in the ledger\n", nd->name);
            nd->flagged = 1;
            veil_stream_close(&nd->s);
            nd->up = 0;
            continue;
        }
        if (P < L && P < 64) cap[P] = nd->cap, order[P++] = i;
    }
    if (!P) return veil_fail(VEIL_EIO, "no usable node");
    int rc = veil_partition(L, cap, P, counts);
    if (rc) return rc;
    c->n_shards = P;
    c->bounds[0] = 0;
    for (int s = 0; s < P; s++) {
        c->bounds[s + 1] = c->bounds[s] + counts[s];
        c->shard_node[s] = order[s];
    }
    return 0;
}

int veil_crit_new(const veil_model *m, const veil_crit_opts *o, veil_crit **out)
{
    if (!o->n_nodes || o->n_nodes > 64) return veil_fail(VEIL_EINVAL, "critical: 1 to 64 nodes");
    veil_crit *c = calloc(1, sizeof *c);
    if (!c) return veil_fail(VEIL_ENOMEM, "out of memory");
    c->m = m;
    c->o = *o;
    if (!c->o.timeout_ms) c->o.timeout_ms = 600000;
    c->n = o->n_nodes;
    c->nodes = calloc((size_t)c->n, sizeof *c->nodes);
    int rc = c->nodes ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && RAND_bytes(c->key, sizeof c->key) != 1) rc = veil_fail(VEIL_EIO, "no randomness");
    if (!rc && o->sve && (!o->prove || o->registry))
        rc = veil_fail(VEIL_EINVAL, "SVE in the integer pipeline needs proofs and a registry the client makes "
                                    "over the transformed weights (no --commitments)");
    if (!rc) rc = schedule(c);
    if (!rc) rc = setup_registry(c);
    if (!rc && o->sve && !o->quiet)
        fprintf(stderr, "veil critical: SVE %s: every shard's weights transformed with this session's secret keys, "
                        "committed here and uploaded to its node; hidden states travel in the secret basis\n",
                veil_sve_variant_name((veil_sve_variant)o->sve));
    for (int s = 0; !rc && s < c->n_shards; s++) {
        if (!(c->in[s] = malloc(sizeof(int32_t) * (size_t)m->cfg.seq_len * m->cfg.dim)))
            rc = veil_fail(VEIL_ENOMEM, "out of memory");
        if (!rc && c->o.prove) rc = veil_zk_kv_new(&m->cfg, c->bounds[s], c->bounds[s + 1], &c->kv[s]);
    }
    if (rc) {
        veil_crit_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void veil_crit_get_stats(const veil_crit *c, veil_crit_stats *out) { *out = c->st; }

int veil_crit_n_shards(const veil_crit *c) { return c->n_shards; }

void veil_crit_shard(const veil_crit *c, int s, int *first, int *last, const char **node)
{
    *first = c->bounds[s];
    *last = c->bounds[s + 1];
    *node = c->nodes[c->shard_node[s]].name;
}

void veil_crit_free(veil_crit *c)
{
    if (!c) return;
    for (int i = 0; c->nodes && i < c->n; i++)
        if (c->nodes[i].up) veil_stream_close(&c->nodes[i].s);
    if (c->reg == &c->own_reg) veil_zk_registry_free(&c->own_reg);
    for (int s = 0; s < c->n_shards; s++) {
        if (c->in[s]) veil_wipe_free(c->in[s], sizeof(int32_t) * (size_t)c->m->cfg.seq_len * c->m->cfg.dim);
        if (c->load[s]) veil_wipe_free(c->load[s], c->load_len[s]);
        veil_zk_kv_free(c->kv[s]);
    }
    veil_sve_keys_free(c->keys);
    veil_wipe(c->key, sizeof c->key);
    free(c->nodes);
    free(c);
}
