/* Float kernels of the forward pass.
 *
 * Determinism rule: each dot product is reduced in one fixed order (16 lanes,
 * then a fixed pairwise fold), whatever the thread count or batch size, and
 * the build disables FMA contraction.  So the single-token path, the batched
 * prefill and every node of a pipeline produce bit-identical numbers. */
#include "veil/model.h"

#include <math.h>
#include <unistd.h>

typedef float v16 __attribute__((vector_size(64)));

static int g_threads;

void veil_set_threads(int n)
{
    if (n < 1) n = 1;
    if (n > 64) n = 64;
    g_threads = n;
}

int veil_get_threads(void)
{
    if (g_threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        veil_set_threads(cpus > 0 ? (int)cpus : 1);
    }
    return g_threads;
}

static inline v16 load16(const float *p)
{
    v16 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

static inline float fold16(v16 a)
{
    /* fixed pairwise fold: lane i += lane i+8, then i+4, i+2, i+1 */
    v8 b = __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7) +
           __builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15);
    v4 c = __builtin_shufflevector(b, b, 0, 1, 2, 3) + __builtin_shufflevector(b, b, 4, 5, 6, 7);
    float d0 = c[0] + c[2], d1 = c[1] + c[3];
    return d0 + d1;
}

float veil_dot(const float *a, const float *b, int n)
{
    if (n < 16) { /* same sum as below: folding an all-zero accumulator gives 0 */
        float s = 0.0f;
        for (int j = 0; j < n; j++)
            s += a[j] * b[j];
        return s;
    }
    v16 acc = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16)
        acc += load16(a + j) * load16(b + j);
    float s = fold16(acc);
    for (; j < n; j++)
        s += a[j] * b[j];
    return s;
}

/* Four rows of X against one weight row: the same per-row arithmetic as
 * veil_dot, with the weight vector loaded once. */
static inline void dot4(const float *w, const float *x0, const float *x1, const float *x2,
                        const float *x3, int n, float out[4])
{
    v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        v16 wv = load16(w + j);
        a0 += wv * load16(x0 + j);
        a1 += wv * load16(x1 + j);
        a2 += wv * load16(x2 + j);
        a3 += wv * load16(x3 + j);
    }
    float s[4] = {fold16(a0), fold16(a1), fold16(a2), fold16(a3)};
    const float *xs[4] = {x0, x1, x2, x3};
    for (int r = 0; r < 4; r++)
        for (int k = j; k < n; k++)
            s[r] += w[k] * xs[r][k];
    for (int r = 0; r < 4; r++)
        out[r] = s[r];
}

static int threads_for(long work)
{
    /* below ~64k multiply-adds a parallel region costs more than it saves */
    int t = veil_get_threads();
    return work < 65536 ? 1 : t;
}

void veil_matmul(float *out, const float *x, const float *w, int n, int d)
{
    int nt = threads_for((long)n * d);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int i = 0; i < d; i++)
        out[i] = veil_dot(w + (size_t)i * n, x, n);
}

/* Rows of W are tiled so a tile stays in L1/L2 while every token of the batch
 * passes over it. */
#define ROW_TILE 16

void veil_matmul_batch(float *out, const float *x, const float *w, int T, int n, int d)
{
    if (T == 1) {
        veil_matmul(out, x, w, n, d);
        return;
    }
    int tiles = (d + ROW_TILE - 1) / ROW_TILE;
    int nt = threads_for((long)n * d * T);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int tile = 0; tile < tiles; tile++) {
        int i0 = tile * ROW_TILE, i1 = i0 + ROW_TILE < d ? i0 + ROW_TILE : d;
        int t = 0;
        for (; t + 4 <= T; t += 4) {
            const float *x0 = x + (size_t)t * n;
            for (int i = i0; i < i1; i++) {
                float s[4];
                dot4(w + (size_t)i * n, x0, x0 + n, x0 + 2 * (size_t)n, x0 + 3 * (size_t)n, n, s);
                for (int r = 0; r < 4; r++)
                    out[(size_t)(t + r) * d + i] = s[r];
            }
        }
        for (; t < T; t++)
            for (int i = i0; i < i1; i++)
                out[(size_t)t * d + i] = veil_dot(w + (size_t)i * n, x + (size_t)t * n, n);
    }
}

void veil_rmsnorm(float *out, const float *x, const float *weight, int n)
{
    float ss = veil_dot(x, x, n);
    ss /= (float)n;
    ss += 1e-5f;
    ss = 1.0f / sqrtf(ss);
    for (int j = 0; j < n; j++)
        out[j] = weight[j] * (ss * x[j]);
}

void veil_softmax(float *x, int n)
{
    float max = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (int i = 0; i < n; i++)
        x[i] /= sum;
}

void veil_rope(float *q, float *k, int dim, int kv_dim, int head_size, int pos)
{
    for (int i = 0; i < dim; i += 2) {
        int head_dim = i % head_size;
        float freq = 1.0f / powf(10000.0f, (float)head_dim / (float)head_size);
        float val = (float)pos * freq;
        float fcr = cosf(val), fci = sinf(val);
        int rotn = i < kv_dim ? 2 : 1;
        for (int v = 0; v < rotn; v++) {
            float *vec = v == 0 ? q : k;
            float v0 = vec[i], v1 = vec[i + 1];
            vec[i] = v0 * fcr - v1 * fci;
            vec[i + 1] = v0 * fci + v1 * fcr;
        }
    }
}
