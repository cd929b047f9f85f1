/* Differential-privacy noise for hidden states: calibration (analytic
 * Gaussian mechanism), a ChaCha20 noise RNG, clip+noise, and the accountant.
 * See include/veil/dp.h for the privacy model. */
#include "veil/dp.h"

#include "veil/model.h"

#include <math.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- normal distribution helpers ----------------------------------------- */

static double phi_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* log Phi(x), accurate far into the lower tail where erfc underflows. */
static double log_phi_cdf(double x)
{
    if (x > -30.0) return log(phi_cdf(x));
    double x2 = x * x;
    return -0.5 * x2 - log(-x) - 0.5 * log(2.0 * M_PI) + log1p(-1.0 / x2 + 3.0 / (x2 * x2));
}

double veil_dp_gauss_delta(double mu, double eps)
{
    if (!(mu > 0) || !(eps >= 0)) return 1.0;
    double a = mu / 2 - eps / mu, b = -mu / 2 - eps / mu;
    double d = phi_cdf(a) - exp(eps + log_phi_cdf(b));
    return d < 0 ? 0 : d;
}

double veil_dp_analytic_sigma(double eps, double delta, double sens)
{
    if (!(eps > 0) || !(delta > 0) || !(delta < 1) || !(sens > 0) || !isfinite(eps))
        return -1;
    /* delta grows with mu = sens/sigma: find the largest mu within delta. */
    double lo = log(1e-12), hi = log(1e6);
    if (veil_dp_gauss_delta(exp(hi), eps) <= delta) return sens / exp(hi);
    if (veil_dp_gauss_delta(exp(lo), eps) > delta) return sens / exp(lo);
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (veil_dp_gauss_delta(exp(mid), eps) <= delta)
            lo = mid;
        else
            hi = mid;
    }
    return sens / exp(lo);
}

