/* Shared set-up of the privacy tests (test_attack.c, test_eval.c): the real
 * stories260K model when present, else a small synthetic one; the Debian
 * `fortunes` text when installed, else a corpus written by the test. */
#ifndef VEIL_PRIVACY_FIXTURE_H
#define VEIL_PRIVACY_FIXTURE_H

#include "harness.h"

#include "veil/eval.h"
#include "veil/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    veil_model *m;
    veil_tokenizer *t;
    veil_corpus corpus;
    int synthetic_model, builtin_corpus;
} fixture;

static int fixture_model(fixture *f)
{
    /* test_model_file returns a static buffer: copy before the next call */
    const char *found = test_model_file("stories260K.bin");
    char mp[4096], tp[4096];
    snprintf(mp, sizeof mp, "%s", found ? found : "");
    found = *mp ? test_model_file("tok512.bin") : NULL;
    snprintf(tp, sizeof tp, "%s", found ? found : "");
    if (*mp && *tp && !veil_model_open(mp, &f->m))
        return veil_tokenizer_open(tp, f->m->cfg.vocab_size, &f->t);
    fprintf(stderr, "stories260K not found: using a synthetic 3-layer model\n");
    f->synthetic_model = 1;
    veil_config c = {.dim = 64, .hidden_dim = 172, .n_layers = 3, .n_heads = 4,
                     .n_kv_heads = 4, .vocab_size = 320, .seq_len = 256,
                     .shared_classifier = 1};
    size_t n;
    float *w = veil_synth_floats(&c, 42, &n);
    snprintf(tp, sizeof tp, "%s/tok.bin", test_tmpdir());
    if (!w || veil_model_from_legacy_floats(&c, w, n, &f->m)) return -1;
    if (veil_synth_tokenizer(c.vocab_size, tp)) return -1;
    return veil_tokenizer_open(tp, c.vocab_size, &f->t);
}

/* Deterministic sentences in fortune format when fortunes is absent. */
static int fixture_builtin_corpus(fixture *f)
{
    static const char *subj[] = {"The cat", "A small dog", "My friend", "The old king",
                                 "Every child", "The robot", "Her brother", "A bird"};
    static const char *verb[] = {"found", "wanted", "painted", "lost", "carried", "saw"};
    static const char *obj[] = {"a red ball", "the big tree", "some warm bread",
                                "a shiny key", "the quiet river", "two blue boxes",
                                "a long story"};
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    if (!text) return -1;
    for (int i = 0; i < 160; i++) {
        len += snprintf(text + len, cap - len, "%s %s %s, and then %s %s %s.\n%%\n",
                        subj[i % 8], verb[(i / 8) % 6], obj[(i * 3) % 7], subj[(i + 3) % 8],
                        verb[(i * 5) % 6], obj[(i / 3) % 7]);
    }
    int rc = veil_corpus_parse(text, len, &f->corpus);
    free(text);
    return rc;
}

static int fixture_open(fixture *f)
{
    memset(f, 0, sizeof *f);
    veil_set_threads(1); /* the CI machine is shared: no spinning workers */
    if (fixture_model(f)) return -1;
    const char *path = "/usr/share/games/fortunes/fortunes";
    /* VEIL_TEST_NO_FORTUNES=1 exercises the fallback on machines that have it */
    if (!getenv("VEIL_TEST_NO_FORTUNES") && access(path, R_OK) == 0 &&
        veil_corpus_load(path, &f->corpus) == 0)
        return 0;
    fprintf(stderr, "%s unavailable: using a corpus written by the test\n", path);
    f->builtin_corpus = 1;
    return fixture_builtin_corpus(f);
}

static void fixture_close(fixture *f)
{
    veil_corpus_free(&f->corpus);
    veil_tokenizer_free(f->t);
    veil_model_close(f->m);
}

#endif
