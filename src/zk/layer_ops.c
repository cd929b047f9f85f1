/* The shard circuit, operation by operation: allocation of each layer's
 * views, the prover's witness (the integer forward pass of qforward.c,
 * recomputed in the padded proof layout with every remainder kept) and the
 * relations that pin each value down.  Comments name the forward step. */
#include "layer_ops.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define H15 32768
#define Q16 65536

/* ---- allocation ---------------------------------------------------------- */

static zv al(zcirc *C, int pool, unsigned k)
{
    size_t a = (size_t)1 << k, off = (C->used[pool] + a - 1) & ~(a - 1);
    C->used[pool] = off + a;
    return (zv){pool, k, off};
}

/* Views at the same offset in several pools (lookup columns). */
static void al_cols(zcirc *C, int first, int n, unsigned k, zv *out)
{
    size_t m = 0;
    for (int i = 0; i < n; i++)
        if (C->used[first + i] > m) m = C->used[first + i];
    for (int i = 0; i < n; i++) {
        C->used[first + i] = m;
        out[i] = al(C, first + i, k);
    }
}

/* Bound a view by n 16-bit limbs (see zcirc.bnd). */
void zk_bound(zcirc *C, zv v, int n)
{
    if (C->nbnd == C->capbnd) {
        size_t cap = C->capbnd ? 2 * C->capbnd : 64;
        struct zbound *nb = realloc(C->bnd, cap * sizeof *nb);
        if (!nb) return; /* caught: the relations count is checked by the caller */
        C->bnd = nb;
        C->capbnd = cap;
    }
    struct zbound *b = &C->bnd[C->nbnd++];
    b->v = v;
    b->n = n;
    for (int j = 0; j < n; j++)
        b->limb[j] = al(C, P_R, v.k);
}

static void al_rms(zcirc *C, zrms *n)
{
    const zshape *s = C->s;
    unsigned t = s->tb, td = s->tb + s->db;
    n->ss = al(C, P_A, t);
    n->mean = al(C, P_A, t);
    n->r = al(C, P_A, t);
    n->y = al(C, P_A, td);
    n->xn = al(C, P_A, td);
    zv rs[2], kp[4];
    al_cols(C, P_RSM, 2, t, rs);
    al_cols(C, P_KK, 4, t, kp);
    n->m = rs[0], n->rs = rs[1];
    n->kk = kp[0], n->kp = kp[1], n->kq = kp[2], n->kh = kp[3];
    n->dr = al(C, P_R, t);
    n->dru = al(C, P_R, t);
    for (int j = 0; j < 4; j++) {
        n->rest[j] = al(C, P_R, t);
        n->restu[j] = al(C, P_R, t);
    }
    for (int j = 0; j < 2; j++) {
        n->remr[j] = al(C, P_R, t);
        n->remru[j] = al(C, P_R, t);
    }
    n->remy = al(C, P_R, td);
    n->remxn = al(C, P_R, td);
    zk_bound(C, n->mean, 4);
    zk_bound(C, n->r, 2);
    zk_bound(C, n->y, 2);
    zk_bound(C, n->xn, 2);
}

static zmm al_mm(zcirc *C, unsigned k)
{
    zmm m = {al(C, P_A, k), al(C, P_R, k)};
    zk_bound(C, m.out, 2);
    return m;
}

void zk_alloc_layer(zcirc *C, zlayer *L, int li, zv x_in, int last, zv x_out)
{
    const zshape *s = C->s;
    unsigned td = s->tb + s->db, tq = s->tb + s->qb, tk = s->tb + s->kb, th = s->tb + s->hb;
    unsigned u = s->tb + s->kvb + s->gb, ut = u + s->cb;
    size_t chunk = (size_t)s->pos << s->kb;
    L->x = x_in;
    L->kc = (zv){P_KC0 + li, s->cb + s->kb, 0};
    L->vc = (zv){P_VC0 + li, s->cb + s->kb, 0};
    al_rms(C, &L->n1);
    L->q = al_mm(C, tq);
    L->k = al_mm(C, tk);
    L->v = (zmm){{P_VC0 + li, tk, chunk}, al(C, P_R, tk)};
    zk_bound(C, L->v.out, 2);
    L->qr = al(C, P_A, tq);
    L->remq = al(C, P_R, tq);
    L->kr = (zv){P_KC0 + li, tk, chunk};
    L->remk = al(C, P_R, tk);
    L->s0 = al(C, P_A, ut);
    L->rems0 = al(C, P_R, ut);
    L->sc = al(C, P_A, ut);
    L->remsc = al(C, P_R, ut);
    L->mx = al(C, P_A, u);
    L->sum = al(C, P_A, u);
    L->d2 = al(C, P_A, ut);
    L->dz = al(C, P_R, ut);
    L->zf = al(C, P_A, ut);
    L->sel = al(C, P_A, ut);
    L->e = al(C, P_A, ut);
    L->reme = al(C, P_R, ut);
    L->pp = al(C, P_A, ut);
    zv e[2];
    al_cols(C, P_E0I, 2, ut, e);
    L->e0i = e[0], L->e0v = e[1];
    al_cols(C, P_E1I, 2, ut, e);
    L->e1i = e[0], L->e1v = e[1];
    for (int j = 0; j < 2; j++) {
        L->remp[j] = al(C, P_R, ut);
        L->rempu[j] = al(C, P_R, ut);
    }
    L->o = al(C, P_A, tq);
    L->remo = al(C, P_R, tq);
    L->wo = al_mm(C, td);
    L->xm = al(C, P_A, td);
    al_rms(C, &L->n2);
    L->w1 = al_mm(C, th);
    L->w3 = al_mm(C, th);
    L->idx = al(C, P_A, th);
    L->remi = al(C, P_R, th);
    L->ovp = al(C, P_A, th);
    L->ovn = al(C, P_A, th);
    for (int j = 0; j < 2; j++) {
        L->ovpl[j] = al(C, P_R, th);
        L->ovnl[j] = al(C, P_R, th);
    }
    al_cols(C, P_SGI, 2, th, e);
    L->sgi = e[0], L->sgv = e[1];
    L->sl = al(C, P_A, th);
    L->remsl = al(C, P_R, th);
    L->g = al(C, P_A, th);
    L->remg = al(C, P_R, th);
    L->w2 = al_mm(C, td);
    L->xo = last ? x_out : al(C, P_A, td);
    zv rescaled[] = {L->qr, L->kr, L->s0, L->sc, L->e, L->pp, L->o, L->idx, L->sl, L->g};
    for (size_t i = 0; i < sizeof rescaled / sizeof rescaled[0]; i++)
        zk_bound(C, rescaled[i], 2);
}

