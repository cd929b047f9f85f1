/* veil zk layer proofs: zkDPS proofs that a node ran its committed shard of
 * the integer forward pass (veil/qmodel.h) on a committed input.
 *
 * Statement of a shard proof: for the public shape (config, layers
 * [first, last), T tokens at positions 0..T-1) and a request nonce,
 *   X_out = layers_{first..last-1}(X_in)
 * exactly as veil_qshard_forward_batch computes it, where X_in and X_out
 * (T x dim, Q16) are known to the verifier only by their Hyrax commitments
 * and each layer's weights only by the registry commitment
 * (veil_zk_commit_model).  The output commitment of one shard is the input
 * commitment of the next (same session key, same bits), so a client checks
 * the whole pipeline by comparing commitments and verifying each proof.
 *
 * Coverage: every operation of the layer (RMSNorm with its per-row
 * reciprocal-RMS tables, the seven matrix products, RoPE, causal softmax
 * attention with max-shift and exp digit tables, SwiGLU with the sigmoid
 * table, residuals, every rescale remainder range-checked).  Limits: one
 * prefill pass from position 0 (decode steps against a committed KV cache
 * are not proven yet); the sum-check messages and evaluation values are not
 * masked (sound and binding, weights hidden behind commitments, but not
 * zero-knowledge in the formal sense).  See docs/SECURITY.md "zkDPS proofs". */
#ifndef VEIL_ZK_LAYER_H
#define VEIL_ZK_LAYER_H

#include "veil/qmodel.h"
#include "veil/zk_commit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_ZK_KEY_BYTES 32
#define VEIL_ZK_NONCE_BYTES 32
/* Largest T of one proof (the witness grows with T^2 for attention). */
#define VEIL_ZK_MAX_T 256

/* Generators shared by every layer proof (enough columns for the largest
 * tensor of the model); built once per process. */
int veil_zk_layer_gens(const veil_config *c, const veil_pedersen_gens **out);

/* ---- model registry --------------------------------------------------------- */

typedef struct {
    veil_config cfg;
    uint8_t model_sha256[32];
    int n_layers;
    veil_hyrax_commitment *layer; /* n_layers commitments to the padded weight pools */
} veil_zk_registry;

/* Commit every layer's weights (deterministic blindings derived from the
 * checkpoint's SHA-256, so the prover can reproduce them; the verifier never
 * sees the weights).  progress (may be NULL) is called after each layer. */
int veil_zk_commit_model(const veil_model *m, const veil_qmodel *q, veil_zk_registry *out,
                         void (*progress)(void *ctx, int done, int total), void *ctx);
void veil_zk_registry_free(veil_zk_registry *r);
int veil_zk_registry_write(const veil_zk_registry *r, const char *path);
/* Parses and validates an untrusted registry file. */
int veil_zk_registry_read(const char *path, veil_zk_registry *out);

/* ---- shard proofs ------------------------------------------------------------ */

typedef struct {
    int first, last, T;
    uint8_t nonce[VEIL_ZK_NONCE_BYTES];
    uint8_t *in_commit, *out_commit; /* serialized Hyrax commitments */
    size_t commit_len;
    uint8_t *body;
    size_t body_len;
} veil_zk_shard_proof;

/* Prove layers [first, last) on x_in (T x dim Q16, positions 0..T-1).
 * session_key derives the boundary blindings (the same key along the
 * pipeline); x_out (may be NULL) receives the output. */
int veil_zk_prove_shard(const veil_model *m, const veil_qmodel *q, int first, int last, int T,
                        const int32_t *x_in, const uint8_t session_key[VEIL_ZK_KEY_BYTES],
                        const uint8_t nonce[VEIL_ZK_NONCE_BYTES], veil_zk_shard_proof *out,
                        int32_t *x_out);
/* Verify against the registry (weights) and the expected nonce. */
int veil_zk_verify_shard(const veil_zk_registry *reg, const veil_zk_shard_proof *p,
                         const uint8_t nonce[VEIL_ZK_NONCE_BYTES]);
/* The commitment a client expects for boundary activations it knows (e.g.
 * the embedding rows it sends, or the output it receives). */
int veil_zk_boundary_commit(const veil_config *c, int T, const int32_t *x,
                            const uint8_t session_key[VEIL_ZK_KEY_BYTES], int boundary,
                            uint8_t **out, size_t *len);

/* The pipeline link between consecutive shard proofs: a.last == b.first,
 * same T and nonce, and a's output commitment is b's input commitment.
 * 0 or VEIL_EVERIFY. */
int veil_zk_shard_link(const veil_zk_shard_proof *a, const veil_zk_shard_proof *b);
/* The proof's input commitment equals `expect` (e.g. the client's own
 * commitment to the embedding rows it sent).  0 or VEIL_EVERIFY. */
int veil_zk_shard_input_is(const veil_zk_shard_proof *p, const uint8_t *expect, size_t len);
int veil_zk_shard_output_is(const veil_zk_shard_proof *p, const uint8_t *expect, size_t len);

void veil_zk_shard_proof_free(veil_zk_shard_proof *p);
int veil_zk_shard_proof_write(const veil_zk_shard_proof *p, uint8_t **out, size_t *len);
/* Parses untrusted bytes (every length checked). */
int veil_zk_shard_proof_read(const uint8_t *in, size_t len, veil_zk_shard_proof *out);

#ifdef __cplusplus
}
#endif
#endif
