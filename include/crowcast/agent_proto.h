/* The agent's side of the rollout protocol (/agent/poll, /agent/torrent, /agent/report), sans I/O:
 * request targets with percent-encoded values, and strict decoding of the tracker's bencoded answers.
 * Nothing here allocates; an answer is never trusted (types, ranges, release ids, release names).
 */
#ifndef CROWCAST_AGENT_PROTO_H
#define CROWCAST_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/rollout.h"

#define CROW_RELEASE_HEX        64 /* a release id in hex */
#define CROW_AGENT_NAME_MAX     255
#define CROW_AGENT_WAIT_MAX     30    /* seconds a poll may be held (the contract's bound) */
#define CROW_AGENT_INTERVAL_MAX 86400 /* larger "interval" answers are refused */

/* One answer to /agent/poll. */
typedef struct crow_agent_order {
    enum crow_order order;
    uint32_t rollout;                   /* > 0 unless order is NONE */
    char release[CROW_RELEASE_HEX + 1]; /* lower-case hex; "" only for NONE or a rollback to nothing */
    char name[CROW_AGENT_NAME_MAX + 1]; /* a safe single path component ("" only for NONE) */
    uint32_t interval;                  /* seconds; 0 when absent */
    char failure[256];                  /* the tracker's refusal ("failure reason"), else "" */
} crow_agent_order_t;

/* True when text is exactly 64 lower-case hex digits. */
bool crow_agent_release_valid(const char *text);
/* True when text can name a directory under the agent's DIR: one path component, not "." or "..",
 * not starting with '.', printable ASCII without '/' or spaces, at most 255 bytes. */
bool crow_agent_name_valid(const char *text);

/* Decodes a /agent/poll answer. Returns 0 (an order, maybe NONE), CROW_EPROTO (the tracker refused:
 * out->failure says why) or CROW_EPARSE (malformed, *why says what). */
int crow_agent_order_decode(const uint8_t *buf, size_t len, crow_agent_order_t *out, const char **why);

/* Decodes a /agent/report answer: 0 acknowledged (d2:oki1ee), CROW_EPROTO refused (the reason is
 * copied into failure, cap bytes with the NUL), CROW_EPARSE anything else. A refusal is an answer
 * too: the report must not be sent again. */
int crow_agent_ack_decode(const uint8_t *buf, size_t len, char *failure, size_t cap);

/* Request targets (origin-form) below prefix (the tracker URL's path without a trailing '/', may be
 * ""). Every value is percent-encoded. Return the length, or CROW_ESPACE. rack and current may be
 * "" or NULL (sent empty / left out); a report's seq 0 is left out. */
long crow_agent_poll_target(char *buf, size_t cap, const char *prefix, const char *host, const char *rack,
                            const char *current, unsigned wait);
long crow_agent_torrent_target(char *buf, size_t cap, const char *prefix, const char *release);
long crow_agent_report_target(char *buf, size_t cap, const char *prefix, const char *host, uint32_t rollout,
                              enum crow_step step, bool ok, const char *detail, uint64_t seq);

#endif
