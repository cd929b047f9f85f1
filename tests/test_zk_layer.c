/* zk layer proofs: the proof engine (relations, lookups, openings) on small
 * circuits, then shard proofs of the integer forward pass. */
#include "harness.h"

#include "zk/layer_internal.h"
#include "veil/qmodel.h"
#include "veil/zk_layer.h"

#include <stdlib.h>
#include <string.h>

/* ---- engine: Y = rescale(X W^T) with range-checked remainders ----------- */

#define ET 4
#define EN 8
#define ED 4

typedef struct {
    int64_t x[ET * EN], w[ED * EN], y[ET * ED], rem[ET * ED];
    uint32_t idx[ET * ED];
} mm_witness;

static void mm_make(mm_witness *m)
{
    for (int i = 0; i < ET * EN; i++)
        m->x[i] = (i * 7919 % 2001 - 1000) * 61;
    for (int i = 0; i < ED * EN; i++)
        m->w[i] = (i * 104729 % 3001 - 1500) * 17;
    for (int t = 0; t < ET; t++)
        for (int i = 0; i < ED; i++) {
            int64_t acc = 0;
            for (int j = 0; j < EN; j++)
                acc += m->x[t * EN + j] * m->w[i * EN + j];
            int64_t y = veil_q_rshift(acc, 16);
            m->y[t * ED + i] = y;
            m->rem[t * ED + i] = acc + 32768 - y * 65536;
            m->idx[t * ED + i] = (uint32_t)m->rem[t * ED + i];
        }
}

/* Prove or verify the circuit; returns 0 when the verifier accepts. */
static int mm_run(zc_ctx *z, const mm_witness *m)
{
    uint8_t mt[4];
    int tx = zc_tensor_i64(z, 5, z->prover ? m->x : NULL, ET * EN, NULL, NULL);
    int tw = zc_tensor_i64(z, 5, z->prover ? m->w : NULL, ED * EN, NULL, NULL);
    int ty = zc_tensor_i64(z, 4, z->prover ? m->y : NULL, ET * ED, NULL, NULL);
    int tr = zc_tensor_i64(z, 4, z->prover ? m->rem : NULL, ET * ED, NULL, NULL);
    if (tx < 0 || tw < 0 || ty < 0 || tr < 0) return -1;
    zc_rel R;
    memset(&R, 0, sizeof R);
    R.nA = 4; /* t (2), i (2) */
    R.nC = 3; /* j */
    zc_lin_init(&R.lhs, -32768);
    zc_map_range(mt, 0, 4);
    zc_lin_add(&R.lhs, ty, 65536, mt, 4);
    zc_lin_add(&R.lhs, tr, 1, mt, 4);
    R.nprod = 1;
    zc_fe_i64(&R.prod[0].coef, 1);
    R.prod[0].nops = 2;
    zc_lin_init(&R.prod[0].op[0], 0);
    uint8_t mx5[5] = {0, 1, 4, 5, 6}, mw5[5] = {2, 3, 4, 5, 6};
    zc_lin_add(&R.prod[0].op[0], tx, 1, mx5, 5);
    zc_lin_init(&R.prod[0].op[1], 0);
    zc_lin_add(&R.prod[0].op[1], tw, 1, mw5, 5);
    if (zc_relation(z, &R)) return -1;
    zc_lookup lk;
    memset(&lk, 0, sizeof lk);
    lk.a = 4;
    lk.b = 16;
    lk.ncols = 1;
    lk.idx = m ? m->idx : NULL;
    zc_lin_init(&lk.col[0], 0);
    zc_lin_add(&lk.col[0], tr, 1, mt, 4);
    if (zc_lookup_prove_verify(z, &lk)) return -1;
    return zc_finish(z);
}

/* Zero knowledge: the evaluations the proof reduces to are sent only as
 * commitments, so none of their encodings may occur in the proof bytes
 * (a clear-value proof carries every one of them). */
static int clear_values(const zc_ctx *p)
{
    int found = 0, n = 0;
    for (int i = 0; i < p->nt; i++)
        for (size_t j = 0; j < p->t[i].nclaims; j++, n++) {
            uint8_t b[32];
            veil_fe v;
            zc_val_full(&p->t[i].vals[j], &v);
            veil_fe_to_bytes(b, &v);
            for (size_t o = 0; o + 32 <= p->len; o++)
                if (!memcmp(p->buf + o, b, 32)) {
                    found++;
                    break;
                }
        }
    CHECKF(n >= 6, "only %d claims to look for", n);
    return found;
}

