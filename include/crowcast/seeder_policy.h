/* When a seeder may leave, sans I/O: a seeder stays as long as it is needed. The caller feeds events
 * with the time (`now`, nanoseconds, monotonic) and asks crow_seeder_policy_tick once a second.
 *
 * During the passes the seeder stays. After the last pass:
 *   - serving no TCP: it leaves at once (nobody can repair from it);
 *   - with a tracker: it announces every CROW_SEEDER_POLL_NS and leaves once the tracker has shown
 *     peers of the release (incomplete > 0, or a complete peer besides the seeder) and then reports
 *     no incomplete peer for CROW_SEEDER_QUIET_NS in a row. Until the tracker has shown any peer,
 *     it stays: the peers may not have started yet;
 *   - without a tracker, serving TCP: it leaves once no peer has been connected for
 *     CROW_SEEDER_IDLE_NS (counted from the end of the pass at the earliest);
 *   - in every case at most `linger_ns` after the last pass (default CROW_SEEDER_LINGER_DEFAULT_NS);
 *     a negative linger means until stopped (no automatic stop while TCP is served); 0 leaves at the
 *     pass's end.
 * Every stop says why (crow_seeder_stop_reason).
 */
#ifndef CROWCAST_SEEDER_POLICY_H
#define CROWCAST_SEEDER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define CROW_SEEDER_LINGER_DEFAULT_NS (600ull * 1000000000ull)
#define CROW_SEEDER_QUIET_NS          (5ull * 1000000000ull)
#define CROW_SEEDER_IDLE_NS           (15ull * 1000000000ull)
#define CROW_SEEDER_POLL_NS           (2ull * 1000000000ull)

enum crow_seeder_verdict {
    CROW_SEEDER_STAY,
    CROW_SEEDER_STOP_NO_TCP,      /* the passes are over and nothing is served over TCP */
    CROW_SEEDER_STOP_NO_LINGER,   /* the passes are over and --linger 0 */
    CROW_SEEDER_STOP_COMPLETE,    /* the tracker reports every peer complete */
    CROW_SEEDER_STOP_IDLE,        /* no tracker, and no peer connected for a while */
    CROW_SEEDER_STOP_LINGER_OVER, /* the linger bound ran out */
};

typedef struct crow_seeder_policy_config {
    bool tracker;      /* announces to a tracker */
    bool serves_tcp;   /* serves the release over TCP */
    int64_t linger_ns; /* bound after the last pass; < 0: until stopped */
} crow_seeder_policy_config_t;

/* Caller-allocated; read the fields, change them only through the calls below. */
typedef struct crow_seeder_policy {
    crow_seeder_policy_config_t cfg;
    bool passes_done, swarm_seen;
    uint64_t passes_done_at;
    uint64_t quiet_since;   /* the tracker's first report of no incomplete peer in a row, or 0 */
    uint64_t last_busy;     /* the last tick with a peer connected (or the pass's end) */
    uint64_t interval_ns;   /* the tracker's interval during the passes */
    uint64_t next_announce; /* UINT64_MAX without a tracker */
} crow_seeder_policy_t;

void crow_seeder_policy_init(crow_seeder_policy_t *p, const crow_seeder_policy_config_t *cfg, uint64_t now);
/* The last pass ended (never called with --passes 0). */
void crow_seeder_policy_passes_done(crow_seeder_policy_t *p, uint64_t now);
void crow_seeder_policy_announced(crow_seeder_policy_t *p, uint64_t now);
/* An answer from the tracker: its interval (s, 0 keeps the current one) and the swarm's counts
 * (complete includes this seeder). */
void crow_seeder_policy_tracker_answer(crow_seeder_policy_t *p, uint64_t now, uint32_t interval_s,
                                       int64_t complete, int64_t incomplete);
/* A failed announce: retried after CROW_SEEDER_POLL_NS. */
void crow_seeder_policy_tracker_failed(crow_seeder_policy_t *p, uint64_t now);
/* Decides: stay or stop (and why); *announce says whether to announce now. `connections`: peers
 * connected over TCP now. */
enum crow_seeder_verdict crow_seeder_policy_tick(crow_seeder_policy_t *p, uint64_t now, unsigned connections,
                                                 bool *announce);
/* "every peer of the release is complete", ... (for the log). */
const char *crow_seeder_stop_reason(enum crow_seeder_verdict v);

#endif