/* ---- witness --------------------------------------------------------------- */

static int64_t *W(zcirc *C, zv v, size_t i)
{
    return v.pool >= P_W0 ? &C->wval[v.pool - P_W0][v.off + i] : zk_at(C, v, i);
}

#define AT(v, i) (*W(C, (v), (i)))

/* out = rshift16(a), rem = a + 2^15 - 2^16 out. */
static void rs16(zcirc *C, zv out, zv rem, size_t i, int64_t a)
{
    int64_t y = veil_q_rshift(a, VEIL_Q_FRAC);
    AT(out, i) = y;
    AT(rem, i) = a + H15 - y * Q16;
}

static void limbs(zcirc *C, const zv *l, int n, size_t i, int64_t v)
{
    for (int j = 0; j < n; j++, v >>= 16)
        AT(l[j], i) = v & 0xFFFF;
}

static void wit_rms(zcirc *C, const zrms *n, zv x, zv g)
{
    const zshape *s = C->s;
    const veil_qtables *tb = veil_qtables_get();
    size_t D = (size_t)1 << s->db;
    int dim = s->c.dim;
    for (size_t t = 0; t < ((size_t)1 << s->tb); t++) {
        int64_t ss = 0;
        for (size_t d = 0; d < D; d++)
            ss += AT(x, t * D + d) * AT(x, t * D + d);
        int64_t mean = ss / dim, v = mean + VEIL_Q_EPS_Q32;
        int k = 0;
        while ((v >> (2 * k)) >= 4 * VEIL_Q_RSQRT_LO)
            k++;
        int64_t m = v >> (2 * k), P = (int64_t)1 << (2 * k), Qk = (int64_t)1 << k;
        int64_t hk = k ? Qk / 2 : 0, R = tb->rsqrt[m - VEIL_Q_RSQRT_LO];
        int64_t r = (4 * R + hk) >> k, remr = 4 * R + hk - r * Qk;
        AT(n->ss, t) = ss;
        AT(n->mean, t) = mean;
        AT(n->dr, t) = ss - mean * dim;
        AT(n->dru, t) = dim - 1 - (ss - mean * dim);
        AT(n->m, t) = m;
        AT(n->rs, t) = R;
        AT(n->kk, t) = k;
        AT(n->kp, t) = P;
        AT(n->kq, t) = Qk;
        AT(n->kh, t) = hk;
        AT(n->r, t) = r;
        limbs(C, n->rest, 4, t, v - m * P);
        limbs(C, n->restu, 4, t, P - 1 - (v - m * P));
        limbs(C, n->remr, 2, t, remr);
        limbs(C, n->remru, 2, t, Qk - 1 - remr);
        for (size_t d = 0; d < D; d++) {
            rs16(C, n->y, n->remy, t * D + d, AT(x, t * D + d) * r);
            rs16(C, n->xn, n->remxn, t * D + d, AT(n->y, t * D + d) * AT(g, d));
        }
    }
}

/* out[t, o] = rshift16(sum_j x[t, j] w[o, j]) */
static void wit_mm(zcirc *C, const zmm *m, zv x, zv w, unsigned ob, unsigned nb)
{
    size_t T = (size_t)1 << C->s->tb, O = (size_t)1 << ob, N = (size_t)1 << nb;
    for (size_t t = 0; t < T; t++)
        for (size_t o = 0; o < O; o++) {
            int64_t acc = 0;
            for (size_t j = 0; j < N; j++)
                acc += AT(x, t * N + j) * AT(w, o * N + j);
            rs16(C, m->out, m->rem, t * O + o, acc);
        }
}

/* RoPE over rows [t][heads][head dims], pairs (2j, 2j+1) of each head. */
static void wit_rope(zcirc *C, zv in, zv out, zv rem, unsigned rb, const int32_t *cs,
                     const int32_t *sn)
{
    const zshape *s = C->s;
    size_t T = (size_t)1 << s->tb, R = (size_t)1 << rb, HS = (size_t)1 << s->sb;
    int half = s->hs / 2;
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < R; i += 2) {
            size_t j = (i % HS) / 2, b = t * R + i;
            int64_t c = j < (size_t)half ? cs[t * half + j] : 0;
            int64_t sv = j < (size_t)half ? sn[t * half + j] : 0;
            int64_t a0 = AT(in, b), a1 = AT(in, b + 1);
            rs16(C, out, rem, b, a0 * c - a1 * sv);
            rs16(C, out, rem, b + 1, a0 * sv + a1 * c);
        }
}

/* Scores over the cache, max-shifted exp by digits, normalization,
 * weighted values.  Query t (position pos + t) sees cache rows tau <= pos + t. */
