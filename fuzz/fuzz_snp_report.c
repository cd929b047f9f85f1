/* libFuzzer target: the SEV-SNP report parser, the extended-report
 * certificate table, and SEV-SNP evidence verification up to the trust
 * anchor (envelope, report fields, VCEK/ASK DER parsing). */
#include "tee/tee_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_snp_report r;
    veil_snp_parse(data, size, &r);
    const uint8_t *v, *a;
    size_t nv, na;
    tee_snp_cert_table(data, size, &v, &nv, &a, &na);
    /* the input as a report, and split as report + VCEK + ASK */
    veil_policy p;
    memset(&p, 0, sizeof p);
    p.any_measurement = 1;
    strcpy(p.snp_ark, "/nonexistent/veil-fuzz-ark.pem");
    uint8_t rd[64] = {0}, *ev;
    size_t n, cut = size < VEIL_SNP_REPORT_LEN ? size : VEIL_SNP_REPORT_LEN;
    size_t half = (size - cut) / 2;
    const uint8_t *parts[3] = {data, data + cut, data + cut + half};
    size_t lens[3] = {cut, half, size - cut - half};
    veil_claims c;
    if (veil_evidence_build(VEIL_TEE_BACKEND_SEV_SNP, parts, lens, 3, &ev, &n) == 0) {
        veil_attest_verify(ev, n, &p, rd, &c);
        free(ev);
    }
    veil_attest_verify(data, size, &p, rd, &c);
    return 0;
}
