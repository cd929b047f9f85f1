/* --security tee scheduling: which nodes proved what they run (veil/secure.h).
 * A probe dials every node over the attested transport before the
 * orchestrator sends anything; only verified nodes are given to it, in the
 * order veil_tee_schedule_order picks (the heaviest shard to the first). */
#include "veil/secure.h"
#include "veil/tee.h"

#include <stdio.h>
#include <string.h>

static void probe_one(veil_secure *s, const veil_transport *t, const char *addr, int timeout_ms,
                      veil_secure_probe_result *r)
{
    char host[256];
    int port;
    veil_stream st;
    memset(r, 0, sizeof *r);
    int rc = veil_parse_hostport(addr, host, sizeof host, &port);
    if (!rc) rc = veil_dial(t, host, port, timeout_ms, &st);
    if (rc) {
        snprintf(r->why, sizeof r->why, "%s", veil_last_error());
        return;
    }
    const char *id = st.ops->peer_id(st.impl);
    rc = id ? veil_secure_peer_claims(s, id, &r->claims) : veil_fail(VEIL_EVERIFY, "no peer identity");
    if (!rc && !r->claims.backend) rc = veil_fail(VEIL_EVERIFY, "the node presented no evidence");
    if (rc) snprintf(r->why, sizeof r->why, "%s", veil_last_error());
    r->ok = !rc;
    veil_stream_close(&st);
}

int veil_secure_probe(veil_secure *s, const veil_transport *t, const char *const *nodes, int n,
                      int timeout_ms, veil_secure_probe_result *out)
{
    int good = 0;
    for (int i = 0; i < n; i++) {
        probe_one(s, t, nodes[i], timeout_ms, &out[i]);
        good += out[i].ok;
    }
    return good;
}

int veil_secure_probe_order(const veil_secure_probe_result *r, int n, int *order)
{
    /* veil_tee_schedule_order skips tee_type none: blank out refused nodes */
    veil_claims c[64];
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) {
        c[i] = r[i].claims;
        if (!r[i].ok) c[i].tee_type = VEIL_TEE_TYPE_NONE;
    }
    return veil_tee_schedule_order(c, n, order);
}
