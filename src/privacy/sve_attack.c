/* Attacks on SVE-protected hidden states: what a node observes, and two
 * ways of recovering the secret residual basis (known public weights; the
 * covariance of many observations under one key).  docs/SECURITY.md has the
 * figures. */
#include "sve_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- observation --------------------------------------------------------- */

int veil_sve_shard_of_depth(const veil_sve_keys *k, int layer)
{
    if (layer <= 0) return 0;
    for (int s = 0; s < k->n_shards; s++)
        if (layer - 1 < k->bounds[s + 1]) return s;
    return k->n_shards - 1;
}

typedef struct {
    int layer; /* capture the output of this layer */
    int dim;
    float *out;
} capture_ctx;

static void capture(void *ctx, int layer, int pos, int T, const float *x)
{
    capture_ctx *c = ctx;
    if (layer == c->layer) memcpy(c->out + (size_t)pos * c->dim, x, sizeof *x * T * c->dim);
}

int veil_sve_observe(veil_sve_local *l, const veil_model *m, const int *tokens, int T,
                     int layer, float *out)
{
    const veil_config *c = &m->cfg;
    const veil_sve_keys *k = veil_sve_local_keys(l);
    if (T < 1 || T > c->seq_len || layer < 0 || layer > c->n_layers)
        return veil_fail(VEIL_ERANGE, "observe %d tokens at depth %d (model: %d, %d layers)", T,
                         layer, c->seq_len, c->n_layers);
    for (int t = 0; t < T; t++) {
        if (tokens[t] < 0 || tokens[t] >= c->vocab_size)
            return veil_fail(VEIL_EINVAL, "token %d outside vocabulary", tokens[t]);
        veil_embed(m, tokens[t], out + (size_t)t * c->dim);
    }
    int rc = veil_sve_enter(k, out, T);
    if (rc || layer == 0) return rc;
    int last = veil_sve_shard_of_depth(k, layer);
    capture_ctx cc = {layer - 1, c->dim, out};
    float *x = malloc(sizeof *x * T * c->dim);
    if (!x) return veil_fail(VEIL_ENOMEM, "out of memory");
    memcpy(x, out, sizeof *x * T * c->dim);
    for (int s = 0; s <= last && !rc; s++) {
        veil_shard *sh = veil_sve_local_shard(l, s);
        veil_shard_set_hook(sh, s == last ? capture : NULL, s == last ? &cc : NULL);
        rc = veil_shard_forward_batch(sh, 0, T, x);
        veil_shard_set_hook(sh, NULL, NULL);
        if (!rc && s < last && veil_sve_hop_after(k, s)) rc = veil_sve_rekey_hop(k, s, x, T);
    }
    free(x);
    return rc;
}

/* ---- symmetric eigendecomposition (cyclic Jacobi) ------------------------ */

/* a (n x n, destroyed) = V diag(w) V^T; eigenvalues descending, eigenvector
 * k in column k of v. */
static void jacobi_eigen(double *a, int n, double *w, double *v)
{
    memset(v, 0, sizeof *v * n * n);
    for (int i = 0; i < n; i++)
        v[(size_t)i * n + i] = 1.0;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0, diag = 0.0;
        for (int i = 0; i < n; i++) {
            diag += a[(size_t)i * n + i] * a[(size_t)i * n + i];
            for (int j = i + 1; j < n; j++)
                off += a[(size_t)i * n + j] * a[(size_t)i * n + j];
        }
        if (off <= 1e-30 * diag) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[(size_t)p * n + q];
                if (fabs(apq) < 1e-300) continue;
                double th = (a[(size_t)q * n + q] - a[(size_t)p * n + p]) / (2.0 * apq);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int r = 0; r < n; r++) { /* columns p, q of a and v */
                    double *ar = a + (size_t)r * n, *vr = v + (size_t)r * n;
                    double x = ar[p], y = ar[q];
                    ar[p] = c * x - s * y;
                    ar[q] = s * x + c * y;
                    x = vr[p], y = vr[q];
                    vr[p] = c * x - s * y;
                    vr[q] = s * x + c * y;
                }
                double *ap = a + (size_t)p * n, *aq = a + (size_t)q * n;
                for (int r = 0; r < n; r++) { /* rows p, q of a */
                    double x = ap[r], y = aq[r];
                    ap[r] = c * x - s * y;
                    aq[r] = s * x + c * y;
                }
            }
    }
    for (int i = 0; i < n; i++)
        w[i] = a[(size_t)i * n + i];
    for (int i = 0; i < n; i++) { /* selection sort, descending, moving columns */
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (w[j] > w[best]) best = j;
        if (best == i) continue;
        double t = w[i];
        w[i] = w[best];
        w[best] = t;
        for (int r = 0; r < n; r++) {
            t = v[(size_t)r * n + i];
            v[(size_t)r * n + i] = v[(size_t)r * n + best];
            v[(size_t)r * n + best] = t;
        }
    }
}

