/* Dishonest shards for tests and demos: one single-layer veil_shard per layer
 * so that a mode can skip, replace or perturb what an honest node computes. */
#include "veil/adversary.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct veil_adv_shard {
    veil_adv_mode mode;
    veil_config cfg;
    int first, last, skip; /* skip: absolute layer index skipped */
    veil_shard **layer;    /* last-first single-layer shards (NULL when skipped) */
    veil_model *alt;       /* wrong-model checkpoint */
    uint64_t rng;
    float *stale;          /* previous output row (dim) */
    int have_stale;
    veil_layer_hook hook;
    void *hook_ctx;
    char banner[160];
};

static const struct {
    const char *name;
    veil_adv_kind kind;
} NAMES[] = {
    {"honest", VEIL_ADV_HONEST},   {"wrong-model", VEIL_ADV_WRONG_MODEL},
    {"noise", VEIL_ADV_NOISE},     {"skip-layer", VEIL_ADV_SKIP_LAYER},
    {"stale", VEIL_ADV_STALE},     {"random", VEIL_ADV_RANDOM},
    {"lazy", VEIL_ADV_LAZY},       {"collude", VEIL_ADV_COLLUDE},
    {"jitter", VEIL_ADV_JITTER},
};
#define NNAMES (sizeof NAMES / sizeof *NAMES)

static int parse_param(veil_adv_mode *m, const char *arg, const char *mode)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !isfinite(v))
        return veil_fail(VEIL_EINVAL, "adversary %s: bad parameter '%s'", mode, arg);
    if ((m->kind == VEIL_ADV_NOISE || m->kind == VEIL_ADV_JITTER) && !(v >= 0 && v <= 1e6))
        return veil_fail(VEIL_EINVAL, "adversary %s: SIGMA/EPS must be in [0, 1e6]", mode);
    if (m->kind == VEIL_ADV_SKIP_LAYER && (v < 0 || v > VEIL_MAX_LAYERS || v != floor(v)))
        return veil_fail(VEIL_EINVAL, "adversary skip-layer: layer must be an integer index");
    if (m->kind == VEIL_ADV_COLLUDE && (v < 0 || v > 1e15 || v != floor(v)))
        return veil_fail(VEIL_EINVAL, "adversary collude: seed must be a non-negative integer");
    m->param = v;
    return 0;
}

int veil_adv_parse(const char *s, veil_adv_mode *out)
{
    memset(out, 0, sizeof *out);
    out->param = -1;
    if (!s) return veil_fail(VEIL_EINVAL, "adversary mode missing");
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    for (size_t i = 0; i < NNAMES; i++) {
        if (strlen(NAMES[i].name) != n || strncmp(s, NAMES[i].name, n)) continue;
        out->kind = NAMES[i].kind;
        if (out->kind == VEIL_ADV_COLLUDE) out->param = 7;
        if (!colon) {
            if (out->kind == VEIL_ADV_NOISE || out->kind == VEIL_ADV_JITTER)
                return veil_fail(VEIL_EINVAL, "adversary %s needs a value, e.g. %s:0.01",
                                 NAMES[i].name, NAMES[i].name);
            return 0;
        }
        if (out->kind == VEIL_ADV_WRONG_MODEL) {
            if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof out->path)
                return veil_fail(VEIL_EINVAL, "adversary wrong-model: bad path");
            strcpy(out->path, colon + 1);
            return 0;
        }
        if (out->kind == VEIL_ADV_NOISE || out->kind == VEIL_ADV_JITTER ||
            out->kind == VEIL_ADV_SKIP_LAYER || out->kind == VEIL_ADV_COLLUDE)
            return parse_param(out, colon + 1, NAMES[i].name);
        return veil_fail(VEIL_EINVAL, "adversary %s takes no parameter", NAMES[i].name);
    }
    return veil_fail(VEIL_EINVAL,
                     "unknown adversary mode '%s' (wrong-model, noise:SIGMA, skip-layer, stale, "
                     "random, lazy, collude)", s);
}

