/* libFuzzer target: a node's parsing of untrusted ZK_LOAD payloads
 * (veil_crit_upload_parse, veil/critical.h): every outcome must be a parsed
 * upload or a clean refusal, without crashes, leaks or undefined
 * behaviour. The config in the payload is the attacker's too, so sizes
 * derived from it must be checked before anything is allocated. */
#include "veil/critical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_crit_upload *u;
    if (veil_crit_upload_parse(data, size, NULL, &u) == 0) veil_crit_upload_free(u);
    return 0;
}
