/* Mutually authenticated TLS 1.3 streams (OpenSSL 3) with Ed25519 identities. */
#include "veil/tls.h"

#include "tee_internal.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TLS_SUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define EXPORTER_LABEL "EXPORTER-Channel-Binding"
#define ALLOW_MAX 4096

struct veil_tls_ctx {
    SSL_CTX *ssl;
    char id[VEIL_PEER_ID_HEX];
    int allow_on;
    size_t nallow;
    uint8_t (*allow)[32];
};

typedef struct {
    SSL *ssl;
    veil_tls_ctx *ctx;
    /* One reader and several writers may use a stream at once (the node
     * writes RESULTs from other threads while its reader waits); OpenSSL
     * objects are not safe for that, so every SSL call runs under mu and
     * waiting for the socket happens outside it (see ssl_call). */
    pthread_mutex_t mu;
    int fd, server;
    char peer[VEIL_PEER_ID_HEX];
    char reason[160]; /* why the verify callback refused the peer */
} tls_conn;

/* ---- socket BIO: send(MSG_NOSIGNAL) so a dead peer never raises SIGPIPE;
 * MSG_DONTWAIT so an SSL call never blocks while holding the stream lock
 * (the descriptor itself stays blocking for its owner) ---- */

static int nosig_write(BIO *b, const char *buf, int n)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t w;
    do w = send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
    return (int)w;
}

static int nosig_read(BIO *b, char *buf, int n)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t r;
    do r = recv(fd, buf, (size_t)n, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    return (int)r;
}

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int nosig_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *nosig_meth;

static void nosig_init(void)
{
    BIO_METHOD *t = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "veil-socket");
    if (t && BIO_meth_set_write(t, nosig_write) && BIO_meth_set_read(t, nosig_read) &&
        BIO_meth_set_ctrl(t, nosig_ctrl) && BIO_meth_set_create(t, nosig_create))
        nosig_meth = t;
    else
        BIO_meth_free(t);
}

static BIO_METHOD *nosig_method(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, nosig_init);
    return nosig_meth;
}

/* ---- identities ---- */

static int cert_id_hex(X509 *x, char hex[VEIL_PEER_ID_HEX])
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk) return veil_fail(VEIL_EINVAL, "certificate has no usable public key");
    return tee_key_id(pk, hex);
}

int veil_tls_cert_id(const char *crt_path, char id_hex[VEIL_PEER_ID_HEX])
{
    X509 *x = tee_read_cert(crt_path);
    if (!x) return VEIL_EINVAL;
    int rc = cert_id_hex(x, id_hex);
    X509_free(x);
    return rc;
}

int veil_tls_keygen(const char *name, char id_hex[VEIL_PEER_ID_HEX])
{
    char kp[PATH_MAX], cp[PATH_MAX], hex[VEIL_PEER_ID_HEX];
    if (snprintf(kp, sizeof kp, "%s.key", name) >= (int)sizeof kp ||
        snprintf(cp, sizeof cp, "%s.crt", name) >= (int)sizeof cp)
        return veil_fail(VEIL_EINVAL, "identity name too long");
    if (access(kp, F_OK) == 0 || access(cp, F_OK) == 0)
        return veil_fail(VEIL_EINVAL, "%s or %s already exists; not overwriting", kp, cp);
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pk) return tee_ossl_fail(VEIL_EINVAL, "Ed25519 key generation failed");
    X509 *x = tee_make_cert(pk, NULL, "veil node", NULL, pk, -1, NULL);
    int rc = x ? cert_id_hex(x, hex) : VEIL_EINVAL;
    if (!rc) rc = tee_write_pem(kp, pk, NULL);
    if (!rc) rc = tee_write_pem(cp, NULL, x);
    if (!rc && id_hex) memcpy(id_hex, hex, sizeof hex);
    EVP_PKEY_free(pk);
    X509_free(x);
    return rc;
}

/* ---- allow-list ---- */

static int allow_add(veil_tls_ctx *c, const uint8_t id[32])
{
    if (c->nallow >= ALLOW_MAX) return veil_fail(VEIL_ERANGE, "allow-list longer than %d", ALLOW_MAX);
    void *p = realloc(c->allow, (c->nallow + 1) * sizeof *c->allow);
    if (!p) return veil_fail(VEIL_ENOMEM, "out of memory");
    c->allow = p;
    memcpy(c->allow[c->nallow++], id, 32);
    c->allow_on = 1;
    return 0;
}

