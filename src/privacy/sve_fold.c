/* Folding SVE keys into a shard's weights (docs/SECURITY.md, "Sequential
 * Vector Encryption").  With residual basis Q, RMSNorm gains g_a, g_f, head
 * maps A_q, A_k (per RoPE pair), V (values), head permutations Pi_q, Pi_k and
 * SwiGLU keys P (permutation), D (up scaling):
 *
 *   rms_att' = rms_ffn' = 1
 *   wq' = Pi_q A_q wq diag(g_a) Q^T      wk' = Pi_k A_k wk diag(g_a) Q^T
 *   wv' = Pi_k V wv diag(g_a) Q^T        wo' = Q wo Pi_q^T V^-1 (per head)
 *   w1' = P w1 diag(g_f) Q^T             w3' = D P w3 diag(g_f) Q^T
 *   w2' = Q w2 P^T D^-1
 *
 * Everything is computed in double and rounded to float once. */
#include "sve_internal.h"

#include <stdlib.h>
#include <string.h>

/* out[r][c] = sum_j a[r][j] b[c][j] (out = A B^T), rounded to float once.
 * Rows are independent and each sum has a fixed order, so the thread count
 * does not change the result. */
static void mul_abt(const double *a, int ra, const double *b, int rb, int n, float *out)
{
    /* small products: a parallel region costs more than it saves */
    int nt = (long)ra * rb * n < (1L << 20) ? 1 : veil_get_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int r = 0; r < ra; r++) {
        const double *ar = a + (size_t)r * n;
        for (int c = 0; c < rb; c++) {
            const double *bc = b + (size_t)c * n;
            double s = 0.0;
            for (int j = 0; j < n; j++)
                s += ar[j] * bc[j];
            out[(size_t)r * rb + c] = (float)s;
        }
    }
}

/* The residual basis; a monomial Q (paper variant: one non-zero per row)
 * also as idx/val, so folding costs O(n) per row instead of O(n^2) with the
 * same result (the dense sums only add zeros). */
typedef struct {
    const double *q;
    int n;
    int *idx;    /* NULL: dense */
    double *val; /* Q[r][idx[r]] */
} basis;

static void basis_init(basis *b, const double *q, int n)
{
    *b = (basis){q, n, malloc(sizeof(int) * n), malloc(sizeof(double) * n)};
    for (int r = 0; b->idx && b->val && r < n; r++) {
        int nz = 0;
        for (int j = 0; j < n; j++)
            if (q[(size_t)r * n + j] != 0.0) {
                b->idx[r] = j;
                b->val[r] = q[(size_t)r * n + j];
                nz++;
            }
        if (nz != 1) break;
        if (r == n - 1) return; /* monomial */
    }
    if (b->idx) veil_wipe(b->idx, sizeof(int) * n);
    if (b->val) veil_wipe(b->val, sizeof(double) * n);
    free(b->idx);
    free(b->val);
    b->idx = NULL;
    b->val = NULL;
}

static void basis_free(basis *b)
{
    if (!b->idx) return;
    veil_wipe(b->idx, sizeof(int) * b->n);
    veil_wipe(b->val, sizeof(double) * b->n);
    free(b->idx);
    free(b->val);
}

/* Input side: out = M diag(g) Q^T (M is scratch, scaled in place). */
static void fold_input(double *m, int rows, int n, const float *g, const basis *b, float *out)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            m[(size_t)r * n + j] *= g[j];
    if (!b->idx) {
        mul_abt(m, rows, b->q, n, n, out);
        return;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < n; c++)
            out[(size_t)r * n + c] = (float)(m[(size_t)r * n + b->idx[c]] * b->val[c]);
}

/* Output side: out = Q M, with mt = M^T (cols x n). */
static void fold_output(const basis *b, const double *mt, int cols, float *out)
{
    int n = b->n;
    if (!b->idx) {
        mul_abt(b->q, n, mt, cols, n, out);
        return;
    }
    for (int r = 0; r < n; r++)
        for (int c = 0; c < cols; c++)
            out[(size_t)r * cols + c] = (float)(b->val[r] * mt[(size_t)c * n + b->idx[r]]);
}

