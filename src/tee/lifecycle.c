/* The six-step TEE lifecycle and its secure arena (see veil/tee.h). */
#include "veil/tee.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_TRACKED 256
#define MAX_CHANNELS 64

typedef struct {
    void *p;
    size_t n;
    int region, locked;
} tracked;

struct veil_tee {
    pthread_mutex_t mu; /* node threads allocate and link concurrently */
    veil_tee_step step;
    char name[64];
    int quiet, locked;
    veil_attester *attester;
    uint8_t *arena;
    size_t cap, used;
    size_t region_bytes[VEIL_REGION_COUNT];
    size_t released; /* tracked bytes wiped when their owner released them */
    tracked track[MAX_TRACKED];
    int ntrack;
    uint8_t binding[MAX_CHANNELS][32]; /* tls-exporters of attested channels */
    int nbind, next_bind;
};

static const char *const step_names[] = {"?",         "blank",     "attested", "provisioned",
                                         "executing", "result",    "destroyed"};
static const char *const region_names[] = {"weights", "activations", "KV cache", "keys"};

const char *veil_tee_step_name(veil_tee_step s)
{
    return s >= VEIL_TEE_BLANK && s <= VEIL_TEE_DESTROYED ? step_names[s] : "?";
}

static void logf_(const veil_tee *t, veil_tee_step s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(const veil_tee *t, veil_tee_step s, const char *fmt, ...)
{
    if (t->quiet) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "veil tee %s: step %d/6 %s: %s\n", t->name, (int)s, veil_tee_step_name(s), msg);
}

int veil_tee_create(const veil_tee_opts *o, veil_tee **out)
{
    *out = NULL;
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    if (o->arena_bytes == 0 || o->arena_bytes > ((size_t)1 << 46))
        return veil_fail(VEIL_ERANGE, "TEE arena size %zu out of range", o->arena_bytes);
    veil_tee *t = calloc(1, sizeof *t);
    if (!t) return veil_fail(VEIL_ENOMEM, "out of memory");
    pthread_mutex_init(&t->mu, NULL);
    snprintf(t->name, sizeof t->name, "%s", o->name ? o->name : "tee");
    t->quiet = o->quiet;
    t->attester = o->attester;
    t->cap = (o->arena_bytes + page - 1) / page * page;
    void *m = mmap(NULL, t->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        free(t);
        return veil_fail(VEIL_ENOMEM, "cannot map a %zu-byte TEE arena: %s", o->arena_bytes,
                         strerror(errno));
    }
    t->arena = m;
    madvise(m, t->cap, MADV_DONTDUMP); /* best effort: keep secrets out of core dumps */
    int lock_errno = o->no_mlock ? EPERM : 0;
    t->locked = !o->no_mlock && mlock(m, t->cap) == 0;
    if (!o->no_mlock && !t->locked) lock_errno = errno;
    t->step = VEIL_TEE_BLANK;
    logf_(t, t->step, "empty arena of %zu bytes, %s, excluded from core dumps", t->cap,
          t->locked ? "mlock'ed (kept out of swap)"
                    : lock_errno == ENOMEM || lock_errno == EPERM
                          ? "NOT mlock'ed (RLIMIT_MEMLOCK too small or not permitted; may swap)"
                          : "NOT mlock'ed (may swap)");
    *out = t;
    return 0;
}

#define STEP(s) (1u << (s))

/* Under the lock: may the TEE go to step `to` from where it is? */
static int check_step(const veil_tee *t, unsigned from_mask, veil_tee_step to)
{
    if (!(from_mask & STEP(t->step)))
        return veil_fail(VEIL_EPROTO, "TEE %s: cannot go to '%s' from '%s'", t->name,
                         veil_tee_step_name(to), veil_tee_step_name(t->step));
    return 0;
}

static int advance(veil_tee *t, unsigned from_mask, veil_tee_step to)
{
    int rc = check_step(t, from_mask, to);
    if (!rc) t->step = to;
    return rc;
}

/* Under the lock: remember an attested channel (ring of MAX_CHANNELS). */
static void remember_channel(veil_tee *t, const uint8_t b[32])
{
    memcpy(t->binding[t->next_bind], b, 32);
    t->next_bind = (t->next_bind + 1) % MAX_CHANNELS;
    if (t->nbind < MAX_CHANNELS) t->nbind++;
}

