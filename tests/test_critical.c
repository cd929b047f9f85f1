/* Node side of critical inference (veil_crit_serve): malformed ZK_FORWARD
 * payloads are refused with a reason and never crash; an honest --int
 * request returns exactly the integer forward pass of its layers; the
 * dishonest variants differ from it. (End to end with proofs:
 * tests/sh_critical_net.sh.) */
#include "harness.h"

#include "veil/critical.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int frames, type;
    uint8_t *last;
    size_t len;
} sink;

static int collect(void *ctx, int type, const void *p, size_t len)
{
    sink *s = ctx;
    s->frames++;
    s->type = type;
    free(s->last);
    s->last = malloc(len);
    memcpy(s->last, p, len);
    s->len = len;
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A ZK_FORWARD payload for layers a:b, new rows pos..pos+T-1, carrying the
 * rows of x from position 0. */
static uint8_t *request(const veil_model *m, int a, int b, int pos, int T, uint32_t flags, const int32_t *x,
                        size_t *len)
{
    size_t rows = (size_t)(pos + T) * m->cfg.dim;
    *len = VEIL_CRIT_FWD_HDR + 4 * rows;
    uint8_t *p = calloc(1, *len);
    memcpy(p, m->sha256, 32);
    put32(p + 32, (uint32_t)a);
    put32(p + 36, (uint32_t)b);
    put32(p + 40, (uint32_t)pos);
    put32(p + 44, (uint32_t)T);
    put32(p + 48, flags);
    for (size_t i = 0; i < rows; i++) put32(p + VEIL_CRIT_FWD_HDR + 4 * i, (uint32_t)x[i]);
    return p;
}

static int serve(const veil_model *m, const veil_adv_mode *adv, const uint8_t *p, size_t n, sink *s)
{
    s->frames = 0;
    return veil_crit_serve(m, adv, p, n, collect, s, NULL);
}

static void malformed(const veil_model *m, const int32_t *x)
{
    size_t len;
    sink s = {0};
    uint8_t *p = request(m, 0, 2, 0, 3, 0, x, &len);
    CHECK(serve(m, NULL, p, 10, &s) == VEIL_EPROTO && s.frames == 0);
    CHECK(serve(m, NULL, p, len - 1, &s) == VEIL_EPROTO && s.frames == 0);
    put32(p + 36, 9); /* past n_layers */
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    put32(p + 36, 0); /* first >= last */
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    put32(p + 36, 2);
    put32(p + 44, 0); /* no tokens */
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    put32(p + 44, 0xffffffffu);
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    put32(p + 40, 0xfffffffeu); /* pos + T wraps */
    put32(p + 44, 3);
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    put32(p + 40, 1); /* the rows carried do not match pos + T */
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    put32(p + 40, 0);
    put32(p + 48, 4); /* unknown flag */
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    put32(p + 48, VEIL_CRIT_EARLY); /* early without a proof */
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    free(p);
    p = request(m, 0, 2, 1, 2, VEIL_CRIT_PROVE, x, &len); /* 2 tokens at 1: not a provable chunk */
    CHECK(serve(m, NULL, p, len, &s) == VEIL_EPROTO);
    CHECK(s.frames == 0);
    uint8_t sha[32];
    CHECK(veil_crit_payload_model(p, 5, sha) == VEIL_EPROTO);
    free(p);
    free(s.last);
}

/* rows of a ZK_RESULT (T, dim, rows, P = 0) equal the local integer pass. */
static int same_rows(const veil_model *m, const sink *s, const int32_t *want, int T)
{
    size_t rows = (size_t)T * m->cfg.dim;
    if (s->frames != 1 || s->type != VEIL_MSG_ZK_RESULT || s->len != 12 + 4 * rows) return 0;
    for (size_t i = 0; i < rows; i++) {
        const uint8_t *q = s->last + 8 + 4 * i;
        int32_t v = (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24);
        if (v != want[i]) return 0;
    }
    return 1;
}

/* ZK_LOAD: a shard's integer weights uploaded; malformed payloads refused;
 * a ZK_FORWARD naming the upload computes with exactly those weights. */
static void uploads(const veil_model *m, const veil_qmodel *q, const int32_t *x)
{
    const veil_config *c = &m->cfg;
    size_t per = veil_layer_floats(c), len = VEIL_CRIT_LOAD_HDR + 4 * per * 2;
    uint8_t *p = calloc(1, len);
    const int cf[8] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size, c->seq_len,
                       c->shared_classifier};
    for (int i = 0; i < 8; i++) put32(p + 4 * i, (uint32_t)cf[i]);
    put32(p + 32, 1);
    put32(p + 36, 3);
    for (int l = 1; l < 3; l++) { /* the plain quantized layers, in wire order */
        const veil_qlayer *ql = &q->layers[l];
        const int32_t *parts[9] = {ql->rms_att, ql->wq, ql->wk, ql->wv, ql->wo, ql->rms_ffn, ql->w1, ql->w2, ql->w3};
        size_t sizes[VEIL_LAYER_TENSORS], at = VEIL_CRIT_LOAD_HDR + 4 * per * (l - 1);
        veil_layer_tensor_sizes(c, sizes);
        for (int k = 0; k < 9; k++)
            for (size_t i = 0; i < sizes[k]; i++, at += 4) put32(p + at, (uint32_t)parts[k][i]);
    }
    veil_crit_upload *u;
    CHECK(veil_crit_upload_parse(p, 20, NULL, &u) == VEIL_EPROTO);
    CHECK(veil_crit_upload_parse(p, len - 4, NULL, &u) == VEIL_EPROTO);
    put32(p + 36, 9); /* past n_layers */
    CHECK(veil_crit_upload_parse(p, len, NULL, &u) == VEIL_EPROTO);
    put32(p + 36, 3);
    put32(p, 0); /* dim 0 */
    CHECK(veil_crit_upload_parse(p, len, NULL, &u) == VEIL_EPROTO);
    put32(p, (uint32_t)c->dim);
    uint32_t keep = (uint32_t)p[VEIL_CRIT_LOAD_HDR + 8] | (uint32_t)p[VEIL_CRIT_LOAD_HDR + 9] << 8 |
                    (uint32_t)p[VEIL_CRIT_LOAD_HDR + 10] << 16 | (uint32_t)p[VEIL_CRIT_LOAD_HDR + 11] << 24;
    put32(p + VEIL_CRIT_LOAD_HDR + 8, (1u << 24) + 1); /* a weight beyond +-2^24 */
    CHECK(veil_crit_upload_parse(p, len, NULL, &u) == VEIL_EPROTO);
    put32(p + VEIL_CRIT_LOAD_HDR + 8, keep);
    CHECKF(veil_crit_upload_parse(p, len, NULL, &u) == 0, "%s", veil_last_error());
    uint8_t id[32];
    veil_sha256(p, len, id);
    CHECK(memcmp(veil_crit_upload_id(u), id, 32) == 0);
    /* served like the checkpoint's layers 1:3 */
    int T = 3, dim = c->dim;
    int32_t *want = malloc(sizeof(int32_t) * T * dim);
    memcpy(want, x, sizeof(int32_t) * T * dim);
    veil_qshard *sh;
    CHECK(veil_qmodel_shard(q, 1, 3, T, &sh) == 0 && veil_qshard_forward_batch(sh, 0, T, want) == 0);
    veil_qshard_free(sh);
    size_t rl;
    uint8_t *r = request(m, 1, 3, 0, T, 0, x, &rl);
    memcpy(r, id, 32);
    sink s = {0};
    CHECK(veil_crit_serve_upload(u, NULL, r, rl, collect, &s, NULL) == 0 && same_rows(m, &s, want, T));
    free(r);
    r = request(m, 0, 3, 0, T, 0, x, &rl); /* layers the upload does not hold */
    CHECK(veil_crit_serve_upload(u, NULL, r, rl, collect, &s, NULL) == VEIL_EPROTO);
    veil_crit_upload_free(u);
    veil_adv_mode adv = {.kind = VEIL_ADV_WRONG_MODEL}; /* alters the uploaded weights */
    CHECK(veil_crit_upload_parse(p, len, &adv, &u) == 0);
    memcpy(r, id, 32);
    put32(r + 32, 1);
    CHECK(veil_crit_serve_upload(u, NULL, r, rl, collect, &s, NULL) == 0 && !same_rows(m, &s, want, T));
    veil_crit_upload_free(u);
    free(r);
    free(s.last);
    free(want);
    free(p);
}

