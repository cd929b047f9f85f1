/* Per-layer fingerprint recording, dispute bisection and the client's
 * one-layer recomputation that names the guilty replica. */
#include "veil/verify.h"

#include <stdlib.h>
#include <string.h>

struct veil_fp_recorder {
    int first, last, dim, history_seq;
    veil_fp_builder **b; /* one per layer */
    float **hist;        /* last-first+1 arrays: [0] = shard input */
    int failed;          /* a hook call could not be recorded */
};

int veil_fp_recorder_new(int first, int last, int dim, int k, int history_seq,
                         veil_fp_recorder **out)
{
    *out = NULL;
    if (first < 0 || last <= first || last > VEIL_MAX_LAYERS || dim < 1 || history_seq < 0 ||
        history_seq > VEIL_MAX_SEQ)
        return veil_fail(VEIL_EINVAL, "recorder: bad layer range or sizes");
    veil_fp_recorder *r = calloc(1, sizeof *r);
    if (!r) return veil_fail(VEIL_ENOMEM, "out of memory");
    r->first = first, r->last = last, r->dim = dim, r->history_seq = history_seq;
    int n = last - first, rc = 0;
    r->b = calloc(n, sizeof *r->b);
    r->hist = calloc(n + 1, sizeof *r->hist);
    if (!r->b || !r->hist) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) rc = veil_fp_builder_new(k, dim, &r->b[i]);
    for (int i = 0; !rc && history_seq && i <= n; i++)
        if (!(r->hist[i] = calloc((size_t)history_seq * dim, sizeof(float))))
            rc = veil_fail(VEIL_ENOMEM, "out of memory for recorder history");
    if (rc) {
        veil_fp_recorder_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void veil_fp_recorder_free(veil_fp_recorder *r)
{
    if (!r) return;
    int n = r->last - r->first;
    for (int i = 0; r->b && i < n; i++) veil_fp_builder_free(r->b[i]);
    for (int i = 0; r->hist && i <= n; i++) {
        if (r->hist[i]) veil_wipe(r->hist[i], (size_t)r->history_seq * r->dim * sizeof(float));
        free(r->hist[i]);
    }
    free(r->b);
    free(r->hist);
    free(r);
}

static void keep_history(veil_fp_recorder *r, int slot, int pos, int T, const float *x)
{
    if (!r->history_seq || pos < 0) return;
    int n = pos + T > r->history_seq ? r->history_seq - pos : T;
    if (n > 0) memcpy(r->hist[slot] + (size_t)pos * r->dim, x, (size_t)n * r->dim * sizeof(float));
}

void veil_fp_recorder_begin(veil_fp_recorder *r, int pos, int T, const float *x)
{
    r->failed = 0;
    for (int i = 0; i < r->last - r->first; i++)
        veil_fp_builder_begin(r->b[i], r->first + i, (uint32_t)pos);
    if (x) keep_history(r, 0, pos, T, x);
}

void veil_fp_recorder_hook(void *ctx, int layer, int pos, int T, const float *x)
{
    veil_fp_recorder *r = ctx;
    if (layer < r->first || layer >= r->last) {
        r->failed = 1;
        return;
    }
    if (veil_fp_builder_add(r->b[layer - r->first], T, x)) r->failed = 1;
    keep_history(r, layer - r->first + 1, pos, T, x);
}

int veil_fp_recorder_finish(veil_fp_recorder *r, veil_fp *out)
{
    if (r->failed) return veil_fail(VEIL_EINVAL, "recorder: a layer output could not be recorded");
    for (int i = 0; i < r->last - r->first; i++) {
        int rc = veil_fp_builder_finish(r->b[i], &out[i]);
        if (rc) return rc;
    }
    return 0;
}

const float *veil_fp_recorder_history(const veil_fp_recorder *r, int layer)
{
    if (!r->history_seq || layer < r->first - 1 || layer >= r->last) return NULL;
    return r->hist[layer - r->first + 1];
}

/* ---- bisection ---------------------------------------------------------------- */

int veil_bisect(int n, veil_bisect_probe probe, void *ctx, int *probes)
{
    int count = 0, lo = -1, hi = n - 1; /* invariant: agree at lo, disagree at hi */
    if (n < 1) return veil_fail(VEIL_EINVAL, "bisection over %d layers", n);
    count++;
    if (probe(ctx, hi)) {
        if (probes) *probes = count;
        return -1;
    }
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        count++;
        if (probe(ctx, mid))
            lo = mid;
        else
            hi = mid;
    }
    if (probes) *probes = count;
    return hi;
}

typedef struct {
    const veil_fp *a, *b;
} fp_pair;

static int fp_pair_agree(void *ctx, int i)
{
    const fp_pair *p = ctx;
    return veil_fp_equal(&p->a[i], &p->b[i]);
}

int veil_bisect_fps(const veil_fp *a, const veil_fp *b, int n, int *probes)
{
    fp_pair p = {a, b};
    return veil_bisect(n, fp_pair_agree, &p, probes);
}

/* ---- the client's judgement ------------------------------------------------------ */

int veil_dispute_recompute(const veil_config *cfg, int layer, const veil_layer *w,
                           const float *in, int pos, int T, float *out)
{
    if (pos < 0 || T < 1 || pos > cfg->seq_len - T)
        return veil_fail(VEIL_ERANGE, "dispute: positions %d+%d outside the model", pos, T);
    veil_shard *s;
    int rc = veil_shard_new(cfg, layer, layer + 1, w, pos + T, &s);
    if (rc) return rc;
    size_t dim = cfg->dim, n = (size_t)(pos + T) * dim;
    float *x = malloc(n * sizeof(float));
    if (!x) {
        veil_shard_free(s);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    memcpy(x, in, n * sizeof(float));
    /* positions before pos only rebuild this layer's KV cache */
    rc = veil_shard_forward_batch(s, 0, pos + T, x);
    if (!rc) memcpy(out, x + (size_t)pos * dim, (size_t)T * dim * sizeof(float));
    veil_wipe(x, n * sizeof(float));
    free(x);
    veil_shard_free(s);
    return rc;
}

uint32_t veil_dispute_judge(int R, const veil_fp *const *fps, const float *truth, int T,
                            int dim, const veil_quorum_opts *o)
{
    uint32_t guilty = 0;
    for (int i = 0; i < R && i < VEIL_MAX_REPLICAS; i++) {
        veil_fp_check chk;
        int ok;
        if (fps[i]->T != (uint32_t)T || fps[i]->dim != (uint32_t)dim) {
            ok = 0;
        } else if (o->exact) {
            veil_fp ref;
            ok = veil_fp_compute(truth, T, dim, fps[i]->k, fps[i]->layer, fps[i]->pos, &ref) == 0 &&
                 veil_fp_equal(&ref, fps[i]);
        } else {
            ok = veil_fp_check_against(fps[i], truth, T, dim, &o->fp_tol, &chk) == 0 && chk.ok;
        }
        if (!ok) guilty |= 1u << i;
    }
    return guilty;
}
