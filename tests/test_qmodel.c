/* The integer forward pass: tables against libm within documented error,
 * bit-exact determinism (batch vs token, threads, a golden digest that every
 * machine must reproduce), and accuracy against the float path on
 * stories260K (greedy top-1 agreement >= 99% over 200 tokens, perplexity
 * within 2%). */
#include "harness.h"

#include "veil/qmodel.h"
#include "veil/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NTOK 200
/* SHA-256 of the int32 (little-endian) hidden states of test_determinism. */
#define QMODEL_GOLDEN "f1384c7c6d5b49cdf37648f1602009e4496889ae6032b8819465f198d5f4831d"

static void test_tables(void)
{
    const veil_qtables *tb = veil_qtables_get();
    double worst = 0;
    for (int i = 0; i < VEIL_Q_SIG_SIZE; i++) {
        double x = (i - VEIL_Q_SIG_HALF) / 4096.0;
        double err = fabs(tb->sigmoid[i] - 65536.0 / (1.0 + exp(-x)));
        if (err > worst) worst = err;
    }
    CHECKF(worst <= 0.5 + 1e-6, "sigmoid table error %.4f Q16 units", worst);
    worst = 0;
    for (int k = 0; k < VEIL_Q_EXP_DIGITS; k++)
        for (int j = 0; j < VEIL_Q_EXP_BASE; j++) {
            double d = ldexp(j, VEIL_Q_EXP_DIGIT_BITS * k) / 65536.0;
            double err = fabs(tb->exp_digit[k][j] - 65536.0 * exp(-d));
            if (err > worst) worst = err;
        }
    CHECKF(worst <= 0.5 + 1e-6, "exp digit table error %.4f", worst);
    worst = 0;
    for (int i = 0; i < VEIL_Q_RSQRT_SIZE; i++) {
        double err = fabs(tb->rsqrt[i] - ldexp(1, 30) / sqrt(VEIL_Q_RSQRT_LO + i));
        if (err > worst) worst = err;
    }
    CHECKF(worst <= 0.5 + 1e-6, "rsqrt table error %.4f", worst);
    /* RoPE: exact angle in double, so allow the double's own error at large pos */
    worst = 0;
    for (int pos = 0; pos < 4096; pos += 7)
        for (int j = 0; j < 24; j++) {
            int32_t c, s;
            veil_q_sincos(pos, j, 48, &c, &s);
            double th = pos * pow(10000.0, -2.0 * j / 48);
            double e1 = fabs(c - 65536.0 * cos(th)), e2 = fabs(s - 65536.0 * sin(th));
            if (e1 > worst) worst = e1;
            if (e2 > worst) worst = e2;
        }
    CHECKF(worst <= 0.5 + 1e-3, "RoPE table error %.4f", worst);
    for (int n = 1; n <= 256; n++)
        CHECK(fabs(veil_q_inv_sqrt_int(n) - 65536.0 / sqrt(n)) <= 0.5 + 1e-9);
}

