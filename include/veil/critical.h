/* veil critical: the integer forward pass over the network, with a zkDPS
 * proof of every shard step verified by the client (`veil run --int`,
 * `veil run --security critical`, and the same for `veil demo`).
 *
 * Why a pipeline of its own. A critical step is stateless on the node: the
 * client keeps, per shard, the Q16 hidden states that entered it at every
 * position so far and, per shard in chain order, sends them with the new
 * rows in a ZK_FORWARD frame (positions 0..pos+T-1, the new ones being
 * pos..pos+T-1). The node rebuilds the shard's KV cache from the earlier
 * rows without proving them (earlier proofs did), runs the new rows, proves
 * them with veil_zk_prove_prefix against the KV-cache commitments, and
 * answers ZK_RESULT (the T new output rows and the proof). The client
 * checks, before it uses a single row:
 *   - the proof verifies against the public registry (veil_zk_commit_model
 *     or `veil zk commit-model`), for the layers and positions it asked for,
 *     the fresh random nonce of this request (no replayed proof passes) and
 *     the shard's KV record (veil_zk_kv: the cache commitments that this
 *     shard's earlier verified proofs added, which the new one must use);
 *   - the proof's input commitment is the client's own commitment to the
 *     rows it sent, its output commitment the client's commitment to the
 *     rows it received (session key known to client and nodes only).
 * A failed, malformed or missing proof flags the node (`node NAME flagged:
 * REASON` on stderr, a FLAG event in the ledger when one is given); the
 * shard is re-run on the next unflagged node (every node holds the
 * checkpoint in its --models directory: the verifier never needs the
 * weights, the nodes do). A node that is down is skipped without a flag.
 * Prefill is proven in chunks of at most VEIL_ZK_MAX_T tokens
 * (veil_zk_chunk), every decode step as one token: proving cost per step
 * grows with the context (attention over the cache), not with its square.
 * See docs/BENCHMARKS.md "zkDPS inference proofs".
 *
 * `--int` without proofs uses the same frames with the prove flag clear.
 * The text equals `veil generate --int` with the same arguments. */
#ifndef VEIL_CRITICAL_H
#define VEIL_CRITICAL_H

#include "veil/adversary.h"
#include "veil/generate.h"
#include "veil/ledger.h"
#include "veil/protocol.h"
#include "veil/zk_layer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ZK_FORWARD payload (docs/PROTOCOL.md): sha256[32] first last pos T flags
 * key[32] nonce[32] then (pos + T) x dim int32 (all u32/int32
 * little-endian): the shard's input at every position so far. */
#define VEIL_CRIT_FWD_HDR 116
#define VEIL_CRIT_PROVE 1u /* flags bit 0: attach a proof */
/* flags bit 1 (with bit 0): send the rows at once (ZK_RESULT with proof
 * length 0) and the proof later in a ZK_PROOF frame, so the next shard can
 * start while this one proves. */
#define VEIL_CRIT_EARLY 2u

/* ---- node side (called by src/net/node.c for ZK_FORWARD frames) ---------- */

/* The checkpoint hash a ZK_FORWARD payload names (to find it in --models). */
int veil_crit_payload_model(const uint8_t *p, size_t n, uint8_t sha[32]);
/* Sends one reply frame (ZK_RESULT or ZK_PROOF) back to the client. */
typedef int (*veil_crit_send_fn)(void *ctx, int type, const void *payload, size_t len);
/* The proof of an early-mode request, left for later: defer(ctx, job)
 * takes it (returns 0 and later calls veil_crit_job_run exactly once) or
 * refuses (non-zero: the proof is made at once). */
typedef struct veil_crit_job veil_crit_job;
typedef int (*veil_crit_defer_fn)(void *ctx, veil_crit_job *job);
/* Prove, send the ZK_PROOF through send, free the job; *proof_len (may be
 * NULL) gets the proof's size. */
int veil_crit_job_run(veil_crit_job *job, veil_crit_send_fn send, void *ctx, size_t *proof_len);
void veil_crit_job_free(veil_crit_job *job);
/* Serve one ZK_FORWARD payload with checkpoint m, answering through send
 * (one ZK_RESULT, or in early mode ZK_RESULT then ZK_PROOF, the proof via
 * defer when given). adv (may be NULL) makes the node dishonest for tests:
 * wrong-model computes with one weight of the shard altered, stale replays
 * its previous answer, every other mode alters one output activation. */
