/* Quorum over replica outputs, the --verify mode parser and flag lines. */
#include "veil/verify.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int veil_verify_parse(const char *s, veil_verify_mode *out)
{
    memset(out, 0, sizeof *out);
    if (!s || strcmp(s, "none") == 0) return 0;
    if (strcmp(s, "consensus") == 0) {
        out->kind = VEIL_VERIFY_CONSENSUS;
        out->p = 1;
        return 0;
    }
    if (strcmp(s, "cdv") == 0) {
        out->kind = VEIL_VERIFY_CDV;
        return 0;
    }
    if (strncmp(s, "sample:", 7) == 0) {
        char *end;
        double p = strtod(s + 7, &end);
        if (end == s + 7 || *end || !(p > 0 && p <= 1))
            return veil_fail(VEIL_EINVAL, "--verify sample:P needs 0 < P <= 1, got '%s'", s + 7);
        out->kind = VEIL_VERIFY_SAMPLE;
        out->p = p;
        return 0;
    }
    return veil_fail(VEIL_EINVAL, "unknown verification mode '%s' (none, consensus, sample:P, cdv)",
                     s);
}

/* ---- flags ----------------------------------------------------------------- */

static void copy_clean(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c; /* no terminal escapes */
    }
    dst[i] = '\0';
}

void veil_flag_set(veil_flag *f, const char *node, const char *fmt, ...)
{
    copy_clean(f->node, sizeof f->node, node);
    char tmp[sizeof f->reason];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    copy_clean(f->reason, sizeof f->reason, tmp);
}

int veil_flag_format(const veil_flag *f, char *buf, size_t cap)
{
    char node[sizeof f->node], reason[sizeof f->reason];
    copy_clean(node, sizeof node, f->node);
    copy_clean(reason, sizeof reason, f->reason);
    return snprintf(buf, cap, "node %s flagged: %s", node[0] ? node : "?", reason);
}

void veil_flag_print(FILE *out, const veil_flag *f)
{
    char line[320];
    veil_flag_format(f, line, sizeof line);
    fprintf(out, "%s\n", line);
    fflush(out);
}

/* ---- quorum ------------------------------------------------------------------ */

veil_quorum_opts veil_quorum_defaults(void)
{
    /* tol: honest non-reproducible runs (jitter:1e-6 per layer) differ by at
     * most 1.5e-5 of the rms (jitter:1e-5, 1.5e-4); 5e-4 leaves 3-30x margins and still rejects
     * noise of 1e-3 x std (see docs/SECURITY.md). */
    return (veil_quorum_opts){.policy = VEIL_QUORUM_MAJORITY, .m = 2, .exact = 1, .tol = 5e-4,
                              .fp_tol = veil_fp_default_tol()};
}

static int check_args(int R, const veil_quorum_opts *o)
{
    if (R < 1 || R > VEIL_MAX_REPLICAS)
        return veil_fail(VEIL_EINVAL, "replica count %d outside 1..%d", R, VEIL_MAX_REPLICAS);
    if (o->policy == VEIL_QUORUM_FIRST_M && (o->m < 1 || o->m > R))
        return veil_fail(VEIL_EINVAL, "first-M quorum needs 1 <= M <= R (M=%d, R=%d)", o->m, R);
    return 0;
}

/* Replicas agreeing with `c` among the first `upto`. */
static int group_size(int R, const uint8_t *agree, int c, int upto)
{
    int n = 0;
    for (int j = 0; j < upto; j++)
        n += j == c || agree[c * R + j];
    return n;
}

static void fill_result(int R, const uint8_t *agree, int c, veil_quorum_result *res)
{
    res->decided = 1;
    res->winner = c;
    for (int j = 0; j < R; j++) {
        if (j == c || agree[c * R + j])
            res->agree_mask |= 1u << j;
        else
            res->minority_mask |= 1u << j;
    }
    res->n_agree = __builtin_popcount(res->agree_mask);
}