/* q (A_q) and k (A_k) rows: transformed head p holds original head src[p],
 * each RoPE pair of rows rotated by R and scaled by s (queries) or 1/s
 * (keys), with the keys of KV head src[p] / group. */
static void qk_rows(const veil_config *c, const sve_layer_keys *l, const float *w, int heads,
                    const int *src, int group, int is_key, double *m)
{
    int hs = veil_head_size(c), n = c->dim;
    for (int p = 0; p < heads; p++) {
        int h = src[p], g = h / group;
        for (int j = 0; j < hs / 2; j++) {
            const double *pk = l->pair + ((size_t)g * (hs / 2) + j) * 3;
            double f = is_key ? 1.0 / pk[0] : pk[0], co = pk[1], si = pk[2];
            const float *ra = w + ((size_t)h * hs + 2 * j) * n, *rb = ra + n;
            double *oa = m + ((size_t)p * hs + 2 * j) * n, *ob = oa + n;
            for (int i = 0; i < n; i++) {
                oa[i] = f * (co * ra[i] - si * rb[i]);
                ob[i] = f * (si * ra[i] + co * rb[i]);
            }
        }
    }
}

/* v rows: transformed KV slot p holds V_g times original head g = kvsrc[p]. */
static void v_rows(const veil_config *c, const sve_layer_keys *l, const float *w, double *m)
{
    int hs = veil_head_size(c), n = c->dim;
    for (int p = 0; p < c->n_kv_heads; p++) {
        int g = l->kvsrc[p];
        const double *vm = l->vmap + (size_t)g * hs * hs;
        for (int a = 0; a < hs; a++) {
            double *o = m + ((size_t)p * hs + a) * n;
            memset(o, 0, sizeof *o * n);
            for (int b = 0; b < hs; b++) {
                double f = vm[(size_t)a * hs + b];
                const float *wr = w + ((size_t)g * hs + b) * n;
                for (int i = 0; i < n; i++)
                    o[i] += f * wr[i];
            }
        }
    }
}

/* wo columns, transposed (mt[col][row]): column block p = wo's block of
 * head h = qsrc[p] times V_{h/G}^-1. */
static void wo_cols_t(const veil_config *c, const sve_layer_keys *l, const float *wo, double *mt)
{
    int hs = veil_head_size(c), n = c->dim, G = c->n_heads / c->n_kv_heads;
    for (int p = 0; p < c->n_heads; p++) {
        int h = l->qsrc[p];
        const double *vi = l->vinv + (size_t)(h / G) * hs * hs;
        for (int a = 0; a < hs; a++) {
            double *o = mt + ((size_t)p * hs + a) * n;
            for (int r = 0; r < n; r++) {
                const float *wr = wo + (size_t)r * n + (size_t)h * hs;
                double s = 0.0;
                for (int b = 0; b < hs; b++)
                    s += wr[b] * vi[(size_t)b * hs + a];
                o[r] = s;
            }
        }
    }
}

/* w1 / w3 rows: unit i holds original unit hsrc[i], up rows scaled by d_i. */
static void ffn_rows(const veil_config *c, const sve_layer_keys *l, const float *w, int up,
                     double *m)
{
    int n = c->dim;
    for (int i = 0; i < c->hidden_dim; i++) {
        const float *wr = w + (size_t)l->hsrc[i] * n;
        double f = up ? l->hscale[i] : 1.0;
        for (int j = 0; j < n; j++)
            m[(size_t)i * n + j] = f * wr[j];
    }
}

/* w2 columns, transposed: mt[i][r] = w2[r][hsrc[i]] / d_i. */
static void w2_cols_t(const veil_config *c, const sve_layer_keys *l, const float *w2, double *mt)
{
    int n = c->dim, hd = c->hidden_dim;
    for (int i = 0; i < hd; i++) {
        double f = 1.0 / l->hscale[i];
        for (int r = 0; r < n; r++)
            mt[(size_t)i * n + r] = f * w2[(size_t)r * hd + l->hsrc[i]];
    }
}

