/* Dispute bisection over the network (--verify consensus --fingerprints):
 * two replicas of a shard disagree; their per-layer fingerprints (LAYER_REQ
 * on their audited sessions) locate the first divergent layer L, the client
 * recomputes layer L from the agreed layer L-1 rows and names the replica
 * whose layer L differs from the recomputation. See docs/PROTOCOL.md
 * "Disputes" and docs/ARCHITECTURE.md. */
#include "orch_verify.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const orch_verify_ops *ops;
    int s, first, pos, T, node[2], failed;
    veil_fp fp[2][VEIL_MAX_LAYERS];
    uint8_t have[VEIL_MAX_LAYERS];
} dispute;

/* Both replicas' fingerprints of layer first+i (fetched once). */
static int fetch_fps(dispute *d, int i)
{
    for (int r = 0; r < 2 && !d->have[i]; r++)
        if (d->ops->layer(d->ops->ctx, d->s, d->node[r], 0, d->first + i, d->pos, d->T, &d->fp[r][i]))
            return d->failed = 1, -1;
    d->have[i] = 1;
    return 0;
}

static int probe(void *ctx, int i)
{
    dispute *d = ctx;
    if (d->failed || fetch_fps(d, i)) return 1; /* stop bisecting; the result is discarded */
    return veil_fp_equal(&d->fp[0][i], &d->fp[1][i]);
}

/* Does a replica's answer match its own fingerprint of the shard's last layer? */
static int consistent(const orch_verify_answer *a, const veil_fp *last, int dim)
{
    veil_fp mine;
    if (a->rows) return veil_fp_compute(a->rows, (int)last->T, dim, last->k, last->layer, last->pos, &mine) == 0 &&
                        veil_fp_equal(&mine, last);
    return veil_fp_decode(a->fp, a->fp_len, &mine) == 0 && veil_fp_equal(&mine, last);
}

/* Agreed inputs of layer L at positions 0..pos+T-1: the client's own shard
 * input for L = first; otherwise layer L-1's rows, fetched from both
 * replicas, bit-identical, and matching the fingerprint both committed. */
static int agreed_inputs(orch_verify *ov, dispute *d, int i, int dim, float *in, float *other)
{
    size_t n = (size_t)(d->pos + d->T) * dim;
    if (i == 0) {
        memcpy(in, orch_verify_inputs(ov, d->s), n * sizeof(float));
        return 0;
    }
    int L = d->first + i - 1;
    if (d->ops->layer(d->ops->ctx, d->s, d->node[0], 1, L, 0, d->pos + d->T, in) ||
        d->ops->layer(d->ops->ctx, d->s, d->node[1], 1, L, 0, d->pos + d->T, other))
        return -1;
    veil_fp fp;
    if (memcmp(in, other, n * sizeof(float)) ||
        veil_fp_compute(in + (size_t)d->pos * dim, d->T, dim, d->fp[0][i - 1].k, L, (uint32_t)d->pos, &fp) ||
        !veil_fp_equal(&fp, &d->fp[0][i - 1]))
        return -1;
    return 0;
}

/* The innocent's shard output: its rows, or (a fingerprint replica) the
 * rows of its audited last layer, which must match the fingerprint it sent. */
static int innocent_rows(dispute *d, const orch_verify_answer *a, int r, int last, int dim, float *x)
{
    if (a->rows) {
        memcpy(x, a->rows, (size_t)d->T * dim * sizeof(float));
        return 0;
    }
    veil_fp fp;
    if (d->ops->layer(d->ops->ctx, d->s, d->node[r], 1, last - 1, d->pos, d->T, x) ||
        veil_fp_compute(x, d->T, dim, d->fp[r][last - 1 - d->first].k, last - 1, (uint32_t)d->pos, &fp))
        return -1;
    return veil_fp_equal(&fp, &d->fp[r][last - 1 - d->first]) ? 0 : -1;
}

static void name_guilty(orch_verify *ov, const orch_verify_ops *ops, dispute *d, int g, int last,
                        const char *what)
{
    char reason[200];
    snprintf(reason, sizeof reason, "dispute over layers [%d,%d) at positions %d..%d: %s", d->first,
             last, d->pos, d->pos + d->T - 1, what);
    orch_verify_dispute_flag(ov, ops->name(ops->ctx, d->node[g]), d->first, last, d->pos, reason);
    ops->drop(ops->ctx, d->s, d->node[g], d->node[!g]);
}

int orch_dispute(orch_verify *ov, const orch_verify_ops *ops, int s, int first, int last, int pos,
                 int T, const orch_verify_answer *a, const orch_verify_answer *b, float *x,
                 int *resolved)
{
    *resolved = 0;
    const veil_model *m = orch_verify_model(ov);
    int n = last - first, dim = m->cfg.dim, probes = 0;
    if (n < 1 || n > VEIL_MAX_LAYERS) return 0;
    dispute *d = calloc(1, sizeof *d);
    if (!d) return veil_fail(VEIL_ENOMEM, "out of memory");
    *d = (dispute){.ops = ops, .s = s, .first = first, .pos = pos, .T = T, .node = {a->node, b->node}};
    const orch_verify_answer *ans[2] = {a, b};
    int g = -1;
    char what[160] = "";
    /* 1. each replica's audited last layer must be the answer it gave */
    if (!fetch_fps(d, n - 1)) {
        int ok0 = consistent(a, &d->fp[0][n - 1], dim), ok1 = consistent(b, &d->fp[1][n - 1], dim);
        if (ok0 != ok1) {
            g = ok0 ? 1 : 0;
            snprintf(what, sizeof what, "its answer is not the output its own layer history commits to");
        } else if (ok0) {
            /* 2. bisect; 3. recompute the first divergent layer from agreed inputs */
            int i = veil_bisect(n, probe, d, &probes), L = first + i;
            size_t rows = (size_t)(pos + T) * dim;
            float *in = malloc(rows * sizeof(float)), *other = malloc(rows * sizeof(float));
            float *truth = malloc((size_t)T * dim * sizeof(float));
            if (!d->failed && i >= 0 && in && other && truth && !agreed_inputs(ov, d, i, dim, in, other) &&
                !veil_dispute_recompute(&m->cfg, L, &m->layers[L], in, pos, T, truth)) {
                veil_quorum_opts qo = veil_quorum_defaults(); /* exact: the float path is bit-reproducible */
                const veil_fp *at[2] = {&d->fp[0][i], &d->fp[1][i]};
                uint32_t guilty = veil_dispute_judge(2, at, truth, T, dim, &qo);
                if (guilty == 1 || guilty == 2) g = guilty == 2;
                snprintf(what, sizeof what, "layer %d (first divergent, %d probe(s)) differs from the "
                         "client's recomputation", L, probes);
            }
            if (in) veil_wipe(in, rows * sizeof(float));
            if (other) veil_wipe(other, rows * sizeof(float));
            if (truth) veil_wipe(truth, (size_t)T * dim * sizeof(float));
            free(in), free(other), free(truth);
        }
    }
    /* 4. the innocent's rows become the step's output */
    if (g >= 0 && !innocent_rows(d, ans[!g], !g, last, dim, x)) {
        name_guilty(ov, ops, d, g, last, what);
        *resolved = 1;
    }
    free(d);
    return 0;
}
