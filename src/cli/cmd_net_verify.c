/* The verification flags of veil run / veil demo and the adversary flags of
 * veil node / veil demo (net_verify.h). */
#include "net_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_verify_setup(cli_args *a, const veil_model *m, veil_verifier_opts *vo, int *on)
{
    const char *mode = cli_get(a, "verify"), *ledger = cli_get(a, "ledger"), *profile = cli_get(a, "profile");
    *on = 0;
    if (!mode) {
        if (ledger || profile || cli_has(a, "fingerprints"))
            return cli_usage_error(a, "--ledger, --profile and --fingerprints need --verify");
        return 0;
    }
    veil_verify_mode vm;
    if (veil_verify_parse(mode, &vm)) return cli_usage_error(a, "%s", veil_last_error());
    if (vm.kind == VEIL_VERIFY_NONE) return 0;
    long R;
    if (cli_int(a, "replicas", 1, 1, 8, &R)) return CLI_USAGE;
    if (vm.kind != VEIL_VERIFY_CDV && R < 2)
        return cli_usage_error(a, "--verify %s needs --replicas 2 or more", mode);
    if (vm.kind != VEIL_VERIFY_CONSENSUS && cli_has(a, "fingerprints"))
        return cli_usage_error(a, "--fingerprints needs --verify consensus");
    if (vm.kind == VEIL_VERIFY_CDV && !profile)
        return cli_usage_error(a, "--verify cdv needs --profile FILE (made by veil model profile)");
    /* no --ledger: no persistent record (never an implicit file in the cwd) */
    if (veil_verifier_opts_from(mode, ledger ? ledger : "", profile, m, vo))
        return cli_fail_lib("cannot set up --verify");
    vo->fingerprints = cli_has(a, "fingerprints");
    *on = 1;
    return 0;
}

int net_adversary_opt(cli_args *a, veil_adv_mode *mode, int *on)
{
    const char *s = cli_get(a, "adversary");
    *on = 0;
    if (!s) return 0;
    if (veil_adv_parse(s, mode)) return cli_usage_error(a, "%s", veil_last_error());
    *on = mode->kind != VEIL_ADV_HONEST;
    return 0;
}

int net_adversary_node(cli_args *a, int n, uint32_t *mask)
{
    const char *list = cli_get(a, "adversary-node");
    *mask = 0;
    if (!cli_get(a, "adversary"))
        return list ? cli_usage_error(a, "--adversary-node needs --adversary") : 0;
    /* default node 0: replica r of shard p is node p + r * shards, so node 0
     * is the first replica of shard 0 (a replicated shard when R >= 2) */
    if (!list) {
        *mask = 1;
        return 0;
    }
    for (const char *p = list; *p;) { /* I[,J...]: several nodes for collude */
        char *end;
        long i = strtol(p, &end, 10);
        if (end == p || i < 0 || i >= n || (*end && *end != ','))
            return cli_usage_error(a, "--adversary-node wants node indices 0..%d separated by commas, got '%s'",
                                   n - 1, list);
        *mask |= 1u << i;
        p = *end ? end + 1 : end;
    }
    return 0;
}