int veil_quorum_decide(int R, const uint8_t *agree, const veil_quorum_opts *o,
                       veil_quorum_result *res)
{
    memset(res, 0, sizeof *res);
    res->winner = -1;
    int rc = check_args(R, o);
    if (rc) return rc;
    if (o->policy == VEIL_QUORUM_FIRST_M) {
        /* accept as soon as, in arrival order, M replicas agree */
        for (int upto = 1; upto <= R; upto++)
            for (int c = 0; c < upto; c++)
                if (group_size(R, agree, c, upto) >= o->m) {
                    fill_result(R, agree, c, res);
                    return 0;
                }
    } else {
        int best = -1, best_n = 0;
        for (int c = 0; c < R; c++) {
            int n = group_size(R, agree, c, R);
            if (n > best_n) best = c, best_n = n;
        }
        if (2 * best_n > R) {
            fill_result(R, agree, best, res);
            return 0;
        }
    }
    res->reexecute = 1;
    return 0;
}

int veil_outputs_agree(const float *a, const float *b, size_t n, const veil_quorum_opts *o)
{
    if (o->exact) return memcmp(a, b, n * sizeof(float)) == 0;
    double ss = 0, dmax = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        bad |= !isfinite(d); /* NaN or inf anywhere is a disagreement */
        if (d > dmax) dmax = d;
        ss += (double)a[i] * a[i];
    }
    double rms = sqrt(ss / (n ? n : 1));
    return !bad && dmax <= o->tol * (rms > 0 ? rms : 1e-30);
}

int veil_quorum_outputs(int R, const float *const *outs, size_t n, const veil_quorum_opts *o,
                        veil_quorum_result *res)
{
    int rc = check_args(R, o);
    if (rc) return rc;
    uint8_t agree[VEIL_MAX_REPLICAS * VEIL_MAX_REPLICAS] = {0};
    for (int i = 0; i < R; i++)
        for (int j = i + 1; j < R; j++)
            agree[i * R + j] = agree[j * R + i] =
                (uint8_t)(veil_outputs_agree(outs[i], outs[j], n, o) &&
                          veil_outputs_agree(outs[j], outs[i], n, o));
    return veil_quorum_decide(R, agree, o, res);
}

/* Tolerant agreement of replica i's fingerprint with replica j's full block. */
static int fp_agrees_with_block(const veil_fp *fp, const float *x, int T, int dim,
                                const veil_quorum_opts *o)
{
    veil_fp_check chk;
    return veil_fp_check_against(fp, x, T, dim, &o->fp_tol, &chk) == 0 && chk.ok;
}

static int fps_agree(const veil_fp *fps, const float *const *outs, int i, int j, int T, int dim,
                     const veil_quorum_opts *o)
{
    for (int r = 0; r < 2; r++) {
        const veil_fp *f = r ? &fps[j] : &fps[i];
        if (f->T != (uint32_t)T || f->dim != (uint32_t)dim) return 0;
    }
    if (veil_fp_equal(&fps[i], &fps[j])) return 1;
    if (o->exact) return 0;
    if (outs && outs[j]) return fp_agrees_with_block(&fps[i], outs[j], T, dim, o);
    if (outs && outs[i]) return fp_agrees_with_block(&fps[j], outs[i], T, dim, o);
    return 0;
}

int veil_quorum_fps(int R, const veil_fp *fps, const float *const *outs, int T, int dim,
                    const veil_quorum_opts *o, veil_quorum_result *res)
{
    int rc = check_args(R, o);
    if (rc) return rc;
    uint8_t agree[VEIL_MAX_REPLICAS * VEIL_MAX_REPLICAS] = {0};
    for (int i = 0; i < R; i++)
        for (int j = i + 1; j < R; j++)
            agree[i * R + j] = agree[j * R + i] = (uint8_t)fps_agree(fps, outs, i, j, T, dim, o);
    return veil_quorum_decide(R, agree, o, res);
}
