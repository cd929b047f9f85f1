/* The SVE attacks work as documented: the known-weights attack reads the
 * secret residual basis off one transformed layer of a public model, the
 * covariance attack recovers it from enough states under one key, and the
 * observation helper returns exactly what a node computes. */
#include "harness.h"
#include "veil/sampler.h"
#include "veil/sve.h"
#include "veil/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static veil_model *synth_model(void)
{
    veil_config c = {32, 80, 3, 4, 2, 300, 64, 1};
    size_t n;
    float *f = veil_synth_floats(&c, 11, &n);
    veil_model *m = NULL;
    if (!f || veil_model_from_legacy_floats(&c, f, n, &m)) return NULL;
    return m;
}

/* A node holding any transformed layer recovers Q (both variants). */
static void known_weights(const veil_model *m)
{
    int dim = m->cfg.dim;
    double *q = malloc(sizeof *q * dim * dim);
    for (int v = VEIL_SVE_PAPER; v <= VEIL_SVE_STRONG; v++) {
        veil_sve_local *l = NULL;
        CHECK(veil_sve_local_new(m, v, m->cfg.n_layers, 1, 8, &l) == 0);
        if (!l) continue;
        for (int layer = 0; layer < m->cfg.n_layers; layer++) {
            /* what the node holds: unit gains, no plain matrix left */
            const veil_layer *x = veil_sve_local_layer(l, layer), *p = &m->layers[layer];
            int ones = 1;
            double moved = 0;
            for (int i = 0; i < dim; i++)
                ones &= x->rms_att[i] == 1.0f && x->rms_ffn[i] == 1.0f;
            for (int i = 0; i < dim * dim; i++)
                moved += fabs(x->wq[i] - p->wq[i]) + fabs(x->wo[i] - p->wo[i]);
            CHECK(ones);
            CHECK(moved > 1.0);
            CHECK(veil_sve_attack_known_weights(&m->cfg, &m->layers[layer],
                                                veil_sve_local_layer(l, layer), q) == 0);
            double err = veil_sve_basis_error(veil_sve_local_keys(l), layer, q);
            CHECKF(err < 1e-3, "%s layer %d: basis error %.3g", veil_sve_variant_name(v), layer,
                   err);
        }
        veil_sve_local_free(l);
    }
    free(q);
}

/* Observed states equal Q times the plain states at the same depth. */
static void observe(const veil_model *m)
{
    int dim = m->cfg.dim, T = 5, toks[5] = {1, 40, 41, 200, 7};
    float *obs = malloc(sizeof *obs * T * dim), *plain = malloc(sizeof *plain * T * dim);
    veil_sve_local *l = NULL;
    CHECK(veil_sve_local_new(m, VEIL_SVE_STRONG, 3, 1, 8, &l) == 0);
    for (int layer = 0; l && layer <= m->cfg.n_layers; layer++) {
        CHECK(veil_sve_observe(l, m, toks, T, layer, obs) == 0);
        for (int t = 0; t < T; t++)
            veil_embed(m, toks[t], plain + (size_t)t * dim);
        veil_shard *s = NULL;
        if (layer > 0) {
            CHECK(veil_model_shard(m, 0, layer, 8, &s) == 0);
            CHECK(veil_shard_forward_batch(s, 0, T, plain) == 0);
            veil_shard_free(s);
        }
        int sh = veil_sve_shard_of_depth(veil_sve_local_keys(l), layer);
        CHECK(veil_sve_from_shard_basis(veil_sve_local_keys(l), sh, obs, T) == 0);
        CHECKF(test_rel_diff(obs, plain, (size_t)T * dim) < 1e-4, "depth %d", layer);
    }
    int bad[1] = {300};
    if (l) CHECK(veil_sve_observe(l, m, bad, 1, 0, obs) == VEIL_EINVAL);
    if (l) CHECK(veil_sve_observe(l, m, toks, T, 4, obs) == VEIL_ERANGE);
    veil_sve_local_free(l);
    free(obs);
    free(plain);
}

