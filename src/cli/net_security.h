/* --security general|critical|tee|auto for veil node / run / demo: the
 * presets of docs/SECURITY.md and the NTEE wiring (attested transport, TEE
 * lifecycle, attested scheduling). Implemented in cmd_net_security.c; the
 * commands in cmd_net.c call these helpers. */
#ifndef VEIL_CLI_NET_SECURITY_H
#define VEIL_CLI_NET_SECURITY_H

#include "cli.h"

#include "veil/secure.h"
#include "veil/tee.h"

typedef enum {
    NET_SEC_NONE = 0, /* no preset: the transport flags as given */
    NET_SEC_GENERAL,
    NET_SEC_CRITICAL,
    NET_SEC_TEE,
    NET_SEC_AUTO,
} net_sec_mode;

#define NET_TEE_OPTS                                                                            \
    {"tee-authority", 0, "DIR", "--security tee: sim vendor authority (its root.crt is trusted)"}, \
        {"tee-policy", 0, "FILE", "--security tee: attestation policy (default: any measurement " \
                                  "signed by the authority)"}

#define NET_SECURITY_OPTS                                                                       \
    {"security", 0, "general|critical|tee|auto", "security preset (docs/SECURITY.md)"}, NET_TEE_OPTS

#define NET_NODE_SECURITY_OPTS                                                                  \
    {"security", 0, "tee", "serve from a (simulated) TEE over attested TLS 1.3"}, NET_TEE_OPTS,  \
        {"tee-backend", 0, "sim|sev-snp|tdx", "--security tee: evidence source (default sim)"},    \
        {"tee-type", 0, "cpu-tee|gpu-tee", "sim: TEE type to attest (default cpu-tee)"}

/* Parse --security (absent = NET_SEC_NONE) and apply the preset's defaults to
 * options the user left unset (never to ones they gave). Critical fails with
 * "not available yet". Returns 0, CLI_USAGE or CLI_FAIL (message printed). */
int net_security_begin(cli_args *a, net_sec_mode *mode);
int net_security_is_tee(const cli_args *a);

/* --security tee transport: node (backend from --tee-backend) or client. */
int net_secure_transport(cli_args *a, int node, veil_secure **sec, veil_transport *t);

/* Node steps 1 and 6 around veil_node_start/stop. */
int net_tee_node_begin(cli_args *a, veil_secure *sec, size_t arena_bytes, veil_tee **out);
void net_tee_node_end(veil_secure *sec, veil_tee *t);

/* Client, after the transport is chosen: with a secure transport, probe every
 * node and keep only the verified ones, GPU TEEs first (nodes/n rewritten).
 * With --security auto, *sec is kept when every node verified; otherwise it
 * is freed, *tls and *t become plain TLS with --key (general) and the decision
 * is printed. Returns 0, CLI_USAGE or CLI_FAIL. */
int net_client_select(cli_args *a, net_sec_mode mode, veil_secure **sec, veil_tls_ctx **tls,
                      veil_transport *t, const char **nodes, int *n, int timeout_ms);

/* veil demo: throwaway identities in dir (and, for tee/auto, a sim authority
 * and a policy pinning this binary's measurement), the node arguments, the
 * client transport, and the cleanup of what was written. */
typedef struct {
    char dir[4096];
    net_sec_mode mode;
    int insecure, n;
    char store[8][4200];
} net_demo;
int net_demo_setup(cli_args *a, const char *dir, int n, net_demo *d);
/* Arguments selecting node i's transport: fills argv (up to 8), returns count. */
int net_demo_node_args(net_demo *d, int i, char **argv);
int net_demo_client(net_demo *d, veil_secure **sec, veil_tls_ctx **tls, veil_transport *t);
void net_demo_cleanup(const net_demo *d);

#endif
