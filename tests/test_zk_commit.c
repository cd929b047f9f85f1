/* Pedersen commitments, Algorithm 1 opening proofs and Hyrax evaluation
 * proofs: completeness on random instances, soundness against every
 * altered proof element and changed public input, serialization and
 * hostile parsing. */
#include "harness.h"
#include "veil/zk_commit.h"
#include "veil/zk_mle.h"

#include <stdlib.h>
#include <string.h>

static veil_pedersen_gens PG;

static void bump_point(veil_ge *p)
{
    veil_ge b;
    veil_ge_base(&b);
    veil_ge_add(p, p, &b);
}

static void bump_fe(veil_fe *x)
{
    veil_fe one;
    veil_fe_one(&one);
    veil_fe_add(x, x, &one);
}

static void test_pedersen(void)
{
    enum { N = 40 };
    veil_fe a[N], b[N], s[N], r1, r2, r12;
    int64_t ia[N];
    veil_ge ca, cb, cs, t;
    for (int i = 0; i < N; i++) {
        ia[i] = (int64_t)(i * 7919 % 513) - 256;
        veil_fe_from_i64(&a[i], ia[i]);
        veil_fe_random(&b[i]);
        veil_fe_add(&s[i], &a[i], &b[i]);
    }
    veil_fe_random(&r1);
    veil_fe_random(&r2);
    veil_fe_add(&r12, &r1, &r2);
    CHECK(veil_pedersen_commit(&ca, &PG, a, N, &r1, 1) == 0);
    CHECK(veil_pedersen_commit(&cb, &PG, b, N, &r2, 2) == 0);
    CHECK(veil_pedersen_commit(&cs, &PG, s, N, &r12, 0) == 0);
    veil_ge_add(&t, &ca, &cb);
    CHECK(veil_ge_eq(&t, &cs)); /* homomorphic */
    CHECK(veil_pedersen_commit_i64(&t, &PG, ia, N, &r1, 1) == 0);
    CHECK(veil_ge_eq(&t, &ca));
    CHECK(veil_pedersen_commit(&t, &PG, a, N, &r2, 1) == 0);
    CHECK(!veil_ge_eq(&t, &ca)); /* different blinding differs */
    CHECK(veil_pedersen_commit(&t, &PG, a, PG.n + 1, &r1, 1) == VEIL_EINVAL);

    veil_pedersen_gens again, other;
    CHECK(veil_pedersen_gens_init(&again, "veil/test/commit", 8) == 0);
    CHECK(veil_pedersen_gens_init(&other, "veil/test/other", 8) == 0);
    int same = 1, diff = 1;
    for (int i = 0; i < 8; i++) {
        same &= veil_ge_eq(&again.g[i], &PG.g[i]);
        diff &= !veil_ge_eq(&other.g[i], &PG.g[i]);
    }
    CHECK(same && veil_ge_eq(&again.h, &PG.h) && veil_ge_eq(&again.u, &PG.u));
    CHECK(diff && !veil_ge_eq(&other.h, &PG.h) && !veil_ge_eq(&PG.h, &PG.u));
    veil_pedersen_gens_free(&again);
    veil_pedersen_gens_free(&other);
}

/* ---- Algorithm 1 ------------------------------------------------------------------ */

typedef struct {
    size_t d;
    veil_fe *S, *y, rs, rt, t;
    veil_ge cs, ct;
} open_inst;

static void open_make(open_inst *in, size_t d, int public_t)
{
    in->d = d;
    in->S = malloc(d * sizeof *in->S);
    in->y = malloc(d * sizeof *in->y);
    veil_fe_zero(&in->t);
    for (size_t i = 0; i < d; i++) {
        veil_fe p;
        veil_fe_random(&in->S[i]);
        veil_fe_random(&in->y[i]);
        veil_fe_mul(&p, &in->S[i], &in->y[i]);
        veil_fe_add(&in->t, &in->t, &p);
    }
    veil_fe_random(&in->rs);
    veil_fe_random(&in->rt);
    veil_pedersen_commit(&in->cs, &PG, in->S, d, &in->rs, 1);
    veil_pedersen_commit_value(&in->ct, &PG, &in->t, public_t ? NULL : &in->rt);
}

static int open_check(const veil_open_proof *pf, const open_inst *in, const char *dom)
{
    veil_transcript tr;
    veil_transcript_init(&tr, dom);
    return veil_open_verify(pf, &tr, &PG, &in->cs, &in->ct, in->y, in->d, 1);
}

