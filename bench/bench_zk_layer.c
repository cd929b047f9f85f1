/* Benchmark of zkDPS shard proofs of the integer forward pass: prover and
 * verifier time (wall and CPU), proof size, and the overhead against the
 * plain integer forward pass of the same tokens in core-seconds.
 * Usage: bench_zk_layer MODEL_DIR [T ...]   (default T = 1 32; whole model for
 * T <= 64, one layer for every T) */
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

static void row(const char *name, const veil_model *m, const veil_qmodel *q,
                const veil_zk_registry *reg, int first, int last, int T)
{
    int dim = m->cfg.dim;
    int32_t *x = malloc(sizeof *x * T * dim), *y = malloc(sizeof *y * T * dim);
    for (int i = 0; i < T; i++)
        veil_qembed(q, (i * 37 + 1) % m->cfg.vocab_size, x + (size_t)i * dim);
    uint8_t key[32] = {1}, nonce[32] = {2};
    /* plain: the integer forward pass of the same shard and tokens */
    veil_qshard *sh;
    veil_qmodel_shard(q, first, last, T, &sh);
    veil_qtables_get(); /* built once per process: not part of a pass */
    enum { REPS = 20 };
    double c0 = cpu_now(), w0 = veil_now();
    for (int r = 0; r < REPS; r++) {
        memcpy(y, x, sizeof *x * T * dim);
        veil_qshard_forward_batch(sh, 0, T, y);
    }
    double plain_cpu = (cpu_now() - c0) / REPS, plain_wall = (veil_now() - w0) / REPS;
    veil_qshard_free(sh);
    veil_zk_shard_proof p;
    c0 = cpu_now(), w0 = veil_now();
    int rc = veil_zk_prove_prefix(m, q, first, last, 0, T, x, key, nonce, &p, y);
    double pc = cpu_now() - c0, pw = veil_now() - w0;
    if (rc) {
        printf("| %s | %d:%d | %d | failed: %s |\n", name, first, last, T, veil_last_error());
        free(x);
        free(y);
        return;
    }
    c0 = cpu_now(), w0 = veil_now();
    rc = veil_zk_verify_shard(reg, NULL, &p, nonce);
    double vc = cpu_now() - c0, vw = veil_now() - w0;
    size_t bytes = p.body_len + 2 * p.commit_len + 64;
    printf("| %s | %d:%d | %d | %.2f (%.2f) | %.3f (%.3f)%s | %.1f | %.4f | %.0fx |\n", name,
           first, last, T, pw, pc, vw, vc, rc ? " REJECTED" : "", bytes / 1024.0, plain_cpu,
           pc / (plain_cpu > 1e-6 ? plain_cpu : 1e-6));
    (void)plain_wall;
    fflush(stdout);
    veil_zk_shard_proof_free(&p);
    free(x);
    free(y);
}

static int bench_model(const char *name, veil_model *m, const int *Ts, int nT, int whole)
{
    veil_qmodel *q;
    veil_zk_registry reg;
    if (veil_qmodel_new(m, &q) || veil_zk_commit_model(m, q, &reg, NULL, NULL)) {
        fprintf(stderr, "%s: %s\n", name, veil_last_error());
        return 1;
    }
    for (int i = 0; i < nT; i++) {
        /* whole model up to T = 64 only: beyond, one layer shows the scaling */
        if (whole && Ts[i] <= 64) row(name, m, q, &reg, 0, m->cfg.n_layers, Ts[i]);
        row(name, m, q, &reg, 0, 1, Ts[i]);
    }
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
    printf("| model | layers | T | prove s wall (CPU) | verify s wall (CPU) | proof KiB | "
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
