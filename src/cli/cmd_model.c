/* veil model info / synth: inspect checkpoints and make synthetic ones. */
#include "cli.h"

#include "veil/synth.h"

#include <stdio.h>
#include <string.h>

static const cli_opt info_opts[] = {{0}};

static int run_info(cli_args *a)
{
    if (a->npos != 1) return cli_usage_error(a, "expected one checkpoint file");
    veil_model *m;
    if (veil_model_open(a->pos[0], &m)) return cli_fail("%s", veil_last_error());
    const veil_config *c = &m->cfg;
    char hex[65];
    veil_hex(m->sha256, 32, hex);
    size_t params = veil_model_param_count(c);
    printf("file:        %s\n", a->pos[0]);
    printf("format:      %s\n", m->format ? "ak42 v1 (fp32)" : "llama2.c legacy (fp32)");
    printf("dim:         %d\n", c->dim);
    printf("hidden_dim:  %d\n", c->hidden_dim);
    printf("n_layers:    %d\n", c->n_layers);
    printf("n_heads:     %d\n", c->n_heads);
    printf("n_kv_heads:  %d\n", c->n_kv_heads);
    printf("vocab_size:  %d\n", c->vocab_size);
    printf("seq_len:     %d\n", c->seq_len);
    printf("classifier:  %s\n", c->shared_classifier ? "shared with embedding" : "separate");
    printf("parameters:  %zu\n", params);
    printf("bytes:       %zu\n", m->map_size);
    printf("sha256:      %s\n", hex);
    veil_model_close(m);
    return CLI_OK;
}

static const cli_opt synth_opts[] = {
    {"dim", 0, "D", "residual width"},
    {"hidden", 0, "H", "SwiGLU hidden width"},
    {"layers", 0, "L", "number of layers"},
    {"heads", 0, "NH", "attention heads"},
    {"kv-heads", 0, "NKV", "key/value heads (divides heads)"},
    {"vocab", 0, "V", "vocabulary size"},
    {"seq", 0, "S", "maximum sequence length"},
    {"seed", 0, "X", "weight seed (default 1)"},
    {"separate-classifier", 0, NULL, "write a classifier distinct from the embedding"},
    {"output", 'o', "FILE", "checkpoint to write; the tokenizer goes to FILE.tok"},
    {0},
};

static int run_synth(cli_args *a)
{
    long d, h, l, nh, nkv, v, s;
    uint64_t seed;
    const char *out = cli_get(a, "output");
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!out) return cli_usage_error(a, "-o FILE is required");
    static const char *req[] = {"dim", "hidden", "layers", "heads", "kv-heads", "vocab", "seq"};
    for (size_t i = 0; i < sizeof req / sizeof *req; i++)
        if (!cli_has(a, req[i])) return cli_usage_error(a, "--%s is required", req[i]);
    if (cli_int(a, "dim", 0, 2, VEIL_MAX_DIM, &d) || cli_int(a, "hidden", 0, 1, 4 * VEIL_MAX_DIM, &h) ||
        cli_int(a, "layers", 0, 1, VEIL_MAX_LAYERS, &l) || cli_int(a, "heads", 0, 1, VEIL_MAX_DIM, &nh) ||
        cli_int(a, "kv-heads", 0, 1, VEIL_MAX_DIM, &nkv) ||
        cli_int(a, "vocab", 0, 3, VEIL_MAX_VOCAB, &v) || cli_int(a, "seq", 0, 1, VEIL_MAX_SEQ, &s) ||
        cli_u64(a, "seed", 1, &seed))
        return CLI_USAGE;
    veil_config c = {(int)d, (int)h, (int)l, (int)nh, (int)nkv, (int)v, (int)s,
                     !cli_has(a, "separate-classifier")};
    if (veil_config_validate(&c)) return cli_usage_error(a, "%s", veil_last_error());
    char tok[4096];
    snprintf(tok, sizeof tok, "%s.tok", out);
    if (veil_synth_model(&c, seed, out) || veil_synth_tokenizer(c.vocab_size, tok))
        return cli_fail("%s", veil_last_error());
    fprintf(stderr, "wrote %s (%zu parameters, seed %llu) and %s\n", out,
            veil_model_param_count(&c), (unsigned long long)seed, tok);
    return CLI_OK;
}

const cli_cmd cli_cmds_model[] = {
    {"model info", "FILE", "show a checkpoint's shape, parameter count, size and SHA-256",
     info_opts, run_info},
    {"model synth", "", "write a deterministic random-weight checkpoint and tokenizer",
     synth_opts, run_synth},
    {0},
};
