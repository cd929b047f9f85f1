/* Kernels and the whole forward pass against naive references. */
#include "harness.h"

#include "veil/model.h"
#include "veil/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 42;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void test_matmul(int n, int d, int T)
{
    float *w = malloc(sizeof(float) * n * d), *x = malloc(sizeof(float) * n * T);
    float *o1 = malloc(sizeof(float) * d * T), *o2 = malloc(sizeof(float) * d * T);
    for (int i = 0; i < n * d; i++) w[i] = frand();
    for (int i = 0; i < n * T; i++) x[i] = frand();
    veil_matmul_batch(o1, x, w, T, n, d);
    double worst = 0;
    for (int t = 0; t < T; t++) {
        veil_matmul(o2 + t * d, x + t * n, w, n, d);
        for (int i = 0; i < d; i++) {
            double ref = 0;
            for (int j = 0; j < n; j++) ref += (double)w[i * n + j] * x[t * n + j];
            double err = fabs(ref - o2[t * d + i]) / (1 + fabs(ref));
            if (err > worst) worst = err;
        }
    }
    CHECKF(worst < 1e-5, "matmul %dx%d error %g", d, n, worst);
    CHECKF(memcmp(o1, o2, sizeof(float) * d * T) == 0, "batch != single for %dx%d T=%d", d, n, T);
    free(w), free(x), free(o1), free(o2);
}

static void test_thread_independence(void)
{
    int n = 300, d = 700;
    float *w = malloc(sizeof(float) * n * d), *x = malloc(sizeof(float) * n);
    float *a = malloc(sizeof(float) * d), *b = malloc(sizeof(float) * d);
    for (int i = 0; i < n * d; i++) w[i] = frand();
    for (int i = 0; i < n; i++) x[i] = frand();
    int saved = veil_get_threads();
    veil_set_threads(1);
    veil_matmul(a, x, w, n, d);
    veil_set_threads(2);
    veil_matmul(b, x, w, n, d);
    veil_set_threads(saved);
    CHECK(memcmp(a, b, sizeof(float) * d) == 0);
    free(w), free(x), free(a), free(b);
}

static void test_small_kernels(void)
{
    float x[10], wt[10], o[10];
    double ss = 0;
    for (int i = 0; i < 10; i++) x[i] = frand(), wt[i] = frand(), ss += (double)x[i] * x[i];
    veil_rmsnorm(o, x, wt, 10);
    double inv = 1.0 / sqrt(ss / 10 + 1e-5);
    for (int i = 0; i < 10; i++) CHECK(fabs(o[i] - wt[i] * x[i] * inv) < 1e-5);

    float s[5] = {1, 2, 3, 4, 1000};
    veil_softmax(s, 5);
    CHECK(fabs(s[4] - 1.0) < 1e-6 && s[0] >= 0);
    float u[3] = {0, 0, 0};
    veil_softmax(u, 3);
    CHECK(fabs(u[1] - 1.0 / 3) < 1e-6);

    /* RoPE is a rotation: it preserves each pair's norm, and position 0 is identity */
    float q[8], k[4], q0[8], k0[4];
    for (int i = 0; i < 8; i++) q[i] = q0[i] = frand();
    for (int i = 0; i < 4; i++) k[i] = k0[i] = frand();
    veil_rope(q, k, 8, 4, 4, 0);
    CHECK(memcmp(q, q0, sizeof q) == 0 && memcmp(k, k0, sizeof k) == 0);
    veil_rope(q, k, 8, 4, 4, 7);
    for (int i = 0; i < 8; i += 2) {
        double a = q[i] * q[i] + q[i + 1] * q[i + 1], b = q0[i] * q0[i] + q0[i + 1] * q0[i + 1];
        CHECK(fabs(a - b) < 1e-5);
    }
    /* pair (2,3) of head 0 rotates by 7 * 10000^(-2/4) = 0.07 rad */
    double ang = 7 * pow(10000.0, -0.5);
    CHECK(fabs(q[2] - (q0[2] * cos(ang) - q0[3] * sin(ang))) < 1e-5);
}

/* ---- naive reference forward pass (double precision, no caching tricks) --- */

typedef struct {
    veil_config c;
    double *kc, *vc; /* layer x seq x kv_dim */
} ref_state;

static void ref_rmsnorm(double *o, const double *x, const float *w, int n)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    ss = 1.0 / sqrt(ss / n + 1e-5);
    for (int i = 0; i < n; i++) o[i] = w[i] * x[i] * ss;
}

static void ref_mm(double *o, const double *x, const float *w, int n, int d)
{
    for (int i = 0; i < d; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += (double)w[(size_t)i * n + j] * x[j];
        o[i] = s;
    }
}