static void wit_attention(zcirc *C, const zlayer *L, int32_t attn_scale)
{
    const zshape *s = C->s;
    const veil_qtables *tb = veil_qtables_get();
    size_t T = (size_t)1 << s->tb, S = (size_t)1 << s->cb, HS = (size_t)1 << s->sb;
    size_t NU = T << (s->kvb + s->gb), KV = (size_t)1 << s->kb;
    for (size_t u = 0; u < NU; u++) {
        size_t t = u >> (s->kvb + s->gb), kvh = (u >> s->gb) & (((size_t)1 << s->kvb) - 1);
        size_t qrow = u * HS, seen = (size_t)s->pos + t; /* (t, kvh, g) rows of qr are contiguous */
        int64_t mx = INT64_MIN;
        size_t arg = 0;
        for (size_t tau = 0; tau < S; tau++) {
            size_t b = u * S + tau;
            int64_t acc = 0;
            for (size_t i = 0; i < HS; i++)
                acc += AT(L->qr, qrow + i) * AT(L->kc, tau * KV + kvh * HS + i);
            rs16(C, L->s0, L->rems0, b, acc);
            rs16(C, L->sc, L->remsc, b, AT(L->s0, b) * attn_scale);
            if (tau <= seen && AT(L->sc, b) > mx) mx = AT(L->sc, b), arg = tau;
        }
        int64_t sum = 0;
        for (size_t tau = 0; tau < S; tau++) {
            size_t b = u * S + tau;
            int64_t d = mx - AT(L->sc, b), d0 = 0, d1 = 0, d2 = 1, z = 0, ex = 0;
            if (tau <= seen) {
                d0 = d & 1023, d1 = (d >> 10) & 1023, d2 = d >> 20, z = d2 == 0;
                ex = z ? (int64_t)tb->exp_digit[0][d0] * tb->exp_digit[1][d1] : 0;
            }
            AT(L->e0i, b) = d0;
            AT(L->e0v, b) = tb->exp_digit[0][d0];
            AT(L->e1i, b) = d1;
            AT(L->e1v, b) = tb->exp_digit[1][d1];
            AT(L->d2, b) = d2;
            AT(L->zf, b) = z;
            AT(L->dz, b) = d2 - 1 + z;
            AT(L->sel, b) = tau == arg;
            rs16(C, L->e, L->reme, b, ex);
            sum += AT(L->e, b);
        }
        AT(L->mx, u) = mx;
        AT(L->sum, u) = sum;
        for (size_t tau = 0; tau < S; tau++) {
            size_t b = u * S + tau;
            int64_t num = (AT(L->e, b) << 17) + sum, p = num / (2 * sum), rem = num - 2 * sum * p;
            AT(L->pp, b) = p;
            limbs(C, L->remp, 2, b, rem);
            limbs(C, L->rempu, 2, b, 2 * sum - 1 - rem);
        }
        for (size_t i = 0; i < HS; i++) {
            int64_t acc = 0;
            for (size_t tau = 0; tau < S; tau++)
                acc += AT(L->pp, u * S + tau) * AT(L->vc, tau * KV + kvh * HS + i);
            rs16(C, L->o, L->remo, qrow + i, acc);
        }
    }
}

static void wit_swiglu(zcirc *C, const zlayer *L)
{
    const veil_qtables *tb = veil_qtables_get();
    size_t n = (size_t)1 << (C->s->tb + C->s->hb);
    for (size_t i = 0; i < n; i++) {
        int64_t h1 = AT(L->w1.out, i), idx = veil_q_rshift(h1, VEIL_Q_SIG_SHIFT);
        int64_t cl = idx < -VEIL_Q_SIG_HALF ? -VEIL_Q_SIG_HALF
                     : idx >= VEIL_Q_SIG_HALF ? VEIL_Q_SIG_HALF - 1 : idx;
        AT(L->idx, i) = idx;
        AT(L->remi, i) = 4096 * (h1 + 8 - 16 * idx);
        AT(L->ovp, i) = idx > cl ? idx - cl : 0;
        AT(L->ovn, i) = idx < cl ? cl - idx : 0;
        limbs(C, L->ovpl, 2, i, AT(L->ovp, i));
        limbs(C, L->ovnl, 2, i, AT(L->ovn, i));
        AT(L->sgi, i) = cl + VEIL_Q_SIG_HALF;
        AT(L->sgv, i) = tb->sigmoid[cl + VEIL_Q_SIG_HALF];
        rs16(C, L->sl, L->remsl, i, h1 * AT(L->sgv, i));
        rs16(C, L->g, L->remg, i, AT(L->sl, i) * AT(L->w3.out, i));
    }
}

static void wit_add(zcirc *C, zv out, zv a, zv b, unsigned k)
{
    for (size_t i = 0; i < ((size_t)1 << k); i++)
        AT(out, i) = AT(a, i) + AT(b, i);
}

int zk_witness_layer(zcirc *C, const zlayer *L, const zwlayout *w, const int32_t *cs,
                       const int32_t *sn, int32_t attn_scale)
{
    const zshape *s = C->s;
    unsigned td = s->tb + s->db;
    wit_rms(C, &L->n1, L->x, w->ga);
    wit_mm(C, &L->q, L->n1.xn, w->wq, s->qb, s->db);
    wit_mm(C, &L->k, L->n1.xn, w->wk, s->kb, s->db);
    wit_mm(C, &L->v, L->n1.xn, w->wv, s->kb, s->db);
    wit_rope(C, L->q.out, L->qr, L->remq, s->qb, cs, sn);
    wit_rope(C, L->k.out, L->kr, L->remk, s->kb, cs, sn);
    wit_attention(C, L, attn_scale);
    wit_mm(C, &L->wo, L->o, w->wo, s->db, s->qb);
    wit_add(C, L->xm, L->x, L->wo.out, td);
    wit_rms(C, &L->n2, L->xm, w->gf);
    wit_mm(C, &L->w1, L->n2.xn, w->w1, s->hb, s->db);
    wit_mm(C, &L->w3, L->n2.xn, w->w3, s->hb, s->db);
    wit_swiglu(C, L);
    wit_mm(C, &L->w2, L->g, w->w2, s->db, s->hb);
    wit_add(C, L->xo, L->xm, L->w2.out, td);
    if (L->xo.pool == P_XOUT) /* padding rows of the output boundary are 0 */
        for (size_t i = (size_t)s->T << s->db; i < ((size_t)1 << td); i++)
            AT(L->xo, i) = 0;
    return 0;
}

