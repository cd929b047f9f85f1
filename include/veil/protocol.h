/* veil protocol: the wire format between clients and nodes, and the
 * transport factory every connection is made through.
 *
 * Every message is one frame: a 16-byte header then `length` payload bytes
 * (docs/PROTOCOL.md has the byte-by-byte layout of each message).
 *
 *   0  'V' 'L'            magic
 *   2  u8   version       VEIL_PROTO_VERSION
 *   3  u8   type          veil_msg_type
 *   4  u32  length        payload bytes (little-endian), <= the receiver's limit
 *   8  u64  session       0 for connection-level messages
 *
 * All integers and floats are little-endian. Decoders never trust a length:
 * every field is bounds-checked against the payload, trailing bytes are an
 * error, and strings must be printable ASCII. */
#ifndef VEIL_PROTOCOL_H
#define VEIL_PROTOCOL_H

#include "veil/model.h"
#include "veil/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_PROTO_VERSION 1
#define VEIL_FRAME_HDR 16
#define VEIL_PROTO_STR_MAX 255 /* names, hosts, error messages */
/* Default limit on one frame's payload (nodes take --max-frame). */
#define VEIL_DEFAULT_MAX_FRAME (64u << 20)
/* Weights are pushed in chunks of at most this many payload bytes. */
#define VEIL_WEIGHT_CHUNK (1u << 20)

typedef enum {
    VEIL_MSG_HELLO = 1,    /* c->n, n->n: role, name */
    VEIL_MSG_CAPS = 2,     /* n->c: capacity, limits, name */
    VEIL_MSG_LOAD = 3,     /* c->n: checkpoint hash, shape, layer range, shard hash */
    VEIL_MSG_NEED = 4,     /* n->c: send the weights (byte count) */
    VEIL_MSG_WEIGHTS = 5,  /* c->n: offset + chunk */
    VEIL_MSG_LOADED = 6,   /* n->c: shard handle */
    VEIL_MSG_OPEN = 7,     /* c->n: open a session on a shard, with its next hop */
    VEIL_MSG_OPENED = 8,   /* n->c: header session = the new session id */
    VEIL_MSG_FORWARD = 9,  /* hidden states into a session */
    VEIL_MSG_RESULT = 10,  /* hidden states out of the last shard of a chain */
    VEIL_MSG_CLOSE = 11,   /* c->n: end a session (no reply) */
    VEIL_MSG_ERROR = 12,   /* either way: code + message */
    VEIL_MSG_PING = 13,    /* heartbeat: nonce */
    VEIL_MSG_PONG = 14,
    VEIL_MSG_STATS_REQ = 15,
    VEIL_MSG_STATS = 16,
    VEIL_MSG_RELEASE = 17, /* c->n: drop this connection's hold on a shard handle */
    VEIL_MSG_ZK_FORWARD = 18, /* c->n: integer prefix for layers A:B (veil/critical.h) */
    VEIL_MSG_ZK_RESULT = 19,  /* n->c: output rows + zkDPS shard proof */
    VEIL_MSG_ZK_PROOF = 20,   /* n->c: the proof of an early ZK_RESULT */
    VEIL_MSG_FP_FORWARD = 21, /* FORWARD whose last hop answers FP_RESULT (--fingerprints) */
    VEIL_MSG_FP_RESULT = 22,  /* n->c: veil_fp encoding (168 bytes) of the chain's output */
    VEIL_MSG_AUDIT = 23,      /* c->n: keep this session's layer history for disputes */
    VEIL_MSG_LAYER_REQ = 24,  /* c->n: one layer's fingerprint or rows over a block */
    VEIL_MSG_LAYER_FP = 25,   /* n->c: veil_fp encoding of that layer's block */
    VEIL_MSG_LAYER_ROWS = 26, /* n->c: u32 pos, u32 T, the rows (FORWARD layout) */
    VEIL_MSG_ZK_LOAD = 27,    /* c->n: transformed integer weights of layers A:B (SVE + critical) */
    VEIL_MSG_ZK_LOADED = 28,  /* n->c: the upload's 32-byte id */
    VEIL_MSG_MAX = 28,
} veil_msg_type;

