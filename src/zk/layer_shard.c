/* Shard proofs: the registry of weight commitments, the prover and verifier
 * drivers over the circuit (layer_ops.c), and the proof wire format. */
#include "layer_ops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GENS_LABEL "veil/zk/layer/v1"
#define GENS_N (1 << 13)      /* row width of most proofs */
#define GENS_N_WIDE (1 << 16) /* the widest rows (zc_set_row_width); same first 2^13 */
#define PROOF_MAGIC "VZKS"
#define PROOF_VERSION 3 /* 3: zero-knowledge body (committed rounds and evaluations) */
/* "VZR2": weight blindings keyed by the layer's own weights (the "VZKR"
 * files of the first format keyed them by the public checkpoint hash and
 * are refused) */
#define REG_MAGIC "VZR2"

/* Two generator sets from one label: every proof's commitments agree on
 * both (g_i, H and U depend only on the label and i); the wide set is
 * derived only by a process that meets a proof with rows that wide. */
static veil_pedersen_gens g_gens, g_wide;
static int g_gens_rc = -1, g_wide_rc = -1;
static pthread_once_t g_gens_once = PTHREAD_ONCE_INIT, g_wide_once = PTHREAD_ONCE_INIT;

static void gens_init(void) { g_gens_rc = veil_pedersen_gens_init(&g_gens, GENS_LABEL, GENS_N); }
static void wide_init(void) { g_wide_rc = veil_pedersen_gens_init(&g_wide, GENS_LABEL, GENS_N_WIDE); }

int veil_zk_layer_gens(const veil_config *c, const veil_pedersen_gens **out)
{
    (void)c;
    pthread_once(&g_gens_once, gens_init);
    *out = &g_gens;
    return g_gens_rc ? veil_fail(VEIL_ENOMEM, "cannot build the proof generators") : 0;
}

/* z's generators widened to its row width (zc_set_row_width). */
static int widen_gens(zc_ctx *z)
{
    if (((size_t)1 << z->cols) <= z->pg->n) return 0;
    pthread_once(&g_wide_once, wide_init);
    z->pg = &g_wide;
    return g_wide_rc ? veil_fail(VEIL_ENOMEM, "cannot build the proof generators") : 0;
}

/* ---- deterministic blindings ------------------------------------------------ */

/* Row blindings from a 32-byte key:
 * SHA-256(key | label | a | b | row | half), two halves reduced wide. */
static void derive_blinds(const uint8_t key[32], const char *label, uint32_t a, uint32_t b,
                          size_t rows, veil_fe *out)
{
    uint8_t buf[32 + 16 + 4 + 4 + 8 + 1], wide[64];
    memset(buf, 0, sizeof buf);
    memcpy(buf, key, 32);
    strncpy((char *)buf + 32, label, 16);
    memcpy(buf + 48, &a, 4);
    memcpy(buf + 52, &b, 4);
    for (size_t r = 0; r < rows; r++) {
        uint64_t r64 = r;
        memcpy(buf + 56, &r64, 8);
        for (int h = 0; h < 2; h++) {
            buf[64] = (uint8_t)h;
            veil_sha256(buf, sizeof buf, wide + 32 * h);
        }
        veil_fe_from_wide(&out[r], wide);
    }
    veil_wipe(buf, sizeof buf);
    veil_wipe(wide, sizeof wide);
}

/* Commit ints with the given (deterministic) row blindings: commit with
 * fresh ones, then move each row by (want - got) H. */
static int commit_blinded(veil_hyrax_commitment *cm, const int64_t *v, unsigned nvars,
                          const veil_fe *want)
{
    const veil_pedersen_gens *pg;
    int rc = veil_zk_layer_gens(NULL, &pg);
    size_t rows = (size_t)1 << veil_hyrax_row_vars(nvars);
    veil_fe *got = malloc(sizeof *got * rows);
    if (!got) return veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc) rc = veil_hyrax_commit_i64(cm, got, pg, v, (size_t)1 << nvars, nvars, 0);
    for (size_t r = 0; !rc && r < rows; r++) {
        veil_fe d;
        veil_ge t;
        veil_fe_sub(&d, &want[r], &got[r]);
        veil_ge_mul(&t, &pg->h, &d);
        veil_ge_add(&cm->c[r], &cm->c[r], &t);
    }
    veil_wipe(got, sizeof *got * rows);
    free(got);
    return rc;
}

/* The blinding key of layer l's weight commitment: a hash of the layer's
 * own (padded, quantized) weights, so every holder of the weights derives
 * the same blindings and nobody else can (the checkpoint's SHA-256 is
 * public in the registry and must not be the key).  It also names the
 * commitment in the cache below: different (e.g. altered) weights never
 * share one. */
static void weight_key(const int64_t *vals, unsigned nvars, int l, uint8_t key[32])
{
    uint8_t buf[32 + 32 + 4];
    memcpy(buf, "veil/zk/weights/v2 blinding key.", 32);
    veil_sha256(vals, sizeof *vals << nvars, buf + 32);
    uint32_t l32 = (uint32_t)l;
    memcpy(buf + 64, &l32, 4);
    veil_sha256(buf, sizeof buf, key);
    veil_wipe(buf, sizeof buf);
}

/* A weight commitment is the same in every proof of its layer: a node
 * computes it once per process, keyed by weight_key. */
#define WCACHE_SLOTS 64
static struct {
    uint8_t id[32];
    veil_hyrax_commitment cm;
} g_wcache[WCACHE_SLOTS];
static int g_wcache_next;
static pthread_mutex_t g_wcache_lock = PTHREAD_MUTEX_INITIALIZER;

static int hyrax_copy(veil_hyrax_commitment *dst, const veil_hyrax_commitment *src)
{
    *dst = *src;
    dst->c = malloc(sizeof *dst->c * src->rows);
    if (!dst->c) return veil_fail(VEIL_ENOMEM, "out of memory");
    memcpy(dst->c, src->c, sizeof *dst->c * src->rows);
    return 0;
}

