/* Multi-scalar multiplication (Pippenger's bucket method).
 *
 * Scalars are split into signed c-bit digits in [-2^(c-1), 2^(c-1)], so a
 * window needs only 2^(c-1) buckets and a negative digit subtracts the base
 * (free for affine Niels points: swap two coordinates).  The window c
 * minimises (windows) * (n mixed additions + 2^c bucket-sum additions);
 * small scalars (quantized weights) need few windows, which is the whole
 * small-scalar fast path.  Threads split the points, each running the full
 * algorithm on its share with private buckets; the partial sums are added.
 *
 * Variable time: the bucket touched depends on the scalar digits. */
#include "group_internal.h"

#include <omp.h>
#include <stdlib.h>

typedef struct {
    const veil_ge_affine *bases;
    const veil_fe *fe;      /* scalars as field elements, or */
    const int64_t *ints;    /* signed machine integers */
    size_t n;
    unsigned bits;          /* every |scalar| < 2^bits */
} msm_input;

/* Windows 0..nwin-2 use signed digits (2^(c-1) buckets); the top window
 * is unsigned (2^c buckets) and absorbs the last carry, so exactly
 * ceil(bits / c) windows are needed: a 16-bit scalar with c = 8 takes two
 * passes, not three. */
static unsigned choose_window(size_t n, unsigned bits)
{
    unsigned best = 1;
    double best_cost = 1e300;
    for (unsigned c = 1; c <= 18; c++) {
        double windows = (double)((bits + c - 1) / c), buckets = (double)(1u << c);
        double cost = windows * ((double)n * 7.0 + buckets * 9.0 + c * 8.0) + buckets * 9.0;
        if (cost < best_cost) {
            best_cost = cost;
            best = c;
        }
    }
    return best;
}

/* Integer magnitude limbs and sign of scalar i. */
static void scalar_at(const msm_input *in, size_t i, uint64_t limbs[4], int *neg)
{
    if (in->ints) {
        int64_t v = in->ints[i];
        *neg = v < 0;
        limbs[0] = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        limbs[1] = limbs[2] = limbs[3] = 0;
    } else {
        veil_fe_to_limbs(limbs, &in->fe[i]);
        *neg = 0;
    }
}

/* 1 if the integer in l has bits at or above position b. */
static int exceeds(const uint64_t l[4], unsigned b)
{
    uint64_t over = 0;
    for (unsigned w = 0; w < 4; w++) {
        if (64 * (w + 1) <= b)
            continue;
        over |= 64 * w >= b ? l[w] : l[w] >> (b - 64 * w);
    }
    return over != 0;
}

static uint64_t bits_at(const uint64_t l[4], unsigned pos, unsigned c)
{
    if (pos >= 256)
        return 0;
    unsigned w = pos / 64, s = pos % 64;
    uint64_t v = l[w] >> s;
    if (s + c > 64 && w < 3)
        v |= l[w + 1] << (64 - s);
    return v & ((1ULL << c) - 1);
}

/* Sum of the buckets weighted by index: sum_j j * B[j], by running sums. */
static void bucket_reduce(veil_ge *out, veil_ge *buckets, uint8_t *used, size_t nb)
{
    veil_ge running, total;
    int any = 0;
    veil_ge_identity(&running);
    veil_ge_identity(&total);
    for (size_t j = nb; j-- > 0;) {
        if (used[j]) {
            veil_ge_add(&running, &running, &buckets[j]);
            any = 1;
        }
        if (any)
            veil_ge_add(&total, &total, &running);
    }
    *out = total;
}