static void test_open(void)
{
    static const size_t ds[] = {1, 2, 7, 64};
    for (size_t di = 0; di < 4; di++) {
        for (int pub = 0; pub < 2; pub++) {
            size_t d = ds[di];
            open_inst in;
            open_make(&in, d, pub);
            veil_open_proof pf, back;
            veil_transcript tr;
            veil_transcript_init(&tr, "test/open");
            CHECK(veil_open_prove(&pf, &tr, &PG, &in.cs, &in.ct, in.S, d, &in.rs, in.y,
                                  pub ? NULL : &in.rt, 1) == 0);
            CHECK(open_check(&pf, &in, "test/open") == 0);
            CHECK(open_check(&pf, &in, "test/other") == VEIL_EVERIFY);
            veil_transcript_init(&tr, "test/open");
            veil_transcript_absorb(&tr, "extra", "x", 1);
            CHECK(veil_open_verify(&pf, &tr, &PG, &in.cs, &in.ct, in.y, d, 1) == VEIL_EVERIFY);

            /* every proof element altered */
            int accepted = 0;
            veil_open_proof m = pf;
            bump_point(&m.c_d); accepted += open_check(&m, &in, "test/open") == 0; m = pf;
            bump_point(&m.c_dy); accepted += open_check(&m, &in, "test/open") == 0; m = pf;
            bump_fe(&m.r_s); accepted += open_check(&m, &in, "test/open") == 0; m = pf;
            bump_fe(&m.r_t); accepted += open_check(&m, &in, "test/open") == 0; m = pf;
            for (size_t i = 0; i < d; i++) {
                veil_fe keep = pf.s[i];
                bump_fe(&pf.s[i]);
                accepted += open_check(&pf, &in, "test/open") == 0;
                pf.s[i] = keep;
            }
            /* every public input changed */
            open_inst alt = in;
            bump_point(&alt.cs); accepted += open_check(&pf, &alt, "test/open") == 0; alt = in;
            bump_point(&alt.ct); accepted += open_check(&pf, &alt, "test/open") == 0; alt = in;
            for (size_t i = 0; i < d; i++) {
                veil_fe keep = in.y[i];
                bump_fe(&in.y[i]);
                accepted += open_check(&pf, &in, "test/open") == 0;
                in.y[i] = keep;
            }
            /* a false statement: t + 1 with an honest-looking proof */
            veil_fe t1 = in.t;
            bump_fe(&t1);
            veil_pedersen_commit_value(&alt.ct, &PG, &t1, pub ? NULL : &in.rt);
            veil_transcript_init(&tr, "test/open");
            veil_open_proof bad;
            CHECK(veil_open_prove(&bad, &tr, &PG, &alt.cs, &alt.ct, in.S, d, &in.rs, in.y,
                                  pub ? NULL : &in.rt, 1) == 0);
            accepted += open_check(&bad, &alt, "test/open") == 0;
            veil_open_proof_free(&bad);
            CHECKF(accepted == 0, "d=%zu: %d altered opening proofs accepted", d, accepted);

            /* wire format: round trip, truncations, wrong length, bad bytes */
            size_t sz = veil_open_proof_size(d), w = 0, used = 0;
            uint8_t *buf = malloc(sz);
            CHECK(veil_open_proof_write(&pf, buf, sz - 1, &w) != 0);
            CHECK(veil_open_proof_write(&pf, buf, sz, &w) == 0 && w == sz);
            CHECK(veil_open_proof_read(&back, buf, sz, d, &used) == 0 && used == sz);
            CHECK(open_check(&back, &in, "test/open") == 0);
            veil_open_proof_free(&back);
            int parsed = 0;
            for (size_t cut = 0; cut < sz; cut++)
                parsed += veil_open_proof_read(&back, buf, cut, d, &used) == 0;
            CHECK(parsed == 0);
            CHECK(veil_open_proof_read(&back, buf, sz, d + 1, &used) == VEIL_EINVAL);
            memset(buf + sz - 32, 0xff, 32); /* non-canonical r_t */
            CHECK(veil_open_proof_read(&back, buf, sz, d, &used) == VEIL_EINVAL);
            buf[4] ^= 1; /* c_d no longer a valid encoding (odd s) */
            CHECK(veil_open_proof_read(&back, buf, sz, d, &used) == VEIL_EINVAL);
            free(buf);
            veil_open_proof_free(&pf);
            free(in.S);
            free(in.y);
        }
    }
}

/* ---- Hyrax -------------------------------------------------------------------------- */

