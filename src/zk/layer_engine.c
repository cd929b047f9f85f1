/* The proof engine of the layer proofs (see layer_internal.h): committed
 * tensors, sum-check relations over linear forms, logUp lookups, claim
 * batching and Hyrax openings.  Prover and verifier share every function;
 * z->prover selects whether a message is computed and written or read and
 * checked, so the two sides cannot drift apart in transcript order. */
#include "layer_internal.h"

#include <stdlib.h>
#include <string.h>

void zc_fe_i64(veil_fe *r, int64_t v) { veil_fe_from_i64(r, v); }

void zc_init(zc_ctx *z, int prover, const veil_pedersen_gens *pg, const char *domain,
             uint8_t *proof, size_t proof_len)
{
    memset(z, 0, sizeof *z);
    z->prover = prover;
    z->pg = pg;
    veil_transcript_init(&z->tr, domain);
    if (!prover) {
        z->buf = proof;
        z->len = proof_len;
    }
}

void zc_free(zc_ctx *z)
{
    for (int i = 0; i < z->nt; i++) {
        zc_tensor *t = &z->t[i];
        if (t->f) veil_wipe(t->f, sizeof(veil_fe) << t->nvars);
        if (t->blinds) veil_wipe(t->blinds, sizeof(veil_fe) * (t->cm.rows ? t->cm.rows : 1));
        free(t->f);
        free(t->blinds);
        free(t->pts);
        if (t->vals) veil_wipe(t->vals, sizeof *t->vals * t->cap);
        free(t->vals);
        veil_hyrax_commitment_free(&t->cm);
    }
    if (z->prover) free(z->buf);
    if (z->zs) veil_wipe(z->zs, sizeof *z->zs * z->capzero);
    free(z->zs);
    free(z->zp);
    free(z->pend);
    memset(z, 0, sizeof *z);
}

/* ---- message IO ---------------------------------------------------------- */

int zc_bytes_io(zc_ctx *z, uint8_t *p, size_t n, int absorb, const char *label)
{
    if (z->prover) {
        if (z->len + n > z->cap) {
            size_t cap = z->cap ? z->cap : 4096;
            while (cap < z->len + n)
                cap *= 2;
            uint8_t *nb = realloc(z->buf, cap);
            if (!nb) return veil_fail(VEIL_ENOMEM, "out of memory for the proof");
            z->buf = nb;
            z->cap = cap;
        }
        memcpy(z->buf + z->len, p, n);
        z->len += n;
    } else {
        if (n > z->len - z->pos)
            return veil_fail(VEIL_EVERIFY, "proof truncated (%s)", label);
        memcpy(p, z->buf + z->pos, n);
        z->pos += n;
    }
    if (absorb) veil_transcript_absorb(&z->tr, label, p, n);
    return 0;
}

#define ZC_BATCH 16 /* relations reduced by one sum-check at most */

/* ---- tensors ------------------------------------------------------------- */

static zc_tensor *new_tensor(zc_ctx *z, unsigned nvars, int kind)
{
    if (z->nt >= ZC_MAX_TENSORS || nvars > ZC_MAX_VARS) {
        veil_fail(VEIL_ERANGE, "proof circuit too large (%d tensors, 2^%u)", z->nt, nvars);
        return NULL;
    }
    zc_tensor *t = &z->t[z->nt++];
    memset(t, 0, sizeof *t);
    t->nvars = nvars;
    t->kind = kind;
    return t;
}

static int fe_table(zc_tensor *t, const int64_t *v, const veil_fe *fv, size_t len)
{
    size_t n = (size_t)1 << t->nvars;
    if (len > n) return veil_fail(VEIL_EINVAL, "tensor of %zu entries exceeds 2^%u", len, t->nvars);
    t->f = calloc(n, sizeof(veil_fe));
    if (!t->f) return veil_fail(VEIL_ENOMEM, "out of memory for a tensor");
    for (size_t i = 0; i < len; i++) {
        if (v) zc_fe_i64(&t->f[i], v[i]);
        else t->f[i] = fv[i];
    }
    return 0;
}

/* The proof's own tensors share one row width, 2^C entries: a tensor is
 * 2^(nvars - C) rows of it, or one short row.  C grows with the proof's
 * largest tensor (zc_set_row_width) from 2^13 to 2^16, capped by the
 * generators: wider rows mean fewer row commitments in the proof and a
 * longer inner-product argument.  At the end all of them are opened as one
 * stacked tensor (open_internal): one claim batching and one inner-product
 * argument per proof instead of one per tensor. */
#define ZC_COLS_MIN 13
#define ZC_COLS_MAX 16
#define ZC_ROWS_LOG 7 /* the largest tensor: at most 2^7 rows unless C is at its maximum */
static unsigned cols_log(const zc_ctx *z)
{
    unsigned maxc = veil_mle_log2(z->pg->n + 1) - 1; /* log2 of the generators, rounded down */
    unsigned c = z->cols ? z->cols : ZC_COLS_MIN;
    return maxc < c ? maxc : c;
}

void zc_set_row_width(zc_ctx *z, unsigned max_nvars)
{
    unsigned c = max_nvars > ZC_COLS_MIN + ZC_ROWS_LOG ? max_nvars - ZC_ROWS_LOG : ZC_COLS_MIN;
    z->cols = c > ZC_COLS_MAX ? ZC_COLS_MAX : c;
}

static unsigned row_vars(const zc_ctx *z, unsigned nvars)
{
    return nvars > cols_log(z) ? nvars - cols_log(z) : 0;
}

/* Write (prover) or read (verifier) a commitment; absorbed either way. */
static int commitment_io(zc_ctx *z, zc_tensor *t)
{
    unsigned rv = t->external ? veil_mle_log2(t->cm.rows) : row_vars(z, t->nvars);
    size_t sz = veil_hyrax_commitment_size_split(rv), used = 0;
    if (z->prover || t->external) {
        uint8_t *b = malloc(sz);
        if (!b) return veil_fail(VEIL_ENOMEM, "out of memory");
        int rc = veil_hyrax_commitment_write(&t->cm, b, sz, &used);
        if (!rc) {
            if (t->external) veil_transcript_absorb(&z->tr, "ext-commit", b, used);
            else rc = zc_bytes_io(z, b, used, 1, "commit");
        }
        free(b);
        return rc;
    }
    int rc = veil_hyrax_commitment_read_split(&t->cm, z->buf + z->pos, z->len - z->pos, t->nvars, rv,
                                              &used);
    if (rc) return veil_fail(VEIL_EVERIFY, "bad tensor commitment in proof: %s", veil_last_error());
    veil_transcript_absorb(&z->tr, "commit", z->buf + z->pos, used);
    z->pos += used;
    return 0;
}

