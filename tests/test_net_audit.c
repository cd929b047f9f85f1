/* Dispute support on a node (src/net/node_audit.c): LAYER_REQ parsing of
 * untrusted bytes, the bounds of what a node answers (layers outside the
 * shard, positions not computed, rows over one frame), and that answers
 * hold what the hook recorded (fingerprint and rows). */
#include "harness.h"
#include "net/node_audit.h"

#include <stdlib.h>
#include <string.h>

static void test_req_parse(void)
{
    node_audit_req r = {NODE_AUDIT_ROWS, -1, 7, 3}, back;
    uint8_t b[16];
    CHECK(node_audit_req_encode(&r, b) == 16);
    CHECK(node_audit_req_decode(b, 16, &back) == 0);
    CHECK(back.what == r.what && back.layer == -1 && back.pos == 7 && back.T == 3);
    CHECK(node_audit_req_decode(b, 15, &back) != 0); /* short */
    uint8_t big[17] = {0};
    CHECK(node_audit_req_decode(big, 17, &back) != 0); /* long */
    b[0] = 2;
    CHECK(node_audit_req_decode(b, 16, &back) != 0); /* unknown request */
}

static void test_answers(void)
{
    enum { FIRST = 2, LAST = 4, DIM = 64, SEQ = 8 };
    node_audit *a;
    CHECK(node_audit_new(FIRST, LAST, DIM, SEQ, &a) == 0);
    float x[3 * DIM];
    for (int i = 0; i < 3 * DIM; i++) x[i] = (float)(i % 17) - 8.0f;
    node_audit_input(a, 0, 3, x);
    for (int l = FIRST; l < LAST; l++) {
        for (int i = 0; i < 3 * DIM; i++) x[i] += (float)(l + 1);
        node_audit_hook(a, l, 0, 3, x);
    }
    node_audit_done(a, 0, 3);
    int type;
    uint8_t *pay;
    size_t len;
    /* the last layer's rows are what the hook saw */
    node_audit_req r = {NODE_AUDIT_ROWS, LAST - 1, 1, 2};
    CHECK(node_audit_answer(a, &r, 4, &type, &pay, &len) == 0);
    CHECK(type == VEIL_MSG_LAYER_ROWS && len == 8 + 2 * DIM * 4);
    float got[2 * DIM];
    int p, t;
    CHECK(pay && veil_msg_hidden_decode(pay, len, DIM, SEQ, 4, &p, &t, got) == 0);
    CHECK(p == 1 && t == 2 && memcmp(got, x + DIM, sizeof got) == 0);
    free(pay);
    /* its fingerprint equals one computed from the same rows */
    r = (node_audit_req){NODE_AUDIT_FP, LAST - 1, 0, 3};
    CHECK(node_audit_answer(a, &r, 4, &type, &pay, &len) == 0);
    veil_fp fp, ref;
    CHECK(type == VEIL_MSG_LAYER_FP && veil_fp_decode(pay, len, &fp) == 0);
    CHECK(veil_fp_compute(x, 3, DIM, VEIL_FP_DEFAULT_K, LAST - 1, 0, &ref) == 0 && veil_fp_equal(&fp, &ref));
    free(pay);
    /* refusals: outside the shard, not computed yet, over one frame, T = 0 */
    node_audit_req bad[] = {{NODE_AUDIT_FP, FIRST - 2, 0, 1}, {NODE_AUDIT_FP, LAST, 0, 1},
                            {NODE_AUDIT_FP, FIRST, 2, 2},     {NODE_AUDIT_ROWS, FIRST, 0, 3},
                            {NODE_AUDIT_FP, FIRST, 0, 0},     {NODE_AUDIT_FP, FIRST, 0xffffffffu, 2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pay = NULL;
        CHECKF(node_audit_answer(a, &bad[i], 2, &type, &pay, &len) != 0, "request %zu", i);
        CHECK(pay == NULL);
    }
    /* a replay from an earlier position forgets what follows */
    node_audit_input(a, 1, 1, x);
    r = (node_audit_req){NODE_AUDIT_FP, FIRST, 0, 2};
    CHECK(node_audit_answer(a, &r, 4, &type, &pay, &len) != 0);
    node_audit_free(a);
    CHECK(node_audit_new(3, 3, DIM, SEQ, &a) != 0 && a == NULL);
}

int main(void)
{
    test_req_parse();
    test_answers();
    return test_done();
}
