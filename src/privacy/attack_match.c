/* Vocabulary matching: the public model is a deterministic function of the
 * token prefix, so position by position the attacker runs prefix + each
 * candidate token up to depth K and keeps the candidate whose state is
 * closest to what it observed.  Three distances:
 *   plain  L2 between the states;
 *   sorted L2 between the sorted coordinate values (a secret permutation of
 *          the coordinates does not change them);
 *   gram   L2 between the inner products with the earlier positions' states
 *          and the squared norm (an orthogonal transform Q preserves
 *          <Qa, Qb> = <a, b>).
 * Candidates run in parallel, each worker with its own shard (and so its
 * own KV cache); after each position every worker replays the chosen token so
 * all caches hold the recovered prefix. */
#include "attack_impl.h"

#include "veil/tokenizer.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    veil_shard *shard; /* layers [0, K), NULL when K == 0 */
    float *x;          /* dim: candidate state */
    float *tmp;        /* dim: sorted copy */
} worker;

typedef struct {
    veil_attacker *a;
    veil_attack_method m;
    int T, nw;
    worker *w;
    float *prefix;   /* T x dim: attacker's states of the recovered prefix */
    float *obs_key;  /* per position: sorted observation (sorted method) */
    float *obs_gram; /* per position: <o_t, o_j> j < t, then <o_t, o_t> */
    float *dist;     /* vocab: negated distance of each candidate */
    int *cand;       /* candidate list */
    float *score;    /* vocab: pre-ranking scores for pruning */
} match_ctx;

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* The state the attacker predicts at depth K for `tok` at position t, given
 * the prefix already in the worker's cache, clipped like the client's rows. */
static int candidate_state(const match_ctx *c, worker *w, int tok, int t)
{
    const veil_attacker *a = c->a;
    veil_embed(a->m, tok, w->x);
    if (w->shard) {
        int rc = veil_shard_forward(w->shard, t, w->x);
        if (rc) return rc;
    }
    if (a->o.clip > 0) veil_dp_clip_rows(w->x, 1, a->dim, a->o.clip);
    return 0;
}

static double sqdist(const float *x, const float *y, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)x[i] - y[i];
        s += d * d;
    }
    return s;
}

/* Distance of the worker's candidate state to the observation at t. */
static double candidate_distance(const match_ctx *c, worker *w, const float *obs, int t)
{
    int dim = c->a->dim;
    if (c->m == VEIL_ATTACK_VOCAB_MATCH) return sqdist(w->x, obs + (size_t)t * dim, dim);
    if (c->m == VEIL_ATTACK_SORTED_MATCH) {
        memcpy(w->tmp, w->x, sizeof(float) * dim);
        qsort(w->tmp, dim, sizeof(float), cmp_float);
        return sqdist(w->tmp, c->obs_key + (size_t)t * dim, dim);
    }
    const float *g = c->obs_gram + (size_t)t * (c->T + 1);
    double s = 0;
    for (int j = 0; j <= t; j++) {
        const float *p = j < t ? c->prefix + (size_t)j * dim : w->x;
        double d = (double)veil_dot(w->x, p, dim) - g[j];
        s += d * d;
    }
    return s;
}

/* Observation features that do not depend on the candidate. */
static void prepare_observation(match_ctx *c, const float *obs)
{
    int dim = c->a->dim;
    for (int t = 0; t < c->T; t++) {
        const float *o = obs + (size_t)t * dim;
        if (c->m == VEIL_ATTACK_SORTED_MATCH) {
            float *k = c->obs_key + (size_t)t * dim;
            memcpy(k, o, sizeof(float) * dim);
            qsort(k, dim, sizeof(float), cmp_float);
        } else if (c->m == VEIL_ATTACK_GRAM_MATCH) {
            float *g = c->obs_gram + (size_t)t * (c->T + 1);
            for (int j = 0; j <= t; j++) g[j] = veil_dot(o, obs + (size_t)j * dim, dim);
        }
    }
}

/* Candidate tokens at position t: the whole vocabulary, or the union of the
 * top-N of cosine nearest and (when trained) of the linear inverter, which
 * fail on different tokens. */
static int candidates_at(match_ctx *c, const float *obs, int t)
{
    veil_attacker *a = c->a;
    int n = a->o.candidates;
    if (n <= 0 || 2 * n >= a->vocab) { /* the union would not fit in cand */
        for (int v = 0; v < a->vocab; v++) c->cand[v] = v;
        return a->vocab;
    }
    const float *row = obs + (size_t)t * a->dim;
    attack_nearest_scores(a, row, c->score);
    attack_topk(c->score, a->vocab, n, c->cand);
    if (!a->lin_w) return n;
    int *lin = c->cand + n, total = n;
    attack_linear_scores(a, row, c->score);
    attack_topk(c->score, a->vocab, n, lin);
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < n && !dup; j++) dup = c->cand[j] == lin[i];
        if (!dup) c->cand[total++] = lin[i];
    }
    return total;
}

