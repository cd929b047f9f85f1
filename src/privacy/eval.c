/* Corpora, the in-process split pipeline (client layers, optional DP noise,
 * node layers) and teacher-forced perplexity. */
#include "veil/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS_MAX_BYTES (64u << 20)

/* ---- corpus ------------------------------------------------------------------ */

static int add_doc(veil_corpus *c, const char *s, size_t n, int *cap)
{
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    while (n && (*s == '\n' || *s == ' ' || *s == '\t' || *s == '\r')) s++, n--;
    if (!n) return 0;
    if (c->n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        char **d = realloc(c->docs, sizeof *d * nc);
        if (!d) return veil_fail(VEIL_ENOMEM, "out of memory for corpus");
        c->docs = d;
        *cap = nc;
    }
    char *doc = malloc(n + 1);
    if (!doc) return veil_fail(VEIL_ENOMEM, "out of memory for corpus");
    memcpy(doc, s, n);
    doc[n] = '\0';
    c->docs[c->n++] = doc;
    return 0;
}

/* 1 if the line [p, e) is a separator: "%" (fortune) or, in paragraph mode,
 * blank. */
static int is_separator(const char *p, const char *e, int fortune)
{
    if (e > p && e[-1] == '\r') e--;
    if (fortune) return e - p == 1 && *p == '%';
    for (; p < e; p++)
        if (*p != ' ' && *p != '\t') return 0;
    return 1;
}

static int has_fortune_separators(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] == '%' && (i == 0 || text[i - 1] == '\n') &&
            (i + 1 == len || text[i + 1] == '\n' || text[i + 1] == '\r'))
            return 1;
    return 0;
}

int veil_corpus_parse(const char *text, size_t len, veil_corpus *c)
{
    memset(c, 0, sizeof *c);
    if (len > CORPUS_MAX_BYTES) return veil_fail(VEIL_ERANGE, "corpus larger than 64 MiB");
    if (memchr(text, '\0', len)) return veil_fail(VEIL_EINVAL, "corpus holds a NUL byte");
    int fortune = has_fortune_separators(text, len), cap = 0;
    const char *doc = text, *end = text + len;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', end - p);
        const char *e = nl ? nl : end;
        if (is_separator(p, e, fortune)) {
            int rc = add_doc(c, doc, p - doc, &cap);
            if (rc) {
                veil_corpus_free(c);
                return rc;
            }
            doc = nl ? nl + 1 : end;
        }
        p = nl ? nl + 1 : end;
    }
    int rc = add_doc(c, doc, end - doc, &cap);
    if (rc) veil_corpus_free(c);
    return rc;
}

int veil_corpus_load(const char *path, veil_corpus *c)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) return veil_fail(VEIL_EIO, "cannot open corpus %s", path);
    char *buf = malloc(CORPUS_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CORPUS_MAX_BYTES + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf) return veil_fail(VEIL_ENOMEM, "out of memory for corpus");
    int rc = bad ? veil_fail(VEIL_EIO, "cannot read corpus %s", path)
                 : veil_corpus_parse(buf, n, c);
    free(buf);
    if (!rc && c->n == 0) rc = veil_fail(VEIL_EINVAL, "corpus %s holds no text", path);
    return rc;
}

void veil_corpus_free(veil_corpus *c)
{
    for (int i = 0; i < c->n; i++) free(c->docs[i]);
    free(c->docs);
    memset(c, 0, sizeof *c);
}

/* ---- token sequences ----------------------------------------------------------- */

void veil_seqs_free(veil_seqs *s)
{
    free(s->tok);
    free(s->start);
    free(s->len);
    memset(s, 0, sizeof *s);
}

/* Append one sequence; grows the arrays. */
static int seqs_push(veil_seqs *s, const int *tok, int n, long *cap_tok, int *cap_seq)
{
    if (s->total + n > *cap_tok) {
        long nc = (*cap_tok + n) * 2;
        int *t = realloc(s->tok, sizeof *t * nc);
        if (!t) return veil_fail(VEIL_ENOMEM, "out of memory for tokens");
        s->tok = t;
        *cap_tok = nc;
    }
    if (s->n == *cap_seq) {
        int nc = *cap_seq ? *cap_seq * 2 : 64;
        int *a = realloc(s->start, sizeof *a * nc), *b = a ? realloc(s->len, sizeof *b * nc) : NULL;
        if (a) s->start = a;
        if (!a || !b) return veil_fail(VEIL_ENOMEM, "out of memory for tokens");
        s->len = b;
        *cap_seq = nc;
    }
    memcpy(s->tok + s->total, tok, sizeof *tok * n);
    s->start[s->n] = (int)s->total;
    s->len[s->n++] = n;
    s->total += n;
    return 0;
}

