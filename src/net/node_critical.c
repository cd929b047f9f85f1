/* Node side of critical inference (veil/critical.h): one ZK_FORWARD payload
 * in, one ZK_RESULT payload out. Stateless per request: the payload carries
 * the shard's input rows of every position so far, the node rebuilds its KV
 * cache from the earlier ones without proving them (earlier proofs did) and
 * proves only the new rows against the cache commitments the client holds.
 * So any node holding the checkpoint can serve any shard and a re-run
 * elsewhere needs no replay. */
#include "veil/critical.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Per checkpoint: its quantized copy (built once), the dishonest copy with
 * altered weights (built on first use), and the last answer (for stale). */
typedef struct qcache {
    struct qcache *next;
    const veil_model *m;
    veil_qmodel *q, *bad;
    uint8_t *last_rows, *last_proof; /* stale: the previous answer */
    size_t last_rows_len, last_proof_len;
} qcache;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static qcache *cache;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* One weight per layer moved by one Q16 unit: the smallest change a
 * dishonest node could make, which the weight commitments must still catch. */
static int alter_weights(const veil_model *m, veil_qmodel **out)
{
    int rc = veil_qmodel_new(m, out);
    for (int l = 0; !rc && l < m->cfg.n_layers; l++) ((int32_t *)(*out)->layers[l].wq)[0] += 1;
    return rc;
}

static qcache *cache_get_locked(const veil_model *m, int bad)
{
    qcache *e = cache;
    while (e && e->m != m) e = e->next;
    if (!e) {
        if (!(e = calloc(1, sizeof *e))) return NULL;
        e->m = m;
        e->next = cache;
        cache = e;
    }
    if (!e->q && veil_qmodel_new(m, &e->q)) return NULL;
    if (bad && !e->bad && alter_weights(m, &e->bad)) return NULL;
    return e;
}

void veil_crit_forget(const veil_model *m)
{
    pthread_mutex_lock(&cache_lock);
    for (qcache **pp = &cache; *pp; pp = &(*pp)->next) {
        qcache *e = *pp;
        if (e->m != m) continue;
        *pp = e->next;
        veil_qmodel_free(e->q);
        veil_qmodel_free(e->bad);
        free(e->last_rows);
        free(e->last_proof);
        free(e);
        break;
    }
    pthread_mutex_unlock(&cache_lock);
}

int veil_crit_payload_model(const uint8_t *p, size_t n, uint8_t sha[32])
{
    if (!p || n < VEIL_CRIT_FWD_HDR) return veil_fail(VEIL_EPROTO, "ZK_FORWARD: short payload (%zu bytes)", n);
    memcpy(sha, p, 32);
    return 0;
}

typedef struct {
    int first, last, pos, T, prove, early;
    const uint8_t *key, *nonce;
    int32_t *x; /* (pos + T) x dim, copied out of the payload */
} fwd_req;

/* Largest |x| (Q16) whose squares summed over a row of dim fit int64
 * (dim x^2 <= 2^62). Honest hidden states are far below it (|x| < 2^24 for
 * stories260K, limit 2^28), so a larger input can only be crafted and is
 * refused before any work is done on it. */
static int64_t input_limit(int dim)
{
    int64_t lim = (int64_t)sqrt((double)((uint64_t)1 << 62) / dim);
    while (lim > 0 && (__int128)lim * lim * dim > ((__int128)1 << 62)) lim--;
    return lim;
}

