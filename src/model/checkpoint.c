/* llama2.c checkpoint loading: legacy (7 x int32 header) and "ak42" v1.
 * Everything is validated against the file length before any weight is read. */
#include "veil/model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define AK42_MAGIC 0x616b3432u
#define AK42_HEADER 256
#define LEGACY_HEADER 28

int veil_config_validate(const veil_config *c)
{
    if (c->dim <= 0 || c->dim > VEIL_MAX_DIM)
        return veil_fail(VEIL_EINVAL, "dim %d outside 1..%d", c->dim, VEIL_MAX_DIM);
    if (c->hidden_dim <= 0 || c->hidden_dim > 4 * VEIL_MAX_DIM)
        return veil_fail(VEIL_EINVAL, "hidden_dim %d outside 1..%d", c->hidden_dim,
                         4 * VEIL_MAX_DIM);
    if (c->n_layers <= 0 || c->n_layers > VEIL_MAX_LAYERS)
        return veil_fail(VEIL_EINVAL, "n_layers %d outside 1..%d", c->n_layers,
                         VEIL_MAX_LAYERS);
    if (c->n_heads <= 0 || c->n_heads > c->dim || c->dim % c->n_heads)
        return veil_fail(VEIL_EINVAL, "n_heads %d does not divide dim %d", c->n_heads, c->dim);
    if ((c->dim / c->n_heads) % 2)
        return veil_fail(VEIL_EINVAL, "head size %d is odd (RoPE needs pairs)",
                         c->dim / c->n_heads);
    if (c->n_kv_heads <= 0 || c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads)
        return veil_fail(VEIL_EINVAL, "n_kv_heads %d does not divide n_heads %d", c->n_kv_heads,
                         c->n_heads);
    if (c->vocab_size <= 0 || c->vocab_size > VEIL_MAX_VOCAB)
        return veil_fail(VEIL_EINVAL, "vocab_size %d outside 1..%d", c->vocab_size,
                         VEIL_MAX_VOCAB);
    if (c->seq_len <= 0 || c->seq_len > VEIL_MAX_SEQ)
        return veil_fail(VEIL_EINVAL, "seq_len %d outside 1..%d", c->seq_len, VEIL_MAX_SEQ);
    return 0;
}

void veil_layer_tensor_sizes(const veil_config *c, size_t s[VEIL_LAYER_TENSORS])
{
    size_t dim = c->dim, kv = veil_kv_dim(c), hd = c->hidden_dim;
    size_t v[VEIL_LAYER_TENSORS] = {dim, dim * dim, kv * dim, kv * dim, dim * dim,
                                    dim, hd * dim,  dim * hd, hd * dim};
    memcpy(s, v, sizeof v);
}

size_t veil_layer_floats(const veil_config *c)
{
    size_t s[VEIL_LAYER_TENSORS], n = 0;
    veil_layer_tensor_sizes(c, s);
    for (int i = 0; i < VEIL_LAYER_TENSORS; i++)
        n += s[i];
    return n;
}

static const float **layer_slot(veil_layer *l, int i)
{
    const float **slots[VEIL_LAYER_TENSORS] = {&l->rms_att, &l->wq,      &l->wk,
                                               &l->wv,      &l->wo,      &l->rms_ffn,
                                               &l->w1,      &l->w2,      &l->w3};
    return slots[i];
}

void veil_layer_from_floats(const veil_config *c, const float *f, veil_layer *out)
{
    size_t s[VEIL_LAYER_TENSORS];
    veil_layer_tensor_sizes(c, s);
    for (int i = 0; i < VEIL_LAYER_TENSORS; i++) {
        *layer_slot(out, i) = f;
        f += s[i];
    }
}

void veil_layer_to_floats(const veil_config *c, const veil_layer *l, float *out)
{
    size_t s[VEIL_LAYER_TENSORS];
    veil_layer tmp = *l;
    veil_layer_tensor_sizes(c, s);
    for (int i = 0; i < VEIL_LAYER_TENSORS; i++) {
        memcpy(out, *layer_slot(&tmp, i), s[i] * sizeof(float));
        out += s[i];
    }
}