static void test_engine(void)
{
    veil_pedersen_gens pg;
    CHECK(veil_pedersen_gens_init(&pg, "veil/test/zk-layer", 1 << 9) == 0);
    mm_witness m;
    mm_make(&m);
    zc_ctx p, v;
    zc_init(&p, 1, &pg, "test/mm", NULL, 0);
    int rc = mm_run(&p, &m);
    CHECKF(rc == 0, "honest prover failed: %s", veil_last_error());
    zc_init(&v, 0, &pg, "test/mm", p.buf, p.len);
    rc = mm_run(&v, NULL);
    CHECKF(rc == 0, "honest proof rejected: %s", veil_last_error());
    printf("engine proof: %zu bytes\n", p.len);
    zc_free(&v);
    CHECKF(clear_values(&p) == 0, "%d evaluations appear in the clear in the proof", clear_values(&p));
    /* every single flipped byte is rejected (or fails to parse) */
    int accepted = 0;
    for (size_t i = 0; i < p.len; i += 97) {
        uint8_t *c = malloc(p.len);
        memcpy(c, p.buf, p.len);
        c[i] ^= 1;
        zc_init(&v, 0, &pg, "test/mm", c, p.len);
        accepted += mm_run(&v, NULL) == 0;
        zc_free(&v);
        free(c);
    }
    CHECKF(accepted == 0, "%d tampered proofs accepted", accepted);
    /* a prover with a wrong output cannot produce a proof */
    mm_witness bad = m;
    bad.y[3] += 1;
    zc_free(&p);
    zc_init(&p, 1, &pg, "test/mm", NULL, 0);
    CHECK(mm_run(&p, &bad) != 0);
    /* a remainder out of range (compensated in y) is caught by the lookup */
    bad = m;
    bad.y[5] -= 1;
    bad.rem[5] += 65536;
    bad.idx[5] = 0;
    zc_free(&p);
    zc_init(&p, 1, &pg, "test/mm", NULL, 0);
    rc = mm_run(&p, &bad);
    if (rc == 0) { /* the prover's self-checks may pass; the verifier must not */
        zc_init(&v, 0, &pg, "test/mm", p.buf, p.len);
        CHECK(mm_run(&v, NULL) != 0);
        zc_free(&v);
    }
    zc_free(&p);
    veil_pedersen_gens_free(&pg);
}

/* ---- shard proofs on stories260K ----------------------------------------- */

static void embed_rows(const veil_qmodel *q, const int *tok, int T, int32_t *x)
{
    for (int i = 0; i < T; i++)
        veil_qembed(q, tok[i], x + (size_t)i * q->cfg.dim);
}

/* y (T x dim) is the whole model's integer pass over x from position 0. */
static int is_forward_pass(const veil_qmodel *q, int T, const int32_t *x, const int32_t *y)
{
    size_t n = (size_t)T * q->cfg.dim;
    int32_t *ref = malloc(sizeof *ref * n);
    veil_qshard *sh;
    int ok = ref && !veil_qmodel_shard(q, 0, q->cfg.n_layers, T, &sh);
    if (ok) {
        memcpy(ref, x, sizeof *ref * n);
        ok = !veil_qshard_forward_batch(sh, 0, T, ref) && !memcmp(ref, y, sizeof *ref * n);
        veil_qshard_free(sh);
    }
    free(ref);
    return ok;
}

/* Serialize, flip, parse, verify: every outcome must be a clean rejection. */
static int tampered_accepted(const veil_zk_registry *reg, const veil_zk_shard_proof *p,
                             const uint8_t *nonce, size_t step)
{
    uint8_t *b;
    size_t n;
    int accepted = 0;
    CHECK(veil_zk_shard_proof_write(p, &b, &n) == 0);
    /* header, commitments, early, middle and late body bytes */
    for (size_t i = 3; i < n; i += i < 200 ? 37 : step) {
        b[i] ^= 0x20;
        veil_zk_shard_proof q;
        if (veil_zk_shard_proof_read(b, n, &q) == 0) {
            accepted += veil_zk_verify_shard(reg, NULL, &q, nonce) == 0;
            veil_zk_shard_proof_free(&q);
        }
        b[i] ^= 0x20;
    }
    free(b);
    return accepted;
}

