/* veil node: the daemon that hosts layer shards for remote clients.
 *
 * A node accepts connections (one thread each), speaks the protocol of
 * veil/protocol.h and keeps, per session, a veil_shard with its own KV cache.
 * Hidden states arrive in FORWARD frames (from the client for the first shard
 * of a chain, from the previous node otherwise), run through the shard, and
 * leave either to the next node (its own outbound connection per session) or
 * back to the client as RESULT. Weights are either pushed by the client
 * (chunked, SHA-256 verified before use) or loaded from the node's own
 * --models directory when the checkpoint hash and shard hash match; a node
 * only ever holds the layers it was asked for.
 *
 * Bounds: max sessions, max frame payload, memory for weights and KV caches,
 * max connections, idle timeout for connections and sessions. Every event is one
 * line on stderr ("veil node NAME: ..."). */
#ifndef VEIL_NODE_H
#define VEIL_NODE_H

#include "veil/adversary.h"
#include "veil/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *host;       /* listen address (default 127.0.0.1) */
    int port;               /* 0 = any free port (see veil_node_port) */
    const char *name;       /* shown to clients and in logs (default host:port) */
    const char *models_dir; /* NULL = only pushed weights */
    double capacity;        /* advertised relative speed (default 1) */
    int max_sessions;       /* default 64 */
    uint32_t max_frame;     /* default VEIL_DEFAULT_MAX_FRAME */
    size_t max_memory_bytes; /* shard weights + KV caches held (default 16 GiB) */
    int idle_timeout_ms;    /* connections and sessions (default 300000) */
    int max_conns;          /* default 4 * max_sessions + 16 */
    const veil_transport *transport; /* default plain */
    int quiet;              /* no log lines (tests) */
    /* critical requests in early mode: proofs run on this many workers
     * (default 1), sharing the kernel threads; the rows go out at once */
    int prove_workers;
    /* --adversary MODE (veil/adversary.h, borrowed): every session misbehaves
     * this way; for verification tests and demos. NULL = honest. */
    const veil_adv_mode *adversary;
    /* --security tee (veil/tee.h, optional, borrowed): shard weights are
     * tracked for the secure wipe and provisioned only over attested
     * channels (step 3), results leave only over TLS (step 5). */
    struct veil_tee *tee;
} veil_node_opts;

typedef struct veil_node veil_node;

/* Bind, index --models, and start serving on a background thread. */
int veil_node_start(const veil_node_opts *o, veil_node **out);
int veil_node_port(const veil_node *n);
const char *veil_node_name(const veil_node *n);
/* Stop accepting, close every connection, wait for their threads, free. */
void veil_node_stop(veil_node *n);
/* Counters since start (the same figures a STATS frame carries). */
void veil_node_stats(veil_node *n, veil_msg_stats *out);

#ifdef __cplusplus
}
#endif
#endif