int main(void)
{
    const char *path = test_model_file("stories260K.bin");
    if (!path) return test_skip("stories260K.bin not found");
    veil_model *m;
    veil_qmodel *q;
    if (veil_model_open(path, &m) || veil_qmodel_new(m, &q)) return test_skip("cannot load the model");
    int T = 3, dim = m->cfg.dim;
    int32_t *x = malloc(sizeof(int32_t) * T * dim), *want = malloc(sizeof(int32_t) * T * dim);
    int toks[3] = {1, 403, 407};
    for (int t = 0; t < T; t++) veil_qembed(q, toks[t], x + t * dim);
    memcpy(want, x, sizeof(int32_t) * T * dim);
    veil_qshard *sh;
    CHECK(veil_qmodel_shard(q, 1, 4, T, &sh) == 0);
    CHECK(veil_qshard_forward_batch(sh, 0, T, want) == 0);
    veil_qshard_free(sh);

    malformed(m, x);
    uploads(m, q, x);
    size_t len;
    sink s = {0};
    uint8_t *p = request(m, 1, 4, 0, T, 0, x, &len);
    CHECK(serve(m, NULL, p, len, &s) == 0);
    CHECK(same_rows(m, &s, want, T));
    /* the last rows only, the earlier ones rebuilding the cache */
    uint8_t *p2 = request(m, 1, 4, 1, T - 1, 0, x, &len);
    CHECK(serve(m, NULL, p2, len, &s) == 0 && same_rows(m, &s, want + dim, T - 1));
    free(p2);
    len = VEIL_CRIT_FWD_HDR + 4 * (size_t)T * dim;
    veil_adv_mode adv = {.kind = VEIL_ADV_NOISE};
    CHECK(serve(m, &adv, p, len, &s) == 0 && !same_rows(m, &s, want, T));
    adv.kind = VEIL_ADV_WRONG_MODEL;
    CHECK(serve(m, &adv, p, len, &s) == 0 && !same_rows(m, &s, want, T));
    CHECK(serve(m, NULL, p, len, &s) == 0 && same_rows(m, &s, want, T)); /* honest copy untouched */
    free(p);
    free(s.last);
    veil_crit_forget(m);
    free(x);
    free(want);
    veil_qmodel_free(q);
    veil_model_close(m);
    return test_done();
}