static int layer_complete(const veil_layer *w)
{
    return w->rms_att && w->wq && w->wk && w->wv && w->wo && w->rms_ffn && w->w1 && w->w2 &&
           w->w3;
}

/* One layer into out (veil_layer_to_floats layout) with basis q. */
static void fold_layer(const veil_config *c, const sve_layer_keys *l, const basis *q,
                       const veil_layer *w, double *m, float *out)
{
    size_t sz[VEIL_LAYER_TENSORS];
    float *t[VEIL_LAYER_TENSORS];
    veil_layer_tensor_sizes(c, sz);
    t[0] = out;
    for (int i = 1; i < VEIL_LAYER_TENSORS; i++)
        t[i] = t[i - 1] + sz[i - 1];
    int dim = c->dim, kv = veil_kv_dim(c), hd = c->hidden_dim;
    int G = c->n_heads / c->n_kv_heads;
    for (int i = 0; i < dim; i++)
        t[0][i] = t[5][i] = 1.0f; /* gains live in the matrices below */
    qk_rows(c, l, w->wq, c->n_heads, l->qsrc, G, 0, m);
    fold_input(m, dim, dim, w->rms_att, q, t[1]);
    qk_rows(c, l, w->wk, c->n_kv_heads, l->kvsrc, 1, 1, m);
    fold_input(m, kv, dim, w->rms_att, q, t[2]);
    v_rows(c, l, w->wv, m);
    fold_input(m, kv, dim, w->rms_att, q, t[3]);
    wo_cols_t(c, l, w->wo, m);
    fold_output(q, m, dim, t[4]);
    ffn_rows(c, l, w->w1, 0, m);
    fold_input(m, hd, dim, w->rms_ffn, q, t[6]);
    w2_cols_t(c, l, w->w2, m);
    fold_output(q, m, hd, t[7]);
    ffn_rows(c, l, w->w3, 1, m);
    fold_input(m, hd, dim, w->rms_ffn, q, t[8]);
}

int veil_sve_transform_shard(const veil_sve_keys *k, int shard_idx, const veil_layer *layers_in,
                             int first, int last, float *out)
{
    const veil_config *c = &k->cfg;
    if (shard_idx < 0 || shard_idx >= k->n_shards)
        return veil_fail(VEIL_ERANGE, "shard %d outside 0..%d", shard_idx, k->n_shards - 1);
    if (first != k->bounds[shard_idx] || last != k->bounds[shard_idx + 1])
        return veil_fail(VEIL_EINVAL, "shard %d runs layers [%d,%d), not [%d,%d)", shard_idx,
                         k->bounds[shard_idx], k->bounds[shard_idx + 1], first, last);
    if (!layers_in || !out) return veil_fail(VEIL_EINVAL, "no weights to transform");
    for (int i = 0; i < last - first; i++)
        if (!layer_complete(&layers_in[i]))
            return veil_fail(VEIL_EINVAL, "layer %d has a missing tensor", first + i);
    size_t rows = c->hidden_dim > c->dim ? c->hidden_dim : c->dim;
    size_t bytes = sizeof(double) * rows * c->dim;
    double *m = malloc(bytes);
    if (!m) return veil_fail(VEIL_ENOMEM, "out of memory for %zu bytes of scratch", bytes);
    basis q;
    basis_init(&q, sve_basis(k, shard_idx), c->dim);
    size_t lf = veil_layer_floats(c);
    for (int i = 0; i < last - first; i++)
        fold_layer(c, &k->layer[first + i], &q, &layers_in[i], m, out + lf * i);
    basis_free(&q);
    veil_wipe(m, bytes); /* partly transformed weights would reveal single keys */
    free(m);
    return 0;
}
