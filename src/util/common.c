#include "veil/common.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char last_error[512];

const char *veil_last_error(void) { return last_error; }

int veil_fail(int code, const char *fmt, ...)
{
    /* callers wrap the previous reason (veil_fail(rc, "x: %s", veil_last_error()));
     * formatting straight into last_error would read what it overwrites */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return code;
}

void veil_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void veil_wipe_free(void *p, size_t n)
{
    veil_wipe(p, n);
    free(p);
}

int veil_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

double veil_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void veil_sha256(const void *data, size_t n, uint8_t out[32])
{
    SHA256(data, n, out);
}

void veil_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int veil_unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return veil_fail(VEIL_EINVAL, "bad hex digit at offset %zu", 2 * i);
    }
    if (hex[2 * n] != '\0')
        return veil_fail(VEIL_EINVAL, "hex string longer than %zu bytes", n);
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    return 0;
}

void veil_progress(void *label, int done, int total)
{
    int tty = isatty(STDERR_FILENO);
    if (tty) fprintf(stderr, "\r%s %d/%d%s", (const char *)label, done, total, done == total ? "\n" : "");
    else if (done == total) fprintf(stderr, "%s %d/%d\n", (const char *)label, done, total);
}