double veil_dp_gauss_eps(double mu, double delta)
{
    if (!(mu > 0) || !(delta > 0)) return INFINITY;
    if (delta >= 1 || veil_dp_gauss_delta(mu, 0) <= delta) return 0;
    double lo = 0, hi = 1;
    while (veil_dp_gauss_delta(mu, hi) > delta) {
        lo = hi;
        hi *= 2;
        if (hi > 1e300) return INFINITY;
    }
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (veil_dp_gauss_delta(mu, mid) <= delta)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* ---- parameters ------------------------------------------------------------ */

int veil_dp_parse_kind(const char *s, veil_dp_kind *out)
{
    if (!s) return veil_fail(VEIL_EINVAL, "missing DP mechanism");
    if (!strcmp(s, "gauss") || !strcmp(s, "gaussian")) {
        *out = VEIL_DP_GAUSS;
        return 0;
    }
    if (!strcmp(s, "dx")) {
        *out = VEIL_DP_DX;
        return 0;
    }
    return veil_fail(VEIL_EINVAL, "unknown DP mechanism '%s' (gauss or dx)", s);
}

const char *veil_dp_kind_name(veil_dp_kind k) { return k == VEIL_DP_DX ? "dx" : "gauss"; }

int veil_dp_mech_init(veil_dp_mech *m, const veil_dp_params *p, int dim)
{
    memset(m, 0, sizeof *m);
    if (p->kind != VEIL_DP_GAUSS && p->kind != VEIL_DP_DX)
        return veil_fail(VEIL_EINVAL, "unknown DP mechanism %d", (int)p->kind);
    if (!(p->eps > 0) || !(p->eps <= 1e6))
        return veil_fail(VEIL_ERANGE, "DP epsilon %g outside (0, 1e6]", p->eps);
    if (!(p->clip > 0) || !(p->clip <= 1e9))
        return veil_fail(VEIL_ERANGE, "DP clip norm %g outside (0, 1e9]", p->clip);
    if (!(p->delta > 0) || !(p->delta < 1))
        return veil_fail(VEIL_ERANGE, "DP delta %g outside (0, 1)", p->delta);
    if (dim < 1 || dim > VEIL_MAX_DIM)
        return veil_fail(VEIL_ERANGE, "DP dimension %d outside [1, %d]", dim, VEIL_MAX_DIM);
    m->p = *p;
    m->dim = dim;
    m->sensitivity = 2 * p->clip;
    if (p->kind == VEIL_DP_GAUSS) {
        m->sigma = veil_dp_analytic_sigma(p->eps, p->delta, m->sensitivity);
        if (!(m->sigma > 0)) return veil_fail(VEIL_ERANGE, "cannot calibrate Gaussian noise");
    }
    return 0;
}

/* ---- RNG ------------------------------------------------------------------- */

#define RNG_BUF 512

struct veil_dp_rng {
    EVP_CIPHER_CTX *ctx;
    uint8_t buf[RNG_BUF];
    size_t pos;
    double spare; /* second Box-Muller value */
    int has_spare;
};

static int rng_from_key(const uint8_t key[32], veil_dp_rng **out)
{
    *out = NULL;
    veil_dp_rng *r = calloc(1, sizeof *r);
    if (!r) return veil_fail(VEIL_ENOMEM, "out of memory for DP RNG");
    uint8_t iv[16] = {0}; /* 32-bit block counter + 96-bit nonce; key is fresh */
    r->ctx = EVP_CIPHER_CTX_new();
    if (!r->ctx || EVP_EncryptInit_ex(r->ctx, EVP_chacha20(), NULL, key, iv) != 1) {
        veil_dp_rng_free(r);
        return veil_fail(VEIL_EINVAL, "ChaCha20 unavailable in OpenSSL");
    }
    r->pos = RNG_BUF;
    *out = r;
    return 0;
}

int veil_dp_rng_new_secure(veil_dp_rng **out)
{
    uint8_t key[32];
    if (RAND_bytes(key, sizeof key) != 1) {
        *out = NULL;
        return veil_fail(VEIL_EIO, "RAND_bytes failed: no secure randomness for DP noise");
    }
    int rc = rng_from_key(key, out);
    veil_wipe(key, sizeof key);
    return rc;
}

int veil_dp_rng_new_seeded(uint64_t seed, veil_dp_rng **out)
{
    uint8_t msg[24] = "veil-dp-rng-seed", key[32];
    for (int i = 0; i < 8; i++) msg[16 + i] = (uint8_t)(seed >> (8 * i));
    veil_sha256(msg, sizeof msg, key);
    int rc = rng_from_key(key, out);
    veil_wipe(key, sizeof key);
    return rc;
}

void veil_dp_rng_free(veil_dp_rng *r)
{
    if (!r) return;
    if (r->ctx) EVP_CIPHER_CTX_free(r->ctx); /* clears the key schedule */
    veil_wipe(r, sizeof *r);
    free(r);
}

static void rng_refill(veil_dp_rng *r)
{
    static const uint8_t zeros[RNG_BUF];
    int n = 0;
    /* ChaCha20 encryption of zeros is the keystream; it cannot fail once the
     * context is initialised with a valid key. */
    if (EVP_EncryptUpdate(r->ctx, r->buf, &n, zeros, RNG_BUF) != 1 || n != RNG_BUF) abort();
    r->pos = 0;
}

uint64_t veil_dp_rng_u64(veil_dp_rng *r)
{
    if (r->pos + 8 > RNG_BUF) rng_refill(r);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->buf[r->pos + i] << (8 * i);
    memset(r->buf + r->pos, 0, 8); /* consumed noise is not left behind */
    r->pos += 8;
    return v;
}

double veil_dp_rng_uniform(veil_dp_rng *r)
{
    return ((double)(veil_dp_rng_u64(r) >> 11) + 0.5) * 0x1p-53;
}

double veil_dp_rng_normal(veil_dp_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = veil_dp_rng_uniform(r), u2 = veil_dp_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

/* Marsaglia & Tsang (2000); shape < 1 via the Gamma(shape+1) * U^(1/shape) boost. */
double veil_dp_rng_gamma(veil_dp_rng *r, double shape)
{
    if (!(shape > 0)) return 0;
    if (shape < 1) return veil_dp_rng_gamma(r, shape + 1) * pow(veil_dp_rng_uniform(r), 1 / shape);
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = veil_dp_rng_normal(r), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = veil_dp_rng_uniform(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

/* ---- the mechanism ----------------------------------------------------------- */

void veil_dp_clip_rows(float *x, int T, int dim, double clip)
{
    for (int t = 0; t < T; t++) {
        float *row = x + (size_t)t * dim;
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += (double)row[i] * row[i];
        double norm = sqrt(ss);
        if (norm > clip) {
            double s = clip / norm;
            for (int i = 0; i < dim; i++) row[i] = (float)(row[i] * s);
        }
    }
}

static int rows_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Add a dx-noise vector: uniform direction, norm ~ Gamma(dim, 1/eps). */
static void add_dx_noise(const veil_dp_mech *m, veil_dp_rng *r, float *row, double *dir)
{
    int dim = m->dim;
    double ss = 0;
    do {
        ss = 0;
        for (int i = 0; i < dim; i++) {
            dir[i] = veil_dp_rng_normal(r);
            ss += dir[i] * dir[i];
        }
    } while (ss == 0);
    double scale = veil_dp_rng_gamma(r, dim) / m->p.eps / sqrt(ss);
    for (int i = 0; i < dim; i++) row[i] = (float)(row[i] + scale * dir[i]);
}

int veil_dp_apply(const veil_dp_mech *m, veil_dp_rng *r, float *x, int T)
{
    if (T < 0 || m->dim < 1) return veil_fail(VEIL_EINVAL, "bad DP input shape");
    size_t n = (size_t)T * m->dim;
    if (!rows_finite(x, n))
        return veil_fail(VEIL_EINVAL, "hidden state holds a non-finite value; not released");
    veil_dp_clip_rows(x, T, m->dim, m->p.clip);
    if (m->p.kind == VEIL_DP_GAUSS) {
        for (size_t i = 0; i < n; i++) x[i] = (float)(x[i] + m->sigma * veil_dp_rng_normal(r));
        r->has_spare = 0;
        veil_wipe(&r->spare, sizeof r->spare);
        return 0;
    }
    double *dir = malloc(sizeof(double) * m->dim);
    if (!dir) return veil_fail(VEIL_ENOMEM, "out of memory for DP noise");
    for (int t = 0; t < T; t++) add_dx_noise(m, r, x + (size_t)t * m->dim, dir);
    veil_wipe(dir, sizeof(double) * m->dim);
    free(dir);
    return 0;
}

/* ---- accountant -------------------------------------------------------------- */

void veil_dp_accountant_init(veil_dp_accountant *a, const veil_dp_mech *m)
{
    a->mech = *m;
    a->rows = 0;
}

void veil_dp_accountant_add(veil_dp_accountant *a, long rows)
{
    if (rows > 0) a->rows += rows;
}

static double zcdp_eps(double rho, double delta)
{
    if (!(delta > 0) || delta >= 1) return rho;
    return rho + 2 * sqrt(rho * log(1 / delta));
}

void veil_dp_accountant_spend(const veil_dp_accountant *a, veil_dp_spend *s)
{
    const veil_dp_mech *m = &a->mech;
    long k = a->rows;
    memset(s, 0, sizeof *s);
    s->rows = k;
    if (m->p.kind == VEIL_DP_GAUSS) {
        double mu = m->sensitivity / m->sigma;
        s->eps_token = m->p.eps;
        s->delta_token = m->p.delta;
        s->eps_basic = k * m->p.eps;
        s->delta_basic = fmin(1.0, k * m->p.delta);
        s->rho_zcdp = k * mu * mu / 2;
        s->eps_zcdp = zcdp_eps(s->rho_zcdp, s->delta_basic);
        s->delta_tight = s->delta_basic;
        /* k Gaussian releases of multiplier mu are exactly one of mu*sqrt(k) */
        s->eps_tight = k ? fmin(s->eps_basic, veil_dp_gauss_eps(mu * sqrt((double)k),
                                                                s->delta_basic))
                         : 0;
    } else {
        s->eps_token = m->sensitivity * m->p.eps;
        s->delta_token = 0;
        s->eps_basic = k * s->eps_token;
        s->delta_basic = 0;
        s->rho_zcdp = k * s->eps_token * s->eps_token / 2; /* eps-DP => eps^2/2-zCDP */
        s->eps_zcdp = zcdp_eps(s->rho_zcdp, m->p.delta);
        int zc = k > 0 && s->eps_zcdp < s->eps_basic;
        s->eps_tight = zc ? s->eps_zcdp : s->eps_basic;
        s->delta_tight = zc ? m->p.delta : 0;
    }
}

int veil_dp_accountant_format(const veil_dp_accountant *a, char *buf, size_t n)
{
    veil_dp_spend s;
    veil_dp_accountant_spend(a, &s);
    const veil_dp_mech *m = &a->mech;
    char noise[64];
    if (m->p.kind == VEIL_DP_GAUSS)
        snprintf(noise, sizeof noise, "sigma=%.4g", m->sigma);
    else
        snprintf(noise, sizeof noise, "mean noise norm=%.4g", m->dim / m->p.eps);
    int w = snprintf(buf, n,
                     "dp: %s eps=%g delta=%g clip=%g %s: per token (eps=%.4g, delta=%.3g); "
                     "request of %ld rows: basic (eps=%.4g, delta=%.3g), tight (eps=%.4g, "
                     "delta=%.3g), zCDP rho=%.4g",
                     veil_dp_kind_name(m->p.kind), m->p.eps, m->p.delta, m->p.clip, noise,
                     s.eps_token, s.delta_token, s.rows, s.eps_basic, s.delta_basic,
                     s.eps_tight, s.delta_tight, s.rho_zcdp);
    return w < 0 || (size_t)w >= n ? veil_fail(VEIL_ERANGE, "DP report buffer too small") : 0;
}
