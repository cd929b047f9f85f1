/* Lookup tables of the integer forward pass, built by integer-only
 * fixed-point math so that every machine builds the same tables bit for bit
 * (libm's exp/sin/cos are not guaranteed correctly rounded everywhere).
 *
 * Internal format: Q60 in a signed 128-bit integer.  Constants were computed
 * once with 60-digit decimal arithmetic (Python decimal, Machin's formula for
 * pi) and rounded to the nearest Q60 integer. */
#include "veil/qmodel.h"

#include <pthread.h>

typedef __int128 i128;
typedef unsigned __int128 u128;

#define Q60 60
#define ONE60 ((i128)1 << Q60)
static const i128 LN2_60 = 799144290325165979LL;
static const i128 LN1E4_60 = (i128)10618799479599967255ULL;
static const i128 PI_60 = 3622009729038561421LL;
static const i128 TWO_PI_60 = 7244019458077122842LL;
static const i128 HALF_PI_60 = 1811004864519280711LL;

/* Arithmetic right shift of negative values is what every supported
 * compiler does (gcc/clang document it); the rounding helpers rely on it. */
_Static_assert((-3 >> 1) == -2, "arithmetic right shift required");

static i128 mul60(i128 a, i128 b) { return (a * b) >> Q60; }

/* Q60 -> Q16, round half up. */
static int32_t to_q16(i128 v) { return (int32_t)((v + ((i128)1 << 43)) >> 44); }

/* exp(-y) for y >= 0 in Q60: y = k ln2 + r, r in [0, ln2), Taylor for
 * exp(-r) (terms shrink below 2^-60 after ~20 steps), then >> k. */
static i128 exp_neg60(i128 y)
{
    i128 k = y / LN2_60;
    if (k > 120) return 0;
    i128 r = y - k * LN2_60;
    i128 sum = ONE60, term = ONE60;
    for (int n = 1; n < 40 && term != 0; n++) {
        term = -mul60(term, r) / n;
        sum += term;
    }
    return k ? (sum + ((i128)1 << (k - 1))) >> k : sum;
}

/* sin and cos of a Q60 angle a >= 0. */
static void sincos60(i128 a, i128 *c, i128 *s)
{
    a %= TWO_PI_60;
    if (a > PI_60) a -= TWO_PI_60; /* [-pi, pi] */
    int flip = 0;                  /* cos(a) = -cos(pi - a) */
    if (a > HALF_PI_60) {
        a = PI_60 - a;
        flip = 1;
    } else if (a < -HALF_PI_60) {
        a = -PI_60 - a;
        flip = 1;
    }
    i128 a2 = mul60(a, a);
    i128 st = a, ss = a, ct = ONE60, cs = ONE60;
    for (int n = 1; n < 30 && (st != 0 || ct != 0); n++) {
        st = -mul60(st, a2) / ((2 * n) * (2 * n + 1));
        ct = -mul60(ct, a2) / ((2 * n - 1) * (2 * n));
        ss += st;
        cs += ct;
    }
    *s = ss;
    *c = flip ? -cs : cs;
}

static u128 isqrt128(u128 v)
{
    u128 r = 0, bit = (u128)1 << 126;
    while (bit > v)
        bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

int32_t veil_q_exp_neg(int64_t d)
{
    if (d < 0) d = 0;
    return to_q16(exp_neg60((i128)d << (Q60 - VEIL_Q_FRAC)));
}

void veil_q_sincos(int pos, int j, int head_size, int32_t *c, int32_t *s)
{
    /* theta_j = 10000^(-2j/hs) = exp(-(2j/hs) ln 10000), angle = pos theta_j */
    i128 theta = exp_neg60(LN1E4_60 * 2 * j / head_size);
    i128 cc, sn;
    sincos60((i128)pos * theta, &cc, &sn);
    *c = to_q16(cc);
    *s = to_q16(sn);
}

int32_t veil_q_inv_sqrt_int(int n)
{
    /* isqrt(2^126 / n) ~ 2^63 / sqrt(n); >> 47 with rounding gives Q16 */
    u128 r = isqrt128(((u128)1 << 126) / (u128)n);
    return (int32_t)((r + ((u128)1 << 46)) >> 47);
}

/* sigmoid(x) for the table index i: x = (i - 2^16) * 2^-12. */
static int32_t sigmoid_entry(int i)
{
    int64_t xi = (int64_t)i - VEIL_Q_SIG_HALF;
    i128 ax = (i128)(xi < 0 ? -xi : xi) << (Q60 - 12);
    i128 e = exp_neg60(ax);
    i128 num = xi < 0 ? e : ONE60; /* sigmoid(-|x|) = e/(1+e), sigmoid(|x|) = 1/(1+e) */
    return to_q16((num << Q60) / (ONE60 + e));
}

static veil_qtables g_tables;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    veil_qtables *t = &g_tables;
    for (int i = 0; i < VEIL_Q_SIG_SIZE; i++)
        t->sigmoid[i] = sigmoid_entry(i);
    for (int k = 0; k < VEIL_Q_EXP_DIGITS; k++)
        for (int j = 0; j < VEIL_Q_EXP_BASE; j++)
            t->exp_digit[k][j] = veil_q_exp_neg((int64_t)j << (VEIL_Q_EXP_DIGIT_BITS * k));
    for (int i = 0; i < VEIL_Q_RSQRT_SIZE; i++) {
        /* round(2^30 / sqrt(m)) = round(isqrt(2^126 / m) / 2^33) */
        u128 r = isqrt128(((u128)1 << 126) / (u128)(VEIL_Q_RSQRT_LO + i));
        t->rsqrt[i] = (int32_t)((r + ((u128)1 << 32)) >> 33);
    }
}

const veil_qtables *veil_qtables_get(void)
{
    pthread_once(&g_once, build_tables);
    return &g_tables;
}
