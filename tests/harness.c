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
