/* veil TLS: mutually authenticated TLS 1.3 channels over connected sockets.
 *
 * Identities are long-term Ed25519 keys with self-signed certificates (PEM):
 * NAME.key and NAME.crt, written by veil_tls_keygen (`veil keygen -o NAME`).
 * A peer is identified by peer_id = hex SHA-256 of its DER SubjectPublicKeyInfo,
 * reproducible with
 *   openssl x509 -in NAME.crt -pubkey -noout | openssl pkey -pubin -outform DER \
 *     | sha256sum
 * Both sides present a certificate (mutual authentication); the protocol is
 * TLS 1.3 only, with exactly TLS_AES_256_GCM_SHA384 and
 * TLS_CHACHA20_POLY1305_SHA256. Certificates are not chained to a CA: the TLS
 * handshake proves possession of the private key, and who may connect is
 * decided by the optional allow-list (and, in --security tee mode, by remote
 * attestation bound to the channel through veil_stream's binding()).
 *
 * Nothing here opens sockets: the caller connects/accepts and hands the fd
 * over. The resulting veil_stream owns the fd (veil_stream_close closes it);
 * socket timeouts (SO_RCVTIMEO/SO_SNDTIMEO) set by the caller are honoured and
 * reported as VEIL_ETIMEOUT. Writes never raise SIGPIPE. */
#ifndef VEIL_TLS_H
#define VEIL_TLS_H

#include "veil/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_PEER_ID_HEX 65 /* 64 hex digits + NUL */

/* Generate an Ed25519 identity: writes NAME.key (PKCS#8 PEM, mode 0600) and a
 * self-signed NAME.crt (X.509 PEM, CN=veil node, 10 years). Refuses to
 * overwrite existing files. id_hex (may be NULL) receives the peer_id. */
int veil_tls_keygen(const char *name, char id_hex[VEIL_PEER_ID_HEX]);

/* peer_id of the public key in a PEM certificate file. */
int veil_tls_cert_id(const char *crt_path, char id_hex[VEIL_PEER_ID_HEX]);

typedef struct veil_tls_ctx veil_tls_ctx;

/* A context holding identity NAME (loads NAME.key and NAME.crt; the key must
 * be Ed25519 and match the certificate). allow_file may be NULL: then any
 * authenticated peer is accepted. Otherwise it lists permitted peer keys, one
 * per line, as a 64-hex-digit peer_id or as the path of a PEM certificate
 * (relative paths are taken relative to the allow file); '#' starts a comment.
 * The same context serves veil_tls_accept and veil_tls_connect. */
int veil_tls_ctx_new(const char *name, const char *allow_file, veil_tls_ctx **out);
void veil_tls_ctx_free(veil_tls_ctx *ctx);
/* This context's own peer_id (what peers see). */
const char *veil_tls_ctx_id(const veil_tls_ctx *ctx);
/* Add one permitted peer_id (enables allow-list checking if it was off). */
int veil_tls_ctx_allow(veil_tls_ctx *ctx, const char *id_hex);

/* Handshake as server / client on a connected socket fd. On success *out is a
 * stream of kind "tls" that owns fd: peer_id() is the peer's key hash and
 * binding() the RFC 9266 tls-exporter value (label
 * "EXPORTER-Channel-Binding", empty context, 32 bytes). On failure fd is left
 * open (the caller closes it) and the reason names the cause (no client
 * certificate, peer not in the allow-list, protocol/cipher mismatch, ...). */
int veil_tls_accept(veil_tls_ctx *ctx, int fd, veil_stream *out);
int veil_tls_connect(veil_tls_ctx *ctx, int fd, veil_stream *out);

/* Negotiated protocol and cipher of a TLS stream (for logs and tests);
 * "" for other streams. */
const char *veil_tls_cipher(const veil_stream *s);
const char *veil_tls_version(const veil_stream *s);

#ifdef __cplusplus
}
#endif
#endif