/* Every field of an untrusted ZK_FORWARD checked against the checkpoint. */
static int parse_req(const veil_config *c, const uint8_t *p, size_t n, fwd_req *r)
{
    if (n < VEIL_CRIT_FWD_HDR) return veil_fail(VEIL_EPROTO, "ZK_FORWARD: short payload");
    uint32_t first = get32(p + 32), last = get32(p + 36), pos = get32(p + 40), T = get32(p + 44);
    uint32_t flags = get32(p + 48);
    if (first >= last || last > (uint32_t)c->n_layers)
        return veil_fail(VEIL_EPROTO, "ZK_FORWARD: layers %u:%u outside 0:%d", first, last, c->n_layers);
    if (T < 1 || pos >= (uint32_t)c->seq_len || T > (uint32_t)c->seq_len - pos)
        return veil_fail(VEIL_EPROTO, "ZK_FORWARD: positions %u..+%u outside 0..%d", pos, T, c->seq_len - 1);
    if ((flags & VEIL_CRIT_PROVE) && (int)T != veil_zk_chunk((int)pos, (int)T))
        return veil_fail(VEIL_EPROTO, "ZK_FORWARD: %u tokens at %u is not a provable chunk", T, pos);
    if (flags & ~(VEIL_CRIT_PROVE | VEIL_CRIT_EARLY)) return veil_fail(VEIL_EPROTO, "ZK_FORWARD: unknown flags 0x%x", flags);
    if ((flags & VEIL_CRIT_EARLY) && !(flags & VEIL_CRIT_PROVE))
        return veil_fail(VEIL_EPROTO, "ZK_FORWARD: early rows without a proof to follow");
    size_t rows = (size_t)(pos + T) * (size_t)c->dim;
    if (n != VEIL_CRIT_FWD_HDR + 4 * rows)
        return veil_fail(VEIL_EPROTO, "ZK_FORWARD: %zu bytes, want %zu", n, VEIL_CRIT_FWD_HDR + 4 * rows);
    *r = (fwd_req){(int)first, (int)last, (int)pos, (int)T, !!(flags & VEIL_CRIT_PROVE),
                   !!(flags & VEIL_CRIT_EARLY), p + 52, p + 84, NULL};
    if (!(r->x = malloc(4 * rows))) return veil_fail(VEIL_ENOMEM, "out of memory");
    int64_t lim = input_limit(c->dim);
    for (size_t i = 0; i < rows; i++) {
        r->x[i] = (int32_t)get32(p + VEIL_CRIT_FWD_HDR + 4 * i);
        if (r->x[i] > lim || r->x[i] < -lim) {
            free(r->x);
            r->x = NULL;
            return veil_fail(VEIL_ERANGE, "ZK_FORWARD: activation %zu outside +-%lld", i, (long long)lim);
        }
    }
    return 0;
}

/* Layers [first, last) over positions 0..pos+T-1 without a proof; y gets
 * the last T output rows. */
static int run_plain(const veil_qmodel *q, const fwd_req *r, int32_t *y)
{
    size_t all = (size_t)(r->pos + r->T) * q->cfg.dim, before = (size_t)r->pos * q->cfg.dim;
    int32_t *w = malloc(sizeof *w * all);
    veil_qshard *sh = NULL;
    int rc = w ? veil_qmodel_shard(q, r->first, r->last, r->pos + r->T, &sh) : veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc) {
        memcpy(w, r->x, sizeof *w * all);
        rc = veil_qshard_forward_batch(sh, 0, r->pos + r->T, w);
    }
    if (!rc) memcpy(y, w + before, sizeof *w * (all - before));
    veil_qshard_free(sh);
    if (w) veil_wipe_free(w, sizeof *w * all);
    return rc;
}

/* ZK_RESULT: T, dim, rows, then the proof length and (inline) proof bytes. */
static int encode_rows(const veil_config *c, int T, const int32_t *y, const uint8_t *pb, size_t pl,
                       uint8_t **out, size_t *len)
{
    size_t rows = (size_t)T * (size_t)c->dim;
    *len = 12 + 4 * rows + pl;
    if (pl > UINT32_MAX || !(*out = malloc(*len))) return veil_fail(VEIL_ENOMEM, "out of memory");
    put32(*out, (uint32_t)T);
    put32(*out + 4, (uint32_t)c->dim);
    for (size_t i = 0; i < rows; i++) put32(*out + 8 + 4 * i, (uint32_t)y[i]);
    put32(*out + 8 + 4 * rows, (uint32_t)pl);
    if (pl) memcpy(*out + 12 + 4 * rows, pb, pl);
    return 0;
}