/* Score every candidate at position t in parallel; c->dist gets -distance. */
static int score_candidates(match_ctx *c, const float *obs, int t, int ncand)
{
    int err = 0;
    for (int v = 0; v < c->a->vocab; v++) c->dist[v] = -INFINITY;
#pragma omp parallel num_threads(c->nw)
    {
        worker *w = &c->w[omp_get_thread_num()];
#pragma omp for schedule(static)
        for (int i = 0; i < ncand; i++) {
            int tok = c->cand[i];
            if (candidate_state(c, w, tok, t)) {
#pragma omp atomic write
                err = 1;
                continue;
            }
            c->dist[tok] = (float)-candidate_distance(c, w, obs, t);
        }
    }
    return err ? veil_fail(VEIL_ERANGE, "vocab-match forward failed") : 0;
}

/* Every worker runs the chosen token at t so all caches hold the prefix. */
static int commit_token(match_ctx *c, int tok, int t)
{
    int err = 0;
#pragma omp parallel for num_threads(c->nw) schedule(static, 1)
    for (int i = 0; i < c->nw; i++)
        if (candidate_state(c, &c->w[i], tok, t)) {
#pragma omp atomic write
            err = 1;
        }
    memcpy(c->prefix + (size_t)t * c->a->dim, c->w[0].x, sizeof(float) * c->a->dim);
    return err ? veil_fail(VEIL_ERANGE, "vocab-match forward failed") : 0;
}

static int run_match(match_ctx *c, const float *obs, int *top)
{
    prepare_observation(c, obs);
    for (int t = 0; t < c->T; t++) {
        int *tt = top + (size_t)t * VEIL_ATTACK_TOPK;
        if (t == 0 && c->a->o.bos) {
            for (int j = 0; j < VEIL_ATTACK_TOPK; j++) tt[j] = VEIL_TOKEN_BOS;
        } else {
            int rc = score_candidates(c, obs, t, candidates_at(c, obs, t));
            if (rc) return rc;
            attack_topk(c->dist, c->a->vocab, VEIL_ATTACK_TOPK, tt);
        }
        int rc = commit_token(c, tt[0], t);
        if (rc) return rc;
    }
    return 0;
}

static void free_ctx(match_ctx *c)
{
    for (int i = 0; c->w && i < c->nw; i++) {
        veil_shard_free(c->w[i].shard);
        free(c->w[i].x);
        free(c->w[i].tmp);
    }
    free(c->w);
    free(c->prefix);
    free(c->obs_key);
    free(c->obs_gram);
    free(c->dist);
    free(c->cand);
    free(c->score);
}

static int alloc_ctx(match_ctx *c)
{
    veil_attacker *a = c->a;
    size_t dim = a->dim, T = c->T;
    c->w = calloc(c->nw, sizeof *c->w);
    c->prefix = malloc(sizeof(float) * T * dim);
    c->obs_key = malloc(sizeof(float) * T * dim);
    c->obs_gram = malloc(sizeof(float) * T * (T + 1));
    c->dist = malloc(sizeof(float) * a->vocab);
    c->cand = malloc(sizeof(int) * a->vocab);
    c->score = malloc(sizeof(float) * a->vocab);
    if (!c->w || !c->prefix || !c->obs_key || !c->obs_gram || !c->dist || !c->cand || !c->score)
        return veil_fail(VEIL_ENOMEM, "out of memory for vocab-match");
    for (int i = 0; i < c->nw; i++) {
        worker *w = &c->w[i];
        w->x = malloc(sizeof(float) * dim);
        w->tmp = malloc(sizeof(float) * dim);
        if (!w->x || !w->tmp) return veil_fail(VEIL_ENOMEM, "out of memory for vocab-match");
        if (a->o.layer > 0) {
            int rc = veil_model_shard(a->m, 0, a->o.layer, c->T, &w->shard);
            if (rc) return rc;
        }
    }
    return 0;
}

int attack_match(veil_attacker *a, veil_attack_method m, const float *obs, int T, int *top)
{
    if (T > a->m->cfg.seq_len)
        return veil_fail(VEIL_ERANGE, "%d positions exceed the model's %d", T, a->m->cfg.seq_len);
    match_ctx c = {.a = a, .m = m, .T = T};
    c.nw = a->o.threads > 0 ? a->o.threads : veil_get_threads();
    if (c.nw > 64) c.nw = 64;
    int rc = alloc_ctx(&c);
    if (!rc) rc = run_match(&c, obs, top);
    free_ctx(&c);
    return rc;
}
