/* Wire protocol codecs: round trips, exact lengths, hostile inputs; and the
 * capacity-proportional layer partition. */
#include "harness.h"
#include "veil/orchestrator.h"
#include "veil/protocol.h"

#include <string.h>

static void test_header(void)
{
    veil_frame_hdr h = {VEIL_PROTO_VERSION, VEIL_MSG_FORWARD, 1234, 0x0102030405060708ull}, g;
    uint8_t b[VEIL_FRAME_HDR];
    veil_frame_hdr_encode(&h, b);
    CHECK(b[0] == 'V' && b[1] == 'L' && b[2] == 1 && b[3] == VEIL_MSG_FORWARD);
    CHECK(b[4] == 0xd2 && b[5] == 0x04 && b[6] == 0 && b[7] == 0); /* little-endian length */
    CHECK(b[8] == 0x08 && b[15] == 0x01);
    CHECK(veil_frame_hdr_decode(b, 4096, &g) == 0 && g.length == 1234 && g.session == h.session);
    CHECK(veil_frame_hdr_decode(b, 1000, &g) == VEIL_ERANGE); /* oversized */
    uint8_t bad[VEIL_FRAME_HDR];
    memcpy(bad, b, sizeof bad);
    bad[0] = 'X';
    CHECK(veil_frame_hdr_decode(bad, 4096, &g) == VEIL_EPROTO);
    memcpy(bad, b, sizeof bad);
    bad[2] = 2;
    CHECK(veil_frame_hdr_decode(bad, 4096, &g) == VEIL_EPROTO);
    memcpy(bad, b, sizeof bad);
    bad[3] = 0;
    CHECK(veil_frame_hdr_decode(bad, 4096, &g) == VEIL_EPROTO);
    bad[3] = VEIL_MSG_MAX + 1;
    CHECK(veil_frame_hdr_decode(bad, 4096, &g) == VEIL_EPROTO);
}

static void test_messages(void)
{
    uint8_t b[VEIL_MSG_MAX_SMALL];
    veil_msg_hello h = {VEIL_ROLE_PEER, "node-7"}, h2;
    size_t n = veil_msg_hello_encode(&h, b);
    CHECK(n == 2 + 1 + 6);
    CHECK(veil_msg_hello_decode(b, n, &h2) == 0 && h2.role == 1 && strcmp(h2.name, "node-7") == 0);
    CHECK(veil_msg_hello_decode(b, n - 1, &h2) == VEIL_EPROTO); /* truncated */
    CHECK(veil_msg_hello_decode(b, n + 1, &h2) == VEIL_EPROTO); /* trailing byte */
    b[3] = 0x07; /* unprintable name */
    CHECK(veil_msg_hello_decode(b, n, &h2) == VEIL_EPROTO);

    veil_msg_load l = {VEIL_LOAD_MAY_USE_LOCAL, {64, 172, 5, 8, 4, 512, 512, 1}, 1, 3, {1}, {2}}, l2;
    n = veil_msg_load_encode(&l, b);
    CHECK(n == 4 + 32 + 8 + 64);
    CHECK(veil_msg_load_decode(b, n, &l2) == 0 && l2.first == 1 && l2.last == 3 && l2.cfg.dim == 64 &&
          l2.model_sha256[0] == 1 && l2.shard_sha256[0] == 2);
    l.last = 6; /* beyond n_layers */
    n = veil_msg_load_encode(&l, b);
    CHECK(veil_msg_load_decode(b, n, &l2) == VEIL_EPROTO);
    l.last = 3;
    l.cfg.n_heads = 7; /* dim not divisible */
    n = veil_msg_load_encode(&l, b);
    CHECK(veil_msg_load_decode(b, n, &l2) != 0);

    veil_msg_open o = {5, 256, 99, 7000, "10.0.0.2"}, o2;
    n = veil_msg_open_encode(&o, b);
    CHECK(veil_msg_open_decode(b, n, &o2) == 0 && o2.next_session == 99 && o2.port == 7000 &&
          strcmp(o2.host, "10.0.0.2") == 0);
    o.port = 0;
    n = veil_msg_open_encode(&o, b);
    CHECK(veil_msg_open_decode(b, n, &o2) == VEIL_EPROTO); /* next hop without a port */

    veil_msg_error e = {VEIL_EVERIFY, "bad\nline"}, e2;
    n = veil_msg_error_encode(&e, b);
    CHECK(veil_msg_error_decode(b, n, &e2) == 0 && e2.code == VEIL_EVERIFY && strcmp(e2.message, "bad?line") == 0);

    veil_msg_stats s = {1, 2, 3, 4, 5, 6}, s2;
    n = veil_msg_stats_encode(&s, b);
    CHECK(veil_msg_stats_decode(b, n, &s2) == 0 && s2.bytes_out == 4 && s2.shards == 6);
    uint64_t v;
    n = veil_msg_u64_encode(42, b);
    CHECK(veil_msg_u64_decode(b, n, &v) == 0 && v == 42);
    CHECK(veil_msg_u64_decode(b, 7, &v) == VEIL_EPROTO);
}

