/* libFuzzer target: a node's handling of untrusted ZK_FORWARD payloads
 * (veil_crit_serve, veil/critical.h) on a tiny deterministic model. The
 * input is the payload after the 32-byte checkpoint hash; the prove flag is
 * cleared (a proof per input would be far too slow to fuzz), so the parser
 * and the unproven integer pass are exercised. Every outcome must be a reply
 * or a clean refusal, without crashes, leaks or undefined behaviour. */
#include "veil/critical.h"
#include "veil/synth.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static veil_model *g_model;

/* dim 8, hidden 16, 2 layers, 2 heads, seq_len 8: small rows, fast passes. */
static void setup(void)
{
    veil_config c = {8, 16, 2, 2, 2, 16, 8, 1};
    size_t n;
    float *w = veil_synth_floats(&c, 0x243F6A8885A308D3ull, &n);
    if (!w || veil_model_from_legacy_floats(&c, w, n, &g_model)) abort();
}

static int discard(void *ctx, int type, const void *p, size_t len)
{
    (void)ctx, (void)type, (void)p, (void)len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_model) setup();
    if (size > 1 << 16) return 0;
    uint8_t *p = malloc(32 + size);
    if (!p) return 0;
    memcpy(p, g_model->sha256, 32);
    memcpy(p + 32, data, size);
    if (size >= 17) p[48] &= (uint8_t)~VEIL_CRIT_PROVE; /* flags, low byte */
    uint8_t sha[32];
    if (!veil_crit_payload_model(p, 32 + size, sha)) veil_crit_serve(g_model, NULL, p, 32 + size, discard, NULL, NULL);
    free(p);
    return 0;
}
