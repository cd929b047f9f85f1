/* Consensus verification, measured by local simulation: R replicas of a shard
 * as local shards (one of them adversarial), fed the same hidden states as in
 * a pipeline, decided by quorum / fingerprints / CDV / disputes.
 *
 * usage: bench_verify [MODEL_DIR] [--quick]
 * Prints markdown for docs/BENCHMARKS.md "Consensus verification cost" and
 * the detection tables quoted in docs/SECURITY.md. */
#include "veil/adversary.h"
#include "veil/ledger.h"
#include "veil/sampler.h"
#include "veil/tokenizer.h"
#include "veil/verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PREFILL = 16, MAXR = 3 };

static veil_model *M;
static int NS = 8, NT = 128; /* sessions x positions per session */
static int FIRST = 2, LAST = 5; /* the verified shard (second of a 2-shard pipeline) */
static int **SEQ;               /* token sequences, sampled honestly */
static float **IN;              /* shard inputs per session: NT x dim */
static double OUT_STD;          /* mean std of honest shard outputs */

/* ---- workload --------------------------------------------------------------------- */

static void sample_seq(uint64_t seed, int n, int *tok)
{
    veil_shard *s;
    veil_sampler smp;
    veil_model_shard(M, 0, M->cfg.n_layers, n, &s);
    veil_sampler_init(&smp, M->cfg.vocab_size, 1.0f, 0.9f, seed);
    float *x = malloc(sizeof(float) * M->cfg.dim), *lg = malloc(sizeof(float) * M->cfg.vocab_size);
    tok[0] = VEIL_TOKEN_BOS;
    for (int p = 0; p + 1 < n; p++) {
        veil_embed(M, tok[p], x);
        veil_shard_forward(s, p, x);
        veil_head(M, x, lg);
        tok[p + 1] = veil_sample(&smp, lg);
    }
    free(x);
    free(lg);
    veil_sampler_free(&smp);
    veil_shard_free(s);
}

/* The verified shard's inputs: honest output of layers [0, FIRST). */
static void make_inputs(void)
{
    int dim = M->cfg.dim;
    SEQ = calloc(NS, sizeof *SEQ);
    IN = calloc(NS, sizeof *IN);
    for (int s = 0; s < NS; s++) {
        SEQ[s] = malloc(sizeof(int) * NT);
        sample_seq(1 + (uint64_t)s, NT, SEQ[s]);
        IN[s] = malloc(sizeof(float) * NT * dim);
        for (int p = 0; p < NT; p++) veil_embed(M, SEQ[s][p], IN[s] + (size_t)p * dim);
        veil_shard *h;
        veil_model_shard(M, 0, FIRST, NT, &h);
        veil_shard_forward_batch(h, 0, NT, IN[s]);
        veil_shard_free(h);
    }
}

/* ---- one session: R replicas of [FIRST,LAST), step by step ------------------------------- */

typedef struct {
    long steps, misbehaved;   /* steps whose adversarial output differs from honest */
    long det[3];              /* detected: exact, tolerant outputs, fingerprints */
    long named;               /* adversary named (minority, or after re-execution) */
    long wrong_accepted;      /* accepted output differs from honest */
    long sessions_caught;
    long honest_flagged;      /* an honest replica in the minority */
    long fail[3];             /* steps with no quorum or any minority, per method */
    double max_rel;           /* max |a-b|/rms between replicas (calibration) */
    double fp_mean_max, fp_max_max; /* worst fingerprint mantissa stats */
    int fp_exp_max;
} tally;

typedef struct {
    const char *mode[MAXR];
    int R;
    int adv;        /* index of the adversarial replica, -1 none */
    int threads[MAXR];
    int token_by_token[MAXR]; /* replica runs the prefill one position at a time */
} scenario;

static veil_adv_shard *make_replica(const char *mode, uint64_t seed)
{
    veil_adv_mode m;
    veil_adv_shard *a = NULL;
    if (veil_adv_parse(mode, &m) ||
        veil_adv_new(&M->cfg, FIRST, LAST, M->layers + FIRST, NT, &m, seed, &a)) {
        fprintf(stderr, "bench_verify: %s: %s\n", mode, veil_last_error());
        exit(1);
    }
    return a;
}

static int run_replica(veil_adv_shard *a, int by_token, int pos, int T, float *x)
{
    if (!by_token) return veil_adv_forward(a, pos, T, x);
    for (int t = 0; t < T; t++)
        if (veil_adv_forward(a, pos + t, 1, x + (size_t)t * M->cfg.dim)) return -1;
    return 0;
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double ss = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        ss += (double)a[i] * a[i];
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = isfinite(e) ? e : INFINITY;
    }
    return d / sqrt(ss / n);
}