/* ---- relations ------------------------------------------------------------- */

static void seqv(uint8_t *d, unsigned first, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        d[i] = (uint8_t)(first + i);
}

/* Add c * view, its coordinates mapped to the relation variables vars. */
static void V(zcirc *C, zc_lin *l, zv v, int64_t c, const uint8_t *vars)
{
    uint8_t map[ZC_MAX_VARS];
    unsigned n = C->nv[v.pool], pre = n - v.k;
    size_t hi = v.off >> v.k;
    for (unsigned i = 0; i < pre; i++)
        map[i] = (hi >> (pre - 1 - i)) & 1 ? ZC_C1 : ZC_C0;
    memcpy(map + pre, vars, v.k);
    zc_lin_add(l, C->tid[v.pool], c, map, n);
}

static void K(zc_lin *l, int64_t c)
{
    veil_fe t;
    zc_fe_i64(&t, c);
    veil_fe_add(&l->cst, &l->cst, &t);
}

static void rinit(zc_rel *R, unsigned nA, unsigned nC)
{
    memset(R, 0, sizeof *R);
    R->nA = nA;
    R->nC = nC;
}

/* Start a product term; its factors are OP(R, 0..nops-1). */
static void P(zc_rel *R, int64_t coef, int nops)
{
    zc_prod *p = &R->prod[R->nprod++];
    zc_fe_i64(&p->coef, coef);
    p->nops = nops;
}
#define OP(R, k) (&(R)->prod[(R)->nprod - 1].op[k])

/* lhs = 2^16 out + rem - 2^15: the rescale of whatever the products sum to. */
static void L16(zcirc *C, zc_lin *l, zv out, zv rem, const uint8_t *vars)
{
    V(C, l, out, Q16, vars);
    V(C, l, rem, 1, vars);
    K(l, -H15);
}

/* Sum of limbs: value = sum_j 2^(16 j) l_j. */
static void LIMBS(zcirc *C, zc_lin *l, const zv *lv, int n, int64_t sign, const uint8_t *vars)
{
    for (int j = 0; j < n; j++)
        V(C, l, lv[j], sign * ((int64_t)1 << (16 * j)), vars);
}

#define RUN(R)                                  \
    do {                                        \
        int rc_ = zc_relation(C->z, (R));       \
        if (rc_) return rc_;                    \
    } while (0)

#define TRY(x)                  \
    do {                        \
        int rc_ = (x);          \
        if (rc_) return rc_;    \
    } while (0)

/* rem < c b, as remu = c b - 1 - rem with the n limbs of remu range-checked
 * like those of rem (the remainder bound behind every exact division). */
static int rel_below(zcirc *C, unsigned nA, const zv *remu, const zv *rem, int n,
                     const uint8_t *vr, zv b, int64_t c, const uint8_t *vb)
{
    zc_rel R;
    rinit(&R, nA, 0);
    LIMBS(C, &R.lhs, remu, n, 1, vr);
    P(&R, 1, 1);
    V(C, OP(&R, 0), b, c, vb);
    K(OP(&R, 0), -1);
    LIMBS(C, OP(&R, 0), rem, n, -1, vr);
    RUN(&R);
    return 0;
}

static int rel_rms(zcirc *C, const zrms *n, zv x, zv g)
{
    const zshape *s = C->s;
    unsigned tb = s->tb, db = s->db;
    int dim = s->c.dim;
    uint8_t vt[ZC_MAX_VARS], vtd[ZC_MAX_VARS];
    seqv(vt, 0, tb);
    seqv(vtd, 0, tb + db);
    zc_rel R;
    rinit(&R, tb, db); /* ss = sum x^2 */
    V(C, &R.lhs, n->ss, 1, vt);
    P(&R, 1, 2);
    V(C, OP(&R, 0), x, 1, vtd);
    V(C, OP(&R, 1), x, 1, vtd);
    RUN(&R);
    rinit(&R, tb, 0); /* ss = dim mean + dr */
    V(C, &R.lhs, n->ss, 1, vt);
    P(&R, 1, 1);
    V(C, OP(&R, 0), n->mean, dim, vt);
    V(C, OP(&R, 0), n->dr, 1, vt);
    RUN(&R);
    rinit(&R, tb, 0); /* dr < dim */
    V(C, &R.lhs, n->dru, 1, vt);
    P(&R, 1, 1);
    K(OP(&R, 0), dim - 1);
    V(C, OP(&R, 0), n->dr, -1, vt);
    RUN(&R);
    rinit(&R, tb, 0); /* mean + eps = m 4^k + rest */
    V(C, &R.lhs, n->mean, 1, vt);
    K(&R.lhs, VEIL_Q_EPS_Q32);
    LIMBS(C, &R.lhs, n->rest, 4, -1, vt);
    P(&R, 1, 2);
    V(C, OP(&R, 0), n->m, 1, vt);
    V(C, OP(&R, 1), n->kp, 1, vt);
    RUN(&R);
    TRY(rel_below(C, tb, n->restu, n->rest, 4, vt, n->kp, 1, vt)); /* rest < 4^k */
    rinit(&R, tb, 0); /* r 2^k + remr = 4 R + h_k */
    V(C, &R.lhs, n->rs, 4, vt);
    V(C, &R.lhs, n->kh, 1, vt);
    LIMBS(C, &R.lhs, n->remr, 2, -1, vt);
    P(&R, 1, 2);
    V(C, OP(&R, 0), n->r, 1, vt);
    V(C, OP(&R, 1), n->kq, 1, vt);
    RUN(&R);
    TRY(rel_below(C, tb, n->remru, n->remr, 2, vt, n->kq, 1, vt)); /* remr < 2^k */
    rinit(&R, tb + db, 0); /* y = rescale(x r) */
    L16(C, &R.lhs, n->y, n->remy, vtd);
    P(&R, 1, 2);
    V(C, OP(&R, 0), x, 1, vtd);
    V(C, OP(&R, 1), n->r, 1, vt);
    RUN(&R);
    rinit(&R, tb + db, 0); /* xn = rescale(y g) */
    L16(C, &R.lhs, n->xn, n->remxn, vtd);
    P(&R, 1, 2);
    V(C, OP(&R, 0), n->y, 1, vtd);
    V(C, OP(&R, 1), g, 1, vtd + tb);
    RUN(&R);
    return 0;
}

