/* DP noise: calibration against the closed-form privacy curve of the Gaussian
 * mechanism, the accountant's compositions, and the noise distributions. */
#include "harness.h"

#include "veil/dp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Closed form, written independently of dp.c: delta(eps) of N(0, sigma^2) on
 * an L2-sensitivity-s query (Balle & Wang 2018, Theorem 8). */
static double closed_delta(double s, double sigma, double eps)
{
    double a = s / (2 * sigma) - eps * sigma / s, b = -s / (2 * sigma) - eps * sigma / s;
    return 0.5 * erfc(-a / sqrt(2.0)) - exp(eps) * 0.5 * erfc(-b / sqrt(2.0));
}

static void test_calibration(void)
{
    const double eps[] = {0.1, 0.5, 1.0, 2.0, 8.0};
    const double del[] = {1e-3, 1e-5, 1e-8};
    for (size_t i = 0; i < sizeof eps / sizeof *eps; i++)
        for (size_t j = 0; j < sizeof del / sizeof *del; j++) {
            double s = veil_dp_analytic_sigma(eps[i], del[j], 1.0);
            double d = closed_delta(1.0, s, eps[i]);
            CHECKF(fabs(d - del[j]) <= 1e-6 * del[j], "eps %g delta %g: sigma %g gives %g",
                   eps[i], del[j], s, d);
            /* slightly less noise must break the guarantee: sigma is the smallest */
            CHECK(closed_delta(1.0, s * 0.999, eps[i]) > del[j]);
            /* the classical bound sqrt(2 ln(1.25/delta))/eps is looser for eps < 1 */
            if (eps[i] < 1) CHECK(s < sqrt(2 * log(1.25 / del[j])) / eps[i]);
            double s3 = veil_dp_analytic_sigma(eps[i], del[j], 3.0);
            CHECK(fabs(s3 - 3 * s) <= 1e-9 * s3);
        }
    /* eps=1, delta=1e-5: Balle & Wang report sigma ~= 3.73 for sensitivity 1 */
    double s = veil_dp_analytic_sigma(1.0, 1e-5, 1.0);
    CHECKF(s > 3.72 && s < 3.74, "sigma(1, 1e-5) = %g", s);
    CHECK(veil_dp_analytic_sigma(0, 1e-5, 1) < 0);
    CHECK(veil_dp_analytic_sigma(1, 0, 1) < 0);
    CHECK(veil_dp_analytic_sigma(1, 1, 1) < 0);
    /* gauss_eps inverts gauss_delta */
    double e = veil_dp_gauss_eps(0.7, 1e-6);
    CHECK(fabs(veil_dp_gauss_delta(0.7, e) - 1e-6) < 1e-12);
}

static void test_params(void)
{
    veil_dp_mech m;
    veil_dp_params p = VEIL_DP_PARAMS_DEFAULT;
    CHECK(veil_dp_mech_init(&m, &p, 64) != 0); /* eps not set */
    p.eps = 1;
    CHECK(veil_dp_mech_init(&m, &p, 64) == 0);
    CHECK(m.sensitivity == 2.0);
    CHECK(fabs(closed_delta(2.0, m.sigma, 1.0) - 1e-5) < 1e-10);
    p.clip = -1;
    CHECK(veil_dp_mech_init(&m, &p, 64) != 0);
    p.clip = 1;
    p.delta = 1.5;
    CHECK(veil_dp_mech_init(&m, &p, 64) != 0);
    p.delta = 1e-5;
    p.eps = NAN;
    CHECK(veil_dp_mech_init(&m, &p, 64) != 0);
    p.eps = 1;
    CHECK(veil_dp_mech_init(&m, &p, 0) != 0);
    veil_dp_kind k;
    CHECK(veil_dp_parse_kind("dx", &k) == 0 && k == VEIL_DP_DX);
    CHECK(veil_dp_parse_kind("gauss", &k) == 0 && k == VEIL_DP_GAUSS);
    CHECK(veil_dp_parse_kind("laplace", &k) != 0);
}

static void test_accountant(void)
{
    veil_dp_params p = {VEIL_DP_GAUSS, 0.5, 1e-6, 2.0};
    veil_dp_mech m;
    CHECK(veil_dp_mech_init(&m, &p, 16) == 0);
    veil_dp_accountant a;
    veil_dp_accountant_init(&a, &m);
    veil_dp_spend s;
    veil_dp_accountant_add(&a, 1);
    veil_dp_accountant_spend(&a, &s);
    CHECKF(fabs(s.eps_tight - 0.5) < 1e-6, "one release: tight %g", s.eps_tight);
    veil_dp_accountant_add(&a, 99);
    veil_dp_accountant_spend(&a, &s);
    double mu = 4.0 / m.sigma;
    CHECK(s.rows == 100);
    CHECK(fabs(s.eps_basic - 50) < 1e-12 && fabs(s.delta_basic - 1e-4) < 1e-18);
    CHECK(fabs(s.rho_zcdp - 100 * mu * mu / 2) < 1e-9 * s.rho_zcdp);
    double ez = s.rho_zcdp + 2 * sqrt(s.rho_zcdp * log(1e4));
    CHECK(fabs(s.eps_zcdp - ez) < 1e-9 * ez);
    /* exact composition: 100 releases at mu are one release at 10 mu */
    double d = closed_delta(1.0, 1.0 / (10 * mu), s.eps_tight);
    CHECKF(fabs(d - 1e-4) < 1e-9, "composed delta %g", d);
    CHECK(s.eps_tight < s.eps_zcdp && s.eps_zcdp < s.eps_basic);
    char line[512];
    CHECK(veil_dp_accountant_format(&a, line, sizeof line) == 0);
    CHECK(strstr(line, "100 rows") != NULL);
    CHECK(veil_dp_accountant_format(&a, line, 10) != 0);

    veil_dp_params q = {VEIL_DP_DX, 0.5, 1e-5, 0.5};
    CHECK(veil_dp_mech_init(&m, &q, 16) == 0);
    veil_dp_accountant_init(&a, &m);
    veil_dp_accountant_add(&a, 4);
    veil_dp_accountant_spend(&a, &s);
    CHECK(fabs(s.eps_token - 0.5) < 1e-12 && s.delta_token == 0); /* 2 * 0.5 * 0.5 */
    CHECK(fabs(s.eps_basic - 2) < 1e-12 && s.eps_tight == 2 && s.delta_tight == 0);
    veil_dp_accountant_add(&a, 9996); /* many rows: zCDP beats basic */
    veil_dp_accountant_spend(&a, &s);
    CHECK(fabs(s.rho_zcdp - 10000 * 0.125) < 1e-6);
    CHECK(s.eps_tight < s.eps_basic && s.delta_tight == 1e-5);
}

