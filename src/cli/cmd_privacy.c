/* veil eval ppl / veil attack invert: the utility and the leakage of split
 * inference with and without DP noise, measured on the same corpus.  Also the
 * --dp-* option parsing shared with `veil run --split`. */
#include "cli.h"

#include "veil/attack.h"
#include "veil/dp.h"
#include "veil/eval.h"
#include "veil/qmodel.h"
#include "veil/sve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared --dp-* options ------------------------------------------------------ */

int cli_dp_opts(cli_args *a, veil_dp_params *p, int *on)
{
    *p = VEIL_DP_PARAMS_DEFAULT;
    *on = cli_has(a, "dp-eps");
    if (!*on) {
        if (cli_has(a, "dp-delta") || cli_has(a, "dp-clip") || cli_has(a, "dp-mech") ||
            cli_has(a, "dp-seed"))
            return cli_usage_error(a, "--dp-delta/--dp-clip/--dp-mech/--dp-seed need --dp-eps");
        return 0;
    }
    if (cli_float(a, "dp-eps", 0, 1e-9, 1e6, &p->eps) ||
        cli_float(a, "dp-delta", VEIL_DP_DEFAULT_DELTA, 1e-300, 0.999999, &p->delta) ||
        cli_float(a, "dp-clip", VEIL_DP_DEFAULT_CLIP, 1e-9, 1e9, &p->clip))
        return CLI_USAGE;
    const char *mech = cli_get(a, "dp-mech");
    if (mech && veil_dp_parse_kind(mech, &p->kind))
        return cli_usage_error(a, "%s", veil_last_error());
    return 0;
}

int cli_dp_setup(cli_args *a, int dim, veil_dp_mech *mech, veil_dp_rng **rng, int *on)
{
    veil_dp_params p;
    uint64_t seed;
    *rng = NULL;
    int rc = cli_dp_opts(a, &p, on);
    if (rc || !*on) return rc;
    if (cli_u64(a, "dp-seed", 0, &seed)) return CLI_USAGE;
    if (veil_dp_mech_init(mech, &p, dim)) return cli_usage_error(a, "%s", veil_last_error());
    /* --dp-seed makes the noise reproducible (tests, benchmarks); otherwise
     * the noise key comes from the OS CSPRNG. */
    rc = cli_has(a, "dp-seed") ? veil_dp_rng_new_seeded(seed, rng) : veil_dp_rng_new_secure(rng);
    return rc ? cli_fail_lib("cannot start the DP noise generator") : 0;
}

/* ---- model, tokenizer and corpus ---------------------------------------------------- */

typedef struct {
    veil_model *m;
    veil_tokenizer *t;
    veil_corpus corpus;
} inputs;

static void inputs_free(inputs *in)
{
    veil_corpus_free(&in->corpus);
    veil_tokenizer_free(in->t);
    veil_model_close(in->m);
}

static int inputs_open(cli_args *a, inputs *in)
{
    char mpath[4096], zpath[4096];
    memset(in, 0, sizeof *in);
    if (cli_model_paths(a, mpath, zpath)) return CLI_USAGE;
    const char *corpus = cli_get(a, "corpus");
    if (!corpus) return cli_usage_error(a, "--corpus FILE is required");
    if (veil_model_open(mpath, &in->m)) return cli_fail_lib("cannot load model");
    if (veil_tokenizer_open(zpath, in->m->cfg.vocab_size, &in->t))
        return cli_fail_lib("cannot load tokenizer");
    if (veil_corpus_load(corpus, &in->corpus)) return cli_fail_lib("cannot load corpus");
    return 0;
}

static int common_numbers(cli_args *a, const veil_model *m, long dflt_tokens, long *max_tokens,
                          long *max_len)
{
    long threads;
    int cap = m->cfg.seq_len < 256 ? m->cfg.seq_len : 256;
    if (cli_int(a, "max-tokens", dflt_tokens, 2, 1L << 30, max_tokens) ||
        cli_int(a, "max-len", cap, 2, m->cfg.seq_len, max_len) ||
        cli_int(a, "threads", 0, 0, 64, &threads))
        return CLI_USAGE;
    if (threads) veil_set_threads((int)threads);
    return 0;
}

