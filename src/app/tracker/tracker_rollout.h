/* The tracker's rollout coordinator (issue 9): owns the sans-I/O state machine (rollout.h), its
 * journal in the state directory (tracker_journal.h) and the released torrents, and serves
 *
 *   POST /agent/poll     register a host, answer its outstanding order (long poll up to wait=30 s)
 *   GET  /agent/torrent  the .torrent of a release (application/x-bittorrent)
 *   POST /agent/report   a step's outcome (d2:oki1ee or a failure reason)
 *   POST /rollout/start, /rollout/pause|resume|abort|rollback; GET /rollout/status[?format=json] (JSON)
 * (methods and identities: control_policy.h).
 *
 * Every input (registration, report, operator command) is checked against the state as it will be
 * once everything already journaled is applied, appended to the journal, and applied to the state
 * the tracker acts on only when the fsync covering it completed; decisions (orders, wave changes)
 * take the same path. A request waiting for that (or a long poll waiting for an order) is answered
 * later through the answer callback. Two copies of the state make this work: `durable` (what is on
 * disk: the only one answers and orders come from) and `ahead` (durable plus what is being written).
 */
#ifndef CROWCAST_APP_TRACKER_ROLLOUT_H
#define CROWCAST_APP_TRACKER_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/http.h"
#include "crowcast/loop.h"
#include "crowcast/racks.h"
#include "crowcast/rollout.h"
#include "tracker_http.h"

typedef struct tracker_rollout tracker_rollout_t;

/* Delivers a deferred answer for the connection `conn` given to tracker_rollout_serve. */
typedef void (*tracker_rollout_answer_fn)(void *ctx, void *conn, const struct tracker_reply *r);

/* Opens the state directory (created if missing, with releases/), replays rollout.journal and resumes
 * the rollout it describes; hosts silent for host_expiry_ms leave a rollout (counted from now for the
 * hosts the journal knows). Returns 0, CROW_EPARSE (a corrupt journal) or -errno; the reason is
 * logged. racks must outlive it. */
int tracker_rollout_open(tracker_rollout_t **out, crow_loop_t *loop, const char *state_dir,
                         const crow_racks_t *racks, uint64_t host_expiry_ms, tracker_rollout_answer_fn answer,
                         void *ctx);

/* True for the paths this module serves (/agent/..., /rollout/...). */
bool tracker_rollout_handles(const crow_http_request_t *req);

/* Answers one of those requests from src (host order), admitted by the control policy with the
 * identity who (NULL: an open read or an insecure tracker; an agent's may only poll and report for
 * the host it names). tr may be NULL (no --state: every endpoint refuses). Returns true when *out is the
 * answer now (valid until the next call), false when the answer comes later through the answer callback
 * (until then, or until tracker_rollout_forget, the connection must stay open and read nothing more). */
bool tracker_rollout_serve(tracker_rollout_t *tr, const crow_http_request_t *req, uint32_t src,
                           const crow_control_auth_key_t *who, void *conn, struct tracker_reply *out);

/* The connection closed: never answer it. */
void tracker_rollout_forget(tracker_rollout_t *tr, void *conn);

/* The durable state, for /status and /metrics; NULL when tr is NULL. */
const crow_rollout_t *tracker_rollout_state(const tracker_rollout_t *tr);
/* Adds the rollout to a rendered /status JSON object (as "rollout", before its closing brace) or to
 * /metrics text: buf[0..len) holds the body so far. Returns the new length or CROW_ESPACE. */
long tracker_rollout_render(const tracker_rollout_t *tr, bool metrics, char *buf, size_t len, size_t cap);
/* Wall-clock milliseconds, the coordinator's time. */
uint64_t tracker_rollout_wall_ms(void);

/* Stops the timer (call before the loop drains); free after the drain. */
void tracker_rollout_stop(tracker_rollout_t *tr);
void tracker_rollout_free(tracker_rollout_t *tr);

#endif
