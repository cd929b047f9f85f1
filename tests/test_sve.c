/* SVE correctness: transformed shards, chained as nodes and client chain
 * them, reproduce the plain model's logits (1e-4 relative) and its greedy
 * text, for both variants, every shard count 1..n_layers, with and without
 * client hops; plus the API's argument checks and key policies. */
#include "harness.h"
#include "veil/generate.h"
#include "veil/sve.h"
#include "veil/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT_T 6
#define DECODE 3
#define POSITIONS (PROMPT_T + DECODE)

static const int prompt_ids[PROMPT_T] = {1, 70, 101, 33, 260, 5};

/* Logits of a prefill of PROMPT_T tokens then DECODE greedy steps. */
static int run_logits(const veil_model *m, const veil_backend *b, float *logits)
{
    const veil_config *c = &m->cfg;
    float *x = malloc(sizeof *x * PROMPT_T * c->dim);
    if (!x) return VEIL_ENOMEM;
    for (int t = 0; t < PROMPT_T; t++)
        veil_embed(m, prompt_ids[t] % c->vocab_size, x + (size_t)t * c->dim);
    int rc = b->forward(b->ctx, 0, PROMPT_T, x);
    for (int t = 0; t < PROMPT_T && !rc; t++)
        veil_head(m, x + (size_t)t * c->dim, logits + (size_t)t * c->vocab_size);
    for (int pos = PROMPT_T; pos < POSITIONS && !rc; pos++) {
        int tok = veil_argmax(logits + (size_t)(pos - 1) * c->vocab_size, c->vocab_size);
        veil_embed(m, tok, x);
        rc = b->forward(b->ctx, pos, 1, x);
        if (!rc) veil_head(m, x, logits + (size_t)pos * c->vocab_size);
    }
    free(x);
    return rc;
}

static void append(void *ctx, const char *piece)
{
    char *buf = ctx;
    size_t n = strlen(buf);
    if (n + strlen(piece) < 4096) strcpy(buf + n, piece);
}

static int gen_text(const veil_model *m, veil_tokenizer *tok, const veil_backend *b, char *out)
{
    veil_gen_opts o = {.prompt = "Once upon a time", .steps = 48, .temperature = 0.0f,
                       .topp = 0.9f, .seed = 42};
    veil_gen_stats st;
    out[0] = 0;
    return veil_generate(m, tok, b, &o, append, out, &st);
}

/* Every variant x shard count x hop against the plain run. */
static void check_model(const char *name, const veil_model *m, veil_tokenizer *tok)
{
    const veil_config *c = &m->cfg;
    size_t nl = (size_t)POSITIONS * c->vocab_size;
    float *plain = malloc(sizeof *plain * nl), *sve = malloc(sizeof *sve * nl);
    char *ptext = calloc(1, 4096), *stext = calloc(1, 4096);
    veil_shard *sh = NULL;
    CHECK(veil_model_shard(m, 0, c->n_layers, POSITIONS + 48, &sh) == 0);
    veil_backend pb = veil_local_backend(sh);
    CHECK(run_logits(m, &pb, plain) == 0);
    veil_shard_free(sh);
    if (tok) {
        CHECK(veil_model_shard(m, 0, c->n_layers, 0, &sh) == 0);
        pb = veil_local_backend(sh);
        CHECK(gen_text(m, tok, &pb, ptext) == 0);
        veil_shard_free(sh);
    }
    double worst = 0.0;
    for (int v = VEIL_SVE_PAPER; v <= VEIL_SVE_STRONG; v++)
        for (int n = 1; n <= c->n_layers; n++)
            for (int hop = 0; hop <= (n > 1); hop++) {
                veil_sve_local *l = NULL;
                int rc = veil_sve_local_new(m, v, n, hop, POSITIONS + 48, &l);
                CHECKF(rc == 0, "%s: %s", name, veil_last_error());
                if (rc) continue;
                veil_backend sb = veil_sve_local_backend(l);
                CHECK(run_logits(m, &sb, sve) == 0);
                double rel = test_rel_diff(sve, plain, nl);
                if (rel > worst) worst = rel;
                CHECKF(rel < 1e-4, "%s %s shards=%d hop=%d: logits rel diff %.3g", name,
                       veil_sve_variant_name(v), n, hop, rel);
                veil_sve_local_free(l);
                /* text: the extremes and one middle count keep the test fast */
                if (!tok || (n != 1 && n != 2 && n != c->n_layers)) continue;
                CHECK(veil_sve_local_new(m, v, n, hop, 0, &l) == 0);
                sb = veil_sve_local_backend(l);
                CHECK(gen_text(m, tok, &sb, stext) == 0);
                CHECKF(strcmp(ptext, stext) == 0, "%s %s shards=%d hop=%d: text differs:\n"
                       "plain: %s\nsve:   %s", name, veil_sve_variant_name(v), n, hop, ptext,
                       stext);
                veil_sve_local_free(l);
            }
    printf("%s: worst logits rel diff %.3g over all variants/shards/hops\n", name, worst);
    if (tok) printf("%s: text \"%s\"\n", name, ptext);
    free(plain);
    free(sve);
    free(ptext);
    free(stext);
}