/* 1 if found (copied into cm), 0 if not, <0 on error. */
static int wcache_get(const uint8_t id[32], veil_hyrax_commitment *cm)
{
    int found = 0;
    pthread_mutex_lock(&g_wcache_lock);
    for (int i = 0; i < WCACHE_SLOTS && !found; i++)
        if (g_wcache[i].cm.c && !memcmp(g_wcache[i].id, id, 32))
            found = hyrax_copy(cm, &g_wcache[i].cm) ? -1 : 1;
    pthread_mutex_unlock(&g_wcache_lock);
    return found;
}

static void wcache_put(const uint8_t id[32], const veil_hyrax_commitment *cm)
{
    pthread_mutex_lock(&g_wcache_lock);
    int i = g_wcache_next;
    g_wcache_next = (i + 1) % WCACHE_SLOTS;
    veil_hyrax_commitment_free(&g_wcache[i].cm);
    if (!hyrax_copy(&g_wcache[i].cm, cm)) memcpy(g_wcache[i].id, id, 32);
    pthread_mutex_unlock(&g_wcache_lock);
}

/* The weight pool of layer l: values, commitment and blindings. */
static int layer_commit(const veil_qmodel *q, int l, const zshape *s,
                        zwlayout *wl, int64_t **vals, veil_hyrax_commitment *cm,
                        veil_fe **blinds)
{
    zw_layout(s, P_W0, wl);
    size_t rows = (size_t)1 << veil_hyrax_row_vars(wl->nvars);
    uint8_t key[32];
    *vals = zw_values(s, wl, &q->layers[l]);
    *blinds = malloc(sizeof(veil_fe) * rows);
    int rc = !*vals || !*blinds ? veil_fail(VEIL_ENOMEM, "out of memory") : 0;
    if (!rc) {
        weight_key(*vals, wl->nvars, l, key);
        derive_blinds(key, "weights", (uint32_t)l, 0, rows, *blinds);
        int hit = wcache_get(key, cm);
        rc = hit < 0 ? hit : hit ? 0 : commit_blinded(cm, *vals, wl->nvars, *blinds);
        if (!rc && !hit) wcache_put(key, cm);
        veil_wipe(key, sizeof key);
    }
    return rc;
}

/* ---- registry ------------------------------------------------------------- */

int veil_zk_commit_model(const veil_model *m, const veil_qmodel *q, veil_zk_registry *out,
                         void (*progress)(void *ctx, int done, int total), void *ctx)
{
    memset(out, 0, sizeof *out);
    zshape s;
    int rc = zshape_init(&s, &m->cfg, 0, 1);
    if (rc) return rc;
    out->cfg = m->cfg;
    memcpy(out->model_sha256, m->sha256, 32);
    out->n_layers = m->cfg.n_layers;
    out->layer = calloc(out->n_layers, sizeof *out->layer);
    if (!out->layer) return veil_fail(VEIL_ENOMEM, "out of memory");
    for (int l = 0; l < out->n_layers && !rc; l++) {
        zwlayout wl;
        int64_t *vals;
        veil_fe *bl;
        rc = layer_commit(q, l, &s, &wl, &vals, &out->layer[l], &bl);
        if (bl) veil_wipe(bl, sizeof(veil_fe) << veil_hyrax_row_vars(wl.nvars));
        free(vals);
        free(bl);
        if (!rc && progress) progress(ctx, l + 1, out->n_layers);
    }
    if (rc) veil_zk_registry_free(out);
    return rc;
}

void veil_zk_registry_free(veil_zk_registry *r)
{
    if (!r) return;
    for (int l = 0; r->layer && l < r->n_layers; l++)
        veil_hyrax_commitment_free(&r->layer[l]);
    free(r->layer);
    memset(r, 0, sizeof *r);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); } /* little-endian hosts */
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int veil_zk_registry_write(const veil_zk_registry *r, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return veil_fail(VEIL_EIO, "cannot write %s", path);
    uint8_t hdr[4 + 4 * 8 + 32];
    memcpy(hdr, REG_MAGIC, 4);
    const veil_config *c = &r->cfg;
    int vals[8] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
                   c->seq_len, c->shared_classifier};
    for (int i = 0; i < 8; i++)
        put32(hdr + 4 + 4 * i, (uint32_t)vals[i]);
    memcpy(hdr + 36, r->model_sha256, 32);
    int ok = fwrite(hdr, sizeof hdr, 1, f) == 1;
    for (int l = 0; ok && l < r->n_layers; l++) {
        size_t sz = veil_hyrax_commitment_size(r->layer[l].nvars), used;
        uint8_t *b = malloc(sz);
        ok = b && !veil_hyrax_commitment_write(&r->layer[l], b, sz, &used) &&
             fwrite(b, used, 1, f) == 1;
        free(b);
    }
    if (fclose(f) || !ok) return veil_fail(VEIL_EIO, "cannot write %s", path);
    return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) return veil_fail(VEIL_EIO, "cannot open %s", path);
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        if (cap >= max) {
            free(b);
            fclose(f);
            return veil_fail(VEIL_ERANGE, "%s is larger than %zu bytes", path, max);
        }
        uint8_t *nb = realloc(b, cap * 2);
        if (!nb) free(b);
        b = nb;
        cap *= 2;
    }
    fclose(f);
    if (!b) return veil_fail(VEIL_ENOMEM, "out of memory reading %s", path);
    *out = b;
    *len = n;
    return 0;
}

