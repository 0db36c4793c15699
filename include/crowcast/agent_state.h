/* The agent's state file DIR/.crowcast-agent, sans I/O: per release name the release it runs and the
 * one it ran before (the rollback target), and the reports not yet acknowledged by the tracker (so a
 * restarted agent sends them again). Bencoded:
 *
 *   d6:outboxld6:detail..2:oki1e7:rollouti3e3:seqi<n>e4:step8:downloadee
 *    8:releasesld7:current64:<hex>4:name3:app8:previous64:<hex>ee3:seqi<n>e7:versioni1ee
 * (seq is absent from a file written before reports were numbered).
 *
 * Decoding is strict (types, hex ids, safe names, no duplicate name, bounded counts): a state file
 * that does not decode is never half-used. Releases are kept most recently changed first.
 */
#ifndef CROWCAST_AGENT_STATE_H
#define CROWCAST_AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/agent_proto.h"

#define CROW_AGENT_STATE_FILE ".crowcast-agent"
#define CROW_AGENT_MAX_NAMES  16
#define CROW_AGENT_MAX_OUTBOX 32
#define CROW_AGENT_DETAIL_MAX 200
#define CROW_AGENT_STATE_MAX  (CROW_AGENT_MAX_NAMES * 512 + CROW_AGENT_MAX_OUTBOX * 320 + 64)

typedef struct crow_agent_release {
    char name[CROW_AGENT_NAME_MAX + 1];
    char current[CROW_RELEASE_HEX + 1];  /* "" when nothing is active */
    char previous[CROW_RELEASE_HEX + 1]; /* "" when there was nothing before */
} crow_agent_release_t;

typedef struct crow_agent_report {
    uint32_t rollout;
    enum crow_step step;
    bool ok;
    char detail[CROW_AGENT_DETAIL_MAX + 1];
    uint64_t seq; /* strictly increasing per host (crow_agent_state_queue); 0 in an old state file */
} crow_agent_report_t;

typedef struct crow_agent_state {
    crow_agent_release_t releases[CROW_AGENT_MAX_NAMES];
    uint32_t release_count;
    crow_agent_report_t outbox[CROW_AGENT_MAX_OUTBOX];
    uint32_t outbox_count;
    uint64_t seq; /* the last report sequence given out */
} crow_agent_state_t;

/* Writes the state into buf[0..cap). Returns the length or CROW_ESPACE / CROW_EPARSE (a field the
 * decoder would refuse). */
long crow_agent_state_encode(const crow_agent_state_t *s, uint8_t *buf, size_t cap);
/* Reads a state file's bytes. Returns 0, or CROW_EPARSE / CROW_ELIMIT with *why. */
int crow_agent_state_decode(const uint8_t *buf, size_t len, crow_agent_state_t *s, const char **why);

/* The entry of name, or NULL. */
crow_agent_release_t *crow_agent_state_find(crow_agent_state_t *s, const char *name);
/* Records that name now runs release id (previous := the old current, unless it is the same id) and
 * moves the entry first. A new name takes the place of the least recently changed one when full. */
void crow_agent_state_switch(crow_agent_state_t *s, const char *name, const char *id);
/* Records a rollback: name runs id now (previous is cleared: a rollback is not rolled back). */
void crow_agent_state_rollback(crow_agent_state_t *s, const char *name, const char *id);
/* Appends a report numbered max(last + 1, now_us) (wall-clock microseconds: the numbers keep growing
 * even when the state file is lost); the oldest is dropped when the outbox is full. */
void crow_agent_state_queue(crow_agent_state_t *s, const crow_agent_report_t *r, uint64_t now_us);
/* Removes the first report of the outbox (it was answered). */
void crow_agent_state_pop(crow_agent_state_t *s);

#endif