int veil_tls_ctx_allow(veil_tls_ctx *c, const char *id_hex)
{
    uint8_t id[32];
    if (strlen(id_hex) != 64 || veil_unhex(id_hex, id, 32))
        return veil_fail(VEIL_EINVAL, "peer id must be 64 hex digits, got '%.80s'", id_hex);
    return allow_add(c, id);
}

/* One allow-file entry: a peer_id in hex or a certificate path. */
static int allow_entry(veil_tls_ctx *c, const char *file, int line, char *s)
{
    uint8_t id[32];
    if (strlen(s) == 64 && veil_unhex(s, id, 32) == 0) return allow_add(c, id);
    char path[PATH_MAX];
    const char *slash = strrchr(file, '/');
    int k = s[0] != '/' && slash
                ? snprintf(path, sizeof path, "%.*s/%s", (int)(slash - file), file, s)
                : snprintf(path, sizeof path, "%s", s);
    if (k < 0 || k >= (int)sizeof path) return veil_fail(VEIL_EINVAL, "%s:%d: path too long", file, line);
    char hex[VEIL_PEER_ID_HEX];
    if (veil_tls_cert_id(path, hex))
        return veil_fail(VEIL_EINVAL, "%s:%d: neither a 64-hex peer id nor a readable certificate (%s)",
                         file, line, veil_last_error());
    veil_unhex(hex, id, 32);
    return allow_add(c, id);
}

static int load_allow(veil_tls_ctx *c, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) return veil_fail(VEIL_EIO, "cannot open allow-list %s: %s", file, strerror(errno));
    char buf[PATH_MAX + 2];
    int line = 0, rc = 0;
    c->allow_on = 1; /* an empty allow-list admits nobody */
    while (!rc && fgets(buf, sizeof buf, f)) {
        line++;
        char *s = buf, *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        while (*s == ' ' || *s == '\t') s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (n) rc = allow_entry(c, file, line, s);
    }
    fclose(f);
    return rc;
}

static int allowed(const veil_tls_ctx *c, const uint8_t id[32])
{
    if (!c->allow_on) return 1;
    for (size_t i = 0; i < c->nallow; i++)
        if (veil_ct_equal(c->allow[i], id, 32)) return 1;
    return 0;
}

/* ---- context ---- */

/* Certificates are self-signed: chain errors are expected and ignored. What
 * matters is the leaf key: Ed25519, and on the allow-list when there is one. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_conn *tc = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!tc) return 0;
    if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
    X509 *leaf = X509_STORE_CTX_get_current_cert(store);
    EVP_PKEY *pk = leaf ? X509_get0_pubkey(leaf) : NULL;
    uint8_t id[32];
    if (!pk || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
        snprintf(tc->reason, sizeof tc->reason, "peer certificate key is not Ed25519");
        return 0;
    }
    if (tee_key_hash(pk, id)) return 0;
    veil_hex(id, 32, tc->peer);
    if (!allowed(tc->ctx, id)) {
        snprintf(tc->reason, sizeof tc->reason, "peer key %.16s... is not in the allow-list",
                 tc->peer);
        return 0;
    }
    return 1;
}

static int load_identity(SSL_CTX *s, const char *name, char id[VEIL_PEER_ID_HEX])
{
    char kp[PATH_MAX], cp[PATH_MAX];
    if (snprintf(kp, sizeof kp, "%s.key", name) >= (int)sizeof kp ||
        snprintf(cp, sizeof cp, "%s.crt", name) >= (int)sizeof cp)
        return veil_fail(VEIL_EINVAL, "identity name too long");
    if (SSL_CTX_use_certificate_file(s, cp, SSL_FILETYPE_PEM) != 1)
        return tee_ossl_fail(VEIL_EINVAL, cp);
    if (SSL_CTX_use_PrivateKey_file(s, kp, SSL_FILETYPE_PEM) != 1)
        return tee_ossl_fail(VEIL_EINVAL, kp);
    if (SSL_CTX_check_private_key(s) != 1)
        return tee_ossl_fail(VEIL_EINVAL, "private key does not match certificate");
    EVP_PKEY *pk = SSL_CTX_get0_privatekey(s);
    if (!pk || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519)
        return veil_fail(VEIL_EINVAL, "%s is not an Ed25519 key (use veil keygen)", kp);
    return cert_id_hex(SSL_CTX_get0_certificate(s), id);
}

int veil_tls_ctx_new(const char *name, const char *allow_file, veil_tls_ctx **out)
{
    *out = NULL;
    veil_tls_ctx *c = calloc(1, sizeof *c);
    if (!c) return veil_fail(VEIL_ENOMEM, "out of memory");
    int rc = 0;
    SSL_CTX *s = c->ssl = SSL_CTX_new(TLS_method());
    if (!s || !SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(s, TLS_SUITES) || !SSL_CTX_set1_sigalgs_list(s, "ed25519") ||
        !nosig_method())
        rc = tee_ossl_fail(VEIL_EINVAL, "cannot configure TLS 1.3");
    if (!rc) {
        /* no session tickets/resumption: every connection is a full,
         * certificate-authenticated handshake with its own exporter */
        SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(s, 0);
        SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
        rc = load_identity(s, name, c->id);
    }
    if (!rc && allow_file) rc = load_allow(c, allow_file);
    if (rc) {
        veil_tls_ctx_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void veil_tls_ctx_free(veil_tls_ctx *c)
{
    if (!c) return;
    SSL_CTX_free(c->ssl);
    free(c->allow);
    free(c);
}

const char *veil_tls_ctx_id(const veil_tls_ctx *c) { return c->id; }

/* ---- stream ---- */

/* A failed SSL call (not WANT_*) as a veil error. */
static int map_error(int e, int saved_errno, const char *what)
{
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return veil_fail(VEIL_ECLOSED, "peer closed the connection");
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        ERR_clear_error();
        return saved_errno ? veil_fail(VEIL_EIO, "%s failed: %s", what, strerror(saved_errno))
                           : veil_fail(VEIL_ECLOSED, "peer closed the connection");
    }
    if (ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
        ERR_GET_REASON(ERR_peek_error()) >= SSL_AD_REASON_OFFSET)
        return tee_ossl_fail(VEIL_EPROTO, "peer refused the connection (TLS alert)");
    return tee_ossl_fail(VEIL_EPROTO, what);
}

