/* The tracker's rollout coordinator: journal-before-act bookkeeping, held requests and long polls,
 * and the decision timer. The endpoints' bodies are tracker_rollout_http.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "tracker_rollout_internal.h"

/* Decisions journaled in one round: a start orders every host to download at once; past this many the
 * round ends, and the commit of what it journaled runs the next one (so the loop serves requests in
 * between, and a round stays within the journal's batch). */
#define DECIDE_MAX  4096
#define TIMER_SLACK (5 * 1000000ull) /* a timer this much later than wanted is re-armed */

uint64_t tracker_rollout_wall_ms(void)
{
    /* The coordinator's deadlines (soak ends) are wall-clock: they must mean the same after a restart,
     * which the loop's monotonic clock does not. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const crow_rollout_t *tracker_rollout_state(const tracker_rollout_t *tr)
{
    return tr ? tr->durable : NULL;
}

int tracker_rollout_submit(tracker_rollout_t *tr, const crow_jrec_t *rec)
{
    int ret = crow_rollout_check(tr->ahead, rec);
    if (ret)
        return ret;
    if ((ret = tracker_journal_append(tr->journal, rec)))
        return ret;
    crow_rollout_apply(tr->ahead, rec);
    return 0;
}

void tracker_rollout_decide(tracker_rollout_t *tr)
{
    uint64_t now = tracker_rollout_wall_ms();
    for (unsigned i = 0; i < DECIDE_MAX && crow_rollout_next(tr->ahead, now, &tr->rec) == 1; i++) {
        int ret = tracker_rollout_submit(tr, &tr->rec);
        if (ret == CROW_ELIMIT)
            break; /* the journal buffer is full: the next commit runs this again */
        if (ret) {
            crow_log_error(
                "rollout: the state machine refused its own decision (%s): waiting for the next change",
                crow_strerror(ret));
            break;
        }
    }
    tracker_journal_flush(tr->journal);
}

/* Applies one durable record to the state answers come from, and logs what it decided. */
static void apply_durable(tracker_rollout_t *tr, const crow_jrec_t *rec, bool live)
{
    crow_rollout_t *r = tr->durable;
    uint32_t before = r->decision_count;
    int ret = crow_rollout_apply(r, rec);
    if (ret) {
        crow_log_warn("rollout journal: a type %d record for rollout %u was refused (%s)", (int)rec->type,
                      rec->rollout, crow_strerror(ret));
        return;
    }
    if (!live)
        return;
    for (uint32_t d = before; d < r->decision_count; d++)
        crow_log_info("rollout %u: %s", r->decisions[d % CROW_ROLLOUT_MAX_DECISIONS].rollout,
                      r->decisions[d % CROW_ROLLOUT_MAX_DECISIONS].text);
    if (rec->type == CROW_JREC_ORDER) {
        crow_log_info("rollout %u: order %s to host %s (release %.12s)", rec->rollout,
                      crow_order_name(rec->code), rec->host, rec->release);
        tracker_rollout_wake_host(tr, crow_rollout_find_host(r, rec->host));
    } else if (rec->type == CROW_JREC_REPORT) {
        crow_log_info("rollout %u: host %s reports %s %s%s%s", rec->rollout, rec->host,
                      crow_step_name(rec->code), rec->status ? "failed" : "ok", rec->text[0] ? ": " : "",
                      rec->text);
    }
}

static void on_commit(void *ctx, const char *lines, size_t len, int err)
{
    tracker_rollout_t *tr = ctx;
    uint64_t now_ns = crow_loop_update_now(tr->loop);
    if (err) {
        /* What was not written is gone: the state ahead goes back to what is on disk, and every request
         * waiting for a record past it is told so. */
        if (crow_rollout_copy(tr->ahead, tr->durable)) /* ahead has room for durable's hosts */
            crow_log_error("rollout: cannot reset the state ahead of the journal (out of memory)");
        tracker_rollout_answer_lost(tr, err);
        return;
    }
    for (size_t off = 0; off < len;) {
        int n = crow_journal_decode(lines + off, len - off, &tr->rec);
        if (n <= 0) {
            crow_log_error("rollout journal: cannot decode a record just written (%s)", crow_strerror(n));
            break;
        }
        off += (size_t)n;
        apply_durable(tr, &tr->rec, true);
    }
    tracker_rollout_answer_ready(tr, now_ns);
    tracker_rollout_decide(tr);
    tracker_rollout_arm(tr);
}

static void on_timer(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    tracker_rollout_t *tr = op->owner;
    if (tr->stopping || crow_loop_stopping(tr->loop))
        return;
    tracker_rollout_answer_ready(tr, crow_loop_update_now(tr->loop));
    tracker_rollout_decide(tr);
    tracker_rollout_arm(tr);
}

