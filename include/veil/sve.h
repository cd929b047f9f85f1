/* veil sve: Sequential Vector Encryption (paper §2.2) for llama blocks.
 *
 * The client draws secret invertible transforms and folds them into the
 * weights of every shard, so that the unmodified forward pass
 * (veil_shard_forward) computes correctly on hidden states that no node sees
 * in the model's own coordinates.  docs/SECURITY.md "Sequential Vector
 * Encryption" has the algebra and the attack figures; the short version:
 *
 *   residual stream   x' = Q x, Q orthogonal (paper: signed permutation,
 *                     strong: dense Haar-random), one Q per hop segment;
 *                     RMSNorm gains are folded into the following matrices
 *                     and the transformed gains are all ones;
 *   SwiGLU hidden     h' = D P h: shared permutation P of gate/up units,
 *                     per-unit scaling D of the up branch, undone in w2;
 *   attention         per KV head: a scaled 2x2 rotation per RoPE pair on k
 *                     and its inverse transpose on q (commutes with RoPE),
 *                     an invertible map V on values undone in wo; heads are
 *                     permuted (KV heads as blocks, query heads within their
 *                     group).
 *
 * The residual add forces one basis for every layer between two visits of
 * the client, so node-to-node boundaries cannot change Q; `hop` M > 0 makes
 * the hidden state return to the client after every M shards, which moves it
 * into the next segment's fresh Q (veil_sve_rekey_hop).
 *
 * Typical client use (network layer, one session):
 *
 *   veil_sve_keys *k;
 *   veil_sve_keys_new(&cfg, VEIL_SVE_STRONG, n, bounds, hop, &k);
 *   for each shard s:   veil_sve_transform_shard(k, s, model->layers + bounds[s],
 *                                                bounds[s], bounds[s+1], buf);
 *                       ship buf (veil_layer_to_floats layout) to its node;
 *   per request:        veil_embed(...); veil_sve_enter(k, x, T);
 *                       for each shard s: send x to s, receive x;
 *                           if (veil_sve_hop_after(k, s)) veil_sve_rekey_hop(k, s, x, T);
 *                       veil_sve_exit(k, x, T); veil_head(...);
 *   veil_sve_keys_free(k);   (wipes every secret)
 */
#ifndef VEIL_SVE_H
#define VEIL_SVE_H

#include "veil/generate.h"
#include "veil/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VEIL_SVE_PAPER = 1,  /* monomial maps: signed permutations, positive scalings */
    VEIL_SVE_STRONG = 2, /* dense Haar orthogonal residual, continuous head maps */
} veil_sve_variant;

/* "paper" or "strong"; 0 or VEIL_EINVAL. */
int veil_sve_variant_parse(const char *s, veil_sve_variant *out);
const char *veil_sve_variant_name(veil_sve_variant v);

typedef struct veil_sve_keys veil_sve_keys;

/* Draw fresh keys (OpenSSL RAND_bytes) for a pipeline of n_shards shards,
 * shard s running layers [boundaries[s], boundaries[s+1]) with
 * 0 = boundaries[0] < ... < boundaries[n_shards] = cfg->n_layers.
 * hop = 0: the client sees the state only at entry and exit (one residual
 * basis for the whole pipeline); hop = M > 0: after every M shards (except
 * the last) the state returns to the client and changes basis (M >= n_shards
 * behaves as 0; M <= VEIL_MAX_LAYERS). */
int veil_sve_keys_new(const veil_config *cfg, veil_sve_variant v, int n_shards,
                      const int *boundaries, int hop, veil_sve_keys **out);
void veil_sve_keys_free(veil_sve_keys *k); /* wipes all key material */

veil_sve_variant veil_sve_keys_variant(const veil_sve_keys *k);
int veil_sve_keys_shards(const veil_sve_keys *k);
/* Residual basis segments (one per client visit, hop segments). */
int veil_sve_keys_segments(const veil_sve_keys *k);

/* Transformed weights of shard `shard_idx` into out, layer after layer in
 * the layout of veil_layer_to_floats ((last-first) * veil_layer_floats
 * floats); layers_in[i] are the plain weights of layer first+i.  first/last
 * must equal the shard's boundaries.  Point a veil_layer at each layer of out
 * with veil_layer_from_floats and build the node's veil_shard over them. */
