/* veil attestation: collect evidence of what a node runs and verify it.
 *
 *   collect(backend, report_data[64])                        -> evidence
 *   verify(evidence, policy, expected_report_data[64])      -> claims | reason
 *
 * Channel binding: on a TLS stream the verifier sends a fresh 32-byte nonce and
 * expects report_data = SHA-512(nonce || tls-exporter) (veil_attest_binding),
 * so evidence relayed from another connection or replayed from an earlier one
 * fails the report_data check.
 *
 * Backends:
 *   sim      a software TEE for machines without TEE hardware. A simulated
 *            vendor root (veil_sim_authority_init) certifies platform keys
 *            (ECDSA P-384); a report carries a measurement = SHA-384 over the
 *            node binary, its configuration and the shard weights it holds.
 *            It proves nothing about isolation: whoever holds the platform key
 *            can sign any measurement. Every claim from it says "simulated".
 *   sev-snp  AMD SEV-SNP: the 1184-byte attestation report (ABI spec), ECDSA
 *            P-384 signature by the VCEK, VCEK -> ASK -> ARK (RSA-PSS) to the
 *            ARK configured in the policy, VCEK TCB extensions equal to the
 *            report's REPORTED_TCB, minimum TCB, debug policy refused,
 *            measurement allow-list, report_data.
 *   tdx      Intel TDX quote v4 (48-byte header, 584-byte TD report body):
 *            attestation-key ECDSA P-256 signature, QE report signed by the PCK
 *            and binding the attestation key, PCK chain to the root configured
 *            in the policy, debug TD refused, minimum TEE_TCB_SVN, MRTD/RTMR
 *            allow-list, report_data.
 * Hardware collection goes through Linux configfs-tsm
 * (/sys/kernel/config/tsm/report) and fails with a clear reason elsewhere.
 *
 * Evidence envelope (all integers little-endian), at most VEIL_EVIDENCE_MAX:
 *   "VEILEVD1" | u32 backend | u32 nparts (1..8) | nparts x (u32 len | bytes)
 *   sim:     part 0 = sim report (VEIL_SIM_REPORT_LEN), part 1 = platform cert (DER)
 *   sev-snp: part 0 = report (1184), then VCEK and optionally ASK (DER)
 *   tdx:     part 0 = quote (carries its PCK chain)
 * Every length and offset is checked; malformed input gives VEIL_EINVAL with
 * the reason, a failed check VEIL_EVERIFY with the reason. */
#ifndef VEIL_ATTEST_H
#define VEIL_ATTEST_H

#include "veil/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_EVIDENCE_MAX (64 * 1024)
#define VEIL_SNP_REPORT_LEN 1184
#define VEIL_TDX_HEADER_LEN 48
#define VEIL_TDX_BODY_LEN 584
#define VEIL_SIM_REPORT_LEN 256
#define VEIL_NONCE_LEN 32

typedef enum {
    VEIL_TEE_BACKEND_SIM = 1,
    VEIL_TEE_BACKEND_SEV_SNP = 2,
    VEIL_TEE_BACKEND_TDX = 3,
} veil_tee_backend;

typedef enum {
    VEIL_TEE_TYPE_NONE = 0,
    VEIL_TEE_TYPE_CPU = 1,
    VEIL_TEE_TYPE_GPU = 2,
} veil_tee_type;

/* "sim", "sev-snp", "tdx" <-> enum; 0 / NULL when unknown. */
int veil_tee_backend_parse(const char *name);
const char *veil_tee_backend_name(int backend);
/* "none", "cpu-tee", "gpu-tee" */
const char *veil_tee_type_name(int type);
int veil_tee_type_parse(const char *name); /* -1 when unknown */

/* What a verified piece of evidence says. */
typedef struct {
    int backend;               /* veil_tee_backend */
    int simulated;             /* 1 for the sim backend: no hardware isolation */
    int tee_type;              /* veil_tee_type as attested */
    uint64_t capacity_bytes;   /* memory for weights/KV (sim: attested; hw: 0) */
    uint32_t gpus;             /* GPU count (sim: attested; hw: 0) */
    uint8_t measurement[48];   /* sim/SNP measurement, TDX MRTD */
    uint8_t rtmr[4][48];       /* TDX only */
    uint8_t report_data[64];
    uint64_t tcb;              /* SNP REPORTED_TCB; TDX: first 8 bytes of TEE_TCB_SVN */
    int debug;                 /* always 0 after verification (debug is refused) */
    char platform[65];         /* hex SHA-256 of the signing platform key / chip id */
} veil_claims;

