/* Rollout plans: which racks switch to a new release in which order, and the health gate of each
 * wave. Sans I/O: the caller reads the file and hands over its bytes.
 *
 * Format, one directive a line; '#' starts a comment, blank lines are ignored, fields are separated
 * by spaces or tabs:
 *
 *   defaults OPTION...          options for the waves on the following lines (may repeat)
 *   canary RACK [OPTION...]     the first wave: one rack (only as the first wave)
 *   wave SELECTION [OPTION...]  the next wave. SELECTION is RACK[,RACK...] (racks by name), N%
 *                               (N percent, rounded up, of the racks no wave names, taken in name
 *                               order from those still left) or `rest` (every rack still left)
 *
 * Options (key=value):
 *   healthy=P%   share of the wave's hosts that must end healthy before the wave soaks (1..100,
 *                default 100)
 *   failures=N   the wave halts when N of its hosts failed (download, activation or health check;
 *                1..100000, default 1). At most N - failed hosts activate at once, so a sick wave
 *                stops at the threshold instead of taking every host down.
 *   soak=T       how long a healthy wave is watched before the next starts: N, Ns, Nm or Nh (default 0)
 *   parallel=N   at most N hosts of the wave activate at once (default 0: no other limit)
 *
 * A rack may be named by one wave only; nothing may follow `rest` or 100%. Limits: CROW_PLAN_MAX_WAVES
 * waves, CROW_PLAN_MAX_NAMED racks named in all.
 */
#ifndef CROWCAST_ROLLOUT_PLAN_H
#define CROWCAST_ROLLOUT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/announce.h"

#define CROW_PLAN_MAX_WAVES 32
#define CROW_PLAN_MAX_NAMED 64
/* Bytes of a plan file (it travels in a query string and a journal record). */
#define CROW_PLAN_MAX_TEXT 1024

enum crow_wave_select {
    CROW_WAVE_RACKS,   /* the racks named */
    CROW_WAVE_PERCENT, /* percent of the unnamed racks */
    CROW_WAVE_REST,    /* every unnamed rack still left */
};

typedef struct crow_rollout_plan_wave {
    enum crow_wave_select select;
    bool canary;
    uint32_t first_named, named_count; /* CROW_WAVE_RACKS: range of crow_rollout_plan_t.named */
    uint32_t percent;                  /* CROW_WAVE_PERCENT: 1..100 */
    uint32_t healthy_pct;              /* 1..100 */
    uint32_t max_failures;             /* >= 1 */
    uint32_t soak_s;
    uint32_t parallel; /* 0: no limit */
    unsigned line;     /* where the wave was declared */
} crow_rollout_plan_wave_t;

/* A parsed plan (plain data, about 3 KiB; no dispose needed). */
typedef struct crow_plan {
    crow_rollout_plan_wave_t waves[CROW_PLAN_MAX_WAVES];
    uint32_t wave_count;
    char named[CROW_PLAN_MAX_NAMED][CROW_RACK_NAME_MAX + 1];
    uint32_t named_count;
} crow_rollout_plan_t;

typedef struct crow_rollout_plan_error {
    unsigned line;  /* 1-based line of the problem; 0 for the whole plan */
    char text[160]; /* "line 3: unknown option 'foo=1'" */
} crow_rollout_plan_error_t;

/* Parses a plan. Returns 0, CROW_EPARSE (malformed or inconsistent) or CROW_ELIMIT (too many waves or
 * racks, text over CROW_PLAN_MAX_TEXT); on failure *err names the line and the problem. */
int crow_rollout_plan_parse(crow_rollout_plan_t *p, const char *text, size_t len,
                            crow_rollout_plan_error_t *err);

/* Assigns racks to waves: rack_names[0..rack_count) are every rack the coordinator knows. On success
 * wave_of[i] is the wave of rack i, or UINT32_MAX when the plan leaves it out, and returns 0. Returns
 * CROW_ELIMIT for more than CROW_RACKS_MAX racks, or
 * CROW_EPARSE with *err set when the plan names a rack that is not known, or a wave gets no rack. */
int crow_rollout_plan_assign(const crow_rollout_plan_t *p, const char (*rack_names)[CROW_RACK_NAME_MAX + 1],
                             uint32_t rack_count, uint32_t *wave_of, crow_rollout_plan_error_t *err);

#endif
