/* veil synth: deterministic random-weight checkpoints of any llama shape,
 * with a matching byte-level tokenizer, for tests and benchmarks. */
#ifndef VEIL_SYNTH_H
#define VEIL_SYNTH_H

#include "veil/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write a legacy-format checkpoint of shape c (shared classifier unless
 * c->shared_classifier == 0) with weights drawn from `seed`. */
int veil_synth_model(const veil_config *c, uint64_t seed, const char *path);
/* Write a tokenizer.bin for vocab_size tokens: <unk>, <s>, </s>, the 256
 * <0xNN> byte tokens (when they fit), printable ASCII, then letter pairs. */
int veil_synth_tokenizer(int vocab_size, const char *path);
/* Fill the legacy weight floats for shape c in memory (the array has
 * the same layout as the file after its header). */
float *veil_synth_floats(const veil_config *c, uint64_t seed, size_t *n_floats);

#ifdef __cplusplus
}
#endif
#endif
