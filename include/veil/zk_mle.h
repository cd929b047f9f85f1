/* veil zk core: multilinear extensions (paper eqs. 8-10) and eq-tables.
 *
 * A table of 2^n field elements is the multilinear polynomial that takes
 * tab[i] at the Boolean point whose bits spell i, most significant bit
 * first: point coordinate r[0] binds the top bit of the index.  With this
 * order, fixing the first variable is the contiguous in-place fold
 * tab[i] += r * (tab[i + half] - tab[i]), and a row-major matrix with
 * 2^a rows and 2^b columns is the polynomial M(row bits, column bits). */
#ifndef VEIL_ZK_MLE_H
#define VEIL_ZK_MLE_H

#include "veil/zk_field.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of variables any zk protocol accepts (2^30 elements). */
#define VEIL_MLE_MAX_VARS 30

/* Smallest n with 2^n >= len (0 for len <= 1). */
unsigned veil_mle_log2(size_t len);

/* out[i] = eq(r, i) = prod_k (r_k b_k + (1 - r_k)(1 - b_k)) for all 2^n
 * indices i (eq. 9).  O(2^n). */
void veil_mle_eq_table(veil_fe *out, const veil_fe *r, unsigned n);

/* eq(a, b) for two points of n coordinates. */
void veil_mle_eq_eval(veil_fe *out, const veil_fe *a, const veil_fe *b, unsigned n);

/* Bind the first variable to r: tab becomes len/2 long (len a power of
 * two >= 2).  Multi-threaded for long tables. */
void veil_mle_fold(veil_fe *tab, size_t len, const veil_fe *r);

/* The multilinear extension of tab (2^n entries) at point r (eq. 8).
 * Does not modify tab; VEIL_ENOMEM if scratch cannot be allocated. */
int veil_mle_eval(veil_fe *out, const veil_fe *tab, unsigned n, const veil_fe *r);

/* The extension of the zero-padded table whose first len entries are
 * given (len <= 2^n).  Same cost as veil_mle_eval on 2^n entries. */
int veil_mle_eval_padded(veil_fe *out, const veil_fe *tab, size_t len, unsigned n,
                         const veil_fe *r);

/* The extension of the table t[i] = i (0 <= i < 2^n) at r: sum_k 2^(n-1-k) r_k.
 * Range-check tables are evaluated this way by the verifier in O(n). */
void veil_mle_eval_identity(veil_fe *out, const veil_fe *r, unsigned n);

#ifdef __cplusplus
}
#endif
#endif