static veil_model *synth_model(int dim, int hd, int layers, int heads, int kv, int vocab)
{
    veil_config c = {dim, hd, layers, heads, kv, vocab, 128, 1};
    size_t n;
    float *f = veil_synth_floats(&c, 7, &n);
    veil_model *m = NULL;
    if (!f || veil_model_from_legacy_floats(&c, f, n, &m)) return NULL;
    return m;
}

/* The hidden states a node sees are the plain ones moved by an orthogonal
 * map: norms are kept and the round trip is exact to float rounding. */
static void check_basis(void)
{
    veil_config c = {48, 96, 4, 6, 2, 300, 32, 1};
    int b[3] = {0, 2, 4};
    for (int v = VEIL_SVE_PAPER; v <= VEIL_SVE_STRONG; v++) {
        veil_sve_keys *k = NULL;
        CHECK(veil_sve_keys_new(&c, v, 2, b, 1, &k) == 0);
        if (!k) continue;
        CHECK(veil_sve_keys_segments(k) == 2);
        CHECK(veil_sve_hop_after(k, 0) == 1 && veil_sve_hop_after(k, 1) == 0);
        float x[2 * 48], y[2 * 48];
        for (int i = 0; i < 96; i++)
            x[i] = y[i] = sinf(0.37f * i + 0.1f);
        CHECK(veil_sve_enter(k, y, 2) == 0);
        double nx = 0, ny = 0, moved = 0;
        for (int i = 0; i < 48; i++) {
            nx += x[i] * x[i];
            ny += y[i] * y[i];
            moved += fabs(x[i] - y[i]);
        }
        CHECK(fabs(nx - ny) < 1e-4 * nx);
        CHECK(moved > 0.1);
        CHECK(veil_sve_rekey_hop(k, 0, y, 2) == 0);
        CHECK(veil_sve_exit(k, y, 2) == 0);
        CHECK(test_rel_diff(y, x, 96) < 1e-6);
        CHECK(veil_sve_rekey_hop(k, 1, y, 2) == VEIL_ERANGE);
        CHECK(veil_sve_to_shard_basis(k, 2, y, 1) == VEIL_ERANGE);
        veil_sve_keys_free(k);
    }
}