/* Wait until fd is readable/writable, for at most the socket's own
 * SO_RCVTIMEO/SO_SNDTIMEO (none = forever). */
static int wait_fd(int fd, short ev)
{
    struct timeval tv = {0, 0};
    socklen_t tl = sizeof tv;
    getsockopt(fd, SOL_SOCKET, ev == POLLIN ? SO_RCVTIMEO : SO_SNDTIMEO, &tv, &tl);
    int ms = tv.tv_sec || tv.tv_usec ? (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000) : -1;
    struct pollfd pf = {fd, ev, 0};
    int r;
    do r = poll(&pf, 1, ms < 0 || ms > 0 ? ms : 1);
    while (r < 0 && errno == EINTR);
    if (r == 0) return veil_fail(VEIL_ETIMEOUT, "peer did not answer in time");
    if (r < 0) return veil_fail(VEIL_EIO, "poll failed: %s", strerror(errno));
    return 0; /* readable, writable, or hung up: the next SSL call finds out */
}

enum { OP_READ, OP_WRITE, OP_HANDSHAKE };

/* One SSL operation: the call under the lock, the waiting outside it. */
static int ssl_call(tls_conn *tc, int op, void *buf, size_t n, size_t *done, const char *what)
{
    for (;;) {
        pthread_mutex_lock(&tc->mu);
        ERR_clear_error();
        errno = 0;
        int ret = op == OP_READ    ? SSL_read_ex(tc->ssl, buf, n, done)
                  : op == OP_WRITE ? SSL_write_ex(tc->ssl, buf, n, done)
                  : tc->server     ? SSL_accept(tc->ssl)
                                   : SSL_connect(tc->ssl);
        int saved = errno;
        int e = ret > 0 ? SSL_ERROR_NONE : SSL_get_error(tc->ssl, ret);
        int rc = e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE
                     ? 0
                     : map_error(e, saved, what);
        pthread_mutex_unlock(&tc->mu);
        if (e == SSL_ERROR_NONE || rc) return rc;
        ERR_clear_error();
        if ((rc = wait_fd(tc->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT))) return rc;
    }
}

static int tls_write(void *impl, const void *buf, size_t n)
{
    tls_conn *tc = impl;
    const uint8_t *p = buf;
    while (n) {
        size_t w = 0;
        int rc = ssl_call(tc, OP_WRITE, (void *)p, n, &w, "TLS write");
        if (rc) return rc;
        p += w;
        n -= w;
    }
    return 0;
}

