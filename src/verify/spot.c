/* sample:P spot checks: a keyed PRF on the client decides which positions are
 * replicated, so a node cannot tell a checked token from an unchecked one. */
#include "veil/verify.h"

#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

struct veil_spot {
    double p;
    uint64_t threshold; /* pick when PRF < threshold (p * 2^64) */
    uint8_t key[32];
};

int veil_spot_new(double p, const uint8_t *key, veil_spot **out)
{
    *out = NULL;
    if (!(p > 0 && p <= 1)) return veil_fail(VEIL_EINVAL, "sample rate %g outside (0,1]", p);
    veil_spot *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory");
    s->p = p;
    s->threshold = p >= 1 ? UINT64_MAX : (uint64_t)ldexp(p, 64);
    if (key)
        memcpy(s->key, key, 32);
    else if (RAND_bytes(s->key, 32) != 1) {
        free(s);
        return veil_fail(VEIL_EIO, "OS random generator failed");
    }
    *out = s;
    return 0;
}

void veil_spot_free(veil_spot *s)
{
    if (!s) return;
    veil_wipe(s, sizeof *s);
    free(s);
}

int veil_spot_pick(const veil_spot *s, uint64_t pos)
{
    if (s->p >= 1) return 1;
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    for (int i = 0; i < 8; i++) msg[i] = (uint8_t)(pos >> (8 * i));
    HMAC(EVP_sha256(), s->key, 32, msg, 8, mac, &len);
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) r = r << 8 | mac[i];
    veil_wipe(mac, sizeof mac);
    return r < s->threshold;
}

double veil_spot_detect_prob(double p, double q, double d, double n)
{
    double per = p * q * d;
    if (per <= 0) return 0;
    if (per >= 1) return n >= 1 ? 1 : 0;
    return -expm1(n * log1p(-per));
}

double veil_spot_tokens_needed(double p, double q, double d, double target)
{
    double per = p * q * d;
    if (per <= 0) return INFINITY;
    if (per >= 1) return 1;
    return ceil(log1p(-target) / log1p(-per));
}
