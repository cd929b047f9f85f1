/* veil tokenizer: llama2.c tokenizer.bin, BPE encode/decode as run.c does. */
#ifndef VEIL_TOKENIZER_H
#define VEIL_TOKENIZER_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_TOKEN_BOS 1
#define VEIL_TOKEN_EOS 2

typedef struct veil_tokenizer veil_tokenizer;

/* Load tokenizer.bin holding exactly vocab_size entries. */
int veil_tokenizer_open(const char *path, int vocab_size, veil_tokenizer **out);
/* Parse from memory (used by the fuzz target). */
int veil_tokenizer_parse(const uint8_t *data, size_t n, int vocab_size, veil_tokenizer **out);
void veil_tokenizer_free(veil_tokenizer *t);
int veil_tokenizer_vocab_size(const veil_tokenizer *t);
const char *veil_tokenizer_piece(const veil_tokenizer *t, int id);

/* Encode text (sentencepiece-style dummy space prefix, <0xNN> byte fallback,
 * greedy best-score merges). tokens must hold strlen(text)+3 entries.
 * Returns the token count or a negative error. */
int veil_encode(veil_tokenizer *t, const char *text, int bos, int eos, int *tokens);

/* The piece to print for `token` following `prev` (leading space dropped
 * after BOS, <0xNN> mapped to the raw byte). */
const char *veil_decode(const veil_tokenizer *t, int prev, int token);

/* run.c's safe_printf rule: 1 if the piece should be printed (non-empty and
 * not a lone unprintable byte). */
int veil_piece_printable(const char *piece);

#ifdef __cplusplus
}
#endif
#endif
