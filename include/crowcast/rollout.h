/* The rollout coordinator's state machine, sans I/O: which host is told to download, activate or
 * roll back a release, when a wave advances, halts or is rolled back, and why.
 *
 * Every change goes through a journal record (journal.h): the owner asks crow_rollout_next for the
 * next decision (a record), appends it to the journal and syncs it, then applies it with
 * crow_rollout_apply; inputs (an agent registering or reporting, an operator command) are records too,
 * checked with crow_rollout_check before they are journaled. Replaying a journal through
 * crow_rollout_apply therefore rebuilds exactly the state that wrote it.
 *
 * Per wave: pending -> distributing (its hosts download, or already did with distribution to all)
 * -> activating (hosts are told to activate, at most min(parallel, failures - failed) at once) ->
 * soaking (every host reported, the healthy share is met; watched for soak seconds) -> done, and the
 * next wave starts. A wave whose failures reach its threshold, or whose healthy share becomes
 * unreachable, halts the rollout. Rollback orders every host that was told to activate back to the
 * release it ran before, one wave at a time from the last started down to the canary.
 * A host is told to activate at most once per rollout: crow_rollout_apply refuses a second order.
 * Time: `now_ms` is wall-clock milliseconds (soak deadlines must survive a restart).
 */
#ifndef CROWCAST_ROLLOUT_H
#define CROWCAST_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/journal.h"
#include "crowcast/racks.h"
#include "crowcast/rollout_plan.h"

/* The host table grows as agents register, up to this many hosts (a registration past it is refused
 * with CROW_ELIMIT). A host takes 328 bytes and each slot of the indexes 36; the table doubles, so a
 * full one of 1,048,576 hosts takes about 364 MiB. */
#define CROW_ROLLOUT_MAX_HOSTS     (1u << 20)
#define CROW_ROLLOUT_MAX_DECISIONS 64 /* kept for /status; older ones are only in the journal */

enum crow_rollout_state {
    CROW_ROLLOUT_IDLE, /* no rollout yet */
    CROW_ROLLOUT_RUNNING,
    CROW_ROLLOUT_PAUSED,
    CROW_ROLLOUT_HALTED,
    CROW_ROLLOUT_ABORTED,
    CROW_ROLLOUT_DONE,
    CROW_ROLLOUT_ROLLING_BACK,
    CROW_ROLLOUT_ROLLED_BACK,
};

enum crow_wave_state {
    CROW_WAVE_PENDING,
    CROW_WAVE_DISTRIBUTING,
    CROW_WAVE_ACTIVATING,
    CROW_WAVE_SOAKING,
    CROW_WAVE_DONE,
    CROW_WAVE_HALTED,
    CROW_WAVE_ROLLED_BACK,
};

enum crow_order { CROW_ORDER_NONE, CROW_ORDER_DOWNLOAD, CROW_ORDER_ACTIVATE, CROW_ORDER_ROLLBACK };
enum crow_step { CROW_STEP_DOWNLOAD = 1, CROW_STEP_ACTIVATE, CROW_STEP_HEALTH, CROW_STEP_ROLLBACK };
enum crow_control { CROW_CONTROL_PAUSE = 1, CROW_CONTROL_RESUME, CROW_CONTROL_ABORT, CROW_CONTROL_ROLLBACK };
enum crow_distribute { CROW_DISTRIBUTE_ALL, CROW_DISTRIBUTE_PER_WAVE };

/* Progress of one host in the current rollout. */
enum crow_host_step { CROW_HS_NONE, CROW_HS_ORDERED, CROW_HS_OK, CROW_HS_FAILED };
enum crow_host_act {
    CROW_ACT_NONE,
    CROW_ACT_ORDERED,
    CROW_ACT_ACTIVE, /* activated, health not reported yet */
    CROW_ACT_HEALTHY,
    CROW_ACT_FAILED,
};