int veil_zk_registry_read(const char *path, veil_zk_registry *out)
{
    memset(out, 0, sizeof *out);
    uint8_t *b = NULL;
    size_t n = 0, pos = 68;
    int rc = read_file(path, &b, &n, (size_t)1 << 30);
    if (rc) return rc;
    if (n < pos || memcmp(b, REG_MAGIC, 4)) {
        int old = n >= 4 && !memcmp(b, "VZKR", 4);
        free(b);
        return veil_fail(VEIL_EINVAL, old ? "%s is a commitments file of the first format: commit the model again"
                                          : "%s is not a veil commitments file", path);
    }
    veil_config *c = &out->cfg;
    int *f[8] = {&c->dim, &c->hidden_dim, &c->n_layers, &c->n_heads, &c->n_kv_heads,
                 &c->vocab_size, &c->seq_len, &c->shared_classifier};
    for (int i = 0; i < 8; i++)
        *f[i] = (int)get32(b + 4 + 4 * i);
    memcpy(out->model_sha256, b + 36, 32);
    zshape s;
    rc = zshape_init(&s, c, 0, 1);
    zwlayout wl;
    if (!rc) zw_layout(&s, P_W0, &wl);
    out->n_layers = c->n_layers;
    if (!rc) out->layer = calloc(out->n_layers, sizeof *out->layer);
    if (!rc && !out->layer) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    for (int l = 0; !rc && l < out->n_layers; l++) {
        size_t used;
        rc = veil_hyrax_commitment_read(&out->layer[l], b + pos, n - pos, wl.nvars, &used);
        pos += used;
    }
    if (!rc && pos != n) rc = veil_fail(VEIL_EINVAL, "trailing bytes in %s", path);
    free(b);
    if (rc) {
        veil_zk_registry_free(out);
        return veil_fail(rc, "bad commitments file %s: %s", path, veil_last_error());
    }
    return 0;
}

/* ---- the verifier's KV record ---------------------------------------------------- */

struct veil_zk_kv {
    int first, last, len, cap;
    veil_ge *row; /* [layer][K, V][position] commitments, (last-first) x 2 x cap */
};