static void test_prefill(const veil_model *m, const veil_qmodel *q, const veil_zk_registry *reg)
{
    int T = 3, dim = m->cfg.dim, L = m->cfg.n_layers, split = 2;
    int tok[3] = {1, 403, 407}, swapped[3] = {1, 407, 403};
    uint8_t key[32] = {7}, nonce[32] = {9}, nonce2[32] = {10};
    int32_t *x = malloc(sizeof *x * T * dim), *y = malloc(sizeof *y * T * dim);
    int32_t *mid = malloc(sizeof *mid * T * dim);
    embed_rows(q, tok, T, x);
    /* honest pipeline of two shards: each verifies and they chain */
    veil_zk_shard_proof p1, p2;
    double t0 = veil_now();
    CHECKF(veil_zk_prove_prefix(q, 0, split, 0, T, x, key, nonce, &p1, mid) == 0, "prove: %s",
           veil_last_error());
    CHECKF(veil_zk_prove_prefix(q, split, L, 0, T, mid, key, nonce, &p2, y) == 0, "prove: %s",
           veil_last_error());
    double t1 = veil_now();
    CHECKF(veil_zk_verify_shard(reg, NULL, &p1, nonce) == 0, "verify: %s", veil_last_error());
    CHECKF(veil_zk_verify_shard(reg, NULL, &p2, nonce) == 0, "verify: %s", veil_last_error());
    printf("shards 0:%d + %d:%d, T=%d: prove %.2f s, verify %.2f s, proofs %zu + %zu bytes\n",
           split, split, L, T, t1 - t0, (veil_now() - t1), p1.body_len, p2.body_len);
    CHECK(veil_zk_shard_link(&p1, &p2) == 0);
    CHECK(is_forward_pass(q, T, x, y)); /* the output is the integer forward pass's */
    /* the client's own commitments match the proofs' boundaries */
    uint8_t *cin, *cout;
    size_t lin, lout;
    CHECK(veil_zk_boundary_commit(&m->cfg, 0, T, x, key, 0, &cin, &lin) == 0);
    CHECK(veil_zk_boundary_commit(&m->cfg, 0, T, y, key, L, &cout, &lout) == 0);
    CHECK(veil_zk_shard_input_is(&p1, cin, lin) == 0);
    CHECK(veil_zk_shard_output_is(&p2, cout, lout) == 0);
    /* reused proof: another request's nonce */
    CHECK(veil_zk_verify_shard(reg, NULL, &p1, nonce2) != 0);
    /* skipped layer: a proof of 0:1 presented as 0:2 */
    veil_zk_shard_proof p3;
    CHECK(veil_zk_prove_prefix(q, 0, 1, 0, T, x, key, nonce, &p3, mid) == 0);
    CHECK(veil_zk_verify_shard(reg, NULL, &p3, nonce) == 0);
    p3.last = 2;
    CHECK(veil_zk_verify_shard(reg, NULL, &p3, nonce) != 0);
    p3.last = 1;
    CHECK(veil_zk_shard_link(&p3, &p2) != 0); /* and it does not chain into 2:L */
    /* altered activation: the output commitment swapped for another value's */
    int32_t *alt = malloc(sizeof *alt * T * dim);
    memcpy(alt, mid, sizeof *alt * T * dim);
    alt[5] += 1;
    uint8_t *calt;
    size_t lalt;
    CHECK(veil_zk_boundary_commit(&m->cfg, 0, T, alt, key, 1, &calt, &lalt) == 0);
    memcpy(p3.out_commit, calt, lalt);
    CHECK(veil_zk_verify_shard(reg, NULL, &p3, nonce) != 0);
    /* reordered tokens: a valid proof, but not of the client's input */
    veil_zk_shard_proof p4;
    embed_rows(q, swapped, T, alt);
    CHECK(veil_zk_prove_prefix(q, 0, 1, 0, T, alt, key, nonce, &p4, mid) == 0);
    CHECK(veil_zk_verify_shard(reg, NULL, &p4, nonce) == 0);
    CHECK(veil_zk_shard_input_is(&p4, cin, lin) != 0);
    /* changed weight: a node running a model that differs in one weight */
    veil_qmodel *bad;
    CHECK(veil_qmodel_new(m, &bad) == 0);
    ((int32_t *)bad->layers[0].w1)[17] += 1;
    veil_zk_shard_proof p5;
    CHECK(veil_zk_prove_prefix(bad, 0, 1, 0, T, x, key, nonce, &p5, mid) == 0);
    CHECK(veil_zk_verify_shard(reg, NULL, &p5, nonce) != 0);
    /* flipped bytes anywhere in a proof */
    int acc = tampered_accepted(reg, &p3, nonce, 20011);
    CHECKF(acc == 0, "%d tampered proofs accepted", acc);
    veil_zk_shard_proof_free(&p1);
    veil_zk_shard_proof_free(&p2);
    veil_zk_shard_proof_free(&p3);
    veil_zk_shard_proof_free(&p4);
    veil_zk_shard_proof_free(&p5);
    veil_qmodel_free(bad);
    free(cin);
    free(cout);
    free(calt);
    free(alt);
    free(x);
    free(y);
    free(mid);
}