static int copy_commitment(zc_tensor *t, const veil_hyrax_commitment *ext)
{
    t->cm = *ext;
    t->cm.c = malloc(sizeof(veil_ge) * ext->rows);
    if (!t->cm.c) return veil_fail(VEIL_ENOMEM, "out of memory");
    memcpy(t->cm.c, ext->c, sizeof(veil_ge) * ext->rows);
    return 0;
}

static int commit_tensor(zc_ctx *z, zc_tensor *t, const int64_t *v, size_t len)
{
    unsigned rv = row_vars(z, t->nvars);
    t->blinds = malloc(sizeof(veil_fe) << rv);
    if (!t->blinds) return veil_fail(VEIL_ENOMEM, "out of memory");
    return veil_hyrax_commit_split(&t->cm, t->blinds, z->pg, v ? NULL : t->f, v,
                                   v ? len : (size_t)1 << t->nvars, t->nvars, rv, z->threads);
}

int zc_tensor_i64(zc_ctx *z, unsigned nvars, const int64_t *v, size_t len,
                  const veil_hyrax_commitment *external, const veil_fe *ext_blinds)
{
    zc_tensor *t = new_tensor(z, nvars, ZC_COMMITTED);
    if (!t) return VEIL_ERANGE;
    int rc = 0;
    if (external) {
        t->external = 1;
        if (external->nvars != nvars) return veil_fail(VEIL_EVERIFY, "commitment of 2^%u entries where 2^%u expected", external->nvars, nvars);
        rc = copy_commitment(t, external);
        if (!rc && z->prover) {
            size_t rows = external->rows;
            t->blinds = malloc(sizeof(veil_fe) * rows);
            if (!t->blinds) return veil_fail(VEIL_ENOMEM, "out of memory");
            memcpy(t->blinds, ext_blinds, sizeof(veil_fe) * rows);
        }
    }
    if (!rc && z->prover) rc = fe_table(t, v, NULL, len);
    if (!rc && z->prover && !external) rc = commit_tensor(z, t, v, len);
    if (!rc) rc = commitment_io(z, t);
    return rc ? rc : z->nt - 1;
}

int zc_tensor_fe(zc_ctx *z, unsigned nvars, const veil_fe *v, size_t len)
{
    zc_tensor *t = new_tensor(z, nvars, ZC_COMMITTED);
    if (!t) return VEIL_ERANGE;
    int rc = 0;
    if (z->prover) {
        rc = fe_table(t, NULL, v, len);
        if (!rc) rc = commit_tensor(z, t, NULL, 0);
    }
    if (!rc) rc = commitment_io(z, t);
    return rc ? rc : z->nt - 1;
}

int zc_tensor_public(zc_ctx *z, unsigned nvars, const int64_t *v, size_t len)
{
    zc_tensor *t = new_tensor(z, nvars, ZC_PUBLIC);
    if (!t) return VEIL_ERANGE;
    int rc = fe_table(t, v, NULL, len);
    return rc ? rc : z->nt - 1;
}

static int add_claim(zc_tensor *t, const veil_fe *pt, const zc_val *v)
{
    if (t->nclaims == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4;
        veil_fe *np = realloc(t->pts, sizeof(veil_fe) * cap * (t->nvars ? t->nvars : 1));
        if (np) t->pts = np;
        zc_val *nv = realloc(t->vals, sizeof *nv * cap);
        if (nv) t->vals = nv;
        if (!np || !nv) return veil_fail(VEIL_ENOMEM, "out of memory for claims");
        t->cap = cap;
    }
    memcpy(t->pts + t->nclaims * t->nvars, pt, sizeof(veil_fe) * t->nvars);
    t->vals[t->nclaims++] = *v;
    return 0;
}

/* ---- linear forms -------------------------------------------------------- */

void zc_lin_init(zc_lin *l, int64_t cst)
{
    memset(l, 0, sizeof *l);
    zc_fe_i64(&l->cst, cst);
}

void zc_lin_add(zc_lin *l, int t, int64_t c, const uint8_t *map, unsigned nvars)
{
    if (l->n >= ZC_MAX_TERMS) return; /* circuit-construction bug: caught by the self-check */
    zc_term *tm = &l->term[l->n++];
    tm->t = t;
    zc_fe_i64(&tm->c, c);
    memset(tm->map, 0xFD, sizeof tm->map); /* unused coordinates match no variable */
    memcpy(tm->map, map, nvars);
}

void zc_map_range(uint8_t *dst, unsigned first, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        dst[i] = (uint8_t)(first + i);
}

static void term_point(const zc_term *tm, unsigned nv, const veil_fe *relpt, veil_fe *pt)
{
    for (unsigned k = 0; k < nv; k++) {
        if (tm->map[k] == ZC_C0) veil_fe_zero(&pt[k]);
        else if (tm->map[k] == ZC_C1) veil_fe_one(&pt[k]);
        else pt[k] = relpt[tm->map[k]];
    }
}

/* Leading coordinates fixed to constants select a slice of the tensor:
 * returns their number and the slice's first entry. */
static unsigned slice_prefix(const zc_term *tm, unsigned n, size_t *off)
{
    unsigned pre = 0;
    size_t hi = 0;
    while (pre < n && (tm->map[pre] == ZC_C0 || tm->map[pre] == ZC_C1))
        hi = hi << 1 | (tm->map[pre++] == ZC_C1);
    *off = hi << (n - pre);
    return pre;
}

/* The form's value at a relation point: each committed tensor's value is
 * sent by the prover and becomes a claim; public ones are computed. */
/* An evaluation of tensor term tm already sent at the batch's point. */
static struct zc_ev *ev_find(zc_ctx *z, const zc_term *tm, const veil_fe *relpt)
{
    if (!z->ev_at) return NULL;
    if (z->ev_at != relpt) z->nev = 0;
    z->ev_at = relpt;
    for (int i = 0; i < z->nev; i++)
        if (z->ev[i].t == tm->t && !memcmp(z->ev[i].map, tm->map, z->t[tm->t].nvars)) return &z->ev[i];
    return NULL;
}

static void ev_keep(zc_ctx *z, const zc_term *tm, const zc_val *v)
{
    if (!z->ev_at || z->nev == ZC_EVCACHE) return;
    struct zc_ev *e = &z->ev[z->nev++];
    e->t = tm->t;
    memcpy(e->map, tm->map, sizeof e->map);
    e->v = *v;
}