/* Pippenger over points [lo, hi) of the input. */
static int msm_chunk(veil_ge *out, const msm_input *in, size_t lo, size_t hi)
{
    size_t m = hi - lo;
    unsigned c = choose_window(m, in->bits);
    unsigned nwin = (in->bits + c - 1) / c;
    size_t half = (size_t)1 << (c - 1), nb_top = (size_t)1 << c;
    uint64_t (*limbs)[4] = malloc(m * sizeof *limbs);
    uint8_t *neg = malloc(m), *carry = calloc(m, 1), *used = malloc(nb_top);
    veil_ge *buckets = malloc(nb_top * sizeof *buckets);
    veil_ge *wsum = malloc(nwin * sizeof *wsum);
    int rc = 0;
    if (!limbs || !neg || !carry || !used || !buckets || !wsum) {
        rc = VEIL_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        int ng;
        scalar_at(in, lo + i, limbs[i], &ng);
        neg[i] = (uint8_t)ng;
        if (exceeds(limbs[i], in->bits))
            rc = VEIL_EINVAL; /* the caller's bit bound was wrong */
    }
    if (rc)
        goto done;
    for (unsigned w = 0; w < nwin; w++) {
        int top = w == nwin - 1;
        size_t nb = top ? nb_top : half;
        memset(used, 0, nb);
        for (size_t i = 0; i < m; i++) {
            int64_t d = (int64_t)bits_at(limbs[i], w * c, c) + carry[i];
            carry[i] = !top && d > (int64_t)half;
            if (carry[i])
                d -= (int64_t)1 << c;
            if (d == 0)
                continue;
            int sub = (d < 0) ^ neg[i];
            size_t b = (size_t)(d < 0 ? -d : d) - 1;
            if (!used[b]) {
                veil_ge_identity(&buckets[b]);
                used[b] = 1;
            }
            ge_add_affine(&buckets[b], &buckets[b], &in->bases[lo + i], sub);
        }
        bucket_reduce(&wsum[w], buckets, used, nb);
    }
    /* Horner over windows, most significant first */
    veil_ge acc = wsum[nwin - 1];
    for (unsigned w = nwin - 1; w-- > 0;) {
        for (unsigned k = 0; k < c; k++)
            veil_ge_dbl(&acc, &acc);
        veil_ge_add(&acc, &acc, &wsum[w]);
    }
    *out = acc;
done:
    if (limbs)
        veil_wipe(limbs, m * sizeof *limbs);
    free(limbs);
    free(neg);
    free(carry);
    free(used);
    free(buckets);
    free(wsum);
    return rc;
}

/* Straus for few points (cheaper than bucket set-up): signed radix-16
 * digits, a table of 1..8 times each base (normalised together), and one
 * shared run of doublings. */
#define STRAUS_MAX 24
static int msm_straus(veil_ge *r, const msm_input *in)
{
    size_t n = in->n;
    unsigned nd = (in->bits + 3) / 4 + 1; /* digits, with room for the last carry */
    if (nd > 65)
        nd = 65;
    veil_ge *mult = malloc(n * 8 * sizeof *mult);
    veil_ge_affine *tab = malloc(n * 8 * sizeof *tab);
    int8_t (*dig)[65] = malloc(n * sizeof *dig);
    uint8_t *neg = malloc(n);
    int rc = mult && tab && dig && neg ? 0 : VEIL_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        uint64_t l[4];
        int ng, carry = 0;
        scalar_at(in, i, l, &ng);
        neg[i] = (uint8_t)ng;
        for (unsigned k = 0; k < nd; k++) {
            int nib = (int)bits_at(l, 4 * k, 4) + carry;
            carry = nib > 8;
            dig[i][k] = (int8_t)(nib - 16 * carry);
        }
        veil_ge_identity(&mult[i * 8]);
        ge_add_affine(&mult[i * 8], &mult[i * 8], &in->bases[i], 0);
        for (unsigned m = 1; m < 8; m++)
            ge_add_affine(&mult[i * 8 + m], &mult[i * 8 + m - 1], &in->bases[i], 0);
        veil_wipe(l, sizeof l);
    }
    if (!rc)
        rc = veil_ge_prepare(tab, mult, n * 8);
    if (!rc) {
        veil_ge acc;
        veil_ge_identity(&acc);
        for (unsigned k = nd; k-- > 0;) {
            for (int d = 0; d < 4; d++)
                veil_ge_dbl(&acc, &acc);
            for (size_t i = 0; i < n; i++) {
                int d = dig[i][k];
                if (d)
                    ge_add_affine(&acc, &acc, &tab[i * 8 + (size_t)(d < 0 ? -d : d) - 1],
                                  (d < 0) ^ neg[i]);
            }
        }
        *r = acc;
    }
    free(mult);
    free(tab);
    free(dig);
    free(neg);
    return rc;
}

static int msm_dense(veil_ge *r, const msm_input *in, int threads);

static int is_zero_at(const msm_input *in, size_t i)
{
    return in->ints ? in->ints[i] == 0 : veil_fe_is_zero(&in->fe[i]);
}

/* Zero scalars cost nothing in the buckets, but a sparse input (lookup
 * multiplicities and inverses: mostly zero when few values are looked up)
 * still pays the bucket sums of every window; run those on the nonzero
 * entries alone, with a window sized for them. */
