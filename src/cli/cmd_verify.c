/* veil model profile: the CDV reference profile published with a model. */
#include "cli.h"

#include "veil/ledger.h"
#include "veil/sampler.h"
#include "veil/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt profile_opts[] = {
    {"model", 'm', "MODEL", "checkpoint (default ../shared/models/stories260K.bin)"},
    {"tokenizer", 'z', "TOK", "tokenizer, needed with --corpus"},
    {"corpus", 0, "FILE", "text, one prompt per line (default: the model's own samples)"},
    {"samples", 0, "N", "without --corpus: sampled sequences (default 8)"},
    {"steps", 'n', "N", "without --corpus: tokens per sequence (default 256, <= seq_len)"},
    {"topk", 'k', "K", "top-k magnitudes in the histogram (default 8)"},
    {"output", 'o', "PROFILE", "profile file to write"},
    {0},
};

/* One sequence through the whole model as a single prefill pass. */
static int run_tokens(const veil_model *m, veil_cdv_profiler *p, const int *tok, int n)
{
    veil_shard *s;
    int rc = veil_model_shard(m, 0, m->cfg.n_layers, n, &s);
    if (rc) return rc;
    veil_shard_set_hook(s, veil_cdv_profiler_hook, p);
    float *x = malloc(sizeof(float) * (size_t)n * m->cfg.dim);
    if (!x) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) veil_embed(m, tok[i], x + (size_t)i * m->cfg.dim);
    if (!rc) rc = veil_shard_forward_batch(s, 0, n, x);
    free(x);
    veil_shard_free(s);
    return rc;
}

/* Default corpus: sequences the model samples itself (temperature 1), i.e.
 * the hidden states nodes see while generating. */
static int sample_sequence(const veil_model *m, uint64_t seed, int n, int *tok)
{
    veil_shard *s;
    veil_sampler smp;
    int rc = veil_model_shard(m, 0, m->cfg.n_layers, n, &s);
    if (rc) return rc;
    if ((rc = veil_sampler_init(&smp, m->cfg.vocab_size, 1.0f, 0.9f, seed))) {
        veil_shard_free(s);
        return rc;
    }
    float *x = malloc(sizeof(float) * m->cfg.dim), *lg = malloc(sizeof(float) * m->cfg.vocab_size);
    if (!x || !lg) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    tok[0] = VEIL_TOKEN_BOS;
    for (int p = 0; !rc && p + 1 < n; p++) {
        veil_embed(m, tok[p], x);
        rc = veil_shard_forward(s, p, x);
        veil_head(m, x, lg);
        tok[p + 1] = veil_sample(&smp, lg);
    }
    free(x);
    free(lg);
    veil_sampler_free(&smp);
    veil_shard_free(s);
    return rc;
}

static int profile_corpus(const veil_model *m, const char *tokpath, const char *corpus,
                          veil_cdv_profiler *p, long *lines)
{
    veil_tokenizer *t;
    int rc = veil_tokenizer_open(tokpath, m->cfg.vocab_size, &t);
    if (rc) return rc;
    FILE *f = fopen(corpus, "r");
    if (!f) {
        veil_tokenizer_free(t);
        return veil_fail(VEIL_EIO, "cannot open corpus %s", corpus);
    }
    char line[16384];
    int *tok = malloc(sizeof(int) * (sizeof line + 3));
    if (!tok) rc = veil_fail(VEIL_ENOMEM, "out of memory");
    while (!rc && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        int n = veil_encode(t, line, 1, 0, tok);
        if (n < 0) rc = n;
        if (n > m->cfg.seq_len) n = m->cfg.seq_len;
        if (!rc && n >= 1) rc = run_tokens(m, p, tok, n);
        ++*lines;
    }
    free(tok);
    fclose(f);
    veil_tokenizer_free(t);
    return rc;
}