/* ZK_PROOF: u32 length then the proof bytes. */
static int send_proof(veil_crit_send_fn send, void *ctx, const uint8_t *pb, size_t pl)
{
    uint8_t *b = pl <= UINT32_MAX ? malloc(4 + pl) : NULL;
    if (!b) return veil_fail(VEIL_ENOMEM, "out of memory");
    put32(b, (uint32_t)pl);
    memcpy(b + 4, pb, pl);
    int rc = send(ctx, VEIL_MSG_ZK_PROOF, b, 4 + pl);
    free(b);
    return rc;
}

typedef struct {
    const veil_qmodel *q;
    int tamper_out; /* alter one activation of the rows sent */
    uint8_t *rows, *proof; /* what was sent (kept for stale) */
    size_t rows_len, proof_len;
} answer;

static void tamper(const fwd_req *r, int dim, int32_t *y, int on)
{
    if (on) y[(size_t)r->T * dim - 1] += 1; /* one activation of the row the client uses */
}

/* The proof of request r (y receives its output rows). */
static int prove_req(const veil_qmodel *q, const fwd_req *r, int32_t *y, uint8_t **pb, size_t *pl)
{
    veil_zk_shard_proof pf = {0};
    int rc = veil_zk_prove_prefix(q, r->first, r->last, r->pos, r->T, r->x, r->key, r->nonce, &pf, y);
    if (!rc) rc = veil_zk_shard_proof_write(&pf, pb, pl);
    veil_zk_shard_proof_free(&pf);
    return rc;
}

/* A proof left for a worker (veil_crit_job_run): the request with its own
 * copies of the rows, key and nonce. */
struct veil_crit_job {
    const veil_qmodel *q;
    fwd_req r;
    uint8_t key[VEIL_ZK_KEY_BYTES], nonce[VEIL_ZK_NONCE_BYTES];
};

static veil_crit_job *job_new(const veil_qmodel *q, fwd_req *r)
{
    veil_crit_job *j = malloc(sizeof *j);
    if (!j) return NULL;
    j->q = q, j->r = *r;
    memcpy(j->key, r->key, sizeof j->key);
    memcpy(j->nonce, r->nonce, sizeof j->nonce);
    j->r.key = j->key, j->r.nonce = j->nonce;
    r->x = NULL; /* the job owns the rows now */
    return j;
}

void veil_crit_job_free(veil_crit_job *j)
{
    if (!j) return;
    if (j->r.x) veil_wipe_free(j->r.x, sizeof(int32_t) * (size_t)(j->r.pos + j->r.T) * j->q->cfg.dim);
    veil_wipe(j->key, sizeof j->key);
    free(j);
}

int veil_crit_job_run(veil_crit_job *j, veil_crit_send_fn send, void *ctx, size_t *proof_len)
{
    int32_t *y = malloc(sizeof *y * (size_t)j->r.T * j->q->cfg.dim);
    uint8_t *pb = NULL;
    size_t pl = 0;
    int rc = y ? prove_req(j->q, &j->r, y, &pb, &pl) : veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc) rc = send_proof(send, ctx, pb, pl);
    if (proof_len) *proof_len = pl;
    free(pb);
    free(y);
    veil_crit_job_free(j);
    return rc;
}

/* Early mode: the rows first (so the client can feed the next shard at
 * once), then the proof when it is done, here or (defer) on a worker.
 * Otherwise one ZK_RESULT. */