static void decide_step(const scenario *sc, float **out, const float *honest, int T, tally *t,
                        int *caught)
{
    int dim = M->cfg.dim, R = sc->R;
    size_t n = (size_t)T * dim;
    veil_quorum_opts ex = veil_quorum_defaults(), tol = ex;
    tol.exact = 0;
    veil_quorum_result r[3];
    const float *outs[MAXR];
    veil_fp fps[MAXR];
    for (int i = 0; i < R; i++) {
        outs[i] = out[i];
        veil_fp_compute(out[i], T, dim, VEIL_FP_DEFAULT_K, LAST - 1, 0, &fps[i]);
    }
    /* fingerprints: replica 0 ships its block, the others only fingerprints */
    const float *full[MAXR] = {out[0]};
    veil_quorum_outputs(R, outs, n, &ex, &r[0]);
    veil_quorum_outputs(R, outs, n, &tol, &r[1]);
    veil_quorum_fps(R, fps, full, T, dim, &tol, &r[2]);
    for (int i = 1; i < R; i++) {
        double d = rel_diff(out[0], out[i], n);
        if (sc->adv < 0 && d > t->max_rel) t->max_rel = d;
        veil_fp_check chk;
        veil_fp_check_against(&fps[i], out[0], T, dim, &tol.fp_tol, &chk);
        if (sc->adv < 0) {
            if (chk.mant_mean > t->fp_mean_max) t->fp_mean_max = chk.mant_mean;
            if (chk.mant_max > t->fp_max_max) t->fp_max_max = chk.mant_max;
            if (chk.exp_mismatch > t->fp_exp_max) t->fp_exp_max = chk.exp_mismatch;
        }
    }
    t->steps++;
    int bad = sc->adv >= 0 && memcmp(out[sc->adv], honest, n * sizeof(float)) != 0;
    t->misbehaved += bad;
    for (int m = 0; m < 3; m++) {
        int flagged_adv = sc->adv >= 0 && (r[m].minority_mask >> sc->adv & 1);
        if (bad && (!r[m].decided || flagged_adv)) t->det[m]++;
        if (!r[m].decided || r[m].minority_mask) t->fail[m]++;
        for (int i = 0; i < R; i++)
            if (i != sc->adv && (r[m].minority_mask >> i & 1)) t->honest_flagged++;
    }
    /* exact mode end to end: no quorum -> re-execute on one more honest node */
    veil_quorum_result fin = r[0];
    if (!fin.decided) {
        const float *o4[MAXR + 1];
        for (int i = 0; i < R; i++) o4[i] = out[i];
        o4[R] = honest;
        veil_quorum_outputs(R + 1, o4, n, &ex, &fin);
    }
    if (bad && fin.decided && (fin.minority_mask >> sc->adv & 1)) {
        t->named++;
        *caught = 1;
    }
    if (!fin.decided || memcmp(fin.winner < R ? out[fin.winner] : honest, honest,
                               n * sizeof(float)) != 0)
        t->wrong_accepted++;
}

static void run_session(const scenario *sc, int s, tally *t)
{
    int dim = M->cfg.dim, R = sc->R;
    veil_adv_shard *rep[MAXR];
    veil_shard *hon;
    for (int i = 0; i < R; i++) {
        veil_set_threads(sc->threads[i] ? sc->threads[i] : 1);
        rep[i] = make_replica(sc->mode[i], 100 + (uint64_t)s * 7 + (uint64_t)i);
    }
    veil_set_threads(1);
    veil_model_shard(M, FIRST, LAST, NT, &hon);
    float *out[MAXR], *honest = malloc(sizeof(float) * PREFILL * dim);
    for (int i = 0; i < R; i++) out[i] = malloc(sizeof(float) * PREFILL * dim);
    int caught = 0;
    for (int pos = 0; pos < NT;) {
        int T = pos == 0 ? PREFILL : 1;
        const float *x = IN[s] + (size_t)pos * dim;
        for (int i = 0; i < R; i++) {
            memcpy(out[i], x, sizeof(float) * T * dim);
            run_replica(rep[i], sc->token_by_token[i], pos, T, out[i]);
        }
        memcpy(honest, x, sizeof(float) * T * dim);
        veil_shard_forward_batch(hon, pos, T, honest);
        decide_step(sc, out, honest, T, t, &caught);
        pos += T;
    }
    t->sessions_caught += caught;
    for (int i = 0; i < R; i++) {
        free(out[i]);
        veil_adv_free(rep[i]);
    }
    free(honest);
    veil_shard_free(hon);
}

static tally run_scenario(const scenario *sc)
{
    tally t = {0};
    for (int s = 0; s < NS; s++) run_session(sc, s, &t);
    return t;
}

static double pct(long a, long b) { return b ? 100.0 * (double)a / (double)b : 0; }

/* ---- tables ---------------------------------------------------------------------------------- */

static const char *MODES[] = {"wrong-model", "random", "lazy", "skip-layer", "stale",
                              "noise:0.1", "collude"}; /* noise:0.1 = 0.1 x output std */
#define NMODES (sizeof MODES / sizeof *MODES)

static void table_detection(void)
{
    printf("### Detection by replication (exact, tolerant, fingerprints)\n\n");
    printf("Shard layers [%d,%d) of stories260K on R local replicas, replica 0 adversarial "
           "(it is also the replica that ships its full block when fingerprints are "
           "compared); %d sessions x %d positions (a %d-token prefill block, then one "
           "token per step) = %d steps per row. *Misbehaving* = steps whose adversarial "
           "output differs from the honest one. Detected = no quorum or adversary in the "
           "minority. *Named* = adversary in the minority, after re-execution on one "
           "more honest node when R=2 gave no quorum (exact mode). *Wrong accepted* = "
           "steps whose final accepted output differs from the honest one.\n\n",
           FIRST, LAST, NS, NT, PREFILL, NS * (NT - PREFILL + 1));
    printf("| mode | R | misbehaving steps | detected exact | detected tolerant | detected "
           "fingerprint | named | wrong accepted | sessions caught |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (size_t m = 0; m < NMODES; m++)
        for (int R = 2; R <= 3; R++) {
            scenario sc = {.R = R, .adv = 0};
            sc.mode[0] = MODES[m];
            for (int i = 1; i < R; i++) sc.mode[i] = "honest";
            if (strcmp(MODES[m], "noise:0.1") == 0) {
                static char buf[64];
                snprintf(buf, sizeof buf, "noise:%g", 0.1 * OUT_STD);
                sc.mode[0] = buf;
            }
            tally t = run_scenario(&sc);
            printf("| %s | %d | %ld/%ld | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %ld | %ld/%d |\n",
                   sc.mode[0], R, t.misbehaved, t.steps, pct(t.det[0], t.misbehaved),
                   pct(t.det[1], t.misbehaved), pct(t.det[2], t.misbehaved),
                   pct(t.named, t.misbehaved), t.wrong_accepted, t.sessions_caught, NS);
            fflush(stdout);
        }
    printf("\n");
}

static void table_noise(void)
{
    printf("### Noise sweep (noise:SIGMA, R=2)\n\n");
    printf("SIGMA relative to the std of the shard's honest output (%.3f). Tolerances: "
           "outputs max|a-b| <= %.0e x rms; fingerprints: mean mantissa difference <= %.0f "
           "units of 2^-15, max <= %.0f, <= 1/8 exponent mismatches.\n\n", OUT_STD,
           veil_quorum_defaults().tol, veil_fp_default_tol().max_mant_mean,
           veil_fp_default_tol().max_mant_max);
    printf("| SIGMA / std | detected exact | detected tolerant | detected fingerprint |\n");
    printf("|---|---|---|---|\n");
    static const double rel[] = {1e-1, 1e-2, 1e-3, 3e-4, 1e-4, 1e-5};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "noise:%g", rel[i] * OUT_STD);
        scenario sc = {.R = 2, .adv = 0, .mode = {buf, "honest"}};
        tally t = run_scenario(&sc);
        printf("| %g | %.1f%% | %.1f%% | %.1f%% |\n", rel[i], pct(t.det[0], t.misbehaved),
               pct(t.det[1], t.misbehaved), pct(t.det[2], t.misbehaved));
        fflush(stdout);
    }
    printf("\n");
}