static void ref_forward(ref_state *st, const veil_model *m, int token, int pos, double *logits)
{
    const veil_config *c = &m->cfg;
    int dim = c->dim, hs = dim / c->n_heads, kvd = hs * c->n_kv_heads, hd = c->hidden_dim;
    double x[512], xb[512], q[512], k[512], v[512], o[512], h1[2048], h3[2048];
    for (int i = 0; i < dim; i++) x[i] = m->tok_emb[(size_t)token * dim + i];
    for (int l = 0; l < c->n_layers; l++) {
        const veil_layer *w = &m->layers[l];
        ref_rmsnorm(xb, x, w->rms_att, dim);
        ref_mm(q, xb, w->wq, dim, dim);
        ref_mm(k, xb, w->wk, dim, kvd);
        ref_mm(v, xb, w->wv, dim, kvd);
        for (int i = 0; i < dim; i += 2) {
            double ang = pos / pow(10000.0, (double)(i % hs) / hs);
            double cr = cos(ang), ci = sin(ang), a = q[i], b = q[i + 1];
            q[i] = a * cr - b * ci, q[i + 1] = a * ci + b * cr;
            if (i < kvd) a = k[i], b = k[i + 1], k[i] = a * cr - b * ci, k[i + 1] = a * ci + b * cr;
        }
        double *kc = st->kc + ((size_t)l * c->seq_len + pos) * kvd;
        double *vc = st->vc + ((size_t)l * c->seq_len + pos) * kvd;
        memcpy(kc, k, sizeof(double) * kvd);
        memcpy(vc, v, sizeof(double) * kvd);
        for (int h = 0; h < c->n_heads; h++) {
            int g = h / (c->n_heads / c->n_kv_heads);
            double att[64], mx = -1e300, sum = 0;
            for (int t = 0; t <= pos; t++) {
                const double *kt = st->kc + ((size_t)l * c->seq_len + t) * kvd + g * hs;
                double s = 0;
                for (int i = 0; i < hs; i++) s += q[h * hs + i] * kt[i];
                att[t] = s / sqrt((double)hs);
                if (att[t] > mx) mx = att[t];
            }
            for (int t = 0; t <= pos; t++) sum += att[t] = exp(att[t] - mx);
            for (int i = 0; i < hs; i++) {
                double acc = 0;
                for (int t = 0; t <= pos; t++)
                    acc += att[t] / sum * st->vc[((size_t)l * c->seq_len + t) * kvd + g * hs + i];
                o[h * hs + i] = acc;
            }
        }
        ref_mm(xb, o, w->wo, dim, dim);
        for (int i = 0; i < dim; i++) x[i] += xb[i];
        ref_rmsnorm(xb, x, w->rms_ffn, dim);
        ref_mm(h1, xb, w->w1, dim, hd);
        ref_mm(h3, xb, w->w3, dim, hd);
        for (int i = 0; i < hd; i++) h1[i] = h1[i] / (1 + exp(-h1[i])) * h3[i];
        ref_mm(xb, h1, w->w2, hd, dim);
        for (int i = 0; i < dim; i++) x[i] += xb[i];
    }
    ref_rmsnorm(xb, x, m->rms_final, dim);
    ref_mm(logits, xb, m->wcls, dim, c->vocab_size);
}

/* A synthetic GQA model (6 heads sharing 2 KV heads) against the reference. */
static void test_forward_reference(void)
{
    veil_config c = {48, 100, 3, 6, 2, 300, 32, 0};
    size_t n;
    float *f = veil_synth_floats(&c, 7, &n);
    veil_model *m;
    CHECK(f && veil_model_from_legacy_floats(&c, f, n, &m) == 0);
    veil_shard *s;
    CHECK(veil_model_shard(m, 0, c.n_layers, 0, &s) == 0);
    ref_state st = {c, calloc((size_t)3 * 32 * 16, sizeof(double)),
                    calloc((size_t)3 * 32 * 16, sizeof(double))};
    float x[48], logits[300];
    double ref[300], worst = 0;
    int toks[] = {5, 17, 299, 3, 3, 120, 7, 0, 44, 250};
    for (int pos = 0; pos < 10; pos++) {
        veil_embed(m, toks[pos], x);
        veil_shard_forward(s, pos, x);
        veil_head(m, x, logits);
        ref_forward(&st, m, toks[pos], pos, ref);
        double mx = 0, err = 0;
        for (int i = 0; i < 300; i++) {
            if (fabs(ref[i]) > mx) mx = fabs(ref[i]);
            if (fabs(ref[i] - logits[i]) > err) err = fabs(ref[i] - logits[i]);
        }
        if (err / mx > worst) worst = err / mx;
    }
    CHECKF(worst < 1e-4, "forward vs reference: relative error %g", worst);
    veil_shard_free(s);
    veil_model_close(m);
    free(st.kc), free(st.vc);
}

int main(void)
{
    int shapes[][3] = {{64, 64, 1}, {64, 172, 5}, {172, 64, 4}, {288, 768, 9}, {17, 3, 2}, {1, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        test_matmul(shapes[i][0], shapes[i][1], shapes[i][2]);
    test_thread_independence();
    test_small_kernels();
    test_forward_reference();
    return test_done();
}