/* ---- veil eval ppl -------------------------------------------------------------------- */

static const cli_opt ppl_opts[] = {
    {"model", 'm', "MODEL", "checkpoint (default: $VEIL_MODEL_DIR/stories260K.bin)"},
    {"tokenizer", 'z', "TOKENIZER", "tokenizer.bin"},
    {"corpus", 0, "FILE", "text corpus (fortune '%' or blank-line separated)"},
    {"split", 0, "K", "client runs layers 0..K-1, nodes the rest (0..n_layers)"},
    CLI_DP_OPTS,
    {"max-tokens", 0, "N", "tokens of the corpus to use (default 4096)"},
    {"max-len", 0, "N", "cut documents to N tokens (default min(seq_len, 256))"},
    {"threads", 0, "N", "kernel threads (default: all cores)"},
    {"int", 0, NULL, "also score the integer Q16 forward pass (veil generate --int)"},
    {0},
};

typedef struct {
    veil_split_local *split;
    long max_rows;
    veil_dp_accountant worst; /* the request that spent the most */
} ppl_watch;

static void after_request(void *ctx, int seq)
{
    (void)seq;
    ppl_watch *w = ctx;
    veil_dp_accountant *acc = veil_split_local_accountant(w->split);
    if (acc->rows > w->max_rows) {
        w->max_rows = acc->rows;
        w->worst = *acc;
    }
    veil_split_local_reset(w->split);
}

static int ppl_row(const char *name, const veil_model *m, veil_split_local *s,
                   const veil_seqs *seqs, ppl_watch *w, veil_ppl *r)
{
    veil_backend b = veil_split_local_backend(s);
    if (veil_eval_ppl(m, &b, seqs, w ? after_request : NULL, w, r))
        return cli_fail_lib("perplexity evaluation failed");
    printf("%-34s %8ld %8.4f %10.3f %7.3f\n", name, r->tokens, r->nll, r->ppl, r->top1);
    return 0;
}

/* --int: the same sequences through the integer forward pass (qmodel.h). */
static int ppl_int_row(const veil_model *m, const veil_seqs *seqs, int max_len)
{
    veil_qmodel *q = NULL;
    veil_qshard *s = NULL;
    veil_ppl r;
    int rc = veil_qmodel_new(m, &q) || veil_qmodel_shard(q, 0, m->cfg.n_layers, max_len, &s);
    veil_backend b = veil_qbackend(s);
    if (!rc) rc = veil_eval_ppl(m, &b, seqs, NULL, NULL, &r);
    if (!rc) {
        printf("%-34s %8ld %8.4f %10.3f %7.3f\nppl_int=%.4f\n", "integer Q16 (all layers)",
               r.tokens, r.nll, r.ppl, r.top1, r.ppl);
    }
    veil_qshard_free(s);
    veil_qmodel_free(q);
    return rc ? cli_fail_lib("integer forward pass") : 0;
}

static int run_ppl(cli_args *a)
{
    inputs in;
    veil_seqs seqs = {0};
    veil_dp_mech mech;
    veil_dp_rng *rng = NULL;
    veil_split_local *base = NULL, *prot = NULL;
    long max_tokens, max_len, split;
    int dp_on = 0, rc = CLI_FAIL;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    rc = inputs_open(a, &in);
    if (rc) goto done;
    rc = CLI_USAGE;
    int L = in.m->cfg.n_layers;
    if (common_numbers(a, in.m, 4096, &max_tokens, &max_len) ||
        cli_int(a, "split", L, 0, L, &split) ||
        cli_dp_setup(a, in.m->cfg.dim, &mech, &rng, &dp_on))
        goto done;
    rc = CLI_FAIL;
    if (veil_seqs_from_corpus(&in.corpus, in.t, in.m->cfg.vocab_size, 0, (int)max_len,
                              max_tokens, &seqs, NULL)) {
        cli_fail_lib("cannot tokenize corpus");
        goto done;
    }
    if (veil_split_local_new(in.m, L, NULL, NULL, (int)max_len, &base) ||
        veil_split_local_new(in.m, (int)split, dp_on ? &mech : NULL, rng, (int)max_len, &prot)) {
        cli_fail_lib("cannot build the model");
        goto done;
    }
    printf("corpus: %s, %d sequences, %ld tokens\n", cli_get(a, "corpus"), seqs.n, seqs.total);
    printf("%-34s %8s %8s %10s %7s\n", "setting", "scored", "nll", "ppl", "top1");
    veil_ppl r0, r1;
    ppl_watch w = {.split = prot};
    char name[128];
    snprintf(name, sizeof name, "split K=%ld%s%s", split, dp_on ? " + dp " : "",
             dp_on ? veil_dp_kind_name(mech.p.kind) : "");
    if (ppl_row("local", in.m, base, &seqs, NULL, &r0) ||
        ppl_row(name, in.m, prot, &seqs, dp_on ? &w : NULL, &r1))
        goto done;
    if (dp_on) {
        char line[512];
        veil_dp_accountant_format(&w.worst, line, sizeof line);
        fprintf(stderr, "largest request: %s\n", line);
    }
    printf("ppl_local=%.4f\nppl=%.4f\n", r0.ppl, r1.ppl);
    if (cli_has(a, "int") && ppl_int_row(in.m, &seqs, (int)max_len)) goto done;
    rc = CLI_OK;
done:
    veil_split_local_free(base);
    veil_split_local_free(prot);
    veil_dp_rng_free(rng);
    veil_seqs_free(&seqs);
    inputs_free(&in);
    return rc;
}

