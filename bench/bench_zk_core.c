/* Benchmarks of the zk core: scalar-field multiplications per second and
 * multi-scalar multiplication over ristretto255 for 2^10..2^max points with
 * full (253-bit) and 16-bit scalars, 1 and 2 threads.  Prints markdown
 * table rows.  Usage: bench_zk_core [max_log2 (default 20)] */
#include "veil/zk_commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CPU seconds of the whole process: on a shared, loaded machine this is
 * closer to what an idle machine would take than the wall clock. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double bench_field_mul(void)
{
    veil_fe a, b;
    veil_fe_random(&a);
    veil_fe_random(&b);
    const long iters = 20000000;
    double t0 = cpu_now();
    for (long i = 0; i < iters; i++)
        veil_fe_mul(&a, &a, &b); /* dependent chain: latency-bound */
    double dt = cpu_now() - t0;
    uint8_t sink[32];
    veil_fe_to_bytes(sink, &a);
    if (sink[0] == 0x5a && sink[1] == 0xa5)
        fprintf(stderr, " ");
    return (double)iters / dt;
}

static double bench_group(int which)
{
    veil_ge p, q;
    veil_fe k;
    uint8_t h[64] = {1};
    veil_ge_from_uniform(&p, h);
    q = p;
    veil_fe_random(&k);
    int iters = which == 0 ? 2000000 : 2000;
    double t0 = cpu_now();
    for (int i = 0; i < iters; i++) {
        if (which == 0)
            veil_ge_add(&q, &q, &p);
        else
            veil_ge_mul(&q, &q, &k);
    }
    double dt = cpu_now() - t0;
    return dt / iters;
}

/* Hyrax commitment to a table of 2^nvars 16-bit integers, one evaluation
 * proof (public value) and its verification. */
static int bench_hyrax(unsigned nvars, int threads)
{
    size_t n = (size_t)1 << nvars, rows = (size_t)1 << veil_hyrax_row_vars(nvars);
    veil_pedersen_gens pg;
    veil_hyrax_commitment cm;
    veil_ipa_proof pf;
    veil_transcript tr;
    veil_fe point[64], v;
    int64_t *itab = malloc(n * sizeof *itab);
    veil_fe *tab = malloc(n * sizeof *tab), *blinds = malloc(rows * sizeof *blinds);
    if (!itab || !tab || !blinds || veil_pedersen_gens_init(&pg, "veil/bench", veil_hyrax_cols(nvars)))
        return 1;
    for (size_t i = 0; i < n; i++) {
        itab[i] = (int64_t)((i * 2654435761u) & 0xffff) - 32768;
        veil_fe_from_i64(&tab[i], itab[i]);
    }
    for (unsigned k = 0; k < nvars; k++)
        veil_fe_random(&point[k]);
    double t0 = veil_now(), c0 = cpu_now();
    if (veil_hyrax_commit_i64(&cm, blinds, &pg, itab, n, nvars, threads))
        return 1;
    double t1 = veil_now(), c1 = cpu_now();
    veil_transcript_init(&tr, "veil/bench");
    if (veil_hyrax_prove(&pf, &v, &tr, &pg, &cm, tab, n, blinds, point, NULL, threads))
        return 1;
    double t2 = veil_now(), c2 = cpu_now();
    veil_transcript_init(&tr, "veil/bench");
    if (veil_hyrax_verify_public(&pf, &tr, &pg, &cm, point, &v, threads))
        return 1;
    double t3 = veil_now(), c3 = cpu_now();
    printf("| 2^%u (16-bit) | %d | %.3f / %.3f s | %.3f / %.3f s | %.4f / %.4f s | %zu B | %zu B |\n",
           nvars, threads, t1 - t0, c1 - c0, t2 - t1, c2 - c1, t3 - t2, c3 - c2,
           veil_ipa_proof_size(pf.rounds), veil_hyrax_commitment_size(nvars));
    fflush(stdout);
    veil_hyrax_commitment_free(&cm);
    veil_pedersen_gens_free(&pg);
    free(itab);
    free(tab);
    free(blinds);
    return 0;
}

int main(int argc, char **argv)
{
    int maxlog = argc > 1 ? atoi(argv[1]) : 20;
    if (maxlog < 10 || maxlog > 22) {
        fprintf(stderr, "usage: %s [max_log2 in 10..22]\n", argv[0]);
        return 2;
    }
    printf("| operation | result |\n|---|---|\n");
    printf("| Z_ell Montgomery multiplication (dependent chain) | %.1f M/s |\n",
           bench_field_mul() / 1e6);
    printf("| ristretto255 point addition | %.0f ns |\n", bench_group(0) * 1e9);
    printf("| constant-time scalar multiplication | %.1f us |\n\n", bench_group(1) * 1e6);
    fflush(stdout);

    printf("| Hyrax table | threads | commit wall / CPU | eval proof wall / CPU | verify wall / CPU | proof | commitment |\n"
           "|---|---|---|---|---|---|---|\n");
    for (unsigned nv = 12; nv <= (unsigned)maxlog; nv += 4)
        if (bench_hyrax(nv, 1))
            return 1;
    printf("\n");

    size_t nmax = (size_t)1 << maxlog;
    veil_ge *pts = malloc(nmax * sizeof *pts);
    veil_ge_affine *aff = malloc(nmax * sizeof *aff);
    veil_fe *full = malloc(nmax * sizeof *full), *small = malloc(nmax * sizeof *small);
    if (!pts || !aff || !full || !small) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* 1024 hashed points, the rest by additions (timing does not depend on
     * the relation between bases) */
    veil_ge_generators("veil/bench/msm", 1024, pts);
    for (size_t i = 1024; i < nmax; i++)
        veil_ge_add(&pts[i], &pts[i - 1], &pts[i % 1024]);
    if (veil_ge_prepare(aff, pts, nmax) != 0)
        return 1;
    for (size_t i = 0; i < nmax; i++) {
        uint64_t r;
        veil_fe_random(&full[i]);
        r = full[i].l[0];
        veil_fe_from_u64(&small[i], r & 0xffff);
    }
    printf("| points | scalars | threads | wall time | CPU time | CPU per point |\n"
           "|---|---|---|---|---|---|\n");
    double last[2][3] = {{0}}; /* wall time of the previous size per kind, threads */
    for (int lg = 10; lg <= maxlog; lg++) {
        size_t n = (size_t)1 << lg;
        for (int kind = 0; kind < 2; kind++) {
            for (int th = 1; th <= 2; th++) {
                if (last[kind][th] * 2.2 > 60.0) { /* keep every run under a minute */
                    printf("| 2^%d | %s | %d | skipped (> 60 s expected) | | |\n", lg,
                           kind ? "16-bit" : "253-bit", th);
                    continue;
                }
                veil_ge r;
                double t0 = veil_now(), c0 = cpu_now();
                int reps = 0;
                do { /* repeat small sizes for a stable figure */
                    if (veil_msm(&r, aff, kind ? small : full, n, kind ? 16 : 253, th) != 0)
                        return 1;
                    reps++;
                } while (veil_now() - t0 < 0.3 && reps < 50);
                double dt = (veil_now() - t0) / reps, dc = (cpu_now() - c0) / reps;
                last[kind][th] = dt;
                printf("| 2^%d | %s | %d | %.4f s | %.4f s | %.2f us |\n", lg,
                       kind ? "16-bit" : "253-bit", th, dt, dc, dc / (double)n * 1e6);
                fflush(stdout);
            }
        }
    }
    free(pts);
    free(aff);
    free(full);
    free(small);
    return 0;
}
