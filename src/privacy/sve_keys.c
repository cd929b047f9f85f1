/* SVE key material: drawing it from the CSPRNG, wiping it, the client-side
 * basis changes (enter / exit / hop) and the key policy. */
#include "sve_internal.h"

#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CSPRNG: OpenSSL RAND_bytes, buffered ------------------------------- */

typedef struct {
    unsigned char buf[4096];
    size_t pos;
    int failed;
} sve_rng;

static uint64_t rng_u64(sve_rng *r)
{
    if (r->pos + 8 > sizeof r->buf) {
        if (RAND_bytes(r->buf, sizeof r->buf) != 1) r->failed = 1;
        r->pos = 0;
    }
    uint64_t v;
    memcpy(&v, r->buf + r->pos, 8);
    r->pos += 8;
    return v;
}

/* Uniform in (0, 1). */
static double rng_uniform(sve_rng *r) { return ((double)(rng_u64(r) >> 11) + 0.5) * 0x1p-53; }

static double rng_normal(sve_rng *r)
{
    double u = rng_uniform(r), v = rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Uniform integer in [0, n) without modulo bias. */
static int rng_below(sve_rng *r, int n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % (uint64_t)n, v;
    do
        v = rng_u64(r);
    while (v >= lim);
    return (int)(v % (uint64_t)n);
}

static void rng_perm(sve_rng *r, int *p, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = rng_below(r, i + 1), t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

/* Log-uniform in [1/2, 2]: a scale that hides magnitudes without hurting
 * float accuracy. */
static double rng_scale(sve_rng *r) { return exp2(2.0 * rng_uniform(r) - 1.0); }

static double rng_sign(sve_rng *r) { return (rng_u64(r) & 1) ? -1.0 : 1.0; }

/* ---- random orthogonal matrices ----------------------------------------- */

static void signed_permutation(sve_rng *r, int n, double *q)
{
    int *p = malloc(sizeof *p * n);
    if (!p) {
        r->failed = 1;
        return;
    }
    rng_perm(r, p, n);
    memset(q, 0, sizeof *q * n * n);
    for (int i = 0; i < n; i++)
        q[(size_t)i * n + p[i]] = rng_sign(r);
    veil_wipe(p, sizeof *p * n);
    free(p);
}

/* Haar-distributed orthogonal matrix: Householder QR of a Gaussian matrix A,
 * Q = H_0 ... H_{n-2} diag(sign R_kk) (the sign fix makes the law exactly
 * Haar, Mezzadri 2007).  Scratch: a and v are n*n, vn and sgn are n. */
static void haar_orthogonal(sve_rng *r, int n, double *q, double *a, double *v, double *vn,
                            double *sgn)
{
    for (size_t i = 0; i < (size_t)n * n; i++)
        a[i] = rng_normal(r);
    for (int k = 0; k < n - 1; k++) {
        double *vk = v + (size_t)k * n, norm = 0.0;
        for (int i = k; i < n; i++)
            norm += a[(size_t)i * n + k] * a[(size_t)i * n + k];
        norm = sqrt(norm);
        double alpha = a[(size_t)k * n + k] > 0 ? -norm : norm;
        for (int i = k; i < n; i++)
            vk[i] = a[(size_t)i * n + k];
        vk[k] -= alpha;
        vn[k] = 0.0;
        for (int i = k; i < n; i++)
            vn[k] += vk[i] * vk[i];
        sgn[k] = alpha < 0 ? -1.0 : 1.0; /* R_kk = alpha after the reflection */
        if (vn[k] == 0.0) continue;
        for (int j = k; j < n; j++) {
            double d = 0.0;
            for (int i = k; i < n; i++)
                d += vk[i] * a[(size_t)i * n + j];
            d *= 2.0 / vn[k];
            for (int i = k; i < n; i++)
                a[(size_t)i * n + j] -= d * vk[i];
        }
    }
    sgn[n - 1] = a[(size_t)(n - 1) * n + n - 1] < 0 ? -1.0 : 1.0;
    /* Q = H_0 (H_1 (... (H_{n-2} I))) */
    memset(q, 0, sizeof *q * n * n);
    for (int i = 0; i < n; i++)
        q[(size_t)i * n + i] = 1.0;
    for (int k = n - 2; k >= 0; k--) {
        const double *vk = v + (size_t)k * n;
        if (vn[k] == 0.0) continue;
        for (int j = 0; j < n; j++) {
            double d = 0.0;
            for (int i = k; i < n; i++)
                d += vk[i] * q[(size_t)i * n + j];
            d *= 2.0 / vn[k];
            for (int i = k; i < n; i++)
                q[(size_t)i * n + j] -= d * vk[i];
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            q[(size_t)i * n + j] *= sgn[j];
}

/* An orthogonal matrix of the variant: signed permutation or Haar. */
static int draw_orthogonal(sve_rng *r, veil_sve_variant v, int n, double *q)
{
    if (v == VEIL_SVE_PAPER) {
        signed_permutation(r, n, q);
        return r->failed ? veil_fail(VEIL_EIO, "RAND_bytes failed") : 0;
    }
    size_t nn = (size_t)n * n, bytes = sizeof(double) * (2 * nn + 2 * (size_t)n);
    double *s = malloc(bytes);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory for a %dx%d key", n, n);
    haar_orthogonal(r, n, q, s, s + nn, s + 2 * nn, s + 2 * nn + n);
    veil_wipe(s, bytes);
    free(s);
    if (r->failed) return veil_fail(VEIL_EIO, "RAND_bytes failed");
    return 0;
}

/* ---- per-layer secrets --------------------------------------------------- */

static void layer_keys_free(const veil_config *c, sve_layer_keys *l)
{
    size_t hs = veil_head_size(c), nkv = c->n_kv_heads;
#define SVE_WIPE_FREE(p, n)                          \
    do {                                             \
        if (p) veil_wipe(p, sizeof *(p) * (n));      \
        free(p);                                     \
    } while (0)
    SVE_WIPE_FREE(l->kvsrc, nkv);
    SVE_WIPE_FREE(l->qsrc, (size_t)c->n_heads);
    SVE_WIPE_FREE(l->pair, nkv * hs / 2 * 3);
    SVE_WIPE_FREE(l->vmap, nkv * hs * hs);
    SVE_WIPE_FREE(l->vinv, nkv * hs * hs);
    SVE_WIPE_FREE(l->hsrc, (size_t)c->hidden_dim);
    SVE_WIPE_FREE(l->hscale, (size_t)c->hidden_dim);
#undef SVE_WIPE_FREE
    memset(l, 0, sizeof *l);
}

/* Heads: KV heads permuted as blocks, query heads permuted within their
 * group, so transformed query slot p still reads transformed KV slot p/G. */
static void draw_heads(sve_rng *r, const veil_config *c, sve_layer_keys *l, int *tmp)
{
    int G = c->n_heads / c->n_kv_heads;
    rng_perm(r, l->kvsrc, c->n_kv_heads);
    for (int pg = 0; pg < c->n_kv_heads; pg++) {
        rng_perm(r, tmp, G);
        for (int j = 0; j < G; j++)
            l->qsrc[pg * G + j] = l->kvsrc[pg] * G + tmp[j];
    }
}

/* Per RoPE pair: scale s and rotation angle (paper: multiples of 90 degrees,
 * so q and k rows stay signed permutations of scaled rows). */
static void draw_pairs(sve_rng *r, veil_sve_variant v, size_t n_pairs, double *pair)
{
    for (size_t i = 0; i < n_pairs; i++) {
        double ang = v == VEIL_SVE_PAPER ? (double)rng_below(r, 4) * (M_PI / 2.0)
                                         : 2.0 * M_PI * rng_uniform(r);
        pair[3 * i] = rng_scale(r);
        pair[3 * i + 1] = v == VEIL_SVE_PAPER ? round(cos(ang)) : cos(ang);
        pair[3 * i + 2] = v == VEIL_SVE_PAPER ? round(sin(ang)) : sin(ang);
    }
}

/* V = O diag(s) with O orthogonal of the variant; V^-1 = diag(1/s) O^T. */
static int draw_value_map(sve_rng *r, veil_sve_variant v, int hs, double *vm, double *vi)
{
    int rc = draw_orthogonal(r, v, hs, vm);
    if (rc) return rc;
    for (int j = 0; j < hs; j++) {
        double s = rng_scale(r);
        for (int i = 0; i < hs; i++) {
            vi[(size_t)j * hs + i] = vm[(size_t)i * hs + j] / s;
            vm[(size_t)i * hs + j] *= s;
        }
    }
    return 0;
}

/* SwiGLU units: shared permutation, up-branch scale (strong: random sign too,
 * the up branch is linear so any non-zero factor passes through). */
static void draw_hidden(sve_rng *r, veil_sve_variant v, int hd, int *hsrc, double *hscale)
{
    rng_perm(r, hsrc, hd);
    for (int i = 0; i < hd; i++)
        hscale[i] = rng_scale(r) * (v == VEIL_SVE_STRONG ? rng_sign(r) : 1.0);
}

static int layer_keys_new(sve_rng *r, const veil_config *c, veil_sve_variant v,
                          sve_layer_keys *l)
{
    size_t hs = veil_head_size(c), nkv = c->n_kv_heads;
    l->kvsrc = malloc(sizeof *l->kvsrc * nkv);
    l->qsrc = malloc(sizeof *l->qsrc * c->n_heads);
    l->pair = malloc(sizeof *l->pair * nkv * hs / 2 * 3);
    l->vmap = malloc(sizeof *l->vmap * nkv * hs * hs);
    l->vinv = malloc(sizeof *l->vinv * nkv * hs * hs);
    l->hsrc = malloc(sizeof *l->hsrc * c->hidden_dim);
    l->hscale = malloc(sizeof *l->hscale * c->hidden_dim);
    int *tmp = malloc(sizeof *tmp * (c->n_heads / c->n_kv_heads));
    int rc = 0;
    if (!l->kvsrc || !l->qsrc || !l->pair || !l->vmap || !l->vinv || !l->hsrc || !l->hscale ||
        !tmp)
        rc = veil_fail(VEIL_ENOMEM, "out of memory for SVE layer keys");
    if (!rc) {
        draw_heads(r, c, l, tmp);
        draw_pairs(r, v, nkv * hs / 2, l->pair);
        for (size_t g = 0; g < nkv && !rc; g++)
            rc = draw_value_map(r, v, (int)hs, l->vmap + g * hs * hs, l->vinv + g * hs * hs);
        draw_hidden(r, v, c->hidden_dim, l->hsrc, l->hscale);
    }
    if (tmp) veil_wipe(tmp, sizeof *tmp * (c->n_heads / c->n_kv_heads));
    free(tmp);
    return rc;
}

/* ---- key set ------------------------------------------------------------- */

int veil_sve_variant_parse(const char *s, veil_sve_variant *out)
{
    if (s && strcmp(s, "paper") == 0) *out = VEIL_SVE_PAPER;
    else if (s && strcmp(s, "strong") == 0) *out = VEIL_SVE_STRONG;
    else return veil_fail(VEIL_EINVAL, "unknown SVE variant '%s' (paper or strong)", s ? s : "");
    return 0;
}

const char *veil_sve_variant_name(veil_sve_variant v)
{
    return v == VEIL_SVE_PAPER ? "paper" : v == VEIL_SVE_STRONG ? "strong" : "?";
}

static int check_bounds(const veil_config *c, int n_shards, const int *b, int hop)
{
    if (n_shards < 1 || n_shards > c->n_layers)
        return veil_fail(VEIL_ERANGE, "%d shards for a model of %d layers", n_shards,
                         c->n_layers);
    if (!b) return veil_fail(VEIL_EINVAL, "no shard boundaries");
    /* b[0] > 0: split inference, the client runs layers 0..b[0]-1 in the
     * clear and the secret basis starts where its state leaves it */
    if (b[0] < 0 || b[n_shards] != c->n_layers)
        return veil_fail(VEIL_EINVAL, "shard boundaries must start at 0..%d and end at %d",
                         c->n_layers - 1, c->n_layers);
    for (int s = 0; s < n_shards; s++)
        if (b[s] >= b[s + 1])
            return veil_fail(VEIL_EINVAL, "shard %d is empty or reversed ([%d,%d))", s, b[s],
                             b[s + 1]);
    /* hop >= n_shards is allowed and means no hop (the state only returns at
     * the end), so a pipeline can shrink without the client's flag changing */
    if (hop < 0 || hop > VEIL_MAX_LAYERS)
        return veil_fail(VEIL_ERANGE, "--sve-hop %d outside 0..%d", hop, VEIL_MAX_LAYERS);
    return 0;
}

void veil_sve_keys_free(veil_sve_keys *k)
{
    if (!k) return;
    if (k->layer)
        for (int l = 0; l < k->cfg.n_layers; l++)
            layer_keys_free(&k->cfg, &k->layer[l]);
    free(k->layer);
    if (k->q) veil_wipe(k->q, sizeof *k->q * k->n_seg * k->cfg.dim * k->cfg.dim);
    free(k->q);
    if (k->bounds) veil_wipe(k->bounds, sizeof *k->bounds * (k->n_shards + 1));
    free(k->bounds);
    veil_wipe(k, sizeof *k);
    free(k);
}

int veil_sve_keys_new(const veil_config *cfg, veil_sve_variant v, int n_shards,
                      const int *boundaries, int hop, veil_sve_keys **out)
{
    *out = NULL;
    int rc = veil_config_validate(cfg);
    if (rc) return rc;
    if (v != VEIL_SVE_PAPER && v != VEIL_SVE_STRONG)
        return veil_fail(VEIL_EINVAL, "unknown SVE variant %d", (int)v);
    if ((rc = check_bounds(cfg, n_shards, boundaries, hop))) return rc;
    veil_sve_keys *k = calloc(1, sizeof *k);
    if (!k) return veil_fail(VEIL_ENOMEM, "out of memory");
    k->cfg = *cfg;
    k->variant = v;
    k->n_shards = n_shards;
    k->hop = hop;
    k->n_seg = hop ? (n_shards + hop - 1) / hop : 1;
    size_t dd = (size_t)cfg->dim * cfg->dim;
    k->bounds = malloc(sizeof *k->bounds * (n_shards + 1));
    k->q = malloc(sizeof *k->q * dd * k->n_seg);
    k->layer = calloc(cfg->n_layers, sizeof *k->layer);
    if (!k->bounds || !k->q || !k->layer) {
        veil_sve_keys_free(k);
        return veil_fail(VEIL_ENOMEM, "out of memory for SVE keys");
    }
    memcpy(k->bounds, boundaries, sizeof *k->bounds * (n_shards + 1));
    sve_rng r = {.pos = sizeof r.buf};
    for (int s = 0; s < k->n_seg && !rc; s++)
        rc = draw_orthogonal(&r, v, cfg->dim, k->q + dd * s);
    for (int l = 0; l < cfg->n_layers && !rc; l++)
        rc = layer_keys_new(&r, cfg, v, &k->layer[l]);
    if (!rc && r.failed) rc = veil_fail(VEIL_EIO, "RAND_bytes failed");
    veil_wipe(&r, sizeof r);
    if (rc) {
        veil_sve_keys_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

veil_sve_variant veil_sve_keys_variant(const veil_sve_keys *k) { return k->variant; }
int veil_sve_keys_shards(const veil_sve_keys *k) { return k->n_shards; }
int veil_sve_keys_segments(const veil_sve_keys *k) { return k->n_seg; }

const double *sve_basis(const veil_sve_keys *k, int shard_idx)
{
    int seg = k->hop ? shard_idx / k->hop : 0;
    return k->q + (size_t)seg * k->cfg.dim * k->cfg.dim;
}

/* ---- client-side basis changes ------------------------------------------- */

/* Each row: x <- to * from^T x (from or to may be NULL = identity), in double
 * so a hop rounds to float once. */
static int change_basis(const veil_sve_keys *k, const double *from, const double *to, float *x,
                        int T)
{
    int n = k->cfg.dim;
    if (T < 0) return veil_fail(VEIL_EINVAL, "negative row count %d", T);
    if (T > 0 && !x) return veil_fail(VEIL_EINVAL, "no hidden states");
    double *a = malloc(sizeof *a * 2 * n);
    if (!a) return veil_fail(VEIL_ENOMEM, "out of memory");
    double *b = a + n;
    for (int t = 0; t < T; t++) {
        float *row = x + (size_t)t * n;
        for (int i = 0; i < n; i++)
            a[i] = row[i];
        if (from) { /* b = from^T a */
            memset(b, 0, sizeof *b * n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    b[j] += from[(size_t)i * n + j] * a[i];
            memcpy(a, b, sizeof *a * n);
        }
        for (int i = 0; i < n; i++) {
            double s = a[i];
            if (to) {
                s = 0.0;
                for (int j = 0; j < n; j++)
                    s += to[(size_t)i * n + j] * a[j];
            }
            row[i] = (float)s;
        }
    }
    veil_wipe(a, sizeof *a * 2 * n);
    free(a);
    return 0;
}

static int check_shard(const veil_sve_keys *k, int s)
{
    if (s < 0 || s >= k->n_shards)
        return veil_fail(VEIL_ERANGE, "shard %d outside 0..%d", s, k->n_shards - 1);
    return 0;
}

int veil_sve_to_shard_basis(const veil_sve_keys *k, int s, float *x, int T)
{
    int rc = check_shard(k, s);
    return rc ? rc : change_basis(k, NULL, sve_basis(k, s), x, T);
}

int veil_sve_from_shard_basis(const veil_sve_keys *k, int s, float *x, int T)
{
    int rc = check_shard(k, s);
    return rc ? rc : change_basis(k, sve_basis(k, s), NULL, x, T);
}

int veil_sve_enter(const veil_sve_keys *k, float *x, int T)
{
    return veil_sve_to_shard_basis(k, 0, x, T);
}

int veil_sve_exit(const veil_sve_keys *k, float *x, int T)
{
    return veil_sve_from_shard_basis(k, k->n_shards - 1, x, T);
}

int veil_sve_hop_after(const veil_sve_keys *k, int s)
{
    return k->hop > 0 && s >= 0 && s + 1 < k->n_shards && (s + 1) % k->hop == 0;
}

int veil_sve_rekey_hop(const veil_sve_keys *k, int s, float *x, int T)
{
    int rc = check_shard(k, s);
    if (rc) return rc;
    if (s + 1 >= k->n_shards)
        return veil_fail(VEIL_ERANGE, "no shard after the last one (%d)", s);
    const double *a = sve_basis(k, s), *b = sve_basis(k, s + 1);
    return a == b ? 0 : change_basis(k, a, b, x, T);
}

/* ---- key policy ---------------------------------------------------------- */

int veil_sve_policy_parse(const char *s, veil_sve_policy *out)
{
    if (!s) return veil_fail(VEIL_EINVAL, "missing SVE key policy");
    if (strcmp(s, "session") == 0) {
        *out = (veil_sve_policy){VEIL_SVE_KEYS_SESSION, 0};
        return 0;
    }
    if (strcmp(s, "request") == 0) {
        *out = (veil_sve_policy){VEIL_SVE_KEYS_REQUEST, 1};
        return 0;
    }
    if (strncmp(s, "reuse:", 6) == 0) {
        char *end;
        const char *num = s + 6;
        long n = strtol(num, &end, 10);
        if (end != num && *end == 0 && n >= 1 && n <= 1000000000L && num[0] != '-' &&
            num[0] != '+') {
            *out = (veil_sve_policy){VEIL_SVE_KEYS_REUSE, n};
            return 0;
        }
    }
    return veil_fail(VEIL_EINVAL,
                     "bad SVE key policy '%s' (session, request or reuse:N, 1<=N<=1e9)", s);
}

void veil_sve_policy_format(const veil_sve_policy *p, char *buf, size_t n)
{
    if (p->kind == VEIL_SVE_KEYS_REUSE) snprintf(buf, n, "reuse:%ld", p->n);
    else snprintf(buf, n, "%s", p->kind == VEIL_SVE_KEYS_REQUEST ? "request" : "session");
}

int veil_sve_policy_fresh(const veil_sve_policy *p, long req)
{
    if (req <= 0) return 1;
    switch (p->kind) {
    case VEIL_SVE_KEYS_REQUEST: return 1;
    case VEIL_SVE_KEYS_REUSE: return req % p->n == 0;
    default: return 0;
    }
}
