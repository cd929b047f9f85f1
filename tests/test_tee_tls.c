/* TLS 1.3 streams: mutual auth, binding, allow-list, refusal of weak or
 * unauthenticated peers, and interop with `openssl s_client`. */
#include "harness.h"
#include "veil/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

typedef struct {
    veil_tls_ctx *ctx;
    int fd, rc;
    veil_stream s;
    char err[256];
} side;

static void *accept_thread(void *p)
{
    side *sd = p;
    sd->rc = veil_tls_accept(sd->ctx, sd->fd, &sd->s);
    snprintf(sd->err, sizeof sd->err, "%s", veil_last_error());
    return NULL;
}

/* Handshake server ctx vs client ctx over a socketpair. */
static void pair(veil_tls_ctx *srv, veil_tls_ctx *cli, side *s, side *c)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    *s = (side){srv, sv[0], 0, {0}, ""};
    *c = (side){cli, sv[1], 0, {0}, ""};
    pthread_t th;
    pthread_create(&th, NULL, accept_thread, s);
    c->rc = veil_tls_connect(cli, c->fd, &c->s);
    snprintf(c->err, sizeof c->err, "%s", veil_last_error());
    if (c->rc) shutdown(c->fd, SHUT_RDWR); /* unblock a server still waiting */
    pthread_join(th, NULL);
    if (s->rc) shutdown(s->fd, SHUT_RDWR);
}

static void close_side(side *x)
{
    if (x->rc == 0)
        veil_stream_close(&x->s);
    else
        close(x->fd);
}

static void test_roundtrip(veil_tls_ctx *a, veil_tls_ctx *b)
{
    side s, c;
    pair(a, b, &s, &c);
    CHECKF(s.rc == 0 && c.rc == 0, "server: %s / client: %s", s.err, c.err);
    if (s.rc || c.rc) return;
    CHECK(strcmp(s.s.ops->kind, "tls") == 0);
    CHECK(strcmp(s.s.ops->peer_id(s.s.impl), veil_tls_ctx_id(b)) == 0);
    CHECK(strcmp(c.s.ops->peer_id(c.s.impl), veil_tls_ctx_id(a)) == 0);
    CHECK(strcmp(veil_tls_version(&c.s), "TLSv1.3") == 0);
    const char *cs = veil_tls_cipher(&c.s);
    CHECKF(strcmp(cs, "TLS_AES_256_GCM_SHA384") == 0 || strcmp(cs, "TLS_CHACHA20_POLY1305_SHA256") == 0,
           "cipher %s", cs);
    uint8_t b1[32], b2[32], zero[32] = {0};
    CHECK(s.s.ops->binding(s.s.impl, b1) == 0 && c.s.ops->binding(c.s.impl, b2) == 0);
    CHECK(memcmp(b1, b2, 32) == 0 && memcmp(b1, zero, 32) != 0);
    char msg[100000], got[100000];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (char)(i * 7);
    CHECK(veil_stream_write(&c.s, msg, sizeof msg) == 0);
    CHECK(veil_stream_read(&s.s, got, sizeof got) == 0 && memcmp(msg, got, sizeof msg) == 0);
    CHECK(veil_stream_write(&s.s, "pong", 4) == 0);
    CHECK(veil_stream_read(&c.s, got, 4) == 0 && memcmp(got, "pong", 4) == 0);
    /* orderly close -> VEIL_ECLOSED; writing to a closed peer fails, no SIGPIPE */
    veil_stream_close(&c.s);
    CHECK(veil_stream_read(&s.s, got, 4) == VEIL_ECLOSED);
    int wr = 0;
    for (int i = 0; i < 50 && wr == 0; i++) wr = veil_stream_write(&s.s, msg, sizeof msg);
    CHECK(wr < 0);
    veil_stream_close(&s.s);

    /* a second connection has a different exporter (no resumption) */
    pair(a, b, &s, &c);
    uint8_t b3[32];
    CHECK(s.rc == 0 && s.s.ops->binding(s.s.impl, b3) == 0 && memcmp(b1, b3, 32) != 0);
    close_side(&s);
    close_side(&c);
}

/* One thread reads while another writes on the same TLS stream (the node
 * does this: its reader waits while RESULTs are written from elsewhere). */
typedef struct {
    veil_stream *s;
    int n, rc;
} pump;

static void *echo_thread(void *p)
{
    pump *e = p;
    char b[1024];
    for (int i = 0; i < e->n && !e->rc; i++)
        e->rc = veil_stream_read(e->s, b, sizeof b) || veil_stream_write(e->s, b, sizeof b);
    return NULL;
}