static int answer_req(fwd_req *r, answer *a, veil_crit_send_fn send, void *ctx, veil_crit_defer_fn defer)
{
    const veil_config *cfg = &a->q->cfg;
    size_t rows = (size_t)r->T * (size_t)cfg->dim;
    int32_t *y = malloc(4 * rows);
    int rc = y ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && (!r->prove || r->early)) {
        rc = run_plain(a->q, r, y);
        tamper(r, cfg->dim, y, !rc && a->tamper_out);
        if (!rc) rc = encode_rows(cfg, r->T, y, NULL, 0, &a->rows, &a->rows_len);
        if (!rc) rc = send(ctx, VEIL_MSG_ZK_RESULT, a->rows, a->rows_len);
    }
    if (!rc && r->prove && r->early && defer) {
        veil_crit_job *j = job_new(a->q, r);
        if (j && !defer(ctx, j)) {
            free(y);
            return 0;
        }
        if (j) r->x = j->r.x, j->r.x = NULL; /* not taken: prove here */
        veil_crit_job_free(j);
    }
    if (!rc && r->prove) rc = prove_req(a->q, r, y, &a->proof, &a->proof_len);
    if (!rc && r->prove && r->early) rc = send_proof(send, ctx, a->proof, a->proof_len);
    else if (!rc && r->prove) {
        tamper(r, cfg->dim, y, a->tamper_out);
        rc = encode_rows(cfg, r->T, y, a->proof, a->proof_len, &a->rows, &a->rows_len);
        if (!rc) rc = send(ctx, VEIL_MSG_ZK_RESULT, a->rows, a->rows_len);
    }
    free(y);
    return rc;
}

/* stale: send the previous answer again (rows and proof as they were). */
static int replay(const qcache *e, const fwd_req *r, veil_crit_send_fn send, void *ctx)
{
    int rc = send(ctx, VEIL_MSG_ZK_RESULT, e->last_rows, e->last_rows_len);
    if (!rc && r->early && e->last_proof) rc = send_proof(send, ctx, e->last_proof, e->last_proof_len);
    return rc;
}

int veil_crit_serve(const veil_model *m, const veil_adv_mode *adv, const uint8_t *p, size_t n,
                    veil_crit_send_fn send, void *ctx, veil_crit_defer_fn defer)
{
    fwd_req r = {0};
    int rc = parse_req(&m->cfg, p, n, &r);
    if (rc) return rc;
    veil_adv_kind k = adv ? adv->kind : VEIL_ADV_HONEST;
    pthread_mutex_lock(&cache_lock);
    qcache *e = cache_get_locked(m, k == VEIL_ADV_WRONG_MODEL);
    pthread_mutex_unlock(&cache_lock);
    answer a = {.q = e && k == VEIL_ADV_WRONG_MODEL ? e->bad : e ? e->q : NULL,
                .tamper_out = k != VEIL_ADV_HONEST && k != VEIL_ADV_WRONG_MODEL && k != VEIL_ADV_STALE};
    if (!e) rc = veil_fail(VEIL_ENOMEM, "cannot quantize the checkpoint");
    else if (k == VEIL_ADV_STALE && e->last_rows) rc = replay(e, &r, send, ctx);
    else rc = answer_req(&r, &a, send, ctx, k == VEIL_ADV_STALE ? NULL : defer);
    free(r.x);
    if (k == VEIL_ADV_STALE && a.rows) { /* keep the first honest answer for replays */
        pthread_mutex_lock(&cache_lock);
        if (!e->last_rows) {
            e->last_rows = a.rows, e->last_rows_len = a.rows_len;
            e->last_proof = a.proof, e->last_proof_len = a.proof_len;
            a.rows = a.proof = NULL;
        }
        pthread_mutex_unlock(&cache_lock);
    }
    free(a.rows);
    free(a.proof);
    return rc;
}

/* ---- uploaded shards (SVE + critical) ------------------------------------------ */

struct veil_crit_upload {
    uint8_t id[32];
    veil_qmodel q;       /* cfg and layers [first, last) into ints */
    int first, last;
    int32_t *ints;
    size_t n_ints;
};