/* Print the claims as "key: value" lines (simulated ones say so). */
void veil_claims_print(const veil_claims *c, void *file /* FILE* */);

#define VEIL_POLICY_MAX_MEAS 32

/* Verification policy. Zero-initialise, then fill or veil_policy_load(). */
typedef struct {
    /* trust anchors (PEM files): sim authority root cert, AMD ARK, Intel root */
    char sim_root[4096];
    char snp_ark[4096];
    char snp_ask[4096];   /* optional: ASK when the evidence carries none */
    char tdx_root[4096];
    /* allow-lists: measurement (sim/SNP) or MRTD (TDX); empty = any
     * (accepting any measurement must be explicit: any_measurement = 1) */
    uint8_t meas[VEIL_POLICY_MAX_MEAS][48];
    size_t nmeas;
    int any_measurement;
    /* TDX RTMRs: rtmr_set[i] = 1 requires RTMR i to equal rtmr[i] */
    uint8_t rtmr[4][48];
    int rtmr_set[4];
    /* minimum TCB: SNP components (boot loader, tee, snp, microcode) and TDX
     * TEE_TCB_SVN bytes; compared component-wise */
    uint8_t snp_min_tcb[4];
    uint8_t tdx_min_svn[16];
    int allow_debug;       /* refused unless 1 (tests of the debug check only) */
    int allow_sim;         /* accept the sim backend (default 1 from _load) */
    int min_tee_type;      /* e.g. VEIL_TEE_TYPE_GPU to require GPU TEEs */
    int backend;           /* 0 = any, else the only accepted backend */
} veil_policy;

/* Load "key = value" lines ('#' comments): sim_root, snp_ark, snp_ask,
 * tdx_root (paths, relative to the policy file), measurement = HEX (repeat),
 * any_measurement = 0|1, rtmr0..rtmr3 = HEX, snp_min_tcb = BL.TEE.SNP.UCODE,
 * tdx_min_svn = HEX (16 bytes), allow_sim = 0|1, min_tee_type = none|cpu-tee|
 * gpu-tee, backend = sim|sev-snp|tdx. Unknown keys are errors. */
int veil_policy_load(const char *path, veil_policy *p);
/* A default policy for a sim authority directory: sim only, root DIR/root.crt,
 * any measurement. */
int veil_policy_sim(const char *authority_dir, veil_policy *p);

/* Verify evidence. expected_report_data must match the evidence exactly. */
int veil_attest_verify(const uint8_t *ev, size_t n, const veil_policy *p,
                       const uint8_t expected_report_data[64], veil_claims *out);

/* ---- attester side ---- */

typedef struct veil_attester veil_attester;

typedef struct {
    int backend;                 /* veil_tee_backend */
    const char *authority_dir;   /* sim: holds platform.key / platform.crt */
    const uint8_t *measurement;  /* sim: 48 bytes (veil_measure_*); NULL = of
                                  * this executable alone */
    int tee_type;                /* sim: what the simulated platform reports */
    uint64_t capacity_bytes;     /* sim: reported capacity */
    uint32_t gpus;
    const char *tsm_dir;         /* hw: configfs-tsm root; NULL = default */
} veil_attester_opts;

int veil_attester_open(const veil_attester_opts *o, veil_attester **out);
void veil_attester_free(veil_attester *a);
/* Collect evidence over report_data; *ev is malloc'ed (caller frees). */
int veil_attest_collect(veil_attester *a, const uint8_t report_data[64], uint8_t **ev, size_t *n);

/* ---- measurement (sim): SHA-384 over length-framed inputs ---- */

typedef struct veil_measure veil_measure;
int veil_measure_new(veil_measure **out);
/* Add one labelled input ("binary", "config", "weights", ...): a buffer or a
 * whole file. Order matters. */
