/* Attestation policy files: "key = value" lines. */
#include "tee_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Paths in a policy are relative to the policy file's directory. */
static int set_path(char dst[4096], const char *policy, const char *v)
{
    const char *slash = strrchr(policy, '/');
    int k = v[0] != '/' && slash ? snprintf(dst, 4096, "%.*s/%s", (int)(slash - policy), policy, v)
                                 : snprintf(dst, 4096, "%s", v);
    return k < 0 || k >= 4096 ? veil_fail(VEIL_EINVAL, "path too long") : 0;
}

static int hex48(const char *v, uint8_t out[48])
{
    if (strlen(v) != 96 || veil_unhex(v, out, 48))
        return veil_fail(VEIL_EINVAL, "expected 96 hex digits (48 bytes)");
    return 0;
}

static int flag(const char *v, int *out)
{
    if (strcmp(v, "0") && strcmp(v, "1")) return veil_fail(VEIL_EINVAL, "expected 0 or 1");
    *out = v[0] == '1';
    return 0;
}

static int snp_tcb(const char *v, uint8_t out[4])
{
    unsigned a, b, c, d;
    char end;
    if (sscanf(v, "%u.%u.%u.%u%c", &a, &b, &c, &d, &end) != 4 || a > 255 || b > 255 || c > 255 ||
        d > 255)
        return veil_fail(VEIL_EINVAL, "expected BOOTLOADER.TEE.SNP.MICROCODE (each 0..255)");
    out[0] = (uint8_t)a, out[1] = (uint8_t)b, out[2] = (uint8_t)c, out[3] = (uint8_t)d;
    return 0;
}

static int apply(veil_policy *p, const char *file, const char *k, const char *v)
{
    if (!strcmp(k, "sim_root")) return set_path(p->sim_root, file, v);
    if (!strcmp(k, "snp_ark")) return set_path(p->snp_ark, file, v);
    if (!strcmp(k, "snp_ask")) return set_path(p->snp_ask, file, v);
    if (!strcmp(k, "tdx_root")) return set_path(p->tdx_root, file, v);
    if (!strcmp(k, "measurement") || !strcmp(k, "mrtd")) {
        if (p->nmeas >= VEIL_POLICY_MAX_MEAS)
            return veil_fail(VEIL_ERANGE, "more than %d measurements", VEIL_POLICY_MAX_MEAS);
        int rc = hex48(v, p->meas[p->nmeas]);
        if (!rc) p->nmeas++;
        return rc;
    }
    if (!strncmp(k, "rtmr", 4) && k[4] >= '0' && k[4] <= '3' && !k[5]) {
        p->rtmr_set[k[4] - '0'] = 1;
        return hex48(v, p->rtmr[k[4] - '0']);
    }
    if (!strcmp(k, "any_measurement")) return flag(v, &p->any_measurement);
    if (!strcmp(k, "allow_debug")) return flag(v, &p->allow_debug);
    if (!strcmp(k, "allow_sim")) return flag(v, &p->allow_sim);
    if (!strcmp(k, "snp_min_tcb")) return snp_tcb(v, p->snp_min_tcb);
    if (!strcmp(k, "tdx_min_svn")) {
        if (strlen(v) != 32 || veil_unhex(v, p->tdx_min_svn, 16))
            return veil_fail(VEIL_EINVAL, "expected 32 hex digits (16 bytes)");
        return 0;
    }
    if (!strcmp(k, "min_tee_type")) {
        p->min_tee_type = veil_tee_type_parse(v);
        return p->min_tee_type < 0 ? veil_fail(VEIL_EINVAL, "expected none, cpu-tee or gpu-tee") : 0;
    }
    if (!strcmp(k, "backend")) {
        p->backend = veil_tee_backend_parse(v);
        return p->backend ? 0 : veil_fail(VEIL_EINVAL, "expected sim, sev-snp or tdx");
    }
    return veil_fail(VEIL_EINVAL, "unknown key '%s'", k);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1])) s[--n] = '\0';
    return s;
}

int veil_policy_load(const char *path, veil_policy *p)
{
    memset(p, 0, sizeof *p);
    p->allow_sim = 1;
    FILE *f = fopen(path, "r");
    if (!f) return veil_fail(VEIL_EIO, "cannot open policy %s: %s", path, strerror(errno));
    char line[8192];
    int ln = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        ln++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = veil_fail(VEIL_EINVAL, "%s:%d: expected key = value", path, ln);
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        if (apply(p, path, k, v)) {
            char why[300];
            snprintf(why, sizeof why, "%s", veil_last_error());
            rc = veil_fail(VEIL_EINVAL, "%s:%d: %s: %s", path, ln, k, why);
        }
    }
    fclose(f);
    return rc;
}

int veil_policy_sim(const char *dir, veil_policy *p)
{
    memset(p, 0, sizeof *p);
    p->allow_sim = 1;
    p->any_measurement = 1;
    p->backend = VEIL_TEE_BACKEND_SIM;
    int k = snprintf(p->sim_root, sizeof p->sim_root, "%s/root.crt", dir);
    return k < 0 || k >= (int)sizeof p->sim_root ? veil_fail(VEIL_EINVAL, "path too long") : 0;
}
