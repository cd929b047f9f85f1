/* The orchestrator's verifier: buffers replica outputs per shard step,
 * decides, flags, records reputation and runs CDV. */
#include "veil/verify.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TRACKED 64 /* nodes whose CDV state and credits are kept */

typedef struct {
    char name[64];
    long agree;                /* successes not yet written to the ledger */
    veil_cdv_monitor mon[1];   /* CDV state at its shard's output */
    int mon_boundary;
} node_state;

typedef struct {
    int first, last, pos, T, n;
    int decided, unresolved; /* unresolved: a failed quorum not settled yet */
    char node[VEIL_MAX_REPLICAS][64];
    float *out[VEIL_MAX_REPLICAS];
    size_t cap;                      /* floats per buffer */
    int has_out[VEIL_MAX_REPLICAS];  /* 0: replica sent only a fingerprint */
    veil_fp fp[VEIL_MAX_REPLICAS];   /* its fingerprint (when !has_out) */
    int bad_fp[VEIL_MAX_REPLICAS];   /* malformed: agrees with nobody */
    uint32_t judged;                 /* replicas already flagged or credited */
    int use;
} step;

struct veil_verifier {
    veil_verifier_opts o;
    int n_shards, dim, flags;
    veil_spot *spot;
    step *st;
    node_state nodes[MAX_TRACKED];
    int n_nodes;
};

veil_verifier_opts veil_verifier_defaults(void)
{
    return (veil_verifier_opts){.mode = {.kind = VEIL_VERIFY_CONSENSUS, .p = 1},
                                .quorum = veil_quorum_defaults(),
                                .cdv = veil_cdv_defaults(),
                                .flag_out = stderr};
}

int veil_verifier_opts_from(const char *mode, const char *ledger, const char *profile,
                            const veil_model *m, veil_verifier_opts *out)
{
    *out = veil_verifier_defaults();
    int rc = veil_verify_parse(mode ? mode : "consensus", &out->mode);
    if (rc) return rc;
    if (out->mode.kind == VEIL_VERIFY_CDV && !profile)
        return veil_fail(VEIL_EINVAL, "--verify cdv needs --profile FILE (made by veil model profile)");
    veil_cdv_profile *p = NULL;
    if (profile) {
        if ((rc = veil_cdv_profile_load(profile, &p))) return rc;
        if (memcmp(p->model_sha, m->sha256, 32) != 0 || p->dim != m->cfg.dim ||
            p->n_layers != m->cfg.n_layers) {
            veil_cdv_profile_free(p);
            return veil_fail(VEIL_EINVAL, "CDV profile %s was made for another model", profile);
        }
        out->profile = p;
    }
    const char *env = getenv("VEIL_LEDGER");
    const char *path = ledger ? ledger : env && *env ? env : "veil-ledger.db";
    if (*path && (rc = veil_ledger_open(path, &out->ledger))) {
        veil_verifier_opts_release(out);
        return rc;
    }
    return 0;
}

void veil_verifier_opts_release(veil_verifier_opts *o)
{
    veil_cdv_profile_free((veil_cdv_profile *)o->profile); /* opts_from allocated it */
    veil_ledger_close(o->ledger);
    o->profile = NULL;
    o->ledger = NULL;
}

/* A step that ended without a quorum: nobody can be blamed, every replica
 * gets a (light) failed-quorum mark. Settled steps blame only the minority. */
static void settle_unresolved(veil_verifier *v, step *s)
{
    for (int r = 0; v->o.ledger && s->unresolved && r < s->n; r++)
        veil_ledger_record(v->o.ledger, s->node[r], VEIL_EV_REEXEC, s->first, s->last, s->pos,
                           "no quorum");
    s->unresolved = 0;
}

