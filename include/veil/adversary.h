/* veil adversary: dishonest shard behaviours, to test and demonstrate
 * verification (`veil node --adversary MODE`).
 *
 * A veil_adv_shard runs the same layers as veil_shard_new would, one
 * single-layer veil_shard per layer so that it can skip, alter or replace
 * layers, and exposes the same forward signature, so a node swaps
 * veil_shard_forward_batch(s, pos, T, x) for veil_adv_forward(a, pos, T, x).
 *
 * Modes (MODE strings):
 *   honest        no misbehaviour (baseline through the same wrapper)
 *   wrong-model   serves the layers of another checkpoint of the same shape
 *                 ($VEIL_MODEL_DIR/adversarial/stories260K-altered.bin unless
 *                 wrong-model:PATH)
 *   noise:SIGMA   honest output plus Gaussian noise of standard deviation SIGMA
 *   skip-layer    skips the shard's last layer (skip-layer:I skips layer I)
 *   stale         replays its previous output instead of computing
 *   random        Gaussian values scaled like its input
 *   lazy          returns its input unchanged
 *   collude[:SEED] honest output plus noise from a seed shared with its
 *                 accomplice, so two colluders return the same wrong answer
 *   jitter:EPS    HONEST but not bit-reproducible: per-layer relative rounding
 *                 noise EPS, standing in for other hardware (tolerance
 *                 calibration only) */
#ifndef VEIL_ADVERSARY_H
#define VEIL_ADVERSARY_H

#include "veil/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VEIL_ADV_HONEST = 0,
    VEIL_ADV_WRONG_MODEL,
    VEIL_ADV_NOISE,
    VEIL_ADV_SKIP_LAYER,
    VEIL_ADV_STALE,
    VEIL_ADV_RANDOM,
    VEIL_ADV_LAZY,
    VEIL_ADV_COLLUDE,
    VEIL_ADV_JITTER,
} veil_adv_kind;

typedef struct {
    veil_adv_kind kind;
    double param;      /* SIGMA, EPS, skipped layer (-1 = last), collusion seed */
    char path[1024];   /* wrong-model checkpoint ("" = default) */
} veil_adv_mode;

/* Parse a MODE string as listed above. */
int veil_adv_parse(const char *s, veil_adv_mode *out);
/* Canonical text of a mode, e.g. "noise:0.001". */
const char *veil_adv_name(const veil_adv_mode *m, char *buf, size_t cap);

typedef struct veil_adv_shard veil_adv_shard;

/* Same arguments as veil_shard_new plus the mode and a seed for its private
 * randomness (noise, random). */
int veil_adv_new(const veil_config *cfg, int first, int last, const veil_layer *layers,
                 int max_seq, const veil_adv_mode *mode, uint64_t seed, veil_adv_shard **out);
void veil_adv_free(veil_adv_shard *a);
/* Drop-in for veil_shard_forward_batch. */
int veil_adv_forward(veil_adv_shard *a, int pos, int T, float *x);
/* Per-layer hook, called with what the node actually computed per layer. */
void veil_adv_set_hook(veil_adv_shard *a, veil_layer_hook hook, void *ctx);
/* Startup banner, e.g. "ADVERSARIAL node: mode skip-layer (skips layer 4)". */
const char *veil_adv_banner(const veil_adv_shard *a);

#ifdef __cplusplus
}
#endif
#endif
