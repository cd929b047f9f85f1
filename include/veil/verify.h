/* veil verify: consensus-based verification of shard outputs (paper §3.1).
 *
 * Everything here is a library with no network code: the orchestrator feeds
 * it the R replica outputs (or fingerprints) of a shard and acts on the
 * decision; see docs/ARCHITECTURE.md "Consensus verification" for the calls.
 *
 *   quorum     majority or first-M-agreeing over R replicas, exact when the
 *              float path is bit-reproducible, tolerant otherwise
 *   spot       sample:P, which tokens get replicated (keyed CSPRNG on the
 *              client so nodes cannot predict), and the detection formula
 *   cdv        per-shard output statistics against a published reference
 *              profile, with EWMA-adaptive thresholds (no replica needed)
 *   dispute    per-layer fingerprints locate the first divergent layer; the
 *              client recomputes that single layer and names the guilty node
 *   flags      every verdict prints as "node NAME flagged: REASON" */
#ifndef VEIL_VERIFY_H
#define VEIL_VERIFY_H

#include <stdio.h>

#include "veil/fingerprint.h"
#include "veil/ledger.h"
#include "veil/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- verification mode (--verify) ---------------------------------------- */

typedef enum {
    VEIL_VERIFY_NONE = 0,
    VEIL_VERIFY_CONSENSUS, /* every token on R replicas */
    VEIL_VERIFY_SAMPLE,    /* a CSPRNG-chosen fraction P of tokens on R replicas */
    VEIL_VERIFY_CDV,       /* distribution checks only, no replica */
} veil_verify_kind;

typedef struct {
    veil_verify_kind kind;
    double p; /* SAMPLE: fraction of tokens replicated, (0,1] */
} veil_verify_mode;

/* Parse "none", "consensus", "sample:P" (0 < P <= 1) or "cdv". */
int veil_verify_parse(const char *s, veil_verify_mode *out);

/* ---- flags ----------------------------------------------------------------- */

typedef struct {
    char node[64];    /* node name as the scheduler knows it */
    char reason[200];
} veil_flag;

