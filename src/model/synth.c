/* Synthetic checkpoints: weights uniform in +-1/sqrt(fan_in) (norm gains near
 * 1), so activations stay in the range of a trained model. */
#include "veil/synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill_uniform(float *p, size_t n, float scale, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2.0f * (float)(splitmix(rng) >> 40) / 16777216.0f - 1.0f);
}

static void fill_gain(float *p, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        p[i] = 1.0f + 0.1f * (2.0f * (float)(splitmix(rng) >> 40) / 16777216.0f - 1.0f);
}

float *veil_synth_floats(const veil_config *c, uint64_t seed, size_t *n_floats)
{
    if (veil_config_validate(c)) return NULL;
    size_t dim = c->dim, L = c->n_layers, kv = veil_kv_dim(c), hd = c->hidden_dim;
    size_t hs = veil_head_size(c);
    size_t n = veil_model_param_count(c) + (size_t)c->seq_len * hs;
    float *f = malloc(n * sizeof *f);
    if (!f) {
        veil_fail(VEIL_ENOMEM, "out of memory for %zu floats", n);
        return NULL;
    }
    uint64_t rng = seed;
    float *p = f;
    float in_dim = 1.0f / sqrtf((float)dim), in_hd = 1.0f / sqrtf((float)hd);
    fill_uniform(p, c->vocab_size * dim, 1.0f, &rng), p += c->vocab_size * dim;
    fill_gain(p, L * dim, &rng), p += L * dim;
    fill_uniform(p, L * dim * dim, in_dim, &rng), p += L * dim * dim;
    fill_uniform(p, L * kv * dim, in_dim, &rng), p += L * kv * dim;
    fill_uniform(p, L * kv * dim, in_dim, &rng), p += L * kv * dim;
    fill_uniform(p, L * dim * dim, in_dim, &rng), p += L * dim * dim;
    fill_gain(p, L * dim, &rng), p += L * dim;
    fill_uniform(p, L * hd * dim, in_dim, &rng), p += L * hd * dim;
    fill_uniform(p, L * dim * hd, in_hd, &rng), p += L * dim * hd;
    fill_uniform(p, L * hd * dim, in_dim, &rng), p += L * hd * dim;
    fill_gain(p, dim, &rng), p += dim;
    /* freq_cis tables (unused by the forward pass, present in the format) */
    for (size_t pos = 0; pos < (size_t)c->seq_len; pos++)
        for (size_t i = 0; i < hs / 2; i++) {
            float freq = 1.0f / powf(10000.0f, (float)(2 * i) / (float)hs);
            p[pos * (hs / 2) + i] = cosf((float)pos * freq);
            p[c->seq_len * (hs / 2) + pos * (hs / 2) + i] = sinf((float)pos * freq);
        }
    p += (size_t)c->seq_len * hs;
    if (!c->shared_classifier) fill_uniform(p, c->vocab_size * dim, in_dim, &rng), p += c->vocab_size * dim;
    *n_floats = n;
    return f;
}

static int write_all(FILE *f, const void *p, size_t n, const char *path)
{
    if (fwrite(p, 1, n, f) != n)
        return veil_fail(VEIL_EIO, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

int veil_synth_model(const veil_config *c, uint64_t seed, const char *path)
{
    size_t n;
    float *f = veil_synth_floats(c, seed, &n);
    if (!f) return VEIL_EINVAL;
    FILE *out = fopen(path, "wb");
    if (!out) {
        free(f);
        return veil_fail(VEIL_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    int32_t h[7] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                    c->shared_classifier ? c->vocab_size : -c->vocab_size, c->seq_len};
    int rc = write_all(out, h, sizeof h, path);
    if (!rc) rc = write_all(out, f, n * sizeof *f, path);
    if (fclose(out) && !rc) rc = veil_fail(VEIL_EIO, "cannot write %s", path);
    free(f);
    return rc;
}

/* The i-th synthetic piece; returns its length. */
static int synth_piece(int i, char *out)
{
    if (i == 0) return sprintf(out, "<unk>");
    if (i == 1) return sprintf(out, "\n<s>\n");
    if (i == 2) return sprintf(out, "\n</s>\n");
    i -= 3;
    if (i < 256) return sprintf(out, "<0x%02X>", i);
    i -= 256;
    if (i < 95) return sprintf(out, "%c", 32 + i);
    i -= 95;
    /* letter pairs, then space-prefixed letter pairs, then numbered filler */
    if (i < 26 * 26) return sprintf(out, "%c%c", 'a' + i / 26, 'a' + i % 26);
    i -= 26 * 26;
    if (i < 26 * 26) return sprintf(out, " %c%c", 'a' + i / 26, 'a' + i % 26);
    i -= 26 * 26;
    return sprintf(out, "w%d", i);
}

int veil_synth_tokenizer(int vocab_size, const char *path)
{
    if (vocab_size < 3 || vocab_size > VEIL_MAX_VOCAB)
        return veil_fail(VEIL_EINVAL, "tokenizer vocab %d outside 3..%d", vocab_size,
                         VEIL_MAX_VOCAB);
    FILE *out = fopen(path, "wb");
    if (!out) return veil_fail(VEIL_EIO, "cannot create %s: %s", path, strerror(errno));
    char piece[32];
    int32_t maxlen = 0;
    for (int i = 0; i < vocab_size; i++) {
        int len = synth_piece(i, piece);
        if (len > maxlen) maxlen = len;
    }
    int rc = write_all(out, &maxlen, 4, path);
    for (int i = 0; i < vocab_size && !rc; i++) {
        int32_t len = synth_piece(i, piece);
        /* merges score by length so longer pieces win, as in trained vocabs */
        float score = i < 259 ? 0.0f : (float)len - (float)i * 1e-6f;
        rc = write_all(out, &score, 4, path);
        if (!rc) rc = write_all(out, &len, 4, path);
        if (!rc) rc = write_all(out, piece, len, path);
    }
    if (fclose(out) && !rc) rc = veil_fail(VEIL_EIO, "cannot write %s", path);
    return rc;
}
