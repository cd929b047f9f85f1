/* --verify / --ledger / --profile for veil run and veil demo, and
 * --adversary for veil node and veil demo (consensus verification, issue 6;
 * docs/ARCHITECTURE.md "Consensus verification"). Implemented in
 * cmd_net_verify.c; the commands in cmd_net.c call these helpers. */
#ifndef VEIL_CLI_NET_VERIFY_H
#define VEIL_CLI_NET_VERIFY_H

#include "cli.h"

#include "veil/adversary.h"
#include "veil/verify.h"

#define NET_VERIFY_OPTS                                                                         \
    {"verify", 0, "consensus|sample:P|cdv",                                                     \
     "check shard outputs: quorum of the --replicas, spot checks on a fraction P of tokens, "   \
     "or distribution tests against --profile"},                                                \
        {"ledger", 0, "FILE", "with --verify: SQLite reputation ledger (flagged nodes are not scheduled)"}, \
        {"profile", 0, "FILE", "with --verify: CDV reference profile (veil model profile)"},      \
        {"fingerprints", 0, NULL, "with --verify consensus: replicas but the active one send a "  \
         "168-byte fingerprint per block instead of the hidden states"}

#define NET_ADVERSARY_OPT                                                                       \
    {"adversary", 0, "MODE",                                                                    \
     "TESTS ONLY: misbehave (wrong-model, noise:SIGMA, skip-layer, stale, random, lazy, collude[:SEED])"}

#define NET_DEMO_ADVERSARY_OPTS                                                                 \
    NET_ADVERSARY_OPT,                                                                          \
        {"adversary-node", 0, "I[,J...]", "the node(s) --adversary applies to (default 0: the first replica of shard 0)"}

/* --verify MODE [--ledger FILE] [--profile FILE] for model m: returns 0 with
 * *on = 0 (no --verify) or 1 (*vo filled: release with
 * veil_verifier_opts_release), or a CLI exit code. Without --ledger no
 * ledger is kept. */
int net_verify_setup(cli_args *a, const veil_model *m, veil_verifier_opts *vo, int *on);

/* --adversary MODE: 0 with *on = 0/1 (*mode filled), or CLI_USAGE. */
int net_adversary_opt(cli_args *a, veil_adv_mode *mode, int *on);

/* veil demo: bit i of *mask = node i runs --adversary (of n <= 32 nodes;
 * 0 without --adversary). Returns 0 or CLI_USAGE. */
int net_adversary_node(cli_args *a, int n, uint32_t *mask);

#endif
