/* The linear inverter: ridge regression from a hidden state (plus a bias) to
 * the one-hot token, W = (X^T X + lambda I)^-1 X^T Y, solved by Cholesky in
 * double precision.  Trained on public text observed exactly like the target
 * (same depth and protection), it is the "learned decoder" baseline of the
 * inversion literature in its simplest closed form. */
#include "attack_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* In-place Cholesky of the D x D symmetric positive definite G (lower). */
static int cholesky(double *G, int D)
{
    for (int j = 0; j < D; j++) {
        double d = G[(size_t)j * D + j];
        for (int k = 0; k < j; k++) d -= G[(size_t)j * D + k] * G[(size_t)j * D + k];
        if (!(d > 0)) return veil_fail(VEIL_ERANGE, "ridge system not positive definite");
        double l = sqrt(d);
        G[(size_t)j * D + j] = l;
        for (int i = j + 1; i < D; i++) {
            double s = G[(size_t)i * D + j];
            for (int k = 0; k < j; k++) s -= G[(size_t)i * D + k] * G[(size_t)j * D + k];
            G[(size_t)i * D + j] = s / l;
        }
    }
    return 0;
}

/* Solve L L^T w = b in place (L from cholesky). */
static void chol_solve(const double *L, int D, double *b)
{
    for (int i = 0; i < D; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++) s -= L[(size_t)i * D + k] * b[k];
        b[i] = s / L[(size_t)i * D + i];
    }
    for (int i = D - 1; i >= 0; i--) {
        double s = b[i];
        for (int k = i + 1; k < D; k++) s -= L[(size_t)k * D + i] * b[k];
        b[i] = s / L[(size_t)i * D + i];
    }
}

/* G += x x^T (lower triangle) and B[tok] += x for one sample with bias 1. */
static void accumulate(double *G, double *B, const float *row, int dim, int tok, double *x)
{
    int D = dim + 1;
    for (int i = 0; i < dim; i++) x[i] = row[i];
    x[dim] = 1.0;
    for (int i = 0; i < D; i++)
        for (int k = 0; k <= i; k++) G[(size_t)i * D + k] += x[i] * x[k];
    double *b = B + (size_t)tok * D;
    for (int i = 0; i < D; i++) b[i] += x[i];
}

int veil_attacker_train_linear(veil_attacker *a, const float *states, const int *tokens, int n,
                               double lambda)
{
    int dim = a->dim, D = dim + 1, V = a->vocab;
    if (n < 1 || !(lambda > 0)) return veil_fail(VEIL_EINVAL, "linear inverter needs data");
    for (int s = 0; s < n; s++) {
        if (tokens[s] < 0 || tokens[s] >= V)
            return veil_fail(VEIL_EINVAL, "training token %d outside vocabulary", tokens[s]);
        for (int i = 0; i < dim; i++)
            if (!isfinite(states[(size_t)s * dim + i]))
                return veil_fail(VEIL_EINVAL, "non-finite training state");
    }
    double *G = calloc((size_t)D * D, sizeof *G), *B = calloc((size_t)V * D, sizeof *B);
    double *x = malloc(sizeof *x * D);
    float *W = malloc(sizeof *W * (size_t)V * D);
    int rc = VEIL_ENOMEM;
    if (!G || !B || !x || !W) {
        veil_fail(VEIL_ENOMEM, "out of memory for the linear inverter");
        goto done;
    }
    for (int s = 0; s < n; s++) accumulate(G, B, states + (size_t)s * dim, dim, tokens[s], x);
    double tr = 0;
    for (int i = 0; i < D; i++) tr += G[(size_t)i * D + i];
    double ridge = lambda * tr / D + 1e-12;
    for (int i = 0; i < D; i++) G[(size_t)i * D + i] += ridge;
    rc = cholesky(G, D);
    if (rc) goto done;
    for (int v = 0; v < V; v++) {
        double *b = B + (size_t)v * D;
        chol_solve(G, D, b);
        for (int i = 0; i < D; i++) W[(size_t)v * D + i] = (float)b[i];
    }
    free(a->lin_w);
    a->lin_w = W;
    W = NULL;
done:
    free(G);
    free(B);
    free(x);
    free(W);
    return rc;
}

void attack_linear_scores(const veil_attacker *a, const float *row, float *score)
{
    int D = a->dim + 1;
    float *x = malloc(sizeof(float) * D);
    if (!x) {
        for (int v = 0; v < a->vocab; v++) score[v] = NAN;
        return;
    }
    memcpy(x, row, sizeof(float) * a->dim);
    x[a->dim] = 1.0f;
    veil_matmul(score, x, a->lin_w, D, a->vocab);
    free(x);
}