typedef struct crow_rollout_host {
    char name[CROW_JREC_HOST_MAX + 1];
    uint32_t rack;       /* index into crow_rollout_t.racks */
    char current[65];    /* release id it runs, as far as the coordinator knows ("" unknown) */
    char previous[65];   /* what it ran when told to activate: the rollback target */
    uint8_t dl, rb;      /* crow_host_step */
    uint8_t act;         /* crow_host_act */
    char detail[96];     /* last failure detail */
    uint64_t seen_ms;    /* its last poll (or registration, or the tracker's start), wall clock */
    bool gone;           /* expired: out of the rollout until it polls again */
    uint64_t report_seq; /* sequence of the last report taken (an older one is refused) */
} crow_rollout_host_t;

typedef struct crow_rollout_wave {
    crow_rollout_plan_wave_t spec;
    enum crow_wave_state state;
    uint64_t soak_until_ms;
    char reason[160];
} crow_rollout_wave_t;

typedef struct crow_rollout_decision {
    uint64_t t_ms;
    uint32_t rollout;
    char text[200]; /* "wave 2 (r2) halted: 1 of 3 hosts failed (threshold 1)" */
} crow_rollout_decision_t;

struct rollout_index; /* rollout.c's: hosts by name, per-wave counts and candidates, last polls */

/* The coordinator's state (about 40 KiB, plus its host table): allocate it (crow_rollout_new). Copy it
 * with crow_rollout_copy only (it owns its host table and indexes). */
typedef struct crow_rollout {
    enum crow_rollout_state state;
    uint32_t id; /* of the current (or last) rollout; 0 before any */
    char release[65], name[CROW_JREC_NAME_MAX + 1];
    char torrent[CROW_JREC_PATH_MAX + 1];
    char plan_text[CROW_JREC_TEXT_MAX + 1];
    enum crow_distribute distribute;
    char end_reason[160];
    char racks[CROW_RACKS_MAX][CROW_RACK_NAME_MAX + 1];
    uint32_t rack_count;
    uint32_t wave_of[CROW_RACKS_MAX]; /* wave of each rack, UINT32_MAX outside the plan */
    crow_rollout_wave_t waves[CROW_PLAN_MAX_WAVES];
    uint32_t wave_count;
    uint32_t current;           /* wave being worked on (or rolled back) */
    crow_rollout_host_t *hosts; /* host_count of them, in the order they registered */
    uint32_t host_count, host_cap;
    uint32_t
        host_limit; /* configuration: the most hosts it takes (crow_rollout_new: CROW_ROLLOUT_MAX_HOSTS) */
    struct rollout_index *index;
    crow_rollout_decision_t decisions[CROW_ROLLOUT_MAX_DECISIONS];
    uint32_t decision_count;       /* total ever; the ring holds the last CROW_ROLLOUT_MAX_DECISIONS */
    uint64_t decisions_by_kind[4]; /* advance, halt, rollback, end */
    uint64_t activations_ordered;
    uint64_t host_expiry_ms; /* configuration: a host silent this long leaves the rollout; 0 never */
} crow_rollout_t;

/* Allocates an idle coordinator. Returns 0 or -ENOMEM. */
int crow_rollout_new(crow_rollout_t **out);
void crow_rollout_free(crow_rollout_t *r);
/* Makes dst the same state as src (both from crow_rollout_new), configuration included. It does not
 * allocate when dst's table already has room for src's hosts (dst was a copy of src plus records).
 * Returns 0 or -ENOMEM (dst is then unchanged). */
int crow_rollout_copy(crow_rollout_t *dst, const crow_rollout_t *src);

/* Fills a START record for a new rollout (id = r->id + 1) of release (64 lower-case hex) named name,
 * with the plan text, the torrent's path (served to agents) and the racks file's rack names (racks may
 * be NULL; the racks agents registered in are known already), in *rec. The plan covers both. Refuses
 * (CROW_EPARSE, *err says why and where) a plan that does not parse, names an unknown rack or has a
 * wave that gets no rack, or a name agents cannot use (crow_agent_name_valid); (CROW_ELIMIT) over-long
 * values; (CROW_EUSAGE) a start while a rollout is
 * running, paused or rolling back. err may be NULL. */
int crow_rollout_prepare_start(const crow_rollout_t *r, const char *release, const char *name,
                               const char *torrent, const char *plan_text, const crow_racks_t *racks,
                               enum crow_distribute mode, uint64_t now_ms, crow_jrec_t *rec,
                               crow_rollout_plan_error_t *err);

