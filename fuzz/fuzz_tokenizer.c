/* libFuzzer: tokenizer parser, then encode/decode of text from the input. */
#include "veil/tokenizer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int vocab = 1 + data[0] % 64; /* small vocabularies reach the entry checks */
    veil_tokenizer *t;
    if (veil_tokenizer_parse(data + 1, size - 1, vocab, &t) != 0) return 0;
    char text[64];
    size_t n = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
    memcpy(text, data + 1, n);
    text[n] = '\0';
    int tokens[sizeof text + 3];
    int k = veil_encode(t, text, 1, 1, tokens);
    for (int i = 1; i < k; i++) veil_piece_printable(veil_decode(t, tokens[i - 1], tokens[i]));
    veil_tokenizer_free(t);
    return 0;
}
