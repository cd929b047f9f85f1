/* veil zk commit-model / prove-shard / verify-shard: offline zkDPS proofs
 * that a shard of the integer forward pass ran on committed weights. */
#include "cli.h"

#include "veil/zk_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_range(const char *s, int n_layers, int *a, int *b)
{
    char *end;
    long x = strtol(s, &end, 10);
    if (end == s || *end != ':') return -1;
    const char *t = end + 1;
    long y = strtol(t, &end, 10);
    if (end == t || (*end && *end != ',')) return -1;
    if (x < 0 || y > n_layers || x >= y) return -1;
    *a = (int)x;
    *b = (int)y;
    return (int)(end - s);
}

static int load_model(const char *path, veil_model **m, veil_qmodel **q)
{
    if (veil_model_open(path, m)) return cli_fail_lib("cannot load model");
    if (veil_qmodel_new(*m, q)) {
        veil_model_close(*m);
        return cli_fail_lib("cannot quantize model");
    }
    return 0;
}

static void model_path(const cli_args *a, char *out)
{
    const char *m = cli_get(a, "model");
    if (m) snprintf(out, 4096, "%s", m);
    else snprintf(out, 4096, "%s/stories260K.bin", cli_model_dir());
}

/* ---- commit-model ---------------------------------------------------------- */

static const cli_opt commit_opts[] = {
    {"model", 'm', "MODEL", "checkpoint (default: $VEIL_MODEL_DIR/stories260K.bin)"},
    {"shards", 0, "SPEC", "shard split to check and report, e.g. 0:2,2:5 (default: all layers)"},
    {"output", 'o', "COMMITMENTS", "commitments file to write"},
    {0},
};

/* One line per shard: its layers and a digest of its layers' commitments. */
static int report_shards(const veil_zk_registry *r, const char *spec)
{
    char all[32];
    snprintf(all, sizeof all, "0:%d", r->n_layers);
    const char *s = spec ? spec : all;
    for (int next = 0; *s;) {
        int a, b, used = parse_range(s, r->n_layers, &a, &b);
        if (used < 0 || a != next) return -1;
        next = b;
        uint8_t h[32], *buf = NULL;
        size_t total = 0;
        for (int l = a; l < b; l++) {
            size_t sz = veil_hyrax_commitment_size(r->layer[l].nvars), w;
            uint8_t *nb = realloc(buf, total + sz);
            if (!nb) break;
            buf = nb;
            veil_hyrax_commitment_write(&r->layer[l], buf + total, sz, &w);
            total += w;
        }
        veil_sha256(buf, total, h);
        free(buf);
        char hex[65];
        veil_hex(h, 32, hex);
        printf("shard %d:%d commitments sha256 %s\n", a, b, hex);
        s += used;
        if (*s == ',') s++;
        if (!*s && next != r->n_layers) return -1;
    }
    return 0;
}

static int run_commit(cli_args *a)
{
    char mpath[4096];
    const char *out = cli_get(a, "output");
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!out) return cli_usage_error(a, "-o COMMITMENTS is required");
    model_path(a, mpath);
    veil_model *m;
    veil_qmodel *q;
    if (load_model(mpath, &m, &q)) return CLI_FAIL;
    veil_zk_registry r;
    int rc = CLI_FAIL;
    double t0 = veil_now();
    if (veil_zk_commit_model(m, q, &r, veil_progress, "committing layer weights:")) {
        cli_fail_lib("cannot commit to the model");
        goto done;
    }
    if (report_shards(&r, cli_get(a, "shards"))) {
        rc = cli_usage_error(a, "--shards must be consecutive ranges A:B covering 0:%d",
                             m->cfg.n_layers);
    } else if (veil_zk_registry_write(&r, out)) {
        cli_fail_lib("cannot write commitments");
    } else {
        fprintf(stderr, "%d layers committed in %.2f s -> %s\n", r.n_layers, veil_now() - t0, out);
        rc = CLI_OK;
    }
    veil_zk_registry_free(&r);
done:
    veil_qmodel_free(q);
    veil_model_close(m);
    return rc;
}

/* ---- prove-shard ------------------------------------------------------------ */

static const cli_opt prove_opts[] = {
    {"model", 'm', "MODEL", "checkpoint (default: $VEIL_MODEL_DIR/stories260K.bin)"},
    {"layers", 0, "A:B", "the shard: layers A..B-1"},
    {"input", 0, "FILE", "token ids (whitespace separated) at positions 0..T-1"},
    {"output", 'o', "PROOF", "proof file to write (with --decode N also PROOF.1 .. PROOF.N)"},
    {"decode", 0, "N", "prove the last N tokens as N one-token decode steps, each against the "
                       "KV cache the previous proofs committed (default 0: one prefill proof)"},
    {"nonce", 0, "HEX", "request nonce, 32 bytes (default: SHA-256 of the input file)"},
    {"key", 0, "HEX", "session key of the boundary commitments, 32 bytes (default: derived "
                      "from the nonce; not secret)"},
    {"threads", 0, "N", "threads (default: all cores)"},
    {0},
};