static int hy_check(const veil_ipa_proof *pf, const veil_hyrax_commitment *cm,
                    const veil_fe *point, const veil_ge *cv, const veil_fe *v)
{
    veil_transcript tr;
    veil_transcript_init(&tr, "test/hyrax");
    return cv ? veil_hyrax_verify(pf, &tr, &PG, cm, point, cv, 1)
              : veil_hyrax_verify_public(pf, &tr, &PG, cm, point, v, 1);
}

static void test_hyrax_instance(unsigned nvars, size_t len, int ints, int committed)
{
    size_t full = (size_t)1 << nvars, rows = (size_t)1 << veil_hyrax_row_vars(nvars);
    veil_fe *tab = calloc(full, sizeof *tab), *blinds = malloc(rows * sizeof *blinds);
    int64_t *itab = calloc(full, sizeof *itab);
    veil_fe point[24], v, want, vb;
    veil_ge cv;
    veil_hyrax_commitment cm, cm2;
    for (size_t i = 0; i < len; i++) {
        if (ints) {
            itab[i] = (int64_t)((i * 2654435761u) % 65536) - 32768;
            veil_fe_from_i64(&tab[i], itab[i]);
        } else {
            veil_fe_random(&tab[i]);
        }
    }
    for (unsigned k = 0; k < nvars; k++)
        veil_fe_random(&point[k]);
    CHECK(veil_mle_eval(&want, tab, nvars, point) == 0);
    if (ints) {
        CHECK(veil_hyrax_commit_i64(&cm, blinds, &PG, itab, len, nvars, 2) == 0);
    } else {
        CHECK(veil_hyrax_commit(&cm, blinds, &PG, tab, len, nvars, 2) == 0);
    }
    veil_fe_random(&vb);
    veil_pedersen_commit_value(&cv, &PG, &want, &vb);
    veil_ipa_proof pf, pf2, m, back;
    veil_transcript tr;
    veil_transcript_init(&tr, "test/hyrax");
    CHECK(veil_hyrax_prove(&pf, &v, &tr, &PG, &cm, tab, len, blinds, point,
                           committed ? &vb : NULL, 2) == 0);
    CHECKF(veil_fe_eq(&v, &want), "n=%u: Hyrax value differs from the MLE", nvars);
    const veil_ge *cvp = committed ? &cv : NULL;
    CHECKF(hy_check(&pf, &cm, point, cvp, &v) == 0, "n=%u len=%zu ints=%d committed=%d: %s",
           nvars, len, ints, committed, veil_last_error());
    /* zero knowledge sanity: a second proof of the same statement differs */
    veil_transcript_init(&tr, "test/hyrax");
    CHECK(veil_hyrax_prove(&pf2, NULL, &tr, &PG, &cm, tab, len, blinds, point,
                           committed ? &vb : NULL, 1) == 0);
    CHECK(hy_check(&pf2, &cm, point, cvp, &v) == 0);
    CHECK(!veil_fe_eq(&pf.z1, &pf2.z1));

    int accepted = 0;
    for (unsigned j = 0; j < pf.rounds; j++) {
        m = pf; bump_point(&m.l[j]); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
        m = pf; bump_point(&m.r[j]); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
        m = pf; m.l[j] = pf.r[j]; m.r[j] = pf.l[j];
        accepted += pf.rounds && hy_check(&m, &cm, point, cvp, &v) == 0;
    }
    m = pf; bump_point(&m.a); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
    m = pf; bump_fe(&m.z1); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
    m = pf; bump_fe(&m.z2); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
    m = pf; bump_point(&m.t_v); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
    m = pf; bump_fe(&m.s_v); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
    m = pf; bump_fe(&m.s_r); accepted += hy_check(&m, &cm, point, cvp, &v) == 0;
    /* public inputs: value, commitment to the value, point, each row */
    veil_fe v1 = v;
    bump_fe(&v1);
    veil_ge cv1;
    veil_pedersen_commit_value(&cv1, &PG, &v1, &vb);
    accepted += hy_check(&pf, &cm, point, committed ? &cv1 : NULL, &v1) == 0;
    for (unsigned k = 0; k < nvars; k++) {
        veil_fe keep = point[k];
        bump_fe(&point[k]);
        accepted += hy_check(&pf, &cm, point, cvp, &v) == 0;
        point[k] = keep;
    }
    for (size_t i = 0; i < cm.rows; i++) {
        veil_ge keep = cm.c[i];
        bump_point(&cm.c[i]);
        accepted += hy_check(&pf, &cm, point, cvp, &v) == 0;
        cm.c[i] = keep;
    }
    /* a false claim proven honestly-looking: prove with a table that differs */
    if (len > 0) {
        veil_fe keep = tab[0];
        bump_fe(&tab[0]);
        veil_transcript_init(&tr, "test/hyrax");
        veil_fe vbad;
        CHECK(veil_hyrax_prove(&m, &vbad, &tr, &PG, &cm, tab, len, blinds, point,
                               committed ? &vb : NULL, 1) == 0);
        veil_ge cvbad;
        veil_pedersen_commit_value(&cvbad, &PG, &vbad, &vb);
        accepted += hy_check(&m, &cm, point, committed ? &cvbad : NULL, &vbad) == 0;
        tab[0] = keep;
    }
    /* a verifier transcript that absorbed something else first */
    veil_transcript_init(&tr, "test/hyrax");
    veil_transcript_absorb(&tr, "extra", "x", 1);
    accepted += (cvp ? veil_hyrax_verify(&pf, &tr, &PG, &cm, point, cvp, 1)
                     : veil_hyrax_verify_public(&pf, &tr, &PG, &cm, point, &v, 1)) == 0;
    CHECKF(accepted == 0, "n=%u: %d altered Hyrax proofs accepted", nvars, accepted);

    /* serialization of the proof and of the commitment */
    size_t sz = veil_ipa_proof_size(pf.rounds), w = 0, used = 0;
    uint8_t *buf = malloc(sz);
    CHECK(veil_ipa_proof_write(&pf, buf, sz, &w) == 0 && w == sz);
    CHECK(veil_ipa_proof_read(&back, buf, sz, pf.rounds, &used) == 0 && used == sz);
    CHECK(hy_check(&back, &cm, point, cvp, &v) == 0);
    int parsed = 0;
    for (size_t cut = 0; cut < sz; cut++)
        parsed += veil_ipa_proof_read(&back, buf, cut, pf.rounds, &used) == 0;
    CHECK(parsed == 0);
    CHECK(veil_ipa_proof_read(&back, buf, sz, pf.rounds + 1, &used) == VEIL_EINVAL);
    buf[sz - 1] = 0xff; /* z2 >= ell */
    CHECK(veil_ipa_proof_read(&back, buf, sz, pf.rounds, &used) == VEIL_EINVAL);
    free(buf);
    sz = veil_hyrax_commitment_size(nvars);
    buf = malloc(sz);
    CHECK(veil_hyrax_commitment_write(&cm, buf, sz, &w) == 0 && w == sz);
    CHECK(veil_hyrax_commitment_read(&cm2, buf, sz, nvars, &used) == 0 && used == sz);
    CHECK(hy_check(&pf, &cm2, point, cvp, &v) == 0);
    veil_hyrax_commitment_free(&cm2);
    CHECK(veil_hyrax_commitment_read(&cm2, buf, sz - 1, nvars, &used) == VEIL_EINVAL);
    CHECK(veil_hyrax_commitment_read(&cm2, buf, sz, nvars + 1, &used) == VEIL_EINVAL);
    buf[1] |= 1;
    CHECK(veil_hyrax_commitment_read(&cm2, buf, sz, nvars, &used) == VEIL_EINVAL);
    free(buf);

    veil_hyrax_commitment_free(&cm);
    free(tab);
    free(itab);
    free(blinds);
}

static void test_hyrax(void)
{
    test_hyrax_instance(0, 1, 0, 0);
    test_hyrax_instance(1, 2, 0, 1);
    test_hyrax_instance(2, 3, 1, 0);
    test_hyrax_instance(3, 8, 0, 1);
    test_hyrax_instance(5, 20, 1, 1);
    test_hyrax_instance(8, 256, 1, 0);
    test_hyrax_instance(9, 300, 0, 1);
    /* shape errors */
    veil_hyrax_commitment cm;
    veil_fe blinds[4], tab[4];
    memset(tab, 0, sizeof tab);
    CHECK(veil_hyrax_commit(&cm, blinds, &PG, tab, 5, 2, 1) == VEIL_EINVAL);
    CHECK(veil_hyrax_commit(&cm, blinds, &PG, tab, 4, 60, 1) == VEIL_EINVAL);
}

int main(void)
{
    if (veil_pedersen_gens_init(&PG, "veil/test/commit", 64) != 0)
        return test_skip("cannot derive generators");
    test_pedersen();
    test_open();
    test_hyrax();
    veil_pedersen_gens_free(&PG);
    return test_done();
}
