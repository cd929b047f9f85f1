/* veil ledger: the persistent reputation of every node (SQLite).
 *
 * One row per node and one row per event (agreed with the quorum, flagged,
 * re-executed after a failed quorum, CDV alarm, dispute lost). The scheduler
 * asks for a score per node and avoids flagged nodes. Node names arrive from
 * the network: they are bound as SQL parameters, never spliced into SQL. */
#ifndef VEIL_LEDGER_H
#define VEIL_LEDGER_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VEIL_EV_AGREE = 0,   /* output matched the quorum */
    VEIL_EV_FLAG = 1,    /* output disagreed with the quorum (minority) */
    VEIL_EV_REEXEC = 2,  /* no quorum: shard re-executed elsewhere */
    VEIL_EV_CDV = 3,     /* distribution test rejected its output */
    VEIL_EV_DISPUTE = 4, /* named guilty by dispute bisection */
} veil_event_kind;

typedef struct veil_ledger veil_ledger;

/* Open (creating if needed) the database at path (":memory:" allowed). */
int veil_ledger_open(const char *path, veil_ledger **out);
void veil_ledger_close(veil_ledger *l);

/* Record one event about `node` for shard layers [first,last) at pos. */
int veil_ledger_record(veil_ledger *l, const char *node, veil_event_kind kind, int first,
                       int last, long pos, const char *detail);

/* Add n agreements at once without event rows (the verifier batches the
 * per-token successes and writes them when it is freed). */
int veil_ledger_credit(veil_ledger *l, const char *node, long n);

typedef struct {
    long agree, flag, reexec, cdv, dispute;
    double score;  /* (agree + 1) / (agree + 1 + 50 * (flag + cdv + dispute) + reexec) */
    int flagged;   /* any flag, cdv alarm or lost dispute: avoid this node */
} veil_node_rep;

/* A node never seen gets score 0.5, flagged 0. */
int veil_ledger_get(veil_ledger *l, const char *node, veil_node_rep *out);
/* Scheduler query: order candidates by descending score, flagged ones
 * dropped; writes up to n indices into `order`, returns how many (>= 0). */
int veil_ledger_rank(veil_ledger *l, const char *const *nodes, int n, int *order);
/* Every known node with its reputation, in name order: fn returns non-zero
 * to stop early. */
int veil_ledger_each(veil_ledger *l, int (*fn)(void *ctx, const char *node, const veil_node_rep *r),
                     void *ctx);
/* Forget a node's history (operator decision, e.g. after a fix). */
int veil_ledger_forgive(veil_ledger *l, const char *node);

const char *veil_event_name(veil_event_kind k);

#ifdef __cplusplus
}
#endif
#endif
