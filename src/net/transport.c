/* Sockets and the transport factory: every connection veil makes or accepts
 * is a TCP socket handed to a veil_transport, which returns the veil_stream
 * the protocol code uses (plain here; TLS in transport_tls.c). */
#include "veil/protocol.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <fcntl.h>

static int plain_wrap(void *ctx, int fd, veil_stream *out)
{
    (void)ctx;
    return veil_stream_plain(fd, out);
}

static const veil_transport plain_transport = {NULL, plain_wrap, plain_wrap, "plain"};

const veil_transport *veil_transport_plain(void) { return &plain_transport; }

int veil_parse_hostport(const char *s, char *host, size_t host_cap, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return veil_fail(VEIL_EINVAL, "'%s' is not HOST:PORT", s);
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (h[0] == '[') { /* [v6]:port */
        if (hl < 2 || h[hl - 1] != ']') return veil_fail(VEIL_EINVAL, "'%s' is not [HOST]:PORT", s);
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= host_cap || hl > VEIL_PROTO_STR_MAX)
        return veil_fail(VEIL_EINVAL, "bad host in '%s'", s);
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return veil_fail(VEIL_EINVAL, "bad port in '%s'", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int veil_set_timeout(int fd, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv))
        return veil_fail(VEIL_EIO, "setsockopt timeout: %s", strerror(errno));
    return 0;
}

/* Non-blocking connect bounded by timeout_ms, then back to blocking. */
static int connect_timed(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = connect(fd, sa, len);
    if (rc && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int r;
        do r = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
        while (r < 0 && errno == EINTR);
        int err = 0;
        socklen_t el = sizeof err;
        if (r == 0) err = ETIMEDOUT;
        else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el)) err = errno;
        rc = err ? -1 : 0;
        errno = err;
    }
    fcntl(fd, F_SETFL, fl);
    return rc;
}

/* TCP addresses of host:port (flags: AI_PASSIVE to listen); free with freeaddrinfo. */
static int resolve(const char *host, int port, int flags, struct addrinfo **ai)
{
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int g = getaddrinfo(host, ps, &hints, ai);
    if (g) return veil_fail(VEIL_EIO, "cannot resolve %s: %s", host, gai_strerror(g));
    return 0;
}

int veil_dial(const veil_transport *t, const char *host, int port, int timeout_ms,
              veil_stream *out)
{
    struct addrinfo *ai = NULL;
    int g = resolve(host, port, 0, &ai);
    if (g) return g;
    int fd = -1, err = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect_timed(fd, a->ai_addr, a->ai_addrlen, timeout_ms) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) return veil_fail(VEIL_EIO, "cannot connect to %s:%d: %s", host, port, strerror(err));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = veil_set_timeout(fd, timeout_ms);
    if (!rc) rc = t->wrap_client(t->ctx, fd, out);
    if (rc) close(fd);
    return rc;
}

int veil_listen(const char *host, int port, int backlog, int *port_out)
{
    struct addrinfo *ai = NULL;
    int g = resolve(host, port, AI_PASSIVE, &ai);
    if (g) return g;
    int fd = -1, err = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, backlog)) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) return veil_fail(VEIL_EIO, "cannot listen on %s:%d: %s", host, port, strerror(err));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}
