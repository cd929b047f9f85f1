/* The generation loop: batched prompt pass, then one token at a time. The
 * printed pieces and the RNG draws are exactly those of llama2.c's run.c. */
#include "veil/generate.h"

#include <stdlib.h>
#include <string.h>

static int local_forward(void *ctx, int pos, int T, float *x)
{
    return veil_shard_forward_batch(ctx, pos, T, x);
}

veil_backend veil_local_backend(veil_shard *s)
{
    return (veil_backend){.ctx = s, .forward = local_forward};
}

static void emit_piece(veil_tokenizer *t, int prev, int tok, veil_emit_fn emit, void *ctx)
{
    const char *piece = veil_decode(t, prev, tok);
    if (veil_piece_printable(piece)) emit(ctx, piece);
}

int veil_generate(const veil_model *m, veil_tokenizer *t, const veil_backend *b,
                  const veil_gen_opts *o, veil_emit_fn emit, void *emit_ctx,
                  veil_gen_stats *stats)
{
    const veil_config *c = &m->cfg;
    const char *prompt = o->prompt ? o->prompt : "";
    int steps = o->steps <= 0 || o->steps > c->seq_len ? c->seq_len : o->steps;
    memset(stats, 0, sizeof *stats);
    int *tokens = malloc((strlen(prompt) + 3) * sizeof *tokens);
    float *x = NULL, *logits = malloc((size_t)c->vocab_size * sizeof *logits);
    veil_sampler sampler = {0};
    int rc = 0;
    if (!tokens || !logits) {
        rc = veil_fail(VEIL_ENOMEM, "out of memory");
        goto done;
    }
    int n = veil_encode(t, prompt, 1, 0, tokens);
    if (n < 0) {
        rc = n;
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (tokens[i] >= c->vocab_size) {
            rc = veil_fail(VEIL_EINVAL, "tokenizer produced id %d beyond model vocab %d",
                           tokens[i], c->vocab_size);
            goto done;
        }
    stats->prompt_tokens = n;
    /* run.c forces prompt tokens 1..n-1 as the "next" of positions 0..n-2 */
    int forced = n - 1 < steps ? n - 1 : steps;
    for (int i = 1; i <= forced; i++)
        emit_piece(t, tokens[i - 1], tokens[i], emit, emit_ctx);
    if (steps < n) goto done; /* the prompt alone fills the budget */

    rc = veil_sampler_init(&sampler, c->vocab_size, o->temperature, o->topp, o->seed);
    if (rc) goto done;
    x = malloc((size_t)n * c->dim * sizeof *x);
    if (!x) {
        rc = veil_fail(VEIL_ENOMEM, "out of memory");
        goto done;
    }
    double t0 = veil_now();
    for (int i = 0; i < n; i++)
        veil_embed(m, tokens[i], x + (size_t)i * c->dim);
    rc = b->forward(b->ctx, 0, n, x);
    if (rc) goto done;
    float *last = x + (size_t)(n - 1) * c->dim;
    veil_head(m, last, logits);
    stats->prefill_s = veil_now() - t0;
    double t1 = veil_now();
    int token = tokens[n - 1];
    for (int pos = n - 1; pos < steps;) {
        int next = veil_sample(&sampler, logits);
        pos++;
        if (next == VEIL_TOKEN_BOS) break;
        emit_piece(t, token, next, emit, emit_ctx);
        stats->generated++;
        token = next;
        if (pos >= steps) break;
        veil_embed(m, token, x);
        rc = b->forward(b->ctx, pos, 1, x);
        if (rc) goto done;
        veil_head(m, x, logits);
    }
    stats->decode_s = veil_now() - t1;
done:
    veil_sampler_free(&sampler);
    free(tokens);
    free(logits);
    free(x);
    return rc;
}
