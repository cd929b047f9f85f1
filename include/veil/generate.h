/* veil generate: the token loop of run.c over any layer backend.
 *
 * The client side of every mode keeps the embedding and the head; what runs
 * the transformer layers is a backend: a local shard, a pipeline of nodes, a
 * split (some layers local, the rest remote), an SVE-protected pipeline. The
 * same loop drives all of them, so their text is comparable byte for byte. */
#ifndef VEIL_GENERATE_H
#define VEIL_GENERATE_H

#include "veil/model.h"
#include "veil/sampler.h"
#include "veil/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void *ctx;
    /* Run all layers on T hidden states (T x dim, in place) at positions
     * pos..pos+T-1.  Returns 0 or a negative error (veil_last_error). */
    int (*forward)(void *ctx, int pos, int T, float *x);
} veil_backend;

/* A backend over one local shard (all layers of the model). */
veil_backend veil_local_backend(veil_shard *s);

typedef struct {
    const char *prompt; /* NULL or "" = start from BOS only */
    int steps;          /* total positions, prompt included (0 = seq_len) */
    float temperature;
    float topp;
    uint64_t seed;
} veil_gen_opts;

typedef struct {
    int prompt_tokens;
    int generated;       /* sampled tokens */
    double prefill_s;    /* time of the prompt pass */
    double decode_s;     /* time of the sampled tokens' passes */
} veil_gen_stats;

/* Called with each printable piece, in order. */
typedef void (*veil_emit_fn)(void *ctx, const char *piece);

int veil_generate(const veil_model *m, veil_tokenizer *t, const veil_backend *b,
                  const veil_gen_opts *o, veil_emit_fn emit, void *emit_ctx,
                  veil_gen_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
