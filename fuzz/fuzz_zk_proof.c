/* libFuzzer target: the zk proof-file parsers and verifiers (zk_proof.h,
 * zk_matmul.h, zk_lookup.h), dispatched on the header's proof kind like
 * `veil zk verify`.  Untrusted bytes must parse-and-reject or verify
 * without crashes, leaks or undefined behaviour; the seed corpus holds
 * valid small matrix-product, range and ReLU proofs so that mutations
 * reach the verifiers. */
#include "veil/zk_lookup.h"
#include "veil/zk_matmul.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned a, b;
    veil_matmul_dims d;
    /* the kind is the little-endian u16 at offset 6 (zk_proof.h) */
    unsigned kind = size >= VEIL_ZKP_HEADER ? (unsigned)data[6] | (unsigned)data[7] << 8 : 0;
    /* one thread: keeps runs deterministic and the fuzzer's timing honest */
    if (kind == VEIL_ZKP_LOGUP)
        (void)veil_range_file_verify(data, size, &a, &b, 1);
    else if (kind == VEIL_ZKP_RELU)
        (void)veil_relu_file_verify(data, size, &a, &b, 1);
    else
        (void)veil_matmul_file_verify(data, size, &d, 1);
    return 0;
}
