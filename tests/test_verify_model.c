/* Adversarial shards, quorum detection, dispute bisection and CDV on the real
 * stories260K model (skipped without it). */
#include "harness.h"

#include "veil/adversary.h"
#include "veil/sampler.h"
#include "veil/verify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NTOK = 24, PREFILL = 8 };
static veil_model *M;
static int toks[NTOK];

/* A token sequence the model itself produces (greedy from BOS). */
static void make_tokens(void)
{
    veil_shard *s;
    veil_model_shard(M, 0, M->cfg.n_layers, NTOK, &s);
    float *x = malloc(sizeof(float) * M->cfg.dim), *lg = malloc(sizeof(float) * M->cfg.vocab_size);
    toks[0] = 1;
    for (int p = 0; p + 1 < NTOK; p++) {
        veil_embed(M, toks[p], x);
        veil_shard_forward(s, p, x);
        veil_head(M, x, lg);
        toks[p + 1] = veil_argmax(lg, M->cfg.vocab_size);
    }
    free(x);
    free(lg);
    veil_shard_free(s);
}

/* Embeddings of toks[pos..pos+T) into x. */
static void embed(int pos, int T, float *x)
{
    for (int t = 0; t < T; t++) veil_embed(M, toks[pos + t], x + (size_t)t * M->cfg.dim);
}

/* Run `a` and an honest shard over [first,last) on the sequence (prefill then
 * single tokens); count the steps whose outputs differ bit for bit and
 * whose R=3 quorum (two honest copies) flags exactly the adversary. */
static void run_pair(const char *mode, int first, int last, int *steps, int *differ, int *flagged)
{
    veil_adv_mode m;
    CHECK(veil_adv_parse(mode, &m) == 0);
    veil_adv_shard *a;
    veil_shard *h;
    int rc = veil_adv_new(&M->cfg, first, last, M->layers + first, NTOK, &m, 42, &a);
    CHECKF(rc == 0, "%s: %s", mode, veil_last_error());
    if (rc) return;
    CHECK(veil_model_shard(M, first, last, NTOK, &h) == 0);
    int dim = M->cfg.dim;
    float *xa = malloc(sizeof(float) * NTOK * dim), *xh = malloc(sizeof(float) * NTOK * dim);
    veil_quorum_opts o = veil_quorum_defaults();
    *steps = *differ = *flagged = 0;
    for (int pos = 0; pos < NTOK;) {
        int T = pos == 0 ? PREFILL : 1;
        embed(pos, T, xa);
        memcpy(xh, xa, sizeof(float) * T * dim);
        CHECK(veil_adv_forward(a, pos, T, xa) == 0);
        CHECK(veil_shard_forward_batch(h, pos, T, xh) == 0);
        const float *outs[3] = {xh, xa, xh};
        veil_quorum_result r2, r3;
        veil_quorum_outputs(2, outs, (size_t)T * dim, &o, &r2);
        veil_quorum_outputs(3, outs, (size_t)T * dim, &o, &r3);
        (*steps)++;
        if (!r2.decided) (*differ)++;
        if (r3.decided && r3.minority_mask == 2u && r3.winner != 1) (*flagged)++;
        pos += T;
    }
    free(xa);
    free(xh);
    veil_adv_free(a);
    veil_shard_free(h);
}

static void test_adversaries(void)
{
    int steps, differ, flagged;
    run_pair("honest", 0, 5, &steps, &differ, &flagged);
    CHECKF(differ == 0 && flagged == 0, "honest wrapper differs %d times", differ);
    run_pair("honest", 1, 4, &steps, &differ, &flagged);
    CHECKF(differ == 0, "honest wrapper [1,4) differs %d times", differ);
    static const char *always[] = {"wrong-model", "random", "lazy", "skip-layer", "noise:0.001",
                                   "collude", "skip-layer:2"};
    for (size_t i = 0; i < sizeof always / sizeof *always; i++) {
        if (strcmp(always[i], "wrong-model") == 0 &&
            !test_model_file("adversarial/stories260K-altered.bin"))
            continue;
        run_pair(always[i], 0, 5, &steps, &differ, &flagged);
        CHECKF(differ == steps && flagged == steps, "%s: %d/%d differ, %d flagged", always[i],
               differ, steps, flagged);
    }
    /* stale computes its first answer honestly, then replays */
    run_pair("stale", 0, 5, &steps, &differ, &flagged);
    CHECKF(differ == steps - 1 && flagged == steps - 1, "stale: %d/%d", differ, steps);
    veil_adv_mode m;
    CHECK(veil_adv_parse("noise", &m) != 0 && veil_adv_parse("noise:-1", &m) != 0);
    CHECK(veil_adv_parse("lazy:3", &m) != 0 && veil_adv_parse("bogus", &m) != 0);
    CHECK(veil_adv_parse("skip-layer:1.5", &m) != 0);
    CHECK(veil_adv_parse("skip-layer:9", &m) == 0);
    veil_adv_shard *a;
    CHECK(veil_adv_new(&M->cfg, 0, 5, M->layers, NTOK, &m, 1, &a) == VEIL_ERANGE);
    CHECK(veil_adv_parse("wrong-model:/nonexistent.bin", &m) == 0);
    CHECK(veil_adv_new(&M->cfg, 0, 5, M->layers, NTOK, &m, 1, &a) != 0);
    CHECK(veil_adv_parse("skip-layer", &m) == 0 && veil_adv_new(&M->cfg, 1, 4, M->layers + 1, NTOK, &m, 1, &a) == 0);
    CHECK(strstr(veil_adv_banner(a), "ADVERSARIAL") && strstr(veil_adv_banner(a), "skips layer 3"));
    veil_adv_free(a);
}

