/* veil generate: local text generation, byte-compatible with llama2.c run.c. */
#include "cli.h"

#include "veil/generate.h"
#include "veil/qmodel.h"

#include <stdio.h>
#include <stdlib.h>

static const cli_opt generate_opts[] = {
    {"model", 'm', "MODEL", "checkpoint (default: $VEIL_MODEL_DIR/stories260K.bin)"},
    {"tokenizer", 'z', "TOKENIZER", "tokenizer.bin (default: tok512.bin beside the default model)"},
    {"prompt", 'i', "PROMPT", "prompt text (default: empty, start from BOS)"},
    {"steps", 'n', "STEPS", "positions to run, prompt included (default 256, 0 = seq_len)"},
    {"temperature", 't', "TEMP", "sampling temperature, 0 = greedy (default 1.0)"},
    {"topp", 'p', "TOPP", "top-p nucleus threshold (default 0.9)"},
    {"seed", 's', "SEED", "RNG seed (default: current time)"},
    {"threads", 0, "N", "kernel threads (default: all cores)"},
    {"int", 0, NULL, "integer Q16 forward pass (bit-exact on every machine)"},
    {0},
};

static void print_piece(void *ctx, const char *piece)
{
    (void)ctx;
    fputs(piece, stdout);
    fflush(stdout);
}

/* --int: the transformer layers run in the integer forward pass (qmodel.h);
 * embedding and head stay on the client side as in every mode. */
static int int_backend(const veil_model *m, veil_qmodel **qm, veil_qshard **qs,
                       veil_backend *b)
{
    if (veil_qmodel_new(m, qm) || veil_qmodel_shard(*qm, 0, m->cfg.n_layers, 0, qs))
        return cli_fail_lib("cannot build the integer model");
    *b = veil_qbackend(*qs);
    return 0;
}

static int run_generate(cli_args *a)
{
    char mpath[4096], zpath[4096];
    long threads;
    veil_gen_opts o;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (cli_model_paths(a, mpath, zpath) || cli_sampling_opts(a, &o) ||
        cli_int(a, "threads", 0, 0, 64, &threads))
        return CLI_USAGE;
    if (threads) veil_set_threads((int)threads);
    veil_model *m = NULL;
    veil_tokenizer *t = NULL;
    veil_shard *s = NULL;
    veil_qmodel *qm = NULL;
    veil_qshard *qs = NULL;
    veil_backend b;
    int rc = CLI_FAIL;
    if (veil_model_open(mpath, &m)) {
        cli_fail_lib("cannot load model");
        goto done;
    }
    if (veil_tokenizer_open(zpath, m->cfg.vocab_size, &t)) {
        cli_fail_lib("cannot load tokenizer");
        goto done;
    }
    if (cli_has(a, "int")) {
        if (int_backend(m, &qm, &qs, &b)) goto done;
    } else if (veil_model_shard(m, 0, m->cfg.n_layers, 0, &s)) {
        cli_fail_lib("cannot build the model");
        goto done;
    } else {
        b = veil_local_backend(s);
    }
    veil_gen_stats st;
    if (veil_generate(m, t, &b, &o, print_piece, NULL, &st)) {
        printf("\n");
        cli_fail_lib("generation failed");
        goto done;
    }
    printf("\n");
    fflush(stdout);
    if (st.prompt_tokens > 1 && st.prefill_s > 0)
        fprintf(stderr, "prefill: %d tokens, %.1f tok/s\n", st.prompt_tokens,
                st.prompt_tokens / st.prefill_s);
    if (st.generated > 1 && st.decode_s > 0)
        fprintf(stderr, "achieved tok/s: %f\n", (st.generated - 1) / st.decode_s);
    rc = CLI_OK;
done:
    veil_shard_free(s);
    veil_qshard_free(qs);
    veil_qmodel_free(qm);
    veil_tokenizer_free(t);
    veil_model_close(m);
    return rc;
}

const cli_cmd cli_cmds_generate[] = {
    {"generate", "", "generate text locally (same output as llama2.c run.c)", generate_opts,
     run_generate},
    {0},
};