int veil_crit_upload_parse(const uint8_t *p, size_t n, const veil_adv_mode *adv, veil_crit_upload **out)
{
    *out = NULL;
    if (n < VEIL_CRIT_LOAD_HDR) return veil_fail(VEIL_EPROTO, "ZK_LOAD: short payload (%zu bytes)", n);
    veil_config c;
    int *f[8] = {&c.dim, &c.hidden_dim, &c.n_layers, &c.n_heads, &c.n_kv_heads, &c.vocab_size, &c.seq_len,
                 &c.shared_classifier};
    for (int i = 0; i < 8; i++) {
        uint32_t v = get32(p + 4 * i);
        if (v > INT32_MAX) return veil_fail(VEIL_EPROTO, "ZK_LOAD: config field %d out of range", i);
        *f[i] = (int)v;
    }
    if (veil_config_validate(&c)) return veil_fail(VEIL_EPROTO, "ZK_LOAD: %s", veil_last_error());
    uint32_t first = get32(p + 32), last = get32(p + 36);
    if (first >= last || last > (uint32_t)c.n_layers)
        return veil_fail(VEIL_EPROTO, "ZK_LOAD: layers %u:%u outside 0:%d", first, last, c.n_layers);
    size_t per = veil_layer_floats(&c), ints = per * (last - first);
    if (ints > (SIZE_MAX - VEIL_CRIT_LOAD_HDR) / 4 || n != VEIL_CRIT_LOAD_HDR + 4 * ints)
        return veil_fail(VEIL_EPROTO, "ZK_LOAD: %zu bytes, want %zu", n, VEIL_CRIT_LOAD_HDR + 4 * ints);
    veil_crit_upload *u = calloc(1, sizeof *u);
    if (u) u->ints = malloc(sizeof *u->ints * ints);
    if (u) u->q.layers = calloc((size_t)c.n_layers, sizeof *u->q.layers);
    if (!u || !u->ints || !u->q.layers) {
        veil_crit_upload_free(u);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    u->q.cfg = c, u->first = (int)first, u->last = (int)last, u->n_ints = ints;
    veil_sha256(p, n, u->id);
    for (size_t i = 0; i < ints; i++) {
        int32_t w = (int32_t)get32(p + VEIL_CRIT_LOAD_HDR + 4 * i);
        if (w > VEIL_Q_WMAX || w < -VEIL_Q_WMAX) {
            veil_crit_upload_free(u);
            return veil_fail(VEIL_EPROTO, "ZK_LOAD: weight %zu outside +-2^24", i);
        }
        u->ints[i] = w;
    }
    /* a wrong-model node computes with one weight per layer moved by one unit */
    for (int l = 0; adv && adv->kind == VEIL_ADV_WRONG_MODEL && l < u->last - u->first; l++) u->ints[l * per + c.dim] += 1;
    for (int l = u->first; l < u->last; l++)
        veil_qlayer_from_ints(&c, u->ints + (size_t)(l - u->first) * per, &u->q.layers[l]);
    *out = u;
    return 0;
}

const uint8_t *veil_crit_upload_id(const veil_crit_upload *u) { return u->id; }

size_t veil_crit_upload_bytes(const veil_crit_upload *u) { return u ? sizeof *u->ints * u->n_ints : 0; }

void veil_crit_upload_free(veil_crit_upload *u)
{
    if (!u) return;
    if (u->ints) veil_wipe_free(u->ints, sizeof *u->ints * u->n_ints);
    free(u->q.layers);
    free(u);
}

int veil_crit_serve_upload(const veil_crit_upload *u, const veil_adv_mode *adv, const uint8_t *p, size_t n,
                           veil_crit_send_fn send, void *ctx, veil_crit_defer_fn defer)
{
    fwd_req r = {0};
    int rc = parse_req(&u->q.cfg, p, n, &r);
    if (rc) return rc;
    if (r.first != u->first || r.last != u->last)
        rc = veil_fail(VEIL_EPROTO, "ZK_FORWARD: layers %d:%d, the upload holds %d:%d", r.first, r.last, u->first,
                       u->last);
    veil_adv_kind k = adv ? adv->kind : VEIL_ADV_HONEST;
    answer a = {.q = &u->q, .tamper_out = k != VEIL_ADV_HONEST && k != VEIL_ADV_WRONG_MODEL};
    if (!rc) rc = answer_req(&r, &a, send, ctx, defer);
    free(r.x);
    free(a.rows);
    free(a.proof);
    return rc;
}
