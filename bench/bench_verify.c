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
                              "noise:0.1", "collude"};
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
           "above. Formula: P(caught within n tokens) = 1 - (1 - P q d)^n. Extra compute "
           "= P (R-1) shard runs per token.\n\n", SESSIONS, N);
    printf("| P | q (fraction of tokens cheated) | caught per session (measured) | formula | "
           "tokens for 99%% | extra compute at R=2 |\n|---|---|---|---|---|---|\n");
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
    table_cdv();
    veil_model_close(M);
    return 0;
}
