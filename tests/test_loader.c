/* Checkpoint and tokenizer parsers: valid files load, hostile ones are
 * refused with a reason and never crash. */
#include "harness.h"

#include "veil/model.h"
#include "veil/synth.h"
#include "veil/tokenizer.h"

#include <stdlib.h>
#include <string.h>

static const veil_config shape = {32, 72, 2, 4, 2, 300, 16, 1};

static char *write_file(const char *name, const void *data, size_t n)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(*n + 64);
    *n = fread(d, 1, *n, f);
    fclose(f);
    return d;
}

static int open_bytes(const void *d, size_t n)
{
    veil_model *m = NULL;
    int rc = veil_model_open(write_file("x.bin", d, n), &m);
    veil_model_close(m);
    return rc;
}

static void test_legacy(const uint8_t *good, size_t n)
{
    CHECK(open_bytes(good, n) == 0);
    CHECK(open_bytes(good, n - 1) == VEIL_EINVAL);
    CHECK(strstr(veil_last_error(), "truncated") != NULL);
    CHECK(open_bytes(good, 27) == VEIL_EINVAL);
    CHECK(open_bytes(good, 0) == VEIL_EINVAL);
    uint8_t *big = malloc(n + 8);
    memcpy(big, good, n);
    memset(big + n, 0, 8);
    CHECK(open_bytes(big, n + 8) == VEIL_EINVAL);
    CHECK(strstr(veil_last_error(), "oversized") != NULL);
    /* hostile header fields, one at a time */
    int32_t bad[][2] = {{0, 0}, {0, -5}, {0, 1 << 30}, {1, 0}, {2, 0}, {2, 100000},
                        {3, 0}, {3, 7}, {4, 0}, {4, 3}, {4, 8}, {5, 0}, {5, INT32_MIN},
                        {6, 0}, {6, -1}, {6, 1 << 28}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memcpy(big, good, n);
        memcpy(big + 4 * bad[i][0], &bad[i][1], 4);
        int rc = open_bytes(big, n);
        CHECKF(rc == VEIL_EINVAL, "header field %d = %d accepted", bad[i][0], bad[i][1]);
    }
    free(big);
    CHECK(veil_model_open("/nonexistent/model.bin", &(veil_model *){0}) == VEIL_EIO);
    CHECK(veil_model_open(test_tmpdir(), &(veil_model *){0}) == VEIL_EIO);
}

/* Re-pack the legacy weights as ak42 v1 and compare every tensor. */
static void test_ak42(const uint8_t *legacy, size_t n)
{
    veil_model *a;
    CHECK(veil_model_from_memory(legacy, n, &a) == 0);
    const veil_config *c = &a->cfg;
    size_t sizes[VEIL_LAYER_TENSORS], total = 256;
    veil_layer_tensor_sizes(c, sizes);
    total += veil_model_param_count(c) * 4;
    uint8_t *k = calloc(1, total), *p = k + 256;
    uint32_t magic = 0x616b3432;
    int32_t ver = 1, hdr[7] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                               c->n_kv_heads, c->vocab_size, c->seq_len};
    memcpy(k, &magic, 4), memcpy(k + 4, &ver, 4), memcpy(k + 8, hdr, 28);
    k[36] = 1;
#define PUT(ptr, cnt) (memcpy(p, ptr, (cnt) * 4), p += (cnt) * 4)
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].rms_att, sizes[0]);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].rms_ffn, sizes[5]);
    PUT(a->rms_final, c->dim);
    PUT(a->tok_emb, (size_t)c->vocab_size * c->dim);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].wq, sizes[1]);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].wk, sizes[2]);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].wv, sizes[3]);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].wo, sizes[4]);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].w1, sizes[6]);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].w2, sizes[7]);
    for (int l = 0; l < c->n_layers; l++) PUT(a->layers[l].w3, sizes[8]);
#undef PUT
    CHECK((size_t)(p - k) == total);
    veil_model *b;
    CHECK(veil_model_open(write_file("ak42.bin", k, total), &b) == 0);
    CHECK(b->format == 1);
    size_t lf = veil_layer_floats(c);
    float *fa = malloc(lf * 4), *fb = malloc(lf * 4);
    for (int l = 0; l < c->n_layers; l++) {
        veil_layer_to_floats(c, &a->layers[l], fa);
        veil_layer_to_floats(c, &b->layers[l], fb);
        CHECK(memcmp(fa, fb, lf * 4) == 0);
    }
    CHECK(memcmp(a->tok_emb, b->tok_emb, (size_t)c->vocab_size * c->dim * 4) == 0);
    CHECK(memcmp(a->rms_final, b->rms_final, c->dim * 4) == 0 && b->wcls == b->tok_emb);
    int32_t v2 = 2;
    memcpy(k + 4, &v2, 4);
    CHECK(open_bytes(k, total) == VEIL_EINVAL);
    CHECK(open_bytes(k, 100) == VEIL_EINVAL);
    free(fa), free(fb), free(k);
    veil_model_close(a);
    veil_model_close(b);
}

static void test_tokenizer_files(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tok.bin", test_tmpdir());
    CHECK(veil_synth_tokenizer(300, path) == 0);
    size_t n;
    uint8_t *d = read_all(path, &n);
    veil_tokenizer *t;
    CHECK(veil_tokenizer_parse(d, n, 300, &t) == 0);
    veil_tokenizer_free(t);
    CHECK(veil_tokenizer_parse(d, n, 301, &t) == VEIL_EINVAL); /* too few entries */
    CHECK(veil_tokenizer_parse(d, n, 299, &t) == VEIL_EINVAL); /* trailing bytes */
    for (size_t cut = 0; cut < n; cut += 97)
        CHECK(veil_tokenizer_parse(d, cut, 300, &t) == VEIL_EINVAL);
    int32_t neg = -1, huge = 1 << 30;
    uint8_t *e = malloc(n);
    memcpy(e, d, n), memcpy(e, &neg, 4);
    CHECK(veil_tokenizer_parse(e, n, 300, &t) == VEIL_EINVAL);
    memcpy(e, d, n), memcpy(e + 8, &huge, 4); /* first token's length */
    CHECK(veil_tokenizer_parse(e, n, 300, &t) == VEIL_EINVAL);
    memcpy(e, d, n), memcpy(e + 8, &neg, 4);
    CHECK(veil_tokenizer_parse(e, n, 300, &t) == VEIL_EINVAL);
    free(e), free(d);
}

int main(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/synth.bin", test_tmpdir());
    CHECK(veil_synth_model(&shape, 3, path) == 0);
    size_t n;
    uint8_t *good = read_all(path, &n);
    test_legacy(good, n);
    test_ak42(good, n);
    free(good);
    veil_config sep = shape;
    sep.shared_classifier = 0;
    CHECK(veil_synth_model(&sep, 3, path) == 0);
    veil_model *m;
    CHECK(veil_model_open(path, &m) == 0 && !m->cfg.shared_classifier && m->wcls != m->tok_emb);
    veil_model_close(m);
    test_tokenizer_files();
    return test_done();
}