int veil_verifier_new(const veil_verifier_opts *o, int n_shards, int dim, veil_verifier **out)
{
    *out = NULL;
    if (n_shards < 1 || n_shards > VEIL_MAX_LAYERS || dim < 1 || dim > VEIL_MAX_DIM)
        return veil_fail(VEIL_EINVAL, "verifier: bad shard count %d or width %d", n_shards, dim);
    if (o->profile && o->profile->dim != dim)
        return veil_fail(VEIL_EINVAL, "verifier: CDV profile of width %d for a model of width %d",
                         o->profile->dim, dim);
    veil_verifier *v = calloc(1, sizeof *v);
    if (!v || !(v->st = calloc(n_shards, sizeof *v->st))) {
        free(v);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    v->o = *o, v->n_shards = n_shards, v->dim = dim;
    int rc = 0;
    if (o->mode.kind == VEIL_VERIFY_SAMPLE) rc = veil_spot_new(o->mode.p, o->sample_key, &v->spot);
    if (rc) {
        veil_verifier_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

void veil_verifier_free(veil_verifier *v)
{
    if (!v) return;
    for (int s = 0; v->st && s < v->n_shards; s++) settle_unresolved(v, &v->st[s]);
    for (int i = 0; v->o.ledger && i < v->n_nodes; i++)
        if (v->nodes[i].agree) veil_ledger_credit(v->o.ledger, v->nodes[i].name, v->nodes[i].agree);
    for (int s = 0; s < v->n_shards; s++)
        for (int r = 0; r < VEIL_MAX_REPLICAS; r++) {
            if (v->st[s].out[r]) veil_wipe(v->st[s].out[r], v->st[s].cap * sizeof(float));
            free(v->st[s].out[r]);
        }
    free(v->st);
    veil_spot_free(v->spot);
    free(v);
}

int veil_verifier_flag_count(const veil_verifier *v) { return v->flags; }

int veil_verifier_replicate(const veil_verifier *v, int pos, int T)
{
    (void)T;
    switch (v->o.mode.kind) {
    case VEIL_VERIFY_CONSENSUS: return 1;
    case VEIL_VERIFY_SAMPLE: return pos >= 0 && veil_spot_pick(v->spot, (uint64_t)pos);
    default: return 0;
    }
}

static node_state *node_of(veil_verifier *v, const char *name)
{
    for (int i = 0; i < v->n_nodes; i++)
        if (strcmp(v->nodes[i].name, name) == 0) return &v->nodes[i];
    if (v->n_nodes == MAX_TRACKED) { /* full: recycle the last slot after crediting it */
        node_state *n = &v->nodes[MAX_TRACKED - 1];
        if (v->o.ledger && n->agree) veil_ledger_credit(v->o.ledger, n->name, n->agree);
        v->n_nodes--;
    }
    node_state *n = &v->nodes[v->n_nodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->mon_boundary = -1;
    return n;
}

int veil_verifier_begin(veil_verifier *v, int shard, int first, int last, int pos, int T)
{
    if (shard < 0 || shard >= v->n_shards || first < 0 || last <= first || pos < 0 || T < 1 ||
        T > VEIL_MAX_SEQ)
        return veil_fail(VEIL_EINVAL, "verifier: bad step (shard %d, layers [%d,%d), %d+%d)",
                         shard, first, last, pos, T);
    step *s = &v->st[shard];
    settle_unresolved(v, s);
    size_t need = (size_t)T * v->dim;
    if (need > s->cap) { /* buffers are (re)allocated lazily by add */
        for (int r = 0; r < VEIL_MAX_REPLICAS; r++) {
            free(s->out[r]);
            s->out[r] = NULL;
        }
        s->cap = need;
    }
    s->first = first, s->last = last, s->pos = pos, s->T = T;
    s->n = 0, s->decided = 0, s->use = -1, s->judged = 0;
    return 0;
}

/* Next replica slot of a begun step, named. */
static int next_slot(veil_verifier *v, int shard, const char *node, step **out)
{
    if (shard < 0 || shard >= v->n_shards) return veil_fail(VEIL_EINVAL, "verifier: bad shard");
    step *s = &v->st[shard];
    if (s->T < 1) return veil_fail(VEIL_EINVAL, "verifier: add before begin");
    if (s->n == VEIL_MAX_REPLICAS)
        return veil_fail(VEIL_ERANGE, "verifier: more than %d replicas", VEIL_MAX_REPLICAS);
    snprintf(s->node[s->n], sizeof s->node[0], "%s", node && *node ? node : "?");
    s->has_out[s->n] = s->bad_fp[s->n] = 0;
    s->decided = 0;
    *out = s;
    return 0;
}

int veil_verifier_add_fp(veil_verifier *v, int shard, const char *node, const uint8_t *enc,
                         size_t n)
{
    step *s = NULL;
    int rc = next_slot(v, shard, node, &s);
    if (rc) return rc;
    veil_fp *fp = &s->fp[s->n];
    /* a malformed or misplaced fingerprint is a disagreement, not an error */
    s->bad_fp[s->n] = veil_fp_decode(enc, n, fp) != 0 || fp->pos != (uint32_t)s->pos ||
                      fp->T != (uint32_t)s->T || fp->dim != (uint32_t)v->dim;
    s->n++;
    return 0;
}

int veil_verifier_add(veil_verifier *v, int shard, const char *node, const float *x)
{
    step *s = NULL;
    int rc = next_slot(v, shard, node, &s);
    if (rc) return rc;
    if (!s->out[s->n] && !(s->out[s->n] = malloc(s->cap * sizeof(float))))
        return veil_fail(VEIL_ENOMEM, "out of memory");
    memcpy(s->out[s->n], x, (size_t)s->T * v->dim * sizeof(float));
    s->has_out[s->n] = 1;
    s->n++;
    return 0;
}

static void raise_flag(veil_verifier *v, const step *s, const char *node, veil_event_kind kind,
                       const char *reason)
{
    veil_flag f;
    veil_flag_set(&f, node, "%s", reason);
    if (v->o.flag_out) veil_flag_print(v->o.flag_out, &f);
    if (v->o.ledger) veil_ledger_record(v->o.ledger, f.node, kind, s->first, s->last, s->pos, f.reason);
    v->flags++;
}

/* CDV on one replica's output; 1 when it flags. */
static int cdv_check(veil_verifier *v, const step *s, int r)
{
    const veil_cdv_profile *p = v->o.profile;
    if (!p || s->last > p->n_layers) return 0;
    node_state *n = node_of(v, s->node[r]);
    if (n->mon_boundary != s->last - 1) {
        memset(n->mon, 0, sizeof n->mon);
        n->mon_boundary = s->last - 1;
    }
    veil_cdv_verdict vd;
    if (veil_cdv_observe(p, s->last - 1, &n->mon[0], s->out[r], s->T, &v->o.cdv, &vd) || !vd.flagged)
        return 0;
    raise_flag(v, s, s->node[r], VEIL_EV_CDV, vd.reason);
    memset(n->mon, 0, sizeof n->mon); /* re-arm: the next flag needs new evidence */
    return 1;
}

static int decide_single(veil_verifier *v, step *s, veil_verdict *out)
{
    if (cdv_check(v, s, 0)) {
        out->flagged = 1;
        out->reexecute = 1;
        s->n = 0; /* the step restarts: the next add is the new node's output */
        return veil_fail(VEIL_EVERIFY, "shard output rejected by CDV");
    }
    out->use = 0;
    node_of(v, s->node[0])->agree += v->o.profile ? 1 : 0;
    return 0;
}

/* Quorum over full blocks, or over fingerprints when some replicas sent only
 * one (the blocks are fingerprinted with the same parameters). */
static int step_quorum(veil_verifier *v, step *s, veil_quorum_result *q)
{
    const float *outs[VEIL_MAX_REPLICAS];
    int all_full = 1, k = VEIL_FP_DEFAULT_K;
    for (int r = 0; r < s->n; r++) {
        outs[r] = s->has_out[r] ? s->out[r] : NULL;
        all_full &= s->has_out[r];
        if (!s->has_out[r] && !s->bad_fp[r]) k = s->fp[r].k;
    }
    if (all_full) return veil_quorum_outputs(s->n, outs, (size_t)s->T * v->dim, &v->o.quorum, q);
    static _Thread_local veil_fp fps[VEIL_MAX_REPLICAS];
    for (int r = 0; r < s->n; r++) {
        memset(&fps[r], 0, sizeof fps[r]); /* a bad fingerprint (T = 0) agrees with nobody */
        if (s->has_out[r])
            veil_fp_compute(s->out[r], s->T, v->dim, k, s->last - 1, (uint32_t)s->pos, &fps[r]);
        else if (!s->bad_fp[r])
            fps[r] = s->fp[r];
    }
    return veil_quorum_fps(s->n, fps, outs, s->T, v->dim, &v->o.quorum, q);
}

static void flag_minority(veil_verifier *v, step *s, veil_verdict *out)
{
    for (int r = 0; r < s->n; r++) {
        if (s->judged >> r & 1) continue; /* a re-decision after a fetch */
        s->judged |= 1u << r;
        if (!(out->q.minority_mask >> r & 1)) {
            node_of(v, s->node[r])->agree++;
            continue;
        }
        char reason[200];
        snprintf(reason, sizeof reason, "%s of layers [%d,%d) at positions %d..%d disagrees "
                 "with the quorum (%d of %d replicas agree)",
                 s->has_out[r] ? "output" : s->bad_fp[r] ? "malformed fingerprint" : "fingerprint",
                 s->first, s->last, s->pos, s->pos + s->T - 1, out->q.n_agree, s->n);
        raise_flag(v, s, s->node[r], VEIL_EV_FLAG, reason);
        out->flagged++;
    }
}

int veil_verifier_decide(veil_verifier *v, int shard, veil_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->use = -1;
    if (shard < 0 || shard >= v->n_shards) return veil_fail(VEIL_EINVAL, "verifier: bad shard");
    step *s = &v->st[shard];
    if (s->n < 1) return veil_fail(VEIL_EINVAL, "verifier: decide without outputs");
    if (s->n == 1) {
        if (!s->has_out[0]) return veil_fail(VEIL_EINVAL, "verifier: a lone fingerprint has no output");
        int rc = decide_single(v, s, out);
        s->use = out->use;
        s->decided = rc == 0;
        return rc;
    }
    int rc = step_quorum(v, s, &out->q);
    if (rc) return rc;
    if (!out->q.decided) {
        out->reexecute = 1;
        s->unresolved = 1;
        return veil_fail(VEIL_EVERIFY, "replicas of layers [%d,%d) disagree at positions %d..%d: "
                         "no quorum among %d", s->first, s->last, s->pos, s->pos + s->T - 1, s->n);
    }
    flag_minority(v, s, out);
    s->unresolved = 0;
    out->use = out->q.winner;
    for (int r = 0; !s->has_out[out->use] && r < s->n; r++)
        if (out->q.agree_mask >> r & 1 && s->has_out[r]) out->use = r;
    if (!s->has_out[out->use]) { /* the quorum sent fingerprints only */
        out->reexecute = 1;
        return veil_fail(VEIL_EVERIFY, "the agreeing replicas of layers [%d,%d) sent only "
                         "fingerprints: fetch the block from %s", s->first, s->last,
                         s->node[out->use]);
    }
    s->use = out->use;
    s->decided = 1;
    return 0;
}

int veil_verifier_step(veil_verifier *v, int shard, int first, int last, int pos, int T, int n,
                       const char *const *names, const float *const *outs, veil_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->use = -1;
    int rc = veil_verifier_begin(v, shard, first, last, pos, T);
    for (int i = 0; !rc && i < n; i++) rc = veil_verifier_add(v, shard, names[i], outs[i]);
    return rc ? rc : veil_verifier_decide(v, shard, out);
}

const float *veil_verifier_output(const veil_verifier *v, int shard)
{
    if (shard < 0 || shard >= v->n_shards) return NULL;
    const step *s = &v->st[shard];
    return s->decided && s->use >= 0 ? s->out[s->use] : NULL;
}
