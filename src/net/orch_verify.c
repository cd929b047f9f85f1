/* Consensus verification in the orchestrator: the veil_verifier driven once
 * per shard step, re-execution while there is no quorum, flagged nodes
 * dropped. See orch_verify.h and docs/ARCHITECTURE.md. */
#include "orch_verify.h"

#include <stdlib.h>
#include <string.h>

#define MAX_EXTRA 4 /* re-executions tried for one step before giving up */

struct orch_verify {
    veil_verifier *v;
    veil_verify_kind kind;
    int fingerprints, dispute_flags;
    const veil_model *m;
    FILE *flag_out;
    veil_ledger *ledger;
    int n_shards, dim, max_seq;
    float *in;  /* n_shards x max_seq x dim: what entered each shard */
    float *buf; /* one extra output (max_seq x dim) */
};

int orch_verify_new(const veil_verifier_opts *vo, int n_shards, int dim, int max_seq,
                    orch_verify **out)
{
    *out = NULL;
    orch_verify *ov = calloc(1, sizeof *ov);
    if (!ov) return veil_fail(VEIL_ENOMEM, "out of memory");
    *ov = (orch_verify){.kind = vo->mode.kind, .fingerprints = vo->fingerprints,
                        .flag_out = vo->flag_out, .ledger = vo->ledger, .n_shards = n_shards, .dim = dim, .max_seq = max_seq};
    size_t per = (size_t)max_seq * dim;
    ov->in = malloc((size_t)n_shards * per * sizeof(float));
    ov->buf = malloc(per * sizeof(float));
    int rc = ov->in && ov->buf ? veil_verifier_new(vo, n_shards, dim, &ov->v)
                               : veil_fail(VEIL_ENOMEM, "out of memory");
    if (rc) {
        orch_verify_free(ov);
        return rc;
    }
    *out = ov;
    return 0;
}

void orch_verify_free(orch_verify *ov)
{
    if (!ov) return;
    veil_verifier_free(ov->v); /* writes the batched agreements to the ledger */
    size_t per = (size_t)ov->max_seq * ov->dim * sizeof(float);
    if (ov->in) veil_wipe(ov->in, (size_t)ov->n_shards * per); /* hidden states reveal the prompt */
    if (ov->buf) veil_wipe(ov->buf, per);
    free(ov->in);
    free(ov->buf);
    free(ov);
}

int orch_verify_all(const orch_verify *ov) { return ov->kind == VEIL_VERIFY_CONSENSUS; }

int orch_verify_fingerprints(const orch_verify *ov) { return ov->fingerprints && orch_verify_all(ov); }

int orch_verify_needed(const orch_verify *ov, int pos, int T, int R)
{
    return veil_verifier_replicate(ov->v, pos, T) ? R : 1;
}

void orch_verify_record(orch_verify *ov, int s, int pos, int T, const float *x)
{
    if (s < 0 || s >= ov->n_shards || pos < 0 || T < 1 || pos + T > ov->max_seq) return;
    size_t per = (size_t)ov->max_seq * ov->dim;
    memcpy(ov->in + per * s + (size_t)pos * ov->dim, x, (size_t)T * ov->dim * sizeof(float));
}

const float *orch_verify_inputs(const orch_verify *ov, int s)
{
    return ov->in + (size_t)ov->max_seq * ov->dim * s;
}

/* One more output from another node, added in arrival order. */
static int add_extra(orch_verify *ov, const orch_verify_ops *ops, int s, uint64_t *used, int pos,
                     int T, int *order, int *k)
{
    int node;
    int rc = ops->extra(ops->ctx, s, *used, pos, T, ov->buf, &node);
    if (rc) return rc;
    *used |= 1ull << node;
    order[(*k)++] = node;
    return veil_verifier_add(ov->v, s, ops->name(ops->ctx, node), ov->buf);
}

static int add_answer(orch_verify *ov, const orch_verify_ops *ops, int s, const orch_verify_answer *a)
{
    const char *name = ops->name(ops->ctx, a->node);
    return a->rows ? veil_verifier_add(ov->v, s, name, a->rows)
                   : veil_verifier_add_fp(ov->v, s, name, a->fp, a->fp_len);
}

