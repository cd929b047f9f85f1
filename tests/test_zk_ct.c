/* Constant-time check of the zk core (ctgrind method): the test re-runs
 * itself under valgrind's memcheck with the secret inputs marked undefined,
 * so any branch or memory index that depends on a secret is reported as a
 * use of an uninitialised value and fails the run.  Covers field
 * arithmetic, batch inversion, signed conversion, wide reduction, point
 * addition/doubling, constant-time scalar multiplication, encoding and the
 * hash map.  Not covered by design: veil_fe_inv's zero test and the
 * (documented) variable-time MSM.  Skips without valgrind. */
#include "harness.h"
#include "veil/zk_group.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define VEIL_CT_ASAN 1 /* valgrind cannot run sanitizer builds */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VEIL_CT_ASAN 1
#endif
#endif

#if defined(__has_include) && !defined(VEIL_CT_ASAN)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK 1
#endif
#endif

#ifdef HAVE_MEMCHECK
#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED(p, n)

/* Runs under valgrind: every operation on secrets, nothing else. */
static int child(void)
{
    veil_fe a, b, c, arr[4];
    veil_ge P, Q;
    uint8_t out[32], wide[64];
    int64_t x = -12345;
    veil_fe_random(&a);
    veil_fe_random(&b);
    veil_ge_base(&P);
    memset(wide, 7, sizeof wide);
    SECRET(&a, sizeof a);
    SECRET(&b, sizeof b);
    SECRET(&x, sizeof x);
    SECRET(wide, sizeof wide);

    veil_fe_add(&c, &a, &b);
    veil_fe_sub(&c, &c, &b);
    veil_fe_mul(&c, &c, &a);
    veil_fe_sqr(&c, &c);
    veil_fe_neg(&c, &c);
    arr[0] = a, arr[1] = b, arr[2] = c, arr[3] = a;
    veil_fe_batch_inv(arr, arr, 4);
    veil_fe_from_i64(&c, x);
    veil_fe_from_wide(&c, wide);
    veil_fe_to_bytes(out, &c);
    (void)veil_fe_eq(&a, &b);

    veil_ge_mul(&Q, &P, &a);
    veil_ge_add(&P, &P, &Q);
    veil_ge_dbl(&P, &P);
    veil_ge_sub(&P, &P, &Q);
    (void)veil_ge_eq(&P, &Q);
    veil_ge_to_bytes(out, &P);
    veil_ge_from_uniform(&Q, wide);
    veil_ge_to_bytes(out, &Q);
    PUBLIC(out, sizeof out);
    return out[0] == 0 && out[1] == 0 ? 1 : 0; /* use the result */
}
#endif

int main(int argc, char **argv)
{
#ifndef HAVE_MEMCHECK
    (void)argc;
    (void)argv;
    return test_skip("valgrind/memcheck.h not available (or a sanitizer build)");
#else
    if (getenv("VEIL_CT_CHILD")) {
        child();
        return 0;
    }
    if (system("valgrind --version > /dev/null 2>&1") != 0)
        return test_skip("valgrind not installed");
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return test_skip("cannot locate the test executable");
    self[len] = '\0';
    pid_t pid = fork();
    if (pid == 0) {
        setenv("VEIL_CT_CHILD", "1", 1);
        execlp("valgrind", "valgrind", "-q", "--error-exitcode=3", self, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "secret-dependent branch or index reported by memcheck (exit %d)",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    (void)argc;
    (void)argv;
    return test_done();
#endif
}
