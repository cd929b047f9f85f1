/* veil zk core: Pedersen commitments and their zero-knowledge proofs.
 *
 *  - Vector commitments with blinding (paper eq. 1): C = <v, G> + r H, and
 *    value commitments (eq. 3): C = t U + r H.  G, H, U come from a domain
 *    label by hashing to the group (nobody knows relations between them).
 *  - The opening proof of paper Algorithm 1: for committed S and t and a
 *    public y, <S, y> = t, zero knowledge, proof size O(d).
 *  - Hyrax-style commitments to a multilinear polynomial: its table of 2^n
 *    values (zk_mle.h order, most significant index bit first) is a matrix
 *    of 2^a rows and 2^b columns (a = n/2, b = n - a), one Pedersen
 *    commitment per row.  An evaluation f(z) is proven with a
 *    Bulletproofs-style inner-product argument with blinded L/R messages
 *    and a final Schnorr step, plus a proof that the value commitment opens
 *    over (U, H): zero knowledge, 2b + 2 points and 4 scalars.
 *
 * Every prover and verifier takes the caller's transcript: the caller
 * absorbs whatever the statement depends on beyond what is listed here
 * (each function lists what it absorbs itself).  Proof parsers take
 * untrusted bytes: they check every length, reject non-canonical scalars
 * and invalid points, and never read beyond the buffer. */
#ifndef VEIL_ZK_COMMIT_H
#define VEIL_ZK_COMMIT_H

#include "veil/zk_group.h"
#include "veil/zk_transcript.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- generators ----------------------------------------------------------- */

typedef struct {
    size_t n;               /* number of vector generators */
    veil_ge *g;             /* g[i] = hash(label + "/g", i) */
    veil_ge_affine *g_aff;  /* the same, prepared for MSM */
    veil_ge h, u;           /* blinding and value generators */
} veil_pedersen_gens;

/* Derive n vector generators plus H and U from label.  VEIL_ENOMEM. */
int veil_pedersen_gens_init(veil_pedersen_gens *pg, const char *label, size_t n);
void veil_pedersen_gens_free(veil_pedersen_gens *pg);

/* ---- commitments ------------------------------------------------------------ */

/* C = <v, g[0..n)> + r H (n <= pg->n; r may be NULL for r = 0).
 * threads: 0 = OpenMP default.  VEIL_EINVAL / VEIL_ENOMEM. */
int veil_pedersen_commit(veil_ge *C, const veil_pedersen_gens *pg, const veil_fe *v, size_t n,
                         const veil_fe *r, int threads);
/* The same for small signed integers (quantized tensors; fast path). */
int veil_pedersen_commit_i64(veil_ge *C, const veil_pedersen_gens *pg, const int64_t *v,
                             size_t n, const veil_fe *r, int threads);
/* C = t U + r H (r may be NULL: a public value, C = t U). */
void veil_pedersen_commit_value(veil_ge *C, const veil_pedersen_gens *pg, const veil_fe *t,
                                const veil_fe *r);

/* ---- Algorithm 1: opening proof of <S, y> = t -------------------------------- */

typedef struct {
    size_t d;
    veil_ge c_d, c_dy;  /* commitments to the mask D and to <D, y> */
    veil_fe *s;         /* S' = e S + D (d entries, heap) */
    veil_fe r_s, r_t;   /* e r_S + r_1, e r_t + r_2 */
} veil_open_proof;

/* Prover: knows S (d), its blinding r_s (c_s = <S, G> + r_s H) and the
 * blinding r_t of c_t = <S, y> U + r_t H (r_t NULL: public t, c_t = t U).
 * Absorbs c_s, c_t, y, then its own messages.  Allocates pf->s; free with
 * veil_open_proof_free. */
int veil_open_prove(veil_open_proof *pf, veil_transcript *tr, const veil_pedersen_gens *pg,
                    const veil_ge *c_s, const veil_ge *c_t, const veil_fe *S, size_t d,
                    const veil_fe *r_s, const veil_fe *y, const veil_fe *r_t, int threads);
/* Verifier: 0 if the proof shows c_S and c_t open to S, t with
 * <S, y> = t; VEIL_EVERIFY (reason in veil_last_error) otherwise.  For a
 * public t pass c_t = t U (veil_pedersen_commit_value with r = NULL). */
int veil_open_verify(const veil_open_proof *pf, veil_transcript *tr, const veil_pedersen_gens *pg,
                     const veil_ge *c_s, const veil_ge *c_t, const veil_fe *y, size_t d,
                     int threads);
void veil_open_proof_free(veil_open_proof *pf);
/* Wire format: u32 d (LE) | c_d | c_dy | d scalars | r_s | r_t. */
size_t veil_open_proof_size(size_t d);
int veil_open_proof_write(const veil_open_proof *pf, uint8_t *out, size_t cap, size_t *written);
/* Parses exactly one proof for the expected d from the front of in;
 * *consumed = its length.  VEIL_EINVAL on any malformation. */
int veil_open_proof_read(veil_open_proof *pf, const uint8_t *in, size_t len, size_t expect_d,
                         size_t *consumed);

/* ---- Hyrax commitments to multilinear polynomials ----------------------------- */

#define VEIL_IPA_MAX_ROUNDS 24 /* up to 2^24 columns (tables of 2^48) */