int veil_seqs_from_corpus(const veil_corpus *c, veil_tokenizer *t, int vocab, int first,
                          int max_len, long max_tokens, veil_seqs *out, int *next)
{
    memset(out, 0, sizeof *out);
    if (max_len < 2) return veil_fail(VEIL_EINVAL, "sequences need >= 2 positions");
    long cap_tok = 0;
    int cap_seq = 0, d = first < 0 ? 0 : first, rc = 0;
    for (; d < c->n && (max_tokens <= 0 || out->total < max_tokens); d++) {
        int *tok = malloc(sizeof *tok * (strlen(c->docs[d]) + 3));
        if (!tok) {
            rc = veil_fail(VEIL_ENOMEM, "out of memory for tokens");
            break;
        }
        int n = veil_encode(t, c->docs[d], 1, 0, tok);
        for (int i = 0; i < n; i++)
            if (tok[i] < 0 || tok[i] >= vocab) n = veil_fail(VEIL_EINVAL, "token id beyond vocab");
        if (n > max_len) n = max_len;
        if (max_tokens > 0 && n > max_tokens - out->total) n = (int)(max_tokens - out->total);
        rc = n < 0 ? n : n >= 2 ? seqs_push(out, tok, n, &cap_tok, &cap_seq) : 0;
        free(tok);
        if (rc) break;
    }
    if (next) *next = d;
    if (!rc && out->n == 0) rc = veil_fail(VEIL_EINVAL, "corpus gives no token sequence");
    if (rc) veil_seqs_free(out);
    return rc;
}

/* ---- split execution --------------------------------------------------------------- */

struct veil_split_local {
    veil_shard *client, *node; /* either may be NULL (empty range) */
    const veil_dp_mech *dp;
    veil_dp_rng *rng;
    veil_dp_accountant acc;
};

int veil_split_local_new(const veil_model *m, int split, const veil_dp_mech *dp,
                         veil_dp_rng *rng, int max_seq, veil_split_local **out)
{
    *out = NULL;
    int L = m->cfg.n_layers;
    if (split < 0 || split > L)
        return veil_fail(VEIL_ERANGE, "split point %d outside 0..%d", split, L);
    if (dp && (!rng || dp->dim != m->cfg.dim))
        return veil_fail(VEIL_EINVAL, "DP mechanism needs an RNG and the model width");
    veil_split_local *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory for split");
    int rc = 0;
    if (split > 0) rc = veil_model_shard(m, 0, split, max_seq, &s->client);
    if (!rc && split < L) rc = veil_model_shard(m, split, L, max_seq, &s->node);
    if (rc) {
        veil_split_local_free(s);
        return rc;
    }
    s->dp = dp;
    s->rng = rng;
    if (dp) veil_dp_accountant_init(&s->acc, dp);
    *out = s;
    return 0;
}

void veil_split_local_free(veil_split_local *s)
{
    if (!s) return;
    veil_shard_free(s->client);
    veil_shard_free(s->node);
    free(s);
}

static int split_forward(void *ctx, int pos, int T, float *x)
{
    veil_split_local *s = ctx;
    int rc = s->client ? veil_shard_forward_batch(s->client, pos, T, x) : 0;
    if (!rc && s->dp) {
        rc = veil_dp_apply(s->dp, s->rng, x, T);
        if (!rc) veil_dp_accountant_add(&s->acc, T);
    }
    if (!rc && s->node) rc = veil_shard_forward_batch(s->node, pos, T, x);
    return rc;
}

veil_backend veil_split_local_backend(veil_split_local *s)
{
    return (veil_backend){.ctx = s, .forward = split_forward};
}

veil_dp_accountant *veil_split_local_accountant(veil_split_local *s) { return &s->acc; }

void veil_split_local_reset(veil_split_local *s) { s->acc.rows = 0; }

/* ---- perplexity ------------------------------------------------------------------- */

/* -log softmax(logits)[target], in double. */
static double token_nll(const float *logits, int V, int target)
{
    float mx = logits[0];
    for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double z = 0;
    for (int i = 0; i < V; i++) z += exp((double)logits[i] - mx);
    return log(z) - ((double)logits[target] - mx);
}

int veil_eval_ppl(const veil_model *m, const veil_backend *b, const veil_seqs *s,
                  void (*each)(void *ctx, int seq), void *each_ctx, veil_ppl *out)
{
    const veil_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    int maxlen = 0;
    for (int i = 0; i < s->n; i++) maxlen = s->len[i] > maxlen ? s->len[i] : maxlen;
    if (maxlen > c->seq_len)
        return veil_fail(VEIL_ERANGE, "sequence of %d exceeds seq_len %d", maxlen, c->seq_len);
    float *x = malloc(sizeof(float) * (size_t)maxlen * c->dim);
    float *logits = malloc(sizeof(float) * c->vocab_size);
    if (!x || !logits) {
        free(x);
        free(logits);
        return veil_fail(VEIL_ENOMEM, "out of memory for perplexity");
    }
    double nll = 0;
    long hits = 0, n = 0;
    int rc = 0;
    for (int q = 0; q < s->n && !rc; q++) {
        const int *tok = s->tok + s->start[q];
        int T = s->len[q];
        for (int t = 0; t < T; t++) veil_embed(m, tok[t], x + (size_t)t * c->dim);
        rc = b->forward(b->ctx, 0, T, x);
        for (int t = 0; !rc && t + 1 < T; t++) {
            veil_head(m, x + (size_t)t * c->dim, logits);
            nll += token_nll(logits, c->vocab_size, tok[t + 1]);
            hits += veil_argmax(logits, c->vocab_size) == tok[t + 1];
            n++;
        }
        if (each) each(each_ctx, q);
    }
    free(x);
    free(logits);
    if (rc) return rc;
    out->tokens = n;
    out->nll = n ? nll / n : 0;
    out->ppl = exp(out->nll);
    out->top1 = n ? (double)hits / n : 0;
    return 0;
}
