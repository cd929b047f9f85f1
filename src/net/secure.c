/* The attested TLS transport (veil/secure.h): owned by the NTEE module, kept
 * apart from the rest of src/net. Each wrap = TLS handshake + mutual
 * channel-bound attestation; verified claims are remembered per peer. */
#include "veil/secure.h"
#include "veil/tee.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PEERS 256

typedef struct {
    char id[VEIL_PEER_ID_HEX];
    veil_claims claims;
    uint64_t seen; /* for evicting the oldest */
} peer_entry;

struct veil_secure {
    veil_secure_opts o;
    int owns; /* created by veil_secure_open: free tls and attester too */
    struct veil_tee *tee; /* optional lifecycle to inform */
    veil_policy policy;
    char name[64];
    pthread_mutex_t mu;
    peer_entry peers[MAX_PEERS];
    int npeers;
    uint64_t tick;
    veil_secure_stats stats;
};

int veil_secure_new(const veil_secure_opts *o, veil_secure **out)
{
    *out = NULL;
    if (!o->tls || !o->policy) return veil_fail(VEIL_EINVAL, "secure transport needs TLS and a policy");
    veil_secure *s = calloc(1, sizeof *s);
    if (!s) return veil_fail(VEIL_ENOMEM, "out of memory");
    s->o = *o;
    s->policy = *o->policy;
    s->o.policy = &s->policy;
    snprintf(s->name, sizeof s->name, "%s", o->name ? o->name : "secure");
    s->o.name = s->name;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void veil_secure_free(veil_secure *s)
{
    if (!s) return;
    if (s->owns) {
        veil_tls_ctx_free(s->o.tls);
        veil_attester_free(s->o.attester);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void remember(veil_secure *s, const char *id, const veil_claims *c, double tls_s,
                     double att_s)
{
    pthread_mutex_lock(&s->mu);
    int slot = -1, oldest = 0;
    for (int i = 0; i < s->npeers && slot < 0; i++)
        if (strcmp(s->peers[i].id, id) == 0) slot = i;
    if (slot < 0 && s->npeers < MAX_PEERS) slot = s->npeers++;
    if (slot < 0) {
        for (int i = 1; i < s->npeers; i++)
            if (s->peers[i].seen < s->peers[oldest].seen) oldest = i;
        slot = oldest;
    }
    snprintf(s->peers[slot].id, sizeof s->peers[slot].id, "%s", id);
    s->peers[slot].claims = *c;
    s->peers[slot].seen = ++s->tick;
    s->stats.connections++;
    s->stats.tls_seconds += tls_s;
    s->stats.attest_seconds += att_s;
    pthread_mutex_unlock(&s->mu);
}

int veil_secure_peer_claims(veil_secure *s, const char *id, veil_claims *out)
{
    int rc = VEIL_EINVAL;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->npeers; i++)
        if (strcmp(s->peers[i].id, id) == 0) {
            *out = s->peers[i].claims;
            rc = 0;
        }
    pthread_mutex_unlock(&s->mu);
    return rc ? veil_fail(rc, "no verified claims for peer %.16s...", id) : 0;
}

void veil_secure_get_stats(veil_secure *s, veil_secure_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

static void log_peer(const veil_secure *s, int initiator, const char *id, const veil_claims *c)
{
    if (s->o.quiet) return;
    char m[97];
    veil_hex(c->measurement, 48, m);
    if (!c->backend)
        fprintf(stderr, "veil attest %s: %s %.16s... is unattested (a client without TEE)\n",
                s->name, initiator ? "node" : "peer", id);
    else
        fprintf(stderr, "veil attest %s: %s %.16s... verified: %s%s, %s, measurement %.16s...\n",
                s->name, initiator ? "node" : "peer", id, veil_tee_backend_name(c->backend),
                c->simulated ? " (SIMULATED)" : "", veil_tee_type_name(c->tee_type), m);
}

static int wrap(veil_secure *s, int fd, int initiator, veil_stream *out)
{
    /* the handshake and the attestation exchange are small back-to-back
     * messages: without TCP_NODELAY they wait on delayed ACKs (fails
     * harmlessly on non-TCP sockets) */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    double t0 = veil_now();
    int rc = initiator ? veil_tls_connect(s->o.tls, fd, out) : veil_tls_accept(s->o.tls, fd, out);
    if (rc) return rc;
    double t1 = veil_now();
    veil_claims c;
    int flags = s->o.require_peer_evidence ? VEIL_ATTEST_REQUIRE_PEER : 0;
    rc = veil_attest_mutual(out, initiator, s->o.attester, &s->policy, flags, &c);
    const char *id = out->ops->peer_id(out->impl);
    if (rc) {
        char why[400];
        snprintf(why, sizeof why, "%s", veil_last_error());
        if (!s->o.quiet)
            fprintf(stderr, "veil attest %s: refused %.16s...: %s\n", s->name, id ? id : "?", why);
        /* the stream owns fd now; the caller closes fd on failure, so
         * release the TLS state only and leave fd to it */
        out->ops->free(out->impl);
        *out = (veil_stream){NULL, NULL, -1};
        return veil_fail(rc, "attestation failed: %s", why);
    }
    remember(s, id, &c, t1 - t0, veil_now() - t1);
    log_peer(s, initiator, id, &c);
    pthread_mutex_lock(&s->mu);
    struct veil_tee *tee = s->tee;
    pthread_mutex_unlock(&s->mu);
    if (tee && s->o.attester) {
        /* lifecycle bookkeeping only: the channel itself is already verified */
        veil_tee_attested_channel(tee, out);
        if (c.backend) veil_tee_linked(tee, out, initiator, &c);
    }
    return 0;
}

veil_attester *veil_secure_attester(veil_secure *s) { return s->o.attester; }

void veil_secure_set_tee(veil_secure *s, struct veil_tee *t)
{
    pthread_mutex_lock(&s->mu);
    s->tee = t;
    pthread_mutex_unlock(&s->mu);
}

static int wrap_client(void *ctx, int fd, veil_stream *out) { return wrap(ctx, fd, 1, out); }
static int wrap_server(void *ctx, int fd, veil_stream *out) { return wrap(ctx, fd, 0, out); }

void veil_transport_attested(veil_secure *s, veil_transport *out)
{
    *out = (veil_transport){s, wrap_client, wrap_server, "tls+attest"};
}

/* ---- one-call setup for the command line ---- */

static int open_attester(const veil_secure_config *c, veil_attester **out)
{
    uint8_t meas[48];
    veil_attester_opts ao = {0};
    ao.backend = veil_tee_backend_parse(c->backend);
    if (!ao.backend) return veil_fail(VEIL_EINVAL, "unknown TEE backend '%s'", c->backend);
    if (ao.backend == VEIL_TEE_BACKEND_SIM) {
        if (!c->authority) return veil_fail(VEIL_EINVAL, "the sim backend needs an authority dir");
        int rc = veil_measure_node(NULL, c->config, c->weights, meas);
        if (rc) return rc;
        ao.measurement = meas;
        ao.authority_dir = c->authority;
        ao.tee_type = c->tee_type ? c->tee_type : VEIL_TEE_TYPE_CPU;
        ao.capacity_bytes = c->capacity_bytes;
        ao.gpus = c->gpus;
    }
    return veil_attester_open(&ao, out);
}

int veil_secure_open(const veil_secure_config *c, veil_secure **out)
{
    *out = NULL;
    veil_policy p;
    veil_tls_ctx *tls = NULL;
    veil_attester *att = NULL;
    if (!c->key) return veil_fail(VEIL_EINVAL, "--security tee needs --key NAME");
    int rc = c->policy      ? veil_policy_load(c->policy, &p)
             : c->authority ? veil_policy_sim(c->authority, &p)
                            : veil_fail(VEIL_EINVAL, "--security tee needs a policy or a sim authority");
    if (!rc && c->policy && c->authority && !p.sim_root[0])
        snprintf(p.sim_root, sizeof p.sim_root, "%s/root.crt", c->authority);
    if (!rc) rc = veil_tls_ctx_new(c->key, c->allow, &tls);
    if (!rc && c->backend) rc = open_attester(c, &att);
    veil_secure_opts o = {.tls = tls, .attester = att, .policy = &p,
                          .require_peer_evidence = c->require_peer_evidence, .name = c->name,
                          .quiet = c->quiet};
    if (!rc) rc = veil_secure_new(&o, out);
    if (rc) {
        veil_attester_free(att);
        veil_tls_ctx_free(tls);
        return rc;
    }
    (*out)->owns = 1;
    return 0;
}