static void table_honest(void)
{
    printf("### False positives and tolerance calibration (honest replicas only)\n\n");
    printf("| replicas | steps (tokens) | quorum failures exact | tolerant | fingerprint | "
           "max abs diff / rms | fingerprint worst mean / max / exp mismatches |\n");
    printf("|---|---|---|---|---|---|---|\n");
    scenario cases[] = {
        {.R = 3, .adv = -1, .mode = {"honest", "honest", "honest"}, .threads = {1, 2, 1},
         .token_by_token = {0, 0, 1}},
        {.R = 2, .adv = -1, .mode = {"honest", "jitter:1e-7"}},
        {.R = 2, .adv = -1, .mode = {"honest", "jitter:1e-6"}},
        {.R = 2, .adv = -1, .mode = {"honest", "jitter:1e-5"}},
    };
    const char *names[] = {"3 honest: 1 vs 2 threads, batched vs token-by-token prefill",
                           "honest vs non-reproducible (jitter 1e-7/layer)",
                           "honest vs non-reproducible (jitter 1e-6/layer)",
                           "honest vs non-reproducible (jitter 1e-5/layer)"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tally t = run_scenario(&cases[c]);
        printf("| %s | %ld (%ld) | %ld | %ld | %ld | %.2e | %.2f / %.0f / %d |\n", names[c],
               t.steps, (long)NS * NT, t.fail[0], t.fail[1], t.fail[2], t.max_rel, t.fp_mean_max,
               t.fp_max_max, t.fp_exp_max);
        fflush(stdout);
    }
    printf("\n");
}

/* A spot check needs a checker whose KV cache covers the prefix. A warm
 * checker computes every token (R x compute; sampling then saves traffic and
 * comparisons only); a cold checker replays the stored shard inputs of
 * positions 0..pos as one batch when pos is picked. Measure the latter. */
static void table_cold_checker(void)
{
    static const double P[] = {0.01, 0.05, 0.1, 0.25};
    int dim = M->cfg.dim, sessions = NS < 2 ? NS : 2;
    float *x = malloc(sizeof(float) * NT * dim);
    double base = 0;
    for (int s = 0; s < sessions; s++) { /* unverified: one replica, token by token */
        veil_shard *h;
        veil_model_shard(M, FIRST, LAST, NT, &h);
        memcpy(x, IN[s], sizeof(float) * NT * dim);
        double t0 = veil_now();
        for (int p = 0; p < NT; p++) veil_shard_forward(h, p, x + (size_t)p * dim);
        base += veil_now() - t0;
        veil_shard_free(h);
    }
    printf("Cold checker (no warm replica): each picked position pos is re-run by a checker "
           "that replays the stored shard inputs of positions 0..pos as one batch. Measured "
           "over %d sessions of %d tokens against one replica decoding them:\n\n", sessions, NT);
    printf("| P | checks | extra compute (cold checker) | warm checker |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof P / sizeof *P; i++) {
        double extra = 0;
        long checks = 0;
        for (int s = 0; s < sessions; s++) {
            veil_spot *sp;
            veil_spot_new(P[i], NULL, &sp);
            for (int p = 0; p < NT; p++) {
                if (!veil_spot_pick(sp, (uint64_t)p)) continue;
                double t0 = veil_now();
                veil_shard *h;
                veil_model_shard(M, FIRST, LAST, p + 1, &h);
                memcpy(x, IN[s], sizeof(float) * (p + 1) * dim);
                veil_shard_forward_batch(h, 0, p + 1, x);
                veil_shard_free(h);
                extra += veil_now() - t0;
                checks++;
            }
            veil_spot_free(sp);
        }
        printf("| %g | %ld | +%.0f%% | +100%% |\n", P[i], checks, 100 * extra / base);
    }
    free(x);
    printf("\n");
}

/* ---- sampled verification --------------------------------------------------------------- */

/* Sessions of n tokens; the adversary cheats on each token with probability
 * q (its own coin), the client replicates the tokens its keyed PRF picks;
 * a replicated cheat is detected with d = 1 (the exact-mode rate measured
 * above for every mode). Fresh client key per session. */