static int lin_eval(zc_ctx *z, const zc_lin *l, const veil_fe *relpt, zc_val *out)
{
    zc_val x[ZC_MAX_TERMS + 1];
    const zc_val *xp[ZC_MAX_TERMS + 1];
    veil_fe k[ZC_MAX_TERMS + 1];
    int n = 0;
    zc_val_pub(&x[n], &l->cst);
    veil_fe_one(&k[n]);
    xp[n] = &x[n], n++;
    for (int i = 0; i < l->n; i++, n++) {
        const zc_term *tm = &l->term[i];
        zc_tensor *t = &z->t[tm->t];
        k[n] = tm->c;
        xp[n] = &x[n];
        struct zc_ev *seen = t->kind == ZC_COMMITTED ? ev_find(z, tm, relpt) : NULL;
        if (seen) {
            xp[n] = &seen->v;
            continue;
        }
        veil_fe pt[ZC_MAX_VARS], v;
        term_point(tm, t->nvars, relpt, pt);
        int rc = 0;
        if (z->prover || t->kind == ZC_PUBLIC) {
            size_t off;
            unsigned pre = slice_prefix(tm, t->nvars, &off);
            rc = veil_mle_eval(&v, t->f + off, t->nvars - pre, pt + pre);
        }
        if (!rc && t->kind == ZC_COMMITTED) {
            rc = zc_val_io(z, "eval", &x[n], &v);
            if (!rc) rc = add_claim(t, pt, &x[n]);
            if (!rc) ev_keep(z, tm, &x[n]);
        } else {
            zc_val_pub(&x[n], &v);
        }
        if (rc) return rc;
    }
    return zc_val_lincomb(z, out, k, xp, (size_t)n);
}

/* ---- relations ----------------------------------------------------------- */

static inline size_t bit_at(size_t x, unsigned nbits, unsigned pos)
{
    return (x >> (nbits - 1 - pos)) & 1;
}

/* Tensor t with coordinates fixed where fixed[k] (values val[k]) and the
 * other coordinates kept in order: a table of 2^nfree entries (heap). */
static veil_fe *partial_eval(const veil_fe *f, unsigned n, const int *fixed, const veil_fe *val)
{
    unsigned perm[ZC_MAX_VARS], nf = 0;
    for (unsigned k = 0; k < n; k++)
        if (fixed[k]) perm[nf++] = k;
    unsigned nfixed = nf;
    for (unsigned k = 0; k < n; k++)
        if (!fixed[k]) perm[nf++] = k;
    size_t N = (size_t)1 << n;
    veil_fe *g = malloc(sizeof(veil_fe) * N);
    if (!g) return NULL;
    for (size_t i = 0; i < N; i++) {
        size_t src = 0;
        for (unsigned j = 0; j < n; j++)
            src |= bit_at(i, n, j) << (n - 1 - perm[j]);
        g[i] = f[src];
    }
    size_t len = N;
    for (unsigned j = 0; j < nfixed; j++, len /= 2)
        veil_mle_fold(g, len, &val[perm[j]]);
    return g;
}

/* The table over the nV sum-check variables of a linear form: coordinates
 * mapped to variables outside V are fixed at relpt. */
static veil_fe *op_table(zc_ctx *z, const zc_lin *l, const veil_fe *relpt, const uint8_t *vpos,
                         unsigned nV)
{
    size_t N = (size_t)1 << nV;
    veil_fe *out = malloc(sizeof(veil_fe) * N);
    if (!out) return NULL;
    for (size_t x = 0; x < N; x++)
        out[x] = l->cst;
    for (int i = 0; i < l->n; i++) {
        const zc_term *tm = &l->term[i];
        const zc_tensor *t = &z->t[tm->t];
        int fixed[ZC_MAX_VARS];
        veil_fe val[ZC_MAX_VARS];
        unsigned freepos[ZC_MAX_VARS], nfree = 0;
        size_t off;
        unsigned pre = slice_prefix(tm, t->nvars, &off);
        for (unsigned k = pre; k < t->nvars; k++) {
            uint8_t m = tm->map[k];
            fixed[k] = m == ZC_C0 || m == ZC_C1 || vpos[m] == 0xFF;
            if (m == ZC_C0) veil_fe_zero(&val[k]);
            else if (m == ZC_C1) veil_fe_one(&val[k]);
            else if (fixed[k]) val[k] = relpt[m];
            else freepos[nfree++] = vpos[m];
        }
        veil_fe *g = partial_eval(t->f + off, t->nvars - pre, fixed + pre, val + pre);
        if (!g) {
            free(out);
            return NULL;
        }
        for (size_t x = 0; x < N; x++) {
            size_t gi = 0;
            for (unsigned k = 0; k < nfree; k++)
                gi |= bit_at(x, nV, freepos[k]) << (nfree - 1 - k);
            veil_fe cv;
            veil_fe_mul(&cv, &tm->c, &g[gi]);
            veil_fe_add(&out[x], &out[x], &cv);
        }
        free(g);
    }
    return out;
}

static int lin_uses(const zc_lin *l, unsigned v)
{
    for (int i = 0; i < l->n; i++)
        for (unsigned k = 0; k < ZC_MAX_VARS; k++)
            if (l->term[i].map[k] == v) return 1;
    return 0;
}

/* Prover: the sum-check over V of eq(r_shared, .) * sum_j g^j sum_p coef_p
 * prod ops of the k relations R (one shared eq table). */
static int rel_sumcheck_prove(zc_ctx *z, const zc_rel *const *R, int k, const veil_fe *gp,
                              const veil_fe *rel, const uint8_t *vpos, unsigned nV, unsigned deg,
                              const veil_fe *eq_r, unsigned nshared, zc_rounds *rs, veil_fe *rho)
{
    veil_sc_poly p;
    veil_sc_poly_init(&p, nV);
    veil_fe *tabs[VEIL_SC_MAX_TABLES] = {0}, finals[VEIL_SC_MAX_TABLES];
    int ntab = 0, rc = 0, eqi = -1;
    size_t N = (size_t)1 << nV, nt = 0;
    if (nshared) {
        /* eq(r_shared, x_shared) expanded over V (shared variables first) */
        size_t M = (size_t)1 << nshared;
        veil_fe *e = malloc(sizeof(veil_fe) * M);
        tabs[ntab] = malloc(sizeof(veil_fe) * N);
        if (!e || !tabs[ntab]) rc = veil_fail(VEIL_ENOMEM, "out of memory");
        if (!rc) {
            veil_mle_eq_table(e, eq_r, nshared);
            for (size_t x = 0; x < N; x++)
                tabs[ntab][x] = e[x >> (nV - nshared)];
        }
        free(e);
        eqi = ntab++;
    }
    for (int j = 0; j < k && !rc; j++)
        for (int q = 0; q < R[j]->nprod && !rc; q++) {
            const zc_prod *pr = &R[j]->prod[q];
            veil_sc_term *tm = &p.term[nt++];
            veil_fe_mul(&tm->coef, &pr->coef, &gp[j]);
            tm->nf = 0;
            if (eqi >= 0) tm->f[tm->nf++] = (uint8_t)eqi;
            for (int o = 0; o < pr->nops && !rc; o++) {
                tabs[ntab] = op_table(z, &pr->op[o], rel, vpos, nV);
                if (!tabs[ntab]) rc = veil_fail(VEIL_ENOMEM, "out of memory (relation tables)");
                tm->f[tm->nf++] = (uint8_t)ntab++;
            }
        }
    p.nterms = nt;
    for (int t = 0; t < ntab && !rc; t++)
        if (veil_sc_add_table(&p, tabs[t]) < 0) rc = VEIL_ERANGE;
    if (!rc) rc = veil_sc_prove_hooked(&z->tr, &p, deg, zc_round_hook, rs, rs->g, rho, finals);
    for (int t = 0; t < ntab; t++)
        free(tabs[t]);
    return rc;
}

