/* The tracker's check of a signed control request (control_auth.h), sans I/O: the identity is in the
 * keys, the signature is right, the timestamp is within the replay window of now (the caller's wall
 * clock, in seconds) and the nonce was not seen within it. A request that passes has its nonce
 * remembered until its timestamp leaves the window, so the same bytes sent again are refused.
 *
 * Memory: the keys (sorted copies, at most CROW_VERIFIER_MAX_KEYS: 1.6 MiB) and a nonce table of
 * CROW_VERIFIER_NONCES slots by default (4 MiB), allocated once. When a nonce finds no free slot in its
 * probe range (more signed requests within the window than the table holds) the request is refused
 * (503): a replay is never let through for want of room.
 */
#ifndef CROWCAST_CONTROL_VERIFIER_H
#define CROWCAST_CONTROL_VERIFIER_H

#include <stdint.h>

#include "crowcast/control_auth.h"
#include "crowcast/http.h"

#define CROW_VERIFIER_MAX_KEYS 16384
#define CROW_VERIFIER_NONCES   (1u << 18)
#define CROW_VERIFIER_WINDOW_S 30 /* default: a timestamp may be this far from now, either way */

typedef struct crow_control_verifier crow_control_verifier_t;

/* window_s and nonces (slots of the nonce table) 0 take the defaults. Returns 0 or -ENOMEM. */
int crow_control_verifier_new(crow_control_verifier_t **out, uint32_t window_s, uint32_t nonces);
void crow_control_verifier_free(crow_control_verifier_t *v);

/* Replaces the identities (a reload: removed ones are refused from now on; remembered nonces stay).
 * Returns 0 or CROW_ELIMIT (too many; the old keys stay). */
int crow_control_verifier_set_keys(crow_control_verifier_t *v, const crow_control_auth_key_t *keys,
                                   size_t count);
size_t crow_control_verifier_key_count(const crow_control_verifier_t *v);

typedef struct crow_verdict {
    int status;                         /* 0 accepted; else the HTTP status to refuse with: 401 or 503 */
    const char *why;                    /* static text of the refusal */
    const crow_control_auth_key_t *key; /* accepted: the identity (valid until the next set_keys) */
    crow_control_auth_claim_t claim;    /* what the header claimed (kind and name even when refused) */
} crow_verdict_t;

/* Checks req's Authorization header at now_s. Returns 0 (accepted) or CROW_EPROTO (see out). */
int crow_control_verifier_check(crow_control_verifier_t *v, const crow_http_request_t *req, uint64_t now_s,
                                crow_verdict_t *out);

#endif
