/* libFuzzer target: the TDX quote v4 parser (header, TD report body,
 * signature data, QE report, authentication data, PCK chain) and TDX
 * evidence verification up to the trust anchor. */
#include "tee/tee_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_tdx_quote q;
    veil_tdx_parse(data, size, &q);
    veil_policy p;
    memset(&p, 0, sizeof p);
    p.any_measurement = 1;
    strcpy(p.tdx_root, "/nonexistent/veil-fuzz-root.pem");
    uint8_t rd[64] = {0}, *ev;
    size_t n;
    const uint8_t *parts[1] = {data};
    size_t lens[1] = {size};
    veil_claims c;
    if (veil_evidence_build(VEIL_TEE_BACKEND_TDX, parts, lens, 1, &ev, &n) == 0) {
        veil_attest_verify(ev, n, &p, rd, &c);
        free(ev);
    }
    return 0;
}
