/* libFuzzer target: whole evidence files as `veil tee verify` reads them,
 * verified against a real simulated authority created at start-up (so sim
 * reports reach the certificate chain and signature checks). */
#include "tee/tee_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static veil_policy pol;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char tmpl[] = "/tmp/veil-fuzz-authXXXXXX";
    char *d = mkdtemp(tmpl);
    char dir[64];
    snprintf(dir, sizeof dir, "%s/a", d ? d : "/tmp");
    if (!d || veil_sim_authority_init(dir) || veil_policy_sim(dir, &pol)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t rd[64] = {0};
    veil_claims c;
    veil_evidence e;
    veil_evidence_parse(data, size, &e);
    veil_attest_verify(data, size, &pol, rd, &c);
    return 0;
}
