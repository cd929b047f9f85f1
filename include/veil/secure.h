/* veil secure transport: TLS 1.3 (veil/tls.h) plus channel-bound remote
 * attestation (veil/attest.h) on every connection, as a veil_transport the
 * node and the orchestrator use unchanged (implemented in src/net/secure.c).
 *
 * After the TLS handshake the two ends run veil_attest_mutual:
 *   - the connecting side (client -> node, node -> next node) challenges the
 *     accepting side and requires evidence that verifies under the policy:
 *     user data and hidden states only ever flow to attested nodes;
 *   - then the accepting side challenges the connecting side: a node that
 *     connects (its previous neighbour) answers with its own evidence, which
 *     must verify (mutual attestation between neighbours); a user's client
 *     (no attester) answers "no evidence" and is accepted as unattested,
 *     unless require_peer_evidence is set.
 * Verified claims are kept per peer_id for the scheduler (TEE type, capacity).
 * A failed attestation fails the connection with the reason. */
#ifndef VEIL_SECURE_H
#define VEIL_SECURE_H

#include "veil/attest.h"
#include "veil/protocol.h"
#include "veil/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    veil_tls_ctx *tls;          /* borrowed, required */
    veil_attester *attester;    /* borrowed; NULL on a user's client */
    const veil_policy *policy;  /* copied; required */
    int require_peer_evidence;  /* accepting side refuses unattested peers */
    const char *name;           /* for log lines */
    int quiet;
} veil_secure_opts;

typedef struct veil_secure veil_secure;

int veil_secure_new(const veil_secure_opts *o, veil_secure **out);
void veil_secure_free(veil_secure *s);
/* The transport (kind "tls+attest"); s must outlive it. */
void veil_transport_attested(veil_secure *s, veil_transport *out);
/* Claims last verified for a peer (by TLS peer_id); VEIL_EINVAL if none. */
int veil_secure_peer_claims(veil_secure *s, const char *peer_id, veil_claims *out);

/* Everything a command line needs for --security tee in one call: loads the
 * TLS identity (key, allow), the attester (nodes: backend != NULL) and the
 * policy (policy file, else the default sim policy of `authority`), and
 * returns a veil_secure that owns them. Sim nodes measure this executable
 * plus `config` and `weights` when given (a blank TEE: weights pushed later
 * arrive over the attested channel and are not part of the measurement). */
typedef struct {
    const char *key;        /* --key NAME (required) */
    const char *allow;      /* --allow FILE (optional) */
    const char *backend;    /* nodes: "sim" | "sev-snp" | "tdx"; NULL on a client */
    const char *authority;  /* sim authority DIR (nodes: platform key; all: root) */
    const char *policy;     /* policy FILE (optional) */
    const char *config;     /* sim: configuration file to measure (optional) */
    const char *weights;    /* sim: weights file to measure (optional) */
    int tee_type;           /* sim: reported type (default cpu-tee when 0 and backend) */
    uint64_t capacity_bytes;/* sim: reported capacity */
    uint32_t gpus;
    int require_peer_evidence;
    const char *name;
    int quiet;
} veil_secure_config;

int veil_secure_open(const veil_secure_config *c, veil_secure **out);

/* The attester a node's secure transport answers with (NULL on a client),
 * for veil_tee_create. */
veil_attester *veil_secure_attester(veil_secure *s);
/* Tie the node's TEE lifecycle (veil/tee.h) to the transport: every
 * connection on which this node produced evidence is recorded as attested
 * (veil_tee_attested_channel, step 2), and every attested neighbour as a link
 * (veil_tee_linked, step 4). t may be NULL to detach; it must outlive use. */
struct veil_tee;
void veil_secure_set_tee(veil_secure *s, struct veil_tee *t);

/* Time spent so far, for benchmarks: handshakes, attestation exchanges. */
typedef struct {
    uint64_t connections;
    double tls_seconds, attest_seconds;
} veil_secure_stats;
void veil_secure_get_stats(veil_secure *s, veil_secure_stats *out);

/* --security tee scheduling (src/net/orch_tee.c). Dial each of the n nodes
 * ("HOST:PORT") once over t, the attested transport of s, and keep the claims
 * its evidence verified to (out[i].ok = 1), or the reason it was refused
 * (out[i].ok = 0, why). The probe connection carries no protocol frame: no
 * data or weights reach a refused node, and the orchestrator's own
 * connections are attested again (evidence is bound to each channel).
 * Returns how many nodes verified. */
typedef struct {
    int ok;
    veil_claims claims;
    char why[256];
} veil_secure_probe_result;
int veil_secure_probe(veil_secure *s, const veil_transport *t, const char *const *nodes, int n,
                      int timeout_ms, veil_secure_probe_result *out);
/* Keep the verified nodes of a probe, heaviest-shard-first (GPU TEEs, then
 * capacity: veil_tee_schedule_order), writing their indices into order.
 * Returns how many. */
int veil_secure_probe_order(const veil_secure_probe_result *r, int n, int *order);

#ifdef __cplusplus
}
#endif
#endif
