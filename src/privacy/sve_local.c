/* An SVE pipeline inside one process: the client's steps and every node's
 * shard over transformed weights, in the order the network runs them. */
#include "veil/sve.h"

#include <stdlib.h>
#include <string.h>

struct veil_sve_local {
    veil_config cfg;
    veil_sve_keys *keys;
    int n_shards;
    float *weights;      /* n_layers * veil_layer_floats, transformed */
    veil_layer *layers;  /* n_layers, pointing into weights */
    veil_shard **shards; /* n_shards */
    veil_sve_observer obs;
    void *obs_ctx;
};

int veil_sve_even_bounds(int n_layers, int n_shards, int *bounds)
{
    if (n_shards < 1 || n_shards > n_layers)
        return veil_fail(VEIL_ERANGE, "%d shards for %d layers", n_shards, n_layers);
    bounds[0] = 0;
    for (int s = 0; s < n_shards; s++)
        bounds[s + 1] = bounds[s] + n_layers / n_shards + (s < n_layers % n_shards);
    return 0;
}

void veil_sve_local_free(veil_sve_local *l)
{
    if (!l) return;
    if (l->shards)
        for (int s = 0; s < l->n_shards; s++)
            veil_shard_free(l->shards[s]);
    free(l->shards);
    if (l->weights)
        veil_wipe(l->weights, sizeof(float) * veil_layer_floats(&l->cfg) * l->cfg.n_layers);
    free(l->weights);
    free(l->layers);
    veil_sve_keys_free(l->keys);
    free(l);
}

/* Transform every shard's layers and build the node-side shards. */
static int build_shards(veil_sve_local *l, const veil_model *m, const int *bounds, int max_seq)
{
    size_t lf = veil_layer_floats(&l->cfg);
    for (int s = 0; s < l->n_shards; s++) {
        int a = bounds[s], b = bounds[s + 1];
        int rc = veil_sve_transform_shard(l->keys, s, m->layers + a, a, b, l->weights + lf * a);
        if (rc) return rc;
        for (int i = a; i < b; i++)
            veil_layer_from_floats(&l->cfg, l->weights + lf * i, &l->layers[i]);
        rc = veil_shard_new(&l->cfg, a, b, l->layers + a, max_seq, &l->shards[s]);
        if (rc) return rc;
    }
    return 0;
}

int veil_sve_local_new(const veil_model *m, veil_sve_variant v, int n_shards, int hop,
                       int max_seq, veil_sve_local **out)
{
    *out = NULL;
    const veil_config *c = &m->cfg;
    int *bounds = malloc(sizeof *bounds * (c->n_layers + 1));
    veil_sve_local *l = calloc(1, sizeof *l);
    if (!bounds || !l) {
        free(bounds);
        free(l);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    l->cfg = *c;
    int rc = veil_sve_even_bounds(c->n_layers, n_shards, bounds);
    if (!rc) rc = veil_sve_keys_new(c, v, n_shards, bounds, hop, &l->keys);
    if (!rc) {
        l->n_shards = n_shards;
        l->weights = malloc(sizeof(float) * veil_layer_floats(c) * c->n_layers);
        l->layers = calloc(c->n_layers, sizeof *l->layers);
        l->shards = calloc(n_shards, sizeof *l->shards);
        if (!l->weights || !l->layers || !l->shards)
            rc = veil_fail(VEIL_ENOMEM, "out of memory for transformed weights");
    }
    if (!rc) rc = build_shards(l, m, bounds, max_seq);
    free(bounds);
    if (rc) {
        veil_sve_local_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

const veil_sve_keys *veil_sve_local_keys(const veil_sve_local *l) { return l->keys; }

veil_shard *veil_sve_local_shard(const veil_sve_local *l, int s)
{
    return s >= 0 && s < l->n_shards ? l->shards[s] : NULL;
}

const veil_layer *veil_sve_local_layer(const veil_sve_local *l, int layer)
{
    return layer >= 0 && layer < l->cfg.n_layers ? &l->layers[layer] : NULL;
}

void veil_sve_local_set_observer(veil_sve_local *l, veil_sve_observer fn, void *ctx)
{
    l->obs = fn;
    l->obs_ctx = ctx;
}

static int local_forward(void *ctx, int pos, int T, float *x)
{
    veil_sve_local *l = ctx;
    int rc = veil_sve_enter(l->keys, x, T);
    for (int s = 0; s < l->n_shards && !rc; s++) {
        if (l->obs) l->obs(l->obs_ctx, s, pos, T, x);
        rc = veil_shard_forward_batch(l->shards[s], pos, T, x);
        if (!rc && veil_sve_hop_after(l->keys, s)) rc = veil_sve_rekey_hop(l->keys, s, x, T);
    }
    return rc ? rc : veil_sve_exit(l->keys, x, T);
}

veil_backend veil_sve_local_backend(veil_sve_local *l)
{
    return (veil_backend){.ctx = l, .forward = local_forward};
}
