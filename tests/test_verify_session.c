/* The orchestrator's verifier driven as veil run would drive it: two shards,
 * two replicas each, one adversarial node; the text must equal the local
 * greedy text, the adversary must be flagged (stderr line and ledger). */
#include "harness.h"

#include "veil/adversary.h"
#include "veil/sampler.h"
#include "veil/verify.h"

#include <stdlib.h>
#include <string.h>

enum { STEPS = 40, NSH = 2 };
static veil_model *M;
static const int BOUNDS[NSH + 1] = {0, 2, 5};

typedef struct {
    const char *name;
    veil_adv_shard *a;
} node;

/* Greedy generation where each shard step goes through the verifier; a
 * failed quorum is re-executed on `spare` (an honest node). */
static int generate(veil_verifier *v, node rep[NSH][2], node spare[NSH], int *toks, int *reexec)
{
    int dim = M->cfg.dim;
    float x[64], y[64], lg[512];
    toks[0] = 1;
    for (int pos = 0; pos + 1 < STEPS; pos++) {
        veil_embed(M, toks[pos], x);
        for (int s = 0; s < NSH; s++) {
            int R = veil_verifier_replicate(v, pos, 1) ? 2 : 1;
            veil_verifier_begin(v, s, BOUNDS[s], BOUNDS[s + 1], pos, 1);
            for (int r = 0; r < 2; r++) { /* every replica keeps its KV cache current */
                memcpy(y, x, sizeof y);
                veil_adv_forward(rep[s][r].a, pos, 1, y);
                if (r < R) veil_verifier_add(v, s, rep[s][r].name, y);
            }
            memcpy(y, x, sizeof y);
            veil_adv_forward(spare[s].a, pos, 1, y);
            veil_verdict vd;
            if (veil_verifier_decide(v, s, &vd)) {
                if (!vd.reexecute) return -1;
                (*reexec)++;
                veil_verifier_add(v, s, spare[s].name, y);
                if (veil_verifier_decide(v, s, &vd)) return -1;
            }
            memcpy(x, veil_verifier_output(v, s), sizeof(float) * dim);
        }
        veil_head(M, x, lg);
        toks[pos + 1] = veil_argmax(lg, M->cfg.vocab_size);
    }
    return 0;
}

static void make_nodes(node rep[NSH][2], node spare[NSH], const char *bad_mode)
{
    static const char *names[NSH][2] = {{"n1", "n2"}, {"n3", "n4"}};
    static const char *spares[NSH] = {"s1", "s2"};
    for (int s = 0; s < NSH; s++) {
        for (int r = 0; r < 3; r++) {
            node *n = r < 2 ? &rep[s][r] : &spare[s];
            n->name = r < 2 ? names[s][r] : spares[s];
            veil_adv_mode m = {.kind = VEIL_ADV_HONEST};
            if (strcmp(n->name, "n3") == 0) veil_adv_parse(bad_mode, &m);
            veil_adv_new(&M->cfg, BOUNDS[s], BOUNDS[s + 1], M->layers + BOUNDS[s], STEPS, &m, 9, &n->a);
        }
    }
}

static void free_nodes(node rep[NSH][2], node spare[NSH])
{
    for (int s = 0; s < NSH; s++) {
        veil_adv_free(rep[s][0].a);
        veil_adv_free(rep[s][1].a);
        veil_adv_free(spare[s].a);
    }
}

static void reference(int *toks)
{
    veil_shard *s;
    veil_model_shard(M, 0, 5, STEPS, &s);
    float x[64], lg[512];
    toks[0] = 1;
    for (int p = 0; p + 1 < STEPS; p++) {
        veil_embed(M, toks[p], x);
        veil_shard_forward(s, p, x);
        veil_head(M, x, lg);
        toks[p + 1] = veil_argmax(lg, M->cfg.vocab_size);
    }
    veil_shard_free(s);
}

/* same_text: every token replicated, so the accepted text must be the honest
 * one; with sample:P unchecked tokens of an active cheater are not. */
