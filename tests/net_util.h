/* Helpers shared by the tests/test_net_*.c tests: in-process nodes on free
 * loopback ports, models, and text generation over any backend. */
#ifndef VEIL_TEST_NET_UTIL_H
#define VEIL_TEST_NET_UTIL_H

#include "harness.h"
#include "veil/node.h"
#include "veil/orchestrator.h"
#include "veil/synth.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_MAX_NODES 8

typedef struct {
    int n;
    veil_node *node[NET_MAX_NODES];
    char addr[NET_MAX_NODES][32];
    const char *addrs[NET_MAX_NODES];
} net_cluster;

/* Start n quiet nodes on 127.0.0.1 (capacity caps[i], or 1 when caps is NULL). */
static inline int net_start(net_cluster *c, int n, const double *caps, const char *models_dir)
{
    signal(SIGPIPE, SIG_IGN);
    memset(c, 0, sizeof *c);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        veil_node_opts o = {.name = name, .capacity = caps ? caps[i] : 1, .models_dir = models_dir,
                            .quiet = getenv("VEIL_TEST_VERBOSE") == NULL};
        if (veil_node_start(&o, &c->node[i])) {
            fprintf(stderr, "node %d: %s\n", i, veil_last_error());
            return -1;
        }
        snprintf(c->addr[i], sizeof c->addr[i], "127.0.0.1:%d", veil_node_port(c->node[i]));
        c->addrs[i] = c->addr[i];
        c->n = i + 1;
    }
    return 0;
}

static inline void net_stop(net_cluster *c)
{
    for (int i = 0; i < c->n; i++) veil_node_stop(c->node[i]);
    c->n = 0;
}

static inline veil_orch_opts net_opts(net_cluster *c, int n_nodes)
{
    return (veil_orch_opts){.nodes = c->addrs, .n_nodes = n_nodes, .quiet = 1, .timeout_ms = 20000};
}

/* A synthetic model in memory. */
static inline veil_model *net_synth(int dim, int hidden, int layers, int heads, int kv, int vocab,
                                    int seq, uint64_t seed)
{
    veil_config cfg = {dim, hidden, layers, heads, kv, vocab, seq, 1};
    size_t nf;
    float *w = veil_synth_floats(&cfg, seed, &nf);
    veil_model *m = NULL;
    if (!w || veil_model_from_legacy_floats(&cfg, w, nf, &m)) return NULL;
    return m;
}

typedef struct {
    char buf[8192];
    size_t n;
} net_text;

static inline void net_emit(void *ctx, const char *piece)
{
    net_text *t = ctx;
    size_t k = strlen(piece);
    if (t->n + k < sizeof t->buf) {
        memcpy(t->buf + t->n, piece, k);
        t->n += k;
        t->buf[t->n] = '\0';
    }
}

static inline int net_generate(const veil_model *m, veil_tokenizer *tk, const veil_backend *b,
                               const char *prompt, int steps, float temp, uint64_t seed, net_text *out)
{
    veil_gen_opts go = {prompt, steps, temp, 0.9f, seed};
    veil_gen_stats st;
    memset(out, 0, sizeof *out);
    return veil_generate(m, tk, b, &go, net_emit, out, &st);
}

/* Text of a local run (all layers in one local shard). */
static inline int net_local_text(const veil_model *m, veil_tokenizer *tk, const char *prompt, int steps,
                                  float temp, uint64_t seed, net_text *out)
{
    veil_shard *s;
    if (veil_model_shard(m, 0, m->cfg.n_layers, 0, &s)) return -1;
    veil_backend b = veil_local_backend(s);
    int rc = net_generate(m, tk, &b, prompt, steps, temp, seed, out);
    veil_shard_free(s);
    return rc;
}

#endif