static int run_profile(cli_args *a)
{
    const char *out = cli_get(a, "output"), *corpus = cli_get(a, "corpus");
    long samples, steps, k;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!out) return cli_usage_error(a, "-o PROFILE is required");
    if (cli_int(a, "samples", 8, 1, 100000, &samples) || cli_int(a, "steps", 256, 2, VEIL_MAX_SEQ, &steps) ||
        cli_int(a, "topk", 8, 1, VEIL_MAX_DIM, &k))
        return CLI_USAGE;
    char model[4096], tok[4096];
    const char *mp = cli_get(a, "model"), *zp = cli_get(a, "tokenizer");
    snprintf(model, sizeof model, "%s", mp ? mp : "");
    if (!mp) snprintf(model, sizeof model, "%s/stories260K.bin", cli_model_dir());
    snprintf(tok, sizeof tok, "%s", zp ? zp : "");
    if (!zp && !mp) snprintf(tok, sizeof tok, "%s/tok512.bin", cli_model_dir());
    if (corpus && !tok[0]) return cli_usage_error(a, "--corpus needs -z TOKENIZER");
    veil_model *m;
    if (veil_model_open(model, &m)) return cli_fail_lib("cannot open model");
    if (k > m->cfg.dim) k = m->cfg.dim;
    if (steps > m->cfg.seq_len) steps = m->cfg.seq_len;
    veil_cdv_profiler *p = NULL;
    veil_cdv_profile *prof = NULL;
    int rc = veil_cdv_profiler_new(m, (int)k, &p);
    long lines = 0;
    if (!rc && corpus) {
        rc = profile_corpus(m, tok, corpus, p, &lines);
    } else if (!rc) {
        int *seq = malloc(sizeof(int) * steps);
        if (!seq) rc = veil_fail(VEIL_ENOMEM, "out of memory");
        for (long i = 0; !rc && i < samples; i++) {
            rc = sample_sequence(m, 1000 + (uint64_t)i, (int)steps, seq);
            if (!rc) rc = run_tokens(m, p, seq, (int)steps);
        }
        free(seq);
    }
    if (!rc) rc = veil_cdv_profiler_finish(p, &prof);
    if (!rc) rc = veil_cdv_profile_save(prof, out);
    if (!rc) {
        fprintf(stderr, "wrote %s: %ld tokens from %s, %d layer boundaries, top-%ld histogram\n",
                out, prof->tokens, corpus ? corpus : "the model's own samples", prof->n_layers, k);
        for (int l = 0; l < prof->n_layers; l++)
            fprintf(stderr, "  layer %d: std %.4g  skew %.3g  kurt %.3g  score %.3g +- %.3g (max %.3g)\n",
                    l, prof->b[l].mu[1], prof->b[l].mu[2], prof->b[l].mu[3], prof->b[l].score_mu,
                    prof->b[l].score_sd, prof->b[l].score_max);
    }
    veil_cdv_profile_free(prof);
    veil_cdv_profiler_free(p);
    veil_model_close(m);
    return rc ? cli_fail_lib("model profile") : CLI_OK;
}

/* ---- veil ledger show / forgive ------------------------------------------------ */

static const cli_opt ledger_opts[] = {
    {"db", 0, "FILE", "reputation database (default $VEIL_LEDGER or ./veil-ledger.db)"},
    {0},
};

static const char *ledger_path(const cli_args *a)
{
    const char *p = cli_get(a, "db"), *env = getenv("VEIL_LEDGER");
    return p ? p : env && *env ? env : "veil-ledger.db";
}

static int print_rep(void *ctx, const char *node, const veil_node_rep *r)
{
    (void)ctx;
    veil_flag clean; /* names are untrusted: print them cleaned */
    veil_flag_set(&clean, node, "x");
    printf("%-24s %8.3f %8ld %6ld %6ld %6ld %7ld  %s\n", clean.node, r->score, r->agree, r->flag,
           r->cdv, r->dispute, r->reexec, r->flagged ? "FLAGGED (avoided)" : "ok");
    return 0;
}

static int run_ledger_show(cli_args *a)
{
    veil_ledger *l;
    if (veil_ledger_open(ledger_path(a), &l)) return cli_fail("%s", veil_last_error());
    printf("%-24s %8s %8s %6s %6s %6s %7s  %s\n", "node", "score", "agree", "flag", "cdv",
           "lost", "reexec", "status");
    int rc = 0;
    if (a->npos == 0) rc = veil_ledger_each(l, print_rep, NULL);
    for (int i = 0; !rc && i < a->npos; i++) {
        veil_node_rep r;
        rc = veil_ledger_get(l, a->pos[i], &r);
        if (!rc) print_rep(NULL, a->pos[i], &r);
    }
    veil_ledger_close(l);
    return rc ? cli_fail("%s", veil_last_error()) : CLI_OK;
}

static int run_ledger_forgive(cli_args *a)
{
    if (a->npos < 1) return cli_usage_error(a, "name the node(s) to forgive");
    veil_ledger *l;
    if (veil_ledger_open(ledger_path(a), &l)) return cli_fail("%s", veil_last_error());
    int rc = 0;
    for (int i = 0; !rc && i < a->npos; i++) rc = veil_ledger_forgive(l, a->pos[i]);
    veil_ledger_close(l);
    return rc ? cli_fail("%s", veil_last_error()) : CLI_OK;
}

const cli_cmd cli_cmds_verify[] = {
    {"ledger show", "[NODE...]", "show node reputations (score, agreements, flags) from the ledger",
     ledger_opts, run_ledger_show},
    {"ledger forgive", "NODE...", "erase the reputation history of nodes (operator decision)",
     ledger_opts, run_ledger_forgive},
    {"model profile", "",
     "compute the CDV reference profile (per-layer output statistics) of a model", profile_opts,
     run_profile},
    {0},
};
