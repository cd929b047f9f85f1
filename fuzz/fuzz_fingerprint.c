/* libFuzzer: fingerprint wire decoder (untrusted frames from replicas), then
 * the tolerant check of a decoded fingerprint against a small block, and
 * the adversary mode parser on the same bytes as text. */
#include "veil/adversary.h"
#include "veil/fingerprint.h"
#include "veil/verify.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_fp fp;
    if (veil_fp_decode(data, size, &fp) == 0) {
        uint8_t buf[VEIL_FP_HEADER + 4 * VEIL_FP_MAX_K];
        int n = veil_fp_encode(&fp, buf, sizeof buf);
        if (n != (int)size || memcmp(buf, data, size) != 0) abort(); /* canonical round trip */
        if ((uint64_t)fp.T * fp.dim <= 4096) {
            float x[4096];
            for (uint32_t i = 0; i < fp.T * fp.dim; i++) x[i] = (float)((int)(i * 37 % 101) - 50);
            veil_fp_tol tol = veil_fp_default_tol();
            veil_fp_check chk;
            veil_fp_check_against(&fp, x, (int)fp.T, (int)fp.dim, &tol, &chk);
            veil_fp_check_against(&fp, x, 1, 1, &tol, &chk); /* shape mismatch path */
        }
    }
    char text[128];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    veil_adv_mode m;
    veil_adv_parse(text, &m);
    veil_verify_mode vm;
    veil_verify_parse(text, &vm);
    return 0;
}
