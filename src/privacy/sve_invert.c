/* `veil attack invert --sve`: a curious node observes many requests through
 * SVE pipelines whose keys follow the client's policy, and optionally first
 * estimates the secret basis (known weights, or covariance pooled over the
 * requests of one key set) before the standard inversion methods run. */
#include "veil/sampler.h"
#include "veil/sve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUB_SEQS 48  /* public sequences the covariance attacker samples */
#define PUB_LEN 128  /* tokens each (capped by seq_len) */
#define PUB_SEED 0x5eed5eedull

typedef struct {
    long row;
    int T;
} sve_req;

struct veil_sve_invert {
    const veil_model *m;
    veil_sve_variant variant;
    veil_sve_policy policy;
    veil_sve_atk atk;
    int hop, layer, shard;
    veil_sve_local *cur; /* pipeline of the current key set */
    long n_req, sets;
    sve_req *open; /* requests of the current key set */
    long n_open, cap_open;
    double err_sum;
    long err_n;
    float *pub; /* public plain states at the depth (covariance) */
    long n_pub;
};

static const char *const atk_names[] = {"none", "known-weights", "covariance"};

int veil_sve_atk_parse(const char *s, veil_sve_atk *out)
{
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, atk_names[i])) {
            *out = (veil_sve_atk)i;
            return 0;
        }
    return veil_fail(VEIL_EINVAL, "unknown SVE attack '%s' (none|known-weights|covariance)",
                     s ? s : "");
}

const char *veil_sve_atk_name(veil_sve_atk a) { return (unsigned)a < 3 ? atk_names[a] : "?"; }

/* Plain states at the depth for text sampled from the public model: the
 * covariance attacker's reference distribution. */
static int public_states(veil_sve_invert *s)
{
    const veil_config *c = &s->m->cfg;
    int len = c->seq_len < PUB_LEN ? c->seq_len : PUB_LEN, dim = c->dim;
    s->pub = malloc(sizeof *s->pub * PUB_SEQS * len * dim);
    float *x = malloc(sizeof *x * dim), *logits = malloc(sizeof *logits * c->vocab_size);
    veil_shard *all = NULL, *part = NULL;
    veil_sampler smp = {0};
    int rc = !s->pub || !x || !logits ? veil_fail(VEIL_ENOMEM, "out of memory") : 0;
    if (!rc) rc = veil_model_shard(s->m, 0, c->n_layers, len, &all);
    if (!rc && s->layer > 0) rc = veil_model_shard(s->m, 0, s->layer, len, &part);
    if (!rc) rc = veil_sampler_init(&smp, c->vocab_size, 1.0f, 1.0f, PUB_SEED);
    for (int q = 0; q < PUB_SEQS && !rc; q++) {
        int tok = 1; /* BOS */
        for (int pos = 0; pos < len && !rc; pos++) {
            float *row = s->pub + ((size_t)q * len + pos) * dim;
            veil_embed(s->m, tok, row);
            if (part) rc = veil_shard_forward(part, pos, row);
            veil_embed(s->m, tok, x);
            if (!rc) rc = veil_shard_forward(all, pos, x);
            if (rc) break;
            veil_head(s->m, x, logits);
            tok = veil_sample(&smp, logits);
        }
    }
    s->n_pub = (long)PUB_SEQS * len;
    veil_sampler_free(&smp);
    veil_shard_free(all);
    veil_shard_free(part);
    free(x);
    free(logits);
    return rc;
}

void veil_sve_invert_free(veil_sve_invert *s)
{
    if (!s) return;
    veil_sve_local_free(s->cur);
    free(s->open);
    free(s->pub);
    free(s);
}