/* Fill a flag (printf-style reason). */
void veil_flag_set(veil_flag *f, const char *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "node NAME flagged: REASON" (no newline), with any control or non-ASCII
 * byte of the untrusted name or reason replaced by '?'. Returns the length. */
int veil_flag_format(const veil_flag *f, char *buf, size_t cap);
/* Print the line above plus '\n' to f (stderr in the CLI). */
void veil_flag_print(FILE *out, const veil_flag *f);

/* ---- quorum ---------------------------------------------------------------- */

#define VEIL_MAX_REPLICAS 16

typedef enum {
    VEIL_QUORUM_MAJORITY = 0, /* more than half of R agree */
    VEIL_QUORUM_FIRST_M = 1,  /* the first M replicas (arrival order) that agree */
} veil_quorum_policy;

typedef struct {
    veil_quorum_policy policy;
    int m;         /* FIRST_M: agreeing replicas required (2..R) */
    int exact;     /* 1: bit-exact comparison (veil's float path); 0: tolerant */
    double tol;    /* tolerant full outputs: max|a-b| / rms(a) allowed */
    veil_fp_tol fp_tol; /* tolerant fingerprints */
} veil_quorum_opts;

/* Majority, exact, calibrated tolerances (used only when exact = 0). */
veil_quorum_opts veil_quorum_defaults(void);

typedef struct {
    int decided;            /* 1: a quorum exists */
    int winner;             /* a replica of the agreeing group (use its output) */
    int n_agree;            /* size of that group */
    uint32_t agree_mask;    /* bit i: replica i agrees with the winner */
    uint32_t minority_mask; /* bit i: replica i disagrees (flag it, discard it) */
    int reexecute;          /* 1: no quorum: run the shard on another node and
                               decide again with R+1 replicas (or bisect) */
} veil_quorum_result;

/* Decide from an R x R agreement matrix (agree[i*R+j] != 0: i and j agree;
 * replica order = arrival order for FIRST_M). */
int veil_quorum_decide(int R, const uint8_t *agree, const veil_quorum_opts *o,
                       veil_quorum_result *res);
/* Do two outputs of n floats agree under o (exact bytes or tolerance)? */
int veil_outputs_agree(const float *a, const float *b, size_t n, const veil_quorum_opts *o);
/* Quorum over R full outputs of n floats each. */
int veil_quorum_outputs(int R, const float *const *outs, size_t n, const veil_quorum_opts *o,
                        veil_quorum_result *res);
/* Quorum over R fingerprints of one block of T x dim floats. outs[i] may hold
 * replica i's full block or NULL when only its fingerprint travelled. Exact
 * mode compares the fingerprints; tolerant mode checks each fingerprint
 * against any full block available (two fingerprint-only replicas agree only
 * if bit-identical). A fingerprint of another shape agrees with nobody. */
int veil_quorum_fps(int R, const veil_fp *fps, const float *const *outs, int T, int dim,
                    const veil_quorum_opts *o, veil_quorum_result *res);

/* ---- sampled verification (sample:P) ----------------------------------------- */

typedef struct veil_spot veil_spot;
/* p in (0,1]; key: 32 secret bytes, or NULL to draw them from the OS CSPRNG
 * (OpenSSL RAND_bytes). The key never leaves the client. */
int veil_spot_new(double p, const uint8_t *key, veil_spot **out);
void veil_spot_free(veil_spot *s); /* wipes the key */
/* 1 when the token at this position (of this session) is replicated:
 * HMAC-SHA256(key, pos) read as a 64-bit fraction < p. */
int veil_spot_pick(const veil_spot *s, uint64_t pos);
/* Probability that an adversary cheating on a fraction q of n tokens is caught
 * at least once, each check detecting a cheat with probability d:
 * 1 - (1 - p*q*d)^n. */
double veil_spot_detect_prob(double p, double q, double d, double n);
/* Tokens needed to reach detection probability `target` (inf if p*q*d = 0). */
double veil_spot_tokens_needed(double p, double q, double d, double target);

/* ---- CDV: distribution verification ------------------------------------------ */

#define VEIL_CDV_BINS 8 /* histogram of top-k |x| / std: edges 0,1,1.5,2,2.5,3,4,6,inf */
/* Features of one hidden state: mean, std, skewness, excess kurtosis, L1
 * distance of its top-k histogram to the reference one, and the coordinate
 * distance mean_i ((x_i - mu_i) / sd_i)^2 to the per-coordinate profile. */
#define VEIL_CDV_FEATURES 6

typedef struct {
    double mean, std, skew, kurt;
    double hist[VEIL_CDV_BINS]; /* fractions of the top-k magnitudes per bin */
} veil_cdv_stats;

/* Statistics of one hidden state of dim floats, histogram over its top k. */
void veil_cdv_stats_of(const float *x, int dim, int k, veil_cdv_stats *out);

typedef struct {
    double mu[4], sd[4];          /* reference mean/sd of mean, std, skew, kurt */
    double hist[VEIL_CDV_BINS];   /* reference histogram */
    double hd_mu, hd_sd;          /* histogram L1 distance to the reference */
    double cd_mu, cd_sd;          /* coordinate distance */
    double score_mu, score_sd, score_max; /* the test statistic on the corpus */
    double *coord_mu, *coord_sd;  /* dim each: per-coordinate mean and sd */
} veil_cdv_boundary;

/* The reference profile of a model: one boundary per layer output. */
typedef struct {
    int n_layers, dim, k;
    long tokens;            /* corpus tokens behind it */
    uint8_t model_sha[32];  /* checkpoint it describes */
    veil_cdv_boundary *b;   /* n_layers entries; b[l] = output of layer l */
} veil_cdv_profile;

/* Collects every layer output over a corpus (use its hook on a shard over
 * all layers; memory: tokens x layers x dim floats), then builds the profile. */
typedef struct veil_cdv_profiler veil_cdv_profiler;
int veil_cdv_profiler_new(const veil_model *m, int k, veil_cdv_profiler **out);
void veil_cdv_profiler_free(veil_cdv_profiler *p);
void veil_cdv_profiler_hook(void *ctx, int layer, int pos, int T, const float *x);
int veil_cdv_profiler_finish(veil_cdv_profiler *p, veil_cdv_profile **out);

void veil_cdv_profile_free(veil_cdv_profile *p);
int veil_cdv_profile_save(const veil_cdv_profile *p, const char *path);
/* Load and validate (untrusted file): every field is range-checked. */
int veil_cdv_profile_load(const char *path, veil_cdv_profile **out);

/* The test statistic of one hidden state x (dim floats) at a boundary: the
 * mean of the squared z-scores of the six features (about 1 on honest data). */
double veil_cdv_score(const veil_cdv_profile *p, int boundary, const float *x);

typedef struct {
    double lambda; /* EWMA weight of the newest token */
    double L;      /* EWMA control-limit width in standard deviations */
    double hard;   /* single-token limit as a multiple of the corpus maximum */
} veil_cdv_opts;
veil_cdv_opts veil_cdv_defaults(void);

/* Per (node, boundary) state of the adaptive test. */
typedef struct {
    double ewma;
    long n;
} veil_cdv_monitor;

typedef struct {
    double score, ewma, limit, hard_limit;
    int flagged;        /* 1 = reject the hypothesis "honest shard" */
    char reason[160];
} veil_cdv_verdict;

/* Feed T tokens of a shard's output at `boundary` (the shard's last layer) to
 * its monitor. Two tests: one token scoring above hard x the corpus maximum,
 * or the EWMA of the scores (each capped at score_mu + 3 score_sd) above
 * score_mu + L score_sd sqrt(lambda/(2-lambda) (1-(1-lambda)^(2n))). The
 * verdict covers the first flagged token, else the last one. */
int veil_cdv_observe(const veil_cdv_profile *p, int boundary, veil_cdv_monitor *mon,
                     const float *x, int T, const veil_cdv_opts *o, veil_cdv_verdict *v);

/* ---- per-layer fingerprints and dispute bisection ----------------------------- */

/* Records a fingerprint of every layer output of a shard, block by block,
 * and optionally the layer outputs themselves (for answering disputes). Set
 * veil_fp_recorder_hook as the shard's hook (ctx = the recorder). */
typedef struct veil_fp_recorder veil_fp_recorder;
/* history_seq > 0 keeps the shard input and every layer output for positions
 * < history_seq. */
int veil_fp_recorder_new(int first, int last, int dim, int k, int history_seq,
                         veil_fp_recorder **out);
void veil_fp_recorder_free(veil_fp_recorder *r);
/* Open a block at pos; x (T x dim) is the shard input, recorded in history. */
void veil_fp_recorder_begin(veil_fp_recorder *r, int pos, int T, const float *x);
void veil_fp_recorder_hook(void *ctx, int layer, int pos, int T, const float *x);
/* Close the block: out[i] = fingerprint of layer first+i (last-first entries). */
int veil_fp_recorder_finish(veil_fp_recorder *r, veil_fp *out);
/* Recorded outputs of `layer` (layer first-1 = the shard input), positions
 * 0..history_seq-1, or NULL without history. */
const float *veil_fp_recorder_history(const veil_fp_recorder *r, int layer);

/* Dispute bisection over the layers of one block: probe(ctx, i) returns 1
 * when the replicas agree on the output of layer first+i (i in 0..n-1). The
 * shard input is agreed (same input to every replica); if the outputs
 * (i = n-1) agree, returns -1. Otherwise returns the first i whose output
 * disagrees while layer i-1's output (or the input) agrees, in at most
 * ceil(log2 n) + 1 probes (*probes counts them). Tolerant deployments probe
 * by fetching one replica's block for layer i and checking the other's
 * fingerprint against it (veil_fp_check_against). */
typedef int (*veil_bisect_probe)(void *ctx, int i);
int veil_bisect(int n, veil_bisect_probe probe, void *ctx, int *probes);
/* Exact mode: bisection over two replicas' per-layer fingerprints (a[i] and
 * b[i] of layer first+i). */
int veil_bisect_fps(const veil_fp *a, const veil_fp *b, int n, int *probes);

/* The client recomputes one layer: `w` its weights, `in` its agreed inputs at
 * positions 0..pos+T-1 (x dim), and writes the outputs of positions
 * pos..pos+T-1 to out (T x dim). Costs one layer, not the shard. */
int veil_dispute_recompute(const veil_config *cfg, int layer, const veil_layer *w,
                           const float *in, int pos, int T, float *out);

/* Judge the replicas' fingerprints of that layer against the recomputed
 * block `truth` (T x dim): bit i of the result = replica i is guilty (a
 * fingerprint of another shape is guilty). */
uint32_t veil_dispute_judge(int R, const veil_fp *const *fps, const float *truth, int T,
                            int dim, const veil_quorum_opts *o);

/* ---- the orchestrator's verifier ------------------------------------------------------ */

/* One object per generation that the orchestrator (veil run / veil demo)
 * drives from its replica_result hook. It buffers the R replica outputs of a
 * shard step, decides the quorum, prints every flag as "node NAME flagged:
 * REASON", records events in the ledger, runs CDV, and tells the
 * orchestrator which output to use or that it must re-execute. */
typedef struct veil_verifier veil_verifier;

typedef struct {
    veil_verify_mode mode;           /* consensus, sample:P, cdv or none */
    veil_quorum_opts quorum;         /* veil_quorum_defaults() */
    veil_ledger *ledger;                /* NULL: no persistent record */
    const veil_cdv_profile *profile; /* NULL: no CDV */
    veil_cdv_opts cdv;               /* veil_cdv_defaults() */
    FILE *flag_out;                  /* flag lines (stderr); NULL = silent */
    const uint8_t *sample_key;       /* 32 bytes for sample:P, NULL = fresh CSPRNG key */
    int fingerprints;                /* network consensus: replicas other than the active
                                        one answer with a fingerprint (FP_FORWARD), not rows */
} veil_verifier_opts;

veil_verifier_opts veil_verifier_defaults(void);
/* Options from command-line strings, for `veil run/demo --verify MODE
 * [--ledger FILE] [--profile FILE]`: mode NULL = "consensus"; ledger NULL =
 * $VEIL_LEDGER or ./veil-ledger.db ("" = none); profile required for cdv and
 * checked against model m (its SHA-256 and width). Opens what it names:
 * release with veil_verifier_opts_release. */
int veil_verifier_opts_from(const char *mode, const char *ledger, const char *profile,
                            const veil_model *m, veil_verifier_opts *out);
void veil_verifier_opts_release(veil_verifier_opts *o);
/* n_shards shards of a model of width dim. */
int veil_verifier_new(const veil_verifier_opts *o, int n_shards, int dim, veil_verifier **out);
void veil_verifier_free(veil_verifier *v);

/* Must the step at pos (T tokens) run on every replica? 1 for consensus,
 * the keyed sample for sample:P (decided on pos, the step's first token),
 * 0 for cdv/none. */
int veil_verifier_replicate(const veil_verifier *v, int pos, int T);

/* Open a step of shard s covering layers [first,last) at pos..pos+T-1,
 * discarding any buffered output of that shard. */
int veil_verifier_begin(veil_verifier *v, int shard, int first, int last, int pos, int T);
/* Replica output (T x dim) computed by node `node` (its name). Call in
 * arrival order; up to VEIL_MAX_REPLICAS per step (re-executions included). */
int veil_verifier_add(veil_verifier *v, int shard, const char *node, const float *x);

/* A replica that sent only a fingerprint of its block (veil_fp_encode of
 * veil_fp_compute(out, T, dim, VEIL_FP_DEFAULT_K, last - 1, pos)): n bytes
 * from the network, decoded and checked here; a malformed one is flagged. */
int veil_verifier_add_fp(veil_verifier *v, int shard, const char *node, const uint8_t *enc,
                         size_t n);

typedef struct {
    veil_quorum_result q;
    int use;          /* replica index (add order) whose output to use, -1 none */
    int reexecute;    /* 1: no quorum yet: run the shard on another node, add
                         its output and decide again; or (use >= 0) the quorum
                         sent only fingerprints: fetch replica use's block,
                         add it and decide again */
    int flagged;      /* flags printed by this decision */
} veil_verdict;

/* Decide the step: quorum over the outputs added so far (CDV alone when one
 * output was added). Flags the minority, records agree/flag/reexec/cdv
 * events. Returns 0, or VEIL_EVERIFY when the step has no accepted output.
 * After a CDV rejection the step restarts empty: add the output of the node
 * that re-executed it and decide again. */
int veil_verifier_decide(veil_verifier *v, int shard, veil_verdict *out);
/* begin + add(names[i], outs[i]) for i < n + decide, in one call. */
int veil_verifier_step(veil_verifier *v, int shard, int first, int last, int pos, int T, int n,
                       const char *const *names, const float *const *outs, veil_verdict *out);
/* The output to use after a successful decide (T x dim), or NULL. */
const float *veil_verifier_output(const veil_verifier *v, int shard);
/* Total flags raised so far. */
int veil_verifier_flag_count(const veil_verifier *v);

#ifdef __cplusplus
}
#endif
#endif
