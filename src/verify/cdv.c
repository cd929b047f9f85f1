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

static double coord_dist(const veil_cdv_boundary *b, const float *x, int dim)
{
    double d = 0;
    for (int i = 0; i < dim; i++) d += zsq(x[i], b->coord_mu[i], b->coord_sd[i]);
    return d / dim;
}

static double score_of(const veil_cdv_boundary *b, const veil_cdv_stats *s, double cd)
{
    const double v[4] = {s->mean, s->std, s->skew, s->kurt};
    double sum = 0;
    for (int i = 0; i < 4; i++) sum += zsq(v[i], b->mu[i], b->sd[i]);
    sum += zsq(hist_l1(s->hist, b->hist), b->hd_mu, b->hd_sd);
    sum += zsq(cd, b->cd_mu, b->cd_sd);
    return sum / VEIL_CDV_FEATURES;
}

double veil_cdv_score(const veil_cdv_profile *p, int boundary, const float *x)
{
    if (boundary < 0 || boundary >= p->n_layers) return INFINITY;
    veil_cdv_stats st;
    veil_cdv_stats_of(x, p->dim, p->k, &st);
    const veil_cdv_boundary *b = &p->b[boundary];
    return score_of(b, &st, coord_dist(b, x, p->dim));
}

/* ---- profiler ------------------------------------------------------------------ */

