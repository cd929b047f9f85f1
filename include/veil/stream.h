/* veil stream: the one interface every connection goes through.
 *
 * The wire protocol (src/net) reads and writes frames on a veil_stream and
 * never knows whether bytes travel in the clear or inside attested TLS 1.3
 * (src/tee). A plain stream wraps a socket fd; a TLS stream wraps the same fd
 * after a handshake. Both are blocking; timeouts are socket options set by the
 * owner of the fd. */
#ifndef VEIL_STREAM_H
#define VEIL_STREAM_H

#include "veil/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct veil_stream_ops {
    /* Write all n bytes, or fail. */
    int (*write_all)(void *impl, const void *buf, size_t n);
    /* Read exactly n bytes, or fail (VEIL_ECLOSED on orderly EOF at a frame
     * boundary, VEIL_ETIMEOUT when the socket timeout expires). */
    int (*read_full)(void *impl, void *buf, size_t n);
    /* RFC 9266 tls-exporter channel binding (32 bytes); plain streams fail. */
    int (*binding)(void *impl, uint8_t out[32]);
    /* Peer's authenticated identity (e.g. SHA-256 of its public key, hex), or
     * NULL when the stream is not authenticated. */
    const char *(*peer_id)(void *impl);
    /* Release the impl (does not close the fd: the owner does). */
    void (*free)(void *impl);
    const char *kind; /* "plain" or "tls" */
} veil_stream_ops;

typedef struct {
    const veil_stream_ops *ops;
    void *impl;
    int fd;
} veil_stream;

/* A plaintext stream over a connected socket fd. */
int veil_stream_plain(int fd, veil_stream *out);
/* Free the impl and close the fd. Safe on a zeroed stream. */
void veil_stream_close(veil_stream *s);

static inline int veil_stream_write(veil_stream *s, const void *b, size_t n)
{
    return s->ops->write_all(s->impl, b, n);
}
static inline int veil_stream_read(veil_stream *s, void *b, size_t n)
{
    return s->ops->read_full(s->impl, b, n);
}

#ifdef __cplusplus
}
#endif
#endif
