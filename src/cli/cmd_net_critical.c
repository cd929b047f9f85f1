/* veil run / demo --int and --security critical (see net_critical.h and
 * veil/critical.h). */
#include "net_critical.h"

#include "veil/critical.h"
#include "veil/sve.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

int net_critical_mode(const cli_args *a)
{
    const char *sec = cli_get(a, "security");
    if (sec && !strcmp(sec, "critical")) return 2;
    return cli_has(a, "int") ? 1 : 0;
}

void net_critical_models_dir(const cli_args *a, char *out, size_t cap)
{
    char mpath[4096], zpath[4096];
    out[0] = 0;
    if (!net_critical_mode(a) || cli_model_paths(a, mpath, zpath)) return;
    snprintf(out, cap, "%s", dirname(mpath));
}

/* Options of the float pipeline that the integer one does not implement:
 * refused by name rather than silently ignored. */
static int refuse_unsupported(cli_args *a, int mode)
{
    const char *what = mode == 2 ? "--security critical" : "--int";
    long v;
    long hop;
    if (cli_has(a, "sve") && mode != 2)
        return cli_usage_error(a, "--int with --sve: use --security critical (the client commits to the "
                                  "transformed integer weights it uploads, and nodes prove against them)");
    if (cli_has(a, "sve") && cli_has(a, "commitments"))
        return cli_usage_error(a, "--sve with --commitments: the registry covers this session's transformed "
                                  "weights, so the client makes it");
    if (cli_int(a, "sve-hop", 0, 0, VEIL_MAX_LAYERS, &hop)) return CLI_USAGE;
    if (hop && !cli_has(a, "sve")) return cli_usage_error(a, "--sve-hop needs --sve");
    if (cli_int(a, "split", 0, 0, VEIL_MAX_LAYERS, &v)) return CLI_USAGE;
    if (v) return cli_usage_error(a, "%s does not take --split (every layer runs, and is proven, on a node)", what);
    if (cli_int(a, "replicas", 1, 1, 8, &v)) return CLI_USAGE;
    if (v > 1) return cli_usage_error(a, "%s does not take --replicas (a failed shard step is re-run elsewhere)", what);
    static const char *const no[] = {"verify", "dp-eps", "kill", "hang", "push"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (cli_has(a, no[i]))
            return cli_usage_error(a, "%s does not take --%s (each shard step is %s)", what, no[i],
                                   mode == 2 ? "proven instead" : "deterministic and stateless");
    return 0;
}

/* --commitments FILE, read and checked against the checkpoint by the pipeline. */
static int read_registry(cli_args *a, veil_zk_registry *reg, int *have)
{
    const char *path = cli_get(a, "commitments");
    *have = 0;
    if (!path) return 0;
    if (veil_zk_registry_read(path, reg)) return cli_fail_lib("cannot read --commitments");
    *have = 1;
    return 0;
}

static void report(veil_crit *c, int mode, int table, const veil_gen_stats *gs)
{
    veil_crit_stats st;
    veil_crit_get_stats(c, &st);
    if (gs->generated > 1 && gs->decode_s > 0)
        fprintf(stderr, "achieved tok/s: %f\n", (gs->generated - 1) / gs->decode_s);
    if (table)
        for (int s = 0; s < veil_crit_n_shards(c); s++) {
            int f, l;
            const char *node;
            veil_crit_shard(c, s, &f, &l, &node);
            fprintf(stderr, "shard %d: layers %d:%d on %s\n", s, f, l, node);
        }
    if (mode == 2)
        fprintf(stderr,
                "critical: %d proof(s) verified over %d step(s), %llu proof bytes (%.0f per step), "
                "verify %.3f s, waited %.3f s for proofs, %d node flag(s), %d re-run(s)\n",
                st.proofs, st.steps, (unsigned long long)st.proof_bytes,
                st.steps ? (double)st.proof_bytes / st.steps : 0.0, st.verify_s, st.proof_wait_s, st.flags,
                st.reruns);
    fprintf(stderr, "client: %llu bytes sent, %llu received\n", (unsigned long long)st.bytes_sent,
            (unsigned long long)st.bytes_received);
}

static void print_piece(void *ctx, const char *piece)
{
    (void)ctx;
    fputs(piece, stdout);
    fflush(stdout);
}

int net_critical_generate(cli_args *a, const char *const *nodes, int n, const veil_transport *t, int table)
{
    int mode = net_critical_mode(a), rc, have_reg = 0;
    char mpath[4096], zpath[4096];
    long timeout;
    veil_gen_opts go;
    if ((rc = refuse_unsupported(a, mode))) return rc;
    long hop;
    if (cli_model_paths(a, mpath, zpath) || cli_sampling_opts(a, &go) ||
        cli_int(a, "timeout", 600000, 100, 3600000, &timeout) ||
        cli_int(a, "sve-hop", 0, 0, VEIL_MAX_LAYERS, &hop))
        return CLI_USAGE;
    veil_model *m = NULL;
    veil_tokenizer *tk = NULL;
    veil_ledger *ledger = NULL;
    veil_crit *c = NULL;
    veil_zk_registry reg;
    rc = CLI_FAIL;
    if (veil_model_open(mpath, &m)) cli_fail_lib("cannot load model");
    else if (veil_tokenizer_open(zpath, m->cfg.vocab_size, &tk)) cli_fail_lib("cannot load tokenizer");
    else if (cli_get(a, "ledger") && veil_ledger_open(cli_get(a, "ledger"), &ledger)) cli_fail_lib("cannot open --ledger");
    else if (mode == 2 && read_registry(a, &reg, &have_reg)) {
    } else {
        veil_sve_variant sve = 0;
        if (cli_get(a, "sve") && veil_sve_variant_parse(cli_get(a, "sve"), &sve)) {
            veil_crit_free(c);
            veil_ledger_close(ledger);
            veil_tokenizer_free(tk);
            veil_model_close(m);
            return cli_usage_error(a, "--sve must be paper or strong");
        }
        veil_crit_opts o = {.nodes = nodes, .n_nodes = n, .transport = t, .timeout_ms = (int)timeout,
                            .prove = mode == 2, .sync = cli_has(a, "prove-sync"), .registry = have_reg ? &reg : NULL, .ledger = ledger,
                            .name = "veil-run", .sve = (int)sve, .sve_hop = (int)hop};
        veil_gen_stats gs;
        veil_backend b;
        if (veil_crit_new(m, &o, &c)) cli_fail_lib("cannot build the integer pipeline");
        else if (b = veil_crit_backend(c), veil_generate(m, tk, &b, &go, print_piece, NULL, &gs)) {
            printf("\n");
            cli_fail_lib("generation failed");
        } else {
            printf("\n");
            fflush(stdout);
            report(c, mode, table, &gs);
            rc = CLI_OK;
        }
    }
    veil_crit_free(c);
    if (have_reg) veil_zk_registry_free(&reg);
    veil_ledger_close(ledger);
    veil_tokenizer_free(tk);
    veil_model_close(m);
    return rc;
}