int veil_zk_kv_new(const veil_config *c, int first, int last, veil_zk_kv **out)
{
    *out = NULL;
    if (first < 0 || last > c->n_layers || first >= last)
        return veil_fail(VEIL_ERANGE, "layer range %d:%d outside the model", first, last);
    veil_zk_kv *kv = calloc(1, sizeof *kv);
    if (kv) kv->row = malloc(sizeof(veil_ge) * 2 * (size_t)(last - first) * c->seq_len);
    if (!kv || !kv->row) {
        free(kv);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    kv->first = first, kv->last = last, kv->cap = c->seq_len;
    *out = kv;
    return 0;
}

int veil_zk_kv_len(const veil_zk_kv *kv) { return kv ? kv->len : 0; }

void veil_zk_kv_free(veil_zk_kv *kv)
{
    if (!kv) return;
    free(kv->row);
    free(kv);
}

static veil_ge *kv_rows(const veil_zk_kv *kv, int li, int which)
{
    return kv->row + ((size_t)li * 2 + which) * kv->cap;
}

/* ---- the circuit driver (prover and verifier) --------------------------------- */

typedef struct {
    const zshape *s;
    int first, last;
    const uint8_t *nonce;
    const veil_hyrax_commitment *wcm; /* last-first weight commitments */
    const veil_hyrax_commitment *in_cm, *out_cm;
    veil_ge *kv_new;        /* [layer][K, V][2^tb]: this chunk's cache rows (both sides) */
    const veil_zk_kv *kv;   /* verifier: earlier rows (NULL when pos = 0) */
    /* prover only */
    int64_t **wvals;
    veil_fe **wblinds;
    const int32_t *x_in;
    const veil_fe *in_bl, *out_bl;
    int32_t *x_out;
    const veil_qshard *sh;  /* its cache holds positions 0..pos-1 */
    const uint8_t *key;     /* derives the cache blindings */
} zjob;

static int public_tensors(zcirc *C, const zshape *s)
{
    size_t T = (size_t)1 << s->tb, S = (size_t)1 << s->cb;
    int half = s->hs / 2, jn = 1 << (s->sb - 1);
    int64_t *cs = calloc(T * jn, sizeof *cs), *sn = calloc(T * jn, sizeof *sn);
    int64_t *va = calloc(T * S, sizeof *va), *rm = calloc(T, sizeof *rm);
    int rc = !cs || !sn || !va || !rm ? veil_fail(VEIL_ENOMEM, "out of memory") : 0;
    for (size_t t = 0; !rc && t < T; t++) {
        for (int j = 0; j < half; j++) {
            int32_t c, sv;
            veil_q_sincos(s->pos + (int)t, j, s->hs, &c, &sv);
            cs[t * jn + j] = c;
            sn[t * jn + j] = sv;
        }
        for (size_t tau = 0; tau <= s->pos + t; tau++)
            va[t * S + tau] = 1;
        rm[t] = t < (size_t)s->T;
    }
    int ids[4] = {-1, -1, -1, -1};
    if (!rc) ids[0] = zc_tensor_public(C->z, s->tb + s->sb - 1, cs, T * jn);
    if (!rc) ids[1] = zc_tensor_public(C->z, s->tb + s->sb - 1, sn, T * jn);
    if (!rc) ids[2] = zc_tensor_public(C->z, s->tb + s->cb, va, T * S);
    if (!rc) ids[3] = zc_tensor_public(C->z, s->tb, rm, T);
    for (int i = 0; !rc && i < 4; i++)
        if (ids[i] < 0) rc = ids[i];
    if (!rc) {
        C->tid[P_COS] = ids[0], C->tid[P_SIN] = ids[1], C->tid[P_VALID] = ids[2];
        C->tid[P_ROWMASK] = ids[3];
        C->nv[P_COS] = C->nv[P_SIN] = s->tb + s->sb - 1;
        C->nv[P_VALID] = s->tb + s->cb;
        C->nv[P_ROWMASK] = s->tb;
    }
    free(cs);
    free(sn);
    free(va);
    free(rm);
    return rc;
}

/* Prover: the cache pools of local layer li with the rows of positions
 * 0..pos-1 from sh (head layout [kvh][i]); the chunk's rows come from the
 * witness. */
static int cache_witness(zcirc *C, const zjob *J, int li)
{
    const zshape *s = J->s;
    int kv = veil_kv_dim(&s->c);
    for (int which = 0; which < 2; which++) {
        int pool = (which ? P_VC0 : P_KC0) + li;
        int64_t *v = calloc((size_t)1 << C->nv[pool], sizeof *v);
        if (!v) return veil_fail(VEIL_ENOMEM, "out of memory for the KV cache witness");
        C->wval[pool - P_W0] = v;
        const int32_t *src = which ? veil_qshard_vcache(J->sh, li) : veil_qshard_kcache(J->sh, li);
        for (size_t r = 0; r < (size_t)s->pos; r++)
            for (int j = 0; j < kv; j++)
                v[(r << s->kb) + ((size_t)(j / s->hs) << s->sb) + j % s->hs] = src[r * kv + j];
    }
    return 0;
}

/* The prover's witness of every layer. */
static int shard_witness(zcirc *C, const zjob *J, zlayer *L, const zwlayout *wl)
{
    const zshape *s = J->s;
    size_t T = (size_t)1 << s->tb;
    int half = s->hs / 2, rc = 0;
    for (int p = 0; p < P_XOUT + 1; p++) {
        if (p > P_KH && p != P_XIN && p != P_XOUT) continue;
        C->val[p] = calloc((size_t)1 << C->nv[p], sizeof(int64_t));
        if (!C->val[p]) return veil_fail(VEIL_ENOMEM, "out of memory for the witness");
    }
    for (int li = 0; !rc && li < J->last - J->first; li++)
        rc = cache_witness(C, J, li);
    if (rc) return rc;
    zk_pool_defaults(C);
    for (size_t i = 0; i < (size_t)s->T * s->c.dim; i++)
        C->val[P_XIN][(i / s->c.dim << s->db) + i % s->c.dim] = J->x_in[i];
    int32_t *cs = malloc(sizeof *cs * T * half), *sn = malloc(sizeof *sn * T * half);
    if (!cs || !sn) {
        free(cs);
        free(sn);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    for (size_t t = 0; t < T; t++)
        for (int j = 0; j < half; j++)
            veil_q_sincos(s->pos + (int)t, j, s->hs, &cs[t * half + j], &sn[t * half + j]);
    int32_t scale = veil_q_inv_sqrt_int(s->hs);
    for (int li = 0; li < J->last - J->first; li++) {
        C->wval[li] = J->wvals[li];
        zk_witness_layer(C, &L[li], &wl[li], cs, sn, scale);
    }
    zk_witness_bounds(C);
    free(cs);
    free(sn);
    return 0;
}

/* Prover: one commitment per cache row (position); rows past the chunk
 * hold zeros with a zero blinding, i.e. the identity. */
static int cache_rows_prove(const zjob *J, const int64_t *v, const char *label, int layer,
                            veil_hyrax_commitment *cm, veil_fe *bl)
{
    const zshape *s = J->s;
    const veil_pedersen_gens *pg;
    int rc = veil_zk_layer_gens(&s->c, &pg);
    size_t used = (size_t)s->pos + ((size_t)1 << s->tb);
    for (size_t r = 0; r < cm->rows; r++)
        if (r < used) derive_blinds(J->key, label, (uint32_t)layer, (uint32_t)r, 1, &bl[r]);
        else veil_fe_zero(&bl[r]);
    int fail = 0;
#pragma omp parallel for schedule(static) reduction(| : fail) if (used >= 64)
    for (size_t r = 0; r < cm->rows; r++) {
        if (r < used) fail |= veil_pedersen_commit_i64(&cm->c[r], pg, v + r * cm->cols, cm->cols, &bl[r], 1) != 0;
        else veil_ge_identity(&cm->c[r]);
    }
    return rc ? rc : fail ? veil_fail(VEIL_ENOMEM, "out of memory committing the KV cache") : 0;
}

/* The cache tensor of local layer li (which: 0 = K, 1 = V).  The chunk's
 * row commitments travel in the proof; the verifier takes the earlier ones
 * from its KV record, so a prover cannot change a row an earlier proof
 * fixed. */
static int cache_tensor(zcirc *C, const zjob *J, int li, int which)
{
    const zshape *s = J->s;
    zc_ctx *z = C->z;
    int pool = (which ? P_VC0 : P_KC0) + li, rc = 0;
    size_t chunk = (size_t)1 << s->tb;
    veil_hyrax_commitment cm = {s->cb + s->kb, (size_t)1 << s->cb, (size_t)1 << s->kb, NULL};
    veil_fe *bl = z->prover ? malloc(sizeof *bl * cm.rows) : NULL;
    veil_ge *fresh = J->kv_new + ((size_t)li * 2 + which) * chunk;
    cm.c = malloc(sizeof *cm.c * cm.rows);
    if (!cm.c || (z->prover && !bl)) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && z->prover)
        rc = cache_rows_prove(J, C->wval[pool - P_W0], which ? "vcache" : "kcache", J->first + li,
                              &cm, bl);
    for (size_t j = 0; !rc && j < chunk; j++) {
        if (z->prover) fresh[j] = cm.c[s->pos + j];
        rc = zc_point_io(z, &fresh[j], 1, "kv row");
    }
    if (!rc && !z->prover) {
        for (size_t r = 0; r < cm.rows; r++) {
            if (r < (size_t)s->pos) cm.c[r] = kv_rows(J->kv, li, which)[r];
            else if (r < s->pos + chunk) cm.c[r] = fresh[r - s->pos];
            else veil_ge_identity(&cm.c[r]);
        }
    }
    int t = rc ? rc : zc_tensor_i64(z, cm.nvars, z->prover ? C->wval[pool - P_W0] : NULL,
                                    (size_t)1 << cm.nvars, &cm, bl);
    if (t >= 0) C->tid[pool] = t;
    if (bl) veil_wipe(bl, sizeof *bl * cm.rows);
    free(bl);
    free(cm.c);
    return t < 0 ? t : 0;
}

static int shard_run(zc_ctx *z, const zjob *J)
{
    const zshape *s = J->s;
    int nl = J->last - J->first, rc = 0;
    zcirc *C = calloc(1, sizeof *C);
    zlayer *L = calloc(nl, sizeof *L);
    zwlayout *wl = calloc(nl, sizeof *wl);
    if (!C || !L || !wl) {
        rc = veil_fail(VEIL_ENOMEM, "out of memory");
        goto done;
    }
    C->z = z;
    C->s = s;
    C->prover = z->prover;
    const veil_config *c = &s->c;
    uint64_t shape[11] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                          c->vocab_size, c->seq_len, J->first, J->last, s->pos, s->T};
    veil_transcript_absorb(&z->tr, "shape", shape, sizeof shape);
    veil_transcript_absorb(&z->tr, "nonce", J->nonce, VEIL_ZK_NONCE_BYTES);
    /* layout */
    unsigned td = s->tb + s->db;
    C->nv[P_XIN] = C->nv[P_XOUT] = td;
    zv xin = {P_XIN, td, 0}, xout = {P_XOUT, td, 0};
    /* the input is the prover's claim too when nobody else checks it */
    zk_bound(C, xin, 2);
    for (int li = 0; li < nl; li++) {
        C->nv[P_KC0 + li] = C->nv[P_VC0 + li] = s->cb + s->kb;
        zk_alloc_layer(C, &L[li], li, li ? L[li - 1].xo : xin, li == nl - 1, xout);
    }
    unsigned maxnv = 0;
    for (int p = 0; p <= P_KH; p++) {
        C->nv[p] = veil_mle_log2(C->used[p] ? C->used[p] : 1);
        if (C->nv[p] > maxnv) maxnv = C->nv[p];
    }
    zc_set_row_width(z, maxnv);
    if (!rc) rc = widen_gens(z);
    for (int li = 0; li < nl; li++) {
        zw_layout(s, P_W0 + li, &wl[li]);
        C->nv[P_W0 + li] = wl[li].nvars;
    }
    if (z->prover) rc = shard_witness(C, J, L, wl);
    /* commitments: weights, KV caches, boundaries (external), pools, public tables */
    for (int li = 0; !rc && li < nl; li++) {
        int t = zc_tensor_i64(z, wl[li].nvars, z->prover ? J->wvals[li] : NULL,
                              (size_t)1 << wl[li].nvars, &J->wcm[li],
                              z->prover ? J->wblinds[li] : NULL);
        if (t < 0) rc = t;
        else C->tid[P_W0 + li] = t;
    }
    for (int li = 0; !rc && li < nl; li++) {
        rc = cache_tensor(C, J, li, 0);
        if (!rc) rc = cache_tensor(C, J, li, 1);
    }
    int bt[2] = {P_XIN, P_XOUT};
    const veil_hyrax_commitment *bcm[2] = {J->in_cm, J->out_cm};
    const veil_fe *bbl[2] = {J->in_bl, J->out_bl};
    for (int i = 0; !rc && i < 2; i++) {
        int t = zc_tensor_i64(z, td, z->prover ? C->val[bt[i]] : NULL, (size_t)1 << td, bcm[i],
                              bbl[i]);
        if (t < 0) rc = t;
        else C->tid[bt[i]] = t;
    }
    for (int p = 0; !rc && p <= P_KH; p++) {
        int t = zc_tensor_i64(z, C->nv[p], z->prover ? C->val[p] : NULL, (size_t)1 << C->nv[p],
                              NULL, NULL);
        if (t < 0) rc = t;
        else C->tid[p] = t;
    }
    if (!rc) rc = public_tensors(C, s);
    int32_t scale = veil_q_inv_sqrt_int(s->hs);
    for (int li = 0; !rc && li < nl; li++)
        rc = zk_relations_layer(C, &L[li], &wl[li], scale);
    if (!rc) rc = zk_relations_bounds(C);
    if (!rc) rc = zk_lookups(C);
    if (!rc) rc = zc_finish(z);
    if (!rc && z->prover && J->x_out)
        for (size_t i = 0; i < (size_t)s->T * c->dim; i++)
            J->x_out[i] = (int32_t)C->val[P_XOUT][(i / c->dim << s->db) + i % c->dim];
done:
    if (C) {
        for (int p = 0; p < P_NPOOLS; p++)
            if (C->val[p]) {
                veil_wipe(C->val[p], sizeof(int64_t) << C->nv[p]);
                free(C->val[p]);
            }
        for (int li = 0; li < nl; li++)
            for (int which = 0; which < 2; which++) {
                int pool = (which ? P_VC0 : P_KC0) + li;
                if (C->wval[pool - P_W0])
                    veil_wipe_free(C->wval[pool - P_W0], sizeof(int64_t) << C->nv[pool]);
            }
        free(C->bnd);
    }
    free(C);
    free(L);
    free(wl);
    return rc;
}