/* Which relation variables form V (the sum-check variables): the summed
 * ones and the free ones used by two or more factors of one product. */
static unsigned rel_vars(const zc_rel *R, const veil_fe *rel, uint8_t *vpos, veil_fe *eq_r,
                         unsigned *nshared, unsigned *deg)
{
    unsigned nV = 0;
    *nshared = 0;
    *deg = 1;
    memset(vpos, 0xFF, ZC_MAX_VARS);
    for (unsigned v = 0; v < R->nA; v++) {
        int shared = 0;
        for (int q = 0; q < R->nprod; q++) {
            int uses = 0;
            for (int k = 0; k < R->prod[q].nops; k++)
                uses += lin_uses(&R->prod[q].op[k], v);
            shared |= uses >= 2;
        }
        if (shared) {
            vpos[v] = (uint8_t)nV++;
            if (eq_r) eq_r[*nshared] = rel[v];
            (*nshared)++;
        }
    }
    for (unsigned v = R->nA; v < R->nA + R->nC; v++)
        vpos[v] = (uint8_t)nV++;
    for (int q = 0; q < R->nprod; q++) {
        unsigned d = (unsigned)R->prod[q].nops + (*nshared ? 1 : 0);
        if (d > *deg) *deg = d;
    }
    return nV;
}

/* Tables and terms a relation adds to a batch's sum-check. */
static void rel_size(const zc_rel *R, int *tables, int *terms)
{
    *terms = R->nprod;
    *tables = 0;
    for (int q = 0; q < R->nprod; q++)
        *tables += R->prod[q].nops;
}

/* Two relations batch when they reduce over the same variables. */
static int same_shape(const zc_rel *a, const zc_rel *b)
{
    uint8_t va[ZC_MAX_VARS], vb[ZC_MAX_VARS];
    unsigned sa, sb, da, db;
    if (a->nA != b->nA || a->nC != b->nC) return 0;
    rel_vars(a, NULL, va, NULL, &sa, &da);
    rel_vars(b, NULL, vb, NULL, &sb, &db);
    return sa == sb && !memcmp(va, vb, a->nA + a->nC);
}

/* The batch's sum-check over V with committed rounds: *claim (the
 * combined left-hand sides) in, the value at rho out. */
static int relation_rounds(zc_ctx *z, const zc_rel *const *R, int k, const veil_fe *gp,
                           const veil_fe *rel, const uint8_t *vpos, unsigned nV, unsigned deg,
                           const veil_fe *eq_r, unsigned nshared, veil_fe *rho, zc_val *claim)
{
    zc_rounds rs;
    int rc = zc_rounds_init(z, &rs, nV, deg);
    if (!rc && z->prover) {
        veil_fe first, H;
        rc = rel_sumcheck_prove(z, R, k, gp, rel, vpos, nV, deg, eq_r, nshared, &rs, rho);
        if (!rc) {
            veil_sc_first_sum(rs.g, &first);
            zc_val_full(claim, &H);
            if (!veil_fe_eq(&first, &H)) rc = veil_fail(VEIL_EINVAL, "prover: witness violates a relation");
        }
    } else if (!rc) {
        rc = zc_rounds_read(&rs, rho);
    }
    if (!rc) rc = zc_rounds_final(&rs, claim, rho, claim);
    zc_rounds_free(&rs);
    return rc;
}

/* The pending batch: one point r_A for all, their left-hand sides, a
 * challenge g, then one sum-check of sum_j g^j (relation j) and the check of
 * its final value against the factors' evaluations at the sum-check point. */
static int run_batch(zc_ctx *z, const zc_rel *const *R, int k)
{
    unsigned nA = R[0]->nA, N = nA + R[0]->nC;
    veil_fe rel[ZC_MAX_VARS], rho[ZC_MAX_VARS], pt[ZC_MAX_VARS], eq_r[ZC_MAX_VARS];
    veil_fe gp[ZC_BATCH], g;
    zc_val H, Hj[ZC_BATCH], final;
    const zc_val *Hp[ZC_BATCH];
    veil_transcript_absorb_u64(&z->tr, "rel-shape", (uint64_t)nA << 32 | R[0]->nC);
    veil_transcript_absorb_u64(&z->tr, "rel-batch", (uint64_t)k);
    veil_transcript_challenges(&z->tr, "rel-rA", rel, nA);
    int rc = 0;
    veil_fe_one(&gp[0]);
    z->ev_at = rel, z->nev = 0; /* one evaluation per view and point */
    for (int j = 0; j < k && !rc; j++) {
        rc = lin_eval(z, &R[j]->lhs, rel, &Hj[j]);
        Hp[j] = &Hj[j];
        if (!rc && j == 0 && k > 1) veil_transcript_challenge(&z->tr, "rel-gamma", &g);
        if (!rc && j) veil_fe_mul(&gp[j], &gp[j - 1], &g);
    }
    if (!rc) rc = zc_val_lincomb(z, &H, gp, Hp, (size_t)k);
    if (rc) {
        z->ev_at = NULL;
        return rc;
    }
    uint8_t vpos[ZC_MAX_VARS];
    unsigned nshared, deg = 1, nV = 0;
    for (int j = 0; j < k; j++) { /* same variables; the degree is the largest */
        unsigned dj;
        nV = rel_vars(R[j], rel, vpos, eq_r, &nshared, &dj);
        if (dj > deg) deg = dj;
    }
    final = H;
    if (nV) rc = relation_rounds(z, R, k, gp, rel, vpos, nV, deg, eq_r, nshared, rho, &final);
    if (rc) {
        z->ev_at = NULL;
        return rc;
    }
    for (unsigned v = 0; v < N; v++)
        pt[v] = vpos[v] == 0xFF ? rel[v] : rho[vpos[v]];
    z->ev_at = pt, z->nev = 0;
    /* sum_j g^j sum_q coef eq prod ops - final must be 0 */
    enum { NT = ZC_BATCH * 3 + 1 };
    veil_fe eqv, c[NT];
    zc_val P[NT], opv[3];
    const zc_val *Pp[NT], *op[3];
    int nt = 0;
    veil_fe_one(&eqv);
    if (nshared) veil_mle_eq_eval(&eqv, eq_r, rho, nshared);
    for (int j = 0; j < k && !rc; j++)
        for (int q = 0; q < R[j]->nprod && !rc; q++, nt++) {
            veil_fe_mul(&c[nt], &R[j]->prod[q].coef, &eqv);
            veil_fe_mul(&c[nt], &c[nt], &gp[j]);
            for (int o = 0; o < R[j]->prod[q].nops && !rc; o++) {
                rc = lin_eval(z, &R[j]->prod[q].op[o], pt, &opv[o]);
                op[o] = &opv[o];
            }
            if (!rc) rc = zc_val_product(z, op, R[j]->prod[q].nops, &c[nt], &P[nt]);
            Pp[nt] = &P[nt];
        }
    z->ev_at = NULL;
    if (rc) return rc;
    veil_fe_one(&c[nt]);
    veil_fe_neg(&c[nt], &c[nt]);
    Pp[nt++] = &final;
    zc_val sum;
    rc = zc_val_lincomb(z, &sum, c, Pp, (size_t)nt);
    return rc ? rc : zc_val_zero(z, &sum, "witness violates a relation at the sum-check point");
}