/* Per-layer fingerprints of both replicas over the whole sequence, a
 * dispute on the last block, and the client's one-layer recomputation. */
static void dispute_case(const char *mode, int first, int last, int want_layer)
{
    veil_adv_mode m;
    veil_adv_parse(mode, &m);
    veil_adv_shard *adv, *hon;
    veil_adv_mode hm = {.kind = VEIL_ADV_HONEST};
    if (veil_adv_new(&M->cfg, first, last, M->layers + first, NTOK, &m, 3, &adv)) {
        CHECKF(0, "%s: %s", mode, veil_last_error());
        return;
    }
    CHECK(veil_adv_new(&M->cfg, first, last, M->layers + first, NTOK, &hm, 3, &hon) == 0);
    int n = last - first, dim = M->cfg.dim;
    veil_fp_recorder *ra, *rh;
    CHECK(veil_fp_recorder_new(first, last, dim, 16, NTOK, &ra) == 0);
    CHECK(veil_fp_recorder_new(first, last, dim, 16, NTOK, &rh) == 0);
    veil_adv_set_hook(adv, veil_fp_recorder_hook, ra);
    veil_adv_set_hook(hon, veil_fp_recorder_hook, rh);
    float xa[NTOK * 64], xh[NTOK * 64];
    veil_fp fa[8], fh[8];
    int found = -2, probes = 0, pos = 0, T = PREFILL;
    embed(pos, T, xa);
    memcpy(xh, xa, sizeof(float) * T * dim);
    veil_fp_recorder_begin(ra, pos, T, xa);
    veil_fp_recorder_begin(rh, pos, T, xh);
    veil_adv_forward(adv, pos, T, xa);
    veil_adv_forward(hon, pos, T, xh);
    CHECK(veil_fp_recorder_finish(ra, fa) == 0 && veil_fp_recorder_finish(rh, fh) == 0);
    found = veil_bisect_fps(fh, fa, n, &probes);
    CHECKF(found == want_layer - first, "%s: first divergent layer %d, want %d", mode,
           found + first, want_layer);
    CHECK(probes <= 1 + (int)ceil(log2(n)));
    if (found >= 0) {
        /* the agreed input of that layer: the honest history, which matches
         * both replicas' fingerprints of the layer before */
        int L = first + found;
        const float *in = veil_fp_recorder_history(rh, L - 1);
        CHECK(in != NULL);
        float truth[PREFILL * 64];
        CHECK(veil_dispute_recompute(&M->cfg, L, &M->layers[L], in, pos, T, truth) == 0);
        const veil_fp *fps[2] = {&fh[found], &fa[found]};
        veil_quorum_opts o = veil_quorum_defaults();
        CHECKF(veil_dispute_judge(2, fps, truth, T, dim, &o) == 2u, "%s: judge", mode);
        o.exact = 0;
        CHECKF(veil_dispute_judge(2, fps, truth, T, dim, &o) == 2u, "%s: tolerant judge", mode);
    }
    veil_fp_recorder_free(ra);
    veil_fp_recorder_free(rh);
    veil_adv_free(adv);
    veil_adv_free(hon);
}

static void test_disputes(void)
{
    dispute_case("skip-layer:3", 1, 5, 3);
    dispute_case("skip-layer", 0, 5, 4);
    dispute_case("noise:0.001", 0, 5, 4);
    dispute_case("lazy", 0, 5, 0);
    if (test_model_file("adversarial/stories260K-altered.bin")) dispute_case("wrong-model", 0, 5, 0);
    /* bisection bounds */
    veil_fp f[1];
    memset(f, 0, sizeof f);
    int probes;
    CHECK(veil_bisect_fps(f, f, 1, &probes) == -1 && probes == 1);
    CHECK(veil_bisect_fps(f, f, 0, &probes) == VEIL_EINVAL);
}

/* Chunked prefill (T > 64 runs in pieces): the wrapper equals a plain shard
 * bit for bit, and the recorder's fingerprint of the last layer equals the
 * one-shot fingerprint of the output block. */