static void test_kernels(void)
{
    /* softmax: probabilities sum to 1 within rounding, match float */
    int32_t x[37];
    double ref[37], mx = -1e9, sum = 0;
    for (int i = 0; i < 37; i++) {
        x[i] = (int32_t)((i * 7919 % 101 - 50) * 9000);
        if (x[i] / 65536.0 > mx) mx = x[i] / 65536.0;
    }
    for (int i = 0; i < 37; i++)
        sum += ref[i] = exp(x[i] / 65536.0 - mx);
    veil_q_softmax(x, 37);
    int64_t tot = 0;
    double worst = 0;
    for (int i = 0; i < 37; i++) {
        tot += x[i];
        double e = fabs(x[i] / 65536.0 - ref[i] / sum);
        if (e > worst) worst = e;
    }
    CHECKF(llabs(tot - 65536) <= 37, "softmax sum %lld", (long long)tot);
    CHECKF(worst < 1e-4, "softmax error %g", worst);
    /* rmsnorm against double */
    int32_t v[64], g[64], out[64];
    double ss = 0;
    for (int i = 0; i < 64; i++) {
        v[i] = (int32_t)((i * 37 % 29 - 14) * 3000 + 17);
        g[i] = 65536 + i * 100;
        ss += (v[i] / 65536.0) * (v[i] / 65536.0);
    }
    CHECK(veil_q_rmsnorm(out, v, g, 64) == 0);
    double r = 1.0 / sqrt(ss / 64 + 1e-5);
    worst = 0;
    for (int i = 0; i < 64; i++) {
        double e = fabs(out[i] / 65536.0 - v[i] / 65536.0 * r * g[i] / 65536.0);
        if (e > worst) worst = e;
    }
    CHECKF(worst < 1e-3, "rmsnorm error %g", worst);
    /* swiglu against double */
    worst = 0;
    for (int a = -20 * 65536; a < 20 * 65536; a += 12345) {
        double xa = a / 65536.0, want = xa / (1 + exp(-xa)) * 1.5;
        double e = fabs(veil_q_swiglu(a, 98304) / 65536.0 - want);
        if (e > worst) worst = e;
    }
    CHECKF(worst < 2e-3, "swiglu error %g", worst);
    /* rounding shift keeps its remainder in [0, 2^s) for negative inputs too */
    for (int64_t a = -100000; a < 100000; a += 997) {
        int64_t y = veil_q_rshift(a, 16), rem = a + 32768 - y * 65536;
        CHECK(rem >= 0 && rem < 65536);
    }
}

/* Logits at every position of a token sequence, integer layers (float head
 * on the dequantized state, as `veil generate --int` does) or float. */
static int run_logits(const veil_model *m, const veil_qmodel *q, const int *tok, int n,
                      float *logits)
{
    int dim = m->cfg.dim, V = m->cfg.vocab_size, rc;
    float *x = malloc(sizeof(float) * dim * n);
    veil_shard *fs = NULL;
    veil_qshard *qs = NULL;
    rc = q ? veil_qmodel_shard(q, 0, m->cfg.n_layers, 0, &qs)
           : veil_model_shard(m, 0, m->cfg.n_layers, 0, &fs);
    veil_backend b = q ? veil_qbackend(qs) : veil_local_backend(fs);
    for (int i = 0; !rc && i < n; i++) {
        veil_embed(m, tok[i], x + (size_t)i * dim);
        rc = b.forward(b.ctx, i, 1, x + (size_t)i * dim);
        veil_head(m, x + (size_t)i * dim, logits + (size_t)i * V);
    }
    veil_qshard_free(qs);
    veil_shard_free(fs);
    free(x);
    return rc;
}

/* Float-model continuation of BOS (greedy when temperature 0). */
static void float_text(const veil_model *m, float temperature, int *tok)
{
    int V = m->cfg.vocab_size, dim = m->cfg.dim;
    float *lg = malloc(sizeof(float) * V), *x = malloc(sizeof(float) * dim);
    veil_shard *s;
    veil_sampler sm;
    CHECK(veil_model_shard(m, 0, m->cfg.n_layers, 0, &s) == 0);
    veil_sampler_init(&sm, V, temperature, 1.0f, 42);
    tok[0] = 1;
    for (int i = 1; i < NTOK; i++) {
        veil_embed(m, tok[i - 1], x);
        veil_shard_forward(s, i - 1, x);
        veil_head(m, x, lg);
        tok[i] = veil_sample(&sm, lg);
    }
    veil_sampler_free(&sm);
    veil_shard_free(s);
    free(lg);
    free(x);
}

static double nll(const float *lg, int V, int next)
{
    double mx = lg[0], s = 0;
    for (int i = 1; i < V; i++)
        if (lg[i] > mx) mx = lg[i];
    for (int i = 0; i < V; i++)
        s += exp(lg[i] - mx);
    return log(s) + mx - lg[next];
}