static void test_rng(void)
{
    veil_dp_rng *a, *b, *c;
    CHECK(veil_dp_rng_new_seeded(7, &a) == 0);
    CHECK(veil_dp_rng_new_seeded(7, &b) == 0);
    CHECK(veil_dp_rng_new_seeded(8, &c) == 0);
    int same = 1, diff = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t x = veil_dp_rng_u64(a), y = veil_dp_rng_u64(b), z = veil_dp_rng_u64(c);
        same &= x == y;
        diff += x != z;
    }
    CHECK(same && diff == 200);
    /* moments of the normal and Gamma samplers */
    const int N = 200000;
    double s1 = 0, s2 = 0, g1 = 0, g2 = 0;
    for (int i = 0; i < N; i++) {
        double v = veil_dp_rng_normal(a);
        s1 += v;
        s2 += v * v;
        double g = veil_dp_rng_gamma(a, 4.5);
        g1 += g;
        g2 += g * g;
    }
    s1 /= N;
    s2 = s2 / N - s1 * s1;
    g1 /= N;
    g2 = g2 / N - g1 * g1;
    CHECKF(fabs(s1) < 0.01 && fabs(s2 - 1) < 0.02, "normal mean %g var %g", s1, s2);
    CHECKF(fabs(g1 - 4.5) < 0.03 && fabs(g2 - 4.5) < 0.1, "gamma mean %g var %g", g1, g2);
    veil_dp_rng_free(a);
    veil_dp_rng_free(b);
    veil_dp_rng_free(c);
    CHECK(veil_dp_rng_new_secure(&a) == 0 && veil_dp_rng_new_secure(&b) == 0);
    CHECK(veil_dp_rng_u64(a) != veil_dp_rng_u64(b));
    veil_dp_rng_free(a);
    veil_dp_rng_free(b);
}

static double row_norm(const float *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

static void test_apply(void)
{
    enum { T = 400, D = 64 };
    float *x = malloc(sizeof(float) * T * D);
    for (int i = 0; i < T * D; i++) x[i] = (float)((i % 7) - 3);
    veil_dp_clip_rows(x, T, D, 2.0);
    for (int t = 0; t < T; t++) CHECK(row_norm(x + t * D, D) <= 2.0 + 1e-5);

    veil_dp_rng *r;
    CHECK(veil_dp_rng_new_seeded(1, &r) == 0);
    veil_dp_mech m;
    veil_dp_params p = {VEIL_DP_GAUSS, 1.0, 1e-5, 1.0};
    CHECK(veil_dp_mech_init(&m, &p, D) == 0);
    memset(x, 0, sizeof(float) * T * D);
    CHECK(veil_dp_apply(&m, r, x, T) == 0);
    double ss = 0;
    for (int i = 0; i < T * D; i++) ss += (double)x[i] * x[i];
    double sd = sqrt(ss / (T * D));
    CHECKF(fabs(sd - m.sigma) < 0.02 * m.sigma, "noise sd %g, sigma %g", sd, m.sigma);

    veil_dp_params q = {VEIL_DP_DX, 8.0, 1e-5, 1.0};
    CHECK(veil_dp_mech_init(&m, &q, D) == 0);
    memset(x, 0, sizeof(float) * T * D);
    CHECK(veil_dp_apply(&m, r, x, T) == 0);
    double mean_norm = 0, mean_dir0 = 0;
    for (int t = 0; t < T; t++) {
        double n = row_norm(x + t * D, D);
        mean_norm += n / T;
        mean_dir0 += x[t * D] / n / T;
    }
    CHECKF(fabs(mean_norm - D / 8.0) < 0.05 * D / 8.0, "dx norm %g, expected %g", mean_norm,
           D / 8.0);
    CHECKF(fabs(mean_dir0) < 0.05, "dx direction biased: %g", mean_dir0);

    x[5] = NAN;
    CHECK(veil_dp_apply(&m, r, x, T) != 0);
    veil_dp_rng_free(r);
    free(x);
}

int main(void)
{
    test_calibration();
    test_params();
    test_accountant();
    test_rng();
    test_apply();
    return test_done();
}
