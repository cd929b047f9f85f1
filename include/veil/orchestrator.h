/* veil orchestrator: the client side of decentralized inference.
 *
 * The orchestrator keeps the embedding and the head on the client and runs
 * the transformer layers on remote nodes. It is a veil_backend, so the same
 * veil_generate loop drives it and `veil run` prints exactly what `veil
 * generate` prints:
 *
 *   veil_orch *o;  veil_orch_new(model, &opts, &o);
 *   veil_backend b = veil_orch_backend(o);
 *   veil_generate(model, tokenizer, &b, &gen_opts, emit, ctx, &stats);
 *   veil_orch_free(o);
 *
 * Layout. Layers [0, split) run on a local shard. The remote layers
 * [split, n_layers) are cut into P shards, P = nodes / replicas, in
 * proportion to the capacity each shard's first node advertises (a node of
 * capacity 2 gets about twice the layers of capacity 1). Shard s lives on R
 * distinct nodes (its replicas); nodes left over are spares. One replica per
 * shard is active. The active replicas form a chain: the client sends a
 * FORWARD (T rows: the whole prompt in one frame when it fits) to the first
 * node, each node forwards to the next over its own connection, and the last
 * returns the RESULT on the client's connection. The chain returns to the
 * client between shards where a relay hook asks for it (relay_at), and after
 * every shard when a replica_result hook is set.
 *
 * Failover. Every node connection is watched while a result is awaited:
 * EOF, an ERROR frame, a heartbeat (PING) unanswered for timeout_ms, or a
 * result late by timeout_ms marks the pipeline broken. The orchestrator then
 * pings every node, tries to redial dead ones (a restarted node rejoins as a
 * spare), moves each shard whose active node is gone to another replica or
 * to a spare (pushing or naming its weights), opens fresh sessions, replays
 * the stored prefix of hidden states (positions 0..pos-1, as they left the
 * client) to rebuild every KV cache, and retries. The layers are
 * deterministic, so the text is identical to an undisturbed run.
 *
 * ---- seams for other modules ----------------------------------------------
 *
 * (a) Transport security: every connection (client->node and node->node) is
 *     made through a veil_transport (veil/protocol.h). opts.transport = NULL
 *     uses veil_transport_plain(); veil_transport_tls() wraps the veil/tls.h
 *     handshake; the CLI maps --insecure / --key NAME [--allow FILE] to them.
 *     Nodes take the same transport for their outbound next-hop connections.
 *
 * (b) Hidden-state hooks (veil_orch_hooks): egress(pos,T,x) on the states
 *     leaving the client (after the local split layers): DP noise, SVE entry;
 *     ingress(pos,T,x) on the states coming back, before the head: SVE exit;
 *     relay(after_shard,pos,T,x) between shard s and s+1 when set (the chain
 *     then returns to the client after every shard, or only after the shards
 *     for which relay_at(s) says so): SVE re-encryption hops.
 *     The stored prefix is the egress output, so replays after failover do
 *     not call egress or ingress again; relay and replica_result do run
 *     again on the replayed positions (pos restarts at 0; the replayed
 *     outputs are discarded).
 *
 * (c) Weights: shard_weights(shard, first, last, out) fills the floats the
 *     client pushes for layers [first,last) in veil_layer_to_floats layout
 *     (default: the checkpoint's own layers). With a custom provider nodes
 *     are never allowed to substitute their own --models copy; otherwise a
 *     node holding the checkpoint (same SHA-256) loads the layers itself
 *     after checking the shard hash. plan(n_shards, bounds) is called once
 *     with the partition before any weights are requested (SVE draws its
 *     keys per shard there).
 *
 * (d) --split K: opts.split = K runs layers 0..K-1 on the client.
 *
 * (e) Replicas: opts.replicas = R places each shard on R distinct nodes.
 *     Without replica_result they are hot spares (weights loaded, no
 *     session). With replica_result every replica of every shard computes
 *     each batch and the hook sees each replica's output (consensus compares
 *     them); the active replica's output is the one used.
 */
#ifndef VEIL_ORCHESTRATOR_H
#define VEIL_ORCHESTRATOR_H

