/* veil eval: corpora, split execution in one process, and perplexity, so the
 * utility cost of a protection is measured on the same text as its leakage.
 *
 * A split run with split point K: the client embeds and runs layers 0..K-1,
 * optionally clips and noises the rows it sends (veil/dp.h), the nodes run
 * layers K..n_layers-1, the client applies the head.  veil_split_local is
 * that pipeline in one process (the network version is `veil run --split`);
 * without noise it is bit-identical to the local model for every K. */
#ifndef VEIL_EVAL_H
#define VEIL_EVAL_H

#include "veil/dp.h"
#include "veil/generate.h"
#include "veil/model.h"
#include "veil/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A text corpus as documents.  A file with lines holding only "%" (the
 * fortune format) is split there; otherwise at blank lines.  Empty documents
 * are dropped; the file must be <= 64 MiB of text without NUL bytes. */
typedef struct {
    char **docs;
    int n;
} veil_corpus;

int veil_corpus_load(const char *path, veil_corpus *c);
/* Split text in memory (the same rules). */
int veil_corpus_parse(const char *text, size_t len, veil_corpus *c);
void veil_corpus_free(veil_corpus *c);

/* Token sequences: BOS + the document's tokens, cut to max_len. */
typedef struct {
    int *tok;   /* all sequences back to back */
    int *start; /* n offsets into tok */
    int *len;   /* n lengths (>= 2) */
    int n;
    long total; /* sum of len */
} veil_seqs;

/* Tokenize documents first, first+1, ... until max_tokens tokens are taken
 * (the last sequence is shortened to fit; <= 0: no limit) or the corpus ends;
 * *next (if not NULL) gets the first unused document. */
int veil_seqs_from_corpus(const veil_corpus *c, veil_tokenizer *t, int vocab, int first,
                          int max_len, long max_tokens, veil_seqs *out, int *next);
void veil_seqs_free(veil_seqs *s);

/* ---- split execution ------------------------------------------------------ */
typedef struct veil_split_local veil_split_local;

/* Client layers [0, split), nodes [split, n_layers); dp may be NULL.  The
 * mechanism and rng are borrowed.  max_seq as in veil_shard_new. */
int veil_split_local_new(const veil_model *m, int split, const veil_dp_mech *dp,
                         veil_dp_rng *rng, int max_seq, veil_split_local **out);
void veil_split_local_free(veil_split_local *s);
veil_backend veil_split_local_backend(veil_split_local *s);
/* Spend of the rows noised since the last reset (one request). */
veil_dp_accountant *veil_split_local_accountant(veil_split_local *s);
void veil_split_local_reset(veil_split_local *s);

/* ---- perplexity ------------------------------------------------------------- */
typedef struct {
    long tokens;   /* predictions scored */
    double nll;    /* mean negative log-likelihood (nats) */
    double ppl;    /* exp(nll) */
    double top1;   /* fraction where the argmax is the next token */
} veil_ppl;

/* Teacher-forced perplexity of every sequence through backend b (positions
 * restart at 0 for each sequence); `each` (may be NULL) is called after every
 * sequence, e.g. to reset a split's accountant. */
int veil_eval_ppl(const veil_model *m, const veil_backend *b, const veil_seqs *s,
                  void (*each)(void *ctx, int seq), void *each_ctx, veil_ppl *out);

#ifdef __cplusplus
}
#endif
#endif
