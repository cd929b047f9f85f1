/* libFuzzer: checkpoint parser. Accepted images must be safe to run. */
#include "veil/model.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *copy = malloc(size ? size : 1); /* aligned, like a mapping */
    memcpy(copy, data, size);
    veil_model *m;
    if (veil_model_from_memory(copy, size, &m) == 0) {
        veil_shard *s;
        if (veil_model_shard(m, 0, 1, 1, &s) == 0) {
            float *x = calloc(m->cfg.dim, sizeof *x);
            veil_embed(m, m->cfg.vocab_size - 1, x);
            veil_shard_forward(s, 0, x);
            free(x);
            veil_shard_free(s);
        }
        veil_model_close(m);
    }
    free(copy);
    return 0;
}
