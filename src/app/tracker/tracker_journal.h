/* The rollout journal file (journal.h records) on the event loop.
 *
 * Open reads the whole file, hands every good record to a replay function, and cuts a torn last
 * record off (a crash in the middle of a write). Then records are appended in batches (group commit):
 * while one write + fsync is in flight, new records gather in a second buffer; when the fsync
 * completes, the owner gets the batch's lines (commit callback) and the gathered batch goes out next.
 * A record counts as durable only once the fsync that covers it completed.
 */
#ifndef CROWCAST_APP_TRACKER_JOURNAL_H
#define CROWCAST_APP_TRACKER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "crowcast/journal.h"
#include "crowcast/loop.h"

typedef struct tracker_journal tracker_journal_t;

/* Called for each good record at open, in order. Its return value is ignored (a record the state
 * machine refuses is the owner's to report): the replay never stops half-way. */
typedef void (*tracker_journal_replay_fn)(void *ctx, const crow_jrec_t *rec);

/* A batch became durable: lines[0..len) are its records as written (decode them with
 * crow_journal_decode). With err < 0 the write or fsync failed: the batch in flight and every record
 * appended behind it are dropped, the file is cut back to its last durable length, lines is NULL. */
typedef void (*tracker_journal_commit_fn)(void *ctx, const char *lines, size_t len, int err);

/* Opens (creating it) and replays the journal at path. Returns 0, CROW_EPARSE when a bad record sits
 * in the middle of the file (why says at which byte; the file is left alone), or -errno. */
int tracker_journal_open(tracker_journal_t **out, crow_loop_t *loop, const char *path,
                         tracker_journal_replay_fn replay, tracker_journal_commit_fn commit, void *ctx,
                         char *why, size_t why_cap);

/* Encodes rec into the gathering batch. Returns 0, or CROW_ELIMIT when the gathering buffer is full
 * (refuse the input, try again later). Nothing is written before tracker_journal_flush. */
int tracker_journal_append(tracker_journal_t *j, const crow_jrec_t *rec);
/* Starts writing the gathered batch unless one is in flight (then it goes when that one is durable).
 * The commit callback never fires from inside this call. */
void tracker_journal_flush(tracker_journal_t *j);

/* Records appended since open, and how many of them are durable. */
uint64_t tracker_journal_appended(const tracker_journal_t *j);
uint64_t tracker_journal_durable(const tracker_journal_t *j);

/* Reads the whole regular file behind fd (at most max bytes) into a new buffer (the caller frees it).
 * Returns 0, -errno (-EINVAL: not a regular file) or CROW_ELIMIT. Blocking: for start-up and rare
 * operator requests. */
int tracker_read_file(int fd, size_t max, uint8_t **out, size_t *len);

/* fsync of a directory: makes a new or renamed entry in it durable (errors ignored: best effort). */
void tracker_sync_dir(const char *dir);

/* Closes the file. Call after the loop drained (a write in flight refers to the buffers). */
void tracker_journal_free(tracker_journal_t *j);

#endif