size_t veil_model_param_count(const veil_config *c)
{
    size_t n = (size_t)c->vocab_size * c->dim + c->dim +
               (size_t)c->n_layers * veil_layer_floats(c);
    if (!c->shared_classifier) n += (size_t)c->vocab_size * c->dim;
    return n;
}

/* Float count of the weights after the header, per format. */
static size_t legacy_floats(const veil_config *c)
{
    size_t rope = (size_t)c->seq_len * (veil_head_size(c) / 2) * 2; /* freq_cis real+imag */
    return veil_model_param_count(c) + rope;
}

/* Legacy order: emb, rms_att[L], wq[L], wk[L], wv[L], wo[L], rms_ffn[L],
 * w1[L], w2[L], w3[L], rms_final, freq_cis_real, freq_cis_imag, [wcls]. */
static int map_legacy(veil_model *m, const float *f)
{
    const veil_config *c = &m->cfg;
    size_t s[VEIL_LAYER_TENSORS];
    veil_layer_tensor_sizes(c, s);
    m->tok_emb = f;
    f += (size_t)c->vocab_size * c->dim;
    for (int t = 0; t < VEIL_LAYER_TENSORS; t++)
        for (int l = 0; l < c->n_layers; l++) {
            *layer_slot(&m->layers[l], t) = f;
            f += s[t];
        }
    m->rms_final = f;
    f += c->dim;
    f += (size_t)c->seq_len * veil_head_size(c); /* skip freq_cis */
    m->wcls = c->shared_classifier ? m->tok_emb : f;
    return 0;
}

/* ak42 v1 order: rms_att[L], rms_ffn[L], rms_final, emb, wq[L], wk[L], wv[L],
 * wo[L], w1[L], w2[L], w3[L], [wcls]. */
static int map_ak42(veil_model *m, const float *f)
{
    const veil_config *c = &m->cfg;
    size_t s[VEIL_LAYER_TENSORS];
    static const int order[] = {0, 5, -1, -2, 1, 2, 3, 4, 6, 7, 8};
    veil_layer_tensor_sizes(c, s);
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        int t = order[k];
        if (t == -1) {
            m->rms_final = f;
            f += c->dim;
        } else if (t == -2) {
            m->tok_emb = f;
            f += (size_t)c->vocab_size * c->dim;
        } else {
            for (int l = 0; l < c->n_layers; l++) {
                *layer_slot(&m->layers[l], t) = f;
                f += s[t];
            }
        }
    }
    m->wcls = c->shared_classifier ? m->tok_emb : f;
    return 0;
}

static int read_i32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* Parse the header of a mapped checkpoint and check the length. */
static int parse_header(const uint8_t *p, size_t size, veil_config *c, size_t *header,
                        int *format)
{
    if (size < LEGACY_HEADER)
        return veil_fail(VEIL_EINVAL, "file is %zu bytes, shorter than any checkpoint header",
                         size);
    uint32_t magic;
    memcpy(&magic, p, 4);
    const uint8_t *h;
    if (magic == AK42_MAGIC) {
        if (size < AK42_HEADER)
            return veil_fail(VEIL_EINVAL, "ak42 file is %zu bytes, shorter than its header",
                             size);
        int version = read_i32(p + 4);
        if (version != 1)
            return veil_fail(VEIL_EINVAL, "ak42 version %d not supported (only 1, fp32)",
                             version);
        h = p + 8;
        *header = AK42_HEADER;
        *format = 1;
    } else {
        h = p;
        *header = LEGACY_HEADER;
        *format = 0;
    }
    c->dim = read_i32(h);
    c->hidden_dim = read_i32(h + 4);
    c->n_layers = read_i32(h + 8);
    c->n_heads = read_i32(h + 12);
    c->n_kv_heads = read_i32(h + 16);
    c->vocab_size = read_i32(h + 20);
    c->seq_len = read_i32(h + 24);
    if (*format == 1) {
        c->shared_classifier = h[28] != 0;
    } else {
        /* legacy: negative vocab_size means a separate classifier follows */
        c->shared_classifier = c->vocab_size > 0;
        if (c->vocab_size < 0 && c->vocab_size != INT32_MIN) c->vocab_size = -c->vocab_size;
    }
    int rc = veil_config_validate(c);
    if (rc) return rc;
    size_t floats = *format ? veil_model_param_count(c) : legacy_floats(c);
    size_t want = *header + floats * sizeof(float);
    if (size < want)
        return veil_fail(VEIL_EINVAL, "truncated checkpoint: %zu bytes, header implies %zu",
                         size, want);
    if (size > want)
        return veil_fail(VEIL_EINVAL, "oversized checkpoint: %zu bytes, header implies %zu "
                         "(%zu trailing bytes)", size, want, size - want);
    return 0;
}