/* ---- boundary commitments ------------------------------------------------------ */

static int boundary(const zshape *s, const int32_t *x, const uint8_t key[32], int index,
                    veil_hyrax_commitment *cm, veil_fe **blinds)
{
    unsigned td = s->tb + s->db;
    size_t rows = (size_t)1 << veil_hyrax_row_vars(td);
    int64_t *v = calloc((size_t)1 << td, sizeof *v);
    *blinds = malloc(sizeof(veil_fe) * rows);
    if (!v || !*blinds) {
        free(v);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < (size_t)s->T * s->c.dim; i++)
        v[(i / s->c.dim << s->db) + i % s->c.dim] = x[i];
    /* fresh blindings per position: two steps never share them */
    derive_blinds(key, "boundary", (uint32_t)index, (uint32_t)s->pos, rows, *blinds);
    int rc = commit_blinded(cm, v, td, *blinds);
    veil_wipe(v, sizeof *v << td);
    free(v);
    return rc;
}

static int commit_bytes(const veil_hyrax_commitment *cm, uint8_t **out, size_t *len)
{
    size_t sz = veil_hyrax_commitment_size(cm->nvars);
    *out = malloc(sz);
    if (!*out) return veil_fail(VEIL_ENOMEM, "out of memory");
    return veil_hyrax_commitment_write(cm, *out, sz, len);
}

