/* Benchmark of zkDPS shard proofs of the integer forward pass: prover and
 * verifier time (wall and CPU), proof size, and the overhead against the
 * plain integer forward pass of the same tokens in core-seconds.
 * Usage: bench_zk_layer MODEL_DIR [T ...]   (default T = 1 32): prefill
 * proofs of T tokens and a decode step at position 32, each for the whole
 * model, the two shards of a 2-node split and one layer. */
#include "veil/zk_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One proof of layers first:last over the T tokens at positions pos.. (the
 * pos earlier ones replayed without a proof, as a node does), against the
 * plain integer pass of the same positions. */
static void row(const char *name, const veil_model *m, const veil_qmodel *q,
                const veil_zk_registry *reg, int first, int last, int pos, int T)
{
    int dim = m->cfg.dim, N = pos + T;
    int32_t *x = malloc(sizeof *x * N * dim), *y = malloc(sizeof *y * N * dim);
    for (int i = 0; i < N; i++)
        veil_qembed(q, (i * 37 + 1) % m->cfg.vocab_size, x + (size_t)i * dim);
    uint8_t key[32] = {1}, nonce[32] = {2};
    veil_qshard *sh;
    veil_qmodel_shard(q, first, last, N, &sh);
    veil_qtables_get(); /* built once per process: not part of a pass */
    memcpy(y, x, sizeof *x * N * dim);
    if (pos) veil_qshard_forward_batch(sh, 0, pos, y);
    enum { REPS = 20 };
    double c0 = cpu_now();
    for (int r = 0; r < REPS; r++) {
        memcpy(y, x + (size_t)pos * dim, sizeof *x * T * dim);
        veil_qshard_forward_batch(sh, pos, T, y);
    }
    double plain_cpu = (cpu_now() - c0) / REPS;
    veil_qshard_free(sh);
    veil_zk_kv *kv = NULL;
    veil_zk_shard_proof p, pre;
    int rc = veil_zk_kv_new(&m->cfg, first, last, &kv);
    if (!rc && pos) /* the verifier's KV record: the prefix's own proof */
        rc = veil_zk_prove_prefix(q, first, last, 0, pos, x, key, nonce, &pre, NULL) ||
             veil_zk_verify_shard(reg, kv, &pre, nonce);
    if (!rc && pos) veil_zk_shard_proof_free(&pre);
    c0 = cpu_now();
    double w0 = veil_now();
    if (!rc) rc = veil_zk_prove_prefix(q, first, last, pos, T, x, key, nonce, &p, y);
    double pc = cpu_now() - c0, pw = veil_now() - w0;
    if (rc) {
        printf("| %s | %d:%d | %d+%d | failed: %s |\n", name, first, last, pos, T, veil_last_error());
        veil_zk_kv_free(kv);
        free(x);
        free(y);
        return;
    }
    c0 = cpu_now(), w0 = veil_now();
    rc = veil_zk_verify_shard(reg, kv, &p, nonce);
    double vc = cpu_now() - c0, vw = veil_now() - w0;
    size_t bytes = p.body_len + 2 * p.commit_len + 64;
    printf("| %s | %d:%d | %s | %.2f (%.2f) | %.3f (%.3f)%s | %.1f | %.5f | %.0fx |\n", name,
           first, last, pos ? "decode" : "prefill", pw, pc, vw, vc, rc ? " REJECTED" : "",
           bytes / 1024.0, plain_cpu, pc / (plain_cpu > 1e-6 ? plain_cpu : 1e-6));
    fflush(stdout);
    veil_zk_shard_proof_free(&p);
    veil_zk_kv_free(kv);
    free(x);
    free(y);
}

/* Rows for one pass (prefill of T at 0, or one token at pos): the whole
 * model, the two shards of a 2-node split, one layer (whole = 0: one layer
 * only). */
static void pass_rows(const char *label, veil_model *m, veil_qmodel *q, veil_zk_registry *reg,
                      int whole, int pos, int T)
{
    int L = m->cfg.n_layers, half = (L + 1) / 2;
    if (whole) {
        row(label, m, q, reg, 0, L, pos, T);
        row(label, m, q, reg, 0, half, pos, T);
        row(label, m, q, reg, half, L, pos, T);
    }
    row(label, m, q, reg, 0, 1, pos, T);
}

/* Prefill proofs of each T, then one decode step at position 32. */
static int bench_model(const char *name, veil_model *m, const int *Ts, int nT, int whole)
{
    veil_qmodel *q;
    veil_zk_registry reg;
    if (veil_qmodel_new(m, &q) || veil_zk_commit_model(m, q, &reg, NULL, NULL)) {
        fprintf(stderr, "%s: %s\n", name, veil_last_error());
        return 1;
    }
    char label[128];
    for (int i = 0; i < nT; i++) {
        snprintf(label, sizeof label, "%s, T=%d", name, Ts[i]);
        pass_rows(label, m, q, &reg, whole, 0, Ts[i]);
    }
    snprintf(label, sizeof label, "%s, decode at 32", name);
    pass_rows(label, m, q, &reg, whole, 32, 1);
    veil_zk_registry_free(&reg);
    veil_qmodel_free(q);
    return 0;
}

/* One layer of the 15M shape (dim 288, hidden 768, 6 heads), random weights. */
static veil_model *synth_15m_layer(void)
{
    veil_config c = {288, 768, 1, 6, 6, 512, 256, 1};
    size_t n = veil_model_param_count(&c) + (size_t)c.seq_len * (c.dim / c.n_heads);
    float *w = malloc(n * sizeof *w);
    uint64_t s = 12345;
    for (size_t i = 0; w && i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = ((float)(s >> 40) / (float)(1 << 24) - 0.5f) * 0.1f;
    }
    for (size_t i = 0; w && i < (size_t)c.dim; i++) /* rms gains near 1 */
        w[(size_t)c.vocab_size * c.dim + i] = 1.0f;
    veil_model *m = NULL;
    if (!w || veil_model_from_legacy_floats(&c, w, n, &m)) return NULL;
    return m;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/models";
    int Ts[8] = {1, 32}, nT = 2;
    if (argc > 2) {
        nT = 0;
        for (int i = 2; i < argc && nT < 8; i++)
            Ts[nT++] = atoi(argv[i]);
    }
    printf("| model, tokens | layers | pass | prove s wall (CPU) | verify s wall (CPU) | proof KiB | "
           "plain CPU s | prove / plain CPU |\n|---|---|---|---|---|---|---|---|\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/stories260K.bin", dir);
    veil_model *m;
    if (veil_model_open(path, &m) == 0) {
        bench_model("stories260K", m, Ts, nT, 1);
        veil_model_close(m);
    } else {
        fprintf(stderr, "skipping stories260K: %s\n", veil_last_error());
    }
    m = synth_15m_layer();
    if (!m) return 1;
    bench_model("15M shape, 1 layer", m, Ts, nT, 0);
    veil_model_close(m);
    return 0;
}