/* out[t, o] = rescale(sum_j x[t, j] w[o, j]) */
static int rel_mm(zcirc *C, const zmm *m, zv x, zv w, unsigned ob, unsigned nb)
{
    unsigned tb = C->s->tb;
    uint8_t vo[ZC_MAX_VARS], vx[ZC_MAX_VARS], vw[ZC_MAX_VARS];
    seqv(vo, 0, tb + ob);
    seqv(vx, 0, tb);
    seqv(vx + tb, tb + ob, nb);
    seqv(vw, tb, ob);
    seqv(vw + ob, tb + ob, nb);
    zc_rel R;
    rinit(&R, tb + ob, nb);
    L16(C, &R.lhs, m->out, m->rem, vo);
    P(&R, 1, 2);
    V(C, OP(&R, 0), x, 1, vx);
    V(C, OP(&R, 1), w, 1, vw);
    RUN(&R);
    return 0;
}

/* RoPE on rows [t][rb bits]: the pair (2j, 2j+1) of each head rotated by
 * the public cos/sin of (t, j). */
static int rel_rope(zcirc *C, zv in, zv out, zv rem, unsigned rb)
{
    const zshape *s = C->s;
    unsigned tb = s->tb, nA = tb + rb - 1, jb = s->sb - 1;
    uint8_t v0[ZC_MAX_VARS], v1[ZC_MAX_VARS], vcs[ZC_MAX_VARS];
    seqv(v0, 0, nA);
    seqv(v1, 0, nA);
    v0[nA] = ZC_C0;
    v1[nA] = ZC_C1;
    seqv(vcs, 0, tb);
    seqv(vcs + tb, nA - jb, jb);
    zv cs = {P_COS, tb + jb, 0}, sn = {P_SIN, tb + jb, 0};
    zc_rel R;
    rinit(&R, nA, 0); /* even: a0 c - a1 s */
    L16(C, &R.lhs, out, rem, v0);
    P(&R, 1, 2);
    V(C, OP(&R, 0), in, 1, v0);
    V(C, OP(&R, 1), cs, 1, vcs);
    P(&R, -1, 2);
    V(C, OP(&R, 0), in, 1, v1);
    V(C, OP(&R, 1), sn, 1, vcs);
    RUN(&R);
    rinit(&R, nA, 0); /* odd: a0 s + a1 c */
    L16(C, &R.lhs, out, rem, v1);
    P(&R, 1, 2);
    V(C, OP(&R, 0), in, 1, v0);
    V(C, OP(&R, 1), sn, 1, vcs);
    P(&R, 1, 2);
    V(C, OP(&R, 0), in, 1, v1);
    V(C, OP(&R, 1), cs, 1, vcs);
    RUN(&R);
    return 0;
}

/* Scores: s0[t,kvh,g,tau] = rescale(qr[t,kvh,g,.] . kr[tau,kvh,.]), then the
 * 1/sqrt(head_size) scale. */
static int rel_scores(zcirc *C, const zlayer *L, int32_t attn_scale)
{
    const zshape *s = C->s;
    unsigned tb = s->tb, cb = s->cb, u = tb + s->kvb + s->gb, ut = u + cb;
    uint8_t va[ZC_MAX_VARS], vq[ZC_MAX_VARS], vk[ZC_MAX_VARS];
    seqv(va, 0, ut);
    seqv(vq, 0, u);
    seqv(vq + u, ut, s->sb);
    seqv(vk, u, cb);
    seqv(vk + cb, tb, s->kvb);
    seqv(vk + cb + s->kvb, ut, s->sb);
    zc_rel R;
    rinit(&R, ut, s->sb);
    L16(C, &R.lhs, L->s0, L->rems0, va);
    P(&R, 1, 2);
    V(C, OP(&R, 0), L->qr, 1, vq);
    V(C, OP(&R, 1), L->kc, 1, vk);
    RUN(&R);
    rinit(&R, ut, 0);
    L16(C, &R.lhs, L->sc, L->remsc, va);
    P(&R, attn_scale, 1);
    V(C, OP(&R, 0), L->s0, 1, va);
    RUN(&R);
    return 0;
}

/* lhs = 0; a (linear) * b (linear) with one factor given by views. */
static int rel_zero2(zcirc *C, unsigned nA, zv a, const uint8_t *va, zv b, int64_t bc,
                     int64_t bk, const uint8_t *vb)
{
    zc_rel R;
    rinit(&R, nA, 0);
    P(&R, 1, 2);
    V(C, OP(&R, 0), a, 1, va);
    V(C, OP(&R, 1), b, bc, vb);
    K(OP(&R, 1), bk);
    RUN(&R);
    return 0;
}

