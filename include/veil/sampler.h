/* veil sampler: greedy, temperature and top-p, with run.c's xorshift RNG so
 * that a seed gives the same text as llama2.c. */
#ifndef VEIL_SAMPLER_H
#define VEIL_SAMPLER_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float prob;
    int index;
} veil_prob_index;

typedef struct {
    int vocab_size;
    float temperature;
    float topp;
    uint64_t rng_state;
    veil_prob_index *probindex; /* scratch for top-p */
} veil_sampler;

int veil_sampler_init(veil_sampler *s, int vocab_size, float temperature, float topp,
                      uint64_t seed);
void veil_sampler_free(veil_sampler *s);
/* Pick the next token; logits are modified (scaled, softmaxed). */
int veil_sample(veil_sampler *s, float *logits);
int veil_argmax(const float *v, int n);
uint32_t veil_random_u32(uint64_t *state);
float veil_random_f32(uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif
