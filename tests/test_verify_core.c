/* Fingerprints, quorum, spot sampling, ledger and flags without a model. */
#include "harness.h"

#include "veil/fingerprint.h"
#include "veil/ledger.h"
#include "veil/verify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void fill(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(seed >> 11) * 0x1.0p-53 * 2 - 1);
    }
}

static void test_fp_basic(void)
{
    enum { T = 8, D = 64 };
    float x[T * D];
    fill(x, T * D, 1);
    x[77] = 9.5f, x[300] = -12.25f;
    veil_fp fp;
    CHECK(veil_fp_compute(x, T, D, 32, 3, 10, &fp) == 0);
    CHECK(fp.k == 32 && fp.T == T && fp.dim == D && fp.layer == 3 && fp.pos == 10);
    /* the polynomial passes through the largest points */
    CHECK(veil_fp_eval(&fp, 78) == veil_fp_value_code(9.5f));
    CHECK(veil_fp_eval(&fp, 301) == veil_fp_value_code(-12.25f));
    /* streaming in chunks gives the same fingerprint */
    veil_fp_builder *b;
    CHECK(veil_fp_builder_new(32, D, &b) == 0);
    veil_fp_builder_begin(b, 3, 10);
    CHECK(veil_fp_builder_add(b, 3, x) == 0 && veil_fp_builder_add(b, 5, x + 3 * D) == 0);
    veil_fp fp2;
    CHECK(veil_fp_builder_finish(b, &fp2) == 0 && veil_fp_equal(&fp, &fp2));
    veil_fp_builder_free(b);
    /* wire round trip and size */
    uint8_t buf[2048];
    int n = veil_fp_encode(&fp, buf, sizeof buf);
    CHECKF(n == VEIL_FP_HEADER + 4 * 32 && n == 168, "encoded %d bytes", n);
    veil_fp back;
    CHECK(veil_fp_decode(buf, (size_t)n, &back) == 0 && veil_fp_equal(&fp, &back));
    /* malformed inputs are rejected, never read past the buffer */
    CHECK(veil_fp_decode(buf, (size_t)n - 1, &back) != 0);
    CHECK(veil_fp_decode(buf, 10, &back) != 0);
    uint8_t bad[2048];
    memcpy(bad, buf, (size_t)n);
    bad[4] = 0xff, bad[5] = 0xff;
    CHECK(veil_fp_decode(bad, (size_t)n, &back) != 0);
    memcpy(bad, buf, (size_t)n);
    memset(bad + VEIL_FP_HEADER, 0xff, 4); /* coefficient >= p */
    CHECK(veil_fp_decode(bad, (size_t)n, &back) != 0);
    memcpy(bad, buf, (size_t)n);
    memset(bad + 16, 0, 4); /* T = 0 */
    CHECK(veil_fp_decode(bad, (size_t)n, &back) != 0);
    for (int i = 0; i < n; i++) { /* every truncation fails cleanly */
        if (veil_fp_decode(buf, (size_t)i, &back) == 0) {
            CHECKF(0, "truncated to %d accepted", i);
            break;
        }
    }
}

static void test_fp_tolerance(void)
{
    enum { T = 16, D = 64 };
    float x[T * D], y[T * D];
    fill(x, T * D, 2);
    veil_fp_tol tol = veil_fp_default_tol();
    veil_fp_check chk;
    /* identical block: exact match */
    veil_fp fp;
    CHECK(veil_fp_compute(x, T, D, 32, 0, 0, &fp) == 0);
    CHECK(veil_fp_check_against(&fp, x, T, D, &tol, &chk) == 0 && chk.ok && chk.exp_mismatch == 0);
    /* relative jitter 1e-6 (another reduction order): within tolerance */
    uint64_t s = 5;
    for (int i = 0; i < T * D; i++) {
        s = s * 6364136223846793005ull + 1;
        y[i] = x[i] * (float)(1 + 1e-6 * (((double)(s >> 11) * 0x1.0p-53) * 2 - 1));
    }
    CHECK(veil_fp_compute(y, T, D, 32, 0, 0, &fp) == 0);
    CHECK(!veil_fp_equal(&fp, &(veil_fp){0}));
    CHECK(veil_fp_check_against(&fp, x, T, D, &tol, &chk) == 0);
    CHECKF(chk.ok, "jitter: exp %d mean %.2f max %.2f", chk.exp_mismatch, chk.mant_mean, chk.mant_max);
    /* noise of 1e-3 x std on every element: rejected */
    for (int i = 0; i < T * D; i++) {
        s = s * 6364136223846793005ull + 1;
        y[i] = x[i] + (float)(0.577e-3 * ((((double)(s >> 11) * 0x1.0p-53) * 2 - 1) * 1.732));
    }
    CHECK(veil_fp_compute(y, T, D, 32, 0, 0, &fp) == 0);
    CHECK(veil_fp_check_against(&fp, x, T, D, &tol, &chk) == 0);
    CHECKF(!chk.ok, "noise 1e-3: exp %d mean %.2f max %.2f", chk.exp_mismatch, chk.mant_mean,
           chk.mant_max);
    /* a different block: most points mismatch */
    fill(y, T * D, 99);
    CHECK(veil_fp_compute(y, T, D, 32, 0, 0, &fp) == 0);
    CHECK(veil_fp_check_against(&fp, x, T, D, &tol, &chk) == 0 && !chk.ok && chk.exp_mismatch > 16);
    /* wrong shape is a disagreement, not an out-of-bounds read */
    CHECK(veil_fp_check_against(&fp, x, T - 1, D, &tol, &chk) == VEIL_EVERIFY && !chk.ok);
}