/* q_est = V' S V^T: eigenvector k of the plain side mapped to eigenvector k
 * of the observed side with sign sign[k]. */
static void assemble(int n, const double *vp, const double *v, const double *sign, double *q)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++)
                s += sign[k] * vp[(size_t)i * n + k] * v[(size_t)j * n + k];
            q[(size_t)i * n + j] = s;
        }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* +1 when sorted(y) is closer to sorted(x) than to sorted(-x): y = P x or
 * y = -P x for an unknown permutation P.  x, y are scratch (sorted here). */
static double sorted_sign(double *x, double *y, int n)
{
    qsort(x, n, sizeof *x, cmp_double);
    qsort(y, n, sizeof *y, cmp_double);
    double dp = 0.0, dm = 0.0;
    for (int i = 0; i < n; i++) {
        dp += (y[i] - x[i]) * (y[i] - x[i]);
        dm += (y[i] + x[n - 1 - i]) * (y[i] + x[n - 1 - i]);
    }
    return dp <= dm ? 1.0 : -1.0;
}

/* Gram matrix G = diag(g) W^T W diag(g) of a rows x n matrix (g NULL = 1). */
static void gram(const float *w, const float *g, int rows, int n, double *out)
{
    memset(out, 0, sizeof *out * n * n);
    for (int r = 0; r < rows; r++) {
        const float *wr = w + (size_t)r * n;
        for (int i = 0; i < n; i++) {
            double a = (double)wr[i] * (g ? g[i] : 1.0f);
            for (int j = 0; j < n; j++)
                out[(size_t)i * n + j] += a * wr[j] * (g ? g[j] : 1.0f);
        }
    }
}

/* Column k of W diag(g) V (length rows) into out. */
static void project_col(const float *w, const float *g, const double *v, int rows, int n, int k,
                        double *out)
{
    for (int r = 0; r < rows; r++) {
        double s = 0.0;
        for (int j = 0; j < n; j++)
            s += (double)w[(size_t)r * n + j] * (g ? g[j] : 1.0f) * v[(size_t)j * n + k];
        out[r] = s;
    }
}

int veil_sve_attack_known_weights(const veil_config *c, const veil_layer *plain,
                                  const veil_layer *xf, double *q_est)
{
    int n = c->dim, hd = c->hidden_dim;
    size_t nn = (size_t)n * n;
    double *buf = malloc(sizeof *buf * (4 * nn + 2 * (size_t)n + 2 * (size_t)hd));
    if (!buf) return veil_fail(VEIL_ENOMEM, "out of memory");
    double *a = buf, *v = a + nn, *ap = v + nn, *vp = ap + nn, *w = vp + nn, *sign = w + n;
    double *x = sign + n, *y = x + hd;
    gram(plain->w1, plain->rms_ffn, hd, n, a);
    gram(xf->w1, NULL, hd, n, ap);
    jacobi_eigen(a, n, w, v);
    jacobi_eigen(ap, n, w, vp);
    for (int k = 0; k < n; k++) {
        project_col(plain->w1, plain->rms_ffn, v, hd, n, k, x);
        project_col(xf->w1, NULL, vp, hd, n, k, y);
        sign[k] = sorted_sign(x, y, hd);
    }
    assemble(n, vp, v, sign, q_est);
    free(buf);
    return 0;
}