static void table_sampling(void)
{
    enum { SESSIONS = 2000, N = 128 };
    static const double P[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1};
    static const double Q[] = {1, 0.1};
    printf("### Sampled verification (sample:P)\n\n");
    printf("%d simulated sessions of %d tokens per cell, fresh 32-byte client key per session "
           "(OpenSSL RAND_bytes), HMAC-SHA256 picks; per-check detection d = 1 as measured "
           "above. Formula: P(caught within n tokens) = 1 - (1 - P q d)^n. The last column "
           "counts the checker's shard runs as if its KV cache were free (see the cold/warm "
           "checker table below for what it really costs).\n\n", SESSIONS, N);
    printf("| P | q (fraction of tokens cheated) | caught per session (measured) | formula | "
           "tokens for 99%% | checked shard runs at R=2 |\n|---|---|---|---|---|---|\n");
    uint64_t coin = 12345;
    for (size_t i = 0; i < sizeof P / sizeof *P; i++)
        for (size_t j = 0; j < sizeof Q / sizeof *Q; j++) {
            long caught = 0;
            for (int s = 0; s < SESSIONS; s++) {
                veil_spot *sp;
                veil_spot_new(P[i], NULL, &sp);
                int hit = 0;
                for (int t = 0; t < N && !hit; t++) {
                    int cheat = (double)(veil_random_u32(&coin) >> 8) * 0x1.0p-24 < Q[j];
                    hit = cheat && veil_spot_pick(sp, (uint64_t)t);
                }
                caught += hit;
                veil_spot_free(sp);
            }
            printf("| %g | %g | %.1f%% | %.1f%% | %.0f | +%.0f%% |\n", P[i], Q[j],
                   pct(caught, SESSIONS), 100 * veil_spot_detect_prob(P[i], Q[j], 1, N),
                   veil_spot_tokens_needed(P[i], Q[j], 1, 0.99), 100 * P[i]);
        }
    printf("\n");
    table_cold_checker();
}

/* End to end through veil_verifier (what the orchestrator runs): the
 * adversary is the active replica, an honest checker replica runs every
 * token (warm), the verifier compares only the positions its key picks. */
static void table_sample_e2e(void)
{
    static const double P[] = {0.02, 0.05, 0.1, 0.25};
    char noise[64];
    snprintf(noise, sizeof noise, "noise:%g", 1e-3 * OUT_STD);
    const char *modes[] = {"wrong-model", "skip-layer", noise};
    int dim = M->cfg.dim;
    printf("End to end through `veil_verifier` (the orchestrator's object), real model: the "
           "adversary is the active replica of shard [%d,%d), an honest warm checker computes "
           "every token, the verifier compares the positions its key picks (fresh key per "
           "session); %d sessions x %d positions.\n\n", FIRST, LAST, NS, NT);
    printf("| adversary | P | sessions caught | mean position of first flag | formula, caught "
           "within %d steps |\n|---|---|---|---|---|\n", NT - PREFILL + 1);
    float *a = malloc(sizeof(float) * PREFILL * dim), *h = malloc(sizeof(float) * PREFILL * dim);
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
        for (size_t i = 0; i < sizeof P / sizeof *P; i++) {
            long caught = 0, first_sum = 0;
            for (int sess = 0; sess < NS; sess++) {
                veil_verifier_opts o = veil_verifier_defaults();
                o.mode = (veil_verify_mode){VEIL_VERIFY_SAMPLE, P[i]};
                o.flag_out = NULL;
                veil_verifier *v;
                veil_verifier_new(&o, 1, dim, &v);
                veil_adv_shard *bad = make_replica(modes[m], 3), *chk = make_replica("honest", 3);
                int first = -1;
                for (int pos = 0; pos < NT && first < 0;) {
                    int T = pos == 0 ? PREFILL : 1;
                    memcpy(a, IN[sess] + (size_t)pos * dim, sizeof(float) * T * dim);
                    memcpy(h, a, sizeof(float) * T * dim);
                    veil_adv_forward(bad, pos, T, a);
                    veil_adv_forward(chk, pos, T, h);
                    if (veil_verifier_replicate(v, pos, T)) {
                        const char *names[2] = {"active", "checker"};
                        const float *outs[2] = {a, h};
                        veil_verdict vd;
                        veil_verifier_step(v, 0, FIRST, LAST, pos, T, 2, names, outs, &vd);
                        if (veil_verifier_flag_count(v) || vd.reexecute) first = pos;
                    }
                    pos += T;
                }
                if (first >= 0) caught++, first_sum += first;
                veil_adv_free(bad);
                veil_adv_free(chk);
                veil_verifier_free(v);
            }
            char mean[32] = "-";
            if (caught) snprintf(mean, sizeof mean, "%.1f", (double)first_sum / caught);
            printf("| %s | %g | %ld/%d | %s | %.1f%% |\n", modes[m], P[i], caught, NS, mean,
                   100 * veil_spot_detect_prob(P[i], 1, 1, NT - PREFILL + 1));
            fflush(stdout);
        }
    free(a);
    free(h);
    printf("\n");
}

/* ---- CDV alone ------------------------------------------------------------------------------ */

static veil_cdv_profile *build_profile(void)
{
    enum { SAMPLES = 8, LEN = 256 };
    veil_cdv_profiler *p;
    veil_cdv_profiler_new(M, 8, &p);
    int *tok = malloc(sizeof(int) * LEN);
    float *x = malloc(sizeof(float) * LEN * M->cfg.dim);
    for (int s = 0; s < SAMPLES; s++) { /* as `veil model profile` does by default */
        sample_seq(1000 + (uint64_t)s, LEN, tok);
        veil_shard *h;
        veil_model_shard(M, 0, M->cfg.n_layers, LEN, &h);
        veil_shard_set_hook(h, veil_cdv_profiler_hook, p);
        for (int i = 0; i < LEN; i++) veil_embed(M, tok[i], x + (size_t)i * M->cfg.dim);
        veil_shard_forward_batch(h, 0, LEN, x);
        veil_shard_free(h);
    }
    veil_cdv_profile *prof;
    veil_cdv_profiler_finish(p, &prof);
    veil_cdv_profiler_free(p);
    free(tok);
    free(x);
    return prof;
}