int veil_sve_transform_shard(const veil_sve_keys *k, int shard_idx, const veil_layer *layers_in,
                             int first, int last, float *out);

/* Client side, on T rows of dim floats each (in place):
 * enter: plain (embedding) coordinates -> basis of shard 0;
 * exit:  basis of the last shard -> plain, before veil_head;
 * rekey_hop: basis of shard s -> basis of shard s+1 (identity inside a
 * segment); hop_after(k, s) says whether the client must do it after s. */
int veil_sve_enter(const veil_sve_keys *k, float *x, int T);
int veil_sve_exit(const veil_sve_keys *k, float *x, int T);
int veil_sve_hop_after(const veil_sve_keys *k, int shard_idx);
int veil_sve_rekey_hop(const veil_sve_keys *k, int shard_idx, float *x, int T);
/* Move rows from plain coordinates into the basis of shard s, and back
 * (used by the attack evaluation and by tests). */
int veil_sve_to_shard_basis(const veil_sve_keys *k, int shard_idx, float *x, int T);
int veil_sve_from_shard_basis(const veil_sve_keys *k, int shard_idx, float *x, int T);

/* Key policy of a client (--sve-keys session|request|reuse:N):
 * session: one key set for the whole session; request: fresh keys (and
 * freshly transformed weights) for every request; reuse:N: fresh keys every
 * N requests. */
typedef enum { VEIL_SVE_KEYS_SESSION = 0, VEIL_SVE_KEYS_REQUEST = 1, VEIL_SVE_KEYS_REUSE = 2 } veil_sve_policy_kind;
typedef struct {
    veil_sve_policy_kind kind;
    long n; /* REUSE: requests per key set (>= 1) */
} veil_sve_policy;
int veil_sve_policy_parse(const char *s, veil_sve_policy *out);
/* Writes "session", "request" or "reuse:N". */
void veil_sve_policy_format(const veil_sve_policy *p, char *buf, size_t n);
/* 1 when keys must be drawn (and weights re-shipped) before request number
 * req (0-based) of the session. */
int veil_sve_policy_fresh(const veil_sve_policy *p, long req);

/* Split n_layers into n_shards contiguous ranges as evenly as possible
 * (earlier shards get the extra layers); bounds has n_shards + 1 entries. */
int veil_sve_even_bounds(int n_layers, int n_shards, int *bounds);

/* ---- a whole SVE pipeline in one process --------------------------------
 * Keys, transformed weights and one veil_shard per shard, chained exactly as
 * the nodes and the client chain them (enter, shards, hops, exit).  Used by
 * the tests, the benchmarks, `veil attack invert --sve` and as the reference
 * for the network layer. */
typedef struct veil_sve_local veil_sve_local;
int veil_sve_local_new(const veil_model *m, veil_sve_variant v, int n_shards, int hop,
                       int max_seq, veil_sve_local **out);
void veil_sve_local_free(veil_sve_local *l); /* wipes keys and transformed weights */
const veil_sve_keys *veil_sve_local_keys(const veil_sve_local *l);
/* The shard s as a node holds it (transformed weights, its own KV cache). */
veil_shard *veil_sve_local_shard(const veil_sve_local *l, int s);
/* Transformed layer `layer` (as shipped to its node). */
const veil_layer *veil_sve_local_layer(const veil_sve_local *l, int layer);
/* Backend for veil_generate: enter, every shard (with hops), exit. */
veil_backend veil_sve_local_backend(veil_sve_local *l);
/* Optional observer of what each node receives: called with the shard
 * index and the T x dim states in that shard's basis before it runs. */
typedef void (*veil_sve_observer)(void *ctx, int shard, int pos, int T, const float *x);
void veil_sve_local_set_observer(veil_sve_local *l, veil_sve_observer fn, void *ctx);

/* ---- attacks on SVE (security evaluation) ------------------------------
 * A node at depth K (0..n_layers: after layers 0..K-1) sees the residual
 * states in its shard's basis.  veil_sve_observe runs tokens[0..T) through
 * the transformed pipeline from position 0 and returns exactly those states
 * (T x dim); K = 0 is what shard 0 receives. */