static int read_tokens(const char *path, int vocab, int *tok, int *T, uint8_t digest[32])
{
    FILE *f = fopen(path, "rb");
    if (!f) return cli_fail("cannot open %s", path);
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int big = !feof(f);
    fclose(f);
    if (big) return cli_fail("%s: input larger than 64 KiB", path);
    buf[n] = 0;
    veil_sha256(buf, n, digest);
    *T = 0;
    for (char *p = buf, *end;; p = end) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (!*p) break;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= vocab)
            return cli_fail("%s: token %d is not an id below %d", path, *T, vocab);
        if (*T >= VEIL_ZK_MAX_T) return cli_fail("%s: more than %d tokens", path, VEIL_ZK_MAX_T);
        tok[(*T)++] = (int)v;
    }
    if (!*T) return cli_fail("%s: no tokens", path);
    return 0;
}

static int hex_opt(const cli_args *a, const char *name, uint8_t out[32])
{
    const char *h = cli_get(a, name);
    if (!h) return 0;
    if (strlen(h) != 64 || veil_unhex(h, out, 32))
        return cli_usage_error(a, "--%s must be 64 hex digits", name);
    return 0;
}

/* Session key and nonce of an offline proof. */
static int session(const cli_args *a, const uint8_t digest[32], uint8_t nonce[32],
                   uint8_t key[32])
{
    memcpy(nonce, digest, 32);
    if (hex_opt(a, "nonce", nonce)) return CLI_USAGE;
    uint8_t buf[64];
    memcpy(buf, "veil zk offline session key v1..", 32);
    memcpy(buf + 32, nonce, 32);
    veil_sha256(buf, 64, key);
    return hex_opt(a, "key", key) ? CLI_USAGE : 0;
}

static int write_proof(const veil_zk_shard_proof *p, const char *path)
{
    uint8_t *b;
    size_t n;
    if (veil_zk_shard_proof_write(p, &b, &n)) return cli_fail_lib("cannot encode the proof");
    int rc = cli_write_file(path, b, n);
    free(b);
    return rc;
}

/* One proof of positions pos..pos+n-1 into path; progress on stderr. */
static int prove_chunk(const veil_qmodel *q, int A, int B, int pos, int n,
                       const int32_t *x, const uint8_t *key, const uint8_t *nonce, const char *path)
{
    veil_zk_shard_proof p;
    double t0 = veil_now();
    if (veil_zk_prove_prefix(q, A, B, pos, n, x, key, nonce, &p, NULL))
        return cli_fail_lib("proof failed");
    int rc = write_proof(&p, path);
    if (!rc)
        fprintf(stderr, "proof of layers %d:%d, positions %d..%d: %zu bytes in %.2f s -> %s\n", A,
                B, pos, pos + n - 1, p.body_len + 2 * p.commit_len + 64, veil_now() - t0, path);
    veil_zk_shard_proof_free(&p);
    return rc;
}

static int run_prove(cli_args *a)
{
    char mpath[4096];
    const char *in = cli_get(a, "input"), *out = cli_get(a, "output"), *lay = cli_get(a, "layers");
    long threads, decode;
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!in || !out || !lay) return cli_usage_error(a, "--layers, --input and -o are required");
    if (cli_int(a, "threads", 0, 0, 64, &threads)) return CLI_USAGE;
    if (cli_int(a, "decode", 0, 0, VEIL_ZK_MAX_T - 1, &decode)) return CLI_USAGE;
    if (threads) veil_set_threads((int)threads);
    model_path(a, mpath);
    veil_model *m;
    veil_qmodel *q;
    if (load_model(mpath, &m, &q)) return CLI_FAIL;
    int rc = CLI_FAIL, A = 0, B = 0, T = 0, tok[VEIL_ZK_MAX_T];
    uint8_t digest[32], nonce[32], key[32];
    int32_t *x = NULL;
    veil_qshard *up = NULL;
    if (parse_range(lay, m->cfg.n_layers, &A, &B) != (int)strlen(lay)) {
        rc = cli_usage_error(a, "--layers must be A:B with 0 <= A < B <= %d", m->cfg.n_layers);
        goto done;
    }
    if (read_tokens(in, m->cfg.vocab_size, tok, &T, digest)) goto done;
    if (decode >= T) {
        rc = cli_usage_error(a, "--decode %ld leaves no prefill token of %d", decode, T);
        goto done;
    }
    if ((rc = session(a, digest, nonce, key))) goto done;
    rc = CLI_FAIL;
    x = malloc(sizeof *x * (size_t)T * m->cfg.dim);
    if (!x) {
        cli_fail("out of memory");
        goto done;
    }
    for (int i = 0; i < T; i++)
        veil_qembed(q, tok[i], x + (size_t)i * m->cfg.dim);
    /* layers before the shard run as the upstream nodes would (not proven here) */
    if (A > 0 && (veil_qmodel_shard(q, 0, A, T, &up) || veil_qshard_forward_batch(up, 0, T, x))) {
        cli_fail_lib("upstream layers failed");
        goto done;
    }
    int P = T - (int)decode;
    fprintf(stderr, "proving layers %d:%d: prefill of %d tokens, %ld decode steps...\n", A, B, P,
            decode);
    if (prove_chunk(q, A, B, 0, P, x, key, nonce, out)) goto done;
    for (int k = 1; k <= decode; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%s.%d", out, k);
        if (prove_chunk(q, A, B, P + k - 1, 1, x, key, nonce, path)) goto done;
    }
    rc = CLI_OK;