/* Wakes at the first poll deadline or soak end; a pending timer set later than that is cancelled (its
 * handler re-arms). */
void tracker_rollout_arm(tracker_rollout_t *tr)
{
    if (tr->stopping)
        return;
    uint64_t now = crow_loop_now(tr->loop), wake = tracker_rollout_next_poll_end(tr);
    uint64_t soak = crow_rollout_deadline(tr->ahead), wall = tracker_rollout_wall_ms();
    if (soak != UINT64_MAX) {
        uint64_t at = now + (soak > wall ? (soak - wall) * 1000000u : 0);
        wake = at < wake ? at : wake;
    }
    if (wake == UINT64_MAX)
        return;
    if (crow_op_pending(&tr->timer)) {
        if (wake + TIMER_SLACK < tr->timer_at)
            crow_io_cancel(tr->loop, &tr->timer);
        return;
    }
    tr->timer_at = wake;
    if (crow_io_timeout(tr->loop, &tr->timer, wake > now ? wake - now : 0))
        crow_log_error("rollout: cannot arm the decision timer");
}

void tracker_rollout_after_input(tracker_rollout_t *tr)
{
    tracker_rollout_decide(tr);
    tracker_rollout_arm(tr);
}

static void replay_one(void *ctx, const crow_jrec_t *rec)
{
    tracker_rollout_t *tr = ctx;
    tr->replayed++;
    apply_durable(tr, rec, false);
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST) {
        crow_log_error("state directory %s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}

int tracker_rollout_open(tracker_rollout_t **out, crow_loop_t *loop, const char *state_dir,
                         const crow_racks_t *racks, uint64_t host_expiry_ms,
                         tracker_rollout_answer_fn answer_fn, void *ctx)
{
    int ret;
    char path[PATH_MAX + 32], why[PATH_MAX + 128];
    tracker_rollout_t *tr = calloc(1, sizeof *tr);
    if (!tr)
        return -ENOMEM;
    tr->loop = loop;
    tr->racks = racks;
    tr->answer = answer_fn;
    tr->ctx = ctx;
    crow_op_init(&tr->timer, on_timer, tr);
    tracker_rollout_waiters_init(tr);
    if (strlen(state_dir) >= sizeof tr->dir - 64) {
        crow_log_error("state directory path too long");
        ret = CROW_ELIMIT;
        goto fail;
    }
    snprintf(tr->dir, sizeof tr->dir, "%s", state_dir);
    snprintf(path, sizeof path, "%s/releases", tr->dir);
    if ((ret = make_dir(tr->dir)) || (ret = make_dir(path)))
        goto fail;
    if ((ret = crow_rollout_new(&tr->durable)) || (ret = crow_rollout_new(&tr->ahead)) ||
        (ret = tracker_rollout_scratch(tr, SCRATCH_START)))
        goto fail;
    tr->durable->host_expiry_ms = host_expiry_ms;
    snprintf(path, sizeof path, "%s/rollout.journal", tr->dir);
    if ((ret = tracker_journal_open(&tr->journal, loop, path, replay_one, on_commit, tr, why, sizeof why))) {
        crow_log_error("rollout journal %s", why);
        goto fail;
    }
    uint64_t now = tracker_rollout_wall_ms();
    for (uint32_t i = 0; i < tr->durable->host_count; i++)
        crow_rollout_seen(tr->durable, i, now);
    if ((ret = crow_rollout_copy(tr->ahead, tr->durable)))
        goto fail;
    const crow_rollout_t *r = tr->durable;
    if (r->state == CROW_ROLLOUT_IDLE)
        crow_log_info("rollout state in %s: no rollout yet", tr->dir);
    else
        crow_log_info("rollout state in %s: %llu record(s) replayed, rollout %u (%s) is %s, %u host(s), %llu "
                      "activation(s) ordered",
                      tr->dir, (unsigned long long)tr->replayed, r->id, r->name,
                      crow_rollout_state_name(r->state), r->host_count,
                      (unsigned long long)r->activations_ordered);
    if (r->release[0])
        tracker_rollout_cache_torrent(tr, r->release);
    tracker_rollout_after_input(tr); /* e.g. a soak that ended while the tracker was down */
    *out = tr;
    return 0;
fail:
    tracker_rollout_free(tr);
    return ret;
}

void tracker_rollout_stop(tracker_rollout_t *tr)
{
    if (!tr)
        return;
    tr->stopping = true;
    crow_io_cancel(tr->loop, &tr->timer);
}

void tracker_rollout_free(tracker_rollout_t *tr)
{
    if (!tr)
        return;
    tracker_journal_free(tr->journal);
    crow_rollout_free(tr->durable);
    crow_rollout_free(tr->ahead);
    free(tr->torrent);
    free(tr->scratch);
    tracker_rollout_waiters_dispose(tr);
    free(tr);
}