int veil_crit_serve(const veil_model *m, const veil_adv_mode *adv, const uint8_t *p, size_t n,
                    veil_crit_send_fn send, void *ctx, veil_crit_defer_fn defer);
/* Drop the node's cached quantized copy of m (at node stop). */
void veil_crit_forget(const veil_model *m);

/* ZK_LOAD (SVE + critical): the client's transformed integer weights of
 * layers first:last, which the node keeps for the connection and serves
 * like a checkpoint, named in ZK_FORWARD by the payload's SHA-256
 * (answered ZK_LOADED with that id). Payload, little-endian: the config as
 * 8 u32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 * seq_len, shared_classifier), u32 first, u32 last, then (last - first) x
 * veil_layer_floats int32 Q16 weights (veil_layer_to_floats order), each
 * within +-VEIL_Q_WMAX. adv: wrong-model alters one weight per layer. */
#define VEIL_CRIT_LOAD_HDR 40
typedef struct veil_crit_upload veil_crit_upload;
int veil_crit_upload_parse(const uint8_t *p, size_t n, const veil_adv_mode *adv, veil_crit_upload **out);
const uint8_t *veil_crit_upload_id(const veil_crit_upload *u); /* 32 bytes */
size_t veil_crit_upload_bytes(const veil_crit_upload *u);
void veil_crit_upload_free(veil_crit_upload *u);
/* veil_crit_serve for a ZK_FORWARD naming an upload (its layers only). */
int veil_crit_serve_upload(const veil_crit_upload *u, const veil_adv_mode *adv, const uint8_t *p, size_t n,
                           veil_crit_send_fn send, void *ctx, veil_crit_defer_fn defer);

/* ---- client side ---------------------------------------------------------- */

typedef struct {
    const char *const *nodes; /* "HOST:PORT" each */
    int n_nodes;
    const veil_transport *transport; /* default plain */
    int timeout_ms;                  /* per reply, default 600000 (proofs are slow) */
    int prove;                       /* 1 = critical (proofs), 0 = --int only */
    int sync;                        /* prove: 1 = each shard's proof before the next shard
                                      * starts; 0 = pipelined (VEIL_CRIT_EARLY: all shards of a
                                      * step prove at once, all verified before use) */
    const veil_zk_registry *registry; /* prove: NULL = commit the model here */
    int sve;                         /* veil_sve_variant (prove only, no registry), 0 = off:
                                      * secret transforms folded into each shard's weights,
                                      * which the client quantizes, commits and uploads
                                      * (ZK_LOAD); hidden states cross the network only in
                                      * the secret basis */
    int sve_hop;                     /* with sve: back to the client and into a fresh basis
                                      * after every sve_hop shards (0 = one basis) */
    veil_ledger *ledger;             /* NULL = no reputation record */
    int quiet;                       /* no progress lines on stderr */
    const char *name;                /* client name in HELLO */
} veil_crit_opts;

typedef struct {
    int steps;              /* forward calls served */
    int proofs;             /* proofs verified */
    int flags;              /* nodes flagged */
    int reruns;             /* shard steps re-run on another node */
    uint64_t proof_bytes;   /* proof bytes received (accepted ones) */
    uint64_t bytes_sent, bytes_received;
    double verify_s;        /* client time spent verifying */
    double proof_wait_s;    /* pipelined: time from a step's last rows to its last proof,
                             * i.e. how long proving held decode back */
} veil_crit_stats;

typedef struct veil_crit veil_crit;

/* Connect to the nodes (ledger-flagged ones are skipped) and cut the layers
 * into min(nodes, layers) shards by advertised capacity. m must outlive c. */
int veil_crit_new(const veil_model *m, const veil_crit_opts *o, veil_crit **out);
veil_backend veil_crit_backend(veil_crit *c);
void veil_crit_get_stats(const veil_crit *c, veil_crit_stats *out);
/* Layer range and current node name of shard s (s < veil_crit_n_shards). */
int veil_crit_n_shards(const veil_crit *c);
void veil_crit_shard(const veil_crit *c, int s, int *first, int *last, const char **node);
void veil_crit_free(veil_crit *c); /* wipes the session key */

#ifdef __cplusplus
}
#endif
#endif
