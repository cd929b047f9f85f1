/* The attacker: construction, observation of hidden states at a depth, the
 * per-position methods (nearest, logit lens, linear) and scoring.  The
 * vocab-match family lives in attack_match.c, the ridge fit in
 * attack_linear.c. */
#include "attack_impl.h"

#include "veil/tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[VEIL_ATTACK_NMETHODS] = {
    "nearest", "logit-lens", "vocab-match", "sorted-vocab-match", "gram-match", "linear",
};

const char *veil_attack_method_name(veil_attack_method m)
{
    return (unsigned)m < VEIL_ATTACK_NMETHODS ? method_names[m] : "?";
}

int veil_attack_parse_method(const char *s, veil_attack_method *out)
{
    for (int i = 0; s && i < VEIL_ATTACK_NMETHODS; i++)
        if (!strcmp(s, method_names[i])) {
            *out = (veil_attack_method)i;
            return 0;
        }
    return veil_fail(VEIL_EINVAL, "unknown attack method '%s'", s ? s : "");
}

int veil_attacker_new(const veil_model *m, const veil_attack_opts *o, veil_attacker **out)
{
    *out = NULL;
    const veil_config *c = &m->cfg;
    if (o->layer < 0 || o->layer > c->n_layers)
        return veil_fail(VEIL_ERANGE, "observation depth %d outside 0..%d", o->layer,
                         c->n_layers);
    if (!(o->clip >= 0) || o->candidates < 0 || o->threads < 0)
        return veil_fail(VEIL_EINVAL, "bad attack options");
    veil_attacker *a = calloc(1, sizeof *a);
    if (!a) return veil_fail(VEIL_ENOMEM, "out of memory for attacker");
    a->m = m;
    a->o = *o;
    a->dim = c->dim;
    a->vocab = c->vocab_size;
    a->emb_unit = malloc(sizeof(float) * (size_t)a->vocab * a->dim);
    if (!a->emb_unit) {
        free(a);
        return veil_fail(VEIL_ENOMEM, "out of memory for attacker");
    }
    for (int v = 0; v < a->vocab; v++) {
        const float *e = m->tok_emb + (size_t)v * a->dim;
        float *u = a->emb_unit + (size_t)v * a->dim;
        double ss = 0;
        for (int i = 0; i < a->dim; i++) ss += (double)e[i] * e[i];
        double inv = ss > 0 ? 1 / sqrt(ss) : 0;
        for (int i = 0; i < a->dim; i++) u[i] = (float)(e[i] * inv);
    }
    *out = a;
    return 0;
}

void veil_attacker_free(veil_attacker *a)
{
    if (!a) return;
    free(a->emb_unit);
    free(a->lin_w);
    free(a);
}

int veil_attacker_has_linear(const veil_attacker *a) { return a->lin_w != NULL; }

void attack_topk(const float *score, int n, int k, int *out)
{
    int have = 0;
    for (int i = 0; i < n; i++) {
        float s = score[i];
        if (!(s == s)) continue; /* NaN never ranks */
        if (have == k && !(s > score[out[k - 1]])) continue;
        int j = have < k ? have++ : k - 1;
        while (j > 0 && s > score[out[j - 1]]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
    for (int j = have; j < k; j++) out[j] = 0; /* degenerate input: pad */
}

void attack_nearest_scores(const veil_attacker *a, const float *row, float *score)
{
    veil_matmul(score, row, a->emb_unit, a->dim, a->vocab);
}

/* The model's own head on a copy of the row (the logits rank tokens). */
static void logit_lens_scores(const veil_attacker *a, const float *row, float *xbuf,
                              float *score)
{
    memcpy(xbuf, row, sizeof(float) * a->dim);
    veil_head(a->m, xbuf, score);
}

int veil_attack_recover(veil_attacker *a, veil_attack_method m, const float *obs, int T,
                        int *top)
{
    if (T < 1) return veil_fail(VEIL_EINVAL, "nothing to attack");
    if (m == VEIL_ATTACK_VOCAB_MATCH || m == VEIL_ATTACK_SORTED_MATCH ||
        m == VEIL_ATTACK_GRAM_MATCH)
        return attack_match(a, m, obs, T, top);
    if (m == VEIL_ATTACK_LINEAR && !a->lin_w)
        return veil_fail(VEIL_EINVAL, "linear inverter not trained");
    if ((unsigned)m >= VEIL_ATTACK_NMETHODS) return veil_fail(VEIL_EINVAL, "bad attack method");
    float *score = malloc(sizeof(float) * a->vocab), *xbuf = malloc(sizeof(float) * a->dim);
    if (!score || !xbuf) {
        free(score);
        free(xbuf);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    for (int t = 0; t < T; t++) {
        const float *row = obs + (size_t)t * a->dim;
        int *tt = top + (size_t)t * VEIL_ATTACK_TOPK;
        if (t == 0 && a->o.bos) {
            for (int j = 0; j < VEIL_ATTACK_TOPK; j++) tt[j] = VEIL_TOKEN_BOS;
            continue;
        }
        if (m == VEIL_ATTACK_NEAREST)
            attack_nearest_scores(a, row, score);
        else if (m == VEIL_ATTACK_LOGIT_LENS)
            logit_lens_scores(a, row, xbuf, score);
        else
            attack_linear_scores(a, row, score);
        attack_topk(score, a->vocab, VEIL_ATTACK_TOPK, tt);
    }
    free(score);
    free(xbuf);
    return 0;
}

int veil_attack_observe(const veil_model *m, const int *tokens, int T, int split, int layer,
                        const veil_dp_mech *dp, veil_dp_rng *rng, float *out)
{
    const veil_config *c = &m->cfg;
    if (T < 1 || T > c->seq_len)
        return veil_fail(VEIL_ERANGE, "sequence of %d tokens outside 1..%d", T, c->seq_len);
    if (layer < 0 || layer > c->n_layers || split < 0 || split > layer)
        return veil_fail(VEIL_ERANGE, "need 0 <= split %d <= layer %d <= %d", split, layer,
                         c->n_layers);
    if (dp && dp->dim != c->dim) return veil_fail(VEIL_EINVAL, "DP mechanism of wrong width");
    for (int t = 0; t < T; t++) {
        if (tokens[t] < 0 || tokens[t] >= c->vocab_size)
            return veil_fail(VEIL_EINVAL, "token %d outside vocabulary", tokens[t]);
        veil_embed(m, tokens[t], out + (size_t)t * c->dim);
    }
    const int bounds[3] = {0, split, layer};
    for (int seg = 0; seg < 2; seg++) {
        if (seg == 1 && dp) {
            int rc = veil_dp_apply(dp, rng, out, T);
            if (rc) return rc;
        }
        if (bounds[seg + 1] <= bounds[seg]) continue;
        veil_shard *s = NULL;
        int rc = veil_model_shard(m, bounds[seg], bounds[seg + 1], T, &s);
        if (!rc) rc = veil_shard_forward_batch(s, 0, T, out);
        veil_shard_free(s);
        if (rc) return rc;
    }
    return 0;
}

void veil_attack_score_add(veil_attack_score *s, const int *top, const int *truth, int T,
                           int skip_bos)
{
    for (int t = skip_bos ? 1 : 0; t < T; t++) {
        const int *tt = top + (size_t)t * VEIL_ATTACK_TOPK;
        s->n++;
        s->top1 += tt[0] == truth[t];
        for (int j = 0; j < VEIL_ATTACK_TOPK; j++)
            if (tt[j] == truth[t]) {
                s->top5++;
                break;
            }
    }
}