/* Skewed, anisotropic states: the covariance attack needs enough of them. */
static void covariance(void)
{
    enum { D = 16, N = 20000 };
    veil_config c = {D, 32, 1, 2, 1, 10, 8, 1};
    int b[2] = {0, 1};
    float *pub = malloc(sizeof *pub * N * D), *obs = malloc(sizeof *obs * N * D);
    double q[D * D];
    uint64_t st = 12345;
    for (long i = 0; i < (long)N * D; i++) {
        int j = (int)(i % D);
        double e1 = -log(1.0 - veil_random_f32(&st)), e2 = -log(1.0 - veil_random_f32(&st));
        pub[i] = (float)((1.0 + 0.3 * j) * e1);
        obs[i] = (float)((1.0 + 0.3 * j) * e2);
    }
    for (int v = VEIL_SVE_PAPER; v <= VEIL_SVE_STRONG; v++) {
        veil_sve_keys *k = NULL;
        CHECK(veil_sve_keys_new(&c, v, 1, b, 0, &k) == 0);
        if (!k) continue;
        float *o = malloc(sizeof *o * N * D);
        memcpy(o, obs, sizeof *o * N * D);
        CHECK(veil_sve_enter(k, o, N) == 0);
        CHECK(veil_sve_attack_covariance(D, pub, N, o, N, q) == 0);
        double err = veil_sve_basis_error(k, 0, q);
        CHECKF(err < 0.2, "%s: covariance basis error %.3g", veil_sve_variant_name(v), err);
        CHECK(veil_sve_attack_covariance(D, pub, 1, o, N, q) == VEIL_EINVAL);
        free(o);
        veil_sve_keys_free(k);
    }
    free(pub);
    free(obs);
}

/* The attack-invert driver: key sets follow the policy, known weights
 * decode every request back to the plain states, covariance runs. */
static void invert_driver(const veil_model *m)
{
    int dim = m->cfg.dim, T = 6, R = 5, toks[6] = {1, 40, 41, 200, 7, 9};
    float *obs = malloc(sizeof *obs * R * T * dim), *plain = malloc(sizeof *plain * T * dim);
    veil_sve_policy p;
    char line[512];
    CHECK(veil_sve_policy_parse("reuse:2", &p) == 0);
    veil_sve_invert *s = NULL;
    CHECK(veil_sve_invert_new(m, VEIL_SVE_STRONG, &p, 1, 2, VEIL_SVE_ATK_KNOWN_WEIGHTS, &s) == 0);
    for (int r = 0; s && r < R; r++)
        CHECK(veil_sve_invert_observe(s, toks, T, obs, (long)r * T) == 0);
    if (s) CHECK(veil_sve_invert_finish(s, obs) == 0);
    if (s) veil_sve_invert_summary(s, line, sizeof line);
    if (s) CHECKF(strstr(line, "5 requests under 3 key sets") != NULL, "%s", line);
    for (int t = 0; t < T; t++)
        veil_embed(m, toks[t], plain + (size_t)t * dim);
    veil_shard *sh = NULL;
    CHECK(veil_model_shard(m, 0, 2, 8, &sh) == 0);
    CHECK(veil_shard_forward_batch(sh, 0, T, plain) == 0);
    veil_shard_free(sh);
    CHECK(test_rel_diff(obs + (size_t)4 * T * dim, plain, (size_t)T * dim) < 1e-4);
    veil_sve_invert_free(s);
    s = NULL;
    CHECK(veil_sve_invert_from_args(m, 1, "paper", "session", "0", "covariance", &s) == 0);
    for (int r = 0; s && r < R; r++)
        CHECK(veil_sve_invert_observe(s, toks, T, obs, (long)r * T) == 0);
    if (s) CHECK(veil_sve_invert_finish(s, obs) == 0);
    veil_sve_invert_free(s);
    CHECK(veil_sve_invert_from_args(m, 1, NULL, NULL, NULL, NULL, &s) == 0 && !s);
    CHECK(veil_sve_invert_from_args(m, 1, NULL, "request", NULL, NULL, &s) == VEIL_EINVAL);
    CHECK(veil_sve_invert_from_args(m, 1, "paper", NULL, "x", NULL, &s) == VEIL_EINVAL);
    CHECK(veil_sve_invert_from_args(m, 9, "paper", NULL, NULL, NULL, &s) == VEIL_ERANGE);
    free(obs);
    free(plain);
}

int main(void)
{
    veil_set_threads(2);
    veil_model *m = synth_model();
    CHECK(m != NULL);
    if (m) {
        known_weights(m);
        observe(m);
        invert_driver(m);
    }
    veil_model_close(m);
    covariance();
    veil_sve_atk a;
    CHECK(veil_sve_atk_parse("known-weights", &a) == 0 && a == VEIL_SVE_ATK_KNOWN_WEIGHTS);
    CHECK(veil_sve_atk_parse("covariance", &a) == 0 && a == VEIL_SVE_ATK_COVARIANCE);
    CHECK(veil_sve_atk_parse("gram", &a) == VEIL_EINVAL);
    return test_done();
}
