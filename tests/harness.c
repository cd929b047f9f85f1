#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int test_passed, test_failed;

int test_done(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

int test_skip(const char *why)
{
    printf("SKIP: %s\n", why);
    return 77;
}

const char *test_model_file(const char *name)
{
    static char path[4096];
    const char *dir = getenv("VEIL_MODEL_DIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "../shared/models", name);
    return access(path, R_OK) == 0 ? path : NULL;
}

const char *test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/veil-test-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return dir;
}

double test_rel_diff(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > num) num = d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return den > 0 ? num / den : num;
}

int test_vs_local(const veil_model *m, const veil_backend *b, int prefill, int decode, uint64_t seed,
                  double *diff, int *identical)
{
    int dim = m->cfg.dim, T = prefill + decode, err = -1;
    size_t n = (size_t)dim * T;
    float *a = malloc(sizeof(float) * n), *r = malloc(sizeof(float) * n);
    veil_shard *s = NULL;
    for (size_t i = 0; a && r && i < n; i++) a[i] = r[i] = veil_random_f32(&seed) * 2 - 1;
    if (a && r && !veil_model_shard(m, 0, m->cfg.n_layers, 0, &s))
        err = veil_shard_forward_batch(s, 0, prefill, a) ? -1 : b->forward(b->ctx, 0, prefill, r);
    for (int p = prefill; !err && p < T; p++)
        err = veil_shard_forward(s, p, a + (size_t)p * dim) ? -1 : b->forward(b->ctx, p, 1, r + (size_t)p * dim);
    if (!err) {
        *diff = test_rel_diff(r, a, n);
        *identical = memcmp(a, r, sizeof(float) * n) == 0;
    }
    veil_shard_free(s);
    free(a);
    free(r);
    return err;
}