static void run_mode(const char *bad, const char *verify, int want_flags, int same_text,
                     const int *ref)
{
    char dbpath[512], flagpath[512];
    snprintf(dbpath, sizeof dbpath, "%s/ledger-%s-%s.db", test_tmpdir(), bad, verify);
    snprintf(flagpath, sizeof flagpath, "%s/flags-%s-%s.txt", test_tmpdir(), bad, verify);
    veil_verifier_opts o = veil_verifier_defaults();
    CHECK(veil_verify_parse(verify, &o.mode) == 0);
    CHECK(veil_ledger_open(dbpath, &o.ledger) == 0);
    o.flag_out = fopen(flagpath, "w");
    veil_verifier *v;
    CHECK(veil_verifier_new(&o, NSH, M->cfg.dim, &v) == 0);
    node rep[NSH][2], spare[NSH];
    make_nodes(rep, spare, bad);
    int toks[STEPS], reexec = 0;
    CHECKF(generate(v, rep, spare, toks, &reexec) == 0, "%s: %s", bad, veil_last_error());
    CHECKF(!same_text || memcmp(toks, ref, sizeof toks) == 0,
           "%s/%s: text differs from local generation", bad, verify);
    int flags = veil_verifier_flag_count(v);
    CHECKF(want_flags ? flags > 0 : flags == 0, "%s/%s: %d flags", bad, verify, flags);
    veil_verifier_free(v);
    free_nodes(rep, spare);
    fclose(o.flag_out);
    veil_node_rep r3, r4;
    CHECK(veil_ledger_get(o.ledger, "n3", &r3) == 0 && veil_ledger_get(o.ledger, "n4", &r4) == 0);
    CHECKF(r3.flagged == (want_flags != 0) && !r4.flagged, "%s: ledger n3 flagged %d", bad, r3.flagged);
    CHECK(r4.agree > 0);
    veil_ledger_close(o.ledger);
    FILE *f = fopen(flagpath, "r");
    char line[400] = "";
    if (want_flags) {
        CHECK(f && fgets(line, sizeof line, f));
        CHECKF(strncmp(line, "node n3 flagged: ", 17) == 0, "flag line: %s", line);
        CHECK(reexec > 0); /* R=2: every disagreement needed the spare */
    }
    if (f) fclose(f);
}

