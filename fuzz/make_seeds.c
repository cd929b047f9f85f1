/* Writes the fuzz seeds that must be valid messages of the current formats:
 *   fuzz/corpus/fuzz_zk_layer/seed_t2.bin   an honest 2-token proof over the
 *                                           fuzz_zk_layer model
 *   fuzz/corpus/fuzz_critical/seed_int      a ZK_FORWARD payload (after the
 *                                           checkpoint hash) for fuzz_critical
 *   fuzz/corpus/fuzz_zk_load/seed_layer     a ZK_LOAD payload for fuzz_zk_load
 * Usage: build/fuzz_make_seeds SOURCE_DIR  (rerun when a format changes). */
#include "veil/critical.h"
#include "veil/synth.h"
#include "veil/zk_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fuzz/corpus/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b, 1, n, f) == n;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "cannot write %s\n", path);
    return ok ? 0 : 1;
}

static veil_model *model(const veil_config *c, uint64_t seed)
{
    size_t n;
    float *w = veil_synth_floats(c, seed, &n);
    veil_model *m;
    if (!w || veil_model_from_legacy_floats(c, w, n, &m)) return NULL;
    return m;
}

static int zk_layer_seed(const char *dir)
{
    veil_config c = {8, 16, 1, 2, 2, 16, 8, 1}; /* fuzz_zk_layer.c */
    veil_model *m = model(&c, 0x9E3779B97F4A7C15ull);
    veil_qmodel *q;
    if (!m || veil_qmodel_new(m, &q)) return 1;
    int32_t x[2 * 8];
    veil_qembed(q, 1, x);
    veil_qembed(q, 5, x + 8);
    uint8_t key[32] = {1}, nonce[32] = {2}, *b;
    size_t n;
    veil_zk_shard_proof p;
    int rc = veil_zk_prove_prefix(q, 0, 1, 0, 2, x, key, nonce, &p, NULL) ||
             veil_zk_shard_proof_write(&p, &b, &n);
    if (!rc) {
        rc = write_file(dir, "fuzz_zk_layer/seed_t2.bin", b, n);
        free(b);
        veil_zk_shard_proof_free(&p);
    }
    veil_qmodel_free(q);
    veil_model_close(m);
    return rc;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int critical_seed(const char *dir)
{
    enum { DIM = 8, POS = 1, T = 2 }; /* fuzz_critical.c: dim 8, 2 layers */
    uint8_t b[VEIL_CRIT_FWD_HDR - 32 + 4 * DIM * (POS + T)];
    memset(b, 0, sizeof b);
    put32(b, 0);           /* first */
    put32(b + 4, 2);       /* last */
    put32(b + 8, POS);     /* pos */
    put32(b + 12, T);      /* T */
    put32(b + 16, 0);      /* flags: no proof */
    for (int i = 0; i < DIM * (POS + T); i++) put32(b + VEIL_CRIT_FWD_HDR - 32 + 4 * i, (uint32_t)(i * 977 - 4000));
    return write_file(dir, "fuzz_critical/seed_int", b, sizeof b);
}

/* A ZK_LOAD of one layer of a tiny config (dim 8, hidden 16, 2 layers). */
static int load_seed(const char *dir)
{
    veil_config c = {8, 16, 2, 2, 2, 16, 8, 1};
    size_t per = veil_layer_floats(&c), n = VEIL_CRIT_LOAD_HDR + 4 * per;
    uint8_t *b = calloc(1, n);
    if (!b) return 1;
    const int cf[8] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len,
                       c.shared_classifier};
    for (int i = 0; i < 8; i++) put32(b + 4 * i, (uint32_t)cf[i]);
    put32(b + 32, 1);
    put32(b + 36, 2);
    for (size_t i = 0; i < per; i++) put32(b + VEIL_CRIT_LOAD_HDR + 4 * i, (uint32_t)(i * 131 % 65536));
    int rc = write_file(dir, "fuzz_zk_load/seed_layer", b, n);
    free(b);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int rc = zk_layer_seed(dir) | critical_seed(dir) | load_seed(dir);
    if (rc) fprintf(stderr, "%s\n", veil_last_error());
    return rc;
}
