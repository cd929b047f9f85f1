/* veil zk matmul / range / relu / verify: zero-knowledge proofs (zkDPS,
 * paper 2.1) of random integer instances as self-contained proof files:
 * matrix products (eqs. 18-19), range checks by logUp (eqs. 25-26) and ReLU
 * by bit decomposition (eqs. 20-24). */
#include "cli.h"

#include "veil/zk_lookup.h"
#include "veil/zk_matmul.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CLI keeps every padded matrix at or below 2^22 entries (128 MiB of
 * scalars) so a typo cannot exhaust memory. */
#define CLI_ZK_MAX_VARS 22

static const cli_opt matmul_opts[] = {
    {"m", 0, "M", "rows of A and C"},
    {"k", 0, "K", "columns of A, rows of B"},
    {"n", 0, "N", "columns of B and C"},
    {"bits", 0, "B", "signed entry width of A and B, 1..24 (default 16)"},
    {"seed", 0, "S", "seed of the random matrices (default 1)"},
    {"threads", 0, "T", "MSM threads (default: all)"},
    {"prove", 0, "FILE", "proof file to write"},
    {0},
};

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* --threads T (T > 0) caps every parallel region of the command, not only
 * the MSMs: the library's generator derivation and point decoding use
 * OpenMP's default team. */
static void cap_threads(long threads)
{
    if (threads > 0) omp_set_num_threads((int)threads);
}

/* A (m x k) and B (k x n) with entries in [-2^(bits-1), 2^(bits-1)); C = A B. */
static int random_product(const veil_matmul_dims *d, unsigned bits, uint64_t seed, int64_t **A,
                          int64_t **B, int64_t **C)
{
    size_t nA = (size_t)d->m * d->k, nB = (size_t)d->k * d->n, nC = (size_t)d->m * d->n;
    *A = malloc(nA * sizeof **A);
    *B = malloc(nB * sizeof **B);
    *C = malloc(nC * sizeof **C);
    if (!*A || !*B || !*C) return veil_fail(VEIL_ENOMEM, "out of memory");
    uint64_t s = seed, mask = (1ULL << bits) - 1;
    int64_t off = (int64_t)1 << (bits - 1);
    for (size_t i = 0; i < nA; i++)
        (*A)[i] = (int64_t)(splitmix(&s) & mask) - off;
    for (size_t i = 0; i < nB; i++)
        (*B)[i] = (int64_t)(splitmix(&s) & mask) - off;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < d->m; i++) {
        int64_t *row = *C + i * d->n;
        memset(row, 0, d->n * sizeof *row);
        for (size_t b = 0; b < d->k; b++) {
            int64_t a = (*A)[i * d->k + b];
            const int64_t *brow = *B + b * d->n;
            for (size_t j = 0; j < d->n; j++)
                row[j] += a * brow[j]; /* |sum| < 2^14 * 2^46: no overflow */
        }
    }
    return 0;
}

