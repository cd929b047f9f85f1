/* Byte-pair tokenizer compatible with llama2.c's run.c. */
#include "veil/tokenizer.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *str;
    int id;
} token_index;

struct veil_tokenizer {
    int vocab_size;
    int max_token_length;
    char **vocab;
    float *scores;
    token_index *sorted; /* built on first encode */
    unsigned char byte_pieces[512];
    char *buf; /* merge buffer */
};

void veil_tokenizer_free(veil_tokenizer *t)
{
    if (!t) return;
    if (t->vocab)
        for (int i = 0; i < t->vocab_size; i++)
            free(t->vocab[i]);
    free(t->vocab);
    free(t->scores);
    free(t->sorted);
    free(t->buf);
    free(t);
}

int veil_tokenizer_parse(const uint8_t *data, size_t n, int vocab_size, veil_tokenizer **out)
{
    *out = NULL;
    /* ids 0..2 are <unk>, BOS and EOS: a vocabulary must hold them */
    if (vocab_size < 3 || vocab_size > (1 << 21))
        return veil_fail(VEIL_EINVAL, "tokenizer vocab size %d outside 3..%d", vocab_size,
                         1 << 21);
    if (n < 4) return veil_fail(VEIL_EINVAL, "tokenizer file too short for its header");
    veil_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return veil_fail(VEIL_ENOMEM, "out of memory");
    t->vocab_size = vocab_size;
    t->vocab = calloc(vocab_size, sizeof *t->vocab);
    t->scores = calloc(vocab_size, sizeof *t->scores);
    int32_t maxlen;
    memcpy(&maxlen, data, 4);
    size_t off = 4;
    int rc = 0;
    if (!t->vocab || !t->scores) {
        rc = veil_fail(VEIL_ENOMEM, "out of memory");
        goto done;
    }
    if (maxlen <= 0 || maxlen > 4096) {
        rc = veil_fail(VEIL_EINVAL, "tokenizer max_token_length %d outside 1..4096", maxlen);
        goto done;
    }
    t->max_token_length = maxlen;
    for (int i = 0; i < vocab_size; i++) {
        int32_t len;
        if (n - off < 8) {
            rc = veil_fail(VEIL_EINVAL, "tokenizer truncated at token %d of %d", i, vocab_size);
            goto done;
        }
        memcpy(&t->scores[i], data + off, 4);
        memcpy(&len, data + off + 4, 4);
        off += 8;
        if (len < 0 || len > maxlen || (size_t)len > n - off) {
            rc = veil_fail(VEIL_EINVAL, "tokenizer token %d has bad length %d", i, len);
            goto done;
        }
        t->vocab[i] = malloc((size_t)len + 1);
        if (!t->vocab[i]) {
            rc = veil_fail(VEIL_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(t->vocab[i], data + off, len);
        t->vocab[i][len] = '\0';
        off += len;
    }
    if (off != n) {
        rc = veil_fail(VEIL_EINVAL, "tokenizer has %zu trailing bytes after %d tokens", n - off,
                       vocab_size);
        goto done;
    }
    for (int i = 0; i < 256; i++) {
        t->byte_pieces[i * 2] = (unsigned char)i;
        t->byte_pieces[i * 2 + 1] = '\0';
    }
    t->buf = malloc((size_t)maxlen * 2 + 3);
    if (!t->buf) rc = veil_fail(VEIL_ENOMEM, "out of memory");
done:
    if (rc) {
        veil_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int veil_tokenizer_open(const char *path, int vocab_size, veil_tokenizer **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return veil_fail(VEIL_EIO, "cannot open %s: %s", path, strerror(errno));
    uint8_t *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > ((size_t)1 << 30)) {
                fclose(f);
                free(data);
                return veil_fail(VEIL_EINVAL, "%s: tokenizer larger than 1 GiB", path);
            }
            uint8_t *p = realloc(data, cap);
            if (!p) {
                fclose(f);
                free(data);
                return veil_fail(VEIL_ENOMEM, "out of memory");
            }
            data = p;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    int rc = veil_tokenizer_parse(data, n, vocab_size, out);
    free(data);
    if (rc) {
        char why[400];
        snprintf(why, sizeof why, "%s", veil_last_error());
        return veil_fail(rc, "%s: %s", path, why);
    }
    return 0;
}

int veil_tokenizer_vocab_size(const veil_tokenizer *t) { return t->vocab_size; }

const char *veil_tokenizer_piece(const veil_tokenizer *t, int id)
{
    return id >= 0 && id < t->vocab_size ? t->vocab[id] : "";
}

static int compare_tokens(const void *a, const void *b)
{
    return strcmp(((const token_index *)a)->str, ((const token_index *)b)->str);
}

static int lookup(const veil_tokenizer *t, const char *str)
{
    token_index key = {.str = str};
    token_index *res = bsearch(&key, t->sorted, t->vocab_size, sizeof *t->sorted, compare_tokens);
    return res ? res->id : -1;
}

int veil_encode(veil_tokenizer *t, const char *text, int bos, int eos, int *tokens)
{
    if (!text) return veil_fail(VEIL_EINVAL, "cannot encode NULL text");
    if (!t->sorted) {
        t->sorted = malloc(t->vocab_size * sizeof *t->sorted);
        if (!t->sorted) return veil_fail(VEIL_ENOMEM, "out of memory");
        for (int i = 0; i < t->vocab_size; i++)
            t->sorted[i] = (token_index){t->vocab[i], i};
        qsort(t->sorted, t->vocab_size, sizeof *t->sorted, compare_tokens);
    }
    char *buf = t->buf;
    size_t len = 0;
    int n = 0;
    if (bos) tokens[n++] = VEIL_TOKEN_BOS;
    if (text[0] != '\0') {
        int prefix = lookup(t, " ");
        if (prefix >= 0) tokens[n++] = prefix;
    }
    for (const char *c = text; *c != '\0'; c++) {
        /* a byte that is not a UTF-8 continuation starts a new codepoint */
        if ((*c & 0xC0) != 0x80) len = 0;
        buf[len++] = *c;
        buf[len] = '\0';
        if ((*(c + 1) & 0xC0) == 0x80 && len < 4) continue;
        int id = lookup(t, buf);
        if (id != -1) {
            tokens[n++] = id;
        } else {
            /* byte fallback: <0xNN> tokens sit at ids 3..258 */
            for (size_t i = 0; i < len; i++) {
                int b = (unsigned char)buf[i] + 3;
                tokens[n++] = b < t->vocab_size ? b : 0;
            }
        }
        len = 0;
    }
    for (;;) {
        float best_score = -1e10f;
        int best_id = -1, best_idx = -1;
        for (int i = 0; i < n - 1; i++) {
            const char *a = t->vocab[tokens[i]], *b = t->vocab[tokens[i + 1]];
            size_t la = strlen(a), lb = strlen(b);
            if (la + lb > (size_t)t->max_token_length * 2) continue;
            memcpy(buf, a, la);
            memcpy(buf + la, b, lb + 1);
            int id = lookup(t, buf);
            if (id != -1 && t->scores[id] > best_score) {
                best_score = t->scores[id];
                best_id = id;
                best_idx = i;
            }
        }
        if (best_idx == -1) break;
        tokens[best_idx] = best_id;
        memmove(tokens + best_idx + 1, tokens + best_idx + 2,
                (size_t)(n - best_idx - 2) * sizeof *tokens);
        n--;
    }
    if (eos) tokens[n++] = VEIL_TOKEN_EOS;
    return n;
}

const char *veil_decode(const veil_tokenizer *t, int prev, int token)
{
    if (token < 0 || token >= t->vocab_size) return "";
    const char *piece = t->vocab[token];
    if (prev == VEIL_TOKEN_BOS && piece[0] == ' ') piece++;
    unsigned char byte;
    if (sscanf(piece, "<0x%02hhX>", &byte) == 1)
        piece = (const char *)t->byte_pieces + byte * 2;
    return piece;
}

int veil_piece_printable(const char *piece)
{
    if (!piece || piece[0] == '\0') return 0;
    if (piece[1] == '\0') {
        unsigned char b = (unsigned char)piece[0];
        if (!(isprint(b) || isspace(b))) return 0;
    }
    return 1;
}
