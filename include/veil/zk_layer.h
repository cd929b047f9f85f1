/* veil zk layer proofs: zkDPS proofs that a node ran its committed shard of
 * the integer forward pass (veil/qmodel.h) on a committed input.
 *
 * Statement of a shard proof: for the public shape (config, layers
 * [first, last), the T tokens at positions pos..pos+T-1) and a request
 * nonce,
 *   X_out = layers_{first..last-1}(X_in | KV cache of positions 0..pos-1)
 * exactly as veil_qshard_forward_batch computes it, where X_in and X_out
 * (T x dim, Q16) are known to the verifier only by their Hyrax commitments,
 * each layer's weights only by the registry commitment (veil_zk_commit_model)
 * and the KV cache of earlier positions only by the commitments that earlier
 * verified proofs of the same shard added to the verifier's veil_zk_kv.  The
 * proof commits the K/V rows of its own positions, one commitment per
 * position and layer, which the verifier appends: so a generation is a
 * chain of proofs (a prefill chunk, then one proof per decode step) whose
 * cost per step grows with the context, not with its square.  The output
 * commitment of one shard is the input commitment of the next (same session
 * key, same bits), so a client checks the whole pipeline by comparing
 * commitments and verifying each proof.
 *
 * Coverage: every operation of the layer (RMSNorm with its per-row
 * reciprocal-RMS tables, the seven matrix products, RoPE, causal softmax
 * attention over the cache with max-shift and exp digit tables, SwiGLU with
 * the sigmoid table, residuals, every rescale remainder range-checked).  A
 * chunk of T tokens must start at a multiple of T rounded up to a power of
 * two (prefill from 0, single-token decode anywhere); veil_zk_chunk says
 * how to cut longer runs.  Limit: the sum-check messages and evaluation
 * values are not masked (sound and binding, weights hidden behind
 * commitments, but not zero-knowledge in the formal sense).  See
 * docs/SECURITY.md "zkDPS proofs". */
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
    int first, last, pos, T;
    uint8_t nonce[VEIL_ZK_NONCE_BYTES];
    uint8_t *in_commit, *out_commit; /* serialized Hyrax commitments */
    size_t commit_len;
    uint8_t *body;
    size_t body_len;
} veil_zk_shard_proof;

/* The largest chunk that may start at pos with n tokens left: min(n,
 * VEIL_ZK_MAX_T, the largest power of two dividing pos). */
int veil_zk_chunk(int pos, int n);

/* Prove the layers of sh over positions pos..pos+T-1 with input x_in
 * (T x dim Q16).  sh holds the KV cache of positions 0..pos-1 (run it over
 * the earlier inputs first) and is advanced over the chunk, exactly as
 * veil_qshard_forward_batch.  session_key derives the boundary and cache
 * blindings (the same key along the pipeline and the generation); x_out
 * (may be NULL) receives the output. */
int veil_zk_prove_shard(const veil_qmodel *q, veil_qshard *sh, int pos, int T,
                        const int32_t *x_in, const uint8_t session_key[VEIL_ZK_KEY_BYTES],
                        const uint8_t nonce[VEIL_ZK_NONCE_BYTES], veil_zk_shard_proof *out,
                        int32_t *x_out);

/* The same for a prover that keeps no state between steps (a node serving
 * any shard of any request): x holds the shard's input rows of positions
 * 0..pos+T-1; the cache is rebuilt by running layers [first, last) over the
 * first pos rows (no proof: an earlier proof covers them), then the last T
 * rows are proven. */
int veil_zk_prove_prefix(const veil_qmodel *q, int first, int last, int pos, int T,
                         const int32_t *x, const uint8_t session_key[VEIL_ZK_KEY_BYTES],
                         const uint8_t nonce[VEIL_ZK_NONCE_BYTES], veil_zk_shard_proof *out,
                         int32_t *x_out);

/* The verifier's record of one shard's KV cache: the commitments to the K
 * and V rows of every position proven so far. */
typedef struct veil_zk_kv veil_zk_kv;
int veil_zk_kv_new(const veil_config *c, int first, int last, veil_zk_kv **out);
int veil_zk_kv_len(const veil_zk_kv *kv); /* positions covered */
void veil_zk_kv_free(veil_zk_kv *kv);

/* Verify against the registry (weights), the expected nonce and the KV
 * record kv of the shard (its layers must match and kv_len == p->pos); on
 * success kv is extended by the proof's T positions, on failure it is left
 * as it was.  kv may be NULL for a proof from position 0. */
int veil_zk_verify_shard(const veil_zk_registry *reg, veil_zk_kv *kv,
                         const veil_zk_shard_proof *p, const uint8_t nonce[VEIL_ZK_NONCE_BYTES]);
/* The commitment a client expects for boundary activations it knows (e.g.
 * the embedding rows it sends, or the output it receives) at positions
 * pos..pos+T-1. */
int veil_zk_boundary_commit(const veil_config *c, int pos, int T, const int32_t *x,
                            const uint8_t session_key[VEIL_ZK_KEY_BYTES], int boundary,
                            uint8_t **out, size_t *len);

/* The pipeline link between consecutive shard proofs: a.last == b.first,
 * same positions and nonce, and a's output commitment is b's input commitment.
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
/* The request nonce of a proof, from its header only (magic and version
 * checked; the body is not parsed): to match a proof to its request. */
int veil_zk_shard_proof_nonce(const uint8_t *in, size_t len, uint8_t nonce[VEIL_ZK_NONCE_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