static void *writer_thread(void *p)
{
    pump *w = p;
    char b[1024];
    for (int i = 0; i < w->n && !w->rc; i++) {
        memset(b, i & 0xff, sizeof b);
        w->rc = veil_stream_write(w->s, b, sizeof b);
    }
    return NULL;
}

static void test_concurrent(veil_tls_ctx *a, veil_tls_ctx *b)
{
    side s, c;
    pair(a, b, &s, &c);
    if (s.rc || c.rc) {
        CHECK(0);
        return;
    }
    enum { N = 2000 };
    pump echo = {&s.s, N, 0}, wr = {&c.s, N, 0};
    pthread_t te, tw;
    pthread_create(&te, NULL, echo_thread, &echo);
    pthread_create(&tw, NULL, writer_thread, &wr);
    int bad = 0;
    char got[1024];
    for (int i = 0; i < N && !bad; i++) {
        if (veil_stream_read(&c.s, got, sizeof got)) bad = 1;
        else if (got[0] != (char)(i & 0xff) || got[1023] != (char)(i & 0xff)) bad = 2;
    }
    pthread_join(tw, NULL);
    pthread_join(te, NULL);
    CHECKF(!bad && !wr.rc && !echo.rc, "concurrent read/write: bad %d, writer %d, echo %d: %s", bad,
           wr.rc, echo.rc, veil_last_error());
    /* a socket timeout surfaces as VEIL_ETIMEOUT */
    struct timeval tv = {0, 200000};
    setsockopt(c.s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    double t0 = veil_now();
    CHECK(veil_stream_read(&c.s, got, 1) == VEIL_ETIMEOUT && veil_now() - t0 >= 0.15);
    close_side(&s);
    close_side(&c);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* In TLS 1.3 the client finishes its handshake before the server has checked
 * the client certificate, so a refused client learns it on its first read. */
static void client_sees_refusal(side *c)
{
    char b;
    if (c->rc == 0) {
        int rc = veil_stream_read(&c->s, &b, 1);
        CHECK(rc != 0);
        fprintf(stderr, "  refused client reads: %s\n", veil_last_error());
    }
}

static void test_allow_list(const char *srv_name, veil_tls_ctx *cli, veil_tls_ctx *other)
{
    char allow[600], text[1200];
    path_of(allow, sizeof allow, "allow.txt");
    snprintf(text, sizeof text, "# permitted clients\n  client.crt  \n%s # inline id\n",
             veil_tls_ctx_id(cli));
    write_file(allow, text);
    veil_tls_ctx *srv;
    CHECKF(veil_tls_ctx_new(srv_name, allow, &srv) == 0, "%s", veil_last_error());
    side s, c;
    pair(srv, cli, &s, &c);
    CHECKF(s.rc == 0 && c.rc == 0, "%s / %s", s.err, c.err);
    close_side(&s);
    close_side(&c);
    pair(srv, other, &s, &c);
    CHECK(s.rc == VEIL_EVERIFY && strstr(s.err, "allow-list"));
    client_sees_refusal(&c);
    close_side(&s);
    close_side(&c);
    veil_tls_ctx_free(srv);

    write_file(allow, "not-a-key\n");
    CHECK(veil_tls_ctx_new(srv_name, allow, &srv) == VEIL_EINVAL && strstr(veil_last_error(), ":1:"));
    write_file(allow, "# nobody\n");
    CHECK(veil_tls_ctx_new(srv_name, allow, &srv) == 0);
    pair(srv, cli, &s, &c);
    CHECK(s.rc != 0);
    client_sees_refusal(&c);
    close_side(&s);
    close_side(&c);
    veil_tls_ctx_free(srv);
}

/* A raw OpenSSL client configured by cfg(); the server must refuse it. */
static void raw_client_refused(veil_tls_ctx *srv, const char *what, int max_ver,
                               const char *suites, const char *certname)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    side s = {srv, sv[0], 0, {0}, ""};
    pthread_t th;
    pthread_create(&th, NULL, accept_thread, &s);
    SSL_CTX *cx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(cx, max_ver);
    if (suites) SSL_CTX_set_ciphersuites(cx, suites);
    if (certname) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s.crt", dir, certname);
        SSL_CTX_use_certificate_file(cx, p, SSL_FILETYPE_PEM);
        snprintf(p, sizeof p, "%s/%s.key", dir, certname);
        SSL_CTX_use_PrivateKey_file(cx, p, SSL_FILETYPE_PEM);
    }
    SSL *ssl = SSL_new(cx);
    SSL_set_fd(ssl, sv[1]);
    int ok = SSL_connect(ssl) == 1;
    /* TLS 1.3 client auth fails after the client's Finished: read to see it */
    char ch;
    if (ok) ok = SSL_read(ssl, &ch, 1) > 0 || 1;
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(th, NULL);
    CHECKF(s.rc != 0, "%s: server accepted", what);
    fprintf(stderr, "  refused %s: %s\n", what, s.err);
    if (s.rc == 0) veil_stream_close(&s.s);
    else close(sv[0]);
    SSL_free(ssl);
    SSL_CTX_free(cx);
    close(sv[1]);
    ERR_clear_error();
}

