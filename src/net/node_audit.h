/* Private to src/net: what a node keeps for dispute bisection (--verify
 * consensus --fingerprints, docs/PROTOCOL.md "Disputes"). After AUDIT a
 * session records its shard input and every layer's output for positions
 * 0..max_seq-1 (a veil_layer_hook), so it can answer LAYER_REQ: the
 * fingerprint of one layer's output over a block, or the rows themselves. */
#ifndef VEIL_NET_NODE_AUDIT_H
#define VEIL_NET_NODE_AUDIT_H

#include "veil/fingerprint.h"
#include "veil/protocol.h"

typedef struct node_audit node_audit;

/* Bytes node_audit_new(first, last, dim, max_seq) will hold (for budgets). */
size_t node_audit_bytes(int first, int last, int dim, int max_seq);
int node_audit_new(int first, int last, int dim, int max_seq, node_audit **out);
void node_audit_free(node_audit *a); /* wipes: hidden states reveal the prompt */
/* The shard's veil_layer_hook (ctx = the audit). */
void node_audit_hook(void *ctx, int layer, int pos, int T, const float *x);
/* Before a forward: the shard input rows pos..pos+T-1. */
void node_audit_input(node_audit *a, int pos, int T, const float *x);
/* After a successful forward: positions below pos+T are answerable. */
void node_audit_done(node_audit *a, int pos, int T);

/* LAYER_REQ payload: u32 what, i32 layer, u32 pos, u32 T (16 bytes). */
#define NODE_AUDIT_FP 0u
#define NODE_AUDIT_ROWS 1u
typedef struct {
    uint32_t what;
    int32_t layer;
    uint32_t pos, T;
} node_audit_req;
size_t node_audit_req_encode(const node_audit_req *r, uint8_t *out);
int node_audit_req_decode(const uint8_t *p, size_t n, node_audit_req *r);

/* Answer a request: *type = VEIL_MSG_LAYER_FP or VEIL_MSG_LAYER_ROWS and a
 * malloc'ed payload (free it). Refuses layers outside [first-1, last), blocks
 * not yet computed, and rows over max_T per frame. */
int node_audit_answer(const node_audit *a, const node_audit_req *r, int max_T, int *type,
                      uint8_t **pay, size_t *len);

#endif