/* Whether rec should be journaled and applied: 0 yes, 1 it changes nothing (a registration with the
 * same rack and current release, a repeated report or one with the sequence of the last report taken,
 * an activation or health report from a host that has been rolled back since: skip it), or a negative
 * code: CROW_EPROTO (a report or order that does not fit the state, e.g. a second activation, or a
 * report older than the last one taken from its host: a replay), CROW_EUSAGE (an operator command not allowed
 * now, e.g. resume when not paused), CROW_ESESSION (a report for another rollout), CROW_ELIMIT (host table
 * full). */
int crow_rollout_check(const crow_rollout_t *r, const crow_jrec_t *rec);

/* Applies a record. Returns what crow_rollout_check returns, or -ENOMEM when the host table cannot
 * grow; only 0 changes the state. */
int crow_rollout_apply(crow_rollout_t *r, const crow_jrec_t *rec);

/* The next decision at now_ms, if any: returns 1 and fills *rec (journal it, then apply it), or 0. */
int crow_rollout_next(const crow_rollout_t *r, uint64_t now_ms, crow_jrec_t *rec);

/* A poll from host (index) at now_ms: not journaled (a poll that changes nothing is not a record), it
 * only pushes the host's expiry back. A host that has not polled for host_expiry_ms while a rollout
 * runs or rolls back is expired by crow_rollout_next (an EXPIRE record, with its reason): it no longer
 * counts in its wave's hosts, an activation it was told and did not report counts as failed, and it
 * is given no order until it polls again (its registration then brings it back). After a replay, call
 * it for every host with the start time: silence before a restart is not the host's. */
void crow_rollout_seen(crow_rollout_t *r, uint32_t host, uint64_t now_ms);

/* When crow_rollout_next may have a time-driven decision (a soak ending, a host expiring): wall-clock
 * ms, or UINT64_MAX. */
uint64_t crow_rollout_deadline(const crow_rollout_t *r);

/* The host's outstanding order (issued and not reported yet), NONE when there is nothing to do. An
 * aborted rollout has no order; an activation is handed out only while the rollout runs (it waits
 * while paused; once halted or rolling back the host gets no activation). *release: the release the
 * order is about (rollback: the previous one). */
enum crow_order crow_rollout_order_for(const crow_rollout_t *r, const char *host, const char **release);

/* Index of a host by name, or UINT32_MAX (a hash lookup). */
uint32_t crow_rollout_find_host(const crow_rollout_t *r, const char *host);

/* Work done so far by lookups and decisions: name slots, set words, tree nodes and hosts looked at
 * (a host table rebuild counts each host). crow_rollout_next, crow_rollout_order_for and
 * crow_rollout_find_host do work that does not grow with the hosts (amortised over the rebuilds at
 * each start and each doubling of the table): tests count it. */
uint64_t crow_rollout_work(const crow_rollout_t *r);

const char *crow_rollout_state_name(enum crow_rollout_state s);
const char *crow_wave_state_name(enum crow_wave_state s);
const char *crow_order_name(enum crow_order o);
const char *crow_step_name(enum crow_step s);
/* "download", ... -> the enum; 0 when unknown. */
enum crow_step crow_step_parse(const char *name);

/* Per-wave counts of hosts. */
typedef struct crow_wave_counts {
    uint32_t hosts, downloaded, download_failed, ordered, active, healthy, failed, rolled_back;
} crow_wave_counts_t;
void crow_rollout_wave_counts(const crow_rollout_t *r, uint32_t wave, crow_wave_counts_t *out);

/* Renders the rollout as JSON (one object), human text (per wave and rack) or Prometheus metrics.
 * Return the length, or CROW_ESPACE when cap is too small. */
long crow_rollout_status_json(const crow_rollout_t *r, uint64_t now_ms, char *buf, size_t cap);
long crow_rollout_status_text(const crow_rollout_t *r, uint64_t now_ms, char *buf, size_t cap);
long crow_rollout_metrics(const crow_rollout_t *r, char *buf, size_t cap);

#endif
