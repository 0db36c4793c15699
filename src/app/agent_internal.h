/* State of the rollout agent, shared by its files:
 *   agent.c           the loop: polls, order dispatch, state file, events, signals, the tick
 *   agent_report.c    the outbox: reports sent one at a time until the tracker answers
 *   agent_job.c       which steps an order takes (fetch, verify, get, hook, health) and its reports
 *   agent_download.c  the release's manifest from the tracker, and the get and verify children
 *   agent_activate.c  the activate / rollback / health commands and the default symlink switch
 */
#ifndef CROWCAST_APP_AGENT_INTERNAL_H
#define CROWCAST_APP_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/agent.h"
#include "crowcast/agent_proto.h"
#include "crowcast/agent_state.h"
#include "crowcast/loop.h"
#include "http_client.h"
#include "atomic_file.h"
#include "spawn.h"

#define AGENT_MAX_GETS     4  /* get children at once (downloading, or seeding for neighbours) */
#define AGENT_MAX_VERIFIED 16 /* releases this process saw verify */

/* A `crowcast get` child and its --json event stream. */
struct agent_get {
    struct agent *a;
    struct crow_child child;
    crow_op_t read_op;
    char buf[4096];
    size_t len;
    bool eof, completed, for_job;
    char release[CROW_RELEASE_HEX + 1], name[CROW_AGENT_NAME_MAX + 1];
    char error[160]; /* the last error event */
};

enum job_phase { JOB_IDLE, JOB_FETCH, JOB_VERIFY, JOB_GET, JOB_HOOK, JOB_HEALTH };

struct agent_job {
    enum job_phase phase;
    crow_agent_order_t order;
    struct crow_child proc; /* verify, activate/rollback or health command */
    bool proc_running;
    uint64_t proc_deadline_ns;
    char previous[CROW_RELEASE_HEX + 1];
};

struct agent {
    const struct crow_agent_config *cfg;
    crow_loop_t *loop;
    crow_signals_t *signals;
    crow_op_t tick;
    bool stopping;
    struct crow_http_client_server server;
    char prefix[256];
    /* polls */
    crow_http_client_t *poll_http;
    uint64_t next_poll_ns, poll_sent_ns;
    double poll_backoff;
    char poll_problem[160]; /* the last one, warned once */
    /* the order being worked on, and the last one finished (a repeated order is not redone) */
    struct agent_job job;
    bool have_done;
    crow_agent_order_t done;
    /* the release manifest fetched from the tracker */
    crow_http_client_t *torrent_http;
    uint8_t *torrent;
    size_t torrent_len;
    struct crow_atomic_file torrent_file;
    struct agent_get gets[AGENT_MAX_GETS];
    bool get_waiting; /* the job's get waits for a slot that is being freed */
    char verified[AGENT_MAX_VERIFIED][CROW_RELEASE_HEX + 1];
    unsigned verified_next;
    /* reports */
    crow_http_client_t *report_http;
    uint64_t next_report_ns;
    double report_backoff;
    uint64_t reports_answered_ns; /* when the tracker last answered a report */
    /* state file */
    crow_agent_state_t state;
    uint8_t state_buf[CROW_AGENT_STATE_MAX];
    struct crow_atomic_file state_file;
    bool state_writing, state_dirty;
};

/* agent.c */
/* Prints an event on stdout with --json: name then key/value string pairs, NULL-terminated. */
void agent_event(struct agent *a, const char *name, ...);
void agent_save_state(struct agent *a);
bool agent_is_verified(const struct agent *a, const char *release);
void agent_mark_verified(struct agent *a, const char *release);
/* DIR/<name>[/<rest>] into buf; false when it does not fit. */
bool agent_path(const struct agent *a, char *buf, size_t cap, const char *name, const char *rest);
/* "tracker answered HTTP N: <the body's first line, printable>" into out. */
void agent_http_refusal(const crow_http_response_t *res, char *out, size_t cap);
const char *agent_current(const struct agent *a);

/* agent_report.c */
/* Queues a report (persisted with the state) and sends what is queued. */
void agent_report(struct agent *a, uint32_t rollout, enum crow_step step, bool ok, const char *detail);
void agent_reports_tick(struct agent *a, uint64_t now);
int agent_reports_init(struct agent *a);

/* agent_job.c */
/* Starts working on an order (the agent is idle). */
void agent_job_start(struct agent *a, const crow_agent_order_t *o);
/* The current phase finished: err 0 goes on, otherwise the order fails with detail. */
void agent_job_next(struct agent *a, int err, const char *detail);
void agent_job_tick(struct agent *a, uint64_t now);
bool agent_job_busy(const struct agent *a);

/* agent_download.c */
int agent_download_init(struct agent *a);
void agent_download_free(struct agent *a);
/* Fetches the manifest of the job's release and saves it; agent_job_next follows. */
void agent_fetch_torrent(struct agent *a);
/* Starts `crowcast verify` on the job's release (its exit is collected by agent_job_tick). */
int agent_start_verify(struct agent *a);
/* Starts `crowcast get` for the job's release; agent_job_next follows once it published. */
int agent_start_get(struct agent *a);
void agent_gets_tick(struct agent *a);
/* SIGTERM to every get child, reaped within grace seconds. */
void agent_gets_stop(struct agent *a, double grace);

/* agent_activate.c */
/* Runs the activate or rollback command (or the default symlink switch) for the job. Returns 0 when
 * a command runs (collected by agent_job_tick) or it already finished (*done_now set with *ok). */
int agent_start_hook(struct agent *a, bool *done_now, bool *ok, char *detail, size_t cap);
/* Runs the health command; *done_now when there is none (healthy). */
int agent_start_health(struct agent *a, bool *done_now);

#endif