/* Every pending relation, grouped by shape in order of first appearance;
 * a group is cut where the sum-check's table or term budget would overflow. */
static int flush_relations(zc_ctx *z)
{
    int n = z->npend, rc = 0;
    z->npend = 0;
    uint8_t *done = calloc(n ? n : 1, 1);
    if (!done) return veil_fail(VEIL_ENOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        while (!done[i] && !rc) {
            const zc_rel *G[ZC_BATCH];
            int k = 0, tables = 1, terms = 0, t, m; /* 1: the shared eq table */
            for (int j = i; j < n && k < ZC_BATCH; j++) {
                if (done[j] || (k && !same_shape(G[0], &z->pend[j]))) continue;
                rel_size(&z->pend[j], &t, &m);
                if (k && (tables + t > VEIL_SC_MAX_TABLES || terms + m > VEIL_SC_MAX_TERMS)) continue;
                tables += t, terms += m;
                G[k++] = &z->pend[j];
                done[j] = 1;
            }
            rc = run_batch(z, G, k);
        }
    }
    free(done);
    return rc;
}

int zc_relation(zc_ctx *z, const zc_rel *R)
{
    unsigned N = R->nA + R->nC;
    if (N > ZC_MAX_VARS || R->nprod < 1 || R->nprod > 3)
        return veil_fail(VEIL_ERANGE, "relation shape out of range");
    for (int q = 0; q < R->nprod; q++)
        if (R->prod[q].nops < 1 || R->prod[q].nops > 3)
            return veil_fail(VEIL_ERANGE, "relation product shape out of range");
    if (z->npend == z->cappend) {
        int cap = z->cappend ? 2 * z->cappend : 64;
        zc_rel *np = realloc(z->pend, sizeof *np * cap);
        if (!np) return veil_fail(VEIL_ENOMEM, "out of memory for relations");
        z->pend = np, z->cappend = cap;
    }
    z->pend[z->npend++] = *R;
    return 0;
}

/* ---- lookups ------------------------------------------------------------- */

/* The linear form's values on the Boolean cube of its a variables. */
static veil_fe *lin_values(zc_ctx *z, const zc_lin *l, unsigned a)
{
    uint8_t vpos[ZC_MAX_VARS];
    memset(vpos, 0xFF, sizeof vpos);
    for (unsigned v = 0; v < a; v++)
        vpos[v] = (uint8_t)v;
    return op_table(z, l, NULL, vpos, a);
}

/* Public table column at point (NULL: the identity 0..2^b-1). */
static int column_at(const veil_fe *col, unsigned b, const veil_fe *p, veil_fe *out)
{
    if (!col) {
        veil_mle_eval_identity(out, p, b);
        return 0;
    }
    return veil_mle_eval(out, col, b, p);
}

/* acc += c^k * v */
static void add_pow(veil_fe *acc, const veil_fe *ck, const veil_fe *v)
{
    veil_fe t;
    veil_fe_mul(&t, ck, v);
    veil_fe_add(acc, acc, &t);
}

/* Prover: S = sum_c alpha^c col_c, T likewise, and the inverses. */
static int lookup_witness(zc_ctx *z, const zc_lookup *lk, const veil_fe *alpha,
                          const veil_fe *beta, const veil_fe *m, veil_fe *S, veil_fe *T,
                          veil_fe *hS, veil_fe *hT)
{
    size_t n1 = (size_t)1 << lk->a, n2 = (size_t)1 << lk->b;
    veil_fe ck;
    veil_fe_one(&ck);
    memset(S, 0, sizeof *S * n1);
    memset(T, 0, sizeof *T * n2);
    for (int c = 0; c < lk->ncols; c++) {
        veil_fe *v = lin_values(z, &lk->col[c], lk->a);
        if (!v) return veil_fail(VEIL_ENOMEM, "out of memory");
        for (size_t i = 0; i < n1; i++)
            add_pow(&S[i], &ck, &v[i]);
        free(v);
        for (size_t i = 0; i < n2; i++) {
            veil_fe ti;
            if (lk->tcol[c]) ti = lk->tcol[c][i];
            else veil_fe_from_u64(&ti, i);
            add_pow(&T[i], &ck, &ti);
        }
        veil_fe_mul(&ck, &ck, alpha);
    }
    return veil_logup_inverses(beta, S, n1, T, m, n2, hS, hT);
}

/* sum_t coef_t prod_f scale_f leaf_f - final: the committed factors
 * multiplied with proofs of product, the public ones folded in. */
static int shape_eval(zc_ctx *z, const veil_sc_poly *shape, const zc_val *leaf,
                      const veil_fe *scale, const zc_val *final, zc_val *out)
{
    veil_fe c[VEIL_SC_MAX_TERMS + 1];
    zc_val P[VEIL_SC_MAX_TERMS];
    const zc_val *Pp[VEIL_SC_MAX_TERMS + 1];
    size_t nt = shape->nterms;
    for (size_t t = 0; t < nt; t++) {
        const veil_sc_term *tm = &shape->term[t];
        const zc_val *f[VEIL_SC_MAX_DEG];
        c[t] = tm->coef;
        for (unsigned k = 0; k < tm->nf; k++) {
            f[k] = &leaf[tm->f[k]];
            veil_fe_mul(&c[t], &c[t], &scale[tm->f[k]]);
        }
        int rc = zc_val_product(z, f, tm->nf, &c[t], &P[t]);
        if (rc) return rc;
        Pp[t] = &P[t];
    }
    veil_fe_one(&c[nt]);
    veil_fe_neg(&c[nt], &c[nt]);
    Pp[nt] = final;
    return zc_val_lincomb(z, out, c, Pp, nt + 1);
}

