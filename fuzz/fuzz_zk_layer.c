/* libFuzzer target: shard proofs of the integer forward pass (zk_layer.h).
 * Untrusted bytes are parsed (veil_zk_shard_proof_read) and, when they
 * parse, verified against the registry of a tiny deterministic model; every
 * outcome must be a clean rejection (or, for the seed, an acceptance)
 * without crashes, leaks or undefined behaviour. */
#include "veil/synth.h"
#include "veil/zk_layer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static veil_zk_registry g_reg;
static int g_ready;

/* dim 8, hidden 16, 1 layer, 2 heads: verification is fast.  The seed in
 * fuzz/corpus/fuzz_zk_layer is an honest proof over this model
 * (scripts/fuzz_seeds.c writes it). */
static void setup(void)
{
    veil_config c = {8, 16, 1, 2, 2, 16, 8, 1};
    size_t n;
    float *w = veil_synth_floats(&c, 0x9E3779B97F4A7C15ull, &n);
    veil_model *m;
    veil_qmodel *q;
    if (!w || veil_model_from_legacy_floats(&c, w, n, &m)) abort();
    if (veil_qmodel_new(m, &q) || veil_zk_commit_model(m, q, &g_reg, NULL, NULL)) abort();
    veil_qmodel_free(q);
    veil_model_close(m);
    g_ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) setup();
    veil_zk_shard_proof p;
    if (veil_zk_shard_proof_read(data, size, &p)) return 0;
    veil_zk_kv *kv; /* a fresh record: the proof must start at position 0 */
    if (!veil_zk_kv_new(&g_reg.cfg, p.first, p.last, &kv)) {
        (void)veil_zk_verify_shard(&g_reg, kv, &p, p.nonce);
        veil_zk_kv_free(kv);
    }
    veil_zk_shard_proof_free(&p);
    return 0;
}