const char *veil_msg_name(int type);

typedef struct {
    uint8_t version, type;
    uint32_t length;
    uint64_t session;
} veil_frame_hdr;

/* Parse and check a header (magic, version, known type, length <= max_len). */
int veil_frame_hdr_decode(const uint8_t in[VEIL_FRAME_HDR], uint32_t max_len,
                          veil_frame_hdr *out);
void veil_frame_hdr_encode(const veil_frame_hdr *h, uint8_t out[VEIL_FRAME_HDR]);

/* A received frame; payload is malloc'ed (NULL when length is 0). */
typedef struct {
    veil_frame_hdr h;
    uint8_t *payload;
} veil_frame;

/* Read one frame (header then payload) of at most max_len payload bytes. */
int veil_frame_read(veil_stream *s, uint32_t max_len, veil_frame *out);
void veil_frame_free(veil_frame *f);
/* Write header + payload in one call. */
int veil_frame_write(veil_stream *s, int type, uint64_t session, const void *payload,
                     size_t len);
/* Best-effort ERROR frame (used right before closing a connection). */
void veil_frame_send_error(veil_stream *s, uint64_t session, int code, const char *msg);

/* ---- messages ----------------------------------------------------------- */

enum { VEIL_ROLE_CLIENT = 0, VEIL_ROLE_PEER = 1 };

typedef struct {
    uint16_t role;
    char name[VEIL_PROTO_STR_MAX + 1];
} veil_msg_hello;

typedef struct {
    uint32_t capacity_milli; /* relative speed x 1000 (scheduling weight) */
    uint32_t max_sessions, max_frame, threads;
    char name[VEIL_PROTO_STR_MAX + 1];
} veil_msg_caps;

#define VEIL_LOAD_MAY_USE_LOCAL 1u /* node may load from its --models dir */
typedef struct {
    uint8_t flags;
    veil_config cfg;
    int32_t first, last;
    uint8_t model_sha256[32]; /* the checkpoint file the layers come from */
    uint8_t shard_sha256[32]; /* of the layer floats [first,last) in wire order */
} veil_msg_load;

typedef struct {
    uint32_t handle;
    uint8_t source; /* 0 pushed, 1 node's own --models copy */
} veil_msg_loaded;

typedef struct {
    uint32_t handle, max_seq;
    uint64_t next_session;               /* when host is non-empty */
    uint16_t port;
    char host[VEIL_PROTO_STR_MAX + 1];   /* "" = results back on this connection */
} veil_msg_open;

typedef struct {
    int32_t code;
    char message[VEIL_PROTO_STR_MAX + 1];
} veil_msg_error;

typedef struct {
    uint64_t tokens, compute_ns, bytes_in, bytes_out;
    uint32_t sessions, shards;
} veil_msg_stats;

/* Encoders return the payload length written into out (sized by the caller:
 * VEIL_MSG_MAX_SMALL bytes suffice for every message but FORWARD/WEIGHTS). */
#define VEIL_MSG_MAX_SMALL 512
size_t veil_msg_hello_encode(const veil_msg_hello *m, uint8_t *out);
size_t veil_msg_caps_encode(const veil_msg_caps *m, uint8_t *out);
size_t veil_msg_load_encode(const veil_msg_load *m, uint8_t *out);
size_t veil_msg_loaded_encode(const veil_msg_loaded *m, uint8_t *out);
size_t veil_msg_open_encode(const veil_msg_open *m, uint8_t *out);
size_t veil_msg_error_encode(const veil_msg_error *m, uint8_t *out);
size_t veil_msg_stats_encode(const veil_msg_stats *m, uint8_t *out);
size_t veil_msg_u64_encode(uint64_t v, uint8_t *out); /* PING, PONG, NEED */
size_t veil_msg_u32_encode(uint32_t v, uint8_t *out); /* RELEASE */