static int model_init(veil_model *m, const uint8_t *base, size_t size, size_t header)
{
    m->layers = calloc(m->cfg.n_layers, sizeof *m->layers);
    if (!m->layers) return veil_fail(VEIL_ENOMEM, "out of memory");
    const float *f = (const float *)(base + header);
    return m->format ? map_ak42(m, f) : map_legacy(m, f);
}

/* Validate a checkpoint image and point a new model into it (no copy). */
static int model_over(const void *data, size_t size, veil_model **out)
{
    veil_model *m = calloc(1, sizeof *m);
    if (!m) return veil_fail(VEIL_ENOMEM, "out of memory");
    size_t header = 0;
    int rc = parse_header(data, size, &m->cfg, &header, &m->format);
    if (rc == 0) rc = model_init(m, data, size, header);
    if (rc) {
        veil_model_close(m);
        return rc;
    }
    veil_sha256(data, size, m->sha256);
    *out = m;
    return 0;
}

int veil_model_from_memory(const void *data, size_t size, veil_model **out)
{
    *out = NULL;
    if ((uintptr_t)data % sizeof(float))
        return veil_fail(VEIL_EINVAL, "checkpoint image is not 4-byte aligned");
    return model_over(data, size, out);
}

int veil_model_open(const char *path, veil_model **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return veil_fail(VEIL_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return veil_fail(VEIL_EIO, "%s is not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return veil_fail(VEIL_EINVAL, "%s: empty file, not a checkpoint", path);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return veil_fail(VEIL_EIO, "cannot map %s: %s", path, strerror(errno));
    int rc = model_over(map, size, out);
    if (rc) {
        char why[400];
        snprintf(why, sizeof why, "%s", veil_last_error());
        munmap(map, size);
        return veil_fail(rc, "%s: %s", path, why);
    }
    (*out)->map = map;
    (*out)->map_size = size;
    return 0;
}

int veil_model_from_legacy_floats(const veil_config *c, float *floats, size_t n_floats,
                                  veil_model **out)
{
    *out = NULL;
    int rc = veil_config_validate(c);
    if (rc) {
        free(floats);
        return rc;
    }
    if (n_floats != legacy_floats(c)) {
        free(floats);
        return veil_fail(VEIL_EINVAL, "weights hold %zu floats, shape needs %zu", n_floats,
                         legacy_floats(c));
    }
    veil_model *m = calloc(1, sizeof *m);
    if (!m) {
        free(floats);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    m->cfg = *c;
    m->owned = floats;
    rc = model_init(m, (const uint8_t *)floats, n_floats * sizeof(float), 0);
    if (rc) {
        veil_model_close(m);
        return rc;
    }
    veil_sha256(floats, n_floats * sizeof(float), m->sha256);
    *out = m;
    return 0;
}

void veil_model_close(veil_model *m)
{
    if (!m) return;
    if (m->map) munmap(m->map, m->map_size);
    free(m->owned);
    free(m->layers);
    free(m);
}