#include "veil/generate.h"
#include "veil/protocol.h"
#include "veil/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void *ctx;
    int (*plan)(void *ctx, int n_shards, const int *bounds); /* bounds[n_shards+1] */
    int (*shard_weights)(void *ctx, int shard, int first, int last, float *out);
    int (*egress)(void *ctx, int pos, int T, float *x);
    int (*ingress)(void *ctx, int pos, int T, float *x);
    int (*relay)(void *ctx, int after_shard, int pos, int T, float *x);
    /* replica r (0..R-1) of shard s, running on node index `node`; returning
     * non-zero aborts the forward with that error. */
    int (*replica_result)(void *ctx, int shard, int replica, int node, int pos, int T,
                          const float *x);
    /* With relay: 1 if the chain returns to the client after shard s (SVE:
     * veil_sve_hop_after); NULL = after every shard. Shards between two
     * returns forward node to node. */
    int (*relay_at)(void *ctx, int after_shard);
} veil_orch_hooks;

typedef struct {
    const char *const *nodes; /* "HOST:PORT" each */
    int n_nodes;
    int replicas;     /* default 1 */
    int split;        /* layers run locally, 0..n_layers-1 */
    int timeout_ms;   /* default 30000 */
    int heartbeat_ms; /* default 1000 */
    const veil_transport *transport; /* default plain */
    veil_orch_hooks hooks;
    int push_only;    /* never let nodes use their --models copy */
    int max_seq;      /* 0 = model seq_len */
    int quiet;        /* no log lines on stderr */
    const char *name; /* this client's name in HELLO */
    /* Consensus verification (veil/verify.h, docs/ARCHITECTURE.md): every
     * shard step decided by a veil_verifier over its replicas (consensus,
     * sample:P) or by CDV; re-execution on another node without a quorum;
     * flagged nodes dropped; with a ledger, flagged nodes never scheduled.
     * NULL = off. Must outlive the orchestrator. */
    const veil_verifier_opts *verify;
} veil_orch_opts;

typedef struct veil_orch veil_orch;

/* Connect, schedule, provision and open sessions. The model must outlive o. */
int veil_orch_new(const veil_model *m, const veil_orch_opts *opts, veil_orch **out);
veil_backend veil_orch_backend(veil_orch *o);
/* Between requests: call plan again (SVE: fresh keys), ship every shard's
 * new shard_weights to its live replicas, RELEASE the old shards and open
 * fresh sessions (the next forward starts at position 0). For key rotation
 * policies such as --sve-keys request / reuse:N. */
int veil_orch_reprovision(veil_orch *o);
void veil_orch_free(veil_orch *o); /* closes sessions and connections */

typedef struct {
    char addr[300];
    char name[VEIL_PROTO_STR_MAX + 1];
    double capacity;
    int alive;
    char layers[96];  /* layer ranges held, e.g. "0-1,4-5" ("-" for none) */
    int active;       /* number of shards it runs in the active chain */
    int flagged;      /* verification flagged it: no longer scheduled */
    veil_msg_stats stats; /* node counters (tokens served, compute ns, bytes) */
} veil_orch_node_info;

int veil_orch_n_nodes(const veil_orch *o);
/* Refreshes the node's counters with a STATS round trip when it is up. */
int veil_orch_node_query(veil_orch *o, int i, veil_orch_node_info *out);
int veil_orch_n_shards(const veil_orch *o);
/* Layer range and active node of shard s. */
void veil_orch_shard(const veil_orch *o, int s, int *first, int *last, int *node);
int veil_orch_failovers(const veil_orch *o);
/* Flags raised by opts.verify so far ("node NAME flagged: ..." lines). */
int veil_orch_verify_flags(const veil_orch *o);
/* Bytes the client sent and received (frames included). */
void veil_orch_bytes(const veil_orch *o, uint64_t *sent, uint64_t *received);

/* SVE over the pipeline (veil/sve.h): hooks that draw keys for the actual
 * partition (plan), ship transformed weights (shard_weights), enter/exit the
 * secret basis (egress/ingress) and re-key at the client hops every `hop`
 * shards (relay/relay_at; hop 0 = one chain). Not combinable with split.
 * v is a veil_sve_variant (VEIL_SVE_PAPER or VEIL_SVE_STRONG). */
typedef struct veil_orch_sve veil_orch_sve;
int veil_orch_sve_new(const veil_model *m, int v, int hop, veil_orch_sve **out);
void veil_orch_sve_hooks(veil_orch_sve *s, veil_orch_hooks *h); /* sets every hook but replica_result */
void veil_orch_sve_free(veil_orch_sve *s); /* wipes the keys */

/* Heterogeneous scheduling: split `layers` layers into n parts proportional
 * to cap[i] (largest remainder), each at least 1; requires layers >= n. */
int veil_partition(int layers, const double *cap, int n, int *counts);

#ifdef __cplusplus
}
#endif
#endif
