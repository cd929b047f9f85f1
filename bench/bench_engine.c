/* Local engine benchmark: decode and prefill tokens/s and peak RSS, per model
 * shape and thread count. Each configuration runs in a fresh child process so
 * its peak RSS is its own.  Prints markdown table rows.
 *
 *   bench_engine [MODEL_DIR] [--quick]
 */
#include "veil/model.h"
#include "veil/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const char *name;
    veil_config cfg; /* zero dim: load `path` instead */
    char path[1024];
} bench_model;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Decode `steps` positions one token at a time (greedy), then prefill the
 * same number of positions as one batch; report both rates. */
static void run_one(const bench_model *bm, int threads, int steps, FILE *out)
{
    veil_set_threads(threads);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double base_mb = ru.ru_maxrss / 1024.0; /* runtime before the model */
    veil_model *m;
    if (veil_model_open(bm->path, &m)) {
        fprintf(stderr, "%s\n", veil_last_error());
        exit(1);
    }
    const veil_config *c = &m->cfg;
    if (steps > c->seq_len) steps = c->seq_len;
    veil_shard *s;
    veil_model_shard(m, 0, c->n_layers, steps, &s);
    float *x = malloc(sizeof(float) * c->dim * steps);
    float *logits = malloc(sizeof(float) * c->vocab_size);
    int tok = 1;
    double c0 = cpu_now(), t0 = veil_now();
    for (int pos = 0; pos < steps; pos++) {
        veil_embed(m, tok, x);
        veil_shard_forward(s, pos, x);
        veil_head(m, x, logits);
        tok = 0;
        for (int i = 1; i < c->vocab_size; i++)
            if (logits[i] > logits[tok]) tok = i;
    }
    double decode = steps / (veil_now() - t0), decode_cpu = steps / (cpu_now() - c0);
    for (int i = 0; i < steps; i++) veil_embed(m, (i * 7 + 1) % c->vocab_size, x + (size_t)i * c->dim);
    t0 = veil_now();
    veil_shard_forward_batch(s, 0, steps, x);
    veil_head(m, x + (size_t)(steps - 1) * c->dim, logits);
    double prefill = steps / (veil_now() - t0);
    getrusage(RUSAGE_SELF, &ru);
    double weights_mb = veil_model_param_count(c) * 4.0 / 1048576.0;
    double kv_mb = veil_shard_kv_bytes(s) / 1048576.0;
    double rss_mb = ru.ru_maxrss / 1024.0, model_mb = rss_mb - base_mb;
    fprintf(out, "| %s | %d | %.1f | %.1f | %.1f | %.2fx | %.1f | %.1f | %.1f | %.2f |\n",
            bm->name, threads, decode, decode_cpu, prefill, prefill / decode, rss_mb, model_mb, weights_mb + kv_mb,
            model_mb / (weights_mb + kv_mb));
    fflush(out);
    veil_shard_free(s);
    veil_model_close(m);
    free(x), free(logits);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 && argv[1][0] != '-' ? argv[1] : "../shared/models";
    int quick = argc > 1 && strcmp(argv[argc - 1], "--quick") == 0;
    bench_model models[3] = {
        {"stories260K", {0}, ""},
        {"synthetic 15M shape", {288, 768, 6, 6, 6, 32000, 256, 1}, ""},
        {"synthetic 110M shape", {768, 2048, 12, 12, 12, 32000, 1024, 1}, ""},
    };
    int nmodels = quick ? 2 : 3;
    snprintf(models[0].path, sizeof models[0].path, "%s/stories260K.bin", dir);
    for (int i = 1; i < nmodels; i++) {
        snprintf(models[i].path, sizeof models[i].path, "/tmp/veil-bench-%d.bin", i);
        if (access(models[i].path, R_OK) != 0 && veil_synth_model(&models[i].cfg, 1, models[i].path)) {
            fprintf(stderr, "%s\n", veil_last_error());
            return 1;
        }
    }
    printf("| model | threads | decode tok/s | decode tok per CPU-s | prefill tok/s | "
           "prefill/decode | peak RSS MB | RSS over runtime MB | weights+KV MB | ratio |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (int i = 0; i < nmodels; i++) {
        if (access(models[i].path, R_OK) != 0) {
            fprintf(stderr, "skipping %s: %s not found\n", models[i].name, models[i].path);
            continue;
        }
        for (int threads = 1; threads <= 2; threads++) {
            pid_t pid = fork();
            if (pid == 0) {
                run_one(&models[i], threads, 256, stdout);
                _exit(0);
            }
            int st;
            waitpid(pid, &st, 0);
        }
    }
    return 0;
}
