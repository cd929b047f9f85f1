/* CDV: distribution verification of shard outputs against a reference
 * profile, with an EWMA control chart as the adaptive threshold. */
#include "veil/verify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double BIN_EDGES[VEIL_CDV_BINS - 1] = {1, 1.5, 2, 2.5, 3, 4, 6};

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

void veil_cdv_stats_of(const float *x, int dim, int k, veil_cdv_stats *out)
{
    memset(out, 0, sizeof *out);
    double s1 = 0;
    for (int i = 0; i < dim; i++) s1 += x[i];
    double mean = s1 / dim, m2 = 0, m3 = 0, m4 = 0;
    for (int i = 0; i < dim; i++) {
        double d = x[i] - mean, d2 = d * d;
        m2 += d2, m3 += d2 * d, m4 += d2 * d2;
    }
    m2 /= dim, m3 /= dim, m4 /= dim;
    out->mean = mean;
    out->std = sqrt(m2);
    if (m2 > 0) {
        out->skew = m3 / (m2 * out->std);
        out->kurt = m4 / (m2 * m2) - 3;
    }
    /* histogram of the k largest |x| in units of the state's own std, so it
     * describes the shape of the outliers whatever the scale */
    float mags[VEIL_MAX_DIM > 4096 ? 4096 : VEIL_MAX_DIM], *buf = mags;
    if (dim > 4096 && !(buf = malloc(sizeof(float) * dim))) return;
    for (int i = 0; i < dim; i++) buf[i] = isnan(x[i]) ? INFINITY : fabsf(x[i]);
    qsort(buf, dim, sizeof(float), cmp_desc);
    if (k > dim) k = dim;
    double scale = out->std > 0 ? out->std : 1;
    for (int j = 0; j < k; j++) {
        double v = buf[j] / scale;
        int bin = 0;
        while (bin < VEIL_CDV_BINS - 1 && !(v < BIN_EDGES[bin])) bin++;
        out->hist[bin] += 1.0 / k;
    }
    if (buf != mags) free(buf);
}

static double hist_l1(const double *a, const double *b)
{
    double d = 0;
    for (int i = 0; i < VEIL_CDV_BINS; i++) d += fabs(a[i] - b[i]);
    return d;
}

static double zsq(double v, double mu, double sd)
{
    double z = (v - mu) / sd;
    return isfinite(z) ? z * z : 1e12; /* NaN/inf outputs are maximally suspicious */
}

double veil_cdv_score(const veil_cdv_boundary *b, int k, const veil_cdv_stats *s)
{
    (void)k;
    const double v[4] = {s->mean, s->std, s->skew, s->kurt};
    double sum = 0;
    for (int i = 0; i < 4; i++) sum += zsq(v[i], b->mu[i], b->sd[i]);
    sum += zsq(hist_l1(s->hist, b->hist), b->hd_mu, b->hd_sd);
    return sum / VEIL_CDV_FEATURES;
}

/* ---- profiler ------------------------------------------------------------------ */

struct veil_cdv_profiler {
    int n_layers, dim, k;
    uint8_t sha[32];
    veil_cdv_stats **st; /* per boundary, growing arrays */
    long *n, *cap;
    int failed;
};

