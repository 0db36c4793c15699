/* The control plane's identities and request signatures, sans I/O (the tracker's /rollout/... and
 * /agent/... state changes; see README "Control plane").
 *
 * An identity is a kind (operator or agent), a name (an operator's name, or the host name an agent
 * polls for) and a 32-byte secret shared by the tracker and that one client. Key line, the format of
 * the tracker's --auth file (one identity a line, '#' comments) and of a client's key file (one line):
 *     operator alice 6f1c...(64 hex digits)
 *     agent web-17 9a0b...
 * A request is signed with an Authorization header; the secret never crosses the wire:
 *     Authorization: Crowcast-HMAC-SHA256 id=agent:web-17,ts=1764700000,nonce=<32 hex>,sig=<64 hex>
 * sig = HMAC-SHA256(secret, "crowcast-control-1\n" METHOD "\n" PATH "\n" QUERY "\n" KIND ":" NAME "\n"
 * TS "\n" NONCE), with PATH and QUERY exactly as they appear in the request line (still percent-encoded,
 * QUERY without its '?'), TS decimal seconds since the epoch and NONCE the 32 hex digits as sent.
 * The tracker signs its 200 answer to a signed request with the same secret, so a client knows the
 * answer (an order, an acknowledgement) comes from the tracker and belongs to its request:
 *     X-Crowcast-Answer: <64 hex> = HMAC-SHA256(secret, "crowcast-answer-1\n" NONCE "\n" STATUS "\n" SHA)
 * with NONCE the request's and SHA the 64 hex digits of the body's SHA-256.
 * Nothing here allocates; the tracker's replay window and nonce cache are control_verifier.h's.
 */
#ifndef CROWCAST_CONTROL_AUTH_H
#define CROWCAST_CONTROL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "crowcast/mac.h"
#include "crowcast/random.h"
#include "crowcast/http.h"

#define CROW_AUTH_SECRET_LEN 32
#define CROW_AUTH_NAME_MAX   63 /* like a journaled host name: [A-Za-z0-9._-] */
#define CROW_AUTH_NONCE_LEN  16
#define CROW_AUTH_SCHEME     "Crowcast-HMAC-SHA256"
#define CROW_AUTH_HEADER_MAX 256 /* an Authorization value always fits */
#define CROW_AUTH_LINE_MAX   (16 + CROW_AUTH_NAME_MAX + 2 * CROW_AUTH_SECRET_LEN) /* a key line, \n, NUL */

enum crow_control_auth_kind { CROW_AUTH_OPERATOR = 1, CROW_AUTH_AGENT };

typedef struct crow_control_auth_key {
    enum crow_control_auth_kind kind;
    char name[CROW_AUTH_NAME_MAX + 1];
    uint8_t secret[CROW_AUTH_SECRET_LEN];
} crow_control_auth_key_t;

/* What an Authorization header claims (its signature still to be checked). */
typedef struct crow_control_auth_claim {
    enum crow_control_auth_kind kind;
    char name[CROW_AUTH_NAME_MAX + 1];
    uint64_t ts;
    char nonce[2 * CROW_AUTH_NONCE_LEN + 1];
    uint8_t sig[CROW_HMAC_SHA256_LEN];
} crow_control_auth_claim_t;

/* "operator" / "agent" (NULL for another value) and back (0 when unknown). */
const char *crow_control_auth_kind_name(enum crow_control_auth_kind kind);
enum crow_control_auth_kind crow_control_auth_kind_parse(const char *text, size_t len);

/* Parses one key line (without its '\n'; surrounding blanks allowed). Returns 0, or CROW_EPARSE with
 * *why saying what is wrong. */
int crow_control_auth_key_parse(const char *line, size_t len, crow_control_auth_key_t *out, const char **why);
/* Writes the key line, '\n' and a NUL. Returns its length without the NUL, or CROW_ESPACE. */
long crow_control_auth_key_format(const crow_control_auth_key_t *key, char *buf, size_t cap);

/* Parses a keys file: every line that is not blank or a comment is a key line. Fills keys[0..max) and
 * *count. Returns 0, CROW_EPARSE (*line is the 1-based line, *why the reason; a name given twice for
 * one kind too) or CROW_ELIMIT (more than max identities). */
int crow_control_auth_keys_parse(const char *text, size_t len, crow_control_auth_key_t *keys, size_t max,
                                 size_t *count, unsigned *line, const char **why);

/* The MAC of a request under secret (see the top of this file). */
void crow_control_auth_mac(const uint8_t secret[CROW_AUTH_SECRET_LEN], const crow_control_auth_claim_t *claim,
                           crow_http_str_t method, crow_http_str_t path, crow_http_str_t query,
                           uint8_t out[CROW_HMAC_SHA256_LEN]);

/* Signs METHOD target ("/path?query", origin-form, as sent) at ts with nonce: writes the Authorization
 * header's value with a NUL. Returns its length, or CROW_ESPACE. */
long crow_control_auth_sign(char *buf, size_t cap, const crow_control_auth_key_t *key, const char *method,
                            const char *target, uint64_t ts, const uint8_t nonce[CROW_AUTH_NONCE_LEN]);

#define CROW_AUTH_ANSWER_HEADER "X-Crowcast-Answer"

/* The answer's MAC (see the top of this file) as 64 hex digits and a NUL into hex. */
void crow_control_auth_answer_mac(const uint8_t secret[CROW_AUTH_SECRET_LEN], const char *nonce, int status,
                                  const uint8_t *body, size_t len, char hex[2 * CROW_HMAC_SHA256_LEN + 1]);

/* Parses an Authorization value. Returns 0, or CROW_EPARSE with *why. */
int crow_control_auth_claim_parse(const char *value, size_t len, crow_control_auth_claim_t *out,
                                  const char **why);

#endif