/* ---- veil attack invert ------------------------------------------------------------------ */

static const cli_opt invert_opts[] = {
    {"model", 'm', "MODEL", "the public checkpoint"},
    {"tokenizer", 'z', "TOKENIZER", "tokenizer.bin"},
    {"corpus", 0, "FILE", "the private text whose hidden states the node sees"},
    {"observe-layer", 'k', "K", "states seen after layers 0..K-1 (default 0 = embeddings)"},
    {"split", 0, "S", "client noises after layer S-1 (S <= K; default S = K)"},
    {"method", 0, "M[,M..]", "nearest|logit-lens|vocab-match|sorted-vocab-match|"
                             "gram-match|linear|all (default all)"},
    CLI_DP_OPTS,
    {"max-tokens", 0, "N", "tokens of the corpus to attack (default 256)"},
    {"max-len", 0, "N", "cut documents to N tokens (default min(seq_len, 256))"},
    {"train", 0, "FILE", "public text for the linear inverter (default: rest of corpus)"},
    {"train-tokens", 0, "N", "tokens to train the linear inverter on (default 8192)"},
    {"candidates", 0, "N", "vocab-match: only the top-N guesses of nearest and linear (0 = all)"},
    {"threads", 0, "N", "threads (default: all cores)"},
    /* SVE (owned by the SVE module, src/privacy/sve_invert.c) */
    {"sve", 0, "paper|strong", "the node sees states under SVE keys of this variant"},
    {"sve-keys", 0, "session|request|reuse:N", "SVE key policy (default session)"},
    {"sve-hop", 0, "M", "SVE: state returns to the client every M shards (default 0)"},
    {"sve-attack", 0, "none|known-weights|covariance",
     "SVE: recover the secret basis first, then run the methods (default none)"},
    {0},
};

typedef struct {
    inputs in;
    veil_corpus train_corpus; /* only with --train */
    veil_seqs target, train;
    float *obs;                 /* target.total x dim */
    int *top;                   /* target.total x VEIL_ATTACK_TOPK */
    veil_attacker *atk;
    veil_dp_mech mech;
    veil_dp_rng *rng, *atk_rng; /* client noise; the attacker's own noise */
    int dp_on, layer, split;
    veil_sve_invert *sve; /* --sve: SVE observation (src/privacy/sve_invert.c) */
} invert_ctx;

static void invert_free(invert_ctx *c)
{
    veil_attacker_free(c->atk);
    veil_sve_invert_free(c->sve);
    veil_dp_rng_free(c->rng);
    veil_dp_rng_free(c->atk_rng);
    free(c->obs);
    free(c->top);
    veil_seqs_free(&c->target);
    veil_seqs_free(&c->train);
    veil_corpus_free(&c->train_corpus);
    inputs_free(&c->in);
}

/* What the node sees for every target sequence (the place where an
 * obfuscating transform of the states would be applied too). */