static int run_matmul(cli_args *a)
{
    long m, k, n, bits, threads;
    uint64_t seed;
    const char *out = cli_get(a, "prove");
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!out) return cli_usage_error(a, "--prove FILE is required");
    if (!cli_has(a, "m") || !cli_has(a, "k") || !cli_has(a, "n"))
        return cli_usage_error(a, "--m, --k and --n are required");
    if (cli_int(a, "m", 0, 1, 1 << 14, &m) || cli_int(a, "k", 0, 1, 1 << 14, &k) ||
        cli_int(a, "n", 0, 1, 1 << 14, &n) || cli_int(a, "bits", 16, 1, 24, &bits) ||
        cli_int(a, "threads", 0, 0, 1024, &threads) || cli_u64(a, "seed", 1, &seed))
        return CLI_USAGE;
    cap_threads(threads);
    veil_matmul_dims d;
    if (veil_matmul_dims_init(&d, (uint32_t)m, (uint32_t)k, (uint32_t)n))
        return cli_usage_error(a, "%s", veil_last_error());
    if (d.lm + d.lk > CLI_ZK_MAX_VARS || d.lk + d.ln > CLI_ZK_MAX_VARS ||
        d.lm + d.ln > CLI_ZK_MAX_VARS)
        return cli_usage_error(a, "padded matrices above 2^%d entries", CLI_ZK_MAX_VARS);

    int64_t *A = NULL, *B = NULL, *C = NULL;
    veil_pedersen_gens pg = {0};
    veil_zk_matrix MA = {0}, MB = {0}, MC = {0};
    veil_matmul_proof pf = {0};
    veil_zkw w;
    veil_zkw_init(&w);
    int t = (int)threads;
    int rc = random_product(&d, (unsigned)bits, seed, &A, &B, &C);
    double t0 = veil_now(), t1 = t0, t2 = t0;
    if (!rc) rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_matmul_gens_needed(&d));
    if (!rc) rc = veil_zk_matrix_commit_i64(&MA, &pg, A, d.m, d.k, d.lm, d.lk, t);
    if (!rc) rc = veil_zk_matrix_commit_i64(&MB, &pg, B, d.k, d.n, d.lk, d.ln, t);
    if (!rc) rc = veil_zk_matrix_commit_i64(&MC, &pg, C, d.m, d.n, d.lm, d.ln, t);
    t1 = veil_now();
    veil_transcript tr;
    veil_transcript_init(&tr, VEIL_MATMUL_DOMAIN);
    if (!rc) rc = veil_matmul_prove(&pf, &tr, &pg, &d, &MA, &MB, &MC, t);
    t2 = veil_now();
    if (!rc) rc = veil_matmul_file_write(&w, &d, &MA, &MB, &MC, &pf);
    if (!rc) rc = veil_zkp_write_file(out, w.buf, w.len);
    if (!rc) {
        size_t com = veil_hyrax_commitment_size(d.lm + d.lk) +
                     veil_hyrax_commitment_size(d.lk + d.ln) +
                     veil_hyrax_commitment_size(d.lm + d.ln);
        printf("statement:   C = A B, A %ux%u, B %ux%u, C %ux%u (committed, hidden)\n", d.m,
               d.k, d.k, d.n, d.m, d.n);
        printf("entries:     A, B random %ld-bit signed integers (seed %llu)\n", bits,
               (unsigned long long)seed);
        printf("commit time: %.3f s\n", t1 - t0);
        printf("prove time:  %.3f s\n", t2 - t1);
        printf("proof size:  %zu bytes (%zu of them the three commitments)\n", w.len, com);
        printf("wrote %s\n", out);
    }
    free(A), free(B), free(C);
    veil_zk_matrix_free(&MA), veil_zk_matrix_free(&MB), veil_zk_matrix_free(&MC);
    veil_matmul_proof_free(&pf);
    veil_pedersen_gens_free(&pg);
    veil_zkw_free(&w);
    return rc ? cli_fail_lib("zk matmul") : CLI_OK;
}

static const cli_opt vec_opts[] = {
    {"n", 0, "N", "number of values (padded with zeros to a power of two)"},
    {"bits", 0, "B", "range: values in [0, 2^B); relu: |z| < 2^B (1..20, default 16)"},
    {"seed", 0, "S", "seed of the random values (default 1)"},
    {"threads", 0, "T", "MSM threads (default: all)"},
    {"prove", 0, "FILE", "proof file to write"},
    {0},
};

/* Shared option handling of zk range / zk relu: n, bits, seed, threads. */
static int vec_args(cli_args *a, long *n, long *bits, uint64_t *seed, long *threads,
                    const char **out)
{
    *out = cli_get(a, "prove");
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!*out) return cli_usage_error(a, "--prove FILE is required");
    if (!cli_has(a, "n")) return cli_usage_error(a, "--n is required");
    if (cli_int(a, "n", 0, 2, 1L << 20, n) || cli_int(a, "bits", 16, 1, 20, bits) ||
        cli_int(a, "threads", 0, 0, 1024, threads) || cli_u64(a, "seed", 1, seed))
        return CLI_USAGE;
    cap_threads(*threads);
    return 0;
}

