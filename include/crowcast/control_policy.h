/* Who may do what at the tracker, sans I/O: which endpoints change state (POST, and an identity of the
 * right kind), which only read (GET; open, or any identity with closed reads), and the answer to a
 * request that may not be served.
 *
 *   operator (POST): /rollout/start, /rollout/pause, /rollout/resume, /rollout/abort, /rollout/rollback
 *   agent (POST):    /agent/poll, /agent/report (the tracker also binds host= to the agent's name)
 *   read (GET):      /status, /metrics, /rollout/status, /agent/torrent
 *   public (GET):    everything else (/announce, /scrape, /probe/...)
 *
 * Without a verifier (no --auth) a state change is refused unless the policy is insecure (every
 * request is believed: loopback demos only). A signed read is checked like a state change (a bad
 * signature is refused even where reads are open), so its answer can be signed back.
 */
#ifndef CROWCAST_CONTROL_POLICY_H
#define CROWCAST_CONTROL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/control_verifier.h"
#include "crowcast/http.h"

enum crow_access { CROW_ACCESS_PUBLIC, CROW_ACCESS_READ, CROW_ACCESS_OPERATOR, CROW_ACCESS_AGENT };

typedef struct crow_control_policy {
    crow_control_verifier_t *verifier; /* borrowed; NULL: no --auth */
    bool insecure;                     /* believe unsigned state changes (--insecure-control) */
    bool closed_reads;                 /* reads need a signed request too (--closed-reads) */
} crow_control_policy_t;

typedef struct crow_admission {
    int status;                              /* 0: serve it; else 401, 403, 405 or 503 */
    const char *extra;                       /* a header line for the refusal ("Allow: POST"), or NULL */
    const crow_control_auth_key_t *who;      /* admitted with an identity, else NULL */
    char nonce[2 * CROW_AUTH_NONCE_LEN + 1]; /* who's request nonce: the tracker signs its answer with it */
    char why[200];                           /* the refusal */
} crow_admission_t;

enum crow_access crow_control_policy_access(crow_http_str_t path);

/* Decides whether req may be served at now_s (wall clock). Returns true (out->who may be NULL: an open
 * read, or an insecure policy) or false with out's refusal. */
bool crow_control_policy_admit(const crow_control_policy_t *p, const crow_http_request_t *req, uint64_t now_s,
                               crow_admission_t *out);

#endif