static int observe_seqs(const invert_ctx *c, const veil_seqs *s, veil_dp_rng *rng, float *out)
{
    int dim = c->in.m->cfg.dim;
    for (int q = 0; c->sve && s == &c->target && q < s->n; q++)
        if (veil_sve_invert_observe(c->sve, s->tok + s->start[q], s->len[q], out, s->start[q]))
            return cli_fail_lib("cannot observe under SVE");
    for (int q = 0; !(c->sve && s == &c->target) && q < s->n; q++)
        if (veil_attack_observe(c->in.m, s->tok + s->start[q], s->len[q], c->split, c->layer,
                                c->dp_on ? &c->mech : NULL, rng,
                                out + (size_t)s->start[q] * dim))
            return cli_fail_lib("cannot compute hidden states");
    return 0;
}

/* Public text for the attacker: --train FILE, else the corpus documents
 * after the attacked ones. */
static int load_train_text(invert_ctx *c, int next_doc, long max_len, long train_tokens)
{
    const veil_corpus *src = c->train_corpus.n ? &c->train_corpus : &c->in.corpus;
    int first = c->train_corpus.n ? 0 : next_doc;
    if (first >= src->n) {
        fprintf(stderr, "veil: no public text left for the linear inverter and the baseline\n");
        return 0;
    }
    if (veil_seqs_from_corpus(src, c->in.t, c->in.m->cfg.vocab_size, first, (int)max_len,
                              train_tokens, &c->train, NULL))
        return cli_fail_lib("cannot tokenize training text");
    return 0;
}

/* Train the linear inverter on the public text observed like the target,
 * with the attacker's own noise when the client adds noise. */
static int train_linear(invert_ctx *c)
{
    if (!c->train.n) return 0;
    float *states = malloc(sizeof(float) * c->train.total * c->in.m->cfg.dim);
    if (!states) return cli_fail("out of memory for training states");
    int rc = observe_seqs(c, &c->train, c->atk_rng, states);
    if (!rc && veil_attacker_train_linear(c->atk, states, c->train.tok, (int)c->train.total,
                                          1e-3))
        rc = cli_fail_lib("cannot fit the linear inverter");
    free(states);
    return rc;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Print the L2 norms of clean states at the observed depth on (up to 1024
 * tokens of) the public text: the scale a client needs to choose --dp-clip,
 * known to everyone since the model is public. */
static int print_public_norms(const invert_ctx *c)
{
    int dim = c->in.m->cfg.dim, n = 0;
    float *st = malloc(sizeof(float) * 1024 * dim);
    double *nr = malloc(sizeof(double) * 1024);
    int rc = st && nr ? 0 : cli_fail("out of memory");
    for (int q = 0; !rc && q < c->train.n && n + c->train.len[q] <= 1024; q++) {
        const int *tok = c->train.tok + c->train.start[q];
        if (veil_attack_observe(c->in.m, tok, c->train.len[q], c->layer, c->layer, NULL, NULL,
                                st + (size_t)n * dim))
            rc = cli_fail_lib("cannot compute hidden states");
        n += c->train.len[q];
    }
    for (int i = 0; !rc && i < n; i++) {
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)st[(size_t)i * dim + j] * st[(size_t)i * dim + j];
        nr[i] = sqrt(ss);
    }
    if (!rc && n > 0) {
        qsort(nr, n, sizeof *nr, cmp_double);
        printf("public states at layer %d: L2 norm p10 %.3f, median %.3f, p90 %.3f "
               "(norm_median=%.3f)\n", c->layer, nr[n / 10], nr[n / 2], nr[n * 9 / 10], nr[n / 2]);
    }
    free(st);
    free(nr);
    return rc;
}

/* Fraction of target tokens equal to the most frequent training token. */
static double majority_baseline(const invert_ctx *c)
{
    int V = c->in.m->cfg.vocab_size, best = 0;
    long *cnt = calloc(V, sizeof *cnt), hit = 0, n = 0;
    if (!cnt || !c->train.n) {
        free(cnt);
        return 0;
    }
    for (int q = 0; q < c->train.n; q++)
        for (int t = 1; t < c->train.len[q]; t++) cnt[c->train.tok[c->train.start[q] + t]]++;
    for (int v = 1; v < V; v++) best = cnt[v] > cnt[best] ? v : best;
    for (int q = 0; q < c->target.n; q++)
        for (int t = 1; t < c->target.len[q]; t++, n++)
            hit += c->target.tok[c->target.start[q] + t] == best;
    free(cnt);
    return n ? (double)hit / n : 0;
}

