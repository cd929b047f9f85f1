/* libFuzzer target: whole evidence files as `veil tee verify` reads them,
 * verified against a real simulated authority created at start-up (so sim
 * reports reach the certificate chain and signature checks). */
#include "tee/tee_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static veil_policy pol;
static char auth_dir[64];

/* The authority exists for the whole run; remove it at exit. */
static void cleanup(void)
{
    static const char *const files[] = {"root.key", "root.crt", "platform.key", "platform.crt"};
    char p[128];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/a/%s", auth_dir, files[i]);
        remove(p);
    }
    snprintf(p, sizeof p, "%s/a", auth_dir);
    remove(p);
    remove(auth_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(auth_dir, sizeof auth_dir, "/tmp/veil-fuzz-authXXXXXX");
    if (!mkdtemp(auth_dir)) abort();
    atexit(cleanup);
    char dir[80];
    snprintf(dir, sizeof dir, "%s/a", auth_dir);
    if (veil_sim_authority_init(dir) || veil_policy_sim(dir, &pol)) abort();
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
