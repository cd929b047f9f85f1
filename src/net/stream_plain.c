/* Plaintext stream over a socket (only behind --insecure). */
#include "veil/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int plain_write(void *impl, const void *buf, size_t n)
{
    int fd = (int)(intptr_t)impl;
    const uint8_t *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return veil_fail(VEIL_ETIMEOUT, "send timed out");
        if (w <= 0) return veil_fail(VEIL_EIO, "send failed: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int plain_read(void *impl, void *buf, size_t n)
{
    int fd = (int)(intptr_t)impl;
    uint8_t *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return veil_fail(VEIL_ETIMEOUT, "peer did not answer in time");
        if (r < 0) return veil_fail(VEIL_EIO, "recv failed: %s", strerror(errno));
        if (r == 0)
            return got ? veil_fail(VEIL_EPROTO, "peer closed mid-message (%zu of %zu bytes)",
                                   got, n)
                       : veil_fail(VEIL_ECLOSED, "peer closed the connection");
        got += (size_t)r;
    }
    return 0;
}

static int plain_binding(void *impl, uint8_t out[32])
{
    return veil_fail(VEIL_EINVAL, "a plaintext stream has no channel binding");
}

static const char *plain_peer(void *impl) { return NULL; }
static void plain_free(void *impl) {}

static const veil_stream_ops plain_ops = {plain_write, plain_read, plain_binding,
                                          plain_peer,  plain_free, "plain"};

int veil_stream_plain(int fd, veil_stream *out)
{
    *out = (veil_stream){&plain_ops, (void *)(intptr_t)fd, fd};
    return 0;
}

void veil_stream_close(veil_stream *s)
{
    if (s->ops) s->ops->free(s->impl);
    if (s->fd >= 0 && s->ops) close(s->fd);
    *s = (veil_stream){NULL, NULL, -1};
}