int veil_zk_boundary_commit(const veil_config *c, int pos, int T, const int32_t *x,
                            const uint8_t session_key[VEIL_ZK_KEY_BYTES], int index,
                            uint8_t **out, size_t *len)
{
    zshape s;
    veil_hyrax_commitment cm = {0};
    veil_fe *bl = NULL;
    int rc = zshape_init(&s, c, pos, T);
    if (!rc) rc = boundary(&s, x, session_key, index, &cm, &bl);
    if (!rc) rc = commit_bytes(&cm, out, len);
    if (bl) veil_wipe(bl, sizeof *bl << veil_hyrax_row_vars(s.tb + s.db));
    free(bl);
    veil_hyrax_commitment_free(&cm);
    return rc;
}

/* ---- prove / verify ------------------------------------------------------------ */

int veil_zk_chunk(int pos, int n)
{
    int c = n < VEIL_ZK_MAX_T ? n : VEIL_ZK_MAX_T;
    if (pos > 0 && (pos & -pos) < c) c = pos & -pos;
    return c;
}

int veil_zk_prove_shard(const veil_qmodel *q, veil_qshard *sh, int pos, int T,
                        const int32_t *x_in, const uint8_t session_key[VEIL_ZK_KEY_BYTES],
                        const uint8_t nonce[VEIL_ZK_NONCE_BYTES], veil_zk_shard_proof *out,
                        int32_t *x_out)
{
    memset(out, 0, sizeof *out);
    zshape s;
    int rc = zshape_init(&s, &q->cfg, pos, T);
    if (rc) return rc;
    int first = veil_qshard_first(sh), last = veil_qshard_last(sh), nl = last - first;
    const veil_pedersen_gens *pg;
    rc = veil_zk_layer_gens(&q->cfg, &pg);
    if (rc) return rc;
    size_t chunk = (size_t)1 << s.tb, rows = (size_t)T * q->cfg.dim;
    int32_t *y = malloc(sizeof *y * rows), *chk = malloc(sizeof *chk * rows);
    veil_hyrax_commitment *wcm = calloc(nl, sizeof *wcm), in_cm = {0}, out_cm = {0};
    int64_t **wv = calloc(nl, sizeof *wv);
    veil_fe **wb = calloc(nl, sizeof *wb), *in_bl = NULL, *out_bl = NULL;
    veil_ge *kv_new = malloc(sizeof *kv_new * 2 * nl * chunk);
    if (!y || !chk || !wcm || !wv || !wb || !kv_new) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    for (int li = 0; !rc && li < nl; li++) {
        zwlayout wl;
        rc = layer_commit(q, first + li, &s, &wl, &wv[li], &wcm[li], &wb[li]);
    }
    zc_ctx z;
    zc_init(&z, 1, pg, "veil/zk/shard/v2", NULL, 0);
    /* the circuit reads the cache of earlier positions before sh runs the
     * chunk; its output is then checked against the forward pass */
    zjob J = {&s, first, last, nonce, wcm, &in_cm, &out_cm, kv_new, NULL, wv, wb, x_in, NULL,
              NULL, chk, sh, session_key};
    if (!rc) rc = boundary(&s, x_in, session_key, first, &in_cm, &in_bl);
    if (!rc) {
        memcpy(y, x_in, sizeof *y * rows);
        rc = veil_qshard_forward_batch(sh, pos, T, y);
    }
    if (!rc) rc = boundary(&s, y, session_key, last, &out_cm, &out_bl);
    J.in_bl = in_bl, J.out_bl = out_bl;
    if (!rc) rc = shard_run(&z, &J);
    /* the proof's output must be the forward pass's, bit for bit */
    if (!rc && memcmp(chk, y, sizeof *y * rows))
        rc = veil_fail(VEIL_EINVAL, "prover: circuit output differs from the forward pass");
    if (!rc) {
        out->first = first, out->last = last, out->pos = pos, out->T = T;
        memcpy(out->nonce, nonce, VEIL_ZK_NONCE_BYTES);
        rc = commit_bytes(&in_cm, &out->in_commit, &out->commit_len);
        if (!rc) rc = commit_bytes(&out_cm, &out->out_commit, &out->commit_len);
        out->body = z.buf, out->body_len = z.len;
        z.buf = NULL;
    }
    if (!rc && x_out) memcpy(x_out, y, sizeof *y * rows);
    zc_free(&z);
    for (int li = 0; li < nl; li++) {
        if (wcm) veil_hyrax_commitment_free(&wcm[li]);
        if (wv) free(wv[li]);
        if (wb) veil_wipe_free(wb[li], sizeof(veil_fe) * (wcm ? wcm[li].rows : 0));
    }
    size_t brows = (size_t)1 << veil_hyrax_row_vars(s.tb + s.db);
    veil_hyrax_commitment_free(&in_cm);
    veil_hyrax_commitment_free(&out_cm);
    free(wcm);
    free(wv);
    free(wb);
    if (in_bl) veil_wipe_free(in_bl, sizeof(veil_fe) * brows);
    if (out_bl) veil_wipe_free(out_bl, sizeof(veil_fe) * brows);
    free(kv_new);
    free(chk);
    free(y);
    if (rc) veil_zk_shard_proof_free(out);
    return rc;
}

