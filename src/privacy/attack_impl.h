/* Private state shared by the attack sources (attack.c, attack_match.c,
 * attack_linear.c). */
#ifndef VEIL_ATTACK_IMPL_H
#define VEIL_ATTACK_IMPL_H

#include "veil/attack.h"

struct veil_attacker {
    const veil_model *m;
    veil_attack_opts o;
    int dim, vocab;
    float *emb_unit; /* vocab x dim: embedding rows scaled to unit norm */
    float *lin_w;    /* vocab x (dim+1): ridge inverter, bias last; NULL if untrained */
};

/* Indices of the k largest of score[0..n) (ties: lower index first), best first. */
void attack_topk(const float *score, int n, int k, int *out);
/* Scores of every vocabulary entry for one observed row (higher = likelier):
 * cosine to the embedding (NEAREST) or the linear inverter (LINEAR). */
void attack_nearest_scores(const veil_attacker *a, const float *row, float *score);
void attack_linear_scores(const veil_attacker *a, const float *row, float *score);
/* The vocab-match family (attack_match.c). */
int attack_match(veil_attacker *a, veil_attack_method m, const float *obs, int T, int *top);

#endif