static void test_long_block(void)
{
    enum { T = 100 };
    int dim = M->cfg.dim;
    float *a = malloc(sizeof(float) * T * dim), *b = malloc(sizeof(float) * T * dim);
    for (int t = 0; t < T; t++) veil_embed(M, (t * 37 + 1) % M->cfg.vocab_size, a + (size_t)t * dim);
    memcpy(b, a, sizeof(float) * T * dim);
    veil_adv_mode hm = {.kind = VEIL_ADV_HONEST};
    veil_adv_shard *w;
    veil_shard *s;
    veil_fp_recorder *rec;
    veil_fp fps[5], one;
    CHECK(veil_adv_new(&M->cfg, 0, 5, M->layers, T, &hm, 1, &w) == 0);
    CHECK(veil_model_shard(M, 0, 5, T, &s) == 0);
    CHECK(veil_fp_recorder_new(0, 5, dim, 32, 0, &rec) == 0);
    veil_shard_set_hook(s, veil_fp_recorder_hook, rec);
    veil_fp_recorder_begin(rec, 0, T, b);
    CHECK(veil_adv_forward(w, 0, T, a) == 0 && veil_shard_forward_batch(s, 0, T, b) == 0);
    CHECK(memcmp(a, b, sizeof(float) * T * dim) == 0);
    CHECK(veil_fp_recorder_finish(rec, fps) == 0);
    CHECK(veil_fp_compute(b, T, dim, 32, 4, 0, &one) == 0 && veil_fp_equal(&one, &fps[4]));
    CHECK(veil_fp_recorder_history(rec, 0) == NULL); /* no history requested */
    veil_fp_recorder_free(rec);
    veil_shard_free(s);
    veil_adv_free(w);
    free(a);
    free(b);
}

static void test_cdv(void)
{
    veil_cdv_profiler *p;
    CHECK(veil_cdv_profiler_new(M, 8, &p) == 0);
    veil_shard *s;
    veil_model_shard(M, 0, 5, NTOK, &s);
    veil_shard_set_hook(s, veil_cdv_profiler_hook, p);
    float x[NTOK * 64];
    embed(0, NTOK, x);
    veil_shard_forward_batch(s, 0, NTOK, x);
    veil_shard_free(s);
    veil_cdv_profile *prof, *back;
    CHECK(veil_cdv_profiler_finish(p, &prof) == 0 && prof->tokens == NTOK);
    veil_cdv_profiler_free(p);
    char path[512];
    snprintf(path, sizeof path, "%s/p.cdv", test_tmpdir());
    CHECK(veil_cdv_profile_save(prof, path) == 0);
    CHECK(veil_cdv_profile_load(path, &back) == 0);
    CHECK(back->n_layers == 5 && back->dim == 64 && back->k == 8);
    int same = 1;
    for (int l = 0; l < 5; l++) {
        same &= back->b[l].score_max == prof->b[l].score_max && back->b[l].cd_sd == prof->b[l].cd_sd &&
                memcmp(back->b[l].hist, prof->b[l].hist, sizeof prof->b[l].hist) == 0;
        for (int i = 0; i < 64; i++)
            same &= fabs(back->b[l].coord_mu[i] - prof->b[l].coord_mu[i]) <=
                    1e-7 * fabs(prof->b[l].coord_mu[i]);
    }
    CHECK(same);
    veil_cdv_profile_free(back);
    /* honest in-sample tokens pass, the lazy node's output (its input) fails */
    veil_cdv_opts o = veil_cdv_defaults();
    veil_cdv_monitor mon = {0}, bad = {0};
    veil_cdv_verdict v;
    veil_model_shard(M, 0, 5, NTOK, &s);
    embed(0, NTOK, x);
    veil_shard_forward_batch(s, 0, NTOK, x);
    veil_shard_free(s);
    CHECK(veil_cdv_observe(prof, 4, &mon, x, NTOK, &o, &v) == 0 && !v.flagged);
    embed(0, NTOK, x);
    CHECK(veil_cdv_observe(prof, 4, &bad, x, NTOK, &o, &v) == 0 && v.flagged);
    CHECK(strstr(v.reason, "CDV") != NULL);
    CHECK(veil_cdv_observe(prof, 5, &bad, x, 1, &o, &v) == VEIL_ERANGE);
    veil_cdv_profile_free(prof);
    /* malformed profiles are refused */
    static const char *bad_files[] = {
        "", "veil-cdv-profile 1\n", "veil-cdv-profile 2\nmodel zz\n",
        "veil-cdv-profile 2\nmodel 0000000000000000000000000000000000000000000000000000000000000000\n"
        "shape 1 64 8 10\nboundary 0 1 2 3\n",
        "veil-cdv-profile 2\nmodel 0000000000000000000000000000000000000000000000000000000000000000\n"
        "shape 99999999 64 8 10\n",
        "veil-cdv-profile 2\nmodel 0000000000000000000000000000000000000000000000000000000000000000\n"
        "shape 1 2 1 10\nboundary 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\ncoord 0 1 1\n"
        "coord 1 1 0\n",
    };
    for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad_files[i], f);
        fclose(f);
        CHECKF(veil_cdv_profile_load(path, &back) != 0, "bad profile %zu accepted", i);
    }
}

int main(void)
{
    const char *path = test_model_file("stories260K.bin");
    if (!path) return test_skip("stories260K.bin not found (set VEIL_MODEL_DIR)");
    if (veil_model_open(path, &M)) return test_skip(veil_last_error());
    make_tokens();
    test_adversaries();
    test_disputes();
    test_long_block();
    test_cdv();
    veil_model_close(M);
    return test_done();
}