/* Causal softmax with max-shift and exp digits (zkAttn), then p. */
static int rel_softmax(zcirc *C, const zlayer *L)
{
    const zshape *s = C->s;
    unsigned tb = s->tb, cb = s->cb, u = tb + s->kvb + s->gb, ut = u + cb;
    uint8_t va[ZC_MAX_VARS], vu[ZC_MAX_VARS], vv[ZC_MAX_VARS];
    seqv(va, 0, ut);
    seqv(vu, 0, u);
    seqv(vv, 0, tb);
    seqv(vv + tb, u, cb);
    zv valid = {P_VALID, tb + cb, 0};
    zc_rel R;
    rinit(&R, ut, 0); /* valid: mx - sc = d0 + 2^10 d1 + 2^20 d2 */
    P(&R, 1, 2);
    V(C, OP(&R, 0), valid, 1, vv);
    V(C, OP(&R, 1), L->mx, 1, vu);
    V(C, OP(&R, 1), L->sc, -1, va);
    V(C, OP(&R, 1), L->e0i, -1, va);
    V(C, OP(&R, 1), L->e1i, -1024, va);
    V(C, OP(&R, 1), L->d2, -(1 << 20), va);
    RUN(&R);
    rinit(&R, ut, 0); /* dz = d2 - 1 + z >= 0: z = 0 forces d2 >= 1 */
    V(C, &R.lhs, L->dz, 1, va);
    P(&R, 1, 1);
    V(C, OP(&R, 0), L->d2, 1, va);
    V(C, OP(&R, 0), L->zf, 1, va);
    K(OP(&R, 0), -1);
    RUN(&R);
    TRY(rel_zero2(C, ut, L->zf, va, L->zf, 1, -1, va)); /* z boolean */
    TRY(rel_zero2(C, ut, L->zf, va, L->d2, 1, 0, va));  /* z = 1 only if d2 = 0 */
    TRY(rel_zero2(C, ut, L->zf, va, valid, -1, 1, vv)); /* z = 0 where masked */
    rinit(&R, ut, 0); /* e = rescale(z E0[d0] E1[d1]) */
    L16(C, &R.lhs, L->e, L->reme, va);
    P(&R, 1, 3);
    V(C, OP(&R, 0), L->zf, 1, va);
    V(C, OP(&R, 1), L->e0v, 1, va);
    V(C, OP(&R, 2), L->e1v, 1, va);
    RUN(&R);
    rinit(&R, u, cb); /* sum = sum_tau e */
    V(C, &R.lhs, L->sum, 1, vu);
    P(&R, 1, 1);
    V(C, OP(&R, 0), L->e, 1, va);
    RUN(&R);
    rinit(&R, ut, 0); /* 2^17 e + sum = 2 sum p + rem */
    V(C, &R.lhs, L->e, 1 << 17, va);
    V(C, &R.lhs, L->sum, 1, vu);
    LIMBS(C, &R.lhs, L->remp, 2, -1, va);
    P(&R, 2, 2);
    V(C, OP(&R, 0), L->sum, 1, vu);
    V(C, OP(&R, 1), L->pp, 1, va);
    RUN(&R);
    TRY(rel_below(C, ut, L->rempu, L->remp, 2, va, L->sum, 2, vu)); /* rem < 2 sum */
    /* the max: sel is one-hot on valid entries and selects d = 0 */
    TRY(rel_zero2(C, ut, L->sel, va, L->sel, 1, -1, va));
    TRY(rel_zero2(C, ut, L->sel, va, valid, -1, 1, vv));
    rinit(&R, u, cb);
    K(&R.lhs, 1);
    P(&R, 1, 1);
    V(C, OP(&R, 0), L->sel, 1, va);
    RUN(&R);
    rinit(&R, u, cb);
    P(&R, 1, 2);
    V(C, OP(&R, 0), L->sel, 1, va);
    V(C, OP(&R, 1), L->mx, 1, vu);
    V(C, OP(&R, 1), L->sc, -1, va);
    RUN(&R);
    return 0;
}

/* o[t,kvh,g,i] = rescale(sum_tau p[t,kvh,g,tau] v[tau,kvh,i]) */
static int rel_attn_out(zcirc *C, const zlayer *L)
{
    const zshape *s = C->s;
    unsigned tb = s->tb, cb = s->cb, u = tb + s->kvb + s->gb, tq = u + s->sb;
    uint8_t vo[ZC_MAX_VARS], vp[ZC_MAX_VARS], vv[ZC_MAX_VARS];
    seqv(vo, 0, tq);
    seqv(vp, 0, u);
    seqv(vp + u, tq, cb);
    seqv(vv, tq, cb);
    seqv(vv + cb, tb, s->kvb);
    seqv(vv + cb + s->kvb, u, s->sb);
    zc_rel R;
    rinit(&R, tq, cb);
    L16(C, &R.lhs, L->o, L->remo, vo);
    P(&R, 1, 2);
    V(C, OP(&R, 0), L->pp, 1, vp);
    V(C, OP(&R, 1), L->vc, 1, vv);
    RUN(&R);
    return 0;
}

static int rel_add(zcirc *C, zv out, zv a, zv b, unsigned k)
{
    uint8_t v[ZC_MAX_VARS];
    seqv(v, 0, k);
    zc_rel R;
    rinit(&R, k, 0);
    V(C, &R.lhs, out, 1, v);
    P(&R, 1, 1);
    V(C, OP(&R, 0), a, 1, v);
    V(C, OP(&R, 0), b, 1, v);
    RUN(&R);
    return 0;
}

/* SwiGLU: index = rshift4(h1) clamped into the sigmoid table, then
 * g = rescale(rescale(h1 sigmoid) h3). */