const char *veil_adv_name(const veil_adv_mode *m, char *buf, size_t cap)
{
    const char *name = "?";
    for (size_t i = 0; i < NNAMES; i++)
        if (NAMES[i].kind == m->kind) name = NAMES[i].name;
    if (m->kind == VEIL_ADV_NOISE || m->kind == VEIL_ADV_JITTER)
        snprintf(buf, cap, "%s:%g", name, m->param);
    else if (m->kind == VEIL_ADV_SKIP_LAYER && m->param >= 0)
        snprintf(buf, cap, "%s:%d", name, (int)m->param);
    else
        snprintf(buf, cap, "%s", name);
    return buf;
}

/* splitmix64 and Box-Muller: the adversary's own randomness */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double gauss(uint64_t *s)
{
    double u1 = ((mix(s) >> 11) + 1.0) * 0x1.0p-53, u2 = (mix(s) >> 11) * 0x1.0p-53;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static const char *default_altered(char *buf, size_t cap)
{
    const char *dir = getenv("VEIL_MODEL_DIR");
    snprintf(buf, cap, "%s/adversarial/stories260K-altered.bin",
             dir && *dir ? dir : "../shared/models");
    return buf;
}

/* wrong-model: the same layer range from another checkpoint of this shape */
static int open_alt(veil_adv_shard *a, const veil_layer **layers)
{
    char def[1100];
    const char *path = a->mode.path[0] ? a->mode.path : default_altered(def, sizeof def);
    int rc = veil_model_open(path, &a->alt);
    if (rc) return rc;
    if (memcmp(&a->alt->cfg, &a->cfg, sizeof a->cfg) != 0)
        return veil_fail(VEIL_EINVAL, "wrong-model %s: shape differs from the served model", path);
    *layers = a->alt->layers + a->first;
    return 0;
}

static void make_banner(veil_adv_shard *a)
{
    char name[64];
    veil_adv_name(&a->mode, name, sizeof name);
    if (a->mode.kind == VEIL_ADV_HONEST) {
        snprintf(a->banner, sizeof a->banner, "honest node (adversary wrapper, no misbehaviour)");
        return;
    }
    snprintf(a->banner, sizeof a->banner, "ADVERSARIAL node: mode %s, layers [%d,%d)%s", name,
             a->first, a->last, a->mode.kind == VEIL_ADV_JITTER ? " (honest, non-reproducible)" : "");
    if (a->mode.kind == VEIL_ADV_SKIP_LAYER) {
        size_t n = strlen(a->banner);
        snprintf(a->banner + n, sizeof a->banner - n, ", skips layer %d", a->skip);
    }
}

int veil_adv_new(const veil_config *cfg, int first, int last, const veil_layer *layers,
                 int max_seq, const veil_adv_mode *mode, uint64_t seed, veil_adv_shard **out)
{
    *out = NULL;
    int rc = veil_config_validate(cfg);
    if (rc) return rc;
    if (first < 0 || last > cfg->n_layers || first >= last)
        return veil_fail(VEIL_ERANGE, "layer range [%d,%d) outside model", first, last);
    veil_adv_shard *a = calloc(1, sizeof *a);
    if (!a) return veil_fail(VEIL_ENOMEM, "out of memory");
    a->mode = *mode;
    a->cfg = *cfg;
    a->first = first, a->last = last;
    a->skip = mode->kind != VEIL_ADV_SKIP_LAYER ? -1 : mode->param < 0 ? last - 1 : (int)mode->param;
    a->rng = mode->kind == VEIL_ADV_COLLUDE ? (uint64_t)mode->param : seed;
    a->layer = calloc(last - first, sizeof *a->layer);
    a->stale = calloc(cfg->dim, sizeof(float));
    if (!a->layer || !a->stale) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && a->skip >= 0 && (a->skip < first || a->skip >= last))
        rc = veil_fail(VEIL_ERANGE, "skip-layer %d outside the shard [%d,%d)", a->skip, first, last);
    if (!rc && mode->kind == VEIL_ADV_WRONG_MODEL) rc = open_alt(a, &layers);
    for (int l = first; !rc && l < last; l++)
        if (l != a->skip) rc = veil_shard_new(cfg, l, l + 1, &layers[l - first], max_seq,
                                              &a->layer[l - first]);
    if (rc) {
        veil_adv_free(a);
        return rc;
    }
    make_banner(a);
    *out = a;
    return 0;
}

