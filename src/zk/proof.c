/* Proof serialization and the bounds-checked reader; see zk_proof.h. */
#include "veil/zk_proof.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void veil_zkw_init(veil_zkw *w) { memset(w, 0, sizeof *w); }

void veil_zkw_free(veil_zkw *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void veil_zkw_bytes(veil_zkw *w, const void *p, size_t n)
{
    if (w->err) return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            w->err = VEIL_ENOMEM;
            return;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_le(uint8_t *o, uint64_t x, int n)
{
    for (int i = 0; i < n; i++)
        o[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_le(const uint8_t *in, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x |= (uint64_t)in[i] << (8 * i);
    return x;
}

void veil_zkw_u32(veil_zkw *w, uint32_t x)
{
    uint8_t b[4];
    put_le(b, x, 4);
    veil_zkw_bytes(w, b, 4);
}

void veil_zkw_fe(veil_zkw *w, const veil_fe *x)
{
    uint8_t b[32];
    veil_fe_to_bytes(b, x);
    veil_zkw_bytes(w, b, 32);
}

void veil_zkw_fes(veil_zkw *w, const veil_fe *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        veil_zkw_fe(w, &x[i]);
}

void veil_zkw_ge(veil_zkw *w, const veil_ge *p)
{
    uint8_t b[32];
    veil_ge_to_bytes(b, p);
    veil_zkw_bytes(w, b, 32);
}

void veil_zkw_begin(veil_zkw *w, uint16_t kind)
{
    uint8_t h[VEIL_ZKP_HEADER];
    memcpy(h, VEIL_ZKP_MAGIC, 4);
    put_le(h + 4, VEIL_ZKP_VERSION, 2);
    put_le(h + 6, kind, 2);
    put_le(h + 8, 0, 4);
    veil_zkw_bytes(w, h, sizeof h);
}

int veil_zkw_finish(veil_zkw *w)
{
    if (w->err) return veil_fail(w->err, "proof: out of memory while serializing");
    if (w->len < VEIL_ZKP_HEADER || w->len - VEIL_ZKP_HEADER > VEIL_ZKP_MAX_BYTES)
        return veil_fail(VEIL_ERANGE, "proof: %zu bytes is outside the format's limits", w->len);
    put_le(w->buf + 8, w->len - VEIL_ZKP_HEADER, 4);
    return 0;
}

void veil_zkr_init(veil_zkr *r, const uint8_t *p, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->len = len;
}

static int zkr_fail(veil_zkr *r, const char *what)
{
    if (!r->err) {
        r->err = VEIL_EINVAL;
        r->what = what;
    }
    return VEIL_EINVAL;
}

int veil_zkr_bytes(veil_zkr *r, void *out, size_t n, const char *what)
{
    if (r->err || n > r->len - r->off) {
        memset(out, 0, n);
        return zkr_fail(r, what);
    }
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return 0;
}

int veil_zkr_begin(veil_zkr *r, uint16_t *kind)
{
    uint8_t h[VEIL_ZKP_HEADER];
    *kind = 0;
    if (veil_zkr_bytes(r, h, sizeof h, "header"))
        return veil_fail(VEIL_EINVAL, "proof: %zu bytes is too short for a header", r->len);
    if (memcmp(h, VEIL_ZKP_MAGIC, 4) != 0) {
        zkr_fail(r, "magic");
        return veil_fail(VEIL_EINVAL, "proof: not a veil proof (bad magic)");
    }
    uint64_t ver = get_le(h + 4, 2), body = get_le(h + 8, 4);
    if (ver != VEIL_ZKP_VERSION) {
        zkr_fail(r, "version");
        return veil_fail(VEIL_EINVAL, "proof: format version %llu (this build reads %d)",
                         (unsigned long long)ver, VEIL_ZKP_VERSION);
    }
    if (body != r->len - VEIL_ZKP_HEADER) {
        zkr_fail(r, "length");
        return veil_fail(VEIL_EINVAL, "proof: header says %llu body bytes, file has %zu",
                         (unsigned long long)body, r->len - VEIL_ZKP_HEADER);
    }
    *kind = (uint16_t)get_le(h + 6, 2);
    return 0;
}

int veil_zkr_u32(veil_zkr *r, uint32_t *x, uint32_t lo, uint32_t hi, const char *what)
{
    uint8_t b[4];
    *x = 0;
    if (veil_zkr_bytes(r, b, 4, what)) return VEIL_EINVAL;
    uint32_t v = (uint32_t)get_le(b, 4);
    if (v < lo || v > hi) return zkr_fail(r, what);
    *x = v;
    return 0;
}

int veil_zkr_fe(veil_zkr *r, veil_fe *x, const char *what)
{
    uint8_t b[32];
    veil_fe_zero(x);
    if (veil_zkr_bytes(r, b, 32, what)) return VEIL_EINVAL;
    if (veil_fe_from_bytes(x, b)) {
        veil_fe_zero(x);
        return zkr_fail(r, what);
    }
    return 0;
}

int veil_zkr_fes(veil_zkr *r, veil_fe *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (veil_zkr_fe(r, &x[i], what)) {
            for (; i < n; i++) /* callers may read the rest: keep it defined */
                veil_fe_zero(&x[i]);
            return VEIL_EINVAL;
        }
    return 0;
}

int veil_zkr_ge(veil_zkr *r, veil_ge *p, const char *what)
{
    uint8_t b[32];
    veil_ge_identity(p);
    if (veil_zkr_bytes(r, b, 32, what)) return VEIL_EINVAL;
    if (veil_ge_from_bytes(p, b)) {
        veil_ge_identity(p);
        return zkr_fail(r, what);
    }
    return 0;
}

int veil_zkr_end(veil_zkr *r)
{
    if (r->err)
        return veil_fail(VEIL_EINVAL, "proof: malformed or truncated at byte %zu (%s)", r->off,
                         r->what ? r->what : "?");
    if (r->off != r->len)
        return veil_fail(VEIL_EINVAL, "proof: %zu trailing bytes", r->len - r->off);
    return 0;
}

int veil_zkp_write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return veil_fail(VEIL_EIO, "%s: %s", path, strerror(errno));
    int bad = fwrite(p, 1, n, f) != n;
    bad |= fclose(f) != 0;
    return bad ? veil_fail(VEIL_EIO, "%s: write failed", path) : 0;
}

int veil_zkp_read_file(const char *path, uint8_t **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return veil_fail(VEIL_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        if (cap >= VEIL_ZKP_MAX_BYTES + VEIL_ZKP_HEADER) {
            free(buf);
            fclose(f);
            return veil_fail(VEIL_ERANGE, "%s: larger than %u bytes, not a proof of ours", path,
                             VEIL_ZKP_MAX_BYTES);
        }
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return veil_fail(VEIL_ENOMEM, "%s: out of memory", path);
    if (err) {
        free(buf);
        return veil_fail(VEIL_EIO, "%s: read error", path);
    }
    *p = buf;
    *n = len;
    return 0;
}

/* ---- shared pieces ---- */

/* Serialize with a commitment-layer writer of the given exact size. */
typedef int (*write_fn)(const void *obj, uint8_t *out, size_t cap, size_t *written);

static void zkw_with(veil_zkw *w, const void *obj, size_t size, write_fn fn)
{
    if (w->err) return;
    uint8_t *tmp = malloc(size ? size : 1);
    size_t got = 0;
    if (!tmp || fn(obj, tmp, size, &got) || got != size) {
        w->err = tmp ? VEIL_EINVAL : VEIL_ENOMEM;
        free(tmp);
        return;
    }
    veil_zkw_bytes(w, tmp, size);
    free(tmp);
}

static int wr_hyrax(const void *o, uint8_t *out, size_t cap, size_t *n)
{
    return veil_hyrax_commitment_write(o, out, cap, n);
}
static int wr_ipa(const void *o, uint8_t *out, size_t cap, size_t *n)
{
    return veil_ipa_proof_write(o, out, cap, n);
}
static int wr_open(const void *o, uint8_t *out, size_t cap, size_t *n)
{
    return veil_open_proof_write(o, out, cap, n);
}

void veil_zkw_hyrax(veil_zkw *w, const veil_hyrax_commitment *cm)
{
    zkw_with(w, cm, veil_hyrax_commitment_size(cm->nvars), wr_hyrax);
}

void veil_zkw_ipa(veil_zkw *w, const veil_ipa_proof *pf)
{
    zkw_with(w, pf, veil_ipa_proof_size(pf->rounds), wr_ipa);
}

void veil_zkw_open(veil_zkw *w, const veil_open_proof *pf)
{
    zkw_with(w, pf, veil_open_proof_size(pf->d), wr_open);
}

void veil_zkw_zksc(veil_zkw *w, const veil_zksc_proof *pf)
{
    veil_zkw_ge(w, &pf->c_mask);
    veil_zkw_ge(w, &pf->c_sum);
    veil_zkw_fes(w, pf->rounds, (size_t)pf->nvars * (pf->deg + 1));
    veil_zkw_ge(w, &pf->c_pr);
    veil_zkw_open(w, &pf->open);
}

void veil_zkw_zero(veil_zkw *w, const veil_zero_proof *pf)
{
    veil_zkw_ge(w, &pf->a);
    veil_zkw_fe(w, &pf->z);
}

void veil_zkw_prod(veil_zkw *w, const veil_prod_proof *pf)
{
    veil_zkw_ge(w, &pf->alpha);
    veil_zkw_ge(w, &pf->beta);
    veil_zkw_ge(w, &pf->delta);
    veil_zkw_fes(w, pf->z, 5);
}

/* Hands the unread rest of the buffer to a commitment-layer parser. */
static int zkr_delegate(veil_zkr *r, int rc, size_t used, const char *what)
{
    if (rc || used > r->len - r->off) return zkr_fail(r, what);
    r->off += used;
    return 0;
}

int veil_zkr_hyrax(veil_zkr *r, veil_hyrax_commitment *cm, unsigned nvars, const char *what)
{
    memset(cm, 0, sizeof *cm);
    if (r->err) return VEIL_EINVAL;
    size_t used = 0;
    int rc = veil_hyrax_commitment_read(cm, r->p + r->off, r->len - r->off, nvars, &used);
    return zkr_delegate(r, rc, used, what);
}

int veil_zkr_ipa(veil_zkr *r, veil_ipa_proof *pf, unsigned rounds, const char *what)
{
    memset(pf, 0, sizeof *pf);
    if (r->err) return VEIL_EINVAL;
    size_t used = 0;
    int rc = veil_ipa_proof_read(pf, r->p + r->off, r->len - r->off, rounds, &used);
    return zkr_delegate(r, rc, used, what);
}

int veil_zkr_zksc(veil_zkr *r, veil_zksc_proof *pf, unsigned nvars, unsigned deg)
{
    memset(pf, 0, sizeof *pf);
    if (nvars < 1 || nvars > VEIL_MLE_MAX_VARS || deg < 1 || deg > VEIL_SC_MAX_DEG)
        return zkr_fail(r, "sum-check shape");
    size_t nr = (size_t)nvars * (deg + 1);
    pf->nvars = nvars;
    pf->deg = deg;
    pf->rounds = calloc(nr, sizeof *pf->rounds);
    if (!pf->rounds) return zkr_fail(r, "memory");
    veil_zkr_ge(r, &pf->c_mask, "sum-check mask commitment");
    veil_zkr_ge(r, &pf->c_sum, "sum-check mask sum");
    veil_zkr_fes(r, pf->rounds, nr, "sum-check round value");
    veil_zkr_ge(r, &pf->c_pr, "sum-check mask value");
    if (r->err) return VEIL_EINVAL;
    size_t used = 0;
    int rc = veil_open_proof_read(&pf->open, r->p + r->off, r->len - r->off,
                                  veil_sc_mask_len(nvars, deg), &used);
    return zkr_delegate(r, rc, used, "mask opening proof");
}

int veil_zkr_zero(veil_zkr *r, veil_zero_proof *pf, const char *what)
{
    veil_zkr_ge(r, &pf->a, what);
    return veil_zkr_fe(r, &pf->z, what);
}

int veil_zkr_prod(veil_zkr *r, veil_prod_proof *pf, const char *what)
{
    veil_zkr_ge(r, &pf->alpha, what);
    veil_zkr_ge(r, &pf->beta, what);
    veil_zkr_ge(r, &pf->delta, what);
    return veil_zkr_fes(r, pf->z, 5, what);
}