static void test_accuracy(const veil_model *m, const veil_qmodel *q)
{
    int V = m->cfg.vocab_size, tok[NTOK];
    float *lf = malloc(sizeof(float) * V * NTOK), *lq = malloc(sizeof(float) * V * NTOK);
    for (int mode = 0; mode < 2; mode++) {
        float_text(m, mode ? 1.0f : 0.0f, tok);
        CHECK(run_logits(m, NULL, tok, NTOK, lf) == 0);
        CHECK(run_logits(m, q, tok, NTOK, lq) == 0);
        int agree = 0;
        double nf = 0, nq = 0;
        for (int i = 0; i < NTOK; i++)
            agree += veil_argmax(lf + (size_t)i * V, V) == veil_argmax(lq + (size_t)i * V, V);
        for (int i = 0; i + 1 < NTOK; i++) {
            nf += nll(lf + (size_t)i * V, V, tok[i + 1]);
            nq += nll(lq + (size_t)i * V, V, tok[i + 1]);
        }
        double pf = exp(nf / (NTOK - 1)), pq = exp(nq / (NTOK - 1));
        printf("%s text: top-1 agreement %d/%d, perplexity float %.4f int %.4f (%+.3f%%)\n",
               mode ? "sampled" : "greedy", agree, NTOK, pf, pq, 100 * (pq / pf - 1));
        CHECKF(agree * 100 >= 99 * NTOK, "agreement %d/%d", agree, NTOK);
        CHECKF(fabs(pq / pf - 1) <= 0.02, "perplexity %.4f vs %.4f", pq, pf);
    }
    free(lf);
    free(lq);
}

/* Prefill of T tokens as one batch equals T single steps; threads do not
 * matter; the digest of the result is the same on every machine. */
static void test_determinism(const veil_qmodel *q)
{
    int dim = q->cfg.dim, T = 70; /* > one internal batch of 64 */
    int32_t *a = malloc(sizeof(int32_t) * dim * T), *b = malloc(sizeof(int32_t) * dim * T);
    for (int i = 0; i < T; i++)
        veil_qembed(q, (i * 37 + 5) % q->cfg.vocab_size, a + (size_t)i * dim);
    memcpy(b, a, sizeof(int32_t) * dim * T);
    veil_qshard *s1, *s2;
    CHECK(veil_qmodel_shard(q, 0, q->cfg.n_layers, 0, &s1) == 0);
    veil_set_threads(2);
    CHECK(veil_qshard_forward_batch(s1, 0, T, a) == 0);
    /* the second run is split across two shards at layer 2, one thread */
    veil_set_threads(1);
    veil_qshard *s3;
    CHECK(veil_qmodel_shard(q, 0, 2, 0, &s2) == 0);
    CHECK(veil_qmodel_shard(q, 2, q->cfg.n_layers, 0, &s3) == 0);
    for (int i = 0; i < T; i++) {
        CHECK(veil_qshard_forward(s2, i, b + (size_t)i * dim) == 0);
        CHECK(veil_qshard_forward(s3, i, b + (size_t)i * dim) == 0);
    }
    CHECK(memcmp(a, b, sizeof(int32_t) * dim * T) == 0);
    uint8_t h[32];
    char hex[65];
    veil_sha256(a, sizeof(int32_t) * dim * T, h); /* little-endian hosts only */
    veil_hex(h, 32, hex);
    printf("digest of 70-token prefill: %s\n", hex);
    CHECKF(strcmp(hex, QMODEL_GOLDEN) == 0, "golden digest differs: %s", hex);
    veil_qshard_free(s1);
    veil_qshard_free(s2);
    veil_qshard_free(s3);
    free(a);
    free(b);
}

int main(void)
{
    test_tables();
    test_kernels();
    const char *path = test_model_file("stories260K.bin");
    if (!path) {
        printf("stories260K.bin not found: model tests skipped\n");
        return test_done();
    }
    veil_model *m;
    veil_qmodel *q;
    CHECK(veil_model_open(path, &m) == 0);
    CHECK(veil_qmodel_new(m, &q) == 0);
    test_determinism(q);
    test_accuracy(m, q);
    veil_qmodel_free(q);
    veil_model_close(m);
    return test_done();
}
