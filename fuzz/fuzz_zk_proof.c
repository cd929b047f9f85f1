/* libFuzzer target: the zk proof-file parser and verifier (zk_proof.h,
 * zk_matmul.h).  Untrusted bytes must parse-and-reject or verify without
 * crashes, leaks or undefined behaviour; the seed corpus holds a valid
 * small matrix-product proof so mutations reach the verifier. */
#include "veil/zk_matmul.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_matmul_dims d;
    /* one thread: keeps runs deterministic and the fuzzer's timing honest */
    (void)veil_matmul_file_verify(data, size, &d, 1);
    return 0;
}
