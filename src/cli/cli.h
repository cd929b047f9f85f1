/* The veil command line: a table of commands, each with declared options, so
 * that --help, usage errors (exit 2) and parsing behave the same everywhere. */
#ifndef VEIL_CLI_H
#define VEIL_CLI_H

#include <stdint.h>

#include "veil/dp.h"
#include "veil/generate.h"

typedef struct {
    const char *lng;  /* long name without dashes */
    char shrt;        /* short letter or 0 */
    const char *arg;  /* argument placeholder, NULL for a flag */
    const char *help;
} cli_opt;

typedef struct cli_cmd cli_cmd;
typedef struct {
    const cli_cmd *cmd;
    const char *val[48]; /* per option index: its argument, "1" for flags, or NULL */
    int npos;
    char **pos;          /* positional arguments */
} cli_args;

struct cli_cmd {
    const char *name;    /* "generate", "model info", ... */
    const char *usage;   /* positional part of the synopsis */
    const char *summary;
    const cli_opt *opts; /* terminated by {0} */
    int (*run)(cli_args *a);
};

/* Exit codes */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Option lookup by long name: the value or NULL. */
const char *cli_get(const cli_args *a, const char *lng);
int cli_has(const cli_args *a, const char *lng);
/* Typed getters; on a bad value they print the error and return -1. */
int cli_int(const cli_args *a, const char *lng, long dflt, long min, long max, long *out);
int cli_float(const cli_args *a, const char *lng, double dflt, double min, double max,
              double *out);
int cli_u64(const cli_args *a, const char *lng, uint64_t dflt, uint64_t *out);
/* Print "veil: CMD: message" and return CLI_USAGE (after the usage line). */
int cli_usage_error(const cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print "veil: message" (plus veil_last_error when from_lib) and return CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail_lib(const char *what);
/* Write n bytes to path (created or truncated); CLI_OK or cli_fail's code. */
int cli_write_file(const char *path, const uint8_t *b, size_t n);

/* Default model paths: $VEIL_MODEL_DIR or ../shared/models. */
const char *cli_model_dir(void);
/* Resolve -m/-z with defaults to the shared stories260K model; returns 0 and
 * fills paths (caller-sized 4096) or prints an error. */
int cli_model_paths(const cli_args *a, char *model, char *tok);

/* -i/-n/-t/-p/-s as run.c reads them (seed 0 or absent = time). */
int cli_sampling_opts(cli_args *a, veil_gen_opts *o);

/* DP noise on the hidden states a client sends (veil/dp.h): put CLI_DP_OPTS
 * in a command's option table, then cli_dp_opts reads the parameters
 * (*on = 0 when --dp-eps is absent) and cli_dp_setup also calibrates the
 * mechanism for width dim and starts the noise RNG (keyed by the OS CSPRNG;
 * --dp-seed only for reproducible tests).  Both return 0, CLI_USAGE or
 * CLI_FAIL (message printed); defined in cmd_privacy.c. */
#define CLI_DP_OPTS                                                                         \
    {"dp-eps", 0, "EPS", "noise hidden states leaving the client: epsilon per token"},     \
        {"dp-delta", 0, "DELTA", "Gaussian delta per token (default 1e-5)"},               \
        {"dp-clip", 0, "C", "clip each state to L2 norm C before noise (default 1)"},      \
        {"dp-mech", 0, "gauss|dx", "analytic Gaussian (default) or metric-DP dx noise"},   \
        {"dp-seed", 0, "SEED", "reproducible noise for tests (default: OS CSPRNG key)"}
int cli_dp_opts(cli_args *a, veil_dp_params *p, int *on);
int cli_dp_setup(cli_args *a, int dim, veil_dp_mech *mech, veil_dp_rng **rng, int *on);

/* Command tables of each module (defined in cmd_*.c). */
extern const cli_cmd cli_cmds_model[];
extern const cli_cmd cli_cmds_generate[];
extern const cli_cmd cli_cmds_privacy[];
extern const cli_cmd cli_cmds_tee[];
extern const cli_cmd cli_cmds_net[];
extern const cli_cmd cli_cmds_verify[];
extern const cli_cmd cli_cmds_zk[];
extern const cli_cmd cli_cmds_zkinfer[];

#endif
