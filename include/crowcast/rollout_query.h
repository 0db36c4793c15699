/* The tracker's side of the rollout endpoints (issue 9 contract), sans I/O: the query strings of
 * /agent/poll, /agent/report, /agent/torrent and /rollout/... decoded into checked values, and the
 * bencoded answer to a poll. The agent's side (request targets, answer decoding) is agent_proto.h.
 *
 * Every value is percent-decoded; a value holding a NUL byte, a bad escape or more bytes than its
 * field is refused, as is a missing mandatory key. Unknown keys are ignored (room for later fields).
 */
#ifndef CROWCAST_ROLLOUT_QUERY_H
#define CROWCAST_ROLLOUT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/http.h"
#include "crowcast/journal.h"
#include "crowcast/rollout.h"

#define CROW_POLL_WAIT_MAX 30 /* seconds a poll may be held */

/* /agent/poll?host=NAME&rack=RACK&current=RELID&wait=SECONDS */
typedef struct crow_poll_query {
    char host[CROW_JREC_HOST_MAX + 1];
    char rack[CROW_RACK_NAME_MAX + 1]; /* "" when absent or empty */
    char current[65];                  /* 64 hex digits, or "" when absent or empty */
    uint32_t wait_s;                   /* 0..CROW_POLL_WAIT_MAX; 0 when absent */
} crow_poll_query_t;

/* /agent/report?host=NAME&rollout=N&step=STEP&status=ok|failed&detail=TEXT */
typedef struct crow_report_query {
    char host[CROW_JREC_HOST_MAX + 1];
    uint32_t rollout;
    enum crow_step step;
    bool ok;
    char detail[CROW_JREC_TEXT_MAX + 1]; /* "" when absent */
    uint64_t seq;                        /* the agent's sequence number; 0 when absent */
} crow_report_query_t;

/* /rollout/start?torrent=PATH&plan=PLANTEXT&distribute=all|per-wave */
typedef struct crow_start_query {
    char torrent[CROW_JREC_PATH_MAX + 1]; /* an absolute path */
    char plan[CROW_PLAN_MAX_TEXT + 1];
    enum crow_distribute distribute; /* CROW_DISTRIBUTE_ALL when absent */
} crow_start_query_t;

/* Each parser returns 0, or CROW_EPARSE with *why (a static text naming the key) set. */
int crow_poll_query_parse(crow_http_str_t query, crow_poll_query_t *out, const char **why);
int crow_report_query_parse(crow_http_str_t query, crow_report_query_t *out, const char **why);
int crow_start_query_parse(crow_http_str_t query, crow_start_query_t *out, const char **why);

/* The decoded value of key (the first occurrence) into out, NUL-terminated. Returns 0 when found,
 * 1 when absent (out is ""), CROW_EPARSE for a bad escape or a NUL byte, CROW_ELIMIT when it does not
 * fit cap bytes with its NUL. */
int crow_query_value(crow_http_str_t query, const char *key, char *out, size_t cap);

/* The answer to a poll: d8:intervali<s>e4:name<..>5:order<..>7:release<..>7:rollouti<n>ee (keys in
 * bencode order). name and release may be "". Returns the length or CROW_ESPACE. */
long crow_poll_answer_encode(uint8_t *buf, size_t cap, enum crow_order order, uint32_t rollout,
                             const char *release, const char *name, uint32_t interval);

#endif