void veil_adv_free(veil_adv_shard *a)
{
    if (!a) return;
    for (int i = 0; a->layer && i < a->last - a->first; i++) veil_shard_free(a->layer[i]);
    free(a->layer);
    if (a->stale) veil_wipe(a->stale, sizeof(float) * a->cfg.dim);
    free(a->stale);
    veil_model_close(a->alt);
    free(a);
}

void veil_adv_set_hook(veil_adv_shard *a, veil_layer_hook hook, void *ctx)
{
    a->hook = hook;
    a->hook_ctx = ctx;
}

const char *veil_adv_banner(const veil_adv_shard *a) { return a->banner; }

static void add_noise(float *x, size_t n, double sigma, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) x[i] += (float)(sigma * gauss(rng));
}

static double rms(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s / (n ? n : 1));
}

/* noise and collude alter the shard's final output (before the hook sees
 * it, so the per-layer claims match what the node sends) */
static void tamper_output(veil_adv_shard *a, int pos, float *x, size_t n)
{
    if (a->mode.kind == VEIL_ADV_NOISE) add_noise(x, n, a->mode.param, &a->rng);
    if (a->mode.kind == VEIL_ADV_COLLUDE) {
        /* the same wrong answer on both colluders: noise keyed by the shared
         * seed and the position, 1% of the output's rms */
        uint64_t s = (uint64_t)a->mode.param * 1000003u + (uint64_t)pos;
        add_noise(x, n, 0.01 * rms(x, n), &s);
    }
}

/* Honest layers one by one (skipping a->skip), with per-layer jitter. */
static int run_layers(veil_adv_shard *a, int pos, int T, float *x)
{
    size_t n = (size_t)T * a->cfg.dim;
    for (int l = a->first; l < a->last; l++) {
        if (l != a->skip) {
            int rc = veil_shard_forward_batch(a->layer[l - a->first], pos, T, x);
            if (rc) return rc;
        }
        if (a->mode.kind == VEIL_ADV_JITTER)
            for (size_t i = 0; i < n; i++)
                x[i] *= (float)(1 + a->mode.param * gauss(&a->rng));
        if (l == a->last - 1) tamper_output(a, pos, x, n);
        if (a->hook) a->hook(a->hook_ctx, l, pos, T, x);
    }
    return 0;
}

/* Modes that do not compute: fill x, and tell the hook the final state for
 * every layer (what a cheater would claim). */
static void fake_output(veil_adv_shard *a, int pos, int T, float *x)
{
    size_t dim = a->cfg.dim, n = (size_t)T * dim;
    if (a->mode.kind == VEIL_ADV_RANDOM) {
        double scale = rms(x, n);
        for (size_t i = 0; i < n; i++) x[i] = (float)(scale * gauss(&a->rng));
    } else if (a->mode.kind == VEIL_ADV_STALE) {
        for (int t = 0; t < T; t++) memcpy(x + t * dim, a->stale, dim * sizeof(float));
    } /* lazy: x stays the input */
    for (int l = a->first; a->hook && l < a->last; l++) a->hook(a->hook_ctx, l, pos, T, x);
}

int veil_adv_forward(veil_adv_shard *a, int pos, int T, float *x)
{
    if (pos < 0 || T < 1) return veil_fail(VEIL_ERANGE, "bad positions %d+%d", pos, T);
    veil_adv_kind k = a->mode.kind;
    size_t dim = a->cfg.dim;
    if (k == VEIL_ADV_RANDOM || k == VEIL_ADV_LAZY || (k == VEIL_ADV_STALE && a->have_stale)) {
        fake_output(a, pos, T, x);
        return 0;
    }
    int rc = run_layers(a, pos, T, x);
    if (rc) return rc;
    if (k == VEIL_ADV_STALE) {
        memcpy(a->stale, x + (size_t)(T - 1) * dim, dim * sizeof(float));
        a->have_stale = 1;
    }
    return 0;
}
