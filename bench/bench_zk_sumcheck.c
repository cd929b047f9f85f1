/* Benchmarks of the zkDPS sum-check layer: prover throughput of the
 * sum-check for products of 2 and 4 multilinear tables (1 and 2 threads),
 * the zero-knowledge matrix-product proof of `veil zk matmul` for
 * 256x288 * 288x768 with 16-bit entries (commit, prove, verify, size), and
 * the range (2^16 values in [0, 2^16)) and ReLU (2^12 values, Q = 16) proofs.
 * Prints a Markdown table.  Usage: bench_zk_sumcheck [max_vars (20)] */
#include "veil/zk_lookup.h"
#include "veil/zk_matmul.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Process CPU seconds (all threads): on the shared, overloaded VMs this is
 * a better estimate of an idle machine's wall time than wall time. */
static double cpu_now(void) { return (double)clock() / CLOCKS_PER_SEC; }

static double bench_sumcheck(unsigned n, unsigned nt, int threads, int reps, double *cpu)
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
        double t0 = veil_now(), c0 = cpu_now();
        if (veil_sc_prove(&t, &p, nt, NULL, rounds, r, fin)) {
            fprintf(stderr, "sumcheck: %s\n", veil_last_error());
            exit(1);
        }
        double dt = veil_now() - t0;
        if (dt < best) best = dt, *cpu = cpu_now() - c0;
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
    double t0 = veil_now(), c0 = cpu_now();
    int rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_matmul_gens_needed(&d));
    rc |= veil_zk_matrix_commit_i64(&MA, &pg, A, m, k, d.lm, d.lk, 0);
    rc |= veil_zk_matrix_commit_i64(&MB, &pg, B, k, n, d.lk, d.ln, 0);
    rc |= veil_zk_matrix_commit_i64(&MC, &pg, C, m, n, d.lm, d.ln, 0);
    double t1 = veil_now(), c1 = cpu_now();
    veil_transcript t;
    veil_transcript_init(&t, VEIL_MATMUL_DOMAIN);
    rc |= veil_matmul_prove(&pf, &t, &pg, &d, &MA, &MB, &MC, 0);
    double t2 = veil_now(), c2 = cpu_now();
    rc |= veil_matmul_file_write(&w, &d, &MA, &MB, &MC, &pf);
    if (rc) {
        fprintf(stderr, "matmul: %s\n", veil_last_error());
        exit(1);
    }
    double v[2], vc[2];
    for (int th = 1; th <= 2; th++) {
        double best = 1e30, bestc = 1e30;
        omp_set_num_threads(th); /* also caps generator derivation and decoding */
        for (int rep = 0; rep < 5; rep++) {
            double a = veil_now(), ac = cpu_now();
            if (veil_matmul_file_verify(w.buf, w.len, NULL, th)) {
                fprintf(stderr, "verify: %s\n", veil_last_error());
                exit(1);
            }
            if (veil_now() - a < best) best = veil_now() - a;
            if (cpu_now() - ac < bestc) bestc = cpu_now() - ac;
        }
        v[th - 1] = best, vc[th - 1] = bestc;
    }
    size_t com = veil_hyrax_commitment_size(d.lm + d.lk) + veil_hyrax_commitment_size(d.lk + d.ln) +
                 veil_hyrax_commitment_size(d.lm + d.ln);
    printf("\n| `veil zk matmul` 256x288 * 288x768, 16-bit | value |\n|---|---|\n");
    printf("| commit A, B, C (Hyrax, 2 threads), wall / CPU | %.3f / %.3f s |\n", t1 - t0, c1 - c0);
    printf("| prove (2 threads), wall / CPU | %.3f / %.3f s |\n", t2 - t1, c2 - c1);
    printf("| verify incl. parsing + generators, 1 thread, wall / CPU (best of 5) | %.1f / %.1f ms |\n",
           v[0] * 1e3, vc[0] * 1e3);
    printf("| verify incl. parsing + generators, 2 threads, wall / CPU (best of 5) | %.1f / %.1f ms |\n",
           v[1] * 1e3, vc[1] * 1e3);
    printf("| proof file | %zu bytes (commitments %zu, proof %zu) |\n", w.len, com, w.len - com);
    veil_zk_matrix_free(&MA), veil_zk_matrix_free(&MB), veil_zk_matrix_free(&MC);
    veil_matmul_proof_free(&pf);
    veil_pedersen_gens_free(&pg);
    veil_zkw_free(&w);
    free(A), free(B), free(C);
}

/* Best-of-3 verification, wall and CPU. */
static double best_verify(int (*fn)(const uint8_t *, size_t, unsigned *, unsigned *, int),
                          const veil_zkw *w, double *cpu)
{
    double best = 1e30;
    unsigned x, y;
    *cpu = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double a = veil_now(), ac = cpu_now();
        if (fn(w->buf, w->len, &x, &y, 1)) {
            fprintf(stderr, "verify: %s\n", veil_last_error());
            exit(1);
        }
        if (veil_now() - a < best) best = veil_now() - a;
        if (cpu_now() - ac < *cpu) *cpu = cpu_now() - ac;
    }
    return best;
}