/* Honest false alarms at every layer boundary, over the held-out sessions. */
static void cdv_honest(const veil_cdv_profile *prof, const veil_cdv_opts *o)
{
    int L = M->cfg.n_layers, dim = M->cfg.dim;
    long tokens = 0, alarms = 0, sessions_alarmed = 0;
    double worst = 0;
    float *x = malloc(sizeof(float) * NT * dim);
    for (int s = 0; s < NS; s++) {
        veil_cdv_monitor mon[VEIL_MAX_LAYERS] = {{0}};
        int any = 0;
        for (int l = 0; l < L; l++) {
            veil_shard *hl;
            veil_model_shard(M, 0, l + 1, NT, &hl);
            for (int p = 0; p < NT; p++) veil_embed(M, SEQ[s][p], x + (size_t)p * dim);
            veil_shard_forward_batch(hl, 0, NT, x);
            veil_shard_free(hl);
            for (int p = 0; p < NT; p++) {
                veil_cdv_verdict v;
                veil_cdv_observe(prof, l, &mon[l], x + (size_t)p * dim, 1, o, &v);
                tokens++;
                alarms += v.flagged;
                any |= v.flagged;
                double r = v.score / v.hard_limit;
                if (r > worst) worst = r;
                r = v.ewma / v.limit;
                if (r > worst) worst = r;
            }
        }
        sessions_alarmed += any;
    }
    free(x);
    printf("| honest (all %d boundaries, held-out sessions) | %ld token checks | %ld false alarms "
           "| %ld/%d sessions | worst statistic / its limit: %.2f |\n", L, tokens, alarms,
           sessions_alarmed, NS, worst);
}

static void table_cdv(void)
{
    veil_cdv_profile *prof = build_profile();
    veil_cdv_opts o = veil_cdv_defaults();
    printf("### CDV alone (no replica)\n\n");
    printf("Profile: %ld tokens the model sampled itself (seeds 1000-1007, as `veil model "
           "profile` does by default), top-8 histogram. Test sessions: the %d held-out sessions "
           "above (seeds 1-%d). EWMA lambda %.2f, limit mu + %.0f sd sqrt(lambda/(2-lambda)"
           "(1-(1-lambda)^2n)), single-token limit %.0f x the corpus maximum. Shard [%d,%d) "
           "checked at the output of layer %d.\n\n", prof->tokens, NS, NS, o.lambda, o.L, o.hard,
           FIRST, LAST, LAST - 1);
    printf("| node | tokens checked | flagged tokens | sessions flagged | mean tokens to first "
           "flag |\n|---|---|---|---|---|\n");
    cdv_honest(prof, &o);
    const char *modes[] = {"honest", "wrong-model", "random", "lazy", "skip-layer", "stale",
                           "noise:0.165", "noise:0.0165", "noise:0.00165", "collude"};
    int dim = M->cfg.dim;
    float *x = malloc(sizeof(float) * PREFILL * dim);
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        long tokens = 0, flagged = 0, sess = 0, first_sum = 0;
        for (int s = 0; s < NS; s++) {
            veil_adv_shard *a = make_replica(modes[m], 77 + (uint64_t)s);
            veil_cdv_monitor mon = {0};
            int first = -1;
            for (int pos = 0; pos < NT;) {
                int T = pos == 0 ? PREFILL : 1;
                memcpy(x, IN[s] + (size_t)pos * dim, sizeof(float) * T * dim);
                veil_adv_forward(a, pos, T, x);
                for (int t = 0; t < T; t++) {
                    veil_cdv_verdict v;
                    veil_cdv_observe(prof, LAST - 1, &mon, x + (size_t)t * dim, 1, &o, &v);
                    tokens++;
                    flagged += v.flagged;
                    if (v.flagged && first < 0) first = pos + t + 1;
                }
                pos += T;
            }
            if (first >= 0) sess++, first_sum += first;
            veil_adv_free(a);
        }
        char mean[32] = "-";
        if (sess) snprintf(mean, sizeof mean, "%.1f", (double)first_sum / sess);
        printf("| %s | %ld | %ld (%.1f%%) | %ld/%d | %s |\n", modes[m], tokens, flagged,
               pct(flagged, tokens), sess, NS, mean);
        fflush(stdout);
    }
    free(x);
    veil_cdv_profile_free(prof);
    printf("\n");
}

/* ---- collusion and disputes ----------------------------------------------------------------- */

typedef struct {
    long steps, disputes, probes, recompute_tokens;
    long wrong_majority, wrong_dispute, named, honest_named, audits, audit_caught;
    long sessions_caught;
} ctally;

/* One step of a session with per-layer recorders: majority decision, and on
 * any disagreement a dispute (bisection + one-layer recomputation). */
