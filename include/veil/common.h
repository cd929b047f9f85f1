/* veil: shared conventions of the public API.
 *
 * Functions that can fail return 0 on success and a negative VEIL_E* code on
 * failure; the human-readable reason is then available from veil_last_error()
 * (thread-local, valid until the next failing call on the same thread). */
#ifndef VEIL_COMMON_H
#define VEIL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    VEIL_OK = 0,
    VEIL_EINVAL = -1,   /* bad argument or malformed input */
    VEIL_EIO = -2,      /* file or socket error */
    VEIL_ENOMEM = -3,   /* allocation failed */
    VEIL_ERANGE = -4,   /* value outside the supported range */
    VEIL_EVERIFY = -5,  /* a proof, signature or check did not verify */
    VEIL_EPROTO = -6,   /* peer violated the protocol */
    VEIL_ETIMEOUT = -7, /* peer did not answer in time */
    VEIL_ECLOSED = -8,  /* peer closed the connection */
};

/* The reason for the last failure on this thread ("" if none). */
const char *veil_last_error(void);

/* Record a failure reason (printf-style) and return code, for one-line
 * `return veil_fail(VEIL_EINVAL, "...")` error paths. */
int veil_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Wipe secret memory in a way the compiler cannot elide. */
void veil_wipe(void *p, size_t n);

/* Wipe n bytes of p, then free it (NULL is fine). */
void veil_wipe_free(void *p, size_t n);

/* Constant-time equality of two byte strings of equal length (1 = equal). */
int veil_ct_equal(const void *a, const void *b, size_t n);

/* Monotonic clock in seconds. */
double veil_now(void);
/* A progress callback (ctx: the label, a string): "label done/total" on
 * stderr, redrawn in place on a terminal, only the final line otherwise. */
void veil_progress(void *label, int done, int total);

/* SHA-256 of a buffer; hex encoding of bytes (out has 2n+1 bytes). */
void veil_sha256(const void *data, size_t n, uint8_t out[32]);
void veil_hex(const uint8_t *in, size_t n, char *out);
/* Parse exactly n bytes of hex; 0 on success. */
int veil_unhex(const char *hex, uint8_t *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
