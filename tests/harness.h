/* Minimal test harness: CHECK records failures and keeps going; tests end
 * with `return test_done();` which prints "N passed, M failed". */
#ifndef VEIL_TEST_HARNESS_H
#define VEIL_TEST_HARNESS_H

#include "veil/generate.h"

#include <stdio.h>

extern int test_passed, test_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            test_passed++;                                                            \
        } else {                                                                      \
            test_failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECKF(cond, ...)                                                             \
    do {                                                                              \
        if (cond) {                                                                   \
            test_passed++;                                                            \
        } else {                                                                      \
            test_failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

int test_done(void);
/* Exit code 77 (CTest skip) with a reason. */
int test_skip(const char *why);
/* Path of a file in $VEIL_MODEL_DIR (default ../shared/models), or NULL
 * when it does not exist. Returns a static buffer. */
const char *test_model_file(const char *name);
/* A fresh temporary directory for this test (removed by the OS, not us). */
const char *test_tmpdir(void);
/* Relative float difference max|a-b| / max|b|. */
double test_rel_diff(const float *a, const float *b, size_t n);
/* The same prefill + decode positions (random rows from seed) through a
 * local whole-model shard and through backend b. Returns 0 when both ran
 * (then *diff = relative difference, *identical = bit for bit), -1 when the
 * local pass failed, else the backend's error code. */
int test_vs_local(const veil_model *m, const veil_backend *b, int prefill, int decode, uint64_t seed,
                  double *diff, int *identical);

#endif