static void dispute_step(veil_adv_shard **rep, veil_fp_recorder **rec, int R, const int *is_adv,
                         int pos, int T, const float *x, const float *honest, float **out,
                         veil_fp (*fps)[8], veil_ledger *led, ctally *c)
{
    int dim = M->cfg.dim, n = LAST - FIRST;
    size_t bytes = sizeof(float) * T * dim;
    for (int i = 0; i < R; i++) {
        memcpy(out[i], x, bytes);
        veil_fp_recorder_begin(rec[i], pos, T, out[i]);
        veil_adv_forward(rep[i], pos, T, out[i]);
        veil_fp_recorder_finish(rec[i], fps[i]);
    }
    veil_quorum_opts o = veil_quorum_defaults();
    veil_quorum_result q;
    const float *outs[MAXR];
    for (int i = 0; i < R; i++) outs[i] = out[i];
    veil_quorum_outputs(R, outs, (size_t)T * dim, &o, &q);
    c->steps++;
    int w = q.decided ? q.winner : 0;
    c->wrong_majority += !q.decided || memcmp(out[w], honest, bytes) != 0;
    int other = -1;
    for (int i = 0; i < R && other < 0; i++)
        if (memcmp(out[i], out[w], bytes) != 0) other = i;
    if (other < 0) { /* unanimous: nothing to dispute */
        c->wrong_dispute += memcmp(out[w], honest, bytes) != 0;
        for (int i = 0; i < R; i++) veil_ledger_record(led, is_adv[i] ? "colluder" : "honest",
                                                        VEIL_EV_AGREE, FIRST, LAST, pos, NULL);
        return;
    }
    c->disputes++;
    int probes = 0, i = veil_bisect_fps(fps[w], fps[other], n, &probes), L = FIRST + i;
    c->probes += probes;
    /* agreed input of layer L: every replica's fingerprints agree before it */
    const float *in = veil_fp_recorder_history(rec[w], L - 1);
    float *truth = malloc(bytes);
    veil_dispute_recompute(&M->cfg, L, &M->layers[L], in, pos, T, truth);
    c->recompute_tokens += pos + T;
    const veil_fp *at[MAXR];
    for (int r = 0; r < R; r++) at[r] = &fps[r][i];
    uint32_t guilty = veil_dispute_judge(R, at, truth, T, dim, &o);
    free(truth);
    int accepted = -1;
    for (int r = 0; r < R; r++) {
        if (guilty >> r & 1) {
            c->named += is_adv[r];
            c->honest_named += !is_adv[r];
            veil_flag f;
            veil_flag_set(&f, is_adv[r] ? "colluder" : "honest",
                          "lost a dispute at layer %d, positions %d..%d", L, pos, pos + T - 1);
            veil_ledger_record(led, f.node, VEIL_EV_DISPUTE, FIRST, LAST, pos, f.reason);
        } else {
            if (accepted < 0) accepted = r;
            veil_ledger_record(led, is_adv[r] ? "colluder" : "honest", VEIL_EV_AGREE, FIRST, LAST,
                               pos, "won a dispute");
        }
    }
    c->wrong_dispute += accepted < 0 || memcmp(out[accepted], honest, bytes) != 0;
}

/* Client audit for sample:P: on a picked token, recompute one random layer
 * of one replica from its own claimed history and check its fingerprint. */
static void audit_step(veil_fp_recorder *rec, const veil_fp *fps, int pos, int T, uint64_t *rng,
                       ctally *c)
{
    int dim = M->cfg.dim, i = (int)(veil_random_u32(rng) % (uint32_t)(LAST - FIRST)), L = FIRST + i;
    float *truth = malloc(sizeof(float) * T * dim);
    veil_dispute_recompute(&M->cfg, L, &M->layers[L], veil_fp_recorder_history(rec, L - 1), pos, T,
                           truth);
    veil_quorum_opts o = veil_quorum_defaults();
    const veil_fp *at[1] = {&fps[i]};
    c->audits++;
    c->audit_caught += veil_dispute_judge(1, at, truth, T, dim, &o) != 0;
    c->recompute_tokens += pos + T;
    free(truth);
}

static ctally run_collusion(int R, int n_adv, double audit_p, veil_ledger *led)
{
    ctally c = {0};
    int dim = M->cfg.dim, is_adv[MAXR];
    uint64_t rng = 99;
    for (int s = 0; s < NS; s++) {
        veil_adv_shard *rep[MAXR];
        veil_fp_recorder *rec[MAXR];
        float *out[MAXR], *honest = malloc(sizeof(float) * PREFILL * dim);
        for (int i = 0; i < R; i++) {
            is_adv[i] = i < n_adv;
            rep[i] = make_replica(is_adv[i] ? "collude" : "honest", 5);
            veil_fp_recorder_new(FIRST, LAST, dim, VEIL_FP_DEFAULT_K, NT, &rec[i]);
            veil_adv_set_hook(rep[i], veil_fp_recorder_hook, rec[i]);
            out[i] = malloc(sizeof(float) * PREFILL * dim);
        }
        veil_shard *hon;
        veil_model_shard(M, FIRST, LAST, NT, &hon);
        veil_spot *sp;
        veil_spot_new(audit_p > 0 ? audit_p : 1, NULL, &sp);
        long before = c.audit_caught;
        for (int pos = 0; pos < NT;) {
            int T = pos == 0 ? PREFILL : 1;
            const float *x = IN[s] + (size_t)pos * dim;
            veil_fp fps[MAXR][8];
            memcpy(honest, x, sizeof(float) * T * dim);
            veil_shard_forward_batch(hon, pos, T, honest);
            dispute_step(rep, rec, R, is_adv, pos, T, x, honest, out, fps, led, &c);
            if (audit_p > 0 && veil_spot_pick(sp, (uint64_t)pos)) audit_step(rec[0], fps[0], pos, T, &rng, &c);
            pos += T;
        }
        c.sessions_caught += c.audit_caught > before;
        veil_spot_free(sp);
        for (int i = 0; i < R; i++) {
            veil_adv_free(rep[i]);
            veil_fp_recorder_free(rec[i]);
            free(out[i]);
        }
        veil_shard_free(hon);
        free(honest);
    }
    return c;
}

static double choose(int n, int k)
{
    double r = 1;
    for (int i = 0; i < k; i++) r = r * (n - i) / (i + 1);
    return k < 0 || k > n ? 0 : r;
}

/* P(at least `need` of the R replicas drawn from N nodes are among C colluders) */
static double p_colluders_at_least(int N, int C, int R, int need)
{
    double p = 0;
    for (int k = need; k <= R; k++) p += choose(C, k) * choose(N - C, R - k) / choose(N, R);
    return p;
}