int veil_cdv_profiler_new(const veil_model *m, int k, veil_cdv_profiler **out)
{
    *out = NULL;
    if (k < 1 || k > m->cfg.dim) return veil_fail(VEIL_EINVAL, "CDV k %d outside 1..dim", k);
    veil_cdv_profiler *p = calloc(1, sizeof *p);
    if (!p) return veil_fail(VEIL_ENOMEM, "out of memory");
    p->n_layers = m->cfg.n_layers, p->dim = m->cfg.dim, p->k = k;
    memcpy(p->sha, m->sha256, 32);
    p->st = calloc(p->n_layers, sizeof *p->st);
    p->n = calloc(p->n_layers, sizeof *p->n);
    p->cap = calloc(p->n_layers, sizeof *p->cap);
    if (!p->st || !p->n || !p->cap) {
        veil_cdv_profiler_free(p);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    *out = p;
    return 0;
}

void veil_cdv_profiler_free(veil_cdv_profiler *p)
{
    if (!p) return;
    for (int l = 0; p->st && l < p->n_layers; l++) free(p->st[l]);
    free(p->st);
    free(p->n);
    free(p->cap);
    free(p);
}

void veil_cdv_profiler_hook(void *ctx, int layer, int pos, int T, const float *x)
{
    veil_cdv_profiler *p = ctx;
    (void)pos;
    if (layer < 0 || layer >= p->n_layers) return;
    if (p->n[layer] + T > p->cap[layer]) {
        long cap = (p->cap[layer] + T) * 2;
        veil_cdv_stats *g = realloc(p->st[layer], sizeof *g * cap);
        if (!g) {
            p->failed = 1;
            return;
        }
        p->st[layer] = g, p->cap[layer] = cap;
    }
    for (int t = 0; t < T; t++)
        veil_cdv_stats_of(x + (size_t)t * p->dim, p->dim, p->k, &p->st[layer][p->n[layer]++]);
}

static double floor_sd(double sd, double mu)
{
    double f = 1e-6 * fabs(mu) + 1e-9; /* a constant feature still gets a scale */
    return sd > f ? sd : f;
}

/* Mean/sd of every feature, then the score distribution, over one boundary. */
static void build_boundary(const veil_cdv_stats *st, long n, int k, veil_cdv_boundary *b)
{
    memset(b, 0, sizeof *b);
    double s[4] = {0}, q[4] = {0};
    for (long i = 0; i < n; i++) {
        const double v[4] = {st[i].mean, st[i].std, st[i].skew, st[i].kurt};
        for (int j = 0; j < 4; j++) s[j] += v[j], q[j] += v[j] * v[j];
        for (int j = 0; j < VEIL_CDV_BINS; j++) b->hist[j] += st[i].hist[j] / n;
    }
    for (int j = 0; j < 4; j++) {
        b->mu[j] = s[j] / n;
        b->sd[j] = floor_sd(sqrt(fmax(0, q[j] / n - b->mu[j] * b->mu[j])), b->mu[j]);
    }
    double hs = 0, hq = 0;
    for (long i = 0; i < n; i++) {
        double d = hist_l1(st[i].hist, b->hist);
        hs += d, hq += d * d;
    }
    b->hd_mu = hs / n;
    b->hd_sd = floor_sd(sqrt(fmax(0, hq / n - b->hd_mu * b->hd_mu)), b->hd_mu);
    double ss = 0, sq = 0;
    for (long i = 0; i < n; i++) {
        double sc = veil_cdv_score(b, k, &st[i]);
        ss += sc, sq += sc * sc;
        if (sc > b->score_max) b->score_max = sc;
    }
    b->score_mu = ss / n;
    b->score_sd = floor_sd(sqrt(fmax(0, sq / n - b->score_mu * b->score_mu)), b->score_mu);
}

int veil_cdv_profiler_finish(veil_cdv_profiler *p, veil_cdv_profile **out)
{
    *out = NULL;
    if (p->failed) return veil_fail(VEIL_ENOMEM, "CDV profiler ran out of memory");
    for (int l = 0; l < p->n_layers; l++)
        if (p->n[l] < 2) return veil_fail(VEIL_EINVAL, "CDV profile needs >= 2 tokens per layer");
    veil_cdv_profile *r = calloc(1, sizeof *r);
    if (!r || !(r->b = calloc(p->n_layers, sizeof *r->b))) {
        free(r);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    r->n_layers = p->n_layers, r->dim = p->dim, r->k = p->k, r->tokens = p->n[0];
    memcpy(r->model_sha, p->sha, 32);
    for (int l = 0; l < p->n_layers; l++) build_boundary(p->st[l], p->n[l], p->k, &r->b[l]);
    *out = r;
    return 0;
}

void veil_cdv_profile_free(veil_cdv_profile *p)
{
    if (!p) return;
    free(p->b);
    free(p);
}

/* ---- profile file: text, one line per boundary ------------------------------------ */

#define BOUNDARY_FIELDS (8 + 5 + VEIL_CDV_BINS)

static void boundary_fields(veil_cdv_boundary *b, double **f)
{
    for (int j = 0; j < 4; j++) f[2 * j] = &b->mu[j], f[2 * j + 1] = &b->sd[j];
    f[8] = &b->hd_mu, f[9] = &b->hd_sd, f[10] = &b->score_mu, f[11] = &b->score_sd,
    f[12] = &b->score_max;
    for (int j = 0; j < VEIL_CDV_BINS; j++) f[13 + j] = &b->hist[j];
}

int veil_cdv_profile_save(const veil_cdv_profile *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return veil_fail(VEIL_EIO, "cannot write %s", path);
    char hex[65];
    veil_hex(p->model_sha, 32, hex);
    fprintf(f, "veil-cdv-profile 1\nmodel %s\nshape %d %d %d %ld\n", hex, p->n_layers, p->dim,
            p->k, p->tokens);
    for (int l = 0; l < p->n_layers; l++) {
        double *fl[BOUNDARY_FIELDS];
        boundary_fields(&p->b[l], fl);
        fprintf(f, "boundary %d", l);
        for (int j = 0; j < BOUNDARY_FIELDS; j++) fprintf(f, " %.17g", *fl[j]);
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) || bad) return veil_fail(VEIL_EIO, "error writing %s", path);
    return 0;
}

/* Parse "boundary L v1 ... vN" into b; every value finite, sds positive. */
static int parse_boundary(const char *line, int want, veil_cdv_boundary *b)
{
    char *end;
    if (strncmp(line, "boundary ", 9) != 0) return -1;
    long l = strtol(line + 9, &end, 10);
    if (end == line + 9 || l != want) return -1;
    double *f[BOUNDARY_FIELDS];
    boundary_fields(b, f);
    for (int j = 0; j < BOUNDARY_FIELDS; j++) {
        const char *s = end;
        *f[j] = strtod(s, &end);
        if (end == s || !isfinite(*f[j]) || fabs(*f[j]) > 1e30) return -1;
    }
    while (*end == ' ' || *end == '\n' || *end == '\r') end++;
    if (*end) return -1;
    for (int j = 0; j < 4; j++)
        if (!(b->sd[j] > 0)) return -1;
    return b->hd_sd > 0 && b->score_sd > 0 && b->score_max >= 0 ? 0 : -1;
}

static int load_header(FILE *f, veil_cdv_profile *p)
{
    char line[256], hex[80];
    if (!fgets(line, sizeof line, f) || strcmp(line, "veil-cdv-profile 1\n") != 0) return -1;
    if (!fgets(line, sizeof line, f) || sscanf(line, "model %70s", hex) != 1 || strlen(hex) != 64 ||
        veil_unhex(hex, p->model_sha, 32))
        return -1;
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "shape %d %d %d %ld", &p->n_layers, &p->dim, &p->k, &p->tokens) != 4)
        return -1;
    if (p->n_layers < 1 || p->n_layers > VEIL_MAX_LAYERS || p->dim < 1 || p->dim > VEIL_MAX_DIM ||
        p->k < 1 || p->k > p->dim || p->tokens < 2)
        return -1;
    return 0;
}