typedef struct {
    unsigned nvars;     /* table has 2^nvars entries */
    size_t rows, cols;  /* veil_hyrax_commit: 2^(nvars/2) rows, 2^(nvars - nvars/2)
                         * columns; prove/verify accept any power-of-two split with
                         * rows * cols = 2^nvars, so a caller may assemble a
                         * commitment row by row (row i = a Pedersen commitment to
                         * entries [i cols, (i+1) cols) over G_0..G_cols-1) */
    veil_ge *c;         /* rows commitments (heap) */
} veil_hyrax_commitment;

static inline unsigned veil_hyrax_row_vars(unsigned nvars) { return nvars / 2; }
static inline size_t veil_hyrax_cols(unsigned nvars)
{
    return (size_t)1 << (nvars - nvars / 2);
}

/* Commit to the table tab[0..len) zero-padded to 2^nvars entries
 * (nvars <= 2 * VEIL_IPA_MAX_ROUNDS, pg->n >= cols).  Writes the row
 * blindings (secret, rows entries, caller-allocated) to blinds. */
int veil_hyrax_commit(veil_hyrax_commitment *cm, veil_fe *blinds, const veil_pedersen_gens *pg,
                      const veil_fe *tab, size_t len, unsigned nvars, int threads);
int veil_hyrax_commit_i64(veil_hyrax_commitment *cm, veil_fe *blinds,
                          const veil_pedersen_gens *pg, const int64_t *tab, size_t len,
                          unsigned nvars, int threads);
/* The same with 2^row_vars rows (any split; fewer rows: a smaller commitment
 * and verifier MSM over rows, a longer inner-product argument).  Exactly one
 * of tab / itab is given. */
int veil_hyrax_commit_split(veil_hyrax_commitment *cm, veil_fe *blinds,
                            const veil_pedersen_gens *pg, const veil_fe *tab, const int64_t *itab,
                            size_t len, unsigned nvars, unsigned row_vars, int threads);
void veil_hyrax_commitment_free(veil_hyrax_commitment *cm);
/* Wire format: u8 nvars | rows points.  read: nvars must equal expect_nvars. */
size_t veil_hyrax_commitment_size(unsigned nvars);
int veil_hyrax_commitment_write(const veil_hyrax_commitment *cm, uint8_t *out, size_t cap,
                                size_t *written);
int veil_hyrax_commitment_read(veil_hyrax_commitment *cm, const uint8_t *in, size_t len,
                               unsigned expect_nvars, size_t *consumed);
/* For a commitment made with veil_hyrax_commit_split. */
size_t veil_hyrax_commitment_size_split(unsigned row_vars);
int veil_hyrax_commitment_read_split(veil_hyrax_commitment *cm, const uint8_t *in, size_t len,
                                     unsigned expect_nvars, unsigned row_vars, size_t *consumed);

typedef struct {
    uint32_t rounds;                   /* log2(cols) */
    veil_ge l[VEIL_IPA_MAX_ROUNDS], r[VEIL_IPA_MAX_ROUNDS];
    veil_ge a;                         /* final Schnorr commitment */
    veil_fe z1, z2;
    veil_ge t_v;                       /* proof that C_v opens over (U, H): */
    veil_fe s_v, s_r;                  /*   s_v U + s_r H = t_v + e C_v     */
} veil_ipa_proof;

/* Prove v = f(point) (point: nvars coordinates, zk_mle.h order) for the
 * committed table.  The claimed value is either public (v_blind == NULL;
 * the verifier is given v) or committed as C_v = v U + v_blind H (the
 * caller made C_v with veil_pedersen_commit_value).  Writes v to *v_out
 * (may be NULL).  Absorbs nvars, the row commitments, the point and C_v
 * (or v), then the proof messages.  The proof includes a proof of
 * knowledge of C_v's opening over (U, H) (for a public v, of v U), so a
 * verified C_v is a well-formed value commitment to f(point). */
int veil_hyrax_prove(veil_ipa_proof *pf, veil_fe *v_out, veil_transcript *tr,
                     const veil_pedersen_gens *pg, const veil_hyrax_commitment *cm,
                     const veil_fe *tab, size_t len, const veil_fe *blinds,
                     const veil_fe *point, const veil_fe *v_blind, int threads);
/* Verify against a committed value C_v. */
int veil_hyrax_verify(const veil_ipa_proof *pf, veil_transcript *tr,
                      const veil_pedersen_gens *pg, const veil_hyrax_commitment *cm,
                      const veil_fe *point, const veil_ge *c_v, int threads);
/* Verify against a public value v. */
int veil_hyrax_verify_public(const veil_ipa_proof *pf, veil_transcript *tr,
                             const veil_pedersen_gens *pg, const veil_hyrax_commitment *cm,
                             const veil_fe *point, const veil_fe *v, int threads);
/* Wire format: u8 rounds | rounds x (L, R) | A | z1 | z2 | t_v | s_v | s_r. */
size_t veil_ipa_proof_size(unsigned rounds);
int veil_ipa_proof_write(const veil_ipa_proof *pf, uint8_t *out, size_t cap, size_t *written);
/* expect_rounds: log2 of the columns of the commitment it is checked
 * against (veil_hyrax_cols); anything else is rejected. */
int veil_ipa_proof_read(veil_ipa_proof *pf, const uint8_t *in, size_t len,
                        unsigned expect_rounds, size_t *consumed);

#ifdef __cplusplus
}
#endif
#endif
