/* Shapes, pool layouts and public tables of the shard circuit. */
#include "layer_circuit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static unsigned lg(long n) { return veil_mle_log2((size_t)(n < 1 ? 1 : n)); }

int zshape_init(zshape *s, const veil_config *c, int pos, int T)
{
    memset(s, 0, sizeof *s);
    if (T < 1 || T > VEIL_ZK_MAX_T) return veil_fail(VEIL_ERANGE, "proof of %d tokens (1..%d)", T, VEIL_ZK_MAX_T);
    int rc = veil_config_validate(c);
    if (rc) return rc;
    if (veil_head_size(c) % 2) return veil_fail(VEIL_EINVAL, "odd head size");
    if (pos < 0 || T > c->seq_len - pos)
        return veil_fail(VEIL_ERANGE, "positions %d..%d exceed seq_len %d", pos, pos + T - 1, c->seq_len);
    s->c = *c;
    s->pos = pos;
    s->T = T;
    s->hs = veil_head_size(c);
    s->G = c->n_heads / c->n_kv_heads;
    s->tb = lg(T);
    s->db = lg(c->dim);
    s->hb = lg(c->hidden_dim);
    s->sb = lg(s->hs);
    s->gb = lg(s->G);
    s->kvb = lg(c->n_kv_heads);
    s->kb = s->kvb + s->sb;
    s->qb = s->kb + s->gb;
    if (s->sb < 1) s->sb = 1;
    if (pos & ((1 << s->tb) - 1))
        return veil_fail(VEIL_ERANGE, "a chunk of %d tokens must start at a multiple of %d, not %d", T,
                         1 << s->tb, pos);
    s->cb = lg(pos + (1L << s->tb));
    if (s->tb + s->cb + s->kvb + s->gb + s->sb > 26 || s->tb + s->hb > 26 || s->qb + s->db > 26)
        return veil_fail(VEIL_ERANGE, "shape too large for a layer proof");
    return 0;
}

/* Aligned bump allocation in a pool. */
static zv wal(size_t *used, int pool, unsigned k)
{
    size_t a = (size_t)1 << k, off = (*used + a - 1) & ~(a - 1);
    *used = off + a;
    return (zv){pool, k, off};
}

void zw_layout(const zshape *s, int pool, zwlayout *w)
{
    size_t u = 0;
    /* largest first keeps the alignment waste small */
    w->w1 = wal(&u, pool, s->hb + s->db);
    w->w3 = wal(&u, pool, s->hb + s->db);
    w->w2 = wal(&u, pool, s->db + s->hb);
    w->wq = wal(&u, pool, s->qb + s->db);
    w->wo = wal(&u, pool, s->db + s->qb);
    w->wk = wal(&u, pool, s->kb + s->db);
    w->wv = wal(&u, pool, s->kb + s->db);
    w->ga = wal(&u, pool, s->db);
    w->gf = wal(&u, pool, s->db);
    w->nvars = lg((long)u);
}

/* Row of the head layout (kvh, g, i) for original q/k index h*hs + i. */
static size_t head_row(const zshape *s, int h, int i, int is_q)
{
    int kvh = is_q ? h / s->G : h, g = is_q ? h % s->G : 0;
    return is_q ? (((size_t)kvh << s->gb | g) << s->sb | i) : ((size_t)kvh << s->sb | i);
}

/* Copy a d x n row-major matrix to a padded slice with rows remapped. */
static void put_mat(int64_t *dst, const zv *v, const int32_t *w, int d, int n, unsigned nb,
                    const zshape *s, int rows_heads, int is_q)
{
    for (int r = 0; r < d; r++) {
        size_t row = rows_heads ? head_row(s, r / s->hs, r % s->hs, is_q) : (size_t)r;
        for (int j = 0; j < n; j++)
            dst[v->off + (row << nb) + j] = w[(size_t)r * n + j];
    }
}

int64_t *zw_values(const zshape *s, const zwlayout *w, const veil_qlayer *l)
{
    const veil_config *c = &s->c;
    int dim = c->dim, kv = veil_kv_dim(c), hd = c->hidden_dim;
    int64_t *v = calloc((size_t)1 << w->nvars, sizeof *v);
    if (!v) return NULL;
    for (int i = 0; i < dim; i++) {
        v[w->ga.off + i] = l->rms_att[i];
        v[w->gf.off + i] = l->rms_ffn[i];
    }
    put_mat(v, &w->wq, l->wq, dim, dim, s->db, s, 1, 1);
    put_mat(v, &w->wk, l->wk, kv, dim, s->db, s, 1, 0);
    put_mat(v, &w->wv, l->wv, kv, dim, s->db, s, 1, 0);
    put_mat(v, &w->w1, l->w1, hd, dim, s->db, s, 0, 0);
    put_mat(v, &w->w3, l->w3, hd, dim, s->db, s, 0, 0);
    put_mat(v, &w->w2, l->w2, dim, hd, s->hb, s, 0, 0);
    /* wo: output rows d, input columns in the head layout */
    for (int d = 0; d < dim; d++)
        for (int j = 0; j < dim; j++)
            v[w->wo.off + ((size_t)d << s->qb) + head_row(s, j / s->hs, j % s->hs, 1)] =
                l->wo[(size_t)d * dim + j];
    return v;
}
