/* The TLS transport: connections are wrapped by the mutually authenticated
 * TLS 1.3 handshake of veil/tls.h before any frame is exchanged. */
#include "veil/protocol.h"
#include "veil/tls.h"

static int tls_client(void *ctx, int fd, veil_stream *out) { return veil_tls_connect(ctx, fd, out); }
static int tls_server(void *ctx, int fd, veil_stream *out) { return veil_tls_accept(ctx, fd, out); }

void veil_transport_tls(struct veil_tls_ctx *ctx, veil_transport *out)
{
    *out = (veil_transport){ctx, tls_client, tls_server, "tls"};
}