static void test_quorum(void)
{
    veil_quorum_opts o = veil_quorum_defaults();
    veil_quorum_result r;
    float a[32], b[32], c[32];
    fill(a, 32, 3);
    memcpy(b, a, sizeof a);
    memcpy(c, a, sizeof a);
    c[5] = nextafterf(c[5], 10); /* one ulp */
    const float *outs3[] = {a, c, b};
    CHECK(veil_quorum_outputs(3, outs3, 32, &o, &r) == 0);
    CHECK(r.decided && r.n_agree == 2 && r.minority_mask == 2 && (r.agree_mask & 5) == 5);
    const float *outs2[] = {a, c};
    CHECK(veil_quorum_outputs(2, outs2, 32, &o, &r) == 0 && !r.decided && r.reexecute);
    o.exact = 0; /* tolerant: one ulp is fine */
    CHECK(veil_quorum_outputs(2, outs2, 32, &o, &r) == 0 && r.decided && r.minority_mask == 0);
    c[5] += 0.5f;
    CHECK(veil_quorum_outputs(2, outs2, 32, &o, &r) == 0 && !r.decided);
    c[5] = NAN;
    CHECK(veil_quorum_outputs(2, outs2, 32, &o, &r) == 0 && !r.decided);
    /* first-M: with M=2 the first two agreeing arrivals decide */
    o = veil_quorum_defaults();
    o.policy = VEIL_QUORUM_FIRST_M, o.m = 2;
    uint8_t ag[16] = {0};
    /* 4 replicas: 0 disagrees with all, 1 and 3 agree, 2 alone */
    ag[1 * 4 + 3] = ag[3 * 4 + 1] = 1;
    CHECK(veil_quorum_decide(4, ag, &o, &r) == 0 && r.decided && r.n_agree == 2);
    CHECK(r.minority_mask == (1u | 4u));
    o.m = 3;
    CHECK(veil_quorum_decide(4, ag, &o, &r) == 0 && !r.decided && r.reexecute);
    o.m = 9;
    CHECK(veil_quorum_decide(4, ag, &o, &r) == VEIL_EINVAL);
    CHECK(veil_quorum_decide(0, ag, &o, &r) == VEIL_EINVAL);
    /* fingerprints: exact and tolerant with one full block */
    enum { T = 4, D = 64 };
    float x[T * D], y[T * D];
    fill(x, T * D, 4);
    memcpy(y, x, sizeof x);
    y[7] *= 1.0000005f;
    veil_fp f[3];
    veil_fp_compute(x, T, D, 32, 0, 0, &f[0]);
    veil_fp_compute(y, T, D, 32, 0, 0, &f[1]);
    veil_fp_compute(x, T, D, 32, 0, 0, &f[2]);
    o = veil_quorum_defaults();
    CHECK(veil_quorum_fps(3, f, NULL, T, D, &o, &r) == 0 && r.decided && r.minority_mask == 2);
    o.exact = 0;
    const float *full[] = {x, NULL, NULL};
    CHECK(veil_quorum_fps(3, f, full, T, D, &o, &r) == 0 && r.decided && r.n_agree == 3);
    CHECK(veil_quorum_fps(3, f, full, T + 1, D, &o, &r) == 0 && !r.decided);
}

