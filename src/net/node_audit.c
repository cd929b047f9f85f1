/* Dispute support on a node: the layer history of an audited session and
 * the answers to LAYER_REQ (see node_audit.h). */
#include "node_audit.h"

#include <stdlib.h>
#include <string.h>

struct node_audit {
    int first, last, dim, max_seq;
    int done;    /* positions 0..done-1 computed by successful forwards */
    float *hist; /* (last-first+1) x max_seq x dim; slot 0 = the shard input */
};

size_t node_audit_bytes(int first, int last, int dim, int max_seq)
{
    return (size_t)(last - first + 1) * (size_t)max_seq * (size_t)dim * sizeof(float);
}

int node_audit_new(int first, int last, int dim, int max_seq, node_audit **out)
{
    *out = NULL;
    if (first < 0 || last <= first || dim < 1 || max_seq < 1)
        return veil_fail(VEIL_EINVAL, "audit: bad shard shape");
    node_audit *a = calloc(1, sizeof *a);
    if (!a) return veil_fail(VEIL_ENOMEM, "out of memory");
    *a = (node_audit){first, last, dim, max_seq, 0, calloc(node_audit_bytes(first, last, dim, max_seq), 1)};
    if (!a->hist) {
        free(a);
        return veil_fail(VEIL_ENOMEM, "out of memory for the audit history");
    }
    *out = a;
    return 0;
}

void node_audit_free(node_audit *a)
{
    if (!a) return;
    veil_wipe(a->hist, node_audit_bytes(a->first, a->last, a->dim, a->max_seq));
    free(a->hist);
    free(a);
}

static float *slot(const node_audit *a, int layer, int pos)
{
    return a->hist + ((size_t)(layer - a->first + 1) * a->max_seq + (size_t)pos) * a->dim;
}

static void keep(node_audit *a, int layer, int pos, int T, const float *x)
{
    if (pos < 0 || T < 1 || pos >= a->max_seq || layer < a->first - 1 || layer >= a->last) return;
    if (T > a->max_seq - pos) T = a->max_seq - pos;
    memcpy(slot(a, layer, pos), x, (size_t)T * a->dim * sizeof(float));
}

void node_audit_hook(void *ctx, int layer, int pos, int T, const float *x) { keep(ctx, layer, pos, T, x); }

void node_audit_input(node_audit *a, int pos, int T, const float *x)
{
    keep(a, a->first - 1, pos, T, x);
    if (pos < a->done) a->done = pos; /* a replay from pos overwrites what follows */
}

void node_audit_done(node_audit *a, int pos, int T)
{
    if (pos + T > a->done && pos <= a->done) a->done = pos + T;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

size_t node_audit_req_encode(const node_audit_req *r, uint8_t *out)
{
    put32(out, r->what);
    put32(out + 4, (uint32_t)r->layer);
    put32(out + 8, r->pos);
    put32(out + 12, r->T);
    return 16;
}

int node_audit_req_decode(const uint8_t *p, size_t n, node_audit_req *r)
{
    if (n != 16) return veil_fail(VEIL_EPROTO, "LAYER_REQ of %zu bytes, expected 16", n);
    *r = (node_audit_req){get32(p), (int32_t)get32(p + 4), get32(p + 8), get32(p + 12)};
    if (r->what > NODE_AUDIT_ROWS) return veil_fail(VEIL_EPROTO, "LAYER_REQ: unknown request %u", r->what);
    return 0;
}

int node_audit_answer(const node_audit *a, const node_audit_req *r, int max_T, int *type,
                      uint8_t **pay, size_t *len)
{
    *pay = NULL;
    if (r->layer < a->first - 1 || r->layer >= a->last)
        return veil_fail(VEIL_EINVAL, "LAYER_REQ: layer %d outside %d..%d", r->layer, a->first - 1, a->last - 1);
    if (r->T < 1 || r->pos > (uint32_t)a->done || r->T > (uint32_t)a->done - r->pos)
        return veil_fail(VEIL_EINVAL, "LAYER_REQ: positions %u+%u not computed (%d so far)", r->pos, r->T, a->done);
    const float *x = slot(a, r->layer, (int)r->pos);
    if (r->what == NODE_AUDIT_ROWS) {
        if (r->T > (uint32_t)max_T) return veil_fail(VEIL_ERANGE, "LAYER_REQ: %u rows exceed one frame", r->T);
        *len = 8 + (size_t)r->T * a->dim * 4;
        if (!(*pay = malloc(*len))) return veil_fail(VEIL_ENOMEM, "out of memory");
        veil_msg_hidden_encode((int)r->pos, (int)r->T, a->dim, x, *pay);
        *type = VEIL_MSG_LAYER_ROWS;
        return 0;
    }
    veil_fp fp;
    int rc = veil_fp_compute(x, (int)r->T, a->dim, VEIL_FP_DEFAULT_K, r->layer, r->pos, &fp);
    if (rc) return rc;
    *len = veil_fp_encoded_size(&fp);
    if (!(*pay = malloc(*len))) return veil_fail(VEIL_ENOMEM, "out of memory");
    rc = veil_fp_encode(&fp, *pay, *len);
    *type = VEIL_MSG_LAYER_FP;
    return rc < 0 ? rc : 0;
}
