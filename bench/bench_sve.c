/* SVE cost: key generation, weight transformation (the client's work at
 * session start, and per request under --sve-keys request), bytes to ship,
 * and per-token decode latency of a 3-shard pipeline in one process, plain
 * against SVE (same shards; SVE adds the client's entry/exit/hop basis
 * changes).  Usage: bench_sve [MODEL_DIR [THREADS]]  (markdown table on stdout) */
#include "veil/sve.h"
#include "veil/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECODE 64

/* Per-token decode time (ms) of one pass of DECODE positions. */
static double decode_once(const veil_model *m, const veil_backend *b, float *x, float *logits)
{
    int tok = 1;
    double t0 = veil_now();
    for (int pos = 0; pos < DECODE; pos++) {
        veil_embed(m, tok, x);
        if (b->forward(b->ctx, pos, 1, x)) break;
        veil_head(m, x, logits);
        tok = veil_argmax(logits, m->cfg.vocab_size);
    }
    return (veil_now() - t0) * 1e3 / DECODE;
}

/* Plain and SVE alternately, best of REPS each, so that the load of a
 * shared machine hits both alike. */
#define REPS 5
static void decode_pair(const veil_model *m, const veil_backend *pb, const veil_backend *sb,
                        double *plain, double *sve)
{
    float *x = malloc(sizeof *x * m->cfg.dim), *logits = malloc(sizeof *logits * m->cfg.vocab_size);
    *plain = *sve = 1e30;
    for (int rep = 0; x && logits && rep < REPS; rep++) {
        double a = decode_once(m, pb, x, logits), b = decode_once(m, sb, x, logits);
        if (a < *plain) *plain = a;
        if (b < *sve) *sve = b;
    }
    free(x);
    free(logits);
}

/* The client's own extra work per token (enter, hops, exit), in ms: what
 * SVE adds to a decode step apart from load noise. */
static double client_ms(const veil_sve_keys *k, int dim)
{
    float *x = calloc(dim, sizeof *x);
    if (!x) return 0;
    x[0] = 1.0f;
    int n = veil_sve_keys_shards(k), reps = 200;
    double t0 = veil_now();
    for (int r = 0; r < reps; r++) {
        veil_sve_enter(k, x, 1);
        for (int s = 0; s < n; s++)
            if (veil_sve_hop_after(k, s)) veil_sve_rekey_hop(k, s, x, 1);
        veil_sve_exit(k, x, 1);
    }
    free(x);
    return (veil_now() - t0) * 1e3 / reps;
}

/* Plain 3-shard chain (the same pipeline without SVE). */
typedef struct {
    veil_shard *s[3];
    int n;
} chain;

static int chain_forward(void *ctx, int pos, int T, float *x)
{
    chain *c = ctx;
    for (int i = 0; i < c->n; i++) {
        int rc = veil_shard_forward_batch(c->s[i], pos, T, x);
        if (rc) return rc;
    }
    return 0;
}

static void bench_model(const char *name, const veil_model *m)
{
    const veil_config *c = &m->cfg;
    int n = c->n_layers < 3 ? c->n_layers : 3, b[4];
    veil_sve_even_bounds(c->n_layers, n, b);
    chain ch = {.n = n};
    for (int i = 0; i < n; i++)
        veil_model_shard(m, b[i], b[i + 1], DECODE, &ch.s[i]);
    veil_backend pb = {.ctx = &ch, .forward = chain_forward};
    size_t bytes = veil_layer_floats(c) * c->n_layers * sizeof(float);
    float *buf = malloc(bytes);
    for (int v = VEIL_SVE_PAPER; v <= VEIL_SVE_STRONG; v++)
        for (int hop = 0; hop <= 1; hop++) {
            veil_sve_keys *k = NULL;
            double t0 = veil_now();
            if (veil_sve_keys_new(c, v, n, b, hop, &k)) {
                fprintf(stderr, "bench_sve: %s\n", veil_last_error());
                continue;
            }
            double tk = veil_now() - t0;
            t0 = veil_now();
            size_t lf = veil_layer_floats(c);
            for (int s = 0; s < n; s++)
                veil_sve_transform_shard(k, s, m->layers + b[s], b[s], b[s + 1], buf + lf * b[s]);
            double tw = veil_now() - t0, tc = client_ms(k, c->dim);
            veil_sve_keys_free(k);
            veil_sve_local *l = NULL;
            double lat = 0, plain = 0;
            if (veil_sve_local_new(m, v, n, hop, DECODE, &l) == 0) {
                veil_backend sb = veil_sve_local_backend(l);
                decode_pair(m, &pb, &sb, &plain, &lat);
            }
            veil_sve_local_free(l);
            printf("| %s | %s | %d | %d | %.1f | %.1f | %.1f | %.3f | %.3f | %.3f | %.4f |\n",
                   name, veil_sve_variant_name(v), n, hop, tk * 1e3, tw * 1e3,
                   bytes / 1048576.0, plain, lat, plain > 0 ? lat / plain : 0, tc);
            fflush(stdout);
        }
    veil_wipe(buf, bytes);
    free(buf);
    for (int i = 0; i < n; i++)
        veil_shard_free(ch.s[i]);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/models";
    veil_set_threads(argc > 2 ? atoi(argv[2]) : 1); /* [THREADS], default 1 */
    printf("| model | variant | shards | hop | keygen ms | transform ms | MiB shipped | "
           "plain ms/token | SVE ms/token | ratio | client ms/token |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/stories260K.bin", dir);
    veil_model *m = NULL;
    if (veil_model_open(path, &m) == 0) {
        bench_model("stories260K", m);
        veil_model_close(m);
    } else {
        fprintf(stderr, "bench_sve: %s (skipped)\n", veil_last_error());
    }
    veil_config c15 = {288, 768, 6, 6, 6, 32000, 256, 1};
    size_t nf;
    float *f = veil_synth_floats(&c15, 1, &nf);
    if (f && veil_model_from_legacy_floats(&c15, f, nf, &m) == 0) {
        bench_model("synthetic 15M shape", m);
        veil_model_close(m);
    }
    return 0;
}