static int mark_attested(veil_tee *t, veil_stream *s)
{
    uint8_t b[32];
    int rc = s->ops->binding(s->impl, b);
    if (rc) return rc;
    pthread_mutex_lock(&t->mu);
    if (t->step == VEIL_TEE_DESTROYED) rc = veil_fail(VEIL_EPROTO, "TEE %s is destroyed", t->name);
    if (!rc) remember_channel(t, b);
    if (!rc && t->step == VEIL_TEE_BLANK) {
        t->step = VEIL_TEE_ATTESTED;
        logf_(t, t->step, "evidence sent to %.16s... over channel bound by tls-exporter",
              s->ops->peer_id(s->impl) ? s->ops->peer_id(s->impl) : "?");
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int veil_tee_attest(veil_tee *t, veil_stream *s)
{
    pthread_mutex_lock(&t->mu);
    int rc = check_step(t, STEP(VEIL_TEE_BLANK), VEIL_TEE_ATTESTED);
    if (!rc && !t->attester) rc = veil_fail(VEIL_EINVAL, "TEE %s has no attester", t->name);
    pthread_mutex_unlock(&t->mu);
    if (rc) return rc;
    /* the exchange blocks on the network: not under the lock */
    rc = veil_attest_respond(s, t->attester);
    return rc ? rc : mark_attested(t, s);
}

int veil_tee_attested_channel(veil_tee *t, veil_stream *s) { return mark_attested(t, s); }

void *veil_tee_alloc(veil_tee *t, veil_tee_region r, size_t n)
{
    if ((unsigned)r >= VEIL_REGION_COUNT) {
        veil_fail(VEIL_EINVAL, "bad TEE region");
        return NULL;
    }
    pthread_mutex_lock(&t->mu);
    void *p = NULL;
    size_t off = (t->used + 15) & ~(size_t)15;
    if (t->step == VEIL_TEE_DESTROYED || !t->arena)
        veil_fail(VEIL_EPROTO, "TEE %s is destroyed", t->name);
    else if (off > t->cap || n > t->cap - off)
        veil_fail(VEIL_ENOMEM, "TEE %s arena full: %zu of %zu bytes used, %zu more requested",
                  t->name, t->used, t->cap, n);
    else {
        p = t->arena + off;
        memset(p, 0, n);
        t->used = off + n;
        t->region_bytes[r] += n;
    }
    pthread_mutex_unlock(&t->mu);
    return p;
}

int veil_tee_track(veil_tee *t, veil_tee_region r, void *p, size_t n)
{
    if ((unsigned)r >= VEIL_REGION_COUNT || !p) return veil_fail(VEIL_EINVAL, "bad tracked buffer");
    pthread_mutex_lock(&t->mu);
    int rc = 0;
    if (t->step == VEIL_TEE_DESTROYED) rc = veil_fail(VEIL_EPROTO, "TEE %s is destroyed", t->name);
    else if (t->ntrack >= MAX_TRACKED)
        rc = veil_fail(VEIL_ERANGE, "TEE %s tracks at most %d buffers", t->name, MAX_TRACKED);
    else {
        tracked *k = &t->track[t->ntrack++];
        *k = (tracked){p, n, (int)r, mlock(p, n) == 0};
        t->region_bytes[r] += n;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static void wipe_tracked(tracked *k)
{
    veil_wipe(k->p, k->n);
    if (k->locked) munlock(k->p, k->n);
}

void veil_tee_untrack(veil_tee *t, void *p)
{
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->ntrack; i++)
        if (t->track[i].p == p) {
            wipe_tracked(&t->track[i]);
            t->region_bytes[t->track[i].region] -= t->track[i].n;
            t->released += t->track[i].n;
            t->track[i] = t->track[--t->ntrack];
            break;
        }
    pthread_mutex_unlock(&t->mu);
}

/* The channel must be one this TEE attested on. */
static int same_channel(veil_tee *t, veil_stream *s)
{
    uint8_t b[32];
    if (s->ops->binding(s->impl, b))
        return veil_fail(VEIL_EVERIFY, "TEE %s: refusing data over a channel without TLS", t->name);
    for (int i = 0; i < t->nbind; i++)
        if (veil_ct_equal(b, t->binding[i], 32)) return 0;
    return veil_fail(VEIL_EVERIFY, "TEE %s: refusing data over a channel that was not attested",
                     t->name);
}

int veil_tee_provision(veil_tee *t, veil_stream *s, const char *what)
{
    pthread_mutex_lock(&t->mu);
    /* a long-running node takes the next request's shards after a result */
    int rc = check_step(t, STEP(VEIL_TEE_ATTESTED) | STEP(VEIL_TEE_PROVISIONED) | STEP(VEIL_TEE_EXECUTING) |
                               STEP(VEIL_TEE_RESULT),
                        VEIL_TEE_PROVISIONED);
    if (!rc) rc = same_channel(t, s);
    if (!rc && t->step != VEIL_TEE_EXECUTING) t->step = VEIL_TEE_PROVISIONED;
    if (!rc)
        logf_(t, VEIL_TEE_PROVISIONED, "%s received over the attested channel (weights %zu B, keys %zu B in arena)",
              what ? what : "shard and data", t->region_bytes[VEIL_REGION_WEIGHTS],
              t->region_bytes[VEIL_REGION_KEYS]);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

#define LINKABLE \
    (STEP(VEIL_TEE_ATTESTED) | STEP(VEIL_TEE_PROVISIONED) | STEP(VEIL_TEE_EXECUTING) | STEP(VEIL_TEE_RESULT))

int veil_tee_linked(veil_tee *t, veil_stream *s, int initiator, const veil_claims *peer)
{
    uint8_t b[32];
    int rc = s->ops->binding(s->impl, b);
    if (rc) return rc;
    pthread_mutex_lock(&t->mu);
    rc = advance(t, LINKABLE, VEIL_TEE_EXECUTING);
    if (!rc) {
        remember_channel(t, b);
        logf_(t, t->step, "mutual attestation with %s neighbour %.16s... (%s%s)",
              initiator ? "next" : "previous",
              s->ops->peer_id(s->impl) ? s->ops->peer_id(s->impl) : "?",
              veil_tee_backend_name(peer->backend), peer->simulated ? ", simulated" : "");
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int veil_tee_link(veil_tee *t, veil_stream *s, int initiator, const veil_policy *p,
                  veil_claims *peer)
{
    pthread_mutex_lock(&t->mu);
    int rc = check_step(t, LINKABLE, VEIL_TEE_EXECUTING);
    pthread_mutex_unlock(&t->mu);
    if (rc) return rc;
    rc = veil_attest_mutual(s, initiator, t->attester, p, VEIL_ATTEST_REQUIRE_PEER, peer);
    return rc ? rc : veil_tee_linked(t, s, initiator, peer);
}

int veil_tee_result(veil_tee *t, veil_stream *s)
{
    uint8_t b[32];
    if (s->ops->binding(s->impl, b))
        return veil_fail(VEIL_EVERIFY, "TEE %s: results leave only over TLS", t->name);
    pthread_mutex_lock(&t->mu);
    int rc = advance(t, STEP(VEIL_TEE_PROVISIONED) | STEP(VEIL_TEE_EXECUTING) | STEP(VEIL_TEE_RESULT),
                     VEIL_TEE_RESULT);
    if (!rc)
        logf_(t, t->step, "result returned to %.16s... over an encrypted channel",
              s->ops->peer_id(s->impl) ? s->ops->peer_id(s->impl) : "?");
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static size_t nonzero(const uint8_t *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += p[i] != 0;
    return c;
}

size_t veil_tee_wipe(veil_tee *t)
{
    size_t left = 0;
    pthread_mutex_lock(&t->mu);
    if (t->arena) {
        veil_wipe(t->arena, t->used);
        left += nonzero(t->arena, t->used);
    }
    for (int i = 0; i < t->ntrack; i++) {
        veil_wipe(t->track[i].p, t->track[i].n);
        left += nonzero(t->track[i].p, t->track[i].n);
    }
    veil_wipe(t->binding, sizeof t->binding);
    t->nbind = 0;
    pthread_mutex_unlock(&t->mu);
    return left;
}

int veil_tee_destroy(veil_tee *t)
{
    if (!t) return 0;
    size_t used = t->used, left = veil_tee_wipe(t);
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->ntrack; i++)
        if (t->track[i].locked) munlock(t->track[i].p, t->track[i].n);
    if (t->arena) {
        if (t->locked) munlock(t->arena, t->cap);
        munmap(t->arena, t->cap);
        t->arena = NULL;
    }
    t->step = VEIL_TEE_DESTROYED;
    char regions[256] = "";
    for (int r = 0; r < VEIL_REGION_COUNT; r++)
        snprintf(regions + strlen(regions), sizeof regions - strlen(regions), "%s%s %zu B",
                 r ? ", " : "", region_names[r], t->region_bytes[r]);
    logf_(t, t->step, "wiped %s (%zu arena bytes, %d tracked buffers; %zu B more wiped earlier "
                      "when released); %zu non-zero bytes left; unmapped", regions, used, t->ntrack,
          t->released, left);
    pthread_mutex_unlock(&t->mu);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return left ? veil_fail(VEIL_EVERIFY, "%zu bytes did not read zero after the wipe", left) : 0;
}

veil_tee_step veil_tee_state(const veil_tee *t) { return t->step; }
int veil_tee_locked(const veil_tee *t) { return t->locked; }
size_t veil_tee_used(const veil_tee *t, veil_tee_region r)
{
    return (unsigned)r < VEIL_REGION_COUNT ? t->region_bytes[r] : 0;
}

/* GPU TEEs first, then larger capacity; stable. */
static int before(const veil_claims *a, const veil_claims *b)
{
    if (a->tee_type != b->tee_type) return a->tee_type > b->tee_type;
    return a->capacity_bytes > b->capacity_bytes;
}

int veil_tee_schedule_order(const veil_claims *nodes, int n, int *order)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (nodes[i].tee_type == VEIL_TEE_TYPE_NONE || !nodes[i].backend) continue;
        int j = k++;
        while (j > 0 && before(&nodes[i], &nodes[order[j - 1]])) { /* insertion sort */
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    return k;
}