static int msm_run(veil_ge *r, const msm_input *in, int threads)
{
    size_t nz = 0;
    for (size_t i = 0; i < in->n; i++)
        nz += !is_zero_at(in, i);
    if (nz * 2 > in->n)
        return msm_dense(r, in, threads);
    veil_ge_affine *b = malloc((nz ? nz : 1) * sizeof *b);
    veil_fe *fe = in->fe ? malloc((nz ? nz : 1) * sizeof *fe) : NULL;
    int64_t *ints = in->ints ? malloc((nz ? nz : 1) * sizeof *ints) : NULL;
    if (!b || (in->fe && !fe) || (in->ints && !ints)) {
        free(b);
        free(fe);
        free(ints);
        return veil_fail(VEIL_ENOMEM, "out of memory in MSM (%zu points)", nz);
    }
    for (size_t i = 0, k = 0; i < in->n; i++) {
        if (is_zero_at(in, i))
            continue;
        b[k] = in->bases[i];
        if (fe)
            fe[k] = in->fe[i];
        else
            ints[k] = in->ints[i];
        k++;
    }
    msm_input sub = {b, fe, ints, nz, in->bits};
    int rc = msm_dense(r, &sub, threads);
    if (fe)
        veil_wipe(fe, nz * sizeof *fe);
    if (ints)
        veil_wipe(ints, nz * sizeof *ints);
    free(b);
    free(fe);
    free(ints);
    return rc;
}

static int msm_dense(veil_ge *r, const msm_input *in, int threads)
{
    if (in->n == 0) {
        veil_ge_identity(r);
        return 0;
    }
    if (in->bits == 0) {
        veil_ge_identity(r);
        return 0;
    }
    if (in->n <= STRAUS_MAX)
        return msm_straus(r, in);
    int t = threads > 0 ? threads : omp_get_max_threads();
    /* a thread's share should be worth ~1 ms, or start-up costs dominate */
    size_t min_chunk = 32768 / in->bits > 256 ? 32768 / in->bits : 256;
    if ((size_t)t > in->n / min_chunk)
        t = (int)(in->n / min_chunk);
    if (t < 1)
        t = 1;
    veil_ge *part = malloc((size_t)t * sizeof *part);
    int *rcs = calloc((size_t)t, sizeof *rcs);
    if (!part || !rcs) {
        free(part);
        free(rcs);
        return veil_fail(VEIL_ENOMEM, "out of memory in MSM");
    }
#pragma omp parallel for num_threads(t) schedule(static, 1)
    for (int k = 0; k < t; k++) {
        size_t lo = in->n * (size_t)k / (size_t)t, hi = in->n * (size_t)(k + 1) / (size_t)t;
        rcs[k] = msm_chunk(&part[k], in, lo, hi);
    }
    int rc = 0;
    veil_ge_identity(r);
    for (int k = 0; k < t; k++) {
        if (rcs[k])
            rc = rcs[k];
        else
            veil_ge_add(r, r, &part[k]);
    }
    free(part);
    free(rcs);
    if (rc == VEIL_EINVAL)
        return veil_fail(rc, "MSM: a scalar exceeds the %u-bit bound", in->bits);
    if (rc)
        return veil_fail(rc, "out of memory in MSM (%zu points)", in->n);
    return 0;
}

int veil_msm(veil_ge *r, const veil_ge_affine *bases, const veil_fe *scalars, size_t n,
             unsigned bits, int threads)
{
    if (n && (!bases || !scalars))
        return veil_fail(VEIL_EINVAL, "MSM: null input");
    if (bits == 0) {
        for (size_t i = 0; i < n; i++) {
            unsigned b = veil_fe_bits(&scalars[i]);
            if (b > bits)
                bits = b;
        }
    }
    if (bits > 253)
        bits = 253;
    msm_input in = {bases, scalars, NULL, n, bits};
    return msm_run(r, &in, threads);
}

int veil_msm_i64(veil_ge *r, const veil_ge_affine *bases, const int64_t *vals, size_t n,
                 int threads)
{
    if (n && (!bases || !vals))
        return veil_fail(VEIL_EINVAL, "MSM: null input");
    uint64_t maxmag = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t m = vals[i] < 0 ? 0 - (uint64_t)vals[i] : (uint64_t)vals[i];
        if (m > maxmag)
            maxmag = m;
    }
    unsigned bits = maxmag ? (unsigned)(64 - __builtin_clzll(maxmag)) : 0;
    msm_input in = {bases, NULL, vals, n, bits};
    return msm_run(r, &in, threads);
}

int veil_ge_msm(veil_ge *r, const veil_ge *points, const veil_fe *scalars, size_t n, int threads)
{
    if (n == 0) {
        veil_ge_identity(r);
        return 0;
    }
    veil_ge_affine *aff = malloc(n * sizeof *aff);
    if (!aff)
        return veil_fail(VEIL_ENOMEM, "out of memory in MSM (%zu points)", n);
    int rc = veil_ge_prepare(aff, points, n);
    if (rc == 0)
        rc = veil_msm(r, aff, scalars, n, 0, threads);
    free(aff);
    return rc;
}
