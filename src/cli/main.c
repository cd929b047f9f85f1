/* veil: entry point and command dispatch. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every module's command table; each ends with an entry whose name is NULL. */
static const cli_cmd *const tables[] = {
    cli_cmds_generate,
    cli_cmds_model,
    cli_cmds_privacy,
    cli_cmds_tee,
    cli_cmds_net,
    cli_cmds_verify,
    cli_cmds_zk,
    cli_cmds_zkinfer,
};
#define NTABLES (sizeof tables / sizeof *tables)

static void print_help(const cli_cmd *c)
{
    printf("usage: veil %s [options] %s\n\n%s\n", c->name, c->usage ? c->usage : "", c->summary);
    if (c->opts && c->opts[0].lng) printf("\noptions:\n");
    for (int i = 0; c->opts && c->opts[i].lng; i++) {
        char left[64];
        const cli_opt *o = &c->opts[i];
        if (o->shrt)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->shrt, o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        printf("  %-30s %s\n", left, o->help);
    }
    printf("  %-30s %s\n", "-h, --help", "show this help");
}

static void print_commands(FILE *f)
{
    fprintf(f, "usage: veil COMMAND [options]\n\n"
               "veil: private and verifiable inference of transformer language models\n"
               "across untrusted nodes.\n\ncommands:\n");
    for (size_t t = 0; t < NTABLES; t++)
        for (const cli_cmd *c = tables[t]; c->name; c++)
            fprintf(f, "  %-22s %s\n", c->name, c->summary);
    fprintf(f, "\n'veil COMMAND --help' lists the options of a command.\n");
}

static const cli_cmd *find_command(int argc, char **argv, int *words)
{
    /* longer commands ("tee authority init", "model info") take precedence */
    for (int w = 3; w >= 1; w--) {
        if (argc < 1 + w) continue;
        char name[128] = "";
        for (int i = 1; i <= w; i++)
            snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s", i > 1 ? " " : "",
                     argv[i]);
        for (size_t t = 0; t < NTABLES; t++)
            for (const cli_cmd *c = tables[t]; c->name; c++)
                if (strcmp(c->name, name) == 0) {
                    *words = w;
                    return c;
                }
    }
    return NULL;
}

static int parse(const cli_cmd *c, int argc, char **argv, cli_args *a)
{
    struct option lo[50];
    char so[128] = "h"; /* GNU permutation: options may follow positionals */
    size_t sl = 1;
    int n = 0;
    for (; c->opts && c->opts[n].lng; n++) {
        const cli_opt *o = &c->opts[n];
        lo[n] = (struct option){o->lng, o->arg ? required_argument : no_argument, NULL, 256 + n};
        if (o->shrt && sl + 3 < sizeof so) {
            so[sl++] = o->shrt;
            if (o->arg) so[sl++] = ':';
        }
    }
    lo[n] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n + 1] = (struct option){0};
    so[sl] = '\0';
    memset(a, 0, sizeof *a);
    a->cmd = c;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        if (ch == 'h') {
            print_help(c);
            return -1;
        }
        int idx = -1;
        if (ch >= 256) idx = ch - 256;
        for (int i = 0; idx < 0 && i < n; i++)
            if (c->opts[i].shrt == ch) idx = i;
        if (idx < 0) {
            return cli_usage_error(a, "unknown option or missing value: '%s'",
                                   argv[optind - 1]);
        }
        a->val[idx] = c->opts[idx].arg ? optarg : "1";
    }
    a->npos = argc - optind;
    a->pos = argv + optind;
    return 0;
}

/* OpenMP's default wait policy keeps idle worker threads spinning after each
 * parallel region. A node beside other nodes, or a client waiting for its
 * pipeline, shares the CPU by design, and there the spinning threads steal it
 * from the thread doing the work: demo nodes took 12 s instead of 0.07 s for
 * 40 tokens. libgomp reads OMP_WAIT_POLICY only at start-up, so the network
 * commands re-execute themselves once with PASSIVE unless the user chose a
 * policy. Local commands keep the default: on a dedicated machine spinning
 * is what makes 2 threads pay (15M shape decode: 128 tok/s default, 65 tok/s
 * passive, 70 tok/s on one thread). */
static void passive_openmp(int argc, char **argv)
{
    static const char *shared[] = {"node", "run", "demo"};
    if (argc < 2 || getenv("OMP_WAIT_POLICY")) return;
    for (size_t i = 0; i < sizeof shared / sizeof *shared; i++)
        if (strcmp(argv[1], shared[i]) == 0) {
            setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
            execv("/proc/self/exe", argv); /* on failure: carry on with the default */
            return;
        }
}

int main(int argc, char **argv)
{
    passive_openmp(argc, argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_commands(stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("veil 0.1.0\n");
        return CLI_OK;
    }
    int words = 0;
    const cli_cmd *c = find_command(argc, argv, &words);
    if (!c) {
        fprintf(stderr, "veil: unknown command '%s'\n\n", argv[1]);
        print_commands(stderr);
        return CLI_USAGE;
    }
    cli_args a;
    int rc = parse(c, argc - words, argv + words, &a);
    if (rc < 0) return CLI_OK; /* --help */
    if (rc > 0) return rc;
    return c->run(&a);
}
