/* veil run / demo --int and --security critical: the integer forward pass on
 * the nodes, with a zkDPS proof of every shard step verified here before the
 * result is used (veil/critical.h). Implemented in cmd_net_critical.c.
 *
 * Hook points for cmd_net.c / cmd_net_security.c:
 *   - net_security_begin: for NET_SEC_CRITICAL, return 0 (no transport preset
 *     is implied; critical runs over whatever --key/--insecure gives);
 *   - generate_remote: `if (net_critical_mode(a)) return net_critical_generate(...)`
 *     before anything float-pipeline specific;
 *   - veil demo: nodes need the checkpoint (net_critical_models_dir). */
#ifndef VEIL_CLI_NET_CRITICAL_H
#define VEIL_CLI_NET_CRITICAL_H

#include "cli.h"

#include "veil/protocol.h"

#define NET_CRITICAL_OPTS                                                                        \
    {"int", 0, NULL, "integer Q16 forward pass on the nodes (text = veil generate --int)"},      \
        {"commitments", 0, "FILE", "--security critical: public weight commitments "             \
                                   "(veil zk commit-model; default: committed at start)"}, \
        {"prove-sync", 0, NULL, "--security critical: prove shard after shard instead of all "  \
                                "shards of a step at once (docs/BENCHMARKS.md)"}

/* 0 = float pipeline, 1 = --int (no proofs), 2 = --security critical (proofs). */
int net_critical_mode(const cli_args *a);
/* Generate over nodes with the integer pipeline; table = print the per-shard
 * summary. Returns a CLI exit code. */
int net_critical_generate(cli_args *a, const char *const *nodes, int n, const veil_transport *t, int table);
/* veil demo: the directory the nodes load the checkpoint from (--models), or
 * "" when not in an integer mode. */
void net_critical_models_dir(const cli_args *a, char *out, size_t cap);

#endif