int veil_measure_add(veil_measure *m, const char *label, const void *data, size_t n);
int veil_measure_file(veil_measure *m, const char *label, const char *path);
/* Finish (frees m). */
int veil_measure_final(veil_measure *m, uint8_t out[48]);
/* The sim node measurement: binary (NULL = this executable), then config and
 * weights when not NULL. */
int veil_measure_node(const char *binary, const char *config, const char *weights,
                      uint8_t out[48]);

/* ---- simulated vendor authority ---- */

/* Create DIR with root.key/root.crt (the simulated vendor root, ECDSA P-384)
 * and platform.key/platform.crt (one platform key certified by it). */
int veil_sim_authority_init(const char *dir);
/* Certify a further platform key: writes PREFIX.key / PREFIX.crt. */
int veil_sim_platform_issue(const char *authority_dir, const char *prefix);

/* ---- channel binding and the challenge/response exchange on a stream ---- */

/* report_data = SHA-512(nonce || exporter). */
void veil_attest_binding(const uint8_t nonce[VEIL_NONCE_LEN], const uint8_t exporter[32],
                         uint8_t report_data[64]);

/* Verifier: send a fresh nonce, read the peer's evidence, verify it against
 * this stream's tls-exporter. Fails on a plaintext stream. With optional = 1
 * a peer that answers "no evidence" (it has no attester, e.g. the user's
 * client) is accepted as unattested: 0 with out->backend == 0. */
int veil_attest_challenge(veil_stream *s, const veil_policy *p, int optional, veil_claims *out);
/* Attester: answer one challenge with evidence bound to this stream; a = NULL
 * answers "no evidence". */
int veil_attest_respond(veil_stream *s, veil_attester *a);

/* Both directions on a fresh TLS stream, in a fixed order: the connecting
 * side (initiator = 1) challenges first and then answers; the accepting side
 * answers first and then challenges. The connecting side always requires
 * evidence (data flows to the peer it connects to); the accepting side
 * requires it only with VEIL_ATTEST_REQUIRE_PEER, otherwise an unattested
 * peer (a user's client) is accepted with peer->backend == 0. Two attested
 * nodes thus attest each other (mutual attestation between neighbours). */
#define VEIL_ATTEST_REQUIRE_PEER 1
int veil_attest_mutual(veil_stream *s, int initiator, veil_attester *a, const veil_policy *p,
                       int flags, veil_claims *peer);

/* ---- raw formats (exposed for tests and fuzzing) ---- */

typedef struct {
    uint32_t version, guest_svn, vmpl, sig_algo;
    uint64_t policy, current_tcb, reported_tcb, platform_info;
    const uint8_t *report_data, *measurement, *host_data, *chip_id;
    const uint8_t *sig_r, *sig_s; /* 72 bytes each, little-endian */
    const uint8_t *raw;           /* the whole report */
} veil_snp_report;

/* Parse a 1184-byte SEV-SNP report (pointers into buf). */
int veil_snp_parse(const uint8_t *buf, size_t n, veil_snp_report *r);

typedef struct {
    uint16_t version, att_key_type;
    uint32_t tee_type;
    const uint8_t *header, *body;       /* 48 and 584 bytes */
    const uint8_t *tee_tcb_svn, *mrtd, *rtmr[4], *report_data;
    uint64_t td_attributes;
    const uint8_t *sig, *att_key;       /* 64 each: r||s and x||y, big-endian */
    const uint8_t *qe_report;           /* 384 */
    const uint8_t *qe_sig;              /* 64 */
    const uint8_t *qe_auth;
    size_t qe_auth_len;
    const uint8_t *pck_chain;           /* PEM text */
    size_t pck_chain_len;
} veil_tdx_quote;

/* Parse a TDX quote v4 (pointers into buf). */
int veil_tdx_parse(const uint8_t *buf, size_t n, veil_tdx_quote *q);

/* Envelope: parse into at most 8 parts (pointers into buf). */
typedef struct {
    uint32_t backend;
    uint32_t nparts;
    const uint8_t *part[8];
    size_t len[8];
} veil_evidence;
int veil_evidence_parse(const uint8_t *buf, size_t n, veil_evidence *e);
/* Serialise parts into a malloc'ed envelope. */
int veil_evidence_build(uint32_t backend, const uint8_t *const *parts, const size_t *lens,
                        uint32_t nparts, uint8_t **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