int veil_cdv_profile_load(const char *path, veil_cdv_profile **out)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return veil_fail(VEIL_EIO, "cannot open CDV profile %s", path);
    veil_cdv_profile *p = calloc(1, sizeof *p);
    int rc = p ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && load_header(f, p)) rc = veil_fail(VEIL_EINVAL, "%s: bad CDV profile header", path);
    if (!rc && !(p->b = calloc(p->n_layers, sizeof *p->b)))
        rc = veil_fail(VEIL_ENOMEM, "out of memory");
    char line[4096];
    for (int l = 0; !rc && l < (p ? p->n_layers : 0); l++) {
        if (!fgets(line, sizeof line, f) || !strchr(line, '\n') || parse_boundary(line, l, &p->b[l]))
            rc = veil_fail(VEIL_EINVAL, "%s: bad or missing line for boundary %d", path, l);
    }
    if (!rc && fgets(line, sizeof line, f)) rc = veil_fail(VEIL_EINVAL, "%s: trailing data", path);
    fclose(f);
    if (rc) {
        veil_cdv_profile_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- the adaptive test ---------------------------------------------------------------- */

veil_cdv_opts veil_cdv_defaults(void)
{
    /* calibrated with bench_verify on honest generations not in the profile
     * corpus: zero false alarms over >= 1000 tokens per boundary */
    return (veil_cdv_opts){.lambda = 0.1, .L = 6, .hard = 4};
}

int veil_cdv_observe(const veil_cdv_profile *p, int boundary, veil_cdv_monitor *mon,
                     const float *x, int T, const veil_cdv_opts *o, veil_cdv_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (boundary < 0 || boundary >= p->n_layers || T < 1)
        return veil_fail(VEIL_ERANGE, "CDV boundary %d outside the profile's %d layers", boundary,
                         p->n_layers);
    const veil_cdv_boundary *b = &p->b[boundary];
    double lam = o->lambda;
    for (int t = 0; t < T; t++) {
        veil_cdv_stats st;
        veil_cdv_stats_of(x + (size_t)t * p->dim, p->dim, p->k, &st);
        double s = veil_cdv_score(b, p->k, &st);
        if (mon->n == 0) mon->ewma = b->score_mu;
        mon->n++;
        mon->ewma = lam * fmin(s, 1e12) + (1 - lam) * mon->ewma;
        /* EWMA chart limit: mu + L sd sqrt(lam/(2-lam) (1 - (1-lam)^2n)) */
        double w = lam / (2 - lam) * (1 - pow(1 - lam, 2.0 * (double)mon->n));
        v->score = s;
        v->ewma = mon->ewma;
        v->limit = b->score_mu + o->L * b->score_sd * sqrt(w);
        v->hard_limit = o->hard * b->score_max;
        if (!(s <= v->hard_limit)) {
            v->flagged = 1;
            snprintf(v->reason, sizeof v->reason,
                     "CDV: output of layer %d off the reference profile (score %.3g > %.3g)",
                     boundary, s, v->hard_limit);
            return 0;
        }
        if (mon->ewma > v->limit) {
            v->flagged = 1;
            snprintf(v->reason, sizeof v->reason,
                     "CDV: output statistics of layer %d drift (EWMA %.3g > limit %.3g after %ld "
                     "tokens)", boundary, mon->ewma, v->limit, mon->n);
            return 0;
        }
    }
    return 0;
}