static void table_collusion(void)
{
    printf("### Collusion\n\n");
    printf("Two colluders return the same wrong answer (collude: noise of 1%% of the rms keyed "
           "by a shared seed and the position, identical bit for bit on both). Measured over "
           "%d sessions x %d positions; *majority* = plain quorum; *dispute* = any "
           "disagreement triggers bisection over per-layer fingerprints and the client "
           "recomputes the first divergent layer (accept a replica not found guilty). "
           "*Audit* = sample:P client audit: on a picked token the client recomputes one "
           "CSPRNG-chosen layer of the shard from the replica's claimed layer inputs and checks "
           "the replica's fingerprint of that layer.\n\n", NS, NT);
    printf("| replicas | steps | wrong accepted (majority) | disputes | wrong accepted "
           "(dispute) | colluder convictions | honest convicted | bisection probes / dispute "
           "| client recompute (layer-tokens) | audits | audits catching | sessions caught |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    struct {
        int R, nadv;
        double p;
        const char *name;
    } cases[] = {{3, 2, 0, "R=3: 2 colluders + 1 honest"},
                 {3, 1, 0, "R=3: 1 colluder (alone) + 2 honest"},
                 {2, 2, 0, "R=2: both colluders"},
                 {2, 2, 0.1, "R=2: both colluders, audit sample:0.1"},
                 {2, 2, 0.02, "R=2: both colluders, audit sample:0.02"}};
    veil_ledger *led;
    veil_ledger_open(":memory:", &led);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ctally c = run_collusion(cases[i].R, cases[i].nadv, cases[i].p, led);
        printf("| %s | %ld | %ld | %ld | %ld | %ld | %ld | %.1f | %ld | %ld | %ld | %ld/%d |\n",
               cases[i].name, c.steps, c.wrong_majority, c.disputes, c.wrong_dispute, c.named,
               c.honest_named, c.disputes ? (double)c.probes / c.disputes : 0, c.recompute_tokens,
               c.audits, c.audit_caught, cases[i].p > 0 ? c.sessions_caught : 0,
               cases[i].p > 0 ? NS : 0);
        fflush(stdout);
    }
    veil_node_rep hr, cr;
    veil_ledger_get(led, "honest", &hr);
    veil_ledger_get(led, "colluder", &cr);
    const char *names[] = {"colluder", "honest"};
    int order[2], m = veil_ledger_rank(led, names, 2, order);
    printf("\nLedger after these runs: honest score %.3f (flagged %d), colluder score %.3f "
           "(flagged %d, %ld lost disputes); scheduler ranking keeps %d node(s): %s.\n\n",
           hr.score, hr.flagged, cr.score, cr.flagged, cr.dispute, m, m > 0 ? names[order[0]] : "-");
    veil_ledger_close(led);

    printf("Random replica placement from a pool of N = 10 nodes with C colluders "
           "(hypergeometric). Undetected = every replica of the shard is a colluder; "
           "majority-wrong = colluders hold a strict majority (plain quorum accepts their "
           "answer; disputes convict them instead whenever one honest replica is present).\n\n");
    printf("| C | R | P(undetected) per shard placement | P(colluder majority) | with audit "
           "sample:P, tokens for 99%% detection when undetected (1 of %d layers checked) |\n",
           LAST - FIRST);
    printf("|---|---|---|---|---|\n");
    for (int C = 2; C <= 3; C++)
        for (int R = 2; R <= 5; R++) {
            double und = p_colluders_at_least(10, C, R, R);
            double maj = p_colluders_at_least(10, C, R, R / 2 + 1);
            printf("| %d | %d | %.4f | %.4f | P=0.1: %.0f, P=0.02: %.0f |\n", C, R, und, maj,
                   veil_spot_tokens_needed(0.1, 1, 1.0 / (LAST - FIRST), 0.99),
                   veil_spot_tokens_needed(0.02, 1, 1.0 / (LAST - FIRST), 0.99));
        }
    printf("\n");
}

/* ---- cost ------------------------------------------------------------------------------------- */

/* Seconds per call of f over `reps` calls. */
#define TIME_PER(reps, stmt)                                                                   \
    ({                                                                                         \
        double t0_ = veil_now();                                                               \
        for (int r_ = 0; r_ < (reps); r_++) { stmt; }                                          \
        (veil_now() - t0_) / (reps);                                                           \
    })

