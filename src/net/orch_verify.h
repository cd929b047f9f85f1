/* Private to src/net: consensus verification inside the orchestrator (see
 * docs/ARCHITECTURE.md "Consensus verification"). orchestrator.c owns the
 * nodes and sessions; this part owns the veil_verifier, the per-shard input
 * history that late replicas and re-executions replay, and the decision loop.
 * The orchestrator lends it three operations (orch_verify_ops). */
#ifndef VEIL_NET_ORCH_VERIFY_H
#define VEIL_NET_ORCH_VERIFY_H

#include "veil/verify.h"

typedef struct orch_verify orch_verify;

typedef struct {
    void *ctx;
    /* Run shard s for positions pos..pos+T-1 on a live node whose bit is not
     * in `used` (node index), preferring the shard's idle replicas, else a
     * node that loads it now; writes the T x dim output and the node index. */
    int (*extra)(void *ctx, int s, uint64_t used, int pos, int T, float *out, int *node);
    /* Stop using `node` for shard s (flagged); `winner` agreed with the quorum. */
    void (*drop)(void *ctx, int s, int node, int winner);
    const char *(*name)(void *ctx, int node);
    /* --fingerprints disputes (may be NULL): ask `node` (LAYER_REQ on its
     * session of shard s) for the output of `layer` (first-1 = the shard
     * input) at positions pos..pos+T-1: what 0 = its fingerprint (out: one
     * veil_fp, checked for that layer/pos/T/dim), 1 = the rows (out: T x dim
     * floats, any T: chunked by the frame limit). */
    int (*layer)(void *ctx, int s, int node, int what, int layer, int pos, int T, void *out);
} orch_verify_ops;

int orch_verify_new(const veil_verifier_opts *vo, int n_shards, int dim, int max_seq,
                    orch_verify **out);
void orch_verify_free(orch_verify *ov);
/* Consensus: every replica computes every step (1), else only the active one. */
int orch_verify_all(const orch_verify *ov);
/* Number of replicas the step at pos must have: R for consensus and sampled
 * positions of sample:P, 1 otherwise. */
int orch_verify_needed(const orch_verify *ov, int pos, int T, int R);
/* Remember what entered shard s at pos..pos+T-1 (replayed by extra). */
void orch_verify_record(orch_verify *ov, int s, int pos, int T, const float *x);
const float *orch_verify_inputs(const orch_verify *ov, int s);
/* One replica's answer to a shard step: its rows, or (--fingerprints) only
 * the fp_len-byte encoded fingerprint of them (rows = NULL). */
typedef struct {
    int node;
    const float *rows;
    const uint8_t *fp;
    size_t fp_len;
} orch_verify_answer;

/* Decide one step of shard s from the n answers the pipeline brought back
 * (arrival order), asking for up to `more` further replicas first;
 * re-executes while there is no quorum (or while only fingerprints agree);
 * writes the accepted output to x and drops every flagged node from the
 * shard. */
int orch_verify_step(orch_verify *ov, const orch_verify_ops *ops, int s, int first, int last,
                     int pos, int T, int n, const orch_verify_answer *ans, int more, float *x);
/* --fingerprints: replicas other than the active one send FP_FORWARD, and
 * sessions are audited (AUDIT) so two disagreeing replicas can be judged. */
int orch_verify_fingerprints(const orch_verify *ov);
/* The public model disputes recompute one layer of (needed for disputes). */
void orch_verify_set_model(orch_verify *ov, const veil_model *m);

/* orch_dispute.c: two replicas a and b of shard s disagree on the step at
 * pos..pos+T-1. Bisect their per-layer fingerprints to the first divergent
 * layer, recompute it on the client from agreed inputs and name the guilty
 * one; on success the innocent's rows are in x and *resolved = 1 (the
 * guilty node flagged and dropped). *resolved = 0: undecided (the caller
 * re-executes as without disputes). */
int orch_dispute(orch_verify *ov, const orch_verify_ops *ops, int s, int first, int last, int pos,
                 int T, const orch_verify_answer *a, const orch_verify_answer *b, float *x,
                 int *resolved);
/* Private state orch_dispute.c reads (one definition, in orch_verify.c). */
const veil_model *orch_verify_model(const orch_verify *ov);
void orch_verify_dispute_flag(orch_verify *ov, const char *node, int first, int last, int pos,
                              const char *reason);
/* Flags raised so far. */
int orch_verify_flags(const orch_verify *ov);
/* Scheduling: with a ledger, writes the usable node indices best first and
 * returns how many (flagged nodes dropped); without one, the identity. */
int orch_verify_rank(const veil_verifier_opts *vo, const char *const *names, int n, int *order);

#endif
