/* Hardware evidence through Linux configfs-tsm (/sys/kernel/config/tsm/report):
 * create a report directory, check its provider, write the 64-byte inblob
 * (report_data), read outblob (SEV-SNP report or TDX quote) and auxblob (SNP
 * certificate table, when the host provides one), remove the directory. */
#include "tee_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int entry(char *out, size_t n, const char *dir, const char *file)
{
    int k = snprintf(out, n, "%s/%s", dir, file);
    return k < 0 || (size_t)k >= n ? veil_fail(VEIL_EINVAL, "configfs-tsm path too long") : 0;
}

static int check_provider(const char *rep, const char *want)
{
    char path[4400];
    uint8_t *txt;
    size_t n;
    int rc = entry(path, sizeof path, rep, "provider");
    if (!rc) rc = tee_read_file(path, 64, &txt, &n);
    if (rc) return rc;
    while (n && (txt[n - 1] == '\n' || txt[n - 1] == '\0')) n--;
    int ok = n == strlen(want) && memcmp(txt, want, n) == 0;
    if (!ok)
        rc = veil_fail(VEIL_EINVAL, "this guest's attestation provider is '%.*s', not '%s'",
                       (int)n, (const char *)txt, want);
    free(txt);
    return rc;
}

static int write_inblob(const char *rep, const uint8_t rd[64])
{
    char path[4400];
    int rc = entry(path, sizeof path, rep, "inblob");
    if (rc) return rc;
    int fd = open(path, O_WRONLY);
    if (fd < 0) return veil_fail(VEIL_EIO, "cannot open %s: %s", path, strerror(errno));
    ssize_t w = write(fd, rd, 64);
    int e = errno;
    close(fd);
    return w == 64 ? 0 : veil_fail(VEIL_EIO, "cannot write %s: %s", path, strerror(e));
}

static int collect_in(const char *rep, const char *provider, const uint8_t rd[64], uint8_t **out,
                      size_t *nout, uint8_t **aux, size_t *naux)
{
    char path[4400];
    int rc = check_provider(rep, provider);
    if (!rc) rc = write_inblob(rep, rd);
    if (!rc) rc = entry(path, sizeof path, rep, "outblob");
    if (!rc) rc = tee_read_file(path, VEIL_EVIDENCE_MAX, out, nout);
    if (!rc && !*nout) rc = veil_fail(VEIL_EIO, "configfs-tsm returned an empty report");
    /* the certificate table is optional: hosts may not supply one */
    if (!rc && entry(path, sizeof path, rep, "auxblob") == 0 &&
        tee_read_file(path, VEIL_EVIDENCE_MAX, aux, naux) != 0) {
        *aux = NULL;
        *naux = 0;
    }
    return rc;
}

int tee_tsm_collect(const char *dir, const char *provider, const uint8_t rd[64], uint8_t **out,
                    size_t *nout, uint8_t **aux, size_t *naux)
{
    static atomic_uint counter;
    struct stat st;
    char rep[4200];
    *out = *aux = NULL;
    *nout = *naux = 0;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return veil_fail(VEIL_EIO, "configfs-tsm is not available at %s (not a confidential guest, "
                                   "or configfs not mounted)", dir);
    int k = snprintf(rep, sizeof rep, "%s/veil-%ld-%u", dir, (long)getpid(),
                     atomic_fetch_add(&counter, 1));
    if (k < 0 || k >= (int)sizeof rep) return veil_fail(VEIL_EINVAL, "configfs-tsm path too long");
    if (mkdir(rep, 0700)) return veil_fail(VEIL_EIO, "cannot create %s: %s", rep, strerror(errno));
    int rc = collect_in(rep, provider, rd, out, nout, aux, naux);
    rmdir(rep);
    if (rc) {
        free(*out);
        free(*aux);
        *out = *aux = NULL;
        *nout = *naux = 0;
    }
    return rc;
}