static int write_proof(veil_zkw *w, const char *out, double t_commit, double t_prove)
{
    if (veil_zkp_write_file(out, w->buf, w->len)) return -1;
    printf("commit time: %.3f s\n", t_commit);
    printf("prove time:  %.3f s\n", t_prove);
    printf("proof size:  %zu bytes\n", w->len);
    printf("wrote %s\n", out);
    return 0;
}

static int run_range(cli_args *a)
{
    long n, bits, threads;
    uint64_t seed;
    const char *out;
    int rc = vec_args(a, &n, &bits, &seed, &threads, &out);
    if (rc) return rc;
    unsigned la = veil_mle_log2((size_t)n), b = (unsigned)bits;
    size_t N = (size_t)1 << la;
    veil_fe *S = calloc(N, sizeof *S);
    uint32_t *idx = calloc(N, sizeof *idx);
    veil_pedersen_gens pg = {0};
    veil_zk_vec vS = {0};
    veil_lookup_proof pf = {0};
    veil_zkw w;
    veil_zkw_init(&w);
    rc = S && idx ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < (size_t)n; i++) { /* padding: value 0, in range */
        idx[i] = (uint32_t)(splitmix(&seed) & ((1u << b) - 1));
        veil_fe_from_u64(&S[i], idx[i]);
    }
    double t0 = veil_now(), t1 = t0, t2 = t0;
    if (!rc) rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_lookup_gens_needed(la, b));
    if (!rc) rc = veil_zk_vec_commit(&vS, &pg, S, la, (int)threads);
    t1 = veil_now();
    veil_transcript tr;
    veil_transcript_init(&tr, VEIL_RANGE_DOMAIN);
    if (!rc) rc = veil_lookup_prove(&pf, &tr, &pg, &vS, idx, NULL, b, (int)threads);
    t2 = veil_now();
    if (!rc) rc = veil_range_file_write(&w, &vS.cm, b, &pf);
    if (!rc) {
        printf("statement:   %ld committed values (padded to %zu), each in [0, 2^%u)\n", n, N, b);
        rc = write_proof(&w, out, t1 - t0, t2 - t1);
    }
    free(S), free(idx);
    veil_zk_vec_free(&vS);
    veil_lookup_proof_free(&pf);
    veil_pedersen_gens_free(&pg);
    veil_zkw_free(&w);
    return rc ? cli_fail_lib("zk range") : CLI_OK;
}

static int run_relu(cli_args *a)
{
    long n, bits, threads;
    uint64_t seed;
    const char *out;
    int rc = vec_args(a, &n, &bits, &seed, &threads, &out);
    if (rc) return rc;
    unsigned la = veil_mle_log2((size_t)n), Q = (unsigned)bits;
    size_t N = (size_t)1 << la;
    int64_t *z = calloc(N, sizeof *z);
    veil_fe *Zf = calloc(N, sizeof *Zf), *Af = calloc(N, sizeof *Af),
            *bitv = calloc((Q + 1) * N, sizeof *bitv);
    veil_pedersen_gens pg = {0};
    veil_zk_vec vZ = {0}, vA = {0};
    veil_relu_proof pf = {0};
    veil_zkw w;
    veil_zkw_init(&w);
    rc = z && Zf && Af && bitv ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    int64_t span = ((int64_t)1 << (Q + 1)) - 1; /* z in (-2^Q, 2^Q) */
    for (size_t i = 0; !rc && i < (size_t)n; i++)
        z[i] = (int64_t)(splitmix(&seed) % (uint64_t)span) - (((int64_t)1 << Q) - 1);
    if (!rc) rc = veil_relu_witness(z, N, Q, Zf, Af, bitv);
    double t0 = veil_now(), t1 = t0, t2 = t0;
    if (!rc) rc = veil_pedersen_gens_init(&pg, VEIL_ZK_GENS_LABEL, veil_relu_gens_needed(la, Q));
    if (!rc) rc = veil_zk_vec_commit(&vZ, &pg, Zf, la, (int)threads);
    if (!rc) rc = veil_zk_vec_commit(&vA, &pg, Af, la, (int)threads);
    t1 = veil_now();
    veil_transcript tr;
    veil_transcript_init(&tr, VEIL_RELU_DOMAIN);
    if (!rc) rc = veil_relu_prove(&pf, &tr, &pg, &vZ, &vA, z, Q, (int)threads);
    t2 = veil_now();
    if (!rc) rc = veil_relu_file_write(&w, &vZ.cm, &vA.cm, &pf);
    if (!rc) {
        printf("statement:   A = ReLU(Z) for %ld committed values (padded to %zu), |z| < 2^%u\n",
               n, N, Q);
        rc = write_proof(&w, out, t1 - t0, t2 - t1);
    }
    free(z), free(Zf), free(Af), free(bitv);
    veil_zk_vec_free(&vZ), veil_zk_vec_free(&vA);
    veil_relu_proof_free(&pf);
    veil_pedersen_gens_free(&pg);
    veil_zkw_free(&w);
    return rc ? cli_fail_lib("zk relu") : CLI_OK;
}