static int tls_read(void *impl, void *buf, size_t n)
{
    tls_conn *tc = impl;
    uint8_t *p = buf;
    size_t got = 0;
    while (got < n) {
        size_t r = 0;
        int rc = ssl_call(tc, OP_READ, p + got, n - got, &r, "TLS read");
        if (rc == VEIL_ECLOSED && got)
            return veil_fail(VEIL_EPROTO, "peer closed mid-message (%zu of %zu bytes)", got, n);
        if (rc) return rc;
        got += r;
    }
    return 0;
}

static int tls_binding(void *impl, uint8_t out[32])
{
    tls_conn *tc = impl;
    pthread_mutex_lock(&tc->mu);
    int ok = SSL_export_keying_material(tc->ssl, out, 32, EXPORTER_LABEL, strlen(EXPORTER_LABEL),
                                        NULL, 0, 0) == 1;
    pthread_mutex_unlock(&tc->mu);
    return ok ? 0 : tee_ossl_fail(VEIL_EPROTO, "tls-exporter failed");
}

static const char *tls_peer(void *impl) { return ((tls_conn *)impl)->peer; }

static void tls_free(void *impl)
{
    tls_conn *tc = impl;
    if (!tc) return;
    if (tc->ssl) {
        /* best-effort close_notify (non-blocking BIO: never waits) */
        if (SSL_is_init_finished(tc->ssl)) SSL_shutdown(tc->ssl);
        SSL_free(tc->ssl);
    }
    ERR_clear_error();
    pthread_mutex_destroy(&tc->mu);
    free(tc);
}

static const veil_stream_ops tls_ops = {tls_write, tls_read, tls_binding, tls_peer, tls_free, "tls"};

static int handshake(veil_tls_ctx *c, int fd, int server, veil_stream *out)
{
    *out = (veil_stream){NULL, NULL, -1};
    tls_conn *tc = calloc(1, sizeof *tc);
    BIO *b = NULL;
    if (!tc) return veil_fail(VEIL_ENOMEM, "out of memory");
    tc->ctx = c;
    tc->fd = fd;
    tc->server = server;
    pthread_mutex_init(&tc->mu, NULL);
    tc->ssl = SSL_new(c->ssl);
    if (tc->ssl) b = BIO_new(nosig_method());
    if (!b) {
        tls_free(tc);
        return tee_ossl_fail(VEIL_ENOMEM, "cannot create TLS connection");
    }
    BIO_set_data(b, (void *)(intptr_t)fd);
    SSL_set_bio(tc->ssl, b, b);
    SSL_set_app_data(tc->ssl, tc);
    int rc = ssl_call(tc, OP_HANDSHAKE, NULL, 0, NULL, "TLS handshake");
    if (rc) {
        if (tc->reason[0]) rc = veil_fail(VEIL_EVERIFY, "TLS handshake refused: %s", tc->reason);
        else if (rc == VEIL_ECLOSED)
            rc = veil_fail(VEIL_EPROTO, "TLS handshake: peer closed the connection (it may have "
                                        "refused us)");
        SSL_free(tc->ssl); /* no close_notify for a failed handshake */
        tc->ssl = NULL;
        tls_free(tc);
        return rc;
    }
    /* SSL_VERIFY_FAIL_IF_NO_PEER_CERT covers the server; a client must also
     * insist that the server authenticated with a certificate. */
    if (!tc->peer[0]) {
        tls_free(tc);
        return veil_fail(VEIL_EVERIFY, "peer presented no certificate");
    }
    *out = (veil_stream){&tls_ops, tc, fd};
    return 0;
}

int veil_tls_accept(veil_tls_ctx *c, int fd, veil_stream *out) { return handshake(c, fd, 1, out); }
int veil_tls_connect(veil_tls_ctx *c, int fd, veil_stream *out) { return handshake(c, fd, 0, out); }

const char *veil_tls_cipher(const veil_stream *s)
{
    if (!s->ops || s->ops != &tls_ops) return "";
    return SSL_get_cipher_name(((tls_conn *)s->impl)->ssl);
}

const char *veil_tls_version(const veil_stream *s)
{
    if (!s->ops || s->ops != &tls_ops) return "";
    return SSL_get_version(((tls_conn *)s->impl)->ssl);
}
