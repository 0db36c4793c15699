/* Shared by tracker_rollout.c (bookkeeping, journal, timer) and tracker_rollout_http.c (endpoints). */
#ifndef CROWCAST_APP_TRACKER_ROLLOUT_INTERNAL_H
#define CROWCAST_APP_TRACKER_ROLLOUT_INTERNAL_H

#include <limits.h>

#include "tracker_journal.h"
#include "tracker_rollout.h"

/* Long polls held at once; more are answered at once (the agent polls again after its interval). A
 * held poll holds a connection: as many as the tracker's default connection limit. */
#define MAX_POLLS     16384
#define MAX_WAITERS   (MAX_POLLS + 512) /* plus requests waiting for their record's fsync */
#define CONN_SLOTS    65536             /* by_conn: a power of two, well above MAX_WAITERS */
#define SCRATCH_START (64 * 1024)

enum wait_kind { W_POLL, W_REPORT, W_CONTROL, W_START };

/* A request held until its records are durable (and, for a poll, until an order or the wait's end). */
struct waiter {
    void *conn;
    enum wait_kind kind;
    bool parked;                /* W_POLL, durable: in `parked` and under its host, else in `pending` */
    bool woken;                 /* W_POLL: an order for its host became durable (in `woken`) */
    uint64_t seq;               /* journal records up to this count must be durable before the answer */
    uint64_t deadline_ns;       /* W_POLL: the wait's end (loop clock) */
    uint32_t host;              /* W_POLL: index in the host table */
    struct waiter *prev, *next; /* in its list (or the free list) */
    struct waiter *host_prev, *host_next; /* parked: its host's polls */
    struct waiter *woken_next;
};

struct waiter_list {
    struct waiter *head, *tail;
};

struct tracker_rollout {
    crow_loop_t *loop;
    const crow_racks_t *racks;
    tracker_rollout_answer_fn answer;
    void *ctx;
    char dir[PATH_MAX];
    tracker_journal_t *journal;
    crow_rollout_t *durable; /* records whose fsync completed: answers and orders come from here */
    crow_rollout_t *ahead;   /* durable + records written or gathering: inputs are checked here */
    uint64_t replayed;
    crow_jrec_t rec; /* scratch record */
    /* Held requests (tracker_rollout_wait.c): `pending` in journal order until durable, then polls
     * `parked` in deadline order, also under by_host[host]; every one under its connection. */
    struct waiter pool[MAX_WAITERS], *free_list;
    struct waiter_list pending, parked;
    struct waiter *woken;    /* parked polls whose host got an order: answer_ready looks at them */
    struct waiter **by_host; /* by_host_cap entries */
    uint32_t by_host_cap;
    struct waiter *by_conn[CONN_SLOTS];
    uint32_t polls;
    crow_op_t timer;
    uint64_t timer_at;
    bool stopping;
    uint8_t *torrent; /* the current release's .torrent, served to agents */
    size_t torrent_len;
    char torrent_id[65];
    uint8_t *scratch; /* reply bodies */
    size_t scratch_cap;
    char why[512]; /* a refusal's text */
};

/* crow_rollout_check on the state ahead, then journal append, then apply ahead. Returns check's code
 * (1: nothing to record) or the append's CROW_ELIMIT. */
int tracker_rollout_submit(tracker_rollout_t *tr, const crow_jrec_t *rec);
/* Journals every decision crow_rollout_next has now, then starts the write. */
void tracker_rollout_decide(tracker_rollout_t *tr);
/* Arms the timer for the first poll deadline or soak end. */
void tracker_rollout_arm(tracker_rollout_t *tr);
/* After an input was submitted: decide, flush, re-arm the timer. */
void tracker_rollout_after_input(tracker_rollout_t *tr);
/* Holds conn until everything appended so far is durable; a W_POLL of host (its index) then until an
 * order for it or deadline_ns (loop clock; other kinds pass 0, 0). NULL when no slot is free. */
struct waiter *tracker_rollout_hold(tracker_rollout_t *tr, void *conn, enum wait_kind kind, uint32_t host,
                                    uint64_t deadline_ns);
void tracker_rollout_waiters_init(tracker_rollout_t *tr);
void tracker_rollout_waiters_dispose(tracker_rollout_t *tr);
/* An order for host became durable: its parked polls are looked at by the next answer_ready. */
void tracker_rollout_wake_host(tracker_rollout_t *tr, uint32_t host);
/* Answers what the durable state now allows: requests whose records are on disk, polls that have an
 * order (looked at when newly durable or woken) or whose wait ended. */
void tracker_rollout_answer_ready(tracker_rollout_t *tr, uint64_t now_ns);
/* A journal write failed: every request waiting for a record past the durable ones is told err. */
void tracker_rollout_answer_lost(tracker_rollout_t *tr, int err);
/* The earliest end of a parked poll (loop clock), or UINT64_MAX. */
uint64_t tracker_rollout_next_poll_end(const tracker_rollout_t *tr);

/* The answer to a held request (err < 0: its record was lost with a failed journal write). */
void tracker_rollout_held_answer(tracker_rollout_t *tr, enum wait_kind kind, uint32_t host, int err,
                                 struct tracker_reply *out);
/* Grows the scratch buffer to at least cap bytes. Returns 0 or -ENOMEM. */
int tracker_rollout_scratch(tracker_rollout_t *tr, size_t cap);
/* Loads DIR/releases/<release>.torrent as the one served from memory (a warning when it is missing). */
void tracker_rollout_cache_torrent(tracker_rollout_t *tr, const char *release);

#endif