/* The logUp sum-check with committed rounds (prover: S, hS, T, m, hT), its
 * final value in *final and the values it needs in ev. */
static int lookup_rounds(zc_ctx *z, veil_logup_run *lr, const veil_fe *S, const veil_fe *hS,
                         const veil_fe *T, const veil_fe *m, const veil_fe *hT,
                         veil_logup_evals *ev, zc_val *final)
{
    zc_rounds rs;
    zc_val zero;
    zc_val_pub_i64(&zero, 0);
    int rc = zc_rounds_init(z, &rs, veil_logup_nvars(lr->a, lr->b), VEIL_LOGUP_DEG);
    if (!rc && z->prover) {
        rc = veil_logup_prove_hooked(&z->tr, lr, S, hS, T, m, hT, zc_round_hook, &rs, rs.g, ev);
    } else if (!rc) {
        rc = veil_logup_draw(&z->tr, lr);
        if (!rc) rc = zc_rounds_read(&rs, lr->r);
    }
    if (!rc) rc = zc_rounds_final(&rs, &zero, lr->r, final);
    zc_rounds_free(&rs);
    return rc;
}

/* The logUp polynomial at the sum-check point from the committed hS, hT, m
 * (claims on their tensors), S from the looked-up columns and the public
 * table; it must equal the sum-check's final value. */
static int lookup_final(zc_ctx *z, const zc_lookup *lk, const veil_logup_run *lr,
                        const veil_fe *alpha, const int tid[3], const veil_logup_evals *ev,
                        const zc_val *final)
{
    const veil_fe *pa = veil_logup_point_a(lr), *pb = veil_logup_point_b(lr);
    zc_val e[VEIL_LOGUP_TABLES], v[ZC_MAX_COLS];
    const zc_val *vp[ZC_MAX_COLS];
    veil_fe ck[ZC_MAX_COLS], sc[VEIL_LOGUP_TABLES], za, zb, T_at, tv, x;
    int rc = zc_val_io(z, "lookup hS", &e[VEIL_LOGUP_T_HS], &ev->hS);
    if (!rc) rc = zc_val_io(z, "lookup hT", &e[VEIL_LOGUP_T_HT], &ev->hT);
    if (!rc) rc = zc_val_io(z, "lookup m", &e[VEIL_LOGUP_T_M], &ev->m);
    if (!rc) rc = add_claim(&z->t[tid[0]], pb, &e[VEIL_LOGUP_T_M]);
    if (!rc) rc = add_claim(&z->t[tid[1]], pa, &e[VEIL_LOGUP_T_HS]);
    if (!rc) rc = add_claim(&z->t[tid[2]], pb, &e[VEIL_LOGUP_T_HT]);
    /* S at point_a: the combination of the committed columns */
    veil_fe_zero(&T_at);
    veil_fe_one(&ck[0]);
    for (int c = 0; !rc && c < lk->ncols; c++) {
        if (c) veil_fe_mul(&ck[c], &ck[c - 1], alpha);
        rc = lin_eval(z, &lk->col[c], pa, &v[c]);
        vp[c] = &v[c];
        if (!rc) rc = column_at(lk->tcol[c], lk->b, pb, &tv);
        add_pow(&T_at, &ck[c], &tv);
    }
    if (!rc) rc = zc_val_lincomb(z, &e[VEIL_LOGUP_T_S], ck, vp, (size_t)lk->ncols);
    if (rc) return rc;
    /* the padded tables' values: za (zb) times the vectors' */
    veil_logup_pads(lr, &za, &zb);
    sc[VEIL_LOGUP_T_HS] = sc[VEIL_LOGUP_T_S] = sc[VEIL_LOGUP_T_EQ1] = za;
    sc[VEIL_LOGUP_T_HT] = sc[VEIL_LOGUP_T_T] = sc[VEIL_LOGUP_T_M] = sc[VEIL_LOGUP_T_EQ2] = zb;
    zc_val_pub(&e[VEIL_LOGUP_T_T], &T_at);
    veil_mle_eq_eval(&x, lr->tau1, pa, lr->a);
    zc_val_pub(&e[VEIL_LOGUP_T_EQ1], &x);
    veil_mle_eq_eval(&x, lr->tau2, pb, lr->b);
    zc_val_pub(&e[VEIL_LOGUP_T_EQ2], &x);
    veil_sc_poly shape;
    zc_val g;
    veil_logup_shape(&shape, lr);
    rc = shape_eval(z, &shape, e, sc, final, &g);
    return rc ? rc : zc_val_zero(z, &g, "lookup: an entry is not in the table");
}

int zc_lookup_prove_verify(zc_ctx *z, const zc_lookup *lk)
{
    int frc = flush_relations(z);
    if (frc) return frc;
    if (lk->a > ZC_MAX_VARS || lk->b > ZC_MAX_VARS || lk->ncols < 1 || lk->ncols > ZC_MAX_COLS)
        return veil_fail(VEIL_ERANGE, "lookup shape out of range");
    size_t n1 = (size_t)1 << lk->a, n2 = (size_t)1 << lk->b;
    veil_transcript_absorb_u64(&z->tr, "lookup", (uint64_t)lk->a << 32 | lk->b);
    veil_fe *m = NULL, *S = NULL, *T = NULL, *hS = NULL, *hT = NULL;
    veil_fe alpha;
    veil_logup_run lr;
    veil_logup_evals ev;
    zc_val final;
    memset(&lr, 0, sizeof lr);
    memset(&ev, 0, sizeof ev);
    int rc = 0, tid[3];
    if (z->prover) {
        m = calloc(n2, sizeof *m);
        S = malloc(sizeof *S * n1);
        T = malloc(sizeof *T * n2);
        hS = malloc(sizeof *hS * n1);
        hT = malloc(sizeof *hT * n2);
        if (!m || !S || !T || !hS || !hT) rc = veil_fail(VEIL_ENOMEM, "out of memory (lookup)");
        if (!rc) rc = veil_logup_mults(lk->idx, n1, m, n2);
    }
    tid[0] = rc ? rc : zc_tensor_fe(z, lk->b, m, n2);
    if (tid[0] < 0) {
        rc = tid[0];
        goto done;
    }
    veil_transcript_challenge(&z->tr, "lookup-alpha", &alpha);
    veil_transcript_challenge(&z->tr, "lookup-beta", &lr.beta);
    if (z->prover) rc = lookup_witness(z, lk, &alpha, &lr.beta, m, S, T, hS, hT);
    if (rc) goto done;
    tid[1] = zc_tensor_fe(z, lk->a, hS, n1);
    tid[2] = tid[1] < 0 ? tid[1] : zc_tensor_fe(z, lk->b, hT, n2);
    if (tid[2] < 0) {
        rc = tid[2];
        goto done;
    }
    lr.a = lk->a;
    lr.b = lk->b;
    rc = lookup_rounds(z, &lr, S, hS, T, m, hT, &ev, &final);
    if (!rc) rc = lookup_final(z, lk, &lr, &alpha, tid, &ev, &final);
done:
    free(m);
    free(S);
    free(T);
    free(hS);
    free(hT);
    return rc;
}

