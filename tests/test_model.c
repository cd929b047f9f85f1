/* stories260K end to end: golden text, seeds, shard splits, batched prefill. */
#include "harness.h"

#include "veil/generate.h"
#include "veil/synth.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char buf[8192];
    size_t n;
} text_sink;

static void sink(void *ctx, const char *piece)
{
    text_sink *s = ctx;
    size_t l = strlen(piece);
    if (s->n + l < sizeof s->buf) memcpy(s->buf + s->n, piece, l + 1), s->n += l;
}

static void gen(veil_model *m, veil_tokenizer *t, const char *prompt, int steps, float temp,
                uint64_t seed, text_sink *out)
{
    veil_shard *s;
    veil_model_shard(m, 0, m->cfg.n_layers, 0, &s);
    veil_backend b = veil_local_backend(s);
    veil_gen_opts o = {prompt, steps, temp, 0.9f, seed};
    veil_gen_stats st;
    out->n = 0;
    out->buf[0] = '\0';
    CHECK(veil_generate(m, t, &b, &o, sink, out, &st) == 0);
    veil_shard_free(s);
}

/* Logits after feeding `n` tokens through shards split at `cut`. */
static void split_logits(veil_model *m, const int *toks, int n, int cut, float *logits)
{
    veil_shard *a = NULL, *b = NULL;
    int L = m->cfg.n_layers;
    if (cut > 0) veil_model_shard(m, 0, cut, 0, &a);
    if (cut < L) veil_model_shard(m, cut, L, 0, &b);
    float x[64];
    for (int pos = 0; pos < n; pos++) {
        veil_embed(m, toks[pos], x);
        if (a) veil_shard_forward(a, pos, x);
        if (b) veil_shard_forward(b, pos, x);
    }
    veil_head(m, x, logits);
    veil_shard_free(a);
    veil_shard_free(b);
}

static void test_splits_and_prefill(veil_model *m)
{
    int toks[20];
    for (int i = 0; i < 20; i++) toks[i] = (i * 37 + 1) % m->cfg.vocab_size;
    float whole[512], part[512];
    split_logits(m, toks, 20, m->cfg.n_layers, whole);
    for (int cut = 0; cut < m->cfg.n_layers; cut++) {
        split_logits(m, toks, 20, cut, part);
        CHECKF(memcmp(whole, part, sizeof whole) == 0, "split at layer %d differs", cut);
    }
    /* batched prefill of all 20 positions equals the token-by-token path */
    veil_shard *s;
    veil_model_shard(m, 0, m->cfg.n_layers, 0, &s);
    float *x = malloc(sizeof(float) * 20 * 64);
    for (int i = 0; i < 20; i++) veil_embed(m, toks[i], x + i * 64);
    CHECK(veil_shard_forward_batch(s, 0, 20, x) == 0);
    veil_head(m, x + 19 * 64, part);
    CHECKF(test_rel_diff(part, whole, 512) <= 1e-5, "prefill differs by %g",
           test_rel_diff(part, whole, 512));
    CHECK(memcmp(part, whole, sizeof whole) == 0);
    /* out-of-range positions are refused, not written */
    CHECK(veil_shard_forward_batch(s, m->cfg.seq_len - 1, 2, x) == VEIL_ERANGE);
    CHECK(veil_shard_forward(s, -1, x) == VEIL_ERANGE);
    free(x);
    veil_shard_free(s);
}

int main(void)
{
    const char *mp = test_model_file("stories260K.bin");
    if (!mp) return test_skip("stories260K.bin not found in $VEIL_MODEL_DIR");
    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s", mp);
    const char *tp = test_model_file("tok512.bin");
    if (!tp) return test_skip("tok512.bin not found in $VEIL_MODEL_DIR");
    veil_model *m;
    veil_tokenizer *t;
    CHECK(veil_model_open(mpath, &m) == 0);
    CHECK(veil_tokenizer_open(tp, m->cfg.vocab_size, &t) == 0);
    char hex[65];
    veil_hex(m->sha256, 32, hex);
    CHECK(strcmp(hex, "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696") == 0);

    text_sink a, b;
    gen(m, t, NULL, 60, 0.0f, 1, &a);
    const char *golden = "Once upon a time, there was a little girl named Lily. She loved to "
                         "play outside in the park.";
    CHECKF(strncmp(a.buf, golden, strlen(golden)) == 0, "greedy text: %s", a.buf);

    gen(m, t, "Once upon a time", 80, 1.0f, 1234, &a);
    gen(m, t, "Once upon a time", 80, 1.0f, 1234, &b);
    CHECK(strcmp(a.buf, b.buf) == 0);
    CHECK(strncmp(a.buf, "Once upon a time", 16) == 0);
    gen(m, t, "Once upon a time", 80, 1.0f, 99, &b);
    CHECKF(strcmp(a.buf, b.buf) != 0, "different seeds gave the same text");

    /* a prompt longer than the step budget prints only the forced tokens */
    gen(m, t, "Once upon a time there was", 3, 0.0f, 1, &a);
    CHECKF(strcmp(a.buf, "Once upon a") == 0, "short budget: '%s'", a.buf);

    test_splits_and_prefill(m);
    veil_tokenizer_free(t);
    veil_model_close(m);
    return test_done();
}