static void check_errors(void)
{
    veil_config c = {48, 96, 4, 6, 2, 300, 32, 1};
    veil_sve_keys *k = NULL;
    int bad1[3] = {0, 3, 3}, bad2[3] = {-1, 2, 4}, bad3[3] = {0, 2, 5}, ok[3] = {0, 1, 4};
    int split[3] = {1, 2, 4}; /* split inference: the client keeps layer 0 */
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_PAPER, 2, split, 0, &k) == 0 && k);
    veil_sve_keys_free(k);
    k = NULL;
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_PAPER, 2, bad1, 0, &k) == VEIL_EINVAL && !k);
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_PAPER, 2, bad2, 0, &k) == VEIL_EINVAL);
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_PAPER, 2, bad3, 0, &k) == VEIL_EINVAL);
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_PAPER, 5, ok, 0, &k) == VEIL_ERANGE);
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_PAPER, 2, ok, -1, &k) == VEIL_ERANGE);
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_PAPER, 2, ok, 3, &k) == 0); /* = no hop */
    CHECK(k && veil_sve_keys_segments(k) == 1 && !veil_sve_hop_after(k, 0));
    veil_sve_keys_free(k);
    k = NULL;
    CHECK(veil_sve_keys_new(&c, (veil_sve_variant)9, 2, ok, 0, &k) == VEIL_EINVAL);
    CHECK(veil_sve_keys_new(&c, VEIL_SVE_STRONG, 2, ok, 0, &k) == 0);
    veil_layer l[4];
    memset(l, 0, sizeof l);
    float out[1];
    CHECK(veil_sve_transform_shard(k, 0, l, 0, 2, out) == VEIL_EINVAL); /* wrong range */
    CHECK(veil_sve_transform_shard(k, 0, l, 0, 1, out) == VEIL_EINVAL); /* NULL tensors */
    CHECK(veil_sve_transform_shard(k, 2, l, 1, 4, out) == VEIL_ERANGE);
    veil_sve_keys_free(k);

    veil_sve_variant v;
    CHECK(veil_sve_variant_parse("paper", &v) == 0 && v == VEIL_SVE_PAPER);
    CHECK(veil_sve_variant_parse("strong", &v) == 0 && v == VEIL_SVE_STRONG);
    CHECK(veil_sve_variant_parse("Strong", &v) == VEIL_EINVAL);
    CHECK(veil_sve_variant_parse(NULL, &v) == VEIL_EINVAL);

    veil_sve_policy p;
    char buf[32];
    CHECK(veil_sve_policy_parse("session", &p) == 0 && p.kind == VEIL_SVE_KEYS_SESSION);
    CHECK(veil_sve_policy_fresh(&p, 0) && !veil_sve_policy_fresh(&p, 5));
    CHECK(veil_sve_policy_parse("request", &p) == 0 && veil_sve_policy_fresh(&p, 7));
    CHECK(veil_sve_policy_parse("reuse:3", &p) == 0 && p.n == 3);
    CHECK(veil_sve_policy_fresh(&p, 3) && !veil_sve_policy_fresh(&p, 4));
    veil_sve_policy_format(&p, buf, sizeof buf);
    CHECK(strcmp(buf, "reuse:3") == 0);
    const char *bad[] = {"reuse:0", "reuse:", "reuse:-2", "reuse:3x", "reuse:+3", "sess", "",
                         "reuse:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECKF(veil_sve_policy_parse(bad[i], &p) == VEIL_EINVAL, "accepted '%s'", bad[i]);
}

int main(void)
{
    veil_set_threads(2);
    check_errors();
    check_basis();

    /* GQA (group 4) and plain multi-head (group 1) synthetic shapes */
    veil_model *m = synth_model(64, 160, 4, 8, 2, 512);
    CHECK(m != NULL);
    char tokpath[512];
    snprintf(tokpath, sizeof tokpath, "%s/tok.bin", test_tmpdir());
    veil_tokenizer *tok = NULL;
    CHECK(veil_synth_tokenizer(512, tokpath) == 0);
    CHECK(veil_tokenizer_open(tokpath, 512, &tok) == 0);
    if (m) check_model("synth-gqa", m, tok);
    veil_tokenizer_free(tok);
    veil_model_close(m);
    m = synth_model(32, 64, 2, 4, 4, 300);
    CHECK(m != NULL);
    if (m) check_model("synth-mha", m, NULL);
    veil_model_close(m);

    char mp[4096], tp[4096]; /* test_model_file returns a static buffer */
    const char *f1 = test_model_file("stories260K.bin");
    snprintf(mp, sizeof mp, "%s", f1 ? f1 : "");
    const char *f2 = test_model_file("tok512.bin");
    snprintf(tp, sizeof tp, "%s", f2 ? f2 : "");
    if (!f1 || !f2) {
        printf("stories260K.bin / tok512.bin not found: real-model part skipped\n");
        return test_done();
    }
    int orc = veil_model_open(mp, &m);
    CHECKF(orc == 0, "%s", veil_last_error());
    CHECK(veil_tokenizer_open(tp, m ? m->cfg.vocab_size : 512, &tok) == 0);
    if (m && tok) check_model("stories260K", m, tok);
    veil_tokenizer_free(tok);
    veil_model_close(m);
    return test_done();
}