static int rel_swiglu(zcirc *C, const zlayer *L)
{
    unsigned th = C->s->tb + C->s->hb;
    uint8_t v[ZC_MAX_VARS];
    seqv(v, 0, th);
    zc_rel R;
    rinit(&R, th, 0); /* 16 idx + rem - 8 = h1, scaled by 4096 (rem stored as 4096 rem) */
    V(C, &R.lhs, L->idx, Q16, v);
    V(C, &R.lhs, L->remi, 1, v);
    K(&R.lhs, -H15);
    P(&R, 4096, 1);
    V(C, OP(&R, 0), L->w1.out, 1, v);
    RUN(&R);
    rinit(&R, th, 0); /* idx = clamped + ovp - ovn */
    V(C, &R.lhs, L->idx, 1, v);
    P(&R, 1, 1);
    V(C, OP(&R, 0), L->sgi, 1, v);
    K(OP(&R, 0), -VEIL_Q_SIG_HALF);
    V(C, OP(&R, 0), L->ovp, 1, v);
    V(C, OP(&R, 0), L->ovn, -1, v);
    RUN(&R);
    TRY(rel_zero2(C, th, L->ovp, v, L->ovn, 1, 0, v));
    TRY(rel_zero2(C, th, L->ovp, v, L->sgi, 1, -(VEIL_Q_SIG_SIZE - 1), v));
    TRY(rel_zero2(C, th, L->ovn, v, L->sgi, 1, 0, v));
    for (int side = 0; side < 2; side++) { /* ovp, ovn >= 0 by 16-bit limbs */
        rinit(&R, th, 0);
        V(C, &R.lhs, side ? L->ovn : L->ovp, 1, v);
        P(&R, 1, 1);
        LIMBS(C, OP(&R, 0), side ? L->ovnl : L->ovpl, 2, 1, v);
        RUN(&R);
    }
    rinit(&R, th, 0);
    L16(C, &R.lhs, L->sl, L->remsl, v);
    P(&R, 1, 2);
    V(C, OP(&R, 0), L->w1.out, 1, v);
    V(C, OP(&R, 1), L->sgv, 1, v);
    RUN(&R);
    rinit(&R, th, 0);
    L16(C, &R.lhs, L->g, L->remg, v);
    P(&R, 1, 2);
    V(C, OP(&R, 0), L->sl, 1, v);
    V(C, OP(&R, 1), L->w3.out, 1, v);
    RUN(&R);
    return 0;
}

int zk_relations_layer(zcirc *C, const zlayer *L, const zwlayout *w, int32_t attn_scale)
{
    const zshape *s = C->s;
    unsigned td = s->tb + s->db;
    TRY(rel_rms(C, &L->n1, L->x, w->ga));
    TRY(rel_mm(C, &L->q, L->n1.xn, w->wq, s->qb, s->db));
    TRY(rel_mm(C, &L->k, L->n1.xn, w->wk, s->kb, s->db));
    TRY(rel_mm(C, &L->v, L->n1.xn, w->wv, s->kb, s->db));
    TRY(rel_rope(C, L->q.out, L->qr, L->remq, s->qb));
    TRY(rel_rope(C, L->k.out, L->kr, L->remk, s->kb));
    TRY(rel_scores(C, L, attn_scale));
    TRY(rel_softmax(C, L));
    TRY(rel_attn_out(C, L));
    TRY(rel_mm(C, &L->wo, L->o, w->wo, s->db, s->qb));
    TRY(rel_add(C, L->xm, L->x, L->wo.out, td));
    TRY(rel_rms(C, &L->n2, L->xm, w->gf));
    TRY(rel_mm(C, &L->w1, L->n2.xn, w->w1, s->hb, s->db));
    TRY(rel_mm(C, &L->w3, L->n2.xn, w->w3, s->hb, s->db));
    TRY(rel_swiglu(C, L));
    TRY(rel_mm(C, &L->w2, L->g, w->w2, s->db, s->hb));
    if (L->xo.pool != P_XOUT) return rel_add(C, L->xo, L->xm, L->w2.out, td);
    /* the shard's output keeps the T real rows only (padding rows are 0) */
    uint8_t v[ZC_MAX_VARS];
    seqv(v, 0, td);
    zv mask = {P_ROWMASK, s->tb, 0};
    zc_rel R;
    rinit(&R, td, 0);
    V(C, &R.lhs, L->xo, 1, v);
    P(&R, 1, 2);
    V(C, OP(&R, 0), mask, 1, v);
    V(C, OP(&R, 1), L->xm, 1, v);
    V(C, OP(&R, 1), L->w2.out, 1, v);
    RUN(&R);
    return 0;
}

/* ---- bounds ---------------------------------------------------------------- */

/* Signed values get the offset 2^(16n-1); four limbs hold a value in
 * [0, 2^64) without offset (the per-row means, which are >= 0). */
static int64_t bound_offset(int n) { return n < 4 ? (int64_t)1 << (16 * n - 1) : 0; }

void zk_witness_bounds(zcirc *C)
{
    for (size_t i = 0; i < C->nbnd; i++) {
        const struct zbound *b = &C->bnd[i];
        for (size_t e = 0; e < ((size_t)1 << b->v.k); e++) {
            uint64_t u = (uint64_t)AT(b->v, e) + (uint64_t)bound_offset(b->n);
            for (int j = 0; j < b->n; j++, u >>= 16)
                /* the top limb keeps any excess: then it is outside the range
                 * table and the prover stops instead of proving a false bound */
                AT(b->limb[j], e) = j == b->n - 1 ? (int64_t)(u & 0x7FFFFFFFFFFFull)
                                                  : (int64_t)(u & 0xFFFF);
        }
    }
}

int zk_relations_bounds(zcirc *C)
{
    uint8_t v[ZC_MAX_VARS];
    for (size_t i = 0; i < C->nbnd; i++) {
        const struct zbound *b = &C->bnd[i];
        seqv(v, 0, b->v.k);
        zc_rel R;
        rinit(&R, b->v.k, 0);
        V(C, &R.lhs, b->v, 1, v);
        K(&R.lhs, bound_offset(b->n));
        P(&R, 1, 1);
        LIMBS(C, OP(&R, 0), b->limb, b->n, 1, v);
        RUN(&R);
    }
    return 0;
}

/* ---- lookups ------------------------------------------------------------- */