static int attack_method(invert_ctx *c, veil_attack_method m, veil_attack_score *sc)
{
    int dim = c->in.m->cfg.dim;
    memset(sc, 0, sizeof *sc);
    double t0 = veil_now();
    for (int q = 0; q < c->target.n; q++) {
        size_t off = c->target.start[q];
        if (veil_attack_recover(c->atk, m, c->obs + off * dim, c->target.len[q],
                                c->top + off * VEIL_ATTACK_TOPK))
            return cli_fail_lib(veil_attack_method_name(m));
        veil_attack_score_add(sc, c->top + off * VEIL_ATTACK_TOPK, c->target.tok + off,
                              c->target.len[q], 1);
    }
    printf("%-20s %8ld %10.4f %10.4f %9.2f\n", veil_attack_method_name(m), sc->n,
           sc->n ? (double)sc->top1 / sc->n : 0, sc->n ? (double)sc->top5 / sc->n : 0,
           veil_now() - t0);
    fflush(stdout);
    return 0;
}

static int invert_setup(cli_args *a, invert_ctx *c, long *max_len, long *train_tokens,
                        int *next_doc, long *cands)
{
    long max_tokens, layer, split;
    int L = c->in.m->cfg.n_layers;
    if (common_numbers(a, c->in.m, 256, &max_tokens, max_len) ||
        cli_int(a, "observe-layer", 0, 0, L, &layer) ||
        cli_int(a, "split", layer, 0, layer, &split) ||
        cli_int(a, "train-tokens", 8192, 16, 1L << 26, train_tokens) ||
        cli_int(a, "candidates", 0, 0, c->in.m->cfg.vocab_size, cands) ||
        cli_dp_setup(a, c->in.m->cfg.dim, &c->mech, &c->rng, &c->dp_on))
        return CLI_USAGE;
    c->layer = (int)layer;
    c->split = (int)split;
    /* --sve: the attacked states are observed under SVE (the attacker's own
     * training text stays plain: it holds only the public model) */
    if (cli_has(a, "sve") && (cli_has(a, "split") || c->dp_on))
        return cli_usage_error(a, "--sve does not combine with --split/--dp-* here");
    if (veil_sve_invert_from_args(c->in.m, c->layer, cli_get(a, "sve"), cli_get(a, "sve-keys"),
                                  cli_get(a, "sve-hop"), cli_get(a, "sve-attack"), &c->sve))
        return cli_usage_error(a, "%s", veil_last_error());
    const char *train = cli_get(a, "train");
    if (train && veil_corpus_load(train, &c->train_corpus))
        return cli_fail_lib("cannot load training text");
    if (veil_seqs_from_corpus(&c->in.corpus, c->in.t, c->in.m->cfg.vocab_size, 0, (int)*max_len,
                              max_tokens, &c->target, next_doc))
        return cli_fail_lib("cannot tokenize corpus");
    /* the attacker's noise for its training data is independent of the
     * client's (derived from --dp-seed + 1 when given, for reproducible runs) */
    uint64_t seed = 0;
    cli_u64(a, "dp-seed", 0, &seed);
    if (c->dp_on && (cli_has(a, "dp-seed") ? veil_dp_rng_new_seeded(seed + 1, &c->atk_rng)
                                        : veil_dp_rng_new_secure(&c->atk_rng)))
        return cli_fail_lib("cannot start the attacker's RNG");
    return 0;
}

/* The privacy spend of the longest attacked sequence (one request), stderr. */
static void report_spend(const invert_ctx *c)
{
    veil_dp_accountant acc;
    char line[512];
    int longest = 0;
    for (int q = 0; q < c->target.n; q++)
        longest = c->target.len[q] > longest ? c->target.len[q] : longest;
    veil_dp_accountant_init(&acc, &c->mech);
    veil_dp_accountant_add(&acc, longest);
    if (!veil_dp_accountant_format(&acc, line, sizeof line))
        fprintf(stderr, "longest request: %s\n", line);
}

