/* Multilinear extensions: eq-tables, in-place folding and evaluation. */
#include "veil/zk_mle.h"

#include <stdlib.h>
#include <string.h>

/* Below this many output elements threading costs more than it saves. */
#define PAR_MIN (1u << 14)

unsigned veil_mle_log2(size_t len)
{
    unsigned n = 0;
    while (n < 63 && ((size_t)1 << n) < len)
        n++;
    return n;
}

void veil_mle_eq_table(veil_fe *out, const veil_fe *r, unsigned n)
{
    /* Doubling from the last coordinate to the first: after handling
     * r[k..n) the first 2^(n-k) entries hold eq over those coordinates, and
     * r[k] becomes the new top bit: out[i + half] = out[i] r_k, out[i] *=
     * (1 - r_k).  Every i touches only its own two entries, so the loop
     * parallelises without races. */
    veil_fe_one(&out[0]);
    for (unsigned j = 0; j < n; j++) {
        const veil_fe *rk = &r[n - 1 - j];
        size_t half = (size_t)1 << j;
#pragma omp parallel for if (half >= PAR_MIN) schedule(static)
        for (size_t i = 0; i < half; i++) {
            veil_fe_mul(&out[i + half], &out[i], rk);
            veil_fe_sub(&out[i], &out[i], &out[i + half]);
        }
    }
}

void veil_mle_eq_eval(veil_fe *out, const veil_fe *a, const veil_fe *b, unsigned n)
{
    /* eq_k = a b + (1-a)(1-b) = 1 - a - b + 2ab */
    veil_fe acc, t, ab, one;
    veil_fe_one(&acc);
    veil_fe_one(&one);
    for (unsigned k = 0; k < n; k++) {
        veil_fe_mul(&ab, &a[k], &b[k]);
        veil_fe_add(&ab, &ab, &ab);
        veil_fe_sub(&t, &one, &a[k]);
        veil_fe_sub(&t, &t, &b[k]);
        veil_fe_add(&t, &t, &ab);
        veil_fe_mul(&acc, &acc, &t);
    }
    *out = acc;
}

/* dst[i] = src[i] + r (src[i + half] - src[i]); dst may equal src. */
static void fold_into(veil_fe *dst, const veil_fe *src, size_t half, const veil_fe *r)
{
#pragma omp parallel for if (half >= PAR_MIN) schedule(static)
    for (size_t i = 0; i < half; i++) {
        veil_fe d;
        veil_fe_sub(&d, &src[i + half], &src[i]);
        veil_fe_mul(&d, &d, r);
        veil_fe_add(&dst[i], &src[i], &d);
    }
}

void veil_mle_fold(veil_fe *tab, size_t len, const veil_fe *r)
{
    fold_into(tab, tab, len / 2, r);
}

int veil_mle_eval_padded(veil_fe *out, const veil_fe *tab, size_t len, unsigned n,
                         const veil_fe *r)
{
    size_t full = (size_t)1 << n;
    if (n > VEIL_MLE_MAX_VARS || len > full)
        return veil_fail(VEIL_EINVAL, "mle: %zu entries do not fit %u variables", len, n);
    if (n == 0) {
        if (len) *out = tab[0];
        else veil_fe_zero(out);
        return 0;
    }
    veil_fe *s = calloc(full, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "mle: out of memory");
    memcpy(s, tab, len * sizeof *s);
    for (unsigned k = 0; k < n; k++)
        fold_into(s, s, full >> (k + 1), &r[k]);
    *out = s[0];
    free(s);
    return 0;
}

int veil_mle_eval(veil_fe *out, const veil_fe *tab, unsigned n, const veil_fe *r)
{
    return veil_mle_eval_padded(out, tab, (size_t)1 << n, n, r);
}

void veil_mle_eval_identity(veil_fe *out, const veil_fe *r, unsigned n)
{
    /* i = sum_k bit_k 2^(n-1-k) is linear in the bits: its extension is the
     * same linear form in r (Horner from the top bit). */
    veil_fe acc, two;
    veil_fe_zero(&acc);
    veil_fe_from_u64(&two, 2);
    for (unsigned k = 0; k < n; k++) {
        veil_fe_mul(&acc, &acc, &two);
        veil_fe_add(&acc, &acc, &r[k]);
    }
    *out = acc;
}