static void table_cost(void)
{
    int dim = M->cfg.dim;
    printf("### Compute and traffic cost\n\n");
    /* shard compute per decode token, one replica */
    veil_shard *h;
    veil_model_shard(M, FIRST, LAST, NT, &h);
    float *x = malloc(sizeof(float) * 32 * 4096), *y = malloc(sizeof(float) * 32 * 4096);
    memcpy(x, IN[0], sizeof(float) * NT * dim);
    int pos = 0;
    double shard_t = TIME_PER(NT, {
        memcpy(y, IN[0] + (size_t)pos * dim, sizeof(float) * dim);
        veil_shard_forward(h, pos, y);
        pos++;
    });
    veil_shard_free(h);
    veil_quorum_opts o = veil_quorum_defaults();
    veil_quorum_result q;
    const float *outs[3] = {y, y, y};
    double cmp_t = TIME_PER(100000, veil_quorum_outputs(3, outs, (size_t)dim, &o, &q));
    veil_fp fp;
    double fp1_t = TIME_PER(20000, veil_fp_compute(y, 1, dim, 32, 0, 0, &fp));
    veil_cdv_profile *prof = build_profile();
    veil_cdv_monitor mon = {0};
    veil_cdv_verdict v;
    veil_cdv_opts co = veil_cdv_defaults();
    double cdv_t = TIME_PER(20000, veil_cdv_observe(prof, LAST - 1, &mon, y, 1, &co, &v));
    veil_cdv_profile_free(prof);
    float *hist = malloc(sizeof(float) * NT * dim), *tr = malloc(sizeof(float) * dim);
    memcpy(hist, IN[0], sizeof(float) * NT * dim);
    double disp_t = TIME_PER(20, veil_dispute_recompute(&M->cfg, LAST - 1, &M->layers[LAST - 1],
                                                        hist, NT - 1, 1, tr));
    /* what the dispute avoids: the client re-running the whole shard over the prefix */
    float *pre = malloc(sizeof(float) * NT * dim);
    double full_t = TIME_PER(5, {
        veil_shard *f;
        veil_model_shard(M, FIRST, LAST, NT, &f);
        memcpy(pre, IN[0], sizeof(float) * NT * dim);
        veil_shard_forward_batch(f, 0, NT, pre);
        veil_shard_free(f);
    });
    free(pre);
    /* large hidden states: fingerprint of a 32-token block of a 4096-wide model */
    for (int i = 0; i < 32 * 4096; i++) x[i] = (float)sin(i * 0.37) * (1 + (i % 97 == 0) * 20);
    double fpbig_t = TIME_PER(50, veil_fp_compute(x, 32, 4096, 32, 0, 0, &fp));
    veil_fp_check chk;
    veil_fp_tol tol = veil_fp_default_tol();
    double chkbig_t = TIME_PER(50, veil_fp_check_against(&fp, x, 32, 4096, &tol, &chk));
    free(hist);
    free(tr);
    free(x);
    free(y);
    printf("Measured on this shared 2-core VM (other engineers' builds running, so absolute times "
           "are noisy; ratios are what matter). stories260K, shard [%d,%d), one thread.\n\n",
           FIRST, LAST);
    printf("| item | time | relative to one replica's shard compute per token |\n|---|---|---|\n");
    printf("| shard compute per decode token (one replica) | %.1f us | 1 |\n", shard_t * 1e6);
    printf("| total compute, R=2 / R=3 replicas | %.1f / %.1f us | %d / %d |\n", 2 * shard_t * 1e6,
           3 * shard_t * 1e6, 2, 3);
    printf("| sample:P total compute | warm checker R x; cold checker see sampled table | - |\n");
    printf("| client: exact quorum of 3 outputs (dim %d) | %.3f us | %.4f |\n", dim, cmp_t * 1e6,
           cmp_t / shard_t);
    printf("| node: fingerprint of one token (k=32) | %.2f us | %.3f |\n", fp1_t * 1e6,
           fp1_t / shard_t);
    printf("| client: CDV test of one token | %.2f us | %.3f |\n", cdv_t * 1e6, cdv_t / shard_t);
    printf("| client: dispute, recompute 1 layer at position %d (rebuilds its KV over %d "
           "positions) | %.1f us | %.2f |\n", NT - 1, NT, disp_t * 1e6, disp_t / shard_t);
    printf("| (for comparison) client re-running the whole shard over those %d positions | "
           "%.1f us | %.2f |\n", NT, full_t * 1e6, full_t / shard_t);
    printf("| fingerprint of a 32 x 4096 block (131072 floats, k=32) | %.0f us | - |\n",
           fpbig_t * 1e6);
    printf("| tolerant check of that fingerprint against a 32 x 4096 block | %.0f us | - |\n\n",
           chkbig_t * 1e6);

    int fpb = VEIL_FP_HEADER + 4 * VEIL_FP_DEFAULT_K;
    printf("Traffic per token and per shard (bytes). Unverified: one hidden state (4 x dim). "
           "Full consensus: every replica ships its hidden state. Fingerprints: one replica "
           "ships the hidden state, the R-1 others one %d-byte fingerprint per block of B "
           "tokens. *Saved* = verification traffic of full consensus / fingerprints.\n\n", fpb);
    printf("| model width | unverified | R=2 full | R=2 fingerprint B=1 | R=2 fingerprint B=32 | "
           "R=3 full | R=3 fingerprint B=32 | verification bytes saved B=1 / B=32 |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    static const int dims[] = {64, 288, 768, 4096};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) {
        double hs = 4.0 * dims[i];
        printf("| %d | %.0f | %.0f | %.0f | %.2f | %.0f | %.2f | %.1fx / %.0fx |\n", dims[i], hs,
               2 * hs, hs + fpb, hs + fpb / 32.0, 3 * hs, hs + 2 * fpb / 32.0, hs / fpb,
               hs * 32 / fpb);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 && argv[1][0] != '-' ? argv[1] : getenv("VEIL_MODEL_DIR");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0) NS = 2, NT = 48;
    char path[4096];
    snprintf(path, sizeof path, "%s/stories260K.bin", dir && *dir ? dir : "../shared/models");
    if (veil_model_open(path, &M)) {
        fprintf(stderr, "bench_verify: %s\n", veil_last_error());
        return 1;
    }
    setenv("VEIL_MODEL_DIR", dir && *dir ? dir : "../shared/models", 0);
    veil_set_threads(1);
    make_inputs();
    {
        veil_cdv_stats st;
        veil_shard *h;
        veil_model_shard(M, FIRST, LAST, NT, &h);
        float *x = malloc(sizeof(float) * NT * M->cfg.dim);
        memcpy(x, IN[0], sizeof(float) * NT * M->cfg.dim);
        veil_shard_forward_batch(h, 0, NT, x);
        for (int p = 0; p < NT; p++) {
            veil_cdv_stats_of(x + (size_t)p * M->cfg.dim, M->cfg.dim, 8, &st);
            OUT_STD += st.std / NT;
        }
        free(x);
        veil_shard_free(h);
    }
    table_honest();
    table_detection();
    table_noise();
    table_sampling();
    table_sample_e2e();
    table_cdv();
    table_collusion();
    table_cost();
    veil_model_close(M);
    return 0;
}