int veil_msg_hello_decode(const uint8_t *p, size_t n, veil_msg_hello *m);
int veil_msg_caps_decode(const uint8_t *p, size_t n, veil_msg_caps *m);
int veil_msg_load_decode(const uint8_t *p, size_t n, veil_msg_load *m);
int veil_msg_loaded_decode(const uint8_t *p, size_t n, veil_msg_loaded *m);
int veil_msg_open_decode(const uint8_t *p, size_t n, veil_msg_open *m);
int veil_msg_error_decode(const uint8_t *p, size_t n, veil_msg_error *m);
int veil_msg_stats_decode(const uint8_t *p, size_t n, veil_msg_stats *m);
int veil_msg_u64_decode(const uint8_t *p, size_t n, uint64_t *v);
int veil_msg_u32_decode(const uint8_t *p, size_t n, uint32_t *v);

/* FORWARD/RESULT payload: u32 pos, u32 T, then T x dim float32.
 * Encoding writes the 8-byte prefix and the floats into out (8 + 4*T*dim). */
void veil_msg_hidden_encode(int pos, int T, int dim, const float *x, uint8_t *out);
/* Check the prefix and length against dim and max_seq; floats are copied
 * into x (T x dim, caller-sized for max_T rows). */
int veil_msg_hidden_decode(const uint8_t *p, size_t n, int dim, int max_seq, int max_T,
                           int *pos, int *T, float *x);

/* The same checks, but *x points at the floats inside p (no copy; p must
 * be 4-byte aligned, as malloc'ed frame payloads are). Hidden states are
 * processed in place in the frame buffer and sent on unchanged in size. */
int veil_msg_hidden_view(uint8_t *p, size_t n, int dim, int max_seq, int max_T, int *pos, int *T,
                         float **x);

/* WEIGHTS payload: u64 offset then bytes (borrowed pointer into p). */
int veil_msg_weights_decode(const uint8_t *p, size_t n, uint64_t *offset,
                            const uint8_t **data, size_t *len);

/* SHA-256 of layer floats as sent on the wire (little-endian float32). */
void veil_shard_hash(const float *floats, size_t n, uint8_t out[32]);

/* ---- transport ---------------------------------------------------------- *
 * Sockets are opened by src/net (dial/listen/accept); a transport turns a
 * connected fd into a veil_stream. The plain transport wraps the fd as is;
 * the TLS transport (veil_net_transport_tls) performs the mutually
 * authenticated TLS 1.3 handshake of veil/tls.h first. Protocol code only
 * ever sees the veil_stream. */
typedef struct veil_transport {
    void *ctx;
    /* On success the stream owns fd; on failure the caller closes fd. */
    int (*wrap_client)(void *ctx, int fd, veil_stream *out);
    int (*wrap_server)(void *ctx, int fd, veil_stream *out);
    const char *kind; /* "plain", "tls" */
} veil_transport;

/* The plaintext transport (behind --insecure). */
const veil_transport *veil_transport_plain(void);
/* The TLS transport over a veil/tls.h context (which must outlive it). */
struct veil_tls_ctx;
void veil_transport_tls(struct veil_tls_ctx *ctx, veil_transport *out);

/* "HOST:PORT" (HOST may be a name, an IPv4 address or [IPv6]). */
int veil_parse_hostport(const char *s, char *host, size_t host_cap, int *port);
/* Connect (TCP, no Nagle, timeout_ms for connect and each later read/write,
 * 0 = none) and wrap through transport. */
int veil_dial(const veil_transport *t, const char *host, int port, int timeout_ms,
              veil_stream *out);
/* Listening TCP socket: returns its fd (>= 0) or a negative error;
 * *port_out receives the bound port (useful with port 0). */
int veil_listen(const char *host, int port, int backlog, int *port_out);
/* Socket read/write timeout in milliseconds (0 = none). */
int veil_set_timeout(int fd, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