/* A generation as a chain of proofs per shard: a prefill chunk of P tokens,
 * then single-token decode steps, each proven against the KV commitments
 * the earlier proofs left in the verifier's record. */
#define DP 3
#define DN 5

static void test_decode(const veil_model *m, const veil_qmodel *q, const veil_zk_registry *reg)
{
    int dim = m->cfg.dim, L = m->cfg.n_layers, bnd[3] = {0, 3, L};
    int tok[DN + 1] = {1, 403, 407, 261, 300, 412};
    uint8_t key[32] = {5}, nonce[32] = {11};
    int32_t x[DN * 64], y[DN * 64], mid[DN * 64], ref[DN * 64];
    CHECK(dim <= 64);
    embed_rows(q, tok, DN, x);
    veil_zk_kv *kv[2], *other;
    for (int s = 0; s < 2; s++)
        CHECK(veil_zk_kv_new(&m->cfg, bnd[s], bnd[s + 1], &kv[s]) == 0);
    CHECK(veil_zk_kv_new(&m->cfg, 0, 3, &other) == 0);
    veil_zk_shard_proof step1[2] = {0};
    double prove = 0, verify = 0;
    size_t bytes = 0;
    for (int pos = 0; pos < DN;) {
        int T = pos ? 1 : DP;
        veil_zk_shard_proof p[2];
        double t0 = veil_now();
        CHECKF(veil_zk_prove_prefix(q, 0, 3, pos, T, x, key, nonce, &p[0], mid + pos * dim) == 0,
               "prove at %d: %s", pos, veil_last_error());
        CHECKF(veil_zk_prove_prefix(q, 3, L, pos, T, mid, key, nonce, &p[1], y + pos * dim) == 0,
               "prove at %d: %s", pos, veil_last_error());
        double t1 = veil_now();
        for (int s = 0; s < 2; s++) {
            /* a proof for the right position but another session's record */
            if (s == 0 && pos == DP) CHECK(veil_zk_verify_shard(reg, other, &p[0], nonce) != 0);
            CHECKF(veil_zk_verify_shard(reg, kv[s], &p[s], nonce) == 0, "verify at %d: %s", pos,
                   veil_last_error());
            bytes += p[s].body_len;
        }
        verify += veil_now() - t1;
        prove += t1 - t0;
        CHECK(veil_zk_shard_link(&p[0], &p[1]) == 0);
        uint8_t *c;
        size_t cl;
        CHECK(veil_zk_boundary_commit(&m->cfg, pos, T, x + pos * dim, key, 0, &c, &cl) == 0);
        CHECK(veil_zk_shard_input_is(&p[0], c, cl) == 0);
        free(c);
        CHECK(veil_zk_kv_len(kv[0]) == pos + T && veil_zk_kv_len(kv[1]) == pos + T);
        /* replaying a verified proof is refused: the record moved on */
        CHECK(veil_zk_verify_shard(reg, kv[1], &p[1], nonce) != 0);
        CHECK(veil_zk_kv_len(kv[1]) == pos + T);
        if (pos == DP) memcpy(step1, p, sizeof p);
        else {
            veil_zk_shard_proof_free(&p[0]);
            veil_zk_shard_proof_free(&p[1]);
        }
        if (pos == 0) { /* the other record holds another prompt's prefill */
            veil_zk_shard_proof o;
            int32_t xo[DP * 64];
            embed_rows(q, tok + 1, DP, xo);
            CHECK(veil_zk_prove_prefix(q, 0, 3, 0, DP, xo, key, nonce, &o, NULL) == 0);
            CHECK(veil_zk_verify_shard(reg, other, &o, nonce) == 0);
            veil_zk_shard_proof_free(&o);
        }
        pos += T;
    }
    printf("decode chain: prefill %d + %d steps over 2 shards: prove %.2f s, verify %.2f s, "
           "%zu proof bytes\n", DP, DN - DP, prove, verify, bytes);
    CHECK(is_forward_pass(q, DN, x, y)); /* the chain's output, step by step */
    veil_qshard *sh;
    /* a decode step over a cache that differs from the committed one in a
     * single value (the prover lies about an earlier key) is rejected */
    veil_zk_kv *kv2;
    CHECK(veil_zk_kv_new(&m->cfg, 0, 3, &kv2) == 0);
    veil_zk_shard_proof a, b;
    CHECK(veil_zk_prove_prefix(q, 0, 3, 0, DP, x, key, nonce, &a, NULL) == 0);
    CHECK(veil_zk_verify_shard(reg, kv2, &a, nonce) == 0);
    CHECK(veil_qmodel_shard(q, 0, 3, DP + 1, &sh) == 0);
    memcpy(ref, x, sizeof *x * DP * dim);
    CHECK(veil_qshard_forward_batch(sh, 0, DP, ref) == 0);
    ((int32_t *)veil_qshard_kcache(sh, 1))[5] += 1;
    int rc = veil_zk_prove_shard(q, sh, DP, 1, x + DP * dim, key, nonce, &b, NULL);
    if (rc == 0) {
        CHECK(veil_zk_verify_shard(reg, kv2, &b, nonce) != 0);
        veil_zk_shard_proof_free(&b);
    }
    CHECK(veil_zk_kv_len(kv2) == DP);
    /* the step proof of another position does not verify here */
    CHECK(veil_zk_verify_shard(reg, kv2, &step1[1], nonce) != 0);
    /* a chunk that is not aligned is refused */
    CHECK(veil_zk_prove_prefix(q, 0, 3, 1, 2, x, key, nonce, &b, NULL) != 0);
    CHECK(veil_zk_chunk(0, 300) == VEIL_ZK_MAX_T && veil_zk_chunk(6, 5) == 2 && veil_zk_chunk(8, 5) == 5);
    veil_qshard_free(sh);
    veil_zk_shard_proof_free(&a);
    veil_zk_shard_proof_free(&step1[0]);
    veil_zk_shard_proof_free(&step1[1]);
    veil_zk_kv_free(kv2);
    veil_zk_kv_free(kv[0]);
    veil_zk_kv_free(kv[1]);
    veil_zk_kv_free(other);
}

