/* Option parsing shared by every veil command. */
#include "cli.h"

#include "veil/common.h"
#include "veil/generate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int opt_index(const cli_cmd *c, const char *lng)
{
    for (int i = 0; c->opts && c->opts[i].lng; i++)
        if (strcmp(c->opts[i].lng, lng) == 0) return i;
    return -1;
}

const char *cli_get(const cli_args *a, const char *lng)
{
    int i = opt_index(a->cmd, lng);
    return i < 0 ? NULL : a->val[i];
}

int cli_has(const cli_args *a, const char *lng) { return cli_get(a, lng) != NULL; }

int cli_usage_error(const cli_args *a, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "veil %s: ", a->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: veil %s [options] %s (see veil %s --help)\n", a->cmd->name,
            a->cmd->usage ? a->cmd->usage : "", a->cmd->name);
    return CLI_USAGE;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "veil: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_fail_lib(const char *what)
{
    return cli_fail("%s: %s", what, veil_last_error());
}

int cli_write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return cli_fail("cannot create %s", path);
    int ok = fwrite(b, 1, n, f) == n;
    ok &= fclose(f) == 0; /* buffered data may fail only here */
    return ok ? CLI_OK : cli_fail("cannot write %s", path);
}

int cli_int(const cli_args *a, const char *lng, long dflt, long min, long max, long *out)
{
    const char *v = cli_get(a, lng);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 0);
    if (errno || end == v || *end || x < min || x > max) {
        cli_usage_error(a, "--%s wants an integer in %ld..%ld, got '%s'", lng, min, max, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_float(const cli_args *a, const char *lng, double dflt, double min, double max,
              double *out)
{
    const char *v = cli_get(a, lng);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < min || x > max) {
        cli_usage_error(a, "--%s wants a number in %g..%g, got '%s'", lng, min, max, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_u64(const cli_args *a, const char *lng, uint64_t dflt, uint64_t *out)
{
    const char *v = cli_get(a, lng);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || end == v || *end || v[0] == '-') {
        cli_usage_error(a, "--%s wants an unsigned integer, got '%s'", lng, v);
        return -1;
    }
    *out = x;
    return 0;
}

const char *cli_model_dir(void)
{
    const char *d = getenv("VEIL_MODEL_DIR");
    return d && *d ? d : "../shared/models";
}

int cli_model_paths(const cli_args *a, char *model, char *tok)
{
    const char *m = cli_get(a, "model"), *z = cli_get(a, "tokenizer");
    snprintf(model, 4096, "%s", m ? m : "");
    snprintf(tok, 4096, "%s", z ? z : "");
    if (!m) snprintf(model, 4096, "%s/stories260K.bin", cli_model_dir());
    if (!z && !m) snprintf(tok, 4096, "%s/tok512.bin", cli_model_dir());
    if (!*tok) {
        cli_usage_error(a, "-z TOKENIZER is required with -m MODEL");
        return -1;
    }
    return 0;
}

int cli_sampling_opts(cli_args *a, veil_gen_opts *o)
{
    long steps;
    double temp, topp;
    uint64_t seed;
    if (cli_int(a, "steps", 256, 0, 1 << 24, &steps) || cli_float(a, "temperature", 1.0, 0, 100, &temp) ||
        cli_float(a, "topp", 0.9, 0, 1, &topp) || cli_u64(a, "seed", 0, &seed))
        return -1;
    if (seed == 0) seed = (uint64_t)time(NULL);
    *o = (veil_gen_opts){cli_get(a, "prompt"), (int)steps, (float)temp, (float)topp, seed};
    return 0;
}