/* ---- claims and openings ------------------------------------------------- */

/* Several claims on one tensor become one: sum_x W(x) f(x) = sum_j g^j v_j
 * with W = sum_j g^j eq(p_j, .), a degree-2 sum-check. */
static int batch_claims(zc_ctx *z, zc_tensor *t, veil_fe *point, zc_val *value)
{
    unsigned n = t->nvars;
    size_t N = (size_t)1 << n;
    veil_fe gamma, gp, w_at, tmp, fin[2];
    zc_val H, final;
    veil_transcript_challenge(&z->tr, "batch-gamma", &gamma);
    veil_fe *gpow = malloc(sizeof *gpow * t->nclaims);
    const zc_val **vp = malloc(sizeof *vp * t->nclaims);
    int rc = gpow && vp ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    veil_fe_one(&gp);
    for (size_t j = 0; !rc && j < t->nclaims; j++) {
        gpow[j] = gp;
        vp[j] = &t->vals[j];
        veil_fe_mul(&gp, &gp, &gamma);
    }
    if (!rc) rc = zc_val_lincomb(z, &H, gpow, vp, t->nclaims);
    free(gpow);
    free(vp);
    zc_rounds rs;
    if (!rc) rc = zc_rounds_init(z, &rs, n, 2);
    else return rc;
    if (!rc && z->prover) {
        veil_fe *W = calloc(N, sizeof *W), *f = malloc(sizeof *f * N), *e = malloc(sizeof *e * N);
        if (!W || !f || !e) rc = veil_fail(VEIL_ENOMEM, "out of memory");
        veil_fe_one(&gp);
        for (size_t j = 0; !rc && j < t->nclaims; j++) {
            /* a claim on a slice (leading coordinates 0/1) has an eq table
             * that vanishes outside the slice: fill only the slice */
            const veil_fe *pj = t->pts + j * n;
            unsigned pre = 0;
            size_t hi = 0;
            veil_fe one;
            veil_fe_one(&one);
            while (pre < n && (veil_fe_is_zero(&pj[pre]) || veil_fe_eq(&pj[pre], &one)))
                hi = hi << 1 | !veil_fe_is_zero(&pj[pre++]);
            size_t off = hi << (n - pre), len = (size_t)1 << (n - pre);
            veil_mle_eq_table(e, pj + pre, n - pre);
            for (size_t i = 0; i < len; i++) {
                veil_fe_mul(&tmp, &gp, &e[i]);
                veil_fe_add(&W[off + i], &W[off + i], &tmp);
            }
            veil_fe_mul(&gp, &gp, &gamma);
        }
        if (!rc) {
            memcpy(f, t->f, sizeof *f * N);
            veil_sc_poly p;
            veil_fe one;
            veil_fe_one(&one);
            veil_sc_poly_init(&p, n);
            veil_sc_add_table(&p, W);
            veil_sc_add_table(&p, f);
            veil_sc_add_term(&p, &one, 2, 0, 1);
            rc = veil_sc_prove_hooked(&z->tr, &p, 2, zc_round_hook, &rs, rs.g, point, fin);
        }
        free(W);
        if (f) veil_wipe_free(f, sizeof *f * N);
        free(e);
    } else if (!rc) {
        rc = zc_rounds_read(&rs, point);
    }
    if (!rc) rc = zc_rounds_final(&rs, &H, point, &final);
    zc_rounds_free(&rs);
    if (!rc) rc = zc_val_io(z, "batch value", value, &fin[1]);
    if (rc) return rc;
    veil_fe_zero(&w_at);
    veil_fe_one(&gp);
    for (size_t j = 0; j < t->nclaims; j++) {
        veil_mle_eq_eval(&tmp, t->pts + j * n, point, n);
        add_pow(&w_at, &gp, &tmp);
        veil_fe_mul(&gp, &gp, &gamma);
    }
    zc_val chk;
    veil_fe k[2];
    const zc_val *x[2] = {value, &final};
    k[0] = w_at;
    veil_fe_one(&k[1]);
    veil_fe_neg(&k[1], &k[1]);
    rc = zc_val_lincomb(z, &chk, k, x, 2);
    return rc ? rc : zc_val_zero(z, &chk, "claim batching failed");
}

static int open_tensor(zc_ctx *z, zc_tensor *t, const veil_fe *point, const zc_val *value)
{
    unsigned rounds = veil_mle_log2(t->cm.cols); /* external commitments may split otherwise */
    size_t sz = veil_ipa_proof_size(rounds), used = 0;
    veil_ipa_proof pf;
    int rc;
    if (z->prover) {
        veil_fe v, want;
        zc_val_full(value, &want);
        rc = veil_hyrax_prove(&pf, &v, &z->tr, z->pg, &t->cm, t->f, (size_t)1 << t->nvars,
                              t->blinds, point, &value->s, z->threads);
        if (!rc && !veil_fe_eq(&v, &want))
            rc = veil_fail(VEIL_EINVAL, "prover: claim differs from the committed tensor");
        uint8_t *b = rc ? NULL : malloc(sz);
        if (!rc && !b) rc = veil_fail(VEIL_ENOMEM, "out of memory");
        if (!rc) rc = veil_ipa_proof_write(&pf, b, sz, &used);
        if (!rc) rc = zc_bytes_io(z, b, used, 0, "ipa");
        free(b);
        return rc;
    }
    rc = veil_ipa_proof_read(&pf, z->buf + z->pos, z->len - z->pos, rounds, &used);
    if (rc) return veil_fail(VEIL_EVERIFY, "bad opening proof: %s", veil_last_error());
    z->pos += used;
    veil_ge Cv;
    zc_val_point(z, value, &Cv);
    rc = veil_hyrax_verify(&pf, &z->tr, z->pg, &t->cm, point, &Cv, z->threads);
    return rc ? veil_fail(VEIL_EVERIFY, "tensor opening rejected: %s", veil_last_error()) : 0;
}