/* Every single-layer shard (a split at every boundary), chained: one
 * prefill token, then one decode step. */
static void test_every_layer(const veil_model *m, const veil_qmodel *q, const veil_zk_registry *reg)
{
    int dim = m->cfg.dim, tok[2] = {1, 290};
    uint8_t key[32] = {3}, nonce[32] = {4};
    int32_t *x = malloc(sizeof *x * 2 * dim), *y = malloc(sizeof *y * 2 * dim);
    embed_rows(q, tok, 2, x);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        veil_zk_kv *kv;
        CHECK(veil_zk_kv_new(&m->cfg, l, l + 1, &kv) == 0);
        for (int pos = 0; pos < 2; pos++) {
            veil_zk_shard_proof p;
            CHECK(veil_zk_prove_prefix(q, l, l + 1, pos, 1, x, key, nonce, &p, y + pos * dim) == 0);
            CHECKF(veil_zk_verify_shard(reg, kv, &p, nonce) == 0, "layer %d pos %d: %s", l, pos,
                   veil_last_error());
            veil_zk_shard_proof_free(&p);
        }
        memcpy(x, y, sizeof *x * 2 * dim);
        veil_zk_kv_free(kv);
    }
    free(x);
    free(y);
}

static void test_shard(const veil_model *m, const veil_qmodel *q)
{
    veil_zk_registry reg, reg2;
    CHECKF(veil_zk_commit_model(m, q, &reg, NULL, NULL) == 0, "%s", veil_last_error());
    /* the registry survives a file round trip */
    char path[512];
    snprintf(path, sizeof path, "%s/reg.bin", test_tmpdir());
    CHECK(veil_zk_registry_write(&reg, path) == 0);
    CHECKF(veil_zk_registry_read(path, &reg2) == 0, "%s", veil_last_error());
    test_prefill(m, q, &reg2);
    test_decode(m, q, &reg2);
    test_every_layer(m, q, &reg2);
    veil_zk_registry_free(&reg);
    veil_zk_registry_free(&reg2);
}

int main(void)
{
    test_engine();
    const char *path = test_model_file("stories260K.bin");
    if (!path) {
        printf("stories260K.bin not found: shard tests skipped\n");
        return test_done();
    }
    veil_model *m;
    veil_qmodel *q;
    CHECK(veil_model_open(path, &m) == 0);
    CHECK(veil_qmodel_new(m, &q) == 0);
    test_shard(m, q);
    veil_qmodel_free(q);
    veil_model_close(m);
    return test_done();
}
