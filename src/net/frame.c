/* Frames and message codecs of the veil wire protocol (docs/PROTOCOL.md).
 * Every decoder is written for hostile input: a cursor that refuses to move
 * past the end, exact-length payloads, printable strings only. */
#include "veil/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- little-endian cursor ---------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t n, off;
    int bad; /* set once any read overran */
} rd;

static const uint8_t *rd_take(rd *r, size_t k)
{
    if (r->bad || k > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += k;
    return q;
}

static uint64_t rd_le(rd *r, int bytes)
{
    const uint8_t *q = rd_take(r, (size_t)bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; q && i >= 0; i--) v = v << 8 | q[i];
    return v;
}

/* u8 length + printable ASCII bytes into a NUL-terminated buffer. */
static void rd_str(rd *r, char out[VEIL_PROTO_STR_MAX + 1])
{
    size_t len = (size_t)rd_le(r, 1);
    const uint8_t *q = rd_take(r, len);
    out[0] = '\0';
    if (!q) return;
    for (size_t i = 0; i < len; i++)
        if (q[i] < 0x20 || q[i] > 0x7e) r->bad = 1;
    memcpy(out, q, len);
    out[len] = '\0';
}

static int rd_end(const rd *r, const char *what)
{
    if (r->bad) return veil_fail(VEIL_EPROTO, "truncated or malformed %s message", what);
    if (r->off != r->n)
        return veil_fail(VEIL_EPROTO, "%zu trailing bytes after %s message", r->n - r->off, what);
    return 0;
}

static uint8_t *wr_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8) p[i] = (uint8_t)v;
    return p + bytes;
}