/* All claims on one tensor reduced to one point and value. */
static int reduce_claims(zc_ctx *z, zc_tensor *t, veil_fe *point, zc_val *value)
{
    if (t->nclaims > 1 && t->nvars > 0) return batch_claims(z, t, point, value);
    memcpy(point, t->pts, sizeof(veil_fe) * t->nvars);
    *value = t->vals[0];
    veil_fe m1;
    veil_fe_one(&m1);
    veil_fe_neg(&m1, &m1);
    for (size_t j = 1; j < t->nclaims; j++) { /* nvars == 0: all claims equal */
        zc_val d = t->vals[j];
        zc_val_axpy(z, &d, &m1, value);
        int rc = zc_val_zero(z, &d, "inconsistent claims on a scalar");
        if (rc) return rc;
    }
    return 0;
}

/* Committed tensors with rows of 2^C entries stacked into one (largest
 * first, each at a row offset aligned to its row count, so each is the
 * stack's slice with its leading row bits fixed; a short tensor's row is
 * zero-padded, i.e. its missing column bits are 0): every claim becomes a
 * claim on the stack, which is opened once against the concatenated row
 * commitments.  idx (n entries) is reordered. */
static int open_stack(zc_ctx *z, int *idx, int n, unsigned C)
{
    for (int a = 1; a < n; a++) /* by rows, descending; stable: both sides agree */
        for (int b = a; b > 0 && z->t[idx[b]].cm.rows > z->t[idx[b - 1]].cm.rows; b--) {
            int tmp = idx[b];
            idx[b] = idx[b - 1], idx[b - 1] = tmp;
        }
    size_t off[ZC_MAX_TENSORS], used = 0;
    for (int k = 0; k < n; k++) {
        size_t rows = z->t[idx[k]].cm.rows;
        off[k] = (used + rows - 1) / rows * rows;
        used = off[k] + rows;
    }
    unsigned r = veil_mle_log2(used);
    zc_tensor M;
    memset(&M, 0, sizeof M);
    M.nvars = r + C;
    M.kind = ZC_COMMITTED;
    M.cm = (veil_hyrax_commitment){M.nvars, (size_t)1 << r, (size_t)1 << C, malloc(sizeof(veil_ge) << r)};
    int rc = M.cm.c ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
    if (!rc && z->prover) {
        M.f = calloc((size_t)1 << M.nvars, sizeof(veil_fe));
        M.blinds = calloc((size_t)1 << r, sizeof(veil_fe));
        if (!M.f || !M.blinds) rc = veil_fail(VEIL_ENOMEM, "out of memory for the stacked opening");
    }
    for (size_t i = 0; !rc && i < M.cm.rows; i++)
        veil_ge_identity(&M.cm.c[i]);
    for (int k = 0; !rc && k < n; k++) {
        zc_tensor *t = &z->t[idx[k]];
        unsigned rv = veil_mle_log2(t->cm.rows), cv = t->nvars - rv;
        memcpy(M.cm.c + off[k], t->cm.c, sizeof(veil_ge) * t->cm.rows);
        if (z->prover) {
            memcpy(M.blinds + off[k], t->blinds, sizeof(veil_fe) * t->cm.rows);
            for (size_t i = 0; i < t->cm.rows; i++)
                memcpy(M.f + ((off[k] + i) << C), t->f + (i << cv), sizeof(veil_fe) << cv);
        }
        veil_fe pt[ZC_MAX_VARS + 16];
        size_t hi = off[k] >> rv; /* the slice's fixed row bits */
        for (unsigned b = 0; b < r - rv; b++) {
            if ((hi >> (r - rv - 1 - b)) & 1) veil_fe_one(&pt[b]);
            else veil_fe_zero(&pt[b]);
        }
        for (size_t j = 0; !rc && j < t->nclaims; j++) {
            const veil_fe *p = t->pts + j * t->nvars;
            memcpy(pt + (r - rv), p, sizeof(veil_fe) * rv);
            for (unsigned b = 0; b < C - cv; b++) /* a short row: its high columns are 0 */
                veil_fe_zero(&pt[r + b]);
            memcpy(pt + r + (C - cv), p + rv, sizeof(veil_fe) * cv);
            rc = add_claim(&M, pt, &t->vals[j]);
        }
    }
    veil_fe point[ZC_MAX_VARS + 16];
    zc_val value;
    veil_transcript_absorb_u64(&z->tr, "finish-stack", (uint64_t)n);
    if (!rc) rc = reduce_claims(z, &M, point, &value);
    if (!rc) rc = open_tensor(z, &M, point, &value);
    if (M.f) veil_wipe_free(M.f, sizeof(veil_fe) << M.nvars);
    if (M.blinds) veil_wipe_free(M.blinds, sizeof(veil_fe) << r);
    free(M.pts);
    if (M.vals) veil_wipe_free(M.vals, sizeof *M.vals * M.cap);
    veil_hyrax_commitment_free(&M.cm);
    return rc;
}

/* The proof's own tensors form one stack; commitments from outside
 * (registry, boundaries, KV cache) one stack per row width. */
static int open_all(zc_ctx *z)
{
    int idx[ZC_MAX_TENSORS], n = 0, rc = 0;
    for (int i = 0; i < z->nt; i++)
        if (z->t[i].kind == ZC_COMMITTED && !z->t[i].external && z->t[i].nclaims) idx[n++] = i;
    if (n) rc = open_stack(z, idx, n, cols_log(z));
    uint8_t done[ZC_MAX_TENSORS] = {0};
    for (int i = 0; !rc && i < z->nt; i++) {
        const zc_tensor *t = &z->t[i];
        if (t->kind != ZC_COMMITTED || !t->external || !t->nclaims || done[i]) continue;
        n = 0;
        for (int j = i; j < z->nt; j++) {
            const zc_tensor *u = &z->t[j];
            if (u->kind == ZC_COMMITTED && u->external && u->nclaims && u->cm.cols == t->cm.cols)
                idx[n++] = j, done[j] = 1;
        }
        rc = open_stack(z, idx, n, veil_mle_log2(t->cm.cols));
    }
    return rc;
}

int zc_finish(zc_ctx *z)
{
    int rc = flush_relations(z);
    if (!rc) rc = open_all(z);
    if (!rc) rc = zc_zero_finish(z);
    if (!rc && !z->prover && z->pos != z->len)
        return veil_fail(VEIL_EVERIFY, "%zu trailing bytes after the proof", z->len - z->pos);
    return rc;
}