done:
    veil_qshard_free(up);
    free(x);
    veil_qmodel_free(q);
    veil_model_close(m);
    return rc;
}

/* ---- verify-shard ------------------------------------------------------------ */

static const cli_opt verify_opts[] = {
    {"commitments", 0, "COMMITMENTS", "the model's commitments (veil zk commit-model)"},
    {"nonce", 0, "HEX", "the request's nonce (default: accept the proof's own, no freshness)"},
    {"after", 0, "PROOF", "the previous shard's proof: its output must be this input"},
    {0},
};

static int load_proof(const char *path, veil_zk_shard_proof *p)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cli_fail("cannot open %s", path);
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    int too_big = 0;
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap >= ((size_t)1 << 30)) { /* no proof is this large: refuse, never truncate */
            too_big = fgetc(f) != EOF;
            break;
        }
        uint8_t *nb = realloc(b, cap * 2);
        if (!nb) free(b);
        b = nb;
        cap *= 2;
    }
    fclose(f);
    if (!b) return cli_fail("out of memory reading %s", path);
    if (too_big) {
        free(b);
        return cli_fail("%s: larger than 1 GiB, not a shard proof", path);
    }
    int rc = veil_zk_shard_proof_read(b, n, p);
    free(b);
    return rc ? cli_fail("%s: %s", path, veil_last_error()) : 0;
}

/* One proof of the chain, checked against the KV record (created from the
 * first proof's layers) and, for the first, against --after. */
static int verify_one(const cli_args *a, const veil_zk_registry *r, veil_zk_kv **kv,
                      const char *path, const veil_zk_shard_proof *prev)
{
    veil_zk_shard_proof p;
    uint8_t nonce[32];
    if (load_proof(path, &p)) return CLI_FAIL;
    memcpy(nonce, p.nonce, 32);
    int rc = hex_opt(a, "nonce", nonce) ? CLI_USAGE : CLI_FAIL;
    if (rc == CLI_USAGE) goto done;
    if (!*kv && veil_zk_kv_new(&r->cfg, p.first, p.last, kv)) {
        printf("REJECTED: %s: %s\n", path, veil_last_error());
        goto done;
    }
    double t0 = veil_now();
    if (veil_zk_verify_shard(r, *kv, &p, nonce) || (prev && veil_zk_shard_link(prev, &p))) {
        printf("REJECTED: %s: %s\n", path, veil_last_error());
        goto done;
    }
    printf("OK: layers %d:%d, positions %d..%d verified in %.2f s%s\n", p.first, p.last, p.pos,
           p.pos + p.T - 1, veil_now() - t0, cli_get(a, "nonce") ? "" : " (nonce not checked)");
    rc = CLI_OK;
done:
    veil_zk_shard_proof_free(&p);
    return rc;
}

static int run_verify(cli_args *a)
{
    const char *cpath = cli_get(a, "commitments"), *prev = cli_get(a, "after");
    if (a->npos < 1) return cli_usage_error(a, "expected PROOF files");
    if (!cpath) return cli_usage_error(a, "--commitments is required");
    veil_zk_registry r;
    veil_zk_shard_proof pp = {0};
    veil_zk_kv *kv = NULL;
    if (veil_zk_registry_read(cpath, &r)) return cli_fail_lib("cannot read commitments");
    int rc = prev && load_proof(prev, &pp) ? CLI_FAIL : CLI_OK;
    for (int i = 0; rc == CLI_OK && i < a->npos; i++)
        rc = verify_one(a, &r, &kv, a->pos[i], prev && !i ? &pp : NULL);
    veil_zk_kv_free(kv);
    veil_zk_shard_proof_free(&pp);
    veil_zk_registry_free(&r);
    return rc;
}

const cli_cmd cli_cmds_zkinfer[] = {
    {"zk commit-model", "", "commit to every layer's weights (the proof registry)", commit_opts,
     run_commit},
    {"zk prove-shard", "", "prove that layers A:B of the integer forward pass ran on the input",
     prove_opts, run_prove},
    {"zk verify-shard", "PROOF...", "verify a chain of shard proofs (prefill, then decode steps in "
                                    "order) against the model's commitments",
     verify_opts, run_verify},
    {0},
};