static void test_spot(void)
{
    uint8_t key[32] = {1, 2, 3};
    veil_spot *s;
    CHECK(veil_spot_new(0.1, key, &s) == 0);
    int picked = 0;
    for (int i = 0; i < 20000; i++) picked += veil_spot_pick(s, (uint64_t)i);
    CHECKF(picked > 1800 && picked < 2200, "picked %d of 20000 at p=0.1", picked);
    veil_spot *s2;
    CHECK(veil_spot_new(0.1, key, &s2) == 0);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= veil_spot_pick(s, (uint64_t)i) == veil_spot_pick(s2, (uint64_t)i);
    CHECK(same);
    veil_spot_free(s2);
    CHECK(veil_spot_new(0.1, NULL, &s2) == 0); /* fresh key: different choices */
    int diff = 0;
    for (int i = 0; i < 1000; i++) diff += veil_spot_pick(s, (uint64_t)i) != veil_spot_pick(s2, (uint64_t)i);
    CHECK(diff > 50);
    veil_spot_free(s2);
    veil_spot_free(s);
    CHECK(veil_spot_new(0, NULL, &s) == VEIL_EINVAL && veil_spot_new(1.5, NULL, &s) == VEIL_EINVAL);
    CHECK(fabs(veil_spot_detect_prob(0.1, 1, 1, 10) - (1 - pow(0.9, 10))) < 1e-12);
    CHECK(veil_spot_detect_prob(1, 1, 1, 1) == 1);
    CHECK(veil_spot_tokens_needed(0.1, 1, 1, 0.99) == 44);
    CHECK(isinf(veil_spot_tokens_needed(0, 1, 1, 0.99)));
    veil_verify_mode m;
    CHECK(veil_verify_parse("sample:0.25", &m) == 0 && m.kind == VEIL_VERIFY_SAMPLE && m.p == 0.25);
    CHECK(veil_verify_parse("consensus", &m) == 0 && m.kind == VEIL_VERIFY_CONSENSUS);
    CHECK(veil_verify_parse("cdv", &m) == 0 && m.kind == VEIL_VERIFY_CDV);
    CHECK(veil_verify_parse("sample:0", &m) != 0 && veil_verify_parse("sample:x", &m) != 0);
    CHECK(veil_verify_parse("sample:2", &m) != 0 && veil_verify_parse("bogus", &m) != 0);
}

static int count_node(void *ctx, const char *node, const veil_node_rep *r)
{
    (void)node, (void)r;
    ++*(int *)ctx;
    return 0;
}

static void test_ledger_and_flags(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/ledger.db", test_tmpdir());
    veil_ledger *l;
    CHECK(veil_ledger_open(path, &l) == 0);
    const char *evil = "n2'); DROP TABLE nodes; --";
    for (int i = 0; i < 10; i++) CHECK(veil_ledger_record(l, "n1", VEIL_EV_AGREE, 0, 5, i, NULL) == 0);
    CHECK(veil_ledger_record(l, evil, VEIL_EV_AGREE, 0, 5, 0, "x") == 0);
    CHECK(veil_ledger_record(l, "n3", VEIL_EV_AGREE, 0, 5, 0, NULL) == 0);
    CHECK(veil_ledger_record(l, "n3", VEIL_EV_FLAG, 0, 5, 1, "disagrees") == 0);
    CHECK(veil_ledger_record(l, "", VEIL_EV_FLAG, 0, 5, 1, NULL) == VEIL_EINVAL);
    CHECK(veil_ledger_record(l, "n1", (veil_event_kind)42, 0, 5, 1, NULL) == VEIL_EINVAL);
    veil_ledger_close(l);
    CHECK(veil_ledger_open(path, &l) == 0); /* persistent */
    veil_node_rep r;
    CHECK(veil_ledger_get(l, "n1", &r) == 0 && r.agree == 10 && !r.flagged && r.score == 1.0);
    CHECK(veil_ledger_get(l, "n3", &r) == 0 && r.flag == 1 && r.flagged && r.score < 0.05);
    CHECK(veil_ledger_get(l, evil, &r) == 0 && r.agree == 1 && !r.flagged);
    CHECK(veil_ledger_get(l, "new", &r) == 0 && r.score == 0.5 && !r.flagged);
    const char *cands[] = {"new", "n3", "n1", evil};
    int order[4];
    int m = veil_ledger_rank(l, cands, 4, order);
    CHECKF(m == 3 && order[0] == 2 && order[1] == 3 && order[2] == 0, "rank %d: %d %d %d", m,
           order[0], order[1], order[2]);
    int count = 0;
    CHECK(veil_ledger_each(l, count_node, &count) == 0 && count == 3);
    CHECK(veil_ledger_credit(l, "n1", 5) == 0 && veil_ledger_get(l, "n1", &r) == 0 && r.agree == 15);
    CHECK(veil_ledger_credit(l, "n1", -1) == VEIL_EINVAL);
    CHECK(veil_ledger_forgive(l, "n3") == 0 && veil_ledger_get(l, "n3", &r) == 0 && !r.flagged);
    veil_ledger_close(l);
    CHECK(veil_ledger_open("/nonexistent-dir/x/ledger.db", &l) != 0);

    veil_flag f;
    veil_flag_set(&f, "node-b", "output disagrees with %d of %d replicas", 2, 3);
    char line[320];
    veil_flag_format(&f, line, sizeof line);
    CHECK(strcmp(line, "node node-b flagged: output disagrees with 2 of 3 replicas") == 0);
    veil_flag_set(&f, "ev\x1b[2Jil\n", "x");
    veil_flag_format(&f, line, sizeof line);
    CHECK(strcmp(line, "node ev?[2Jil? flagged: x") == 0);
}

int main(void)
{
    test_fp_basic();
    test_fp_tolerance();
    test_quorum();
    test_spot();
    test_ledger_and_flags();
    return test_done();
}