/* --method: "all" or a comma-separated list of method names. */
static int parse_methods(const char *s, int want[VEIL_ATTACK_NMETHODS])
{
    int all = !s || !strcmp(s, "all");
    for (int m = 0; m < VEIL_ATTACK_NMETHODS; m++) want[m] = all;
    if (all) return 0;
    char buf[256];
    if (strlen(s) >= sizeof buf) return veil_fail(VEIL_EINVAL, "--method list too long");
    strcpy(buf, s);
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        veil_attack_method m;
        if (veil_attack_parse_method(w, &m)) return VEIL_EINVAL;
        want[m] = 1;
    }
    return 0;
}

static int run_invert(cli_args *a)
{
    invert_ctx c = {0};
    long max_len, train_tokens, cands;
    int next_doc = 0, rc;
    int want[VEIL_ATTACK_NMETHODS];
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (parse_methods(cli_get(a, "method"), want))
        return cli_usage_error(a, "%s", veil_last_error());
    rc = inputs_open(a, &c.in);
    if (!rc) rc = invert_setup(a, &c, &max_len, &train_tokens, &next_doc, &cands);
    size_t n = c.target.total;
    if (!rc) {
        c.obs = malloc(sizeof(float) * n * c.in.m->cfg.dim);
        c.top = malloc(sizeof(int) * n * VEIL_ATTACK_TOPK);
        veil_attack_opts ao = {.layer = c.layer, .clip = c.dp_on ? c.mech.p.clip : 0,
                               .bos = 1, .candidates = (int)cands};
        if (!c.obs || !c.top)
            rc = cli_fail("out of memory");
        else if (veil_attacker_new(c.in.m, &ao, &c.atk))
            rc = cli_fail_lib("cannot build the attacker");
    }
    if (!rc) rc = observe_seqs(&c, &c.target, c.rng, c.obs);
    if (!rc && c.sve) { /* SVE: pooled decoding, then one summary line */
        char line[512];
        if (veil_sve_invert_finish(c.sve, c.obs)) rc = cli_fail_lib("SVE attack failed");
        veil_sve_invert_summary(c.sve, line, sizeof line);
        printf("%s\n", line);
    }
    if (!rc && c.dp_on) report_spend(&c);
    int need_linear = want[VEIL_ATTACK_LINEAR] || cands > 0;
    if (!rc) rc = load_train_text(&c, next_doc, max_len, train_tokens);
    if (!rc && need_linear) rc = train_linear(&c);
    if (!rc) rc = print_public_norms(&c);
    if (rc) {
        invert_free(&c);
        return rc;
    }
    printf("observe-layer %d of %d, split %d, %s, %d sequences, %ld tokens\n", c.layer,
           c.in.m->cfg.n_layers, c.split, c.dp_on ? "dp on" : "no noise", c.target.n,
           c.target.total);
    printf("%-20s %8s %10s %10s %9s\n", "method", "scored", "recovered", "top5", "seconds");
    double best = 0, chance = majority_baseline(&c);
    for (int m = 0; m < VEIL_ATTACK_NMETHODS && !rc; m++) {
        if (!want[m]) continue;
        if (m == VEIL_ATTACK_LINEAR && !veil_attacker_has_linear(c.atk)) continue;
        veil_attack_score sc;
        rc = attack_method(&c, (veil_attack_method)m, &sc);
        if (!rc && sc.n && (double)sc.top1 / sc.n > best) best = (double)sc.top1 / sc.n;
    }
    if (!rc) {
        if (c.train.n)
            printf("%-20s %8s %10.4f %10s   (most frequent public token; 1/V = %.5f)\n",
                   "chance", "", chance, "", 1.0 / c.in.m->cfg.vocab_size);
        printf("token_recovery=%.4f\n", best);
    }
    invert_free(&c);
    return rc;
}

const cli_cmd cli_cmds_privacy[] = {
    {"eval ppl", "", "perplexity of a corpus, locally and under split inference / DP noise",
     ppl_opts, run_ppl},
    {"attack invert", "",
     "play a curious node: recover the corpus tokens from the hidden states it sees",
     invert_opts, run_invert},
    {0},
};
