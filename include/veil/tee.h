/* veil TEE lifecycle: the six steps of the NTEE design (paper §4.1) as calls
 * the node daemon makes, each logged as one line ("veil tee NAME: step k/6 ..."):
 *
 *   1 blank        veil_tee_create: an empty secure arena, no data, no model
 *   2 attested     veil_tee_attest: answer the orchestrator's challenge with
 *                  evidence bound to this TLS channel (veil/attest.h)
 *   3 provisioned  veil_tee_provision: shard and data arrive over that same
 *                  attested channel (checked by its tls-exporter) into the arena
 *                  (also allowed while executing or after a result: a
 *                  long-running node takes the next request's shards)
 *   4 executing    veil_tee_link: mutual attestation with a neighbouring node
 *                  on the node-to-node channel before hidden states flow
 *   5 result       veil_tee_result: the result leaves over an attested channel
 *   6 destroyed    veil_tee_destroy: every region that held weights,
 *                  activations, KV cache or keys is wiped, verified to read
 *                  zero, unlocked and unmapped
 *
 * The arena is one anonymous mapping, mlock'ed where the RLIMIT_MEMLOCK
 * permits (kept out of swap), MADV_DONTDUMP (kept out of core dumps), and
 * handed out by region. Buffers allocated elsewhere (e.g. a shard's KV cache)
 * can be tracked so that step 6 wipes them too. Steps must happen in order;
 * out-of-order calls fail with a reason and change nothing. */
#ifndef VEIL_TEE_H
#define VEIL_TEE_H

#include "veil/attest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VEIL_TEE_BLANK = 1,
    VEIL_TEE_ATTESTED = 2,
    VEIL_TEE_PROVISIONED = 3,
    VEIL_TEE_EXECUTING = 4,
    VEIL_TEE_RESULT = 5,
    VEIL_TEE_DESTROYED = 6,
} veil_tee_step;

typedef enum {
    VEIL_REGION_WEIGHTS = 0,
    VEIL_REGION_ACTIVATIONS = 1,
    VEIL_REGION_KV = 2,
    VEIL_REGION_KEYS = 3,
    VEIL_REGION_COUNT = 4,
} veil_tee_region;

typedef struct {
    size_t arena_bytes;       /* secure arena size (rounded up to pages) */
    veil_attester *attester;  /* evidence for step 2 and 4 (borrowed) */
    const char *name;         /* for log lines (default "tee") */
    int quiet;                /* no log lines */
    int no_mlock;             /* do not even try mlock (tests of the fallback) */
} veil_tee_opts;

typedef struct veil_tee veil_tee;

/* Step 1: a blank TEE with its secure arena. */
int veil_tee_create(const veil_tee_opts *o, veil_tee **out);
/* Step 2: answer the orchestrator's attestation challenge on s (TLS). */
int veil_tee_attest(veil_tee *t, veil_stream *s);
/* Zeroed memory from the arena for region r (16-byte aligned); NULL with a
 * reason when the arena is full or the TEE is destroyed. */
void *veil_tee_alloc(veil_tee *t, veil_tee_region r, size_t n);
/* Register an outside buffer holding region r data: it is mlock'ed where
 * permitted and wiped at step 6. */
int veil_tee_track(veil_tee *t, veil_tee_region r, void *p, size_t n);
/* Forget a tracked buffer (wiping it first) before its owner frees it. */
void veil_tee_untrack(veil_tee *t, void *p);
/* Step 3: shard/data were received on s; s must be the channel attested in
 * step 2 (same tls-exporter), what names them for the log. */
int veil_tee_provision(veil_tee *t, veil_stream *s, const char *what);
/* Step 4: mutual attestation with a neighbour on s (initiator = 1 when this
 * node connected to it). peer receives its claims. Allowed once attested
 * (one call per neighbour). */
int veil_tee_link(veil_tee *t, veil_stream *s, int initiator, const veil_policy *p,
                  veil_claims *peer);
/* For transports that run the attestation exchange themselves
 * (veil/secure.h): s was attested (this TEE answered a challenge on it).
 * Step 2 when the TEE is blank; the channel is remembered (the last 64) so
 * that provisioning over it is accepted. */
int veil_tee_attested_channel(veil_tee *t, veil_stream *s);
/* ... and the neighbour on s verified under the policy (step 4 bookkeeping
 * without the exchange). */
int veil_tee_linked(veil_tee *t, veil_stream *s, int initiator, const veil_claims *peer);
/* Step 5: the result is being returned on s (must be an attested TLS stream). */
int veil_tee_result(veil_tee *t, veil_stream *s);
/* Step 6: wipe every region and tracked buffer, verify they read zero,
 * unlock, unmap, free. Returns 0, or VEIL_EVERIFY if a byte survived (never
 * expected; reported rather than hidden). Safe on NULL. */
int veil_tee_destroy(veil_tee *t);
/* The wipe of step 6 without unmapping (so tests can inspect the regions);
 * returns the number of non-zero bytes left (0). */
size_t veil_tee_wipe(veil_tee *t);

veil_tee_step veil_tee_state(const veil_tee *t);
const char *veil_tee_step_name(veil_tee_step s);
/* 1 when the arena is mlock'ed. */
int veil_tee_locked(const veil_tee *t);
/* Bytes handed out for region r (arena and tracked). */
size_t veil_tee_used(const veil_tee *t, veil_tee_region r);

/* Scheduling on attested claims (paper §4.2, heterogeneous TEEs): fill order
 * with the indices of nodes whose claims are attested (tee_type != none),
 * GPU TEEs first, then by capacity, largest first; ties keep input order.
 * Returns how many nodes qualify. The heaviest shard goes to order[0]. */
int veil_tee_schedule_order(const veil_claims *nodes, int n, int *order);

#ifdef __cplusplus
}
#endif
#endif