int main(void)
{
    const char *path = test_model_file("stories260K.bin");
    if (!path) return test_skip("stories260K.bin not found (set VEIL_MODEL_DIR)");
    if (veil_model_open(path, &M)) return test_skip(veil_last_error());
    int ref[STEPS];
    reference(ref);
    run_mode("honest", "consensus", 0, 1, ref);
    run_mode("honest", "sample:0.3", 0, 1, ref);
    run_mode("skip-layer", "consensus", 1, 1, ref);
    run_mode("random", "consensus", 1, 1, ref);
    run_mode("lazy", "sample:0.5", 1, 0, ref);
    run_mode("stale", "consensus", 1, 1, ref);
    run_mode("noise:0.0016", "consensus", 1, 1, ref);
    if (test_model_file("adversarial/stories260K-altered.bin"))
        run_mode("wrong-model", "consensus", 1, 1, ref);
    /* options from command-line strings */
    veil_verifier_opts co;
    char lp[512], pp[512];
    snprintf(lp, sizeof lp, "%s/opts.db", test_tmpdir());
    snprintf(pp, sizeof pp, "%s/opts.cdv", test_tmpdir());
    CHECK(veil_verifier_opts_from("sample:0.2", lp, NULL, M, &co) == 0 && co.ledger &&
          co.mode.kind == VEIL_VERIFY_SAMPLE && !co.profile);
    veil_verifier_opts_release(&co);
    CHECK(veil_verifier_opts_from("cdv", "", NULL, M, &co) == VEIL_EINVAL);
    CHECK(veil_verifier_opts_from("bogus", "", NULL, M, &co) == VEIL_EINVAL);
    CHECK(veil_verifier_opts_from("cdv", "", "/nonexistent.cdv", M, &co) != 0);
    {
        /* a profile over 8 sequences the model samples itself, as the CLI does */
        veil_cdv_profiler *pr;
        veil_cdv_profile *prof;
        veil_cdv_profiler_new(M, 8, &pr);
        enum { LEN = 64 };
        for (int q = 0; q < 8; q++) {
            veil_shard *sh, *gen;
            veil_sampler smp;
            float xs[LEN * 64], lg[512];
            int tk = 1;
            veil_sampler_init(&smp, 512, 1.0f, 0.9f, 1000 + (uint64_t)q);
            veil_model_shard(M, 0, 5, LEN, &sh);
            veil_model_shard(M, 0, 5, LEN, &gen);
            veil_shard_set_hook(sh, veil_cdv_profiler_hook, pr);
            for (int t = 0; t < LEN; t++) {
                veil_embed(M, tk, xs + t * 64);
                float h[64];
                memcpy(h, xs + t * 64, sizeof h);
                veil_shard_forward(gen, t, h);
                veil_head(M, h, lg);
                tk = veil_sample(&smp, lg);
            }
            veil_shard_forward_batch(sh, 0, LEN, xs);
            veil_shard_free(sh);
            veil_shard_free(gen);
            veil_sampler_free(&smp);
        }
        CHECK(veil_cdv_profiler_finish(pr, &prof) == 0 && veil_cdv_profile_save(prof, pp) == 0);
        veil_cdv_profiler_free(pr);
        veil_cdv_profile_free(prof);
    }
    CHECK(veil_verifier_opts_from("cdv", "", pp, M, &co) == 0 && co.profile && !co.ledger);
    {
        /* cdv: one replica per step; a lazy shard (returns its input) is
         * rejected, the step restarts and the re-executed output passes */
        co.flag_out = NULL;
        veil_verifier *cv;
        CHECK(veil_verifier_new(&co, 1, 64, &cv) == 0);
        veil_shard *hon;
        veil_model_shard(M, 0, 5, STEPS, &hon);
        float in[64], out[64];
        int rejected = 0, accepted = 0;
        for (int p = 0; p < STEPS; p++) {
            veil_embed(M, ref[p], in);
            memcpy(out, in, sizeof in);
            veil_shard_forward(hon, p, out);
            veil_verdict cd;
            CHECK(veil_verifier_begin(cv, 0, 0, 5, p, 1) == 0);
            CHECK(veil_verifier_add(cv, 0, "lazy", in) == 0); /* its input as output */
            if (veil_verifier_decide(cv, 0, &cd) == VEIL_EVERIFY && cd.reexecute) {
                rejected++;
                CHECK(veil_verifier_add(cv, 0, "spare", out) == 0);
                accepted += veil_verifier_decide(cv, 0, &cd) == 0 &&
                            memcmp(veil_verifier_output(cv, 0), out, sizeof out) == 0;
            }
        }
        /* the monitor re-arms after each flag: a persistent cheat is rejected
         * again every few tokens (EWMA), not necessarily every token */
        CHECKF(rejected >= STEPS / 5 && accepted == rejected, "cdv: %d rejected, %d re-executed",
               rejected, accepted);
        veil_shard_free(hon);
        veil_verifier_free(cv);
    }
    veil_verifier_opts_release(&co);
    /* bad calls are refused, not crashes */
    veil_verifier_opts o = veil_verifier_defaults();
    o.flag_out = NULL;
    veil_verifier *v;
    CHECK(veil_verifier_new(&o, 0, 64, &v) != 0);
    CHECK(veil_verifier_new(&o, 2, 64, &v) == 0);
    veil_verdict vd;
    float x[64] = {0};
    CHECK(veil_verifier_add(v, 0, "a", x) != 0);       /* before begin */
    CHECK(veil_verifier_decide(v, 5, &vd) != 0);       /* bad shard */
    CHECK(veil_verifier_begin(v, 0, 3, 2, 0, 1) != 0); /* bad range */
    CHECK(veil_verifier_begin(v, 0, 0, 2, 0, 1) == 0 && veil_verifier_decide(v, 0, &vd) != 0);
    CHECK(veil_verifier_output(v, 0) == NULL);
    float y[64] = {1};
    const char *names[3] = {"a", "b", "c"};
    const float *outs[3] = {x, y, x};
    CHECK(veil_verifier_step(v, 1, 2, 5, 0, 1, 3, names, outs, &vd) == 0 && vd.use == 0 &&
          vd.flagged == 1 && veil_verifier_output(v, 1) != NULL);
    CHECK(veil_verifier_step(v, 1, 2, 5, 1, 1, 2, names, outs, &vd) == VEIL_EVERIFY && vd.reexecute);
    /* fingerprints instead of blocks: honest, wrong, malformed */
    float z[64];
    for (int i = 0; i < 64; i++) z[i] = (float)(i % 9) - 4.0f;
    veil_fp fp;
    uint8_t enc[400], bad_enc[400];
    CHECK(veil_fp_compute(z, 1, 64, VEIL_FP_DEFAULT_K, 4, 7, &fp) == 0);
    int n = veil_fp_encode(&fp, enc, sizeof enc);
    z[3] += 1;
    veil_fp wrong;
    veil_fp_compute(z, 1, 64, VEIL_FP_DEFAULT_K, 4, 7, &wrong);
    veil_fp_encode(&wrong, bad_enc, sizeof bad_enc);
    z[3] -= 1;
    CHECK(veil_verifier_begin(v, 1, 2, 5, 7, 1) == 0);
    CHECK(veil_verifier_add(v, 1, "full", z) == 0);
    CHECK(veil_verifier_add_fp(v, 1, "fp-ok", enc, (size_t)n) == 0);
    CHECK(veil_verifier_add_fp(v, 1, "fp-wrong", bad_enc, (size_t)n) == 0);
    CHECK(veil_verifier_decide(v, 1, &vd) == 0 && vd.use == 0 && vd.q.n_agree == 2 &&
          vd.flagged == 1 && vd.q.minority_mask == 4u);
    CHECK(veil_verifier_begin(v, 1, 2, 5, 7, 1) == 0);
    CHECK(veil_verifier_add(v, 1, "full", z) == 0);
    CHECK(veil_verifier_add_fp(v, 1, "fp-ok", enc, (size_t)n) == 0);
    CHECK(veil_verifier_add_fp(v, 1, "fp-junk", enc, 7) == 0);
    CHECK(veil_verifier_decide(v, 1, &vd) == 0 && vd.flagged == 1 && vd.q.minority_mask == 4u);
    CHECK(veil_verifier_begin(v, 1, 2, 5, 8, 1) == 0); /* right bytes, wrong position */
    CHECK(veil_verifier_add(v, 1, "full", z) == 0);
    CHECK(veil_verifier_add_fp(v, 1, "fp-ok", enc, (size_t)n) == 0);
    CHECK(veil_verifier_decide(v, 1, &vd) == VEIL_EVERIFY && vd.reexecute);
    /* a quorum of fingerprints only: fetch a block from the winner */
    CHECK(veil_verifier_begin(v, 1, 2, 5, 7, 1) == 0);
    CHECK(veil_verifier_add(v, 1, "wrong-full", y) == 0);
    CHECK(veil_verifier_add_fp(v, 1, "a", enc, (size_t)n) == 0);
    CHECK(veil_verifier_add_fp(v, 1, "b", enc, (size_t)n) == 0);
    CHECK(veil_verifier_decide(v, 1, &vd) == VEIL_EVERIFY && vd.reexecute && vd.use == 1 &&
          vd.q.minority_mask == 1u);
    CHECK(veil_verifier_add(v, 1, "a", z) == 0);
    int before = veil_verifier_flag_count(v);
    CHECK(veil_verifier_decide(v, 1, &vd) == 0 && vd.use == 3 && veil_verifier_output(v, 1) != NULL);
    CHECK(veil_verifier_flag_count(v) == before); /* not flagged twice for one step */
    CHECK(veil_verifier_begin(v, 1, 2, 5, 7, 1) == 0 && veil_verifier_add_fp(v, 1, "a", enc, (size_t)n) == 0);
    CHECK(veil_verifier_decide(v, 1, &vd) == VEIL_EINVAL); /* a lone fingerprint */
    veil_verifier_free(v);
    veil_model_close(M);
    return test_done();
}