int veil_sve_observe(veil_sve_local *l, const veil_model *m, const int *tokens, int T,
                     int layer, float *out);
/* Index of the shard whose node computes depth K (K = 0: shard 0). */
int veil_sve_shard_of_depth(const veil_sve_keys *k, int layer);

/* Known-weights attack: a node holding the transformed layer `xf` of a
 * public model (plain weights `plain`) estimates the residual basis Q:
 * w1' = P w1 diag(g) Q^T, so w1'^T w1' = Q (diag(g) w1^T w1 diag(g)) Q^T
 * (the SwiGLU permutation cancels); both Gram matrices are diagonalised and
 * the eigenvector signs fixed by matching sorted columns.  q_est: dim x dim. */
int veil_sve_attack_known_weights(const veil_config *c, const veil_layer *plain,
                                  const veil_layer *xf, double *q_est);
/* Covariance attack under key reuse: n_obs observed states (one basis) and
 * n_pub plain states of public text at the same depth; aligns the
 * principal axes of both covariances (signs from the means, or the
 * third moments where a mean projection is small). */
int veil_sve_attack_covariance(int dim, const float *pub, long n_pub, const float *obs,
                               long n_obs, double *q_est);
/* x <- q_est^T x on T rows: the attacker's decoding (0 or VEIL_ENOMEM). */
int veil_sve_attack_decode(int dim, const double *q_est, float *x, int T);
/* Evaluation only (uses the secret): ||q_est - Q_s||_F / ||Q_s||_F. */
double veil_sve_basis_error(const veil_sve_keys *k, int shard_idx, const double *q_est);

/* ---- `veil attack invert --sve`: observation under a key policy ---------
 * Requests (sequences) are observed one after the other through an SVE
 * pipeline whose keys follow `policy`; the attacker's decoding `atk`
 * (VEIL_SVE_ATK_NONE: attack the states as observed) is applied:
 * KNOWN_WEIGHTS per key set at once from the layer the observing node holds,
 * COVARIANCE in veil_sve_invert_finish, pooling every request of a key set
 * and comparing with n_pub public sequences sampled from the model. */
typedef enum {
    VEIL_SVE_ATK_NONE = 0,
    VEIL_SVE_ATK_KNOWN_WEIGHTS = 1,
    VEIL_SVE_ATK_COVARIANCE = 2,
} veil_sve_atk;
int veil_sve_atk_parse(const char *s, veil_sve_atk *out); /* none|known-weights|covariance */
const char *veil_sve_atk_name(veil_sve_atk a);

typedef struct veil_sve_invert veil_sve_invert;
int veil_sve_invert_new(const veil_model *m, veil_sve_variant v, const veil_sve_policy *policy,
                        int hop, int layer, veil_sve_atk atk, veil_sve_invert **out);
void veil_sve_invert_free(veil_sve_invert *s);
/* Observe one request: rows row_start..row_start+T-1 of obs (x dim). */
int veil_sve_invert_observe(veil_sve_invert *s, const int *tokens, int T, float *obs,
                            long row_start);
/* Apply the pooled decoding (covariance) to every observed row of obs. */
int veil_sve_invert_finish(veil_sve_invert *s, float *obs);
/* One line: variant, policy, key sets, attack and the attacker's mean basis
 * error ||Q_est - Q||_F / ||Q||_F (1.41 ~ unrelated orthogonal matrices). */
void veil_sve_invert_summary(const veil_sve_invert *s, char *buf, size_t n);
/* The CLI's entry: --sve VARIANT [--sve-keys POLICY] [--sve-hop M]
 * [--sve-attack A] as strings (NULL = default: session, 0, none).  *out is
 * NULL (and 0 returned) when variant is NULL and no other SVE option is set. */
int veil_sve_invert_from_args(const veil_model *m, int layer, const char *variant,
                              const char *keys, const char *hop, const char *attack,
                              veil_sve_invert **out);

#ifdef __cplusplus
}
#endif
#endif
