/* veil keygen / veil tee ...: identities, simulated vendor authority, evidence. */
#include "cli.h"

#include "veil/tls.h"

#include <stdio.h>
#include <string.h>

static const cli_opt keygen_opts[] = {
    {"output", 'o', "NAME", "write NAME.key (Ed25519, PEM) and NAME.crt (self-signed)"},
    {0},
};

static int run_keygen(cli_args *a)
{
    const char *name = cli_get(a, "output");
    char id[VEIL_PEER_ID_HEX];
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!name) return cli_usage_error(a, "-o NAME is required");
    if (veil_tls_keygen(name, id)) return cli_fail_lib("keygen");
    printf("%s.key %s.crt\npeer id: %s\n", name, name, id);
    return CLI_OK;
}

const cli_cmd cli_cmds_tee[] = {
    {"keygen", "", "generate an Ed25519 identity (NAME.key, NAME.crt) for TLS", keygen_opts,
     run_keygen},
    {0},
};
