/* veil dp: differential-privacy noise on hidden states that leave the client.
 *
 * In split inference (`veil run --split K`) the client runs the embedding and
 * layers 0..K-1; the T x dim hidden states it sends to nodes can be noised
 * first.  Each row (one token's state) is clipped to L2 norm `clip` and then
 * perturbed by one of two mechanisms:
 *
 *   VEIL_DP_GAUSS  analytic Gaussian mechanism (Balle & Wang, ICML 2018):
 *                  N(0, sigma^2 I) with the smallest sigma for which the
 *                  release is (eps, delta)-DP.
 *   VEIL_DP_DX     metric DP (d_chi privacy, Feyisetan et al. 2020): a noise
 *                  vector with uniform direction and L2 norm ~ Gamma(dim,
 *                  1/eps), density proportional to exp(-eps ||z||); the
 *                  release is eps*||x - x'||-indistinguishable.
 *
 * Adjacency: two inputs are neighbours when one token's hidden state is
 * replaced by any other; after clipping both lie in the ball of radius clip,
 * so the L2 sensitivity is 2*clip.  The dx mechanism's per-token worst case is
 * therefore pure (2*clip*eps)-DP.
 *
 * Every released row spends budget; the accountant composes the spend of a
 * request (all rows released for one prompt and its generated tokens):
 * basic composition always, and for the Gaussian mechanism the exact
 * composition of Gaussians (Gaussian DP, Dong-Roth-Su 2019: T releases at
 * noise multiplier mu compose to mu*sqrt(T)) and the zCDP bound (Bun &
 * Steinke 2016), both converted back to (eps, delta).
 *
 * Typical client use (network layer):
 *
 *   veil_dp_params p = VEIL_DP_PARAMS_DEFAULT;  p.eps = E; ...
 *   veil_dp_mech mech;   veil_dp_mech_init(&mech, &p, cfg.dim);
 *   veil_dp_rng *rng;    veil_dp_rng_new_secure(&rng);
 *   veil_dp_accountant acc;  veil_dp_accountant_init(&acc, &mech);
 *   ... before sending T rows x:  veil_dp_apply(&mech, rng, x, T);
 *                                 veil_dp_accountant_add(&acc, T);
 *   char line[512]; veil_dp_accountant_format(&acc, line, sizeof line);
 *   fprintf(stderr, "%s\n", line);
 *   veil_dp_rng_free(rng);
 *
 * Limitation: noise is drawn in double precision and added to floats; the
 * textbook guarantees assume real arithmetic (Mironov 2012 shows floating-point
 * attacks on naive Laplace samplers).  The guarantee is stated for the ideal
 * mechanism. */
#ifndef VEIL_DP_H
#define VEIL_DP_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { VEIL_DP_GAUSS = 0, VEIL_DP_DX = 1 } veil_dp_kind;

typedef struct {
    veil_dp_kind kind;
    double eps;   /* > 0: per-token epsilon (dx: per unit of L2 distance) */
    double delta; /* Gaussian only, in (0, 1) */
    double clip;  /* L2 bound of each row, > 0 */
} veil_dp_params;

/* Defaults of the CLI: Gaussian, delta 1e-5, clip 1.0 (eps must be given). */
#define VEIL_DP_DEFAULT_DELTA 1e-5
#define VEIL_DP_DEFAULT_CLIP 1.0
#define VEIL_DP_PARAMS_DEFAULT \
    ((veil_dp_params){VEIL_DP_GAUSS, 0.0, VEIL_DP_DEFAULT_DELTA, VEIL_DP_DEFAULT_CLIP})

/* "gauss" / "gaussian" or "dx"; 0 or VEIL_EINVAL. */
int veil_dp_parse_kind(const char *s, veil_dp_kind *out);
const char *veil_dp_kind_name(veil_dp_kind k);

typedef struct {
    veil_dp_params p;
    int dim;
    double sensitivity; /* 2 * clip */
    double sigma;       /* Gaussian: per-coordinate standard deviation */
} veil_dp_mech;

/* Validate parameters (eps in (0, 1e6], delta in (0, 1), clip in (0, 1e9],
 * dim in [1, VEIL_MAX_DIM]) and calibrate the noise. */
int veil_dp_mech_init(veil_dp_mech *m, const veil_dp_params *p, int dim);

/* Smallest sigma such that N(0, sigma^2) on an L2-sensitivity-`sens` query is
 * (eps, delta)-DP (analytic Gaussian mechanism); < 0 on bad arguments. */
double veil_dp_analytic_sigma(double eps, double delta, double sens);
/* Exact delta of the Gaussian mechanism at eps for noise multiplier
 * mu = sens / sigma:  Phi(mu/2 - eps/mu) - e^eps Phi(-mu/2 - eps/mu). */
double veil_dp_gauss_delta(double mu, double eps);
/* The eps at which the Gaussian mechanism with multiplier mu has `delta`. */
double veil_dp_gauss_eps(double mu, double delta);

/* ---- noise RNG ----------------------------------------------------------
 * A ChaCha20 keystream (OpenSSL EVP).  Production keys come from RAND_bytes;
 * tests use a key derived from a 64-bit seed so runs are reproducible. */
typedef struct veil_dp_rng veil_dp_rng;
int veil_dp_rng_new_secure(veil_dp_rng **out);
int veil_dp_rng_new_seeded(uint64_t seed, veil_dp_rng **out);
void veil_dp_rng_free(veil_dp_rng *r); /* wipes key and buffered keystream */
uint64_t veil_dp_rng_u64(veil_dp_rng *r);
double veil_dp_rng_uniform(veil_dp_rng *r);                /* in (0, 1) */
double veil_dp_rng_normal(veil_dp_rng *r);                 /* N(0, 1) */
double veil_dp_rng_gamma(veil_dp_rng *r, double shape);    /* Gamma(shape, 1) */

/* Clip each of the T rows of x (T x dim) to L2 norm clip, then add noise.
 * Returns 0, or VEIL_EINVAL if x holds a non-finite value (left unreleased:
 * the caller must not send it). */
int veil_dp_apply(const veil_dp_mech *m, veil_dp_rng *r, float *x, int T);
/* Only the clipping step (used to measure its utility cost alone). */
void veil_dp_clip_rows(float *x, int T, int dim, double clip);

/* ---- accountant --------------------------------------------------------- */
typedef struct {
    veil_dp_mech mech;
    long rows; /* hidden vectors released so far in this request */
} veil_dp_accountant;

typedef struct {
    long rows;
    double eps_token, delta_token; /* per released row (dx: worst case, pure) */
    double eps_basic, delta_basic; /* basic composition: rows * per-token */
    /* tightest bound available at delta_basic: Gaussian: exact GDP
     * composition; dx: min(basic, zCDP of pure DP); equal to basic when
     * rows <= 1 */
    double eps_tight, delta_tight;
    double rho_zcdp;  /* zCDP rho of the whole request (dx: rows*eps^2/2) */
    double eps_zcdp;  /* rho + 2 sqrt(rho ln(1/delta_basic)) */
} veil_dp_spend;

void veil_dp_accountant_init(veil_dp_accountant *a, const veil_dp_mech *m);
void veil_dp_accountant_add(veil_dp_accountant *a, long rows);
void veil_dp_accountant_spend(const veil_dp_accountant *a, veil_dp_spend *s);
/* One line: "dp: gauss eps=.. delta=.. clip=.. sigma=..: per token (e, d);
 * request of N rows: basic (e, d), tight (e, d), zCDP rho=..". */
int veil_dp_accountant_format(const veil_dp_accountant *a, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
