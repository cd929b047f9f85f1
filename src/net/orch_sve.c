/* SVE over the node pipeline: the orchestrator hooks that draw the keys for
 * the actual partition, ship transformed weights, and move hidden states in
 * and out of the secret bases (veil/sve.h). Nodes run unmodified shards. */
#include "veil/orchestrator.h"
#include "veil/sve.h"

#include <stdlib.h>

struct veil_orch_sve {
    const veil_model *m;
    veil_sve_variant v;
    int hop;
    veil_sve_keys *k;
};

static int sve_plan(void *ctx, int n, const int *bounds)
{
    veil_orch_sve *s = ctx;
    veil_sve_keys_free(s->k); /* a new plan (new pipeline) gets fresh keys */
    s->k = NULL;
    return veil_sve_keys_new(&s->m->cfg, s->v, n, bounds, s->hop, &s->k);
}

static int sve_weights(void *ctx, int shard, int first, int last, float *out)
{
    veil_orch_sve *s = ctx;
    return veil_sve_transform_shard(s->k, shard, s->m->layers + first, first, last, out);
}

static int sve_enter(void *ctx, int pos, int T, float *x) { return veil_sve_enter(((veil_orch_sve *)ctx)->k, x, T); }
static int sve_exit(void *ctx, int pos, int T, float *x) { return veil_sve_exit(((veil_orch_sve *)ctx)->k, x, T); }

static int sve_relay(void *ctx, int after, int pos, int T, float *x)
{
    return veil_sve_rekey_hop(((veil_orch_sve *)ctx)->k, after, x, T);
}

static int sve_relay_at(void *ctx, int after) { return veil_sve_hop_after(((veil_orch_sve *)ctx)->k, after); }

int veil_orch_sve_new(const veil_model *m, int v, int hop, veil_orch_sve **out)
{
    if (hop < 0) return veil_fail(VEIL_EINVAL, "SVE hop must be >= 0");
    veil_orch_sve *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory");
    *s = (veil_orch_sve){m, (veil_sve_variant)v, hop, NULL};
    *out = s;
    return 0;
}

void veil_orch_sve_hooks(veil_orch_sve *s, veil_orch_hooks *h)
{
    h->ctx = s;
    h->plan = sve_plan;
    h->shard_weights = sve_weights;
    h->egress = sve_enter;
    h->ingress = sve_exit;
    h->relay = sve_relay;
    h->relay_at = sve_relay_at;
}

void veil_orch_sve_free(veil_orch_sve *s)
{
    if (!s) return;
    veil_sve_keys_free(s->k);
    free(s);
}