static void test_hidden(void)
{
    float x[3 * 4], y[3 * 4];
    for (int i = 0; i < 12; i++) x[i] = (float)i * 0.25f - 1;
    uint8_t b[8 + 48];
    veil_msg_hidden_encode(5, 3, 4, x, b);
    int pos, T;
    CHECK(veil_msg_hidden_decode(b, sizeof b, 4, 16, 3, &pos, &T, y) == 0 && pos == 5 && T == 3 &&
          memcmp(x, y, sizeof x) == 0);
    CHECK(veil_msg_hidden_decode(b, sizeof b - 4, 4, 16, 3, &pos, &T, y) == VEIL_EPROTO); /* short */
    CHECK(veil_msg_hidden_decode(b, sizeof b, 4, 16, 2, &pos, &T, y) == VEIL_EPROTO);     /* batch limit */
    CHECK(veil_msg_hidden_decode(b, sizeof b, 4, 7, 3, &pos, &T, y) == VEIL_EPROTO);      /* past seq */
    CHECK(veil_msg_hidden_decode(b, 4, 4, 16, 3, &pos, &T, y) == VEIL_EPROTO);
    b[4] = 0;
    CHECK(veil_msg_hidden_decode(b, 8, 4, 16, 3, &pos, &T, y) == VEIL_EPROTO); /* T = 0 */
    uint64_t off;
    const uint8_t *d;
    size_t len;
    uint8_t w[8 + 6] = {0};
    CHECK(veil_msg_weights_decode(w, sizeof w, &off, &d, &len) == VEIL_EPROTO); /* not whole floats */
    CHECK(veil_msg_weights_decode(w, 12, &off, &d, &len) == 0 && len == 4);
}

static void test_partition(void)
{
    int c[8];
    double eq[3] = {1, 1, 1}, het[3] = {2, 1, 1}, skew[3] = {100, 1, 1};
    CHECK(veil_partition(8, het, 3, c) == 0 && c[0] == 4 && c[1] == 2 && c[2] == 2);
    CHECK(veil_partition(5, eq, 3, c) == 0 && c[0] + c[1] + c[2] == 5 && c[0] >= 1 && c[2] >= 1);
    CHECK(veil_partition(6, skew, 3, c) == 0 && c[0] == 4 && c[1] == 1 && c[2] == 1);
    CHECK(veil_partition(2, eq, 3, c) == VEIL_EINVAL);
    double four[4] = {1, 3, 2, 2};
    CHECK(veil_partition(16, four, 4, c) == 0 && c[0] == 2 && c[1] == 6 && c[2] == 4 && c[3] == 4);
    char host[64];
    int port;
    CHECK(veil_parse_hostport("127.0.0.1:9000", host, sizeof host, &port) == 0 && port == 9000);
    CHECK(veil_parse_hostport("[::1]:80", host, sizeof host, &port) == 0 && strcmp(host, "::1") == 0);
    CHECK(veil_parse_hostport("nohost", host, sizeof host, &port) == VEIL_EINVAL);
    CHECK(veil_parse_hostport("h:99999", host, sizeof host, &port) == VEIL_EINVAL);
    CHECK(veil_parse_hostport(":80", host, sizeof host, &port) == VEIL_EINVAL);
}

int main(void)
{
    test_header();
    test_messages();
    test_hidden();
    test_partition();
    return test_done();
}