int orch_verify_step(orch_verify *ov, const orch_verify_ops *ops, int s, int first, int last,
                     int pos, int T, int n, const orch_verify_answer *ans, int more, float *x)
{
    int order[VEIL_MAX_REPLICAS], k = 0, rejected = -1, rc;
    uint64_t used = 0;
    if (n < 1 || n > VEIL_MAX_REPLICAS - MAX_EXTRA - more) return veil_fail(VEIL_EINVAL, "verify: %d outputs", n);
    if ((rc = veil_verifier_begin(ov->v, s, first, last, pos, T))) return rc;
    for (int i = 0; i < n && !rc; i++) {
        used |= 1ull << ans[i].node;
        order[k++] = ans[i].node;
        rc = add_answer(ov, ops, s, &ans[i]);
    }
    /* sample:P: a sampled step reaches the shard's other replicas now */
    for (int j = 0; j < more && !rc; j++) rc = add_extra(ov, ops, s, &used, pos, T, order, &k);
    if (rc) return rc;
    veil_verdict vd;
    rc = veil_verifier_decide(ov->v, s, &vd);
    if (rc == VEIL_EVERIFY && vd.reexecute && k == 2 && n == 2 && ov->fingerprints && ov->m && ops->layer) {
        int resolved = 0; /* two replicas disagree: a dispute names the liar without a third */
        char why0[300];
        snprintf(why0, sizeof why0, "%s", veil_last_error());
        int r2 = orch_dispute(ov, ops, s, first, last, pos, T, &ans[0], &ans[1], x, &resolved);
        if (r2 || resolved) return r2;
        veil_fail(VEIL_EVERIFY, "%s", why0); /* undecided: re-execute as before */
    }
    /* no quorum, or (--fingerprints) a quorum of fingerprints only when the
     * active replica was outvoted: rows from one more node settle it */
    for (int tries = 0; rc == VEIL_EVERIFY && vd.reexecute && tries < MAX_EXTRA; tries++) {
        if (k == 1) { /* CDV rejected the lone output: the step restarts empty */
            rejected = order[0];
            k = 0;
        }
        char why[300], why2[300]; /* copies: veil_fail formats into the last-error buffer */
        snprintf(why, sizeof why, "%s", veil_last_error());
        int r2 = add_extra(ov, ops, s, &used, pos, T, order, &k);
        if (r2) {
            snprintf(why2, sizeof why2, "%s", veil_last_error());
            return veil_fail(r2, "%s; cannot re-execute: %s", why, why2);
        }
        rc = veil_verifier_decide(ov->v, s, &vd);
    }
    if (rc) return rc;
    const float *win = veil_verifier_output(ov->v, s);
    if (!win) return veil_fail(VEIL_EVERIFY, "verify: no accepted output for layers [%d,%d)", first, last);
    memcpy(x, win, (size_t)T * ov->dim * sizeof(float));
    int winner = order[vd.use];
    for (int r = 0; r < k; r++)
        if (vd.q.minority_mask >> r & 1) ops->drop(ops->ctx, s, order[r], winner);
    if (rejected >= 0) ops->drop(ops->ctx, s, rejected, winner);
    return 0;
}

int orch_verify_rank(const veil_verifier_opts *vo, const char *const *names, int n, int *order)
{
    if (!vo->ledger) {
        for (int i = 0; i < n; i++) order[i] = i;
        return n;
    }
    return veil_ledger_rank(vo->ledger, names, n, order);
}

int orch_verify_flags(const orch_verify *ov) { return veil_verifier_flag_count(ov->v) + ov->dispute_flags; }

void orch_verify_set_model(orch_verify *ov, const veil_model *m) { ov->m = m; }

const veil_model *orch_verify_model(const orch_verify *ov) { return ov->m; }

void orch_verify_dispute_flag(orch_verify *ov, const char *node, int first, int last, int pos,
                              const char *reason)
{
    veil_flag f;
    veil_flag_set(&f, node, "%s", reason);
    if (ov->flag_out) veil_flag_print(ov->flag_out, &f);
    if (ov->ledger) veil_ledger_record(ov->ledger, node, VEIL_EV_DISPUTE, first, last, pos, reason);
    ov->dispute_flags++;
}