int veil_sve_invert_new(const veil_model *m, veil_sve_variant v, const veil_sve_policy *policy,
                        int hop, int layer, veil_sve_atk atk, veil_sve_invert **out)
{
    *out = NULL;
    if (layer < 0 || layer > m->cfg.n_layers)
        return veil_fail(VEIL_ERANGE, "observation depth %d outside 0..%d", layer,
                         m->cfg.n_layers);
    if (hop < 0 || hop > m->cfg.n_layers)
        return veil_fail(VEIL_ERANGE, "--sve-hop %d outside 0..%d", hop, m->cfg.n_layers);
    if ((unsigned)atk > VEIL_SVE_ATK_COVARIANCE) return veil_fail(VEIL_EINVAL, "bad SVE attack");
    veil_sve_invert *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory");
    *s = (veil_sve_invert){.m = m, .variant = v, .policy = *policy, .atk = atk, .hop = hop,
                           .layer = layer};
    int rc = atk == VEIL_SVE_ATK_COVARIANCE ? public_states(s) : 0;
    if (rc) {
        veil_sve_invert_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void add_error(veil_sve_invert *s, const double *q_est)
{
    s->err_sum += veil_sve_basis_error(veil_sve_local_keys(s->cur), s->shard, q_est);
    s->err_n++;
}

/* Close the current key set: the covariance attacker pools its requests,
 * estimates the basis and decodes them. */
static int close_set(veil_sve_invert *s, float *obs)
{
    int rc = 0, dim = s->m->cfg.dim;
    if (s->cur && s->atk == VEIL_SVE_ATK_COVARIANCE && s->n_open) {
        long rows = 0;
        for (long i = 0; i < s->n_open; i++)
            rows += s->open[i].T;
        float *pool = malloc(sizeof *pool * rows * dim);
        double *q = malloc(sizeof *q * dim * dim);
        if (!pool || !q) rc = veil_fail(VEIL_ENOMEM, "out of memory");
        for (long i = 0, r = 0; i < s->n_open && !rc; r += s->open[i].T, i++)
            memcpy(pool + (size_t)r * dim, obs + (size_t)s->open[i].row * dim,
                   sizeof *pool * s->open[i].T * dim);
        if (!rc) rc = veil_sve_attack_covariance(dim, s->pub, s->n_pub, pool, rows, q);
        if (!rc) add_error(s, q);
        for (long i = 0; i < s->n_open && !rc; i++)
            rc = veil_sve_attack_decode(dim, q, obs + (size_t)s->open[i].row * dim,
                                        s->open[i].T);
        free(pool);
        free(q);
    }
    veil_sve_local_free(s->cur);
    s->cur = NULL;
    s->n_open = 0;
    return rc;
}

/* Fresh keys and transformed weights (one shard per layer, as in the
 * finest pipeline; the basis is per hop segment either way). */
static int open_set(veil_sve_invert *s)
{
    int L = s->m->cfg.n_layers;
    int rc = veil_sve_local_new(s->m, s->variant, L, s->hop, 0, &s->cur);
    if (rc) return rc;
    s->shard = veil_sve_shard_of_depth(veil_sve_local_keys(s->cur), s->layer);
    s->sets++;
    return 0;
}

/* The known-weights attacker decodes with the basis it reads off the layer
 * its node holds (the one computing the depth; layer 0 for the entry). */
static int known_weights(veil_sve_invert *s, float *rows, int T)
{
    int dim = s->m->cfg.dim, held = s->layer > 0 ? s->layer - 1 : 0;
    double *q = malloc(sizeof *q * dim * dim);
    if (!q) return veil_fail(VEIL_ENOMEM, "out of memory");
    int rc = veil_sve_attack_known_weights(&s->m->cfg, &s->m->layers[held],
                                           veil_sve_local_layer(s->cur, held), q);
    if (!rc) {
        add_error(s, q);
        rc = veil_sve_attack_decode(dim, q, rows, T);
    }
    free(q);
    return rc;
}

static int remember(veil_sve_invert *s, long row, int T)
{
    if (s->n_open == s->cap_open) {
        long cap = s->cap_open ? 2 * s->cap_open : 64;
        sve_req *n = realloc(s->open, sizeof *n * cap);
        if (!n) return veil_fail(VEIL_ENOMEM, "out of memory");
        s->open = n;
        s->cap_open = cap;
    }
    s->open[s->n_open++] = (sve_req){row, T};
    return 0;
}

int veil_sve_invert_observe(veil_sve_invert *s, const int *tokens, int T, float *obs,
                            long row_start)
{
    int rc = 0;
    if (!s->cur || veil_sve_policy_fresh(&s->policy, s->n_req)) {
        rc = close_set(s, obs);
        if (!rc) rc = open_set(s);
        if (rc) return rc;
    }
    s->n_req++;
    float *rows = obs + (size_t)row_start * s->m->cfg.dim;
    rc = veil_sve_observe(s->cur, s->m, tokens, T, s->layer, rows);
    if (!rc && s->atk == VEIL_SVE_ATK_KNOWN_WEIGHTS) rc = known_weights(s, rows, T);
    if (!rc) rc = remember(s, row_start, T);
    return rc;
}

int veil_sve_invert_finish(veil_sve_invert *s, float *obs) { return close_set(s, obs); }

void veil_sve_invert_summary(const veil_sve_invert *s, char *buf, size_t n)
{
    char pol[32];
    veil_sve_policy_format(&s->policy, pol, sizeof pol);
    int k = snprintf(buf, n, "sve %s, keys %s, hop %d: %ld requests under %ld key sets; "
                     "attacker decoding: %s", veil_sve_variant_name(s->variant), pol, s->hop,
                     s->n_req, s->sets, veil_sve_atk_name(s->atk));
    if (s->err_n && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - k, ", mean basis error %.4f (0 = key recovered, ~1.41 = "
                 "unrelated)", s->err_sum / s->err_n);
}

int veil_sve_invert_from_args(const veil_model *m, int layer, const char *variant,
                              const char *keys, const char *hop, const char *attack,
                              veil_sve_invert **out)
{
    *out = NULL;
    if (!variant) {
        if (keys || hop || attack)
            return veil_fail(VEIL_EINVAL, "--sve-keys/--sve-hop/--sve-attack need --sve");
        return 0;
    }
    veil_sve_variant v;
    veil_sve_policy p = {VEIL_SVE_KEYS_SESSION, 0};
    veil_sve_atk a = VEIL_SVE_ATK_NONE;
    long h = 0;
    int rc = veil_sve_variant_parse(variant, &v);
    if (!rc && keys) rc = veil_sve_policy_parse(keys, &p);
    if (!rc && attack) rc = veil_sve_atk_parse(attack, &a);
    if (!rc && hop) {
        char *end;
        h = strtol(hop, &end, 10);
        if (end == hop || *end || h < 0 || h > m->cfg.n_layers)
            rc = veil_fail(VEIL_EINVAL, "--sve-hop '%s' is not in 0..%d", hop, m->cfg.n_layers);
    }
    return rc ? rc : veil_sve_invert_new(m, v, &p, (int)h, layer, a, out);
}