/* Strings longer than VEIL_PROTO_STR_MAX are cut (names and messages only). */
static uint8_t *wr_str(uint8_t *p, const char *s)
{
    size_t len = strnlen(s, VEIL_PROTO_STR_MAX);
    *p++ = (uint8_t)len;
    memcpy(p, s, len);
    return p + len;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- header and frame I/O ------------------------------------------------ */

static const char *const msg_names[] = {
    "?",      "HELLO",  "CAPS",    "LOAD",   "NEED",  "WEIGHTS", "LOADED",    "OPEN",  "OPENED",
    "FORWARD", "RESULT", "CLOSE", "ERROR", "PING", "PONG",    "STATS_REQ", "STATS",  "RELEASE",
    "ZK_FORWARD", "ZK_RESULT", "ZK_PROOF", "FP_FORWARD", "FP_RESULT",
    "AUDIT", "LAYER_REQ", "LAYER_FP", "LAYER_ROWS", "ZK_LOAD", "ZK_LOADED",
};

const char *veil_msg_name(int type)
{
    return type >= 1 && type <= VEIL_MSG_MAX ? msg_names[type] : "?";
}

void veil_frame_hdr_encode(const veil_frame_hdr *h, uint8_t out[VEIL_FRAME_HDR])
{
    out[0] = 'V';
    out[1] = 'L';
    out[2] = h->version ? h->version : VEIL_PROTO_VERSION;
    out[3] = h->type;
    wr_le(out + 4, h->length, 4);
    wr_le(out + 8, h->session, 8);
}

int veil_frame_hdr_decode(const uint8_t in[VEIL_FRAME_HDR], uint32_t max_len,
                          veil_frame_hdr *out)
{
    rd r = {in, VEIL_FRAME_HDR, 0, 0};
    if (in[0] != 'V' || in[1] != 'L') return veil_fail(VEIL_EPROTO, "bad frame magic");
    r.off = 2;
    out->version = (uint8_t)rd_le(&r, 1);
    out->type = (uint8_t)rd_le(&r, 1);
    out->length = (uint32_t)rd_le(&r, 4);
    out->session = rd_le(&r, 8);
    if (out->version != VEIL_PROTO_VERSION)
        return veil_fail(VEIL_EPROTO, "protocol version %u, expected %u", out->version,
                         VEIL_PROTO_VERSION);
    if (out->type < 1 || out->type > VEIL_MSG_MAX)
        return veil_fail(VEIL_EPROTO, "unknown message type %u", out->type);
    if (out->length > max_len)
        return veil_fail(VEIL_ERANGE, "%s frame of %u bytes exceeds the %u-byte limit",
                         veil_msg_name(out->type), out->length, max_len);
    return 0;
}

int veil_frame_read(veil_stream *s, uint32_t max_len, veil_frame *out)
{
    uint8_t hdr[VEIL_FRAME_HDR];
    memset(out, 0, sizeof *out);
    int rc = veil_stream_read(s, hdr, sizeof hdr);
    if (rc) return rc;
    if ((rc = veil_frame_hdr_decode(hdr, max_len, &out->h))) return rc;
    if (!out->h.length) return 0;
    out->payload = malloc(out->h.length);
    if (!out->payload) return veil_fail(VEIL_ENOMEM, "out of memory for a %u-byte frame", out->h.length);
    rc = veil_stream_read(s, out->payload, out->h.length);
    if (rc == VEIL_ECLOSED) rc = veil_fail(VEIL_EPROTO, "peer closed inside a frame");
    if (rc) veil_frame_free(out);
    return rc;
}

void veil_frame_free(veil_frame *f)
{
    free(f->payload);
    f->payload = NULL;
}

int veil_frame_write(veil_stream *s, int type, uint64_t session, const void *payload, size_t len)
{
    if (len > UINT32_MAX) return veil_fail(VEIL_ERANGE, "frame payload too large");
    veil_frame_hdr h = {VEIL_PROTO_VERSION, (uint8_t)type, (uint32_t)len, session};
    uint8_t hdr[VEIL_FRAME_HDR];
    veil_frame_hdr_encode(&h, hdr);
    /* small frames go out in one write (one TCP segment with TCP_NODELAY) */
    if (len <= 4096) {
        uint8_t buf[VEIL_FRAME_HDR + 4096];
        memcpy(buf, hdr, sizeof hdr);
        if (len) memcpy(buf + VEIL_FRAME_HDR, payload, len);
        return veil_stream_write(s, buf, VEIL_FRAME_HDR + len);
    }
    int rc = veil_stream_write(s, hdr, sizeof hdr);
    return rc ? rc : veil_stream_write(s, payload, len);
}

void veil_frame_send_error(veil_stream *s, uint64_t session, int code, const char *msg)
{
    veil_msg_error e = {code, ""};
    snprintf(e.message, sizeof e.message, "%s", msg);
    uint8_t buf[VEIL_MSG_MAX_SMALL];
    size_t n = veil_msg_error_encode(&e, buf);
    veil_frame_write(s, VEIL_MSG_ERROR, session, buf, n);
}

/* ---- messages ------------------------------------------------------------ */

size_t veil_msg_hello_encode(const veil_msg_hello *m, uint8_t *out)
{
    uint8_t *p = wr_le(out, m->role, 2);
    return (size_t)(wr_str(p, m->name) - out);
}

int veil_msg_hello_decode(const uint8_t *p, size_t n, veil_msg_hello *m)
{
    rd r = {p, n, 0, 0};
    m->role = (uint16_t)rd_le(&r, 2);
    rd_str(&r, m->name);
    int rc = rd_end(&r, "HELLO");
    if (!rc && m->role > VEIL_ROLE_PEER) rc = veil_fail(VEIL_EPROTO, "unknown role %u", m->role);
    return rc;
}

size_t veil_msg_caps_encode(const veil_msg_caps *m, uint8_t *out)
{
    uint8_t *p = wr_le(out, m->capacity_milli, 4);
    p = wr_le(p, m->max_sessions, 4);
    p = wr_le(p, m->max_frame, 4);
    p = wr_le(p, m->threads, 4);
    return (size_t)(wr_str(p, m->name) - out);
}

int veil_msg_caps_decode(const uint8_t *p, size_t n, veil_msg_caps *m)
{
    rd r = {p, n, 0, 0};
    m->capacity_milli = (uint32_t)rd_le(&r, 4);
    m->max_sessions = (uint32_t)rd_le(&r, 4);
    m->max_frame = (uint32_t)rd_le(&r, 4);
    m->threads = (uint32_t)rd_le(&r, 4);
    rd_str(&r, m->name);
    int rc = rd_end(&r, "CAPS");
    if (!rc && (m->capacity_milli == 0 || m->max_frame < 4096))
        rc = veil_fail(VEIL_EPROTO, "CAPS with zero capacity or a frame limit below 4096");
    return rc;
}

static uint8_t *cfg_encode(uint8_t *p, const veil_config *c)
{
    const int v[8] = {c->dim,        c->hidden_dim, c->n_layers, c->n_heads,
                      c->n_kv_heads, c->vocab_size, c->seq_len,  c->shared_classifier};
    for (int i = 0; i < 8; i++) p = wr_le(p, (uint32_t)v[i], 4);
    return p;
}

static void cfg_decode(rd *r, veil_config *c)
{
    int *v[8] = {&c->dim,        &c->hidden_dim, &c->n_layers, &c->n_heads,
                 &c->n_kv_heads, &c->vocab_size, &c->seq_len,  &c->shared_classifier};
    for (int i = 0; i < 8; i++) *v[i] = (int32_t)(uint32_t)rd_le(r, 4);
}

size_t veil_msg_load_encode(const veil_msg_load *m, uint8_t *out)
{
    uint8_t *p = wr_le(out, m->flags, 1);
    p = wr_le(p, 0, 3);
    p = cfg_encode(p, &m->cfg);
    p = wr_le(p, (uint32_t)m->first, 4);
    p = wr_le(p, (uint32_t)m->last, 4);
    memcpy(p, m->model_sha256, 32);
    memcpy(p + 32, m->shard_sha256, 32);
    return (size_t)(p + 64 - out);
}

int veil_msg_load_decode(const uint8_t *p, size_t n, veil_msg_load *m)
{
    rd r = {p, n, 0, 0};
    m->flags = (uint8_t)rd_le(&r, 1);
    if (rd_le(&r, 3) != 0) r.bad = 1;
    cfg_decode(&r, &m->cfg);
    m->first = (int32_t)(uint32_t)rd_le(&r, 4);
    m->last = (int32_t)(uint32_t)rd_le(&r, 4);
    const uint8_t *h = rd_take(&r, 64);
    if (h) {
        memcpy(m->model_sha256, h, 32);
        memcpy(m->shard_sha256, h + 32, 32);
    }
    int rc = rd_end(&r, "LOAD");
    if (rc) return rc;
    if ((rc = veil_config_validate(&m->cfg))) return rc;
    if (m->first < 0 || m->last > m->cfg.n_layers || m->first >= m->last)
        return veil_fail(VEIL_EPROTO, "LOAD of layers [%d,%d) of a %d-layer model", m->first,
                         m->last, m->cfg.n_layers);
    return 0;
}

size_t veil_msg_loaded_encode(const veil_msg_loaded *m, uint8_t *out)
{
    uint8_t *p = wr_le(out, m->handle, 4);
    return (size_t)(wr_le(p, m->source, 1) - out);
}

int veil_msg_loaded_decode(const uint8_t *p, size_t n, veil_msg_loaded *m)
{
    rd r = {p, n, 0, 0};
    m->handle = (uint32_t)rd_le(&r, 4);
    m->source = (uint8_t)rd_le(&r, 1);
    return rd_end(&r, "LOADED");
}

size_t veil_msg_open_encode(const veil_msg_open *m, uint8_t *out)
{
    uint8_t *p = wr_le(out, m->handle, 4);
    p = wr_le(p, m->max_seq, 4);
    p = wr_le(p, m->next_session, 8);
    p = wr_le(p, m->port, 2);
    return (size_t)(wr_str(p, m->host) - out);
}

int veil_msg_open_decode(const uint8_t *p, size_t n, veil_msg_open *m)
{
    rd r = {p, n, 0, 0};
    m->handle = (uint32_t)rd_le(&r, 4);
    m->max_seq = (uint32_t)rd_le(&r, 4);
    m->next_session = rd_le(&r, 8);
    m->port = (uint16_t)rd_le(&r, 2);
    rd_str(&r, m->host);
    int rc = rd_end(&r, "OPEN");
    if (!rc && m->host[0] && (m->port == 0 || m->next_session == 0))
        rc = veil_fail(VEIL_EPROTO, "OPEN with a next hop but no port or session");
    return rc;
}

size_t veil_msg_error_encode(const veil_msg_error *m, uint8_t *out)
{
    uint8_t *p = wr_le(out, (uint32_t)m->code, 4);
    /* error text may quote anything: keep it printable */
    char clean[VEIL_PROTO_STR_MAX + 1];
    size_t i = 0;
    for (; m->message[i] && i < VEIL_PROTO_STR_MAX; i++) {
        unsigned char ch = (unsigned char)m->message[i];
        clean[i] = ch >= 0x20 && ch <= 0x7e ? (char)ch : '?';
    }
    clean[i] = '\0';
    return (size_t)(wr_str(p, clean) - out);
}

int veil_msg_error_decode(const uint8_t *p, size_t n, veil_msg_error *m)
{
    rd r = {p, n, 0, 0};
    m->code = (int32_t)(uint32_t)rd_le(&r, 4);
    rd_str(&r, m->message);
    return rd_end(&r, "ERROR");
}

size_t veil_msg_stats_encode(const veil_msg_stats *m, uint8_t *out)
{
    uint8_t *p = wr_le(out, m->tokens, 8);
    p = wr_le(p, m->compute_ns, 8);
    p = wr_le(p, m->bytes_in, 8);
    p = wr_le(p, m->bytes_out, 8);
    p = wr_le(p, m->sessions, 4);
    return (size_t)(wr_le(p, m->shards, 4) - out);
}

int veil_msg_stats_decode(const uint8_t *p, size_t n, veil_msg_stats *m)
{
    rd r = {p, n, 0, 0};
    m->tokens = rd_le(&r, 8);
    m->compute_ns = rd_le(&r, 8);
    m->bytes_in = rd_le(&r, 8);
    m->bytes_out = rd_le(&r, 8);
    m->sessions = (uint32_t)rd_le(&r, 4);
    m->shards = (uint32_t)rd_le(&r, 4);
    return rd_end(&r, "STATS");
}

size_t veil_msg_u64_encode(uint64_t v, uint8_t *out) { return (size_t)(wr_le(out, v, 8) - out); }
size_t veil_msg_u32_encode(uint32_t v, uint8_t *out) { return (size_t)(wr_le(out, v, 4) - out); }

int veil_msg_u32_decode(const uint8_t *p, size_t n, uint32_t *v)
{
    rd r = {p, n, 0, 0};
    *v = (uint32_t)rd_le(&r, 4);
    return rd_end(&r, "RELEASE");
}

int veil_msg_u64_decode(const uint8_t *p, size_t n, uint64_t *v)
{
    rd r = {p, n, 0, 0};
    *v = rd_le(&r, 8);
    return rd_end(&r, "PING/PONG/NEED");
}

void veil_msg_hidden_encode(int pos, int T, int dim, const float *x, uint8_t *out)
{
    uint8_t *p = wr_le(out, (uint32_t)pos, 4);
    p = wr_le(p, (uint32_t)T, 4);
    size_t n = (size_t)T * dim;
    for (size_t i = 0; i < n; i++) p = wr_le(p, f32_bits(x[i]), 4);
}

/* The u32 pos, u32 T prefix, checked against the session's bounds and the
 * exact payload length. */
static int hidden_check(const uint8_t *p, size_t n, int dim, int max_seq, int max_T, int *pos, int *T)
{
    rd r = {p, n, 0, 0};
    uint32_t ps = (uint32_t)rd_le(&r, 4), t = (uint32_t)rd_le(&r, 4);
    if (r.bad) return veil_fail(VEIL_EPROTO, "truncated hidden-state message");
    if (t == 0 || t > (uint32_t)max_T || ps >= (uint32_t)max_seq || t > (uint32_t)max_seq - ps)
        return veil_fail(VEIL_EPROTO, "hidden states for positions %u..%u+%u outside 0..%d (batch limit %d)",
                         ps, ps, t, max_seq, max_T);
    size_t bytes = (size_t)t * (size_t)dim * 4;
    if (n - 8 != bytes)
        return veil_fail(VEIL_EPROTO, "hidden-state payload of %zu bytes, expected %zu", n - 8, bytes);
    *pos = (int)ps;
    *T = (int)t;
    return 0;
}

int veil_msg_hidden_decode(const uint8_t *p, size_t n, int dim, int max_seq, int max_T,
                           int *pos, int *T, float *x)
{
    int rc = hidden_check(p, n, dim, max_seq, max_T, pos, T);
    if (rc) return rc;
    size_t count = (size_t)*T * (size_t)dim;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *q = p + 8 + 4 * i;
        x[i] = bits_f32((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24);
    }
    return 0;
}

int veil_msg_hidden_view(uint8_t *p, size_t n, int dim, int max_seq, int max_T, int *pos, int *T,
                         float **x)
{
    int rc = hidden_check(p, n, dim, max_seq, max_T, pos, T);
    if (rc) return rc;
    if ((uintptr_t)p % 4) return veil_fail(VEIL_EINVAL, "unaligned hidden-state buffer");
    *x = (float *)(void *)(p + 8); /* little-endian host (checked at build): wire floats are host floats */
    return 0;
}

int veil_msg_weights_decode(const uint8_t *p, size_t n, uint64_t *offset, const uint8_t **data,
                            size_t *len)
{
    rd r = {p, n, 0, 0};
    *offset = rd_le(&r, 8);
    if (r.bad) return veil_fail(VEIL_EPROTO, "truncated WEIGHTS message");
    *data = p + 8;
    *len = n - 8;
    if (*len == 0 || *len % 4) return veil_fail(VEIL_EPROTO, "WEIGHTS chunk of %zu bytes", *len);
    return 0;
}

void veil_shard_hash(const float *floats, size_t n, uint8_t out[32])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    veil_sha256(floats, n * sizeof(float), out);
#else
#error "veil's wire format assumes a little-endian host for weight hashing"
#endif
}