/* Range: 2^16 values in [0, 2^16); ReLU: 2^12 values, |z| < 2^16. */
static void bench_vectors(void)
{
    const unsigned ra = 16, rb = 16, la = 12, Q = 16;
    size_t n = (size_t)1 << ra, m = (size_t)1 << la;
    veil_fe *S = malloc(n * sizeof *S), *Zf = malloc(m * sizeof *Zf), *Af = malloc(m * sizeof *Af),
            *bits = malloc((Q + 1) * m * sizeof *bits);
    uint32_t *idx = malloc(n * sizeof *idx);
    int64_t *z = malloc(m * sizeof *z);
    uint64_t s = 7;
    for (size_t i = 0; i < n; i++) {
        idx[i] = (uint32_t)((s = s * 6364136223846793005ULL + 1) >> 48);
        veil_fe_from_u64(&S[i], idx[i]);
    }
    for (size_t i = 0; i < m; i++)
        z[i] = (int64_t)((s = s * 6364136223846793005ULL + 1) >> 47) - 65535;
    veil_relu_witness(z, m, Q, Zf, Af, bits);
    veil_pedersen_gens pg;
    veil_zk_vec vS, vZ, vA;
    veil_lookup_proof lp;
    veil_relu_proof rp;
    veil_zkw w1, w2;
    veil_zkw_init(&w1), veil_zkw_init(&w2);
    veil_transcript tr;
    size_t need = veil_lookup_gens_needed(ra, rb);
    if (veil_relu_gens_needed(la, Q) > need) need = veil_relu_gens_needed(la, Q);
    int rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, need);
    double t[6], c[6];
    t[0] = veil_now(), c[0] = cpu_now();
    rc |= veil_zk_vec_commit(&vS, &pg, S, ra, 0);
    t[1] = veil_now(), c[1] = cpu_now();
    veil_transcript_init(&tr, VEIL_RANGE_DOMAIN);
    rc |= veil_lookup_prove(&lp, &tr, &pg, &vS, idx, NULL, rb, 0);
    t[2] = veil_now(), c[2] = cpu_now();
    rc |= veil_range_file_write(&w1, &vS.cm, rb, &lp);
    t[3] = veil_now(), c[3] = cpu_now();
    rc |= veil_zk_vec_commit(&vZ, &pg, Zf, la, 0);
    rc |= veil_zk_vec_commit(&vA, &pg, Af, la, 0);
    t[4] = veil_now(), c[4] = cpu_now();
    veil_transcript_init(&tr, VEIL_RELU_DOMAIN);
    rc |= veil_relu_prove(&rp, &tr, &pg, &vZ, &vA, z, Q, 0);
    t[5] = veil_now(), c[5] = cpu_now();
    rc |= veil_relu_file_write(&w2, &vZ.cm, &vA.cm, &rp);
    if (rc) {
        fprintf(stderr, "vectors: %s\n", veil_last_error());
        exit(1);
    }
    omp_set_num_threads(1);
    double vc1, vc2, v1 = best_verify(veil_range_file_verify, &w1, &vc1),
                     v2 = best_verify(veil_relu_file_verify, &w2, &vc2);
    printf("\n| proof (commit/prove 2 threads; verify 1 thread, best of 3); wall / CPU | commit | prove | verify | file |\n");
    printf("|---|---|---|---|---|\n");
    printf("| `veil zk range`: 2^16 values in [0, 2^16) | %.2f / %.2f s | %.2f / %.2f s | %.0f / %.0f ms | %zu B |\n",
           t[1] - t[0], c[1] - c[0], t[2] - t[1], c[2] - c[1], v1 * 1e3, vc1 * 1e3, w1.len);
    printf("| `veil zk relu`: 2^12 values, abs < 2^16 | %.2f / %.2f s | %.2f / %.2f s | %.0f / %.0f ms | %zu B |\n",
           t[4] - t[3], c[4] - c[3], t[5] - t[4], c[5] - c[4], v2 * 1e3, vc2 * 1e3, w2.len);
    veil_lookup_proof_free(&lp), veil_relu_proof_free(&rp);
    veil_zk_vec_free(&vS), veil_zk_vec_free(&vZ), veil_zk_vec_free(&vA);
    veil_zkw_free(&w1), veil_zkw_free(&w2);
    veil_pedersen_gens_free(&pg);
    free(S), free(Zf), free(Af), free(bits), free(idx), free(z);
}

int main(int argc, char **argv)
{
    unsigned maxv = argc > 1 ? (unsigned)atoi(argv[1]) : 20;
    if (maxv < 10 || maxv > 24) maxv = 20;
    printf("| sum-check prover | vars | threads | wall / CPU | table entries/s (wall / CPU) |\n");
    printf("|---|---|---|---|---|\n");
    for (unsigned nt = 2; nt <= 4; nt += 2)
        for (unsigned n = 16; n <= maxv; n += 2)
            for (int th = 1; th <= 2; th++) {
                double cpu = 0, dt = bench_sumcheck(n, nt, th, n >= 20 ? 2 : 3, &cpu);
                double ent = (double)nt * (double)(1u << n);
                printf("| product of %u tables (degree %u) | %u | %d | %.1f / %.1f ms | %.1f / %.1f M |\n",
                       nt, nt, n, th, dt * 1e3, cpu * 1e3, ent / dt / 1e6, ent / cpu / 1e6);
                fflush(stdout);
            }
    bench_matmul();
    bench_vectors();
    return 0;
}