int veil_zk_prove_prefix(const veil_qmodel *q, int first, int last, int pos, int T,
                         const int32_t *x, const uint8_t session_key[VEIL_ZK_KEY_BYTES],
                         const uint8_t nonce[VEIL_ZK_NONCE_BYTES], veil_zk_shard_proof *out,
                         int32_t *x_out)
{
    memset(out, 0, sizeof *out);
    if (pos < 0 || T < 1 || pos > q->cfg.seq_len - T)
        return veil_fail(VEIL_ERANGE, "positions %d..%d outside the context", pos, pos + T - 1);
    size_t before = (size_t)pos * q->cfg.dim;
    veil_qshard *sh;
    int rc = veil_qmodel_shard(q, first, last, pos + T, &sh);
    if (rc) return rc;
    int32_t *tmp = pos ? malloc(sizeof *tmp * before) : NULL;
    if (pos && !tmp) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && pos) {
        memcpy(tmp, x, sizeof *tmp * before);
        rc = veil_qshard_forward_batch(sh, 0, pos, tmp);
    }
    if (!rc) rc = veil_zk_prove_shard(q, sh, pos, T, x + before, session_key, nonce, out, x_out);
    if (tmp) veil_wipe_free(tmp, sizeof *tmp * before);
    veil_qshard_free(sh);
    return rc;
}

static int read_boundaries(const zshape *s, const veil_zk_shard_proof *p,
                           veil_hyrax_commitment *in_cm, veil_hyrax_commitment *out_cm)
{
    unsigned td = s->tb + s->db;
    size_t used;
    int rc = veil_hyrax_commitment_read(in_cm, p->in_commit, p->commit_len, td, &used);
    if (!rc && used != p->commit_len) rc = VEIL_EINVAL;
    if (!rc) rc = veil_hyrax_commitment_read(out_cm, p->out_commit, p->commit_len, td, &used);
    if (!rc && used != p->commit_len) rc = VEIL_EINVAL;
    return rc ? veil_fail(VEIL_EVERIFY, "bad boundary commitment in proof") : 0;
}

/* The proof fits the verifier's state: layers, nonce, next position. */
static int verify_header(const veil_zk_registry *reg, const veil_zk_kv *kv,
                         const veil_zk_shard_proof *p, const uint8_t *nonce)
{
    if (p->first < 0 || p->last > reg->n_layers || p->first >= p->last)
        return veil_fail(VEIL_EVERIFY, "proof for layers %d:%d outside the registry", p->first,
                         p->last);
    if (!veil_ct_equal(p->nonce, nonce, VEIL_ZK_NONCE_BYTES))
        return veil_fail(VEIL_EVERIFY, "proof is for another request (nonce differs)");
    if (kv && (kv->first != p->first || kv->last != p->last))
        return veil_fail(VEIL_EVERIFY, "proof for layers %d:%d, KV record for %d:%d", p->first,
                         p->last, kv->first, kv->last);
    if (p->pos != veil_zk_kv_len(kv))
        return veil_fail(VEIL_EVERIFY, "proof starts at position %d, the verified cache holds %d",
                         p->pos, veil_zk_kv_len(kv));
    if (kv && p->T > kv->cap - kv->len)
        return veil_fail(VEIL_EVERIFY, "proof runs past the KV record");
    return 0;
}

int veil_zk_verify_shard(const veil_zk_registry *reg, veil_zk_kv *kv,
                         const veil_zk_shard_proof *p, const uint8_t nonce[VEIL_ZK_NONCE_BYTES])
{
    zshape s;
    int rc = zshape_init(&s, &reg->cfg, p->pos, p->T);
    if (rc) return veil_fail(VEIL_EVERIFY, "proof shape: %s", veil_last_error());
    if ((rc = verify_header(reg, kv, p, nonce))) return rc;
    const veil_pedersen_gens *pg;
    rc = veil_zk_layer_gens(&reg->cfg, &pg);
    if (rc) return rc;
    int nl = p->last - p->first;
    size_t chunk = (size_t)1 << s.tb;
    veil_hyrax_commitment in_cm = {0}, out_cm = {0};
    veil_ge *kv_new = malloc(sizeof *kv_new * 2 * nl * chunk);
    if (!kv_new) return veil_fail(VEIL_ENOMEM, "out of memory");
    rc = read_boundaries(&s, p, &in_cm, &out_cm);
    zc_ctx z;
    zc_init(&z, 0, pg, "veil/zk/shard/v2", p->body, p->body_len);
    zjob J = {.s = &s, .first = p->first, .last = p->last, .nonce = nonce, .wcm = reg->layer + p->first,
              .in_cm = &in_cm, .out_cm = &out_cm, .kv_new = kv_new, .kv = kv};
    if (!rc) rc = shard_run(&z, &J);
    zc_free(&z);
    veil_hyrax_commitment_free(&in_cm);
    veil_hyrax_commitment_free(&out_cm);
    if (!rc && kv) { /* the real positions join the record; padding rows do not */
        for (int li = 0; li < nl; li++)
            for (int which = 0; which < 2; which++)
                memcpy(kv_rows(kv, li, which) + kv->len, kv_new + ((size_t)li * 2 + which) * chunk,
                       sizeof *kv_new * p->T);
        kv->len += p->T;
    }
    free(kv_new);
    if (rc) return veil_fail(VEIL_EVERIFY, "shard proof rejected: %s", veil_last_error());
    return 0;
}

