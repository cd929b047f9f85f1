/* veil attack: what a curious node learns from the hidden states it sees.
 *
 * The attacker holds the public model and observes, for a token sequence of
 * length T, the T x dim hidden states at one depth K (after layers 0..K-1;
 * K = 0 is the embedding output).  Where the states come from is not this
 * module's concern: plain split inference, DP-noised states, or states under
 * an obfuscating transform (SVE) are all just an `obs` matrix.  What the
 * attacker assumes is said in veil_attack_opts: the depth K and, when the
 * client clips (DP), the public clip norm.
 *
 * Methods (each returns the VEIL_ATTACK_TOPK best guesses per position):
 *   NEAREST      cosine-nearest row of the embedding matrix;
 *   LOGIT_LENS   the model's own head on the state (final norm + classifier)
 *                read as a guess of the current token;
 *   VOCAB_MATCH  position by position, run the public model on the recovered
 *                prefix + each vocabulary candidate up to depth K and pick the
 *                candidate whose state is nearest (L2) to the observation
 *                (Thomas et al. 2025; SIPIT 2025);
 *   SORTED_MATCH the same, comparing sorted coordinate values (invariant to a
 *                secret permutation of the coordinates);
 *   GRAM_MATCH   the same, comparing inner products with the prefix states
 *                and the norm (invariant to a secret orthogonal transform);
 *   LINEAR       ridge regression from states to one-hot tokens, trained on
 *                other public text observed the same way.
 * Position 0 is assumed to be BOS when opts.bos is set (as every veil request
 * starts with BOS); it is then given, not guessed, and not scored. */
#ifndef VEIL_ATTACK_H
#define VEIL_ATTACK_H

#include "veil/dp.h"
#include "veil/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VEIL_ATTACK_NEAREST = 0,
    VEIL_ATTACK_LOGIT_LENS,
    VEIL_ATTACK_VOCAB_MATCH,
    VEIL_ATTACK_SORTED_MATCH,
    VEIL_ATTACK_GRAM_MATCH,
    VEIL_ATTACK_LINEAR,
    VEIL_ATTACK_NMETHODS
} veil_attack_method;

#define VEIL_ATTACK_TOPK 5

/* CLI names: nearest, logit-lens, vocab-match, sorted-vocab-match,
 * gram-match, linear. */
const char *veil_attack_method_name(veil_attack_method m);
int veil_attack_parse_method(const char *s, veil_attack_method *out);

typedef struct {
    int layer;      /* K: observed after layers 0..K-1 (0..n_layers) */
    double clip;    /* > 0: the client clipped rows to this L2 norm (public) */
    int bos;        /* 1: position 0 is BOS */
    int candidates; /* vocab-match family: 0 = whole vocabulary, else the
                       union of the top-N of nearest and of the linear
                       inverter (when trained) */
    int threads;    /* workers for the vocab-match family (0 = kernel threads) */
} veil_attack_opts;

typedef struct veil_attacker veil_attacker;

int veil_attacker_new(const veil_model *m, const veil_attack_opts *o, veil_attacker **out);
void veil_attacker_free(veil_attacker *a);

/* Fit the linear inverter on n public (state, token) pairs observed the same
 * way as the target (same depth, same protection); lambda = ridge weight
 * relative to the mean diagonal of X^T X (e.g. 1e-3). */
int veil_attacker_train_linear(veil_attacker *a, const float *states, const int *tokens, int n,
                               double lambda);
int veil_attacker_has_linear(const veil_attacker *a);

/* Guess the tokens behind obs (T x dim): top[t*VEIL_ATTACK_TOPK + j] is the
 * j-th best guess at position t. */
int veil_attack_recover(veil_attacker *a, veil_attack_method m, const float *obs, int T,
                        int *top);

/* What a node at depth `layer` observes for `tokens` when the client runs
 * layers 0..split-1, applies `dp` (NULL = none) to the rows it sends, and
 * nodes run split..layer-1 (split <= layer).  out is T x dim. */
int veil_attack_observe(const veil_model *m, const int *tokens, int T, int split, int layer,
                        const veil_dp_mech *dp, veil_dp_rng *rng, float *out);

typedef struct {
    long n;          /* positions scored */
    long top1, top5; /* exact guesses, true token among the top 5 */
} veil_attack_score;

/* Score guesses against the truth (position 0 skipped when skip_bos). */
void veil_attack_score_add(veil_attack_score *s, const int *top, const int *truth, int T,
                           int skip_bos);

#ifdef __cplusplus
}
#endif
#endif
