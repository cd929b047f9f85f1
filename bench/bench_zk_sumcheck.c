/* Benchmarks of the zkDPS sum-check layer: prover throughput of the
 * sum-check for products of 2 and 4 multilinear tables (1 and 2 threads),
 * and the zero-knowledge matrix-product proof of `veil zk matmul` for
 * 256x288 * 288x768 with 16-bit entries (commit, prove, verify, size).
 * Prints a Markdown table.  Usage: bench_zk_sumcheck [max_vars (20)] */
#include "veil/zk_matmul.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double bench_sumcheck(unsigned n, unsigned nt, int threads, int reps)
{
    size_t len = (size_t)1 << n;
    veil_fe *orig = malloc(nt * len * sizeof *orig), *work = malloc(nt * len * sizeof *work);
    veil_fe *rounds = malloc((size_t)n * 5 * sizeof *rounds), r[32], fin[8], one;
    if (!orig || !work || !rounds) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < nt * len; i++)
        veil_fe_from_u64(&orig[i], (i * 0x9e3779b97f4a7c15ULL) >> 20);
    veil_fe_one(&one);
    omp_set_num_threads(threads);
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        memcpy(work, orig, nt * len * sizeof *work);
        veil_sc_poly p;
        veil_sc_poly_init(&p, n);
        for (unsigned j = 0; j < nt; j++)
            veil_sc_add_table(&p, work + j * len);
        if (nt == 2) veil_sc_add_term(&p, &one, 2, 0, 1);
        else veil_sc_add_term(&p, &one, 4, 0, 1, 2, 3);
        veil_transcript t;
        veil_transcript_init(&t, "bench/sc");
        double t0 = veil_now();
        if (veil_sc_prove(&t, &p, nt, NULL, rounds, r, fin)) {
            fprintf(stderr, "sumcheck: %s\n", veil_last_error());
            exit(1);
        }
        double dt = veil_now() - t0;
        if (dt < best) best = dt;
    }
    free(orig), free(work), free(rounds);
    return best;
}

static void bench_matmul(void)
{
    const uint32_t m = 256, k = 288, n = 768;
    veil_matmul_dims d;
    veil_matmul_dims_init(&d, m, k, n);
    int64_t *A = malloc((size_t)m * k * 8), *B = malloc((size_t)k * n * 8), *C = calloc((size_t)m * n, 8);
    uint64_t s = 1;
    for (size_t i = 0; i < (size_t)m * k; i++)
        A[i] = (int64_t)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 48) - 32768;
    for (size_t i = 0; i < (size_t)k * n; i++)
        B[i] = (int64_t)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 48) - 32768;
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t b = 0; b < k; b++)
            for (uint32_t j = 0; j < n; j++)
                C[(size_t)i * n + j] += A[(size_t)i * k + b] * B[(size_t)b * n + j];
    omp_set_num_threads(2);
    veil_pedersen_gens pg;
    veil_zk_matrix MA, MB, MC;
    veil_matmul_proof pf;
    veil_zkw w;
    veil_zkw_init(&w);
    double t0 = veil_now();
    int rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_matmul_gens_needed(&d));
    rc |= veil_zk_matrix_commit_i64(&MA, &pg, A, m, k, d.lm, d.lk, 0);
    rc |= veil_zk_matrix_commit_i64(&MB, &pg, B, k, n, d.lk, d.ln, 0);
    rc |= veil_zk_matrix_commit_i64(&MC, &pg, C, m, n, d.lm, d.ln, 0);
    double t1 = veil_now();
    veil_transcript t;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    rc |= veil_matmul_prove(&pf, &t, &pg, &d, &MA, &MB, &MC, 0);
    double t2 = veil_now();
    rc |= veil_matmul_file_write(&w, &d, &MA, &MB, &MC, &pf);
    if (rc) {
        fprintf(stderr, "matmul: %s\n", veil_last_error());
        exit(1);
    }
    double v[2];
    for (int th = 1; th <= 2; th++) {
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            double a = veil_now();
            if (veil_matmul_file_verify(w.buf, w.len, NULL, th)) {
                fprintf(stderr, "verify: %s\n", veil_last_error());
                exit(1);
            }
            double dt = veil_now() - a;
            if (dt < best) best = dt;
        }
        v[th - 1] = best;
    }
    size_t com = veil_hyrax_commitment_size(d.lm + d.lk) + veil_hyrax_commitment_size(d.lk + d.ln) +
                 veil_hyrax_commitment_size(d.lm + d.ln);
    printf("\n| `veil zk matmul` 256x288 * 288x768, 16-bit | value |\n|---|---|\n");
    printf("| commit A, B, C (Hyrax, 2 threads) | %.3f s |\n", t1 - t0);
    printf("| prove (2 threads) | %.3f s |\n", t2 - t1);
    printf("| verify incl. parsing + generators, 1 thread (best of 5) | %.1f ms |\n", v[0] * 1e3);
    printf("| verify incl. parsing + generators, 2 threads (best of 5) | %.1f ms |\n", v[1] * 1e3);
    printf("| proof file | %zu bytes (commitments %zu, proof %zu) |\n", w.len, com, w.len - com);
    veil_zk_matrix_free(&MA), veil_zk_matrix_free(&MB), veil_zk_matrix_free(&MC);
    veil_matmul_proof_free(&pf);
    veil_pedersen_gens_free(&pg);
    veil_zkw_free(&w);
    free(A), free(B), free(C);
}

int main(int argc, char **argv)
{
    unsigned maxv = argc > 1 ? (unsigned)atoi(argv[1]) : 20;
    if (maxv < 10 || maxv > 24) maxv = 20;
    printf("| sum-check prover | vars | threads | time | table entries/s |\n");
    printf("|---|---|---|---|---|\n");
    for (unsigned nt = 2; nt <= 4; nt += 2)
        for (unsigned n = 16; n <= maxv; n += 2)
            for (int th = 1; th <= 2; th++) {
                double dt = bench_sumcheck(n, nt, th, n >= 20 ? 2 : 3);
                printf("| product of %u tables (degree %u) | %u | %d | %.1f ms | %.1f M |\n", nt,
                       nt, n, th, dt * 1e3, (double)nt * (double)(1u << n) / dt / 1e6);
                fflush(stdout);
            }
    bench_matmul();
    return 0;
}