struct veil_cdv_profiler {
    int n_layers, dim, k;
    uint8_t sha[32];
    float **rows; /* per boundary, growing arrays of dim floats */
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
    p->rows = calloc(p->n_layers, sizeof *p->rows);
    p->n = calloc(p->n_layers, sizeof *p->n);
    p->cap = calloc(p->n_layers, sizeof *p->cap);
    if (!p->rows || !p->n || !p->cap) {
        veil_cdv_profiler_free(p);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    *out = p;
    return 0;
}

void veil_cdv_profiler_free(veil_cdv_profiler *p)
{
    if (!p) return;
    for (int l = 0; p->rows && l < p->n_layers; l++) free(p->rows[l]);
    free(p->rows);
    free(p->n);
    free(p->cap);
    free(p);
}

void veil_cdv_profiler_hook(void *ctx, int layer, int pos, int T, const float *x)
{
    veil_cdv_profiler *p = ctx;
    (void)pos;
    if (layer < 0 || layer >= p->n_layers || p->failed) return;
    if (p->n[layer] + T > p->cap[layer]) {
        long cap = (p->cap[layer] + T) * 2;
        float *g = realloc(p->rows[layer], sizeof(float) * p->dim * cap);
        if (!g) {
            p->failed = 1;
            return;
        }
        p->rows[layer] = g, p->cap[layer] = cap;
    }
    memcpy(p->rows[layer] + (size_t)p->n[layer] * p->dim, x, sizeof(float) * p->dim * T);
    p->n[layer] += T;
}

static double floor_sd(double sd, double mu)
{
    double f = 1e-6 * fabs(mu) + 1e-9; /* a constant feature still gets a scale */
    return sd > f ? sd : f;
}

/* Running mean/sd of a feature. */
typedef struct {
    double s, q;
    long n;
} moments;

static void mom_add(moments *m, double v) { m->s += v, m->q += v * v, m->n++; }
static double mom_mu(const moments *m) { return m->s / m->n; }
static double mom_sd(const moments *m)
{
    double mu = mom_mu(m);
    return floor_sd(sqrt(fmax(0, m->q / m->n - mu * mu)), mu);
}

/* Pass 1: per-coordinate moments and the scalar features' moments. */
static void boundary_pass1(const float *rows, long n, int dim, int k, veil_cdv_boundary *b,
                           veil_cdv_stats *st)
{
    moments f[4] = {{0}};
    for (long i = 0; i < n; i++) {
        const float *x = rows + (size_t)i * dim;
        veil_cdv_stats_of(x, dim, k, &st[i]);
        const double v[4] = {st[i].mean, st[i].std, st[i].skew, st[i].kurt};
        for (int j = 0; j < 4; j++) mom_add(&f[j], v[j]);
        for (int j = 0; j < VEIL_CDV_BINS; j++) b->hist[j] += st[i].hist[j] / n;
        for (int j = 0; j < dim; j++) b->coord_mu[j] += x[j], b->coord_sd[j] += (double)x[j] * x[j];
    }
    for (int j = 0; j < 4; j++) b->mu[j] = mom_mu(&f[j]), b->sd[j] = mom_sd(&f[j]);
    for (int j = 0; j < dim; j++) {
        double mu = b->coord_mu[j] / n;
        b->coord_mu[j] = mu;
        b->coord_sd[j] = floor_sd(sqrt(fmax(0, b->coord_sd[j] / n - mu * mu)), mu);
    }
}

/* Pass 2: the distance features, then the score distribution. */
static void boundary_pass2(const float *rows, long n, int dim, veil_cdv_boundary *b,
                           const veil_cdv_stats *st, double *cd)
{
    moments h = {0}, c = {0}, sc = {0};
    for (long i = 0; i < n; i++) {
        mom_add(&h, hist_l1(st[i].hist, b->hist));
        cd[i] = coord_dist(b, rows + (size_t)i * dim, dim);
        mom_add(&c, cd[i]);
    }
    b->hd_mu = mom_mu(&h), b->hd_sd = mom_sd(&h);
    b->cd_mu = mom_mu(&c), b->cd_sd = mom_sd(&c);
    b->score_max = 0;
    for (long i = 0; i < n; i++) {
        double v = score_of(b, &st[i], cd[i]);
        mom_add(&sc, v);
        if (v > b->score_max) b->score_max = v;
    }
    b->score_mu = mom_mu(&sc), b->score_sd = mom_sd(&sc);
}

static int alloc_coords(veil_cdv_profile *r)
{
    for (int l = 0; l < r->n_layers; l++) {
        r->b[l].coord_mu = calloc(r->dim, sizeof(double));
        r->b[l].coord_sd = calloc(r->dim, sizeof(double));
        if (!r->b[l].coord_mu || !r->b[l].coord_sd) return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    return 0;
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
    int rc = alloc_coords(r);
    for (int l = 0; !rc && l < p->n_layers; l++) {
        veil_cdv_stats *st = malloc(sizeof *st * p->n[l]);
        double *cd = malloc(sizeof(double) * p->n[l]);
        if (!st || !cd) rc = veil_fail(VEIL_ENOMEM, "out of memory");
        if (!rc) {
            boundary_pass1(p->rows[l], p->n[l], p->dim, p->k, &r->b[l], st);
            boundary_pass2(p->rows[l], p->n[l], p->dim, &r->b[l], st, cd);
        }
        free(st);
        free(cd);
    }
    if (rc) {
        veil_cdv_profile_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void veil_cdv_profile_free(veil_cdv_profile *p)
{
    if (!p) return;
    for (int l = 0; p->b && l < p->n_layers; l++) {
        free(p->b[l].coord_mu);
        free(p->b[l].coord_sd);
    }
    free(p->b);
    free(p);
}

/* ---- profile file: text, one line per boundary, one per coordinate ---------------------- */

#define BOUNDARY_FIELDS (8 + 7 + VEIL_CDV_BINS)

static void boundary_fields(veil_cdv_boundary *b, double **f)
{
    for (int j = 0; j < 4; j++) f[2 * j] = &b->mu[j], f[2 * j + 1] = &b->sd[j];
    f[8] = &b->hd_mu, f[9] = &b->hd_sd, f[10] = &b->cd_mu, f[11] = &b->cd_sd;
    f[12] = &b->score_mu, f[13] = &b->score_sd, f[14] = &b->score_max;
    for (int j = 0; j < VEIL_CDV_BINS; j++) f[15 + j] = &b->hist[j];
}

int veil_cdv_profile_save(const veil_cdv_profile *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return veil_fail(VEIL_EIO, "cannot write %s", path);
    char hex[65];
    veil_hex(p->model_sha, 32, hex);
    fprintf(f, "veil-cdv-profile 2\nmodel %s\nshape %d %d %d %ld\n", hex, p->n_layers, p->dim,
            p->k, p->tokens);
    for (int l = 0; l < p->n_layers; l++) {
        double *fl[BOUNDARY_FIELDS];
        boundary_fields(&p->b[l], fl);
        fprintf(f, "boundary %d", l);
        for (int j = 0; j < BOUNDARY_FIELDS; j++) fprintf(f, " %.17g", *fl[j]);
        fputc('\n', f);
        for (int i = 0; i < p->dim; i++)
            fprintf(f, "coord %d %.9g %.9g\n", i, p->b[l].coord_mu[i], p->b[l].coord_sd[i]);
    }
    int bad = ferror(f);
    if (fclose(f) || bad) return veil_fail(VEIL_EIO, "error writing %s", path);
    return 0;
}

/* strtod over `n` space-separated finite values after *pp; 0 on success. */
static int parse_values(const char **pp, double *const *out, int n)
{
    const char *s = *pp;
    for (int j = 0; j < n; j++) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || fabs(v) > 1e30) return -1;
        *out[j] = v;
        s = end;
    }
    while (*s == ' ' || *s == '\n' || *s == '\r') s++;
    *pp = s;
    return *s ? -1 : 0;
}

static int parse_index(const char **pp, const char *tag, long want)
{
    size_t n = strlen(tag);
    if (strncmp(*pp, tag, n) != 0) return -1;
    char *end;
    long v = strtol(*pp + n, &end, 10);
    if (end == *pp + n || v != want) return -1;
    *pp = end;
    return 0;
}

static int parse_boundary(const char *line, int want, veil_cdv_boundary *b)
{
    double *f[BOUNDARY_FIELDS];
    boundary_fields(b, f);
    if (parse_index(&line, "boundary ", want) || parse_values(&line, f, BOUNDARY_FIELDS)) return -1;
    for (int j = 0; j < 4; j++)
        if (!(b->sd[j] > 0)) return -1;
    return b->hd_sd > 0 && b->cd_sd > 0 && b->score_sd > 0 && b->score_max >= 0 ? 0 : -1;
}

static int parse_coord(const char *line, int want, veil_cdv_boundary *b)
{
    double *f[2] = {&b->coord_mu[want], &b->coord_sd[want]};
    if (parse_index(&line, "coord ", want) || parse_values(&line, f, 2)) return -1;
    return b->coord_sd[want] > 0 ? 0 : -1;
}

static int load_header(FILE *f, veil_cdv_profile *p)
{
    char line[256], hex[80];
    if (!fgets(line, sizeof line, f) || strcmp(line, "veil-cdv-profile 2\n") != 0) return -1;
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

static int load_body(FILE *f, const char *path, veil_cdv_profile *p)
{
    char line[4096];
    for (int l = 0; l < p->n_layers; l++) {
        if (!fgets(line, sizeof line, f) || !strchr(line, '\n') || parse_boundary(line, l, &p->b[l]))
            return veil_fail(VEIL_EINVAL, "%s: bad or missing line for boundary %d", path, l);
        for (int i = 0; i < p->dim; i++)
            if (!fgets(line, sizeof line, f) || !strchr(line, '\n') ||
                parse_coord(line, i, &p->b[l]))
                return veil_fail(VEIL_EINVAL, "%s: bad coordinate %d of boundary %d", path, i, l);
    }
    if (fgets(line, sizeof line, f)) return veil_fail(VEIL_EINVAL, "%s: trailing data", path);
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
    if (!rc) rc = alloc_coords(p);
    if (!rc) rc = load_body(f, path, p);
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
    return (veil_cdv_opts){.lambda = 0.1, .L = 5, .hard = 3};
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
        double s = veil_cdv_score(p, boundary, x + (size_t)t * p->dim);
        if (mon->n == 0) mon->ewma = b->score_mu;
        mon->n++;
        /* capped at mu + 3 sd: single extreme tokens are the hard test's
         * business, the EWMA looks for a sustained shift */
        mon->ewma = lam * fmin(s, b->score_mu + 3 * b->score_sd) + (1 - lam) * mon->ewma;
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
