/* Reputation ledger on SQLite: an events table and a per-node summary. */
#include "veil/ledger.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct veil_ledger {
    sqlite3 *db;
};

static const char *const SCHEMA =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS nodes("
    "  name TEXT PRIMARY KEY, first_seen INTEGER, last_seen INTEGER,"
    "  agree INTEGER DEFAULT 0, flag INTEGER DEFAULT 0, reexec INTEGER DEFAULT 0,"
    "  cdv INTEGER DEFAULT 0, dispute INTEGER DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS events("
    "  id INTEGER PRIMARY KEY, ts INTEGER, node TEXT, kind TEXT,"
    "  first_layer INTEGER, last_layer INTEGER, pos INTEGER, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS events_node ON events(node);";

static const char *const COLUMN[] = {"agree", "flag", "reexec", "cdv", "dispute"};

const char *veil_event_name(veil_event_kind k)
{
    return (unsigned)k < sizeof COLUMN / sizeof *COLUMN ? COLUMN[k] : "?";
}

static int db_fail(veil_ledger *l, const char *what)
{
    return veil_fail(VEIL_EIO, "ledger: %s: %s", what, sqlite3_errmsg(l->db));
}

int veil_ledger_open(const char *path, veil_ledger **out)
{
    *out = NULL;
    veil_ledger *l = calloc(1, sizeof *l);
    if (!l) return veil_fail(VEIL_ENOMEM, "out of memory");
    if (sqlite3_open(path, &l->db) != SQLITE_OK) {
        int rc = veil_fail(VEIL_EIO, "ledger: cannot open %s: %s", path,
                           l->db ? sqlite3_errmsg(l->db) : "out of memory");
        veil_ledger_close(l);
        return rc;
    }
    sqlite3_busy_timeout(l->db, 2000); /* several processes may share it */
    if (sqlite3_exec(l->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        int rc = db_fail(l, "schema");
        veil_ledger_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

void veil_ledger_close(veil_ledger *l)
{
    if (!l) return;
    sqlite3_close(l->db);
    free(l);
}

/* Run one statement with text/int parameters: types "t" or "i" per arg. */
static int exec_bound(veil_ledger *l, const char *sql, const char *types, const void *const *args)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(l, "prepare");
    for (int i = 0; types[i]; i++) {
        if (types[i] == 't')
            sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, i + 1, *(const long *)args[i]);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_fail(l, "write");
}

static int valid_name(const char *node)
{
    size_t n = node ? strlen(node) : 0;
    return n > 0 && n < 256;
}

int veil_ledger_record(veil_ledger *l, const char *node, veil_event_kind kind, int first,
                       int last, long pos, const char *detail)
{
    if (!valid_name(node)) return veil_fail(VEIL_EINVAL, "ledger: node name empty or too long");
    if ((unsigned)kind >= sizeof COLUMN / sizeof *COLUMN)
        return veil_fail(VEIL_EINVAL, "ledger: unknown event kind %d", (int)kind);
    long now = (long)time(NULL), f = first, la = last;
    char upd[160];
    /* the column name comes from our own table, never from input */
    snprintf(upd, sizeof upd, "UPDATE nodes SET %s = %s + 1, last_seen = ?1 WHERE name = ?2",
             COLUMN[kind], COLUMN[kind]);
    const char *kname = COLUMN[kind], *d = detail ? detail : "";
    int rc = sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
                 ? 0 : db_fail(l, "begin");
    if (!rc)
        rc = exec_bound(l, "INSERT OR IGNORE INTO nodes(name, first_seen, last_seen) "
                           "VALUES(?1, ?2, ?2)", "ti", (const void *[]){node, &now});
    if (!rc) rc = exec_bound(l, upd, "it", (const void *[]){&now, node});
    if (!rc)
        rc = exec_bound(l, "INSERT INTO events(ts, node, kind, first_layer, last_layer, pos, "
                           "detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", "ittiiit",
                        (const void *[]){&now, node, kname, &f, &la, &pos, d});
    sqlite3_exec(l->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    return rc;
}

int veil_ledger_credit(veil_ledger *l, const char *node, long n)
{
    if (!valid_name(node)) return veil_fail(VEIL_EINVAL, "ledger: node name empty or too long");
    if (n < 0) return veil_fail(VEIL_EINVAL, "ledger: negative credit");
    long now = (long)time(NULL);
    int rc = exec_bound(l, "INSERT OR IGNORE INTO nodes(name, first_seen, last_seen) "
                           "VALUES(?1, ?2, ?2)", "ti", (const void *[]){node, &now});
    if (!rc)
        rc = exec_bound(l, "UPDATE nodes SET agree = agree + ?1, last_seen = ?2 WHERE name = ?3",
                        "iit", (const void *[]){&n, &now, node});
    return rc;
}

static void finish_rep(veil_node_rep *r)
{
    long bad = r->flag + r->cdv + r->dispute;
    /* a proven misbehaviour weighs like 50 good answers; a failed quorum
     * (not attributable yet) like one */
    r->score = (double)(r->agree + 1) / (double)(r->agree + 1 + 50 * bad + r->reexec);
    if (r->agree == 0 && bad == 0 && r->reexec == 0) r->score = 0.5;
    r->flagged = bad > 0;
}

int veil_ledger_get(veil_ledger *l, const char *node, veil_node_rep *out)
{
    memset(out, 0, sizeof *out);
    if (!valid_name(node)) return veil_fail(VEIL_EINVAL, "ledger: node name empty or too long");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "SELECT agree, flag, reexec, cdv, dispute FROM nodes "
                                  "WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "prepare");
    sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->agree = sqlite3_column_int64(st, 0);
        out->flag = sqlite3_column_int64(st, 1);
        out->reexec = sqlite3_column_int64(st, 2);
        out->cdv = sqlite3_column_int64(st, 3);
        out->dispute = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(l, "read");
    finish_rep(out);
    return 0;
}

int veil_ledger_rank(veil_ledger *l, const char *const *nodes, int n, int *order)
{
    if (n < 0) return veil_fail(VEIL_EINVAL, "ledger: negative candidate count");
    double *score = malloc(sizeof(double) * (n ? n : 1));
    if (!score) return veil_fail(VEIL_ENOMEM, "out of memory");
    int m = 0;
    for (int i = 0; i < n; i++) {
        veil_node_rep r;
        int rc = veil_ledger_get(l, nodes[i], &r);
        if (rc) {
            free(score);
            return rc;
        }
        if (r.flagged) continue;
        /* insertion sort, stable: equal scores keep the caller's order */
        int j = m++;
        while (j > 0 && score[order[j - 1]] < r.score) {
            order[j] = order[j - 1];
            j--;
        }
        score[i] = r.score;
        order[j] = i;
    }
    free(score);
    return m;
}

int veil_ledger_each(veil_ledger *l, int (*fn)(void *ctx, const char *node, const veil_node_rep *r),
                     void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "SELECT name, agree, flag, reexec, cdv, dispute FROM nodes "
                                  "ORDER BY name", -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "prepare");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        veil_node_rep r = {sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                           sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
                           sqlite3_column_int64(st, 5), 0, 0};
        finish_rep(&r);
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (fn(ctx, name ? name : "", &r)) break;
    }
    int bad = rc != SQLITE_ROW && rc != SQLITE_DONE;
    sqlite3_finalize(st);
    return bad ? db_fail(l, "read") : 0;
}

int veil_ledger_forgive(veil_ledger *l, const char *node)
{
    if (!valid_name(node)) return veil_fail(VEIL_EINVAL, "ledger: node name empty or too long");
    int rc = exec_bound(l, "DELETE FROM nodes WHERE name = ?1", "t", (const void *[]){node});
    if (!rc) rc = exec_bound(l, "DELETE FROM events WHERE node = ?1", "t", (const void *[]){node});
    return rc;
}
