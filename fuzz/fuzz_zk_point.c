/* libFuzzer target: ristretto255 point and scalar decoding and the zk core
 * proof parsers (IPA / Hyrax evaluation proof, Algorithm 1 opening proof,
 * Hyrax commitment), followed by verification of whatever parses.  The
 * first input byte selects the parser.  Anything accepted must re-encode
 * to exactly the bytes it was parsed from (canonical encodings). */
#include "veil/zk_commit.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_NVARS 4 /* 4 rows x 4 columns: 2 IPA rounds */
#define FUZZ_D 3

static veil_pedersen_gens PG;
static veil_hyrax_commitment CM;
static veil_fe POINT[FUZZ_NVARS], Y[FUZZ_D];

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (veil_pedersen_gens_init(&PG, "veil/fuzz", 8) != 0)
        abort();
    /* a fixed (not necessarily honest) commitment: verification must reject
     * or accept without crashing, deterministically */
    CM.nvars = FUZZ_NVARS;
    CM.rows = 4;
    CM.cols = 4;
    CM.c = malloc(4 * sizeof *CM.c);
    if (!CM.c)
        abort();
    memcpy(CM.c, PG.g + 4, 4 * sizeof *CM.c);
    for (int i = 0; i < FUZZ_NVARS; i++)
        veil_fe_from_u64(&POINT[i], (uint64_t)i + 2);
    for (int i = 0; i < FUZZ_D; i++)
        veil_fe_from_u64(&Y[i], (uint64_t)i + 1);
}

static void must(int cond)
{
    if (!cond)
        abort();
}

static void fuzz_point(const uint8_t *d, size_t n)
{
    veil_ge p;
    uint8_t back[32];
    if (n >= 32 && veil_ge_from_bytes(&p, d) == 0) {
        veil_ge_to_bytes(back, &p);
        must(memcmp(back, d, 32) == 0);
    }
    if (n >= 64)
        veil_ge_from_uniform(&p, d);
}

static void fuzz_scalar(const uint8_t *d, size_t n)
{
    veil_fe x;
    uint8_t back[32];
    if (n >= 32 && veil_fe_from_bytes(&x, d) == 0) {
        veil_fe_to_bytes(back, &x);
        must(memcmp(back, d, 32) == 0);
    }
    if (n >= 64)
        veil_fe_from_wide(&x, d);
}

static void fuzz_ipa(const uint8_t *d, size_t n)
{
    veil_ipa_proof pf;
    size_t used = 0, w = 0;
    uint8_t back[512];
    if (veil_ipa_proof_read(&pf, d, n, 2, &used) != 0)
        return;
    must(used <= n && used <= sizeof back);
    must(veil_ipa_proof_write(&pf, back, sizeof back, &w) == 0 && w == used);
    must(memcmp(back, d, used) == 0);
    veil_transcript tr;
    veil_fe v;
    veil_fe_zero(&v);
    veil_transcript_init(&tr, "veil/fuzz");
    veil_hyrax_verify_public(&pf, &tr, &PG, &CM, POINT, &v, 1);
}

static void fuzz_open(const uint8_t *d, size_t n)
{
    veil_open_proof pf;
    size_t used = 0, w = 0;
    uint8_t back[512];
    if (veil_open_proof_read(&pf, d, n, FUZZ_D, &used) != 0)
        return;
    must(used <= n && used <= sizeof back);
    must(veil_open_proof_write(&pf, back, sizeof back, &w) == 0 && w == used);
    must(memcmp(back, d, used) == 0);
    veil_transcript tr;
    veil_transcript_init(&tr, "veil/fuzz");
    veil_open_verify(&pf, &tr, &PG, &PG.g[0], &PG.u, Y, FUZZ_D, 1);
    veil_open_proof_free(&pf);
}

static void fuzz_hyrax_commitment(const uint8_t *d, size_t n)
{
    veil_hyrax_commitment cm;
    size_t used = 0, w = 0;
    uint8_t back[512];
    if (veil_hyrax_commitment_read(&cm, d, n, FUZZ_NVARS, &used) != 0)
        return;
    must(used <= n && used <= sizeof back);
    must(veil_hyrax_commitment_write(&cm, back, sizeof back, &w) == 0 && w == used);
    must(memcmp(back, d, used) == 0);
    veil_hyrax_commitment_free(&cm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: fuzz_point(d, n); break;
    case 1: fuzz_scalar(d, n); break;
    case 2: fuzz_ipa(d, n); break;
    case 3: fuzz_open(d, n); break;
    default: fuzz_hyrax_commitment(d, n); break;
    }
    return 0;
}