/* Mean and covariance of n rows. */
static void moments(const float *x, long n, int d, double *mean, double *cov)
{
    memset(mean, 0, sizeof *mean * d);
    memset(cov, 0, sizeof *cov * d * d);
    for (long r = 0; r < n; r++)
        for (int i = 0; i < d; i++)
            mean[i] += x[(size_t)r * d + i] / (double)n;
    for (long r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * d;
        for (int i = 0; i < d; i++) {
            double a = xr[i] - mean[i];
            for (int j = 0; j < d; j++)
                cov[(size_t)i * d + j] += a * (xr[j] - mean[j]) / (double)n;
        }
    }
}

/* Mean projection and third moment of the centred rows along column k of v,
 * normalised by the standard deviation (scale-free sign cues). */
static void sign_cues(const float *x, long n, int d, const double *mean, const double *v, int k,
                      double *mproj, double *skew)
{
    double m = 0.0, s2 = 0.0, s3 = 0.0;
    for (int j = 0; j < d; j++)
        m += mean[j] * v[(size_t)j * d + k];
    for (long r = 0; r < n; r++) {
        double p = 0.0;
        for (int j = 0; j < d; j++)
            p += (x[(size_t)r * d + j] - mean[j]) * v[(size_t)j * d + k];
        s2 += p * p / (double)n;
        s3 += p * p * p / (double)n;
    }
    double sd = sqrt(s2) + 1e-30;
    *mproj = m / sd;
    *skew = s3 / (sd * sd * sd);
}

int veil_sve_attack_covariance(int dim, const float *pub, long n_pub, const float *obs,
                               long n_obs, double *q_est)
{
    if (n_pub < 2 || n_obs < 2) return veil_fail(VEIL_EINVAL, "need at least 2 states a side");
    int n = dim;
    size_t nn = (size_t)n * n;
    double *buf = malloc(sizeof *buf * (4 * nn + 4 * (size_t)n));
    if (!buf) return veil_fail(VEIL_ENOMEM, "out of memory");
    double *a = buf, *v = a + nn, *ap = v + nn, *vp = ap + nn, *w = vp + nn, *mu = w + n;
    double *mup = mu + n, *sign = mup + n;
    moments(pub, n_pub, n, mu, a);
    moments(obs, n_obs, n, mup, ap);
    jacobi_eigen(a, n, w, v);
    jacobi_eigen(ap, n, w, vp);
    for (int k = 0; k < n; k++) {
        double m1, s1, m2, s2;
        sign_cues(pub, n_pub, n, mu, v, k, &m1, &s1);
        sign_cues(obs, n_obs, n, mup, vp, k, &m2, &s2);
        /* the mean is the steadier cue when it sticks out of the noise */
        double cue = fabs(m1) > 0.1 ? m1 * m2 : s1 * s2;
        sign[k] = cue >= 0 ? 1.0 : -1.0;
    }
    assemble(n, vp, v, sign, q_est);
    free(buf);
    return 0;
}

int veil_sve_attack_decode(int dim, const double *q_est, float *x, int T)
{
    double *tmp = malloc(sizeof *tmp * dim);
    if (!tmp) return veil_fail(VEIL_ENOMEM, "out of memory");
    for (int t = 0; t < T; t++) {
        float *row = x + (size_t)t * dim;
        for (int j = 0; j < dim; j++) {
            double s = 0.0;
            for (int i = 0; i < dim; i++)
                s += q_est[(size_t)i * dim + j] * row[i];
            tmp[j] = s;
        }
        for (int j = 0; j < dim; j++)
            row[j] = (float)tmp[j];
    }
    free(tmp);
    return 0;
}

double veil_sve_basis_error(const veil_sve_keys *k, int shard_idx, const double *q_est)
{
    if (shard_idx < 0 || shard_idx >= k->n_shards) return NAN;
    const double *q = sve_basis(k, shard_idx);
    size_t nn = (size_t)k->cfg.dim * k->cfg.dim;
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < nn; i++) {
        num += (q_est[i] - q[i]) * (q_est[i] - q[i]);
        den += q[i] * q[i];
    }
    return sqrt(num / den);
}
