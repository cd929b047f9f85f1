/* Token sampling exactly as llama2.c's run.c (same RNG, same order). */
#include "veil/sampler.h"
#include "veil/model.h"

#include <stdlib.h>

int veil_sampler_init(veil_sampler *s, int vocab_size, float temperature, float topp,
                      uint64_t seed)
{
    s->vocab_size = vocab_size;
    s->temperature = temperature;
    s->topp = topp;
    s->rng_state = seed;
    s->probindex = malloc((size_t)vocab_size * sizeof *s->probindex);
    return s->probindex ? 0 : veil_fail(VEIL_ENOMEM, "out of memory");
}

void veil_sampler_free(veil_sampler *s)
{
    free(s->probindex);
    s->probindex = NULL;
}

uint32_t veil_random_u32(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

float veil_random_f32(uint64_t *state)
{
    return (float)(veil_random_u32(state) >> 8) / 16777216.0f;
}

int veil_argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static int sample_mult(const float *probs, int n, float coin)
{
    float cdf = 0.0f;
    for (int i = 0; i < n; i++) {
        cdf += probs[i];
        if (coin < cdf) return i;
    }
    return n - 1; /* rounding */
}

static int compare_desc(const void *a, const void *b)
{
    const veil_prob_index *x = a, *y = b;
    if (x->prob > y->prob) return -1;
    if (x->prob < y->prob) return 1;
    return 0;
}

static int sample_topp(const float *probs, int n, float topp, veil_prob_index *pi, float coin)
{
    /* tokens below this cutoff can never be part of the nucleus */
    const float cutoff = (1.0f - topp) / (float)(n - 1);
    int n0 = 0;
    for (int i = 0; i < n; i++)
        if (probs[i] >= cutoff) pi[n0++] = (veil_prob_index){probs[i], i};
    qsort(pi, n0, sizeof *pi, compare_desc);
    float cum = 0.0f;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cum += pi[i].prob;
        if (cum > topp) {
            last = i;
            break;
        }
    }
    float r = coin * cum, cdf = 0.0f;
    for (int i = 0; i <= last; i++) {
        cdf += pi[i].prob;
        if (r < cdf) return pi[i].index;
    }
    return pi[last].index;
}

int veil_sample(veil_sampler *s, float *logits)
{
    if (s->temperature == 0.0f) return veil_argmax(logits, s->vocab_size);
    for (int q = 0; q < s->vocab_size; q++)
        logits[q] /= s->temperature;
    veil_softmax(logits, s->vocab_size);
    float coin = veil_random_f32(&s->rng_state);
    if (s->topp <= 0 || s->topp >= 1) return sample_mult(logits, s->vocab_size, coin);
    return sample_topp(logits, s->vocab_size, s->topp, s->probindex, coin);
}