/* `openssl s_client -cert NAME.crt -key NAME.key -tls1_3` against our server. */
static void test_s_client(veil_tls_ctx *srv, veil_tls_ctx *cli)
{
    if (system("openssl version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  openssl CLI not found: s_client interop not tested\n");
        return;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0);
    getsockname(l, (struct sockaddr *)&a, &al);
    char cmd[2048], log[600];
    path_of(log, sizeof log, "s_client.log");
    snprintf(cmd, sizeof cmd,
             "openssl s_client -connect 127.0.0.1:%d -cert %s/client.crt -key %s/client.key "
             "-tls1_3 -brief </dev/null >%s 2>&1",
             ntohs(a.sin_port), dir, dir, log);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int fd = accept(l, NULL, NULL);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    veil_stream s;
    int rc = veil_tls_accept(srv, fd, &s);
    CHECKF(rc == 0, "s_client handshake: %s", veil_last_error());
    if (rc == 0) {
        CHECK(strcmp(s.ops->peer_id(s.impl), veil_tls_ctx_id(cli)) == 0);
        char b;
        CHECK(veil_stream_read(&s, &b, 1) == VEIL_ECLOSED); /* s_client quits on stdin EOF */
        veil_stream_close(&s);
    } else {
        close(fd);
    }
    int st;
    waitpid(pid, &st, 0);
    close(l);
    char text[4096] = "";
    FILE *f = fopen(log, "r");
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = '\0';
        fclose(f);
    }
    CHECKF(strstr(text, "TLSv1.3") != NULL, "s_client output: %s", text);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char srv_name[600], cli_name[600], oth_name[600], id[VEIL_PEER_ID_HEX], id2[VEIL_PEER_ID_HEX];
    path_of(srv_name, sizeof srv_name, "server");
    path_of(cli_name, sizeof cli_name, "client");
    path_of(oth_name, sizeof oth_name, "other");
    CHECK(veil_tls_keygen(srv_name, id) == 0);
    CHECK(veil_tls_keygen(cli_name, NULL) == 0);
    CHECK(veil_tls_keygen(oth_name, NULL) == 0);
    CHECK(veil_tls_keygen(srv_name, NULL) == VEIL_EINVAL); /* never overwrites */
    char crt[700];
    snprintf(crt, sizeof crt, "%s.crt", srv_name);
    CHECK(veil_tls_cert_id(crt, id2) == 0 && strcmp(id, id2) == 0);

    veil_tls_ctx *srv, *cli, *oth, *bad;
    CHECKF(veil_tls_ctx_new(srv_name, NULL, &srv) == 0, "%s", veil_last_error());
    CHECK(veil_tls_ctx_new(cli_name, NULL, &cli) == 0);
    CHECK(veil_tls_ctx_new(oth_name, NULL, &oth) == 0);
    CHECK(strcmp(veil_tls_ctx_id(srv), id) == 0);
    CHECK(veil_tls_ctx_new("/nonexistent/x", NULL, &bad) != 0 && bad == NULL);

    test_roundtrip(srv, cli);
    test_concurrent(srv, cli);
    test_allow_list(srv_name, cli, oth);
    raw_client_refused(srv, "client without certificate", TLS1_3_VERSION, NULL, NULL);
    raw_client_refused(srv, "TLS 1.2 client", TLS1_2_VERSION, NULL, "client");
    raw_client_refused(srv, "AES-128 only client", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256",
                       "client");
    test_s_client(srv, cli);

    veil_tls_ctx_free(srv);
    veil_tls_ctx_free(cli);
    veil_tls_ctx_free(oth);
    return test_done();
}