static const cli_opt verify_opts[] = {
    {"threads", 0, "T", "threads (default: all)"},
    {0},
};

static int run_verify(cli_args *a)
{
    long threads;
    if (a->npos != 1) return cli_usage_error(a, "expected one proof file");
    if (cli_int(a, "threads", 0, 0, 1024, &threads)) return CLI_USAGE;
    cap_threads(threads);
    uint8_t *buf;
    size_t len;
    if (veil_zkp_read_file(a->pos[0], &buf, &len)) return cli_fail_lib("zk verify");
    veil_zkr r;
    uint16_t kind;
    veil_zkr_init(&r, buf, len);
    int rc = veil_zkr_begin(&r, &kind);
    veil_matmul_dims d = {0};
    unsigned va = 0, vb = 0;
    double t0 = veil_now();
    if (!rc) {
        if (kind == VEIL_ZKP_MATMUL)
            rc = veil_matmul_file_verify(buf, len, &d, (int)threads);
        else if (kind == VEIL_ZKP_LOGUP)
            rc = veil_range_file_verify(buf, len, &va, &vb, (int)threads);
        else if (kind == VEIL_ZKP_RELU)
            rc = veil_relu_file_verify(buf, len, &va, &vb, (int)threads);
        else
            rc = veil_fail(VEIL_EINVAL, "unknown proof kind %u", kind);
    }
    double t1 = veil_now();
    free(buf);
    if (rc) {
        fprintf(stderr, "veil: zk verify: %s: REJECTED: %s\n", a->pos[0], veil_last_error());
        return CLI_FAIL;
    }
    if (kind == VEIL_ZKP_MATMUL)
        printf("verified:    C = A B, A %ux%u, B %ux%u (committed)\n", d.m, d.k, d.k, d.n);
    else if (kind == VEIL_ZKP_LOGUP)
        printf("verified:    2^%u committed values in [0, 2^%u)\n", va, vb);
    else
        printf("verified:    A = ReLU(Z) for 2^%u committed values, |z| < 2^%u\n", va, vb);
    printf("verify time: %.3f s\n", t1 - t0);
    printf("proof size:  %zu bytes\n", len);
    return CLI_OK;
}

const cli_cmd cli_cmds_zk[] = {
    {"zk matmul", "", "prove a random integer matrix product in zero knowledge", matmul_opts,
     run_matmul},
    {"zk range", "", "prove in zero knowledge that random committed values lie in [0, 2^B)",
     vec_opts, run_range},
    {"zk relu", "", "prove in zero knowledge that A = ReLU(Z) for random committed Z", vec_opts,
     run_relu},
    {"zk verify", "FILE", "verify a zero-knowledge proof file (exit 1 with a reason if not)",
     verify_opts, run_verify},
    {0},
};