int veil_zk_shard_link(const veil_zk_shard_proof *a, const veil_zk_shard_proof *b)
{
    if (a->last != b->first || a->T != b->T || a->pos != b->pos)
        return veil_fail(VEIL_EVERIFY, "proofs %d:%d and %d:%d do not chain", a->first, a->last,
                         b->first, b->last);
    if (!veil_ct_equal(a->nonce, b->nonce, VEIL_ZK_NONCE_BYTES))
        return veil_fail(VEIL_EVERIFY, "chained proofs answer different requests");
    if (a->commit_len != b->commit_len ||
        !veil_ct_equal(a->out_commit, b->in_commit, a->commit_len))
        return veil_fail(VEIL_EVERIFY, "shard %d:%d output is not shard %d:%d input", a->first,
                         a->last, b->first, b->last);
    return 0;
}

static int commit_is(const uint8_t *have, size_t hl, const uint8_t *want, size_t wl,
                     const char *what)
{
    if (hl != wl || !veil_ct_equal(have, want, hl))
        return veil_fail(VEIL_EVERIFY, "the proof's %s commitment is not the expected one", what);
    return 0;
}

int veil_zk_shard_input_is(const veil_zk_shard_proof *p, const uint8_t *expect, size_t len)
{
    return commit_is(p->in_commit, p->commit_len, expect, len, "input");
}

int veil_zk_shard_output_is(const veil_zk_shard_proof *p, const uint8_t *expect, size_t len)
{
    return commit_is(p->out_commit, p->commit_len, expect, len, "output");
}

/* ---- wire format ------------------------------------------------------------------ */

void veil_zk_shard_proof_free(veil_zk_shard_proof *p)
{
    if (!p) return;
    free(p->in_commit);
    free(p->out_commit);
    free(p->body);
    memset(p, 0, sizeof *p);
}

/* "VZKS" | u32 version 3 | u32 first | u32 last | u32 pos | u32 T | nonce[32] |
 * u32 commit_len | in_commit | out_commit | u64 body_len | body */
#define PROOF_HDR 60
int veil_zk_shard_proof_write(const veil_zk_shard_proof *p, uint8_t **out, size_t *len)
{
    size_t n = PROOF_HDR + 2 * p->commit_len + 8 + p->body_len;
    uint8_t *b = malloc(n), *q = b;
    if (!b) return veil_fail(VEIL_ENOMEM, "out of memory");
    memcpy(q, PROOF_MAGIC, 4), q += 4;
    uint32_t h[5] = {PROOF_VERSION, (uint32_t)p->first, (uint32_t)p->last, (uint32_t)p->pos,
                     (uint32_t)p->T};
    for (int i = 0; i < 5; i++, q += 4)
        put32(q, h[i]);
    memcpy(q, p->nonce, 32), q += 32;
    put32(q, (uint32_t)p->commit_len), q += 4;
    memcpy(q, p->in_commit, p->commit_len), q += p->commit_len;
    memcpy(q, p->out_commit, p->commit_len), q += p->commit_len;
    uint64_t bl = p->body_len;
    memcpy(q, &bl, 8), q += 8;
    memcpy(q, p->body, p->body_len);
    *out = b;
    *len = n;
    return 0;
}

static int check_magic(const uint8_t *in, size_t len)
{
    if (len < PROOF_HDR || memcmp(in, PROOF_MAGIC, 4))
        return veil_fail(VEIL_EINVAL, "not a veil shard proof");
    if (get32(in + 4) != PROOF_VERSION)
        return veil_fail(VEIL_EINVAL,
                         "shard proof version %u, expected %d (version 2 sent values in the clear and is no longer accepted)",
                         get32(in + 4), PROOF_VERSION);
    return 0;
}

int veil_zk_shard_proof_nonce(const uint8_t *in, size_t len, uint8_t nonce[VEIL_ZK_NONCE_BYTES])
{
    int rc = check_magic(in, len);
    if (!rc) memcpy(nonce, in + 24, VEIL_ZK_NONCE_BYTES);
    return rc;
}

int veil_zk_shard_proof_read(const uint8_t *in, size_t len, veil_zk_shard_proof *out)
{
    memset(out, 0, sizeof *out);
    int rc = check_magic(in, len);
    if (rc) return rc;
    uint32_t first = get32(in + 8), last = get32(in + 12), at = get32(in + 16), T = get32(in + 20);
    if (last <= first || last > VEIL_MAX_LAYERS || T < 1 || T > VEIL_ZK_MAX_T || at > INT32_MAX - T)
        return veil_fail(VEIL_EINVAL, "shard proof header out of range");
    out->first = (int)first, out->last = (int)last, out->pos = (int)at, out->T = (int)T;
    memcpy(out->nonce, in + 24, 32);
    size_t cl = get32(in + 56), pos = PROOF_HDR;
    if (cl > len - pos || 2 * cl > len - pos || len - pos - 2 * cl < 8)
        return veil_fail(VEIL_EINVAL, "shard proof truncated");
    out->commit_len = cl;
    out->in_commit = malloc(cl ? cl : 1);
    out->out_commit = malloc(cl ? cl : 1);
    if (!out->in_commit || !out->out_commit) {
        veil_zk_shard_proof_free(out);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    memcpy(out->in_commit, in + pos, cl);
    memcpy(out->out_commit, in + pos + cl, cl);
    pos += 2 * cl;
    uint64_t bl;
    memcpy(&bl, in + pos, 8);
    pos += 8;
    if (bl != len - pos) {
        veil_zk_shard_proof_free(out);
        return veil_fail(VEIL_EINVAL, "shard proof body length mismatch");
    }
    out->body_len = (size_t)bl;
    out->body = malloc(bl ? bl : 1);
    if (!out->body) {
        veil_zk_shard_proof_free(out);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    memcpy(out->body, in + pos, bl);
    return 0;
}
