/* libFuzzer target: the frame reader and every message decoder of the veil
 * wire protocol, fed from an in-memory veil_stream (several frames per
 * input, as a node's connection loop would read them). */
#include "veil/protocol.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t n, off;
} mem;

static int mem_read(void *impl, void *buf, size_t n)
{
    mem *m = impl;
    if (m->off == m->n) return veil_fail(VEIL_ECLOSED, "end of input");
    if (n > m->n - m->off) return veil_fail(VEIL_EPROTO, "truncated");
    memcpy(buf, m->p + m->off, n);
    m->off += n;
    return 0;
}
static int mem_write(void *impl, const void *buf, size_t n) { return 0; }
static int mem_binding(void *impl, uint8_t out[32]) { return VEIL_EINVAL; }
static const char *mem_peer(void *impl) { return NULL; }
static void mem_free(void *impl) {}
static const veil_stream_ops mem_ops = {mem_write, mem_read, mem_binding, mem_peer, mem_free, "mem"};

static void decode(const veil_frame *f)
{
    const uint8_t *p = f->payload;
    size_t n = f->h.length;
    union {
        veil_msg_hello hello;
        veil_msg_caps caps;
        veil_msg_load load;
        veil_msg_loaded loaded;
        veil_msg_open open;
        veil_msg_error error;
        veil_msg_stats stats;
        uint64_t u;
    } m;
    switch (f->h.type) {
    case VEIL_MSG_HELLO: veil_msg_hello_decode(p, n, &m.hello); break;
    case VEIL_MSG_CAPS: veil_msg_caps_decode(p, n, &m.caps); break;
    case VEIL_MSG_LOAD: veil_msg_load_decode(p, n, &m.load); break;
    case VEIL_MSG_LOADED: veil_msg_loaded_decode(p, n, &m.loaded); break;
    case VEIL_MSG_OPEN: veil_msg_open_decode(p, n, &m.open); break;
    case VEIL_MSG_ERROR: veil_msg_error_decode(p, n, &m.error); break;
    case VEIL_MSG_STATS: veil_msg_stats_decode(p, n, &m.stats); break;
    case VEIL_MSG_PING: case VEIL_MSG_PONG: case VEIL_MSG_NEED: veil_msg_u64_decode(p, n, &m.u); break;
    case VEIL_MSG_RELEASE: {
        uint32_t h;
        veil_msg_u32_decode(p, n, &h);
        break;
    }
    case VEIL_MSG_WEIGHTS: {
        const uint8_t *d;
        size_t len;
        veil_msg_weights_decode(p, n, &m.u, &d, &len);
        break;
    }
    case VEIL_MSG_FORWARD: case VEIL_MSG_RESULT: {
        float x[4 * 8];
        int pos, T;
        veil_msg_hidden_decode(p, n, 8, 16, 4, &pos, &T, x); /* dim 8, seq 16, batch 4 */
        break;
    }
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mem m = {data, size, 0};
    veil_stream s = {&mem_ops, &m, -1};
    for (int i = 0; i < 8; i++) {
        veil_frame f;
        if (veil_frame_read(&s, 4096, &f)) break;
        decode(&f);
        veil_frame_free(&f);
    }
    return 0;
}
