/* Consensus verification through the orchestrator (veil_orch_opts.verify)
 * against in-process nodes, one of them adversarial (veil_node_opts
 * .adversary): the accepted hidden states equal a local run bit for bit, the
 * adversary is flagged and dropped, honest runs raise nothing, the ledger
 * keeps a flagged node out of the next schedule, sample:1 checks through the
 * late-replica path, and a step with no quorum and no spare stops. */
#include "net_util.h"

#include "veil/verify.h"

/* n nodes "n0".."n{n-1}"; node `bad` runs `mode` (bad < 0: all honest). */
static int start(net_cluster *c, int n, int bad, const veil_adv_mode *mode)
{
    signal(SIGPIPE, SIG_IGN);
    memset(c, 0, sizeof *c);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        veil_node_opts o = {.name = name, .quiet = getenv("VEIL_TEST_VERBOSE") == NULL,
                            .adversary = i == bad ? mode : NULL};
        if (veil_node_start(&o, &c->node[i])) return -1;
        snprintf(c->addr[i], sizeof c->addr[i], "127.0.0.1:%d", veil_node_port(c->node[i]));
        c->addrs[i] = c->addr[i];
        c->n = i + 1;
    }
    return 0;
}

/* Prefill + decode through o and through a local shard; 1 when identical. */
static int same_as_local(const veil_model *m, veil_orch *o, int prefill, int decode, int *err)
{
    veil_backend b = veil_orch_backend(o);
    double d;
    int same = 0;
    *err = test_vs_local(m, &b, prefill, decode, 5, &d, &same);
    return !*err && same;
}

/* One generation over n nodes with node `bad` running `mode`; returns the
 * orchestrator's flag count (or -1), *same = output equals local, *err = the
 * forward's error code. */
static int run(const veil_model *m, int n, int R, const char *verify, const char *ledger, int bad,
               const char *mode, int *same, int *err, int *bad_flagged)
{
    veil_adv_mode am;
    net_cluster c;
    if ((mode && veil_adv_parse(mode, &am)) || start(&c, n, bad, mode ? &am : NULL)) return -1;
    veil_verifier_opts vo;
    int flags = -1;
    *same = *err = 0;
    if (veil_verifier_opts_from(verify, ledger, NULL, m, &vo) == 0) {
        vo.flag_out = NULL;
        veil_orch_opts po = net_opts(&c, n);
        po.replicas = R;
        po.verify = &vo;
        veil_orch *o;
        if (veil_orch_new(m, &po, &o) == 0) {
            *same = same_as_local(m, o, 5, 12, err);
            flags = veil_orch_verify_flags(o);
            *bad_flagged = 0;
            for (int i = 0; i < n; i++) {
                veil_orch_node_info in;
                veil_orch_node_query(o, i, &in);
                if (in.flagged && !strcmp(in.name, "n0")) *bad_flagged = 1;
            }
            veil_orch_free(o);
        } else
            fprintf(stderr, "orch: %s\n", veil_last_error());
        veil_verifier_opts_release(&vo);
    }
    net_stop(&c);
    return flags;
}

int main(void)
{
    veil_model *m = net_synth(64, 96, 4, 4, 2, 97, 64, 11);
    if (!m) return test_skip("cannot build a synthetic model");
    int same, err, badf;
    /* honest: no flag, exact agreement */
    CHECK(run(m, 4, 2, "consensus", "", -1, NULL, &same, &err, &badf) == 0);
    CHECK(same && !err);
    /* every mode that needs no second checkpoint: output still exact, n0 named */
    const char *modes[] = {"lazy", "random", "noise:0.001", "skip-layer", "stale"};
    for (int k = 0; k < 5; k++) {
        int f = run(m, 4, 2, "consensus", "", 0, modes[k], &same, &err, &badf);
        CHECKF(f == 1 && same && !err && badf, "%s: flags %d same %d err %d n0 flagged %d", modes[k], f,
               same, err, badf);
    }
    /* R=3: the minority is flagged without re-execution */
    CHECK(run(m, 6, 3, "consensus", "", 0, "random", &same, &err, &badf) == 1 && same && badf);
    /* sample:1 reaches the second replica through catch-up only */
    CHECK(run(m, 4, 2, "sample:1", "", 0, "lazy", &same, &err, &badf) == 1 && same && badf);
    /* no spare and no quorum: the forward fails with a verdict, no output */
    run(m, 2, 2, "consensus", "", 0, "lazy", &same, &err, &badf);
    CHECK(!same && err == VEIL_EVERIFY);
    /* the ledger: n0 flagged in run 1 is not scheduled in run 2 */
    char db[4200];
    snprintf(db, sizeof db, "%s/ledger.db", test_tmpdir());
    CHECK(run(m, 5, 2, "consensus", db, 0, "random", &same, &err, &badf) == 1 && same);
    CHECK(run(m, 5, 2, "consensus", db, -1, NULL, &same, &err, &badf) == 0 && same && badf);
    veil_model_close(m);
    return test_done();
}
