/* Which tracker to announce to, sans I/O: the trackers a role was given (--tracker URL, or the
 * manifest's BEP 12 announce-list tiers, or its announce URL) and what became of each announce.
 * The announcer asks which URL comes next and says what failed or worked, with the time (`now`,
 * nanoseconds, monotonic); this decides.
 *
 * Rules (BEP 12, with one addition):
 *   - Trackers are tried tier by tier, within a tier in the listed order. (BEP 12 shuffles each tier
 *     once; crowcast keeps the order the release's maker chose, so a fleet prefers the tracker
 *     listed first and a standby stays a standby.)
 *   - An announce starts with the first tier. When a tracker fails (no connection, a timeout, an
 *     HTTP error, an unreadable answer, a "failure reason"), the same announce goes to the next
 *     tracker: the next one in its tier, then the next tier. The announce has failed once every
 *     usable tracker was tried in it.
 *   - A tracker that answered moves to the front of its tier (BEP 12): the next announce asks it
 *     first.
 *   - The addition: a tracker that failed rests for CROW_TRACKER_REST_NS, doubled for each failure
 *     in a row up to CROW_TRACKER_REST_MAX_NS. While it rests an announce tries it only after every
 *     rested tracker (still before giving up), so a dead primary costs one failed attempt per rest
 *     rather than a timeout on every announce; once rested it is first again, tier order permitting.
 *   - A disabled tracker (a URL the announcer cannot speak) is never chosen.
 *
 * Memory: at most CROW_TRACKER_TIERS_MAX trackers, held in the struct (no allocation). URLs are
 * borrowed: they must outlive the struct (they point into the manifest or argv).
 */
#ifndef CROWCAST_TRACKER_TIERS_H
#define CROWCAST_TRACKER_TIERS_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/manifest.h"

#define CROW_TRACKER_TIERS_MAX   CROW_MANIFEST_MAX_TRACKERS
#define CROW_TRACKER_REST_NS     (15ull * 1000000000ull)
#define CROW_TRACKER_REST_MAX_NS (240ull * 1000000000ull)

typedef struct crow_tracker_entry {
    const char *url; /* borrowed */
    uint32_t tier;
    uint32_t failures;   /* in a row */
    uint64_t rest_until; /* not chosen before the others until then; 0 = not resting */
    bool disabled;       /* never chosen */
    bool tried;          /* in the announce under way */
} crow_tracker_entry_t;

typedef struct crow_tracker_tiers {
    crow_tracker_entry_t entry[CROW_TRACKER_TIERS_MAX]; /* by id: ids are the order of adding */
    uint8_t order[CROW_TRACKER_TIERS_MAX];              /* ids, in the order they are tried */
    uint32_t count;
    int current; /* the id asked in the announce under way, or -1 */
} crow_tracker_tiers_t;

/* An empty list. */
void crow_tracker_tiers_init(crow_tracker_tiers_t *t);
/* Appends a tracker at the end of tier `tier` (tiers stay in ascending order whatever the order of
 * the calls). Returns its id (0, 1, ...) or CROW_ELIMIT when the list is full. */
int crow_tracker_tiers_add(crow_tracker_tiers_t *t, const char *url, uint32_t tier);
/* Fills an empty list with the trackers a role announces to: `override` alone when not NULL
 * (--tracker URL); none when `none` (--no-tracker); else the manifest's announce-list tiers (a
 * client that reads announce-list ignores announce, BEP 12), else its announce URL, else none.
 * Returns how many trackers the list holds. */
uint32_t crow_tracker_tiers_choose(crow_tracker_tiers_t *t, const crow_manifest_t *m, const char *override,
                                   bool none);
/* Never chooses tracker `id` again (its URL cannot be used). */
void crow_tracker_tiers_disable(crow_tracker_tiers_t *t, int id);
/* Trackers not disabled. */
uint32_t crow_tracker_tiers_usable(const crow_tracker_tiers_t *t);

/* Starts an announce: returns the id of the tracker to ask first, or -1 when none is usable. */
int crow_tracker_tiers_begin(crow_tracker_tiers_t *t, uint64_t now);
/* The current tracker failed: it rests, and the announce moves on. Returns the id to ask next, or
 * -1 when every usable tracker has been tried in this announce (the announce failed). */
int crow_tracker_tiers_failed(crow_tracker_tiers_t *t, uint64_t now);
/* The current tracker answered: its failures are forgotten and it moves to the front of its tier. */
void crow_tracker_tiers_worked(crow_tracker_tiers_t *t);

/* The current tracker's id (-1 outside an announce, or after the last failure). */
int crow_tracker_tiers_current(const crow_tracker_tiers_t *t);
/* Tracker `id`'s URL, tier (0-based) and failures in a row. */
const char *crow_tracker_tiers_url(const crow_tracker_tiers_t *t, int id);
uint32_t crow_tracker_tiers_tier(const crow_tracker_tiers_t *t, int id);
uint32_t crow_tracker_tiers_failures(const crow_tracker_tiers_t *t, int id);

#endif