/* Public table columns as field elements, built once. */
static struct {
    veil_fe *sig, *e0, *e1, *rsm, *rsv, *kcol[4];
} g_tab;
static pthread_once_t g_tab_once = PTHREAD_ONCE_INIT;
static int g_tab_ok;

static void build_tab(void)
{
    const veil_qtables *tb = veil_qtables_get();
    g_tab.sig = malloc(sizeof(veil_fe) * VEIL_Q_SIG_SIZE);
    g_tab.e0 = malloc(sizeof(veil_fe) * VEIL_Q_EXP_BASE);
    g_tab.e1 = malloc(sizeof(veil_fe) * VEIL_Q_EXP_BASE);
    g_tab.rsm = malloc(sizeof(veil_fe) << 16);
    g_tab.rsv = malloc(sizeof(veil_fe) << 16);
    for (int c = 0; c < 4; c++)
        g_tab.kcol[c] = malloc(sizeof(veil_fe) * 32);
    if (!g_tab.sig || !g_tab.e0 || !g_tab.e1 || !g_tab.rsm || !g_tab.rsv || !g_tab.kcol[3])
        return;
    for (int i = 0; i < VEIL_Q_SIG_SIZE; i++)
        zc_fe_i64(&g_tab.sig[i], tb->sigmoid[i]);
    for (int j = 0; j < VEIL_Q_EXP_BASE; j++) {
        zc_fe_i64(&g_tab.e0[j], tb->exp_digit[0][j]);
        zc_fe_i64(&g_tab.e1[j], tb->exp_digit[1][j]);
    }
    /* rows past the 3 * 2^14 real ones repeat row 0 (no new pairs) */
    for (int i = 0; i < (1 << 16); i++) {
        int r = i < VEIL_Q_RSQRT_SIZE ? i : 0;
        zc_fe_i64(&g_tab.rsm[i], VEIL_Q_RSQRT_LO + r);
        zc_fe_i64(&g_tab.rsv[i], tb->rsqrt[r]);
    }
    for (int k = 0; k < 32; k++) {
        zc_fe_i64(&g_tab.kcol[0][k], k);
        zc_fe_i64(&g_tab.kcol[1][k], (int64_t)1 << (2 * k));
        zc_fe_i64(&g_tab.kcol[2][k], (int64_t)1 << k);
        zc_fe_i64(&g_tab.kcol[3][k], k ? (int64_t)1 << (k - 1) : 0);
    }
    g_tab_ok = 1;
}

/* The default (padding) row of each lookup pool: a valid table row. */
void zk_pool_defaults(zcirc *C)
{
    const veil_qtables *tb = veil_qtables_get();
    struct {
        int pool;
        int64_t v;
    } d[] = {{P_SGI, 0}, {P_SGV, tb->sigmoid[0]}, {P_E0I, 0}, {P_E0V, tb->exp_digit[0][0]},
             {P_E1I, 0}, {P_E1V, tb->exp_digit[1][0]}, {P_RSM, VEIL_Q_RSQRT_LO},
             {P_RSV, tb->rsqrt[0]}, {P_KK, 0}, {P_KP, 1}, {P_KQ, 1}, {P_KH, 0}};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        for (size_t j = 0; j < ((size_t)1 << C->nv[d[i].pool]); j++)
            C->val[d[i].pool][j] = d[i].v;
}

static int run_lookup(zcirc *C, int first, int ncols, unsigned b, const veil_fe *const *tcol,
                      int64_t idx_offset)
{
    zc_lookup lk;
    memset(&lk, 0, sizeof lk);
    unsigned a = C->nv[first];
    size_t n = (size_t)1 << a;
    uint8_t vars[ZC_MAX_VARS];
    seqv(vars, 0, a);
    lk.a = a;
    lk.b = b;
    lk.ncols = ncols;
    uint32_t *idx = NULL;
    if (C->prover) {
        idx = malloc(sizeof *idx * n);
        if (!idx) return veil_fail(VEIL_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            int64_t r = C->val[first][i] - idx_offset;
            /* a value outside the table: fail here, the verifier would reject */
            if (r < 0 || r >= ((int64_t)1 << b)) {
                free(idx);
                return veil_fail(VEIL_EINVAL, "prover: lookup value outside its table");
            }
            idx[i] = (uint32_t)r;
        }
    }
    lk.idx = idx;
    for (int c = 0; c < ncols; c++) {
        zv whole = {first + c, a, 0};
        V(C, &lk.col[c], whole, 1, vars);
        lk.tcol[c] = tcol[c];
    }
    int rc = zc_lookup_prove_verify(C->z, &lk);
    free(idx);
    return rc;
}

int zk_lookups(zcirc *C)
{
    pthread_once(&g_tab_once, build_tab);
    if (!g_tab_ok) return veil_fail(VEIL_ENOMEM, "out of memory for lookup tables");
    const veil_fe *range[1] = {NULL}, *sig[2] = {NULL, g_tab.sig}, *e0[2] = {NULL, g_tab.e0};
    const veil_fe *e1[2] = {NULL, g_tab.e1}, *rs[2] = {g_tab.rsm, g_tab.rsv};
    const veil_fe *kp[4] = {g_tab.kcol[0], g_tab.kcol[1], g_tab.kcol[2], g_tab.kcol[3]};
    TRY(run_lookup(C, P_R, 1, 16, range, 0));
    TRY(run_lookup(C, P_SGI, 2, 17, sig, 0));
    TRY(run_lookup(C, P_E0I, 2, VEIL_Q_EXP_DIGIT_BITS, e0, 0));
    TRY(run_lookup(C, P_E1I, 2, VEIL_Q_EXP_DIGIT_BITS, e1, 0));
    TRY(run_lookup(C, P_RSM, 2, 16, rs, VEIL_Q_RSQRT_LO));
    TRY(run_lookup(C, P_KK, 4, 5, kp, 0));
    return 0;
}
